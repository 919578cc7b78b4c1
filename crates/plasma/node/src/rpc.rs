//! The operator as a service: its block loop (deposits from L1, a child block every interval,
//! roots resent until L1 holds them) and its JSON-RPC (127.0.0.1:9548 in the devnet).
//!
//! Methods (amounts are decimal strings; bytes 0x-hex):
//! - `plasma_status()` → `{ contract, chainId, operator, blocks, lastBlock, deposits, pending, utxos, unsubmitted }`
//! - `plasma_sendTransaction(tx, sigs)` → `{ seq, hash }` once the payment is on disk; one that
//!   does not apply is refused with code -32602 and the reason
//! - `plasma_getBlock(n)` → `{ root, txs: [{ tx, sigs }] }` or `null`; a withheld block is -32001
//! - `plasma_getInclusion(position)` → `{ tx, sigs, position, proof }` or `null`
//! - `plasma_getTransaction(hash)` → the position of its output 0, or `null`
//! - `plasma_getUtxos(owner)` → `[{ position, owner, token, amount, txHash }]`

use std::{net::SocketAddr, sync::Arc, time::Duration};

use alloy::primitives::{Address, B256, Bytes};
use aqueduct_plasma_protocol::{Included, Position, SignedTx, Utxo};
use aqueduct_service::{CancellationToken, Halt, Progress, Service};
use jsonrpsee::{
    core::{RpcResult, async_trait},
    http_client::{HttpClient, HttpClientBuilder},
    proc_macros::rpc,
    server::ServerHandle,
    types::ErrorObjectOwned,
};
use serde::{Deserialize, Serialize};
use tokio::{sync::Mutex, task::JoinHandle};
use tracing::info;

use crate::{
    error::PlasmaError,
    operator::{Operator, Status},
    store::{DepositRecord, Submitted as Landed},
};

/// A transaction and its concatenated signatures, as the contract takes them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxBytes {
    pub tx: Bytes,
    pub sigs: Bytes,
}

impl From<&SignedTx> for TxBytes {
    fn from(t: &SignedTx) -> Self {
        Self { tx: t.tx.encode(), sigs: t.sig_bytes() }
    }
}

/// `plasma_getBlock`'s answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockView {
    pub root: B256,
    pub txs: Vec<TxBytes>,
}

/// `plasma_getInclusion`'s answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InclusionView {
    pub tx: Bytes,
    pub sigs: Bytes,
    /// The position of the transaction's output 0.
    pub position: u64,
    pub proof: Vec<B256>,
}

impl From<&Included> for InclusionView {
    fn from(i: &Included) -> Self {
        Self { tx: i.tx.tx.encode(), sigs: i.tx.sig_bytes(), position: i.position.0, proof: i.proof.clone() }
    }
}

impl InclusionView {
    /// Decodes what the operator served (a client checks it against L1's root before use).
    pub fn decode(&self) -> Result<Included, aqueduct_plasma_protocol::TxError> {
        Ok(Included {
            tx: SignedTx::decode(&self.tx, &self.sigs)?,
            position: Position(self.position),
            proof: self.proof.clone(),
        })
    }
}

/// `plasma_sendTransaction`'s answer: the payment's place in the queue, given once it is on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Accepted {
    pub seq: u64,
    pub hash: B256,
}

/// The operator's JSON-RPC; wallets, watchers and the CLI use the generated [`PlasmaApiClient`].
#[rpc(server, client, namespace = "plasma")]
pub trait PlasmaApi {
    #[method(name = "status")]
    async fn status(&self) -> RpcResult<Status>;

    #[method(name = "sendTransaction")]
    async fn send_transaction(&self, tx: Bytes, sigs: Bytes) -> RpcResult<Accepted>;

    #[method(name = "getBlock")]
    async fn get_block(&self, number: u64) -> RpcResult<Option<BlockView>>;

    #[method(name = "getInclusion")]
    async fn get_inclusion(&self, position: u64) -> RpcResult<Option<InclusionView>>;

    #[method(name = "getTransaction")]
    async fn get_transaction(&self, hash: B256) -> RpcResult<Option<u64>>;

    #[method(name = "getUtxos")]
    async fn get_utxos(&self, owner: Address) -> RpcResult<Vec<Utxo>>;
}

/// A client of an operator's JSON-RPC at `url`.
pub fn plasma_client(url: &str) -> Result<HttpClient, jsonrpsee::core::client::Error> {
    HttpClientBuilder::default().request_timeout(Duration::from_secs(30)).build(url)
}

fn rpc_error(e: PlasmaError) -> ErrorObjectOwned {
    let code = match e {
        PlasmaError::Refused(_) | PlasmaError::Malformed(_) | PlasmaError::SpentInPending(_) => -32602,
        PlasmaError::Withheld(_) => -32001,
        PlasmaError::Full(_) => -32005,
        _ => -32603,
    };
    ErrorObjectOwned::owned(code, e.to_string(), None::<()>)
}

struct PlasmaRpc {
    operator: Arc<Mutex<Operator>>,
}

#[async_trait]
impl PlasmaApiServer for PlasmaRpc {
    async fn status(&self) -> RpcResult<Status> {
        Ok(self.operator.lock().await.status())
    }

    async fn send_transaction(&self, tx: Bytes, sigs: Bytes) -> RpcResult<Accepted> {
        let signed = SignedTx::decode(&tx, &sigs).map_err(|e| rpc_error(e.into()))?;
        let (seq, hash) = self.operator.lock().await.submit(signed).map_err(rpc_error)?;
        Ok(Accepted { seq, hash })
    }

