//! Rebuilding the rollup's state from L1 alone: every verified block's commit transaction holds
//! its new root, its on-chain operations and (rollup) its pubdata, in calldata or in the
//! transaction's blob (its lane of it), or (validium) its data hash, whose data only the
//! committee has. Replaying them gives the state, and from it the Merkle
//! proofs users need to exit in exodus mode.

use alloy::{
    consensus::Transaction as _,
    primitives::{Address, B256, U256},
    providers::Provider,
    rpc::types::Filter,
    sol_types::{SolCall, SolEvent},
};
use aqueduct_contracts::zk::ZkRollup;
use aqueduct_eth::{L1Client, L1Error};
use aqueduct_zk_protocol::{
    OnchainOp, OpError, OpKind, PubdataLength, TreeShape, ZkState, blob, chunks_from_pubdata, fe,
};
use tracing::warn;

use crate::{dac::DacClient, deploy::field_to_u256};

#[derive(Debug, thiserror::Error)]
pub enum ReconstructError {
    #[error(transparent)]
    L1(#[from] L1Error),
    #[error("block {number}: no BlockCommitted event on L1")]
    NoCommit { number: u64 },
    #[error("block {number}: its commit transaction {tx} is not on L1")]
    NoTransaction { number: u64, tx: B256 },
    #[error("block {number}: its blob lane does not hash to the data hash L1 committed")]
    BlobMismatch { number: u64 },
    #[error(
        "block {number}: transaction {tx} is not a direct commitBlock, commitBlocks, commitBlocksBlob or commitBlockValidium call"
    )]
    NotACommit { number: u64, tx: B256 },
    #[error("block {number}: transaction {tx} commits no block at place {at}")]
    NotInBatch { number: u64, tx: B256, at: usize },
    #[error("block {number}: {source}")]
    Pubdata { number: u64, source: PubdataLength },
    #[error("block {number}: the commit call and its event disagree on the root")]
    RootDisagrees { number: u64 },
    #[error("block {number}: {source}")]
    Op { number: u64, source: OnchainOpError },
    #[error("block {number} does not replay: {source}")]
    Replay { number: u64, source: OpError },
    #[error("block {number}: replaying gives root {got}, L1 committed {expected}")]
    RootMismatch { number: u64, got: String, expected: String },
}

/// An on-chain operation in a commit call that names no operation of this rollup.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OnchainOpError {
    #[error("on-chain operation of unknown kind {0}")]
    Kind(u8),
    #[error("on-chain operation value outside the field")]
    Value,
}

/// The state rebuilt from L1.
#[derive(Debug, Clone)]
pub struct Reconstructed {
    pub state: ZkState,
    /// Blocks replayed.
    pub blocks: u64,
    /// Blocks L1 has verified.
    pub verified: u64,
    /// The first verified block whose data nobody served (validium with a withholding
    /// committee, or a blob past its retention): the state stops before it.
    pub withheld: Option<u64>,
    /// L1's verified root.
    pub l1_root: U256,
}

impl Reconstructed {
    /// Whether the state is L1's current verified state (exits can be proven against it).
    pub fn complete(&self) -> bool {
        self.withheld.is_none() && field_to_u256(&self.state.root()) == self.l1_root
    }
}

