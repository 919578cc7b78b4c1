//! Drives a workload against one JSON-RPC endpoint and measures it.

use std::{
    collections::HashMap,
    sync::Arc,
    time::{Duration, Instant},
};

use alloy::{
    consensus::TxEip1559,
    eips::eip2718::Encodable2718,
    primitives::{B256, Bytes, TxKind, U256},
    signers::local::PrivateKeySigner,
    sol_types::{SolCall, SolConstructor},
};
use aqueduct_contracts::AqueductToken;
use futures::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Value, json};
use std::sync::Mutex;

use crate::{
    client::{RpcClient, RpcError},
    plan::Plan,
    report::{BenchReport, percentile},
    workload::{ERC20_TRANSFER_GAS, ETH_TRANSFER_GAS, Workload, WorkloadSpec, sign},
};

#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error(transparent)]
    Rpc(#[from] RpcError),
    /// The bench's own setting-up went wrong (what it waited for did not happen).
    #[error("{0}")]
    Setup(String),
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    #[error("the embedded L1: {0}")]
    Devnet(#[from] aqueduct_l1::DevnetError),
    #[error(transparent)]
    L1(#[from] aqueduct_eth::L1Error),
    #[error("the rollup: {0}")]
    Rollup(#[from] aqueduct_rollup_node::RollupError),
    #[error("deploying the rollup: {0}")]
    Deploy(#[from] aqueduct_rollup_node::DeployError),
    #[error("dev accounts: {0}")]
    Signer(#[from] alloy::signers::local::LocalSignerError),
    #[error("anvil: {0}")]
    Anvil(#[from] crate::anvil::AnvilError),
    /// A compressor refused its own output.
    #[error("compressor {name}: {source}")]
    Decompress { name: &'static str, source: aqueduct_rollup_protocol::CompressError },
    /// A compressor did not give the batch data back.
    #[error("compressor {name} did not give the batches back")]
    Roundtrip { name: &'static str },
    /// A bench task panicked (a bug).
    #[error("a bench task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
    #[error(
        "timed out: {included} of {sent} transactions included after {secs} s without progress (head {head}, pool {pending}, last watcher error: {watcher_error})"
    )]
    Stalled { included: usize, sent: usize, secs: u64, head: String, pending: String, watcher_error: String },
}

pub struct RunOptions {
    pub target: String,
    pub mode: String,
    pub url: String,
    pub spec: WorkloadSpec,
    /// Pays for setup (funding and token deployment).
    pub funder: PrivateKeySigner,
    /// Senders sending at once.
    pub concurrency: usize,
    pub progress: bool,
    /// Give up after this long without a new inclusion.
    pub stall_timeout: Duration,
    /// Send this plan's transfers instead of the spec's random workload (the spec still gives
    /// the fees).
    pub plan: Option<Arc<Plan>>,
}

/// What the block watcher saw of each transaction.
#[derive(Clone, Copy)]
struct Seen {
    at: Instant,
    ok: bool,
    gas: u64,
}

fn parse_u64(v: &Value) -> u64 {
    v.as_str().and_then(|s| u64::from_str_radix(s.trim_start_matches("0x"), 16).ok()).unwrap_or(0)
}

/// Follows new blocks and records every receipt in them. Errors are retried; the last one is
/// kept for the report.
async fn watch(
    client: Arc<RpcClient>,
    from: u64,
    seen: Arc<Mutex<HashMap<B256, Seen>>>,
    stop: Arc<tokio::sync::Notify>,
    last_error: Arc<Mutex<Option<String>>>,
) -> u64 {
    let mut next = from + 1;
    loop {
        if let Err(e) = watch_step(&client, &mut next, &seen).await {
            *last_error.lock().expect("error lock") = Some(e.to_string());
        }
        tokio::select! {
            _ = stop.notified() => return next - 1,
            _ = tokio::time::sleep(Duration::from_millis(5)) => {}
        }
    }
}

async fn watch_step(client: &RpcClient, next: &mut u64, seen: &Mutex<HashMap<B256, Seen>>) -> Result<(), RpcError> {
    let head = client.u64("eth_blockNumber", json!([])).await?;
    while *next <= head {
        let receipts = client.call("eth_getBlockReceipts", json!([format!("{:#x}", *next)])).await?;
        let at = Instant::now();
        let mut map = seen.lock().expect("watcher lock");
        for r in receipts.as_array().into_iter().flatten() {
            let Some(h) = r.get("transactionHash").and_then(Value::as_str).and_then(|h| h.parse::<B256>().ok()) else {
                continue;
            };
            let ok = r.get("status").and_then(Value::as_str) == Some("0x1");
            map.insert(h, Seen { at, ok, gas: r.get("gasUsed").map(parse_u64).unwrap_or(0) });
        }
        *next += 1;
    }
    Ok(())
}

/// Sends raw transactions (per sender in nonce order) and waits until all are included.
async fn send_and_wait(
    client: &Arc<RpcClient>,
    batches: Vec<Vec<(Bytes, B256)>>,
    concurrency: usize,
    progress: Option<&ProgressBar>,
    stall: Duration,
) -> Result<(HashMap<B256, Instant>, HashMap<B256, Seen>, Instant, u64, u64), BenchError> {
    let start_block = client.u64("eth_blockNumber", json!([])).await?;
    let seen = Arc::new(Mutex::new(HashMap::new()));
    let stop = Arc::new(tokio::sync::Notify::new());
    let last_error = Arc::new(Mutex::new(None));
    let watcher = tokio::spawn(watch(client.clone(), start_block, seen.clone(), stop.clone(), last_error.clone()));
    let total: usize = batches.iter().map(Vec::len).sum();
    let first_send = Instant::now();
    let sent: Arc<Mutex<HashMap<B256, Instant>>> = Arc::new(Mutex::new(HashMap::with_capacity(total)));
    let errors: Vec<RpcError> = futures::stream::iter(batches)
        .map(|txs| {
            let client = client.clone();
            let sent = sent.clone();
            async move {
                for (raw, hash) in txs {
                    let t = Instant::now();
                    client.call("eth_sendRawTransaction", json!([raw])).await?;
                    sent.lock().expect("sent lock").insert(hash, t);
                }
                Ok::<(), RpcError>(())
            }
        })
        .buffer_unordered(concurrency.max(1))
        .filter_map(|r| async move { r.err() })
        .collect()
        .await;
    if let Some(e) = errors.into_iter().next() {
        stop.notify_one();
        return Err(e.into());
    }
    let sent = std::mem::take(&mut *sent.lock().expect("sent lock"));
    let mut last_progress = (0usize, Instant::now());
    loop {
        let done = {
            let map = seen.lock().expect("seen lock");
            sent.keys().filter(|h| map.contains_key(*h)).count()
        };
        if let Some(pb) = progress {
            pb.set_position(done as u64);
        }
        if done == sent.len() {
            break;
        }
        if done > last_progress.0 {
            last_progress = (done, Instant::now());
        } else if last_progress.1.elapsed() > stall {
            stop.notify_one();
            let head =
                client.u64("eth_blockNumber", json!([])).await.map(|h| h.to_string()).unwrap_or_else(|e| e.to_string());
            let pending =
                client.call("txpool_status", json!([])).await.map(|v| v.to_string()).unwrap_or_else(|e| e.to_string());
            let watcher_error = last_error.lock().expect("error lock").clone().unwrap_or_else(|| "none".into());
            return Err(BenchError::Stalled {
                included: done,
                sent: sent.len(),
                secs: stall.as_secs(),
                head,
                pending,
                watcher_error,
            });
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    stop.notify_one();
    let last_block = watcher.await?;
    let seen = std::mem::take(&mut *seen.lock().expect("seen lock"));
    Ok((sent, seen, first_send, start_block, last_block))
}

/// Runs the workload against `opts.url`: setup (token, funding), then the measured phase.
pub async fn run(opts: RunOptions) -> Result<BenchReport, BenchError> {
    let client = Arc::new(RpcClient::new(&opts.url));
    let chain_id = client.u64("eth_chainId", json!([])).await?;
    let mut spec = opts.spec.clone();
    spec.chain_id = chain_id;
    let funder = opts.funder.address();
    let mut nonce = client.u64("eth_getTransactionCount", json!([funder, "pending"])).await?;
    let token = funder.create(nonce);
    let mut setup_tx = |to: TxKind, value: U256, input: Bytes, gas: u64| {
        let mut tx = TxEip1559 {
            chain_id,
            nonce,
            gas_limit: gas,
            max_fee_per_gas: spec.max_fee_per_gas,
            max_priority_fee_per_gas: spec.max_priority_fee_per_gas,
            to,
            value,
            input,
            access_list: Default::default(),
        };
        nonce += 1;
        let env = sign(&opts.funder, &mut tx);
        (Bytes::from(env.encoded_2718()), *env.tx_hash())
    };

    // Setup 1: the token, minted to the funder.
    let supply = U256::from(10u64).pow(U256::from(30));
    let ctor = AqueductToken::constructorCall {
        name_: "Bench".into(),
        symbol_: "BEN".into(),
        decimals_: 18,
        initialSupply: supply,
    };
    let deploy = [AqueductToken::BYTECODE.as_ref(), &ctor.abi_encode()].concat();
    let deploy_tx = setup_tx(TxKind::Create, U256::ZERO, deploy.into(), 3_000_000);
    let (_, seen, ..) = send_and_wait(&client, vec![vec![deploy_tx.clone()]], 1, None, opts.stall_timeout).await?;
    if !seen.get(&deploy_tx.1).is_some_and(|s| s.ok) {
        return Err(BenchError::Setup("token deployment failed".into()));
    }

    // Setup 2: fund every sender with ETH for its gas and with tokens.
    let workload = match &opts.plan {
        Some(plan) => Workload::from_plan(plan, &spec, token),
        None => Workload::generate(&spec, token),
    };
    let mut funding = Vec::new();
    for (i, (s, txs)) in workload.senders.iter().zip(&workload.txs).enumerate() {
        let gas: u64 = txs.iter().map(|t| if t.2 { ERC20_TRANSFER_GAS } else { ETH_TRANSFER_GAS }).sum();
        // What the sender sends: the plan's amounts, or the random workload's (under 10^6 wei).
        let (sends, tokens) = match &opts.plan {
            Some(plan) => plan.outflow(i),
            None => (txs.len() as u128 * 1_000_000, 1_000_000_000),
        };
        let eth = U256::from(gas) * U256::from(spec.max_fee_per_gas) + U256::from(sends + 1);
        funding.push(setup_tx(TxKind::Call(s.address()), eth, Bytes::new(), ETH_TRANSFER_GAS));
        let call = AqueductToken::transferCall { to: s.address(), value: U256::from(tokens.max(1)) };
        funding.push(setup_tx(TxKind::Call(token), U256::ZERO, call.abi_encode().into(), ERC20_TRANSFER_GAS));
    }
    let (_, seen, ..) = send_and_wait(&client, vec![funding.clone()], 1, None, opts.stall_timeout).await?;
    if let Some(bad) = funding.iter().find(|t| !seen.get(&t.1).is_some_and(|s| s.ok)) {
        return Err(BenchError::Setup(format!("funding transaction {} failed", bad.1)));
    }

    // Measured phase.
    let pb = opts.progress.then(|| {
        let pb = ProgressBar::new(workload.len() as u64);
        pb.set_style(
            ProgressStyle::with_template("{prefix:>12} [{bar:40}] {pos}/{len} included ({per_sec}, eta {eta})")
                .expect("static template")
                .progress_chars("=> "),
        );
        pb.set_prefix(opts.target.clone());
        pb
    });
    let batches: Vec<Vec<(Bytes, B256)>> =
        workload.txs.iter().map(|v| v.iter().map(|t| (t.0.clone(), t.1)).collect()).collect();
    let (sent, seen, first_send, start_block, last_block) =
        send_and_wait(&client, batches, opts.concurrency, pb.as_ref(), opts.stall_timeout).await?;
    if let Some(pb) = pb {
        pb.finish_and_clear();
    }
    let last = seen.values().map(|s| s.at).max().unwrap_or(first_send);
    let wall = last.duration_since(first_send).as_secs_f64().max(1e-9);
    let mut lat: Vec<f64> = sent
        .iter()
        .filter_map(|(h, t)| seen.get(h).map(|s| s.at.saturating_duration_since(*t).as_secs_f64() * 1000.0))
        .collect();
    lat.sort_by(f64::total_cmp);
    let included = sent.keys().filter(|h| seen.contains_key(*h)).count();
    let failed = sent.keys().filter(|h| seen.get(*h).is_some_and(|s| !s.ok)).count();
    let gas_used: u64 = sent.keys().filter_map(|h| seen.get(h)).map(|s| s.gas).sum();
    Ok(BenchReport {
        target: opts.target,
        mode: opts.mode,
        sent: sent.len(),
        included,
        failed,
        wall_secs: wall,
        transfers_per_sec: included as f64 / wall,
        gas_per_sec: gas_used as f64 / wall,
        p50_latency_ms: percentile(&lat, 50.0),
        p99_latency_ms: percentile(&lat, 99.0),
        blocks: last_block.saturating_sub(start_block),
        gas_used,
    })
}
