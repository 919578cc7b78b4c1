// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "../utils/Test.sol";
import {BlsCheckpoints} from "../../src/sidechain/BlsCheckpoints.sol";

/// What the BLS path refuses before any pairing (valid aggregates are checked from Rust, which
/// signs: crates/sidechain/node/tests/bls.rs).
contract BlsCheckpointsTest is Test {
    BlsCheckpoints internal c;
    bytes internal keys;

    function setUp() public {
        // Four copies of the G1 generator stand in for keys: refusals come before any pairing.
        bytes memory g1 =
            hex"0000000000000000000000000000000017f1d3a73197d7942695638c4fa9ac0fc3688c4f9774b905a14e3a3f171bac586c55e83ff97a1aeffb3af00adb22c6bb0000000000000000000000000000000008b3f481e3aaa0f1a09e30ed741d8ae4fcf5e095d5d00af600db18cb2c04b3edd03cc744a2888ae40caa232946c5e7e1";
        keys = bytes.concat(g1, g1, g1, g1);
        c = new BlsCheckpoints(keys);
    }

    function _cp() internal pure returns (BlsCheckpoints.Checkpoint memory) {
        return BlsCheckpoints.Checkpoint(0, 1, 8, bytes32(uint256(1)), bytes32(uint256(2)), bytes32(uint256(3)));
    }

    function test_refusals() public {
        bytes memory sig = new bytes(256);
        vm.expectRevert(BlsCheckpoints.BadKeys.selector);
        c.submitCheckpoint(_cp(), bytes.concat(keys, hex"00"), 7, sig);
        vm.expectRevert(abi.encodeWithSelector(BlsCheckpoints.NotEnoughSigners.selector, 2, 4));
        c.submitCheckpoint(_cp(), keys, 3, sig);
        vm.expectRevert(BlsCheckpoints.BadKeys.selector);
        c.submitCheckpoint(_cp(), keys, 1 << 4 | 7, sig);
        vm.expectRevert(BlsCheckpoints.BadSignature.selector);
        c.submitCheckpoint(_cp(), keys, 7, new bytes(255));
        BlsCheckpoints.Checkpoint memory late = _cp();
        late.number = 1;
        vm.expectRevert(abi.encodeWithSelector(BlsCheckpoints.WrongCheckpointNumber.selector, 0, 1));
        c.submitCheckpoint(late, keys, 7, sig);
        // A signature that is not a point of G2 is refused by the pairing precompile.
        bytes memory junk = new bytes(256);
        junk[63] = 0x01;
        vm.expectRevert(abi.encodeWithSelector(BlsCheckpoints.PrecompileFailed.selector, address(0x0f)));
        c.submitCheckpoint(_cp(), keys, 7, junk);
        assertEq(uint256(c.checkpointCount()), 0, "nothing accepted");
    }

    /// The hash to G2 is a point EIP-2537 accepts (on the curve, in the subgroup): adding it to
    /// itself through G2ADD works.
    function test_hashToG2IsAPoint() public view {
        bytes memory h = c.hashToG2(keccak256("x"));
        assertEq(h.length, 256, "a G2 point");
        (bool ok, bytes memory twice) = address(0x0d).staticcall(bytes.concat(h, h));
        assertTrue(ok && twice.length == 256, "G2ADD takes it");
        assertTrue(keccak256(h) != keccak256(c.hashToG2(keccak256("y"))), "messages hash apart");
    }
}
