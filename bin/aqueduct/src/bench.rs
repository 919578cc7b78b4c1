//! `aqueduct bench …`.

use std::{path::PathBuf, time::Duration};

use aqueduct_bench::{Anvil, BenchReport, RunOptions, TxKindMix, WorkloadSpec, bench_state_root, print_table};
use aqueduct_l1::{Devnet, L1Config, dev_signers};
use clap::{Args, Subcommand, ValueEnum};
use eyre::WrapErr;

#[derive(Subcommand)]
pub enum BenchCommand {
    /// The seeded transfer workload on the embedded L1 (and on anvil with --vs anvil).
    L1(L1Bench),
    /// State-root update time for one block of transfers over a large state.
    StateRoot(StateRootBench),
    /// The optimistic rollup: L2 transfers/s through the sequencer's JSON-RPC (against anvil
    /// too), soft-confirmation latency, L1 bytes, gas and blob gas per transfer in calldata and
    /// blob mode, fees against L1, compressors on the real batches, verifier replay speed.
    Rollup(RollupBench),
    /// The ZK rollup and the validium at full size: constraints and proving CPU per transfer,
    /// proof size, L1 gas to verify a block and per transfer in both modes, pubdata per
    /// transfer, and a withdrawal's time from submission to payment.
    Zk(crate::bench_zk::ZkBench),
    /// Payment channels: payments/s between two nodes on loopback TCP (one at a time and
    /// pipelined), p50/p99 latency, L1 gas to open, close cooperatively and dispute, L1
    /// transactions per 10,000 payments.
    Channel(crate::bench_channel::ChannelBench),
    /// Plasma: payments/s through the operator's JSON-RPC under a sustained load, L1 gas per
    /// root and per payment, the gas to start, challenge and process an exit, and mass exits
    /// measured against L1 block space.
    Plasma(crate::bench_plasma::PlasmaBench),
    /// Sidechain: transfers/s through the validators' JSON-RPC under a sustained load (and
    /// anvil's under the same load), send-to-final latency, a checkpoint's L1 gas at 4, 10 and
    /// 30 validators, deposit and withdrawal times.
    Sidechain(crate::bench_sidechain::SidechainBench),
    /// Bridges: rollup -> L1 through the fast bridge's relayer and through the canonical bridge,
    /// in real time: time to funds and fee per route and amount, the relayer's repayment, the
    /// L1 gas of a fill, a refund bundle, an execution and the delivery, and the fee model at
    /// mainnet settings beside Across's and Hop's figures.
    Bridge(crate::bench_bridge::BridgeBench),
    /// Messages between two rollups on one L1 (901 -> 902): latency, L2 gas and fees of one
    /// message, and messages relayed per second sustained.
    Interop(crate::bench_interop::InteropBench),
}

