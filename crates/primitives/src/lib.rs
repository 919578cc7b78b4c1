#![doc = include_str!("../README.md")]

mod account;
mod action;
mod ids;

pub use account::{EMPTY_CODE_HASH, StateAccount};
pub use action::{Classify, NextAction};
pub use ids::{ForcedIndex, IdError, L1BlockNumber, L2BlockNumber};
