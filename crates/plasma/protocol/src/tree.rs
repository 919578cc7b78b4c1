//! A child block's tree: binary keccak-256 over depth 16 (65,536 leaves), empty leaves zero, as
//! the contract's `PlasmaTx.included` checks it.

use alloy::primitives::B256;
#[cfg(test)]
use alloy::primitives::keccak256;
use aqueduct_primitives::{MerkleTree, verify_merkle};

pub const DEPTH: usize = 16;
pub const MAX_TXS: usize = 1 << DEPTH;

#[cfg(test)]
fn node(l: &B256, r: &B256) -> B256 {
    let mut pre = [0u8; 64];
    pre[..32].copy_from_slice(l.as_slice());
    pre[32..].copy_from_slice(r.as_slice());
    keccak256(pre)
}

/// A child block's tree (the shared fixed-depth keccak tree at depth 16).
#[derive(Clone, Debug)]
pub struct BlockTree(MerkleTree);

impl BlockTree {
    /// The tree over `leaves` (at most [`MAX_TXS`]; the caller bounds a block).
    pub fn new(leaves: Vec<B256>) -> Self {
        Self(MerkleTree::new(DEPTH, leaves).expect("a block holds at most MAX_TXS transactions"))
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

    /// The sibling path of leaf `index` (`None` beyond the leaves).
    pub fn proof(&self, index: usize) -> Option<Vec<B256>> {
        self.0.proof(index)
    }
}

/// Whether `leaf` is leaf `index` under `root` by `proof`, as the contract decides.
pub fn verify_inclusion(leaf: B256, index: usize, root: B256, proof: &[B256]) -> bool {
    verify_merkle(DEPTH, leaf, index as u64, root, proof)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn every_leaf_proves_and_no_other_does(n in 1usize..300, pick in any::<usize>(), other in any::<[u8; 32]>()) {
            let leaves: Vec<B256> = (0..n).map(|i| keccak256(i.to_be_bytes())).collect();
            let t = BlockTree::new(leaves.clone());
            let i = pick % n;
            let proof = t.proof(i).unwrap();
            prop_assert!(verify_inclusion(leaves[i], i, t.root(), &proof));
            prop_assert!(!verify_inclusion(B256::from(other), i, t.root(), &proof) || B256::from(other) == leaves[i]);
            prop_assert!(!verify_inclusion(leaves[i], i ^ 1, t.root(), &proof));
            prop_assert!(!verify_inclusion(leaves[i], i, t.root(), &proof[1..]));
        }
    }

    #[test]
    fn a_single_leaf_root_is_the_deposit_blocks() {
        let leaf = keccak256("deposit");
        let mut expect = leaf;
        let mut zero = B256::ZERO;
        for _ in 0..DEPTH {
            expect = node(&expect, &zero);
            zero = node(&zero, &zero);
        }
        assert_eq!(BlockTree::new(vec![leaf]).root(), expect);
        assert_eq!(BlockTree::new(vec![]).proof(0), None);
    }
}
