//! The block circuit: every slot in order over the running root, then the one public input —
//! `SHA-256(old root ‖ new root ‖ SHA-256(pubdata) ‖ z ‖ y ‖ records)` cut to 253 bits, as L1
//! computes it (`aqueduct_zk_protocol::BlockCommitment`) — with `y` the pubdata's blob-lane
//! polynomial at `z` (zero outside a blob; `crate::blob`).

use aqueduct_zk_protocol::{BlockWitness, F, INPUT_BITS, blob::to_bytes, pubdata as pubdata_bytes};
use ark_r1cs_std::{fields::fp::FpVar, prelude::*};
use ark_relations::gr1cs::{ConstraintSynthesizer, ConstraintSystemRef, SynthesisError};

use crate::{
    bits::{bytes_witness, from_bits_be, to_bits_be, witness},
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
        let commitment = w.commitment();
        let input = FpVar::new_input(cs.clone(), || Ok(commitment.public_input()))?;
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
        let z = bytes_witness(&cs, &to_bytes(&commitment.z))?;
        let y = bytes_witness(&cs, &to_bytes(&commitment.y))?;
        crate::blob::enforce_evaluation(&cs, &pubdata, &pubdata_bytes(&w.chunks()), &z, &y, commitment.z)?;
        preimage.extend(z);
        preimage.extend(y);
        preimage.extend(records);
        let digest = sha256(&preimage)?;
        from_bits_be(&digest[256 - INPUT_BITS..]).enforce_equal(&input)
    }
}
