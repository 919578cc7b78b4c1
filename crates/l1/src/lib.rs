#![doc = include_str!("../README.md")]

mod accounts;
mod config;
mod devnet;

pub use accounts::{DEV_MNEMONIC, dev_signers};
pub use config::L1Config;
pub use devnet::{Devnet, DevnetError};
