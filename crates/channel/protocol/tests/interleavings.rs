//! Random interleavings of payments in both directions, message delivery, crashes (a party
//! restarts from what it persisted, and the connection's messages in flight are lost),
//! reconnects and unilateral closes. After every run:
//! - the sum of balances is the deposits (nothing created or lost);
//! - once the parties resync, their balances are exactly the deposits plus what each asked to
//!   receive, minus what each asked to pay: no payment lost, none made twice;
//! - when one party closes on L1 with its latest state and the other answers with its own, the
//!   adjudicator pays each honest party at least what its latest state gives it, less what it
//!   was itself in the middle of paying: no honest party loses a dispute.

use std::collections::VecDeque;

use alloy_primitives::{Address, B256, U256};
use aqueduct_channel_protocol::{Change, Channel, ChannelState, Domain, Message, Received, Side, SignedState, Signer};
use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const DEPOSIT_A: u128 = 1_000;
const DEPOSIT_B: u128 = 700;

struct Party {
    signer: Signer,
    live: Channel,
    /// What the party persisted: it restarts from this.
    disk: Channel,
    /// Whether the connection handshake (reestablish) has been received since the last connect.
    synced: bool,
}

impl Party {
    fn persist(&mut self) {
        self.disk = self.live.clone();
    }

    fn pay(&mut self, amount: u128, out: &mut VecDeque<Message>) -> bool {
        if !self.synced || self.live.local_balance() < amount {
            return false;
        }
        let u = self.live.propose(&self.signer, Change::Pay { amount }, 0).expect("valid payment");
        self.persist();
        out.push_back(Message::Update(u));
        true
    }

    /// Proposes again changes that lost a conflict or a reconnect.
    fn retry(&mut self, dropped: Vec<Change>, out: &mut VecDeque<Message>) {
        for c in dropped {
            let u = self.live.propose(&self.signer, c, 0).expect("retry is valid");
            self.persist();
            out.push_back(Message::Update(u));
        }
    }

    fn handle(&mut self, m: Message, out: &mut VecDeque<Message>) {
        match m {
            Message::Reestablish(theirs) => {
                let (_, dropped) = self.live.reestablish(&theirs).expect("honest reestablish");
                self.persist();
                self.synced = true;
                let resend: Vec<_> = self.live.pending.iter().map(|p| self.live.update_for(p)).collect();
                out.extend(resend.into_iter().map(Message::Update));
                self.retry(dropped, out);
            }
            Message::Update(u) => match self.live.receive_update(&self.signer, &u, 0) {
                Received::Accepted { ack, dropped, .. } => {
                    self.persist();
                    out.push_back(Message::Ack(ack));
                    self.retry(dropped, out);
                }
                Received::Refused { reject, .. } => out.push_back(Message::Reject(reject)),
            },
            Message::Ack(a) => {
                if self.live.receive_ack(&a).expect("honest ack").is_some() {
                    self.persist();
                }
            }
            Message::Reject(r) => {
                let dropped = self.live.receive_reject(&r);
                assert!(dropped.is_empty() || r.conflict, "honest peer refused a valid update: {}", r.reason);
                self.persist();
                self.retry(dropped, out);
            }
            other => panic!("unexpected {}", other.name()),
        }
    }

    fn pending_out(&self) -> u128 {
        let side = self.live.side;
        self.live
            .pending
            .iter()
            .map(|p| p.state.balance(side))
            .min()
            .map(|low| self.live.latest.state.balance(side).saturating_sub(low))
            .unwrap_or(0)
    }
}

fn setup() -> (Party, Party) {
    let sa = Signer::from_bytes(&B256::repeat_byte(0x0a)).unwrap();
    let sb = Signer::from_bytes(&B256::repeat_byte(0x0b)).unwrap();
    let domain = Domain { chain_id: 31337, adjudicator: Address::repeat_byte(0xad) };
    let opening = ChannelState::opening(U256::from(7), DEPOSIT_A, DEPOSIT_B);
    let a = Channel::new(domain, Side::A, sa.address(), sb.address(), opening.clone());
    let b = Channel::new(domain, Side::B, sa.address(), sb.address(), opening);
    (
        Party { signer: sa, disk: a.clone(), live: a, synced: true },
        Party { signer: sb, disk: b.clone(), live: b, synced: true },
    )
}

