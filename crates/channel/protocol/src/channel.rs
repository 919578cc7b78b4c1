//! One channel's update protocol, sans-IO.
//!
//! Every change is a new state, version + 1, proposed by the party it costs (a payment, an HTLC
//! offer) or by the party that may claim it (fulfilling an HTLC with its preimage, or failing an
//! HTLC it was offered). The proposer signs the new state and sends it with its parent's digest;
//! the receiver recomputes the state from its own latest one, checks the signature, countersigns,
//! and — once the caller has persisted the fully signed state — acknowledges. A proposer may
//! pipeline several proposals, each extending the previous one.
//!
//! When both parties propose the same version at once, the party with the lower address wins:
//! it refuses the other's proposal (`Conflict`), and the other drops its own pending proposals
//! and hands their changes back to the caller to propose again.

use std::collections::VecDeque;

use alloy_primitives::{Address, B256, U256};
use serde::{Deserialize, Serialize};

use aqueduct_primitives::{Signature, Signer};

use crate::state::{ChannelState, Domain, Htlc, MAX_AMOUNT, MAX_HTLCS, Side, SignedState, close_digest, lock_hash};

/// The next hop of a multi-hop payment, as the previous hop tells it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hop {
    pub node: Address,
    pub channel_id: U256,
    pub amount: u128,
    pub expiry: u64,
}

/// What one update does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Change {
    /// The proposer pays `amount` outright.
    Pay { amount: u128 },
    /// The proposer offers an HTLC; `route` is the rest of the path for the receiver to forward
    /// (empty when the receiver is the payee).
    AddHtlc { htlc_id: u64, amount: u128, hash: B256, expiry: u64, route: Vec<Hop> },
    /// The receiver of an HTLC claims it with its preimage.
    Fulfill { htlc_id: u64, preimage: B256 },
    /// The receiver of an HTLC gives it back to its sender, saying why (as Lightning's
    /// `update_fail_htlc` carries a failure code).
    Fail { htlc_id: u64, reason: FailReason },
}

/// Why an HTLC was failed: what the payer is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum FailReason {
    #[error("a hop failed the payment")]
    Unspecified,
    #[error("the payee has no invoice for this hash")]
    UnknownInvoice,
    #[error("the invoice is already paid")]
    AlreadyPaid,
    #[error("the amount is below the invoice's")]
    Underpaid,
    #[error("the amount is above the invoice's")]
    Overpaid,
    #[error("a hop has no open channel to the next hop")]
    NoNextChannel,
    #[error("a hop's fee was not paid")]
    FeeTooLow,
    #[error("a hop's expiry delta was not kept")]
    ExpiryTooSoon,
    #[error("the route is too long")]
    RouteTooLong,
    #[error("a hop could not offer the next HTLC")]
    NextHopRefused,
}

impl FailReason {
    const ALL: [FailReason; 10] = [
        Self::Unspecified,
        Self::UnknownInvoice,
        Self::AlreadyPaid,
        Self::Underpaid,
        Self::Overpaid,
        Self::NoNextChannel,
        Self::FeeTooLow,
        Self::ExpiryTooSoon,
        Self::RouteTooLong,
        Self::NextHopRefused,
    ];

    /// Its code on the wire.
    pub fn code(self) -> u8 {
        Self::ALL.iter().position(|r| *r == self).expect("listed") as u8
    }

    pub fn from_code(code: u8) -> Option<Self> {
        Self::ALL.get(code as usize).copied()
    }
}

/// Why an update or message was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChannelError {
    #[error("version {got} does not follow the latest version {latest}")]
    StaleVersion { latest: u64, got: u64 },
    #[error("the update extends a state this side does not have")]
    WrongParent,
    #[error("signature does not recover to the channel's counterparty")]
    BadSignature,
    #[error("balance {have} is below {want}")]
    Insufficient { have: u128, want: u128 },
    #[error("amount must be between 1 and 2^96 - 1")]
    BadAmount,
    #[error("no pending HTLC {0} offered to the proposer")]
    UnknownHtlc(u64),
    #[error("HTLC {0} is already pending")]
    DuplicateHtlc(u64),
    #[error("preimage does not match the HTLC's hash")]
    WrongPreimage,
    #[error("a state holds at most {MAX_HTLCS} HTLCs")]
    TooManyHtlcs,
    #[error("HTLC expiry {expiry} is too close to now ({now})")]
    Expired { expiry: u64, now: u64 },
    #[error("the channel is closing: no more updates")]
    Closing,
    #[error("updates are still pending")]
    Busy,
    #[error("the channel still holds HTLCs")]
    HtlcsPending,
    #[error("closing balances {0}/{1} are not the latest state's")]
    WrongCloseBalances(u128, u128),
    #[error("a state must account for exactly the deposits")]
    Unbalanced,
}

