//! `aqueduct`: run, measure and attack Layer-2 designs on one settlement layer.

mod bench;
mod devnet;

use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

#[derive(Parser)]
#[command(
    name = "aqueduct",
    version,
    about = "Every Layer-2 design on one settlement layer, measured and attacked side by side"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the embedded L1 devnet (Ethereum JSON-RPC on 127.0.0.1:8545).
    Devnet(devnet::DevnetArgs),
    /// Benchmarks: the same workload on Aqueduct and, where comparable, on anvil.
    #[command(subcommand)]
    Bench(bench::BenchCommand),
}

fn main() -> eyre::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_env("AQUEDUCT_LOG").unwrap_or_else(|_| EnvFilter::new("info")))
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(async {
        match cli.command {
            Command::Devnet(args) => devnet::run(args).await,
            Command::Bench(cmd) => bench::run(cmd).await,
        }
    })
}
