//! The operator's settlement loop, pipelined: blocks are applied ahead of L1 (up to `depth`),
//! proven one after another on a blocking thread while earlier blocks land, and landed several
//! at a time: committed together (`ZkRollup.commitBlocks`, a rollup's; a validium's one by one)
//! and verified with one batched pairing check (`ZkRollup.proveBlocks`), up to `aggregate` a
//! batch. Committing as late as that costs no safety: exodus drops blocks committed and not
//! verified, so only verification moves a user's funds or L1's queue.
//!
//! A block is closed when it is full, or when what waits has waited `block_time` and the prover
//! has nothing else to do: under load blocks fill, and a quiet operator still closes small ones.
//! A rollup's pubdata goes in calldata or, a group of blocks at a time, in one blob
//! ([`ZkDataMode`]): a group is closed (and, in a blob, its points fixed) before its blocks are
//! proven, when it has `aggregate` blocks or the prover would otherwise idle, and it lands whole.
//!
//! Everything this loop holds in memory (proofs made, the proof being made) can be lost: the
//! blocks in flight are on disk and L1 says what it already has, so a restart proves again what
//! was not yet verified.

use std::{
    collections::{BTreeMap, BTreeSet},
    sync::Arc,
    time::Duration,
};

use alloy::primitives::{B256, U256};
use aqueduct_service::{Classify, NextAction, Progress, Service};
use aqueduct_zk_circuit::{Bn254, Proof, ProverError, evm};
use tokio::{
    sync::{Mutex, mpsc},
    task::JoinHandle,
    time::Instant,
};
use tracing::{info, warn};

use crate::{
    BlockReport, Operator, OperatorError, Prepared, Settled, Settler, ZkDataMode, blob::blob_cheaper,
    process_cpu_seconds,
};

/// How the pipeline runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PipelineConfig {
    /// Most blocks applied and not yet verified on L1 (1: one block at a time, as an operator
    /// without a pipeline). More than `aggregate` keeps the prover busy while a batch lands.
    pub depth: usize,
    /// Most proofs one L1 transaction verifies.
    pub aggregate: usize,
    /// How long transactions wait for more to fill their block while the prover is idle.
    pub block_time: Duration,
    /// How long a proven block waits for further proofs to share its L1 verification while the
    /// prover is idle (a proof being made is always waited for, up to `aggregate`). Zero lands
    /// at once: the lowest latency; longer, fewer and larger batches: less L1 gas a transfer.
    pub max_wait: Duration,
    /// Where a rollup's pubdata goes (a validium's goes to its committee).
    pub data: ZkDataMode,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        Self {
            depth: 5,
            aggregate: 4,
            block_time: Duration::ZERO,
            max_wait: Duration::ZERO,
            data: ZkDataMode::default(),
        }
    }
}

impl PipelineConfig {
    /// Most blocks in flight: with groups fixed before proving, room for one group to fill while
    /// the one before it is proven and lands.
    fn most_inflight(&self) -> usize {
        if self.data == ZkDataMode::Calldata { self.depth } else { self.depth.max(2 * self.aggregate) }
    }
}

/// What a finished proof task left.
struct Proven {
    proof: Proof<Bn254>,
    at: Instant,
    seconds: f64,
    cpu_seconds: f64,
}

struct Proving {
    number: u64,
    started: Instant,
    cpu: f64,
    handle: JoinHandle<Result<Proof<Bn254>, ProverError>>,
}

/// The settlement loop as a [`Service`].
pub struct Pipeline {
    operator: Arc<Mutex<Operator>>,
    settler: Settler,
    config: PipelineConfig,
    /// When the oldest transaction still waiting for a block was first seen.
    waiting_since: Option<Instant>,
    proving: Option<Proving>,
    proven: BTreeMap<u64, Proven>,
    /// Blocks whose pubdata goes in calldata (a block in a blob says so itself): only blocks
    /// placed one way or the other are proven.
    calldata: BTreeSet<u64>,
    /// Since when the oldest block not yet placed has waited.
    open_since: Option<Instant>,
    /// Commit transactions sent for blocks in flight, and each block's share of their gas.
    commits: BTreeMap<u64, (B256, u64)>,
    reports: Option<mpsc::UnboundedSender<BlockReport>>,
}

