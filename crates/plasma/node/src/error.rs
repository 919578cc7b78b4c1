//! What can go wrong in the plasma services, and what to do next.

use aqueduct_eth::L1Error;
use aqueduct_plasma_protocol::{LedgerError, Position, TxError};
use aqueduct_primitives::{Classify, NextAction};

use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum PlasmaError {
    #[error(transparent)]
    L1(#[from] L1Error),
    /// The store cannot be written: nothing may be acknowledged that is not on disk.
    #[error("the operator's store: {0}")]
    Store(#[from] StoreError),
    /// A transaction that does not apply (the sender's to fix).
    #[error("refused: {0}")]
    Refused(#[from] LedgerError),
    #[error("refused: {0}")]
    Malformed(#[from] TxError),
    #[error(transparent)]
    Position(#[from] aqueduct_plasma_protocol::PositionError),
    #[error("refused: input {0} is already spent by a transaction waiting for the next block")]
    SpentInPending(Position),
    #[error("the operator holds {0} transactions waiting: try again after the next block")]
    Full(usize),
    /// The plasma contract refused a call, with its error (the caller's to fix, or state to wait for).
    #[error("the plasma contract refuses: {0}")]
    Refusal(String),
    /// The operator withholds this block's data (its attack mode).
    #[error("block {0} is withheld")]
    Withheld(u64),
    /// L1 holds another root at a block this operator built: someone else submits for it.
    #[error("block {block}: L1 holds root {on_l1}, this operator built {ours}; stop and reconcile the operator key")]
    RootMismatch { block: u64, on_l1: alloy::primitives::B256, ours: alloy::primitives::B256 },
    /// The operator's JSON-RPC did not answer as expected (for the watcher and clients).
    #[error("the operator at {url}: {why}")]
    Operator { url: String, why: String },
}

impl Classify for PlasmaError {
    fn next_action(&self) -> NextAction {
        match self {
            Self::Store(_) | Self::RootMismatch { .. } => NextAction::Stop,
            Self::L1(e) => e.next_action(),
            _ => NextAction::Retry,
        }
    }
}
