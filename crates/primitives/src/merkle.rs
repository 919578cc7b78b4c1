//! A fixed-depth binary keccak-256 Merkle tree, empty leaves zero — the shape L1 contracts check
//! with a loop over `depth` siblings (plasma's block trees, a sidechain checkpoint's withdrawals).

use alloy_primitives::{B256, keccak256};

fn node(l: &B256, r: &B256) -> B256 {
    let mut pre = [0u8; 64];
    pre[..32].copy_from_slice(l.as_slice());
    pre[32..].copy_from_slice(r.as_slice());
    keccak256(pre)
}

/// Every level of a tree of `depth` (the leaves first), for its root and any leaf's proof.
#[derive(Clone, Debug)]
pub struct MerkleTree {
    levels: Vec<Vec<B256>>,
    /// The root of an empty subtree at each height.
    zeros: Vec<B256>,
}

impl MerkleTree {
    /// The tree of `depth` over `leaves`; `None` when they do not fit (more than 2^depth).
    pub fn new(depth: usize, leaves: Vec<B256>) -> Option<Self> {
        if depth < usize::BITS as usize && leaves.len() > 1 << depth {
            return None;
        }
        let mut zeros = vec![B256::ZERO; depth + 1];
        for d in 0..depth {
            zeros[d + 1] = node(&zeros[d], &zeros[d]);
        }
        let mut levels = vec![leaves];
        for d in 0..depth {
            let up = levels[d].chunks(2).map(|c| node(&c[0], c.get(1).unwrap_or(&zeros[d]))).collect();
            levels.push(up);
        }
        Some(Self { levels, zeros })
    }

    pub fn depth(&self) -> usize {
        self.zeros.len() - 1
    }

    pub fn root(&self) -> B256 {
        let depth = self.depth();
        self.levels[depth].first().copied().unwrap_or(self.zeros[depth])
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
            (0..self.depth())
                .map(|d| {
                    let sib = (index >> d) ^ 1;
                    self.levels[d].get(sib).copied().unwrap_or(self.zeros[d])
                })
                .collect(),
        )
    }
}

/// Whether `proof` puts `leaf` at `index` under `root` in a tree of `depth`, as the contracts
/// decide (a proof of another length, or an index beyond the tree, never does).
pub fn verify_merkle(depth: usize, leaf: B256, index: u64, root: B256, proof: &[B256]) -> bool {
    if proof.len() != depth || (depth < 64 && index >> depth != 0) {
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
        fn every_leaf_proves_and_no_other_does(depth in 1usize..12, n in 0usize..200, pick in any::<usize>()) {
            let leaves: Vec<B256> = (0..n).map(|i| keccak256(i.to_be_bytes())).collect();
            let Some(t) = MerkleTree::new(depth, leaves.clone()) else {
                prop_assert!(n > 1 << depth);
                return Ok(());
            };
            prop_assert_eq!(t.depth(), depth);
            if n == 0 {
                prop_assert_eq!(t.proof(0), None);
                return Ok(());
            }
            let i = pick % n;
            let proof = t.proof(i).unwrap();
            prop_assert!(verify_merkle(depth, leaves[i], i as u64, t.root(), &proof));
            prop_assert!(!verify_merkle(depth, leaves[i], (i ^ 1) as u64, t.root(), &proof));
            prop_assert!(!verify_merkle(depth, leaves[i], i as u64, t.root(), &proof[1..]));
            prop_assert!(!verify_merkle(depth, keccak256("other"), i as u64, t.root(), &proof));
        }
    }
}
