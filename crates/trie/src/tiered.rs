//! Trie nodes in two tiers: the ones a node needs often in memory, every node ever made in a
//! store behind them (on disk). Reads fall through; what stays in memory is decided by
//! [`mark_reachable`] from the roots still in use.

use std::{
    collections::HashSet,
    ops::{Deref, DerefMut},
    sync::Arc,
};

use alloy_primitives::B256;

use crate::{
    node::{Node, NodeRef},
    store::{MemoryNodes, NodeStore},
    trie::{EMPTY_ROOT, TrieError},
};

/// Nodes in memory (`hot`, what `Deref` gives) over an optional complete store (`cold`).
#[derive(Clone, Default)]
pub struct TieredNodes {
    hot: MemoryNodes,
    cold: Option<Arc<dyn NodeStore + Send + Sync>>,
}

impl TieredNodes {
    pub fn new(hot: MemoryNodes) -> Self {
        Self { hot, cold: None }
    }

    /// Reads what memory lacks from `cold`, which must hold every node ever made.
    pub fn set_cold(&mut self, cold: Arc<dyn NodeStore + Send + Sync>) {
        self.cold = Some(cold);
    }

    pub fn has_cold(&self) -> bool {
        self.cold.is_some()
    }

    pub fn into_hot(self) -> MemoryNodes {
        self.hot
    }

    /// Keeps in memory only the nodes of the tries under `roots` (and the storage tries their
    /// leaves name, through `storage_roots_of`); the others stay readable from the cold store.
    /// Returns how many nodes were dropped from memory. Without a cold store, nothing is dropped.
    pub fn keep_only(
        &mut self,
        roots: impl IntoIterator<Item = B256>,
        storage_roots_of: impl Fn(&[u8]) -> Option<B256>,
    ) -> Result<usize, TrieError> {
        if self.cold.is_none() {
            return Ok(0);
        }
        let mut seen = HashSet::new();
        let mut storage = Vec::new();
        for root in roots {
            mark_reachable(&*self, root, &mut seen, &mut |leaf| storage.extend(storage_roots_of(leaf)))?;
        }
        for root in storage {
            mark_reachable(&*self, root, &mut seen, &mut |_| {})?;
        }
        let before = self.hot.len();
        self.hot.retain(|h, _| seen.contains(h));
        self.hot.shrink_to_fit();
        Ok(before - self.hot.len())
    }
}

impl Deref for TieredNodes {
    type Target = MemoryNodes;

    fn deref(&self) -> &MemoryNodes {
        &self.hot
    }
}

impl DerefMut for TieredNodes {
    fn deref_mut(&mut self) -> &mut MemoryNodes {
        &mut self.hot
    }
}

impl NodeStore for TieredNodes {
    fn node(&self, hash: &B256) -> Option<Vec<u8>> {
        self.hot.get(hash).cloned().or_else(|| self.cold.as_ref()?.node(hash))
    }
}

impl std::fmt::Debug for TieredNodes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TieredNodes").field("hot", &self.hot.len()).field("cold", &self.cold.is_some()).finish()
    }
}

/// Adds to `seen` every hashed node of the trie under `root` not in it yet, calling `leaf` with
/// the value of each leaf under a newly seen node. A node already in `seen` is not descended
/// into: its subtree was marked with it, so marking many roots of one chain costs the first
/// trie plus what each later root changed.
pub fn mark_reachable(
    store: &impl NodeStore,
    root: B256,
    seen: &mut HashSet<B256>,
    leaf: &mut impl FnMut(&[u8]),
) -> Result<(), TrieError> {
    let mut todo = vec![NodeRef::Hash(root)];
    while let Some(r) = todo.pop() {
        let node = match r {
            NodeRef::Empty => continue,
            NodeRef::Hash(h) if h == EMPTY_ROOT || !seen.insert(h) => continue,
            NodeRef::Hash(h) => Node::decode(&store.node(&h).ok_or(TrieError::MissingNode(h))?)?,
            NodeRef::Inline(raw) => Node::decode(&raw)?,
        };
        match node {
            Node::Empty => {}
            Node::Leaf { value, .. } => leaf(&value),
            Node::Extension { child, .. } => todo.push(child),
            Node::Branch { children } => todo.extend(*children),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trie::update;

    fn key(i: u8) -> Vec<u8> {
        alloy_primitives::keccak256([i]).to_vec()
    }

    #[test]
    fn nodes_of_old_roots_leave_memory_and_stay_readable() {
        let mut all = MemoryNodes::new();
        let mut roots = vec![EMPTY_ROOT];
        for round in 0..20u8 {
            let changes: Vec<_> = (0..50u8).map(|i| (key(i), Some(vec![round, i, 1, 2, 3]))).collect();
            let up = update(&all, *roots.last().unwrap(), changes).unwrap();
            all.extend(up.nodes);
            roots.push(up.root);
        }
        let cold: Arc<dyn NodeStore + Send + Sync> = Arc::new(all.clone());
        let mut tiered = TieredNodes::new(all.clone());
        tiered.set_cold(cold);
        let dropped = tiered.keep_only([*roots.last().unwrap()], |_| None).unwrap();
        assert!(dropped > 0 && tiered.len() + dropped == all.len(), "{dropped} of {}", all.len());
        // The latest trie is whole in memory; an old one reads through to the cold store.
        let mut seen = HashSet::new();
        mark_reachable(&*tiered, *roots.last().unwrap(), &mut seen, &mut |_| {}).unwrap();
        assert_eq!(seen.len(), tiered.len());
        assert_eq!(crate::get(&tiered, roots[3], &key(7)).unwrap(), Some(vec![2, 7, 1, 2, 3]));
        assert!(matches!(crate::get(&*tiered, roots[3], &key(7)), Err(TrieError::MissingNode(_))));
        // Without a cold store, nothing is dropped.
        let mut alone = TieredNodes::new(all.clone());
        assert_eq!(alone.keep_only([roots[1]], |_| None).unwrap(), 0);
    }

    #[test]
    fn leaves_name_the_tries_under_them() {
        let inner = update(&MemoryNodes::new(), EMPTY_ROOT, vec![(key(1), Some(vec![9; 40]))]).unwrap();
        let outer = update(&MemoryNodes::new(), EMPTY_ROOT, vec![(key(2), Some(inner.root.to_vec()))]).unwrap();
        let mut all = inner.nodes.clone();
        all.extend(outer.nodes.clone());
        all.insert(B256::repeat_byte(1), vec![0xc0]);
        let mut t = TieredNodes::new(all.clone());
        t.set_cold(Arc::new(all));
        t.keep_only([outer.root], |v| B256::try_from(v).ok()).unwrap();
        assert!(inner.nodes.keys().chain(outer.nodes.keys()).all(|h| t.contains_key(h)));
        assert!(!t.contains_key(&B256::repeat_byte(1)));
    }
}
