#![doc = include_str!("../README.md")]

mod chain;
mod miner;
mod pool;
pub mod rpc;
mod store;

// The execution rules live in `aqueduct-evm` (no storage, RPC or runtime); the node re-exports them
// so that services see one engine.
pub use aqueduct_evm::{
    BlockAttributes, BlockContext, ChainError, ChainReceipt, ChainRules, ChainTx, DEPOSIT_TX_TYPE, DepositTx, Gate,
    Genesis, GenesisAccount, HistoricState, L1Prices, L2Rules, MiningMode, Overlay, PoolLimits, Reverts, SealedBlock,
    StateDiff, StateError, StateView, StatelessError, StatelessInput, StatelessOutput, StepBlock, StepOutcome, TxBody,
    TxError, TxGate, TxTypes, Witness, WorldState, build_stateless, call_stateless, decode_raw_tx, deposit_env,
    execute_stateless, input_of, intrinsic_gas, stateless_input, tx_env,
};
use aqueduct_evm::{block, builder, error, executor, genesis, overlay, rebuild, rules, state, stateless, tx};
pub use chain::{
    AccessListResult, AccountProof, BlockRef, CallArgs, Chain, ChainConfig, ChainEvent, NODE_PRUNE_INTERVAL,
    OverrideTarget, RECENT_STATES_IN_MEMORY, STRUCT_LOG_LIMIT, StepProof, revert_error,
};
pub use miner::Miner;
pub use pool::Pool;
pub use store::{Store, StoreError, create_database};
