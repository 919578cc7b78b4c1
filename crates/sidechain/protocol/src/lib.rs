//! The sidechain's core, sans-IO (D10): what its validators agree on and what L1 checks.
//!
//! - [`Body`]: a block as consensus orders it — its parent's digest, height, time, the L1
//!   deposits it mints and its raw transactions. Consensus agrees on a body's 32-byte digest;
//!   every validator executes finalized bodies in order with the shared chain engine (D1), so
//!   the EVM block of height `h` is a pure function of the finalized bodies up to `h`.
//! - [`SetChange`]: a validator-set change L1 applied at a checkpoint, carried by the body that
//!   ends a consensus epoch (the next epoch's set orders its children).
//! - [`Checkpoint`]: a range of sidechain blocks with its last block hash, state root and
//!   withdrawals root, signed by validators over the EIP-712 digest `SidechainBridge` checks.
//! - [`WithdrawalTree`]: the depth-20 keccak tree of a checkpoint's withdrawals and its proofs.

mod bls;
mod body;
mod checkpoint;
mod set_change;
mod withdrawals;

pub use bls::{BLS_DST, BlsKey, aggregate as bls_aggregate};
pub use body::{Body, BodyError, L1Deposit, MAX_BODY_BYTES, MAX_DEPOSITS, MAX_TXS};
pub use checkpoint::{Checkpoint, CheckpointError, Domain, Quorum, SignedCheckpoint};
pub use set_change::{MAX_VALIDATORS, SetChange};
pub use withdrawals::{WITHDRAWAL_DEPTH, Withdrawal, WithdrawalTree, verify_withdrawal};