/// A proposal: the new state, its change and the proposer's signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Update {
    pub channel_id: U256,
    pub version: u64,
    /// Digest of the state this one extends.
    pub prev: B256,
    pub change: Change,
    pub sig: Signature,
}

/// The receiver's countersignature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ack {
    pub channel_id: U256,
    pub version: u64,
    pub sig: Signature,
}

/// A refused update (names it by version and parent).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reject {
    pub channel_id: U256,
    pub version: u64,
    pub prev: B256,
    pub conflict: bool,
    pub reason: String,
}

/// A cooperative-close signature over the latest balances.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CloseSig {
    pub channel_id: U256,
    pub balance_a: u128,
    pub balance_b: u128,
    pub sig: Signature,
}

/// One of our proposals, signed by us, not yet countersigned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proposal {
    pub state: ChannelState,
    pub prev: B256,
    pub change: Change,
    pub sig: Signature,
}

/// What happened to a peer's update.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(clippy::large_enum_variant)] // built once per update and matched at once
pub enum Received {
    /// Accepted: persist `signed`, then send `ack`. `dropped` are our own pending changes that
    /// lost a conflict, to propose again.
    Accepted { signed: SignedState, ack: Ack, change: Change, dropped: Vec<Change> },
    /// Refused: send `reject`.
    Refused { reject: Reject, error: Option<ChannelError> },
}

/// One channel as one of its parties sees it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Channel {
    pub domain: Domain,
    pub id: U256,
    pub side: Side,
    pub a: Address,
    pub b: Address,
    /// The newest state both parties signed.
    pub latest: SignedState,
    /// Our proposals waiting for the counterparty's signature, oldest first.
    pub pending: VecDeque<Proposal>,
    /// No updates once a close has begun.
    pub closing: bool,
}

impl Channel {
    pub fn new(domain: Domain, side: Side, a: Address, b: Address, opening: ChannelState) -> Self {
        Self {
            domain,
            id: opening.channel_id,
            side,
            a,
            b,
            latest: SignedState::opening(opening),
            pending: VecDeque::new(),
            closing: false,
        }
    }

    pub fn counterparty(&self) -> Address {
        match self.side {
            Side::A => self.b,
            Side::B => self.a,
        }
    }

    /// The state our next proposal extends.
    pub fn tip(&self) -> &ChannelState {
        self.pending.back().map(|p| &p.state).unwrap_or(&self.latest.state)
    }

    /// Our spendable balance at the tip.
    pub fn local_balance(&self) -> u128 {
        self.tip().balance(self.side)
    }

    pub fn remote_balance(&self) -> u128 {
        self.tip().balance(self.side.other())
    }

    /// Proposes `change` on top of our tip.
    pub fn propose(&mut self, signer: &Signer, change: Change, now: u64) -> Result<Update, ChannelError> {
        if self.closing {
            return Err(ChannelError::Closing);
        }
        let parent = self.tip();
        let prev = parent.digest(&self.domain);
        let state = apply(parent, &change, self.side, now)?;
        let sig = signer.sign(&state.digest(&self.domain));
        let update = Update { channel_id: self.id, version: state.version, prev, change: change.clone(), sig };
        self.pending.push_back(Proposal { state, prev, change, sig });
        Ok(update)
    }

    /// The update message for one of our pending proposals (to send it again).
    pub fn update_for(&self, p: &Proposal) -> Update {
        Update { channel_id: self.id, version: p.state.version, prev: p.prev, change: p.change.clone(), sig: p.sig }
    }

