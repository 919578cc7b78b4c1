//! What a round of one of the rollup's services (sequencer, verifier, batcher, proposer,
//! challenger) fails with, and what the service loop does next (DESIGN D13).

use aqueduct_chain::ChainError;
use aqueduct_primitives::{Classify, NextAction};
use aqueduct_rollup_protocol::{DeriveError, evidence::EvidenceError};

use crate::l1::L1Error;

/// Why a round failed. L1 and chain errors keep their own classification; the rest say here
/// whether the next round may succeed.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error(transparent)]
    L1(#[from] L1Error),
    #[error("the L2 chain: {0}")]
    Chain(#[from] ChainError),
    /// L1 blocks arrived out of order (a lagging endpoint) or replaced ones already read.
    #[error("derivation out of step with L1: {0}")]
    Derive(#[from] DeriveError),
    /// A blocking task (block building, compression, KZG proofs) panicked: a bug.
    #[error("a task panicked: {0}")]
    Task(#[from] tokio::task::JoinError),
    /// KZG commitments or proofs could not be computed for a payload.
    #[error("building blobs: {0}")]
    Blobs(#[from] alloy::eips::eip4844::c_kzg::Error),
    /// Our own derivation evidence does not prove the block (yet).
    #[error("derivation evidence: {0}")]
    Evidence(#[from] EvidenceError),
    /// L2 block `0` is not (yet) in the chain.
    #[error("no L2 block {0} yet")]
    NoL2Block(u64),
    /// L1's logs lack a record a proof needs (an endpoint that is behind or prunes).
    #[error("L1 has no readable {what} {index}")]
    MissingRecord { what: &'static str, index: u64 },
    /// No L1 block hash is stored late enough to anchor the proof of L2 block `0` (the inbox
    /// checkpoints them as batches land).
    #[error("no L1 hash stored late enough to prove L2 block {0} yet")]
    NotAnchored(u64),
}

impl Classify for ServiceError {
    fn next_action(&self) -> NextAction {
        match self {
            Self::L1(e) => e.next_action(),
            Self::Chain(e) => e.next_action(),
            Self::Derive(DeriveError::Reorg(_)) => NextAction::Reset,
            Self::Task(_) | Self::Blobs(_) => NextAction::Stop,
            Self::Derive(_)
            | Self::Evidence(_)
            | Self::NoL2Block(_)
            | Self::MissingRecord { .. }
            | Self::NotAnchored(_) => NextAction::Retry,
        }
    }
}

impl From<alloy::sol_types::Error> for ServiceError {
    fn from(e: alloy::sol_types::Error) -> Self {
        Self::L1(L1Error::Decode(e))
    }
}

impl From<alloy::transports::TransportError> for ServiceError {
    fn from(e: alloy::transports::TransportError) -> Self {
        Self::L1(L1Error::Rpc(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_cause_says_what_to_do_next() {
        assert_eq!(ServiceError::from(L1Error::AnchorReorged(7)).next_action(), NextAction::Stop);
        assert_eq!(ServiceError::from(L1Error::MissingBlock(7)).next_action(), NextAction::Retry);
        assert_eq!(ServiceError::from(DeriveError::Reorg(3)).next_action(), NextAction::Reset);
        assert_eq!(
            ServiceError::from(DeriveError::OutOfOrder { expected: 3, got: 5 }).next_action(),
            NextAction::Retry
        );
        assert_eq!(ServiceError::NoL2Block(9).next_action(), NextAction::Retry);
        assert_eq!(ServiceError::Chain(ChainError::Stopped("gone".into())).next_action(), NextAction::Stop);
    }
}