impl Pipeline {
    pub async fn new(operator: Arc<Mutex<Operator>>, config: PipelineConfig) -> Self {
        let settler = operator.lock().await.settler();
        let config = PipelineConfig { depth: config.depth.max(1), aggregate: config.aggregate.max(1), ..config };
        Self {
            operator,
            settler,
            config,
            waiting_since: None,
            proving: None,
            proven: BTreeMap::new(),
            calldata: BTreeSet::new(),
            open_since: None,
            commits: BTreeMap::new(),
            reports: None,
        }
    }

    /// Sends a report of every block once L1 has verified it and it is stored.
    pub fn with_reports(mut self, tx: mpsc::UnboundedSender<BlockReport>) -> Self {
        self.reports = Some(tx);
        self
    }

    /// Applies new blocks while fewer than `depth` are in flight and one should close; returns
    /// what is in flight and whether a block was made.
    async fn prepare(&mut self) -> Result<(Vec<Prepared>, bool), OperatorError> {
        let mut op = self.operator.lock().await;
        if let Err(e) = op.sync().await {
            if e.next_action() == NextAction::Stop {
                return Err(e);
            }
            warn!(target: "zk::operator", error = %e, "reading L1's priority queue");
        }
        let slots = self.settler.prover().params.slots;
        let proving = self.proving.as_ref().map(|p| p.number);
        let mut unproven =
            op.inflight().iter().filter(|p| Some(p.number) != proving && !self.proven.contains_key(&p.number)).count();
        let mut made = false;
        while op.inflight().len() < self.config.most_inflight() {
            let waiting = op.waiting();
            if waiting == 0 {
                self.waiting_since = None;
                break;
            }
            let since = *self.waiting_since.get_or_insert_with(Instant::now);
            let idle = unproven == 0 && proving.is_none();
            if waiting < slots && !(idle && since.elapsed() >= self.config.block_time) {
                break;
            }
            match op.prepare_next()? {
                Some(_) => {
                    made = true;
                    unproven += 1;
                    self.waiting_since = None;
                }
                None => break,
            }
        }
        drop(op);
        self.place().await?;
        let op = self.operator.lock().await;
        Ok((op.inflight().iter().cloned().collect(), made))
    }

    fn placed(&self, p: &Prepared) -> bool {
        p.blob.is_some() || self.calldata.contains(&p.number)
    }

    /// Closes the next group of blocks not yet placed — when it has `aggregate` blocks, or when
    /// the prover has nothing placed to work on — and places it in calldata or in one blob.
    async fn place(&mut self) -> Result<(), OperatorError> {
        let validium = self.settler.validium();
        let (open, unproven) = {
            let op = self.operator.lock().await;
            let open: Vec<Prepared> = op.inflight().iter().filter(|p| !self.placed(p)).cloned().collect();
            let unproven = op.inflight().iter().any(|p| self.placed(p) && !self.proven.contains_key(&p.number));
            (open, unproven)
        };
        if open.is_empty() {
            self.open_since = None;
            return Ok(());
        }
        let since = *self.open_since.get_or_insert_with(Instant::now);
        if validium || self.config.data == ZkDataMode::Calldata {
            self.calldata.extend(open.iter().map(|p| p.number));
            return Ok(());
        }
        let data_len = aqueduct_zk_protocol::pubdata(&open[0].witness.chunks()).len();
        let size = self.config.aggregate.min(aqueduct_zk_protocol::blob::max_lanes(data_len));
        let idle = self.proving.is_none() && !unproven;
        if open.len() < size && !(idle && since.elapsed() >= self.config.max_wait) {
            return Ok(());
        }
        self.open_since = None;
        // L1 is read without holding the operator (submissions go on); only this loop changes
        // the blocks in flight. A block L1 already committed (before a restart) stays as it
        // was committed.
        let committed = self.settler.total_committed().await?;
        let group: Vec<&Prepared> = open.iter().take(size).collect();
        if group.iter().any(|p| p.number <= committed) {
            self.calldata.extend(group.iter().filter(|p| p.number <= committed).map(|p| p.number));
            return Ok(());
        }
        let data: Vec<u8> = group.iter().flat_map(|p| aqueduct_zk_protocol::pubdata(&p.witness.chunks())).collect();
        let use_blob = match self.config.data {
            ZkDataMode::Blob => true,
            _ => blob_cheaper(&data, self.settler.l1().fees().await?),
        };
        if use_blob {
            self.operator.lock().await.place_in_blob(group[0].number, group.len() as u16)?;
        } else {
            self.calldata.extend(group.iter().map(|p| p.number));
        }
        info!(target: "zk::operator", first = group[0].number, blocks = group.len(), blob = use_blob, "blocks placed");
        Ok(())
    }

