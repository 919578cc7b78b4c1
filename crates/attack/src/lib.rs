//! The attack suite (`aqueduct attack …`): each family's trust assumption attacked for real on
//! the embedded L1, the outcome checked on L1 and its cost reported. Today: fraud against the
//! optimistic rollup (wrong output roots, false challenges, stalling players).

mod corruption;
mod fraud;
mod report;
mod world;

pub use corruption::{Corruption, Lie, false_belief, make_lie};
pub use fraud::{FraudOptions, run_fraud};
pub use report::{FraudReport, GameRecord, ScenarioSummary, WithdrawalChecks};
pub use world::{RollupWorld, WorldOptions};

use aqueduct_chain::ChainError;
use aqueduct_rollup_node::{BridgeError, L1Error, RollupError};

#[derive(Debug, thiserror::Error)]
pub enum AttackError {
    #[error("setting up: {0}")]
    Setup(String),
    #[error(transparent)]
    L1(#[from] L1Error),
    #[error(transparent)]
    Rollup(#[from] RollupError),
    #[error(transparent)]
    Chain(#[from] ChainError),
    #[error(transparent)]
    Bridge(#[from] BridgeError),
    #[error("timed out waiting for {0}")]
    Timeout(String),
    #[error("{0}")]
    Failed(String),
}
