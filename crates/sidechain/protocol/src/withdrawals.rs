//! A checkpoint's withdrawals tree: binary keccak-256 of depth 20, empty leaves zero, as
//! `SidechainBridge.withdraw` checks it.

use alloy::{
    primitives::{Address, B256, U256, keccak256},
    sol_types::SolValue,
};
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

fn node(l: &B256, r: &B256) -> B256 {
    let mut pre = [0u8; 64];
    pre[..32].copy_from_slice(l.as_slice());
    pre[32..].copy_from_slice(r.as_slice());
    keccak256(pre)
}

/// Every level of a checkpoint's withdrawals tree.
#[derive(Clone, Debug)]
pub struct WithdrawalTree {
    levels: Vec<Vec<B256>>,
    zeros: [B256; WITHDRAWAL_DEPTH + 1],
}

impl WithdrawalTree {
    /// The tree over `leaves` in order (at most 2^20; more is refused as `None`).
    pub fn new(leaves: Vec<B256>) -> Option<Self> {
        if leaves.len() > 1 << WITHDRAWAL_DEPTH {
            return None;
        }
        let mut zeros = [B256::ZERO; WITHDRAWAL_DEPTH + 1];
        for d in 0..WITHDRAWAL_DEPTH {
            zeros[d + 1] = node(&zeros[d], &zeros[d]);
        }
        let mut levels = vec![leaves];
        for d in 0..WITHDRAWAL_DEPTH {
            let up = levels[d].chunks(2).map(|c| node(&c[0], c.get(1).unwrap_or(&zeros[d]))).collect();
            levels.push(up);
        }
        Some(Self { levels, zeros })
    }

    pub fn of(withdrawals: &[Withdrawal]) -> Option<Self> {
        Self::new(withdrawals.iter().map(Withdrawal::leaf).collect())
    }

    pub fn root(&self) -> B256 {
        self.levels[WITHDRAWAL_DEPTH].first().copied().unwrap_or(self.zeros[WITHDRAWAL_DEPTH])
    }

    pub fn len(&self) -> usize {
        self.levels[0].len()
    }

    pub fn is_empty(&self) -> bool {
        self.levels[0].is_empty()
    }

    /// Sibling path of leaf `index`.
    pub fn proof(&self, index: usize) -> Option<Vec<B256>> {
        if index >= self.len() {
            return None;
        }
        Some(
            (0..WITHDRAWAL_DEPTH)
                .map(|d| {
                    let sib = (index >> d) ^ 1;
                    self.levels[d].get(sib).copied().unwrap_or(self.zeros[d])
                })
                .collect(),
        )
    }
}

/// Whether `proof` puts `leaf` at `index` under `root` (the contract's check).
pub fn verify_withdrawal(root: B256, leaf: B256, index: u64, proof: &[B256]) -> bool {
    if proof.len() != WITHDRAWAL_DEPTH || index >> WITHDRAWAL_DEPTH != 0 {
        return false;
    }
    let mut h = leaf;
    for (d, sib) in proof.iter().enumerate() {
        h = if (index >> d) & 1 == 0 { node(&h, sib) } else { node(sib, &h) };
    }
    h == root
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
