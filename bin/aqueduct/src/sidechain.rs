//! `aqueduct sidechain`: an EVM sidechain with its own BFT validators (commonware simplex).
//! `deploy` puts the bridge on L1 and writes the spec, `validator` runs one validator process
//! (JSON-RPC on 127.0.0.1:9550 + i); the other commands are a user's: deposit (lock on L1, minted
//! on the sidechain), withdraw (burn, then paid on L1 against a checkpoint), status.

use std::{
    net::SocketAddr,
    path::PathBuf,
    time::{Duration, Instant},
};

use alloy::{
    primitives::{Address, B256, U256},
    providers::Provider,
    signers::local::PrivateKeySigner,
};
use aqueduct_contracts::sidechain::{CHILD_BRIDGE, ChildBridge};
use aqueduct_eth::L1Client;
use aqueduct_sidechain_node::{
    Layout, SidechainSpec, ValidatorKeys, ValidatorOptions, deploy_sidechain,
    l1::BridgeL1,
    rpc::{SidechainApiClient, sidechain_client},
    start_validator,
};
use clap::{Args, Subcommand};
use eyre::{WrapErr, bail, eyre};

const DEV_KEY: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

#[derive(Args)]
pub struct SidechainArgs {
    /// The L1's JSON-RPC URL.
    #[arg(long, env = "AQUEDUCT_L1_RPC", default_value = "http://127.0.0.1:8545", global = true)]
    l1_rpc: String,
    /// A validator's JSON-RPC (Ethereum and sidechain_*).
    #[arg(long, env = "AQUEDUCT_SIDECHAIN_RPC", default_value = "http://127.0.0.1:9550", global = true)]
    rpc: String,
    /// The sidechain's spec [default: <data-dir>/sidechain/sidechain.json].
    #[arg(long, env = "AQUEDUCT_SIDECHAIN_SPEC", global = true)]
    spec: Option<PathBuf>,
    /// The devnet's data directory.
    #[arg(long, env = "AQUEDUCT_DATA_DIR", default_value = ".aqueduct", global = true)]
    data_dir: PathBuf,
    /// The user's key, on L1 and the sidechain [default: dev account 0].
    #[arg(long, env = "AQUEDUCT_KEY", hide_env_values = true, value_parser = crate::l1_key, default_value = DEV_KEY, hide_default_value = true, global = true)]
    key: PrivateKeySigner,
    #[command(subcommand)]
    command: SidechainCommand,
}

/// Which validator: a dev one by index or a secret.
#[derive(Args)]
pub struct ValidatorKeyArgs {
    /// A dev validator by index (its key derives from it).
    #[arg(long, conflicts_with = "validator_key")]
    dev_index: Option<usize>,
    /// The validator's secp256k1 secret (its consensus key derives from it).
    #[arg(long, env = "AQUEDUCT_VALIDATOR_KEY", hide_env_values = true)]
    validator_key: Option<B256>,
}

impl ValidatorKeyArgs {
    fn secret(&self) -> eyre::Result<B256> {
        match (self.dev_index, self.validator_key) {
            (Some(i), None) => Ok(ValidatorKeys::dev_secret(i)),
            (None, Some(k)) => Ok(k),
            _ => bail!("name the validator: --dev-index I or --validator-key HEX"),
        }
    }
}

