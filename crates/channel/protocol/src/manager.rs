//! Every channel of one node, sans-IO: multi-channel state, payments batched per channel,
//! HTLCs offered, forwarded and paired with the one they came from, invoices and preimages.
//! Every handler fills an [`Outbox`] that the driver (the node: sockets, journal, L1 watcher)
//! persists, then sends, then completes; nothing here blocks, sleeps or reads a clock (L1's time
//! comes in as [`Manager::now`]).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};

use alloy_primitives::{Address, B256, U256};
use serde::{Deserialize, Serialize};
use tracing::{debug, warn};

use crate::{
    Ack, Change, Channel, ChannelError, CloseSig, FailReason, FeePolicy, Graph, Hop, MAX_AMOUNT, Message, Received,
    Reject, SignedState, Signer, Update, lock_hash, wire::MAX_HOPS,
};

/// Where a channel is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lifecycle {
    /// Opened on L1, waiting for the counterparty's deposit.
    Opening,
    Open,
    /// A close has begun (cooperative or on L1).
    Closing,
    /// Settled on L1.
    Closed,
}

/// One channel as the node persists it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChannelRecord {
    pub channel: Channel,
    pub token: Address,
    pub lifecycle: Lifecycle,
    /// Next id for an HTLC we offer.
    pub next_htlc: u64,
    /// We asked for the cooperative close (so we submit it).
    pub close_initiator: bool,
    /// Our cooperative-close signature, once given.
    pub our_close: Option<CloseSig>,
}

/// A journal record.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Record {
    Channel(Box<ChannelRecord>),
    /// A preimage we made (an invoice for `amount`) or learned.
    Preimage {
        hash: B256,
        preimage: B256,
        invoice: Option<u128>,
    },
    /// We forwarded `incoming` as `outgoing` (channel, HTLC id).
    Forward {
        outgoing: (U256, u64),
        incoming: (U256, u64),
    },
    ForwardDone {
        outgoing: (U256, u64),
    },
    /// One of our invoices was claimed: it is never paid again.
    InvoicePaid {
        hash: B256,
    },
    /// A peer we dialed (to dial again after a restart).
    Peer {
        node: Address,
        addr: String,
    },
}

/// Who waits for a direct payment: the driver's handle, answered through
/// [`Outbox::direct_done`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Waiter(pub u64);

type DirectWaiter = Waiter;

/// Direct payments asked for while a proposal of the channel was in flight: they go out
/// together, as one `Pay` of their sum, once the counterparty has answered (Lightning's batching
/// of many updates under one commitment signature). Not persisted: nobody has been told they
/// happened.
#[derive(Default)]
pub struct Batch {
    pub amount: u128,
    pub waiters: Vec<DirectWaiter>,
}

/// What a handler wants done once its changes are on disk.
#[derive(Default)]
pub struct Outbox {
    pub send: Vec<(Address, Message)>,
    pub dirty: BTreeSet<U256>,
    pub records: Vec<Record>,
    pub direct_done: Vec<(DirectWaiter, Result<(), String>)>,
    pub htlc_done: Vec<(B256, Result<B256, String>)>,
    /// Fully signed states to hand to the watchtower.
    pub signed: Vec<SignedState>,
    pub l1: Vec<L1Task>,
}

/// L1 work a handler asks for (the driver does it).
#[derive(Debug, Clone)]
pub enum L1Task {
    Join { peer: Address, channel_id: U256, amount: u128 },
    CloseCooperatively { channel_id: U256, ours: Box<CloseSig>, theirs: Box<CloseSig> },
}

