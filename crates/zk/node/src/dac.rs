//! The validium's data availability committee: members that keep each block's pubdata and sign
//! `dacDigest(number, dataHash)` with their secp256k1 key once it is on their disk, and the
//! operator's client for them. A member serves the data back to anyone, unless it withholds it
//! (the attack this design must survive or not).
//!
//! JSON-RPC methods of a member:
//! - `dac_store(number, pubdata)` → `{ dataHash, signature }`: keeps the data, then signs.
//! - `dac_get(dataHash)` → `pubdata` (hex), or an error when the member does not have it or
//!   withholds it.
//! - `dac_status()` → `{ address, stored, withholding }`.
//! - `dac_setWithholding(bool)`: the attack switch (members started with `--withhold` begin on).

use std::{
    net::SocketAddr,
    path::Path,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
};

use alloy::{
    primitives::{Address, B256, Bytes, U256, keccak256},
    signers::{SignerSync, local::PrivateKeySigner},
    sol_types::SolValue,
};
use aqueduct_zk_protocol::data_hash;
use jsonrpsee::{
    core::RpcResult,
    http_client::{HttpClient, HttpClientBuilder},
    proc_macros::rpc,
    server::{Server, ServerHandle},
    types::ErrorObjectOwned,
};
use redb::{Database, Durability, ReadableDatabase, ReadableTableMetadata, TableDefinition};
use serde::{Deserialize, Serialize};

const DATA: TableDefinition<'_, &[u8], &[u8]> = TableDefinition::new("data");

