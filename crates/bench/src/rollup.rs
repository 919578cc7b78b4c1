//! `aqueduct bench rollup`: the seeded transfer workload through the optimistic rollup's
//! sequencer JSON-RPC, what its batches cost on L1 in calldata and in blob mode, the fee a user
//! pays against an L1 transfer, compressors on the real batches, and verifier replay speed.

use std::{
    net::SocketAddr,
    sync::Arc,
    time::{Duration, Instant},
};

use alloy::primitives::{Address, B256, U256};
use aqueduct_chain::{BlockRef, Chain};
use aqueduct_l1::{Devnet, L1Config};
use aqueduct_rollup_node::{
    BatcherConfig, DataMode, DeployParams, L1Client, PostStats, Rollup, RollupOptions, SequencerConfig, SequencerRole,
    deploy,
};
use aqueduct_rollup_protocol::{Batch, Compressor, RollupConfig};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::{BenchError, BenchReport, RunOptions, TxKindMix, WorkloadSpec, anvil::Anvil, client::RpcClient};

const ETH: u128 = 1_000_000_000_000_000_000;

#[derive(Clone, Debug)]
pub struct RollupBenchOptions {
    /// Transfers per workload (one ETH workload, one ERC-20 workload).
    pub txs: usize,
    pub accounts: usize,
    pub seed: u64,
    pub l2_block_time_ms: u64,
    pub l2_gas_limit: u64,
    /// Seconds between embedded L1 blocks.
    pub l1_block_time: f64,
    pub concurrency: usize,
    /// Data modes to run (each on a fresh L1 and rollup).
    pub modes: Vec<DataMode>,
    pub compressor: Compressor,
    /// Also run both workloads on anvil (1 s blocks).
    pub vs_anvil: bool,
    pub progress: bool,
}

/// What one workload's posts cost on L1.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct L1Cost {
    pub posts: usize,
    pub l1_transactions: usize,
    /// L2 transactions in the posted blocks (transfers, plus the workload's setup).
    pub l2_transactions: u64,
    pub uncompressed_bytes: u64,
    pub l1_bytes: u64,
    pub l1_gas: u64,
    pub blob_gas: u64,
    /// Wei paid on L1 for the posts (gas and blob gas at their effective prices).
    pub l1_wei: u128,
    pub bytes_per_tx: f64,
    pub l1_gas_per_tx: f64,
    pub blob_gas_per_tx: f64,
    pub compression_ratio: f64,
}

