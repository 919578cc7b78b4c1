//! The interop bench (`aqueduct bench interop`): two optimistic rollups on the embedded L1 (901
//! and 902, 902 deriving 901 beside itself), in-process. Messages are sent on 901 and relayed on
//! 902 for real: first one at a time (the latency from the send's L2 block to the relay's, and
//! what each costs in L2 gas and fees), then continuously for a while from several senders and
//! relayers (messages relayed per second, sustained).

use std::{
    collections::{BTreeMap, VecDeque},
    time::{Duration, Instant},
};

use alloy::{
    primitives::{Address, B256, Bytes, TxKind, U256, keccak256},
    signers::local::PrivateKeySigner,
    sol_types::SolCall,
};
use aqueduct_chain::Chain;
use aqueduct_contracts::interop::L2ToL2Messenger;
use aqueduct_eth::{L1Call, L1Client, L1Error, L1Fees, sign_1559};
use aqueduct_l1::{Devnet, DevnetError, L1Config};
use aqueduct_rollup_node::{
    BatcherConfig, DeployError, DeployParams, Rollup, RollupError, RollupOptions, RollupSpec, SequencerConfig,
    SequencerRole,
    interop::{relay_transaction, sent_in},
};
use aqueduct_rollup_protocol::{Predeploys, RollupConfig};
use serde::Serialize;

const ETH: u128 = 1_000_000_000_000_000_000;
const SOURCE: u64 = 901;
const DESTINATION: u64 = 902;
/// The fee cap every bench transaction offers (far above the L2 base fee).
const MAX_FEE: u128 = 10_000_000_000;

