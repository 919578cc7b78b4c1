//! Checkpoints: after each `checkpointInterval` executed blocks a validator signs the range
//! (last block hash, state root, withdrawals root), sends its signature to the others and
//! gathers theirs; the L1 submitter posts a checkpoint once it holds more than 2/3 of the stake.
//! A signature over a different checkpoint for the same range is evidence of a fork or of
//! collusion, and is reported.

use std::{
    collections::BTreeMap,
    sync::Arc,
    time::{Duration, SystemTime},
};

use alloy::sol_types::SolEvent;
use aqueduct_chain::{Chain, SealedBlock};
use aqueduct_contracts::sidechain::{CHILD_BRIDGE, ChildBridge};
use aqueduct_primitives::{Signature, Signer};
use aqueduct_sidechain_protocol::{Checkpoint, Domain, SignedCheckpoint, Withdrawal, WithdrawalTree};
use tracing::{info, warn};

use crate::{
    NodeError,
    consensus::PublicKey,
    shared::Shared,
    store::SideStore,
    wire::{decode_checkpoint_sig, encode_checkpoint_sig},
};

/// How often a validator sends its signatures again for checkpoints L1 does not hold yet.
const RESEND: Duration = Duration::from_secs(3);

/// The withdrawals initiated in blocks `from..=to`, in order.
pub fn withdrawals_in(chain: &Chain, from: u64, to: u64) -> Vec<Withdrawal> {
    let mut out = Vec::new();
    for b in chain.blocks(from, to) {
        for r in &b.receipts {
            for log in r.inner.receipt.logs.iter() {
                if log.address != CHILD_BRIDGE
                    || log.topics().first() != Some(&ChildBridge::WithdrawalInitiated::SIGNATURE_HASH)
                {
                    continue;
                }
                if let Ok(e) = ChildBridge::WithdrawalInitiated::decode_log_data(&log.data) {
                    out.push(Withdrawal { nonce: e.nonce, recipient: e.recipient, token: e.l1Token, amount: e.amount });
                }
            }
        }
    }
    out
}

/// The checkpoint covering blocks up to `end` (a multiple of the interval), from the chain.
pub fn checkpoint_at(chain: &Chain, interval: u64, end: &SealedBlock) -> Checkpoint {
    let n = end.header.number;
    let start = n + 1 - interval;
    let ws = withdrawals_in(chain, start, n);
    let root = WithdrawalTree::of(&ws).map(|t| t.root()).unwrap_or_default();
    Checkpoint {
        number: n / interval - 1,
        start_block: start,
        end_block: n,
        block_hash: end.hash,
        state_root: end.header.state_root,
        withdrawals_root: root,
    }
}

pub struct Checkpointer {
    interval: u64,
    domain: Domain,
    signer: Signer,
    store: Arc<SideStore>,
    shared: Arc<Shared>,
    /// Signatures for checkpoints this validator has not built yet, by number.
    early: BTreeMap<u64, Vec<(Checkpoint, Signature)>>,
    outgoing: Vec<Vec<u8>>,
    last_resend: Option<SystemTime>,
}

impl Checkpointer {
    pub fn new(
        interval: u64,
        domain: Domain,
        signer: Signer,
        store: Arc<SideStore>,
        shared: Arc<Shared>,
    ) -> Result<Self, NodeError> {
        for cp in store.checkpoints()? {
            shared.put_checkpoint(cp);
        }
        Ok(Self {
            interval,
            domain,
            signer,
            store,
            shared,
            early: BTreeMap::new(),
            outgoing: Vec::new(),
            last_resend: None,
        })
    }

