// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {RollupLib} from "../RollupLib.sol";

/// @title L1Block
/// @notice L2 predeploy holding the L1 origin of the current L2 block. The system deposit that opens
/// every L2 block sets it; L2 contracts read L1's number, time, hash and fees from here.
contract L1Block {
    uint64 public number;
    uint64 public timestamp;
    uint256 public basefee;
    uint256 public blobBaseFee;
    bytes32 public hash;
    /// @notice L2 blocks since the L1 origin changed (0 in the first block of an epoch).
    uint64 public sequenceNumber;

    error OnlyDepositor(address caller);

    function setL1BlockValues(
        uint64 number_,
        uint64 timestamp_,
        uint256 basefee_,
        uint256 blobBaseFee_,
        bytes32 hash_,
        uint64 sequenceNumber_
    ) external {
        if (msg.sender != RollupLib.DEPOSITOR) revert OnlyDepositor(msg.sender);
        number = number_;
        timestamp = timestamp_;
        basefee = basefee_;
        blobBaseFee = blobBaseFee_;
        hash = hash_;
        sequenceNumber = sequenceNumber_;
    }
}