    /// Handles the counterparty's proposal.
    pub fn receive_update(&mut self, signer: &Signer, update: &Update, now: u64) -> Received {
        let refuse = |conflict: bool, error: Option<ChannelError>| Received::Refused {
            reject: Reject {
                channel_id: update.channel_id,
                version: update.version,
                prev: update.prev,
                conflict,
                reason: error.as_ref().map(|e| e.to_string()).unwrap_or_else(|| "conflict".into()),
            },
            error,
        };
        let state = match self.check_update(update, now) {
            Ok(state) => state,
            Err(e) => return refuse(false, Some(e)),
        };
        let mut dropped = Vec::new();
        if !self.pending.is_empty() {
            if self.wins_conflicts() {
                return refuse(true, None);
            }
            dropped = self.pending.drain(..).map(|p| p.change).collect();
        }
        let ours = signer.sign(&state.digest(&self.domain));
        let signed = match self.side {
            Side::A => SignedState { state, sig_a: ours, sig_b: update.sig },
            Side::B => SignedState { state, sig_a: update.sig, sig_b: ours },
        };
        self.latest = signed.clone();
        let ack = Ack { channel_id: self.id, version: update.version, sig: ours };
        Received::Accepted { signed, ack, change: update.change.clone(), dropped }
    }

    fn check_update(&self, update: &Update, now: u64) -> Result<ChannelState, ChannelError> {
        if self.closing {
            return Err(ChannelError::Closing);
        }
        let latest = &self.latest.state;
        if update.version != latest.version + 1 {
            return Err(ChannelError::StaleVersion { latest: latest.version, got: update.version });
        }
        if update.prev != latest.digest(&self.domain) {
            return Err(ChannelError::WrongParent);
        }
        let state = apply(latest, &update.change, self.side.other(), now)?;
        if update.sig.recover(&state.digest(&self.domain)) != Some(self.counterparty()) {
            return Err(ChannelError::BadSignature);
        }
        Ok(state)
    }

    /// The lower address wins a conflict.
    fn wins_conflicts(&self) -> bool {
        let me = match self.side {
            Side::A => self.a,
            Side::B => self.b,
        };
        me < self.counterparty()
    }

    /// Handles the countersignature of our oldest pending proposal: returns the now fully signed
    /// state (to persist) and the change it carried. An acknowledgement of a proposal we no
    /// longer have (dropped in a conflict, or already adopted) is ignored (`Ok(None)`).
    pub fn receive_ack(&mut self, ack: &Ack) -> Result<Option<(SignedState, Change)>, ChannelError> {
        let Some(front) = self.pending.front() else { return Ok(None) };
        if ack.version != front.state.version {
            return Ok(None);
        }
        if ack.sig.recover(&front.state.digest(&self.domain)) != Some(self.counterparty()) {
            return Err(ChannelError::BadSignature);
        }
        let p = self.pending.pop_front().expect("front exists");
        let signed = match self.side {
            Side::A => SignedState { state: p.state, sig_a: p.sig, sig_b: ack.sig },
            Side::B => SignedState { state: p.state, sig_a: ack.sig, sig_b: p.sig },
        };
        self.latest = signed.clone();
        Ok(Some((signed, p.change)))
    }

    /// Handles a refusal: if it names our oldest pending proposal, that proposal and every one
    /// after it (they extend it) are dropped and their changes returned.
    pub fn receive_reject(&mut self, reject: &Reject) -> Vec<Change> {
        match self.pending.front() {
            Some(p) if p.state.version == reject.version && p.prev == reject.prev => {
                self.pending.drain(..).map(|p| p.change).collect()
            }
            _ => Vec::new(),
        }
    }

    /// After a reconnect: adopts the counterparty's latest state if it is newer and validly
    /// signed. Returns whether it was adopted and the changes of pending proposals that no longer
    /// extend the latest state. Pending proposals that still extend it stay, to be sent again.
    pub fn reestablish(&mut self, theirs: &SignedState) -> Result<(bool, Vec<Change>), ChannelError> {
        if theirs.state.channel_id != self.id {
            return Err(ChannelError::WrongParent);
        }
        if theirs.state.version <= self.latest.state.version {
            return Ok((false, Vec::new()));
        }
        if !theirs.verify(&self.domain, self.a, self.b) {
            return Err(ChannelError::BadSignature);
        }
        if theirs.state.total() != self.latest.state.total() {
            return Err(ChannelError::Unbalanced);
        }
        self.latest = theirs.clone();
        // Proposals up to the adopted version are settled by it (it is one of them, since both
        // signed it); later ones stay only if they still extend it.
        while self.pending.front().is_some_and(|p| p.state.version <= theirs.state.version) {
            self.pending.pop_front();
        }
        let tip = self.latest.state.digest(&self.domain);
        if self.pending.front().is_some_and(|p| p.prev != tip) {
            return Ok((true, self.pending.drain(..).map(|p| p.change).collect()));
        }
        Ok((true, Vec::new()))
    }

