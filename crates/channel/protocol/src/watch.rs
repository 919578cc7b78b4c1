//! What to do on L1 about a channel, given what L1 shows and the latest signed state held.
//!
//! The same rules serve a party (online) and its watchtower (which holds only signed states, no
//! key and no preimages): answer a stale close before its deadline, reveal preimages for HTLCs
//! the party receives, settle once the deadline has passed and every HTLC can be resolved, and
//! close unilaterally when an unresponsive counterparty leaves an HTLC that must be enforced on
//! L1 before it expires.

use alloy_primitives::B256;

use crate::state::{ChannelState, Side, SignedState};

/// A channel as the adjudicator reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OnchainChannel {
    /// Not opened, or already settled.
    Gone,
    Open,
    /// A unilateral close is running: the version on record and its deadline.
    Closing {
        version: u64,
        deadline: u64,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WatchAction {
    /// Replace the closing state with this newer one.
    Challenge(SignedState),
    /// Reveal this preimage on L1 (an HTLC we receive is locked to its hash).
    Reveal(B256),
    /// The deadline passed and every HTLC can be resolved: settle with the closing state.
    Settle,
    /// Close unilaterally with this state (an HTLC must be enforced on L1).
    Close(SignedState),
}

/// The actions due for a channel. `side` is `None` for a watchtower (it never closes or reveals).
/// `preimage` finds a known preimage by hash; `revealed` tells whether L1 has recorded one.
/// `closing_state` is the state L1 is closing on, when we hold it (it is ours or the latest).
pub fn watch(
    onchain: &OnchainChannel,
    latest: &SignedState,
    side: Option<Side>,
    now: u64,
    margin: u64,
    preimage: impl Fn(&B256) -> Option<B256>,
    revealed: impl Fn(&B256) -> bool,
) -> Vec<WatchAction> {
    let mut actions = Vec::new();
    match onchain {
        OnchainChannel::Gone => {}
        OnchainChannel::Open => {
            if let Some(side) = side
                && must_close(&latest.state, side, now, margin, &preimage)
            {
                actions.push(WatchAction::Close(latest.clone()));
            }
        }
        OnchainChannel::Closing { version, deadline } => {
            if latest.state.version > *version && now <= *deadline {
                actions.push(WatchAction::Challenge(latest.clone()));
                return actions;
            }
            if side.is_none() || latest.state.version != *version {
                return actions;
            }
            let side = side.expect("checked");
            let mut resolvable = true;
            for h in &latest.state.htlcs {
                let receiver = h.sender().other();
                let known = revealed(&h.hash);
                if !known
                    && receiver == side
                    && now <= h.expiry
                    && let Some(p) = preimage(&h.hash)
                {
                    actions.push(WatchAction::Reveal(p));
                    continue;
                }
                if !known && now <= h.expiry {
                    resolvable = false;
                }
            }
            if now > *deadline && resolvable && actions.is_empty() {
                actions.push(WatchAction::Settle);
            }
        }
    }
    actions
}

/// Whether an open channel must be closed on L1 now: an HTLC we receive, whose preimage we know,
/// is within `margin` seconds of expiring (the counterparty has not taken our fulfilment), or an
/// HTLC we offered has expired and the counterparty has not failed it.
pub fn must_close(
    state: &ChannelState,
    side: Side,
    now: u64,
    margin: u64,
    preimage: impl Fn(&B256) -> Option<B256>,
) -> bool {
    state.htlcs.iter().any(|h| {
        if h.sender() == side { now > h.expiry } else { now + margin >= h.expiry && preimage(&h.hash).is_some() }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        Signature,
        state::{Htlc, lock_hash},
    };
    use alloy_primitives::U256;

    fn state(version: u64, htlcs: Vec<Htlc>) -> SignedState {
        SignedState {
            state: ChannelState { channel_id: U256::from(1), version, balance_a: 5, balance_b: 5, htlcs },
            sig_a: Signature::EMPTY,
            sig_b: Signature::EMPTY,
        }
    }

    #[test]
    fn rules() {
        let pre = B256::repeat_byte(3);
        let h = Htlc { id: 1, from_a: true, amount: 2, hash: lock_hash(&pre), expiry: 100 };
        let latest = state(7, vec![h.clone()]);
        let know = |x: &B256| (*x == lock_hash(&pre)).then_some(pre);
        let none = |_: &B256| None;
        // A stale close is challenged, by the tower too, only before the deadline.
        let stale = OnchainChannel::Closing { version: 3, deadline: 50 };
        assert_eq!(watch(&stale, &latest, None, 50, 10, none, |_| false), vec![WatchAction::Challenge(latest.clone())]);
        assert!(watch(&stale, &latest, None, 51, 10, none, |_| false).is_empty());
        // On our state: B (receiver) reveals; A cannot settle until reveal or expiry.
        let ours = OnchainChannel::Closing { version: 7, deadline: 50 };
        assert_eq!(watch(&ours, &latest, Some(Side::B), 60, 10, know, |_| false), vec![WatchAction::Reveal(pre)]);
        assert!(watch(&ours, &latest, Some(Side::A), 60, 10, none, |_| false).is_empty());
        assert_eq!(watch(&ours, &latest, Some(Side::A), 60, 10, none, |_| true), vec![WatchAction::Settle]);
        assert_eq!(watch(&ours, &latest, Some(Side::A), 101, 10, none, |_| false), vec![WatchAction::Settle]);
        // Open: B closes when the HTLC nears expiry with the preimage known; A once it expired.
        assert!(watch(&OnchainChannel::Open, &latest, Some(Side::B), 80, 10, know, |_| false).is_empty());
        assert_eq!(
            watch(&OnchainChannel::Open, &latest, Some(Side::B), 90, 10, know, |_| false),
            vec![WatchAction::Close(latest.clone())]
        );
        assert!(!must_close(&latest.state, Side::A, 100, 10, none));
        assert!(must_close(&latest.state, Side::A, 101, 10, none));
    }
}