    /// After each executed block: at a checkpoint boundary, sign it and send the signature.
    pub fn after_block(&mut self, chain: &Chain, block: &SealedBlock) -> Result<(), NodeError> {
        let n = block.header.number;
        if n == 0 || !n.is_multiple_of(self.interval) {
            return Ok(());
        }
        let cp = checkpoint_at(chain, self.interval, block);
        if self.shared.checkpoint(cp.number).is_some_and(|s| s.checkpoint == cp) {
            return Ok(()); // reopened: signed before
        }
        let sig = cp.sign(&self.domain, &self.signer);
        let mut signed = SignedCheckpoint::new(cp);
        let quorum = self.shared.quorum();
        if let Err(e) = signed.add(&self.domain, &quorum, sig) {
            warn!(target: "sidechain", error = %e, "this validator's own checkpoint signature does not count (not in the L1 set?)");
        }
        for (other, s) in self.early.remove(&cp.number).unwrap_or_default() {
            self.add_foreign(&mut signed, other, s);
        }
        info!(target: "sidechain", number = cp.number, end = cp.end_block, root = %cp.withdrawals_root, "checkpoint signed");
        self.store.put_checkpoint(&signed)?;
        self.shared.put_checkpoint(signed);
        self.outgoing.push(encode_checkpoint_sig(&cp, &sig));
        Ok(())
    }

    fn add_foreign(&self, signed: &mut SignedCheckpoint, other: Checkpoint, sig: Signature) {
        let who = sig.recover(&other.digest(&self.domain));
        if other != signed.checkpoint {
            let what = format!(
                "validator {} signed checkpoint {} for blocks {}..={} with block hash {} / withdrawals root {}, not this chain's {} / {}",
                who.map(|a| a.to_string()).unwrap_or_else(|| "?".into()),
                other.number,
                other.start_block,
                other.end_block,
                other.block_hash,
                other.withdrawals_root,
                signed.checkpoint.block_hash,
                signed.checkpoint.withdrawals_root
            );
            warn!(target: "sidechain", %what, "conflicting checkpoint signature");
            let seq = self.shared.add_evidence(what.clone());
            let _ = self.store.put_evidence(seq, &what);
            return;
        }
        if let Err(e) = signed.add(&self.domain, &self.shared.quorum(), sig) {
            warn!(target: "sidechain", error = %e, "refused a checkpoint signature");
        }
    }

    /// A signature from a peer.
    pub fn on_signature(&mut self, from: &PublicKey, bytes: &[u8]) {
        let (cp, sig) = match decode_checkpoint_sig(bytes) {
            Ok(x) => x,
            Err(e) => {
                warn!(target: "sidechain", peer = %from, error = %e, "refused a checkpoint message");
                return;
            }
        };
        match self.shared.checkpoint(cp.number) {
            Some(mut signed) => {
                let before = signed.signatures.len();
                self.add_foreign(&mut signed, cp, sig);
                if signed.signatures.len() != before {
                    if let Err(e) = self.store.put_checkpoint(&signed) {
                        self.shared.fail(format!("checkpoint store: {e}"));
                    }
                    self.shared.put_checkpoint(signed);
                }
            }
            None => {
                let e = self.early.entry(cp.number).or_default();
                if e.len() < 64 {
                    e.push((cp, sig));
                }
                // Bound what a peer can make this validator hold.
                while self.early.len() > 1_000 {
                    self.early.pop_first();
                }
            }
        }
    }

    /// Messages to send now: new signatures, and every so often this validator's signatures of
    /// checkpoints L1 does not hold yet (for peers that were away).
    pub fn outgoing(&mut self, now: SystemTime) -> Vec<Vec<u8>> {
        let mut out = std::mem::take(&mut self.outgoing);
        if self.last_resend.is_none_or(|t| now > t + RESEND) {
            self.last_resend = Some(now);
            let on_l1 = self.shared.l1_checkpoints();
            let me = self.signer.address();
            let mut n = on_l1;
            while let Some(cp) = self.shared.checkpoint(n) {
                if let Some((_, s)) = cp.signatures.iter().find(|(a, _)| *a == me) {
                    out.push(encode_checkpoint_sig(&cp.checkpoint, s));
                }
                n += 1;
                if n > on_l1 + 64 {
                    break;
                }
            }
        }
        out
    }
}
