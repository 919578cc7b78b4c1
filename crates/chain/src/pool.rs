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
    by_hash: HashMap<B256, Entry>,
    /// Bytes held (transactions with their blob sidecars).
    bytes: usize,
}

/// What the pool keeps beside a transaction.
struct Entry {
    sender: Address,
    nonce: u64,
    bytes: usize,
    /// When it arrived (seconds), for the expiry of queued transactions.
    arrived: u64,
}

/// The price a transaction offers a block builder: its tip, capped by its fee cap.
fn price(tx: &ChainTx) -> (u128, u128) {
    let cap = tx.envelope.max_fee_per_gas();
    (tx.envelope.max_priority_fee_per_gas().unwrap_or(cap).min(cap), cap)
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

    /// Bytes held (transactions and blob sidecars).
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    pub fn get(&self, hash: &B256) -> Option<&ChainTx> {
        let e = self.by_hash.get(hash)?;
        self.by_sender.get(&e.sender)?.get(&e.nonce)
    }

    /// Highest nonce + 1 of a sender's queue if it continues from `state_nonce` without gaps.
    pub fn next_nonce(&self, sender: &Address, state_nonce: u64) -> u64 {
        let Some(q) = self.by_sender.get(sender) else { return state_nonce };
        // Fast path: the whole queue is one run from the state nonce.
        if let (Some((&first, _)), Some((&last, _))) = (q.first_key_value(), q.last_key_value())
            && first == state_nonce
            && last - first + 1 == q.len() as u64
        {
            return last + 1;
        }
        let mut n = state_nonce;
        while q.contains_key(&n) {
            n += 1;
        }
        n
    }

    /// Queued transactions of a sender: those behind a nonce gap, not executable yet.
    fn queued_of(&self, sender: &Address, state_nonce: u64) -> usize {
        let next = self.next_nonce(sender, state_nonce);
        self.by_sender.get(sender).map_or(0, |q| q.range(next..).count())
    }

    /// Queued transactions in the whole pool.
    pub fn queued(&self, mut nonce_of: impl FnMut(&Address) -> u64) -> usize {
        self.by_sender.keys().map(|s| self.queued_of(s, nonce_of(s))).sum()
    }

    /// Adds a transaction already validated against the state (`state_nonce` is the sender's;
    /// `nonce_of` gives other senders' state nonces; `bytes` is its size with its sidecar; `now`
    /// in seconds). Returns the hashes of transactions it replaced or evicted.
    ///
    /// Limits, after geth's: a queued transaction (behind a nonce gap) is refused beyond
    /// `max_queued_per_sender`; when the pool is full (count, bytes, or queued count), queued
    /// transactions go first, cheapest first, then the cheapest executable one at the tail of
    /// its sender's queue, if it pays less than the newcomer; otherwise the newcomer is refused.
    pub fn insert(
        &mut self,
        tx: ChainTx,
        state_nonce: u64,
        bytes: usize,
        now: u64,
        mut nonce_of: impl FnMut(&Address) -> u64,
    ) -> Result<Vec<B256>, TxError> {
        if self.by_hash.contains_key(&tx.hash) {
            return Err(TxError::AlreadyKnown);
        }
        let nonce = tx.nonce();
        if nonce > state_nonce.saturating_add(self.limits.max_nonce_gap) {
            return Err(TxError::NonceTooHigh { tx: nonce, state: state_nonce });
        }
        let mut removed = Vec::new();
        let existing = self.by_sender.get(&tx.sender).and_then(|q| q.get(&nonce));
        if let Some(old) = existing {
            let bump = |old: u128| old.saturating_mul(100 + self.limits.price_bump_percent).div_ceil(100);
            let (ot, of) = price(old);
            let (nt, nf) = price(&tx);
            if nf < bump(of) || nt < bump(ot) {
                return Err(TxError::ReplacementUnderpriced);
            }
            removed.push(old.hash);
            let h = old.hash;
            self.remove(&h);
        } else {
            let held = self.by_sender.get(&tx.sender).map_or(0, BTreeMap::len);
            if held >= self.limits.max_per_sender {
                return Err(TxError::SenderLimit);
            }
            let next = self.next_nonce(&tx.sender, state_nonce);
            let queued = nonce > next;
            if queued && self.queued_of(&tx.sender, state_nonce) >= self.limits.max_queued_per_sender {
                return Err(TxError::QueuedLimit { limit: self.limits.max_queued_per_sender, next });
            }
            let mut total_queued = if queued { self.queued(&mut nonce_of) } else { 0 };
            while self.by_hash.len() >= self.limits.max_txs
                || self.bytes + bytes > self.limits.max_bytes
                || (queued && total_queued >= self.limits.max_queued)
            {
                let Some((victim, was_queued)) = self.victim(&tx, queued, &mut nonce_of) else {
                    return Err(if self.by_hash.len() >= self.limits.max_txs {
                        TxError::PoolFull
                    } else {
                        TxError::Underpriced
                    });
                };
                self.remove(&victim);
                removed.push(victim);
                total_queued -= usize::from(was_queued && queued);
            }
        }
        self.bytes += bytes;
        self.by_hash.insert(tx.hash, Entry { sender: tx.sender, nonce, bytes, arrived: now });
        self.by_sender.entry(tx.sender).or_default().insert(nonce, tx);
        Ok(removed)
    }

    /// What to evict for `incoming`: the cheapest queued transaction (cheaper than the incoming
    /// one when that one is queued too), else (for an executable newcomer) the cheapest
    /// transaction at the tail of a sender's queue that pays less. `(hash, was queued)`.
    fn victim(
        &self,
        incoming: &ChainTx,
        incoming_queued: bool,
        nonce_of: &mut impl FnMut(&Address) -> u64,
    ) -> Option<(B256, bool)> {
        let offer = price(incoming);
        let mut queued: Option<(&ChainTx, (u128, u128))> = None;
        let mut tail: Option<(&ChainTx, (u128, u128))> = None;
        for (sender, q) in &self.by_sender {
            if *sender == incoming.sender {
                continue;
            }
            let next = self.next_nonce(sender, nonce_of(sender));
            for tx in q.range(next..).map(|(_, t)| t) {
                let p = price(tx);
                if queued.is_none_or(|(_, best)| p < best) {
                    queued = Some((tx, p));
                }
            }
            if let Some((_, tx)) = q.range(..next).next_back() {
                let p = price(tx);
                if tail.is_none_or(|(_, best)| p < best) {
                    tail = Some((tx, p));
                }
            }
        }
        match queued {
            Some((tx, p)) if !incoming_queued || p < offer => return Some((tx.hash, true)),
            _ => {}
        }
        if incoming_queued {
            return None;
        }
        tail.filter(|(_, p)| *p < offer).map(|(tx, _)| (tx.hash, false))
    }

    /// Drops queued transactions (behind a nonce gap) older than the queued lifetime; returns
    /// their hashes.
    pub fn expire(&mut self, now: u64, mut nonce_of: impl FnMut(&Address) -> u64) -> Vec<B256> {
        let life = self.limits.queued_lifetime_secs;
        let mut old = Vec::new();
        for (sender, q) in &self.by_sender {
            let next = self.next_nonce(sender, nonce_of(sender));
            for tx in q.range(next..).map(|(_, t)| t) {
                if self.by_hash.get(&tx.hash).is_some_and(|e| e.arrived.saturating_add(life) <= now) {
                    old.push(tx.hash);
                }
            }
        }
        for h in &old {
            self.remove(h);
        }
        old
    }

    pub fn remove(&mut self, hash: &B256) -> Option<ChainTx> {
        let e = self.by_hash.remove(hash)?;
        self.bytes -= e.bytes;
        let q = self.by_sender.get_mut(&e.sender)?;
        let tx = q.remove(&e.nonce);
        if q.is_empty() {
            self.by_sender.remove(&e.sender);
        }
        tx
    }

    /// Drops a sender's transactions with nonces below `state_nonce` (mined or replaced by state).
    pub fn prune_sender(&mut self, sender: &Address, state_nonce: u64) {
        if let Some(q) = self.by_sender.get_mut(sender) {
            let keep = q.split_off(&state_nonce);
            for tx in q.values() {
                if let Some(e) = self.by_hash.remove(&tx.hash) {
                    self.bytes -= e.bytes;
                }
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

#[cfg(test)]
mod tests {
    use alloy::{
        consensus::{SignableTransaction, TxEip1559, TxEnvelope},
        network::TxSignerSync,
        primitives::{Bytes, TxKind, U256},
        signers::local::PrivateKeySigner,
    };

    use super::*;

    fn tx(signer: &PrivateKeySigner, nonce: u64, tip: u128) -> ChainTx {
        let mut t = TxEip1559 {
            chain_id: 1,
            nonce,
            gas_limit: 21_000,
            max_fee_per_gas: 200_000_000_000,
            max_priority_fee_per_gas: tip,
            to: TxKind::Call(Address::repeat_byte(7)),
            value: U256::from(1),
            access_list: Default::default(),
            input: Bytes::new(),
        };
        let sig = signer.sign_transaction_sync(&mut t).unwrap();
        ChainTx::new(TxEnvelope::Eip1559(t.into_signed(sig)), signer.address())
    }

    const GWEI: u128 = 1_000_000_000;

    fn limits() -> PoolLimits {
        PoolLimits { max_txs: 100, max_queued: 40, max_queued_per_sender: 10, ..Default::default() }
    }

    /// Issue 23, item 4: gapped transactions filled the pool for good and an executable one
    /// with a high tip got "txpool is full". Now each account queues at most its share, queued
    /// ones are evicted for executable ones, and the total queued is bounded.
    #[test]
    fn gapped_transactions_cannot_fill_the_pool() {
        let mut pool = Pool::new(limits());
        let spammers: Vec<PrivateKeySigner> = (0..20).map(|_| PrivateKeySigner::random()).collect();
        let (mut accepted, mut tip) = (0, GWEI);
        for s in &spammers {
            for nonce in 1..=20 {
                tip += 1;
                match pool.insert(tx(s, nonce, tip), 0, 120, 0, |_| 0) {
                    Ok(_) => accepted += 1,
                    Err(TxError::QueuedLimit { limit: 10, next: 0 }) => assert!(nonce > 10),
                    Err(e) => panic!("unexpected refusal {e}"),
                }
            }
        }
        // One more queued transaction paying less than every queued one is refused.
        let late = PrivateKeySigner::random();
        assert!(matches!(pool.insert(tx(&late, 3, 1), 0, 120, 0, |_| 0), Err(TxError::Underpriced)));
        assert!(pool.len() <= 40 && pool.queued(|_| 0) <= 40, "queued bounded: {} held", pool.len());
        assert!(accepted > 40, "older cheap queued transactions made room for newer ones");
        // Fill the rest with executable transactions, then one more: a queued one is evicted.
        let honest: Vec<PrivateKeySigner> = (0..61).map(|_| PrivateKeySigner::random()).collect();
        for s in &honest {
            pool.insert(tx(s, 0, 100 * GWEI), 0, 120, 0, |_| 0).unwrap();
        }
        assert_eq!(pool.len(), 100);
        assert!(pool.queued(|_| 0) < 40, "queued transactions were evicted for executable ones");
        // A full pool of executable transactions: a better one evicts the cheapest, a worse one is refused.
        let mut p = Pool::new(PoolLimits { max_txs: 3, ..limits() });
        let [a, b, c, d, e]: [PrivateKeySigner; 5] = std::array::from_fn(|_| PrivateKeySigner::random());
        for (s, tip) in [(&a, 5), (&b, 3), (&c, 4)] {
            p.insert(tx(s, 0, tip * GWEI), 0, 120, 0, |_| 0).unwrap();
        }
        let cheapest = tx(&b, 0, 3 * GWEI).hash;
        assert_eq!(p.insert(tx(&d, 0, 100 * GWEI), 0, 120, 0, |_| 0).unwrap(), vec![cheapest]);
        assert!(matches!(p.insert(tx(&e, 0, GWEI), 0, 120, 0, |_| 0), Err(TxError::PoolFull)));
    }

    #[test]
    fn the_byte_budget_holds() {
        let mut pool = Pool::new(PoolLimits { max_bytes: 1_000, ..limits() });
        let signers: Vec<PrivateKeySigner> = (0..12).map(|_| PrivateKeySigner::random()).collect();
        for (i, s) in signers.iter().enumerate() {
            let r = pool.insert(tx(s, 0, (1 + i as u128) * GWEI), 0, 100, 0, |_| 0);
            assert!(r.is_ok(), "{i}: {r:?}");
        }
        assert!(pool.bytes() <= 1_000 && pool.len() == 10, "{} bytes, {} txs", pool.bytes(), pool.len());
        let cheap = PrivateKeySigner::random();
        assert!(matches!(pool.insert(tx(&cheap, 0, 1), 0, 100, 0, |_| 0), Err(TxError::Underpriced)));
    }

    #[test]
    fn queued_transactions_expire_and_executable_ones_stay() {
        let mut pool = Pool::new(limits());
        let s = PrivateKeySigner::random();
        pool.insert(tx(&s, 0, GWEI), 0, 120, 100, |_| 0).unwrap();
        let gapped = tx(&s, 5, GWEI);
        let gapped_hash = gapped.hash;
        pool.insert(gapped, 0, 120, 100, |_| 0).unwrap();
        assert!(pool.expire(100 + 3 * 3600 - 1, |_| 0).is_empty());
        assert_eq!(pool.expire(100 + 3 * 3600, |_| 0), vec![gapped_hash]);
        assert_eq!(pool.len(), 1, "the executable transaction stays");
        assert_eq!(pool.bytes(), 120);
    }
}
