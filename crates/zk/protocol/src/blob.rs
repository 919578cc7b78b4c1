//! Pubdata in an EIP-4844 blob, bound to the block proofs by one evaluation of the blob's
//! polynomial (the construction zkSync Era and Scroll use, extended to several blocks a blob).
//!
//! A blob is 4,096 field elements of BLS12-381's scalar field, the evaluations of a polynomial
//! `p` of degree below 4,096 at the roots of unity `ω^brp(i)` (bit-reversed order). Each element
//! carries 31 bytes of pubdata (its top byte zero). Several blocks share a blob, each in a *lane*:
//! `K` elements starting at `lane · K`, `K` the block's element count rounded up to a power of two,
//! zero where the block's data ends. Because of the bit-reversed order, lane `l`'s points are lane
//! 0's times one root of unity `c_l = ω^brp₁₂₋ₘ(l)` (`K = 2ᵐ`), so lane `l`'s share of `p` at `z`
//! equals the lane-0 polynomial of the same data at `z / c_l`:
//!
//! - L1 draws `z = SHA-256(versioned hash ‖ each block's data hash) mod r` once the blob and the
//!   data hashes are fixed, hands each block `z_l = z / c_l` (in its proof's public input, with
//!   the block's claimed `y_l`), and checks with the point-evaluation precompile that
//!   `p(z) = Σ y_l`;
//! - each block's circuit computes `y_l` from the very bytes whose SHA-256 is its data hash.
//!
//! If the blob held anything else than the blocks' lanes (and zeros), `p − Σ p_l` would be a
//! non-zero polynomial of degree below 4,096 fixed before `z` was drawn, and it vanishes at `z`
//! with probability at most 4,096 / r ≈ 2⁻²⁴³. A block outside a blob (calldata or validium) has
//! `z = y = 0`.

use alloy_primitives::B256;
use ark_ff::{BigInteger, Field, PrimeField, Zero};
use sha2::{Digest, Sha256};

/// BLS12-381's scalar field: a blob's elements.
pub type BlobFr = ark_bls12_381::Fr;

/// Field elements in a blob.
pub const BLOB_ELEMENTS: usize = 4096;
/// Bytes of a blob.
pub const BLOB_BYTES: usize = BLOB_ELEMENTS * 32;
/// Pubdata bytes an element carries (its first byte stays zero, so it is below r).
pub const ELEMENT_BYTES: usize = 31;
const LOG_ELEMENTS: u32 = 12;

/// Elements of a lane for blocks of `pubdata_len` bytes: a power of two.
pub fn lane_elements(pubdata_len: usize) -> usize {
    pubdata_len.div_ceil(ELEMENT_BYTES).max(1).next_power_of_two()
}

/// Blocks one blob can carry.
pub fn max_lanes(pubdata_len: usize) -> usize {
    BLOB_ELEMENTS / lane_elements(pubdata_len)
}

/// The blob domain's generator: `7^((r − 1) / 4096)`, as EIP-4844 fixes it.
pub fn omega() -> BlobFr {
    let mut e = BlobFr::MODULUS;
    e.sub_with_borrow(&BlobFr::ONE.into_bigint());
    e >>= LOG_ELEMENTS;
    BlobFr::from(7u64).pow(e)
}

fn reverse_bits(i: usize, bits: u32) -> u64 {
    if bits == 0 { 0 } else { (i as u64).reverse_bits() >> (64 - bits) }
}

/// The point at element `i` of lane 0 (`ω^brp₁₂(i)`).
pub fn domain_point(i: usize) -> BlobFr {
    omega().pow([reverse_bits(i, LOG_ELEMENTS)])
}

/// `c_l`: lane `lane`'s points are lane 0's times this root of unity.
pub fn lane_shift(lane: usize, lane_elements: usize) -> BlobFr {
    let m = lane_elements.trailing_zeros();
    omega().pow([reverse_bits(lane, LOG_ELEMENTS - m)])
}

