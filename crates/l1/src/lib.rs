#![doc = include_str!("../README.md")]

mod accounts;
mod config;
mod devnet;
mod execute;

pub use accounts::{DEV_MNEMONIC, dev_signers};
pub use config::L1Config;
pub use devnet::{Devnet, DevnetError};
pub use execute::{EXECUTE_ADDRESS, IExecute, decode_step_return, encode_rules, execute_precompile};
