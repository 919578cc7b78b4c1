//! `aqueduct plasma`: the MoreVP plasma chain. `deploy` puts the root contract on L1, `operator`
//! runs the operator (JSON-RPC on 127.0.0.1:9548), `watcher` runs a user's watcher; the other
//! commands are the user's: deposit, transfer, exit, challenge, process, status.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use alloy::{
    primitives::{Address, B256},
    signers::local::PrivateKeySigner,
};
use aqueduct_eth::L1Client;
use aqueduct_plasma_node::{
    Operator, OperatorConfig, PlasmaApiClient, PlasmaL1, PlasmaParams, PlasmaSpec, Wallet, Watcher, WatcherConfig,
    deploy_plasma, plasma_client, serve_operator,
};
use aqueduct_plasma_protocol::Position;
use aqueduct_service::{CancellationToken, Halt};
use clap::{Args, Subcommand};
use eyre::{WrapErr, eyre};

const DEV_KEY: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

#[derive(Args)]
pub struct PlasmaArgs {
    /// The L1's JSON-RPC URL.
    #[arg(long, env = "AQUEDUCT_L1_RPC", default_value = "http://127.0.0.1:8545", global = true)]
    l1_rpc: String,
    /// The operator's JSON-RPC.
    #[arg(long, env = "AQUEDUCT_PLASMA_RPC", default_value = "http://127.0.0.1:9548", global = true)]
    rpc: String,
    /// The plasma contract on L1 [default: the one in <data-dir>/plasma/plasma.json].
    #[arg(long, env = "AQUEDUCT_PLASMA_CONTRACT", global = true)]
    contract: Option<Address>,
    /// The devnet's data directory (where its plasma.json is).
    #[arg(long, env = "AQUEDUCT_DATA_DIR", default_value = ".aqueduct", global = true)]
    data_dir: PathBuf,
    /// The user's L1 key [default: dev account 0].
    #[arg(long, env = "AQUEDUCT_KEY", hide_env_values = true, value_parser = crate::l1_key, default_value = DEV_KEY, hide_default_value = true, global = true)]
    key: PrivateKeySigner,
    #[command(subcommand)]
    command: PlasmaCommand,
}

#[derive(Subcommand)]
pub enum PlasmaCommand {
    /// Deploy a plasma contract on L1 (the --key deploys it) and print its address.
    Deploy {
        /// Who may submit blocks [default: the deployer].
        #[arg(long)]
        operator: Option<Address>,
        /// Seconds an exit waits at least (604800 on mainnet settings).
        #[arg(long, default_value_t = 60)]
        exit_period: u64,
    },
    /// Run the operator (the --key submits its blocks).
    Operator(Box<OperatorArgs>),
    /// Run a watcher for the --key's user: verifies every block, exits when the operator cheats
    /// or withholds, challenges what it can refute, processes due exits.
    Watcher {
        /// Seconds a block's data may be missing before the block counts as withheld.
        #[arg(long, default_value_t = 10)]
        grace: u64,
        /// Where the user's sent payments are kept [default: <data-dir>/plasma/wallet/<address>].
        #[arg(long)]
        wallet: Option<PathBuf>,
        /// Milliseconds between rounds.
        #[arg(long, default_value_t = 500)]
        poll_ms: u64,
    },
    /// Deposit ETH (or an ERC-20 with --token) into the plasma chain.
    Deposit {
        /// Amount in ether (or whole tokens, 18 decimals).
        #[arg(long, value_parser = crate::ether_arg)]
        amount: String,
        /// An L1 ERC-20 instead of ETH (approved, then deposited).
        #[arg(long)]
        token: Option<Address>,
    },
    /// Pay `--to` from your outputs (change comes back to you).
    Transfer {
        /// The recipient's address.
        #[arg(long)]
        to: Address,
        /// Amount in ether (or whole tokens, 18 decimals).
        #[arg(long, value_parser = crate::ether_arg)]
        amount: String,
        /// The ERC-20 to pay in instead of ETH.
        #[arg(long)]
        token: Option<Address>,
        /// Wait until a block holds it and print its position.
        #[arg(long)]
        wait: bool,
        /// Where the payment is kept for your watcher [default: <data-dir>/plasma/wallet/<address>].
        #[arg(long)]
        wallet: Option<PathBuf>,
    },
    /// Start a standard exit of one of your outputs (a position from `status`), or of all of them.
    Exit {
        /// The output's position (block × 10^9 + tx × 10^4 + output).
        #[arg(long, conflicts_with = "all")]
        position: Option<u64>,
        /// Exit every output you hold.
        #[arg(long)]
        all: bool,
    },
    /// Challenge an exit if the chain refutes it (a spend of its output, or an unsigned input).
    Challenge {
        /// The standard exit's id (from its ExitStarted event or `status`).
        #[arg(long)]
        exit: u64,
    },
    /// Pay the exits that are due, for the bounty.
    Process {
        /// The token whose queue to process [default: ETH].
        #[arg(long)]
        token: Option<Address>,
        /// Most exits paid in this call.
        #[arg(long, default_value_t = 20)]
        max: u64,
    },
    /// The operator's numbers, the contract's settings and your outputs.
    Status,
}

