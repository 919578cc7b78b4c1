//! `aqueduct fastbridge`: the fast bridge from the optimistic rollup to L1 — deployment, the
//! relayer process, a user's deposit (quoted term by term, followed until the funds arrive on
//! L1), a quote alone, and status; and the devnet's own relayer.

use std::{
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use alloy::{
    primitives::{Address, U256},
    providers::Provider,
    signers::local::PrivateKeySigner,
};
use aqueduct_bridge_node::{
    BridgeSpec, DeployParams, Hub, Relayer, RelayerConfig, Spoke, deploy,
    router::{QUOTE_UTILISATION_PPM, fast_quote},
};
use aqueduct_bridge_protocol::{FillState, Quote, relay_hash};
use aqueduct_rollup_node::{L1Client, RollupSpec};
use aqueduct_service::{CancellationToken, Halt};
use clap::{Args, Subcommand};
use eyre::{WrapErr, bail};

use crate::format_ether as eth;

/// Account (0) of the standard test mnemonic: funded on the devnet's L1 and L2.
const DEV_KEY: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

#[derive(Args, Debug)]
pub struct FastBridgeArgs {
    /// L1 JSON-RPC (the destination).
    #[arg(long, env = "AQUEDUCT_L1_RPC", default_value = "http://127.0.0.1:8545", global = true)]
    l1_rpc: String,
    /// The rollup sequencer's JSON-RPC (the origin).
    #[arg(long, env = "AQUEDUCT_L2_RPC", default_value = "http://127.0.0.1:9545", global = true)]
    l2_rpc: String,
    /// A rollup verifier's JSON-RPC (the relayer proves the spoke's withdrawals from it).
    #[arg(long, env = "AQUEDUCT_VERIFIER_RPC", default_value = "http://127.0.0.1:9547", global = true)]
    verifier_rpc: String,
    /// The devnet's data directory (its fast bridge spec is fastbridge/bridge.json there).
    #[arg(long, env = "AQUEDUCT_DATA_DIR", default_value = ".aqueduct", global = true)]
    data_dir: PathBuf,
    /// The fast bridge's spec file [default: <data-dir>/fastbridge/bridge.json].
    #[arg(long, env = "AQUEDUCT_FASTBRIDGE", global = true)]
    spec: Option<PathBuf>,
    /// The private key that signs [default: dev account 0].
    #[arg(long, env = "AQUEDUCT_KEY", hide_env_values = true, value_parser = crate::l1_key, default_value = DEV_KEY, hide_default_value = true, global = true)]
    key: PrivateKeySigner,
    #[command(subcommand)]
    command: FastBridgeCommand,
}

#[derive(Subcommand, Debug)]
pub enum FastBridgeCommand {
    /// Deploy the hub on L1 and the spoke on the rollup (the devnet does this itself).
    Deploy {
        /// The rollup's spec [default: <data-dir>/rollup/rollup.json].
        #[arg(long)]
        rollup: Option<PathBuf>,
        /// A refund bundle's bond, in ether.
        #[arg(long, default_value = "1", value_parser = crate::ether_arg)]
        bond: String,
        /// Seconds anyone may dispute a refund bundle.
        #[arg(long, default_value_t = 30)]
        liveness: u64,
        /// The latest fill deadline a deposit may ask for, seconds ahead.
        #[arg(long, default_value_t = 600)]
        max_fill_window: u32,
    },
    /// Run a relayer: fill deposits whose fee pays its model, get repaid, dispute wrong bundles.
    Relayer {
        /// Only bridge, propose, dispute and execute (fill nothing).
        #[arg(long)]
        no_fill: bool,
        /// Milliseconds between rounds when idle.
        #[arg(long, default_value_t = 250)]
        poll_ms: u64,
    },
    /// Move ETH from the rollup to L1 through a relayer; waits until it is paid on L1.
    Deposit {
        /// Amount in ether, taken on the rollup.
        #[arg(long, value_parser = crate::ether_arg)]
        amount: String,
        /// Who gets it on L1 [default: the sender].
        #[arg(long)]
        to: Option<Address>,
        /// Seconds a relayer has to fill it; after that it is refunded on the rollup.
        #[arg(long, default_value_t = 300)]
        deadline: u32,
        /// Return once deposited, without waiting for the fill.
        #[arg(long)]
        no_wait: bool,
    },
    /// What a relayer charges to move an amount, term by term.
    Quote {
        /// Amount in ether.
        #[arg(long, value_parser = crate::ether_arg)]
        amount: String,
    },
    /// The bridge's books and bundles, or one deposit's state.
    Status {
        /// A deposit id.
        #[arg(long)]
        deposit: Option<u64>,
    },
}

pub async fn run(args: FastBridgeArgs) -> eyre::Result<()> {
    let spec_path = args.spec.clone().unwrap_or_else(|| args.data_dir.join("fastbridge/bridge.json"));
    let l1 = L1Client::new(&args.l1_rpc)?;
    let l2 = L1Client::new(&args.l2_rpc)?;
    if let FastBridgeCommand::Deploy { rollup, bond, liveness, max_fill_window } = &args.command {
        let path = rollup.clone().unwrap_or_else(|| args.data_dir.join("rollup/rollup.json"));
        let r = RollupSpec::load(&path).wrap_err("reading the rollup's spec (start `aqueduct devnet`, or --rollup)")?;
        let p = DeployParams {
            portal: r.rollup.portal,
            oracle: r.rollup.oracle,
            challenge_window: r.finalization_period,
            bond: crate::ether_amount(bond)?,
            liveness: *liveness,
            max_fill_window: *max_fill_window,
        };
        let spec = deploy(&l1, &l2, &args.key, &p).await.wrap_err("deploying the fast bridge")?;
        spec.save(&spec_path)?;
        println!("fast bridge deployed: hub {} on L1, spoke {} on the rollup", spec.hub, spec.spoke);
        println!("  spec written to {}", spec_path.display());
        return Ok(());
    }
    let spec = BridgeSpec::load(&spec_path)
        .wrap_err("reading the fast bridge's spec: start `aqueduct devnet`, or name it with --spec")?;
    match args.command {
        FastBridgeCommand::Deploy { .. } => unreachable!("handled above"),
        FastBridgeCommand::Relayer { no_fill, poll_ms } => {
            let verifier = L1Client::new(&args.verifier_rpc)?;
            let mut cfg = RelayerConfig::new(args.key.clone());
            cfg.fill = !no_fill;
            println!("relayer {} on hub {} (L1) and spoke {} (rollup)", args.key.address(), spec.hub, spec.spoke);
            let relayer = Relayer::new(spec, l1, l2, verifier, cfg);
            let (cancel, halt) = (CancellationToken::new(), Halt::new());
            let c = cancel.clone();
            tokio::spawn(async move {
                let _ = tokio::signal::ctrl_c().await;
                c.cancel();
            });
            if let Some(why) = aqueduct_service::run(relayer, Duration::from_millis(poll_ms), cancel, halt).await {
                bail!("the relayer stopped: {why}");
            }
            Ok(())
        }
        FastBridgeCommand::Deposit { amount, to, deadline, no_wait } => {
            deposit(&spec, &l1, &l2, &args.key, &amount, to, deadline, no_wait).await
        }
        FastBridgeCommand::Quote { amount } => {
            let q = quote(&spec, &l1, crate::ether_amount(&amount)?).await?;
            print_quote(&q, &spec);
            Ok(())
        }
        FastBridgeCommand::Status { deposit } => status(&spec, &l1, &l2, deposit).await,
    }
}

/// What the default relayer charges for `input` at L1's gas price now.
async fn quote(spec: &BridgeSpec, l1: &L1Client, input: U256) -> eyre::Result<Quote> {
    fast_quote(spec, l1, input).await.wrap_err("quoting")
}

fn print_quote(q: &Quote, spec: &BridgeSpec) {
    println!("quote for {} ETH (rollup -> L1):", eth(q.input));
    println!("  destination gas   {} ETH (the fill on L1, and its share of the repayment)", eth(q.gas_fee));
    println!(
        "  capital           {} ETH (the relayer's ETH is out ~{} s: challenge window {} s + liveness {} s)",
        eth(q.capital_fee),
        spec.challenge_window + spec.liveness,
        spec.challenge_window,
        spec.liveness
    );
    println!(
        "  utilisation       {} ETH (premium at {} % of the relayer's capital out)",
        eth(q.utilisation_fee),
        QUOTE_UTILISATION_PPM / 10_000
    );
    println!("  total fee         {} ETH ({:.4} %)", eth(q.total), q.fee_ppm() as f64 / 10_000.0);
    println!("  you receive       {} ETH on L1", eth(q.output));
}

#[allow(clippy::too_many_arguments)] // the command's flags
async fn deposit(
    spec: &BridgeSpec,
    l1: &L1Client,
    l2: &L1Client,
    key: &PrivateKeySigner,
    amount: &str,
    to: Option<Address>,
    deadline: u32,
    no_wait: bool,
) -> eyre::Result<()> {
    let input = crate::ether_amount(amount)?;
    let q = quote(spec, l1, input).await?;
    if q.output.is_zero() {
        bail!("the fee ({} ETH) is more than the amount: send more, or use the canonical bridge", eth(q.total));
    }
    if deadline > spec.max_fill_window {
        bail!("--deadline {deadline} is beyond the bridge's limit of {} s", spec.max_fill_window);
    }
    print_quote(&q, spec);
    let have = l2.balance(key.address()).await.wrap_err("reading the balance on the rollup")?;
    if have < input {
        bail!("{} holds {} ETH on the rollup, less than {amount}", key.address(), eth(have));
    }
    let to = to.unwrap_or(key.address());
    let l2_now = l2.header(l2.head().await?).await?.timestamp as u32;
    let spoke = Spoke::new(l2.clone(), spec.spoke);
    let started = Instant::now();
    let (d, r) = spoke
        .deposit(key, to, input, q.output, spec.l1_chain_id, l2_now + deadline)
        .await
        .wrap_err("depositing on the rollup")?;
    println!(
        "deposit {} on the rollup: {} (L2 block {})",
        d.depositId,
        r.transaction_hash,
        r.block_number.unwrap_or_default()
    );
    if no_wait {
        println!("next: `aqueduct fastbridge status --deposit {}`", d.depositId);
        return Ok(());
    }
    let hub = Hub::new(l1.clone(), spec.hub);
    let step = crate::progress::step("waiting for a relayer to fill it on L1");
    let h = relay_hash(&d);
    loop {
        match hub.fill_state(h).await? {
            FillState::Filled { repay_to, .. } => {
                step.done();
                println!(
                    "paid {} ETH to {to} on L1 {:.1} s after the deposit (relayer repaid at {repay_to})",
                    eth(d.outputAmount),
                    started.elapsed().as_secs_f64()
                );
                return Ok(());
            }
            FillState::SlowFillRequested { .. } => {
                step.done();
                println!("a slow fill was requested: paid from the deposit once it reaches L1");
                return Ok(());
            }
            FillState::Unfilled => {}
        }
        let now = l1.header(l1.head().await?).await?.timestamp;
        if now > u64::from(d.fillDeadline) {
            step.done();
            bail!("no relayer filled deposit {} before its deadline: it will be refunded on the rollup", d.depositId);
        }
        step.set(format!(
            "{:.0} s, deadline in {} s",
            started.elapsed().as_secs_f64(),
            u64::from(d.fillDeadline) - now
        ));
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

async fn status(spec: &BridgeSpec, l1: &L1Client, l2: &L1Client, deposit: Option<u64>) -> eyre::Result<()> {
    let hub = Hub::new(l1.clone(), spec.hub);
    let spoke = Spoke::new(l2.clone(), spec.spoke);
    let (made, bridged) = spoke.counts().await?;
    let (delivered, _) = hub.delivered().await?;
    let (value_in, paid) = hub.books().await?;
    let covered = hub.covered_end().await?;
    let bundles = hub.bundle_count().await?;
    if let Some(id) = deposit {
        if id >= made {
            bail!("no deposit {id}: the spoke has {made}");
        }
        let all = spoke.deposits(spec.spoke_block, l2.head().await?).await?;
        let (d, block) = all
            .iter()
            .find(|(d, _)| d.depositId == id)
            .cloned()
            .ok_or_else(|| eyre::eyre!("deposit {id}'s event is not on this L2 endpoint"))?;
        println!(
            "deposit {id}: {} ETH in (L2 block {block}), {} ETH to {} on L1",
            eth(d.inputAmount),
            eth(d.outputAmount),
            d.recipient
        );
        println!("  fill          {:?}", hub.fill_state(relay_hash(&d)).await?);
        println!("  sent to L1    {}", if id < bridged { "yes" } else { "not yet" });
        println!("  delivered     {}", if id < delivered { "yes (past the challenge window)" } else { "not yet" });
        println!("  in a bundle   {}", if id < covered { "yes" } else { "not yet" });
        println!("  settled       {}", if hub.executed(id).await? { "yes" } else { "not yet" });
        return Ok(());
    }
    println!("fast bridge: hub {} (L1), spoke {} (rollup {})", spec.hub, spec.spoke, spec.l2_chain_id);
    println!("  deposits        {made} made, {bridged} sent to L1, {delivered} delivered, {covered} in bundles");
    println!("  books           {} ETH delivered, {} ETH paid out", eth(value_in), eth(paid));
    println!("  bundles         {bundles} (bond {} ETH, liveness {} s)", eth(spec.bond), spec.liveness);
    if bundles > 0 {
        let last = hub.bundle(bundles - 1).await?;
        let left = hub.liveness_left(bundles - 1).await?;
        let state = if last.disputed {
            "disputed".to_string()
        } else if left > 0 {
            format!("{left} s of liveness left")
        } else {
            "accepted".into()
        };
        println!("  last bundle     deposits {}..{}, {state}", last.start, last.end);
    }
    Ok(())
}

/// The devnet's fast bridge: flags of `aqueduct devnet`.
#[derive(Args, Debug, Clone)]
pub struct DevnetFastBridgeArgs {
    /// Leave out the fast bridge and its relayer.
    #[arg(long, env = "AQUEDUCT_NO_FASTBRIDGE", num_args = 0..=1, default_missing_value = "true", value_parser = clap::builder::BoolishValueParser::new())]
    pub no_fastbridge: bool,
    /// Seconds anyone may dispute a refund bundle.
    #[arg(long, default_value_t = 30)]
    pub fastbridge_liveness: u64,
}

/// The devnet's fast bridge and its relayer (dev account 8), running in-process.
pub struct DevnetFastBridge {
    pub halt: Halt,
    cancel: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl DevnetFastBridge {
    pub async fn stop(self) {
        self.cancel.cancel();
        let _ = self.task.await;
    }
}

/// Deploys the fast bridge (or finds it from an earlier run) and starts the devnet's relayer:
/// `urls` are L1's, the sequencer's and the verifier's; `keys` the deployer's and the relayer's.
pub async fn start_devnet_fastbridge(
    root: &Path,
    [l1_url, l2_url, verifier_url]: [&str; 3],
    rollup: &RollupSpec,
    [deployer, relayer]: [&PrivateKeySigner; 2],
    args: &DevnetFastBridgeArgs,
) -> eyre::Result<DevnetFastBridge> {
    let (l1, l2) = (L1Client::new(l1_url)?, L1Client::new(l2_url)?);
    let path = root.join("fastbridge/bridge.json");
    let deployed = |c: Result<alloy::primitives::Bytes, _>| c.is_ok_and(|c: alloy::primitives::Bytes| !c.is_empty());
    let existing = match BridgeSpec::load(&path) {
        Ok(s)
            if s.portal == rollup.rollup.portal
                && deployed(l1.provider().get_code_at(s.hub).await)
                && deployed(l2.provider().get_code_at(s.spoke).await) =>
        {
            Some(s)
        }
        _ => None,
    };
    let spec = match existing {
        Some(s) => s,
        None => {
            let step = crate::progress::step("deploying the fast bridge (hub on L1, spoke on the rollup)");
            let p = DeployParams {
                portal: rollup.rollup.portal,
                oracle: rollup.rollup.oracle,
                challenge_window: rollup.finalization_period,
                bond: U256::from(10u64).pow(U256::from(18)),
                liveness: args.fastbridge_liveness,
                max_fill_window: 600,
            };
            let s = deploy(&l1, &l2, deployer, &p).await.wrap_err("deploying the fast bridge")?;
            s.save(&path)?;
            step.done();
            s
        }
    };
    let verifier = L1Client::new(verifier_url)?;
    let r = Relayer::new(spec.clone(), l1, l2, verifier, RelayerConfig::new(relayer.clone()));
    let (cancel, halt) = (CancellationToken::new(), Halt::new());
    let run = aqueduct_service::run(r, Duration::from_millis(250), cancel.clone(), halt.clone());
    let task = tokio::spawn(async move {
        run.await;
    });
    println!("\nFast bridge (rollup -> L1, after Across)");
    println!("  hub {} (L1)  spoke {} (rollup)  relayer {}", spec.hub, spec.spoke, relayer.address());
    println!("  bundle liveness {} s; `aqueduct fastbridge deposit --amount 1` moves 1 ETH in seconds", spec.liveness);
    Ok(DevnetFastBridge { halt, cancel, task })
}
