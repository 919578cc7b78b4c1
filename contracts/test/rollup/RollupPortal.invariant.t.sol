// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "../utils/Test.sol";
import {MerkleHelper} from "./MerkleHelper.sol";
import {AqueductToken} from "../../src/AqueductToken.sol";
import {RollupLib} from "../../src/rollup/RollupLib.sol";
import {OutputOracle} from "../../src/rollup/OutputOracle.sol";
import {RollupPortal} from "../../src/rollup/RollupPortal.sol";

/// Drives deposits and honest withdrawals (one per output) in random order, keeping the books.
contract PortalHandler is Test {
    OutputOracle public oracle;
    RollupPortal public portal;
    AqueductToken public token;
    uint256 public ethIn;
    uint256 public ethOut;
    uint256 public tokensIn;
    uint256 public tokensOut;
    uint256 nonce;
    uint256 l2Block = 1;

    constructor() {
        oracle = new OutputOracle(0, 1 hours, address(0xC4A1));
        portal = new RollupPortal(oracle);
        token = new AqueductToken("T", "T", 18, type(uint128).max);
    }

    function depositEth(uint96 amount) external {
        uint256 a = bound(amount, 0, 1000 ether);
        vm.deal(address(this), a);
        portal.depositTransaction{value: a}(address(this), a, 21_000, false, "");
        ethIn += a;
    }

    function depositToken(uint96 amount) external {
        uint256 a = bound(amount, 1, 1e30);
        token.approve(address(portal), a);
        portal.depositERC20(address(token), address(this), a);
        tokensIn += a;
    }

    function withdraw(uint96 amount, bool isToken) external {
        RollupLib.WithdrawalTransaction memory w;
        if (isToken) {
            uint256 a = bound(amount, 0, tokensIn - tokensOut);
            w = RollupLib.WithdrawalTransaction(nonce, RollupLib.L2_BRIDGE, address(portal), 0, 0, abi.encode(address(token), address(0xB0B), a));
            tokensOut += a;
        } else {
            uint256 a = bound(amount, 0, ethIn - ethOut);
            w = RollupLib.WithdrawalTransaction(nonce, address(this), address(0xB0B), a, 50_000, "");
            ethOut += a;
        }
        bytes32[] memory leaves = new bytes32[](nonce + 1);
        leaves[nonce] = RollupLib.hashWithdrawal(w);
        (bytes32 root, bytes32[32] memory branch) = MerkleHelper.build(leaves, nonce);
        RollupLib.OutputRootProof memory p = RollupLib.OutputRootProof(0, bytes32(nonce), root, 0);
        oracle.proposeOutput(RollupLib.hashOutputRoot(p), l2Block++);
        portal.proveWithdrawal(w, oracle.nextOutputIndex() - 1, p, nonce, branch);
        vm.warp(block.timestamp + 1 hours);
        portal.finalizeWithdrawal(w);
        nonce++;
    }

    receive() external payable {}
}

contract RollupPortalInvariantTest is Test {
    PortalHandler handler;

    function setUp() public {
        handler = new PortalHandler();
    }

    function targetContracts() public view returns (address[] memory t) {
        t = new address[](1);
        t[0] = address(handler);
    }

    /// The portal holds exactly what was deposited and not yet withdrawn, in ETH and in tokens.
    function invariant_portal_books_balance() public view {
        RollupPortal portal = handler.portal();
        assertEq(address(portal).balance, handler.ethIn() - handler.ethOut(), "eth held");
        assertEq(portal.locked(address(handler.token())), handler.tokensIn() - handler.tokensOut(), "locked");
        assertEq(handler.token().balanceOf(address(portal)), portal.locked(address(handler.token())), "tokens held");
        assertEq(address(0xB0B).balance, handler.ethOut(), "eth paid");
    }
}
