// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title BatchInbox
/// @notice Where the batcher posts L2 data (frames) to L1, as calldata or as EIP-4844 blobs, and
/// where any user queues a signed L2 transaction the sequencer must include within the sequencing
/// window (forced inclusion). Nodes follow the events; the frames themselves are read from the
/// transaction's calldata or from its blobs.
contract BatchInbox {
    /// @notice The only account whose batches count.
    address public immutable batcher;
    /// @notice Largest forced transaction accepted (bytes).
    uint256 public constant MAX_FORCED_TX_SIZE = 128 * 1024;

    uint256 public batchCount;
    uint256 public forcedCount;

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

    /// @notice Posts frames as calldata.
    function submit(bytes calldata frames) external {
        if (msg.sender != batcher) revert NotBatcher(msg.sender);
        if (frames.length == 0) revert EmptyBatch();
        emit BatchSubmitted(batchCount++, new bytes32[](0));
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
        emit BatchSubmitted(batchCount++, hashes);
    }

    /// @notice Queues a signed L2 transaction (EIP-2718 bytes) for forced inclusion. The L2 checks
    /// it like any transaction when it is included; an invalid one is skipped there.
    function forceInclude(bytes calldata signedTransaction) external {
        if (signedTransaction.length == 0 || signedTransaction.length > MAX_FORCED_TX_SIZE) {
            revert ForcedTxSize(signedTransaction.length, MAX_FORCED_TX_SIZE);
        }
        emit TransactionForced(forcedCount++, msg.sender, signedTransaction);
    }
}
