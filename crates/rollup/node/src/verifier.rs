//! The verifier: derives the L2 chain from L1 alone (deposits, batches, forced transactions) and
//! keeps it in step with L1 reorgs. The proposer and the bridge read from it.

use std::{sync::Arc, time::Duration};

use aqueduct_chain::{Chain, ChainError};
use aqueduct_rollup_protocol::{Pipeline, SafeHead};
use aqueduct_service::{Progress, Service};
use parking_lot::Mutex;
use tracing::{debug, warn};

use crate::{
    error::ServiceError,
    follower::follow_l1,
    interop::{DerivedState, Interop},
    l1::L1Client,
};

pub struct Verifier {
    chain: Arc<Chain>,
    l1: L1Client,
    pipeline: Arc<Mutex<Pipeline>>,
    /// For each derived L2 block, the last L1 block it depends on; how far L1 is derived.
    derived: Arc<Mutex<DerivedState>>,
    /// The rollups whose messages this one accepts.
    interop: Interop,
    poll: Duration,
}

impl Verifier {
    /// Starts from the chain's genesis (what was derived before is derived again: a verifier
    /// trusts nothing it did not read from L1 in this run).
    pub fn new(chain: Arc<Chain>, l1: L1Client, pipeline: Pipeline, poll: Duration) -> Result<Self, ChainError> {
        if chain.head().number() > 0 {
            chain.unwind_to(0)?;
        }
        Ok(Self {
            chain,
            l1,
            pipeline: Arc::new(Mutex::new(pipeline)),
            derived: Arc::default(),
            interop: Interop::default(),
            poll,
        })
    }

    /// Checks the messages of other rollups that transactions declare against these rollups.
    pub fn with_interop(mut self, interop: Interop) -> Self {
        self.interop = interop;
        self
    }

    /// How far derivation has come (what a rollup consuming this one's messages checks them by).
    pub fn derived(&self) -> Arc<Mutex<DerivedState>> {
        self.derived.clone()
    }

    pub fn chain(&self) -> &Arc<Chain> {
        &self.chain
    }

    fn safe_head(&self) -> SafeHead {
        let head = self.chain.head();
        let genesis = self.pipeline.lock().config().l1_genesis.number;
        SafeHead::of(head.number(), head.hash, &head.header.extra_data, genesis)
    }

    /// One round: read new L1 blocks, rewind on a reorg, derive every block L1 now decides.
    /// Returns how many L2 blocks were derived.
    pub async fn step(&mut self) -> Result<usize, ServiceError> {
        if let Some(first_bad) = follow_l1(&self.l1, &self.pipeline, 0, 256).await? {
            let mut derived = self.derived.lock();
            let keep = derived.sources.iter().filter(|(_, l1)| **l1 < first_bad).map(|(n, _)| *n).max().unwrap_or(0);
            let keep = keep.min(self.chain.head().number());
            warn!(target: "verifier", first_bad, keep, "L1 reorg: unwinding derived L2 blocks");
            self.chain.unwind_to(keep)?;
            derived.rewind(first_bad, keep);
        }
        let mut derived = 0;
        let mut complete = true;
        loop {
            let safe = self.safe_head();
            let next = self.pipeline.lock().next(&safe);
            let Some(mut d) = next else { break };
            if let Err(e) = self.interop.filter(&mut d) {
                debug!(target: "verifier", error = %e, "waiting for a source rollup");
                complete = false;
                break;
            }
            let n = d.number.0;
            let source = d.l1_source.0;
            let chain = self.chain.clone();
            let attrs = d.attributes(chain.rules());
            tokio::task::spawn_blocking(move || chain.build_block(attrs)).await??;
            self.derived.lock().sources.insert(n, source);
            derived += 1;
        }
        if complete {
            let p = self.pipeline.lock();
            let through = p.cursor().saturating_sub(1);
            // `through` moves only here (back on a reorg above, on below): the blocks after it
            // are the ones read this step.
            let from = self.derived.lock().through.map_or(0, |t| t + 1).max(p.config().l1_genesis.number);
            let hashes: Vec<_> = (from..=through).filter_map(|n| p.l1_hash(n).map(|h| (n, h))).collect();
            drop(p);
            self.derived.lock().advance(through, hashes);
        }
        if derived > 0 {
            let head = self.chain.head();
            debug!(target: "verifier", head = head.number(), derived, "derived");
        }
        Ok(derived)
    }

    /// How often it looks at L1 when nothing is new.
    pub fn poll(&self) -> Duration {
        self.poll
    }
}

/// The verifier as a service: an L1 reorg below the rollup's anchor, or a store that stopped,
/// stops it (and the devnet with it) instead of retrying forever; an unreachable L1 is retried.
impl Service for Verifier {
    type Error = ServiceError;

    fn name(&self) -> &'static str {
        "verifier"
    }

    async fn step(&mut self) -> Result<Progress, ServiceError> {
        Ok(if Verifier::step(self).await? > 0 { Progress::Busy } else { Progress::Idle })
    }
}