pub struct Manager {
    pub signer: Signer,
    pub fee: FeePolicy,
    pub channels: BTreeMap<U256, ChannelRecord>,
    pub preimages: HashMap<B256, B256>,
    pub invoices: HashMap<B256, u128>,
    /// Invoices already claimed.
    pub paid: HashSet<B256>,
    pub forwards: HashMap<(U256, u64), (U256, u64)>,
    /// One entry per pending proposal of each channel, in order: who waits for it.
    pub direct: HashMap<U256, VecDeque<Vec<DirectWaiter>>>,
    /// Direct payments waiting for the channel's proposals to be answered.
    pub batches: HashMap<U256, Batch>,
    pub peer_fees: HashMap<Address, FeePolicy>,
    pub graph_edges: BTreeMap<U256, crate::Edge>,
    /// L1's clock (latest block timestamp), refreshed by the watcher.
    pub now: u64,
    /// Seconds given to the payee's HTLC.
    pub final_expiry: u64,
    pub max_join: u128,
    /// Attack hook: ignore every peer message (a hop that goes silent).
    pub silent: bool,
    /// Attack hook: go silent right after forwarding an HTLC.
    pub silent_after_forward: bool,
}

impl Manager {
    /// A node's manager with no channels yet (restore its journal with [`Manager::restore`]).
    pub fn new(signer: Signer, fee: FeePolicy, final_expiry: u64, max_join: u128) -> Self {
        Self {
            signer,
            fee,
            channels: BTreeMap::new(),
            preimages: HashMap::new(),
            invoices: HashMap::new(),
            paid: HashSet::new(),
            forwards: HashMap::new(),
            direct: HashMap::new(),
            batches: HashMap::new(),
            peer_fees: HashMap::new(),
            graph_edges: BTreeMap::new(),
            now: 0,
            final_expiry,
            max_join,
            silent: false,
            silent_after_forward: false,
        }
    }

    /// Replays journal records (in the order written); returns the peers dialed, to dial again.
    /// Nobody waits for proposals made before the restart: their waiter queues start empty.
    pub fn restore(&mut self, records: impl IntoIterator<Item = Record>) -> HashMap<Address, String> {
        let mut dialed = HashMap::new();
        for r in records {
            match r {
                Record::Channel(c) => {
                    self.channels.insert(c.channel.id, *c);
                }
                Record::Preimage { hash, preimage, invoice } => {
                    self.preimages.insert(hash, preimage);
                    if let Some(a) = invoice {
                        self.invoices.insert(hash, a);
                    }
                }
                Record::Forward { outgoing, incoming } => {
                    self.forwards.insert(outgoing, incoming);
                }
                Record::ForwardDone { outgoing } => {
                    self.forwards.remove(&outgoing);
                }
                Record::InvoicePaid { hash } => {
                    self.paid.insert(hash);
                }
                Record::Peer { node, addr } => {
                    dialed.insert(node, addr);
                }
            }
        }
        for (id, r) in &self.channels {
            self.direct.insert(*id, r.channel.pending.iter().map(|_| Vec::new()).collect::<VecDeque<_>>());
        }
        dialed
    }

    /// Everything still live, as records: what a compacted journal holds.
    pub fn live_records(&self, dialed: &HashMap<Address, String>) -> Vec<Record> {
        let mut out: Vec<Record> = self.channels.values().map(|r| Record::Channel(Box::new(r.clone()))).collect();
        for (hash, preimage) in &self.preimages {
            out.push(Record::Preimage { hash: *hash, preimage: *preimage, invoice: self.invoices.get(hash).copied() });
            if self.paid.contains(hash) {
                out.push(Record::InvoicePaid { hash: *hash });
            }
        }
        for (o, i) in &self.forwards {
            out.push(Record::Forward { outgoing: *o, incoming: *i });
        }
        for (node, addr) in dialed {
            out.push(Record::Peer { node: *node, addr: addr.clone() });
        }
        out
    }

    /// A channel joins the manager (opened by us, or joined on the peer's request); an open
    /// one is announced to the peer with our latest state.
    pub fn add_channel(&mut self, channel: Channel, token: Address, lifecycle: Lifecycle, ob: &mut Outbox) {
        let id = channel.id;
        let peer = channel.counterparty();
        let latest = channel.latest.clone();
        self.channels.insert(
            id,
            ChannelRecord { channel, token, lifecycle, next_htlc: 0, close_initiator: false, our_close: None },
        );
        self.direct.insert(id, VecDeque::new());
        ob.dirty.insert(id);
        if lifecycle == Lifecycle::Open {
            ob.send.push((peer, Message::Reestablish(latest)));
        }
    }

