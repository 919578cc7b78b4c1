// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {SidechainHelper} from "./SidechainHelper.sol";
import {SidechainBridge} from "../../src/sidechain/SidechainBridge.sol";
import {AqueductToken} from "../../src/AqueductToken.sol";

contract SidechainBridgeTest is SidechainHelper {
    address internal alice = address(0xA11CE);
    address internal bob = address(0xB0B);

    function setUp() public {
        _deploy(4);
        vm.deal(alice, 100 ether);
    }

    function test_depositETHAndERC20AreNumbered() public {
        vm.prank(alice);
        bridge.depositETH{value: 10 ether}(bob);
        AqueductToken t = new AqueductToken("T", "T", 18, 1000 ether);
        t.approve(address(bridge), 5 ether);
        bridge.depositERC20(address(t), bob, 5 ether);
        assertEq(bridge.depositCount(), 2, "two deposits");
        assertEq(bridge.funds(address(0)), 10 ether, "eth locked");
        assertEq(bridge.funds(address(t)), 5 ether, "token locked");
        assertEq(t.balanceOf(address(bridge)), 5 ether, "tokens held");
        vm.expectRevert(SidechainBridge.ZeroAmount.selector);
        bridge.depositETH{value: 0}(bob);
    }

    function test_checkpointNeedsMoreThanTwoThirds() public {
        SidechainBridge.Checkpoint memory c = _checkpoint(bytes32(0), 16);
        bytes memory two = _sign(c, _first(2));
        vm.expectRevert(abi.encodeWithSelector(SidechainBridge.NotEnoughStake.selector, 2 ether, 4 ether));
        bridge.submitCheckpoint(c, two);
        bridge.submitCheckpoint(c, _sign(c, _first(3)));
        assertEq(bridge.checkpointCount(), 1, "accepted with 3 of 4");
        assertEq(bridge.lastEndBlock(), 16, "covers 1..16");
    }

    function test_checkpointRefusesUnsortedDuplicateAndStrangers() public {
        SidechainBridge.Checkpoint memory c = _checkpoint(bytes32(0), 4);
        bytes32 d = bridge.checkpointDigest(c);
        bytes memory dup = bytes.concat(_sig(valKeys[0], d), _sig(valKeys[1], d), _sig(valKeys[1], d));
        vm.expectRevert(abi.encodeWithSelector(SidechainBridge.SignersNotAscending.selector, 2));
        bridge.submitCheckpoint(c, dup);
        bytes memory unsorted = bytes.concat(_sig(valKeys[2], d), _sig(valKeys[1], d), _sig(valKeys[3], d));
        vm.expectRevert(abi.encodeWithSelector(SidechainBridge.SignersNotAscending.selector, 1));
        bridge.submitCheckpoint(c, unsorted);
        uint256 stranger = 0xBAD;
        bytes memory s = _sig(stranger, d);
        vm.expectRevert(abi.encodeWithSelector(SidechainBridge.NotValidator.selector, vm.addr(stranger)));
        bridge.submitCheckpoint(c, s);
        vm.expectRevert(abi.encodeWithSelector(SidechainBridge.MalformedSignatures.selector, 64));
        bridge.submitCheckpoint(c, new bytes(64));
        // A signature over another checkpoint (a fork's) does not count for this one.
        SidechainBridge.Checkpoint memory fork = _checkpoint(bytes32(0), 4);
        fork.blockHash = keccak256("fork");
        bytes memory forkSigs = _sign(fork, _first(3));
        vm.expectRevert();
        bridge.submitCheckpoint(c, forkSigs);
    }

    function test_checkpointsAreSequential() public {
        SidechainBridge.Checkpoint memory c = _checkpoint(bytes32(0), 4);
        c.number = 1;
        bytes memory sigs = _sign(c, _first(3));
        vm.expectRevert(abi.encodeWithSelector(SidechainBridge.WrongCheckpointNumber.selector, 0, 1));
        bridge.submitCheckpoint(c, sigs);
        c = _checkpoint(bytes32(0), 4);
        c.startBlock = 2;
        sigs = _sign(c, _first(3));
        vm.expectRevert(abi.encodeWithSelector(SidechainBridge.WrongStartBlock.selector, 1, 2));
        bridge.submitCheckpoint(c, sigs);
    }

    function test_withdrawPaysOnceAgainstTheRoot() public {
        vm.prank(alice);
        bridge.depositETH{value: 10 ether}(alice);
        SidechainBridge.Withdrawal memory w0 = SidechainBridge.Withdrawal(0, bob, address(0), 3 ether);
        SidechainBridge.Withdrawal memory w1 = SidechainBridge.Withdrawal(1, alice, address(0), 1 ether);
        bytes32[] memory leaves = new bytes32[](2);
        leaves[0] = _leaf(w0);
        leaves[1] = _leaf(w1);
        (bytes32 root, bytes32[] memory p0) = _tree(leaves, 0);
        (, bytes32[] memory p1) = _tree(leaves, 1);
        SidechainBridge.Checkpoint memory c = _checkpoint(root, 8);
        bridge.submitCheckpoint(c, _sign(c, _first(4)));

        bridge.withdraw(0, w0, 0, p0);
        assertEq(bob.balance, 3 ether, "bob paid");
        vm.expectRevert(abi.encodeWithSelector(SidechainBridge.AlreadyWithdrawn.selector, 0));
        bridge.withdraw(0, w0, 0, p0);
        // The wrong index, or a changed amount, fails the proof.
        vm.expectRevert(SidechainBridge.BadProof.selector);
        bridge.withdraw(0, w1, 0, p1);
        w1.amount = 2 ether;
        vm.expectRevert(SidechainBridge.BadProof.selector);
        bridge.withdraw(0, w1, 1, p1);
        w1.amount = 1 ether;
        bridge.withdraw(0, w1, 1, p1);
        assertTrue(bridge.isWithdrawn(1), "marked");
        assertEq(bridge.funds(address(0)), 6 ether, "funds left");
        vm.expectRevert(abi.encodeWithSelector(SidechainBridge.UnknownCheckpoint.selector, 1));
        bridge.withdraw(1, w1, 1, p1);
    }

    function test_aSignedRootCannotPayBeyondDeposits() public {
        vm.prank(alice);
        bridge.depositETH{value: 1 ether}(alice);
        SidechainBridge.Withdrawal memory w = SidechainBridge.Withdrawal(7, bob, address(0), 5 ether);
        bytes32[] memory leaves = new bytes32[](1);
        leaves[0] = _leaf(w);
        (bytes32 root, bytes32[] memory p) = _tree(leaves, 0);
        SidechainBridge.Checkpoint memory c = _checkpoint(root, 1);
        bridge.submitCheckpoint(c, _sign(c, _first(3)));
        vm.expectRevert(abi.encodeWithSelector(SidechainBridge.InsufficientFunds.selector, address(0), 1 ether, 5 ether));
        bridge.withdraw(0, w, 0, p);
    }

    function test_validatorChangesTakeEffectAtTheNextCheckpoint() public {
        uint256 newKey = 0x5EED;
        address nv = vm.addr(newKey);
        vm.deal(nv, 2 ether);
        vm.prank(nv);
        // The candidate's consensus key and addresses reach the validators through the log.
        vm.expectEmit(true, false, false, true);
        emit SidechainBridge.ValidatorJoinRequested(
            nv, 1 ether, bytes32(uint256(7)), "127.0.0.1:9564", "http://127.0.0.1:9554"
        );
        bridge.requestJoin{value: 1 ether}(bytes32(uint256(7)), "127.0.0.1:9564", "http://127.0.0.1:9554");
        assertEq(bridge.stakeOf(nv), 0, "not yet");
        address gone = vals[0];
        vm.prank(gone);
        bridge.requestLeave();
        SidechainBridge.Checkpoint memory c = _checkpoint(bytes32(0), 2);
        bridge.submitCheckpoint(c, _sign(c, _first(3)));
        assertEq(bridge.stakeOf(nv), 1 ether, "joined");
        assertEq(bridge.stakeOf(gone), 0, "left");
        assertEq(bridge.totalStake(), 4 ether, "3 old + 1 new");
        assertEq(uint256(bridge.epoch()), 1, "epoch bumped");
        (address[] memory list,) = bridge.validators();
        for (uint256 i = 1; i < list.length; i++) {
            assertTrue(list[i - 1] < list[i], "ascending");
        }
        // The old validator no longer counts.
        c = _checkpoint(bytes32(0), 2);
        bytes32 d = bridge.checkpointDigest(c);
        vm.expectRevert(abi.encodeWithSelector(SidechainBridge.NotValidator.selector, gone));
        bridge.submitCheckpoint(c, _sig(valKeys[0], d));
    }

    /// Any subset of signers is accepted exactly when it holds more than 2/3 of the stake.
    function testFuzz_quorum(uint8 mask) public {
        _deploy(7);
        SidechainBridge.Checkpoint memory c = _checkpoint(bytes32(0), 1);
        uint256 count;
        for (uint256 i = 0; i < 7; i++) {
            if (mask & (1 << i) != 0) count++;
        }
        vm.assume(count > 0);
        uint256[] memory idx = new uint256[](count);
        uint256 k;
        for (uint256 i = 0; i < 7; i++) {
            if (mask & (1 << i) != 0) idx[k++] = i;
        }
        bytes memory sigs = _sign(c, idx);
        if (count * 3 > 14) {
            bridge.submitCheckpoint(c, sigs);
            assertEq(bridge.checkpointCount(), 1, "accepted");
        } else {
            vm.expectRevert(abi.encodeWithSelector(SidechainBridge.NotEnoughStake.selector, count * 1 ether, 7 ether));
            bridge.submitCheckpoint(c, sigs);
        }
    }

    /// Gas of a checkpoint at 4, 10 and 30 validators, signed by the least quorum (printed by
    /// `forge test -vv`; the Rust bench measures the same on a real chain).
    function test_checkpointGas() public {
        uint256[3] memory sizes = [uint256(4), 10, 30];
        for (uint256 s = 0; s < 3; s++) {
            _deploy(sizes[s]);
            SidechainBridge.Checkpoint memory c = _checkpoint(keccak256("root"), 64);
            bytes memory sigs = _sign(c, _first((sizes[s] * 2) / 3 + 1));
            uint256 g = gasleft();
            bridge.submitCheckpoint(c, sigs);
            g -= gasleft();
            assertTrue(g < 400_000, "checkpoint gas");
        }
    }
}
