//! A plasma chain started on an L1, as `aqueduct devnet` runs it: the contract its spec file
//! names when it is still on this L1 (deployed otherwise), and the operator with its store and
//! JSON-RPC.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    time::Duration,
};

use alloy::{primitives::Address, providers::Provider, signers::local::PrivateKeySigner};
use aqueduct_eth::{L1Client, L1Error};
use serde::{Deserialize, Serialize};

use crate::{
    Operator, OperatorConfig, PlasmaError, PlasmaService,
    l1::{PlasmaParams, deploy_plasma},
    serve_operator,
};

/// The deployment, kept in `<dir>/plasma.json`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PlasmaSpec {
    pub l1_chain_id: u64,
    pub contract: Address,
    pub min_exit_period: u64,
}

/// Where and how the stack runs.
#[derive(Clone, Debug)]
pub struct PlasmaStackOptions {
    /// The spec (`plasma.json`) and the operator's store (`operator.redb`).
    pub dir: PathBuf,
    pub rpc_addr: SocketAddr,
    /// Seconds an exit waits at least (used when first deployed).
    pub exit_period: u64,
    pub block_interval: Duration,
}

/// Why the stack did not start.
#[derive(Debug, thiserror::Error)]
pub enum PlasmaStackError {
    #[error(transparent)]
    L1(#[from] L1Error),
    #[error(transparent)]
    Plasma(#[from] PlasmaError),
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path} does not parse: {source}")]
    Spec { path: PathBuf, source: serde_json::Error },
    #[error("{0} names a plasma contract this L1 does not have; start with --fresh")]
    Gone(PathBuf),
    #[error("serving the plasma operator's JSON-RPC on {addr}: {source}")]
    Serve { addr: SocketAddr, source: std::io::Error },
}

/// Starts the stack on the L1 at `l1_url`: `deployer` deploys the contract when needed,
/// `operator_key` runs the operator.
pub async fn start_plasma_stack(
    o: &PlasmaStackOptions,
    l1_url: &str,
    deployer: &PrivateKeySigner,
    operator_key: &PrivateKeySigner,
) -> Result<(PlasmaService, PlasmaSpec), PlasmaStackError> {
    let l1 = L1Client::new(l1_url)?;
    let chain_id = l1.chain_id().await?;
    let path = o.dir.join("plasma.json");
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| PlasmaStackError::Io { path, source }
    };
    let spec = match std::fs::read_to_string(&path) {
        Ok(t) => {
            let spec: PlasmaSpec =
                serde_json::from_str(&t).map_err(|source| PlasmaStackError::Spec { path: path.clone(), source })?;
            let code = l1.provider().get_code_at(spec.contract).await.map_err(L1Error::Rpc)?;
            if spec.l1_chain_id != chain_id || code.is_empty() {
                return Err(PlasmaStackError::Gone(path));
            }
            spec
        }
        Err(_) => {
            let params = PlasmaParams::devnet(operator_key.address(), o.exit_period);
            let contract = deploy_plasma(&l1, deployer, &params).await?;
            let spec = PlasmaSpec { l1_chain_id: chain_id, contract, min_exit_period: o.exit_period };
            std::fs::create_dir_all(&o.dir).map_err(io(&o.dir))?;
            std::fs::write(&path, serde_json::to_string_pretty(&spec).expect("plain data serializes"))
                .map_err(io(&path))?;
            spec
        }
    };
    let op = Operator::open(
        l1,
        operator_key.clone(),
        spec.contract,
        OperatorConfig::default(),
        &o.dir.join("operator.redb"),
    )
    .await?;
    let svc = serve_operator(op, o.rpc_addr, o.block_interval, Duration::from_millis(200))
        .await
        .map_err(|source| PlasmaStackError::Serve { addr: o.rpc_addr, source })?;
    Ok((svc, spec))
}
