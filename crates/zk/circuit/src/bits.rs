//! Bit decomposition: `n` booleans (one constraint each) whose little-endian sum is the value (one
//! more). The value is thereby proven to be below 2ⁿ.

use aqueduct_zk_protocol::F;
use ark_ff::{AdditiveGroup, BigInteger, PrimeField};
use ark_r1cs_std::{fields::fp::FpVar, prelude::*};
use ark_relations::gr1cs::SynthesisError;

pub fn to_bits(x: &FpVar<F>, n: usize) -> Result<Vec<Boolean<F>>, SynthesisError> {
    let cs = x.cs();
    let value = x.value().ok().map(|v| v.into_bigint().to_bits_le());
    let bits = (0..n)
        .map(|i| {
            Boolean::new_witness(cs.clone(), || {
                value.as_ref().map(|v| v.get(i).copied().unwrap_or(false)).ok_or(SynthesisError::AssignmentMissing)
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Boolean::le_bits_to_fp(&bits)?.enforce_equal(x)?;
    Ok(bits)
}

/// `Σ bits[i]·2ⁱ` (free).
pub fn from_bits(bits: &[Boolean<F>]) -> FpVar<F> {
    pack(&bits.iter().map(boolean).collect::<Vec<_>>())
}

/// `Σ bits[i]·2ⁱ` over bits held as field elements (free).
pub fn pack(bits: &[FpVar<F>]) -> FpVar<F> {
    let mut acc = FpVar::zero();
    let mut pow = F::from(1u64);
    for b in bits {
        acc += b * FpVar::constant(pow);
        pow.double_in_place();
    }
    acc
}

/// The `n` bits of `x`, most significant first, proven to be its binary expansion (below 2ⁿ, so
/// `n = 256` admits `x + p` as well as `x`: callers bind only values L1 also range-checks).
pub fn to_bits_be(x: &FpVar<F>, n: usize) -> Result<Vec<FpVar<F>>, SynthesisError> {
    Ok(to_bits(x, n)?.iter().rev().map(boolean).collect())
}

/// The integer the bits stand for (most significant first), mod p (free).
pub fn from_bits_be(bits: &[FpVar<F>]) -> FpVar<F> {
    pack(&bits.iter().rev().cloned().collect::<Vec<_>>())
}

pub fn boolean(b: &Boolean<F>) -> FpVar<F> {
    FpVar::from(b.clone())
}

/// The bits of `bytes` (most significant first) as witnesses.
pub fn bytes_witness(
    cs: &ark_relations::gr1cs::ConstraintSystemRef<F>,
    bytes: &[u8],
) -> Result<Vec<FpVar<F>>, SynthesisError> {
    bytes
        .iter()
        .flat_map(|b| (0..8).rev().map(move |i| (b >> i) & 1 == 1))
        .map(|bit| Boolean::new_witness(cs.clone(), || Ok(bit)).map(FpVar::from))
        .collect()
}

/// A witness field element.
pub fn witness(cs: &ark_relations::gr1cs::ConstraintSystemRef<F>, v: F) -> Result<FpVar<F>, SynthesisError> {
    FpVar::new_witness(cs.clone(), || Ok(v))
}
