//! A party's channel node: its key, its channels, its peers, its L1 calls.
//!
//! Every handler runs under one lock and fills an `Outbox`; `commit` then writes the journal
//! (and syncs it) before a single frame leaves or a single caller hears back. So an update is
//! countersigned and persisted before it is acknowledged, and a payment is reported done only
//! once the state that holds it is on disk.

use std::{
    collections::HashMap,
    net::SocketAddr,
    path::PathBuf,
    sync::{Arc, Mutex, MutexGuard},
    time::Duration,
};

use alloy::{
    primitives::{Address, B256, U256},
    signers::local::PrivateKeySigner,
};
use aqueduct_channel_protocol::{
    Channel, ChannelState, Domain, FeePolicy, L1Task, Lifecycle, Manager, Message, Outbox, Record, Side, SignedState,
    Signer, Waiter,
};
use aqueduct_eth::L1Client;
use aqueduct_service::{CancellationToken, Halt};
use serde::{Deserialize, Serialize};
use tokio::{net::TcpListener, sync::oneshot};
use tracing::{info, warn};

use crate::error::NodeError;
use crate::{
    journal::{Journal, SyncMode},
    l1::{Adjudicator, Sent},
    peer::{self, PeerHandle},
};

/// The default cap on what a node deposits to join a peer's channel: 10 ETH (or token units).
pub const DEFAULT_MAX_JOIN: u128 = 10 * 1_000_000_000_000_000_000;

/// How a node runs.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// Peer listener (TCP).
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub fee: FeePolicy,
    /// Seconds from now to the payee's HTLC expiry.
    pub final_expiry: u64,
    /// Largest deposit this node makes when a peer asks it to join a channel; it never deposits
    /// more than the peer did (it matches the peer's deposit up to this cap).
    pub max_join: u128,
    /// How long `open` waits for the peer to join before it cancels the channel on L1.
    pub join_timeout: Duration,
    /// Challenge periods (seconds) this node accepts, on channels it opens or joins: too short
    /// and a stale close cannot be answered, too long and its deposit is locked for it.
    pub challenge_periods: std::ops::RangeInclusive<u64>,
    /// How often the node reads L1.
    pub poll: Duration,
    pub sync: SyncMode,
    /// Seconds before an HTLC's expiry at which the node enforces it on L1.
    pub close_margin: u64,
    /// A watchtower's JSON-RPC URL: every fully signed state is handed to it.
    pub tower: Option<String>,
}

impl NodeConfig {
    pub fn new(listen: SocketAddr, data_dir: PathBuf) -> Self {
        Self {
            listen,
            data_dir,
            fee: FeePolicy { base: 1_000, ppm: 100, expiry_delta: 120 },
            final_expiry: 600,
            max_join: DEFAULT_MAX_JOIN,
            challenge_periods: 60..=7 * 24 * 3600,
            join_timeout: Duration::from_secs(40),
            poll: Duration::from_millis(500),
            sync: SyncMode::Full,
            close_margin: 60,
            tower: None,
        }
    }
}

/// A channel as `status` reports it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChannelInfo {
    pub id: U256,
    pub peer: Address,
    pub side: Side,
    pub token: Address,
    pub state: Lifecycle,
    pub version: u64,
    #[serde(with = "dec")]
    pub local: u128,
    #[serde(with = "dec")]
    pub remote: u128,
    pub htlcs: usize,
    pub pending: usize,
    pub connected: bool,
}

mod dec {
    use serde::Deserialize;

    pub fn serialize<S: serde::Serializer>(v: &u128, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&v.to_string())
    }

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u128, D::Error> {
        String::deserialize(d)?.parse().map_err(serde::de::Error::custom)
    }
}

/// The outcome of a multi-hop payment.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentResult {
    pub hash: B256,
    pub preimage: B256,
    pub hops: usize,
    pub fee: String,
}

/// The node's state under its lock: the sans-IO manager, and what only the driver holds
/// (connections and whoever waits for a payment's result).
pub(crate) struct Inner {
    pub m: Manager,
    pub peers: HashMap<Address, crate::peer::PeerHandle>,
    pub htlc_waiters: HashMap<B256, oneshot::Sender<Result<B256, String>>>,
    pub waiters: HashMap<Waiter, oneshot::Sender<Result<(), String>>>,
    pub next_waiter: u64,
}

