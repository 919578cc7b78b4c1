//! A whole sidechain in this process — the bridge deployed, every validator started on its own
//! consensus thread, talking over real TCP on localhost — for the attack suite, the benches and
//! tests that need one without the binary.

use std::{net::SocketAddr, time::Duration};

use alloy::signers::local::PrivateKeySigner;
use aqueduct_eth::L1Client;

use crate::{Layout, NodeError, SidechainSpec, Validator, ValidatorOptions, deploy_sidechain, start_validator};

/// A running sidechain and where it keeps its data.
pub struct LocalSidechain {
    pub spec: SidechainSpec,
    pub validators: Vec<Validator>,
    pub secrets: Vec<alloy::primitives::B256>,
    _dir: tempfile::TempDir,
}

impl LocalSidechain {
    pub fn url(&self, i: usize) -> String {
        format!("http://{}", self.validators[i].rpc_addr)
    }

    pub async fn stop(self) {
        for v in self.validators {
            v.stop().await;
        }
    }
}

fn free_addr() -> Result<SocketAddr, NodeError> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?)
}

/// Deploys a sidechain of `n` dev validators on the L1 at `l1_url` and starts them here.
pub async fn start_local_sidechain(
    l1_url: &str,
    deployer: &PrivateKeySigner,
    n: usize,
    checkpoint_interval: u64,
    block_time_ms: u64,
) -> Result<LocalSidechain, NodeError> {
    let l1 = L1Client::new(l1_url).map_err(|e| NodeError::L1(e.to_string()))?;
    let mut layout = Layout::dev(n, 0, 0);
    layout.checkpoint_interval = checkpoint_interval;
    layout.block_time_ms = block_time_ms;
    layout.l1_confirmations = 0;
    let mut spec = deploy_sidechain(&l1, deployer, &layout).await?;
    for v in &mut spec.validators {
        v.p2p = free_addr()?;
        v.rpc = format!("http://{}", free_addr()?);
    }
    let dir = tempfile::tempdir()?;
    let mut validators = Vec::new();
    for (i, secret) in layout.secrets.iter().enumerate() {
        let rpc_addr: SocketAddr = spec.validators[i].rpc.trim_start_matches("http://").parse().expect("an address");
        validators.push(
            start_validator(ValidatorOptions {
                spec: spec.clone(),
                secret: *secret,
                data_dir: dir.path().join(format!("validator-{i}")),
                rpc_addr,
                l1_rpc: l1_url.to_string(),
                submit_checkpoints: true,
                p2p_addr: None,
            })
            .await?,
        );
    }
    // Blocks finalize before anyone uses the chain.
    let end = std::time::Instant::now() + Duration::from_secs(60);
    while validators.iter().any(|v| v.shared.progress().height < 2) {
        if std::time::Instant::now() > end {
            return Err(NodeError::Config("the local sidechain finalized no block in 60 s".into()));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(LocalSidechain { spec, validators, secrets: layout.secrets, _dir: dir })
}
