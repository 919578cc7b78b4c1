//! The one seeded workload `aqueduct compare` runs on every family: `M` users and `N` transfers
//! among them (who pays whom, ETH or the ERC-20, how much). Every family maps the same plan onto
//! its own accounts and its own user interface, so two runs with one seed send the same money.

use alloy::signers::local::PrivateKeySigner;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;
use serde::{Deserialize, Serialize};

/// Smallest amount unit of the plan: transfers are `units × UNIT` wei (or token base units).
/// A multiple of 10^12 packs exactly into every family's amount encoding.
pub const UNIT: u128 = 1_000_000_000_000;

/// One transfer of the plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedTransfer {
    pub from: usize,
    pub to: usize,
    /// The ERC-20 rather than ETH.
    pub erc20: bool,
    /// In [`UNIT`]s: 1 to 1,000.
    pub units: u64,
}

impl PlannedTransfer {
    pub fn amount(&self) -> u128 {
        u128::from(self.units) * UNIT
    }
}

/// The seeded plan.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub seed: u64,
    pub users: usize,
    pub erc20_share: f64,
    /// Each user's 32-byte secret: its L1 key, and the seed of any other key a family gives it.
    pub secrets: Vec<[u8; 32]>,
    pub transfers: Vec<PlannedTransfer>,
}

impl Plan {
    /// Deterministic for its arguments. Senders take turns (transfer `i` is sent by user
    /// `i mod users`), so each user's transfers are evenly spread; recipients are any other user.
    pub fn generate(seed: u64, users: usize, transfers: usize, erc20_share: f64) -> Self {
        let users = users.max(2);
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let secrets = (0..users)
            .map(|_| {
                loop {
                    let bytes: [u8; 32] = rng.random();
                    if PrivateKeySigner::from_slice(&bytes).is_ok() {
                        break bytes;
                    }
                }
            })
            .collect();
        let share = erc20_share.clamp(0.0, 1.0);
        let transfers = (0..transfers)
            .map(|i| {
                let from = i % users;
                let to = (from + rng.random_range(1..users)) % users;
                PlannedTransfer { from, to, erc20: rng.random_bool(share), units: rng.random_range(1..=1000) }
            })
            .collect();
        Self { seed, users, erc20_share: share, secrets, transfers }
    }

    /// User `i`'s L1 (and EVM L2) key.
    pub fn signer(&self, i: usize) -> PrivateKeySigner {
        PrivateKeySigner::from_slice(&self.secrets[i]).expect("generate keeps only valid keys")
    }

    /// The transfers user `i` sends, in order.
    pub fn sent_by(&self, i: usize) -> impl Iterator<Item = &PlannedTransfer> {
        self.transfers.iter().filter(move |t| t.from == i)
    }

    /// What user `i` sends in total: (ETH, ERC-20).
    pub fn outflow(&self, i: usize) -> (u128, u128) {
        self.sent_by(i).fold((0, 0), |(e, t), x| if x.erc20 { (e, t + x.amount()) } else { (e + x.amount(), t) })
    }

    pub fn erc20_transfers(&self) -> usize {
        self.transfers.iter().filter(|t| t.erc20).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_plan() {
        let a = Plan::generate(7, 5, 200, 0.3);
        assert_eq!(a, Plan::generate(7, 5, 200, 0.3));
        assert_ne!(a.transfers, Plan::generate(8, 5, 200, 0.3).transfers);
        assert_eq!(a.transfers.len(), 200);
        assert!(a.transfers.iter().all(|t| t.from != t.to && t.to < 5 && (1..=1000).contains(&t.units)));
        let erc20 = a.erc20_transfers();
        assert!((30..90).contains(&erc20), "{erc20} ERC-20 transfers of 200 at a 0.3 share");
        assert_eq!((0..5).map(|i| a.sent_by(i).count()).sum::<usize>(), 200);
        assert_eq!(Plan::generate(1, 3, 10, 0.0).erc20_transfers(), 0);
        assert_eq!(Plan::generate(1, 3, 10, 1.0).erc20_transfers(), 10);
    }
}
