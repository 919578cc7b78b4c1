//! The sequencer: an L2 block every block time, from deposits, due forced transactions and its
//! pool, each persisted before it is announced (soft confirmation: a receipt means on disk).

use std::{
    collections::{BTreeMap, HashSet},
    sync::Arc,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use alloy::primitives::{Address, B256, keccak256};
use aqueduct_chain::{BlockAttributes, BlockRef, Chain, ChainError, SealedBlock};
use aqueduct_primitives::{L1BlockNumber, L2BlockNumber};
use aqueduct_rollup_protocol::{DerivedBlock, ForcedPolicy, Pipeline, SafeHead};
use aqueduct_service::{CancellationToken, Classify, Halt, NextAction, Progress, Service};
use parking_lot::Mutex;
use tracing::{debug, error, info, warn};

use crate::{error::ServiceError, follower::follow_l1, interop::Interop, l1::L1Client};

#[derive(Clone, Debug, Default)]
pub struct SequencerConfig {
    /// L1 blocks an origin must be buried under before the sequencer uses it.
    pub l1_confirmations: u64,
    /// Senders whose pool transactions are ignored (forced inclusion still reaches them).
    pub censor: Vec<Address>,
}

pub struct Sequencer {
    chain: Arc<Chain>,
    l1: L1Client,
    pipeline: Arc<Mutex<Pipeline>>,
    cfg: SequencerConfig,
    follow: Follow,
    last_l1_poll: u64,
    /// The rollups whose messages this one accepts.
    interop: Interop,
}

/// What stops the sequencer ([`ServiceError`]): L1 gone below the rollup's anchor, its chain's
/// store failing, a task panicking. Anything else (L1 slow or unreachable, a block that failed) is
/// logged and the next round tries again, so L2 blocks keep coming while L1 is away.
/// L1 blocks read per round while catching up to the head's origin (no block is due meanwhile).
const CATCH_UP_BLOCKS: u64 = 1_024;

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or_default()
}

/// An error worth stopping for goes up to the service loop; the rest are logged here.
fn fatal_or_log(e: impl Into<ServiceError>, what: &str) -> Result<(), ServiceError> {
    let e = e.into();
    if e.next_action() == NextAction::Stop {
        return Err(e);
    }
    warn!(target: "sequencer", error = %e, "{what}; trying again");
    Ok(())
}

impl Sequencer {
    pub fn new(chain: Arc<Chain>, l1: L1Client, pipeline: Arc<Mutex<Pipeline>>, cfg: SequencerConfig) -> Self {
        let genesis = chain.block(BlockRef::Number(0)).expect("a chain has its genesis");
        let l1_genesis = pipeline.lock().config().l1_genesis.number;
        let follow = Follow {
            safe: SafeHead::of(0, genesis.hash, &genesis.header.extra_data, l1_genesis),
            sources: BTreeMap::new(),
            l1_genesis,
            followed_at: None,
        };
        Self { chain, l1, pipeline, cfg, follow, last_l1_poll: 0, interop: Interop::default() }
    }

    /// Checks the messages of other rollups that pool transactions declare against these rollups.
    pub fn with_interop(mut self, interop: Interop) -> Self {
        self.interop = interop;
        self
    }

    /// Produces blocks on the service loop until cancelled (a rollup passes its shared halt to
    /// [`aqueduct_service::run`] instead).
    pub async fn run(self, cancel: CancellationToken) {
        aqueduct_service::run(self, Duration::ZERO, cancel, Halt::new()).await;
    }

