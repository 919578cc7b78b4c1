#![doc = include_str!("../README.md")]

mod blob;
pub mod dac;
mod deploy;
mod operator;
mod pipeline;
mod reconstruct;
mod rpc;
mod stack;
mod store;

pub use blob::{BlobGroup, BlobPlan, ZkDataMode, blob_cheaper, plan as blob_plan, point_proof};
pub use dac::{DacClient, DacError, DacMember, DacStatus};
pub use deploy::{ZkDeployError, ZkDeployParams, ZkDeployment, deploy_zk, field_to_u256, genesis_root};
pub use operator::{
    BlockReport, DataAvailability, Operator, OperatorError, Prepared, Settled, Settler, SubmitError, priority_op,
    process_cpu_seconds, to_sol,
};
pub use pipeline::{Pipeline, PipelineConfig};
pub use reconstruct::{ExitProof, OnchainOpError, ReconstructError, Reconstructed, exit_call, reconstruct};
pub use rpc::{
    AccountRef, Submitted, ZkAccount, ZkApiClient, ZkConfig, ZkService, ZkStatus, serve_rpc, serve_rpc_with, zk_client,
};
pub use stack::{ZkSpec, ZkStackError, ZkStackOptions, load_prover, start_zk_stack};
pub use store::{BlockRecord, StoreError, ZkStore};