/// Fees on L2 against the same transaction on L1 at the L1 prices the L2 block used.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct FeeComparison {
    pub sampled: usize,
    /// Mean L2 fee: execution (gas × price) plus the L1 data fee charged.
    pub l2_fee_wei: f64,
    /// Mean of the same gas at the L1 base fee.
    pub l1_fee_wei: f64,
    /// L2 fee ÷ L1 fee.
    pub ratio: f64,
    /// What the batcher actually paid on L1 per transaction, in wei.
    pub l1_data_cost_wei: f64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct WorkloadResult {
    pub kind: String,
    pub run: BenchReport,
    pub l1: L1Cost,
    pub fees: FeeComparison,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ModeReport {
    pub mode: String,
    pub workloads: Vec<WorkloadResult>,
    pub replay: ReplayReport,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ReplayReport {
    pub l2_blocks: u64,
    pub transactions: u64,
    pub secs: f64,
    pub tx_per_sec: f64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CompressorRow {
    pub name: String,
    pub raw_bytes: usize,
    pub compressed_bytes: usize,
    /// Compressed ÷ raw.
    pub ratio: f64,
    pub compress_mb_s: f64,
    pub decompress_mb_s: f64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RollupBenchReport {
    pub modes: Vec<ModeReport>,
    pub anvil: Vec<BenchReport>,
    pub compressors: Vec<CompressorRow>,
    pub compressor_in_use: String,
}

fn mode_name(m: DataMode) -> &'static str {
    match m {
        DataMode::Auto => "auto",
        DataMode::Calldata => "calldata",
        DataMode::Blobs => "blobs",
    }
}

fn free_addr() -> Result<SocketAddr, BenchError> {
    Ok(crate::compare::free_addr()?)
}

fn setup_err(why: impl Into<String>) -> BenchError {
    BenchError::Setup(why.into())
}

fn hex_u128(v: &Value) -> u128 {
    v.as_str().and_then(|s| u128::from_str_radix(s.trim_start_matches("0x"), 16).ok()).unwrap_or(0)
}

pub(crate) struct Stack {
    _dir: tempfile::TempDir,
    pub(crate) devnet: Devnet,
    pub(crate) l1: L1Client,
    cfg: RollupConfig,
    funded: Vec<Address>,
    pub(crate) rollup: Rollup,
    pub(crate) chain: Arc<Chain>,
    stats: Arc<Mutex<Vec<PostStats>>>,
    pub(crate) url: String,
}

pub(crate) async fn start(o: &RollupBenchOptions, mode: DataMode) -> Result<Stack, BenchError> {
    let dir = tempfile::tempdir()?;
    let l1_cfg = L1Config {
        block_time: o.l1_block_time,
        data_dir: dir.path().join("l1"),
        rpc_addr: free_addr()?,
        extra_precompiles: vec![aqueduct_rollup_protocol::execute_precompile()],
        ..Default::default()
    };
    let devnet = Devnet::start(l1_cfg, true).await?;
    let s = devnet.signers.clone();
    let l1 = L1Client::new(&devnet.url())?;
    let params = DeployParams { batcher: s[1].address(), bond: U256::from(ETH / 10), finalization_period: 60 };
    let dep = deploy(&l1, &s[0], &params).await?;
    let cfg =
        RollupConfig { max_channel_bytes: 64 << 20, ..dep.rollup_config(901, o.l2_block_time_ms, params.batcher) };
    let funded: Vec<Address> = s.iter().map(|x| x.address()).collect();
    let rollup = Rollup::start(RollupOptions {
        l1_url: devnet.url(),
        rollup: cfg.clone(),
        data_dir: dir.path().join("l2"),
        gas_limit: o.l2_gas_limit,
        funded: funded.clone(),
        funded_balance: U256::from(1_000_000 * ETH),
        sequencer: Some(SequencerRole {
            rpc_addr: free_addr()?,
            batcher: s[1].clone(),
            sequencer: SequencerConfig::default(),
            batcher_config: BatcherConfig { compressor: o.compressor, mode, ..Default::default() },
            dev_signers: Vec::new(),
        }),
        verifier_rpc: None,
        proposer: None,
        challengers: Vec::new(),
        poll: Duration::from_millis(200),
        dependencies: Vec::new(),
    })
    .await?;
    let chain = rollup.sequencer.clone().ok_or_else(|| setup_err("no sequencer"))?;
    let stats = rollup.batcher_stats.clone().ok_or_else(|| setup_err("no batcher"))?;
    let url = format!("http://{}", rollup.sequencer_rpc.ok_or_else(|| setup_err("no sequencer RPC"))?);
    Ok(Stack { _dir: dir, devnet, l1, cfg, funded, rollup, chain, stats, url })
}

impl Stack {
    /// The batcher's posts from the `from`-th on.
    pub(crate) fn posts_since(&self, from: usize) -> Vec<PostStats> {
        self.stats.lock()[from..].to_vec()
    }
}

/// Waits until the batcher's posts cover L2 block `upto` and are mined; returns how many posts exist.
pub(crate) async fn posted_through(stack: &Stack, upto: u64) -> Result<usize, BenchError> {
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let (covered, last_txs, n) = {
            let s = stack.stats.lock();
            let covered = s.iter().map(|p| p.first_block + p.blocks.saturating_sub(1)).max().unwrap_or(0);
            (covered, s.last().map(|p| p.l1_txs.clone()).unwrap_or_default(), s.len())
        };
        if covered >= upto {
            let mut mined = true;
            for h in &last_txs {
                mined &= stack.l1.receipt(*h).await?.is_some();
            }
            if mined {
                return Ok(n);
            }
        }
        if Instant::now() > deadline {
            return Err(setup_err(format!("batches did not cover L2 block {upto} within 300 s (covered {covered})")));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub(crate) async fn l1_cost(stack: &Stack, posts: &[PostStats]) -> Result<L1Cost, BenchError> {
    let mut c = L1Cost { posts: posts.len(), ..Default::default() };
    for p in posts {
        c.l2_transactions += p.transactions;
        c.uncompressed_bytes += p.uncompressed_bytes;
        c.l1_bytes += p.l1_bytes;
        for h in &p.l1_txs {
            let Some(r) = stack.l1.receipt(*h).await? else { continue };
            c.l1_transactions += 1;
            c.l1_gas += r.gas_used;
            c.l1_wei += r.gas_used as u128 * r.effective_gas_price;
            let blob_gas = r.blob_gas_used.unwrap_or(0);
            c.blob_gas += blob_gas;
            c.l1_wei += blob_gas as u128 * r.blob_gas_price.unwrap_or(0);
        }
    }
    let n = c.l2_transactions.max(1) as f64;
    c.bytes_per_tx = c.l1_bytes as f64 / n;
    c.l1_gas_per_tx = c.l1_gas as f64 / n;
    c.blob_gas_per_tx = c.blob_gas as f64 / n;
    c.compression_ratio =
        posts.iter().map(|p| p.compressed_bytes).sum::<u64>() as f64 / c.uncompressed_bytes.max(1) as f64;
    Ok(c)
}

/// Mean L2 fee of the user transactions in L2 blocks `from..=to`, against the same gas on L1.
pub(crate) async fn fees(stack: &Stack, from: u64, to: u64, cost: &L1Cost) -> Result<FeeComparison, BenchError> {
    let client = RpcClient::new(&stack.url);
    let mut f = FeeComparison::default();
    let (mut l2, mut l1) = (0f64, 0f64);
    for n in from..=to {
        let rs = client.call("eth_getBlockReceipts", json!([format!("{n:#x}")])).await?;
        for r in rs.as_array().into_iter().flatten() {
            if r["type"] == "0x7e" {
                continue;
            }
            let gas = hex_u128(&r["gasUsed"]);
            l2 += (gas * hex_u128(&r["effectiveGasPrice"]) + hex_u128(&r["l1Fee"])) as f64;
            l1 += (gas * hex_u128(&r["l1GasPrice"])) as f64;
            f.sampled += 1;
        }
    }
    let n = f.sampled.max(1) as f64;
    f.l2_fee_wei = l2 / n;
    f.l1_fee_wei = l1 / n;
    f.ratio = if l1 > 0.0 { l2 / l1 } else { 0.0 };
    f.l1_data_cost_wei = cost.l1_wei as f64 / cost.l2_transactions.max(1) as f64;
    Ok(f)
}

fn spec(o: &RollupBenchOptions, erc20: bool) -> WorkloadSpec {
    WorkloadSpec {
        seed: o.seed + u64::from(erc20),
        accounts: o.accounts,
        txs: o.txs,
        mix: TxKindMix { erc20_share: if erc20 { 1.0 } else { 0.0 } },
        chain_id: 0,
        max_fee_per_gas: 200_000_000_000,
        max_priority_fee_per_gas: 1_000,
    }
}

fn run_opts(
    o: &RollupBenchOptions,
    target: &str,
    mode: &str,
    url: &str,
    erc20: bool,
) -> Result<RunOptions, BenchError> {
    let funder = aqueduct_l1::dev_signers(1)?.remove(0);
    Ok(RunOptions {
        target: format!("{target} {}", if erc20 { "ERC-20" } else { "ETH" }),
        mode: mode.to_string(),
        url: url.to_string(),
        spec: spec(o, erc20),
        funder,
        concurrency: o.concurrency,
        progress: o.progress,
        stall_timeout: Duration::from_secs(120),
        plan: None,
    })
}

/// Derives the whole chain again with a fresh verifier reading only L1.
async fn replay(stack: &Stack, o: &RollupBenchOptions) -> Result<ReplayReport, BenchError> {
    let target = stack.chain.head().number();
    let dir = tempfile::tempdir()?;
    let started = Instant::now();
    let ver = Rollup::start(RollupOptions {
        l1_url: stack.devnet.url(),
        rollup: stack.cfg.clone(),
        data_dir: dir.path().to_path_buf(),
        gas_limit: o.l2_gas_limit,
        funded: stack.funded.clone(),
        funded_balance: U256::from(1_000_000 * ETH),
        sequencer: None,
        verifier_rpc: Some(free_addr()?),
        proposer: None,
        challengers: Vec::new(),
        poll: Duration::from_millis(20),
        dependencies: Vec::new(),
    })
    .await?;
    let chain = ver.verifier.clone().ok_or_else(|| setup_err("no verifier"))?;
    let deadline = Instant::now() + Duration::from_secs(600);
    while chain.head().number() < target {
        if Instant::now() > deadline {
            return Err(setup_err("the verifier did not catch up within 600 s"));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let secs = started.elapsed().as_secs_f64();
    let same = chain.block(BlockRef::Number(target)).map(|b| b.hash)
        == stack.chain.block(BlockRef::Number(target)).map(|b| b.hash);
    ver.stop().await;
    if !same {
        return Err(setup_err(format!("the replayed chain differs from the sequencer's at L2 block {target}")));
    }
    let transactions: u64 = stack.chain.blocks(1, target).iter().map(|b| b.txs.len() as u64).sum();
    Ok(ReplayReport { l2_blocks: target, transactions, secs, tx_per_sec: transactions as f64 / secs.max(1e-9) })
}

async fn one_mode(o: &RollupBenchOptions, mode: DataMode) -> Result<(ModeReport, Vec<u8>), BenchError> {
    let stack = start(o, mode).await?;
    let name = mode_name(mode);
    let mut workloads = Vec::new();
    let mut raw_batches = Vec::new();
    for erc20 in [false, true] {
        let posts_before = posted_through(&stack, stack.chain.head().number()).await?;
        let first = stack.chain.head().number() + 1;
        let run = crate::run(run_opts(o, "L2", name, &stack.url, erc20)?).await?;
        let last = stack.chain.head().number();
        posted_through(&stack, last).await?;
        let posts = stack.posts_since(posts_before);
        let l1 = l1_cost(&stack, &posts).await?;
        let fees = fees(&stack, first, last, &l1).await?;
        for b in stack.chain.blocks(first, last) {
            batch_of(&stack, &b).encode_into(&mut raw_batches);
        }
        workloads.push(WorkloadResult { kind: if erc20 { "ERC-20" } else { "ETH" }.into(), run, l1, fees });
    }
    let replay = replay(&stack, o).await?;
    stack.rollup.stop().await;
    stack.devnet.stop().await;
    Ok((ModeReport { mode: name.into(), workloads, replay }, raw_batches))
}

/// The batch of an L2 block as the batcher encodes it (user transactions only).
fn batch_of(stack: &Stack, b: &aqueduct_chain::SealedBlock) -> Batch {
    let meta = aqueduct_rollup_protocol::SafeHead::of_block(b, stack.cfg.l1_genesis.number);
    let (forced_index, epoch) = (meta.forced_index.0, meta.epoch.0);
    Batch {
        number: b.number(),
        parent_hash: b.header.parent_hash,
        epoch_number: epoch,
        epoch_hash: B256::ZERO,
        timestamp: b.header.timestamp,
        forced_index,
        transactions: b
            .txs
            .iter()
            .filter(|t| !t.envelope.is_deposit())
            .map(|t| alloy::eips::eip2718::Encodable2718::encoded_2718(&t.envelope).into())
            .collect(),
    }
}

/// Each compressor on the same real batch data; each must give the data back exactly.
pub fn compare_compressors(raw: &[u8]) -> Result<Vec<CompressorRow>, BenchError> {
    let candidates = [
        ("zstd:3", Compressor::Zstd(3)),
        ("zstd:9", Compressor::Zstd(9)),
        ("zstd:19", Compressor::Zstd(19)),
        ("brotli:5", Compressor::Brotli(5)),
        ("brotli:9", Compressor::Brotli(9)),
        ("brotli:11", Compressor::Brotli(11)),
    ];
    let mb = raw.len() as f64 / 1e6;
    candidates
        .iter()
        .map(|(name, c)| {
            let t = Instant::now();
            let out = c.compress(raw);
            let ct = t.elapsed().as_secs_f64().max(1e-9);
            let t = Instant::now();
            let back = Compressor::decompress(&out, raw.len() + 1)
                .map_err(|source| BenchError::Decompress { name, source })?;
            let dt = t.elapsed().as_secs_f64().max(1e-9);
            if back != raw {
                return Err(BenchError::Roundtrip { name });
            }
            Ok(CompressorRow {
                name: name.to_string(),
                raw_bytes: raw.len(),
                compressed_bytes: out.len(),
                ratio: out.len() as f64 / raw.len().max(1) as f64,
                compress_mb_s: mb / ct,
                decompress_mb_s: mb / dt,
            })
        })
        .collect()
}

pub async fn bench_rollup(o: RollupBenchOptions) -> Result<RollupBenchReport, BenchError> {
    let mut modes = Vec::new();
    let mut raw = Vec::new();
    for m in &o.modes {
        let (r, batches) = one_mode(&o, *m).await?;
        modes.push(r);
        if raw.is_empty() {
            raw = batches;
        }
    }
    let compressors = tokio::task::spawn_blocking(move || compare_compressors(&raw)).await??;
    let mut anvil = Vec::new();
    if o.vs_anvil {
        for erc20 in [false, true] {
            let port = free_addr()?.port();
            // Interval mining: anvil's instant mode stops mining under this load (seen at ~1,400
            // of 5,000 pending transfers).
            let a = Anvil::spawn(port, 31337, o.l2_gas_limit, Some(1)).await?;
            anvil.push(crate::run(run_opts(&o, "anvil", "1 s blocks", &a.url, erc20)?).await?);
        }
    }
    Ok(RollupBenchReport { modes, anvil, compressors, compressor_in_use: format!("{:?}", o.compressor) })
}

/// The report as tables.
pub fn print_rollup(r: &RollupBenchReport) {
    println!(
        "{:<26} {:>7} {:>11} {:>8} {:>8} {:>9} {:>10} {:>10} {:>9} {:>10}",
        "workload (data mode)",
        "txs",
        "transfers/s",
        "p50 ms",
        "p99 ms",
        "L1 B/tx",
        "L1 gas/tx",
        "blobgas/tx",
        "fee ratio",
        "ratio c/r"
    );
    for m in &r.modes {
        for w in &m.workloads {
            println!(
                "{:<26} {:>7} {:>11.1} {:>8.1} {:>8.1} {:>9.1} {:>10.1} {:>10.1} {:>9.4} {:>10.3}",
                format!("L2 {} ({})", w.kind, m.mode),
                w.run.included,
                w.run.transfers_per_sec,
                w.run.p50_latency_ms,
                w.run.p99_latency_ms,
                w.l1.bytes_per_tx,
                w.l1.l1_gas_per_tx,
                w.l1.blob_gas_per_tx,
                w.fees.ratio,
                w.l1.compression_ratio
            );
        }
    }
    for a in &r.anvil {
        println!(
            "{:<26} {:>7} {:>11.1} {:>8.1} {:>8.1}",
            format!("{} ({})", a.target, a.mode),
            a.included,
            a.transfers_per_sec,
            a.p50_latency_ms,
            a.p99_latency_ms
        );
    }
    if let Some(m) = r.modes.first() {
        for (w, a) in m.workloads.iter().zip(&r.anvil) {
            if a.transfers_per_sec > 0.0 {
                println!(
                    "ratio L2 {} / anvil: {:.2}x transfers/s",
                    w.kind,
                    w.run.transfers_per_sec / a.transfers_per_sec
                );
            }
        }
    }
    for m in &r.modes {
        println!(
            "verifier replay ({}): {} L2 blocks, {} transactions in {:.2} s = {:.0} tx/s",
            m.mode, m.replay.l2_blocks, m.replay.transactions, m.replay.secs, m.replay.tx_per_sec
        );
        for w in &m.workloads {
            println!(
                "fees {} ({}): L2 {:.3e} wei vs L1 {:.3e} wei per tx (ratio {:.4}); batcher paid {:.3e} wei per tx on L1",
                w.kind, m.mode, w.fees.l2_fee_wei, w.fees.l1_fee_wei, w.fees.ratio, w.fees.l1_data_cost_wei
            );
        }
    }
    println!(
        "{:<12} {:>12} {:>12} {:>8} {:>14} {:>16}",
        "compressor", "raw B", "compressed B", "ratio", "compress MB/s", "decompress MB/s"
    );
    for c in &r.compressors {
        println!(
            "{:<12} {:>12} {:>12} {:>8.3} {:>14.1} {:>16.1}",
            c.name, c.raw_bytes, c.compressed_bytes, c.ratio, c.compress_mb_s, c.decompress_mb_s
        );
    }
    println!("compressor in use: {}", r.compressor_in_use);
}