    /// One round: follow derivation if it read something new, read L1, and build the next block
    /// once it is due (waiting for that at most one block time).
    async fn round(&mut self) -> Result<(), ServiceError> {
        let block_ms = self.pipeline.lock().config().block_time_ms;
        // Follow what derivation decides from L1: confirm our blocks as their batches land,
        // and replace them where L1 decided otherwise (an outage past the sequencing window).
        let cursor = self.pipeline.lock().cursor();
        if self.follow.followed_at != Some(cursor) {
            let (chain, pipeline, interop) = (self.chain.clone(), self.pipeline.clone(), self.interop.clone());
            let placeholder = Follow::placeholder(self.follow.l1_genesis);
            let follow = std::mem::replace(&mut self.follow, placeholder);
            let (f, result) =
                tokio::task::spawn_blocking(move || reconcile(&chain, &pipeline, &interop, follow)).await?;
            self.follow = f;
            match result {
                Ok(_) => self.follow.followed_at = Some(cursor),
                Err(e) => fatal_or_log(e, "following the derived chain failed")?,
            }
        }
        // After a restart the pipeline starts again from the rollup's L1 genesis: no block may
        // be built before it has read the head's own origin again (its epoch and forced queue).
        if let Some(epoch) = self.origin_unread() {
            let before = self.pipeline.lock().cursor();
            info!(target: "sequencer", l1 = before, origin = epoch, "reading L1 up to the head's origin before building");
            let stalled = match follow_l1(&self.l1, &self.pipeline, self.cfg.l1_confirmations, CATCH_UP_BLOCKS).await {
                Err(e) => {
                    fatal_or_log(e, "reading L1 failed")?;
                    true
                }
                Ok(reorged) => {
                    self.follow.rewind(&self.chain, reorged);
                    self.pipeline.lock().cursor() <= before
                }
            };
            if stalled {
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            return Ok(());
        }
        let now = now_ms();
        if now >= self.last_l1_poll + 500 {
            self.last_l1_poll = now;
            // A slow L1 must not stop L2 blocks: read what arrives in time, the rest next round.
            let read = follow_l1(&self.l1, &self.pipeline, self.cfg.l1_confirmations, 64);
            match tokio::time::timeout(Duration::from_millis(block_ms.max(500)), read).await {
                Ok(Err(e)) => fatal_or_log(e, "reading L1 failed")?,
                Err(_) => debug!(target: "sequencer", "L1 slow to answer; reading on next round"),
                Ok(Ok(reorged)) => self.follow.rewind(&self.chain, reorged),
            }
        }
        let due_ms = self.next_block_due_ms();
        let now = now_ms();
        if now < due_ms {
            tokio::time::sleep(Duration::from_millis((due_ms - now).min(block_ms))).await;
            return Ok(());
        }
        let chain = self.chain.clone();
        let Some(attrs) = self.next_attributes() else { return Ok(()) };
        match tokio::task::spawn_blocking(move || chain.build_block(attrs)).await? {
            Ok(b) => debug!(target: "sequencer", number = b.number(), txs = b.txs.len(), "sealed"),
            Err(e) => {
                fatal_or_log(e, "block building failed")?;
                tokio::time::sleep(Duration::from_millis(block_ms)).await;
            }
        }
        Ok(())
    }

    fn next_block_due_ms(&self) -> u64 {
        let p = self.pipeline.lock();
        let cfg = p.config();
        let n = self.chain.head().number() + 1;
        cfg.l2_genesis_time * 1000 + n * cfg.block_time_ms
    }

    /// The head's L1 origin, while the pipeline has not read it (yet).
    fn origin_unread(&self) -> Option<u64> {
        let head = self.chain.head();
        let p = self.pipeline.lock();
        let epoch = SafeHead::of_block(&head, p.config().l1_genesis.number).epoch.0;
        p.l1_block(epoch).is_none().then_some(epoch)
    }

    /// Builds the next block's attributes: keep the L1 origin or move to the next one once its
    /// time has come (it must, before the sequencing window runs out), the system deposit, the
    /// new origin's deposits, and the forced queue (all known items; a censoring sequencer only
    /// what is due). None while the pipeline has not read the head's origin: a block must
    /// never fall back to another origin than its parent's (derivation would skip its batch).
    pub fn next_attributes(&self) -> Option<BlockAttributes> {
        let head = self.chain.head();
        let p = self.pipeline.lock();
        let genesis = p.config().l1_genesis.number;
        let safe = SafeHead::of(head.number(), head.hash, &head.header.extra_data, genesis);
        // The rules are derivation's own (Pipeline::attributes_for), so sequencer and verifier
        // cannot drift; the sequencer adds its pool and its censorship.
        let policy = if self.cfg.censor.is_empty() { ForcedPolicy::AllKnown } else { ForcedPolicy::DueOnly };
        let block = p.attributes_for(&safe, policy)?;
        if p.cursor().saturating_sub(block.origin.number) > p.config().seq_window / 2 {
            warn!(target: "sequencer", origin = block.origin.number, l1 = p.cursor() - 1, "L2 time lags L1: origin falling behind");
        }
        let mut attrs = block.attributes(self.chain.rules());
        if attrs.transactions.len() < block.forced_count {
            warn!(target: "sequencer", "forced transactions that cannot be decoded are skipped");
        }
        attrs.from_pool = true;
        attrs.exclude_senders = self.cfg.censor.clone();
        if !self.interop.is_empty() {
            attrs.gate = Some(self.interop.gate(block.origin, block.timestamp));
        }
        Some(attrs)
    }
}

/// The sequencer as a service: each step is one round; only an error that must stop it (L1
/// reorged below the anchor, its store failing) comes out of a round.
impl Service for Sequencer {
    type Error = ServiceError;

