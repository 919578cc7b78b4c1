//! A 4-ary sparse Merkle tree of Poseidon hashes. Only nodes that differ from the empty subtree of
//! their level are stored; every changed node is remembered until the owner takes it to persist.

use std::collections::{HashMap, HashSet};

use crate::{F, poseidon::hash4};

/// Children per node.
pub const ARITY: usize = 4;

/// A tree of `4^levels` leaves. Level 0 holds the leaves, level `levels` the root.
#[derive(Debug, Clone)]
pub struct QuadTree {
    levels: usize,
    /// `empty[l]`: the value of an empty subtree whose top is at level `l`.
    empty: Vec<F>,
    nodes: HashMap<(u8, u64), F>,
    dirty: HashSet<(u8, u64)>,
}

/// The siblings of a leaf, from the leaf's level up: three per level, in order, without the
/// node on the path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MerklePath {
    pub siblings: Vec<[F; 3]>,
}

impl MerklePath {
    /// The root this path gives for `leaf` at `index`.
    pub fn root_of(&self, leaf: F, index: u64) -> F {
        let mut cur = leaf;
        for (level, sib) in self.siblings.iter().enumerate() {
            let pos = ((index >> (2 * level)) & 3) as usize;
            cur = hash_children(&place(cur, pos, sib));
        }
        cur
    }
}

/// The four children of a node whose path child `cur` sits at `pos` among `siblings`.
pub fn place(cur: F, pos: usize, siblings: &[F; 3]) -> [F; 4] {
    let mut out = [F::from(0u64); 4];
    let mut s = siblings.iter();
    for (j, o) in out.iter_mut().enumerate() {
        *o = if j == pos { cur } else { *s.next().expect("three siblings") };
    }
    out
}

pub fn hash_children(c: &[F; 4]) -> F {
    hash4(c[0], c[1], c[2], c[3])
}

impl QuadTree {
    pub fn new(levels: usize, empty_leaf: F) -> Self {
        assert!(levels >= 1 && 2 * levels <= 62, "a quad tree has 1..=31 levels");
        let mut empty = vec![empty_leaf];
        for l in 0..levels {
            let e = empty[l];
            empty.push(hash4(e, e, e, e));
        }
        Self { levels, empty, nodes: HashMap::new(), dirty: HashSet::new() }
    }

    pub fn levels(&self) -> usize {
        self.levels
    }

    pub fn capacity(&self) -> u64 {
        1u64 << (2 * self.levels)
    }

    pub fn root(&self) -> F {
        self.node(self.levels, 0)
    }

    pub fn empty_root(&self) -> F {
        self.empty[self.levels]
    }

    pub fn node(&self, level: usize, index: u64) -> F {
        self.nodes.get(&(level as u8, index)).copied().unwrap_or(self.empty[level])
    }

    pub fn leaf(&self, index: u64) -> F {
        self.node(0, index)
    }

    pub fn path(&self, index: u64) -> MerklePath {
        assert!(index < self.capacity(), "leaf {index} outside a tree of {} leaves", self.capacity());
        let siblings = (0..self.levels)
            .map(|level| {
                let idx = index >> (2 * level);
                let first = idx & !3;
                let mut sib = [F::from(0u64); 3];
                let mut k = 0;
                for j in 0..4 {
                    if first + j != idx {
                        sib[k] = self.node(level, first + j);
                        k += 1;
                    }
                }
                sib
            })
            .collect();
        MerklePath { siblings }
    }

    /// Sets a leaf and rehashes its path; returns the new root.
    pub fn set(&mut self, index: u64, value: F) -> F {
        assert!(index < self.capacity(), "leaf {index} outside a tree of {} leaves", self.capacity());
        self.store(0, index, value);
        let mut idx = index;
        for level in 0..self.levels {
            let first = idx & !3;
            let children = [0, 1, 2, 3].map(|j| self.node(level, first + j));
            idx >>= 2;
            self.store(level + 1, idx, hash_children(&children));
        }
        self.root()
    }

    fn store(&mut self, level: usize, index: u64, value: F) {
        let key = (level as u8, index);
        if value == self.empty[level] {
            self.nodes.remove(&key);
        } else {
            self.nodes.insert(key, value);
        }
        self.dirty.insert(key);
    }

    /// The nodes changed since the last call, with their values (`None`: back to empty).
    pub fn take_dirty(&mut self) -> Vec<((u8, u64), Option<F>)> {
        let keys: Vec<_> = self.dirty.drain().collect();
        keys.into_iter().map(|k| (k, self.nodes.get(&k).copied())).collect()
    }

    /// Loads a stored node (used when reopening a persisted tree).
    pub fn load(&mut self, level: u8, index: u64, value: F) {
        self.nodes.insert((level, index), value);
    }

    /// Every stored (non-empty) node.
    pub fn stored(&self) -> impl Iterator<Item = ((u8, u64), F)> + '_ {
        self.nodes.iter().map(|(k, v)| (*k, *v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn an_empty_tree_has_the_empty_root_and_paths_prove_leaves() {
        let mut t = QuadTree::new(3, F::from(7u64));
        assert_eq!(t.root(), t.empty_root());
        let before = t.path(13);
        assert_eq!(before.root_of(F::from(7u64), 13), t.root());
        let root = t.set(13, F::from(99u64));
        assert_ne!(root, t.empty_root());
        assert_eq!(t.path(13).root_of(F::from(99u64), 13), root);
        // The same siblings prove both the old and the new leaf (an update from one path).
        assert_eq!(before.root_of(F::from(99u64), 13), root);
        assert_ne!(t.path(13).root_of(F::from(98u64), 13), root);
        assert_ne!(t.path(12).root_of(F::from(99u64), 12), root);
        t.set(13, F::from(7u64));
        assert_eq!(t.root(), t.empty_root());
        assert!(t.stored().next().is_none());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        #[test]
        fn every_leaf_is_proven_by_its_path(writes in proptest::collection::vec((0u64..64, 0u64..5), 1..40)) {
            let mut t = QuadTree::new(3, F::from(0u64));
            let mut plain = [0u64; 64];
            for (i, v) in &writes {
                t.set(*i, F::from(*v));
                plain[*i as usize] = *v;
            }
            // Rebuilding from the plain leaves gives the same root, whatever the write order.
            let mut fresh = QuadTree::new(3, F::from(0u64));
            for (i, v) in plain.iter().enumerate() {
                fresh.set(i as u64, F::from(*v));
            }
            prop_assert_eq!(fresh.root(), t.root());
            for i in 0..64u64 {
                prop_assert_eq!(t.path(i).root_of(F::from(plain[i as usize]), i), t.root());
            }
        }
    }
}
