#![doc = include_str!("../README.md")]

mod nibbles;
mod node;
mod proof;
mod store;
mod tiered;
mod trie;

pub use nibbles::Nibbles;
pub use node::{Node, NodeRef};
pub use proof::{ProofNodes, verify_proof};
pub use store::{Layered, MemoryNodes, NoNodes, NodeStore, RecordingStore};
pub use tiered::{TieredNodes, mark_reachable};
pub use trie::{EMPTY_ROOT, Proof, TrieError, TrieUpdate, get, prove, update};
