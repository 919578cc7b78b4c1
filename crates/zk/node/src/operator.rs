//! The operator: follows L1's priority queue, takes signed L2 transactions, and turns them into
//! proven blocks on L1 (commit with pubdata, then verify, which pays withdrawals at once).

use std::{collections::VecDeque, sync::Arc, time::Instant};

use alloy::{
    primitives::{Address, Bytes, TxKind, U256},
    providers::Provider,
    rpc::types::Filter,
    signers::local::PrivateKeySigner,
    sol_types::{SolCall, SolEvent},
};
use aqueduct_contracts::zk::ZkRollup;
use aqueduct_rollup_node::{L1Call, L1Client, L1Error};
use aqueduct_zk_circuit::{Prover, ProverError, evm};
use aqueduct_zk_protocol::{F, OnchainOp, Op, OpError, OpKind, PriorityOp, SignedTx, ZkState, pubdata};
use ark_ff::PrimeField;
use tracing::info;

use crate::deploy::field_to_u256;

#[derive(Debug, thiserror::Error)]
pub enum OperatorError {
    #[error(transparent)]
    L1(#[from] L1Error),
    #[error(transparent)]
    Prover(#[from] ProverError),
    #[error("L1 sent a malformed priority request {id}: {reason}")]
    BadRequest { id: u64, reason: String },
    #[error("{what} reverted on L1 (tx {tx})")]
    Reverted { what: &'static str, tx: String },
}

/// What one block cost.
#[derive(Debug, Clone)]
pub struct BlockReport {
    pub number: u64,
    pub ops: usize,
    pub transfers: usize,
    pub skipped: Vec<(usize, OpError)>,
    pub prove_seconds: f64,
    pub commit_gas: u64,
    pub verify_gas: u64,
    pub pubdata_bytes: usize,
    pub l1_block: u64,
}

pub struct Operator {
    l1: L1Client,
    signer: PrivateKeySigner,
    rollup: Address,
    state: ZkState,
    prover: Arc<Prover>,
    queue: VecDeque<PriorityOp>,
    next_request: u64,
    scanned_to: u64,
    mempool: VecDeque<SignedTx>,
    blocks: u64,
}

impl Operator {
    pub fn new(l1: L1Client, signer: PrivateKeySigner, rollup: Address, prover: Arc<Prover>) -> Self {
        let p = prover.params;
        Self {
            l1,
            signer,
            rollup,
            state: ZkState::new(p.shape, p.domain),
            prover,
            queue: VecDeque::new(),
            next_request: 0,
            scanned_to: 0,
            mempool: VecDeque::new(),
            blocks: 0,
        }
    }

    pub fn state(&self) -> &ZkState {
        &self.state
    }

    pub fn pending(&self) -> usize {
        self.queue.len() + self.mempool.len()
    }

    /// Reads new priority requests from L1's queue. Returns how many arrived.
    pub async fn sync(&mut self) -> Result<usize, OperatorError> {
        let head = self.l1.head().await?;
        if head < self.scanned_to {
            return Ok(0);
        }
        let filter = Filter::new()
            .address(self.rollup)
            .event_signature(ZkRollup::PriorityRequest::SIGNATURE_HASH)
            .from_block(self.scanned_to)
            .to_block(head);
        let logs = self.l1.provider().get_logs(&filter).await.map_err(|e| L1Error::Rpc(e.to_string()))?;
        let mut n = 0;
        for log in logs {
            let ev = log
                .log_decode::<ZkRollup::PriorityRequest>()
                .map_err(|e| OperatorError::BadRequest { id: self.next_request, reason: e.to_string() })?
                .inner
                .data;
            if ev.id < self.next_request {
                continue;
            }
            let bad = |reason: String| OperatorError::BadRequest { id: ev.id, reason };
            if ev.id != self.next_request {
                return Err(bad(format!("expected request {} next", self.next_request)));
            }
            let kind =
                OpKind::from_u8(ev.kind).filter(|k| k.is_priority()).ok_or_else(|| bad(format!("kind {}", ev.kind)))?;
            let value = F::from_be_bytes_mod_order(&ev.value.to_be_bytes::<32>());
            self.queue.push_back(PriorityOp { kind, account: ev.account, address: ev.addr, token: ev.token, value });
            self.next_request += 1;
            n += 1;
        }
        self.scanned_to = head + 1;
        Ok(n)
    }

    /// Takes a signed transaction if it is valid against the current state. With earlier
    /// transactions of the same sender waiting, its nonce must follow theirs and its signature is
    /// checked; its balance is checked when the block applies it.
    pub fn submit(&mut self, tx: SignedTx) -> Result<(), OpError> {
        let waiting = self.mempool.iter().filter(|t| t.from == tx.from).count() as u32;
        if waiting == 0 {
            self.state.check(&Op::Tx(tx.clone()))?;
        } else {
            self.state.authorize(&tx)?;
            let expected = self.state.account(tx.from).map_or(0, |a| a.nonce) + waiting;
            if tx.nonce != expected {
                return Err(OpError::Nonce { expected, got: tx.nonce });
            }
        }
        self.mempool.push_back(tx);
        Ok(())
    }

    /// Builds, proves, commits and verifies one block from what is waiting (priority requests
    /// first, in queue order). `None` when nothing waits.
    pub async fn produce_block(&mut self) -> Result<Option<BlockReport>, OperatorError> {
        if self.pending() == 0 {
            return Ok(None);
        }
        let slots = self.prover.params.slots;
        let mut ops: Vec<Op> = Vec::with_capacity(slots);
        while ops.len() < slots {
            match self.queue.pop_front() {
                Some(p) => ops.push(Op::Priority(p)),
                None => break,
            }
        }
        let priority = ops.len();
        while ops.len() < slots {
            match self.mempool.pop_front() {
                Some(t) => ops.push(Op::Tx(t)),
                None => break,
            }
        }
        let before = self.state.clone();
        let (block, skipped) = self.state.apply_block(&ops, slots);
        if skipped.iter().any(|(i, _)| *i < priority) {
            self.state = before;
            return Err(OperatorError::BadRequest {
                id: self.next_request,
                reason: format!("a priority request failed: {skipped:?}"),
            });
        }
        let started = Instant::now();
        let prover = self.prover.clone();
        let witness = block.clone();
        let proof = tokio::task::spawn_blocking(move || prover.prove(&witness))
            .await
            .map_err(|e| ProverError::Synthesis(e.to_string()))?;
        let proof = match proof {
            Ok(p) => p,
            Err(e) => {
                self.state = before;
                return Err(e.into());
            }
        };
        let prove_seconds = started.elapsed().as_secs_f64();
        let onchain: Vec<ZkRollup::OnchainOp> = block.onchain.iter().map(to_sol).collect();
        let data = pubdata(&block.chunks());
        let commit = ZkRollup::commitBlockCall {
            newRoot: field_to_u256(&block.new_root),
            pubdata: Bytes::from(data.clone()),
            ops: onchain.clone(),
        };
        let commit_receipt = match self.send("commitBlock", commit.abi_encode(), 6_000_000).await {
            Ok(r) => r,
            Err(e) => {
                self.state = before;
                return Err(e);
            }
        };
        let words = evm::proof_words(&proof).map(U256::from_be_bytes);
        let verify = ZkRollup::proveBlockCall { proof: words, ops: onchain };
        let verify_receipt = self.send("proveBlock", verify.abi_encode(), 3_000_000).await?;
        self.blocks += 1;
        let transfers = block.slots.iter().filter(|s| s.chunk.kind == OpKind::Transfer as u8).count();
        info!(target: "zk::operator", block = self.blocks, ops = ops.len() - skipped.len(), transfers, prove_seconds, "block proven on L1");
        Ok(Some(BlockReport {
            number: self.blocks,
            ops: ops.len() - skipped.len(),
            transfers,
            skipped,
            prove_seconds,
            commit_gas: commit_receipt.0,
            verify_gas: verify_receipt.0,
            pubdata_bytes: data.len(),
            l1_block: verify_receipt.1,
        }))
    }

    async fn send(&self, what: &'static str, input: Vec<u8>, gas_limit: u64) -> Result<(u64, u64), OperatorError> {
        let call = L1Call { to: TxKind::Call(self.rollup), value: U256::ZERO, input: input.into(), gas_limit };
        self.l1.simulate(self.signer.address(), &call).await?;
        let hash = self.l1.send_call(&self.signer, &call).await?;
        let r = self.l1.wait(hash, 2_400).await?;
        if !r.status() {
            return Err(OperatorError::Reverted { what, tx: hash.to_string() });
        }
        Ok((r.gas_used, r.block_number.unwrap_or_default()))
    }
}

pub fn to_sol(op: &OnchainOp) -> ZkRollup::OnchainOp {
    ZkRollup::OnchainOp {
        kind: op.kind as u8,
        account: op.account,
        token: op.token,
        addr: op.address,
        value: field_to_u256(&op.value),
    }
}
