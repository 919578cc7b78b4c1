//! Refund bundles: what the hub decides for each deposit (`HubPool.expected`), the next honest
//! bundle, the first wrong entry of a proposed one, and the two trees proofs are taken from.

use alloy::primitives::{Address, B256};
use aqueduct_primitives::MerkleTree;
use serde::{Deserialize, Serialize};

use crate::relay::{Entry, RelayData, entry_leaf, outcome, relay_hash};

/// Depth of the spoke's deposit tree (`BridgeLib.DEPOSIT_TREE_DEPTH`).
pub const DEPOSIT_TREE_DEPTH: usize = 32;

/// A deposit's fill on the destination, as the hub records it (`HubPool.fills`), with the time
/// it was recorded.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum FillState {
    #[default]
    Unfilled,
    SlowFillRequested {
        since: u64,
    },
    Filled {
        since: u64,
        repay_to: Address,
    },
}

/// What a bundle proposed at `proposed_at` must decide for deposit `d` whose fill is `fill`;
/// `None` while the deposit could still be filled (no bundle may cover it yet). A fill or a
/// slow-fill request recorded after the proposal does not count; neither can come after the
/// deadline. The hub's `expected`, rule for rule.
pub fn expected(d: &RelayData, fill: FillState, proposed_at: u64) -> Option<Entry> {
    let relay_hash = relay_hash(d);
    let entry = |outcome, payee, amount| Entry { relayHash: relay_hash, outcome, payee, amount };
    match fill {
        FillState::Filled { since, repay_to } if since <= proposed_at => {
            Some(entry(outcome::REPAY, repay_to, d.inputAmount))
        }
        FillState::SlowFillRequested { since } if since <= proposed_at => {
            Some(entry(outcome::SLOW_FILL, d.recipient, d.outputAmount))
        }
        _ if u64::from(d.fillDeadline) < proposed_at => Some(entry(outcome::REFUND, d.depositor, d.inputAmount)),
        _ => None,
    }
}

/// The honest bundle over `deposits` (those after the last covered one, delivered, in id order)
/// at time `now`: one entry per deposit up to the first that is not settled, at most `max`.
pub fn next_bundle(
    deposits: &[RelayData],
    fill_of: impl Fn(&RelayData) -> FillState,
    now: u64,
    max: usize,
) -> Vec<Entry> {
    deposits.iter().take(max).map_while(|d| expected(d, fill_of(d), now)).collect()
}

/// The first entry of `entries` (a bundle proposed at `proposed_at` over `deposits`, in order)
/// that the hub would refute, with the deposit it covers; `None` when every entry is right.
pub fn first_wrong(
    entries: &[Entry],
    deposits: &[RelayData],
    fill_of: impl Fn(&RelayData) -> FillState,
    proposed_at: u64,
) -> Option<usize> {
    entries.iter().zip(deposits).position(|(e, d)| expected(d, fill_of(d), proposed_at).as_ref() != Some(e))
}

/// A bundle's entries as the hub's tree: zero leaves pad them to a power of two.
#[derive(Clone, Debug)]
pub struct BundleTree {
    tree: MerkleTree,
}

impl BundleTree {
    pub fn new(entries: &[Entry]) -> Self {
        let depth = entries.len().next_power_of_two().trailing_zeros() as usize;
        let leaves = entries.iter().map(entry_leaf).collect();
        Self { tree: MerkleTree::new(depth, leaves).expect("a power of two holds them") }
    }

    pub fn root(&self) -> B256 {
        if self.tree.is_empty() { B256::ZERO } else { self.tree.root() }
    }

    /// The siblings of entry `index`, leaf first (`None` beyond the entries).
    pub fn proof(&self, index: usize) -> Option<Vec<B256>> {
        self.tree.proof(index)
    }
}

/// The spoke's deposit tree over every deposit's relay hash, in id order.
pub fn deposit_tree(relay_hashes: Vec<B256>) -> MerkleTree {
    MerkleTree::new(DEPOSIT_TREE_DEPTH, relay_hashes).expect("2^32 deposits fit")
}

#[cfg(test)]
mod tests {
    use alloy::primitives::{U256, address};
    use aqueduct_primitives::verify_merkle;
    use proptest::prelude::*;

    use super::*;

    fn deposit(id: u64, deadline: u32) -> RelayData {
        RelayData {
            depositor: address!("00000000000000000000000000000000000A11CE"),
            recipient: address!("0000000000000000000000000000000000000B0B"),
            exclusiveRelayer: Address::ZERO,
            inputAmount: U256::from(1000 + id),
            outputAmount: U256::from(990 + id),
            originChainId: 901,
            destinationChainId: 31337,
            depositId: id,
            fillDeadline: deadline,
            exclusivityDeadline: 0,
        }
    }

