//! Three nodes on a route, A — B — C, each a [`Manager`] driven as the node drives it: a handler
//! fills an outbox, the driver appends its records to the node's journal, then queues its
//! messages on the connection (FIFO per direction, as TCP). Random interleavings of payments
//! from A to C's invoices through B (some for unknown invoices, some for invoices already paid,
//! some beyond what the route can carry), message deliveries and crashes: a node restarts from
//! its journal alone, its connections and their messages in flight are gone, and both ends send
//! their latest states again. After every step each channel holds its deposits; after the nodes
//! resync and every message is delivered:
//! - both ends of each channel hold the same state, with no update pending and no HTLC left;
//! - C was paid exactly the invoices it claimed, each once and for its amount; B earned exactly
//!   its fee on each of them and lost nothing; A paid exactly that sum;
//! - every result A heard is true: a preimage for an invoice C claimed, a failure for one it did
//!   not.

use std::collections::{HashMap, HashSet, VecDeque};

use alloy_primitives::{Address, B256, U256};
use aqueduct_channel_protocol::{
    Channel, ChannelState, Domain, Edge, FeePolicy, Lifecycle, Manager, Message, Outbox, Record, Side, Signer,
    lock_hash,
};
use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const AB: u64 = 1;
const BC: u64 = 2;
const DEPOSIT: u128 = 10_000;
const B_FEE: FeePolicy = FeePolicy { base: 3, ppm: 10_000, expiry_delta: 40 };
const FINAL_EXPIRY: u64 = 200;

struct Node {
    signer: Signer,
    fee: FeePolicy,
    m: Manager,
    /// The journal: everything it persisted, in order.
    disk: Vec<Record>,
    /// What its payer's waiters heard, in order: hash, preimage or failure.
    heard: Vec<(B256, Result<B256, String>)>,
    /// Hashes of its payments whose HTLC is out and not yet answered.
    in_flight: HashSet<B256>,
}

impl Node {
    fn new(key: u8, fee: FeePolicy) -> Self {
        let signer = Signer::from_bytes(&B256::repeat_byte(key)).unwrap();
        let m = Manager::new(signer.clone(), fee, FINAL_EXPIRY, u128::MAX);
        Node { signer, fee, m, disk: Vec::new(), heard: Vec::new(), in_flight: HashSet::new() }
    }

    fn me(&self) -> Address {
        self.signer.address()
    }

    /// What the driver does with an outbox: journal first, then the messages, then the waiters.
    fn commit(&mut self, ob: Outbox, net: &mut Net) {
        self.disk.extend(ob.records);
        for id in &ob.dirty {
            if let Some(r) = self.m.channels.get(id) {
                self.disk.push(Record::Channel(Box::new(r.clone())));
            }
        }
        for (to, msg) in ob.send {
            net.queue(self.me(), to).push_back(msg);
        }
        for (hash, result) in ob.htlc_done {
            assert!(self.in_flight.remove(&hash), "a result for no payment in flight: {hash} {result:?}");
            self.heard.push((hash, result));
        }
        assert!(ob.l1.is_empty(), "no L1 work on a route between honest nodes: {:?}", ob.l1);
    }

    /// kill -9 and restart: only the journal survives.
    fn crash(&mut self) {
        self.m = Manager::new(self.signer.clone(), self.fee, FINAL_EXPIRY, u128::MAX);
        self.m.restore(self.disk.clone());
    }

    fn balance(&self, id: u64) -> u128 {
        let r = &self.m.channels[&U256::from(id)];
        r.channel.latest.state.balance(r.channel.side)
    }
}

#[derive(Default)]
struct Net {
    queues: HashMap<(Address, Address), VecDeque<Message>>,
}

impl Net {
    fn queue(&mut self, from: Address, to: Address) -> &mut VecDeque<Message> {
        self.queues.entry((from, to)).or_default()
    }
}

struct World {
    nodes: [Node; 3],
    net: Net,
    /// Every invoice C made: hash → amount.
    invoices: HashMap<B256, u128>,
}

const A: usize = 0;
const B: usize = 1;
const C: usize = 2;

