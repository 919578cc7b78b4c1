//! The rollup's view of L1: Ethereum JSON-RPC only (DESIGN D2), so the same code follows the
//! embedded devnet, anvil or a real network.

use alloy::{
    consensus::{
        SignableTransaction, Transaction as _, TxEip1559, TxEip4844, TxEip4844Variant, TxEip4844WithSidecar, TxEnvelope,
    },
    eips::{BlockNumberOrTag, eip2718::Encodable2718, eip7594::BlobTransactionSidecarVariant},
    network::TxSignerSync,
    primitives::{Address, B256, Bytes, TxKind, U256},
    providers::{DynProvider, Provider, ProviderBuilder},
    rpc::types::{Filter, TransactionReceipt},
    signers::local::PrivateKeySigner,
    sol_types::{SolCall, SolEvent},
};
use aqueduct_contracts::rollup::{BatchInbox, RollupPortal};
use aqueduct_rollup_protocol::{L1BlockData, L1Origin, RollupConfig, deposit_from_log};
use tracing::warn;

/// What went wrong talking to a chain over JSON-RPC. The client serves L1 and, for the bridge's
/// withdrawals, L2 too: the messages name no chain, the caller's context does.
#[derive(Debug, thiserror::Error)]
pub enum L1Error {
    #[error("JSON-RPC: {0}")]
    Rpc(String),
    #[error("block {0} not found")]
    MissingBlock(u64),
    #[error("transaction {0} was not mined in time")]
    NotMined(B256),
    #[error("transaction {0} reverted")]
    Reverted(B256),
    /// L1 replaced the block the rollup is anchored to (its contracts' deployment): nothing
    /// derived from this L1 can be trusted; the rollup must be deployed again.
    #[error("L1 reorged below the rollup's anchor block {0}: the rollup's contracts are gone")]
    AnchorReorged(u64),
    /// The call reverts when simulated; `data` is the revert data (a custom error, usually).
    #[error("the call reverts (revert data {data})")]
    WouldRevert { data: Bytes },
}

impl L1Error {
    fn rpc(e: impl std::fmt::Display) -> Self {
        Self::Rpc(e.to_string())
    }
}

impl aqueduct_service::Classify for L1Error {
    /// The anchor gone is final; an unreachable or lagging endpoint, a transaction not yet mined
    /// or one that reverted (state may change) are worth another try.
    fn next_action(&self) -> aqueduct_service::NextAction {
        match self {
            Self::AnchorReorged(_) => aqueduct_service::NextAction::Stop,
            _ => aqueduct_service::NextAction::Retry,
        }
    }
}

/// Longest an L1 JSON-RPC call may take.
pub const L1_CALL_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// A JSON-RPC connection to L1.
#[derive(Clone, Debug)]
pub struct L1Client {
    provider: DynProvider,
    url: String,
}

/// L1 fee levels now.
#[derive(Clone, Copy, Debug, Default)]
pub struct L1Fees {
    pub base_fee: u128,
    pub blob_base_fee: u128,
    pub tip: u128,
}

