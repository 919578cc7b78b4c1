//! The block circuit: every slot in order over the running root and on-chain hash, the pubdata
//! hash over the slots' chunks, and the one public input binding them.

use aqueduct_zk_protocol::{BlockWitness, F};
use ark_r1cs_std::{fields::fp::FpVar, prelude::*};
use ark_relations::gr1cs::{ConstraintSynthesizer, ConstraintSystemRef, SynthesisError};

use crate::{
    bits::witness,
    poseidon::{hash_many, hash4},
    slot::slot,
};

/// A block to prove (or, for key generation, any block of the right shape and size).
#[derive(Clone)]
pub struct BlockCircuit {
    pub witness: BlockWitness,
}

impl ConstraintSynthesizer<F> for BlockCircuit {
    fn generate_constraints(self, cs: ConstraintSystemRef<F>) -> Result<(), SynthesisError> {
        let w = &self.witness;
        let input = FpVar::new_input(cs.clone(), || Ok(w.commitment().public_input()))?;
        let old_root = witness(&cs, w.old_root)?;
        let mut root = old_root.clone();
        let mut onchain = FpVar::zero();
        let mut chunks = Vec::with_capacity(w.slots.len());
        for s in &w.slots {
            let out = slot(&cs, s, w.shape, w.domain, &root, &onchain)?;
            root = out.root;
            onchain = out.onchain;
            chunks.push(out.chunk);
        }
        let shift = FpVar::constant(F::from(1u128 << 96));
        let elements: Vec<FpVar<F>> = chunks
            .chunks(2)
            .map(|pair| match pair {
                [x, y] => x * &shift + y,
                [x] => x.clone(),
                _ => unreachable!("chunks(2)"),
            })
            .collect();
        let data_hash = hash_many(&elements)?;
        hash4(&old_root, &root, &data_hash, &onchain)?.enforce_equal(&input)
    }
}