#[derive(Subcommand)]
pub enum SidechainCommand {
    /// Deploy the bridge on L1 with dev validators (the --key deploys it and funds their
    /// checkpoint gas) and write the spec every validator starts from.
    Deploy {
        /// How many validators.
        #[arg(long, default_value_t = 4)]
        validators: usize,
        /// The sidechain's chain id.
        #[arg(long, default_value_t = 909)]
        chain_id: u64,
        /// Validator i serves JSON-RPC on this port + i.
        #[arg(long, default_value_t = 9550)]
        rpc_base: u16,
        /// Validator i's consensus listens on this port + i.
        #[arg(long, default_value_t = 9560)]
        p2p_base: u16,
        /// Blocks per checkpoint.
        #[arg(long, default_value_t = 8)]
        checkpoint_interval: u64,
        /// Least milliseconds between blocks.
        #[arg(long, default_value_t = 1000)]
        block_time_ms: u64,
        /// L1 blocks a deposit waits before it is minted.
        #[arg(long, default_value_t = 1)]
        confirmations: u64,
    },
    /// Run one validator process.
    Validator {
        /// A dev validator by index (its key derives from it).
        #[arg(long, conflicts_with = "validator_key")]
        dev_index: Option<usize>,
        /// The validator's secp256k1 secret (its consensus key derives from it).
        #[arg(long, env = "AQUEDUCT_VALIDATOR_KEY", hide_env_values = true)]
        validator_key: Option<B256>,
        /// Where this validator keeps its chain [default: <data-dir>/sidechain/validator-<i>].
        #[arg(long)]
        store: Option<PathBuf>,
        /// JSON-RPC listen address [default: the spec's for this validator].
        #[arg(long)]
        addr: Option<SocketAddr>,
        /// Consensus p2p listen address, for a validator that joins through L1 (`sidechain
        /// join`) [default: the spec's for this validator].
        #[arg(long)]
        p2p: Option<SocketAddr>,
        /// Do not post checkpoints to L1 (sign and share them only).
        #[arg(long)]
        no_submit: bool,
        /// Exit when the process with this id does (a devnet's child).
        #[arg(long)]
        exit_with: Option<u32>,
    },
    /// Ask L1 to add a validator at the next checkpoint: bond its stake and announce its
    /// consensus key and addresses (the --key tops up the validator's L1 balance if needed).
    /// Start it with `sidechain validator --p2p ADDR --addr ADDR` before or after.
    Join {
        #[command(flatten)]
        who: ValidatorKeyArgs,
        /// Where its consensus p2p listens.
        #[arg(long)]
        p2p: SocketAddr,
        /// Its Ethereum JSON-RPC address.
        #[arg(long)]
        addr: SocketAddr,
        /// Stake bonded, in ether.
        #[arg(long, value_parser = crate::ether_arg, default_value = "1")]
        stake: String,
    },
    /// Ask L1 to remove a validator at the next checkpoint (its bond is returned then).
    Leave {
        #[command(flatten)]
        who: ValidatorKeyArgs,
    },
    /// Lock ETH (or an L1 ERC-20 with --token) on L1 and wait until it is minted on the sidechain.
    Deposit {
        /// Amount in ether (or whole tokens, 18 decimals).
        #[arg(long, value_parser = crate::ether_arg)]
        amount: String,
        /// An L1 ERC-20 instead of ETH (approved, then locked).
        #[arg(long)]
        token: Option<Address>,
        /// Who receives it on the sidechain [default: you].
        #[arg(long)]
        to: Option<Address>,
        /// Return once L1 holds the deposit.
        #[arg(long)]
        no_wait: bool,
    },
    /// Burn on the sidechain and take it on L1 once its checkpoint is there.
    Withdraw {
        /// Amount in ether (or whole tokens, 18 decimals).
        #[arg(long, value_parser = crate::ether_arg)]
        amount: String,
        /// A child token (on the sidechain) instead of ETH.
        #[arg(long)]
        token: Option<Address>,
        /// Who is paid on L1 [default: you].
        #[arg(long)]
        to: Option<Address>,
        /// Seconds to wait for the checkpoint.
        #[arg(long, default_value_t = 600)]
        timeout: u64,
    },
    /// The validator's progress, checkpoints and evidence, and the bridge's funds on L1.
    Status,
}

fn spec_path(args: &SidechainArgs) -> PathBuf {
    args.spec.clone().unwrap_or_else(|| args.data_dir.join("sidechain/sidechain.json"))
}

fn load_spec(args: &SidechainArgs) -> eyre::Result<SidechainSpec> {
    let p = spec_path(args);
    SidechainSpec::load(&p)
        .wrap_err_with(|| format!("no sidechain spec at {} (is the devnet running, or pass --spec)", p.display()))
}