/// The adjudicator: the highest version submitted in time wins.
fn dispute(first: &SignedState, answer: &SignedState, domain: &Domain, a: Address, b: Address) -> (u128, u128) {
    assert!(first.verify(domain, a, b) && answer.verify(domain, a, b));
    let s = if answer.state.version > first.state.version { answer } else { first };
    (s.state.balance_a, s.state.balance_b)
}

fn run(seed: u64, steps: usize) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (mut a, mut b) = setup();
    let (mut to_b, mut to_a) = (VecDeque::new(), VecDeque::new());
    let (mut paid_by_a, mut paid_by_b) = (0u128, 0u128);
    for _ in 0..steps {
        match rng.random_range(0..100) {
            0..25 => {
                let amount = rng.random_range(1..=50);
                if a.pay(amount, &mut to_b) {
                    paid_by_a += amount;
                }
            }
            25..50 => {
                let amount = rng.random_range(1..=50);
                if b.pay(amount, &mut to_a) {
                    paid_by_b += amount;
                }
            }
            50..72 => {
                if let Some(m) = to_b.pop_front() {
                    b.handle(m, &mut to_a);
                }
            }
            72..94 => {
                if let Some(m) = to_a.pop_front() {
                    a.handle(m, &mut to_b);
                }
            }
            94..97 => {
                // A crashes (kill -9): back to its disk; the connection and its messages are gone.
                a.live = a.disk.clone();
                reconnect(&mut a, &mut b, &mut to_a, &mut to_b);
            }
            _ => {
                b.live = b.disk.clone();
                reconnect(&mut a, &mut b, &mut to_a, &mut to_b);
            }
        }
        let total = |p: &Party| p.live.latest.state.total();
        assert_eq!(total(&a), DEPOSIT_A + DEPOSIT_B);
        assert_eq!(total(&b), DEPOSIT_A + DEPOSIT_B);
    }

    // A dispute at this instant: either party closes with its latest, the other answers.
    let domain = a.live.domain;
    let (pa, pb) = (a.live.a, a.live.b);
    for (closer, answerer) in [(&a, &b), (&b, &a)] {
        let (got_a, got_b) = dispute(&closer.live.latest, &answerer.live.latest, &domain, pa, pb);
        assert_eq!(got_a + got_b, DEPOSIT_A + DEPOSIT_B);
        for p in [&a, &b] {
            let got = if p.live.side == Side::A { got_a } else { got_b };
            let floor = p.live.latest.state.balance(p.live.side) - p.pending_out();
            assert!(got >= floor, "honest {:?} got {got} < {floor}", p.live.side);
        }
    }

    // Resync and deliver everything: every payment asked for lands exactly once.
    reconnect(&mut a, &mut b, &mut to_a, &mut to_b);
    for _ in 0..100_000 {
        if let Some(m) = to_b.pop_front() {
            b.handle(m, &mut to_a);
        } else if let Some(m) = to_a.pop_front() {
            a.handle(m, &mut to_b);
        } else {
            break;
        }
    }
    assert!(to_a.is_empty() && to_b.is_empty(), "did not quiesce");
    assert!(a.live.pending.is_empty() && b.live.pending.is_empty());
    assert_eq!(a.live.latest, b.live.latest);
    let s = &a.live.latest.state;
    assert_eq!(s.balance_a, DEPOSIT_A + paid_by_b - paid_by_a, "seed {seed}");
    assert_eq!(s.balance_b, DEPOSIT_B + paid_by_a - paid_by_b, "seed {seed}");
}

fn reconnect(a: &mut Party, b: &mut Party, to_a: &mut VecDeque<Message>, to_b: &mut VecDeque<Message>) {
    to_a.clear();
    to_b.clear();
    a.synced = false;
    b.synced = false;
    to_b.push_back(Message::Reestablish(a.live.latest.clone()));
    to_a.push_back(Message::Reestablish(b.live.latest.clone()));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, failure_persistence: None, ..ProptestConfig::default() })]
    #[test]
    fn funds_are_conserved_and_no_honest_party_loses(seed in any::<u64>(), steps in 10usize..400) {
        run(seed, steps);
    }
}

#[test]
fn long_run() {
    for seed in 0..20 {
        run(seed, 3_000);
    }
}
