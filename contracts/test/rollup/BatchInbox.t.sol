// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "../utils/Test.sol";
import {BatchInbox} from "../../src/rollup/BatchInbox.sol";

contract BatchInboxTest is Test {
    BatchInbox inbox;
    address batcher = address(0xBA7C);

    event BatchSubmitted(uint256 indexed index, bytes32[] blobHashes);
    event TransactionForced(uint256 indexed index, address indexed sender, bytes transaction);

    function setUp() public {
        inbox = new BatchInbox(batcher);
    }

    function test_only_batcher_submits() public {
        vm.expectRevert(abi.encodeWithSelector(BatchInbox.NotBatcher.selector, address(this)));
        inbox.submit(hex"00");
        vm.prank(batcher);
        inbox.submit(hex"00");
        assertEq(inbox.batchCount(), 1, "counted");
    }

    function test_batches_and_forced_items_are_recorded_with_their_l1_block_and_anchor() public {
        vm.roll(100);
        vm.prank(batcher);
        inbox.submit(hex"c0ffee");
        vm.roll(105);
        vm.prank(address(0xD00D));
        inbox.forceInclude(hex"02f8");
        vm.prank(batcher);
        inbox.submit(hex"beef");
        assertEq(inbox.batchRecords(0), keccak256(abi.encode(keccak256(hex"c0ffee"), uint256(100))), "batch record");
        assertEq(inbox.batchRecords(1), keccak256(abi.encode(keccak256(hex"beef"), uint256(105))), "batch record");
        assertEq(inbox.forcedRecords(0), keccak256(abi.encode(keccak256(hex"02f8"), uint256(105))), "forced record");
        assertEq(inbox.l1Hashes(99), blockhash(99), "each batch keeps the previous L1 block's hash");
        assertEq(inbox.l1Hashes(104), blockhash(104), "each batch keeps the previous L1 block's hash");
        // Anyone can keep one.
        vm.roll(120);
        inbox.checkpoint();
        assertEq(inbox.l1Hashes(119), blockhash(119), "checkpoint");
        // A window: the range and the record on each side.
        (bytes32[] memory w, uint256 total) = inbox.records(false, 1, 1);
        assertEq(total, 2, "total");
        assertEq(w.length, 2, "the one before and the one after an empty range");
        assertEq(w[0], inbox.batchRecords(0), "before");
        assertEq(w[1], inbox.batchRecords(1), "after");
        (w,) = inbox.records(false, 0, 2);
        assertEq(w.length, 2, "the whole list has no neighbours");
        (w,) = inbox.records(true, 0, 1);
        assertEq(w.length, 1, "one forced item");
        vm.expectRevert(abi.encodeWithSignature("BadRange(uint256,uint256,uint256)", 1, 3, 2));
        inbox.records(false, 1, 3);
    }

    function test_empty_batch_rejected() public {
        vm.prank(batcher);
        vm.expectRevert(BatchInbox.EmptyBatch.selector);
        inbox.submit("");
    }

    function test_blob_batch_lists_blob_hashes() public {
        bytes32[] memory hashes = new bytes32[](2);
        hashes[0] = bytes32(uint256(0x01) << 248 | 1);
        hashes[1] = bytes32(uint256(0x01) << 248 | 2);
        vm.blobhashes(hashes);
        vm.expectEmit(true, false, false, true);
        emit BatchSubmitted(0, hashes);
        vm.prank(batcher);
        inbox.submitBlobs();
    }

    function test_blob_batch_needs_blobs() public {
        vm.prank(batcher);
        vm.expectRevert(BatchInbox.NoBlobs.selector);
        inbox.submitBlobs();
    }

    function test_anyone_forces_a_transaction() public {
        vm.expectEmit(true, true, false, true);
        emit TransactionForced(0, address(0xD00D), hex"02f8");
        vm.prank(address(0xD00D));
        inbox.forceInclude(hex"02f8");
        assertEq(inbox.forcedCount(), 1, "queued");
    }

    function testFuzz_forced_size_limit(uint256 size) public {
        size = bound(size, 0, 140_000);
        bytes memory tx_ = new bytes(size);
        if (size == 0 || size > inbox.MAX_FORCED_TX_SIZE()) {
            vm.expectRevert(abi.encodeWithSelector(BatchInbox.ForcedTxSize.selector, size, inbox.MAX_FORCED_TX_SIZE()));
        }
        inbox.forceInclude(tx_);
    }
}