    /// Moves channel `id` to `lifecycle`. Past `Open`, the channel takes no more updates: its
    /// batch fails, and once closed so does every payment still waiting on it.
    pub fn set_lifecycle(&mut self, id: U256, lifecycle: Lifecycle, ob: &mut Outbox) {
        let Some(r) = self.channels.get_mut(&id) else { return };
        if r.lifecycle == lifecycle {
            return;
        }
        r.lifecycle = lifecycle;
        ob.dirty.insert(id);
        if matches!(lifecycle, Lifecycle::Closing | Lifecycle::Closed) {
            r.channel.closing = true;
            self.fail_batch(id, "the channel is closing", ob);
        }
        if lifecycle == Lifecycle::Closed {
            for w in self.direct.remove(&id).unwrap_or_default().into_iter().flatten() {
                ob.direct_done.push((w, Err("the channel closed".into())));
            }
        }
    }

    /// A new invoice for `amount`, paid by revealing `preimage`; returns the hash payers lock to.
    pub fn invoice(&mut self, preimage: B256, amount: u128, ob: &mut Outbox) -> B256 {
        let hash = lock_hash(&preimage);
        self.preimages.insert(hash, preimage);
        self.invoices.insert(hash, amount);
        ob.records.push(Record::Preimage { hash, preimage, invoice: Some(amount) });
        hash
    }

    /// Offers the first HTLC of a payment of `amount` to `payee`, locked to `hash`, over the
    /// cheapest route now; the result comes back in [`Outbox::htlc_done`] under `hash`.
    /// Returns the route: its hops and the fee it pays.
    pub fn send_payment(
        &mut self,
        payee: Address,
        hash: B256,
        amount: u128,
        ob: &mut Outbox,
    ) -> Result<(usize, u128), PaymentError> {
        let route = self.graph().find_route(self.me(), payee, amount, self.now + self.final_expiry)?;
        let first = route[0].clone();
        let id = first.channel_id;
        let r = self.channels.get_mut(&id).ok_or(PaymentError::OffOurChannels)?;
        r.next_htlc += 1;
        let change = Change::AddHtlc {
            htlc_id: r.next_htlc,
            amount: first.amount,
            hash,
            expiry: first.expiry,
            route: route[1..].to_vec(),
        };
        self.propose(id, change, Vec::new(), ob)?;
        Ok((route.len(), first.amount - amount))
    }

    pub fn me(&self) -> Address {
        self.signer.address()
    }

    /// Channels with `peer`.
    pub fn shared_with(&self, peer: Address) -> Vec<U256> {
        self.channels
            .iter()
            .filter(|(_, r)| r.channel.counterparty() == peer && r.lifecycle == Lifecycle::Open)
            .map(|(id, _)| *id)
            .collect()
    }

    pub fn graph(&self) -> Graph {
        let mut g = Graph::new(self.fee);
        for e in self.graph_edges.values() {
            g.upsert(e.clone());
        }
        for (id, r) in &self.channels {
            if r.lifecycle != Lifecycle::Open {
                g.remove(id);
                continue;
            }
            let c = &r.channel;
            let tip = c.tip();
            g.upsert(crate::Edge {
                id: *id,
                a: c.a,
                b: c.b,
                capacity: tip.total(),
                spendable: Some((tip.balance_a, tip.balance_b)),
            });
        }
        for (n, p) in &self.peer_fees {
            g.set_policy(*n, *p);
        }
        g
    }

