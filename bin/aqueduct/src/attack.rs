//! `aqueduct attack …`: each family's trust assumption attacked for real.

use std::path::PathBuf;

use aqueduct_attack::{Corruption, FraudOptions, WorldOptions, run_fraud};
use clap::{Args, Subcommand};
use eyre::WrapErr;

#[derive(Subcommand)]
pub enum AttackCommand {
    /// Optimistic rollup fraud: malicious proposers post wrong output roots (seeded corruptions
    /// of the real L2 state, an invented withdrawal), malicious challengers dispute honest ones,
    /// silent players run out of clock; every game is played to its end on the embedded L1.
    Fraud(FraudArgs),
    /// Every family's trust assumption, once each, on its own embedded L1: optimistic (a wrong
    /// output root against one honest challenger; a censoring sequencer against L1's forced
    /// queue), ZK (a false state root; the operator stops: exodus), validium (the committee
    /// withholds: balances frozen), channels (a stale close answered by the online victim, by
    /// its watchtower, or by no one). Exits non-zero when an outcome is not what the design
    /// promises — including the losses validium and channels allow, which are reported.
    All(AllArgs),
    /// Plasma: the operator includes a theft (watchers exit, the thief's exit is challenged), the
    /// operator withholds a block with a payment in flight (in-flight exit and piggybacks), and a
    /// mass exit of --users users measured against L1 block space. Same matrix and JSON as
    /// `attack all`; exits non-zero when an honest user loses.
    Plasma(PlasmaAttackArgs),
    /// Collusion: 3 of 4 sidechain validators sign a checkpoint with a forged withdrawals root
    /// and drain the bridge (the attack succeeds: the sidechain's trust model); the same forged
    /// root against the optimistic rollup (the fault-proof game deletes it) and the ZK rollup
    /// (the verifier refuses it). One matrix, three rows; exits non-zero when an outcome is not
    /// what its design promises.
    Collusion(CollusionArgs),
    /// The fast bridge: a relayer "fills" a deposit with the wrong recipient and proposes a
    /// refund bundle repaying itself; a proposer redirects an honest relayer's repayment to
    /// itself. One watcher disputes both by proof (each loses its bond); the honest bundle
    /// repays the relayer and refunds the unfilled deposit on the rollup. Same matrix and JSON
    /// as `attack all`; exits non-zero when an honest party loses.
    Bridge(BridgeAttackArgs),
}

#[derive(Args, Debug)]
pub struct BridgeAttackArgs {
    /// Print the matrix (always printed unless --json alone is given).
    #[arg(long)]
    report: bool,
    /// Write the outcomes as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct CollusionArgs {
    /// Seed of the optimistic rollup's fraud scenario.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Print the matrix (always printed unless --json alone is given).
    #[arg(long)]
    report: bool,
    /// Write the outcomes as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct PlasmaAttackArgs {
    /// Users in the mass exit.
    #[arg(long, default_value_t = 1000)]
    users: usize,
    /// Print the matrix (always printed unless --json alone is given).
    #[arg(long)]
    report: bool,
    /// Write the outcomes (and the mass exit's figures) as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct AllArgs {
    /// Seed of the fraud scenario.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Families to attack (optimistic, zk, validium, channels, plasma, sidechain), comma-separated;
    /// default all.
    #[arg(long, value_delimiter = ',', value_parser = ["optimistic", "zk", "validium", "channels", "plasma", "sidechain"])]
    families: Vec<String>,
    /// Users in plasma's mass exit.
    #[arg(long, default_value_t = 1000)]
    mass_exit_users: usize,
    /// Print the matrix (always printed unless --json alone is given).
    #[arg(long)]
    report: bool,
    /// Write the outcomes as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct FraudArgs {
    /// Seeded runs of each scenario.
    #[arg(long, default_value_t = 3)]
    runs: u32,
    /// Seed of the scenario (which outputs lie, what they change).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Corruptions to play (balance-changed, storage-slot-flipped, withdrawal-invented,
    /// transaction-skipped, transaction-added); default all.
    #[arg(long, value_delimiter = ',')]
    kinds: Vec<Corruption>,
    /// Skip the malicious challengers against honest outputs.
    #[arg(long)]
    no_false_challenges: bool,
    /// Skip the players that go silent mid-game (their clock runs out; the L1 clock is moved).
    #[arg(long)]
    no_stalls: bool,
    /// Seconds between embedded L1 blocks (at least 1: L1 timestamps are whole seconds and
    /// strictly increase, so faster blocks run L1 time ahead of the L2's, the sequencer's L1
    /// origin falls behind, and its batches end up outside the sequencing window).
    #[arg(long, default_value_t = 1.0)]
    l1_block_time: f64,
    /// Each side's chess clock, seconds (mainnet settings: 302400, 3.5 days).
    #[arg(long, default_value_t = 302_400)]
    dispute_clock: u64,
    /// Seconds an output stands before withdrawals against it are paid (mainnet: 604800).
    #[arg(long, default_value_t = 604_800)]
    finalization_period: u64,
    /// Print the report table (always written as JSON with --json).
    #[arg(long)]
    report: bool,
    /// Write the report as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
}

