//! Reads, proofs and batch updates of a trie named by its root hash.

use std::collections::HashMap;

use alloy_primitives::{B256, b256, keccak256};

use crate::{
    nibbles::{Nibbles, common_prefix},
    node::{Node, NodeRef},
    store::NodeStore,
};

/// Root of the empty trie: keccak256(rlp("")).
pub const EMPTY_ROOT: B256 = b256!("56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421");

#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum TrieError {
    /// A node the operation needs is not in the store (or the witness).
    #[error("trie node {0} is missing")]
    MissingNode(B256),
    #[error("malformed trie node: {0}")]
    Malformed(&'static str),
    #[error("trie keys must all be {expected} bytes, got {got}")]
    KeyLength { expected: usize, got: usize },
}

/// The result of a batch update: the new root and the nodes it created.
#[derive(Debug, Default)]
pub struct TrieUpdate {
    pub root: B256,
    /// Every node created by the update, by hash (the root node included, even when short).
    pub nodes: HashMap<B256, Vec<u8>>,
}

/// Looks `key` up in the trie with root `root`.
pub fn get(store: &impl NodeStore, root: B256, key: &[u8]) -> Result<Option<Vec<u8>>, TrieError> {
    walk(store, root, key, |_| {})
}

/// A value (`None`: absent) and the encoded nodes that prove it.
pub type Proof = (Option<Vec<u8>>, Vec<Vec<u8>>);

/// The proof for `key` (the encoded nodes from the root down, as in `eth_getProof`) and its value.
pub fn prove(store: &impl NodeStore, root: B256, key: &[u8]) -> Result<Proof, TrieError> {
    let mut proof = Vec::new();
    let value = walk(store, root, key, |raw| proof.push(raw.to_vec()))?;
    Ok((value, proof))
}

/// Follows `key` from the root, reporting each hashed node visited.
fn walk(
    store: &impl NodeStore,
    root: B256,
    key: &[u8],
    mut visit: impl FnMut(&[u8]),
) -> Result<Option<Vec<u8>>, TrieError> {
    if root == EMPTY_ROOT {
        return Ok(None);
    }
    let path = Nibbles::from_bytes(key);
    let mut rest: &[u8] = path.as_slice();
    let mut raw = store.node(&root).ok_or(TrieError::MissingNode(root))?;
    visit(&raw);
    loop {
        let next = match Node::decode(&raw)? {
            Node::Empty => return Ok(None),
            Node::Leaf { path, value } => {
                return Ok((path.as_slice() == rest).then_some(value));
            }
            Node::Extension { path, child } => {
                if !rest.starts_with(path.as_slice()) {
                    return Ok(None);
                }
                rest = &rest[path.len()..];
                child
            }
            Node::Branch { mut children } => {
                let Some((&n, tail)) = rest.split_first() else {
                    return Err(TrieError::Malformed("key ends at a branch"));
                };
                rest = tail;
                std::mem::take(&mut children[n as usize])
            }
        };
        raw = match next {
            NodeRef::Empty => return Ok(None),
            NodeRef::Inline(raw) => raw,
            NodeRef::Hash(h) => {
                let raw = store.node(&h).ok_or(TrieError::MissingNode(h))?;
                visit(&raw);
                raw
            }
        };
    }
}

/// Applies `changes` (key → new value, `None` deletes) to the trie with root `root`.
///
/// Only the nodes on the changed paths are read and rewritten. Keys must all have the same
/// length. Later duplicates of a key win.
pub fn update(
    store: &impl NodeStore,
    root: B256,
    changes: impl IntoIterator<Item = (Vec<u8>, Option<Vec<u8>>)>,
) -> Result<TrieUpdate, TrieError> {
    let mut sorted: Vec<(Nibbles, Option<Vec<u8>>)> = Vec::new();
    let mut key_len = None;
    for (k, v) in changes {
        let expected = *key_len.get_or_insert(k.len());
        if k.len() != expected || expected == 0 {
            return Err(TrieError::KeyLength { expected, got: k.len() });
        }
        sorted.push((Nibbles::from_bytes(&k), v.filter(|v| !v.is_empty())));
    }
    // Stable sort keeps later duplicates after earlier ones; keep the last of each key.
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    sorted.reverse();
    sorted.dedup_by(|a, b| a.0 == b.0);
    sorted.reverse();

    let mut up = Updater { store, new: HashMap::new() };
    let root_node = if root == EMPTY_ROOT { Node::Empty } else { up.resolve(&NodeRef::Hash(root))? };
    let node = up.update(root_node, 0, &sorted)?;
    let root = match &node {
        Node::Empty => EMPTY_ROOT,
        n => {
            let raw = n.encode();
            let h = keccak256(&raw);
            up.new.insert(h, raw);
            h
        }
    };
    Ok(TrieUpdate { root, nodes: up.new })
}

struct Updater<'a, S> {
    store: &'a S,
    new: HashMap<B256, Vec<u8>>,
}

type Change = (Nibbles, Option<Vec<u8>>);