#[derive(Args)]
pub struct OperatorArgs {
    /// JSON-RPC listen address.
    #[arg(long, default_value = "127.0.0.1:9548")]
    addr: SocketAddr,
    /// The operator's store [default: <data-dir>/plasma/operator.redb].
    #[arg(long)]
    store: Option<PathBuf>,
    /// Milliseconds between blocks (a block is made only when payments wait).
    #[arg(long, default_value_t = 1000)]
    block_ms: u64,
    /// Most payments in a block (at most 65,536).
    #[arg(long, default_value_t = 65_536)]
    max_block_txs: usize,
    /// Attack: serve no data of child blocks from this number on.
    #[arg(long)]
    withhold_from: Option<u64>,
    /// Attack: include a theft of the largest output in the next block.
    #[arg(long)]
    steal: bool,
}

fn contract(args: &PlasmaArgs) -> eyre::Result<Address> {
    if let Some(c) = args.contract {
        return Ok(c);
    }
    let path = args.data_dir.join("plasma/plasma.json");
    let text = std::fs::read_to_string(&path)
        .wrap_err_with(|| format!("no --contract, and {} cannot be read (is the devnet running?)", path.display()))?;
    let spec: PlasmaSpec =
        serde_json::from_str(&text).wrap_err_with(|| format!("{} does not parse", path.display()))?;
    Ok(spec.contract)
}

fn token_or_eth(t: Option<Address>) -> Address {
    t.unwrap_or(Address::ZERO)
}

fn wallet_dir(args: &PlasmaArgs, given: &Option<PathBuf>) -> PathBuf {
    given.clone().unwrap_or_else(|| args.data_dir.join("plasma/wallet").join(args.key.address().to_string()))
}

