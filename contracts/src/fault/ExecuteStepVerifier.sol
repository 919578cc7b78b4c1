// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IExecute} from "./IExecute.sol";
import {IStepVerifier} from "./IStepVerifier.sol";
import {RollupLib} from "../rollup/RollupLib.sol";
import {BatchInbox} from "../rollup/BatchInbox.sol";
import {RollupPortal} from "../rollup/RollupPortal.sol";

/// @title ExecuteStepVerifier
/// @notice One-step verification through the embedded L1's EXECUTE precompile, for one L2 (its
/// execution rules are fixed at deployment). A refusal of the precompile (malformed input, a bad
/// block or witness) is bubbled up unchanged, so the caller sees its custom error.
contract ExecuteStepVerifier is IStepVerifier {
    address public constant EXECUTE = 0x0000000000000000000000000000000000000A00;

    /// @notice `abi.encode(IExecute.L2Rules)` of the L2 this verifier checks.
    bytes public rules;
    /// @notice `abi.encode(IExecute.DeriveRules)`: how that L2's blocks are made from L1 data.
    bytes public deriveRules;
    /// @notice Where L1 records the rollup's batches, forced transactions and L1 block hashes.
    BatchInbox public immutable inbox;
    /// @notice Where L1 records the rollup's deposits.
    RollupPortal public immutable portal;

    /// @notice The chain has no EXECUTE precompile (e.g. anvil): steps cannot be verified here.
    error NoExecutePrecompile();
    /// @notice L1 kept no hash for this block (see `BatchInbox.checkpoint`).
    error NoAnchor(uint256 l1Block);

    constructor(IExecute.L2Rules memory rules_, IExecute.DeriveRules memory derive_, BatchInbox inbox_, RollupPortal portal_) {
        rules = abi.encode(rules_);
        deriveRules = abi.encode(derive_);
        inbox = inbox_;
        portal = portal_;
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

    function deriveBlock(
        bytes calldata parentHeader,
        uint64 anchor,
        uint256[6] calldata ranges,
        bytes calldata evidence,
        bytes calldata witness
    ) external view returns (bytes32 blockHash, bytes32 parentHash) {
        bytes32 anchorHash = inbox.l1Hashes(anchor);
        if (anchorHash == bytes32(0)) revert NoAnchor(anchor);
        IExecute.DeriveInput memory input;
        input.parentHeader = parentHeader;
        input.anchor = anchor;
        input.anchorHash = anchorHash;
        input.batches = _records(0, ranges[0], ranges[1]);
        input.forced = _records(1, ranges[2], ranges[3]);
        input.deposits = _records(2, ranges[4], ranges[5]);
        input.evidence = evidence;
        input.witness = witness;
        bytes memory ret = _call(abi.encodeCall(IExecute.deriveBlock, (rules, deriveRules, input)));
        (blockHash, parentHash,) = abi.decode(ret, (bytes32, bytes32, bytes32));
    }

    /// @dev List 0: batches, 1: forced transactions, 2: deposits.
    function _records(uint256 list, uint256 from, uint256 to) internal view returns (IExecute.Records memory r) {
        (r.records, r.total) = list == 2 ? portal.records(from, to) : inbox.records(list == 1, from, to);
        (r.from, r.to) = (from, to);
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