/// The elements `pubdata` fills: 31 bytes each, big-endian, the last padded with zeros.
pub fn elements(pubdata: &[u8]) -> Vec<BlobFr> {
    pubdata
        .chunks(ELEMENT_BYTES)
        .map(|c| {
            let mut b = [0u8; ELEMENT_BYTES];
            b[..c.len()].copy_from_slice(c);
            BlobFr::from_be_bytes_mod_order(&b)
        })
        .collect()
}

/// The lane-0 polynomial of `pubdata` at `z`: `(zᴺ − 1)/N · Σ yᵢ·ωᵢ/(z − ωᵢ)` (barycentric form
/// over the blob's domain; the element's value where `z` is a domain point).
pub fn evaluate(pubdata: &[u8], z: BlobFr) -> BlobFr {
    let ys = elements(pubdata);
    let points: Vec<BlobFr> = (0..ys.len()).map(domain_point).collect();
    if let Some(i) = points.iter().position(|w| *w == z) {
        return ys[i];
    }
    let zn = z.pow([BLOB_ELEMENTS as u64]);
    let sum: BlobFr =
        ys.iter().zip(&points).map(|(y, w)| *y * w * (z - w).inverse().expect("z is off the domain")).sum();
    (zn - BlobFr::ONE) * BlobFr::from(BLOB_ELEMENTS as u64).inverse().expect("N is not zero") * sum
}

/// `y` for a block proven at `z` (zero when it is not in a blob: `z = 0`).
pub fn block_evaluation(pubdata: &[u8], z: BlobFr) -> BlobFr {
    if z.is_zero() { BlobFr::zero() } else { evaluate(pubdata, z) }
}

/// L1's challenge for a blob: `SHA-256(versioned hash ‖ data hashes) mod r`.
pub fn challenge(versioned_hash: B256, data_hashes: &[B256]) -> BlobFr {
    let mut h = Sha256::new();
    h.update(versioned_hash);
    for d in data_hashes {
        h.update(d);
    }
    BlobFr::from_be_bytes_mod_order(&h.finalize())
}

/// The point lane `lane` is proven at: `z / c_l`.
pub fn lane_point(z: BlobFr, lane: usize, lane_elements: usize) -> BlobFr {
    z * lane_shift(lane, lane_elements).inverse().expect("a root of unity")
}

/// A field element as 32 big-endian bytes (as L1 and the precompile take it).
pub fn to_bytes(x: &BlobFr) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(&x.into_bigint().to_bytes_be());
    out
}

/// The blob carrying `lanes` (each block's pubdata, in order), each in `lane_elements` elements.
pub fn blob(lanes: &[Vec<u8>], lane_elements: usize) -> Vec<u8> {
    assert!(lanes.len() * lane_elements <= BLOB_ELEMENTS, "too many lanes for one blob");
    let mut out = vec![0u8; BLOB_BYTES];
    for (l, data) in lanes.iter().enumerate() {
        assert!(data.len() <= lane_elements * ELEMENT_BYTES, "a lane overflows");
        for (i, c) in data.chunks(ELEMENT_BYTES).enumerate() {
            let at = (l * lane_elements + i) * 32 + 1;
            out[at..at + c.len()].copy_from_slice(c);
        }
    }
    out
}