    fn start_proving(&mut self, p: &Prepared) {
        let (cpu, handle) = (process_cpu_seconds(), self.settler.spawn_prove(p));
        self.proving = Some(Proving { number: p.number, started: Instant::now(), cpu, handle });
    }

    /// Stores a block L1 has verified (with its commit, when this loop sent it) and reports it.
    fn store(&mut self, op: &mut Operator, p: Prepared, settled: Settled) -> Result<(), OperatorError> {
        let (commit_tx, commit_gas) = self.commits.remove(&p.number).unwrap_or_default();
        let report = op.finish(p, &Settled { commit_tx, commit_gas, ..settled })?;
        if let Some(r) = &self.reports {
            let _ = r.send(report);
        }
        Ok(())
    }

    /// Takes the running proof's result when it is done (waiting up to `wait` for it).
    async fn collect(&mut self, wait: Duration) -> Result<bool, OperatorError> {
        let Some(task) = self.proving.as_mut() else { return Ok(false) };
        if !task.handle.is_finished() && wait.is_zero() {
            return Ok(false);
        }
        let Ok(joined) = tokio::time::timeout(wait, &mut task.handle).await else { return Ok(false) };
        let task = self.proving.take().expect("a task is running");
        let proof = joined.map_err(|e| ProverError::Task(Box::new(e)))??;
        let seconds = task.started.elapsed().as_secs_f64();
        let cpu_seconds = process_cpu_seconds() - task.cpu;
        info!(target: "zk::operator", block = task.number, seconds = format!("{seconds:.1}"), "block proven");
        self.proven.insert(task.number, Proven { proof, at: Instant::now(), seconds, cpu_seconds });
        Ok(true)
    }