    /// Pays `amount` on channel `id` through the channel's batch: proposed at once when nothing
    /// of ours is in flight there, otherwise when the counterparty answers.
    pub fn pay(&mut self, id: U256, amount: u128, waiter: DirectWaiter, ob: &mut Outbox) -> Result<(), ChannelError> {
        let Some(rec) = self.channels.get(&id) else { return Err(ChannelError::WrongParent) };
        if rec.lifecycle != Lifecycle::Open {
            return Err(ChannelError::Closing);
        }
        if amount == 0 || amount > MAX_AMOUNT {
            return Err(ChannelError::BadAmount);
        }
        let have = rec.channel.local_balance();
        let batched = self.batches.get(&id).map_or(0, |b| b.amount);
        if batched + amount > have {
            return Err(ChannelError::Insufficient { have: have - batched, want: amount });
        }
        if batched + amount > MAX_AMOUNT {
            self.flush(id, ob);
        }
        let b = self.batches.entry(id).or_default();
        b.amount += amount;
        b.waiters.push(waiter);
        self.flush_if_idle(id, ob);
        Ok(())
    }

    /// Proposes channel `id`'s batch of payments, if it has one.
    fn flush(&mut self, id: U256, ob: &mut Outbox) {
        let Some(b) = self.batches.remove(&id) else { return };
        if let Err(e) = self.propose_now(id, Change::Pay { amount: b.amount }, b.waiters, ob) {
            warn!(target: "aqueduct::channel", channel = %id, error = %e, "a batch of payments no longer applies");
        }
    }

    /// Proposes channel `id`'s batch once none of our proposals there is in flight any more.
    fn flush_if_idle(&mut self, id: U256, ob: &mut Outbox) {
        if self.channels.get(&id).is_some_and(|r| r.channel.pending.is_empty()) {
            self.flush(id, ob);
        }
    }

    /// Fails the batch of a channel that takes no more updates.
    pub fn fail_batch(&mut self, id: U256, why: &str, ob: &mut Outbox) {
        for w in self.batches.remove(&id).map(|b| b.waiters).unwrap_or_default() {
            ob.direct_done.push((w, Err(why.to_string())));
        }
    }

    /// Proposes `change` on channel `id`, after the channel's batch of payments (asked for
    /// first); the update goes to the counterparty (or waits in the pending queue for the
    /// reconnect).
    pub fn propose(
        &mut self,
        id: U256,
        change: Change,
        waiters: Vec<DirectWaiter>,
        ob: &mut Outbox,
    ) -> Result<(), ChannelError> {
        self.flush(id, ob);
        self.propose_now(id, change, waiters, ob)
    }

    /// Proposes `change` on channel `id`, ahead of the channel's batch. A change that cannot be
    /// made fails its waiters.
    fn propose_now(
        &mut self,
        id: U256,
        change: Change,
        waiters: Vec<DirectWaiter>,
        ob: &mut Outbox,
    ) -> Result<(), ChannelError> {
        let result = self.try_propose(id, change, ob);
        match &result {
            Ok(()) => self.direct.entry(id).or_default().push_back(waiters),
            Err(e) => {
                for w in waiters {
                    ob.direct_done.push((w, Err(e.to_string())));
                }
            }
        }
        result
    }

    fn try_propose(&mut self, id: U256, change: Change, ob: &mut Outbox) -> Result<(), ChannelError> {
        let now = self.now;
        let Some(rec) = self.channels.get_mut(&id) else { return Err(ChannelError::WrongParent) };
        if rec.lifecycle != Lifecycle::Open {
            return Err(ChannelError::Closing);
        }
        let u = rec.channel.propose(&self.signer, change, now)?;
        ob.send.push((rec.channel.counterparty(), Message::Update(u)));
        ob.dirty.insert(id);
        Ok(())
    }

    /// Proposes changes again (after a conflict), each with its waiters, ahead of the batch.
    fn repropose(&mut self, id: U256, changes: Vec<Change>, ob: &mut Outbox) {
        let mut waiters = self.direct.remove(&id).unwrap_or_default();
        for c in changes {
            let w = waiters.pop_front().unwrap_or_default();
            if let Err(e) = self.propose_now(id, c.clone(), w, ob) {
                warn!(target: "aqueduct::channel", channel = %id, error = %e, "a change no longer applies");
                self.failed_change(id, c, e.to_string(), Vec::new(), ob);
            }
        }
    }

