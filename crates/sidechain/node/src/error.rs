//! What can stop or delay a validator, and what to do next (D13).

use aqueduct_primitives::{Classify, NextAction};

#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// The spec, a key or a flag is wrong: fix it and start again.
    #[error("configuration: {0}")]
    Config(String),
    /// The validator's own store failed: stop (its votes must be durable).
    #[error(transparent)]
    Store(#[from] aqueduct_chain::StoreError),
    /// The chain refused or failed a block.
    #[error(transparent)]
    Chain(#[from] aqueduct_chain::ChainError),
    /// L1 did not answer or refused a call: retry.
    #[error("L1: {0}")]
    L1(String),
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
}

impl Classify for NodeError {
    fn next_action(&self) -> NextAction {
        match self {
            Self::L1(_) => NextAction::Retry,
            Self::Chain(e) => e.next_action(),
            Self::Config(_) | Self::Store(_) | Self::Io(_) => NextAction::Stop,
        }
    }
}
