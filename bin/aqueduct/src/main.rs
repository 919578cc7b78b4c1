//! `aqueduct`: run, measure and attack Layer-2 designs on one settlement layer.

mod attack;
mod bench;
mod bench_channel;
mod bench_zk;
mod bridge;
mod channel;
mod devnet;
mod node;
mod zk;

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
    /// Run the devnet: the embedded L1 (JSON-RPC on 127.0.0.1:8545) and the optimistic rollup
    /// (sequencer on 127.0.0.1:9545, verifier on 127.0.0.1:9547), contracts deployed.
    Devnet(devnet::DevnetArgs),
    /// Run one rollup service (sequencer, verifier or challenger) as its own process against an
    /// L1 URL.
    Node(Box<node::NodeArgs>),
    /// Move ETH and ERC-20s between L1 and the rollup.
    Bridge(bridge::BridgeArgs),
    /// The ZK rollup: L2 keys, deposits, transfers, withdrawals, status, exodus exits; its
    /// operator and validium committee members as processes.
    Zk(zk::ZkArgs),
    /// Payment channels: a party's node, deposits, payments (direct or multi-hop), closes,
    /// status; the watchtower; the adjudicator's deployment.
    Channel(channel::ChannelArgs),
    /// Benchmarks: the same workload on Aqueduct and, where comparable, on anvil.
    #[command(subcommand)]
    Bench(bench::BenchCommand),
    /// Attacks: each family's trust assumption attacked for real, outcomes and costs reported.
    #[command(subcommand)]
    Attack(attack::AttackCommand),
}

fn main() -> eyre::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(quiet_circuits(
            EnvFilter::try_from_env("AQUEDUCT_LOG").unwrap_or_else(|_| EnvFilter::new("info")),
        ))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let cli = Cli::parse();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(async {
        match cli.command {
            Command::Devnet(args) => devnet::run(args).await,
            Command::Node(args) => node::run(*args).await,
            Command::Bridge(args) => bridge::run(args).await,
            Command::Zk(args) => zk::run(args).await,
            Command::Channel(args) => channel::run(args).await,
            Command::Bench(cmd) => bench::run(cmd).await,
            Command::Attack(cmd) => attack::run(cmd).await,
        }
    })
}

/// arkworks instruments constraint synthesis with spans whose fields print the whole constraint
/// system: formatting them makes proving hang for minutes. They are off whatever the filter says.
fn quiet_circuits(filter: EnvFilter) -> EnvFilter {
    ["gr1cs=off", "r1cs=off"].into_iter().fold(filter, |f, d| f.add_directive(d.parse().expect("a valid directive")))
}
