// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title RollupLib
/// @notice Addresses, hashing and Merkle rules shared by the rollup's L1 and L2 contracts and by the
/// Rust node (crates/rollup/protocol mirrors every function here; tests check both sides agree).
library RollupLib {
    /// @notice L2 predeploys.
    address internal constant L2_BRIDGE = 0x4200000000000000000000000000000000000010;
    address internal constant L1_BLOCK = 0x4200000000000000000000000000000000000015;
    address internal constant MESSAGE_PASSER = 0x4200000000000000000000000000000000000016;
    /// @notice Sender of the system deposit that opens every L2 block.
    address internal constant DEPOSITOR = 0xDeaDDEaDDeAdDeAdDEAdDEaddeAddEAdDEAd0001;
    /// @notice Added to an L1 contract's address when it becomes an L2 sender (OP's rule), so that
    /// an L1 contract cannot pose as the L2 account with the same address.
    uint160 internal constant ALIAS_OFFSET = uint160(0x1111000000000000000000000000000000001111);
    /// @notice Depth of the L2->L1 message tree (2^32 withdrawals).
    uint256 internal constant TREE_DEPTH = 32;

    struct WithdrawalTransaction {
        uint256 nonce;
        address sender;
        address target;
        uint256 value;
        uint256 gasLimit;
        bytes data;
    }

    struct OutputRootProof {
        bytes32 version;
        bytes32 stateRoot;
        bytes32 withdrawalsRoot;
        bytes32 latestBlockhash;
    }

    function applyAlias(address l1) internal pure returns (address) {
        unchecked {
            return address(uint160(l1) + ALIAS_OFFSET);
        }
    }

    function undoAlias(address l2) internal pure returns (address) {
        unchecked {
            return address(uint160(l2) - ALIAS_OFFSET);
        }
    }

    function hashWithdrawal(WithdrawalTransaction memory w) internal pure returns (bytes32) {
        return keccak256(abi.encode(w.nonce, w.sender, w.target, w.value, w.gasLimit, w.data));
    }

    /// @notice keccak256(version ‖ stateRoot ‖ withdrawalsRoot ‖ latestBlockhash).
    function hashOutputRoot(OutputRootProof memory p) internal pure returns (bytes32) {
        return keccak256(abi.encode(p.version, p.stateRoot, p.withdrawalsRoot, p.latestBlockhash));
    }

    /// @notice Root of the depth-32 tree whose leaf `index` is `leaf`, given its sibling path.
    function merkleRoot(bytes32 leaf, uint256 index, bytes32[32] memory branch)
        internal
        pure
        returns (bytes32 node)
    {
        node = leaf;
        for (uint256 i = 0; i < TREE_DEPTH; i++) {
            if ((index >> i) & 1 == 1) {
                node = keccak256(abi.encodePacked(branch[i], node));
            } else {
                node = keccak256(abi.encodePacked(node, branch[i]));
            }
        }
    }
}

/// @notice Reading a window of a record list.
library RecordList {
    error BadRange(uint256 from, uint256 to, uint256 total);

    /// @notice Records `from - 1` (if any) through `to` (if any): the range and its neighbours.
    function window(bytes32[] storage list, uint256 from, uint256 to)
        internal
        view
        returns (bytes32[] memory out, uint256 total)
    {
        total = list.length;
        if (from > to || to > total) revert BadRange(from, to, total);
        uint256 first = from == 0 ? 0 : from - 1;
        uint256 last = to == total ? total : to + 1;
        out = new bytes32[](last - first);
        for (uint256 i = first; i < last; i++) {
            out[i - first] = list[i];
        }
    }
}
