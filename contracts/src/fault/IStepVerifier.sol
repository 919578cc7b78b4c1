// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title IStepVerifier
/// @notice What the dispute game asks of a one-step verifier: facts about a block, one step of it
/// re-executed, and the withdrawals root a state commits to. The embedded L1 answers through its
/// EXECUTE precompile (`ExecuteStepVerifier`); other verifiers (an on-chain EVM interpreter, a
/// SNARK of the step) can plug in behind the same interface.
interface IStepVerifier {
    /// @notice The hash, L2 number and step count (deposits + transactions) of a block given as
    /// `rlp([header, [tx…]])`, after checking its transactions against its header.
    function blockInfo(bytes calldata blockData) external view returns (bytes32 blockHash, uint256 number, uint256 steps);

    /// @notice The state root after step `step` of the block, from the state root `preRoot`.
    function verifyStep(bytes32 preRoot, uint256 step, bytes calldata blockData, bytes calldata witness)
        external
        view
        returns (bytes32 postRoot);

    /// @notice The L2->L1 message tree root (`L2ToL1MessagePasser.root()`) at the state `stateRoot`.
    function messageRoot(bytes32 stateRoot, bytes calldata witness) external view returns (bytes32);

    /// @notice The L2 block after `parentHeader` as derivation from L1 and execution make it:
    /// `ranges` = [batchFrom, batchTo, forcedFrom, forcedTo, depositFrom, depositTo] name the L1
    /// records `evidence` gives the data of, `anchor` the L1 block whose stored hash its headers
    /// end at. Returns the block's hash and `parentHeader`'s.
    function deriveBlock(
        bytes calldata parentHeader,
        uint64 anchor,
        uint256[6] calldata ranges,
        bytes calldata evidence,
        bytes calldata witness
    ) external view returns (bytes32 blockHash, bytes32 parentHash);
}
