//! An account of the ZK rollup and the shape of the trees that hold accounts and balances.

use std::collections::BTreeMap;

use alloy_primitives::Address;
use ark_ff::PrimeField;
use serde::{Deserialize, Serialize};

use crate::{
    F,
    poseidon::hash4,
    tree::{MerklePath, QuadTree},
};

/// How big the trees are. Full size: 12 levels of accounts (4¹² = 2²⁴ accounts) and 2 levels of
/// tokens (16 per account). Tests use smaller trees; the circuit is built for one shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TreeShape {
    pub account_levels: usize,
    pub balance_levels: usize,
}

impl TreeShape {
    pub const FULL: Self = Self { account_levels: 12, balance_levels: 2 };

    pub fn max_accounts(&self) -> u64 {
        1 << (2 * self.account_levels)
    }

    pub fn max_tokens(&self) -> u64 {
        1 << (2 * self.balance_levels)
    }

    /// Bits of an account index (the 3-byte fields of pubdata hold up to 24).
    pub fn account_bits(&self) -> usize {
        2 * self.account_levels
    }

    pub fn validate(&self) -> Result<(), String> {
        if !(1..=12).contains(&self.account_levels) {
            return Err(format!(
                "account_levels {} outside 1..=12 (pubdata holds 24-bit indices)",
                self.account_levels
            ));
        }
        if !(1..=4).contains(&self.balance_levels) {
            return Err(format!("balance_levels {} outside 1..=4 (pubdata holds 8-bit tokens)", self.balance_levels));
        }
        Ok(())
    }
}

/// One account: who owns it on L1, its L2 key, its nonce and a balance per token.
/// An index that was never assigned holds the zero account (address zero).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    pub address: Address,
    pub nonce: u32,
    /// Poseidon of the Baby Jubjub public key (zero: no L2 key yet).
    #[serde(with = "crate::fe")]
    pub pubkey_hash: F,
    pub balances: BTreeMap<u8, u128>,
}

impl Account {
    pub fn balance(&self, token: u8) -> u128 {
        self.balances.get(&token).copied().unwrap_or(0)
    }

    pub fn balance_tree(&self, shape: TreeShape) -> QuadTree {
        let mut t = QuadTree::new(shape.balance_levels, F::from(0u64));
        for (token, amount) in &self.balances {
            if *amount != 0 {
                t.set(*token as u64, F::from(*amount));
            }
        }
        t
    }

    pub fn balance_path(&self, shape: TreeShape, token: u8) -> MerklePath {
        self.balance_tree(shape).path(token as u64)
    }

    /// The account's leaf in the account tree.
    pub fn leaf(&self, shape: TreeShape) -> F {
        leaf(self.nonce, self.pubkey_hash, address_to_field(self.address), self.balance_tree(shape).root())
    }
}

/// `Poseidon(nonce, pubkey hash, L1 address, balance root)`.
pub fn leaf(nonce: u32, pubkey_hash: F, address: F, balance_root: F) -> F {
    hash4(F::from(nonce as u64), pubkey_hash, address, balance_root)
}

pub fn address_to_field(a: Address) -> F {
    F::from_be_bytes_mod_order(a.as_slice())
}

/// The leaf of the zero account (the value of every unassigned index).
pub fn empty_leaf(shape: TreeShape) -> F {
    Account::default().leaf(shape)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_leaf_commits_to_every_field() {
        let s = TreeShape { account_levels: 2, balance_levels: 1 };
        let mut a = Account { address: Address::repeat_byte(1), ..Default::default() };
        let base = a.leaf(s);
        assert_ne!(base, empty_leaf(s));
        a.balances.insert(3, 5);
        let with_balance = a.leaf(s);
        assert_ne!(with_balance, base);
        a.nonce = 1;
        assert_ne!(a.leaf(s), with_balance);
        // A zero balance is the same as none.
        let mut b = Account { address: Address::repeat_byte(1), ..Default::default() };
        b.balances.insert(2, 0);
        assert_eq!(b.leaf(s), base);
    }
}
