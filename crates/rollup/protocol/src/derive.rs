//! Derivation (sans IO): L1 blocks in, L2 blocks out. Every node that follows the rollup — the
//! verifier, the proposer's node, a restarted sequencer — reaches the same L2 chain from the same
//! L1 data, whatever the sequencer did.
//!
//! Rules, for the next L2 block `N` after the safe head:
//! - A batch for `N` is valid when it names the safe head as parent, has `N`'s timestamp, keeps
//!   or advances the L1 origin by one (an origin no newer than the block), landed on L1 within the
//!   sequencing window of its origin, and consumes the forced queue up to at least every item
//!   older than a window (and no item from after its origin). Invalid batches are skipped.
//! - When no valid batch for `N` can arrive any more (L1 is a window past the next origin), `N`
//!   is made by default: deposits, due forced transactions, nothing else. This is what keeps the
//!   rollup live, and censorship-resistant, without its sequencer.

use std::collections::BTreeMap;

use alloy::primitives::{B256, Bytes};
use aqueduct_evm::{BlockAttributes, ChainRules, ChainTx, DepositTx, L1Prices, SealedBlock, decode_raw_tx};
use aqueduct_primitives::{ForcedIndex, L1BlockNumber, L2BlockNumber};
use tracing::{debug, warn};

use crate::{
    batch::Batch,
    channel::ChannelAssembler,
    config::RollupConfig,
    deposit::{L1Origin, l1_info_deposit},
    frame::decode_frames,
};

/// What derivation needs from one L1 block.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct L1BlockData {
    pub origin: L1Origin,
    pub parent_hash: B256,
    /// Deposits from the portal's logs, in log order.
    pub deposits: Vec<DepositTx>,
    /// Inbox payloads (calldata or blob contents) accepted from the batcher, in order.
    pub batches: Vec<Vec<u8>>,
    /// Signed transactions queued for forced inclusion, in order.
    pub forced: Vec<Bytes>,
}

/// Where the L2 chain stands, as derivation sees it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SafeHead {
    pub number: L2BlockNumber,
    pub hash: B256,
    /// L1 origin number and the block's position in its epoch.
    pub epoch: L1BlockNumber,
    pub seq: u64,
    /// Forced-queue items consumed so far.
    pub forced_index: ForcedIndex,
}

impl SafeHead {
    /// The safe head a block is, from its header (`extra_data` carries the derivation metadata;
    /// the L2 genesis has none and stands at the L1 genesis).
    pub fn of(number: u64, hash: B256, extra_data: &[u8], l1_genesis: u64) -> Self {
        let (forced_index, epoch, seq) =
            if number == 0 { (0, l1_genesis, 0) } else { decode_meta(extra_data).unwrap_or((0, l1_genesis, 0)) };
        Self {
            number: L2BlockNumber(number),
            hash,
            epoch: L1BlockNumber(epoch),
            seq,
            forced_index: ForcedIndex(forced_index),
        }
    }

    /// The safe head an L2 block is (its header's metadata; see [`SafeHead::of`]).
    pub fn of_block(b: &SealedBlock, l1_genesis: u64) -> Self {
        Self::of(b.number(), b.hash, &b.header.extra_data, l1_genesis)
    }
}

/// How many forced transactions a sequencer takes into a block: every one queued by its origin
/// (an honest sequencer), or only those the sequencing window makes due (one that delays them as
/// long as the rules allow, e.g. while it censors their senders).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ForcedPolicy {
    AllKnown,
    DueOnly,
}

/// An L2 block as derivation decided it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DerivedBlock {
    pub number: L2BlockNumber,
    pub timestamp: u64,
    pub origin: L1Origin,
    pub seq: u64,
    pub forced_index: ForcedIndex,
    /// The system deposit, then (first block of an epoch) the epoch's deposits.
    pub deposits: Vec<DepositTx>,
    /// Forced transactions, then the batch's transactions (raw; invalid ones are skipped when
    /// executed, identically everywhere).
    pub transactions: Vec<Bytes>,
    /// How many of `transactions` are forced ones (at the front).
    pub forced_count: usize,
    /// Made by default (no valid batch in time).
    pub default: bool,
    /// Last L1 block this block depends on (an L1 reorg below it undoes it).
    pub l1_source: L1BlockNumber,
}