impl L1Client {
    /// Every request has a deadline: an endpoint that accepts connections and never answers is
    /// an error after [`L1_CALL_TIMEOUT`], not a hang.
    pub fn new(url: &str) -> Result<Self, L1Error> {
        use alloy::transports::http::reqwest;
        let parsed: reqwest::Url = url.parse().map_err(L1Error::rpc)?;
        let http = reqwest::Client::builder()
            .connect_timeout(std::time::Duration::from_secs(10))
            .timeout(L1_CALL_TIMEOUT)
            .build()
            .map_err(L1Error::rpc)?;
        let client = alloy::rpc::client::RpcClient::new_http_with_client(http, parsed);
        let provider = ProviderBuilder::new().connect_client(client).erased();
        Ok(Self { provider, url: url.to_string() })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn provider(&self) -> &DynProvider {
        &self.provider
    }

    pub async fn head(&self) -> Result<u64, L1Error> {
        self.provider.get_block_number().await.map_err(L1Error::rpc)
    }

    pub async fn chain_id(&self) -> Result<u64, L1Error> {
        self.provider.get_chain_id().await.map_err(L1Error::rpc)
    }

    /// Number, hash, time and fees of L1 block `n`.
    pub async fn origin(&self, n: u64) -> Result<(L1Origin, B256), L1Error> {
        let b = self
            .provider
            .get_block_by_number(BlockNumberOrTag::Number(n))
            .await
            .map_err(L1Error::rpc)?
            .ok_or(L1Error::MissingBlock(n))?;
        let h = &b.header;
        let blob_base_fee = h.inner.blob_fee(alloy::eips::eip7840::BlobParams::prague()).unwrap_or(1);
        let origin = L1Origin {
            number: n,
            hash: h.hash,
            timestamp: h.timestamp,
            base_fee: h.base_fee_per_gas.unwrap_or_default() as u128,
            blob_base_fee,
        };
        Ok((origin, h.parent_hash))
    }

    /// Everything derivation needs from L1 block `n`: deposits, the batcher's payloads and forced
    /// transactions, read from the logs of that exact block (by hash, so a reorg cannot mix blocks).
    pub async fn block_data(&self, n: u64, cfg: &RollupConfig) -> Result<L1BlockData, L1Error> {
        let (origin, parent_hash) = self.origin(n).await?;
        let filter = Filter::new().at_block_hash(origin.hash).address(vec![cfg.portal, cfg.inbox]);
        let logs = self.provider.get_logs(&filter).await.map_err(L1Error::rpc)?;
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
                    self.blob_payload(&ev.blobHashes).await?
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

    pub async fn calldata_payload(&self, tx: B256) -> Result<Option<Vec<u8>>, L1Error> {
        let t = self.provider.get_transaction_by_hash(tx).await.map_err(L1Error::rpc)?;
        let Some(t) = t else { return Ok(None) };
        match BatchInbox::submitCall::abi_decode(t.inner.input()) {
            Ok(c) => Ok(Some(c.frames.to_vec())),
            Err(e) => {
                warn!(target: "l1::reader", %tx, error = %e, "inbox call with unreadable calldata");
                Ok(None)
            }
        }
    }

    /// Blob contents by versioned hash: `aqueduct_getBlob` on the embedded L1, anvil's
    /// `anvil_getBlobByHash` otherwise. `None` when one is missing or is not what its hash names.
    pub async fn blobs(&self, hashes: &[B256]) -> Result<Option<Vec<alloy::eips::eip4844::Blob>>, L1Error> {
        let mut blobs = Vec::new();
        for h in hashes {
            let blob: Option<Bytes> = match self.provider.raw_request("aqueduct_getBlob".into(), (h,)).await {
                Ok(b) => b,
                Err(_) => self.provider.raw_request("anvil_getBlobByHash".into(), (h,)).await.map_err(L1Error::rpc)?,
            };
            let Some(blob) = blob else {
                warn!(target: "l1::reader", hash = %h, "blob not available");
                return Ok(None);
            };
            // aqueduct_getBlob answers blob ‖ commitment ‖ proof: check the commitment is the one
            // the versioned hash names, then keep the blob.
            const BLOB: usize = alloy::eips::eip4844::BYTES_PER_BLOB;
            if blob.len() >= BLOB + 48 {
                let commitment = &blob[BLOB..BLOB + 48];
                if alloy::eips::eip4844::kzg_to_versioned_hash(commitment) != *h {
                    warn!(target: "l1::reader", hash = %h, "blob commitment does not match its versioned hash");
                    return Ok(None);
                }
            }
            let Ok(b) = alloy::eips::eip4844::Blob::try_from(&blob[..blob.len().min(BLOB)]) else {
                warn!(target: "l1::reader", hash = %h, len = blob.len(), "blob of the wrong size");
                return Ok(None);
            };
            blobs.push(b);
        }
        Ok(Some(blobs))
    }

    /// The payload blobs carry (in its canonical encoding; anything else is no batch).
    async fn blob_payload(&self, hashes: &[B256]) -> Result<Option<Vec<u8>>, L1Error> {
        let Some(blobs) = self.blobs(hashes).await? else { return Ok(None) };
        let payload = aqueduct_rollup_protocol::blobs_payload(&blobs);
        if payload.is_none() {
            warn!(target: "l1::reader", blobs = blobs.len(), "blobs do not hold a payload in its canonical encoding");
        }
        Ok(payload)
    }

    pub async fn fees(&self) -> Result<L1Fees, L1Error> {
        let (o, _) = self.origin(self.head().await?).await?;
        // Next block's base fee can rise by 1/8: bid for that.
        Ok(L1Fees { base_fee: o.base_fee * 9 / 8 + 1, blob_base_fee: o.blob_base_fee.max(1), tip: 1_000_000_000 })
    }

    pub async fn nonce(&self, a: Address) -> Result<u64, L1Error> {
        self.provider.get_transaction_count(a).pending().await.map_err(L1Error::rpc)
    }

    pub async fn balance(&self, a: Address) -> Result<U256, L1Error> {
        self.provider.get_balance(a).await.map_err(L1Error::rpc)
    }

    pub async fn receipt(&self, tx: B256) -> Result<Option<TransactionReceipt>, L1Error> {
        self.provider.get_transaction_receipt(tx).await.map_err(L1Error::rpc)
    }

    pub async fn send_raw(&self, raw: &[u8]) -> Result<B256, L1Error> {
        let p = self.provider.send_raw_transaction(raw).await.map_err(L1Error::rpc)?;
        Ok(*p.tx_hash())
    }

    /// Reads a contract with `eth_call`.
    pub async fn read<C: SolCall>(&self, to: Address, call: C) -> Result<C::Return, L1Error> {
        let tx = alloy::rpc::types::TransactionRequest::default().to(to).input(call.abi_encode().into());
        let ret = self.provider.call(tx).await.map_err(L1Error::rpc)?;
        C::abi_decode_returns(&ret).map_err(L1Error::rpc)
    }

    /// Simulates `call` from `from` with `eth_call`; a revert comes back with its data.
    pub async fn simulate(&self, from: Address, call: &L1Call) -> Result<(), L1Error> {
        let mut tx = alloy::rpc::types::TransactionRequest::default()
            .from(from)
            .value(call.value)
            .input(call.input.clone().into())
            .gas_limit(call.gas_limit);
        if let TxKind::Call(to) = call.to {
            tx = tx.to(to);
        }
        match self.provider.call(tx).await {
            Ok(_) => Ok(()),
            Err(e) => match e.as_error_resp().and_then(|p| p.as_revert_data()) {
                Some(data) => Err(L1Error::WouldRevert { data }),
                None => Err(L1Error::rpc(e)),
            },
        }
    }

    /// Signs `call` with `signer` (next nonce, current fees) and sends it.
    pub async fn send_call(&self, signer: &PrivateKeySigner, call: &L1Call) -> Result<B256, L1Error> {
        let chain_id = self.chain_id().await?;
        let nonce = self.nonce(signer.address()).await?;
        let fees = self.fees().await?;
        self.send_raw(&sign_1559(signer, chain_id, nonce, fees, call)).await
    }

    /// Waits for a receipt (polling), failing on revert. Mines on a manual L1 are the caller's job.
    pub async fn wait(&self, tx: B256, polls: u32) -> Result<TransactionReceipt, L1Error> {
        for _ in 0..polls {
            if let Some(r) = self.receipt(tx).await? {
                return if r.status() { Ok(r) } else { Err(L1Error::Reverted(tx)) };
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        Err(L1Error::NotMined(tx))
    }
}

/// A transaction to sign for L1.
#[derive(Clone, Debug)]
pub struct L1Call {
    pub to: TxKind,
    pub value: U256,
    pub input: Bytes,
    pub gas_limit: u64,
}

/// Signs an EIP-1559 transaction.
pub fn sign_1559(signer: &PrivateKeySigner, chain_id: u64, nonce: u64, fees: L1Fees, call: &L1Call) -> Bytes {
    let mut tx = TxEip1559 {
        chain_id,
        nonce,
        gas_limit: call.gas_limit,
        max_fee_per_gas: fees.base_fee * 2 + fees.tip,
        max_priority_fee_per_gas: fees.tip,
        to: call.to,
        value: call.value,
        access_list: Default::default(),
        input: call.input.clone(),
    };
    let sig = signer.sign_transaction_sync(&mut tx).expect("local signing");
    TxEnvelope::Eip1559(tx.into_signed(sig)).encoded_2718().into()
}

/// Signs a blob transaction carrying `payload` (SimpleCoder layout) to `to` with `input`.
/// Returns the network form (with sidecar) and the versioned hashes.
pub fn sign_blob_tx(
    signer: &PrivateKeySigner,
    chain_id: u64,
    nonce: u64,
    fees: L1Fees,
    to: Address,
    input: Bytes,
    payload: &[u8],
) -> Result<(Bytes, Vec<B256>), String> {
    let sidecar = aqueduct_rollup_protocol::payload_sidecar(payload)?;
    let hashes: Vec<B256> = sidecar.versioned_hashes().collect();
    let tx = TxEip4844 {
        chain_id,
        nonce,
        gas_limit: 100_000,
        max_fee_per_gas: fees.base_fee * 2 + fees.tip,
        max_priority_fee_per_gas: fees.tip,
        to,
        value: U256::ZERO,
        access_list: Default::default(),
        blob_versioned_hashes: hashes.clone(),
        max_fee_per_blob_gas: fees.blob_base_fee * 2 + 1,
        input,
    };
    let mut v = TxEip4844Variant::TxEip4844WithSidecar(TxEip4844WithSidecar::from_tx_and_sidecar(
        tx,
        BlobTransactionSidecarVariant::Eip4844(sidecar),
    ));
    let sig = signer.sign_transaction_sync(&mut v).map_err(|e| e.to_string())?;
    Ok((TxEnvelope::Eip4844(v.into_signed(sig)).encoded_2718().into(), hashes))
}