    fn name(&self) -> &'static str {
        "sequencer"
    }

    async fn step(&mut self) -> Result<Progress, ServiceError> {
        self.round().await.map(|_| Progress::Busy)
    }
}

/// Where derivation stands on the sequencer's own chain.
struct Follow {
    /// The last of our blocks derivation confirmed from L1.
    safe: SafeHead,
    /// For each confirmed block, the last L1 block it depends on.
    sources: BTreeMap<L2BlockNumber, L1BlockNumber>,
    l1_genesis: u64,
    /// The pipeline's cursor when derivation was last followed: what it decides changes only
    /// with the L1 data it has read (or a reorg, which clears this).
    followed_at: Option<u64>,
}

impl Follow {
    /// Stands in while the real one is lent to a blocking task.
    fn placeholder(l1_genesis: u64) -> Self {
        Self {
            safe: SafeHead::of(0, B256::ZERO, &[], l1_genesis),
            sources: BTreeMap::new(),
            l1_genesis,
            followed_at: None,
        }
    }

    /// An L1 reorg from block `first_bad` on: the confirmations that depended on it are void.
    fn rewind(&mut self, chain: &Chain, reorged: Option<u64>) {
        let Some(first_bad) = reorged else { return };
        self.followed_at = None;
        let first_bad_l1 = L1BlockNumber(first_bad);
        let keep = self.sources.iter().filter(|(_, l1)| **l1 < first_bad_l1).map(|(n, _)| *n).max().unwrap_or_default();
        self.sources.retain(|n, _| *n <= keep);
        if let Some(b) = chain.block(BlockRef::Number(keep.0)) {
            self.safe = SafeHead::of_block(&b, self.l1_genesis);
        }
        let keep = keep.0;
        warn!(target: "sequencer", first_bad, keep, "L1 reorg: confirmations from there on are void");
        // Our newest blocks may stand on L1 origins the reorg replaced: their L1-info deposits
        // name blocks L1 no longer has, and no verifier would derive them. Build them again on
        // the new canonical origins, their transactions back in the pool.
        let mut top = chain.head();
        while top.number() > keep && SafeHead::of_block(&top, self.l1_genesis).epoch.0 >= first_bad {
            match chain.block(BlockRef::Number(top.number() - 1)) {
                Some(b) => top = b,
                None => break,
            }
        }
        if top.number() < chain.head().number() {
            match chain.unwind_to(top.number()) {
                Ok(removed) => {
                    warn!(target: "sequencer", from = top.number() + 1, blocks = removed.len(), "L1 reorg replaced their origins: building them again");
                    back_to_pool(chain, &removed);
                }
                Err(e) => error!(target: "sequencer", error = %e, "unwinding blocks on replaced L1 origins failed"),
            }
        }
    }
}

