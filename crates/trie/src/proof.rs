//! Proof checking, and proofs as a node store (for stateless updates).

use std::collections::HashMap;

use alloy_primitives::{B256, keccak256};

use crate::{
    store::NodeStore,
    trie::{TrieError, get},
};

/// Nodes taken from proofs or a witness, addressed by their hash. Any node not in it is missing.
#[derive(Default, Clone, Debug)]
pub struct ProofNodes(HashMap<B256, Vec<u8>>);

impl ProofNodes {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds the nodes of a proof (or any witness nodes).
    pub fn extend<I: IntoIterator<Item = Vec<u8>>>(&mut self, nodes: I) {
        for n in nodes {
            self.0.insert(keccak256(&n), n);
        }
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl NodeStore for ProofNodes {
    fn node(&self, hash: &B256) -> Option<Vec<u8>> {
        self.0.get(hash).cloned()
    }
}

/// Checks a proof for `key` against `root`, returning the proven value (`None` = proven absent).
pub fn verify_proof(
    root: B256,
    key: &[u8],
    proof: impl IntoIterator<Item = Vec<u8>>,
) -> Result<Option<Vec<u8>>, TrieError> {
    let mut nodes = ProofNodes::new();
    nodes.extend(proof);
    get(&nodes, root, key)
}
