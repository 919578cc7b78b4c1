// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

/// @title The plasma chain's payment transaction, its positions and its block tree
/// @notice A payment spends up to 4 outputs (named by their position in the child chain) and
///         creates 1 to 4 outputs (owner, token, amount; token 0 is ETH). Its bytes are the ABI
///         encoding of `Transaction`, and only the canonical encoding is accepted, so one payment
///         has one hash. Each input carries a 65-byte secp256k1 signature by the owner of the output
///         it spends, over the transaction's EIP-712 digest; the signatures (concatenated, in input
///         order) are committed in the block with the transaction. A block is a binary keccak tree
///         of depth 16 over `leaf(tx, sigs)`, empty leaves zero.
library PlasmaTx {
    struct Output {
        address owner;
        address token;
        uint256 amount;
    }

    struct Transaction {
        uint256[] inputs;
        Output[] outputs;
    }

    uint256 internal constant MAX_INPUTS = 4;
    uint256 internal constant MAX_OUTPUTS = 4;
    /// Child blocks are numbered 1000, 2000, …; deposit blocks take the numbers in between.
    uint256 internal constant BLOCK_INTERVAL = 1000;
    /// position = block × 10^9 + tx index × 10^4 + output index.
    uint256 internal constant BLOCK_OFFSET = 1_000_000_000;
    uint256 internal constant TX_OFFSET = 10_000;
    uint256 internal constant DEPTH = 16;
    uint256 internal constant SIG_LEN = 65;

    bytes32 internal constant OUTPUT_TYPEHASH = keccak256("Output(address owner,address token,uint256 amount)");
    bytes32 internal constant TX_TYPEHASH = keccak256(
        "Transaction(uint256[] inputs,Output[] outputs)Output(address owner,address token,uint256 amount)"
    );
    bytes32 internal constant DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");

    function blockOf(uint256 pos) internal pure returns (uint256) {
        return pos / BLOCK_OFFSET;
    }

    function txIndexOf(uint256 pos) internal pure returns (uint256) {
        return (pos % BLOCK_OFFSET) / TX_OFFSET;
    }

    function outputIndexOf(uint256 pos) internal pure returns (uint256) {
        return pos % TX_OFFSET;
    }

    function isDeposit(uint256 blockNumber) internal pure returns (bool) {
        return blockNumber % BLOCK_INTERVAL != 0;
    }

    /// @notice The EIP-712 struct hash of `t`.
    function structHash(Transaction memory t) internal pure returns (bytes32) {
        bytes32[] memory outs = new bytes32[](t.outputs.length);
        for (uint256 i = 0; i < t.outputs.length; i++) {
            Output memory o = t.outputs[i];
            outs[i] = keccak256(abi.encode(OUTPUT_TYPEHASH, o.owner, o.token, o.amount));
        }
        return keccak256(
            abi.encode(TX_TYPEHASH, keccak256(abi.encodePacked(t.inputs)), keccak256(abi.encodePacked(outs)))
        );
    }

    function digest(bytes32 domainSeparator, Transaction memory t) internal pure returns (bytes32) {
        return keccak256(abi.encodePacked("\x19\x01", domainSeparator, structHash(t)));
    }

    /// @notice The block-tree leaf of a transaction with its signatures (tagged, so that no inner
    ///         node can pass for a leaf).
    function leaf(bytes calldata txBytes, bytes calldata sigs) internal pure returns (bytes32) {
        return keccak256(abi.encodePacked(bytes1(0x00), keccak256(txBytes), keccak256(sigs)));
    }

    /// @notice Whether `leafHash` is leaf `index` of the tree with root `root`.
    function included(bytes32 leafHash, uint256 index, bytes32 root, bytes32[] calldata proof)
        internal
        pure
        returns (bool)
    {
        if (proof.length != DEPTH || index >= (1 << DEPTH)) return false;
        bytes32 node = leafHash;
        for (uint256 i = 0; i < DEPTH; i++) {
            node = (index >> i) & 1 == 0
                ? keccak256(abi.encodePacked(node, proof[i]))
                : keccak256(abi.encodePacked(proof[i], node));
        }
        return node == root;
    }

    /// @notice The root of a tree whose only leaf (index 0) is `leafHash`: a deposit block.
    function singleLeafRoot(bytes32 leafHash) internal pure returns (bytes32 node) {
        node = leafHash;
        bytes32 zero;
        for (uint256 i = 0; i < DEPTH; i++) {
            node = keccak256(abi.encodePacked(node, zero));
            zero = keccak256(abi.encodePacked(zero, zero));
        }
    }

    /// @notice The signature of input `i` in `sigs`, or empty when there is none.
    function sigAt(bytes calldata sigs, uint256 i) internal pure returns (bytes calldata) {
        if (sigs.length < (i + 1) * SIG_LEN) return sigs[0:0];
        return sigs[i * SIG_LEN:(i + 1) * SIG_LEN];
    }

    /// @notice An output's identity, wherever its transaction is included: the transaction and
    ///         the index; a deposit's output also by its position (two deposits can be equal).
    function outputId(bytes32 txHash, uint256 index, uint256 depositPos) internal pure returns (bytes32) {
        return keccak256(abi.encode(txHash, index, depositPos));
    }
}
