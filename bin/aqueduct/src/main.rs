//! `aqueduct`: run, measure and attack Layer-2 designs on one settlement layer.

mod attack;
mod bench;
mod bench_bridge;
mod bench_channel;
mod bench_interop;
mod bench_plasma;
mod bench_sidechain;
mod bench_zk;
mod bridge;
mod channel;
mod compare;
mod devnet;
mod devnet_rollup;
mod fastbridge;
mod interop;
mod l3;
mod node;
mod plasma;
mod progress;
mod route;
mod sidechain;
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
    /// On an error, print its causes one per line, where it arose and a backtrace (also when
    /// RUST_BACKTRACE or AQUEDUCT_LOG is set); otherwise it is one line.
    #[arg(short, long, global = true)]
    verbose: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the devnet: the embedded L1 (JSON-RPC on 127.0.0.1:8545) and the optimistic rollup
    /// (sequencer on 127.0.0.1:9545, verifier on 127.0.0.1:9547), the ZK rollup (127.0.0.1:9546),
    /// contracts deployed, and the live dashboard (http://127.0.0.1:8080).
    Devnet(Box<devnet::DevnetArgs>),
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
    /// Plasma (MoreVP): the operator, a user's watcher, deposits, payments, exits, challenges,
    /// processing, status; the contract's deployment.
    Plasma(Box<plasma::PlasmaArgs>),
    /// A sidechain with its own BFT validators (commonware simplex): a validator process, the
    /// bridge's deployment, deposits (lock, mint), withdrawals (burn, checkpoint, pay), status.
    Sidechain(Box<sidechain::SidechainArgs>),
    /// The fast bridge (after Across): rollup -> L1 in seconds through a relayer, who is repaid
    /// after the challenge window; its relayer process, deposits, quotes, status, deployment.
    Fastbridge(Box<fastbridge::FastBridgeArgs>),
    /// Every route between two chains (canonical bridges, the fast bridge), priced now, with the
    /// time to funds and whom each trusts; --execute follows the preferred one to the end.
    Route(Box<route::RouteArgs>),
    /// Messages between the devnet's two rollups (901 and 902 on one L1, `devnet --interop`):
    /// send a call on one, relay it on the other once its source is safe there.
    Interop(Box<interop::InteropArgs>),
    /// Benchmarks: the same workload on Aqueduct and, where comparable, on anvil.
    #[command(subcommand)]
    Bench(bench::BenchCommand),
    /// Attacks: each family's trust assumption attacked for real, outcomes and costs reported.
    #[command(subcommand)]
    Attack(attack::AttackCommand),
    /// One seeded workload on every family (L1, optimistic rollup in calldata and blobs, ZK
    /// rollup, validium, payment channels): throughput, latency to funds, L1 bytes, gas and
    /// blob gas per transfer, cost at L1 prices, whom each trusts; a table, JSON and an HTML
    /// report.
    Compare(compare::CompareArgs),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let set = |v: &str| std::env::var_os(v).is_some_and(|x| !x.is_empty() && x != "0");
    let verbose = cli.verbose || set("RUST_BACKTRACE") || set("AQUEDUCT_LOG");
    match run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) if verbose => {
            eprintln!("Error: {e:?}");
            std::process::ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("Error: {}", one_line(&e));
            std::process::ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> eyre::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(quiet_circuits(
            EnvFilter::try_from_env("AQUEDUCT_LOG").unwrap_or_else(|_| EnvFilter::new("info")),
        ))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(async {
        match cli.command {
            Command::Devnet(args) => devnet::run(*args).await,
            Command::Node(args) => node::run(*args).await,
            Command::Bridge(args) => bridge::run(args).await,
            Command::Zk(args) => zk::run(args).await,
            Command::Channel(args) => channel::run(args).await,
            Command::Plasma(args) => plasma::run(*args).await,
            Command::Sidechain(args) => sidechain::run(*args).await,
            Command::Fastbridge(args) => fastbridge::run(*args).await,
            Command::Route(args) => route::run(*args).await,
            Command::Interop(args) => interop::run(*args).await,
            Command::Bench(cmd) => bench::run(cmd).await,
            Command::Attack(cmd) => attack::run(cmd).await,
            Command::Compare(args) => compare::run(args).await,
        }
    })
}

/// A user's mistake or an unreachable service in one line: what went wrong, then each cause
/// after a colon, leaving out a cause whose text the line already holds (errors that print
/// their source in their own message).
fn one_line(e: &eyre::Report) -> String {
    let mut line = e.to_string();
    for cause in e.chain().skip(1).map(|c| c.to_string()) {
        if !line.contains(&cause) {
            line = format!("{line}: {cause}");
        }
    }
    line
}

/// An amount of ether (or of 18-decimal token units) a user moves: every family refuses zero the
/// same way, since it moves nothing and costs a fee.
pub fn ether_amount(s: &str) -> eyre::Result<alloy::primitives::U256> {
    let v =
        alloy::primitives::utils::parse_ether(s).map_err(|e| eyre::eyre!("{s:?} is not an amount of ether: {e}"))?;
    if v.is_zero() {
        eyre::bail!("amount must be above zero");
    }
    Ok(v)
}

/// Wei as ether, without trailing zeros ("1.5", "10").
pub fn format_ether(v: alloy::primitives::U256) -> String {
    let s = alloy::primitives::utils::format_ether(v);
    if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.').to_string() } else { s }
}

/// `--amount` as given, once [`ether_amount`] accepts it (so a bad amount is refused before
/// anything is read or sent).
pub fn ether_arg(s: &str) -> Result<String, String> {
    ether_amount(s).map(|_| s.to_string()).map_err(|e| e.to_string())
}

/// An L1 private key from a flag or its environment variable; when it is not one, says what one
/// looks like (without echoing what may be a secret).
pub fn l1_key(s: &str) -> Result<alloy::signers::local::PrivateKeySigner, String> {
    let digits = s.trim().trim_start_matches("0x");
    let bytes: alloy::primitives::B256 = digits.parse().map_err(|_| {
        format!("a key is 32 bytes of hex (64 hex digits, 0x optional); this has {} characters", digits.len())
    })?;
    alloy::signers::local::PrivateKeySigner::from_bytes(&bytes)
        .map_err(|_| "not a valid secp256k1 key: 32 bytes of hex, not zero and below the curve order".to_string())
}

/// arkworks instruments constraint synthesis with spans whose fields print the whole constraint
/// system: formatting them makes proving hang for minutes. They are off whatever the filter says.
fn quiet_circuits(filter: EnvFilter) -> EnvFilter {
    ["gr1cs=off", "r1cs=off"].into_iter().fold(filter, |f, d| f.add_directive(d.parse().expect("a valid directive")))
}
