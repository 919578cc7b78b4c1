//! The verifier: derives the L2 chain from L1 alone (deposits, batches, forced transactions) and
//! keeps it in step with L1 reorgs. The proposer and the bridge read from it.

use std::{collections::BTreeMap, sync::Arc, time::Duration};

use aqueduct_chain::{Chain, ChainError};
use aqueduct_rollup_protocol::{Pipeline, SafeHead};
use parking_lot::Mutex;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::{follower::follow_l1, l1::L1Client};

pub struct Verifier {
    chain: Arc<Chain>,
    l1: L1Client,
    pipeline: Arc<Mutex<Pipeline>>,
    /// For each derived L2 block, the last L1 block it depends on.
    sources: BTreeMap<u64, u64>,
    poll: Duration,
}

impl Verifier {
    /// Starts from the chain's genesis (what was derived before is derived again: a verifier
    /// trusts nothing it did not read from L1 in this run).
    pub fn new(chain: Arc<Chain>, l1: L1Client, pipeline: Pipeline, poll: Duration) -> Result<Self, ChainError> {
        if chain.head().number() > 0 {
            chain.unwind_to(0)?;
        }
        Ok(Self { chain, l1, pipeline: Arc::new(Mutex::new(pipeline)), sources: BTreeMap::new(), poll })
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
    pub async fn step(&mut self) -> Result<usize, String> {
        if let Some(first_bad) = follow_l1(&self.l1, &self.pipeline, 0, 256).await.map_err(|e| e.to_string())? {
            let keep = self.sources.iter().filter(|(_, l1)| **l1 < first_bad).map(|(n, _)| *n).max().unwrap_or(0);
            let keep = keep.min(self.chain.head().number());
            warn!(target: "verifier", first_bad, keep, "L1 reorg: unwinding derived L2 blocks");
            self.chain.unwind_to(keep).map_err(|e| e.to_string())?;
            self.sources.retain(|n, _| *n <= keep);
        }
        let mut derived = 0;
        loop {
            let safe = self.safe_head();
            let next = self.pipeline.lock().next(&safe);
            let Some(d) = next else { break };
            let n = d.number;
            let source = d.l1_source;
            let chain = self.chain.clone();
            let attrs = d.attributes(chain.rules());
            tokio::task::spawn_blocking(move || chain.build_block(attrs))
                .await
                .map_err(|e| e.to_string())?
                .map_err(|e| e.to_string())?;
            self.sources.insert(n, source);
            derived += 1;
        }
        if derived > 0 {
            let head = self.chain.head();
            debug!(target: "verifier", head = head.number(), derived, "derived");
        }
        Ok(derived)
    }

    pub async fn run(mut self, cancel: CancellationToken) {
        info!(target: "verifier", "deriving from L1");
        loop {
            if let Err(e) = self.step().await {
                warn!(target: "verifier", error = %e, "derivation step failed; retrying");
            }
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = tokio::time::sleep(self.poll) => {}
            }
        }
    }
}
