// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title IExecute
/// @notice The embedded L1's EXECUTE precompile (in the spirit of EIP-8079 "native rollups"): it
/// re-executes L2 state transitions statelessly with the node's own executor
/// (crates/l1/src/execute.rs). `rules` is `abi.encode(L2Rules)`.
interface IExecute {
    /// @notice The execution rules of an L2 (what its blocks mean).
    struct L2Rules {
        uint64 chainId;
        uint64 gasLimit;
        address l1FeeVault;
        uint64 compressionPpm;
        uint64 minL1Bytes;
        uint64 baseFeeScalar;
        uint64 blobBaseFeeScalar;
    }

    /// @notice How the rollup makes its blocks from L1 data (derivation parameters).
    struct DeriveRules {
        uint64 l1Genesis;
        uint64 l2GenesisTime;
        uint64 blockTimeMs;
        uint64 seqWindow;
        uint64 channelTimeout;
        uint64 maxChannelBytes;
        /// Fee recipient of every L2 block.
        address beneficiary;
    }

    /// @notice Records `from - 1` (when `from > 0`) through `to` (when `to < total`) of an L1
    /// record list: the range `[from, to)` and one record on each side.
    struct Records {
        uint256 from;
        uint256 to;
        uint256 total;
        bytes32[] records;
    }

    /// @notice What `deriveBlock` re-derives and builds from.
    struct DeriveInput {
        /// RLP header of the agreed L2 block the derived one follows.
        bytes parentHeader;
        /// An L1 block number and the hash L1 stored for it: the last L1 header of `evidence`.
        uint64 anchor;
        bytes32 anchorHash;
        Records batches;
        Records forced;
        Records deposits;
        /// `rlp(DeriveEvidence)` (crates/rollup/protocol/src/evidence.rs): L1 headers and every
        /// record's data.
        bytes evidence;
        /// The parent state the block's execution reads.
        bytes witness;
    }

    /// @notice The input could not be decoded (rules, block or witness).
    error MalformedInput(string reason);
    /// @notice The block's transactions do not match its header, or the step is past its end.
    error BadBlock(string reason);
    /// @notice The witness lacks something the execution reads, or holds a forged entry.
    error BadWitness(string reason);

    /// @notice The L1 data given does not match what L1 recorded, leaves something out, or does
    /// not decide the block.
    error BadEvidence(string reason);

    /// @notice The hash, number and step count of `blockData` (`rlp([header, [tx…]])`), after
    /// checking its transactions against its header.
    function blockInfo(bytes calldata rules, bytes calldata blockData)
        external
        view
        returns (bytes32 blockHash, uint256 number, uint256 steps);

    /// @notice Re-executes step `step` (a deposit or a transaction) of `blockData`
    /// (`rlp([header, [tx…]])`) over the state with root `preRoot`, reading only `witness`.
    /// @return postRoot the state root after the step
    /// @return blockHash the hash of the block's header
    /// @return steps how many steps the block has
    function executeStep(bytes calldata rules, bytes32 preRoot, uint256 step, bytes calldata blockData, bytes calldata witness)
        external
        view
        returns (bytes32 postRoot, bytes32 blockHash, uint256 steps);

    /// @notice A read-only call to `to` with `data` at the state with root `stateRoot`.
    function staticCall(bytes calldata rules, bytes32 stateRoot, address to, bytes calldata data, bytes calldata witness)
        external
        view
        returns (bytes memory);

    /// @notice Derives the L2 block after `input.parentHeader` from the L1 data in
    /// `input.evidence`, checked against L1's records, and builds it over `input.witness`.
    /// @return blockHash the derived block's hash
    /// @return parentHash the hash of `input.parentHeader`
    /// @return stateRoot the derived block's state root
    function deriveBlock(bytes calldata rules, bytes calldata deriveRules, DeriveInput calldata input)
        external
        view
        returns (bytes32 blockHash, bytes32 parentHash, bytes32 stateRoot);
}
