//! The watchtower: a separate service that holds the latest co-signed state of the channels
//! users hand it and, while they are offline, answers a stale unilateral close on L1 with it
//! before the challenge period ends. It holds no user key and no preimage: a state signed by
//! both parties is all it needs, and all it can do is replace an older closing state with it.
//!
//! JSON-RPC:
//! - `tower_watch(signedState)` → `{ channelId, version, accepted }`: stored (durably, before the
//!   answer) if both signatures match the channel's parties on L1 and it is newer than the one
//!   held; refused with code -32602 otherwise;
//! - `tower_status()` → `{ address, channels, challenges: [{ channelId, version, tx, gas }] }`.

use std::{
    collections::{BTreeMap, HashMap},
    net::SocketAddr,
    path::Path,
    sync::{Arc, Mutex},
    time::Duration,
};

use alloy::{
    primitives::{Address, B256, U256},
    signers::local::PrivateKeySigner,
};
use aqueduct_channel_protocol::{Domain, OnchainChannel, SignedState, WatchAction, watch};
use aqueduct_eth::L1Client;
use aqueduct_service::{CancellationToken, Halt, Progress, Service};
use jsonrpsee::{
    core::{RpcResult, async_trait},
    http_client::HttpClientBuilder,
    proc_macros::rpc,
    server::{Server, ServerHandle},
    types::ErrorObjectOwned,
};
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;
use tracing::{info, warn};

use crate::{
    error::NodeError,
    journal::{Journal, SyncMode},
    l1::Adjudicator,
};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Challenge {
    pub channel_id: U256,
    pub version: u64,
    pub tx: B256,
    pub gas: u64,
}

struct TowerState {
    states: BTreeMap<U256, SignedState>,
    journal: Journal,
    challenges: Vec<Challenge>,
}

pub struct Tower {
    adj: Adjudicator,
    domain: Domain,
    state: Mutex<TowerState>,
}

/// A running watchtower.
pub struct TowerService {
    pub tower: Arc<Tower>,
    pub rpc_addr: SocketAddr,
    server: ServerHandle,
    cancel: CancellationToken,
}

impl TowerService {
    pub async fn stop(self) {
        self.cancel.cancel();
        let _ = self.server.stop();
        self.server.stopped().await;
    }
}

/// Why the tower refuses to watch a state.
#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    #[error("no channel {0} on L1")]
    NoChannel(U256),
    #[error("the state of channel {0} is not signed by both of its parties")]
    NotSigned(U256),
    #[error("the state of channel {0} does not account for the channel's deposits")]
    Deposits(U256),
    /// L1 could not be read: ask again.
    #[error(transparent)]
    L1(#[from] aqueduct_eth::L1Error),
    /// The state could not be kept: the tower answers nothing it has not written.
    #[error(transparent)]
    Journal(#[from] crate::journal::JournalError),
}

impl Tower {
    pub fn address(&self) -> Address {
        self.adj.signer.address()
    }

    /// Stores `s` if it is validly signed by the channel's parties and newer than what is held.
    pub async fn watch_state(&self, s: SignedState) -> Result<bool, WatchError> {
        let id = s.state.channel_id;
        let rec = self.adj.record(id).await?.ok_or(WatchError::NoChannel(id))?;
        if !s.verify(&self.domain, rec.a, rec.b) {
            return Err(WatchError::NotSigned(id));
        }
        if s.state.total() != rec.deposit_a + rec.deposit_b {
            return Err(WatchError::Deposits(id));
        }
        let mut st = self.state.lock().expect("lock");
        if st.states.get(&id).is_some_and(|h| h.state.version >= s.state.version) {
            return Ok(false);
        }
        st.journal.append(&[&s])?;
        st.states.insert(id, s);
        Ok(true)
    }

    pub fn challenges(&self) -> Vec<Challenge> {
        self.state.lock().expect("lock").challenges.clone()
    }

    pub fn watched(&self) -> usize {
        self.state.lock().expect("lock").states.len()
    }

    async fn tick(&self) -> Result<(), NodeError> {
        let now = self.adj.head().await?.1 + 1;
        let held: Vec<SignedState> = self.state.lock().expect("lock").states.values().cloned().collect();
        for s in held {
            let id = s.state.channel_id;
            let status = match self.adj.record(id).await? {
                Some(r) => r.status,
                None => OnchainChannel::Gone,
            };
            if status == OnchainChannel::Gone {
                continue;
            }
            for a in watch(&status, &s, None, now, 0, |_| None, |_| false) {
                if let WatchAction::Challenge(latest) = a {
                    let sent = self.adj.challenge(&latest).await?;
                    info!(target: "aqueduct::tower", channel = %id, version = latest.state.version, gas = sent.gas, "answered a stale close");
                    self.state.lock().expect("lock").challenges.push(Challenge {
                        channel_id: id,
                        version: latest.state.version,
                        tx: sent.tx,
                        gas: sent.gas,
                    });
                }
            }
        }
        Ok(())
    }
}

/// What `tower_watch` answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WatchReply {
    pub channel_id: U256,
    pub version: u64,
    /// False when the tower already holds this version or a newer one.
    pub accepted: bool,
}

/// What `tower_status` answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TowerStatus {
    pub address: Address,
    /// Channels watched.
    pub channels: usize,
    pub challenges: Vec<Challenge>,
}

/// The watchtower's JSON-RPC (`tower_watch`, `tower_status`); nodes and tools call it through
/// the generated `TowerApiClient`.
#[rpc(server, client, namespace = "tower")]
pub trait TowerApi {
    /// Watch a co-signed state: the tower keeps the newest per channel and answers a close with
    /// an older one on L1.
    #[method(name = "watch")]
    async fn watch(&self, state: SignedState) -> RpcResult<WatchReply>;

