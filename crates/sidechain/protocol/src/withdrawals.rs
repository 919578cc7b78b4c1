//! A checkpoint's withdrawals tree: binary keccak-256 of depth 20, empty leaves zero, as
//! `SidechainBridge.withdraw` checks it.

use alloy::{
    primitives::{Address, B256, U256, keccak256},
    sol_types::SolValue,
};
use aqueduct_primitives::{MerkleTree, verify_merkle};
use serde::{Deserialize, Serialize};

pub const WITHDRAWAL_DEPTH: usize = 20;

/// A `ChildBridge.WithdrawalInitiated`, as L1 pays it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Withdrawal {
    pub nonce: u64,
    pub recipient: Address,
    /// The L1 token (`Address::ZERO` for ETH).
    pub token: Address,
    pub amount: U256,
}

impl Withdrawal {
    /// `keccak256(abi.encode(nonce, recipient, token, amount))`.
    pub fn leaf(&self) -> B256 {
        keccak256((self.nonce, self.recipient, self.token, self.amount).abi_encode())
    }

    pub fn to_abi(&self) -> aqueduct_contracts::sidechain::SidechainBridge::Withdrawal {
        aqueduct_contracts::sidechain::SidechainBridge::Withdrawal {
            nonce: self.nonce,
            recipient: self.recipient,
            token: self.token,
            amount: self.amount,
        }
    }
}

/// A checkpoint's withdrawals tree (the shared fixed-depth keccak tree at depth 20).
#[derive(Clone, Debug)]
pub struct WithdrawalTree(MerkleTree);

impl WithdrawalTree {
    /// The tree over `leaves` in order (at most 2^20; more is refused as `None`).
    pub fn new(leaves: Vec<B256>) -> Option<Self> {
        MerkleTree::new(WITHDRAWAL_DEPTH, leaves).map(Self)
    }

    pub fn of(withdrawals: &[Withdrawal]) -> Option<Self> {
        Self::new(withdrawals.iter().map(Withdrawal::leaf).collect())
    }

    pub fn root(&self) -> B256 {
        self.0.root()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Sibling path of leaf `index`.
    pub fn proof(&self, index: usize) -> Option<Vec<B256>> {
        self.0.proof(index)
    }
}

/// Whether `proof` puts `leaf` at `index` under `root` (the contract's check).
pub fn verify_withdrawal(root: B256, leaf: B256, index: u64, proof: &[B256]) -> bool {
    verify_merkle(WITHDRAWAL_DEPTH, leaf, index, root, proof)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn every_leaf_proves_and_no_other(n in 0usize..40, pick in any::<prop::sample::Index>()) {
            let ws: Vec<Withdrawal> = (0..n as u64)
                .map(|i| Withdrawal { nonce: i, recipient: Address::repeat_byte(1), token: Address::ZERO, amount: U256::from(i + 1) })
                .collect();
            let t = WithdrawalTree::of(&ws).unwrap();
            for (i, w) in ws.iter().enumerate() {
                prop_assert!(verify_withdrawal(t.root(), w.leaf(), i as u64, &t.proof(i).unwrap()));
            }
            if n > 1 {
                let i = pick.index(n);
                let mut w = ws[i];
                w.amount += U256::from(1);
                prop_assert!(!verify_withdrawal(t.root(), w.leaf(), i as u64, &t.proof(i).unwrap()));
                let j = (i + 1) % n;
                prop_assert!(!verify_withdrawal(t.root(), ws[i].leaf(), j as u64, &t.proof(i).unwrap()));
            }
        }

        #[test]
        fn malformed_proofs_are_refused(len in 0usize..30, index in any::<u64>()) {
            let proof = vec![B256::ZERO; len];
            let ok = verify_withdrawal(B256::ZERO, B256::ZERO, index, &proof);
            prop_assert!(!ok);
        }
    }
}