    /// A change of ours that will not happen: tell whoever waits for it.
    fn failed_change(&mut self, id: U256, change: Change, why: String, waiters: Vec<DirectWaiter>, ob: &mut Outbox) {
        for w in waiters {
            ob.direct_done.push((w, Err(why.clone())));
        }
        if let Change::AddHtlc { htlc_id, hash, .. } = change {
            self.htlc_failed(id, htlc_id, hash, FailReason::NextHopRefused, why, ob);
        }
    }

    /// The incoming HTLC that our HTLC `htlc_id` on `id` forwarded, if it forwarded one: the pair
    /// is settled (and journaled so) either way the outgoing one ends.
    fn forward_done(&mut self, id: U256, htlc_id: u64, ob: &mut Outbox) -> Option<(U256, u64)> {
        let incoming = self.forwards.remove(&(id, htlc_id))?;
        ob.records.push(Record::ForwardDone { outgoing: (id, htlc_id) });
        Some(incoming)
    }

    /// An HTLC we offered on `id` failed: fail the one it forwards, or the payment.
    /// `reason` goes upstream with the failure; `why` is what our own payer hears.
    fn htlc_failed(&mut self, id: U256, htlc_id: u64, hash: B256, reason: FailReason, why: String, ob: &mut Outbox) {
        if let Some((in_ch, in_htlc)) = self.forward_done(id, htlc_id, ob) {
            if let Err(e) = self.propose(in_ch, Change::Fail { htlc_id: in_htlc, reason }, Vec::new(), ob) {
                warn!(target: "aqueduct::channel", error = %e, "cannot fail the incoming HTLC");
            }
        } else {
            ob.htlc_done.push((hash, Err(why)));
        }
    }

    /// An HTLC we offered on `id` was fulfilled (off-chain or on L1): pass the preimage upstream
    /// or complete the payment.
    pub fn htlc_fulfilled(&mut self, id: U256, htlc_id: u64, preimage: B256, ob: &mut Outbox) {
        let hash = lock_hash(&preimage);
        if self.preimages.insert(hash, preimage).is_none() {
            ob.records.push(Record::Preimage { hash, preimage, invoice: None });
        }
        if let Some((in_ch, in_htlc)) = self.forward_done(id, htlc_id, ob) {
            if let Err(e) = self.propose(in_ch, Change::Fulfill { htlc_id: in_htlc, preimage }, Vec::new(), ob) {
                warn!(target: "aqueduct::channel", error = %e, "cannot fulfil the incoming HTLC off-chain; L1 will");
            }
        } else {
            ob.htlc_done.push((hash, Ok(preimage)));
        }
    }

    pub fn on_message(&mut self, peer: Address, msg: Message, ob: &mut Outbox) {
        if self.silent {
            return;
        }
        match msg {
            Message::Update(u) => self.on_update(peer, u, ob),
            Message::Ack(a) => self.on_ack(peer, a, ob),
            Message::Reject(r) => self.on_reject(peer, r, ob),
            Message::Reestablish(s) => self.on_reestablish(peer, s, ob),
            Message::CloseSig(c) => self.on_close_sig(peer, c, ob),
            Message::Join { channel_id, amount } => ob.l1.push(L1Task::Join { peer, channel_id, amount }),
            Message::Error(e) => warn!(target: "aqueduct::channel", %peer, error = %e, "peer reports an error"),
            Message::Hello(_) | Message::Auth(_) => {
                ob.send.push((peer, Message::Error("handshake messages after the handshake".into())))
            }
        }
    }

    fn channel_of(&mut self, peer: Address, id: U256, ob: &mut Outbox) -> Option<&mut ChannelRecord> {
        match self.channels.get_mut(&id) {
            Some(r) if r.channel.counterparty() == peer => Some(r),
            _ => {
                ob.send.push((peer, Message::Error(format!("no channel {id} with you"))));
                None
            }
        }
    }

