// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @notice Where a log was emitted on another rollup (OP Stack interop's identifier).
struct Identifier {
    address origin;
    uint256 blockNumber;
    uint256 logIndex;
    uint256 timestamp;
    uint256 chainId;
}

/// @title CrossL2Inbox
/// @notice L2 predeploy through which a transaction consumes a log of another rollup (an
/// "executing message", after OP Stack interop). The inbox checks only that the transaction
/// declared the message in its EIP-2930 access list: the rollup's nodes check every declared
/// message against the source rollup as derived from L1 (the log exists there, with this payload,
/// in a block whose batch is on L1 at or before the executing block's L1 origin) and leave out a
/// transaction whose declaration is wrong. A message not declared is refused here, so no
/// executing message escapes the nodes' check.
///
/// A declaration is three storage keys of this contract, in order:
/// `0x01 ‖ 0 ‖ blockNumber (u64) ‖ timestamp (u64) ‖ logIndex (u32)`,
/// `0x02 ‖ 0 ‖ chainId (u64)` and `0x03 ‖ checksum[1:]`, where `checksum = keccak256(abi.encode(id, msgHash))`.
contract CrossL2Inbox {
    /// @notice A transaction consumed the message `msgHash` of `id`.
    event ExecutingMessage(bytes32 indexed msgHash, Identifier id);

    /// @notice The message was not declared in the transaction's access list.
    error NotDeclared(bytes32 checksum);
    /// @notice A field does not fit its place in the declaration.
    error IdentifierOutOfRange();

    /// @notice Cold and warm SLOAD cost 2,100 and 100 gas (EIP-2929): anything below this was warm.
    uint256 internal constant WARM_BOUND = 1_000;

    /// @notice Consumes a message: reverts unless the transaction declared it.
    function validateMessage(Identifier calldata id, bytes32 msgHash) external {
        if (
            id.blockNumber > type(uint64).max || id.timestamp > type(uint64).max || id.logIndex > type(uint32).max
                || id.chainId > type(uint64).max
        ) revert IdentifierOutOfRange();
        bytes32 key = checksumKey(id, msgHash);
        uint256 used;
        assembly {
            let before := gas()
            // Never written, so always zero; used, so the optimizer keeps the load.
            let v := sload(key)
            used := sub(before, gas())
            if v { revert(0, 0) }
        }
        if (used > WARM_BOUND) revert NotDeclared(key);
        emit ExecutingMessage(msgHash, id);
    }

    /// @notice The third key of a declaration.
    function checksumKey(Identifier calldata id, bytes32 msgHash) public pure returns (bytes32) {
        bytes32 c = keccak256(abi.encode(id, msgHash));
        return (c & ~bytes32(uint256(0xff) << 248)) | bytes32(uint256(0x03) << 248);
    }
}