pub struct Node {
    pub domain: Domain,
    pub fee: FeePolicy,
    pub adj: Adjudicator,
    pub config: NodeConfig,
    inner: Mutex<Inner>,
    journal: Mutex<Journal>,
    listen_addr: SocketAddr,
    next_conn: std::sync::atomic::AtomicU64,
    dialed: Mutex<HashMap<Address, String>>,
    /// Cancelled by [`Node::stop`]: every task of the node ends with it.
    cancel: CancellationToken,
    /// Why the node stopped itself (a failed journal write), if it did.
    halt: Halt,
    tower: Option<crate::tower::TowerClient>,
    close_waiters: Mutex<HashMap<U256, oneshot::Sender<Result<Sent, String>>>>,
}

impl Node {
    /// Opens the node's journal, binds its listener and starts it: accepting peers, dialing the
    /// peers it knew, and following L1.
    pub async fn start(
        config: NodeConfig,
        l1: L1Client,
        key: B256,
        adjudicator: Address,
    ) -> Result<Arc<Node>, NodeError> {
        let signer = Signer::from_bytes(&key).ok_or_else(|| NodeError::Refused("invalid secp256k1 key".into()))?;
        let l1_signer = PrivateKeySigner::from_bytes(&key)?;
        let chain_id = l1.chain_id().await?;
        let domain = Domain { chain_id, adjudicator };
        let (journal, records) = Journal::open::<Record>(&config.data_dir.join("channels.journal"), config.sync)?;
        let mut m = Manager::new(signer, config.fee, config.final_expiry, config.max_join);
        let dialed = m.restore(records);
        let inner =
            Inner { m, peers: HashMap::new(), htlc_waiters: HashMap::new(), waiters: HashMap::new(), next_waiter: 0 };
        let me = inner.m.signer.address();
        let listener = TcpListener::bind(config.listen).await?;
        let listen_addr = listener.local_addr()?;
        let cancel = CancellationToken::new();
        let tower = config.tower.as_deref().map(|url| crate::tower::TowerClient::new(url, cancel.child_token()));
        let node = Arc::new(Node {
            domain,
            fee: config.fee,
            adj: Adjudicator { l1, address: adjudicator, signer: l1_signer },
            config,
            inner: Mutex::new(inner),
            journal: Mutex::new(journal),
            listen_addr,
            next_conn: 1.into(),
            dialed: Mutex::new(dialed.clone()),
            cancel,
            halt: Halt::new(),
            tower,
            close_waiters: Mutex::new(HashMap::new()),
        });
        info!(target: "aqueduct::channel", node = %me, listen = %listen_addr, "channel node started");
        {
            let node = node.clone();
            tokio::spawn(async move {
                loop {
                    let accepted = tokio::select! {
                        _ = node.cancel.cancelled() => return,
                        a = listener.accept() => a,
                    };
                    match accepted {
                        Ok((stream, _)) => {
                            let node = node.clone();
                            tokio::spawn(async move {
                                if let Err(e) = peer::run(node, stream, None, None).await {
                                    warn!(target: "aqueduct::channel", error = %e, "inbound peer");
                                }
                            });
                        }
                        Err(e) => warn!(target: "aqueduct::channel", error = %e, "accept"),
                    }
                }
            });
        }
        let watcher = crate::watcher::Watcher::new(node.clone());
        let (poll, cancel, halt) = (node.config.poll, node.cancel.clone(), node.halt.clone());
        tokio::spawn(async move {
            aqueduct_service::run(watcher, poll, cancel, halt).await;
        });
        for (peer, addr) in dialed {
            node.keep_connected(peer, addr);
        }
        Ok(node)
    }

    pub fn address(&self) -> Address {
        self.lock().m.me()
    }

    pub fn signer(&self) -> Signer {
        self.lock().m.signer.clone()
    }

