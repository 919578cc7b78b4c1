// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IExecute} from "./IExecute.sol";
import {IStepVerifier} from "./IStepVerifier.sol";
import {RollupLib} from "../rollup/RollupLib.sol";

/// @title ExecuteStepVerifier
/// @notice One-step verification through the embedded L1's EXECUTE precompile, for one L2 (its
/// execution rules are fixed at deployment). A refusal of the precompile (malformed input, a bad
/// block or witness) is bubbled up unchanged, so the caller sees its custom error.
contract ExecuteStepVerifier is IStepVerifier {
    address public constant EXECUTE = 0x0000000000000000000000000000000000000A00;

    /// @notice `abi.encode(IExecute.L2Rules)` of the L2 this verifier checks.
    bytes public rules;

    /// @notice The chain has no EXECUTE precompile (e.g. anvil): steps cannot be verified here.
    error NoExecutePrecompile();

    constructor(IExecute.L2Rules memory rules_) {
        rules = abi.encode(rules_);
    }

    function blockInfo(bytes calldata blockData) external view returns (bytes32 blockHash, uint256 number, uint256 steps) {
        bytes memory ret = _call(abi.encodeCall(IExecute.blockInfo, (rules, blockData)));
        return abi.decode(ret, (bytes32, uint256, uint256));
    }

    function verifyStep(bytes32 preRoot, uint256 step, bytes calldata blockData, bytes calldata witness)
        external
        view
        returns (bytes32 postRoot)
    {
        bytes memory ret = _call(abi.encodeCall(IExecute.executeStep, (rules, preRoot, step, blockData, witness)));
        (postRoot,,) = abi.decode(ret, (bytes32, bytes32, uint256));
    }

    function messageRoot(bytes32 stateRoot, bytes calldata witness) external view returns (bytes32) {
        bytes memory data = abi.encodeWithSignature("root()");
        bytes memory ret = _call(
            abi.encodeCall(IExecute.staticCall, (rules, stateRoot, RollupLib.MESSAGE_PASSER, data, witness))
        );
        return abi.decode(abi.decode(ret, (bytes)), (bytes32));
    }

    function _call(bytes memory input) internal view returns (bytes memory ret) {
        bool ok;
        (ok, ret) = EXECUTE.staticcall(input);
        if (!ok) {
            assembly {
                revert(add(ret, 32), mload(ret))
            }
        }
        if (ret.length == 0) revert NoExecutePrecompile();
    }
}
