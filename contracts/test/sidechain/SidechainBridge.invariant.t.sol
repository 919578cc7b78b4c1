// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {SidechainHelper} from "./SidechainHelper.sol";
import {SidechainBridge} from "../../src/sidechain/SidechainBridge.sol";
import {AqueductToken} from "../../src/AqueductToken.sol";

/// Users lock ETH and a token; validators (all of them, or a colluding 3 of 4 signing whatever
/// they like) checkpoint withdrawal trees; anyone withdraws, replays and forges proofs.
contract SidechainHandler is SidechainHelper {
    AqueductToken internal token;
    SidechainBridge.Withdrawal[] internal ws;
    uint256[] internal wsCheckpoint;
    uint256[] internal wsIndex;
    mapping(uint256 => bytes32[]) internal proofs;
    uint64 internal nextNonce;

    constructor(SidechainBridge b, uint256[] memory k, address[] memory v, AqueductToken t) {
        bridge = b;
        valKeys = k;
        vals = v;
        token = t;
    }

    function deposit(bool eth, uint96 amount) external {
        amount = uint96(bound(amount, 1, 100 ether));
        if (eth) {
            vm.deal(address(this), amount);
            bridge.depositETH{value: amount}(address(this));
        } else {
            token.mint(address(this), amount);
            token.approve(address(bridge), amount);
            bridge.depositERC20(address(token), address(this), amount);
        }
    }

    /// A checkpoint of up to 3 withdrawals of any amount (honest or forged alike to L1).
    function checkpoint(uint96 a, uint96 b, bool tokenToo, uint8 signers) external {
        SidechainBridge.Withdrawal[3] memory batch = [
            SidechainBridge.Withdrawal(nextNonce, address(0xD00D), address(0), bound(a, 1, 200 ether)),
            SidechainBridge.Withdrawal(nextNonce + 1, address(0xD00D), tokenToo ? address(token) : address(0), bound(b, 1, 200 ether)),
            SidechainBridge.Withdrawal(nextNonce, address(0xBEEF), address(0), 1 ether)
        ];
        nextNonce += 2;
        bytes32[] memory leaves = new bytes32[](3);
        for (uint256 i = 0; i < 3; i++) {
            leaves[i] = _leaf(batch[i]);
        }
        uint256 n = bridge.checkpointCount();
        bytes32 root;
        for (uint256 i = 0; i < 3; i++) {
            bytes32[] memory p;
            (root, p) = _tree(leaves, i);
            ws.push(batch[i]);
            wsCheckpoint.push(n);
            wsIndex.push(i);
            proofs[ws.length - 1] = p;
        }
        SidechainBridge.Checkpoint memory c = _checkpoint(root, 4);
        uint256 k = 2 + (signers % 3); // 2 (refused), 3 or 4 of 4
        bytes memory sigs = _sign(c, _first(k));
        try bridge.submitCheckpoint(c, sigs) {} catch {}
    }

    function withdraw(uint256 i, bool tamper) external {
        if (ws.length == 0) return;
        i %= ws.length;
        SidechainBridge.Withdrawal memory w = ws[i];
        if (tamper) w.amount += 1;
        try bridge.withdraw(wsCheckpoint[i], w, wsIndex[i], proofs[i]) {} catch {}
    }

    receive() external payable {}
}

contract SidechainBridgeInvariantTest is SidechainHelper {
    SidechainHandler internal handler;
    AqueductToken internal token;

    function setUp() public {
        _deploy(4);
        token = new AqueductToken("T", "T", 18, 0);
        handler = new SidechainHandler(bridge, valKeys, vals, token);
        token.setMinter(address(handler));
    }

    function targetContracts() public view returns (address[] memory t) {
        t = new address[](1);
        t[0] = address(handler);
    }

    /// No payout beyond deposits, per token, and the ledger matches what the bridge holds.
    function invariant_noPayoutBeyondDeposits() public view {
        address[2] memory tokens = [address(0), address(token)];
        for (uint256 i = 0; i < 2; i++) {
            address t = tokens[i];
            assertTrue(bridge.paidOut(t) <= bridge.deposited(t), "paid <= deposited");
            assertEq(bridge.funds(t), bridge.deposited(t) - bridge.paidOut(t), "funds ledger");
        }
        assertTrue(address(bridge).balance >= bridge.funds(address(0)), "eth held");
        assertEq(token.balanceOf(address(bridge)), bridge.funds(address(token)), "tokens held");
    }
}
