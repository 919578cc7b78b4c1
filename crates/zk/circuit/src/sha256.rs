//! SHA-256 in R1CS (FIPS 180-4), about 25,000 constraints a 64-byte block: the hash L1 computes
//! for a few gas a word (its precompile at address 2), so a block's public input can bind bytes L1
//! sees without hashing them with Poseidon on L1.
//!
//! Bits are field elements known to be 0 or 1 (constants, or variables made boolean where they
//! are allocated). What is constant folds for free: padding, round constants, shifted-in zeros.
//! Per bit, a two-input XOR costs one constraint, a three-input one two, `Ch` one and `Maj` two;
//! a sum of words mod 2³² costs one boolean per result and carry bit and one equation.

use aqueduct_zk_protocol::F;
use ark_ff::PrimeField;
use ark_r1cs_std::{fields::fp::FpVar, prelude::*};
use ark_relations::gr1cs::SynthesisError;

use crate::bits::pack;

/// A bit: `0` or `1` by construction.
pub type Bit = FpVar<F>;

/// A 32-bit word, least significant bit first.
type Word = Vec<Bit>;

const K: [u32; 64] = [
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98,
    0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
    0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8,
    0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
    0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819,
    0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
    0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
    0xc67178f2,
];

const H0: [u32; 8] = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];

pub fn constant_bit(b: bool) -> Bit {
    FpVar::constant(F::from(b as u64))
}

/// The `n` bits of `x`, most significant first, as constants.
fn constant_bits(x: u64, n: usize) -> Vec<Bit> {
    (0..n).rev().map(|i| constant_bit(x >> i & 1 == 1)).collect()
}

fn word_constant(x: u32) -> Word {
    (0..32).map(|i| constant_bit(x >> i & 1 == 1)).collect()
}

/// `a ⊕ b = a + b − 2ab`: free when either is constant, one constraint otherwise.
fn xor(a: &Bit, b: &Bit) -> Bit {
    let ab = a * b;
    a + b - ab.double().expect("doubling never fails")
}

/// `e ? f : g = g + e·(f − g)`.
fn ch(e: &Bit, f: &Bit, g: &Bit) -> Bit {
    g + e * (f - g)
}

/// The majority of three bits: `(a ⊕ b) ? c : a`.
fn maj(a: &Bit, b: &Bit, c: &Bit) -> Bit {
    ch(&xor(a, b), c, a)
}

fn rotr(x: &Word, n: usize) -> Word {
    (0..32).map(|i| x[(i + n) % 32].clone()).collect()
}

fn shr(x: &Word, n: usize) -> Word {
    (0..32).map(|i| if i + n < 32 { x[i + n].clone() } else { constant_bit(false) }).collect()
}

fn xor3(a: &Word, b: &Word, c: &Word) -> Word {
    (0..32).map(|i| xor(&xor(&a[i], &b[i]), &c[i])).collect()
}

/// `(Σ words + constant) mod 2³²`: the sum's low 32 bits and its carry are allocated as booleans
/// and bound to the sum by one equation.
fn add(words: &[&Word], constant: u32) -> Result<Word, SynthesisError> {
    let mut sum = FpVar::constant(F::from(constant as u64));
    for w in words {
        sum += pack(w);
    }
    let max = constant as u64 + words.len() as u64 * u32::MAX as u64;
    if let FpVar::Constant(c) = &sum {
        let v = c.into_bigint().as_ref()[0];
        return Ok(word_constant(v as u32));
    }
    let width = 64 - max.leading_zeros() as usize;
    let value = sum.value().ok().map(|v| v.into_bigint().as_ref()[0]);
    let cs = sum.cs();
    let bits = (0..width)
        .map(|i| {
            Boolean::new_witness(cs.clone(), || value.map(|v| v >> i & 1 == 1).ok_or(SynthesisError::AssignmentMissing))
                .map(FpVar::from)
        })
        .collect::<Result<Vec<_>, _>>()?;
    pack(&bits).enforce_equal(&sum)?;
    Ok(bits[..32].to_vec())
}

/// One compression of `state` with the 16 words of `block`.
fn compress(state: &[Word], block: &[Word]) -> Result<Vec<Word>, SynthesisError> {
    let mut w: Vec<Word> = block.to_vec();
    for t in 16..64 {
        let s0 = xor3(&rotr(&w[t - 15], 7), &rotr(&w[t - 15], 18), &shr(&w[t - 15], 3));
        let s1 = xor3(&rotr(&w[t - 2], 17), &rotr(&w[t - 2], 19), &shr(&w[t - 2], 10));
        let next = add(&[&s1, &w[t - 7], &s0, &w[t - 16]], 0)?;
        w.push(next);
    }
    let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut h]: [Word; 8] =
        state.to_vec().try_into().expect("eight words");
    for t in 0..64 {
        let big_s1 = xor3(&rotr(&e, 6), &rotr(&e, 11), &rotr(&e, 25));
        let choice: Word = (0..32).map(|i| ch(&e[i], &f[i], &g[i])).collect();
        let big_s0 = xor3(&rotr(&a, 2), &rotr(&a, 13), &rotr(&a, 22));
        let majority: Word = (0..32).map(|i| maj(&a[i], &b[i], &c[i])).collect();
        // T1 = h + Σ1 + Ch + K + W; e' = d + T1 and a' = T1 + Σ0 + Maj, each one sum.
        let new_e = add(&[&d, &h, &big_s1, &choice, &w[t]], K[t])?;
        let new_a = add(&[&h, &big_s1, &choice, &w[t], &big_s0, &majority], K[t])?;
        h = g;
        g = f;
        f = e;
        e = new_e;
        d = c;
        c = b;
        b = a;
        a = new_a;
    }
    [a, b, c, d, e, f, g, h].iter().zip(state).map(|(x, s)| add(&[s, x], 0)).collect()
}

