//! The operator: follows L1's priority queue, takes signed L2 transactions, and turns them into
//! proven blocks on L1 (commit with pubdata or committee signatures, then verify, which pays
//! withdrawals at once).
//!
//! A block goes through three steps: [`Operator::prepare`] applies it to the state and records it
//! as in flight (on disk when the operator has a store); [`Settler::settle`] proves it and lands
//! it on L1, skipping what L1 already has, so it can be retried after any failure or crash;
//! [`Operator::finish`] writes its effects once L1 has verified it. Only the first and last need
//! the operator; proving and L1 round trips run beside new submissions. Several blocks may be in
//! flight at once ([`Operator::prepare_next`]): the [`crate::Pipeline`] proves one while earlier
//! ones land, and verifies several with one batched pairing check.

use std::{collections::VecDeque, path::Path, sync::Arc, time::Instant};

use alloy::{
    network::TransactionBuilder,
    primitives::{Address, B256, Bytes, U256},
    providers::Provider,
    rpc::types::{Filter, TransactionRequest},
    signers::local::PrivateKeySigner,
    sol_types::{SolCall, SolEvent},
};
use aqueduct_contracts::zk::ZkRollup;
use aqueduct_eth::{L1Client, L1Error};
use aqueduct_zk_circuit::{Bn254, Proof, Prover, ProverError, evm};
use aqueduct_zk_protocol::{
    Account, Amount32, BlockWitness, F, OnchainOp, Op, OpError, OpKind, PriorityOp, SignedTx, ZkState, pubdata,
};
use ark_ff::PrimeField;
use tracing::{info, warn};

use crate::{
    blob::BlobGroup,
    dac::{DacClient, DacError, sort_signatures},
    deploy::field_to_u256,
    store::{BlockRecord, BlockWrite, Inflight, StoreError, ZkStore},
};

