//! The operator as a service: a loop that follows L1 and settles blocks, and the JSON-RPC on which
//! wallets and the CLI reach it (127.0.0.1:9546 in the devnet).
//!
//! Methods (amounts are decimal strings, field elements 0x-hex):
//! - `zk_config()` → `{ rollup, domain, slots, accountLevels, balanceLevels, validium }`
//! - `zk_status()` → `{ root, blocks, pending, accounts }`
//! - `zk_getAccount(index | address)` → `{ index, address, nonce, nextNonce, pubkeyHash,
//!   balances: { token: amount } }` or `null`
//! - `zk_sendTransaction(tx)` → `{ seq }` once the transaction is on disk; a transaction that does
//!   not apply is refused with code -32602 and the reason
//! - `zk_getBlock(n)` → the verified block's record (root, gas, L1 transactions) or `null`

use std::{collections::BTreeMap, net::SocketAddr, sync::Arc, time::Duration};

use alloy::primitives::Address;
use aqueduct_zk_protocol::{F, SignedTx};
use jsonrpsee::{
    core::{RpcResult, async_trait},
    http_client::{HttpClient, HttpClientBuilder},
    proc_macros::rpc,
    server::ServerHandle,
    types::ErrorObjectOwned,
};
use serde::{Deserialize, Serialize};
use tokio::{sync::Mutex, task::JoinHandle};

use aqueduct_service::{CancellationToken, Halt};

use crate::{
    operator::{Operator, SubmitError},
    pipeline::{Pipeline, PipelineConfig},
    store::BlockRecord,
};

/// `zk_config`'s answer: what a wallet needs to sign and to find the rollup on L1.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ZkConfig {
    pub rollup: Address,
    /// The signature domain (transactions signed for another rollup do not apply here).
    pub domain: u64,
    /// Transactions a block holds.
    pub slots: usize,
    pub account_levels: usize,
    pub balance_levels: usize,
    pub validium: bool,
}

/// `zk_status`'s answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ZkStatus {
    /// The state root after every acknowledged transaction (0x-hex field element).
    #[serde(with = "aqueduct_zk_protocol::fe")]
    pub root: F,
    /// Blocks verified on L1.
    pub blocks: u64,
    /// Transactions acknowledged and not yet in a verified block.
    pub pending: usize,
    pub accounts: usize,
}

/// An L2 account as `zk_getAccount` shows it (balances by token id, decimal strings).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ZkAccount {
    pub index: u32,
    pub address: Address,
    /// The nonce in the state root.
    pub nonce: u32,
    /// The nonce the account's next transaction takes (after those waiting).
    pub next_nonce: u32,
    #[serde(with = "aqueduct_zk_protocol::fe")]
    pub pubkey_hash: F,
    pub balances: BTreeMap<u8, String>,
}

/// `zk_sendTransaction`'s answer: the transaction's place in the operator's queue, given once it
/// is on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Submitted {
    pub seq: u64,
}

/// An account named by its index in the tree (a JSON number) or its L1 address (a string).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountRef {
    Index(u32),
    Address(Address),
}

impl Serialize for AccountRef {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Index(i) => s.serialize_u32(*i),
            Self::Address(a) => a.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for AccountRef {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        match serde_json::Value::deserialize(d)? {
            serde_json::Value::Number(n) => n
                .as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .map(Self::Index)
                .ok_or_else(|| D::Error::custom(format!("bad index {n}"))),
            serde_json::Value::String(s) => {
                s.parse().map(Self::Address).map_err(|_| D::Error::custom(format!("{s} is not an address")))
            }
            _ => Err(D::Error::custom("an account index or an L1 address")),
        }
    }
}

/// The operator's JSON-RPC; wallets and the CLI use the generated [`ZkApiClient`].
#[rpc(server, client, namespace = "zk")]
pub trait ZkApi {
    #[method(name = "config")]
    fn config(&self) -> RpcResult<ZkConfig>;

    #[method(name = "status")]
    async fn status(&self) -> RpcResult<ZkStatus>;

    /// The account, or `null` when there is none.
    #[method(name = "getAccount")]
    async fn get_account(&self, who: AccountRef) -> RpcResult<Option<ZkAccount>>;

    /// Queues a signed transaction; refused (-32602, with the reason) when it does not apply on
    /// top of what the sender already has waiting.
    #[method(name = "sendTransaction")]
    async fn send_transaction(&self, tx: SignedTx) -> RpcResult<Submitted>;

    /// A block verified on L1, or `null`.
    #[method(name = "getBlock")]
    async fn get_block(&self, number: u64) -> RpcResult<Option<BlockRecord>>;
}

/// A client of the operator's JSON-RPC at `url` (`http://host:port`).
pub fn zk_client(url: &str) -> Result<HttpClient, jsonrpsee::core::client::Error> {
    HttpClientBuilder::default().build(url)
}

fn bad(e: impl ToString) -> ErrorObjectOwned {
    ErrorObjectOwned::owned(-32602, e.to_string(), None::<()>)
}

