//! The rollup's view of L1: what derivation reads (deposits, batches, forced transactions, blobs)
//! through the shared Ethereum client ([`aqueduct_eth`]), the batcher's blob transactions go through alloy's wallet provider with a sidecar
//! built by `aqueduct_rollup_protocol::payload_sidecar` (alloy's `SidecarBuilder`).

use alloy::{
    consensus::Transaction as _,
    primitives::B256,
    providers::Provider,
    rpc::types::Filter,
    sol_types::{SolCall, SolEvent},
};
use aqueduct_contracts::rollup::{BatchInbox, RollupPortal};
pub use aqueduct_eth::{BlockHeader, L1_CALL_TIMEOUT, L1Call, L1Client, L1Error, L1Fees, create_all, sign_1559};
use aqueduct_rollup_protocol::{L1BlockData, L1Origin, RollupConfig, deposit_from_log};
use tracing::warn;

/// What derivation reads from L1, on the shared client.
#[allow(async_fn_in_trait)] // used within this crate's services, on a concrete client
pub trait RollupL1 {
    /// Number, hash, time and fees of L1 block `n` as an L2 origin, and its parent's hash.
    async fn origin(&self, n: u64) -> Result<(L1Origin, B256), L1Error>;
    /// Everything derivation needs from L1 block `n`: deposits, the batcher's payloads and
    /// forced transactions, read from the logs of that exact block (by hash, so a reorg cannot
    /// mix blocks).
    async fn block_data(&self, n: u64, cfg: &RollupConfig) -> Result<L1BlockData, L1Error>;
    /// A batch posted in calldata (`BatchInbox.submit`).
    async fn calldata_payload(&self, tx: B256) -> Result<Option<Vec<u8>>, L1Error>;
}

impl RollupL1 for L1Client {
    async fn origin(&self, n: u64) -> Result<(L1Origin, B256), L1Error> {
        let h = self.header(n).await?;
        let origin = L1Origin {
            number: n,
            hash: h.hash,
            timestamp: h.timestamp,
            base_fee: h.base_fee,
            blob_base_fee: h.blob_base_fee,
        };
        Ok((origin, h.parent_hash))
    }

    async fn block_data(&self, n: u64, cfg: &RollupConfig) -> Result<L1BlockData, L1Error> {
        let (origin, parent_hash) = self.origin(n).await?;
        let filter = Filter::new().at_block_hash(origin.hash).address(vec![cfg.portal, cfg.inbox]);
        let logs = self.provider().get_logs(&filter).await.map_err(L1Error::Rpc)?;
        let mut data = L1BlockData { origin, parent_hash, ..Default::default() };
        for log in logs {
            let topic = log.topic0().copied().unwrap_or_default();
            if log.address() == cfg.portal && topic == RollupPortal::TransactionDeposited::SIGNATURE_HASH {
                match deposit_from_log(&log.inner, origin.hash) {
                    Ok(d) => data.deposits.push(d),
                    Err(e) => warn!(target: "l1::reader", block = n, error = %e, "skipping a malformed deposit"),
                }
            } else if log.address() == cfg.inbox && topic == BatchInbox::BatchSubmitted::SIGNATURE_HASH {
                let Ok(ev) = BatchInbox::BatchSubmitted::decode_log(&log.inner) else { continue };
                let payload = if ev.blobHashes.is_empty() {
                    let Some(tx_hash) = log.transaction_hash else { continue };
                    self.calldata_payload(tx_hash).await?
                } else {
                    blob_payload(self, &ev.blobHashes).await?
                };
                if let Some(p) = payload {
                    data.batches.push(p);
                }
            } else if log.address() == cfg.inbox
                && topic == BatchInbox::TransactionForced::SIGNATURE_HASH
                && let Ok(ev) = BatchInbox::TransactionForced::decode_log(&log.inner)
            {
                data.forced.push(ev.data.transaction.clone());
            }
        }
        Ok(data)
    }

    async fn calldata_payload(&self, tx: B256) -> Result<Option<Vec<u8>>, L1Error> {
        let t = self.provider().get_transaction_by_hash(tx).await.map_err(L1Error::Rpc)?;
        let Some(t) = t else { return Ok(None) };
        match BatchInbox::submitCall::abi_decode(t.inner.input()) {
            Ok(c) => Ok(Some(c.frames.to_vec())),
            Err(e) => {
                warn!(target: "l1::reader", %tx, error = %e, "inbox call with unreadable calldata");
                Ok(None)
            }
        }
    }
}

/// The payload blobs carry (in its canonical encoding; anything else is no batch).
async fn blob_payload(l1: &L1Client, hashes: &[B256]) -> Result<Option<Vec<u8>>, L1Error> {
    let Some(blobs) = l1.blobs(hashes).await? else { return Ok(None) };
    let payload = aqueduct_rollup_protocol::blobs_payload(&blobs);
    if payload.is_none() {
        warn!(target: "l1::reader", blobs = blobs.len(), "blobs do not hold a payload in its canonical encoding");
    }
    Ok(payload)
}