#[derive(Args, Debug)]
pub struct RollupBench {
    /// Transfers per workload (one of ETH transfers, one of ERC-20 transfers).
    #[arg(long, default_value_t = 5_000)]
    txs: usize,
    /// Accounts in the state (senders and recipients).
    #[arg(long, default_value_t = 100)]
    accounts: usize,
    /// Seed of the workload (keys, recipients, amounts).
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// L2 block time in milliseconds.
    #[arg(long, default_value_t = 100)]
    l2_block_time_ms: u64,
    /// L2 block gas limit (the sequencer's blocks hold this much).
    #[arg(long, default_value_t = 200_000_000)]
    l2_gas_limit: u64,
    /// Seconds between embedded L1 blocks.
    #[arg(long, default_value_t = 2.0)]
    l1_block_time: f64,
    /// Requests in flight (one sender each).
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Data modes to measure, each on a fresh L1 and rollup.
    #[arg(long, value_delimiter = ',', value_parser = crate::devnet::parse_mode, default_value = "calldata,blobs")]
    modes: Vec<aqueduct_rollup_node::DataMode>,
    /// Batch compressor: brotli:<level>, zstd:<level> or none.
    #[arg(long, value_parser = crate::devnet::parse_compressor, default_value = "brotli:5")]
    compressor: aqueduct_rollup_protocol::Compressor,
    /// Skip the anvil comparison.
    #[arg(long)]
    no_anvil: bool,
    /// Also write the report as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum, Debug)]
pub enum Target {
    Aqueduct,
    Anvil,
}

#[derive(Args, Debug)]
pub struct L1Bench {
    /// Transactions in the measured phase.
    #[arg(long, default_value_t = 5_000)]
    txs: usize,
    /// Sending accounts (each sends its transactions in nonce order).
    #[arg(long, default_value_t = 100)]
    accounts: usize,
    /// Share of ERC-20 transfers (the rest are ETH transfers).
    #[arg(long, default_value_t = 0.5)]
    erc20_share: f64,
    /// Seed of the workload (keys, recipients, amounts).
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Seconds between blocks on the embedded L1 (12 = mainnet-like; 0 = instant mining).
    #[arg(long, default_value_t = 12.0)]
    block_time: f64,
    /// Block gas limit of the benchmarked chains.
    #[arg(long, default_value_t = 30_000_000)]
    gas_limit: u64,
    /// Run against this target only.
    #[arg(long, value_enum, default_value_t = Target::Aqueduct)]
    target: Target,
    /// Also run the same workload against this target, after the first, and print the ratio.
    #[arg(long, value_enum)]
    vs: Option<Target>,
    /// An external JSON-RPC endpoint to benchmark instead of starting one (its account 0 must be
    /// the first dev account).
    #[arg(long)]
    url: Option<String>,
    /// Requests in flight (one sender each).
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Write the reports as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct StateRootBench {
    /// Accounts in the state (senders and recipients).
    #[arg(long, default_value_t = 1_000_000)]
    accounts: usize,
    /// Transfers in the block whose root is timed.
    #[arg(long, default_value_t = 10_000)]
    transfers: usize,
    /// Seed of the workload (keys, recipients, amounts).
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Also write the report as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
}

pub async fn run(cmd: BenchCommand) -> eyre::Result<()> {
    match cmd {
        BenchCommand::L1(b) => l1(b).await,
        BenchCommand::Zk(b) => crate::bench_zk::run(b).await,
        BenchCommand::Channel(b) => crate::bench_channel::run(b).await,
        BenchCommand::Plasma(b) => crate::bench_plasma::run(b).await,
        BenchCommand::Sidechain(b) => crate::bench_sidechain::run(b).await,
        BenchCommand::Bridge(b) => crate::bench_bridge::run(b).await,
        BenchCommand::Interop(b) => crate::bench_interop::run(b).await,
        BenchCommand::Rollup(b) => {
            let opts = aqueduct_bench::RollupBenchOptions {
                txs: b.txs,
                accounts: b.accounts,
                seed: b.seed,
                l2_block_time_ms: b.l2_block_time_ms,
                l2_gas_limit: b.l2_gas_limit,
                l1_block_time: b.l1_block_time,
                concurrency: b.concurrency,
                modes: b.modes.clone(),
                compressor: b.compressor,
                vs_anvil: !b.no_anvil,
                progress: true,
            };
            let r = aqueduct_bench::bench_rollup(opts).await.wrap_err("rollup benchmark")?;
            aqueduct_bench::print_rollup(&r);
            println!("{}", serde_json::to_string(&r)?);
            if let Some(p) = b.json {
                std::fs::write(&p, serde_json::to_vec_pretty(&r)?)
                    .wrap_err_with(|| format!("writing {}", p.display()))?;
            }
            Ok(())
        }
        BenchCommand::StateRoot(b) => {
            eprintln!("building {} accounts, then one block of {} transfers…", b.accounts, b.transfers);
            let r = tokio::task::spawn_blocking(move || bench_state_root(b.accounts, b.transfers, b.seed)).await?;
            println!("{:<44} {:>12}", "accounts in state", r.accounts);
            println!("{:<44} {:>12.1}", "initial trie build, ms", r.initial_build_ms);
            println!("{:<44} {:>12}", "transfers in the block", r.transfers);
            println!("{:<44} {:>12}", "accounts changed by the block", r.changed_accounts);
            println!("{:<44} {:>12.1}", "incremental state-root update, ms", r.update_ms);
            println!("{:<44} {:>12.1}", "from-scratch root of the same state, ms", r.full_rebuild_ms);
            println!("{}", serde_json::to_string(&r)?);
            if let Some(p) = b.json {
                std::fs::write(&p, serde_json::to_vec_pretty(&r)?)?;
            }
            Ok(())
        }
    }
}

fn free_port() -> eyre::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

async fn one(b: &L1Bench, target: Target) -> eyre::Result<BenchReport> {
    let funder = dev_signers(1).map_err(|e| eyre::eyre!("{e}"))?.remove(0);
    let instant = b.block_time == 0.0;
    let mode = if b.url.is_some() {
        "external".to_string()
    } else if instant {
        "instant".to_string()
    } else {
        format!("{} s blocks", b.block_time)
    };
    let spec = WorkloadSpec {
        seed: b.seed,
        accounts: b.accounts,
        txs: b.txs,
        mix: TxKindMix { erc20_share: b.erc20_share },
        chain_id: 0,
        max_fee_per_gas: 200_000_000_000,
        max_priority_fee_per_gas: 1_000_000_000,
    };
    let stall = Duration::from_secs_f64(60.0 + 3.0 * b.block_time);
    let opts = |target: &str, url: String| RunOptions {
        target: target.to_string(),
        mode: mode.clone(),
        url,
        spec: spec.clone(),
        funder: funder.clone(),
        concurrency: b.concurrency,
        progress: true,
        stall_timeout: stall,
        plan: None,
    };
    if let Some(url) = &b.url {
        return Ok(aqueduct_bench::run(opts("external", url.clone())).await?);
    }
    match target {
        Target::Aqueduct => {
            let dir = tempfile::tempdir()?;
            let config = L1Config {
                block_time: b.block_time,
                gas_limit: b.gas_limit,
                data_dir: dir.path().join("l1"),
                rpc_addr: ([127, 0, 0, 1], free_port()?).into(),
                ..Default::default()
            };
            let devnet = Devnet::start(config, true).await.wrap_err("starting the devnet")?;
            let r = aqueduct_bench::run(opts("aqueduct", devnet.url())).await;
            devnet.stop().await;
            Ok(r?)
        }
        Target::Anvil => {
            let block_time = (!instant).then(|| b.block_time.round() as u64);
            let anvil = Anvil::spawn(free_port()?, 31337, b.gas_limit, block_time).await?;
            Ok(aqueduct_bench::run(opts("anvil", anvil.url.clone())).await?)
        }
    }
}

async fn l1(b: L1Bench) -> eyre::Result<()> {
    let label =
        |t: Target| if b.url.is_some() { "the external endpoint".to_string() } else { format!("{t:?}").to_lowercase() };
    let mut reports = vec![one(&b, b.target).await.wrap_err_with(|| format!("benchmark against {}", label(b.target)))?];
    if let Some(vs) = b.vs {
        reports.push(one(&b, vs).await.wrap_err_with(|| format!("benchmark against {}", label(vs)))?);
    }
    print_table(&reports);
    println!("{}", serde_json::to_string(&reports)?);
    if let Some(p) = &b.json {
        std::fs::write(p, serde_json::to_vec_pretty(&reports)?).wrap_err_with(|| format!("writing {}", p.display()))?;
    }
    Ok(())
}