#[derive(Debug, thiserror::Error)]
pub enum InteropBenchError {
    #[error("a temporary directory: {0}")]
    TempDir(#[source] std::io::Error),
    #[error("the embedded L1: {0}")]
    Devnet(#[from] DevnetError),
    #[error("deploying a rollup: {0}")]
    Deploy(#[from] DeployError),
    #[error("a rollup: {0}")]
    Rollup(#[from] RollupError),
    #[error(transparent)]
    Chain(#[from] L1Error),
    #[error("timed out after {secs} s waiting for {what}")]
    Timeout { what: String, secs: u64 },
}

#[derive(Clone, Debug)]
pub struct InteropBenchOptions {
    pub l2_block_time_ms: u64,
    /// Messages sent and relayed one at a time.
    pub single: usize,
    /// Seconds of continuous sending and relaying.
    pub duration: Duration,
    /// Messages sent on 901 each L2 block time during the sustained run.
    pub per_block: usize,
}

impl Default for InteropBenchOptions {
    fn default() -> Self {
        Self { l2_block_time_ms: 250, single: 5, duration: Duration::from_secs(30), per_block: 50 }
    }
}

/// One message sent and relayed alone.
#[derive(Clone, Debug, Serialize)]
pub struct SingleMessage {
    /// From the send's inclusion on 901 to the relay's on 902 (wall clock, polled every 20 ms).
    pub seconds: f64,
    /// L1 blocks mined meanwhile.
    pub l1_blocks: u64,
    pub send_gas: u64,
    pub relay_gas: u64,
    /// What each paid on L2 (execution and the L1 data fee), wei.
    pub send_fee: U256,
    pub relay_fee: U256,
}

#[derive(Clone, Debug, Serialize)]
pub struct InteropBenchReport {
    pub l2_block_time_ms: u64,
    pub singles: Vec<SingleMessage>,
    pub duration_s: f64,
    pub sent: usize,
    pub relayed: usize,
    /// Relayed messages per second over the sustained run.
    pub relayed_per_s: f64,
    /// From submitting the send on 901 to seeing the relay mined on 902 (wall clock, to the L2
    /// block time), over the sustained run.
    pub latency_p50_s: f64,
    pub latency_p99_s: f64,
    /// Relays left out as invalid (none expected).
    pub dropped: usize,
}

/// Both rollups' sequencers, in-process.
struct World {
    _devnet: Devnet,
    l1: L1Client,
    a: Rollup,
    b: Rollup,
    signers: Vec<PrivateKeySigner>,
    _dir: tempfile::TempDir,
}

impl World {
    async fn start(o: &InteropBenchOptions) -> Result<Self, InteropBenchError> {
        let dir = tempfile::tempdir().map_err(InteropBenchError::TempDir)?;
        let l1_cfg = L1Config {
            block_time: 1.0,
            data_dir: dir.path().join("l1"),
            rpc_addr: "127.0.0.1:0".parse().expect("a socket address"),
            extra_precompiles: vec![aqueduct_rollup_protocol::execute_precompile()],
            ..Default::default()
        };
        let devnet = Devnet::start(l1_cfg, true).await?;
        let s = devnet.signers.clone();
        let l1 = L1Client::new(&devnet.url())?;
        let funded: Vec<Address> = s.iter().map(|x| x.address()).collect();
        let mut specs = Vec::new();
        for (chain, batcher) in [(SOURCE, &s[1]), (DESTINATION, &s[2])] {
            let params =
                DeployParams { batcher: batcher.address(), bond: U256::from(ETH / 10), finalization_period: 60 };
            let dep = aqueduct_rollup_node::deploy(&l1, &s[0], &params).await?;
            let cfg = RollupConfig {
                seq_window: 20,
                channel_timeout: 40,
                ..dep.rollup_config(chain, o.l2_block_time_ms, batcher.address())
            };
            specs.push(RollupSpec {
                l1_chain_id: 1337,
                rollup: cfg,
                gas_limit: 30_000_000,
                funded: funded.clone(),
                funded_balance: U256::from(1000 * ETH),
                bond: params.bond,
                finalization_period: 60,
            });
        }
        let start = |spec: &RollupSpec, batcher: &PrivateKeySigner, deps: Vec<RollupSpec>| RollupOptions {
            l1_url: devnet.url(),
            rollup: spec.rollup.clone(),
            data_dir: dir.path().join(spec.rollup.l2_chain_id.to_string()),
            gas_limit: spec.gas_limit,
            funded: spec.funded.clone(),
            funded_balance: spec.funded_balance,
            sequencer: Some(SequencerRole {
                rpc_addr: "127.0.0.1:0".parse().expect("a socket address"),
                batcher: batcher.clone(),
                sequencer: SequencerConfig::default(),
                batcher_config: BatcherConfig {
                    poll: Duration::from_millis(200),
                    max_delay: Duration::ZERO,
                    ..Default::default()
                },
                dev_signers: vec![],
            }),
            verifier_rpc: None,
            proposer: None,
            challengers: Vec::new(),
            poll: Duration::from_millis(200),
            dependencies: deps,
        };
        let a = Rollup::start(start(&specs[0], &s[1], Vec::new())).await?;
        let b = Rollup::start(start(&specs[1], &s[2], vec![specs[0].clone()])).await?;
        Ok(Self { _devnet: devnet, l1, a, b, signers: s, _dir: dir })
    }

    fn chain_a(&self) -> &Chain {
        self.a.sequencer.as_deref().expect("901's sequencer")
    }

    fn chain_b(&self) -> &Chain {
        self.b.sequencer.as_deref().expect("902's sequencer")
    }

    async fn stop(self) {
        self.b.stop().await;
        self.a.stop().await;
    }
}

/// A signed `sendMessage(902, target, data)` on 901.
fn send_tx(s: &PrivateKeySigner, nonce: u64, target: Address, data: &[u8]) -> Bytes {
    let input = L2ToL2Messenger::sendMessageCall {
        destination: U256::from(DESTINATION),
        target,
        message: Bytes::copy_from_slice(data),
    }
    .abi_encode();
    let call = L1Call {
        to: TxKind::Call(Predeploys::L2_TO_L2_MESSENGER),
        value: U256::ZERO,
        input: input.into(),
        gas_limit: 200_000,
    };
    sign_1559(s, SOURCE, nonce, L1Fees { base_fee: MAX_FEE / 2, blob_base_fee: 1, tip: 1_000 }, &call)
}

/// Gas used and fee paid (execution plus the L1 data fee) by a mined transaction.
fn cost(chain: &Chain, tx: &B256) -> Option<(u64, U256)> {
    let (block, i) = chain.transaction(tx)?;
    let r = &block.receipts[i];
    let gas = r.cumulative_gas_used() - if i == 0 { 0 } else { block.receipts[i - 1].cumulative_gas_used() };
    let price =
        alloy::consensus::Transaction::effective_gas_price(&block.txs[i].envelope, block.header.base_fee_per_gas);
    Some((gas, U256::from(gas) * U256::from(price) + U256::from(r.l1_fee.unwrap_or(0))))
}

async fn wait_mined(chain: &Chain, tx: &B256, what: &str, secs: u64) -> Result<(), InteropBenchError> {
    let start = Instant::now();
    while chain.transaction(tx).is_none() {
        if start.elapsed() > Duration::from_secs(secs) {
            return Err(InteropBenchError::Timeout { what: what.to_string(), secs });
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}

pub async fn bench_interop(o: &InteropBenchOptions) -> Result<InteropBenchReport, InteropBenchError> {
    let w = World::start(o).await?;
    let result = run(&w, o).await;
    w.stop().await;
    result
}

async fn run(w: &World, o: &InteropBenchOptions) -> Result<InteropBenchReport, InteropBenchError> {
    let (a, b) = (w.chain_a(), w.chain_b());
    let target = Address::repeat_byte(0x77);
    let data = [0x42u8; 32];
    // One at a time: sender 3 on 901, relayer 4 on 902.
    let (sender, relayer) = (&w.signers[3], &w.signers[4]);
    let mut singles = Vec::new();
    for n in 0..o.single as u64 {
        let raw = send_tx(sender, n, target, &data);
        let hash = keccak256(&raw);
        a.send_raw(&raw)
            .map_err(|e| InteropBenchError::Timeout { what: format!("901 took the send: {e}"), secs: 0 })?;
        wait_mined(a, &hash, "the send on 901", 30).await?;
        let sent_at = Instant::now();
        let l1_before = w.l1.head().await?;
        let m = sent_in(a, &hash, SOURCE).and_then(|mut v| v.pop()).expect("a mined send emits SentMessage");
        let relay = relay_transaction(relayer, DESTINATION, n, MAX_FEE, 300_000, &m);
        let relay_hash = keccak256(&relay);
        b.send_raw(&relay)
            .map_err(|e| InteropBenchError::Timeout { what: format!("902 took the relay: {e}"), secs: 0 })?;
        wait_mined(b, &relay_hash, "the relay on 902", 120).await?;
        let l1_after = w.l1.head().await?;
        let (send_gas, send_fee) = cost(a, &hash).expect("mined");
        let (relay_gas, relay_fee) = cost(b, &relay_hash).expect("mined");
        let seconds = sent_at.elapsed().as_secs_f64();
        singles.push(SingleMessage {
            seconds,
            l1_blocks: l1_after.saturating_sub(l1_before),
            send_gas,
            relay_gas,
            send_fee,
            relay_fee,
        });
    }
    // Sustained: senders 5..=7 send `per_block` messages every block time; relayers 8 and 9 relay
    // each mined one at once.
    let senders = &w.signers[5..8];
    let relayers = &w.signers[8..10];
    let mut send_nonce = vec![0u64; senders.len()];
    let mut relay_nonce = vec![0u64; relayers.len()];
    let mut unmined: VecDeque<(B256, Instant)> = VecDeque::new();
    // Relay hash -> when its send was submitted; then the latencies of those mined.
    let mut relays: BTreeMap<B256, Instant> = BTreeMap::new();
    let mut latencies = Vec::new();
    let mut relayed_in_window = 0usize;
    let (mut sent, mut next_relayer) = (0usize, 0usize);
    let tick = Duration::from_millis(o.l2_block_time_ms);
    let started = Instant::now();
    while started.elapsed() < o.duration {
        for i in 0..o.per_block {
            let k = i % senders.len();
            let raw = send_tx(&senders[k], send_nonce[k], target, &data);
            send_nonce[k] += 1;
            if a.send_raw(&raw).is_ok() {
                unmined.push_back((keccak256(&raw), Instant::now()));
                sent += 1;
            }
        }
        relay_mined(a, b, relayers, &mut relay_nonce, &mut next_relayer, &mut unmined, &mut relays);
        relayed_in_window += collect(b, &mut relays, &mut latencies);
        tokio::time::sleep(tick).await;
    }
    let window = started.elapsed().as_secs_f64();
    // Let what was sent finish (not counted in the rate).
    let drain = Instant::now();
    while (!unmined.is_empty() || !relays.is_empty()) && drain.elapsed() < Duration::from_secs(60) {
        relay_mined(a, b, relayers, &mut relay_nonce, &mut next_relayer, &mut unmined, &mut relays);
        collect(b, &mut relays, &mut latencies);
        tokio::time::sleep(tick).await;
    }
    let relayed = latencies.len();
    latencies.sort_by(f64::total_cmp);
    let pct = |p: f64| {
        latencies
            .get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0.0)
    };
    Ok(InteropBenchReport {
        l2_block_time_ms: o.l2_block_time_ms,
        singles,
        duration_s: window,
        sent,
        relayed,
        relayed_per_s: relayed_in_window as f64 / window,
        latency_p50_s: pct(0.5),
        latency_p99_s: pct(0.99),
        dropped: relays.keys().filter(|r| b.pending_transaction(r).is_none()).count(),
    })
}

/// Takes the relays mined on 902 out of `relays`, recording their latencies; returns how many.
fn collect(b: &Chain, relays: &mut BTreeMap<B256, Instant>, latencies: &mut Vec<f64>) -> usize {
    let mined: Vec<B256> = relays.keys().filter(|r| b.transaction(r).is_some()).copied().collect();
    for r in &mined {
        if let Some(at) = relays.remove(r) {
            latencies.push(at.elapsed().as_secs_f64());
        }
    }
    mined.len()
}

/// Relays every send mined on 901 since the last call, from the relayers in turn.
fn relay_mined(
    a: &Chain,
    b: &Chain,
    relayers: &[PrivateKeySigner],
    nonces: &mut [u64],
    next: &mut usize,
    unmined: &mut VecDeque<(B256, Instant)>,
    relays: &mut BTreeMap<B256, Instant>,
) {
    let mut still = VecDeque::new();
    while let Some((send, at)) = unmined.pop_front() {
        let Some(ms) = sent_in(a, &send, SOURCE) else {
            still.push_back((send, at));
            continue;
        };
        for m in ms {
            let k = *next % relayers.len();
            *next += 1;
            let raw = relay_transaction(&relayers[k], DESTINATION, nonces[k], MAX_FEE, 300_000, &m);
            nonces[k] += 1;
            if b.send_raw(&raw).is_ok() {
                relays.insert(keccak256(&raw), at);
            }
        }
    }
    *unmined = still;
}