impl<S: NodeStore> Updater<'_, S> {
    fn resolve(&self, r: &NodeRef) -> Result<Node, TrieError> {
        match r {
            NodeRef::Empty => Ok(Node::Empty),
            NodeRef::Inline(raw) => Node::decode(raw),
            NodeRef::Hash(h) => match self.new.get(h) {
                Some(raw) => Node::decode(raw),
                None => Node::decode(&self.store.node(h).ok_or(TrieError::MissingNode(*h))?),
            },
        }
    }

    fn commit(&mut self, node: &Node) -> NodeRef {
        node.to_ref(|h, raw| {
            self.new.insert(h, raw);
        })
    }

    /// Applies `changes` (sorted, unique, all sharing the first `depth` nibbles) to `node`,
    /// which sits at `depth`.
    fn update(&mut self, node: Node, depth: usize, changes: &[Change]) -> Result<Node, TrieError> {
        if changes.is_empty() {
            return Ok(node);
        }
        match node {
            Node::Empty => self.build(depth, changes.iter().filter_map(|(k, v)| Some((k, v.as_ref()?))).collect()),
            Node::Leaf { path, value } => {
                // A leaf is one entry: merge it with the changes and build afresh.
                let mut full = changes[0].0.as_slice()[..depth].to_vec();
                full.extend_from_slice(path.as_slice());
                let full = Nibbles(full);
                let mut entries: Vec<(&Nibbles, &Vec<u8>)> = Vec::with_capacity(changes.len() + 1);
                let mut placed = false;
                for (k, v) in changes {
                    if !placed && full <= *k {
                        placed = true;
                        if full < *k {
                            entries.push((&full, &value));
                        }
                    }
                    if let Some(v) = v {
                        entries.push((k, v));
                    }
                }
                if !placed {
                    entries.push((&full, &value));
                }
                self.build(depth, entries)
            }
            Node::Extension { path, child } => {
                let p = path.as_slice();
                let shared = changes.iter().map(|(k, _)| common_prefix(p, &k.as_slice()[depth..])).min().unwrap_or(0);
                if shared == p.len() {
                    let child = self.resolve(&child)?;
                    let new_child = self.update(child, depth + p.len(), changes)?;
                    return Ok(self.extend(path.0, new_child));
                }
                // Some change leaves the extension: split it at `shared` and update the branch.
                let mut children: Box<[NodeRef; 16]> = Box::default();
                let below = if shared + 1 == p.len() {
                    child
                } else {
                    self.commit(&Node::Extension { path: Nibbles(p[shared + 1..].to_vec()), child })
                };
                children[p[shared] as usize] = below;
                let branch = Node::Branch { children };
                if shared == 0 {
                    self.update(branch, depth, changes)
                } else {
                    let new_branch = self.update(branch, depth + shared, changes)?;
                    Ok(self.extend(p[..shared].to_vec(), new_branch))
                }
            }
            Node::Branch { mut children } => {
                let mut i = 0;
                while i < changes.len() {
                    let n = changes[i].0.as_slice()[depth];
                    let j = i + changes[i..].iter().take_while(|(k, _)| k.as_slice()[depth] == n).count();
                    let child = self.resolve(&children[n as usize])?;
                    let new_child = self.update(child, depth + 1, &changes[i..j])?;
                    children[n as usize] = self.commit(&new_child);
                    i = j;
                }
                let mut live = children.iter().enumerate().filter(|(_, c)| !c.is_empty());
                match (live.next(), live.next()) {
                    (None, _) => Ok(Node::Empty),
                    (Some((n, only)), None) => {
                        // One child left: fold the branch into it.
                        let only = self.resolve(only)?;
                        Ok(self.extend(vec![n as u8], only))
                    }
                    _ => Ok(Node::Branch { children }),
                }
            }
        }
    }

    /// `child` reached through `path`, in canonical form (paths merged, empty collapsed).
    fn extend(&mut self, mut path: Vec<u8>, child: Node) -> Node {
        if path.is_empty() {
            return child;
        }
        match child {
            Node::Empty => Node::Empty,
            Node::Leaf { path: p, value } => {
                path.extend_from_slice(p.as_slice());
                Node::Leaf { path: Nibbles(path), value }
            }
            Node::Extension { path: p, child } => {
                path.extend_from_slice(p.as_slice());
                Node::Extension { path: Nibbles(path), child }
            }
            branch @ Node::Branch { .. } => {
                let child = self.commit(&branch);
                Node::Extension { path: Nibbles(path), child }
            }
        }
    }

    /// A fresh subtree at `depth` holding `entries` (sorted, unique).
    fn build(&mut self, depth: usize, entries: Vec<(&Nibbles, &Vec<u8>)>) -> Result<Node, TrieError> {
        match entries.len() {
            0 => Ok(Node::Empty),
            1 => {
                Ok(Node::Leaf { path: Nibbles(entries[0].0.as_slice()[depth..].to_vec()), value: entries[0].1.clone() })
            }
            _ => {
                let first = &entries[0].0.as_slice()[depth..];
                let last = &entries[entries.len() - 1].0.as_slice()[depth..];
                let shared = common_prefix(first, last);
                if shared == first.len() {
                    return Err(TrieError::Malformed("duplicate key"));
                }
                let mut children: Box<[NodeRef; 16]> = Box::default();
                let at = depth + shared;
                let mut i = 0;
                while i < entries.len() {
                    let n = entries[i].0.as_slice()[at];
                    let j = i + entries[i..].iter().take_while(|(k, _)| k.as_slice()[at] == n).count();
                    let child = self.build(at + 1, entries[i..j].to_vec())?;
                    children[n as usize] = self.commit(&child);
                    i = j;
                }
                let branch = Node::Branch { children };
                Ok(self.extend(first[..shared].to_vec(), branch))
            }
        }
    }
}
