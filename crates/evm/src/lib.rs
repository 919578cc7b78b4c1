#![doc = include_str!("../README.md")]

pub mod block;
pub mod builder;
pub mod deposit;
pub mod error;
pub mod executor;
pub mod genesis;
pub mod overlay;
pub mod rebuild;
pub mod rules;
pub mod state;
pub mod stateless;
pub mod step;
pub mod tx;

pub use block::{ChainReceipt, ChainTx, SealedBlock};
pub use builder::{BlockAttributes, Gate, TxGate};
pub use deposit::{DEPOSIT_TX_TYPE, DepositTx};
pub use error::{ChainError, TxError};
pub use executor::{BlockContext, deposit_env, intrinsic_gas, tx_env};
pub use genesis::{Genesis, GenesisAccount};
pub use overlay::{Overlay, StateError};
pub use rebuild::build_stateless;
pub use rules::{ChainRules, L1Prices, L2Rules, MiningMode, PoolLimits, TxTypes};
pub use state::{HistoricState, Reverts, StateDiff, StateView, WorldState};
pub use stateless::{
    StatelessError, StatelessInput, StatelessOutput, Witness, call_stateless, execute_stateless, input_of,
    stateless_input,
};
pub use step::{StepBlock, StepOutcome};
pub use tx::{TxBody, decode_raw_tx};
