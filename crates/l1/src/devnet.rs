//! A running devnet: chain, miner and JSON-RPC server.

use std::{net::SocketAddr, sync::Arc};

use alloy::signers::local::PrivateKeySigner;
use aqueduct_chain::{Chain, ChainError, Miner, rpc};
use jsonrpsee::server::ServerHandle;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::info;

use crate::{accounts::dev_signers, config::L1Config};

#[derive(Debug, thiserror::Error)]
pub enum DevnetError {
    #[error("invalid devnet config: {0}")]
    Config(String),
    #[error("dev accounts: {0}")]
    Accounts(#[from] alloy::signers::local::LocalSignerError),
    /// Opening the chain panicked (a bug).
    #[error("opening the chain: {0}")]
    Task(#[from] tokio::task::JoinError),
    #[error(transparent)]
    Chain(#[from] ChainError),
    #[error("cannot serve JSON-RPC on {addr}: {source}")]
    Rpc { addr: SocketAddr, source: std::io::Error },
    #[error("cannot clear {path}: {source}")]
    Fresh { path: String, source: std::io::Error },
}

/// The embedded L1, running.
pub struct Devnet {
    pub chain: Arc<Chain>,
    pub signers: Vec<PrivateKeySigner>,
    pub rpc_addr: SocketAddr,
    handle: ServerHandle,
    miner: JoinHandle<()>,
    cancel: CancellationToken,
}

impl Devnet {
    /// Opens (or creates) the chain in `config.data_dir` and serves it. With `fresh`, the data
    /// directory is cleared first.
    pub async fn start(config: L1Config, fresh: bool) -> Result<Self, DevnetError> {
        config.validate().map_err(DevnetError::Config)?;
        if fresh && config.data_dir.exists() {
            std::fs::remove_dir_all(&config.data_dir)
                .map_err(|source| DevnetError::Fresh { path: config.data_dir.display().to_string(), source })?;
        }
        let signers = dev_signers(config.accounts)?;
        let addrs: Vec<_> = signers.iter().map(|s| s.address()).collect();
        let chain_config = config.chain_config(config.genesis(&addrs));
        let chain = tokio::task::spawn_blocking(move || Chain::open(chain_config)).await??;
        let cancel = CancellationToken::new();
        let miner = Miner::spawn(chain.clone(), cancel.clone());
        let rpc_config = rpc::RpcConfig { addr: config.rpc_addr, ..Default::default() };
        let (rpc_addr, handle) = rpc::serve(chain.clone(), signers.clone(), rpc_config)
            .await
            .map_err(|source| DevnetError::Rpc { addr: config.rpc_addr, source })?;
        info!(target: "l1", %rpc_addr, chain_id = config.chain_id, head = chain.head().number(), "devnet up");
        Ok(Self { chain, signers, rpc_addr, handle, miner, cancel })
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.rpc_addr)
    }

    pub fn ws_url(&self) -> String {
        format!("ws://{}", self.rpc_addr)
    }

    /// Stops serving and mining; everything mined is already on disk.
    pub async fn stop(self) {
        self.cancel.cancel();
        let _ = self.handle.stop();
        self.handle.stopped().await;
        let _ = self.miner.await;
    }
}
