// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title BridgeLib
/// @notice The fast bridge's shared shapes and hashing (after Across v3): what a deposit promises
/// (`RelayData`), what a refund bundle decides for one deposit (`Entry`), and the bundle's Merkle
/// tree. crates/bridge/protocol mirrors every function here; tests check both sides agree.
library BridgeLib {
    /// @notice One deposit on the origin chain, as a relayer fills it on the destination. Its hash
    /// (`relayHash`) is the deposit's leaf in the spoke's deposit tree (at index `depositId`) and
    /// the key of its fill: a fill with any field changed is a fill of nothing.
    struct RelayData {
        address depositor;
        address recipient;
        /// @notice Alone allowed to fill until `exclusivityDeadline` (zero: anyone).
        address exclusiveRelayer;
        /// @notice Locked on the origin chain; repays the relayer.
        uint256 inputAmount;
        /// @notice Paid to the recipient on the destination; the difference is the fee.
        uint256 outputAmount;
        uint64 originChainId;
        uint64 destinationChainId;
        uint64 depositId;
        uint32 fillDeadline;
        uint32 exclusivityDeadline;
    }

    /// @notice What a bundle pays for one deposit.
    enum Outcome {
        /// The relayer that filled it gets `inputAmount` at its repayment address.
        Repay,
        /// No relayer filled it and the user asked for the slow path: the recipient gets
        /// `outputAmount` on the destination from the deposit itself.
        SlowFill,
        /// Nobody filled it before its deadline: the depositor gets `inputAmount` back on the
        /// origin chain.
        Refund
    }

    /// @notice A refund bundle's decision for the deposit at its position.
    struct Entry {
        bytes32 relayHash;
        Outcome outcome;
        address payee;
        uint256 amount;
    }

    /// @notice Depth of the spoke's deposit tree (2^32 deposits).
    uint256 internal constant DEPOSIT_TREE_DEPTH = 32;

    function relayHash(RelayData memory d) internal pure returns (bytes32) {
        return keccak256(abi.encode(d));
    }

    /// @notice A bundle tree's leaf: hashed twice so that no leaf is also an inner node.
    function entryLeaf(Entry memory e) internal pure returns (bytes32) {
        return keccak256(bytes.concat(keccak256(abi.encode(e.relayHash, e.outcome, e.payee, e.amount))));
    }

    /// @notice Levels of a tree of `count` leaves padded with zero leaves to a power of two.
    function depth(uint256 count) internal pure returns (uint256 d) {
        while ((uint256(1) << d) < count) d++;
    }

    /// @notice Root of the bundle tree over `leaves` (zero leaves pad it to a power of two).
    function root(bytes32[] memory leaves) internal pure returns (bytes32) {
        uint256 n = leaves.length;
        if (n == 0) return bytes32(0);
        uint256 width = uint256(1) << depth(n);
        bytes32[] memory level = new bytes32[](width);
        for (uint256 i = 0; i < n; i++) {
            level[i] = leaves[i];
        }
        while (width > 1) {
            width >>= 1;
            for (uint256 i = 0; i < width; i++) {
                level[i] = keccak256(abi.encodePacked(level[2 * i], level[2 * i + 1]));
            }
        }
        return level[0];
    }

    /// @notice Root from leaf `index` and its siblings, leaf first.
    function rootFrom(bytes32 leaf, uint256 index, bytes32[] memory branch) internal pure returns (bytes32 node) {
        node = leaf;
        for (uint256 i = 0; i < branch.length; i++) {
            node = (index >> i) & 1 == 1
                ? keccak256(abi.encodePacked(branch[i], node))
                : keccak256(abi.encodePacked(node, branch[i]));
        }
    }
}
