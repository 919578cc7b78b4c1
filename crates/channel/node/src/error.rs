//! What a channel node's requests and services fail with, and what its loops do next.

use std::time::Duration;

use aqueduct_eth::L1Error;
use aqueduct_service::{Classify, NextAction};

use crate::{journal::JournalError, peer};

#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error(transparent)]
    L1(L1Error),
    /// The adjudicator refuses the call, by its custom error.
    #[error("the adjudicator refuses: {0}")]
    Adjudicator(String),
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Payment(#[from] aqueduct_channel_protocol::PaymentError),
    #[error(transparent)]
    Channel(#[from] aqueduct_channel_protocol::ChannelError),
    #[error(transparent)]
    Close(#[from] aqueduct_channel_protocol::manager::CloseError),
    #[error("invalid secp256k1 key: {0}")]
    Key(#[from] alloy::signers::k256::ecdsa::Error),
    /// A connection's task panicked (a bug).
    #[error("a connection task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
    #[error("peer connection: {0}")]
    Peer(#[from] peer::PeerError),
    #[error("no answer within {0:?}")]
    Timeout(Duration),
}

impl Classify for NodeError {
    /// A journal that cannot be written stops the node (nothing may be acknowledged that is
    /// not on disk); L1 trouble is L1's call; a refusal, a peer or a timeout is about one request.
    fn next_action(&self) -> NextAction {
        match self {
            Self::Journal(_) => NextAction::Stop,
            Self::L1(e) => e.next_action(),
            _ => NextAction::Retry,
        }
    }
}

impl From<L1Error> for NodeError {
    fn from(e: L1Error) -> Self {
        match crate::l1::refusal(&e) {
            Some(name) => Self::Adjudicator(name),
            None => Self::L1(e),
        }
    }
}
