// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @notice Reference depth-32 Merkle tree built level by level (the slow, obvious way), to check
/// the incremental tree of L2ToL1MessagePasser and the proofs the portal accepts.
library MerkleHelper {
    function zeros() internal pure returns (bytes32[33] memory z) {
        for (uint256 i = 1; i <= 32; i++) {
            z[i] = keccak256(abi.encodePacked(z[i - 1], z[i - 1]));
        }
    }

    /// @return root the tree's root
    /// @return branch sibling path of leaf `index`
    function build(bytes32[] memory leaves, uint256 index)
        internal
        pure
        returns (bytes32 root, bytes32[32] memory branch)
    {
        bytes32[33] memory z = zeros();
        bytes32[] memory level = leaves;
        uint256 idx = index;
        for (uint256 d = 0; d < 32; d++) {
            uint256 sib = idx ^ 1;
            branch[d] = sib < level.length ? level[sib] : z[d];
            uint256 n = (level.length + 1) / 2;
            if (level.length == 0) n = 0;
            bytes32[] memory next = new bytes32[](n);
            for (uint256 i = 0; i < n; i++) {
                bytes32 l = level[2 * i];
                bytes32 r = 2 * i + 1 < level.length ? level[2 * i + 1] : z[d];
                next[i] = keccak256(abi.encodePacked(l, r));
            }
            level = next;
            idx >>= 1;
        }
        root = level.length == 0 ? z[32] : level[0];
    }
}
