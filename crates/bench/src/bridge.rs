//! The bridge bench (`aqueduct bench bridge`): the embedded L1, the optimistic rollup in-process
//! (sequencer and batcher; verifier and proposer), the fast bridge deployed and a relayer
//! running. For each amount it moves ETH from the rollup to L1 both ways a user can — through
//! the relayer and through the canonical bridge — in real time (no clock skipping), and reports
//! time to funds and the fee of each, the relayer's repayment, the L1 gas of every step, and the
//! fee model's quotes at mainnet settings beside Across's and Hop's published figures.

use std::time::{Duration, Instant};

use alloy::{
    primitives::{Address, Bytes, U256},
    signers::local::PrivateKeySigner,
};
use aqueduct_bridge_node::{
    BridgeSpec, DeployParams, FastBridgeError, Hub, Relayer, RelayerConfig, RelayerStats, Spoke, deploy,
};
use aqueduct_bridge_protocol::{FeeModel, FillState, RateCurve, relay_hash};
use aqueduct_contracts::rollup::L2ToL1MessagePasser;
use aqueduct_eth::{L1Client, L1Error};
use aqueduct_l1::{Devnet, DevnetError, L1Config};
use aqueduct_rollup_node::{
    BatcherConfig, BridgeError, DeployError, DeployParams as RollupParams, ProposerRole, Rollup, RollupError,
    RollupOptions, SequencerConfig, SequencerRole, build_proof, deposit_eth, finalize, prove, seconds_left,
};
use aqueduct_rollup_protocol::{Predeploys, RollupConfig};
use aqueduct_service::{CancellationToken, Halt};
use serde::Serialize;

const ETH: u128 = 1_000_000_000_000_000_000;
/// The rollup's chain id.
pub const BRIDGE_L2_CHAIN: u64 = 901;

