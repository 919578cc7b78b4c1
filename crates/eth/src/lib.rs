//! One Ethereum JSON-RPC client for every service (DESIGN D2): the rollup's nodes, the ZK operator,
//! channel nodes and towers, benches, attacks and the CLI reach L1 through it, so the same code
//! follows the embedded devnet, anvil or a real network. Family-specific reads (a rollup's
//! derivation data) are extension traits in the family's own crate.

use alloy::{
    consensus::{SignableTransaction, TxEip1559, TxEnvelope},
    eips::eip2718::Encodable2718,
    network::{TransactionBuilder, TxSignerSync},
    primitives::{Address, B256, Bytes, TxKind, U256},
    providers::{
        DynProvider, PendingTransactionBuilder, PendingTransactionError, Provider, ProviderBuilder, WatchTxError,
    },
    rpc::{
        client::RpcClient,
        types::{TransactionReceipt, TransactionRequest},
    },
    signers::local::PrivateKeySigner,
    sol_types::SolCall,
};
use tracing::warn;

/// Why an endpoint's URL does not parse (the `url` crate's error, as reqwest uses it).
pub type UrlError = <alloy::transports::http::reqwest::Url as std::str::FromStr>::Err;

/// What went wrong talking to a chain over JSON-RPC. The client serves L1 and, for the bridge's
/// withdrawals, L2 too: the messages name no chain, the caller's context does.
#[derive(Debug, thiserror::Error)]
pub enum L1Error {
    /// The endpoint failed, timed out or answered with an error: alloy's transport error.
    #[error("JSON-RPC: {0}")]
    Rpc(#[from] alloy::transports::TransportError),
    /// The endpoint's HTTP client cannot be built.
    #[error("the HTTP client for {url}: {source}")]
    Http { url: String, source: alloy::transports::http::reqwest::Error },
    /// The endpoint's URL does not parse.
    #[error("invalid endpoint URL {url:?}: {source}")]
    Url { url: String, source: UrlError },
    /// The answer does not decode as the call's return type.
    #[error("decoding the answer: {0}")]
    Decode(#[from] alloy::sol_types::Error),
    /// Waiting for a receipt failed other than by its timeout.
    #[error("waiting for transaction {tx}: {source}")]
    Pending { tx: B256, source: PendingTransactionError },
    /// A creation landed elsewhere than its nonce said (another transaction took the nonce).
    #[error("a creation landed at {got:?}, expected {want}: the deployer's nonce was used by another transaction")]
    Creation { want: Address, got: Option<Address> },
    /// A mined creation's receipt names no contract address.
    #[error("creation {0} names no contract address")]
    NoAddress(B256),
    /// A mined transaction lacks the event its call always emits: the address holds another
    /// contract than the caller thinks.
    #[error("transaction {tx} emitted no {event}")]
    MissingEvent { tx: B256, event: &'static str },
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

impl aqueduct_primitives::Classify for L1Error {
    /// The anchor gone is final; an unreachable or lagging endpoint, a transaction not yet mined
    /// or one that reverted (state may change) are worth another try.
    fn next_action(&self) -> aqueduct_primitives::NextAction {
        match self {
            Self::AnchorReorged(_) => aqueduct_primitives::NextAction::Stop,
            // A bad endpoint, another contract at the address or a nonce taken: retrying
            // repeats it.
            Self::Http { .. }
            | Self::Url { .. }
            | Self::Creation { .. }
            | Self::NoAddress(_)
            | Self::MissingEvent { .. } => aqueduct_primitives::NextAction::Stop,
            _ => aqueduct_primitives::NextAction::Retry,
        }
    }
}

/// Longest a service waits for a transaction's receipt (ten 12-second slots).
pub const RECEIPT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(120);

/// Longest an L1 JSON-RPC call may take.
pub const L1_CALL_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// A JSON-RPC connection to L1: alloy's provider stack (nonce, gas and chain-id fillers; a
/// wallet filler per signer), receipts awaited with alloy's pending-transaction builder.
#[derive(Clone, Debug)]
pub struct L1Client {
    provider: DynProvider,
    client: RpcClient,
    url: String,
}

/// L1 fee levels now.
#[derive(Clone, Copy, Debug, Default)]
pub struct L1Fees {
    pub base_fee: u128,
    pub blob_base_fee: u128,
    pub tip: u128,
}

impl L1Fees {
    /// Prices `tx` at these levels: twice the base fee plus the tip, the tip, and (for a blob
    /// transaction) twice the blob base fee.
    pub fn price(&self, tx: TransactionRequest) -> TransactionRequest {
        let blobs = tx.sidecar.is_some();
        let mut tx = tx.with_max_fee_per_gas(self.base_fee * 2 + self.tip).with_max_priority_fee_per_gas(self.tip);
        if blobs && tx.max_fee_per_blob_gas.is_none() {
            tx.max_fee_per_blob_gas = Some(self.blob_base_fee * 2 + 1);
        }
        tx
    }
}

impl L1Client {
    /// Every request has a deadline: an endpoint that accepts connections and never answers is
    /// an error after [`L1_CALL_TIMEOUT`], not a hang.
    pub fn new(url: &str) -> Result<Self, L1Error> {
        use alloy::transports::http::reqwest;
        let parsed: reqwest::Url = url.parse().map_err(|source| L1Error::Url { url: url.to_string(), source })?;
        let http = reqwest::Client::builder()
            .connect_timeout(std::time::Duration::from_secs(10))
            .timeout(L1_CALL_TIMEOUT)
            .build()
            .map_err(|source| L1Error::Http { url: url.to_string(), source })?;
        let client = RpcClient::new_http_with_client(http, parsed);
        // Receipts and new blocks are polled at this pace: quick on a local devnet (instant
        // mining answers within one poll), once a second elsewhere (12 s slots).
        client.set_poll_interval(if client.is_local() {
            std::time::Duration::from_millis(50)
        } else {
            std::time::Duration::from_secs(1)
        });
        let provider = ProviderBuilder::new().connect_client(client.clone()).erased();
        Ok(Self { provider, client, url: url.to_string() })
    }

    /// The provider that signs as `signer`: alloy's recommended fillers (nonce, gas, chain id,
    /// blob gas) and a wallet filler over the same connection.
    pub fn signing(&self, signer: &PrivateKeySigner) -> DynProvider {
        ProviderBuilder::new().wallet(signer.clone()).connect_client(self.client.clone()).erased()
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn provider(&self) -> &DynProvider {
        &self.provider
    }

    pub async fn head(&self) -> Result<u64, L1Error> {
        self.provider.get_block_number().await.map_err(L1Error::Rpc)
    }

    pub async fn chain_id(&self) -> Result<u64, L1Error> {
        self.provider.get_chain_id().await.map_err(L1Error::Rpc)
    }

    /// Number, hash, parent hash, time, base fee and blob base fee of L1 block `n`.
    pub async fn header(&self, n: u64) -> Result<BlockHeader, L1Error> {
        let b = self
            .provider
            .get_block_by_number(alloy::eips::BlockNumberOrTag::Number(n))
            .await
            .map_err(L1Error::Rpc)?
            .ok_or(L1Error::MissingBlock(n))?;
        let h = &b.header;
        Ok(BlockHeader {
            number: n,
            hash: h.hash,
            parent_hash: h.parent_hash,
            timestamp: h.timestamp,
            base_fee: h.base_fee_per_gas.unwrap_or_default() as u128,
            blob_base_fee: h.inner.blob_fee(alloy::eips::eip7840::BlobParams::prague()).unwrap_or(1),
        })
    }

    /// Blob contents by versioned hash: `aqueduct_getBlob` on the embedded L1, anvil's
    /// `anvil_getBlobByHash` otherwise. `None` when one is missing or is not what its hash names.
    pub async fn blobs(&self, hashes: &[B256]) -> Result<Option<Vec<alloy::eips::eip4844::Blob>>, L1Error> {
        let mut blobs = Vec::new();
        for h in hashes {
            let blob: Option<Bytes> = match self.provider.raw_request("aqueduct_getBlob".into(), (h,)).await {
                Ok(b) => b,
                Err(_) => self.provider.raw_request("anvil_getBlobByHash".into(), (h,)).await.map_err(L1Error::Rpc)?,
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

    pub async fn fees(&self) -> Result<L1Fees, L1Error> {
        let o = self.header(self.head().await?).await?;
        // Next block's base fee can rise by 1/8: bid for that.
        Ok(L1Fees { base_fee: o.base_fee * 9 / 8 + 1, blob_base_fee: o.blob_base_fee.max(1), tip: 1_000_000_000 })
    }

    pub async fn nonce(&self, a: Address) -> Result<u64, L1Error> {
        self.provider.get_transaction_count(a).pending().await.map_err(L1Error::Rpc)
    }

    pub async fn balance(&self, a: Address) -> Result<U256, L1Error> {
        self.provider.get_balance(a).await.map_err(L1Error::Rpc)
    }

    pub async fn receipt(&self, tx: B256) -> Result<Option<TransactionReceipt>, L1Error> {
        self.provider.get_transaction_receipt(tx).await.map_err(L1Error::Rpc)
    }

    pub async fn send_raw(&self, raw: &[u8]) -> Result<B256, L1Error> {
        let p = self.provider.send_raw_transaction(raw).await.map_err(L1Error::Rpc)?;
        Ok(*p.tx_hash())
    }

    /// Reads a contract with `eth_call`.
    pub async fn read<C: SolCall>(&self, to: Address, call: C) -> Result<C::Return, L1Error> {
        let tx = alloy::rpc::types::TransactionRequest::default().to(to).input(call.abi_encode().into());
        let ret = self.provider.call(tx).await.map_err(L1Error::Rpc)?;
        Ok(C::abi_decode_returns(&ret)?)
    }

    /// Reads a contract with `eth_call` at the latest block: what is mined, not what a node's
    /// pending block holds (anvil answers `read` from its pending block).
    pub async fn read_latest<C: SolCall>(&self, to: Address, call: C) -> Result<C::Return, L1Error> {
        let tx = alloy::rpc::types::TransactionRequest::default().to(to).input(call.abi_encode().into());
        let ret = self.provider.call(tx).block(alloy::eips::BlockId::latest()).await.map_err(L1Error::Rpc)?;
        Ok(C::abi_decode_returns(&ret)?)
    }

    /// Simulates `call` from `from` with `eth_call`; a revert comes back with its data.
    pub async fn simulate(&self, from: Address, call: &L1Call) -> Result<(), L1Error> {
        self.simulate_request(from, call.request(L1Fees::default())).await
    }

    /// Simulates a transaction request (a `sol!` call builder's) from `from` with `eth_call`;
    /// a revert comes back with its data.
    pub async fn simulate_request(&self, from: Address, tx: TransactionRequest) -> Result<(), L1Error> {
        let mut tx = tx.from(from);
        // A simulation pays no fees: the caller's balance is checked against the value only.
        tx.max_fee_per_gas = None;
        tx.max_priority_fee_per_gas = None;
        tx.sidecar = None;
        match self.provider.call(tx).await {
            Ok(_) => Ok(()),
            Err(e) => match e.as_error_resp().and_then(|p| p.as_revert_data()) {
                Some(data) => Err(L1Error::WouldRevert { data }),
                None => Err(L1Error::Rpc(e)),
            },
        }
    }

    /// Signs `call` as `signer` and sends it: the signing provider's fillers choose the nonce
    /// and chain id; the fees are [`L1Client::fees`] (the next block's base fee, doubled, plus
    /// a 1 gwei tip), the gas limit the call's own.
    pub async fn send_call(&self, signer: &PrivateKeySigner, call: &L1Call) -> Result<B256, L1Error> {
        let fees = self.fees().await?;
        self.send_request(signer, call.request(fees)).await
    }

    /// Signs and sends a transaction request as `signer` — typically a `sol!` contract
    /// instance's call (`.into_transaction_request()`): an unpriced one gets [`L1Client::fees`],
    /// the fillers the nonce, chain id and (when none is set) a gas estimate.
    pub async fn send_request(&self, signer: &PrivateKeySigner, mut tx: TransactionRequest) -> Result<B256, L1Error> {
        if tx.max_fee_per_gas.is_none() && tx.gas_price.is_none() {
            tx = self.fees().await?.price(tx);
        }
        let pending = self.signing(signer).send_transaction(tx).await.map_err(L1Error::Rpc)?;
        Ok(*pending.tx_hash())
    }

    /// Simulates `tx` as `signer` (a refusal comes back by name, not as a wasted transaction),
    /// sends it and waits for its receipt.
    pub async fn transact(
        &self,
        signer: &PrivateKeySigner,
        tx: TransactionRequest,
    ) -> Result<TransactionReceipt, L1Error> {
        self.simulate_request(signer.address(), tx.clone()).await?;
        let hash = self.send_request(signer, tx).await?;
        self.wait(hash).await
    }

    /// Waits up to [`RECEIPT_TIMEOUT`] for a receipt, failing on revert. Mines on a manual L1 are
    /// the caller's job.
    pub async fn wait(&self, tx: B256) -> Result<TransactionReceipt, L1Error> {
        self.wait_within(tx, RECEIPT_TIMEOUT).await
    }

    /// Waits up to `timeout` for a receipt with alloy's pending-transaction builder (it asks for
    /// the receipt every poll interval as well as watching new blocks, so a transaction mined
    /// before the wait began is found at once), failing on revert.
    pub async fn wait_within(&self, tx: B256, timeout: std::time::Duration) -> Result<TransactionReceipt, L1Error> {
        let receipt = PendingTransactionBuilder::new(self.provider.root().clone(), tx)
            .with_timeout(Some(timeout))
            .get_receipt()
            .await
            .map_err(|e| match e {
                PendingTransactionError::TxWatcher(WatchTxError::Timeout) => L1Error::NotMined(tx),
                source => L1Error::Pending { tx, source },
            })?;
        if receipt.status() { Ok(receipt) } else { Err(L1Error::Reverted(tx)) }
    }
}

/// One mined L1 transaction, as a service reports it: hash, gas used, block.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Sent {
    pub tx: B256,
    pub gas: u64,
    pub l1_block: u64,
}

impl From<&TransactionReceipt> for Sent {
    fn from(r: &TransactionReceipt) -> Self {
        Self { tx: r.transaction_hash, gas: r.gas_used, l1_block: r.block_number.unwrap_or(0) }
    }
}

impl L1Error {
    /// The contract's custom error when L1 refused a call with one of `E`'s.
    pub fn revert_as<E: alloy::sol_types::SolInterface>(&self) -> Option<E> {
        match self {
            Self::WouldRevert { data } => E::abi_decode(data).ok(),
            _ => None,
        }
    }
}

/// What services read of an L1 block header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockHeader {
    pub number: u64,
    pub hash: B256,
    pub parent_hash: B256,
    pub timestamp: u64,
    pub base_fee: u128,
    pub blob_base_fee: u128,
}

/// A transaction to sign for L1.
#[derive(Clone, Debug)]
pub struct L1Call {
    pub to: TxKind,
    pub value: U256,
    pub input: Bytes,
    pub gas_limit: u64,
}

impl L1Call {
    /// The request alloy's signing provider completes (nonce, chain id) and signs.
    pub fn request(&self, fees: L1Fees) -> TransactionRequest {
        let mut tx = fees.price(
            TransactionRequest::default()
                .with_value(self.value)
                .with_input(self.input.clone())
                .with_gas_limit(self.gas_limit),
        );
        match self.to {
            TxKind::Call(to) => tx.set_to(to),
            TxKind::Create => tx.set_create(),
        }
        tx
    }
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

/// Sends creations (`sol!` deploy builders' requests) with consecutive nonces at once from
/// `deployer` starting at `nonce`, waits for each and checks each landed at its address in
/// `want`. Returns the L1 block of the last.
pub async fn create_all(
    l1: &L1Client,
    deployer: &PrivateKeySigner,
    nonce: u64,
    creations: Vec<TransactionRequest>,
    want: &[Address],
) -> Result<u64, L1Error> {
    let fees = l1.fees().await?;
    let mut hashes = Vec::new();
    for (i, c) in creations.into_iter().enumerate() {
        // The addresses are fixed by these nonces: set them, not left to the filler.
        hashes.push(l1.send_request(deployer, fees.price(c).with_nonce(nonce + i as u64)).await?);
    }
    let mut last = 0;
    for (h, want) in hashes.into_iter().zip(want) {
        let r = l1.wait(h).await?;
        if r.contract_address != Some(*want) {
            return Err(L1Error::Creation { want: *want, got: r.contract_address });
        }
        last = last.max(r.block_number.unwrap_or_default());
    }
    Ok(last)
}
