//! What a fast-bridge call or a relayer round fails with, and what comes next (DESIGN D13).

use aqueduct_eth::L1Error;
use aqueduct_primitives::{Classify, NextAction};

#[derive(Debug, thiserror::Error)]
pub enum FastBridgeError {
    /// L1 (or, for the spoke, the rollup's JSON-RPC): the client's own classification.
    #[error(transparent)]
    Chain(#[from] L1Error),
    /// The rollup's canonical bridge could not prove or pay the spoke's withdrawal (yet).
    #[error("the canonical bridge: {0}")]
    Canonical(#[from] aqueduct_rollup_node::BridgeError),
    /// The spoke's deposit events skip an id: the endpoint dropped logs; read them again.
    #[error("the spoke's deposits skip from {have} to {got}: the L2 endpoint lost logs")]
    DepositGap { have: u64, got: u64 },
    /// The hub's deposit root matches no prefix of the deposits read from L2: this relayer
    /// reads another spoke or the L2 endpoint is behind.
    #[error("no prefix of the spoke's deposits has the hub's delivered root {0}")]
    UnknownRoot(alloy::primitives::B256),
    /// The spec file could not be read or written.
    #[error("the bridge spec {path}: {source}")]
    Spec { path: std::path::PathBuf, source: std::io::Error },
    #[error("the bridge spec {path}: {source}")]
    SpecFormat { path: std::path::PathBuf, source: serde_json::Error },
    /// The router has no venue for a leg on this deployment.
    #[error("{0}")]
    NoVenue(&'static str),
}

impl Classify for FastBridgeError {
    fn next_action(&self) -> NextAction {
        match self {
            Self::Chain(e) => e.next_action(),
            Self::Canonical(_) | Self::DepositGap { .. } | Self::UnknownRoot(_) => NextAction::Retry,
            Self::Spec { .. } | Self::SpecFormat { .. } | Self::NoVenue(_) => NextAction::Stop,
        }
    }
}