pub async fn run(args: PlasmaArgs) -> eyre::Result<()> {
    let l1 = L1Client::new(&args.l1_rpc)?;
    if let PlasmaCommand::Deploy { operator, exit_period } = &args.command {
        let params = PlasmaParams::devnet(operator.unwrap_or(args.key.address()), *exit_period);
        let c = deploy_plasma(&l1, &args.key, &params).await.wrap_err("deploying the plasma contract")?;
        println!("{c}");
        return Ok(());
    }
    let contract = contract(&args)?;
    let chain = PlasmaL1::new(l1.clone(), contract, args.key.clone());
    let wallet = |dir: Option<PathBuf>| -> eyre::Result<Wallet> {
        Ok(Wallet { chain: chain.clone(), operator: plasma_client(&args.rpc)?, operator_url: args.rpc.clone(), dir })
    };
    match &args.command {
        PlasmaCommand::Deploy { .. } => unreachable!("handled above"),
        PlasmaCommand::Operator(o) => {
            let store = o.store.clone().unwrap_or_else(|| args.data_dir.join("plasma/operator.redb"));
            let config =
                OperatorConfig { max_block_txs: o.max_block_txs, withhold_from: o.withhold_from, steal: o.steal };
            let op = Operator::open(l1, args.key.clone(), contract, config, &store).await?;
            let svc = serve_operator(op, o.addr, Duration::from_millis(o.block_ms), Duration::from_millis(200)).await?;
            println!("plasma operator {} for {contract} on http://{}", args.key.address(), svc.rpc_addr);
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = svc.halt.halted() => {}
            }
            let why = svc.halt.why().map(str::to_string);
            svc.stop().await;
            if let Some(why) = why {
                return Err(eyre!(why));
            }
        }
        PlasmaCommand::Watcher { grace, wallet: w, poll_ms } => {
            let dir = wallet_dir(&args, w);
            let config = WatcherConfig { grace: Duration::from_secs(*grace), ..Default::default() };
            let watcher =
                Watcher::new(chain.clone(), plasma_client(&args.rpc)?, config).await?.with_wallet(dir.clone());
            let report = watcher.report();
            println!("watching {contract} for {} (wallet {})", args.key.address(), dir.display());
            let (cancel, halt) = (CancellationToken::new(), Halt::new());
            let task = tokio::spawn(aqueduct_service::run(
                watcher,
                Duration::from_millis(*poll_ms),
                cancel.clone(),
                halt.clone(),
            ));
            let mut last = None;
            loop {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => break,
                    _ = halt.halted() => break,
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                }
                let r = report.lock().await.clone();
                if last.as_ref() != Some(&r) {
                    println!("{}", serde_json::to_string(&r)?);
                    last = Some(r);
                }
            }
            cancel.cancel();
            let _ = task.await;
            if let Some(why) = halt.why() {
                return Err(eyre!(why.to_string()));
            }
        }
        PlasmaCommand::Deposit { amount, token } => {
            let (block, sent) = chain.deposit(token_or_eth(*token), crate::ether_amount(amount)?).await?;
            let position = Position::new(block, 0, 0)?;
            println!(
                "deposited in block {block}: your output is at position {} (L1 tx {}, {} gas)",
                position.0, sent.tx, sent.gas
            );
            // The operator reads deposits from L1: wait until it holds this one, so a transfer
            // right after finds it.
            let rpc = plasma_client(&args.rpc)?;
            let me = args.key.address();
            let mut seen = false;
            for _ in 0..300 {
                if rpc.get_utxos(me).await.is_ok_and(|u| u.iter().any(|u| u.position == position)) {
                    seen = true;
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            if !seen {
                eprintln!(
                    "the operator at {} has not seen the deposit after 30 s (it will once it reads L1)",
                    args.rpc
                );
            }
        }
        PlasmaCommand::Transfer { to, amount, token, wait, wallet: w } => {
            let wallet = wallet(Some(wallet_dir(&args, w)))?;
            let tx = wallet.transfer(*to, token_or_eth(*token), crate::ether_amount(amount)?).await?;
            let hash = tx.tx.hash();
            println!("sent {hash}");
            if *wait {
                let pos = wait_for(&wallet, hash).await?;
                println!("included in block {} (its root on L1) at position {} (output 0)", pos.block(), pos.0);
            }
        }
        PlasmaCommand::Exit { position, all } => {
            let wallet = wallet(None)?;
            let positions: Vec<Position> = match (position, all) {
                (Some(p), _) => vec![Position(*p)],
                (None, true) => wallet.utxos().await?.into_iter().map(|u| u.position).collect(),
                (None, false) => return Err(eyre!("give --position P (from `aqueduct plasma status`) or --all")),
            };
            if positions.is_empty() {
                println!("no outputs to exit");
            }
            let period = chain.params().await?.min_exit_period;
            for p in positions {
                let id = wallet.exit(p).await.wrap_err_with(|| format!("exiting {}", p.0))?;
                println!("exit {id} started for position {} (paid after the exit period, {period} s at least)", p.0);
            }
        }
        PlasmaCommand::Challenge { exit } => match wallet(None)?.challenge(*exit).await? {
            Some(s) => println!("exit {exit} challenged (L1 tx {}, {} gas); its bond is yours", s.tx, s.gas),
            None => println!("exit {exit}: nothing in the chain refutes it"),
        },
        PlasmaCommand::Process { token, max } => {
            let token = token_or_eth(*token);
            match chain.next_exit(token).await? {
                Some((at, _, _)) if at <= chain.now().await? => {
                    let s = chain.process(token, *max).await?;
                    println!("processed due exits (L1 tx {}, {} gas)", s.tx, s.gas);
                }
                Some((at, _, id)) => println!("the next exit ({id}) is due at L1 time {at}"),
                None => println!("no exits waiting"),
            }
        }
        PlasmaCommand::Status => {
            let p = chain.params().await?;
            let rpc = plasma_client(&args.rpc)?;
            let st = rpc.status().await.wrap_err_with(|| format!("asking the operator at {}", args.rpc))?;
            println!("plasma contract  {contract}  (operator {}, exit period {} s)", st.operator, p.min_exit_period);
            println!(
                "blocks {} (last {}), deposits {}, payments waiting {}, outputs {}",
                st.blocks, st.last_block, st.deposits, st.pending, st.utxos
            );
            let mine = rpc.get_utxos(args.key.address()).await?;
            println!("{} holds {} outputs:", args.key.address(), mine.len());
            for u in mine {
                let token =
                    if u.output.token == Address::ZERO { "ETH".to_string() } else { u.output.token.to_string() };
                println!("  position {}  {} wei of {token}", u.position.0, u.output.amount);
            }
            if let Some((at, pos, id)) = chain.next_exit(Address::ZERO).await? {
                println!("next ETH exit: {id} (position {pos}) due at L1 time {at}");
            }
        }
    }
    Ok(())
}