#[derive(Debug, thiserror::Error)]
pub enum OperatorError {
    #[error(transparent)]
    L1(#[from] L1Error),
    #[error(transparent)]
    Prover(#[from] ProverError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Committee(#[from] DacError),
    #[error("L1 sent a malformed priority request {id}: {reason}")]
    BadRequest { id: u64, reason: String },
    #[error("{what} reverted on L1 (tx {tx})")]
    Reverted { what: &'static str, tx: B256 },
    /// A priority request's log does not decode as the rollup's event (another contract).
    #[error("L1 sent an undecodable priority request after {after}: {source}")]
    UndecodableRequest { after: u64, source: alloy::sol_types::Error },
    #[error("the stored state does not match L1: {0}")]
    Diverged(String),
    /// c-kzg refused a blob (a bug: blobs are built canonical).
    #[error("KZG: {0}")]
    Kzg(alloy::eips::eip4844::c_kzg::Error),
}

impl aqueduct_service::Classify for OperatorError {
    /// L1, its gas market and committee members may come back; a failed write, a state that
    /// disagrees with L1, a priority request it cannot read or a proof it cannot make do not.
    fn next_action(&self) -> aqueduct_service::NextAction {
        use aqueduct_service::NextAction;
        match self {
            Self::L1(e) => aqueduct_service::Classify::next_action(e),
            Self::Committee(_) | Self::Reverted { .. } => NextAction::Retry,
            Self::Store(_)
            | Self::Diverged(_)
            | Self::BadRequest { .. }
            | Self::UndecodableRequest { .. }
            | Self::Prover(_)
            | Self::Kzg(_) => NextAction::Stop,
        }
    }
}

/// Where a block's data goes.
#[derive(Clone, Default)]
pub enum DataAvailability {
    /// Pubdata in L1 calldata.
    #[default]
    Rollup,
    /// Pubdata with a committee; L1 gets its hash and `threshold` member signatures.
    Validium { committee: Vec<DacClient>, threshold: usize },
}

/// What one block cost.
#[derive(Debug, Clone)]
pub struct BlockReport {
    pub number: u64,
    pub ops: usize,
    pub transfers: usize,
    pub skipped: Vec<(usize, OpError)>,
    pub prove_seconds: f64,
    /// CPU time of the whole process while proving (all cores).
    pub prove_cpu_seconds: f64,
    pub commit_gas: u64,
    /// The block's share of its blob's blob gas (zero for calldata).
    pub blob_gas: u64,
    pub verify_gas: u64,
    pub pubdata_bytes: usize,
    pub l1_block: u64,
    /// The mempool entries (submission numbers) it carried.
    pub seqs: Vec<u64>,
}

/// A block applied to the state and not yet verified on L1.
#[derive(Clone)]
pub struct Prepared {
    pub number: u64,
    pub ops: Vec<Op>,
    /// Shared: the pipeline hands blocks in flight around every step, and the prover a copy.
    pub witness: Arc<BlockWitness>,
    pub skipped: Vec<(usize, OpError)>,
    /// The blob it shares with its neighbours, once placed in one (its witness then carries its
    /// lane's point).
    pub blob: Option<BlobGroup>,
    seqs: Vec<u64>,
    priority: u64,
    /// What the store gets once L1 verifies it: the tree nodes and accounts as this block left
    /// them (taken when it was applied, since later blocks may be applied before it lands).
    effects: Arc<Effects>,
}

impl Prepared {
    /// What the store keeps of it while it is in flight.
    pub(crate) fn inflight_record(&self) -> Inflight {
        Inflight {
            number: self.number,
            ops: self.ops.clone(),
            seqs: self.seqs.clone(),
            priority: self.priority,
            blob: self.blob,
        }
    }
}

#[derive(Default)]
struct Effects {
    nodes: Vec<((u8, u64), Option<F>)>,
    accounts: Vec<(u32, Option<Account>)>,
}

/// What landing a block on L1 gave.
#[derive(Debug, Clone, Default)]
pub struct Settled {
    pub commit_tx: B256,
    pub verify_tx: B256,
    pub commit_gas: u64,
    /// The block's share of its blob's blob gas (zero for calldata).
    pub blob_gas: u64,
    pub verify_gas: u64,
    pub l1_block: u64,
    pub prove_seconds: f64,
    pub prove_cpu_seconds: f64,
}

pub struct Operator {
    settler: Settler,
    state: ZkState,
    store: Option<ZkStore>,
    queue: VecDeque<PriorityOp>,
    /// The id of the next priority request to queue.
    next_request: u64,
    scanned_to: u64,
    mempool: VecDeque<(u64, SignedTx)>,
    next_seq: u64,
    /// Blocks verified on L1.
    blocks: u64,
    served: u64,
    /// Blocks applied to the state and not yet verified on L1, oldest first.
    inflight: VecDeque<Prepared>,
}

impl Operator {
    /// An operator without a store (everything in memory).
    pub fn new(l1: L1Client, signer: PrivateKeySigner, rollup: Address, prover: Arc<Prover>) -> Self {
        let p = prover.params;
        let settler = Settler { l1, signer, rollup, prover, da: DataAvailability::Rollup };
        Self {
            settler,
            state: ZkState::new(p.shape, p.domain),
            store: None,
            queue: VecDeque::new(),
            next_request: 0,
            scanned_to: 0,
            mempool: VecDeque::new(),
            next_seq: 0,
            blocks: 0,
            served: 0,
            inflight: VecDeque::new(),
        }
    }

    /// An operator kept in `path` (created when missing), resuming where it stopped: the state of
    /// the last verified block, acknowledged transactions, and a block in flight redone exactly.
    pub async fn open(
        l1: L1Client,
        signer: PrivateKeySigner,
        rollup: Address,
        prover: Arc<Prover>,
        da: DataAvailability,
        path: &Path,
    ) -> Result<Self, OperatorError> {
        let mut op = Self::new(l1, signer, rollup, prover);
        op.settler.da = da;
        let store = ZkStore::open(path)?;
        let loaded = store.load(op.state.clone())?;
        op.state = loaded.state;
        op.blocks = loaded.blocks;
        op.served = loaded.served;
        op.next_request = loaded.served;
        op.next_seq = loaded.next_seq;
        op.mempool = loaded.mempool.into_iter().collect();
        let mut groups = Vec::new();
        for inf in loaded.inflight {
            // Redo the blocks exactly: the same operations against the same state, in order.
            let params = op.settler.prover.params;
            let (witness, skipped) = op.state.apply_block(&inf.ops, params.slots, params.onchain_slots);
            if !skipped.is_empty() {
                return Err(OperatorError::Diverged(format!("block {} in flight no longer applies", inf.number)));
            }
            op.mempool.retain(|(s, _)| !inf.seqs.contains(s));
            op.next_request += inf.priority;
            let effects = op.take_effects(&witness);
            op.inflight.push_back(Prepared {
                number: inf.number,
                ops: inf.ops,
                witness: Arc::new(witness),
                skipped,
                blob: None,
                seqs: inf.seqs,
                priority: inf.priority,
                effects,
            });
            groups.extend(inf.blob);
        }
        groups.dedup();
        for g in groups {
            op.apply_group(g)?;
        }
        if op.inflight.is_empty() {
            // Without a block in flight, the store is L1's last verified state.
            let verified = op.settler.read(ZkRollup::totalVerifiedCall {}).await?;
            let l1_root = op.settler.read(ZkRollup::stateRootCall {}).await?;
            let root = field_to_u256(&op.state.root());
            if verified != U256::from(op.blocks) || root != l1_root {
                return Err(OperatorError::Diverged(format!(
                    "L1 has verified {verified} blocks with root {l1_root}, the store {} blocks with root {root}",
                    op.blocks
                )));
            }
        }
        op.store = Some(store);
        info!(target: "zk::operator", blocks = op.blocks, mempool = op.mempool.len(), inflight = op.inflight.len(), "operator reopened");
        Ok(op)
    }

    pub fn state(&self) -> &ZkState {
        &self.state
    }

    pub fn blocks(&self) -> u64 {
        self.blocks
    }

    pub fn rollup(&self) -> Address {
        self.settler.rollup
    }

    /// The operator's store (None: everything in memory).
    pub fn store(&self) -> Option<&ZkStore> {
        self.store.as_ref()
    }

    pub fn settler(&self) -> Settler {
        self.settler.clone()
    }

    pub fn block(&self, n: u64) -> Result<Option<BlockRecord>, OperatorError> {
        Ok(match &self.store {
            Some(s) => s.block(n)?,
            None => None,
        })
    }

    /// Requests and transactions waiting, and blocks in flight.
    pub fn pending(&self) -> usize {
        self.queue.len() + self.mempool.len() + self.inflight.len()
    }

    /// Requests and transactions waiting for a block (not counting blocks in flight).
    pub fn waiting(&self) -> usize {
        self.queue.len() + self.mempool.len()
    }

    /// Blocks applied and not yet verified on L1, oldest first.
    pub(crate) fn inflight_mut(&mut self) -> &mut VecDeque<Prepared> {
        &mut self.inflight
    }

    pub fn inflight(&self) -> &VecDeque<Prepared> {
        &self.inflight
    }

    /// The nonce the next transaction of `account` must carry (counting those waiting).
    pub fn next_nonce(&self, account: u32) -> u32 {
        let waiting = self.mempool.iter().filter(|(_, t)| t.from == account).count() as u32;
        self.state.account(account).map_or(0, |a| a.nonce) + waiting
    }

    /// Reads new priority requests from L1's queue. Returns how many arrived.
    pub async fn sync(&mut self) -> Result<usize, OperatorError> {
        let l1 = &self.settler.l1;
        let head = l1.head().await?;
        if head < self.scanned_to {
            return Ok(0);
        }
        let filter = Filter::new()
            .address(self.settler.rollup)
            .event_signature(ZkRollup::PriorityRequest::SIGNATURE_HASH)
            .from_block(self.scanned_to)
            .to_block(head);
        let logs = l1.provider().get_logs(&filter).await.map_err(L1Error::Rpc)?;
        let mut n = 0;
        for log in logs {
            let ev = log
                .log_decode::<ZkRollup::PriorityRequest>()
                .map_err(|source| OperatorError::UndecodableRequest { after: self.next_request, source })?
                .inner
                .data;
            if ev.id < self.next_request {
                continue;
            }
            let bad = |reason: String| OperatorError::BadRequest { id: ev.id, reason };
            if ev.id != self.next_request {
                return Err(bad(format!("expected request {} next", self.next_request)));
            }
            self.queue.push_back(priority_op(&ev).map_err(bad)?);
            self.next_request += 1;
            n += 1;
        }
        self.scanned_to = head + 1;
        Ok(n)
    }

    /// Takes a signed transaction if it is valid against the current state (kept on disk before
    /// this returns). With earlier transactions of the same sender waiting, its nonce must follow
    /// theirs and the balance they leave must cover it; at most [`MAX_WAITING_PER_SENDER`] wait.
    pub fn submit(&mut self, tx: SignedTx) -> Result<u64, SubmitError> {
        let waiting: Vec<&SignedTx> = self.mempool.iter().map(|(_, t)| t).filter(|t| t.from == tx.from).collect();
        if waiting.len() >= MAX_WAITING_PER_SENDER {
            return Err(SubmitError::TooMany { account: tx.from, limit: MAX_WAITING_PER_SENDER });
        }
        if waiting.is_empty() {
            self.state.check(&Op::Tx(tx.clone()))?;
        } else {
            self.state.authorize(&tx)?;
            let expected = self.next_nonce(tx.from);
            if tx.nonce != expected {
                return Err(OpError::Nonce { expected, got: tx.nonce }.into());
            }
            // The balance left after the sender's waiting transactions (credits count once applied).
            let amount = Amount32::unpack(tx.amount).ok_or(OpError::BadAmount(tx.amount))?;
            let spent = waiting
                .iter()
                .filter(|t| t.token == tx.token)
                .map(|t| Amount32::unpack(t.amount).unwrap_or(0))
                .fold(0u128, u128::saturating_add);
            let balance = self.state.account(tx.from).map_or(0, |a| a.balance(tx.token)).saturating_sub(spent);
            if balance < amount {
                return Err(OpError::Insufficient { balance, amount }.into());
            }
        }
        let seq = self.next_seq;
        if let Some(s) = &self.store {
            s.put_tx(seq, &tx)?;
        }
        self.next_seq += 1;
        self.mempool.push_back((seq, tx));
        Ok(seq)
    }

    /// The block to settle next: the oldest in flight, or a new one from what waits (priority
    /// requests first, in queue order). `None` when nothing waits.
    pub fn prepare(&mut self) -> Result<Option<Prepared>, OperatorError> {
        if let Some(p) = self.inflight.front() {
            return Ok(Some(p.clone()));
        }
        self.prepare_next()
    }

    /// A new block from what waits, applied after the blocks already in flight. `None` when
    /// nothing waits.
    pub fn prepare_next(&mut self) -> Result<Option<Prepared>, OperatorError> {
        let params = self.settler.prover.params;
        let (slots, onchain_slots) = (params.slots, params.onchain_slots);
        let mut ops: Vec<Op> = Vec::with_capacity(slots);
        let mut seqs = Vec::new();
        // Operations L1 acts on take the block's first slots: priority requests, then
        // transactions in order until a withdrawal finds no on-chain slot left (it and what
        // follows wait for the next block, so no sender's nonces are reordered).
        while ops.len() < onchain_slots
            && let Some(p) = self.queue.pop_front()
        {
            ops.push(Op::Priority(p));
        }
        let priority = ops.len();
        while ops.len() < slots
            && let Some((seq, t)) = self.mempool.pop_front()
        {
            if t.kind.is_onchain() && ops.len() >= onchain_slots {
                self.mempool.push_front((seq, t));
                break;
            }
            ops.push(Op::Tx(t));
            seqs.push(seq);
        }
        if ops.is_empty() {
            return Ok(None);
        }
        let before = self.state.clone();
        let (witness, skipped) = self.state.apply_block(&ops, slots, onchain_slots);
        let requeue = |op: &mut Self, ops: Vec<Op>, seqs: &[u64]| {
            let mut s = seqs.iter().rev();
            for o in ops.into_iter().rev() {
                match o {
                    Op::Priority(p) => op.queue.push_front(p),
                    Op::Tx(t) => op.mempool.push_front((*s.next().expect("a seq per tx"), t)),
                    Op::Noop => {}
                }
            }
        };
        if skipped.iter().any(|(i, _)| *i < priority) {
            self.state = before;
            let reason = format!("a priority request cannot apply: {skipped:?}");
            requeue(self, ops, &seqs);
            return Err(OperatorError::BadRequest { id: self.served, reason });
        }
        // Transactions that no longer apply (a full exit emptied the account first) are dropped
        // for good.
        let dropped: Vec<u64> = skipped.iter().map(|(i, _)| seqs[i - priority]).collect();
        for ((_, why), seq) in skipped.iter().zip(&dropped) {
            warn!(target: "zk::operator", seq, reason = %why, "transaction no longer applies; dropped");
        }
        if let Some(s) = &self.store
            && !dropped.is_empty()
        {
            s.drop_txs(&dropped)?;
        }
        if skipped.len() == ops.len() {
            return Ok(None);
        }
        let kept: Vec<Op> =
            ops.into_iter().enumerate().filter(|(i, _)| !skipped.iter().any(|(j, _)| j == i)).map(|(_, o)| o).collect();
        let seqs: Vec<u64> = seqs.into_iter().filter(|s| !dropped.contains(s)).collect();
        let number = self.blocks + self.inflight.len() as u64 + 1;
        let effects = self.take_effects(&witness);
        let witness = Arc::new(witness);
        let p = Prepared { number, ops: kept, witness, skipped, blob: None, seqs, priority: priority as u64, effects };
        if let Some(s) = &self.store
            && let Err(e) = s.put_inflight(&p.inflight_record())
        {
            self.state = before;
            requeue(self, p.ops, &p.seqs);
            return Err(e.into());
        }
        self.inflight.push_back(p.clone());
        Ok(Some(p))
    }

    /// The tree nodes and accounts a block just applied changed, as it left them.
    fn take_effects(&mut self, w: &BlockWitness) -> Arc<Effects> {
        let mut touched: Vec<u32> = w.slots.iter().flat_map(|s| [s.chunk.a, s.chunk.b]).collect();
        touched.sort();
        touched.dedup();
        let accounts = touched.into_iter().map(|i| (i, self.state.account(i).cloned())).collect();
        Arc::new(Effects { nodes: self.state.tree_mut().take_dirty(), accounts })
    }

    /// Writes a block L1 has verified: the oldest in flight.
    pub fn finish(&mut self, p: Prepared, settled: &Settled) -> Result<BlockReport, OperatorError> {
        if self.inflight.front().map(|f| f.number) != Some(p.number) {
            return Err(OperatorError::Diverged(format!(
                "block {} finished out of order (oldest in flight: {:?})",
                p.number,
                self.inflight.front().map(|f| f.number)
            )));
        }
        let w = &p.witness;
        let transfers = w.slots.iter().filter(|s| s.chunk.kind == OpKind::Transfer as u8).count();
        let data = pubdata(&w.chunks());
        let record = BlockRecord {
            number: p.number,
            root: w.new_root,
            ops: p.ops.len(),
            transfers,
            pubdata_bytes: data.len(),
            commit_tx: settled.commit_tx.to_string(),
            verify_tx: settled.verify_tx.to_string(),
            commit_gas: settled.commit_gas,
            verify_gas: settled.verify_gas,
            l1_block: settled.l1_block,
            prove_seconds: settled.prove_seconds,
            prove_cpu_seconds: settled.prove_cpu_seconds,
            blob_gas: settled.blob_gas,
        };
        let served = self.served + p.priority;
        if let Some(s) = &self.store {
            let e = &p.effects;
            s.put_block(BlockWrite { record: &record, nodes: &e.nodes, accounts: &e.accounts, seqs: &p.seqs, served })?;
        }
        self.blocks = p.number;
        self.served = served;
        self.inflight.pop_front();
        info!(target: "zk::operator", block = p.number, ops = p.ops.len(), transfers, prove_seconds = settled.prove_seconds, "block verified on L1");
        Ok(BlockReport {
            number: p.number,
            ops: p.ops.len(),
            transfers,
            skipped: p.skipped,
            prove_seconds: settled.prove_seconds,
            prove_cpu_seconds: settled.prove_cpu_seconds,
            commit_gas: settled.commit_gas,
            blob_gas: settled.blob_gas,
            verify_gas: settled.verify_gas,
            pubdata_bytes: data.len(),
            l1_block: settled.l1_block,
            seqs: p.seqs,
        })
    }

    /// Prepares, settles and finishes one block. `None` when nothing waits. After an error the
    /// block stays in flight and the next call retries it.
    pub async fn produce_block(&mut self) -> Result<Option<BlockReport>, OperatorError> {
        let Some(p) = self.prepare()? else { return Ok(None) };
        let settled = self.settler.settle(&p).await?;
        self.finish(p, &settled).map(Some)
    }
}

/// Transactions one account may have waiting for a block.
pub const MAX_WAITING_PER_SENDER: usize = 128;

#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    #[error(transparent)]
    Invalid(#[from] OpError),
    #[error("account {account} has {limit} transactions waiting for a block; send more once one lands")]
    TooMany { account: u32, limit: usize },
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub fn priority_op(ev: &ZkRollup::PriorityRequest) -> Result<PriorityOp, String> {
    let kind = OpKind::from_u8(ev.kind).filter(|k| k.is_priority()).ok_or_else(|| format!("kind {}", ev.kind))?;
    let value = F::from_be_bytes_mod_order(&ev.value.to_be_bytes::<32>());
    Ok(PriorityOp { kind, account: ev.account, address: ev.addr, token: ev.token, value })
}

/// Proves blocks and lands them on L1; cheap to clone.
#[derive(Clone)]
pub struct Settler {
    l1: L1Client,
    signer: PrivateKeySigner,
    rollup: Address,
    prover: Arc<Prover>,
    da: DataAvailability,
}

impl Settler {
    pub fn l1(&self) -> &L1Client {
        &self.l1
    }

    pub fn prover(&self) -> &Arc<Prover> {
        &self.prover
    }

    pub fn rollup(&self) -> Address {
        self.rollup
    }

    /// Whether blocks go to L1 with committee signatures instead of pubdata.
    pub fn validium(&self) -> bool {
        matches!(self.da, DataAvailability::Validium { .. })
    }

    async fn read<C: SolCall>(&self, call: C) -> Result<C::Return, L1Error> {
        self.l1.read(self.rollup, call).await
    }

    /// Proves `p` and makes L1 verify it, skipping the steps L1 already has.
    pub async fn settle(&self, p: &Prepared) -> Result<Settled, OperatorError> {
        let mut out = Settled::default();
        let committed: u64 = self.read(ZkRollup::totalCommittedCall {}).await?.saturating_to();
        if committed < p.number {
            let (tx, gas) = self.commit(p).await?;
            (out.commit_tx, out.commit_gas) = (tx, gas);
        }
        let verified: u64 = self.read(ZkRollup::totalVerifiedCall {}).await?.saturating_to();
        if verified < p.number {
            let started = Instant::now();
            let cpu = process_cpu_seconds();
            let proof = self.prove(p).await?;
            out.prove_seconds = started.elapsed().as_secs_f64();
            out.prove_cpu_seconds = process_cpu_seconds() - cpu;
            let (tx, gas, block) = self.verify(p, evm::proof_words(&proof).map(U256::from_be_bytes)).await?;
            (out.verify_tx, out.verify_gas, out.l1_block) = (tx, gas, block);
        }
        Ok(out)
    }

    pub async fn prove(&self, p: &Prepared) -> Result<Proof<Bn254>, ProverError> {
        self.spawn_prove(p).await.map_err(|e| ProverError::Task(Box::new(e)))?
    }

    /// Proves `p` on a blocking thread (the prover uses every core).
    pub fn spawn_prove(&self, p: &Prepared) -> tokio::task::JoinHandle<Result<Proof<Bn254>, ProverError>> {
        let (prover, witness) = (self.prover.clone(), p.witness.clone());
        tokio::task::spawn_blocking(move || prover.prove(&witness))
    }

    /// Commits `p` with its pubdata (rollup) or its committee's signatures (validium).
    pub async fn commit(&self, p: &Prepared) -> Result<(B256, u64), OperatorError> {
        let w = &p.witness;
        let ops: Vec<ZkRollup::OnchainOp> = w.onchain.iter().map(to_sol).collect();
        let data = pubdata(&w.chunks());
        let rollup = ZkRollup::new(self.rollup, self.l1.provider());
        let tx = match &self.da {
            DataAvailability::Rollup => {
                rollup.commitBlock(field_to_u256(&w.new_root), Bytes::from(data), ops).into_transaction_request()
            }
            DataAvailability::Validium { committee, threshold } => {
                let data_hash = aqueduct_zk_protocol::data_hash(&data);
                let mut sigs = Vec::new();
                for member in committee {
                    match member.store(p.number, &data).await {
                        Ok(sig) => sigs.push(sig),
                        Err(e) => {
                            warn!(target: "zk::operator", member = %member.url(), error = %e, "committee member did not sign")
                        }
                    }
                }
                if sigs.len() < *threshold {
                    return Err(DacError::TooFew { got: sigs.len(), needed: *threshold }.into());
                }
                let digest =
                    self.read(ZkRollup::dacDigestCall { number: U256::from(p.number), dataHash: data_hash }).await?;
                let sigs = sort_signatures(digest, sigs)?;
                let signatures = sigs.into_iter().map(Bytes::from).collect();
                rollup
                    .commitBlockValidium(field_to_u256(&w.new_root), data_hash, ops, signatures)
                    .into_transaction_request()
            }
        };
        let (tx, gas, _) = self.send("commitBlock", tx.with_gas_limit(8_000_000)).await?;
        Ok((tx, gas))
    }

    /// Commits `ps` (consecutive blocks, the first the next L1 lacks): a rollup's in one
    /// `commitBlocks` call, a validium's one by one. Returns each block's share of the gas.
    pub async fn commit_batch(&self, ps: &[Prepared]) -> Result<Vec<(B256, u64)>, OperatorError> {
        if ps.len() < 2 || self.validium() {
            let mut out = Vec::with_capacity(ps.len());
            for p in ps {
                out.push(self.commit(p).await?);
            }
            return Ok(out);
        }
        let blocks = ps
            .iter()
            .map(|p| ZkRollup::BlockData {
                newRoot: field_to_u256(&p.witness.new_root),
                pubdata: Bytes::from(pubdata(&p.witness.chunks())),
                ops: p.witness.onchain.iter().map(to_sol).collect(),
            })
            .collect();
        let rollup = ZkRollup::new(self.rollup, self.l1.provider());
        let gas = commit_gas_limit(ps.len());
        let tx = rollup.commitBlocks(blocks).gas(gas).into_transaction_request();
        let (tx, gas, _) = self.send("commitBlocks", tx).await?;
        Ok(vec![(tx, gas / ps.len() as u64); ps.len()])
    }

    /// Sends `proof` for `p` (which L1 must have committed). Returns the tx, its gas and block.
    pub async fn verify(&self, p: &Prepared, proof: [U256; 8]) -> Result<(B256, u64, u64), OperatorError> {
        let ops: Vec<ZkRollup::OnchainOp> = p.witness.onchain.iter().map(to_sol).collect();
        let rollup = ZkRollup::new(self.rollup, self.l1.provider());
        let tx = rollup.proveBlock(proof, committed(p), ops).gas(3_000_000).into_transaction_request();
        self.send("proveBlock", tx).await
    }

    /// Sends the proofs of `ps` (consecutive committed blocks, the first the next to verify) in
    /// one `proveBlocks` call: one batched pairing check for them all (`proveBlock` for one).
    pub async fn verify_batch(
        &self,
        ps: &[Prepared],
        proofs: Vec<[U256; 8]>,
    ) -> Result<(B256, u64, u64), OperatorError> {
        if let ([p], [proof]) = (ps, proofs.as_slice()) {
            return self.verify(p, *proof).await;
        }
        let rollup = ZkRollup::new(self.rollup, self.l1.provider());
        let bs = ps.iter().map(committed).collect();
        let ops = ps.iter().map(|p| p.witness.onchain.iter().map(to_sol).collect()).collect();
        let gas = 1_000_000 + 400_000 * ps.len() as u64;
        let tx = rollup.proveBlocks(proofs, bs, ops).gas(gas).into_transaction_request();
        self.send("proveBlocks", tx).await
    }

    /// Blocks L1 has committed.
    pub async fn total_committed(&self) -> Result<u64, L1Error> {
        Ok(self.read(ZkRollup::totalCommittedCall {}).await?.saturating_to())
    }

    /// Blocks L1 has verified.
    pub async fn total_verified(&self) -> Result<u64, L1Error> {
        Ok(self.read(ZkRollup::totalVerifiedCall {}).await?.saturating_to())
    }

    /// Simulates (a refusal comes back by name), sends and waits for a call to the rollup.
    pub(crate) async fn send(
        &self,
        what: &'static str,
        tx: TransactionRequest,
    ) -> Result<(B256, u64, u64), OperatorError> {
        self.l1.simulate_request(self.signer.address(), tx.clone()).await?;
        let hash = self.l1.send_request(&self.signer, tx).await?;
        let r = match self.l1.wait(hash).await {
            Ok(r) => r,
            Err(L1Error::Reverted(_)) => return Err(OperatorError::Reverted { what, tx: hash }),
            Err(e) => return Err(e.into()),
        };
        Ok((hash, r.gas_used, r.block_number.unwrap_or_default()))
    }
}

/// Gas limit of a transaction committing `blocks` blocks: ample for a block's calldata, records
/// and storage, and within an L1 block for a full blob's 64 blocks.
pub(crate) fn commit_gas_limit(blocks: usize) -> u64 {
    (400_000 + 250_000 * blocks as u64).min(25_000_000)
}

/// User plus system CPU time of this process so far, in seconds (Linux; zero elsewhere).
pub fn process_cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else { return 0.0 };
    // Fields after the command name (which may hold spaces) start after the last ')'.
    let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else { return 0.0 };
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name and state.
    (ticks(11) + ticks(12)) / 100.0
}

pub fn to_sol(op: &OnchainOp) -> ZkRollup::OnchainOp {
    ZkRollup::OnchainOp {
        kind: op.kind as u8,
        account: op.account,
        token: op.token,
        addr: op.address,
        value: field_to_u256(&op.value),
        slot: op.slot,
    }
}

/// What L1 keeps the hash of for a committed block (`proveBlock` gives it back).
pub fn committed(p: &Prepared) -> ZkRollup::Committed {
    ZkRollup::Committed {
        commitment: field_to_u256(&p.witness.commitment().public_input()),
        newRoot: field_to_u256(&p.witness.new_root),
        priorityOps: p.priority,
    }
}