    const RELAYER: Address = address!("000000000000000000000000000000000000BEEF");

    #[test]
    fn each_outcome_and_the_unsettled_case() {
        let d = deposit(0, 100);
        let filled = FillState::Filled { since: 50, repay_to: RELAYER };
        let e = expected(&d, filled, 60).unwrap();
        assert_eq!((e.outcome, e.payee, e.amount), (outcome::REPAY, RELAYER, d.inputAmount));
        assert_eq!(e.relayHash, relay_hash(&d));
        // Filled after the proposal, deadline not passed: not settled at the proposal.
        assert_eq!(expected(&d, filled, 40), None);
        let slow = expected(&d, FillState::SlowFillRequested { since: 10 }, 60).unwrap();
        assert_eq!((slow.outcome, slow.payee, slow.amount), (outcome::SLOW_FILL, d.recipient, d.outputAmount));
        assert_eq!(expected(&d, FillState::Unfilled, 100), None, "the deadline itself still allows a fill");
        let refund = expected(&d, FillState::Unfilled, 101).unwrap();
        assert_eq!((refund.outcome, refund.payee, refund.amount), (outcome::REFUND, d.depositor, d.inputAmount));
    }

    #[test]
    fn the_next_bundle_stops_at_the_first_unsettled_deposit() {
        let ds = vec![deposit(0, 10), deposit(1, 500), deposit(2, 10)];
        let fill_of = |d: &RelayData| {
            if d.depositId == 0 { FillState::Filled { since: 5, repay_to: RELAYER } } else { FillState::Unfilled }
        };
        let b = next_bundle(&ds, fill_of, 100, 16);
        assert_eq!(b.len(), 1);
        assert_eq!(first_wrong(&b, &ds, fill_of, 100), None);
        let b = next_bundle(&ds, fill_of, 600, 16);
        assert_eq!(b.len(), 3);
        assert_eq!(next_bundle(&ds, fill_of, 600, 2).len(), 2, "at most max");
        let mut forged = b.clone();
        forged[2].payee = RELAYER;
        assert_eq!(first_wrong(&forged, &ds, fill_of, 600), Some(2));
        assert_eq!(first_wrong(&b, &ds, fill_of, 100), Some(1), "covers a deposit not settled then");
    }

    proptest! {
        /// Every entry's proof checks against the root at its index, and no other.
        #[test]
        fn bundle_proofs(n in 1usize..70, seed in any::<u64>()) {
            let entries: Vec<Entry> = (0..n as u64).map(|i| Entry {
                relayHash: B256::from(U256::from(seed ^ i)),
                outcome: (i % 3) as u8,
                payee: RELAYER,
                amount: U256::from(i),
            }).collect();
            let t = BundleTree::new(&entries);
            let depth = n.next_power_of_two().trailing_zeros() as usize;
            for (i, e) in entries.iter().enumerate() {
                let p = t.proof(i).unwrap();
                prop_assert_eq!(p.len(), depth);
                prop_assert!(verify_merkle(depth, entry_leaf(e), i as u64, t.root(), &p));
                if n > 1 {
                    prop_assert!(!verify_merkle(depth, entry_leaf(e), ((i + 1) % n) as u64, t.root(), &p));
                }
            }
            prop_assert!(t.proof(n).is_none());
        }

        /// Whatever one entry is changed to, `first_wrong` finds it (or nothing when unchanged).
        #[test]
        fn a_changed_entry_is_found(n in 1usize..20, at in any::<prop::sample::Index>(), field in 0u8..4, now in 0u64..200) {
            let ds: Vec<RelayData> = (0..n as u64).map(|i| deposit(i, (i * 7 % 50) as u32)).collect();
            let fill_of = |d: &RelayData| match d.depositId % 3 {
                0 => FillState::Filled { since: d.depositId, repay_to: RELAYER },
                1 => FillState::SlowFillRequested { since: d.depositId },
                _ => FillState::Unfilled,
            };
            let honest = next_bundle(&ds, fill_of, now, n);
            prop_assert_eq!(first_wrong(&honest, &ds, fill_of, now), None);
            prop_assume!(!honest.is_empty());
            let i = at.index(honest.len());
            let mut forged = honest.clone();
            match field {
                0 => forged[i].amount += U256::from(1),
                1 => forged[i].payee = Address::repeat_byte(0xBA),
                2 => forged[i].relayHash = B256::repeat_byte(1),
                _ => forged[i].outcome = if forged[i].outcome == outcome::REFUND { outcome::REPAY } else { outcome::REFUND },
            }
            prop_assert_eq!(first_wrong(&forged, &ds, fill_of, now), Some(i));
        }
    }
}