    /// Verifies the proven blocks that come next on L1 when there are `aggregate` of them, or
    /// when no proof is being made and the oldest has waited `max_wait`; stores and reports
    /// them.
    async fn land(&mut self, inflight: &[Prepared], verified: u64) -> Result<bool, OperatorError> {
        let next: Vec<&Prepared> = inflight.iter().filter(|p| p.number > verified).collect();
        let Some(first) = next.first() else { return Ok(false) };
        let ready: Vec<&Prepared> = match first.blob {
            // A blob group lands whole, once all of it is proven.
            Some(g) => {
                let group: Vec<&Prepared> = next.iter().copied().take_while(|p| p.blob == Some(g)).collect();
                if group.len() != g.lanes as usize || !group.iter().all(|p| self.proven.contains_key(&p.number)) {
                    return Ok(false);
                }
                group
            }
            None => {
                let ready: Vec<&Prepared> = next
                    .iter()
                    .copied()
                    .take(self.config.aggregate)
                    .take_while(|p| p.blob.is_none() && self.proven.contains_key(&p.number))
                    .collect();
                let Some(first) = ready.first() else { return Ok(false) };
                let more_coming = self.proving.is_some()
                    || next.get(ready.len()).is_some_and(|p| p.blob.is_none() && !self.placed(p));
                if ready.len() < self.config.aggregate
                    && (more_coming || self.proven[&first.number].at.elapsed() < self.config.max_wait)
                {
                    return Ok(false);
                }
                ready
            }
        };
        let blocks: Vec<Prepared> = ready.into_iter().cloned().collect();
        let blob_gas = blocks[0].blob.map_or(0, |g| 131_072 / g.lanes as u64);
        // Commit those L1 lacks (after a restart some may be committed already; a blob group is
        // committed all at once).
        let committed = self.settler.total_committed().await?;
        let uncommitted: Vec<Prepared> = blocks.iter().filter(|p| p.number > committed).cloned().collect();
        if !uncommitted.is_empty() {
            let sent = if blocks[0].blob.is_some() {
                self.settler.commit_blob(&uncommitted).await?
            } else {
                self.settler.commit_batch(&uncommitted).await?
            };
            for (p, c) in uncommitted.iter().zip(sent) {
                self.commits.insert(p.number, c);
            }
        }
        let proofs = blocks.iter().map(|p| evm::proof_words(&self.proven[&p.number].proof).map(U256::from_be_bytes));
        let (tx, gas, l1_block) = self.settler.verify_batch(&blocks, proofs.collect()).await?;
        let k = blocks.len() as u64;
        info!(target: "zk::operator", first = blocks[0].number, blocks = k, gas, "blocks verified on L1");
        let operator = self.operator.clone();
        let mut op = operator.lock().await;
        for p in blocks {
            let proven = self.proven.remove(&p.number).expect("proven above");
            let settled = Settled {
                verify_tx: tx,
                // Each block's share of the batch's verification.
                verify_gas: gas / k,
                blob_gas,
                l1_block,
                prove_seconds: proven.seconds,
                prove_cpu_seconds: proven.cpu_seconds,
                ..Default::default()
            };
            self.store(&mut op, p, settled)?;
        }
        Ok(true)
    }
}

impl Service for Pipeline {
    type Error = OperatorError;

    fn name(&self) -> &'static str {
        "zk operator"
    }

    async fn step(&mut self) -> Result<Progress, OperatorError> {
        // A finished proof first: a prover left idle lets a partly filled block close now.
        let mut busy = self.collect(Duration::ZERO).await?;
        let (inflight, made) = self.prepare().await?;
        busy |= made;
        if inflight.is_empty() {
            return Ok(if busy { Progress::Busy } else { Progress::Idle });
        }
        let verified = self.settler.total_verified().await?;
        self.proven.retain(|n, _| *n > verified);
        self.calldata.retain(|n| *n > verified);
        // Blocks L1 verified before they were stored (a crash, a failed write): store them now.
        let done: Vec<&Prepared> = inflight.iter().filter(|p| p.number <= verified).collect();
        if !done.is_empty() {
            let operator = self.operator.clone();
            let mut op = operator.lock().await;
            for p in done {
                info!(target: "zk::operator", block = p.number, "block verified on L1 before it was stored; storing");
                self.store(&mut op, p.clone(), Settled::default())?;
            }
            return Ok(Progress::Busy);
        }
        if self.proving.is_none()
            && let Some(p) =
                inflight.iter().find(|p| p.number > verified && self.placed(p) && !self.proven.contains_key(&p.number))
        {
            self.start_proving(p);
            busy = true;
        }
        busy |= self.land(&inflight, verified).await?;
        if !busy {
            // Nothing to do but wait for the prover (or for work): wait for it here, briefly, so
            // its proof lands without a poll interval's delay.
            busy = self.collect(Duration::from_millis(250)).await?;
        }
        Ok(if busy { Progress::Busy } else { Progress::Idle })
    }
}