pub async fn run(cmd: AttackCommand) -> eyre::Result<()> {
    match cmd {
        AttackCommand::Fraud(a) => fraud(a).await,
        AttackCommand::All(a) => {
            let o = aqueduct_attack::SuiteOptions {
                seed: a.seed,
                families: a.families,
                mass_exit_users: a.mass_exit_users,
            };
            suite(o, a.report, a.json).await
        }
        AttackCommand::Plasma(a) => {
            let o =
                aqueduct_attack::SuiteOptions { seed: 1, families: vec!["plasma".into()], mass_exit_users: a.users };
            suite(o, a.report, a.json).await
        }
        AttackCommand::Collusion(a) => {
            let report = aqueduct_attack::run_collusion(a.seed).await.wrap_err("the collusion attacks")?;
            show(report, a.report, a.json)
        }
        AttackCommand::Bridge(a) => {
            let (report, figures) = aqueduct_attack::run_bridge().await.wrap_err("the fast bridge attacks")?;
            let gas: Vec<String> = figures.watcher.disputes.iter().map(|d| d.2.to_string()).collect();
            eprintln!("filled {:.1} s after the deposit; dispute gas {}", figures.fill_seconds, gas.join(", "));
            show(report, a.report, a.json)
        }
    }
}

async fn suite(o: aqueduct_attack::SuiteOptions, print: bool, json: Option<PathBuf>) -> eyre::Result<()> {
    let report = aqueduct_attack::run_all(&o).await.wrap_err("the attack suite")?;
    show(report, print, json)
}

fn show(report: aqueduct_attack::SuiteReport, print: bool, json: Option<PathBuf>) -> eyre::Result<()> {
    if print || json.is_none() {
        println!("{}", report.table());
    }
    if let Some(path) = json {
        std::fs::write(&path, serde_json::to_string_pretty(&report)?)
            .wrap_err_with(|| format!("writing {}", path.display()))?;
        eprintln!("outcomes written to {}", path.display());
    }
    if !report.all_held {
        eyre::bail!("an outcome is not what its design promises: see the matrix");
    }
    Ok(())
}

async fn fraud(a: FraudArgs) -> eyre::Result<()> {
    let o = FraudOptions {
        runs: a.runs,
        seed: a.seed,
        kinds: if a.kinds.is_empty() { Corruption::ALL.to_vec() } else { a.kinds },
        false_challenges: !a.no_false_challenges,
        stalls: !a.no_stalls,
        restart: true,
        world: WorldOptions {
            l1_block_time: a.l1_block_time,
            dispute_clock: a.dispute_clock,
            finalization_period: a.finalization_period,
            ..Default::default()
        },
        progress: std::io::IsTerminal::is_terminal(&std::io::stderr()),
    };
    let report = run_fraud(o).await.wrap_err("the fraud attack suite")?;
    if a.report || a.json.is_none() {
        println!("{}", report.table());
    }
    if let Some(path) = a.json {
        std::fs::write(&path, serde_json::to_string_pretty(&report)?)
            .wrap_err_with(|| format!("writing {}", path.display()))?;
        eprintln!("report written to {}", path.display());
    }
    if !report.all_held {
        eyre::bail!("a check did not hold: see the report");
    }
    Ok(())
}
