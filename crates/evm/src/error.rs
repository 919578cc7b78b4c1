//! Errors, with the messages Ethereum clients give.

use alloy::primitives::{Address, Bytes, U256};

/// Why a transaction was refused (before it reached a block).
#[derive(Debug, thiserror::Error)]
pub enum TxError {
    #[error("failed to decode signed transaction: {0}")]
    Decode(#[from] alloy::eips::eip2718::Eip2718Error),
    #[error("failed to decode signed transaction: trailing bytes after transaction")]
    Trailing,
    #[error("transaction type not supported")]
    TypeNotSupported,
    #[error("oversized data: transaction size {size}, limit {limit}")]
    Oversized { size: usize, limit: usize },
    #[error("invalid chain id: expected {expected}, got {got}")]
    ChainId { expected: u64, got: u64 },
    #[error("invalid sender: {0}")]
    InvalidSignature(#[from] alloy::consensus::crypto::RecoveryError),
    #[error("nonce too low: next nonce {state}, tx nonce {tx}")]
    NonceTooLow { tx: u64, state: u64 },
    #[error("nonce too high: next nonce {state}, tx nonce {tx}")]
    NonceTooHigh { tx: u64, state: u64 },
    #[error("intrinsic gas too low: gas {gas}, minimum needed {needed}")]
    IntrinsicGas { gas: u64, needed: u64 },
    #[error("exceeds block gas limit: gas {gas}, limit {limit}")]
    GasLimit { gas: u64, limit: u64 },
    #[error("max fee per gas less than block base fee: maxFeePerGas: {max_fee}, baseFee: {base_fee}")]
    FeeCapTooLow { max_fee: u128, base_fee: u64 },
    #[error("max priority fee per gas higher than max fee per gas")]
    TipAboveFeeCap,
    #[error("insufficient funds for gas * price + value: address {address} have {have} want {want}")]
    InsufficientFunds { address: Address, have: U256, want: U256 },
    #[error("replacement transaction underpriced")]
    ReplacementUnderpriced,
    #[error("already known")]
    AlreadyKnown,
    #[error("txpool is full")]
    PoolFull,
    #[error("account has too many pending transactions")]
    SenderLimit,
    #[error("account has too many queued transactions: {limit} behind a nonce gap (next nonce {next})")]
    QueuedLimit { limit: usize, next: u64 },
    #[error("transaction underpriced: the pool is full and holds nothing cheaper")]
    Underpriced,
    #[error("blob transaction missing blob sidecar")]
    MissingSidecar,
    #[error("invalid blob transaction: {count} blobs, allowed 1 to {max}")]
    BlobCount { count: usize, max: u64 },
    #[error("invalid blob transaction: KZG check failed: {0}")]
    InvalidBlob(#[from] alloy::eips::eip4844::BlobTransactionValidationError),
    #[error("max fee per blob gas less than block blob gas fee: maxFeePerBlobGas: {max_fee}, blobBaseFee: {blob_fee}")]
    BlobFeeCapTooLow { max_fee: u128, blob_fee: u128 },
    #[error("sender not authorized: {0} is not an unlocked or impersonated account")]
    UnknownAccount(Address),
    /// The EVM refuses the transaction before executing it (revm's validation).
    #[error("{0}")]
    Invalid(#[from] revm::context::result::InvalidTransaction),
    /// The node stopped after a failed write (the recorded reason, repeated to every caller).
    #[error("node stopped: {0}")]
    Stopped(String),
}

/// Why a call or a dev method failed.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    #[error(transparent)]
    Tx(#[from] TxError),
    /// The EVM reverted; `data` is the revert payload.
    #[error("execution reverted{}", reason.as_ref().map(|r| format!(": {r}")).unwrap_or_default())]
    Reverted { reason: Option<String>, data: Bytes },
    #[error("execution halted: {0:?}")]
    Halted(revm::context::result::HaltReason),
    #[error("{0}")]
    InvalidParams(String),
    #[error("header not found")]
    UnknownBlock,
    #[error("internal error: {0}")]
    Internal(String),
    /// State the EVM or a proof needs could not be read (a trie node or code not kept).
    #[error("internal error: state: {0}")]
    State(#[from] crate::overlay::StateError),
    #[error("internal error: trie: {0}")]
    Trie(#[from] aqueduct_trie::TrieError),
    /// An account or slot stored in the trie does not decode.
    #[error("internal error: {what} rlp: {source}")]
    Rlp { what: &'static str, source: alloy_rlp::Error },
    /// The EVM failed other than by refusing the transaction (a database error).
    #[error("internal error: execution failed: {0}")]
    Execution(#[source] Box<revm::context::result::EVMError<crate::overlay::StateError>>),
    /// Re-executing block `block` against its witness failed.
    #[error("internal error: block {block}: {source}")]
    Witness { block: u64, source: Box<crate::stateless::StatelessError> },
    /// The state of block `block` could not be changed for a proof.
    #[error("internal error: changing block {block}'s state: {source}")]
    ChangedState { block: u64, source: aqueduct_trie::TrieError },
    /// The chain's store cannot be opened (permissions, a read-only disk, a path that is a
    /// file): nothing was read or changed.
    #[error("cannot open {}: {source}; check that this user can write there and that the disk is not read-only", path.display())]
    Unopenable { path: std::path::PathBuf, source: Box<dyn std::error::Error + Send + Sync> },
    /// The chain's store failed a read or a write outside a block commit (the store's error).
    #[error("internal error: storage: {0}")]
    Store(Box<dyn std::error::Error + Send + Sync>),
    /// A write to the chain's store failed: the node stopped (Critical). Nothing it holds in
    /// memory goes beyond what is on disk; free the disk or fix the store, then restart.
    #[error("node stopped: {0}")]
    Stopped(String),
    /// What a store holds on disk does not check out: the chain refuses to open it.
    #[error("{} is corrupt: {why}; restore it from a backup, or delete it (aqueduct devnet --fresh) to start a new chain", path.display())]
    Corrupt { path: std::path::PathBuf, why: String },
}

impl ChainError {
    /// `e` from re-executing block `block` against its witness.
    pub fn witness(block: u64, e: crate::stateless::StatelessError) -> Self {
        Self::Witness { block, source: Box::new(e) }
    }
}

impl aqueduct_primitives::Classify for ChainError {
    /// A stopped or corrupt store stops whatever depends on it; anything else is about one call
    /// or one block and may pass.
    fn next_action(&self) -> aqueduct_primitives::NextAction {
        use aqueduct_primitives::NextAction;
        match self {
            Self::Stopped(_) | Self::Corrupt { .. } | Self::Unopenable { .. } | Self::Store(_) => NextAction::Stop,
            _ => NextAction::Retry,
        }
    }
}
