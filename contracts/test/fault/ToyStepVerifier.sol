// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IStepVerifier} from "../../src/fault/IStepVerifier.sol";

/// @notice A deterministic stand-in state transition for testing the game's bisection, clocks
/// and bonds where there is no EXECUTE precompile (forge's EVM, anvil). Blocks are
/// `abi.encode(number, steps, salt)`; a step maps `pre` to `keccak256(pre, step, block)`; the
/// message root of a state is `keccak256("msg", state)`; a derived block is its evidence. The real verifier is exercised by the
/// Rust end-to-end tests on the embedded L1.
contract ToyStepVerifier is IStepVerifier {
    error BadWitness();

    function blockInfo(bytes calldata blockData) external pure returns (bytes32, uint256, uint256) {
        (uint256 number, uint256 steps,) = abi.decode(blockData, (uint256, uint256, bytes32));
        return (keccak256(blockData), number, steps);
    }

    function verifyStep(bytes32 preRoot, uint256 step, bytes calldata blockData, bytes calldata witness)
        external
        pure
        returns (bytes32)
    {
        if (keccak256(witness) != keccak256("ok")) revert BadWitness();
        return transition(preRoot, step, blockData);
    }

    function messageRoot(bytes32 stateRoot, bytes calldata witness) external pure returns (bytes32) {
        if (keccak256(witness) != keccak256("ok")) revert BadWitness();
        return keccak256(abi.encode("msg", stateRoot));
    }

    /// @notice The derived block is `evidence` itself: its hash is `keccak256(evidence)`.
    function deriveBlock(bytes calldata parentHeader, uint64, uint256[6] calldata, bytes calldata evidence, bytes calldata witness)
        external
        pure
        returns (bytes32, bytes32)
    {
        if (keccak256(witness) != keccak256("ok")) revert BadWitness();
        return (keccak256(evidence), keccak256(parentHeader));
    }

    function transition(bytes32 pre, uint256 step, bytes memory blockData) public pure returns (bytes32) {
        return keccak256(abi.encode(pre, step, blockData));
    }
}