/// The transactions of unwound blocks go back to the pool (deposits come again from L1).
fn back_to_pool(chain: &Chain, removed: &[Arc<SealedBlock>]) {
    for b in removed {
        for t in b.txs.iter().filter(|t| !t.envelope.is_deposit()) {
            if let aqueduct_chain::TxBody::Ethereum(env) = &t.envelope {
                let _ = chain.submit(env.clone(), t.sender);
            }
        }
    }
}

/// Whether `ours` is the block derivation made as `d`: same timestamp, origin (its hash too, in
/// the L1-info deposit: an L1 reorg may replace the block at that number), deposits, forced
/// range and batch transactions.
fn same_block(ours: &SealedBlock, d: &DerivedBlock, l1_genesis: u64) -> bool {
    let meta = SafeHead::of_block(ours, l1_genesis);
    if meta.epoch.0 != d.origin.number || meta.forced_index != d.forced_index || ours.header.timestamp != d.timestamp {
        return false;
    }
    let deposits = ours.txs.iter().filter(|t| t.envelope.is_deposit()).map(|t| t.hash);
    if !deposits.eq(d.deposits.iter().map(|x| x.hash())) {
        return false;
    }
    let (forced, batch) = d.transactions.split_at(d.forced_count.min(d.transactions.len()));
    let forced: HashSet<B256> = forced.iter().map(keccak256).collect();
    let ours = ours.txs.iter().filter(|t| !t.envelope.is_deposit() && !forced.contains(&t.hash)).map(|t| t.hash);
    ours.eq(batch.iter().map(keccak256))
}

/// Every block L1 now decides after `f.safe`: our own block where it is the same, otherwise ours
/// is replaced (unwound, with its transactions back in the pool) by the derived one.
fn reconcile(
    chain: &Chain,
    pipeline: &Mutex<Pipeline>,
    interop: &Interop,
    mut f: Follow,
) -> (Follow, Result<usize, ChainError>) {
    let l1_genesis = pipeline.lock().config().l1_genesis.number;
    let mut replaced = 0;
    loop {
        let next = pipeline.lock().next(&f.safe);
        let Some(mut d) = next else { return (f, Ok(replaced)) };
        // Messages of other rollups are checked as derivation checks them; until a source is
        // derived that far, the rest waits for the next L1 block.
        if let Err(e) = interop.filter(&mut d) {
            debug!(target: "sequencer", error = %e, "following derivation waits for a source rollup");
            return (f, Ok(replaced));
        }
        let ours = chain.block(BlockRef::Number(d.number.0));
        if !ours.as_ref().is_some_and(|b| same_block(b, &d, l1_genesis)) {
            if ours.is_some() {
                let removed = match chain.unwind_to(d.number.0 - 1) {
                    Ok(r) => r,
                    Err(e) => return (f, Err(e)),
                };
                warn!(
                    target: "sequencer",
                    from = d.number.0,
                    blocks = removed.len(),
                    default = d.default,
                    "L1 decided other blocks than ours: rebuilding from the derived chain"
                );
                back_to_pool(chain, &removed);
                replaced += removed.len();
            }
            let attrs = d.attributes(chain.rules());
            if let Err(e) = chain.build_block(attrs) {
                return (f, Err(e));
            }
        }
        let Some(b) = chain.block(BlockRef::Number(d.number.0)) else {
            return (f, Err(ChainError::Internal(format!("derived block {} is missing", d.number))));
        };
        f.safe = SafeHead::of(b.number(), b.hash, &b.header.extra_data, l1_genesis);
        f.sources.insert(d.number, d.l1_source);
    }
}
