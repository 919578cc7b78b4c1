// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {RollupLib} from "../RollupLib.sol";

/// @title L2ToL1MessagePasser
/// @notice L2 predeploy recording withdrawals (L2->L1 messages) as leaves of an append-only Merkle
/// tree of depth 32. Its `root()` is the withdrawals root committed in every output root; a
/// withdrawal is proven on L1 with its leaf index and sibling path. ETH sent along stays locked here
/// (it is paid out of the L1 portal).
contract L2ToL1MessagePasser {
    /// @notice Withdrawals so far; the next withdrawal's nonce and leaf index.
    uint256 public messageNonce;
    /// @notice Left siblings of the next leaf's path (the incremental-tree frontier).
    bytes32[32] internal frontier;
    mapping(bytes32 => bool) public sentMessages;

    event MessagePassed(
        uint256 indexed nonce,
        address indexed sender,
        address indexed target,
        uint256 value,
        uint256 gasLimit,
        bytes data,
        bytes32 withdrawalHash
    );

    error TreeFull();

    /// @notice Sends a message to `target` on L1, carrying `msg.value`, executed there with `gasLimit`.
    function initiateWithdrawal(address target, uint256 gasLimit, bytes calldata data) external payable {
        uint256 nonce = messageNonce;
        if (nonce >= (1 << RollupLib.TREE_DEPTH) - 1) revert TreeFull();
        bytes32 h = RollupLib.hashWithdrawal(
            RollupLib.WithdrawalTransaction(nonce, msg.sender, target, msg.value, gasLimit, data)
        );
        sentMessages[h] = true;
        messageNonce = nonce + 1;
        // Insert: climb while this is a right child, folding in stored left siblings.
        bytes32 node = h;
        uint256 size = nonce + 1;
        for (uint256 i = 0; i < RollupLib.TREE_DEPTH; i++) {
            if (size & 1 == 1) {
                frontier[i] = node;
                break;
            }
            node = keccak256(abi.encodePacked(frontier[i], node));
            size >>= 1;
        }
        emit MessagePassed(nonce, msg.sender, target, msg.value, gasLimit, data, h);
    }

    /// @notice Root of the tree (empty leaves are zero; empty subtrees hash up from zeros).
    function root() external view returns (bytes32 node) {
        bytes32 zero;
        uint256 size = messageNonce;
        for (uint256 i = 0; i < RollupLib.TREE_DEPTH; i++) {
            if ((size >> i) & 1 == 1) {
                node = keccak256(abi.encodePacked(frontier[i], node));
            } else {
                node = keccak256(abi.encodePacked(node, zero));
            }
            zero = keccak256(abi.encodePacked(zero, zero));
        }
    }
}
