// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "../utils/Test.sol";
import {MerkleHelper} from "../rollup/MerkleHelper.sol";
import {BridgeLib} from "../../src/bridge/BridgeLib.sol";
import {HubPool, IPortal} from "../../src/bridge/HubPool.sol";
import {SpokePool} from "../../src/bridge/SpokePool.sol";
import {RollupLib} from "../../src/rollup/RollupLib.sol";
import {L2ToL1MessagePasser} from "../../src/rollup/l2/L2ToL1MessagePasser.sol";

/// @notice Stands in for the rollup's portal on one chain: it delivers the spoke's withdrawal to
/// the hub with `l2Sender` set, as `RollupPortal.finalizeWithdrawal` does after the challenge
/// window (the real portal is driven end to end in crates/bridge/node/tests), and records the
/// refunds the hub sends back to L2.
contract TestPortal is IPortal {
    address public l2Sender;
    mapping(address => uint256) public refunded;

    function deliver(HubPool hub, address from, uint64 count, bytes32 root, uint256 value) external {
        l2Sender = from;
        hub.receiveDeposits{value: value}(count, root);
        l2Sender = address(0);
    }

    function depositTransaction(address to, uint256 value, uint64, bool, bytes calldata) external payable {
        require(msg.value == value, "value");
        refunded[to] += value;
    }

    receive() external payable {}
}

/// @notice A spoke and a hub on one test chain (origin and destination share its chain id), the
/// message passer etched at its predeploy address, and helpers that build proofs.
abstract contract BridgeFixture is Test {
    uint256 internal constant BOND = 1 ether;
    uint64 internal constant LIVENESS = 600;
    address internal constant RELAYER = address(0xBEEF);
    address internal constant USER = address(0xA11CE);
    address internal constant BOB = address(0xB0B);

    TestPortal public portal;
    HubPool public hub;
    SpokePool public spoke;
    BridgeLib.RelayData[] internal deposits;

    function setUpBridge() internal {
        vm.etch(RollupLib.MESSAGE_PASSER, address(new L2ToL1MessagePasser()).code);
        vm.warp(1_000_000);
        portal = new TestPortal();
        // The spoke's address is known before it exists (CREATE2 here, the deployer's nonce on
        // the rollup in deploy.rs), so each side names the other at construction.
        bytes32 salt = keccak256("spoke");
        address hubAt = _createAddress(3); // after the message passer (1) and the portal (2)
        bytes memory init =
            abi.encodePacked(type(SpokePool).creationCode, abi.encode(hubAt, uint64(block.chainid), uint32(3600)));
        address spokeAt = address(
            uint160(uint256(keccak256(abi.encodePacked(bytes1(0xff), address(this), salt, keccak256(init)))))
        );
        hub = new HubPool(portal, spokeAt, uint64(block.chainid), BOND, LIVENESS);
        spoke = new SpokePool{salt: salt}(hubAt, uint64(block.chainid), 3600);
        require(address(hub) == hubAt && address(spoke) == spokeAt, "addresses");
    }

    /// The address of this contract's creation with nonce `n` (a contract's nonce starts at 1).
    function _createAddress(uint8 n) internal view returns (address) {
        require(n > 0 && n < 0x80, "nonce beyond the short RLP form");
        return address(uint160(uint256(keccak256(abi.encodePacked(bytes1(0xd6), bytes1(0x94), address(this), bytes1(n))))));
    }

    function deposit(uint256 input, uint256 output, uint32 window) internal returns (BridgeLib.RelayData memory d) {
        vm.deal(USER, USER.balance + input);
        vm.prank(USER);
        uint32 deadline = uint32(block.timestamp) + window;
        uint64 id = spoke.deposit{value: input}(BOB, output, uint64(block.chainid), address(0), deadline, 0);
        d = BridgeLib.RelayData(
            USER, BOB, address(0), input, output, uint64(block.chainid), uint64(block.chainid), id, deadline, 0
        );
        deposits.push(d);
    }

    /// Bridges the spoke's pending deposits and delivers them to the hub (the canonical path).
    function deliverAll() internal {
        uint256 value = spoke.pendingValue();
        spoke.bridgeDeposits();
        // The message passer keeps the ETH on L2; on L1 the portal pays it from its own.
        vm.deal(address(portal), address(portal).balance + value);
        portal.deliver(hub, address(spoke), spoke.depositCount(), spoke.depositRoot(), value);
    }

    function fill(BridgeLib.RelayData memory d, address relayer) internal {
        vm.deal(relayer, relayer.balance + d.outputAmount);
        vm.prank(relayer);
        hub.fillRelay{value: d.outputAmount}(d, relayer);
    }

    function depositBranch(uint64 id) internal view returns (bytes32[32] memory branch) {
        bytes32[] memory leaves = new bytes32[](deposits.length);
        for (uint256 i = 0; i < deposits.length; i++) {
            leaves[i] = BridgeLib.relayHash(deposits[i]);
        }
        (, branch) = MerkleHelper.build(leaves, id);
    }

    /// The honest decision for every deposit in `[from, to)`, as of now.
    function honest(uint64 from, uint64 to) internal view returns (BridgeLib.Entry[] memory es) {
        es = new BridgeLib.Entry[](to - from);
        for (uint64 i = from; i < to; i++) {
            (bool settled, BridgeLib.Entry memory e) = hub.expected(deposits[i], uint64(block.timestamp));
            require(settled, "unsettled deposit in an honest bundle");
            es[i - from] = e;
        }
    }

    function entryProof(BridgeLib.Entry[] memory es, uint256 index) internal pure returns (bytes32[] memory proof) {
        uint256 d = BridgeLib.depth(es.length);
        bytes32[] memory level = new bytes32[](uint256(1) << d);
        for (uint256 i = 0; i < es.length; i++) {
            level[i] = BridgeLib.entryLeaf(es[i]);
        }
        proof = new bytes32[](d);
        uint256 idx = index;
        for (uint256 k = 0; k < d; k++) {
            proof[k] = level[idx ^ 1];
            bytes32[] memory next = new bytes32[](level.length / 2);
            for (uint256 i = 0; i < next.length; i++) {
                next[i] = keccak256(abi.encodePacked(level[2 * i], level[2 * i + 1]));
            }
            level = next;
            idx >>= 1;
        }
    }

    function propose(address proposer, BridgeLib.Entry[] memory es) internal returns (uint256 id) {
        vm.deal(proposer, proposer.balance + BOND);
        vm.prank(proposer);
        id = hub.proposeBundle{value: BOND}(es);
    }

    /// Disputes entry `index` of bundle `id`; with `err`, expects the dispute to revert with it.
    function disputeEntry(uint256 id, BridgeLib.Entry[] memory es, uint256 index, address who, bytes memory err)
        internal
    {
        (uint64 start,,,,,,,) = hub.bundles(id);
        uint64 depositId = start + uint64(index);
        bytes32[] memory proof = entryProof(es, index);
        bytes32[32] memory branch = depositBranch(depositId);
        BridgeLib.RelayData memory d = deposits[depositId];
        if (err.length > 0) vm.expectRevert(err);
        vm.prank(who);
        hub.dispute(id, index, es[index], proof, d, branch);
    }

    function copy(BridgeLib.RelayData memory d) internal pure returns (BridgeLib.RelayData memory) {
        return abi.decode(abi.encode(d), (BridgeLib.RelayData));
    }
}
