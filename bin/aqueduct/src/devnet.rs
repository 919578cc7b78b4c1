//! `aqueduct devnet`.

use std::{net::SocketAddr, path::PathBuf};

use aqueduct_l1::{DEV_MNEMONIC, Devnet, L1Config};
use clap::Args;
use eyre::WrapErr;

#[derive(Args, Debug)]
pub struct DevnetArgs {
    /// TOML file with an `[l1]` table (keys as in L1Config: chain_id, block_time, gas_limit, …).
    #[arg(long, env = "AQUEDUCT_CONFIG")]
    config: Option<PathBuf>,
    /// JSON-RPC listen address (HTTP and WebSocket).
    #[arg(long, env = "AQUEDUCT_L1_ADDR")]
    addr: Option<SocketAddr>,
    /// JSON-RPC port on 127.0.0.1 (shortcut for --addr).
    #[arg(long, short, env = "AQUEDUCT_L1_PORT")]
    port: Option<u16>,
    /// Seconds between blocks; 0 mines as soon as transactions arrive.
    #[arg(long, env = "AQUEDUCT_L1_BLOCK_TIME")]
    block_time: Option<f64>,
    #[arg(long, env = "AQUEDUCT_L1_GAS_LIMIT")]
    gas_limit: Option<u64>,
    #[arg(long, env = "AQUEDUCT_L1_CHAIN_ID")]
    chain_id: Option<u64>,
    /// Where the chain is stored; a restart resumes from it.
    #[arg(long, env = "AQUEDUCT_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Delete the data directory and start from genesis.
    #[arg(long)]
    fresh: bool,
}

#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    #[serde(default)]
    l1: L1Config,
}

/// The devnet's settings: defaults, then the TOML file, then flags and env vars.
pub fn resolve(args: &DevnetArgs) -> eyre::Result<L1Config> {
    let mut c = match &args.config {
        Some(p) => {
            let text = std::fs::read_to_string(p).wrap_err_with(|| format!("reading {}", p.display()))?;
            toml::from_str::<FileConfig>(&text).wrap_err_with(|| format!("parsing {}", p.display()))?.l1
        }
        None => L1Config::default(),
    };
    if let Some(a) = args.addr {
        c.rpc_addr = a;
    }
    if let Some(p) = args.port {
        c.rpc_addr.set_port(p);
    }
    if let Some(b) = args.block_time {
        c.block_time = b;
    }
    if let Some(g) = args.gas_limit {
        c.gas_limit = g;
    }
    if let Some(id) = args.chain_id {
        c.chain_id = id;
    }
    if let Some(d) = &args.data_dir {
        c.data_dir = d.clone();
    }
    c.validate().map_err(|e| eyre::eyre!(e))?;
    Ok(c)
}

pub async fn run(args: DevnetArgs) -> eyre::Result<()> {
    let config = resolve(&args)?;
    let devnet = Devnet::start(config.clone(), args.fresh).await.wrap_err("starting the devnet")?;
    let head = devnet.chain.head();
    println!("Aqueduct L1 devnet");
    println!("  JSON-RPC   {}  (WebSocket {})", devnet.url(), devnet.ws_url());
    println!("  chain id   {}", config.chain_id);
    println!(
        "  blocks     {}",
        if config.block_time == 0.0 {
            "mined on each transaction".to_string()
        } else {
            format!("every {} s", config.block_time)
        }
    );
    println!("  data dir   {} (head block {})", config.data_dir.display(), head.number());
    println!("  mnemonic   {DEV_MNEMONIC}");
    println!("\nDev accounts ({} ETH each at genesis):", config.balance_ether);
    for (i, s) in devnet.signers.iter().enumerate() {
        println!("  ({i}) {}  key 0x{}", s.address(), alloy::primitives::hex::encode(s.to_bytes()));
    }
    println!("\nPress Ctrl-C to stop.");
    tokio::signal::ctrl_c().await.wrap_err("waiting for Ctrl-C")?;
    eprintln!("stopping…");
    devnet.stop().await;
    Ok(())
}