impl DerivedBlock {
    /// The attributes every node builds this block from: undecodable transactions are left out
    /// (like invalid ones, which building skips).
    pub fn attributes(&self, rules: &ChainRules) -> BlockAttributes {
        let transactions = self
            .transactions
            .iter()
            .filter_map(|raw| match decode_raw_tx(rules, raw) {
                Ok((env, sender)) => Some(ChainTx::new(env, sender)),
                Err(e) => {
                    debug!(target: "derive::block", number = self.number.0, error = %e, "undecodable transaction skipped");
                    None
                }
            })
            .collect();
        BlockAttributes {
            timestamp: Some(self.timestamp),
            deposits: self.deposits.clone(),
            transactions,
            from_pool: false,
            l1_prices: self.origin.prices(),
            extra_data: encode_meta(self.forced_index.0, self.origin.number, self.seq),
            ..Default::default()
        }
    }
}

/// L2 header metadata after the L1 prices in `extra_data` (16 bytes, so the whole field keeps
/// geth's 32-byte bound): the forced index (u32), the epoch (u64) and the sequence number in the
/// epoch (u32), big-endian. A forced index or sequence number past `u32::MAX` (four billion
/// forced transactions, or blocks in one L1 epoch) is capped, not wrapped.
pub fn encode_meta(forced_index: u64, epoch: u64, seq: u64) -> Bytes {
    let cap = |v: u64| u32::try_from(v).unwrap_or(u32::MAX).to_be_bytes();
    [cap(forced_index).as_slice(), &epoch.to_be_bytes(), &cap(seq)].concat().into()
}