    /// The tower's address, how many channels it watches and the challenges it has sent.
    #[method(name = "status")]
    fn status(&self) -> RpcResult<TowerStatus>;
}

struct TowerRpc(Arc<Tower>);

#[async_trait]
impl TowerApiServer for TowerRpc {
    async fn watch(&self, s: SignedState) -> RpcResult<WatchReply> {
        let (channel_id, version) = (s.state.channel_id, s.state.version);
        let accepted = self.0.watch_state(s).await.map_err(|e| {
            let code = match e {
                WatchError::L1(_) | WatchError::Journal(_) => -32603,
                _ => -32602,
            };
            ErrorObjectOwned::owned(code, e.to_string(), None::<()>)
        })?;
        Ok(WatchReply { channel_id, version, accepted })
    }

    fn status(&self) -> RpcResult<TowerStatus> {
        let t = &self.0;
        Ok(TowerStatus { address: t.address(), channels: t.watched(), challenges: t.challenges() })
    }
}

/// Starts a watchtower with its own L1 key (it pays for its challenges).
pub async fn serve_tower(
    l1: L1Client,
    key: B256,
    adjudicator: Address,
    data_dir: &Path,
    addr: SocketAddr,
    poll: Duration,
) -> Result<TowerService, NodeError> {
    let signer = PrivateKeySigner::from_bytes(&key)?;
    let chain_id = l1.chain_id().await?;
    let (journal, records) = Journal::open::<SignedState>(&data_dir.join("tower.journal"), SyncMode::Full)?;
    let mut states = BTreeMap::new();
    for s in records {
        states.insert(s.state.channel_id, s);
    }
    let tower = Arc::new(Tower {
        adj: Adjudicator { l1, address: adjudicator, signer },
        domain: Domain { chain_id, adjudicator },
        state: Mutex::new(TowerState { states, journal, challenges: Vec::new() }),
    });
    let m = TowerRpc(tower.clone()).into_rpc();
    let server = Server::builder().build(addr).await?;
    let rpc_addr = server.local_addr()?;
    let server = server.start(m);
    let cancel = CancellationToken::new();
    tokio::spawn(aqueduct_service::run(TowerWatch(tower.clone()), poll, cancel.clone(), Halt::new()));
    info!(target: "aqueduct::tower", address = %tower.address(), rpc = %rpc_addr, "watchtower started");
    Ok(TowerService { tower, rpc_addr, server, cancel })
}

/// The tower's L1 watch as a service: L1 trouble is retried with a growing pause.
struct TowerWatch(Arc<Tower>);

impl Service for TowerWatch {
    type Error = NodeError;

    fn name(&self) -> &'static str {
        "watchtower"
    }

    async fn step(&mut self) -> Result<Progress, NodeError> {
        self.0.tick().await.map(|_| Progress::Idle)
    }
}

/// Hands a node's latest signed states to its watchtower, newest per channel, in the background.
#[derive(Clone)]
pub struct TowerClient {
    pending: Arc<Mutex<HashMap<U256, SignedState>>>,
    notify: Arc<Notify>,
    sent: Arc<Mutex<HashMap<U256, u64>>>,
}

impl TowerClient {
    /// Hands states over to the tower at `url` until `cancel` is cancelled.
    pub fn new(url: &str, cancel: CancellationToken) -> Self {
        let client = Self {
            pending: Arc::new(Mutex::new(HashMap::new())),
            notify: Arc::new(Notify::new()),
            sent: Arc::new(Mutex::new(HashMap::new())),
        };
        let c = client.clone();
        let url = url.to_string();
        tokio::spawn(async move {
            let rpc = match HttpClientBuilder::default().request_timeout(Duration::from_secs(30)).build(&url) {
                Ok(rpc) => rpc,
                Err(e) => {
                    warn!(target: "aqueduct::tower", url = %url, error = %e, "not a watchtower URL: states are not handed over");
                    return;
                }
            };
            loop {
                tokio::select! {
                    _ = cancel.cancelled() => return,
                    _ = c.notify.notified() => {}
                }
                let batch: Vec<SignedState> = c.pending.lock().expect("lock").drain().map(|(_, s)| s).collect();
                for s in batch {
                    let id = s.state.channel_id;
                    let version = s.state.version;
                    let ok = match rpc.watch(s.clone()).await {
                        Ok(_) => true,
                        // The tower answered and refused: retrying would not change its mind.
                        Err(jsonrpsee::core::ClientError::Call(e)) => {
                            warn!(target: "aqueduct::tower", channel = %id, error = %e, "the tower refused a state");
                            true
                        }
                        Err(e) => {
                            warn!(target: "aqueduct::tower", error = %e, "tower unreachable");
                            false
                        }
                    };
                    if ok {
                        c.sent.lock().expect("lock").insert(id, version);
                    } else {
                        c.pending.lock().expect("lock").entry(id).or_insert(s);
                        tokio::time::sleep(Duration::from_millis(500)).await;
                        c.notify.notify_one();
                    }
                }
            }
        });
        client
    }

    /// Queues `s` (replacing an older queued state of its channel).
    pub fn push(&self, s: SignedState) {
        if s.state.version == 0 {
            return;
        }
        let mut p = self.pending.lock().expect("lock");
        let id = s.state.channel_id;
        if p.get(&id).is_none_or(|q| q.state.version < s.state.version) {
            p.insert(id, s);
        }
        drop(p);
        self.notify.notify_one();
    }

    /// The newest version the tower has taken for `id`.
    pub fn delivered(&self, id: U256) -> Option<u64> {
        self.sent.lock().expect("lock").get(&id).copied()
    }
}