/// Lane `lane`'s `len` bytes of pubdata, or `None` when the blob is not one [`blob`] makes
/// (a byte outside the lanes' data is set).
pub fn lanes_from_blob(blob: &[u8], lanes: usize, lane_elements: usize, len: usize) -> Option<Vec<Vec<u8>>> {
    if blob.len() != BLOB_BYTES || lanes * lane_elements > BLOB_ELEMENTS || len > lane_elements * ELEMENT_BYTES {
        return None;
    }
    if blob.chunks(32).any(|e| e[0] != 0) {
        return None;
    }
    let element = |i: usize| &blob[i * 32 + 1..i * 32 + 32];
    let mut out = Vec::with_capacity(lanes);
    for l in 0..lanes {
        let lane: Vec<u8> = (0..lane_elements).flat_map(|i| element(l * lane_elements + i).iter().copied()).collect();
        if lane[len..].iter().any(|b| *b != 0) {
            return None;
        }
        out.push(lane[..len].to_vec());
    }
    if (lanes * lane_elements..BLOB_ELEMENTS).any(|i| element(i).iter().any(|b| *b != 0)) {
        return None;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_domain_has_order_4096() {
        let w = omega();
        assert_eq!(w.pow([BLOB_ELEMENTS as u64]), BlobFr::ONE);
        assert_ne!(w.pow([BLOB_ELEMENTS as u64 / 2]), BlobFr::ONE);
    }

    #[test]
    fn lanes_are_shifted_lane_zero() {
        // Lane l's element i sits at domain point c_l · (lane 0's point i).
        for k in [1usize, 4, 64] {
            for l in [0usize, 1, 3, BLOB_ELEMENTS / k - 1] {
                for i in [0usize, k / 2, k - 1] {
                    let direct = domain_point(l * k + i);
                    assert_eq!(direct, lane_shift(l, k) * domain_point(i), "k {k} lane {l} i {i}");
                }
            }
        }
    }

    #[test]
    fn evaluation_matches_its_definition_on_the_domain() {
        let data: Vec<u8> = (0..100u8).collect();
        for (i, y) in elements(&data).iter().enumerate() {
            assert_eq!(evaluate(&data, domain_point(i)), *y);
        }
        assert_eq!(evaluate(&data, domain_point(7)), BlobFr::zero());
        assert_eq!(block_evaluation(&data, BlobFr::zero()), BlobFr::zero());
    }

    #[test]
    fn lanes_roundtrip_and_foreign_bytes_are_refused() {
        let lanes = vec![vec![1u8; 96], vec![2u8; 96], vec![3u8; 96]];
        let k = lane_elements(96);
        assert_eq!(k, 4);
        let b = blob(&lanes, k);
        assert_eq!(lanes_from_blob(&b, 3, k, 96), Some(lanes.clone()));
        for at in [0usize, 3 * 32 + 31, 12 * 32 + 5, BLOB_BYTES - 1] {
            let mut bad = b.clone();
            bad[at] ^= 1;
            assert_eq!(lanes_from_blob(&bad, 3, k, 96), None, "byte {at}");
        }
    }

    /// The construction against c-kzg (what the point-evaluation precompile runs): a blob of
    /// three lanes evaluates at z to the sum of each lane's lane-0 polynomial at `z / c_l`.
    #[test]
    fn a_blob_evaluates_to_the_sum_of_its_lanes_as_c_kzg_computes_it() {
        use alloy::eips::eip4844::{c_kzg, env_settings::EnvKzgSettings};
        let lanes: Vec<Vec<u8>> = (0..3u8).map(|l| (0..1536u32).map(|i| (i as u8) ^ (l * 77)).collect()).collect();
        let k = lane_elements(1536);
        assert_eq!(k, 64);
        let b = blob(&lanes, k);
        let settings = EnvKzgSettings::Default.get();
        let kb = c_kzg::Blob::from_bytes(&b).unwrap();
        let commitment = settings.blob_to_kzg_commitment(&kb).unwrap();
        let vh = alloy::eips::eip4844::kzg_to_versioned_hash(commitment.as_slice());
        let hashes: Vec<B256> = lanes.iter().map(|d| crate::data_hash(d)).collect();
        let z = challenge(vh, &hashes);
        let (proof, y) = settings.compute_kzg_proof(&kb, &c_kzg::Bytes32::new(to_bytes(&z))).unwrap();
        let sum: BlobFr = lanes.iter().enumerate().map(|(l, d)| evaluate(d, lane_point(z, l, k))).sum();
        assert_eq!(to_bytes(&sum), *y);
        let ok = settings
            .verify_kzg_proof(&commitment.to_bytes(), &c_kzg::Bytes32::new(to_bytes(&z)), &y, &proof.to_bytes())
            .unwrap();
        assert!(ok);
        // One byte of one lane changed: the lanes no longer sum to the blob's value.
        let mut other = lanes.clone();
        other[1][700] ^= 1;
        let sum: BlobFr = other.iter().enumerate().map(|(l, d)| evaluate(d, lane_point(z, l, k))).sum();
        assert_ne!(to_bytes(&sum), *y);
    }
}
