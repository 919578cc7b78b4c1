//! A whole ZK rollup started on an L1, as `aqueduct devnet` runs it: its proving key (generated
//! once, cached), its contracts (those its spec file names when they are still on this L1,
//! deployed otherwise), and the operator with its store and JSON-RPC.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};

use alloy::{primitives::Address, providers::Provider, signers::local::PrivateKeySigner};
use aqueduct_eth::{L1Client, L1Error};
use aqueduct_zk_circuit::{CircuitParams, Prover, ProverError};
use aqueduct_zk_protocol::TreeShape;
use serde::{Deserialize, Serialize};
use tracing::info;

use crate::{DataAvailability, Operator, OperatorError, ZkDeployParams, ZkService, deploy_zk, serve_rpc};

/// The circuit and where a stack keeps its files.
#[derive(Clone, Debug)]
pub struct ZkStackOptions {
    /// Keys (`keys/`), the spec (`zk.json`) and the operator's store (`operator.redb`).
    pub dir: PathBuf,
    pub slots: usize,
    pub account_levels: usize,
    pub balance_levels: usize,
    /// Seconds an L1 request may wait unserved before exodus.
    pub priority_expiry: u64,
    /// The operator's JSON-RPC address.
    pub rpc_addr: SocketAddr,
}

/// A ZK rollup as deployed, kept in `<dir>/zk.json`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ZkSpec {
    pub l1_chain_id: u64,
    pub rollup: Address,
    pub verifier: Address,
    pub slots: usize,
    pub account_levels: usize,
    pub balance_levels: usize,
}

/// Why a ZK stack did not start.
#[derive(Debug, thiserror::Error)]
pub enum ZkStackError {
    #[error(transparent)]
    L1(#[from] L1Error),
    #[error(transparent)]
    Prover(#[from] ProverError),
    #[error("deploying the ZK rollup: {0}")]
    Deploy(#[from] crate::deploy::ZkDeployError),
    #[error("opening the ZK operator: {0}")]
    Operator(#[from] OperatorError),
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path} does not parse: {source}")]
    Spec { path: PathBuf, source: serde_json::Error },
    #[error("{0} names a ZK rollup this L1 does not have; start with --fresh")]
    Gone(PathBuf),
    #[error("{0} was deployed with another circuit; start with --fresh")]
    OtherCircuit(PathBuf),
    #[error("serving the ZK operator's JSON-RPC on {addr}: {source}")]
    Serve { addr: SocketAddr, source: std::io::Error },
}

/// The proving key for `params`, from `dir` or generated there (once; minutes at full size).
pub async fn load_prover(dir: PathBuf, params: CircuitParams) -> Result<Arc<Prover>, ProverError> {
    info!(target: "zk::keys", slots = params.slots, account_levels = params.shape.account_levels, dir = %dir.display(), "loading or generating the proving key");
    let p = tokio::task::spawn_blocking(move || Prover::load_or_setup(&dir, params))
        .await
        .map_err(|e| ProverError::Task(Box::new(e)))??;
    Ok(Arc::new(p))
}

/// Starts the stack on the L1 at `l1_url`: `deployer` deploys the contracts when needed,
/// `operator_key` runs the operator. Returns the running service and the deployment.
pub async fn start_zk_stack(
    o: &ZkStackOptions,
    l1_url: &str,
    deployer: &PrivateKeySigner,
    operator_key: &PrivateKeySigner,
) -> Result<(ZkService, ZkSpec), ZkStackError> {
    let l1 = L1Client::new(l1_url)?;
    let chain_id = l1.chain_id().await?;
    let shape = TreeShape { account_levels: o.account_levels, balance_levels: o.balance_levels };
    let params = CircuitParams::new(shape, o.slots, chain_id);
    let prover = load_prover(o.dir.join("keys"), params).await?;
    let spec_path = o.dir.join("zk.json");
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ZkStackError::Io { path, source }
    };
    let existing: Option<ZkSpec> = match std::fs::read_to_string(&spec_path) {
        Ok(t) => {
            Some(serde_json::from_str(&t).map_err(|source| ZkStackError::Spec { path: spec_path.clone(), source })?)
        }
        Err(_) => None,
    };
    let spec = match existing {
        Some(spec) => {
            let code = l1.provider().get_code_at(spec.rollup).await.map_err(L1Error::Rpc)?;
            if spec.l1_chain_id != chain_id || code.is_empty() {
                return Err(ZkStackError::Gone(spec_path));
            }
            if (spec.slots, spec.account_levels, spec.balance_levels) != (o.slots, o.account_levels, o.balance_levels) {
                return Err(ZkStackError::OtherCircuit(spec_path));
            }
            spec
        }
        None => {
            info!(target: "zk::stack", "deploying the ZK rollup contracts on L1");
            let dep = deploy_zk(
                &l1,
                deployer,
                prover.vk(),
                &ZkDeployParams {
                    circuit: params,
                    operator: operator_key.address(),
                    priority_expiry: o.priority_expiry,
                    committee: vec![],
                    threshold: 0,
                },
            )
            .await?;
            let spec = ZkSpec {
                l1_chain_id: chain_id,
                rollup: dep.rollup,
                verifier: dep.verifier,
                slots: o.slots,
                account_levels: o.account_levels,
                balance_levels: o.balance_levels,
            };
            std::fs::create_dir_all(&o.dir).map_err(io(&o.dir))?;
            let text = serde_json::to_string_pretty(&spec).expect("plain data serializes");
            std::fs::write(&spec_path, text).map_err(io(&spec_path))?;
            spec
        }
    };
    let op = Operator::open(
        l1,
        operator_key.clone(),
        spec.rollup,
        prover,
        DataAvailability::Rollup,
        &o.dir.join("operator.redb"),
    )
    .await?;
    let svc = serve_rpc(op, o.rpc_addr, Duration::from_millis(500))
        .await
        .map_err(|source| ZkStackError::Serve { addr: o.rpc_addr, source })?;
    Ok((svc, spec))
}