#[derive(Debug, thiserror::Error)]
pub enum DacError {
    /// The member could not be reached or refused (its JSON-RPC error).
    #[error("committee member {url}: {source}")]
    Member { url: String, source: jsonrpsee::core::ClientError },
    /// The member's URL is not one a JSON-RPC client can use.
    #[error("committee member {url}: not a JSON-RPC URL: {source}")]
    BadUrl { url: String, source: Arc<jsonrpsee::core::ClientError> },
    /// The member answered, but not what an honest member answers.
    #[error("committee member {url}: {why}")]
    Misbehaved { url: String, why: &'static str },
    #[error("only {got} committee signatures, {needed} needed")]
    TooFew { got: usize, needed: usize },
    #[error("a committee signature does not recover: {0}")]
    BadSignature(#[from] alloy::primitives::SignatureError),
    #[error("signing the data: {0}")]
    Signing(#[from] alloy::signers::Error),
    #[error("binding {addr}: {source}")]
    Bind { addr: SocketAddr, source: std::io::Error },
    /// This member withholds data (the attack mode).
    #[error("withheld")]
    Withheld,
    #[error("no data under this hash")]
    NotFound,
    #[error("storage: {0}")]
    Db(redb::Error),
    #[error(transparent)]
    Store(#[from] aqueduct_chain::StoreError),
}

fn db(e: impl Into<redb::Error>) -> DacError {
    DacError::Db(e.into())
}

/// What members sign for block `number` of the validium at `rollup` on chain `chain_id` (the
/// contract's `dacDigest`).
pub fn dac_digest(chain_id: u64, rollup: Address, number: u64, data_hash: B256) -> B256 {
    let enc =
        ("aqueduct-dac".to_string(), U256::from(chain_id), rollup, U256::from(number), data_hash).abi_encode_params();
    keccak256(enc)
}

/// Orders signatures by their signer, as L1 requires, dropping duplicates of one signer.
pub fn sort_signatures(digest: B256, sigs: Vec<Vec<u8>>) -> Result<Vec<Vec<u8>>, DacError> {
    let mut signed = Vec::with_capacity(sigs.len());
    for s in sigs {
        let sig = alloy::primitives::Signature::try_from(s.as_slice())?;
        let who = sig.recover_address_from_prehash(&digest)?;
        signed.push((who, s));
    }
    signed.sort_by_key(|(who, _)| *who);
    signed.dedup_by_key(|(who, _)| *who);
    Ok(signed.into_iter().map(|(_, s)| s).collect())
}

/// One committee member.
pub struct DacMember {
    signer: PrivateKeySigner,
    chain_id: u64,
    rollup: Address,
    db: Database,
    withholding: AtomicBool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Stored {
    pub data_hash: B256,
    pub signature: Bytes,
}

impl DacMember {
    pub fn open(signer: PrivateKeySigner, chain_id: u64, rollup: Address, path: &Path) -> Result<Self, DacError> {
        let d = aqueduct_chain::create_database(path)?;
        let tx = d.begin_write().map_err(db)?;
        tx.open_table(DATA).map_err(db)?;
        tx.commit().map_err(db)?;
        Ok(Self { signer, chain_id, rollup, db: d, withholding: AtomicBool::new(false) })
    }

    pub fn address(&self) -> Address {
        self.signer.address()
    }

    pub fn set_withholding(&self, on: bool) {
        self.withholding.store(on, Ordering::SeqCst);
    }

    pub fn withholding(&self) -> bool {
        self.withholding.load(Ordering::SeqCst)
    }

    /// Keeps `pubdata` on disk, then signs its digest for block `number`.
    pub fn store(&self, number: u64, pubdata: &[u8]) -> Result<Stored, DacError> {
        let h = data_hash(pubdata);
        let mut tx = self.db.begin_write().map_err(db)?;
        tx.set_durability(Durability::Immediate).map_err(db)?;
        tx.open_table(DATA).map_err(db)?.insert(h.as_slice(), pubdata).map_err(db)?;
        tx.commit().map_err(db)?;
        let digest = dac_digest(self.chain_id, self.rollup, number, h);
        let sig = self.signer.sign_hash_sync(&digest)?;
        Ok(Stored { data_hash: h, signature: Bytes::from(sig.as_bytes().to_vec()) })
    }

    /// The data behind `hash`, unless this member withholds it.
    pub fn get(&self, hash: &B256) -> Result<Option<Vec<u8>>, DacError> {
        if self.withholding() {
            return Err(DacError::Withheld);
        }
        let tx = self.db.begin_read().map_err(db)?;
        let t = tx.open_table(DATA).map_err(db)?;
        Ok(t.get(hash.as_slice()).map_err(db)?.map(|v| v.value().to_vec()))
    }

    pub fn stored(&self) -> Result<u64, DacError> {
        let tx = self.db.begin_read().map_err(db)?;
        tx.open_table(DATA).map_err(db)?.len().map_err(db)
    }

    /// Serves the member's JSON-RPC (`DacApi`) on `addr`.
    pub async fn serve(self: Arc<Self>, addr: SocketAddr) -> Result<(SocketAddr, ServerHandle), DacError> {
        let server = Server::builder().build(addr).await.map_err(|source| DacError::Bind { addr, source })?;
        let bound = server.local_addr().map_err(|source| DacError::Bind { addr, source })?;
        Ok((bound, server.start(DacRpc(self).into_rpc())))
    }
}

/// What `dac_status` answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DacStatus {
    pub address: Address,
    /// Blocks whose data the member keeps.
    pub stored: u64,
    /// Whether it refuses to serve data (the attack the exodus tests play).
    pub withholding: bool,
}

/// A committee member's JSON-RPC; the operator and exits call it through the generated
/// `DacApiClient` (wrapped by [`DacClient`], which checks what comes back).
#[rpc(server, client, namespace = "dac")]
pub trait DacApi {
    /// Keeps block `number`'s pubdata (durably) and returns the member's signature over its hash.
    #[method(name = "store", blocking)]
    fn store(&self, number: u64, data: Bytes) -> RpcResult<Stored>;

    /// The data under a hash (its SHA-256).
    #[method(name = "get", blocking)]
    fn get(&self, hash: B256) -> RpcResult<Bytes>;

    #[method(name = "status", blocking)]
    fn status(&self) -> RpcResult<DacStatus>;

    /// Starts or stops withholding data (for experiments); returns the new setting.
    #[method(name = "setWithholding")]
    fn set_withholding(&self, on: bool) -> RpcResult<bool>;
}

struct DacRpc(Arc<DacMember>);

fn rpc_error(e: DacError) -> ErrorObjectOwned {
    ErrorObjectOwned::owned(-32000, e.to_string(), None::<()>)
}

impl DacApiServer for DacRpc {
    fn store(&self, number: u64, data: Bytes) -> RpcResult<Stored> {
        self.0.store(number, &data).map_err(rpc_error)
    }

    fn get(&self, hash: B256) -> RpcResult<Bytes> {
        match self.0.get(&hash).map_err(rpc_error)? {
            Some(d) => Ok(Bytes::from(d)),
            None => Err(rpc_error(DacError::NotFound)),
        }
    }

    fn status(&self) -> RpcResult<DacStatus> {
        let m = &self.0;
        Ok(DacStatus { address: m.address(), stored: m.stored().map_err(rpc_error)?, withholding: m.withholding() })
    }

    fn set_withholding(&self, on: bool) -> RpcResult<bool> {
        self.0.set_withholding(on);
        Ok(on)
    }
}

/// The operator's (and anyone's) handle on one member, over JSON-RPC: the generated client,
/// with what comes back checked against what was asked.
#[derive(Clone, Debug)]
pub struct DacClient {
    url: String,
    rpc: Result<HttpClient, Arc<jsonrpsee::core::ClientError>>,
}

impl DacClient {
    pub fn new(url: impl Into<String>) -> Self {
        let url = url.into();
        let rpc = HttpClientBuilder::default()
            .request_timeout(std::time::Duration::from_secs(30))
            .build(&url)
            .map_err(Arc::new);
        Self { url, rpc }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    fn fail(&self, source: jsonrpsee::core::ClientError) -> DacError {
        DacError::Member { url: self.url.clone(), source }
    }

    fn misbehaved(&self, why: &'static str) -> DacError {
        DacError::Misbehaved { url: self.url.clone(), why }
    }

    fn rpc(&self) -> Result<&HttpClient, DacError> {
        self.rpc.as_ref().map_err(|e| DacError::BadUrl { url: self.url.clone(), source: e.clone() })
    }

    /// Hands the member block `number`'s pubdata; returns its signature.
    pub async fn store(&self, number: u64, pubdata: &[u8]) -> Result<Vec<u8>, DacError> {
        let s =
            DacApiClient::store(self.rpc()?, number, Bytes::from(pubdata.to_vec())).await.map_err(|e| self.fail(e))?;
        let expected = data_hash(pubdata);
        if s.data_hash != expected {
            return Err(self.misbehaved("signed another data hash"));
        }
        Ok(s.signature.to_vec())
    }

    /// The data under `hash`, checked against it.
    pub async fn get(&self, hash: &B256) -> Result<Vec<u8>, DacError> {
        let d = DacApiClient::get(self.rpc()?, *hash).await.map_err(|e| self.fail(e))?;
        if data_hash(&d) != *hash {
            return Err(self.misbehaved("served data that does not match its hash"));
        }
        Ok(d.to_vec())
    }

    /// The member's address, how many blocks it keeps and whether it withholds.
    pub async fn status(&self) -> Result<DacStatus, DacError> {
        DacApiClient::status(self.rpc()?).await.map_err(|e| self.fail(e))
    }

    pub async fn set_withholding(&self, on: bool) -> Result<(), DacError> {
        DacApiClient::set_withholding(self.rpc()?, on).await.map(|_| ()).map_err(|e| self.fail(e))
    }
}