impl World {
    fn new() -> Self {
        let mut nodes = [Node::new(0x0a, B_FEE), Node::new(0x0b, B_FEE), Node::new(0x0c, B_FEE)];
        let domain = Domain { chain_id: 31337, adjudicator: Address::repeat_byte(0xad) };
        let mut net = Net::default();
        for (id, x, y) in [(AB, A, B), (BC, B, C)] {
            let (ax, ay) = (nodes[x].me(), nodes[y].me());
            let opening = ChannelState::opening(U256::from(id), DEPOSIT, DEPOSIT);
            for (n, side) in [(x, Side::A), (y, Side::B)] {
                let ch = Channel::new(domain, side, ax, ay, opening.clone());
                let mut ob = Outbox::default();
                nodes[n].m.add_channel(ch, Address::ZERO, Lifecycle::Open, &mut ob);
                nodes[n].commit(ob, &mut net);
            }
        }
        let mut w = World { nodes, net, invoices: HashMap::new() };
        w.learn_graph();
        w
    }

    /// What A learns outside the journal (L1's channel list, B's fee in the handshake).
    fn learn_graph(&mut self) {
        let (b, c) = (self.nodes[B].me(), self.nodes[C].me());
        let a = &mut self.nodes[A].m;
        a.graph_edges
            .insert(U256::from(BC), Edge { id: U256::from(BC), a: b, b: c, capacity: 2 * DEPOSIT, spendable: None });
        a.peer_fees.insert(b, B_FEE);
        self.nodes[B].m.peer_fees.insert(c, B_FEE);
    }

    fn deliver(&mut self, from: usize, to: usize) -> bool {
        let (f, t) = (self.nodes[from].me(), self.nodes[to].me());
        let Some(msg) = self.net.queue(f, t).pop_front() else { return false };
        let mut ob = Outbox::default();
        self.nodes[to].m.on_message(f, msg, &mut ob);
        self.nodes[to].commit(ob, &mut self.net);
        true
    }

    /// Node `n` restarts: its connections drop (with what was in flight) and both ends of each
    /// send their latest states again.
    fn crash(&mut self, n: usize) {
        self.nodes[n].crash();
        if n == A {
            self.learn_graph();
        }
        let me = self.nodes[n].me();
        let peers: Vec<usize> = match n {
            B => vec![A, C],
            _ => vec![B],
        };
        for p in peers {
            let them = self.nodes[p].me();
            self.net.queue(me, them).clear();
            self.net.queue(them, me).clear();
            for (x, y) in [(n, p), (p, n)] {
                let to = self.nodes[y].me();
                let ids = self.nodes[x].m.shared_with(to);
                for id in ids {
                    let latest = self.nodes[x].m.channels[&id].channel.latest.clone();
                    self.net.queue(self.nodes[x].me(), to).push_back(Message::Reestablish(latest));
                }
            }
        }
    }

    /// A pays C: a fresh invoice, an unknown one, or one already made (paid or not).
    fn pay(&mut self, rng: &mut ChaCha8Rng) {
        let amount = rng.random_range(1..=200u128);
        let hash = match rng.random_range(0..10) {
            0 => B256::from(rng.random::<[u8; 32]>()),
            1 if !self.invoices.is_empty() => {
                *self.invoices.keys().nth(rng.random_range(0..self.invoices.len())).unwrap()
            }
            _ => {
                let preimage = B256::from(rng.random::<[u8; 32]>());
                let mut ob = Outbox::default();
                let hash = self.nodes[C].m.invoice(preimage, amount, &mut ob);
                self.nodes[C].commit(ob, &mut self.net);
                self.invoices.insert(hash, amount);
                hash
            }
        };
        let amount = self.invoices.get(&hash).copied().unwrap_or(amount);
        // One payment per hash at a time (the node's waiters are by hash).
        if self.nodes[A].in_flight.contains(&hash) {
            return;
        }
        let c = self.nodes[C].me();
        let mut ob = Outbox::default();
        if self.nodes[A].m.send_payment(c, hash, amount, &mut ob).is_ok() {
            self.nodes[A].in_flight.insert(hash);
        }
        self.nodes[A].commit(ob, &mut self.net);
    }

