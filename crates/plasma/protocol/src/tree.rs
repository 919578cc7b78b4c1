//! A child block's tree: binary keccak-256 over depth 16 (65,536 leaves), empty leaves zero, as
//! the contract's `PlasmaTx.included` checks it.

use alloy::primitives::{B256, keccak256};

pub const DEPTH: usize = 16;
pub const MAX_TXS: usize = 1 << DEPTH;

fn node(l: &B256, r: &B256) -> B256 {
    let mut pre = [0u8; 64];
    pre[..32].copy_from_slice(l.as_slice());
    pre[32..].copy_from_slice(r.as_slice());
    keccak256(pre)
}

/// Every level of a block's tree (the leaves first), for its root and any leaf's proof.
#[derive(Clone, Debug)]
pub struct BlockTree {
    levels: Vec<Vec<B256>>,
    zeros: [B256; DEPTH + 1],
}

impl BlockTree {
    /// The tree over `leaves` (at most [`MAX_TXS`]; the caller bounds a block).
    pub fn new(leaves: Vec<B256>) -> Self {
        assert!(leaves.len() <= MAX_TXS, "a block holds at most {MAX_TXS} transactions");
        let mut zeros = [B256::ZERO; DEPTH + 1];
        for d in 0..DEPTH {
            zeros[d + 1] = node(&zeros[d], &zeros[d]);
        }
        let mut levels = vec![leaves];
        for d in 0..DEPTH {
            let below = &levels[d];
            let up: Vec<B256> = below.chunks(2).map(|c| node(&c[0], c.get(1).unwrap_or(&zeros[d]))).collect();
            levels.push(up);
        }
        Self { levels, zeros }
    }

    pub fn root(&self) -> B256 {
        self.levels[DEPTH].first().copied().unwrap_or(self.zeros[DEPTH])
    }

    pub fn len(&self) -> usize {
        self.levels[0].len()
    }

    pub fn is_empty(&self) -> bool {
        self.levels[0].is_empty()
    }

    /// The sibling path of leaf `index` (`None` beyond the leaves).
    pub fn proof(&self, index: usize) -> Option<Vec<B256>> {
        if index >= self.len() {
            return None;
        }
        Some(
            (0..DEPTH)
                .map(|d| {
                    let sib = (index >> d) ^ 1;
                    self.levels[d].get(sib).copied().unwrap_or(self.zeros[d])
                })
                .collect(),
        )
    }
}

/// Whether `leaf` is leaf `index` under `root` by `proof`, as the contract decides.
pub fn verify_inclusion(leaf: B256, index: usize, root: B256, proof: &[B256]) -> bool {
    if proof.len() != DEPTH || index >= MAX_TXS {
        return false;
    }
    let mut n = leaf;
    for (d, sib) in proof.iter().enumerate() {
        n = if (index >> d) & 1 == 0 { node(&n, sib) } else { node(sib, &n) };
    }
    n == root
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