/// Reads `(forced_index, epoch, seq)` back from an L2 header's `extra_data`.
pub fn decode_meta(extra: &[u8]) -> Option<(u64, u64, u64)> {
    let m = extra.get(L1Prices::EXTRA_LEN..L1Prices::EXTRA_LEN + 16)?;
    let n = |r: std::ops::Range<usize>| Some(u64::from_be_bytes(m.get(r)?.try_into().ok()?));
    let n32 = |r: std::ops::Range<usize>| Some(u64::from(u32::from_be_bytes(m.get(r)?.try_into().ok()?)));
    Some((n32(0..4)?, n(4..12)?, n32(12..16)?))
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DeriveError {
    #[error("expected L1 block {expected}, got {got}")]
    OutOfOrder { expected: u64, got: u64 },
    /// The new block does not build on the last one: L1 reorganised below it.
    #[error("L1 reorg at block {0}")]
    Reorg(u64),
}

/// The derivation pipeline.
#[derive(Debug)]
pub struct Pipeline {
    cfg: RollupConfig,
    /// L1 blocks read, by number (origins and their deposits are needed from the safe epoch on).
    l1: BTreeMap<u64, L1BlockData>,
    /// The forced queue from item `forced_base` on: (L1 block it was queued in, transaction).
    forced: Vec<(u64, Bytes)>,
    /// Index of `forced[0]` in the whole queue (0 unless started mid-chain).
    forced_base: u64,
    /// Candidate batches by L2 number, with the L1 block that carried them.
    batches: BTreeMap<u64, Vec<(Batch, u64)>>,
    channels: ChannelAssembler,
    /// Next L1 block expected.
    cursor: u64,
}

impl Pipeline {
    /// Starts reading L1 at the block after the rollup's L1 genesis.
    pub fn new(cfg: RollupConfig) -> Self {
        let genesis = L1BlockData { origin: cfg.l1_genesis, ..Default::default() };
        let mut l1 = BTreeMap::new();
        l1.insert(cfg.l1_genesis.number, genesis);
        Self {
            channels: ChannelAssembler::new(cfg.channel_timeout, cfg.max_channel_bytes),
            cursor: cfg.l1_genesis.number + 1,
            cfg,
            l1,
            forced: Vec::new(),
            forced_base: 0,
            batches: BTreeMap::new(),
        }
    }

    /// A pipeline that reads L1 from block `first` on and knows the forced queue from item
    /// `forced_base` on (what an L1 fault proof re-derives one block with: the L1 data that can
    /// still matter to it, nothing older).
    pub fn starting_at(cfg: RollupConfig, first: u64, forced_base: u64) -> Self {
        Self {
            channels: ChannelAssembler::new(cfg.channel_timeout, cfg.max_channel_bytes),
            cursor: first,
            cfg,
            l1: BTreeMap::new(),
            forced: Vec::new(),
            forced_base,
            batches: BTreeMap::new(),
        }
    }

    /// Appends a forced item queued in an L1 block before the first one read.
    pub fn push_forced(&mut self, l1_block: u64, tx: Bytes) {
        self.forced.push((l1_block, tx));
    }

    pub fn config(&self) -> &RollupConfig {
        &self.cfg
    }

    /// Next L1 block number derivation wants.
    pub fn cursor(&self) -> u64 {
        self.cursor
    }

    /// Hash of L1 block `n` as derivation read it.
    pub fn l1_hash(&self, n: u64) -> Option<B256> {
        self.l1.get(&n).map(|b| b.origin.hash)
    }

    pub fn l1_block(&self, n: u64) -> Option<&L1BlockData> {
        self.l1.get(&n)
    }

    /// Forced-queue items known so far.
    pub fn forced_len(&self) -> u64 {
        self.forced_base + self.forced.len() as u64
    }

    /// Reads the next L1 block.
    pub fn push_l1(&mut self, block: L1BlockData) -> Result<(), DeriveError> {
        let n = block.origin.number;
        if n != self.cursor {
            return Err(DeriveError::OutOfOrder { expected: self.cursor, got: n });
        }
        if let Some(prev) = n.checked_sub(1).and_then(|p| self.l1.get(&p))
            && prev.origin.hash != block.parent_hash
        {
            return Err(DeriveError::Reorg(prev.origin.number));
        }
        for tx in &block.forced {
            self.forced.push((n, tx.clone()));
        }
        for payload in &block.batches {
            let frames = match decode_frames(payload) {
                Ok(f) => f,
                Err(e) => {
                    warn!(target: "derive::frames", l1 = n, error = %e, "skipping an unreadable inbox payload");
                    continue;
                }
            };
            for f in frames {
                match self.channels.add_frame(f, n) {
                    None => {}
                    Some(Ok(batches)) => {
                        debug!(target: "derive::channel", l1 = n, batches = batches.len(), "channel complete");
                        for b in batches {
                            self.batches.entry(b.number).or_default().push((b, n));
                        }
                    }
                    Some(Err(e)) => {
                        warn!(target: "derive::channel", l1 = n, error = %e, "skipping an unreadable channel")
                    }
                }
            }
        }
        // What is kept of the block: its origin and deposits. The inbox payloads and forced
        // transactions went into the channels and the forced queue; keeping them too held every
        // batch ever posted in memory (blobs included) for as long as the node ran.
        let mut block = block;
        block.batches = Vec::new();
        block.forced = Vec::new();
        self.l1.insert(n, block);
        self.cursor = n + 1;
        Ok(())
    }

    /// Forgets L1 blocks from `n` on (they were reorganised away) and every batch read from them.
    /// The caller unwinds L2 to a safe head whose `l1_source` is below `n`.
    pub fn rewind_l1(&mut self, n: u64) {
        let n = n.max(self.cfg.l1_genesis.number + 1);
        self.l1.retain(|k, _| *k < n);
        self.forced.retain(|(l1, _)| *l1 < n);
        for v in self.batches.values_mut() {
            v.retain(|(_, l1)| *l1 < n);
        }
        self.batches.retain(|_, v| !v.is_empty());
        // Partly read channels may hold frames from the dropped blocks: start them over.
        self.channels.clear();
        self.cursor = n;
    }

    /// Forced items that must be in by a block of epoch `epoch`.
    fn due(&self, epoch: u64) -> u64 {
        self.forced_base + self.forced.partition_point(|(l1, _)| l1 + self.cfg.seq_window <= epoch) as u64
    }

    /// Forced items a block of epoch `epoch` may consume.
    fn known(&self, epoch: u64) -> u64 {
        self.forced_base + self.forced.partition_point(|(l1, _)| *l1 <= epoch) as u64
    }

    /// Forced items a sequencer must include in a block of epoch `epoch`, and may include.
    pub fn forced_bounds(&self, epoch: u64) -> (u64, u64) {
        (self.due(epoch), self.known(epoch))
    }

    pub fn forced_range(&self, from: u64, to: u64) -> Vec<Bytes> {
        let (from, to) = (from.saturating_sub(self.forced_base), to.saturating_sub(self.forced_base));
        self.forced
            .get(from as usize..to as usize)
            .map(|s| s.iter().map(|(_, t)| t.clone()).collect())
            .unwrap_or_default()
    }

    /// What a sequencer's next block after `head` (its own newest block, safe or not) is made
    /// of, by the very rules [`Pipeline::next`] checks its batch against: the L1 origin (the
    /// next L1 block once its time has come, else the head's), the sequence number in the epoch,
    /// the L1-info deposit and the new epoch's deposits, and the forced transactions from the
    /// head's index up to what `forced` allows (at least every item due). The batch's own
    /// transactions come from the sequencer's pool. `None` while the head's origin is unread.
    pub fn attributes_for(&self, head: &SafeHead, forced: ForcedPolicy) -> Option<DerivedBlock> {
        let n = head.number + 1;
        let ts = self.cfg.block_timestamp(n.0);
        let current = self.l1.get(&head.epoch.0)?.origin;
        let next = self.l1.get(&(head.epoch.0 + 1)).map(|b| b.origin).filter(|o| o.timestamp <= ts);
        let origin = next.unwrap_or(current);
        let upto = ForcedIndex(match forced {
            ForcedPolicy::AllKnown => self.known(origin.number),
            ForcedPolicy::DueOnly => self.due(origin.number),
        });
        let read = L1BlockNumber(self.cursor.saturating_sub(1));
        Some(self.block(head, n, ts, origin, upto.max(head.forced_index), read, false))
    }

    /// The next L2 block after `safe`, if L1 data decides it yet.
    pub fn next(&mut self, safe: &SafeHead) -> Option<DerivedBlock> {
        let n = safe.number + 1;
        // Batches for blocks already derived are stale (replays, or losers of a race).
        let stale: Vec<u64> = self.batches.range(..n.0).map(|(k, _)| *k).collect();
        for k in stale {
            self.batches.remove(&k);
        }
        let ts = self.cfg.block_timestamp(n.0);
        let candidates = self.batches.remove(&n.0).unwrap_or_default();
        let mut rest = Vec::new();
        let mut found = None;
        for (b, inclusion) in candidates {
            if found.is_some() {
                rest.push((b, inclusion));
                continue;
            }
            match self.check(safe, &b, inclusion, ts) {
                Ok(()) => found = Some((b, inclusion)),
                Err(why) => warn!(target: "derive::batch", number = n.0, l1 = inclusion, why, "invalid batch skipped"),
            }
        }
        if !rest.is_empty() {
            self.batches.insert(n.0, rest);
        }
        if let Some((b, inclusion)) = found {
            let origin = self.l1[&b.epoch_number].origin;
            let (forced_index, inclusion) = (ForcedIndex(b.forced_index), L1BlockNumber(inclusion));
            let mut block = self.block(safe, n, ts, origin, forced_index, inclusion, false);
            block.transactions.extend(b.transactions);
            return Some(block);
        }
        // No batch: wait while one could still land in time for the next origin.
        if self.cursor <= safe.epoch.0 + 1 + self.cfg.seq_window {
            return None;
        }
        let next = self.l1.get(&(safe.epoch.0 + 1)).map(|b| b.origin).filter(|o| o.timestamp <= ts);
        let origin = next.unwrap_or(self.l1[&safe.epoch.0].origin);
        let forced_index = safe.forced_index.max(ForcedIndex(self.due(origin.number)));
        Some(self.block(safe, n, ts, origin, forced_index, L1BlockNumber(self.cursor - 1), true))
    }

    #[allow(clippy::too_many_arguments)]
    fn block(
        &self,
        safe: &SafeHead,
        n: L2BlockNumber,
        ts: u64,
        origin: L1Origin,
        forced_index: ForcedIndex,
        l1_source: L1BlockNumber,
        default: bool,
    ) -> DerivedBlock {
        let new_epoch = origin.number != safe.epoch.0;
        let seq = if new_epoch { 0 } else { safe.seq + 1 };
        let mut deposits = vec![l1_info_deposit(&origin, seq)];
        if new_epoch {
            deposits.extend(self.l1[&origin.number].deposits.iter().cloned());
        }
        let transactions = self.forced_range(safe.forced_index.0, forced_index.0);
        DerivedBlock {
            number: n,
            timestamp: ts,
            origin,
            seq,
            forced_index,
            deposits,
            forced_count: transactions.len(),
            transactions,
            default,
            l1_source: l1_source.max(L1BlockNumber(origin.number)),
        }
    }

    fn check(&self, safe: &SafeHead, b: &Batch, inclusion: u64, ts: u64) -> Result<(), &'static str> {
        if b.parent_hash != safe.hash {
            return Err("parent is not the safe head");
        }
        if b.timestamp != ts {
            return Err("wrong timestamp");
        }
        if b.epoch_number != safe.epoch.0 && b.epoch_number != safe.epoch.0 + 1 {
            return Err("L1 origin neither kept nor advanced by one");
        }
        let Some(origin) = self.l1.get(&b.epoch_number) else { return Err("unknown L1 origin") };
        if origin.origin.hash != b.epoch_hash {
            return Err("L1 origin hash mismatch");
        }
        if origin.origin.timestamp > b.timestamp {
            return Err("L1 origin newer than the block");
        }
        if inclusion > b.epoch_number + self.cfg.seq_window {
            return Err("landed after the sequencing window");
        }
        if b.forced_index < safe.forced_index.0.max(self.due(b.epoch_number)) {
            return Err("skips forced transactions that are due");
        }
        if b.forced_index > self.known(b.epoch_number) {
            return Err("consumes forced transactions from after its origin");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{channel::ChannelBuilder, compress::Compressor, frame::encode_frames};
    use alloy::primitives::Address;

    fn cfg() -> RollupConfig {
        RollupConfig {
            l2_chain_id: 42,
            block_time_ms: 1000,
            seq_window: 4,
            channel_timeout: 10,
            max_channel_bytes: 1 << 20,
            portal: Address::ZERO,
            inbox: Address::ZERO,
            oracle: Address::ZERO,
            dispute_game: Address::repeat_byte(5),
            batcher: Address::ZERO,
            l1_genesis: L1Origin { number: 10, hash: B256::repeat_byte(10), timestamp: 1000, ..Default::default() },
            l2_genesis_time: 1000,
            compression_ppm: 700_000,
            base_fee_scalar: 0,
            blob_base_fee_scalar: 0,
        }
    }

    fn l1(n: u64, batches: Vec<Vec<u8>>, forced: Vec<Bytes>) -> L1BlockData {
        L1BlockData {
            origin: L1Origin {
                number: n,
                hash: B256::repeat_byte(n as u8),
                timestamp: 1000 + (n - 10) * 12,
                ..Default::default()
            },
            parent_hash: B256::repeat_byte(n as u8 - 1),
            deposits: vec![],
            batches,
            forced,
        }
    }

    fn payload(batches: &[Batch]) -> Vec<u8> {
        let mut c = ChannelBuilder::new(rand_id(batches[0].number), Compressor::Zstd(3));
        batches.iter().for_each(|b| c.add(b));
        encode_frames(&c.close(100_000).frames)
    }

    fn rand_id(n: u64) -> [u8; 16] {
        let mut id = [0u8; 16];
        id[..8].copy_from_slice(&n.to_be_bytes());
        id
    }

    fn genesis_head() -> SafeHead {
        SafeHead {
            number: L2BlockNumber(0),
            hash: B256::repeat_byte(0xAA),
            epoch: L1BlockNumber(10),
            seq: 0,
            forced_index: ForcedIndex(0),
        }
    }

    fn batch(number: u64, parent: B256, epoch: u64, forced_index: u64) -> Batch {
        Batch {
            number,
            parent_hash: parent,
            epoch_number: epoch,
            epoch_hash: B256::repeat_byte(epoch as u8),
            timestamp: 1000 + number,
            forced_index,
            transactions: vec![Bytes::from(vec![number as u8; 3])],
        }
    }

    #[test]
    fn valid_batch_is_derived_and_bad_ones_skipped() {
        let mut p = Pipeline::new(cfg());
        let safe = genesis_head();
        let good = batch(1, safe.hash, 10, 0);
        let wrong_parent = batch(1, B256::repeat_byte(1), 10, 0);
        p.push_l1(l1(11, vec![payload(&[wrong_parent]), payload(std::slice::from_ref(&good)), vec![9, 9, 9]], vec![]))
            .unwrap();
        let d = p.next(&safe).unwrap();
        assert!(!d.default);
        assert_eq!(d.transactions, good.transactions);
        assert_eq!(d.origin.number, 10);
        assert_eq!(d.deposits.len(), 1, "the system deposit only (epoch unchanged)");
        assert_eq!(d.seq, 1);
    }

    #[test]
    fn no_batch_waits_then_defaults_with_due_forced_transactions() {
        let mut p = Pipeline::new(cfg());
        let safe = genesis_head();
        let forced = Bytes::from(vec![0x02, 0x01]);
        p.push_l1(l1(11, vec![], vec![forced.clone()])).unwrap();
        assert_eq!(p.next(&safe), None, "a batch may still come");
        for n in 12..=14 {
            p.push_l1(l1(n, vec![], vec![])).unwrap();
            assert_eq!(p.next(&safe), None, "L1 block {n}: still inside the window");
        }
        // Block 15 closes the window of origin 11 (the latest a batch for block 1 could name).
        p.push_l1(l1(15, vec![], vec![])).unwrap();
        let d = p.next(&safe).expect("window over: default block");
        assert!(d.default);
        // Block 1 has timestamp 1001 < L1 block 11's 1012: it keeps origin 10, where nothing is due.
        assert_eq!(d.origin.number, 10);
        assert!(d.transactions.is_empty());
        // Later blocks advance to origin 11 and, once 11 + window <= origin, take the forced item.
        let mut safe = SafeHead {
            number: L2BlockNumber(1),
            hash: B256::repeat_byte(1),
            epoch: L1BlockNumber(10),
            seq: 1,
            forced_index: ForcedIndex(0),
        };
        for n in 16..40 {
            p.push_l1(l1(n, vec![], vec![])).unwrap();
        }
        let mut seen = false;
        while let Some(d) = p.next(&safe) {
            assert!(d.origin.number <= safe.epoch.0 + 1, "origin advances one at a time");
            if d.transactions.contains(&forced) {
                assert!(d.origin.number >= 11 + 4);
                seen = true;
            }
            safe = SafeHead {
                number: d.number,
                hash: B256::repeat_byte(d.number.0 as u8),
                epoch: L1BlockNumber(d.origin.number),
                seq: d.seq,
                forced_index: d.forced_index,
            };
        }
        assert!(seen, "the forced transaction was included");
        assert_eq!(safe.forced_index, ForcedIndex(1));
    }

    /// The safe head a derived block makes (its hash stands in for the built block's).
    fn head_after(d: &DerivedBlock) -> SafeHead {
        SafeHead {
            number: d.number,
            hash: B256::repeat_byte(0x80 + d.number.0 as u8),
            epoch: L1BlockNumber(d.origin.number),
            seq: d.seq,
            forced_index: d.forced_index,
        }
    }

    /// Issue 15, item 4: the sequencer builds from `attributes_for`, derivation checks with
    /// `next`; blocks made one way, posted as batches, derive unchanged the other way.
    #[test]
    fn what_the_sequencer_builds_is_what_derivation_derives() {
        for policy in [ForcedPolicy::AllKnown, ForcedPolicy::DueOnly] {
            let forced = Bytes::from(vec![0x02, 0x01]);
            let l1_blocks = |batches: Vec<Vec<u8>>| {
                (11..=30).map(move |n| {
                    let f = if n == 11 { vec![Bytes::from(vec![0x02, 0x01])] } else { vec![] };
                    l1(n, if n == 13 { batches.clone() } else { vec![] }, f)
                })
            };
            let mut seq = Pipeline::new(cfg());
            l1_blocks(vec![]).for_each(|b| seq.push_l1(b).unwrap());
            let mut head = genesis_head();
            let (mut made, mut batches) = (Vec::new(), Vec::new());
            for _ in 0..20 {
                let d = seq.attributes_for(&head, policy).expect("the head's origin is read");
                assert!(!d.default);
                batches.push(Batch {
                    number: d.number.0,
                    parent_hash: head.hash,
                    epoch_number: d.origin.number,
                    epoch_hash: d.origin.hash,
                    timestamp: d.timestamp,
                    forced_index: d.forced_index.0,
                    transactions: d.transactions[d.forced_count..].to_vec(),
                });
                head = head_after(&d);
                made.push(d);
            }
            let epochs: Vec<u64> = made.iter().map(|d| d.origin.number).collect();
            assert!(epochs.contains(&10) && epochs.contains(&11), "the origin advanced once its time came: {epochs:?}");
            let took = made.iter().any(|d| d.transactions.contains(&forced));
            assert_eq!(took, policy == ForcedPolicy::AllKnown, "forced item taken early only when all known are");

            let mut ver = Pipeline::new(cfg());
            l1_blocks(vec![payload(&batches)]).for_each(|b| ver.push_l1(b).unwrap());
            let mut safe = genesis_head();
            for want in &made {
                let got = ver.next(&safe).expect("the batch derives");
                assert!(!got.default, "block {} derived from its batch", want.number);
                let fields = |d: &DerivedBlock| {
                    (d.number, d.timestamp, d.origin, d.seq, d.forced_index, d.deposits.clone(), d.transactions.clone())
                };
                assert_eq!(fields(&got), fields(want), "block {}", want.number);
                safe = head_after(&got);
            }
        }
    }

    #[test]
    fn batch_skipping_due_forced_items_is_invalid() {
        let mut p = Pipeline::new(cfg());
        let safe = genesis_head();
        p.push_l1(l1(11, vec![], vec![Bytes::from(vec![1])])).unwrap();
        for n in 12..=15 {
            p.push_l1(l1(n, vec![], vec![])).unwrap();
        }
        // Origin 15 = 11 + window: the item is due. A batch that ignores it is skipped.
        let mut safe15 = safe;
        safe15.epoch = L1BlockNumber(14);
        let bad = Batch { timestamp: 1001, ..batch(1, safe.hash, 15, 0) };
        let ok = Batch { timestamp: 1001, ..batch(1, safe.hash, 15, 1) };
        let mut b15 = l1(16, vec![payload(&[bad]), payload(std::slice::from_ref(&ok))], vec![]);
        b15.origin.timestamp = 1001;
        p.l1.get_mut(&15).unwrap().origin.timestamp = 1001;
        p.push_l1(b15).unwrap();
        let d = p.next(&safe15).unwrap();
        assert_eq!(d.forced_index, ForcedIndex(1));
        assert_eq!(d.transactions[0], Bytes::from(vec![1]));
    }

    #[test]
    fn reorg_is_detected_and_rewound() {
        let mut p = Pipeline::new(cfg());
        p.push_l1(l1(11, vec![], vec![Bytes::from(vec![1])])).unwrap();
        let mut other = l1(12, vec![], vec![]);
        other.parent_hash = B256::repeat_byte(0xEE);
        assert_eq!(p.push_l1(other), Err(DeriveError::Reorg(11)));
        p.rewind_l1(11);
        assert_eq!(p.cursor(), 11);
        assert_eq!(p.forced_len(), 0);
        assert_eq!(p.push_l1(l1(13, vec![], vec![])), Err(DeriveError::OutOfOrder { expected: 11, got: 13 }));
    }

    #[test]
    fn meta_roundtrip() {
        let extra = [[7u8; 16].as_slice(), &encode_meta(3, 4, 5)].concat();
        assert_eq!(extra.len(), 32, "geth's bound on extra_data");
        assert_eq!(decode_meta(&extra), Some((3, 4, 5)));
        assert_eq!(decode_meta(&[0u8; 24]), None);
        let big = [[0u8; 16].as_slice(), &encode_meta(u64::MAX, u64::MAX - 1, 1 << 40)].concat();
        assert_eq!(decode_meta(&big), Some((u32::MAX.into(), u64::MAX - 1, u32::MAX.into())));
    }
}
