// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {RecordList} from "./RollupLib.sol";

/// @title BatchInbox
/// @notice Where the batcher posts L2 data (frames) to L1, as calldata or as EIP-4844 blobs, and
/// where any user queues a signed L2 transaction the sequencer must include within the sequencing
/// window (forced inclusion). Nodes follow the events; the frames themselves are read from the
/// transaction's calldata or from its blobs.
/// @notice Every batch and forced transaction also leaves a record in storage, and each batch
/// stores the hash of the L1 block before it: a fault proof that re-derives an L2 block on L1
/// checks the data it is given against these (every item, none left out, and the L1 headers
/// back from a stored hash).
contract BatchInbox {
    /// @notice The only account whose batches count.
    address public immutable batcher;
    /// @notice Largest forced transaction accepted (bytes).
    uint256 public constant MAX_FORCED_TX_SIZE = 128 * 1024;

    /// @notice `keccak256(abi.encode(dataHash, l1Block))` per batch, where `dataHash` is the
    /// keccak of the frames (calldata) or of the packed blob versioned hashes.
    bytes32[] public batchRecords;
    /// @notice `keccak256(abi.encode(keccak256(transaction), l1Block))` per forced transaction.
    bytes32[] public forcedRecords;
    /// @notice L1 block hashes kept for fault proofs (L1's own BLOCKHASH forgets after 256 blocks).
    mapping(uint256 => bytes32) public l1Hashes;

    /// @notice A batch in calldata (`blobHashes` empty; the frames are `submit`'s argument) or in blobs.
    event BatchSubmitted(uint256 indexed index, bytes32[] blobHashes);
    /// @notice A signed L2 transaction queued for forced inclusion.
    event TransactionForced(uint256 indexed index, address indexed sender, bytes transaction);

    error NotBatcher(address caller);
    error NoBlobs();
    error EmptyBatch();
    error ForcedTxSize(uint256 size, uint256 max);

    constructor(address batcher_) {
        batcher = batcher_;
    }

    function batchCount() external view returns (uint256) {
        return batchRecords.length;
    }

    function forcedCount() external view returns (uint256) {
        return forcedRecords.length;
    }

    /// @notice Posts frames as calldata.
    function submit(bytes calldata frames) external {
        if (msg.sender != batcher) revert NotBatcher(msg.sender);
        if (frames.length == 0) revert EmptyBatch();
        emit BatchSubmitted(_record(batchRecords, keccak256(frames)), new bytes32[](0));
        checkpoint();
    }

    /// @notice Posts frames carried in this transaction's blobs (all of them).
    function submitBlobs() external {
        if (msg.sender != batcher) revert NotBatcher(msg.sender);
        uint256 n;
        while (blobhash(n) != bytes32(0)) n++;
        if (n == 0) revert NoBlobs();
        bytes32[] memory hashes = new bytes32[](n);
        for (uint256 i = 0; i < n; i++) {
            hashes[i] = blobhash(i);
        }
        emit BatchSubmitted(_record(batchRecords, keccak256(abi.encodePacked(hashes))), hashes);
        checkpoint();
    }

    /// @notice Queues a signed L2 transaction (EIP-2718 bytes) for forced inclusion. The L2 checks
    /// it like any transaction when it is included; an invalid one is skipped there.
    function forceInclude(bytes calldata signedTransaction) external {
        if (signedTransaction.length == 0 || signedTransaction.length > MAX_FORCED_TX_SIZE) {
            revert ForcedTxSize(signedTransaction.length, MAX_FORCED_TX_SIZE);
        }
        emit TransactionForced(_record(forcedRecords, keccak256(signedTransaction)), msg.sender, signedTransaction);
    }

    /// @notice Anyone: keeps the hash of the previous L1 block (batches do this on their own).
    function checkpoint() public {
        uint256 n = block.number - 1;
        if (l1Hashes[n] == bytes32(0)) l1Hashes[n] = blockhash(n);
    }

    /// @notice Records `[from, to)` of a list with the one before and the one after each side,
    /// when they exist (what shows a range is complete).
    function records(bool forced, uint256 from, uint256 to) external view returns (bytes32[] memory out, uint256 total) {
        bytes32[] storage list = forced ? forcedRecords : batchRecords;
        return RecordList.window(list, from, to);
    }

    function _record(bytes32[] storage list, bytes32 dataHash) internal returns (uint256 index) {
        index = list.length;
        list.push(keccak256(abi.encode(dataHash, block.number)));
    }
}
