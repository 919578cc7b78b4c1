#![doc = include_str!("../README.md")]

mod batcher;
mod bridge;
mod challenger;
mod deploy;
mod derivation_proof;
mod error;
mod follower;
mod genesis;
pub mod interop;
mod l1;
mod proposer;
mod rollup;
mod sequencer;
mod spec;
mod verifier;

pub use batcher::{Batcher, BatcherConfig, DataMode, PostStats, blobs_cheaper};
pub use bridge::{
    BridgeError, L2View, OutputEta, WithdrawalProof, build_proof, deposit_erc20, deposit_eth, finalize,
    finalize_request, is_finalized, l2_token_of, output_covering, output_eta, prove, prove_call, prove_request,
    seconds_left, sol_withdrawal, withdraw_erc20_call, withdraw_eth_call, withdrawal_of_tx, withdrawals_upto,
};
pub use challenger::{Challenger, GameAction};
pub use deploy::{DeployError, DeployParams, Deployment, DisputeParams, deploy, deploy_dispute};
pub use derivation_proof::{DerivationProof, derivation_proof};
pub use error::ServiceError;
pub use follower::follow_l1;
pub use genesis::{genesis_output, l2_genesis};
pub use l1::{BlockHeader, L1_CALL_TIMEOUT, L1Call, L1Client, L1Error, L1Fees, RollupL1, create_all, sign_1559};
pub use proposer::{Proposer, output_at};
pub use rollup::{ChallengerRole, ProposerRole, Rollup, RollupError, RollupOptions, SequencerRole, l2_chain_config};
pub use sequencer::{Sequencer, SequencerConfig};
pub use spec::{RollupSpec, SpecError};
pub use verifier::Verifier;