/// Waits until payment `hash` is in a block whose root L1 holds.
async fn wait_for(wallet: &Wallet, hash: B256) -> eyre::Result<Position> {
    for _ in 0..600 {
        if let Some(p) = wallet.position_of(hash).await?
            && wallet.chain.root(p.block()).await? != B256::ZERO
        {
            return Ok(p);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(eyre!("{hash} was not in a block on L1 within a minute"))
}

/// Starts the devnet's plasma chain (`aqueduct_plasma_node::start_plasma_stack`) and says where it is.
pub async fn start_devnet_plasma(
    dir: PathBuf,
    addr: SocketAddr,
    exit_period: u64,
    l1_url: &str,
    deployer: &PrivateKeySigner,
    operator_key: &PrivateKeySigner,
) -> eyre::Result<aqueduct_plasma_node::PlasmaService> {
    let o = aqueduct_plasma_node::PlasmaStackOptions {
        dir,
        rpc_addr: addr,
        exit_period,
        block_interval: Duration::from_secs(1),
    };
    let (svc, spec) = aqueduct_plasma_node::start_plasma_stack(&o, l1_url, deployer, operator_key).await?;
    println!("\nPlasma (MoreVP, exit period {} s)", spec.min_exit_period);
    println!(
        "  operator JSON-RPC   http://{}  (plasma_status, plasma_sendTransaction, plasma_getBlock, plasma_getInclusion, plasma_getUtxos)",
        svc.rpc_addr
    );
    println!("  L1 contract         {}   operator {}", spec.contract, operator_key.address());
    println!("  try                 aqueduct plasma deposit --amount 1; aqueduct plasma status");
    Ok(svc)
}