fn internal(e: impl ToString) -> ErrorObjectOwned {
    ErrorObjectOwned::owned(-32603, e.to_string(), None::<()>)
}

struct ZkRpc {
    operator: Arc<Mutex<Operator>>,
    config: ZkConfig,
    halt: Halt,
}

#[async_trait]
impl ZkApiServer for ZkRpc {
    fn config(&self) -> RpcResult<ZkConfig> {
        Ok(self.config.clone())
    }

    async fn status(&self) -> RpcResult<ZkStatus> {
        let op = self.operator.lock().await;
        Ok(ZkStatus {
            root: op.state().root(),
            blocks: op.blocks(),
            pending: op.pending(),
            accounts: op.state().accounts().len(),
        })
    }

    async fn get_account(&self, who: AccountRef) -> RpcResult<Option<ZkAccount>> {
        let op = self.operator.lock().await;
        let index = match who {
            AccountRef::Index(i) => i,
            AccountRef::Address(a) => match op.state().index_of(a) {
                Some(i) => i,
                None => return Ok(None),
            },
        };
        let Some(acc) = op.state().account(index) else { return Ok(None) };
        Ok(Some(ZkAccount {
            index,
            address: acc.address,
            nonce: acc.nonce,
            next_nonce: op.next_nonce(index),
            pubkey_hash: acc.pubkey_hash,
            balances: acc.balances.iter().map(|(t, a)| (*t, a.to_string())).collect(),
        }))
    }

    async fn send_transaction(&self, tx: SignedTx) -> RpcResult<Submitted> {
        match self.operator.lock().await.submit(tx) {
            Ok(seq) => Ok(Submitted { seq }),
            Err(e @ (SubmitError::Invalid(_) | SubmitError::TooMany { .. })) => Err(bad(e)),
            // Not acknowledged, and the operator stops: what is on disk is all it holds.
            Err(e @ SubmitError::Store(_)) => {
                let why = self.halt.halt(format!(
                    "zk operator stopped: storing a transaction failed ({e}); restart it once the disk is fixed"
                ));
                tracing::error!(target: "zk::operator", "{why}");
                Err(internal(e))
            }
        }
    }

    async fn get_block(&self, number: u64) -> RpcResult<Option<BlockRecord>> {
        self.operator.lock().await.block(number).map_err(internal)
    }
}

/// A running operator: its settlement loop and its JSON-RPC.
pub struct ZkService {
    pub operator: Arc<Mutex<Operator>>,
    pub rpc_addr: SocketAddr,
    /// Stopped, with why, on a critical error (a failed write): the loop and JSON-RPC stop with it.
    pub halt: Halt,
    server: ServerHandle,
    cancel: CancellationToken,
    task: JoinHandle<()>,
}

impl ZkService {
    pub async fn stop(self) {
        // A block in the middle of proving or landing is on disk as in flight: a restart resumes it.
        self.cancel.cancel();
        self.task.abort();
        let _ = self.task.await;
        let _ = self.server.stop();
        self.server.stopped().await;
    }
}

/// Runs `operator`: settles a block whenever something waits (priority requests first), polling
/// L1 every `poll`; serves JSON-RPC on `addr`. The settlement loop is the default [`Pipeline`].
pub async fn serve_rpc(operator: Operator, addr: SocketAddr, poll: Duration) -> Result<ZkService, std::io::Error> {
    serve_rpc_with(operator, addr, poll, PipelineConfig::default()).await
}

/// [`serve_rpc`] with a given pipeline.
pub async fn serve_rpc_with(
    operator: Operator,
    addr: SocketAddr,
    poll: Duration,
    pipeline: PipelineConfig,
) -> Result<ZkService, std::io::Error> {
    let config = {
        let settler = operator.settler();
        let p = settler.prover().params;
        ZkConfig {
            rollup: operator.rollup(),
            domain: p.domain,
            slots: p.slots,
            account_levels: p.shape.account_levels,
            balance_levels: p.shape.balance_levels,
            validium: settler.validium(),
        }
    };
    let operator = Arc::new(Mutex::new(operator));
    let halt = Halt::new();
    let module = ZkRpc { operator: operator.clone(), config, halt: halt.clone() }.into_rpc();
    let (server, rpc_addr) = aqueduct_chain::rpc::serve_module(addr, module, MAX_REQUEST_BYTES).await?;
    let cancel = CancellationToken::new();
    let task = {
        let settle = Pipeline::new(operator.clone(), pipeline).await;
        let (cancel, halt, server) = (cancel.clone(), halt.clone(), server.clone());
        tokio::spawn(async move {
            aqueduct_service::run(settle, poll, cancel, halt.clone()).await;
            // Stopped by a critical error (here or in a submission): no client reads a state the
            // store does not hold.
            if halt.is_halted() {
                let _ = server.stop();
            }
        })
    };
    Ok(ZkService { operator, rpc_addr, halt, server, cancel, task })
}

/// Largest request the operator's JSON-RPC reads (jsonrpsee's default).
const MAX_REQUEST_BYTES: u32 = 10 * 1024 * 1024;
