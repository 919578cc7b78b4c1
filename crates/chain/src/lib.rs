#![doc = include_str!("../README.md")]

mod block;
mod builder;
mod chain;
mod deposit;
mod error;
mod executor;
mod genesis;
mod miner;
mod overlay;
mod pool;
mod rebuild;
pub mod rpc;
mod rules;
mod state;
mod stateless;
mod step;
mod store;
mod tx;

pub use block::{ChainReceipt, ChainTx, SealedBlock};
pub use builder::BlockAttributes;
pub use chain::{
    AccessListResult, AccountProof, BlockRef, CallArgs, Chain, ChainConfig, ChainEvent, NODE_PRUNE_INTERVAL,
    OverrideTarget, RECENT_STATES_IN_MEMORY, STRUCT_LOG_LIMIT, StepProof, revert_error,
};
pub use deposit::{DEPOSIT_TX_TYPE, DepositTx};
pub use error::{ChainError, TxError};
pub use executor::{BlockContext, deposit_env, intrinsic_gas, tx_env};
pub use genesis::{Genesis, GenesisAccount};
pub use miner::Miner;
pub use overlay::{Overlay, StateError};
pub use pool::Pool;
pub use rebuild::build_stateless;
pub use rules::{ChainRules, L1Prices, L2Rules, MiningMode, PoolLimits, TxTypes};
pub use state::{HistoricState, Reverts, StateDiff, StateView, WorldState};
pub use stateless::{
    StatelessError, StatelessInput, StatelessOutput, Witness, call_stateless, execute_stateless, input_of,
    stateless_input,
};
pub use step::{StepBlock, StepOutcome};
pub use store::{Store, StoreError, create_database};
pub use tx::TxBody;
