// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

/// @title Groth16 verifier over BN254 for one public input
/// @notice Verifies proofs of the ZK rollup's block circuit with the EIP-196/197 precompiles, so
///         any EVM verifies them. The verifying key is fixed at deployment (immutables: it lives in
///         the code, not in storage) — the contract is generated from the key at deploy time.
contract Groth16Verifier {
    /// BN254's scalar field (public inputs live here).
    uint256 internal constant R = 21888242871839275222246405745257275088548364400416034343698204186575808495617;
    /// BN254's base field (point coordinates live here).
    uint256 internal constant Q = 21888242871839275222246405745257275088696311157297823662689037894645226208583;

    /// Gas given to each precompile (EIP-1108 prices with headroom): a precompile that fails
    /// burns what it was given, so a malformed proof costs this much, not the whole transaction.
    uint256 internal constant MUL_GAS = 10_000;
    uint256 internal constant ADD_GAS = 1_000;
    uint256 internal constant PAIRING_GAS = 200_000;
    uint256 internal constant PAIRING_BASE_GAS = 50_000;
    uint256 internal constant PAIRING_PAIR_GAS = 40_000;

    uint256 private immutable alphaX;
    uint256 private immutable alphaY;
    uint256 private immutable beta0;
    uint256 private immutable beta1;
    uint256 private immutable beta2;
    uint256 private immutable beta3;
    uint256 private immutable gamma0;
    uint256 private immutable gamma1;
    uint256 private immutable gamma2;
    uint256 private immutable gamma3;
    uint256 private immutable delta0;
    uint256 private immutable delta1;
    uint256 private immutable delta2;
    uint256 private immutable delta3;
    uint256 private immutable ic0X;
    uint256 private immutable ic0Y;
    uint256 private immutable ic1X;
    uint256 private immutable ic1Y;

    error BadKey();

    /// @param vk alpha (x, y), beta, gamma, delta (each x.c1, x.c0, y.c1, y.c0), IC0 (x, y), IC1 (x, y).
    constructor(uint256[18] memory vk) {
        for (uint256 i = 0; i < 18; i++) {
            if (vk[i] >= Q) revert BadKey();
        }
        alphaX = vk[0];
        alphaY = vk[1];
        beta0 = vk[2];
        beta1 = vk[3];
        beta2 = vk[4];
        beta3 = vk[5];
        gamma0 = vk[6];
        gamma1 = vk[7];
        gamma2 = vk[8];
        gamma3 = vk[9];
        delta0 = vk[10];
        delta1 = vk[11];
        delta2 = vk[12];
        delta3 = vk[13];
        ic0X = vk[14];
        ic0Y = vk[15];
        ic1X = vk[16];
        ic1Y = vk[17];
    }

    /// @notice Whether `proof` (A.x, A.y, B.x.c1, B.x.c0, B.y.c1, B.y.c0, C.x, C.y) proves `input`.
    ///         Malformed proofs (coordinates out of range, points off the curve) verify as false.
    function verify(uint256[8] calldata proof, uint256 input) external view returns (bool) {
        if (input >= R) return false;
        for (uint256 i = 0; i < 8; i++) {
            if (proof[i] >= Q) return false;
        }
        // vk_x = IC0 + input * IC1
        uint256[3] memory mulIn = [ic1X, ic1Y, input];
        uint256[2] memory p;
        bool ok;
        assembly {
            ok := staticcall(MUL_GAS, 0x07, mulIn, 0x60, p, 0x40)
        }
        if (!ok) return false;
        uint256[4] memory addIn = [ic0X, ic0Y, p[0], p[1]];
        assembly {
            ok := staticcall(ADD_GAS, 0x06, addIn, 0x80, p, 0x40)
        }
        if (!ok) return false;
        // e(-A, B) · e(alpha, beta) · e(vk_x, gamma) · e(C, delta) == 1
        uint256[24] memory w;
        w[0] = proof[0];
        w[1] = proof[1] == 0 ? 0 : Q - proof[1];
        w[2] = proof[2];
        w[3] = proof[3];
        w[4] = proof[4];
        w[5] = proof[5];
        w[6] = alphaX;
        w[7] = alphaY;
        w[8] = beta0;
        w[9] = beta1;
        w[10] = beta2;
        w[11] = beta3;
        w[12] = p[0];
        w[13] = p[1];
        w[14] = gamma0;
        w[15] = gamma1;
        w[16] = gamma2;
        w[17] = gamma3;
        w[18] = proof[6];
        w[19] = proof[7];
        w[20] = delta0;
        w[21] = delta1;
        w[22] = delta2;
        w[23] = delta3;
        uint256[1] memory out;
        assembly {
            ok := staticcall(PAIRING_GAS, 0x08, w, 0x300, out, 0x20)
        }
        return ok && out[0] == 1;
    }

    /// @notice Whether every `proofs[i]` proves `inputs[i]`, checked at once: with random
    ///         r_i (r_0 = 1, the others 128 bits of a hash over all proofs and inputs, fixed before
    ///         anyone can pick them),
    ///         Π e(-r_i·A_i, B_i) · e((Σr_i)·alpha, beta) · e(Σr_i·vk_x_i, gamma) · e(Σr_i·C_i, delta) == 1.
    ///         One pairing a proof plus three, instead of four a proof: a batch that holds an
    ///         invalid proof passes with probability at most about 2^-128.
    function verifyBatch(uint256[8][] calldata proofs, uint256[] calldata inputs) external view returns (bool) {
        uint256 k = proofs.length;
        if (k == 0 || k != inputs.length) return false;
        bytes32 seed = keccak256(abi.encode(proofs, inputs));
        uint256[] memory w = new uint256[](6 * (k + 3));
        uint256 sumR;
        uint256 sumRX;
        uint256[4] memory acc; // Σ r_i·C_i (0, 0 is the point at infinity), then a scratch point
        for (uint256 i = 0; i < k; i++) {
            if (inputs[i] >= R) return false;
            uint256 r = i == 0 ? 1 : uint256(keccak256(abi.encode(seed, i))) >> 128;
            sumR = addmod(sumR, r, R);
            sumRX = addmod(sumRX, mulmod(r, inputs[i], R), R);
            if (!_accumulate(proofs[i], r, w, i, acc)) return false;
        }
        bool ok;
        uint256 b = 6 * k;
        // (Σr)·alpha, beta
        if (!_mul(alphaX, alphaY, sumR, w, b)) return false;
        (w[b + 2], w[b + 3], w[b + 4], w[b + 5]) = (beta0, beta1, beta2, beta3);
        // Σ r_i·vk_x_i = (Σr)·IC0 + (Σ r_i·x_i)·IC1, gamma
        uint256[4] memory sum;
        if (!_mul(ic0X, ic0Y, sumR, sum, 0) || !_mul(ic1X, ic1Y, sumRX, sum, 2)) return false;
        assembly {
            ok := staticcall(ADD_GAS, 0x06, sum, 0x80, sum, 0x40)
        }
        if (!ok) return false;
        (w[b + 6], w[b + 7]) = (sum[0], sum[1]);
        (w[b + 8], w[b + 9], w[b + 10], w[b + 11]) = (gamma0, gamma1, gamma2, gamma3);
        // Σ r_i·C_i, delta
        (w[b + 12], w[b + 13]) = (acc[0], acc[1]);
        (w[b + 14], w[b + 15], w[b + 16], w[b + 17]) = (delta0, delta1, delta2, delta3);
        uint256[1] memory out;
        uint256 len = w.length * 0x20;
        uint256 gasFor = PAIRING_BASE_GAS + PAIRING_PAIR_GAS * (k + 3);
        assembly {
            ok := staticcall(gasFor, 0x08, add(w, 0x20), len, out, 0x20)
        }
        return ok && out[0] == 1;
    }

    /// @dev Writes -(r·A_i), B_i as pair `i` of `w` and adds r·C_i to `acc`; false for a
    ///      malformed proof.
    function _accumulate(uint256[8] calldata p, uint256 r, uint256[] memory w, uint256 i, uint256[4] memory acc)
        private
        view
        returns (bool ok)
    {
        for (uint256 j = 0; j < 8; j++) {
            if (p[j] >= Q) return false;
        }
        if (!_mul(p[0], p[1], r, w, 6 * i)) return false;
        if (w[6 * i + 1] != 0) w[6 * i + 1] = Q - w[6 * i + 1];
        for (uint256 j = 2; j < 6; j++) {
            w[6 * i + j] = p[j];
        }
        if (!_mul(p[6], p[7], r, acc, 2)) return false;
        assembly {
            ok := staticcall(ADD_GAS, 0x06, acc, 0x80, acc, 0x40)
        }
    }

    /// @dev Writes s·(x, y) to elements `at`, `at + 1` of `dst`.
    function _mul(uint256 x, uint256 y, uint256 s, uint256[] memory dst, uint256 at) private view returns (bool ok) {
        uint256[3] memory input = [x, y, s];
        assembly {
            ok := staticcall(MUL_GAS, 0x07, input, 0x60, add(add(dst, 0x20), mul(at, 0x20)), 0x40)
        }
    }

    function _mul(uint256 x, uint256 y, uint256 s, uint256[4] memory dst, uint256 at) private view returns (bool ok) {
        uint256[3] memory input = [x, y, s];
        assembly {
            ok := staticcall(MUL_GAS, 0x07, input, 0x60, add(dst, mul(at, 0x20)), 0x40)
        }
    }
}