    fn check_totals(&self) {
        for (id, x, y) in [(AB, A, B), (BC, B, C)] {
            for n in [x, y] {
                let total = self.nodes[n].m.channels[&U256::from(id)].channel.latest.state.total();
                assert_eq!(total, 2 * DEPOSIT, "channel {id} at node {n}");
            }
        }
    }

    fn quiesce(&mut self) {
        // Everyone reconnects: both ends of every channel send their latest states.
        self.net.queues.clear();
        for (id, x, y) in [(AB, A, B), (BC, B, C)] {
            for (p, q) in [(x, y), (y, x)] {
                let latest = self.nodes[p].m.channels[&U256::from(id)].channel.latest.clone();
                let (pf, qt) = (self.nodes[p].me(), self.nodes[q].me());
                self.net.queue(pf, qt).push_back(Message::Reestablish(latest));
            }
        }
        for _ in 0..1_000_000 {
            let moved = [(A, B), (B, A), (B, C), (C, B)].into_iter().any(|(f, t)| self.deliver(f, t));
            if !moved {
                return;
            }
        }
        panic!("did not quiesce");
    }
}

fn run(seed: u64, steps: usize) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut w = World::new();
    for _ in 0..steps {
        match rng.random_range(0..100) {
            0..20 => w.pay(&mut rng),
            20..40 => _ = w.deliver(A, B),
            40..60 => _ = w.deliver(B, A),
            60..78 => _ = w.deliver(B, C),
            78..96 => _ = w.deliver(C, B),
            96 => w.crash(A),
            97 | 98 => w.crash(B),
            _ => w.crash(C),
        }
        w.check_totals();
    }
    w.quiesce();
    w.check_totals();

    for (id, x, y) in [(AB, A, B), (BC, B, C)] {
        let (rx, ry) = (&w.nodes[x].m.channels[&U256::from(id)], &w.nodes[y].m.channels[&U256::from(id)]);
        assert_eq!(rx.channel.latest, ry.channel.latest, "channel {id}: both ends agree (seed {seed})");
        assert!(rx.channel.pending.is_empty() && ry.channel.pending.is_empty(), "channel {id}: nothing pending");
        assert!(rx.channel.latest.state.htlcs.is_empty(), "channel {id}: every HTLC settled (seed {seed})");
    }
    let claimed: HashSet<B256> = w.nodes[C].m.paid.clone();
    let to_c: u128 = claimed.iter().map(|h| w.invoices[h]).sum();
    let fees: u128 = claimed.iter().map(|h| B_FEE.fee(w.invoices[h])).sum();
    assert_eq!(w.nodes[C].balance(BC), DEPOSIT + to_c, "C got exactly its claimed invoices (seed {seed})");
    assert_eq!(w.nodes[B].balance(AB) + w.nodes[B].balance(BC), 2 * DEPOSIT + fees, "B earned its fees (seed {seed})");
    assert_eq!(w.nodes[A].balance(AB), DEPOSIT - to_c - fees, "A paid exactly that (seed {seed})");
    assert!(w.nodes[A].in_flight.is_empty(), "every payment answered (seed {seed})");
    for (hash, result) in &w.nodes[A].heard {
        if let Ok(preimage) = result {
            assert_eq!(lock_hash(preimage), *hash);
        }
    }
    // Exactly one payment succeeded per claimed invoice; none for the others.
    for hash in w.invoices.keys().chain(w.nodes[A].heard.iter().map(|(h, _)| h)) {
        let paid = w.nodes[A].heard.iter().filter(|(h, r)| h == hash && r.is_ok()).count();
        assert_eq!(paid, usize::from(claimed.contains(hash)), "payments A heard succeed for {hash} (seed {seed})");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 100, failure_persistence: None, ..ProptestConfig::default() })]
    #[test]
    fn routed_payments_survive_crashes_and_interleavings(seed in any::<u64>(), steps in 10usize..400) {
        run(seed, steps);
    }
}

#[test]
fn long_run() {
    for seed in 0..10 {
        run(seed, 2_000);
    }
}
