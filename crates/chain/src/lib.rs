#![doc = include_str!("../README.md")]

mod block;
mod chain;
mod error;
mod executor;
mod genesis;
mod miner;
mod overlay;
mod pool;
pub mod rpc;
mod rules;
mod state;
mod store;

pub use block::{ChainTx, SealedBlock};
pub use chain::{AccountProof, BlockRef, CallArgs, Chain, ChainConfig, ChainEvent, OverrideTarget, revert_error};
pub use error::{ChainError, TxError};
pub use executor::{BlockContext, intrinsic_gas, tx_env};
pub use genesis::{Genesis, GenesisAccount};
pub use miner::Miner;
pub use overlay::{Overlay, StateError};
pub use pool::Pool;
pub use rules::{ChainRules, MiningMode, PoolLimits, TxTypes};
pub use state::{HistoricState, Reverts, StateDiff, StateView, WorldState};
pub use store::{Store, StoreError};
