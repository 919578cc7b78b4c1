//! A validator's own JSON-RPC, on the same port as its Ethereum JSON-RPC:
//!
//! - `sidechain_status()` → chain id, this validator, finalized view, executed height and hash,
//!   L1 deposits seen and minted, checkpoints (latest signed, held on L1), evidence count
//! - `sidechain_checkpoint(n)` → checkpoint `n` with the signatures gathered, or `null`
//! - `sidechain_withdrawalProof(txHash)` → what `SidechainBridge.withdraw` takes for the
//!   withdrawal that transaction made, once its checkpoint is signed
//! - `sidechain_evidence()` → Byzantine behaviour seen: conflicting votes consensus reported,
//!   conflicting checkpoint signatures

use std::{sync::Arc, time::Duration};

use alloy::{
    primitives::{Address, B256},
    sol_types::SolEvent,
};
use aqueduct_chain::Chain;
use aqueduct_contracts::sidechain::{CHILD_BRIDGE, ChildBridge};
use aqueduct_sidechain_protocol::{SignedCheckpoint, Withdrawal, WithdrawalTree};
use jsonrpsee::{
    core::{RpcResult, async_trait},
    http_client::{HttpClient, HttpClientBuilder},
    proc_macros::rpc,
    types::ErrorObjectOwned,
};
use serde::{Deserialize, Serialize};

use crate::{
    checkpoints::withdrawals_in,
    shared::{Progress, Shared},
    spec::SidechainSpec,
};

/// `sidechain_status`'s answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    pub chain_id: u64,
    /// Its place in the spec (none for a validator that joined through L1).
    pub validator: Option<usize>,
    pub signer: Address,
    /// Validators in L1's current set.
    pub validators: usize,
    #[serde(flatten)]
    pub progress: Progress,
    pub deposits_seen: u64,
    /// Highest checkpoint this validator signed, and the signed stake gathered for it.
    pub last_checkpoint: Option<u64>,
    pub last_checkpoint_signatures: usize,
    pub checkpoints_on_l1: u64,
    pub evidence: usize,
}

/// `sidechain_withdrawalProof`'s answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WithdrawalProof {
    pub checkpoint: u64,
    pub withdrawal: Withdrawal,
    pub index: u64,
    pub proof: Vec<B256>,
    /// Whether L1 holds the checkpoint (the withdrawal can be paid now).
    pub on_l1: bool,
}

#[rpc(server, client, namespace = "sidechain")]
pub trait SidechainApi {
    #[method(name = "status")]
    async fn status(&self) -> RpcResult<Status>;

    #[method(name = "checkpoint")]
    async fn checkpoint(&self, number: u64) -> RpcResult<Option<SignedCheckpoint>>;

    #[method(name = "withdrawalProof")]
    async fn withdrawal_proof(&self, tx: B256) -> RpcResult<Option<WithdrawalProof>>;

    #[method(name = "evidence")]
    async fn evidence(&self) -> RpcResult<Vec<String>>;
}

/// A client of a validator's JSON-RPC at `url`.
pub fn sidechain_client(url: &str) -> Result<HttpClient, jsonrpsee::core::client::Error> {
    HttpClientBuilder::default().request_timeout(Duration::from_secs(30)).build(url)
}

pub struct SidechainRpc {
    pub spec: SidechainSpec,
    pub index: Option<usize>,
    pub signer: Address,
    pub chain: Arc<Chain>,
    pub shared: Arc<Shared>,
}

fn invalid(msg: String) -> ErrorObjectOwned {
    ErrorObjectOwned::owned(-32602, msg, None::<()>)
}

#[async_trait]
impl SidechainApiServer for SidechainRpc {
    async fn status(&self) -> RpcResult<Status> {
        let last = self.shared.last_checkpoint();
        Ok(Status {
            chain_id: self.spec.chain_id,
            validator: self.index,
            signer: self.signer,
            validators: self.shared.quorum().validators.len(),
            progress: self.shared.progress(),
            deposits_seen: self.shared.deposits_seen(),
            last_checkpoint: last.as_ref().map(|c| c.checkpoint.number),
            last_checkpoint_signatures: last.as_ref().map(|c| c.signatures.len()).unwrap_or(0),
            checkpoints_on_l1: self.shared.l1_checkpoints(),
            evidence: self.shared.evidence().len(),
        })
    }

    async fn checkpoint(&self, number: u64) -> RpcResult<Option<SignedCheckpoint>> {
        Ok(self.shared.checkpoint(number))
    }

    async fn withdrawal_proof(&self, tx: B256) -> RpcResult<Option<WithdrawalProof>> {
        let Some((block, i)) = self.chain.transaction(&tx) else { return Ok(None) };
        let receipt = &block.receipts[i];
        let Some(w) = receipt.inner.receipt.logs.iter().find_map(|l| {
            (l.address == CHILD_BRIDGE)
                .then(|| ChildBridge::WithdrawalInitiated::decode_log_data(&l.data).ok())
                .flatten()
        }) else {
            return Err(invalid(format!("transaction {tx} initiated no withdrawal")));
        };
        let interval = self.spec.checkpoint_interval;
        let n = block.header.number;
        let number = (n - 1) / interval;
        let Some(cp) = self.shared.checkpoint(number) else { return Ok(None) };
        let ws = withdrawals_in(&self.chain, cp.checkpoint.start_block, cp.checkpoint.end_block);
        let Some(index) = ws.iter().position(|x| x.nonce == w.nonce) else {
            return Err(invalid(format!("withdrawal {} is not in checkpoint {number}", w.nonce)));
        };
        let tree = WithdrawalTree::of(&ws).ok_or_else(|| invalid("too many withdrawals".into()))?;
        Ok(Some(WithdrawalProof {
            checkpoint: number,
            withdrawal: ws[index],
            index: index as u64,
            proof: tree.proof(index).expect("index in the tree"),
            on_l1: number < self.shared.l1_checkpoints(),
        }))
    }

    async fn evidence(&self) -> RpcResult<Vec<String>> {
        Ok(self.shared.evidence())
    }
}
