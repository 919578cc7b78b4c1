//! The ZK rollup (or validium) as the dashboard reads it: the operator's JSON-RPC, the rollup
//! contract on L1 (blocks committed and verified, requests waiting, exodus), and each watched
//! data-availability committee member's status (a validium's).

use alloy::primitives::Address;
use aqueduct_contracts::zk::ZkRollup;
use aqueduct_eth::L1Client;
use aqueduct_zk_node::{DacClient, ZkApiClient};
use serde::Serialize;

/// A data-availability committee member.
#[derive(Clone, Debug, Serialize)]
pub struct MemberView {
    pub url: String,
    pub address: Option<Address>,
    /// Blocks whose data it keeps.
    pub stored: Option<u64>,
    pub withholding: Option<bool>,
    /// Why it did not answer, if it did not.
    pub error: Option<String>,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct ZkView {
    pub rollup: Option<Address>,
    pub validium: bool,
    /// Blocks verified on L1 (the operator's count).
    pub blocks: u64,
    /// The contract's counts: committed, and verified (a proof checked on L1).
    pub committed: Option<u64>,
    pub verified: Option<u64>,
    /// L1 requests (deposits, forced exits) not yet served by a committed block.
    pub requests_waiting: Option<u64>,
    pub exodus: Option<bool>,
    /// Signatures a validium block needs from the committee.
    pub threshold: Option<u64>,
    /// Transactions acknowledged and not yet in a verified block (withdrawals among them are paid
    /// in the L1 transaction that verifies their block).
    pub pending: usize,
    pub accounts: usize,
    pub last_block_transfers: Option<usize>,
    pub last_block_gas: Option<u64>,
}

/// One read of the operator and its contract; `Err` when the operator does not answer.
pub(crate) async fn poll(
    op: &jsonrpsee::http_client::HttpClient,
    l1: &L1Client,
) -> Result<ZkView, jsonrpsee::core::client::Error> {
    let st = op.status().await?;
    let config = op.config().await?;
    let last = if st.blocks > 0 { op.get_block(st.blocks).await.ok().flatten() } else { None };
    let r = config.rollup;
    let read_u64 = |v: Result<alloy::primitives::U256, aqueduct_eth::L1Error>| v.ok().map(|n| n.saturating_to());
    let total = l1.read(r, ZkRollup::totalPriorityCall {}).await.ok();
    let next = l1.read(r, ZkRollup::nextPriorityToCommitCall {}).await.ok();
    let v = ZkView {
        rollup: Some(r),
        validium: config.validium,
        blocks: st.blocks,
        committed: read_u64(l1.read(r, ZkRollup::totalCommittedCall {}).await),
        verified: read_u64(l1.read(r, ZkRollup::totalVerifiedCall {}).await),
        requests_waiting: next.zip(total).map(|(next, total)| total.saturating_sub(next)),
        exodus: l1.read(r, ZkRollup::exodusCall {}).await.ok(),
        threshold: if config.validium { read_u64(l1.read(r, ZkRollup::thresholdCall {}).await) } else { None },
        pending: st.pending,
        accounts: st.accounts,
        last_block_transfers: last.as_ref().map(|b| b.transfers),
        last_block_gas: last.map(|b| b.commit_gas + b.verify_gas),
    };
    Ok(v)
}

/// Each committee member's status, or why it did not answer.
pub(crate) async fn committee(members: &[DacClient]) -> Vec<MemberView> {
    let mut out = Vec::new();
    for m in members {
        out.push(match m.status().await {
            Ok(s) => MemberView {
                url: m.url().to_string(),
                address: Some(s.address),
                stored: Some(s.stored),
                withholding: Some(s.withholding),
                error: None,
            },
            Err(e) => MemberView {
                url: m.url().to_string(),
                address: None,
                stored: None,
                withholding: None,
                error: Some(e.to_string()),
            },
        });
    }
    out
}
