//! Where trie nodes live.

use std::{cell::RefCell, collections::HashMap};

use alloy_primitives::B256;

/// Read access to trie nodes by hash.
pub trait NodeStore {
    /// The RLP encoding of the node with this hash, if the store has it.
    fn node(&self, hash: &B256) -> Option<Vec<u8>>;
}

/// Nodes in memory.
pub type MemoryNodes = HashMap<B256, Vec<u8>>;

impl NodeStore for HashMap<B256, Vec<u8>> {
    fn node(&self, hash: &B256) -> Option<Vec<u8>> {
        self.get(hash).cloned()
    }
}

impl<S: NodeStore + ?Sized> NodeStore for &S {
    fn node(&self, hash: &B256) -> Option<Vec<u8>> {
        (**self).node(hash)
    }
}

/// Wraps a store and records every node read through it: running a read or an update through
/// it yields exactly the witness that the same operation needs when run statelessly.
pub struct RecordingStore<S> {
    inner: S,
    seen: RefCell<HashMap<B256, Vec<u8>>>,
}

impl<S: NodeStore> RecordingStore<S> {
    pub fn new(inner: S) -> Self {
        Self { inner, seen: RefCell::default() }
    }

    /// The nodes read so far.
    pub fn into_witness(self) -> HashMap<B256, Vec<u8>> {
        self.seen.into_inner()
    }
}

impl<S: NodeStore> NodeStore for RecordingStore<S> {
    fn node(&self, hash: &B256) -> Option<Vec<u8>> {
        let n = self.inner.node(hash)?;
        self.seen.borrow_mut().insert(*hash, n.clone());
        Some(n)
    }
}

/// Two stores read as one: `top` first, then `base` (new nodes over the nodes they build on).
pub struct Layered<A, B> {
    pub top: A,
    pub base: B,
}

impl<A: NodeStore, B: NodeStore> NodeStore for Layered<A, B> {
    fn node(&self, hash: &B256) -> Option<Vec<u8>> {
        self.top.node(hash).or_else(|| self.base.node(hash))
    }
}

/// A store with nothing in it.
pub struct NoNodes;

impl NodeStore for NoNodes {
    fn node(&self, _: &B256) -> Option<Vec<u8>> {
        None
    }
}
