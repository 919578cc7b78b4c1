#![doc = include_str!("../README.md")]

mod account;
mod action;
mod ids;
mod merkle;
mod signer;

pub use account::{EMPTY_CODE_HASH, StateAccount};
pub use action::{Classify, NextAction};
pub use ids::{ForcedIndex, IdError, L1BlockNumber, L2BlockNumber};
pub use merkle::{MerkleTree, verify_merkle};
pub use signer::{Signature, Signer};