    fn on_update(&mut self, peer: Address, u: Update, ob: &mut Outbox) {
        let now = self.now;
        let signer = self.signer.clone();
        let Some(rec) = self.channel_of(peer, u.channel_id, ob) else { return };
        if rec.lifecycle != Lifecycle::Open {
            let reject = Reject {
                channel_id: u.channel_id,
                version: u.version,
                prev: u.prev,
                conflict: false,
                reason: "the channel is not open".into(),
            };
            ob.send.push((peer, Message::Reject(reject)));
            return;
        }
        // The hash of an HTLC we offered that the peer fails (gone from the state afterwards).
        let failing_hash = match &u.change {
            Change::Fail { htlc_id, .. } => rec
                .channel
                .latest
                .state
                .htlcs
                .iter()
                .find(|h| h.id == *htlc_id && h.sender() == rec.channel.side)
                .map(|h| h.hash),
            _ => None,
        };
        let id = u.channel_id;
        match rec.channel.receive_update(&signer, &u, now) {
            Received::Refused { reject, error } => {
                if let Some(e) = error {
                    debug!(target: "aqueduct::channel", %peer, channel = %id, error = %e, "refused an update");
                }
                ob.send.push((peer, Message::Reject(reject)));
            }
            Received::Accepted { signed, ack, change, dropped } => {
                ob.dirty.insert(id);
                ob.signed.push(signed);
                ob.send.push((peer, Message::Ack(ack)));
                if !dropped.is_empty() {
                    self.repropose(id, dropped, ob);
                }
                self.after_accepted(id, change, failing_hash, ob);
                self.flush_if_idle(id, ob);
            }
        }
    }

    fn after_accepted(&mut self, id: U256, change: Change, failing_hash: Option<B256>, ob: &mut Outbox) {
        match change {
            Change::Pay { .. } => {}
            Change::AddHtlc { htlc_id, amount, hash, expiry, route } => {
                if route.is_empty() {
                    self.receive_payment(id, htlc_id, amount, hash, ob);
                } else {
                    self.forward(id, htlc_id, amount, expiry, hash, route, ob);
                }
            }
            Change::Fulfill { htlc_id, preimage } => self.htlc_fulfilled(id, htlc_id, preimage, ob),
            Change::Fail { htlc_id, reason } => {
                let hash = failing_hash.unwrap_or_default();
                self.htlc_failed(id, htlc_id, hash, reason, reason.to_string(), ob);
            }
        }
    }

    /// We are the payee: claim the HTLC if it pays one of our invoices, once and for exactly its
    /// amount; otherwise fail it saying why.
    fn receive_payment(&mut self, id: U256, htlc_id: u64, amount: u128, hash: B256, ob: &mut Outbox) {
        let fail = |reason| Change::Fail { htlc_id, reason };
        let change = match (self.invoices.get(&hash), self.preimages.get(&hash)) {
            (Some(_), _) if self.paid.contains(&hash) => fail(FailReason::AlreadyPaid),
            (Some(want), Some(preimage)) if amount == *want => Change::Fulfill { htlc_id, preimage: *preimage },
            (Some(want), Some(_)) if amount < *want => fail(FailReason::Underpaid),
            (Some(_), Some(_)) => fail(FailReason::Overpaid),
            _ => fail(FailReason::UnknownInvoice),
        };
        let claims = matches!(change, Change::Fulfill { .. });
        match self.propose(id, change, Vec::new(), ob) {
            // Paid from the moment the claim is proposed: a second HTLC for it, even one arriving
            // before this one settles, is failed.
            Ok(()) if claims => {
                self.paid.insert(hash);
                ob.records.push(Record::InvoicePaid { hash });
            }
            Ok(()) => {}
            Err(e) => warn!(target: "aqueduct::channel", error = %e, "cannot answer an incoming HTLC"),
        }
    }