/// SHA-256 of a message given as bits (bytes in order, each most significant bit first; a whole
/// number of bytes). Returns the 256 digest bits, most significant first.
pub fn sha256(message: &[Bit]) -> Result<Vec<Bit>, SynthesisError> {
    assert!(message.len().is_multiple_of(8), "a whole number of bytes");
    let mut bits = message.to_vec();
    bits.push(constant_bit(true));
    while bits.len() % 512 != 448 {
        bits.push(constant_bit(false));
    }
    bits.extend(constant_bits(message.len() as u64, 64));
    let mut state: Vec<Word> = H0.iter().map(|h| word_constant(*h)).collect();
    for block in bits.chunks(512) {
        // A word's bits arrive most significant first.
        let words: Vec<Word> = block.chunks(32).map(|w| w.iter().rev().cloned().collect()).collect();
        state = compress(&state, &words)?;
    }
    Ok(state.iter().flat_map(|w| w.iter().rev().cloned()).collect())
}

#[cfg(test)]
mod tests {
    use ark_relations::gr1cs::{ConstraintSystem, OptimizationGoal};
    use proptest::prelude::*;
    use sha2::Digest;

    use super::*;
    use ark_ff::Field;

    use crate::bits::from_bits_be;

    /// The bits of `bytes`, most significant first.
    fn bytes_to_bits(bytes: &[u8]) -> Vec<bool> {
        bytes.iter().flat_map(|b| (0..8).rev().map(move |i| b >> i & 1 == 1)).collect()
    }

    fn digest_in_circuit(msg: &[u8]) -> (Vec<u8>, usize, bool) {
        let cs = ConstraintSystem::<F>::new_ref();
        cs.set_optimization_goal(OptimizationGoal::Constraints);
        let bits: Vec<Bit> = bytes_to_bits(msg)
            .into_iter()
            .map(|b| FpVar::from(Boolean::new_witness(cs.clone(), || Ok(b)).unwrap()))
            .collect();
        let before = cs.num_constraints();
        let out = sha256(&bits).unwrap();
        let cost = cs.num_constraints() - before;
        let bytes = out
            .chunks(8)
            .map(|byte| byte.iter().fold(0u8, |acc, b| acc << 1 | (b.value().unwrap() == F::ONE) as u8))
            .collect();
        (bytes, cost, cs.is_satisfied().unwrap())
    }

    #[test]
    fn matches_the_standard_vectors_and_costs_what_it_says() {
        let (empty, _, ok) = digest_in_circuit(b"");
        assert!(ok);
        assert_eq!(
            alloy_primitives::hex::encode(empty),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        let (abc, cost, ok) = digest_in_circuit(b"abc");
        assert!(ok);
        assert_eq!(
            alloy_primitives::hex::encode(abc),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        // One block (the first: its state is constant, which saves a little): 24,655.
        assert!((22_000..27_000).contains(&cost), "{cost} constraints a block");
        // Each further block, with a variable state.
        let (_, two, _) = digest_in_circuit(&[7u8; 64]);
        assert!((two - cost) < 28_000, "{} constraints a further block", two - cost);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(8))]
        #[test]
        fn matches_sha2_on_any_message(msg in prop::collection::vec(any::<u8>(), 0..200)) {
            let (got, _, ok) = digest_in_circuit(&msg);
            prop_assert!(ok);
            prop_assert_eq!(got, sha2::Sha256::digest(&msg).to_vec());
        }
    }

    #[test]
    fn a_wrong_digest_is_unsatisfiable() {
        let cs = ConstraintSystem::<F>::new_ref();
        let bits: Vec<Bit> = bytes_to_bits(b"aqueduct")
            .into_iter()
            .map(|b| FpVar::from(Boolean::new_witness(cs.clone(), || Ok(b)).unwrap()))
            .collect();
        let out = sha256(&bits).unwrap();
        let claimed = FpVar::new_witness(cs.clone(), || Ok(F::from(12345u64))).unwrap();
        from_bits_be(&out[3..]).enforce_equal(&claimed).unwrap();
        assert!(!cs.is_satisfied().unwrap());
    }
}
