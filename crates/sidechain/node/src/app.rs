//! The application actor: builds and checks bodies for consensus, sends and fetches them,
//! executes finalized bodies with the chain engine, passes transactions between pools, and
//! signs and gathers checkpoints.

use std::{
    collections::{HashMap, HashSet},
    sync::Arc,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use alloy::primitives::{B256, Bytes, keccak256};
use aqueduct_chain::{Chain, ChainTx};
use aqueduct_sidechain_protocol::{Body, MAX_DEPOSITS, MAX_TXS, SetChange};
use commonware_p2p::{Receiver, Recipients, Sender};
use commonware_runtime::Clock;
use commonware_utils::channel::oneshot;
use futures::{StreamExt, channel::mpsc};
use tracing::{debug, info, warn};

use crate::{
    NodeError,
    checkpoints::Checkpointer,
    consensus::{Ctx, Digest, Message, PublicKey, from_digest, to_digest},
    shared::Shared,
    spec::SidechainSpec,
    store::{EpochStart, SideStore},
    wire::{FetchMessage, decode_txs, encode_txs},
};

/// How long a verify waits for a body, its parent or an L1 deposit before it votes no.
const VERIFY_PATIENCE: Duration = Duration::from_secs(3);
/// How often a missing body is asked for again.
const FETCH_RETRY: Duration = Duration::from_millis(500);
/// The actor's tick: retries, transaction gossip, waiting work.
const TICK: Duration = Duration::from_millis(20);
/// Most transactions passed on in one gossip message.
const GOSSIP_BATCH: usize = 2_000;
/// How often a validator asks its peers how far they have executed (to catch up after being
/// away, or to follow the chain before it joins the set).
const SYNC_EVERY: Duration = Duration::from_secs(1);

mod catchup;
mod execute;

/// A body whose ancestry is known back to genesis.
#[derive(Clone, Debug)]
struct Known {
    height: u64,
    timestamp_ms: u64,
    parent: B256,
    /// The next L1 deposit nonce after this body.
    next_deposit: u64,
    /// The consensus epoch that orders this body's children.
    epoch: u64,
    txs: Vec<B256>,
}

/// One p2p channel's two ends.
pub struct Channel<S, R> {
    pub sender: S,
    pub receiver: R,
}

/// The application's own channels.
pub struct AppNet<S, R> {
    pub bodies: Channel<S, R>,
    pub fetch: Channel<S, R>,
    pub checkpoints: Channel<S, R>,
    pub txs: Channel<S, R>,
}

struct Waiting {
    context: Ctx,
    payload: B256,
    response: oneshot::Sender<bool>,
    deadline: SystemTime,
}

struct Proposing {
    context: Ctx,
    response: oneshot::Sender<Digest>,
    deadline: SystemTime,
}

pub struct App<E: Clock> {
    context: E,
    spec: SidechainSpec,
    chain: Arc<Chain>,
    store: Arc<SideStore>,
    shared: Arc<Shared>,
    checkpointer: Checkpointer,
    known: HashMap<B256, Known>,
    /// Bodies whose parent is not known yet, by digest.
    orphans: HashMap<B256, Body>,
    /// Bodies asked for, and when last.
    wanted: HashMap<B256, SystemTime>,
    waiting: Vec<Waiting>,
    proposing: Vec<Proposing>,
    /// Highest finalized body, and the executed head.
    finalized: B256,
    executed: B256,
    gossiped: HashSet<B256>,
    last_prune: SystemTime,
    /// A body on the finalized chain this validator lacks (asked for on the next tick).
    missing: Option<B256>,
    /// Transactions of bodies checked or built here and not yet executed, decoded (signatures
    /// recovered) once: execution takes them instead of recovering every sender again.
    decoded: HashMap<B256, Vec<ChainTx>>,
    /// Where the executed chain's current epoch started, and its validators.
    epoch: EpochStart,
    /// Where each epoch start goes (the engine supervisor starts that epoch's consensus).
    epochs: mpsc::UnboundedSender<EpochStart>,
    /// Catching up: peers' executed heights, and which digest each reported at a height.
    tips: HashMap<PublicKey, u64>,
    reported: HashMap<(u64, B256), HashSet<PublicKey>>,
    last_sync: SystemTime,
}

impl<E: Clock> App<E> {
    /// Reopens the application from its chain and store.
    pub fn new(
        context: E,
        spec: SidechainSpec,
        chain: Arc<Chain>,
        store: Arc<SideStore>,
        shared: Arc<Shared>,
        checkpointer: Checkpointer,
        epochs: mpsc::UnboundedSender<EpochStart>,
    ) -> Result<Self, NodeError> {
        let genesis = chain.block(aqueduct_chain::BlockRef::Number(0)).expect("genesis").hash;
        let mut known = HashMap::new();
        known.insert(
            genesis,
            Known {
                height: 0,
                timestamp_ms: spec.genesis_time * 1000,
                parent: B256::ZERO,
                next_deposit: 0,
                epoch: 0,
                txs: Vec::new(),
            },
        );
        let mut starts = store.epochs()?;
        let head = chain.head().header.number;
        let mut executed = genesis;
        // The last executed bodies are known (their digests by height, their bodies in the
        // store); older ones are never a proposal's parent again.
        for h in head.saturating_sub(1_000).max(1)..=head {
            let d = store.executed(h)?.ok_or_else(|| {
                NodeError::Config(format!("the chain has block {h} but the store does not say which body it ran"))
            })?;
            let (body, next) = store.body(&d)?.ok_or_else(|| {
                NodeError::Config(format!("body {d} of executed block {h} is missing from the store"))
            })?;
            // A crash between executing an epoch's last body and recording the epoch.
            if let Some(c) = body.set_change.first()
                && starts.last().is_none_or(|s| s.change.epoch < c.epoch)
            {
                let members = shared.members(&c.validators);
                let start = EpochStart { floor: d, height: h, change: c.clone(), members };
                store.put_epoch(&start)?;
                starts.push(start);
            }
            let epoch = starts.iter().rev().find(|s| s.height <= h).map(|s| s.change.epoch).unwrap_or(0);
            known.insert(d, known_of(&body, next, epoch));
            executed = d;
        }
        let epoch = starts.pop().unwrap_or_else(|| EpochStart {
            floor: genesis,
            height: 0,
            change: SetChange { epoch: 0, at_checkpoint: 0, validators: spec.genesis_validators() },
            members: spec.validators.clone(),
        });
        shared.note_executed(&chain.head(), 0);
        shared.set_deposits_minted(known.get(&executed).map(|k| k.next_deposit).unwrap_or(0));
        let now = context.current();
        Ok(Self {
            context,
            spec,
            chain,
            store,
            shared,
            checkpointer,
            known,
            orphans: HashMap::new(),
            wanted: HashMap::new(),
            waiting: Vec::new(),
            proposing: Vec::new(),
            finalized: executed,
            executed,
            gossiped: HashSet::new(),
            last_prune: now,
            missing: None,
            decoded: HashMap::new(),
            epoch,
            epochs,
            tips: HashMap::new(),
            reported: HashMap::new(),
            last_sync: now,
        })
    }

    /// Where the executed chain's current epoch starts.
    pub fn epoch(&self) -> EpochStart {
        self.epoch.clone()
    }

    fn now_ms(&self) -> u64 {
        self.context.current().duration_since(UNIX_EPOCH).unwrap_or_default().as_millis() as u64
    }

    /// Runs until consensus' mailbox closes.
    pub async fn run<S, R>(mut self, mut mailbox: mpsc::UnboundedReceiver<Message>, mut net: AppNet<S, R>)
    where
        S: Sender<PublicKey = PublicKey>,
        R: Receiver<PublicKey = PublicKey>,
    {
        loop {
            let tick = self.context.sleep(TICK);
            let step = tokio::select! {
                biased;
                m = mailbox.next() => match m {
                    Some(m) => self.on_message(m, &mut net),
                    None => return,
                },
                r = net.bodies.receiver.recv() => match r {
                    Ok((from, bytes)) => self.on_body(&from, bytes.as_ref(), &mut net),
                    Err(_) => return,
                },
                r = net.fetch.receiver.recv() => match r {
                    Ok((from, bytes)) => self.on_fetch(from, bytes.as_ref(), &mut net),
                    Err(_) => return,
                },
                r = net.checkpoints.receiver.recv() => match r {
                    Ok((from, bytes)) => { self.checkpointer.on_signature(&from, bytes.as_ref()); Ok(()) }
                    Err(_) => return,
                },
                r = net.txs.receiver.recv() => match r {
                    Ok((_, bytes)) => { self.on_txs(bytes.as_ref()); Ok(()) }
                    Err(_) => return,
                },
                _ = tick => self.on_tick(&mut net),
            };
            if let Err(e) = step {
                // A store or chain that cannot write: votes and blocks would not be durable.
                self.shared.fail(format!("sidechain validator stopped: {e}"));
                return;
            }
        }
    }

    fn on_message<S, R>(&mut self, m: Message, net: &mut AppNet<S, R>) -> Result<(), NodeError>
    where
        S: Sender<PublicKey = PublicKey>,
        R: Receiver<PublicKey = PublicKey>,
    {
        match m {
            Message::Propose { context, response } => {
                let deadline = self.context.current() + VERIFY_PATIENCE;
                self.proposing.push(Proposing { context, response, deadline });
                self.try_propose(net)?;
            }
            Message::Verify { context, payload, response } => {
                let deadline = self.context.current() + VERIFY_PATIENCE;
                let payload = from_digest(&payload);
                self.waiting.push(Waiting { context, payload, response, deadline });
                self.try_verify(net)?;
            }
            Message::Broadcast { payload, to } => {
                let d = from_digest(&payload);
                if let Some((body, _)) = self.store.body(&d)? {
                    let to = match to {
                        None => Recipients::All,
                        Some(v) => Recipients::Some(v),
                    };
                    net.bodies.sender.send(to, body.encode(), true);
                }
            }
            Message::Finalized { view, payload } => {
                let d = from_digest(&payload);
                let height = self.known.get(&d).map(|k| k.height);
                debug!(target: "sidechain", view, digest = %d, ?height, "finalized");
                self.shared.note_finalized(view);
                let ahead = match (height, self.known.get(&self.finalized)) {
                    (Some(h), Some(f)) => h > f.height,
                    _ => true,
                };
                if ahead {
                    self.finalized = d;
                }
                if !self.known.contains_key(&d) && !self.orphans.contains_key(&d) {
                    self.want(d, net);
                }
                self.execute()?;
            }
            Message::Evidence { view, what } => {
                warn!(target: "sidechain", view, %what, "Byzantine evidence from consensus");
                let what = format!("view {view}: {what}");
                self.store.put_evidence(self.shared.add_evidence(what.clone()), &what)?;
            }
        }
        Ok(())
    }

    // ------------------------------------------------------------------ proposing

    /// Builds bodies for proposals whose parent is known (asking for it otherwise).
    fn try_propose<S, R>(&mut self, net: &mut AppNet<S, R>) -> Result<(), NodeError>
    where
        S: Sender<PublicKey = PublicKey>,
        R: Receiver<PublicKey = PublicKey>,
    {
        let now = self.context.current();
        let mut keep = Vec::new();
        for p in std::mem::take(&mut self.proposing) {
            if p.response.is_closed() || now > p.deadline {
                continue;
            }
            let parent = from_digest(&p.context.parent.1);
            let Some(pk) = self.known.get(&parent).cloned() else {
                self.want(parent, net);
                keep.push(p);
                continue;
            };
            if p.context.round.epoch().get() != pk.epoch {
                // The parent ended that epoch (or belongs to another): no proposal.
                continue;
            }
            // Blocks follow each other by the block time.
            let earliest = pk.timestamp_ms + self.spec.block_time_ms;
            if self.now_ms() < earliest {
                keep.push(p);
                continue;
            }
            let (body, txs) = self.build_body(&p.context, parent, &pk);
            let digest = body.digest();
            self.decoded.insert(digest, txs);
            let next = pk.next_deposit + body.deposits.len() as u64;
            // Durable before consensus signs for it.
            self.store.put_body(&digest, next, &body)?;
            self.known.insert(digest, known_of(&body, next, epoch_after(&body, pk.epoch)));
            info!(target: "sidechain", height = body.height, view = body.view, txs = body.txs.len(), deposits = body.deposits.len(), %digest, "proposed");
            let _ = p.response.send(to_digest(digest));
        }
        self.proposing = keep;
        Ok(())
    }

    fn build_body(&self, context: &Ctx, parent: B256, pk: &Known) -> (Body, Vec<ChainTx>) {
        // Transactions already in bodies above the executed head are left out.
        let mut in_flight = HashSet::new();
        let mut cur = parent;
        while cur != self.executed {
            let Some(k) = self.known.get(&cur) else { break };
            in_flight.extend(k.txs.iter().copied());
            cur = k.parent;
        }
        let picked = self.chain.pending_for_block(self.spec.gas_limit, MAX_TXS, &in_flight);
        let deposits = self.shared.deposits_from(pk.next_deposit, MAX_DEPOSITS);
        let height = pk.height + 1;
        // A set change L1 applied ends the epoch at the next checkpoint boundary.
        let set_change = match self.shared.set_change(pk.epoch + 1) {
            Some(c) if height.is_multiple_of(self.spec.checkpoint_interval) => vec![c],
            _ => vec![],
        };
        let body = Body {
            parent,
            height,
            view: context.round.view().get(),
            timestamp_ms: self.now_ms().max(pk.timestamp_ms + 1),
            deposits,
            txs: picked.iter().map(encode_tx).collect(),
            set_change,
        };
        (body, picked)
    }

    // ------------------------------------------------------------------ verifying

    fn try_verify<S, R>(&mut self, net: &mut AppNet<S, R>) -> Result<(), NodeError>
    where
        S: Sender<PublicKey = PublicKey>,
        R: Receiver<PublicKey = PublicKey>,
    {
        let now = self.context.current();
        let mut keep = Vec::new();
        for w in std::mem::take(&mut self.waiting) {
            if w.response.is_closed() {
                continue;
            }
            let late = now > w.deadline;
            match self.check(&w.context, w.payload)? {
                Verdict::Valid => {
                    let _ = w.response.send(true);
                }
                Verdict::Invalid(why) => {
                    warn!(target: "sidechain", view = w.context.round.view().get(), payload = %w.payload, %why, "refused a proposal");
                    let _ = w.response.send(false);
                }
                Verdict::Wait(why) if late => {
                    warn!(target: "sidechain", view = w.context.round.view().get(), payload = %w.payload, %why, "gave up on a proposal");
                    let _ = w.response.send(false);
                }
                Verdict::Wait(_) => {
                    if !self.known.contains_key(&w.payload) && !self.orphans.contains_key(&w.payload) {
                        // Normally the proposer's broadcast brings it; ask when it does not.
                        if self.wanted.get(&w.payload).is_none_or(|t| now > *t + FETCH_RETRY) {
                            self.want(w.payload, net);
                        }
                    }
                    keep.push(w);
                }
            }
        }
        self.waiting = keep;
        Ok(())
    }

    /// Whether the body `payload` may be notarized in `context`.
    fn check(&mut self, context: &Ctx, payload: B256) -> Result<Verdict, NodeError> {
        let parent = from_digest(&context.parent.1);
        let Some(pk) = self.known.get(&parent).cloned() else {
            return Ok(Verdict::Wait(format!("parent {parent} not known yet")));
        };
        let body = match self.known.get(&payload) {
            Some(_) => match self.store.body(&payload)? {
                Some((b, _)) => b,
                None => return Ok(Verdict::Invalid("known body missing from the store".into())),
            },
            None => match self.orphans.get(&payload) {
                Some(b) => b.clone(),
                None => return Ok(Verdict::Wait("body not received yet".into())),
            },
        };
        if body.parent != parent {
            return Ok(Verdict::Invalid(format!("body's parent {} is not the proposal's {parent}", body.parent)));
        }
        if context.round.epoch().get() != pk.epoch {
            return Ok(Verdict::Invalid(format!(
                "proposal in epoch {} but its parent's children belong to epoch {}",
                context.round.epoch().get(),
                pk.epoch
            )));
        }
        if body.view != context.round.view().get() {
            return Ok(Verdict::Invalid(format!("body's view {} is not {}", body.view, context.round.view().get())));
        }
        if body.height != pk.height + 1 {
            return Ok(Verdict::Invalid(format!("height {} after parent {}", body.height, pk.height)));
        }
        if body.timestamp_ms <= pk.timestamp_ms || body.timestamp_ms > self.now_ms() + 2_000 {
            return Ok(Verdict::Invalid(format!(
                "timestamp {} ms (parent {}, now {})",
                body.timestamp_ms,
                pk.timestamp_ms,
                self.now_ms()
            )));
        }
        if let Some(first) = body.deposits.first()
            && first.nonce != pk.next_deposit
        {
            return Ok(Verdict::Invalid(format!("deposits start at {} not {}", first.nonce, pk.next_deposit)));
        }
        for d in &body.deposits {
            match self.shared.deposit(d.nonce) {
                Some(seen) if seen == *d => {}
                Some(seen) => return Ok(Verdict::Invalid(format!("deposit {} is not L1's: {seen:?}", d.nonce))),
                None => return Ok(Verdict::Wait(format!("L1 deposit {} not seen yet", d.nonce))),
            }
        }
        if let Some(c) = body.set_change.first() {
            if c.epoch != pk.epoch + 1 || !body.height.is_multiple_of(self.spec.checkpoint_interval) {
                return Ok(Verdict::Invalid(format!(
                    "set change for epoch {} at height {} (expected epoch {} at a multiple of {})",
                    c.epoch,
                    body.height,
                    pk.epoch + 1,
                    self.spec.checkpoint_interval
                )));
            }
            match self.shared.set_change(c.epoch) {
                Some(seen) if seen == *c => {}
                Some(seen) => return Ok(Verdict::Invalid(format!("set change {c:?} is not L1's: {seen:?}"))),
                None => return Ok(Verdict::Wait(format!("L1 set change for epoch {} not seen yet", c.epoch))),
            }
        }
        let mut txs = Vec::with_capacity(body.txs.len());
        for (i, raw) in body.txs.iter().enumerate() {
            match Chain::decode_raw_tx_for(self.chain.rules(), raw) {
                Ok(tx) => txs.push(tx),
                Err(e) => return Ok(Verdict::Invalid(format!("transaction {i}: {e}"))),
            }
        }
        let next = pk.next_deposit + body.deposits.len() as u64;
        // Durable before the vote.
        self.store.put_body(&payload, next, &body)?;
        self.decoded.insert(payload, txs);
        self.orphans.remove(&payload);
        self.known.insert(payload, known_of(&body, next, epoch_after(&body, pk.epoch)));
        Ok(Verdict::Valid)
    }

    // ------------------------------------------------------------------ bodies on the wire

    fn on_body<S, R>(&mut self, from: &PublicKey, bytes: &[u8], net: &mut AppNet<S, R>) -> Result<(), NodeError>
    where
        S: Sender<PublicKey = PublicKey>,
        R: Receiver<PublicKey = PublicKey>,
    {
        match Body::decode(bytes) {
            Ok(body) => self.receive(body),
            Err(e) => warn!(target: "sidechain", peer = %from, error = %e, "refused a body"),
        }
        self.try_verify(net)
    }

    /// A body from a peer: held until a verify checks it or finality takes it in.
    fn receive(&mut self, body: Body) {
        let digest = body.digest();
        if self.known.contains_key(&digest) {
            return;
        }
        if self.orphans.len() < 10_000 {
            self.orphans.insert(digest, body);
        }
    }

    /// Takes in a body of the finalized chain whose parent is known.
    fn connect(&mut self, digest: B256, body: Body, parent: &Known) -> Result<(), NodeError> {
        let next = parent.next_deposit + body.deposits.len() as u64;
        self.store.put_body(&digest, next, &body)?;
        self.known.insert(digest, known_of(&body, next, epoch_after(&body, parent.epoch)));
        Ok(())
    }

    fn want<S, R>(&mut self, digest: B256, net: &mut AppNet<S, R>)
    where
        S: Sender<PublicKey = PublicKey>,
        R: Receiver<PublicKey = PublicKey>,
    {
        if self.orphans.contains_key(&digest) || self.known.contains_key(&digest) {
            return;
        }
        self.wanted.insert(digest, self.context.current());
        let to = net.fetch.sender.send(Recipients::All, FetchMessage::Request(digest).encode(), false);
        debug!(target: "sidechain", %digest, peers = to.len(), "asking for a body");
    }

    fn on_fetch<S, R>(&mut self, from: PublicKey, bytes: &[u8], net: &mut AppNet<S, R>) -> Result<(), NodeError>
    where
        S: Sender<PublicKey = PublicKey>,
        R: Receiver<PublicKey = PublicKey>,
    {
        match FetchMessage::decode(bytes) {
            Ok(FetchMessage::Request(d)) => {
                debug!(target: "sidechain", peer = %from, digest = %d, known = self.known.contains_key(&d), "asked for a body");
                if self.known.contains_key(&d)
                    && let Some((body, _)) = self.store.body(&d)?
                {
                    let reply = FetchMessage::Response(body.encode().into()).encode();
                    net.fetch.sender.send(Recipients::One(from), reply, false);
                }
            }
            Ok(FetchMessage::Response(bytes)) => match Body::decode(&bytes) {
                Ok(body) => {
                    let d = body.digest();
                    debug!(target: "sidechain", peer = %from, digest = %d, height = body.height, wanted = self.wanted.contains_key(&d), "fetched a body");
                    if self.wanted.remove(&d).is_some() {
                        self.receive(body);
                        // Finality takes it in (or asks at once for what is still missing
                        // below it: catching up walks back one body per round trip).
                        self.execute()?;
                        if let Some(m) = self.missing.take() {
                            self.want(m, net);
                        }
                        self.try_verify(net)?;
                    }
                }
                Err(e) => warn!(target: "sidechain", peer = %from, error = %e, "refused a fetched body"),
            },
            Ok(FetchMessage::Tip) => {
                let height = self.known.get(&self.executed).map(|k| k.height).unwrap_or(0);
                net.fetch.sender.send(Recipients::One(from), FetchMessage::TipIs(height).encode(), false);
            }
            Ok(FetchMessage::TipIs(h)) => {
                self.tips.insert(from, h);
            }
            Ok(FetchMessage::At(h)) => {
                if let Some(d) = self.store.executed(h)?
                    && self.known.get(&self.executed).is_some_and(|k| k.height >= h)
                {
                    net.fetch.sender.send(Recipients::One(from), FetchMessage::AtIs(h, d).encode(), false);
                }
            }
            Ok(FetchMessage::AtIs(h, d)) => self.on_reported(from, h, d)?,
            Err(e) => warn!(target: "sidechain", peer = %from, error = %e, "refused a fetch message"),
        }
        Ok(())
    }

    // ------------------------------------------------------------------ transactions, ticks

    fn on_txs(&mut self, bytes: &[u8]) {
        let Ok(raws) = decode_txs(bytes) else { return };
        for raw in raws {
            // Marked first, so that it is not passed on again.
            self.gossiped.insert(keccak256(&raw));
            let _ = self.chain.send_raw(&raw);
        }
    }

    fn on_tick<S, R>(&mut self, net: &mut AppNet<S, R>) -> Result<(), NodeError>
    where
        S: Sender<PublicKey = PublicKey>,
        R: Receiver<PublicKey = PublicKey>,
    {
        // Execution that waited (for L1's view of a set change) goes on.
        self.execute()?;
        self.try_propose(net)?;
        self.try_verify(net)?;
        let now = self.context.current();
        if let Some(m) = self.missing.take()
            && !self.known.contains_key(&m)
            && !self.wanted.contains_key(&m)
        {
            self.want(m, net);
        }
        let stale: Vec<B256> = self.wanted.iter().filter(|(_, t)| now > **t + FETCH_RETRY).map(|(d, _)| *d).collect();
        for d in stale {
            self.want(d, net);
        }
        if now > self.last_sync + SYNC_EVERY {
            self.last_sync = now;
            self.sync(net);
        }
        let fresh = self.chain.pool_unseen(&mut self.gossiped, GOSSIP_BATCH);
        if !fresh.is_empty() {
            net.txs.sender.send(Recipients::All, encode_txs(&fresh), false);
        }
        if now > self.last_prune + Duration::from_secs(10) {
            self.last_prune = now;
            let chain = self.chain.clone();
            self.gossiped.retain(|h| chain.in_pool(h));
            self.prune_known();
        }
        for msg in self.checkpointer.outgoing(now) {
            net.checkpoints.sender.send(Recipients::All, msg, false);
        }
        Ok(())
    }

    /// Forgets bodies far below the executed head (they stay in the store).
    fn prune_known(&mut self) {
        let Some(head) = self.known.get(&self.executed).map(|k| k.height) else { return };
        let keep_from = head.saturating_sub(1_000);
        let executed = self.executed;
        self.known.retain(|d, k| k.height >= keep_from || *d == executed);
        self.orphans.retain(|_, b| b.height + 1_000 >= head);
        // Bodies of abandoned views never execute: their decoded transactions go.
        let known = &self.known;
        self.decoded.retain(|d, _| known.get(d).is_some_and(|k| k.height > head));
    }
}

enum Verdict {
    Valid,
    Invalid(String),
    Wait(String),
}

/// The epoch ordering a body's children: the next one if it carries the set change.
fn epoch_after(body: &Body, parent_epoch: u64) -> u64 {
    body.set_change.first().map(|c| c.epoch).unwrap_or(parent_epoch)
}

fn known_of(body: &Body, next_deposit: u64, epoch: u64) -> Known {
    Known {
        height: body.height,
        timestamp_ms: body.timestamp_ms,
        parent: body.parent,
        next_deposit,
        epoch,
        txs: body.txs.iter().map(keccak256).collect(),
    }
}

fn encode_tx(tx: &ChainTx) -> Bytes {
    use alloy::eips::eip2718::Encodable2718;
    tx.envelope.encoded_2718().into()
}
