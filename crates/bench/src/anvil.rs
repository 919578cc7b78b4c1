//! Starts anvil (installed by scripts/tools.sh) for side-by-side runs.

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use serde_json::json;

use crate::client::RpcClient;

#[derive(Debug, thiserror::Error)]
pub enum AnvilError {
    #[error("anvil not found: run scripts/tools.sh, or set AQUEDUCT_ANVIL to its path")]
    NotFound,
    #[error("cannot start anvil at {path}: {source}")]
    Spawn { path: String, source: std::io::Error },
    #[error("anvil did not answer on port {0} within 20 s")]
    NotReady(u16),
}

/// A running anvil, killed on drop.
pub struct Anvil {
    child: Child,
    pub url: String,
}

/// Where anvil is: $AQUEDUCT_ANVIL, or .tools/bin/anvil in this directory or a parent.
pub fn find_tool(name: &str) -> Option<PathBuf> {
    if let Ok(p) = std::env::var(format!("AQUEDUCT_{}", name.to_uppercase())) {
        return Some(PathBuf::from(p));
    }
    let mut roots: Vec<PathBuf> = Vec::new();
    if let Ok(cwd) = std::env::current_dir() {
        roots.push(cwd);
    }
    if let Ok(exe) = std::env::current_exe() {
        roots.push(exe);
    }
    roots.push(PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    for root in roots {
        for dir in root.ancestors() {
            let p = dir.join(".tools/bin").join(name);
            if p.exists() {
                return Some(p);
            }
        }
    }
    None
}

impl Anvil {
    /// Starts anvil in automine mode on `port` with the standard accounts and the given settings.
    pub async fn spawn(port: u16, chain_id: u64, gas_limit: u64, block_time: Option<u64>) -> Result<Self, AnvilError> {
        let path = find_tool("anvil").ok_or(AnvilError::NotFound)?;
        Self::spawn_at(&path, port, chain_id, gas_limit, block_time).await
    }

    pub async fn spawn_at(
        path: &Path,
        port: u16,
        chain_id: u64,
        gas_limit: u64,
        block_time: Option<u64>,
    ) -> Result<Self, AnvilError> {
        let mut cmd = Command::new(path);
        cmd.args([
            "--port",
            &port.to_string(),
            "--chain-id",
            &chain_id.to_string(),
            "--gas-limit",
            &gas_limit.to_string(),
        ])
        .args(["--accounts", "10", "--balance", "10000", "--silent"])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
        if let Some(bt) = block_time {
            cmd.args(["--block-time", &bt.to_string()]);
        }
        let child = cmd.spawn().map_err(|source| AnvilError::Spawn { path: path.display().to_string(), source })?;
        let anvil = Self { child, url: format!("http://127.0.0.1:{port}") };
        let client = RpcClient::new(&anvil.url);
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(20) {
            if client.call("eth_chainId", json!([])).await.is_ok() {
                return Ok(anvil);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Err(AnvilError::NotReady(port))
    }
}

impl Drop for Anvil {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
