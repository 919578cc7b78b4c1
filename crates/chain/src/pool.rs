//! The mempool: per-sender nonce queues, replacement by fee, limits.

use std::collections::{BTreeMap, BinaryHeap, HashMap};

use alloy::{
    consensus::Transaction,
    primitives::{Address, B256},
};

use crate::{block::ChainTx, error::TxError, rules::PoolLimits};

/// Pending transactions.
#[derive(Default)]
pub struct Pool {
    limits: PoolLimits,
    by_sender: HashMap<Address, BTreeMap<u64, ChainTx>>,
    by_hash: HashMap<B256, (Address, u64)>,
}

impl Pool {
    pub fn new(limits: PoolLimits) -> Self {
        Self { limits, ..Default::default() }
    }

    pub fn len(&self) -> usize {
        self.by_hash.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_hash.is_empty()
    }

    pub fn get(&self, hash: &B256) -> Option<&ChainTx> {
        let (s, n) = self.by_hash.get(hash)?;
        self.by_sender.get(s)?.get(n)
    }

    /// Highest nonce + 1 of a sender's queue if it continues from `state_nonce` without gaps.
    pub fn next_nonce(&self, sender: &Address, state_nonce: u64) -> u64 {
        let mut n = state_nonce;
        if let Some(q) = self.by_sender.get(sender) {
            while q.contains_key(&n) {
                n += 1;
            }
        }
        n
    }

    /// Adds a transaction already validated against the state (`state_nonce` is the sender's).
    /// Returns the hash of a replaced transaction, if any.
    pub fn insert(&mut self, tx: ChainTx, state_nonce: u64) -> Result<Option<B256>, TxError> {
        if self.by_hash.contains_key(&tx.hash) {
            return Err(TxError::AlreadyKnown);
        }
        let nonce = tx.nonce();
        if nonce > state_nonce.saturating_add(self.limits.max_nonce_gap) {
            return Err(TxError::NonceTooHigh { tx: nonce, state: state_nonce });
        }
        let queue = self.by_sender.entry(tx.sender).or_default();
        let mut replaced = None;
        if let Some(old) = queue.get(&nonce) {
            let bump = |old: u128| old.saturating_mul(100 + self.limits.price_bump_percent).div_ceil(100);
            let (of, ot) = (
                old.envelope.max_fee_per_gas(),
                old.envelope.max_priority_fee_per_gas().unwrap_or(old.envelope.max_fee_per_gas()),
            );
            let (nf, nt) = (
                tx.envelope.max_fee_per_gas(),
                tx.envelope.max_priority_fee_per_gas().unwrap_or(tx.envelope.max_fee_per_gas()),
            );
            if nf < bump(of) || nt < bump(ot) {
                return Err(TxError::ReplacementUnderpriced);
            }
            replaced = Some(old.hash);
        } else {
            if queue.len() >= self.limits.max_per_sender {
                return Err(TxError::SenderLimit);
            }
            if self.by_hash.len() >= self.limits.max_txs {
                return Err(TxError::PoolFull);
            }
        }
        if let Some(h) = replaced {
            self.by_hash.remove(&h);
        }
        self.by_hash.insert(tx.hash, (tx.sender, nonce));
        queue.insert(nonce, tx);
        Ok(replaced)
    }

    pub fn remove(&mut self, hash: &B256) -> Option<ChainTx> {
        let (s, n) = self.by_hash.remove(hash)?;
        let q = self.by_sender.get_mut(&s)?;
        let tx = q.remove(&n);
        if q.is_empty() {
            self.by_sender.remove(&s);
        }
        tx
    }

    /// Drops a sender's transactions with nonces below `state_nonce` (mined or replaced by state).
    pub fn prune_sender(&mut self, sender: &Address, state_nonce: u64) {
        if let Some(q) = self.by_sender.get_mut(sender) {
            let keep = q.split_off(&state_nonce);
            for tx in q.values() {
                self.by_hash.remove(&tx.hash);
            }
            *q = keep;
            if q.is_empty() {
                self.by_sender.remove(sender);
            }
        }
    }

    /// Transactions in block order: for each sender in nonce order starting at its state nonce,
    /// senders interleaved by tip at `base_fee`, highest first. `nonce_of` gives state nonces.
    pub fn best(&self, base_fee: u64, mut nonce_of: impl FnMut(&Address) -> u64) -> BestTxs<'_> {
        let mut heap = BinaryHeap::new();
        for (sender, q) in &self.by_sender {
            let n = nonce_of(sender);
            if let Some(tx) = q.get(&n)
                && let Some(tip) = tx.effective_tip(base_fee)
            {
                heap.push(Candidate { tip, hash: tx.hash, sender: *sender, nonce: n });
            }
        }
        BestTxs { pool: self, heap, base_fee }
    }

    /// Each sender's queue, by nonce.
    pub fn senders(&self) -> impl Iterator<Item = (&Address, &BTreeMap<u64, ChainTx>)> {
        self.by_sender.iter()
    }

    /// Every pending transaction (for `eth_getBlockByNumber("pending")`-style views and tests).
    pub fn all(&self) -> impl Iterator<Item = &ChainTx> {
        self.by_sender.values().flat_map(|q| q.values())
    }
}

#[derive(PartialEq, Eq)]
struct Candidate {
    tip: u128,
    hash: B256,
    sender: Address,
    nonce: u64,
}

impl Ord for Candidate {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        // Highest tip first; ties broken by hash for determinism.
        self.tip.cmp(&other.tip).then_with(|| other.hash.cmp(&self.hash))
    }
}

impl PartialOrd for Candidate {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// Iterator over the best transactions; call [`BestTxs::skip_sender`] when one fails.
pub struct BestTxs<'a> {
    pool: &'a Pool,
    heap: BinaryHeap<Candidate>,
    base_fee: u64,
}

impl BestTxs<'_> {
    /// The next transaction; its sender's following nonce becomes a candidate.
    pub fn next_tx(&mut self) -> Option<ChainTx> {
        let c = self.heap.pop()?;
        let q = self.pool.by_sender.get(&c.sender)?;
        let tx = q.get(&c.nonce)?.clone();
        if let Some(next) = q.get(&(c.nonce + 1))
            && let Some(tip) = next.effective_tip(self.base_fee)
        {
            self.heap.push(Candidate { tip, hash: next.hash, sender: c.sender, nonce: c.nonce + 1 });
        }
        Some(tx)
    }

    /// Stops offering this sender's transactions (one failed or did not fit).
    pub fn skip_sender(&mut self, sender: &Address) {
        let rest: Vec<_> = std::mem::take(&mut self.heap).into_iter().filter(|c| c.sender != *sender).collect();
        self.heap = rest.into();
    }
}