    /// We are an intermediate hop: offer the next HTLC, keeping our fee and expiry delta.
    #[allow(clippy::too_many_arguments)]
    fn forward(
        &mut self,
        in_ch: U256,
        in_htlc: u64,
        amount: u128,
        expiry: u64,
        hash: B256,
        route: Vec<Hop>,
        ob: &mut Outbox,
    ) {
        let next = &route[0];
        let out = self.channels.get(&next.channel_id);
        let reason = if out.is_none_or(|r| r.channel.counterparty() != next.node || r.lifecycle != Lifecycle::Open) {
            Some((FailReason::NoNextChannel, "no open channel to the next hop".to_string()))
        } else if amount < next.amount.saturating_add(self.fee.fee(next.amount)) {
            Some((FailReason::FeeTooLow, format!("fee below {}", self.fee.fee(next.amount))))
        } else if expiry < next.expiry.saturating_add(self.fee.expiry_delta as u64) {
            Some((FailReason::ExpiryTooSoon, format!("expiry delta below {}", self.fee.expiry_delta)))
        } else if route.len() > MAX_HOPS {
            Some((FailReason::RouteTooLong, "route too long".into()))
        } else {
            None
        };
        let result = match reason {
            Some(r) => Err(r),
            None => {
                let out_ch = next.channel_id;
                let out_htlc = self.channels.get_mut(&out_ch).map(|r| {
                    r.next_htlc += 1;
                    r.next_htlc
                });
                let out_htlc = out_htlc.expect("checked above");
                let change = Change::AddHtlc {
                    htlc_id: out_htlc,
                    amount: next.amount,
                    hash,
                    expiry: next.expiry,
                    route: route[1..].to_vec(),
                };
                match self.propose(out_ch, change, Vec::new(), ob) {
                    Ok(()) => {
                        if self.silent_after_forward {
                            warn!(target: "aqueduct::channel", "attack hook: going silent after forwarding");
                            self.silent = true;
                        }
                        self.forwards.insert((out_ch, out_htlc), (in_ch, in_htlc));
                        ob.records.push(Record::Forward { outgoing: (out_ch, out_htlc), incoming: (in_ch, in_htlc) });
                        Ok(())
                    }
                    Err(e) => Err((FailReason::NextHopRefused, e.to_string())),
                }
            }
        };
        if let Err((reason, why)) = result {
            debug!(target: "aqueduct::channel", channel = %in_ch, why, "not forwarding");
            if let Err(e) = self.propose(in_ch, Change::Fail { htlc_id: in_htlc, reason }, Vec::new(), ob) {
                warn!(target: "aqueduct::channel", error = %e, "cannot fail an HTLC");
            }
        }
    }

    fn on_ack(&mut self, peer: Address, a: Ack, ob: &mut Outbox) {
        let Some(rec) = self.channel_of(peer, a.channel_id, ob) else { return };
        match rec.channel.receive_ack(&a) {
            Ok(Some((signed, _change))) => {
                ob.dirty.insert(a.channel_id);
                ob.signed.push(signed);
                for w in self.direct.get_mut(&a.channel_id).and_then(|q| q.pop_front()).unwrap_or_default() {
                    ob.direct_done.push((w, Ok(())));
                }
                self.flush_if_idle(a.channel_id, ob);
            }
            Ok(None) => {}
            Err(e) => ob.send.push((peer, Message::Error(format!("ack for version {}: {e}", a.version)))),
        }
    }

    fn on_reject(&mut self, peer: Address, r: Reject, ob: &mut Outbox) {
        let Some(rec) = self.channel_of(peer, r.channel_id, ob) else { return };
        let dropped = rec.channel.receive_reject(&r);
        if dropped.is_empty() {
            return;
        }
        ob.dirty.insert(r.channel_id);
        if r.conflict {
            self.repropose(r.channel_id, dropped, ob);
        } else {
            warn!(target: "aqueduct::channel", %peer, channel = %r.channel_id, reason = %r.reason, "peer refused our update");
            let mut waiters = self.direct.remove(&r.channel_id).unwrap_or_default();
            for c in dropped {
                let w = waiters.pop_front().unwrap_or_default();
                self.failed_change(r.channel_id, c, format!("refused by the peer: {}", r.reason), w, ob);
            }
        }
        self.flush_if_idle(r.channel_id, ob);
    }

