//! The blob binding in the circuit: `y` is the lane-0 polynomial of the block's pubdata at `z`
//! (`aqueduct_zk_protocol::blob`), in BLS12-381's scalar field emulated over BN254's, or `y = 0`
//! when `z = 0` (a block outside a blob). The pubdata's bits are the ones SHA-256 hashes into the
//! data hash, so the evaluation is of exactly the bytes the proof binds.
//!
//! Cost: each 31-byte element needs one inverse (a witness and one emulated product checked
//! against it); the sum `Σ ωᵢ·uᵢ` multiplies by constants without reducing (reduced once), then
//! `zᴺ` takes twelve squarings.

use std::marker::PhantomData;

use aqueduct_zk_protocol::{
    BlobFr, F,
    blob::{BLOB_ELEMENTS, ELEMENT_BYTES, domain_point, elements},
};
use ark_ff::{Field, PrimeField, Zero};
use ark_r1cs_std::{
    fields::{
        emulated_fp::{
            AllocatedEmulatedFpVar, EmulatedFpVar, MulResultVar,
            params::{OptimizationType, get_params},
        },
        fp::FpVar,
    },
    prelude::*,
};
use ark_relations::gr1cs::{ConstraintSystemRef, SynthesisError};

use crate::bits::pack;

type E = EmulatedFpVar<BlobFr, F>;

/// The emulated element these bits spell (most significant first, at most 255 of them): its
/// limbs are sums of the bits, so this costs no constraint.
fn from_bits_be(cs: &ConstraintSystemRef<F>, bits: &[FpVar<F>]) -> E {
    assert!(bits.len() < 256, "a blob element has 255 bits");
    let params =
        get_params(BlobFr::MODULUS_BIT_SIZE as usize, F::MODULUS_BIT_SIZE as usize, OptimizationType::Constraints);
    let le: Vec<FpVar<F>> = bits.iter().rev().cloned().collect();
    let mut limbs: Vec<FpVar<F>> = (0..params.num_limbs)
        .map(|j| {
            let lo = (j * params.bits_per_limb).min(le.len());
            let hi = if j + 1 == params.num_limbs { le.len() } else { (lo + params.bits_per_limb).min(le.len()) };
            pack(&le[lo..hi])
        })
        .collect();
    // The library keeps the most significant limb first.
    limbs.reverse();
    EmulatedFpVar::Var(AllocatedEmulatedFpVar {
        cs: cs.clone(),
        limbs,
        num_of_additions_over_normal_form: F::zero(),
        is_in_the_normal_form: true,
        target_phantom: PhantomData,
    })
}

/// Enforces the blob binding. `pubdata` is the block's pubdata bits (most significant first),
/// `data` the same bytes natively (for the prover's hints), `z_bits`/`y_bits` the 256 bits of `z`
/// and `y` as the public input's preimage holds them, and `z` the native point.
pub fn enforce_evaluation(
    cs: &ConstraintSystemRef<F>,
    pubdata: &[FpVar<F>],
    data: &[u8],
    z_bits: &[FpVar<F>],
    y_bits: &[FpVar<F>],
    z: BlobFr,
) -> Result<(), SynthesisError> {
    assert_eq!(pubdata.len(), data.len() * 8);
    // Both below 2²⁵⁵ (L1 passes field elements).
    z_bits[0].enforce_equal(&FpVar::zero())?;
    y_bits[0].enforce_equal(&FpVar::zero())?;
    let zv = from_bits_be(cs, &z_bits[1..]);
    let yv = from_bits_be(cs, &y_bits[1..]);
    let z_is_zero = z_bits.iter().fold(FpVar::zero(), |a, b| a + b).is_zero()?;

    let ys = elements(data);
    let mut sum = MulResultVar::<BlobFr, F>::zero();
    for (i, bits) in pubdata.chunks(ELEMENT_BYTES * 8).enumerate() {
        let mut padded = bits.to_vec();
        padded.resize(ELEMENT_BYTES * 8, FpVar::zero());
        let yi = from_bits_be(cs, &padded);
        let w = domain_point(i);
        // uᵢ = yᵢ / (z − ωᵢ), checked by one product.
        let d = &zv - E::Constant(w);
        let hint = (z - w).inverse().map(|inv| ys[i] * inv).unwrap_or_default();
        let u = E::new_witness(cs.clone(), || Ok(hint))?;
        (&u * &d).enforce_equal(&yi)?;
        sum += &u.mul_without_reduce(&E::Constant(w))?;
    }
    let sum = sum.reduce()?;
    let mut zn = zv.clone();
    for _ in 0..BLOB_ELEMENTS.trailing_zeros() {
        zn = zn.square()?;
    }
    let n_inv = BlobFr::from(BLOB_ELEMENTS as u64).inverse().expect("N is not zero");
    let value = (zn - E::Constant(BlobFr::ONE)) * E::Constant(n_inv) * sum;
    let expected = z_is_zero.select(&E::Constant(BlobFr::zero()), &value)?;
    yv.enforce_equal(&expected)
}

#[cfg(test)]
mod tests {
    use aqueduct_zk_protocol::blob::{block_evaluation, to_bytes};
    use ark_relations::gr1cs::ConstraintSystem;

    use super::*;

    fn bits_of(cs: &ConstraintSystemRef<F>, bytes: &[u8]) -> Vec<FpVar<F>> {
        crate::bits::bytes_witness(cs, bytes).unwrap()
    }

    fn satisfied(data: &[u8], z: BlobFr, y: BlobFr) -> (bool, usize) {
        let cs = ConstraintSystem::<F>::new_ref();
        let pubdata = bits_of(&cs, data);
        let (zb, yb) = (bits_of(&cs, &to_bytes(&z)), bits_of(&cs, &to_bytes(&y)));
        enforce_evaluation(&cs, &pubdata, data, &zb, &yb, z).unwrap();
        (cs.is_satisfied().unwrap(), cs.num_constraints())
    }

    #[test]
    fn the_circuit_computes_the_lane_polynomial_and_nothing_else() {
        let data: Vec<u8> = (0..96u8).map(|i| i.wrapping_mul(37)).collect();
        let z = BlobFr::from(123_456_789u64) * BlobFr::from(u64::MAX);
        let y = block_evaluation(&data, z);
        let (ok, constraints) = satisfied(&data, z, y);
        assert!(ok);
        println!("blob binding of 96 bytes: {constraints} constraints");
        assert!(!satisfied(&data, z, y + BlobFr::ONE).0, "a wrong y");
        let mut other = data.clone();
        other[50] ^= 4;
        assert!(!satisfied(&other, z, y).0, "other data");
        // Outside a blob: z = 0 and y = 0, and nothing else.
        assert!(satisfied(&data, BlobFr::zero(), BlobFr::zero()).0);
        assert!(!satisfied(&data, BlobFr::zero(), BlobFr::ONE).0);
    }
}
