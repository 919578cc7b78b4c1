//! The block circuit: every slot in order over the running root, then the one public input —
//! `SHA-256(old root ‖ new root ‖ SHA-256(pubdata) ‖ records)` cut to 253 bits, as L1 computes
//! it (`aqueduct_zk_protocol::BlockCommitment`).

use aqueduct_zk_protocol::{BlockWitness, F, INPUT_BITS};
use ark_r1cs_std::{fields::fp::FpVar, prelude::*};
use ark_relations::gr1cs::{ConstraintSynthesizer, ConstraintSystemRef, SynthesisError};

use crate::{
    bits::{from_bits_be, to_bits_be, witness},
    sha256::sha256,
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
        let mut pubdata = Vec::with_capacity(w.slots.len() * 96);
        let mut records = Vec::new();
        for (i, s) in w.slots.iter().enumerate() {
            let out = slot(&cs, s, w.shape, w.domain, &root, i < w.onchain_slots)?;
            root = out.root;
            pubdata.extend(out.chunk);
            records.extend(out.record.into_iter().flatten());
        }
        let mut preimage = to_bits_be(&old_root, 256)?;
        preimage.extend(to_bits_be(&root, 256)?);
        preimage.extend(sha256(&pubdata)?);
        preimage.extend(records);
        let digest = sha256(&preimage)?;
        from_bits_be(&digest[256 - INPUT_BITS..]).enforce_equal(&input)
    }
}
