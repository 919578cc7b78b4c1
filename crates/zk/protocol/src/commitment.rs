//! The one public input of a block proof (D7), built from what L1 can hash for a few gas a word:
//! `SHA-256(old root ‖ new root ‖ data hash ‖ z ‖ y ‖ on-chain records)` cut to its low 253 bits (so it
//! is a field element), where the data hash is `SHA-256(pubdata)` — L1 computes it from the
//! calldata in a rollup; a validium's committee signs it — and the records are one fixed-size
//! record per slot that may hold an on-chain operation (zero where a slot holds none). L1 rebuilds
//! the records from the operations it is given, each at its slot, so an operation left out, added
//! or moved changes the commitment and the proof does not verify. No Poseidon over user data on
//! L1: the circuit pays for SHA-256 instead (`aqueduct-zk-circuit`). `z` and `y` bind a block
//! whose pubdata is in a blob (`y` is its lane's polynomial at `z`, see [`crate::blob`]); both
//! are zero for a block whose pubdata is calldata or with a committee.

use alloy_primitives::B256;
use ark_ff::{PrimeField, Zero};
use sha2::{Digest, Sha256};

use crate::{BlobFr, F, OnchainOp};

/// Bytes of one on-chain record: `kind ‖ account (3) ‖ token ‖ address (20) ‖ value (32)`.
pub const RECORD_BYTES: usize = 57;

/// Bits of the public input: SHA-256's digest with its top three bits cleared.
pub const INPUT_BITS: usize = 253;

/// `SHA-256(pubdata)`: what a rollup's L1 contract and a validium's committee hash.
pub fn data_hash(pubdata: &[u8]) -> B256 {
    B256::from_slice(&Sha256::digest(pubdata))
}

impl OnchainOp {
    /// The operation's record, as L1 writes it.
    pub fn record(&self) -> [u8; RECORD_BYTES] {
        let mut r = [0u8; RECORD_BYTES];
        r[0] = self.kind as u8;
        r[1..4].copy_from_slice(&self.account.to_be_bytes()[1..]);
        r[4] = self.token;
        r[5..25].copy_from_slice(self.address.as_slice());
        r[25..57].copy_from_slice(&crate::fe::to_bytes(&self.value));
        r
    }
}

/// The records of a block with `onchain_slots` slots that may hold an on-chain operation: each
/// operation's record at its slot, zeros elsewhere. An operation at a later slot has no record
/// (L1 refuses it; no honest block has one, and the circuit refuses a witness that does).
pub fn records(ops: &[OnchainOp], onchain_slots: usize) -> Vec<u8> {
    let mut out = vec![0u8; onchain_slots * RECORD_BYTES];
    for op in ops.iter().filter(|op| (op.slot as usize) < onchain_slots) {
        let at = op.slot as usize * RECORD_BYTES;
        out[at..at + RECORD_BYTES].copy_from_slice(&op.record());
    }
    out
}

/// What a block proof's public input binds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockCommitment {
    pub old_root: F,
    pub new_root: F,
    pub data_hash: B256,
    /// The blob point (zero outside a blob) and the block's evaluation there.
    pub z: BlobFr,
    pub y: BlobFr,
    pub records: Vec<u8>,
}

impl BlockCommitment {
    pub fn new(old_root: F, new_root: F, pubdata: &[u8], ops: &[OnchainOp], onchain_slots: usize) -> Self {
        Self::in_blob(old_root, new_root, pubdata, ops, onchain_slots, BlobFr::zero())
    }

    /// A block whose pubdata sits in a blob lane proven at `z` (zero: not in a blob).
    pub fn in_blob(
        old_root: F,
        new_root: F,
        pubdata: &[u8],
        ops: &[OnchainOp],
        onchain_slots: usize,
        z: BlobFr,
    ) -> Self {
        let y = crate::blob::block_evaluation(pubdata, z);
        Self { old_root, new_root, data_hash: data_hash(pubdata), z, y, records: records(ops, onchain_slots) }
    }

    /// The bytes hashed: what L1 passes to its SHA-256 precompile.
    pub fn preimage(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(160 + self.records.len());
        out.extend_from_slice(&crate::fe::to_bytes(&self.old_root));
        out.extend_from_slice(&crate::fe::to_bytes(&self.new_root));
        out.extend_from_slice(self.data_hash.as_slice());
        out.extend_from_slice(&crate::blob::to_bytes(&self.z));
        out.extend_from_slice(&crate::blob::to_bytes(&self.y));
        out.extend_from_slice(&self.records);
        out
    }

    /// The public input: the preimage's SHA-256 with its top three bits cleared.
    pub fn public_input(&self) -> F {
        let mut d: [u8; 32] = Sha256::digest(self.preimage()).into();
        d[0] &= 0x1f;
        F::from_be_bytes_mod_order(&d)
    }
}

#[cfg(test)]
mod tests {
    use alloy_primitives::Address;

    use ark_ff::BigInteger;

    use super::*;
    use crate::OpKind;

    fn op(slot: u16, kind: OpKind) -> OnchainOp {
        OnchainOp { kind, account: 0x010203, token: 4, address: Address::repeat_byte(5), value: F::from(6u64), slot }
    }

    #[test]
    fn a_record_is_laid_out_as_l1_writes_it() {
        let r = op(0, OpKind::Withdraw).record();
        assert_eq!(&r[..5], &[3, 1, 2, 3, 4]);
        assert_eq!(&r[5..25], &[5u8; 20]);
        assert_eq!(r[56], 6);
        assert!(r[25..56].iter().all(|b| *b == 0));
    }

    #[test]
    fn every_bound_part_changes_the_input() {
        let ops = [op(1, OpKind::Deposit)];
        let base = BlockCommitment::new(F::from(1u64), F::from(2u64), &[7; 24], &ops, 4);
        let input = base.public_input();
        assert!(input.into_bigint().to_bytes_be()[0] < 0x20, "253 bits");
        let mut moved = ops.clone();
        moved[0].slot = 2;
        let variants = [
            BlockCommitment::new(F::from(3u64), F::from(2u64), &[7; 24], &ops, 4),
            BlockCommitment::new(F::from(1u64), F::from(3u64), &[7; 24], &ops, 4),
            BlockCommitment::new(F::from(1u64), F::from(2u64), &[8; 24], &ops, 4),
            BlockCommitment::new(F::from(1u64), F::from(2u64), &[7; 24], &moved, 4),
            BlockCommitment::new(F::from(1u64), F::from(2u64), &[7; 24], &[], 4),
            BlockCommitment::in_blob(F::from(1u64), F::from(2u64), &[7; 24], &ops, 4, BlobFr::from(9u64)),
        ];
        for v in variants {
            assert_ne!(v.public_input(), input);
        }
    }
}