    /// Our cooperative-close signature over the latest balances (no pending updates, no HTLCs).
    /// The channel takes no more updates from here.
    pub fn sign_close(&mut self, signer: &Signer) -> Result<CloseSig, ChannelError> {
        if !self.pending.is_empty() {
            return Err(ChannelError::Busy);
        }
        let s = &self.latest.state;
        if !s.htlcs.is_empty() {
            return Err(ChannelError::HtlcsPending);
        }
        self.closing = true;
        let sig = signer.sign(&close_digest(&self.domain, self.id, s.balance_a, s.balance_b));
        Ok(CloseSig { channel_id: self.id, balance_a: s.balance_a, balance_b: s.balance_b, sig })
    }

    /// Checks the counterparty's cooperative-close signature against our latest balances.
    pub fn check_close(&self, close: &CloseSig) -> Result<(), ChannelError> {
        let s = &self.latest.state;
        if !self.pending.is_empty() {
            return Err(ChannelError::Busy);
        }
        if !s.htlcs.is_empty() {
            return Err(ChannelError::HtlcsPending);
        }
        if (close.balance_a, close.balance_b) != (s.balance_a, s.balance_b) {
            return Err(ChannelError::WrongCloseBalances(close.balance_a, close.balance_b));
        }
        let d = close_digest(&self.domain, self.id, close.balance_a, close.balance_b);
        if close.sig.recover(&d) != Some(self.counterparty()) {
            return Err(ChannelError::BadSignature);
        }
        Ok(())
    }
}

/// HTLCs must leave this much time (seconds) before their expiry when offered or fulfilled.
pub const MIN_EXPIRY_MARGIN: u64 = 1;

/// The state after `proposer` makes `change` to `s`.
pub fn apply(s: &ChannelState, change: &Change, proposer: Side, now: u64) -> Result<ChannelState, ChannelError> {
    let mut next = s.clone();
    next.version = s.version + 1;
    match change {
        Change::Pay { amount } => {
            check_amount(*amount)?;
            debit(&mut next, proposer, *amount)?;
            *next.balance_mut(proposer.other()) += amount;
        }
        Change::AddHtlc { htlc_id, amount, hash, expiry, .. } => {
            check_amount(*amount)?;
            if next.htlcs.len() >= MAX_HTLCS {
                return Err(ChannelError::TooManyHtlcs);
            }
            if next.htlcs.iter().any(|h| h.id == *htlc_id && h.sender() == proposer) {
                return Err(ChannelError::DuplicateHtlc(*htlc_id));
            }
            if *expiry < now + MIN_EXPIRY_MARGIN {
                return Err(ChannelError::Expired { expiry: *expiry, now });
            }
            debit(&mut next, proposer, *amount)?;
            next.htlcs.push(Htlc {
                id: *htlc_id,
                from_a: proposer == Side::A,
                amount: *amount,
                hash: *hash,
                expiry: *expiry,
            });
        }
        Change::Fulfill { htlc_id, preimage } => {
            let i = offered_to(&next, proposer, *htlc_id)?;
            if lock_hash(preimage) != next.htlcs[i].hash {
                return Err(ChannelError::WrongPreimage);
            }
            if next.htlcs[i].expiry < now + MIN_EXPIRY_MARGIN {
                return Err(ChannelError::Expired { expiry: next.htlcs[i].expiry, now });
            }
            let h = next.htlcs.remove(i);
            *next.balance_mut(proposer) += h.amount;
        }
        Change::Fail { htlc_id, .. } => {
            let i = offered_to(&next, proposer, *htlc_id)?;
            let h = next.htlcs.remove(i);
            *next.balance_mut(proposer.other()) += h.amount;
        }
    }
    Ok(next)
}

fn check_amount(amount: u128) -> Result<(), ChannelError> {
    if amount == 0 || amount > MAX_AMOUNT { Err(ChannelError::BadAmount) } else { Ok(()) }
}

fn debit(s: &mut ChannelState, side: Side, amount: u128) -> Result<(), ChannelError> {
    let have = s.balance(side);
    if have < amount {
        return Err(ChannelError::Insufficient { have, want: amount });
    }
    *s.balance_mut(side) = have - amount;
    Ok(())
}

