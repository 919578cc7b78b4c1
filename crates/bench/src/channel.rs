//! The payment-channel bench (`aqueduct bench channel`): two channel nodes on loopback TCP over
//! the embedded L1.
//! Measures payments per second one at a time and pipelined, payment latency (p50/p99), the L1
//! gas of opening (open + join), a cooperative close and a full dispute (a stale unilateral
//! close, the challenge with the latest state, the settlement), and L1 transactions per 10,000
//! payments.

use std::time::{Duration, Instant};

use alloy::{
    primitives::{Address, B256},
    providers::Provider,
};
use aqueduct_channel_node::{Adjudicator, Lifecycle, Node, NodeConfig, SyncMode};
use aqueduct_eth::L1Client;
use aqueduct_l1::{Devnet, L1Config};
use serde_json::json;

/// What the channel bench runs.
#[derive(Clone, Debug)]
pub struct ChannelBenchOptions {
    /// Payments made one at a time (each waits for the countersigned, persisted state), and
    /// again pipelined.
    pub payments: usize,
    /// Payments in flight at once in the pipelined run.
    pub window: usize,
    /// How far each journal write goes before a node answers.
    pub sync: SyncMode,
}

/// What went wrong running the channel bench.
#[derive(Debug, thiserror::Error)]
pub enum ChannelBenchError {
    #[error("the embedded L1: {0}")]
    Devnet(#[from] aqueduct_l1::DevnetError),
    #[error(transparent)]
    L1(#[from] aqueduct_eth::L1Error),
    #[error("a channel node: {0}")]
    Node(#[from] aqueduct_channel_node::NodeError),
    /// The payment failed: the reason the channel (or its peer) gave.
    #[error("a payment failed: {0}")]
    Payment(String),
    #[error("the node stopped before a payment settled")]
    Stopped(#[from] tokio::sync::oneshot::error::RecvError),
    #[error("L1 JSON-RPC: {0}")]
    Rpc(#[from] alloy::transports::TransportError),
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
}

async fn node(
    l1: &L1Client,
    key: B256,
    adj: Address,
    dir: &std::path::Path,
    sync: SyncMode,
) -> Result<std::sync::Arc<Node>, ChannelBenchError> {
    let mut cfg = NodeConfig::new(std::net::SocketAddr::from(([127, 0, 0, 1], 0)), dir.join(key.to_string()));
    cfg.sync = sync;
    cfg.poll = Duration::from_secs(3600);
    Ok(Node::start(cfg, l1.clone(), key, adj).await?)
}

fn pct(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1e6
}

/// Runs the channel bench; returns its figures (JSON) after printing them.
pub async fn bench_channel(b: ChannelBenchOptions) -> Result<serde_json::Value, ChannelBenchError> {
    let sync = b.sync;
    let sync_name = if sync == SyncMode::Os { "os" } else { "full" };
    let dir = tempfile::tempdir()?;
    let cfg = L1Config::instant(&dir.path().join("l1"));
    let devnet = Devnet::start(cfg, true).await?;
    let l1 = L1Client::new(&devnet.url())?;
    let keys: Vec<B256> = devnet.signers.iter().map(|s| B256::from_slice(&s.to_bytes()[..])).collect();
    let adj = Adjudicator::deploy(&l1, &devnet.signers[0]).await?;
    let a = node(&l1, keys[1], adj, dir.path(), sync).await?;
    let bn = node(&l1, keys[2], adj, dir.path(), sync).await?;
    a.connect(&bn.listen_addr().to_string()).await?;
    let eth = 1_000_000_000_000_000_000u128;

    // Open (A's open + B's join), measured from their receipts.
    let blocks_before = l1.head().await?;
    let id = a.open(bn.address(), Address::ZERO, 10 * eth, 10 * eth, 3600).await?;
    let (open_gas, _) = l1_usage(&l1, blocks_before + 1, l1.head().await?).await?;

    // One at a time.
    let mut lat = Vec::with_capacity(b.payments);
    let t = Instant::now();
    for i in 0..b.payments {
        let s = Instant::now();
        a.pay(id, 1_000_000_000 + i as u128).await?;
        lat.push(s.elapsed());
    }
    let serial_secs = t.elapsed().as_secs_f64();
    lat.sort();
    // Pipelined, both directions at once.
    let version = |n: &Node| n.latest_state(id).map_or(0, |s| s.state.version);
    let states_before = version(&a);
    let t = Instant::now();
    let mut waits = std::collections::VecDeque::new();
    for i in 0..b.payments {
        let from = if i % 2 == 0 { &a } else { &bn };
        waits.push_back(from.pay_start(id, 1_000_000_000)?);
        if waits.len() >= b.window
            && let Some(w) = waits.pop_front()
        {
            w.await?.map_err(ChannelBenchError::Payment)?;
        }
    }
    for w in waits {
        w.await?.map_err(ChannelBenchError::Payment)?;
    }
    let pipelined_secs = t.elapsed().as_secs_f64();
    let pipelined_states = version(&a) - states_before;

    // Cooperative close.
    let close = a.close(id).await?;
    // Every L1 transaction the channel's whole life took (open, join, close).
    let (_, life_txs) = l1_usage(&l1, blocks_before + 1, l1.head().await?).await?;
    let per_10k = life_txs as f64 * 10_000.0 / (2.0 * b.payments as f64);

    // A full dispute on a second channel: a stale close, the challenge, the settlement.
    let id2 = a.open(bn.address(), Address::ZERO, eth, eth, 60).await?;
    for _ in 0..50 {
        if bn.channels().iter().any(|c| c.id == id2 && c.state == Lifecycle::Open) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    a.pay(id2, 1_000).await?;
    let old = a.latest_state(id2).ok_or_else(|| ChannelBenchError::Payment("no signed state".into()))?;
    a.pay(id2, 1_000).await?;
    let latest = a.latest_state(id2).ok_or_else(|| ChannelBenchError::Payment("no signed state".into()))?;
    a.stop();
    bn.stop();
    let stale = a.close_with(&old).await?;
    let challenge = bn.adj.challenge(&latest).await?;
    let _: serde_json::Value = l1.provider().raw_request("evm_increaseTime".into(), (90u64,)).await?;
    let _: serde_json::Value = l1.provider().raw_request("evm_mine".into(), ()).await?;
    let settle = bn.adj.settle(id2, &latest.state.htlcs).await?;
    let dispute = stale.gas + challenge.gas + settle.gas;

    let n = b.payments as f64;
    let figures = json!({
        "payments": b.payments,
        "sync": sync_name,
        "serialPaymentsPerSec": n / serial_secs,
        "pipelinedPaymentsPerSec": n / pipelined_secs,
        "pipelineWindow": b.window,
        "pipelinedSignedStates": pipelined_states,
        "latencyP50Us": pct(&lat, 0.5),
        "latencyP99Us": pct(&lat, 0.99),
        "openGas": open_gas,
        "cooperativeCloseGas": close.gas,
        "disputeGas": { "staleClose": stale.gas, "challenge": challenge.gas, "settle": settle.gas, "total": dispute },
        "l1Transactions": life_txs,
        "l1TransactionsPer10kPayments": per_10k,
    });
    println!("channel bench: 2 nodes on loopback TCP, embedded L1, journal sync {sync_name}");
    println!("  payments one at a time : {:>10.0} /s  ({} payments)", n / serial_secs, b.payments);
    println!(
        "  payments pipelined     : {:>10.0} /s  (window {}, both directions; {:.1} payments per signed state)",
        n / pipelined_secs,
        b.window,
        n / pipelined_states.max(1) as f64
    );
    println!("  latency p50 / p99      : {:>7.0} µs / {:.0} µs", pct(&lat, 0.5), pct(&lat, 0.99));
    println!("  L1 gas: open + join    : {open_gas:>10}");
    println!("  L1 gas: coop close     : {:>10}  (goal ≤ 112,000)", close.gas);
    println!(
        "  L1 gas: full dispute   : {dispute:>10}  (stale close {} + challenge {} + settle {}; goal ≤ 195,000)",
        stale.gas, challenge.gas, settle.gas
    );
    println!("  L1 transactions        : {life_txs} for {} payments ({per_10k:.1} per 10,000)", 2 * b.payments);
    devnet.stop().await;
    Ok(figures)
}

/// Gas used and transactions included in L1 blocks `from..=to`.
async fn l1_usage(l1: &L1Client, from: u64, to: u64) -> Result<(u64, usize), ChannelBenchError> {
    let (mut gas, mut txs) = (0, 0);
    for n in from..=to {
        if let Some(b) = l1.provider().get_block_by_number(n.into()).await? {
            gas += b.header.gas_used;
            txs += b.transactions.len();
        }
    }
    Ok((gas, txs))
}