    pub fn listen_addr(&self) -> SocketAddr {
        self.listen_addr
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Stops every task of this node (a clean shutdown; the journal is always consistent).
    pub fn stop(&self) {
        self.cancel.cancel();
        let mut inner = self.lock();
        inner.peers.clear();
        inner.m.silent = true;
    }

    /// Attack hook: the node stops answering its peers (it stays connected).
    pub fn set_silent(&self, silent: bool) {
        self.lock().m.silent = silent;
    }

    /// Attack hook: the node goes silent right after it forwards its next HTLC.
    pub fn set_silent_after_forward(&self) {
        self.lock().m.silent_after_forward = true;
    }

    /// The route a payment of `amount` to `payee` would take now.
    pub fn find_route(
        &self,
        payee: Address,
        amount: u128,
    ) -> Result<Vec<aqueduct_channel_protocol::Hop>, aqueduct_channel_protocol::RouteError> {
        let inner = self.lock();
        inner.m.graph().find_route(inner.m.me(), payee, amount, inner.m.now + inner.m.final_expiry)
    }

    // ---- peers ----

    pub(crate) fn register(&self, peer: Address, fee: FeePolicy, mut h: PeerHandle, dialed: Option<String>) -> u64 {
        let conn = self.next_conn.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        h.conn = conn;
        let mut inner = self.lock();
        inner.peers.insert(peer, h);
        inner.m.peer_fees.insert(peer, fee);
        drop(inner);
        if let Some(addr) = dialed {
            let known = self.dialed.lock().expect("lock").insert(peer, addr.clone());
            if known.as_ref() != Some(&addr) {
                let _ = self.journal.lock().expect("lock").append(&[Record::Peer { node: peer, addr }]);
            }
        }
        conn
    }

    pub(crate) fn unregister(&self, peer: Address, conn: u64) {
        let mut inner = self.lock();
        if inner.peers.get(&peer).is_some_and(|h| h.conn == conn) {
            inner.peers.remove(&peer);
        }
    }

    /// Sends our latest state of every channel shared with `peer`.
    pub(crate) fn reestablish(&self, peer: Address) {
        let mut inner = self.lock();
        let msgs: Vec<Message> = inner
            .m
            .shared_with(peer)
            .into_iter()
            .map(|id| Message::Reestablish(inner.m.channels[&id].channel.latest.clone()))
            .collect();
        let mut ob = Outbox::default();
        ob.send.extend(msgs.into_iter().map(|m| (peer, m)));
        self.commit(&mut inner, ob);
    }

    /// Handles a batch of messages from `peer`.
    pub(crate) fn handle(self: &Arc<Self>, peer: Address, msgs: Vec<Message>, ob: &mut Outbox) {
        let mut inner = self.lock();
        for m in msgs {
            inner.m.on_message(peer, m, ob);
        }
        let ob = std::mem::take(ob);
        let l1 = self.commit(&mut inner, ob);
        drop(inner);
        self.spawn_l1(l1);
    }

    /// Persists what `ob` changed, then sends its messages and completes its waiters. Returns
    /// the L1 work it asks for.
    pub(crate) fn commit(&self, inner: &mut Inner, ob: Outbox) -> Vec<L1Task> {
        let mut records = ob.records;
        for id in &ob.dirty {
            if let Some(r) = inner.m.channels.get(id) {
                records.push(Record::Channel(Box::new(r.clone())));
            }
        }
        {
            let mut j = self.journal.lock().expect("lock");
            if let Err(e) = j.append(&records) {
                // Nothing leaves unless it is on disk: drop the replies; peers resend after a
                // reconnect, and the node stops taking updates.
                tracing::error!(target: "aqueduct::channel", error = %e, "journal write failed; not answering");
                inner.m.silent = true;
                return Vec::new();
            }
            if j.wants_compaction() {
                let live = inner.m.live_records(&self.dialed.lock().expect("lock"));
                if let Err(e) = j.compact(&live) {
                    warn!(target: "aqueduct::channel", error = %e, "journal compaction failed");
                }
            }
        }
        let mut by_peer: HashMap<Address, Vec<u8>> = HashMap::new();
        for (peer, m) in ob.send {
            by_peer.entry(peer).or_default().extend_from_slice(&m.encode());
        }
        for (peer, frames) in by_peer {
            if let Some(h) = inner.peers.get(&peer) {
                let _ = h.tx.send(frames);
            }
        }
        for (w, r) in ob.direct_done {
            if let Some(w) = inner.waiters.remove(&w) {
                let _ = w.send(r);
            }
        }
        for (hash, r) in ob.htlc_done {
            if let Some(w) = inner.htlc_waiters.remove(&hash) {
                let _ = w.send(r);
            }
        }
        if let Some(t) = &self.tower {
            for s in ob.signed {
                t.push(s);
            }
        }
        ob.l1
    }

    fn spawn_l1(self: &Arc<Self>, tasks: Vec<L1Task>) {
        for t in tasks {
            let node = self.clone();
            tokio::spawn(async move {
                let result = tokio::select! {
                    _ = node.cancel.cancelled() => return,
                    r = node.run_l1_task(t.clone()) => r,
                };
                if let Err(e) = result {
                    warn!(target: "aqueduct::channel", task = ?t, error = %e, "L1 task failed");
                }
            });
        }
    }

    async fn run_l1_task(self: &Arc<Self>, t: L1Task) -> Result<(), NodeError> {
        match t {
            L1Task::Join { peer, channel_id, amount } => {
                let me = self.address();
                let rec =
                    self.adj.record(channel_id).await?.ok_or(NodeError::Refused(format!("no channel {channel_id}")))?;
                if rec.a != peer || rec.b != me || !rec.opening {
                    return Err(NodeError::Refused(format!("channel {channel_id} is not {peer}'s to us, opening")));
                }
                if amount > self.config.max_join {
                    return Err(NodeError::Refused(format!(
                        "join of {amount} exceeds our limit of {}",
                        self.config.max_join
                    )));
                }
                if amount > rec.deposit_a {
                    return Err(NodeError::Refused(format!(
                        "join of {amount} is more than the peer's own deposit of {}",
                        rec.deposit_a
                    )));
                }
                if amount == 0 && rec.deposit_a == 0 {
                    return Err(NodeError::Refused(format!("channel {channel_id} would hold nothing")));
                }
                self.check_period(u64::from(rec.challenge_period))?;
                self.adj.join(channel_id, rec.token, amount).await?;
                let opening = ChannelState::opening(channel_id, rec.deposit_a, amount);
                self.add_channel(Channel::new(self.domain, Side::B, peer, me, opening), rec.token, Lifecycle::Open);
                info!(target: "aqueduct::channel", channel = %channel_id, %peer, amount, "joined a channel");
                Ok(())
            }
            L1Task::CloseCooperatively { channel_id, ours, theirs } => {
                let side = self.lock().m.channels.get(&channel_id).map(|r| r.channel.side);
                let (sig_a, sig_b) = match side {
                    Some(Side::A) => (ours.sig, theirs.sig),
                    _ => (theirs.sig, ours.sig),
                };
                let sent =
                    self.adj.close_cooperatively(channel_id, ours.balance_a, ours.balance_b, &sig_a.0, &sig_b.0).await;
                let waiter = self.close_waiters.lock().expect("lock").remove(&channel_id);
                match sent {
                    Ok(s) => {
                        self.set_lifecycle(channel_id, Lifecycle::Closed);
                        if let Some(w) = waiter {
                            let _ = w.send(Ok(s));
                        }
                        Ok(())
                    }
                    Err(e) => {
                        if let Some(w) = waiter {
                            let _ = w.send(Err(e.to_string()));
                        }
                        Err(e.into())
                    }
                }
            }
        }
    }

    pub(crate) fn add_channel(&self, channel: Channel, token: Address, lifecycle: Lifecycle) {
        let mut inner = self.lock();
        let mut ob = Outbox::default();
        inner.m.add_channel(channel, token, lifecycle, &mut ob);
        self.commit(&mut inner, ob);
    }

    /// Moves channel `id` to `lifecycle` (persisted). Past `Open`, the channel takes no more
    /// updates.
    pub(crate) fn set_lifecycle(&self, id: U256, lifecycle: Lifecycle) {
        let mut inner = self.lock();
        let mut ob = Outbox::default();
        inner.m.set_lifecycle(id, lifecycle, &mut ob);
        self.commit(&mut inner, ob);
    }

    /// Dials `addr` and keeps the connection up (redialing with backoff) until the node stops.
    /// Returns the peer's address once the first handshake succeeds.
    pub async fn connect(self: &Arc<Self>, addr: &str) -> Result<Address, NodeError> {
        let stream = tokio::net::TcpStream::connect(addr).await?;
        let (ready_tx, ready_rx) = oneshot::channel();
        let run = tokio::spawn(peer::run(self.clone(), stream, Some(addr.to_string()), Some(ready_tx)));
        match ready_rx.await {
            Ok(peer) => {
                // Redial whenever this first connection ends.
                let (node, addr) = (self.clone(), addr.to_string());
                tokio::spawn(async move {
                    let _ = run.await;
                    node.keep_connected(peer, addr);
                });
                Ok(peer)
            }
            // The connection ended before its handshake registered the peer.
            Err(_) => Err(match run.await {
                Ok(Err(e)) => e.into(),
                Ok(Ok(_)) => NodeError::Refused("the peer closed the connection".into()),
                Err(e) => e.into(),
            }),
        }
    }

    /// Redials `peer` at `addr` whenever it is not connected.
    fn keep_connected(self: &Arc<Self>, peer: Address, addr: String) {
        let node = self.clone();
        tokio::spawn(async move {
            let mut backoff = Duration::from_millis(50);
            while !node.cancel.is_cancelled() {
                if !node.lock().peers.contains_key(&peer) {
                    match tokio::net::TcpStream::connect(&addr).await {
                        Ok(stream) => {
                            backoff = Duration::from_millis(50);
                            if let Err(e) = peer::run(node.clone(), stream, Some(addr.clone()), None).await {
                                warn!(target: "aqueduct::channel", %peer, error = %e, "peer connection");
                            }
                        }
                        Err(_) => backoff = (backoff * 2).min(Duration::from_secs(2)),
                    }
                }
                tokio::select! {
                    _ = node.cancel.cancelled() => return,
                    _ = tokio::time::sleep(backoff) => {}
                }
            }
        });
    }

    /// Cancelled when the node stops.
    pub(crate) fn cancelled(&self) -> impl std::future::Future<Output = ()> + '_ {
        self.cancel.cancelled()
    }

