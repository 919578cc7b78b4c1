//! Output roots and the L2->L1 message tree, as the L1 contracts check them
//! (contracts/src/rollup/RollupLib.sol).

use alloy::{
    primitives::{Address, B256, Bytes, U256, keccak256},
    sol_types::SolValue,
};
use serde::{Deserialize, Serialize};

/// Depth of the message tree.
pub const TREE_DEPTH: usize = 32;

/// What an output root commits to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutputRoot {
    pub version: B256,
    pub state_root: B256,
    pub withdrawals_root: B256,
    pub block_hash: B256,
}

impl OutputRoot {
    /// `keccak256(version ‖ stateRoot ‖ withdrawalsRoot ‖ blockHash)`.
    pub fn hash(&self) -> B256 {
        keccak256(
            [
                self.version.as_slice(),
                self.state_root.as_slice(),
                self.withdrawals_root.as_slice(),
                self.block_hash.as_slice(),
            ]
            .concat(),
        )
    }
}

/// An L2->L1 message (a withdrawal), as `L2ToL1MessagePasser` records it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Withdrawal {
    pub nonce: U256,
    pub sender: Address,
    pub target: Address,
    pub value: U256,
    pub gas_limit: U256,
    pub data: Bytes,
}

impl Withdrawal {
    /// `keccak256(abi.encode(nonce, sender, target, value, gasLimit, data))`.
    pub fn hash(&self) -> B256 {
        keccak256(
            (self.nonce, self.sender, self.target, self.value, self.gas_limit, self.data.clone()).abi_encode_params(),
        )
    }
}

/// The message tree (leaves in nonce order), with roots and sibling paths.
#[derive(Clone, Debug, Default)]
pub struct MessageTree {
    leaves: Vec<B256>,
}

fn zero_hashes() -> [B256; TREE_DEPTH + 1] {
    let mut z = [B256::ZERO; TREE_DEPTH + 1];
    for i in 1..=TREE_DEPTH {
        z[i] = keccak256([z[i - 1].as_slice(), z[i - 1].as_slice()].concat());
    }
    z
}

fn hash_pair(a: &B256, b: &B256) -> B256 {
    keccak256([a.as_slice(), b.as_slice()].concat())
}

impl MessageTree {
    pub fn new(leaves: Vec<B256>) -> Self {
        Self { leaves }
    }

    pub fn push(&mut self, leaf: B256) {
        self.leaves.push(leaf);
    }

    pub fn len(&self) -> usize {
        self.leaves.len()
    }

    pub fn is_empty(&self) -> bool {
        self.leaves.is_empty()
    }

    /// The root and, if `index` is a leaf, its sibling path.
    fn walk(&self, index: Option<usize>) -> (B256, [B256; TREE_DEPTH]) {
        let z = zero_hashes();
        let mut level = self.leaves.clone();
        let mut branch = [B256::ZERO; TREE_DEPTH];
        let mut idx = index.unwrap_or(0);
        for (d, slot) in branch.iter_mut().enumerate() {
            let sib = idx ^ 1;
            *slot = level.get(sib).copied().unwrap_or(z[d]);
            level = level.chunks(2).map(|c| hash_pair(&c[0], c.get(1).unwrap_or(&z[d]))).collect();
            idx >>= 1;
        }
        (level.first().copied().unwrap_or(z[TREE_DEPTH]), branch)
    }

    pub fn root(&self) -> B256 {
        self.walk(None).0
    }

    /// Sibling path of leaf `index`, leaf level first.
    pub fn branch(&self, index: usize) -> Option<[B256; TREE_DEPTH]> {
        (index < self.leaves.len()).then(|| self.walk(Some(index)).1)
    }

    /// The root a leaf and its path lead to (what the portal computes).
    pub fn root_from(leaf: B256, index: u64, branch: &[B256; TREE_DEPTH]) -> B256 {
        let mut node = leaf;
        for (d, sib) in branch.iter().enumerate() {
            node = if (index >> d) & 1 == 1 { hash_pair(sib, &node) } else { hash_pair(&node, sib) };
        }
        node
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn every_leaf_proves(n in 1usize..40, pick in any::<prop::sample::Index>()) {
            let leaves: Vec<B256> = (0..n).map(|i| keccak256(i.to_be_bytes())).collect();
            let tree = MessageTree::new(leaves.clone());
            let i = pick.index(n);
            let branch = tree.branch(i).unwrap();
            prop_assert_eq!(MessageTree::root_from(leaves[i], i as u64, &branch), tree.root());
            prop_assert_ne!(MessageTree::root_from(leaves[i], (i ^ 1) as u64, &branch), tree.root());
        }
    }

    #[test]
    fn empty_root_is_the_zero_tree() {
        assert_eq!(MessageTree::default().root(), zero_hashes()[TREE_DEPTH]);
        assert_eq!(MessageTree::default().branch(0), None);
    }
}
