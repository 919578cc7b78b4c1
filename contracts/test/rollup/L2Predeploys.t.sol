// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "../utils/Test.sol";
import {MerkleHelper} from "./MerkleHelper.sol";
import {AqueductToken} from "../../src/AqueductToken.sol";
import {RollupLib} from "../../src/rollup/RollupLib.sol";
import {L1Block} from "../../src/rollup/l2/L1Block.sol";
import {L2Bridge} from "../../src/rollup/l2/L2Bridge.sol";
import {L2ToL1MessagePasser} from "../../src/rollup/l2/L2ToL1MessagePasser.sol";

contract L2PredeploysTest is Test {
    L2ToL1MessagePasser passer = L2ToL1MessagePasser(RollupLib.MESSAGE_PASSER);
    L2Bridge bridge = L2Bridge(RollupLib.L2_BRIDGE);
    L1Block l1Block = L1Block(RollupLib.L1_BLOCK);
    address portal = address(0x9012);
    address user = address(0xA11CE);

    function setUp() public {
        vm.etch(RollupLib.MESSAGE_PASSER, address(new L2ToL1MessagePasser()).code);
        vm.etch(RollupLib.L2_BRIDGE, address(new L2Bridge()).code);
        vm.etch(RollupLib.L1_BLOCK, address(new L1Block()).code);
        // The L2 genesis sets the bridge's portal (slot 0).
        vm.store(RollupLib.L2_BRIDGE, bytes32(0), bytes32(uint256(uint160(portal))));
        vm.deal(user, 100 ether);
    }

    function test_empty_tree_root() public view {
        bytes32[] memory none = new bytes32[](0);
        (bytes32 root,) = MerkleHelper.build(none, 0);
        assertEq(passer.root(), root, "empty root");
    }

    function testFuzz_incremental_tree_matches_reference(uint8 count) public {
        uint256 n = bound(count, 1, 40);
        bytes32[] memory leaves = new bytes32[](n);
        for (uint256 i = 0; i < n; i++) {
            vm.prank(user);
            passer.initiateWithdrawal{value: i}(address(uint160(i + 1)), 50_000, abi.encode(i));
            leaves[i] = RollupLib.hashWithdrawal(
                RollupLib.WithdrawalTransaction(i, user, address(uint160(i + 1)), i, 50_000, abi.encode(i))
            );
            assertTrue(passer.sentMessages(leaves[i]), "recorded");
        }
        (bytes32 root, bytes32[32] memory branch) = MerkleHelper.build(leaves, n / 2);
        assertEq(passer.root(), root, "root matches the reference tree");
        assertEq(RollupLib.merkleRoot(leaves[n / 2], n / 2, branch), root, "proof of a middle leaf");
        assertEq(passer.messageNonce(), n, "nonce");
    }

    function test_l1_block_only_depositor() public {
        vm.expectRevert(abi.encodeWithSelector(L1Block.OnlyDepositor.selector, address(this)));
        l1Block.setL1BlockValues(1, 2, 3, 4, bytes32(uint256(5)), 0);
        vm.prank(RollupLib.DEPOSITOR);
        l1Block.setL1BlockValues(1, 2, 3, 4, bytes32(uint256(5)), 6);
        assertEq(l1Block.number(), 1, "number");
        assertEq(l1Block.basefee(), 3, "basefee");
        assertEq(l1Block.sequenceNumber(), 6, "seq");
    }

    function test_bridge_mints_only_for_portal_alias() public {
        address l1Token = address(0x70CE);
        vm.expectRevert(abi.encodeWithSelector(L2Bridge.NotPortal.selector, address(this)));
        bridge.finalizeDeposit(l1Token, user, user, 1 ether);
        // The portal's own address (unaliased) is not enough either.
        vm.prank(portal);
        vm.expectRevert(abi.encodeWithSelector(L2Bridge.NotPortal.selector, portal));
        bridge.finalizeDeposit(l1Token, user, user, 1 ether);

        vm.prank(RollupLib.applyAlias(portal));
        bridge.finalizeDeposit(l1Token, user, user, 5 ether);
        AqueductToken l2 = AqueductToken(bridge.l2TokenOf(l1Token));
        assertEq(l2.balanceOf(user), 5 ether, "minted");
        assertEq(bridge.l1TokenOf(address(l2)), l1Token, "pair");

        vm.prank(user);
        bridge.withdraw(address(l2), address(0xB0B), 2 ether);
        assertEq(l2.balanceOf(user), 3 ether, "burned");
        bytes32 h = RollupLib.hashWithdrawal(
            RollupLib.WithdrawalTransaction(0, RollupLib.L2_BRIDGE, portal, 0, 0, abi.encode(l1Token, address(0xB0B), 2 ether))
        );
        assertTrue(passer.sentMessages(h), "withdrawal to the portal recorded");

        vm.prank(user);
        vm.expectRevert(abi.encodeWithSelector(AqueductToken.ERC20InsufficientBalance.selector, user, 3 ether, 4 ether));
        bridge.withdraw(address(l2), user, 4 ether);
        vm.expectRevert(abi.encodeWithSelector(L2Bridge.UnknownToken.selector, address(0xDEAD)));
        bridge.withdraw(address(0xDEAD), user, 1);
    }
}
