//! The attack suite (`aqueduct attack …`): each family's trust assumption attacked for real on
//! the embedded L1, the outcome checked on L1 and its cost reported: fraud against the
//! optimistic rollup in depth (wrong output roots, false challenges, stalling players), and one
//! matrix over every family (`attack all`, [`run_all`]), and the fast bridge's thieves against a
//! watcher ([`run_bridge`]).

mod corruption;
mod fraud;
mod report;
mod suite;
mod world;

pub use corruption::{Corruption, Lie, false_belief, make_lie};
pub use fraud::{FraudOptions, run_fraud};
pub use report::{FraudReport, GameRecord, ScenarioSummary, WithdrawalChecks};
pub use suite::{
    BridgeFigures, MassExit, Outcome, Promise, SuiteOptions, SuiteReport, plasma_mass_exit, run_all, run_bridge,
    run_collusion,
};
pub use world::{RollupWorld, WorldOptions};

use aqueduct_chain::ChainError;
use aqueduct_rollup_node::{BridgeError, L1Error, RollupError};

#[derive(Debug, thiserror::Error)]
pub enum AttackError {
    #[error("setting up: the temporary directory: {0}")]
    TempDir(#[source] std::io::Error),
    #[error("setting up: the embedded L1: {0}")]
    Devnet(#[from] aqueduct_l1::DevnetError),
    #[error("setting up: deploying the rollup: {0}")]
    Deploy(#[from] aqueduct_rollup_node::DeployError),
    /// The rollup started without the role's chain in this process.
    #[error("setting up: no {0} chain")]
    NoChain(&'static str),
    #[error(transparent)]
    L1(#[from] L1Error),
    /// L1 refuses a step of the attack (a simulated call reverts): `reason` names the contract's
    /// custom error.
    #[error("{what}: {reason}")]
    Refused { what: String, reason: String },
    /// A step's L1 transaction failed.
    #[error("{what}: {source}")]
    L1During { what: String, source: L1Error },
    /// A hand-made L2 transaction could not be signed or decoded.
    #[error("signing: {0}")]
    Signing(#[from] alloy::signers::Error),
    #[error("an L2 transaction: {0}")]
    Tx(#[from] aqueduct_chain::TxError),
    #[error(transparent)]
    Rollup(#[from] RollupError),
    #[error(transparent)]
    Chain(#[from] ChainError),
    #[error(transparent)]
    Bridge(#[from] BridgeError),
    #[error("timed out waiting for {what} (waited {secs} s)")]
    Timeout { what: String, secs: u64 },
    #[error("{0}")]
    Failed(String),
}
