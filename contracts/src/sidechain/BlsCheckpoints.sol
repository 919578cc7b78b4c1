// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title BlsCheckpoints
/// @notice The sidechain's checkpoints accepted with one aggregate BLS12-381 signature instead of
///         one secp256k1 signature per validator (`SidechainBridge`): the validators' public keys
///         (G1) are committed by hash and passed in calldata, the signers named by a bitmap, their
///         keys summed with EIP-2537's G1ADD, the message hashed to G2 (RFC 9380
///         expand_message_xmd with SHA-256, then MAP_FP2_TO_G2 twice and G2ADD) and the signature
///         (G2) checked with one two-pair PAIRING_CHECK. Built to measure its L1 gas beside the
///         secp256k1 path (`aqueduct bench sidechain`); validators have equal weight here, and
///         the keys are fixed at deployment (a set that changes would need proofs of possession
///         against rogue keys).
contract BlsCheckpoints {
    struct Checkpoint {
        uint64 number;
        uint64 startBlock;
        uint64 endBlock;
        bytes32 blockHash;
        bytes32 stateRoot;
        bytes32 withdrawalsRoot;
    }

    /// Domain separation tag of the hash to G2 (RFC 9380; proof-of-possession ciphersuite).
    bytes public constant DST = "AQUEDUCT-SIDECHAIN-CHECKPOINT-V1_BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_";
    /// The BLS12-381 base field modulus, as EIP-2537 encodes field elements (64 bytes).
    bytes internal constant P =
        hex"000000000000000000000000000000001a0111ea397fe69a4b1ba7b6434bacd764774b84f38512bf6730d2a0f6b0f6241eabfffeb153ffffb9feffffffffaaab";
    /// -G1, the negated generator.
    bytes internal constant NEG_G1 =
        hex"0000000000000000000000000000000017f1d3a73197d7942695638c4fa9ac0fc3688c4f9774b905a14e3a3f171bac586c55e83ff97a1aeffb3af00adb22c6bb00000000000000000000000000000000114d1d6855d545a8aa7d76c8cf2e21f267816aef1db507c96655b9d5caac42364e6f38ba0ecb751bad54dcd6b939c2ca";

    address internal constant MODEXP = address(0x05);
    address internal constant G1ADD = address(0x0b);
    address internal constant G2ADD = address(0x0d);
    address internal constant PAIRING = address(0x0f);
    address internal constant MAP_FP2_TO_G2 = address(0x11);

    /// keccak256 of the validators' public keys, 128 bytes each (EIP-2537 G1), in index order.
    bytes32 public immutable keysHash;
    uint256 public immutable validatorCount;

    uint64 public checkpointCount;
    uint64 public lastEndBlock;
    mapping(uint256 => bytes32) public withdrawalsRoots;
    mapping(uint256 => bytes32) public checkpointHashes;

    event CheckpointSubmitted(
        uint64 indexed number,
        uint64 startBlock,
        uint64 endBlock,
        bytes32 blockHash,
        bytes32 stateRoot,
        bytes32 withdrawalsRoot,
        uint256 signers
    );

    error BadKeys();
    error WrongCheckpointNumber(uint64 expected, uint64 got);
    error WrongStartBlock(uint64 expected, uint64 got);
    error EmptyRange();
    error NotEnoughSigners(uint256 signers, uint256 validators);
    error BadSignature();
    error PrecompileFailed(address precompile);

    constructor(bytes memory publicKeys) {
        if (publicKeys.length == 0 || publicKeys.length % 128 != 0 || publicKeys.length / 128 > 256) revert BadKeys();
        keysHash = keccak256(publicKeys);
        validatorCount = publicKeys.length / 128;
    }

    /// @notice What the validators sign: the checkpoint, bound to this contract and chain.
    function message(Checkpoint calldata c) public view returns (bytes32) {
        return keccak256(abi.encode(block.chainid, address(this), c));
    }

    /// @notice Accepts `c` when `signature` is the aggregate of more than 2/3 of the validators
    ///         (bit i of `signers` names validator i) over `message(c)`.
    function submitCheckpoint(
        Checkpoint calldata c,
        bytes calldata publicKeys,
        uint256 signers,
        bytes calldata signature
    ) external {
        uint64 n = checkpointCount;
        if (c.number != n) revert WrongCheckpointNumber(n, c.number);
        uint64 start = lastEndBlock + 1;
        if (c.startBlock != start) revert WrongStartBlock(start, c.startBlock);
        if (c.endBlock < c.startBlock) revert EmptyRange();
        uint256 signed = _verify(message(c), publicKeys, signers, signature);

        checkpointCount = n + 1;
        lastEndBlock = c.endBlock;
        withdrawalsRoots[n] = c.withdrawalsRoot;
        checkpointHashes[n] = keccak256(abi.encode(c));
        emit CheckpointSubmitted(n, c.startBlock, c.endBlock, c.blockHash, c.stateRoot, c.withdrawalsRoot, signed);
    }

    /// The number of signers, once their aggregate signature over `m` checks out.
    function _verify(bytes32 m, bytes calldata publicKeys, uint256 signers, bytes calldata signature)
        internal
        view
        returns (uint256 signed)
    {
        if (keccak256(publicKeys) != keysHash) revert BadKeys();
        if (signature.length != 256) revert BadSignature();
        uint256 count = validatorCount;
        if (count < 256 && signers >> count != 0) revert BadKeys();

        bytes memory aggregate;
        for (uint256 i = 0; i < count; i++) {
            if ((signers >> i) & 1 == 0) continue;
            bytes memory key = publicKeys[i * 128:(i + 1) * 128];
            aggregate = signed == 0 ? key : _call(G1ADD, bytes.concat(aggregate, key), 128);
            signed++;
        }
        if (signed * 3 <= count * 2) revert NotEnoughSigners(signed, count);

        bytes memory h = hashToG2(m);
        bytes memory ok = _call(PAIRING, bytes.concat(aggregate, h, NEG_G1, signature), 32);
        if (uint256(bytes32(ok)) != 1) revert BadSignature();
    }

    /// @notice RFC 9380 hash_to_curve to G2 (BLS12381G2_XMD:SHA-256_SSWU_RO_) of a 32-byte message.
    function hashToG2(bytes32 m) public view returns (bytes memory) {
        bytes memory u = _expand(m);
        bytes memory q0 = _call(MAP_FP2_TO_G2, bytes.concat(_fp(u, 0), _fp(u, 1)), 256);
        bytes memory q1 = _call(MAP_FP2_TO_G2, bytes.concat(_fp(u, 2), _fp(u, 3)), 256);
        return _call(G2ADD, bytes.concat(q0, q1), 256);
    }

    /// expand_message_xmd(m, DST, 256) with SHA-256.
    function _expand(bytes32 m) internal view returns (bytes memory out) {
        bytes memory dstPrime = bytes.concat(DST, bytes1(uint8(DST.length)));
        bytes32 b0 = sha256(bytes.concat(bytes32(0), bytes32(0), m, hex"010000", dstPrime));
        bytes32 bi = sha256(bytes.concat(b0, hex"01", dstPrime));
        out = bytes.concat(bi);
        for (uint8 i = 2; i <= 8; i++) {
            bi = sha256(bytes.concat(b0 ^ bi, bytes1(i), dstPrime));
            out = bytes.concat(out, bi);
        }
    }

    /// The j-th 64-byte chunk of `u` reduced modulo p (MODEXP with exponent 1).
    function _fp(bytes memory u, uint256 j) internal view returns (bytes memory) {
        bytes memory chunk = new bytes(64);
        assembly ("memory-safe") {
            let from := add(add(u, 32), mul(j, 64))
            mstore(add(chunk, 32), mload(from))
            mstore(add(chunk, 64), mload(add(from, 32)))
        }
        bytes memory input = bytes.concat(bytes32(uint256(64)), bytes32(uint256(1)), bytes32(uint256(64)), chunk, hex"01", P);
        return _call(MODEXP, input, 64);
    }

    function _call(address precompile, bytes memory input, uint256 outLen) internal view returns (bytes memory out) {
        (bool ok, bytes memory ret) = precompile.staticcall(input);
        if (!ok || ret.length != outLen) revert PrecompileFailed(precompile);
        return ret;
    }
}