#[derive(Debug, thiserror::Error)]
pub enum BridgeBenchError {
    #[error("a temporary directory: {0}")]
    TempDir(#[source] std::io::Error),
    #[error("the embedded L1: {0}")]
    Devnet(#[from] DevnetError),
    #[error("deploying the rollup: {0}")]
    Deploy(#[from] DeployError),
    #[error("the rollup: {0}")]
    Rollup(#[from] RollupError),
    #[error(transparent)]
    Chain(#[from] L1Error),
    #[error("the fast bridge: {0}")]
    Bridge(#[from] FastBridgeError),
    #[error("the canonical bridge: {0}")]
    Canonical(#[from] BridgeError),
    #[error("timed out after {secs} s waiting for {what}")]
    Timeout { what: &'static str, secs: u64 },
}

/// How the world is set.
#[derive(Clone, Copy, Debug)]
pub struct BridgeWorldOptions {
    pub l1_block_time: f64,
    pub l2_block_time_ms: u64,
    /// The rollup's challenge window, seconds.
    pub challenge_window: u64,
    /// A refund bundle's liveness, seconds.
    pub liveness: u64,
    /// L2 blocks between outputs.
    pub proposal_interval: u64,
}

impl Default for BridgeWorldOptions {
    fn default() -> Self {
        Self { l1_block_time: 1.0, l2_block_time_ms: 250, challenge_window: 60, liveness: 30, proposal_interval: 8 }
    }
}

/// The embedded L1, the rollup's services and the fast bridge deployed (no relayer: the caller
/// starts its own). Dropping it stops everything.
pub struct BridgeWorld {
    pub devnet: Devnet,
    pub l1: L1Client,
    /// The sequencer's JSON-RPC.
    pub l2: L1Client,
    /// The verifier's JSON-RPC (the chain derived from L1).
    pub verifier: L1Client,
    pub spec: BridgeSpec,
    pub signers: Vec<PrivateKeySigner>,
    _rollups: (Rollup, Rollup),
    _dir: tempfile::TempDir,
}

impl BridgeWorld {
    pub async fn start(o: BridgeWorldOptions) -> Result<Self, BridgeBenchError> {
        let dir = tempfile::tempdir().map_err(BridgeBenchError::TempDir)?;
        let l1_cfg = L1Config {
            block_time: o.l1_block_time,
            data_dir: dir.path().join("l1"),
            rpc_addr: "127.0.0.1:0".parse().expect("a socket address"),
            extra_precompiles: vec![aqueduct_rollup_protocol::execute_precompile()],
            ..Default::default()
        };
        let devnet = Devnet::start(l1_cfg, true).await?;
        let s = devnet.signers.clone();
        let l1 = L1Client::new(&devnet.url())?;
        let params = RollupParams {
            batcher: s[1].address(),
            bond: U256::from(ETH / 10),
            finalization_period: o.challenge_window,
        };
        let dep = aqueduct_rollup_node::deploy(&l1, &s[0], &params).await?;
        let cfg = RollupConfig {
            seq_window: 20,
            channel_timeout: 40,
            ..dep.rollup_config(BRIDGE_L2_CHAIN, o.l2_block_time_ms, s[1].address())
        };
        let funded: Vec<Address> = s.iter().map(|x| x.address()).collect();
        let common = |data: &str| RollupOptions {
            l1_url: devnet.url(),
            rollup: cfg.clone(),
            data_dir: dir.path().join(data),
            gas_limit: 30_000_000,
            funded: funded.clone(),
            funded_balance: U256::from(1000 * ETH),
            sequencer: None,
            verifier_rpc: None,
            proposer: None,
            challengers: Vec::new(),
            poll: Duration::from_millis(200),
            dependencies: Vec::new(),
        };
        let seq = Rollup::start(RollupOptions {
            sequencer: Some(SequencerRole {
                rpc_addr: "127.0.0.1:0".parse().expect("a socket address"),
                batcher: s[1].clone(),
                sequencer: SequencerConfig::default(),
                batcher_config: BatcherConfig {
                    poll: Duration::from_millis(200),
                    max_delay: Duration::ZERO,
                    ..Default::default()
                },
                dev_signers: vec![],
            }),
            ..common("sequencer")
        })
        .await?;
        let ver = Rollup::start(RollupOptions {
            verifier_rpc: Some("127.0.0.1:0".parse().expect("a socket address")),
            proposer: Some(ProposerRole {
                signer: s[2].clone(),
                interval: o.proposal_interval,
                bond: U256::from(ETH / 10),
            }),
            ..common("verifier")
        })
        .await?;
        let url = |a: Option<std::net::SocketAddr>| format!("http://{}", a.expect("the rollup serves JSON-RPC"));
        let l2 = L1Client::new(&url(seq.sequencer_rpc))?;
        let verifier = L1Client::new(&url(ver.verifier_rpc))?;
        // The genesis-funded L2 accounts are not backed on L1: back what the bench moves out.
        let h = deposit_eth(&l1, &s[7], dep.portal, s[7].address(), U256::from(500 * ETH)).await?;
        l1.wait(h).await?;
        let p = DeployParams {
            portal: dep.portal,
            oracle: dep.oracle,
            challenge_window: o.challenge_window,
            bond: U256::from(ETH),
            liveness: o.liveness,
            max_fill_window: 600,
        };
        let spec = deploy(&l1, &l2, &s[0], &p).await?;
        Ok(Self { devnet, l1, l2, verifier, spec, signers: s, _rollups: (seq, ver), _dir: dir })
    }

    /// A relayer on this world, signing with `key`.
    pub fn relayer(&self, cfg: RelayerConfig) -> Relayer {
        Relayer::new(self.spec.clone(), self.l1.clone(), self.l2.clone(), self.verifier.clone(), cfg)
    }

    /// L1's latest block time.
    pub async fn l1_now(&self) -> Result<u64, BridgeBenchError> {
        Ok(self.l1.header(self.l1.head().await?).await?.timestamp)
    }
}

#[derive(Clone, Debug)]
pub struct BridgeBenchOptions {
    /// Amounts moved each way, wei.
    pub amounts: Vec<U256>,
    pub world: BridgeWorldOptions,
    /// L1 gas price of the mainnet projection, wei.
    pub mainnet_gas_price: u128,
}

impl Default for BridgeBenchOptions {
    fn default() -> Self {
        Self {
            amounts: vec![U256::from(ETH / 100), U256::from(ETH), U256::from(100 * ETH)],
            world: BridgeWorldOptions::default(),
            mainnet_gas_price: 10_000_000_000,
        }
    }
}

/// One amount moved one way.
#[derive(Clone, Debug, Serialize)]
pub struct RouteRun {
    pub route: &'static str,
    pub amount: U256,
    /// From the user's first transaction to the funds on L1.
    pub seconds_to_funds: f64,
    /// What the user paid beyond the amount: the relayer's fee, or (canonical) the L1 gas of
    /// proving and finalizing at the gas price paid.
    pub fee: U256,
    pub fee_percent: f64,
    /// L1 blocks from the deposit's L2 block time to the fill (fast route only).
    pub l1_blocks: Option<u64>,
}

/// A quote at mainnet settings.
#[derive(Clone, Debug, Serialize)]
pub struct MainnetQuote {
    pub amount: U256,
    /// The whole fee when the relayer's capital is idle (no utilisation premium).
    pub idle_fee_percent: f64,
    pub gas_fee: U256,
    pub capital_fee: U256,
    pub utilisation_fee: U256,
    pub fee_percent: f64,
}

#[derive(Clone, Debug, Serialize)]
pub struct BridgeBenchReport {
    pub runs: Vec<RouteRun>,
    /// Seconds from the first fill to the relayer's repayment of the last.
    pub relayer_repaid_after: f64,
    /// L1 gas: a fill, a refund bundle proposal (and its entries), one entry's execution, the
    /// delivery's prove and finalize.
    pub gas_fill: u64,
    pub gas_propose: u64,
    pub bundle_entries: usize,
    pub gas_execute: u64,
    pub gas_deliver_prove: u64,
    pub gas_deliver_finalize: u64,
    pub challenge_window: u64,
    pub liveness: u64,
    pub mainnet: Vec<MainnetQuote>,
    pub mainnet_window_secs: u64,
    pub mainnet_gas_price: u128,
    pub stats: RelayerStats,
}

fn percent(fee: U256, amount: U256) -> f64 {
    let ppm: u64 = (fee * U256::from(100_000_000u64) / amount.max(U256::from(1))).saturating_to();
    ppm as f64 / 1_000_000.0
}

async fn wait_for<F, Fut, T>(what: &'static str, secs: u64, mut f: F) -> Result<T, BridgeBenchError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Option<T>, BridgeBenchError>>,
{
    let end = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f().await? {
            return Ok(v);
        }
        if Instant::now() > end {
            return Err(BridgeBenchError::Timeout { what, secs });
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Runs the bridge bench.
pub async fn bench_bridge(o: &BridgeBenchOptions) -> Result<BridgeBenchReport, BridgeBenchError> {
    let w = BridgeWorld::start(o.world).await?;
    let (user, relayer_key) = (w.signers[5].clone(), w.signers[4].clone());
    let mut cfg = RelayerConfig::new(relayer_key.clone());
    cfg.bridge_after = Duration::from_secs(2);
    let relayer = w.relayer(cfg.clone());
    let stats = relayer.stats();
    let (cancel, halt) = (CancellationToken::new(), Halt::new());
    let task = tokio::spawn(aqueduct_service::run(relayer, Duration::from_millis(100), cancel.clone(), halt));
    let spoke = Spoke::new(w.l2.clone(), w.spec.spoke);
    let hub = Hub::new(w.l1.clone(), w.spec.hub);
    let mut runs = Vec::new();

    // Fast: deposit on the rollup paying the relayer's quote; time until the recipient has it.
    let mut first_fill = None;
    for (i, &amount) in o.amounts.iter().enumerate() {
        let fees = w.l1.fees().await?;
        let q = cfg.quote_model(&w.spec, fees).quote(amount, 650_000);
        let to = Address::repeat_byte(0x50 + i as u8);
        let l2_now = w.l2.header(w.l2.head().await?).await?.timestamp as u32;
        let started = Instant::now();
        let (d, r) = spoke.deposit(&user, to, amount, q.output, w.spec.l1_chain_id, l2_now + 300).await?;
        let l2_time = w.l2.header(r.block_number.unwrap_or_default()).await?.timestamp;
        let h = relay_hash(&d);
        wait_for("a relayer's fill", 60, || async {
            Ok(matches!(hub.fill_state(h).await?, FillState::Filled { .. }).then_some(()))
        })
        .await?;
        let secs = started.elapsed().as_secs_f64();
        first_fill.get_or_insert(Instant::now());
        let fill_block = wait_for("the fill in the relayer's stats", 30, || async {
            Ok(stats.lock().unwrap_or_else(|p| p.into_inner()).fills.iter().find(|f| f.0 == d.depositId).map(|f| f.2))
        })
        .await?;
        // L1 blocks from the one after the deposit's time to the fill's.
        let mut first = w.l1.head().await?;
        while first > 0 && w.l1.header(first - 1).await?.timestamp >= l2_time {
            first -= 1;
        }
        runs.push(RouteRun {
            route: "fast (relayer)",
            amount,
            seconds_to_funds: secs,
            fee: amount - d.outputAmount,
            fee_percent: percent(amount - d.outputAmount, amount),
            l1_blocks: Some(fill_block.saturating_sub(first) + 1),
        });
    }

    // Canonical: withdraw on the rollup, prove once an output covers it, wait out the window,
    // finalize. All three amounts at once (the window runs in parallel).
    let passer = Predeploys::MESSAGE_PASSER;
    let mut pending = Vec::new();
    for &amount in &o.amounts {
        let call = L2ToL1MessagePasser::new(passer, w.l2.provider())
            .initiateWithdrawal(user.address(), U256::from(100_000), Bytes::new())
            .value(amount)
            .gas(200_000)
            .into_transaction_request();
        let started = Instant::now();
        let r = w.l2.transact(&user, call).await?;
        pending.push((amount, r.transaction_hash, started, U256::ZERO));
    }
    let mut done = Vec::new();
    let window = o.world.challenge_window;
    let portal = w.spec.portal;
    let gas_price =
        |r: &alloy::rpc::types::TransactionReceipt| U256::from(r.gas_used) * U256::from(r.effective_gas_price);
    while !pending.is_empty() {
        let mut left = Vec::new();
        for (amount, tx, started, mut paid) in pending {
            let proof = match build_proof(&w.verifier, &w.l1, w.spec.oracle, tx).await {
                Ok(p) => p,
                Err(BridgeError::NotProposed(_) | BridgeError::NotDerived(_) | BridgeError::BlockNotDerived(_)) => {
                    left.push((amount, tx, started, paid));
                    continue;
                }
                Err(e) => return Err(e.into()),
            };
            match seconds_left(&w.l1, portal, &proof.withdrawal).await? {
                None => {
                    let r = w.l1.wait(prove(&w.l1, &user, portal, &proof).await?).await?;
                    paid += gas_price(&r);
                    left.push((amount, tx, started, paid));
                }
                Some(0) => {
                    let r = w.l1.wait(finalize(&w.l1, &user, portal, &proof.withdrawal).await?).await?;
                    let fee = paid + gas_price(&r);
                    done.push(RouteRun {
                        route: "canonical (rollup withdrawal)",
                        amount,
                        seconds_to_funds: started.elapsed().as_secs_f64(),
                        fee,
                        fee_percent: percent(fee, amount),
                        l1_blocks: None,
                    });
                }
                Some(_) => left.push((amount, tx, started, paid)),
            }
        }
        pending = left;
        if pending.iter().any(|p| p.2.elapsed() > Duration::from_secs(window * 4 + 120)) {
            return Err(BridgeBenchError::Timeout { what: "the canonical withdrawals", secs: window * 4 + 120 });
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    done.sort_by_key(|r| r.amount);
    runs.extend(done);

    // The relayer's repayment: every fill executed in an accepted bundle.
    let n = o.amounts.len();
    wait_for("the relayer's repayment", window + o.world.liveness + 180, || async {
        let s = stats.lock().unwrap_or_else(|p| p.into_inner());
        Ok((s.executions.len() >= n).then_some(()))
    })
    .await?;
    let repaid_after = first_fill.map(|t| t.elapsed().as_secs_f64()).unwrap_or_default();
    cancel.cancel();
    let _ = task.await;
    let s = stats.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let avg = |v: &[u64]| if v.is_empty() { 0 } else { v.iter().sum::<u64>() / v.len() as u64 };
    let gas_fill = avg(&s.fills.iter().map(|f| f.3).collect::<Vec<_>>());
    let gas_execute = avg(&s.executions.iter().map(|e| e.3).collect::<Vec<_>>());
    let (gas_propose, bundle_entries) = s.proposals.first().map(|p| (p.2, p.1)).unwrap_or_default();
    let (gas_deliver_prove, gas_deliver_finalize) = s.deliveries.first().map(|d| (d.1, d.2)).unwrap_or_default();

    // Mainnet: 7 days of challenge, 2 h of liveness, the measured gas, one bundle of 50.
    let mainnet_window_secs = 7 * 86_400 + 7_200;
    let model = FeeModel {
        fill_gas: gas_fill,
        repay_gas: gas_execute + (gas_propose + gas_deliver_prove + gas_deliver_finalize) / 50,
        gas_price: o.mainnet_gas_price,
        window_secs: mainnet_window_secs,
        curve: RateCurve::default(),
    };
    let mainnet = o
        .amounts
        .iter()
        .map(|&a| {
            let q = model.quote(a, 650_000);
            MainnetQuote {
                amount: a,
                idle_fee_percent: percent(model.quote(a, 0).total, a),
                gas_fee: q.gas_fee,
                capital_fee: q.capital_fee,
                utilisation_fee: q.utilisation_fee,
                fee_percent: percent(q.total, a),
            }
        })
        .collect();
    Ok(BridgeBenchReport {
        runs,
        relayer_repaid_after: repaid_after,
        gas_fill,
        gas_propose,
        bundle_entries,
        gas_execute,
        gas_deliver_prove,
        gas_deliver_finalize,
        challenge_window: window,
        liveness: o.world.liveness,
        mainnet,
        mainnet_window_secs,
        mainnet_gas_price: o.mainnet_gas_price,
        stats: s,
    })
}