    async fn get_block(&self, number: u64) -> RpcResult<Option<BlockView>> {
        let b = self.operator.lock().await.block(number).map_err(rpc_error)?;
        Ok(b.map(|(root, txs)| BlockView { root, txs: txs.iter().map(TxBytes::from).collect() }))
    }

    async fn get_inclusion(&self, position: u64) -> RpcResult<Option<InclusionView>> {
        let i = self.operator.lock().await.inclusion(Position(position)).map_err(rpc_error)?;
        Ok(i.as_ref().map(InclusionView::from))
    }

    async fn get_transaction(&self, hash: B256) -> RpcResult<Option<u64>> {
        Ok(self.operator.lock().await.position_of(&hash).map(|p| p.0))
    }

    async fn get_utxos(&self, owner: Address) -> RpcResult<Vec<Utxo>> {
        Ok(self.operator.lock().await.utxos_of(owner))
    }
}

/// Deposit numbers used since the last child block that make the operator submit an empty one.
const DEPOSITS_BEFORE_EMPTY_BLOCK: u64 = 800;

/// The block loop: deposits, roots still to land, and a new block every interval.
pub struct BlockLoop {
    operator: Arc<Mutex<Operator>>,
    interval: Duration,
    last_seal: tokio::time::Instant,
}

impl BlockLoop {
    pub fn new(operator: Arc<Mutex<Operator>>, interval: Duration) -> Self {
        Self { operator, interval, last_seal: tokio::time::Instant::now() }
    }

    async fn sync_deposits(&self) -> Result<(), PlasmaError> {
        let (l1, scanned) = {
            let op = self.operator.lock().await;
            (op.l1.clone(), op.scanned())
        };
        let head = l1.l1.head().await?;
        if head < scanned {
            return Ok(());
        }
        let found = l1.deposits(scanned, head).await?;
        let records = found
            .into_iter()
            .map(|d| DepositRecord { block: d.block, owner: d.owner, token: d.token, amount: d.amount })
            .collect();
        self.operator.lock().await.add_deposits(records, head + 1)
    }

    /// Sends every built block L1 does not hold yet, in order.
    async fn land(&self) -> Result<(), PlasmaError> {
        let (l1, waiting) = {
            let op = self.operator.lock().await;
            (op.l1.clone(), op.unsubmitted())
        };
        for b in waiting {
            let on_l1 = l1.root(b.number).await?;
            let landed = if on_l1 == b.root {
                Landed { tx: B256::ZERO, gas: 0, l1_block: 0 }
            } else if on_l1 != B256::ZERO {
                return Err(PlasmaError::RootMismatch { block: b.number, on_l1, ours: b.root });
            } else {
                let s = l1.submit_block(b.root).await?;
                info!(target: "plasma::operator", block = b.number, gas = s.gas, l1_block = s.l1_block, "root on L1");
                Landed { tx: s.tx, gas: s.gas, l1_block: s.l1_block }
            };
            self.operator.lock().await.mark_submitted(b.number, landed)?;
        }
        Ok(())
    }
}

impl Service for BlockLoop {
    type Error = PlasmaError;

    fn name(&self) -> &'static str {
        "plasma operator"
    }

    async fn step(&mut self) -> Result<Progress, PlasmaError> {
        self.sync_deposits().await?;
        self.land().await?;
        if self.last_seal.elapsed() < self.interval {
            return Ok(Progress::Idle);
        }
        self.last_seal = tokio::time::Instant::now();
        let l1 = self.operator.lock().await.l1.clone();
        let next = l1.next_child_block().await?;
        // Deposits take the numbers between two child blocks (999 at most): an empty block
        // before they run out keeps deposits open.
        let crowded = l1.deposit_offset().await? >= DEPOSITS_BEFORE_EMPTY_BLOCK;
        let built = self.operator.lock().await.build(next, crowded)?;
        if built.is_some() {
            self.land().await?;
        }
        Ok(Progress::Idle)
    }
}

/// A running operator: its block loop and its JSON-RPC.
pub struct PlasmaService {
    pub operator: Arc<Mutex<Operator>>,
    pub rpc_addr: SocketAddr,
    /// Stopped, with why, on a critical error (a failed write): the loop and JSON-RPC stop with it.
    pub halt: Halt,
    server: ServerHandle,
    cancel: CancellationToken,
    task: JoinHandle<()>,
}

impl PlasmaService {
    pub async fn stop(self) {
        self.cancel.cancel();
        self.task.abort();
        let _ = self.task.await;
        let _ = self.server.stop();
        self.server.stopped().await;
    }
}

/// Largest request the operator's JSON-RPC reads.
const MAX_REQUEST_BYTES: u32 = 10 * 1024 * 1024;

/// Runs `operator`: a block every `interval` when payments wait, L1 polled every `poll`;
/// JSON-RPC on `addr`.
pub async fn serve_operator(
    operator: Operator,
    addr: SocketAddr,
    interval: Duration,
    poll: Duration,
) -> Result<PlasmaService, std::io::Error> {
    let operator = Arc::new(Mutex::new(operator));
    let halt = Halt::new();
    let module = PlasmaRpc { operator: operator.clone() }.into_rpc();
    let (server, rpc_addr) = aqueduct_chain::rpc::serve_module(addr, module, MAX_REQUEST_BYTES).await?;
    let cancel = CancellationToken::new();
    let task = {
        let blocks = BlockLoop::new(operator.clone(), interval);
        let (cancel, halt, server) = (cancel.clone(), halt.clone(), server.clone());
        tokio::spawn(async move {
            aqueduct_service::run(blocks, poll, cancel, halt.clone()).await;
            if halt.is_halted() {
                let _ = server.stop();
            }
        })
    };
    info!(target: "plasma::operator", %rpc_addr, "JSON-RPC up");
    Ok(PlasmaService { operator, rpc_addr, halt, server, cancel, task })
}
