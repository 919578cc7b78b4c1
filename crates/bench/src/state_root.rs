//! How long a state-root update takes, and whether it depends on the size of the state.

use std::time::Instant;

use alloy::primitives::{Address, U256, keccak256};
use alloy_rlp::Encodable;
use alloy_trie::{HashBuilder, Nibbles};
use aqueduct_chain::{StateDiff, StateView, WorldState};
use aqueduct_primitives::StateAccount;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct StateRootReport {
    pub accounts: usize,
    pub transfers: usize,
    /// Building the trie of all accounts once (genesis-like).
    pub initial_build_ms: f64,
    /// Incremental root update after one block of `transfers` transfers.
    pub update_ms: f64,
    /// Keys changed by that block.
    pub changed_accounts: usize,
    /// A from-scratch root over the same state (alloy-trie's HashBuilder), for comparison.
    pub full_rebuild_ms: f64,
}

/// Builds `accounts` accounts, then applies a block of `transfers` random transfers among them.
pub fn bench_state_root(accounts: usize, transfers: usize, seed: u64) -> StateRootReport {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let addrs: Vec<Address> = (0..accounts).map(|_| Address::from(rng.random::<[u8; 20]>())).collect();
    let one_eth = U256::from(10u64).pow(U256::from(18));
    let mut diff = StateDiff::default();
    for a in &addrs {
        diff.accounts.insert(*a, Some(StateAccount { balance: one_eth, ..Default::default() }));
    }
    let mut state = WorldState::new();
    state.apply(diff);
    let t = Instant::now();
    state.commit_root().expect("in-memory trie has every node");
    let initial_build_ms = t.elapsed().as_secs_f64() * 1000.0;

    let mut block = StateDiff::default();
    // An account as this block has left it so far.
    let current = |block: &StateDiff, a: &Address| {
        block.accounts.get(a).copied().flatten().or_else(|| state.account(a).ok().flatten()).unwrap_or_default()
    };
    for _ in 0..transfers {
        let (from, to) = (addrs[rng.random_range(0..accounts)], addrs[rng.random_range(0..accounts)]);
        let mut f = current(&block, &from);
        f.nonce += 1;
        f.balance -= U256::from(1_000u64 + 21_000);
        block.accounts.insert(from, Some(f));
        let mut r = current(&block, &to);
        r.balance += U256::from(1_000u64);
        block.accounts.insert(to, Some(r));
    }
    let changed_accounts = block.accounts.len();
    state.apply(block);
    let t = Instant::now();
    state.commit_root().expect("in-memory trie has every node");
    let update_ms = t.elapsed().as_secs_f64() * 1000.0;

    // The same root from scratch, to show what a per-block full rebuild would cost.
    let t = Instant::now();
    let mut leaves: Vec<(Nibbles, Vec<u8>)> = addrs
        .iter()
        .map(|a| {
            let acc = state.account(a).ok().flatten().expect("account exists");
            let mut v = Vec::with_capacity(80);
            acc.encode(&mut v);
            (Nibbles::unpack(keccak256(a)), v)
        })
        .collect();
    leaves.sort_by_key(|l| l.0);
    leaves.dedup_by(|a, b| a.0 == b.0);
    let mut hb = HashBuilder::default();
    for (k, v) in &leaves {
        hb.add_leaf(*k, v);
    }
    let full = hb.root();
    let full_rebuild_ms = t.elapsed().as_secs_f64() * 1000.0;
    assert_eq!(full, state.root(), "incremental and from-scratch roots must agree");
    StateRootReport { accounts, transfers, initial_build_ms, update_ms, changed_accounts, full_rebuild_ms }
}

#[cfg(test)]
mod tests {
    #[test]
    fn small_state_root_bench_agrees_with_reference() {
        let r = super::bench_state_root(2_000, 100, 1);
        assert_eq!(r.accounts, 2_000);
        assert!(r.changed_accounts > 100 && r.changed_accounts <= 200);
    }
}