    fn on_reestablish(&mut self, peer: Address, theirs: SignedState, ob: &mut Outbox) {
        let id = theirs.state.channel_id;
        let Some(rec) = self.channel_of(peer, id, ob) else { return };
        let before = rec.channel.pending.len();
        match rec.channel.reestablish(&theirs) {
            Err(e) => ob.send.push((peer, Message::Error(format!("reestablish of {id}: {e}")))),
            Ok((adopted, dropped)) => {
                if adopted {
                    ob.dirty.insert(id);
                    ob.signed.push(rec.channel.latest.clone());
                }
                let kept = rec.channel.pending.len();
                let settled = before - kept - dropped.len();
                let resend: Vec<Update> = rec.channel.pending.iter().map(|p| rec.channel.update_for(p)).collect();
                for u in resend {
                    ob.send.push((peer, Message::Update(u)));
                }
                let q = self.direct.entry(id).or_default();
                for _ in 0..settled {
                    for w in q.pop_front().unwrap_or_default() {
                        ob.direct_done.push((w, Ok(())));
                    }
                }
                // Dropped proposals are exactly the rest of the queue (reestablish keeps none
                // when it drops any): propose them again with their waiters.
                if !dropped.is_empty() {
                    self.repropose(id, dropped, ob);
                }
                self.flush_if_idle(id, ob);
            }
        }
    }

    fn on_close_sig(&mut self, peer: Address, theirs: CloseSig, ob: &mut Outbox) {
        let signer = self.signer.clone();
        let id = theirs.channel_id;
        let Some(rec) = self.channel_of(peer, id, ob) else { return };
        if let Err(e) = rec.channel.check_close(&theirs) {
            ob.send.push((peer, Message::Error(format!("cooperative close of {id}: {e}"))));
            return;
        }
        let ours = match &rec.our_close {
            Some(ours) => ours.clone(),
            None => match rec.channel.sign_close(&signer) {
                Ok(s) => s,
                Err(e) => {
                    ob.send.push((peer, Message::Error(format!("cooperative close of {id}: {e}"))));
                    return;
                }
            },
        };
        rec.our_close = Some(ours.clone());
        rec.lifecycle = Lifecycle::Closing;
        ob.dirty.insert(id);
        if rec.close_initiator {
            ob.l1.push(L1Task::CloseCooperatively { channel_id: id, ours: Box::new(ours), theirs: Box::new(theirs) });
        } else {
            ob.send.push((peer, Message::CloseSig(ours)));
        }
    }

    /// Starts a cooperative close: our signature goes to the counterparty.
    pub fn begin_close(&mut self, id: U256, ob: &mut Outbox) -> Result<(), CloseError> {
        let signer = self.signer.clone();
        let rec = self.channels.get_mut(&id).ok_or(CloseError::NoChannel(id))?;
        if rec.lifecycle != Lifecycle::Open {
            return Err(CloseError::NotOpen { id, lifecycle: rec.lifecycle });
        }
        let ours = rec.channel.sign_close(&signer)?;
        rec.close_initiator = true;
        rec.our_close = Some(ours.clone());
        ob.dirty.insert(id);
        ob.send.push((rec.channel.counterparty(), Message::CloseSig(ours)));
        Ok(())
    }
}

/// Why a cooperative close could not start.
#[derive(Debug, thiserror::Error)]
pub enum CloseError {
    #[error("no channel {0}")]
    NoChannel(U256),
    #[error("channel {id} is {lifecycle:?}")]
    NotOpen { id: U256, lifecycle: Lifecycle },
    #[error(transparent)]
    Channel(#[from] ChannelError),
}

/// Why a payment could not start.
#[derive(Debug, thiserror::Error)]
pub enum PaymentError {
    #[error(transparent)]
    Route(#[from] crate::RouteError),
    #[error("route starts off our channels")]
    OffOurChannels,
    #[error(transparent)]
    Channel(#[from] ChannelError),
}