pub async fn run(args: SidechainArgs) -> eyre::Result<()> {
    match &args.command {
        SidechainCommand::Deploy {
            validators,
            chain_id,
            rpc_base,
            p2p_base,
            checkpoint_interval,
            block_time_ms,
            confirmations,
        } => {
            let l1 = L1Client::new(&args.l1_rpc)?;
            let mut layout = Layout::dev(*validators, *rpc_base, *p2p_base);
            layout.chain_id = *chain_id;
            layout.checkpoint_interval = *checkpoint_interval;
            layout.block_time_ms = *block_time_ms;
            layout.l1_confirmations = *confirmations;
            let spec = deploy_sidechain(&l1, &args.key, &layout).await.wrap_err("deploying the sidechain bridge")?;
            let path = spec_path(&args);
            if let Some(d) = path.parent() {
                std::fs::create_dir_all(d)?;
            }
            spec.save(&path)?;
            println!("sidechain {} bridge {} on L1; spec {}", spec.chain_id, spec.bridge, path.display());
            for (i, v) in spec.validators.iter().enumerate() {
                println!("  validator {i}: signer {} rpc {} p2p {}", v.signer, v.rpc, v.p2p);
            }
        }
        SidechainCommand::Validator { dev_index, validator_key, store, addr, p2p, no_submit, exit_with } => {
            let spec = load_spec(&args)?;
            let secret = ValidatorKeyArgs { dev_index: *dev_index, validator_key: *validator_key }.secret()?;
            let me = ValidatorKeys::from_secret(&secret)?.signer.address();
            let index = spec.index_of(me);
            let rpc_addr = match (addr, index) {
                (Some(a), _) => *a,
                (None, Some(i)) => {
                    spec.validators[i].rpc.trim_start_matches("http://").parse().wrap_err("the spec's rpc address")?
                }
                (None, None) => bail!("{me} is not in the spec (it joins through L1): give --addr and --p2p"),
            };
            let name = index.map(|i| i.to_string()).unwrap_or_else(|| me.to_string());
            let data_dir = store.clone().unwrap_or_else(|| args.data_dir.join(format!("sidechain/validator-{name}")));
            let v = start_validator(ValidatorOptions {
                spec,
                secret,
                data_dir,
                rpc_addr,
                l1_rpc: args.l1_rpc.clone(),
                submit_checkpoints: !no_submit,
                p2p_addr: *p2p,
            })
            .await?;
            println!("sidechain validator {name} ({me}) on http://{}", v.rpc_addr);
            let parent_gone = async {
                match exit_with {
                    Some(pid) => {
                        while std::path::Path::new(&format!("/proc/{pid}")).exists() {
                            tokio::time::sleep(Duration::from_millis(500)).await;
                        }
                    }
                    None => std::future::pending().await,
                }
            };
            let failed = tokio::select! {
                _ = tokio::signal::ctrl_c() => None,
                _ = parent_gone => None,
                why = v.stopped() => why,
            };
            v.stop().await;
            if let Some(why) = failed {
                return Err(eyre!(why));
            }
        }
        SidechainCommand::Join { who, p2p, addr, stake } => {
            let spec = load_spec(&args)?;
            let keys = ValidatorKeys::from_secret(&who.secret()?)?;
            let me = keys.signer.address();
            let l1 = L1Client::new(&args.l1_rpc)?;
            let stake = crate::ether_amount(stake)?;
            let signer = PrivateKeySigner::from_bytes(&who.secret()?)?;
            // The bond and the gas come from the validator's own L1 account.
            let need = stake + U256::from(10u64.pow(17));
            let have = l1.provider().get_balance(me).await?;
            if have < need {
                let tx = alloy::rpc::types::TransactionRequest::default().to(me).value(need - have).gas_limit(21_000);
                l1.transact(&args.key, tx).await.wrap_err("funding the validator on L1")?;
            }
            let info = aqueduct_sidechain_node::ValidatorInfo {
                signer: me,
                consensus_key: keys.consensus_key_hex(),
                p2p: *p2p,
                rpc: format!("http://{addr}"),
            };
            let sent = BridgeL1::new(l1, spec.bridge).request_join(&signer, stake, &info).await?;
            println!(
                "{me} asked to join with {} ETH in {} (block {}): it joins the set when the next checkpoint is accepted, and orders blocks from the checkpoint boundary after",
                crate::format_ether(stake),
                sent.tx,
                sent.l1_block
            );
        }
        SidechainCommand::Leave { who } => {
            let spec = load_spec(&args)?;
            let signer = PrivateKeySigner::from_bytes(&who.secret()?)?;
            let sent = BridgeL1::new(L1Client::new(&args.l1_rpc)?, spec.bridge).request_leave(&signer).await?;
            println!(
                "{} asked to leave in {} (block {}): it leaves the set when the next checkpoint is accepted",
                signer.address(),
                sent.tx,
                sent.l1_block
            );
        }
        SidechainCommand::Deposit { amount, token, to, no_wait } => {
            let spec = load_spec(&args)?;
            let bridge = BridgeL1::new(L1Client::new(&args.l1_rpc)?, spec.bridge);
            let amount = crate::ether_amount(amount)?;
            let to = to.unwrap_or(args.key.address());
            let started = Instant::now();
            let (nonce, sent) = bridge.deposit(&args.key, token.unwrap_or(Address::ZERO), to, amount).await?;
            println!("deposit {nonce} locked on L1 in {} (block {}, {} gas)", sent.tx, sent.l1_block, sent.gas);
            if !no_wait {
                let rpc = sidechain_client(&args.rpc)?;
                wait_for(Duration::from_secs(300), || async {
                    Ok(rpc.status().await?.progress.deposits_minted > nonce)
                })
                .await
                .wrap_err("waiting for the validators to mint the deposit")?;
                println!("minted on the sidechain after {:.1} s", started.elapsed().as_secs_f64());
            }
        }
        SidechainCommand::Withdraw { amount, token, to, timeout } => {
            let spec = load_spec(&args)?;
            let amount = crate::ether_amount(amount)?;
            let to = to.unwrap_or(args.key.address());
            let side = L1Client::new(&args.rpc)?;
            let child = ChildBridge::new(CHILD_BRIDGE, side.provider());
            let tx = match token {
                None => child.withdraw(to).value(amount).gas(100_000).into_transaction_request(),
                Some(t) => child.withdrawToken(*t, to, amount).gas(150_000).into_transaction_request(),
            };
            let started = Instant::now();
            let r = side.transact(&args.key, tx).await.wrap_err("burning on the sidechain")?;
            println!("burned on the sidechain in {} (block {})", r.transaction_hash, r.block_number.unwrap_or(0));
            let rpc = sidechain_client(&args.rpc)?;
            let end = Instant::now() + Duration::from_secs(*timeout);
            let p = loop {
                if let Ok(Some(p)) = rpc.withdrawal_proof(r.transaction_hash).await
                    && p.on_l1
                {
                    break p;
                }
                if Instant::now() > end {
                    bail!("the withdrawal's checkpoint is not on L1 after {timeout} s");
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
            };
            println!("checkpoint {} on L1 after {:.1} s", p.checkpoint, started.elapsed().as_secs_f64());
            let bridge = BridgeL1::new(L1Client::new(&args.l1_rpc)?, spec.bridge);
            let sent = bridge.withdraw(&args.key, p.checkpoint, &p.withdrawal, p.index, p.proof).await?;
            println!(
                "paid {} to {} on L1 in {} ({} gas), {:.1} s after the burn",
                crate::format_ether(p.withdrawal.amount),
                p.withdrawal.recipient,
                sent.tx,
                sent.gas,
                started.elapsed().as_secs_f64()
            );
        }
        SidechainCommand::Status => {
            let rpc = sidechain_client(&args.rpc)?;
            let s = rpc.status().await.wrap_err_with(|| format!("asking {} for its status", args.rpc))?;
            println!("{}", serde_json::to_string_pretty(&s)?);
            if let Ok(spec) = load_spec(&args) {
                let bridge = BridgeL1::new(L1Client::new(&args.l1_rpc)?, spec.bridge);
                let funds: U256 = bridge.funds(Address::ZERO).await?;
                println!("bridge {} holds {} ETH locked", spec.bridge, crate::format_ether(funds));
            }
        }
    }
    Ok(())
}

/// Polls `check` every 250 ms until it holds or `timeout` passes.
async fn wait_for<F, Fut>(timeout: Duration, mut check: F) -> eyre::Result<()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = eyre::Result<bool>>,
{
    let end = Instant::now() + timeout;
    loop {
        match check().await {
            Ok(true) => return Ok(()),
            Ok(false) => {}
            Err(e) if Instant::now() > end => return Err(e),
            Err(_) => {}
        }
        if Instant::now() > end {
            bail!("not done after {} s", timeout.as_secs());
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// The devnet's sidechain flags.
#[derive(Args, Debug)]
pub struct DevnetSidechainArgs {
    /// Leave out the sidechain (`--no-sidechain=false` keeps it where the environment says
    /// otherwise).
    #[arg(long, env = "AQUEDUCT_NO_SIDECHAIN", num_args = 0..=1, default_missing_value = "true", value_parser = clap::builder::BoolishValueParser::new())]
    pub no_sidechain: bool,
    /// Sidechain validators (processes) when first deployed.
    #[arg(long, default_value_t = 4)]
    pub sidechain_validators: usize,
    /// Sidechain validator i serves JSON-RPC on this port + i.
    #[arg(long, default_value_t = 9550)]
    pub sidechain_rpc_base: u16,
    /// Sidechain validator i's consensus listens on this port + i.
    #[arg(long, default_value_t = 9560)]
    pub sidechain_p2p_base: u16,
}

impl DevnetSidechainArgs {
    /// Every address the validators will listen on, for the devnet's check before it starts.
    pub fn addresses(&self) -> Vec<(&'static str, SocketAddr)> {
        (0..self.sidechain_validators as u16)
            .flat_map(|i| {
                let at = |port: u16| SocketAddr::from(([127, 0, 0, 1], port + i));
                [
                    ("a sidechain validator (--sidechain-rpc-base)", at(self.sidechain_rpc_base)),
                    ("a sidechain validator (--sidechain-p2p-base)", at(self.sidechain_p2p_base)),
                ]
            })
            .collect()
    }
}

/// The devnet's sidechain: its validators as child processes of the devnet.
pub struct DevnetSidechain {
    children: Vec<tokio::process::Child>,
    pub halt: aqueduct_service::Halt,
    watch: tokio::task::JoinHandle<()>,
}

impl DevnetSidechain {
    /// Stops the validators (Ctrl-C each, then waits).
    pub async fn stop(mut self) {
        self.watch.abort();
        for c in &mut self.children {
            if let Some(pid) = c.id() {
                let _ = tokio::process::Command::new("kill").args(["-INT", &pid.to_string()]).status().await;
            }
        }
        for c in &mut self.children {
            if tokio::time::timeout(Duration::from_secs(10), c.wait()).await.is_err() {
                let _ = c.kill().await;
            }
        }
    }
}

/// Deploys the sidechain's bridge once (kept in `<root>/sidechain/sidechain.json`) and runs
/// `validators` validator processes, each exiting with the devnet.
pub async fn start_devnet_sidechain(
    root: &std::path::Path,
    l1_url: &str,
    deployer: &PrivateKeySigner,
    args: &DevnetSidechainArgs,
) -> eyre::Result<DevnetSidechain> {
    let (validators, rpc_base, p2p_base) =
        (args.sidechain_validators, args.sidechain_rpc_base, args.sidechain_p2p_base);
    let dir = root.join("sidechain");
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("sidechain.json");
    let l1 = L1Client::new(l1_url)?;
    let reuse = match SidechainSpec::load(&path) {
        Ok(s) => {
            let code = l1.provider().get_code_at(s.bridge).await.unwrap_or_default();
            (!code.is_empty() && s.validators.len() == validators).then_some(s)
        }
        Err(_) => None,
    };
    let spec = match reuse {
        Some(s) => s,
        None => {
            // A new bridge means a new chain: the validators' old chains go.
            for i in 0..validators.max(16) {
                let _ = std::fs::remove_dir_all(dir.join(format!("validator-{i}")));
            }
            let layout = Layout::dev(validators, rpc_base, p2p_base);
            let s = deploy_sidechain(&l1, deployer, &layout).await.wrap_err("deploying the sidechain bridge")?;
            s.save(&path)?;
            s
        }
    };
    let exe = std::env::current_exe()?;
    let parent = std::process::id().to_string();
    let mut children = Vec::new();
    for i in 0..validators {
        let log = std::fs::File::create(dir.join(format!("validator-{i}.log")))?;
        let child = tokio::process::Command::new(&exe)
            .args(["sidechain", "--l1-rpc", l1_url, "--data-dir"])
            .arg(root)
            .args(["validator", "--dev-index", &i.to_string(), "--exit-with", &parent])
            .stdout(log.try_clone()?)
            .stderr(log)
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .wrap_err("starting a sidechain validator")?;
        children.push(child);
    }
    for (i, v) in spec.validators.iter().enumerate() {
        let rpc = sidechain_client(&v.rpc)?;
        let end = Instant::now() + Duration::from_secs(60);
        while rpc.status().await.is_err() {
            if Instant::now() > end {
                bail!(
                    "sidechain validator {i} did not answer on {} (see {})",
                    v.rpc,
                    dir.join(format!("validator-{i}.log")).display()
                );
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    let halt = aqueduct_service::Halt::new();
    let pids: Vec<Option<u32>> = children.iter().map(|c| c.id()).collect();
    let h = halt.clone();
    let watch = tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_millis(500)).await;
            for (i, pid) in pids.iter().enumerate() {
                if let Some(pid) = pid
                    && !std::path::Path::new(&format!("/proc/{pid}")).exists()
                {
                    h.halt(format!(
                        "sidechain validator {i} exited (see its log under the data directory's sidechain/)"
                    ));
                    return;
                }
            }
        }
    });
    println!(
        "\nSidechain (chain id {}, {} validators, commonware simplex, checkpoints every {} blocks)",
        spec.chain_id, validators, spec.checkpoint_interval
    );
    for (i, v) in spec.validators.iter().enumerate() {
        println!(
            "  validator {i} JSON-RPC  {}  (eth_*, sidechain_status, sidechain_checkpoint, sidechain_withdrawalProof)",
            v.rpc
        );
    }
    println!("  L1 bridge           {}", spec.bridge);
    println!("  try                 aqueduct sidechain deposit --amount 1; aqueduct sidechain status");
    Ok(DevnetSidechain { children, halt, watch })
}