/// The index of the pending HTLC `id` that `receiver` was offered.
fn offered_to(s: &ChannelState, receiver: Side, id: u64) -> Result<usize, ChannelError> {
    s.htlcs.iter().position(|h| h.id == id && h.sender() == receiver.other()).ok_or(ChannelError::UnknownHtlc(id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::lock_hash;

    pub(crate) fn pair() -> (Channel, Signer, Channel, Signer) {
        let sa = Signer::from_bytes(&B256::repeat_byte(1)).unwrap();
        let sb = Signer::from_bytes(&B256::repeat_byte(2)).unwrap();
        let domain = Domain { chain_id: 1337, adjudicator: Address::repeat_byte(9) };
        let opening = ChannelState::opening(U256::from(1), 1000, 500);
        let a = Channel::new(domain, Side::A, sa.address(), sb.address(), opening.clone());
        let b = Channel::new(domain, Side::B, sa.address(), sb.address(), opening);
        (a, sa, b, sb)
    }

    fn deliver(to: &mut Channel, signer: &Signer, u: &Update) -> (SignedState, Ack) {
        match to.receive_update(signer, u, 0) {
            Received::Accepted { signed, ack, .. } => (signed, ack),
            Received::Refused { reject, .. } => panic!("refused: {}", reject.reason),
        }
    }

    #[test]
    fn pay_both_ways_and_pipeline() {
        let (mut a, sa, mut b, sb) = pair();
        let u1 = a.propose(&sa, Change::Pay { amount: 10 }, 0).unwrap();
        let u2 = a.propose(&sa, Change::Pay { amount: 20 }, 0).unwrap();
        let (_, k1) = deliver(&mut b, &sb, &u1);
        let (s2, k2) = deliver(&mut b, &sb, &u2);
        a.receive_ack(&k1).unwrap().unwrap();
        let (s, _) = a.receive_ack(&k2).unwrap().unwrap();
        assert_eq!(s, s2);
        assert!(s.verify(&a.domain, a.a, a.b));
        assert_eq!((s.state.balance_a, s.state.balance_b, s.state.version), (970, 530, 2));
        let u3 = b.propose(&sb, Change::Pay { amount: 530 }, 0).unwrap();
        let (_, k3) = deliver(&mut a, &sa, &u3);
        b.receive_ack(&k3).unwrap().unwrap();
        assert_eq!((b.latest.state.balance_a, b.latest.state.balance_b), (1500, 0));
        assert_eq!(b.propose(&sb, Change::Pay { amount: 1 }, 0), Err(ChannelError::Insufficient { have: 0, want: 1 }));
    }

    #[test]
    fn forged_replayed_and_overspending_updates_are_refused() {
        let (mut a, sa, mut b, sb) = pair();
        let u = a.propose(&sa, Change::Pay { amount: 10 }, 0).unwrap();
        let mut forged = u.clone();
        forged.sig = sb.sign(&B256::ZERO);
        assert!(matches!(
            b.receive_update(&sb, &forged, 0),
            Received::Refused { error: Some(ChannelError::BadSignature), .. }
        ));
        let mut inflated = u.clone();
        inflated.change = Change::Pay { amount: 11 };
        assert!(matches!(
            b.receive_update(&sb, &inflated, 0),
            Received::Refused { error: Some(ChannelError::BadSignature), .. }
        ));
        deliver(&mut b, &sb, &u);
        assert!(matches!(
            b.receive_update(&sb, &u, 0),
            Received::Refused { error: Some(ChannelError::StaleVersion { latest: 1, got: 1 }), .. }
        ));
        // A's honest proposal to spend more than it has: A refuses to make it, and B refuses it.
        let mut greedy = a.clone();
        greedy.pending.clear();
        greedy.latest = b.latest.clone();
        assert!(greedy.propose(&sa, Change::Pay { amount: 991 }, 0).is_err());
    }

    #[test]
    fn conflicts_resolve_to_the_lower_address() {
        let (mut a, sa, mut b, sb) = pair();
        let ua = a.propose(&sa, Change::Pay { amount: 1 }, 0).unwrap();
        let ub = b.propose(&sb, Change::Pay { amount: 2 }, 0).unwrap();
        let a_wins = sa.address() < sb.address();
        let (mut w, sw, uw, mut l, sl, ul) = if a_wins { (a, sa, ua, b, sb, ub) } else { (b, sb, ub, a, sa, ua) };
        let Received::Refused { reject, .. } = w.receive_update(&sw, &ul, 0) else { panic!("winner accepted") };
        assert!(reject.conflict);
        let Received::Accepted { ack, dropped, .. } = l.receive_update(&sl, &uw, 0) else { panic!("loser refused") };
        assert_eq!(dropped.len(), 1);
        assert!(l.receive_reject(&reject).is_empty(), "already dropped");
        w.receive_ack(&ack).unwrap().unwrap();
        assert_eq!(w.latest, l.latest);
        let again = l.propose(&sl, dropped[0].clone(), 0).unwrap();
        let (_, k) = deliver(&mut w, &sw, &again);
        l.receive_ack(&k).unwrap().unwrap();
        assert_eq!(w.latest, l.latest);
        assert_eq!(w.latest.state.version, 2);
    }

    #[test]
    fn htlc_fulfill_fail_and_checks() {
        let (mut a, sa, mut b, sb) = pair();
        let pre = B256::repeat_byte(42);
        let add = Change::AddHtlc { htlc_id: 1, amount: 100, hash: lock_hash(&pre), expiry: 50, route: vec![] };
        assert!(matches!(a.clone().propose(&sa, add.clone(), 50), Err(ChannelError::Expired { .. })));
        let u = a.propose(&sa, add, 10).unwrap();
        let (_, k) = deliver(&mut b, &sb, &u);
        a.receive_ack(&k).unwrap();
        assert_eq!(a.latest.state.total(), 1500);
        assert_eq!(b.propose(&sb, Change::Fulfill { htlc_id: 1, preimage: B256::ZERO }, 10), {
            Err(ChannelError::WrongPreimage)
        });
        assert_eq!(a.clone().propose(&sa, Change::Fulfill { htlc_id: 1, preimage: pre }, 10), {
            Err(ChannelError::UnknownHtlc(1))
        });
        let f = b.propose(&sb, Change::Fulfill { htlc_id: 1, preimage: pre }, 10).unwrap();
        let (_, k) = deliver(&mut a, &sa, &f);
        b.receive_ack(&k).unwrap();
        assert_eq!((a.latest.state.balance_a, a.latest.state.balance_b), (900, 600));
        let add = Change::AddHtlc { htlc_id: 2, amount: 600, hash: B256::ZERO, expiry: 99, route: vec![] };
        let u = b.propose(&sb, add, 10).unwrap();
        let (_, k) = deliver(&mut a, &sa, &u);
        b.receive_ack(&k).unwrap();
        let f = a.propose(&sa, Change::Fail { htlc_id: 2, reason: FailReason::Unspecified }, 10).unwrap();
        let (_, k) = deliver(&mut b, &sb, &f);
        a.receive_ack(&k).unwrap();
        assert_eq!((b.latest.state.balance_a, b.latest.state.balance_b, b.latest.state.htlcs.len()), (900, 600, 0));
    }

    #[test]
    fn reestablish_adopts_the_newer_signed_state() {
        let (mut a, sa, mut b, sb) = pair();
        let before_a = a.clone();
        let u = a.propose(&sa, Change::Pay { amount: 5 }, 0).unwrap();
        let (signed, _ack) = deliver(&mut b, &sb, &u);
        // The ack is lost; A restarts with its proposal persisted and reconnects.
        assert_eq!(a.reestablish(&b.latest).unwrap(), (true, vec![]));
        assert!(a.pending.is_empty());
        assert_eq!(a.latest, signed);
        // A node that lost its proposal entirely also adopts it.
        let mut lost = before_a;
        assert!(lost.reestablish(&b.latest).unwrap().0);
        assert_eq!(lost.latest, signed);
        // An older state changes nothing; a forged newer one is refused.
        assert!(!b.reestablish(&SignedState::opening(ChannelState::opening(b.id, 1000, 500))).unwrap().0);
        let mut forged = signed.clone();
        forged.state.version = 9;
        assert_eq!(b.reestablish(&forged), Err(ChannelError::BadSignature));
    }

    #[test]
    fn cooperative_close_signatures() {
        let (mut a, sa, mut b, sb) = pair();
        let ca = a.sign_close(&sa).unwrap();
        b.check_close(&ca).unwrap();
        let cb = b.sign_close(&sb).unwrap();
        a.check_close(&cb).unwrap();
        assert_eq!(a.propose(&sa, Change::Pay { amount: 1 }, 0), Err(ChannelError::Closing));
        let mut wrong = cb.clone();
        wrong.balance_a -= 1;
        assert!(matches!(a.check_close(&wrong), Err(ChannelError::WrongCloseBalances(..))));
    }
}
