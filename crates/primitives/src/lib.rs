#![doc = include_str!("../README.md")]

mod account;
mod ids;

pub use account::{EMPTY_CODE_HASH, StateAccount};
pub use ids::{BlockNumber, IdError, Nonce};