/// Replays every verified block of the rollup at `rollup`. A validium's data comes from
/// `committee` (the first member that serves it).
pub async fn reconstruct(
    l1: &L1Client,
    rollup: Address,
    shape: TreeShape,
    domain: u64,
    committee: &[DacClient],
) -> Result<Reconstructed, ReconstructError> {
    let verified: u64 = l1.read(rollup, ZkRollup::totalVerifiedCall {}).await?.saturating_to();
    let slots: usize = l1.read(rollup, ZkRollup::slotsCall {}).await?.saturating_to();
    let data_len = slots * aqueduct_zk_protocol::CHUNK_BYTES;
    // The lanes of each blob commit read so far (several blocks share one).
    let mut blobs: std::collections::HashMap<B256, Option<Vec<Vec<u8>>>> = Default::default();
    let l1_root = l1.read(rollup, ZkRollup::stateRootCall {}).await?;
    let filter = Filter::new()
        .address(rollup)
        .event_signature(ZkRollup::BlockCommitted::SIGNATURE_HASH)
        .from_block(0)
        .to_block(l1.head().await?);
    let logs = l1.provider().get_logs(&filter).await.map_err(L1Error::Rpc)?;
    // The last commit of each number (exodus drops unverified commits; none come after it).
    // With the block's place in its transaction (`commitBlocks` commits several in order).
    let mut commits: Vec<Option<(B256, usize, ZkRollup::BlockCommitted)>> = vec![None; verified as usize];
    let mut first_in: std::collections::HashMap<B256, u64> = Default::default();
    for log in logs {
        let Some(tx) = log.transaction_hash else { continue };
        let Ok(ev) = log.log_decode::<ZkRollup::BlockCommitted>() else { continue };
        let ev = ev.inner.data;
        let n: u64 = ev.number.saturating_to();
        let first = *first_in.entry(tx).or_insert(n);
        if (1..=verified).contains(&n) {
            commits[n as usize - 1] = Some((tx, (n - first) as usize, ev));
        }
    }
    let mut out = Reconstructed { state: ZkState::new(shape, domain), blocks: 0, verified, withheld: None, l1_root };
    for (i, c) in commits.into_iter().enumerate() {
        let number = i as u64 + 1;
        let pubdata_err = |source| ReconstructError::Pubdata { number, source };
        let (tx, at, ev) = c.ok_or(ReconstructError::NoCommit { number })?;
        let t = l1
            .provider()
            .get_transaction_by_hash(tx)
            .await
            .map_err(L1Error::Rpc)?
            .ok_or(ReconstructError::NoTransaction { number, tx })?;
        let input = t.inner.input();
        let (root, chunks, ops) = if let Ok(c) = ZkRollup::commitBlockCall::abi_decode(input) {
            (c.newRoot, chunks_from_pubdata(&c.pubdata).map_err(pubdata_err)?, c.ops)
        } else if let Ok(c) = ZkRollup::commitBlocksCall::abi_decode(input) {
            let b = c.bs.into_iter().nth(at).ok_or(ReconstructError::NotInBatch { number, tx, at })?;
            (b.newRoot, chunks_from_pubdata(&b.pubdata).map_err(pubdata_err)?, b.ops)
        } else if let Ok(c) = ZkRollup::commitBlocksBlobCall::abi_decode(input) {
            let lanes = c.bs.len();
            let b = c.bs.into_iter().nth(at).ok_or(ReconstructError::NotInBatch { number, tx, at })?;
            if let std::collections::hash_map::Entry::Vacant(e) = blobs.entry(tx) {
                let got = match t.inner.blob_versioned_hashes().and_then(<[B256]>::first) {
                    Some(h) => l1.blobs(&[*h]).await?,
                    None => None,
                };
                let k = blob::lane_elements(data_len);
                e.insert(got.and_then(|b| blob::lanes_from_blob(b[0].as_slice(), lanes, k, data_len)));
            }
            let Some(data) = blobs[&tx].as_ref().map(|l| l[at].clone()) else {
                // Nobody serves the blob (pruned after its retention window): stop before it.
                out.withheld = Some(number);
                break;
            };
            if aqueduct_zk_protocol::data_hash(&data) != b.dataHash {
                return Err(ReconstructError::BlobMismatch { number });
            }
            (b.newRoot, chunks_from_pubdata(&data).map_err(pubdata_err)?, b.ops)
        } else if let Ok(c) = ZkRollup::commitBlockValidiumCall::abi_decode(input) {
            match fetch(committee, &c.dataHash).await {
                Some(data) => (c.newRoot, chunks_from_pubdata(&data).map_err(pubdata_err)?, c.ops),
                None => {
                    out.withheld = Some(number);
                    break;
                }
            }
        } else {
            return Err(ReconstructError::NotACommit { number, tx });
        };
        if root != ev.newRoot {
            return Err(ReconstructError::RootDisagrees { number });
        }
        let ops = ops
            .iter()
            .map(from_sol)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|source| ReconstructError::Op { number, source })?;
        let got =
            out.state.replay_block(&chunks, &ops).map_err(|source| ReconstructError::Replay { number, source })?;
        if field_to_u256(&got) != root {
            return Err(ReconstructError::RootMismatch {
                number,
                got: fe::to_hex(&got),
                expected: format!("{root:#x}"),
            });
        }
        out.blocks = number;
    }
    Ok(out)
}

async fn fetch(committee: &[DacClient], hash: &B256) -> Option<Vec<u8>> {
    for m in committee {
        match m.get(hash).await {
            Ok(d) => return Some(d),
            Err(e) => warn!(target: "zk::reconstruct", member = %m.url(), error = %e, "no data from committee member"),
        }
    }
    None
}

fn from_sol(op: &ZkRollup::OnchainOp) -> Result<OnchainOp, OnchainOpError> {
    let kind = OpKind::from_u8(op.kind).ok_or(OnchainOpError::Kind(op.kind))?;
    let value = aqueduct_zk_protocol::field_from_be(&op.value.to_be_bytes::<32>()).ok_or(OnchainOpError::Value)?;
    Ok(OnchainOp { kind, account: op.account, token: op.token, address: op.addr, value, slot: op.slot })
}

/// Whose balance an exit call pays, and how much (the call carries the proofs).
#[derive(Debug, Clone)]
pub struct ExitProof {
    pub account: u32,
    pub token: u8,
    pub balance: u128,
}

/// The exodus `exit` call for `account`'s `token` against `state` (`None`: no such account).
pub fn exit_call(state: &ZkState, account: u32, token: u8) -> Option<(ExitProof, ZkRollup::exitCall)> {
    let acc = state.account(account)?;
    let shape = state.shape();
    if token as u64 >= shape.max_tokens() {
        return None;
    }
    let flat =
        |p: aqueduct_zk_protocol::MerklePath| -> Vec<U256> { p.siblings.iter().flatten().map(field_to_u256).collect() };
    let balance = acc.balance(token);
    let call = ZkRollup::exitCall {
        account,
        token,
        balance: U256::from(balance),
        nonce: acc.nonce,
        pubkeyHash: field_to_u256(&acc.pubkey_hash),
        balanceSiblings: flat(acc.balance_path(shape, token)),
        accountSiblings: flat(state.account_path(account)),
    };
    Some((ExitProof { account, token, balance }, call))
}