    /// Why the node stopped itself (a failed journal write), once it has: watch it to exit.
    pub fn halt(&self) -> Halt {
        self.halt.clone()
    }

    // ---- what users do ----

    /// Opens a channel to `peer` (connected) with `amount` of `token`, asking it to deposit
    /// `peer_amount`; returns once L1 shows both deposits.
    /// Refuses a challenge period outside what this node's owner accepts.
    fn check_period(&self, period: u64) -> Result<(), NodeError> {
        let r = &self.config.challenge_periods;
        if !r.contains(&period) {
            return Err(NodeError::Refused(format!(
                "challenge period {period} s is outside the {} to {} s this node accepts",
                r.start(),
                r.end()
            )));
        }
        Ok(())
    }

    pub async fn open(
        self: &Arc<Self>,
        peer: Address,
        token: Address,
        amount: u128,
        peer_amount: u128,
        challenge_period: u32,
    ) -> Result<U256, NodeError> {
        if !self.lock().peers.contains_key(&peer) {
            return Err(NodeError::Refused(format!("not connected to {peer}")));
        }
        if amount == 0 && peer_amount == 0 {
            return Err(NodeError::Refused("a channel needs a deposit from at least one side".into()));
        }
        self.check_period(u64::from(challenge_period))?;
        // A peer that cannot fund its side would leave our deposit locked in an opening channel.
        let theirs = self.adj.holding(peer, token).await?;
        if theirs < U256::from(peer_amount) {
            return Err(NodeError::Refused(format!(
                "the peer holds {theirs} on L1, less than the {peer_amount} its side of the channel needs"
            )));
        }
        let (id, _) = self.adj.open(peer, token, amount, challenge_period).await?;
        let me = self.address();
        let opening = ChannelState::opening(id, amount, peer_amount);
        self.add_channel(Channel::new(self.domain, Side::A, me, peer, opening), token, Lifecycle::Opening);
        {
            let mut inner = self.lock();
            let mut ob = Outbox::default();
            ob.send.push((peer, Message::Join { channel_id: id, amount: peer_amount }));
            self.commit(&mut inner, ob);
        }
        let deadline = tokio::time::Instant::now() + self.config.join_timeout;
        while tokio::time::Instant::now() < deadline {
            if let Some(r) = self.adj.record(id).await?
                && !r.opening
            {
                self.activate(id, r.deposit_a, r.deposit_b);
                return Ok(id);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.cancel_opening(id).await
    }

    /// The peer did not join in time: take our deposit back (unless it joined meanwhile).
    async fn cancel_opening(&self, id: U256) -> Result<U256, NodeError> {
        let cancelled = self.adj.cancel(id).await;
        if let Some(r) = self.adj.record(id).await?
            && !r.opening
            && r.deposit_a > 0
        {
            // It joined at the last moment.
            self.activate(id, r.deposit_a, r.deposit_b);
            return Ok(id);
        }
        cancelled?;
        self.set_lifecycle(id, Lifecycle::Closed);
        Err(NodeError::Refused(format!(
            "the peer did not join within {:?}: the channel was cancelled and our deposit returned",
            self.config.join_timeout
        )))
    }

    /// The counterparty joined: the opening state is the deposits L1 holds.
    pub(crate) fn activate(&self, id: U256, deposit_a: u128, deposit_b: u128) {
        let mut inner = self.lock();
        let Some(r) = inner.m.channels.get_mut(&id) else { return };
        if r.lifecycle != Lifecycle::Opening {
            return;
        }
        r.channel.latest = SignedState::opening(ChannelState::opening(id, deposit_a, deposit_b));
        r.lifecycle = Lifecycle::Open;
        let peer = r.channel.counterparty();
        let latest = r.channel.latest.clone();
        let mut ob = Outbox::default();
        ob.dirty.insert(id);
        ob.send.push((peer, Message::Reestablish(latest)));
        self.commit(&mut inner, ob);
    }

    /// Pays `amount` to the counterparty of channel `id` directly; returns once the new state is
    /// countersigned and on disk.
    pub async fn pay(&self, id: U256, amount: u128) -> Result<(), NodeError> {
        let rx = self.pay_start(id, amount)?;
        rx.await.map_err(|_| NodeError::Refused("the node stopped".into()))?.map_err(NodeError::Refused)
    }

    /// Starts a direct payment and returns the receiver that reports it (for pipelining).
    pub fn pay_start(&self, id: U256, amount: u128) -> Result<oneshot::Receiver<Result<(), String>>, NodeError> {
        let (tx, rx) = oneshot::channel();
        let mut inner = self.lock();
        let waiter = Waiter(inner.next_waiter);
        inner.next_waiter += 1;
        inner.waiters.insert(waiter, tx);
        let mut ob = Outbox::default();
        let paid = inner.m.pay(id, amount, waiter, &mut ob);
        if paid.is_err() {
            inner.waiters.remove(&waiter);
        }
        self.commit(&mut inner, ob);
        paid?;
        Ok(rx)
    }

    /// The first open channel with `peer`.
    pub fn channel_with(&self, peer: Address) -> Option<U256> {
        self.lock().m.shared_with(peer).first().copied()
    }

    /// A fresh invoice: the hash a payer locks `amount` to.
    pub fn invoice(&self, amount: u128) -> B256 {
        let preimage = B256::from(rand::random::<[u8; 32]>());
        let mut inner = self.lock();
        let mut ob = Outbox::default();
        let hash = inner.m.invoice(preimage, amount, &mut ob);
        self.commit(&mut inner, ob);
        hash
    }

    /// Pays invoice `hash` of `payee` for `amount` over the cheapest route; returns once the
    /// preimage comes back (off-chain, or from L1 when a hop went silent).
    pub async fn pay_invoice(&self, payee: Address, hash: B256, amount: u128) -> Result<PaymentResult, NodeError> {
        let (tx, rx) = oneshot::channel();
        let (hops, fee) = {
            let mut inner = self.lock();
            let mut ob = Outbox::default();
            let sent = inner.m.send_payment(payee, hash, amount, &mut ob);
            if sent.is_ok() {
                inner.htlc_waiters.insert(hash, tx);
            }
            // The channel's batch of payments went out first, even if the HTLC cannot.
            self.commit(&mut inner, ob);
            sent?
        };
        let preimage =
            rx.await.map_err(|_| NodeError::Refused("the node stopped".into()))?.map_err(NodeError::Refused)?;
        Ok(PaymentResult { hash, preimage, hops, fee: fee.to_string() })
    }

    /// Closes channel `id` cooperatively (both signatures, paid out at once on L1).
    pub async fn close(&self, id: U256) -> Result<Sent, NodeError> {
        if let Some(sent) = self.cancel_if_opening(id).await? {
            return Ok(sent);
        }
        let (tx, rx) = oneshot::channel();
        self.close_waiters.lock().expect("lock").insert(id, tx);
        {
            let mut inner = self.lock();
            let mut ob = Outbox::default();
            if let Err(e) = inner.m.begin_close(id, &mut ob) {
                self.close_waiters.lock().expect("lock").remove(&id);
                return Err(e.into());
            }
            self.commit(&mut inner, ob);
        }
        match tokio::time::timeout(Duration::from_secs(120), rx).await {
            Ok(Ok(r)) => r.map_err(NodeError::Refused),
            Ok(Err(_)) => Err(NodeError::Refused("the node stopped".into())),
            Err(_) => Err(NodeError::Timeout(Duration::from_secs(120))),
        }
    }

    /// Closes channel `id` on L1 alone with our latest state; the watcher settles it after the
    /// challenge period.
    pub async fn force_close(&self, id: U256) -> Result<Sent, NodeError> {
        let latest = self.latest_state(id).ok_or(NodeError::Refused(format!("no channel {id}")))?;
        if let Some(sent) = self.cancel_if_opening(id).await? {
            return Ok(sent);
        }
        self.set_lifecycle(id, Lifecycle::Closing);
        Ok(self.adj.close(&latest).await?)
    }

    /// A channel we opened that the peer never joined is cancelled, not closed (there is no state
    /// to close with): our deposit comes back at once.
    async fn cancel_if_opening(&self, id: U256) -> Result<Option<Sent>, NodeError> {
        let opening = self
            .lock()
            .m
            .channels
            .get(&id)
            .is_some_and(|r| r.lifecycle == Lifecycle::Opening && r.channel.side == Side::A);
        if !opening {
            return Ok(None);
        }
        let sent = self.adj.cancel(id).await?;
        self.set_lifecycle(id, Lifecycle::Closed);
        Ok(Some(sent))
    }

    /// Closes on L1 with `state` (any state both signed — an attack when it is not the latest).
    pub async fn close_with(&self, state: &SignedState) -> Result<Sent, NodeError> {
        Ok(self.adj.close(state).await?)
    }

    pub fn channels(&self) -> Vec<ChannelInfo> {
        let inner = self.lock();
        inner
            .m
            .channels
            .values()
            .map(|r| {
                let c = &r.channel;
                ChannelInfo {
                    id: c.id,
                    peer: c.counterparty(),
                    side: c.side,
                    token: r.token,
                    state: r.lifecycle,
                    version: c.latest.state.version,
                    local: c.latest.state.balance(c.side),
                    remote: c.latest.state.balance(c.side.other()),
                    htlcs: c.latest.state.htlcs.len(),
                    pending: c.pending.len(),
                    connected: inner.peers.contains_key(&c.counterparty()),
                }
            })
            .collect()
    }

    /// The newest state both parties signed for channel `id` (the node keeps no older ones;
    /// attack scenarios record the states they want to replay).
    pub fn latest_state(&self, id: U256) -> Option<SignedState> {
        self.lock().m.channels.get(&id).map(|r| r.channel.latest.clone())
    }

    pub fn tower(&self) -> Option<&crate::tower::TowerClient> {
        self.tower.as_ref()
    }
}
