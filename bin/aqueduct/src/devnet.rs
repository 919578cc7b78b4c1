//! `aqueduct devnet`: the embedded L1 (or an external one) and the optimistic rollup on it.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    time::Duration,
};

use alloy::signers::local::PrivateKeySigner;
use aqueduct_l1::{DEV_MNEMONIC, Devnet, L1Config, dev_signers};
use aqueduct_rollup_node::{DataMode, Rollup};
use aqueduct_rollup_protocol::Compressor;
use clap::Args;
use eyre::{WrapErr, bail};

pub const ETH: u128 = 1_000_000_000_000_000_000;

/// Waits for Ctrl-C, or for one of `halts` to stop (D13: Critical — a chain whose store failed,
/// a verifier whose L1 anchor is gone, a ZK operator that could not store a block), which is an
/// error that says what stopped and what to do.
pub async fn until_stopped(halts: Vec<aqueduct_service::Halt>) -> eyre::Result<()> {
    let any = tokio_util::sync::CancellationToken::new();
    for h in &halts {
        let (h, any) = (h.clone(), any.clone());
        tokio::spawn(async move {
            h.halted().await;
            any.cancel();
        });
    }
    tokio::select! {
        r = tokio::signal::ctrl_c() => r.wrap_err("waiting for Ctrl-C"),
        _ = any.cancelled() => {
            let why = halts.iter().find_map(|h| h.why()).unwrap_or("a service stopped");
            Err(eyre::eyre!("{why}"))
        }
    }
}

#[derive(Args, Debug)]
pub struct DevnetArgs {
    /// TOML file with an `[l1]` table (keys as in L1Config: chain_id, block_time, gas_limit, …)
    /// and a `[rollup]` table (l2_chain_id, block_time_ms, seq_window, challenge_window, …).
    #[arg(long, env = "AQUEDUCT_CONFIG")]
    config: Option<PathBuf>,
    /// L1 JSON-RPC listen address (HTTP and WebSocket) [default: 127.0.0.1:8545, or `[l1]
    /// rpc_addr` in --config].
    #[arg(long, env = "AQUEDUCT_L1_ADDR")]
    addr: Option<SocketAddr>,
    /// L1 JSON-RPC port on 127.0.0.1 (shortcut for --addr) [default: 8545].
    #[arg(long, short, env = "AQUEDUCT_L1_PORT")]
    port: Option<u16>,
    /// Seconds between L1 blocks; 0 mines as soon as transactions arrive [default: 12].
    #[arg(long, env = "AQUEDUCT_L1_BLOCK_TIME")]
    block_time: Option<f64>,
    /// L1 block gas limit [default: 30000000].
    #[arg(long, env = "AQUEDUCT_L1_GAS_LIMIT")]
    gas_limit: Option<u64>,
    /// L1 chain id [default: 31337, as anvil].
    #[arg(long, env = "AQUEDUCT_L1_CHAIN_ID")]
    chain_id: Option<u64>,
    /// Where everything is stored (L1 in `<dir>/l1`, the rollup in `<dir>/rollup`); a restart
    /// resumes from it [default: .aqueduct].
    #[arg(long, env = "AQUEDUCT_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Delete the chains and deployments in the data directory and start from genesis (the ZK
    /// proving-key cache, which depends only on the circuit, is kept). Refused while another
    /// process uses the directory.
    #[arg(long)]
    fresh: bool,
    /// Run the L1 alone, without any rollup.
    #[arg(long)]
    no_rollup: bool,
    /// Leave out the optimistic rollup.
    #[arg(long)]
    no_optimistic: bool,
    /// Leave out the ZK rollup.
    #[arg(long)]
    no_zk: bool,
    /// Leave out the plasma chain (`--no-plasma=false` keeps it where the environment says
    /// otherwise).
    #[arg(long, env = "AQUEDUCT_NO_PLASMA", num_args = 0..=1, default_missing_value = "true", value_parser = clap::builder::BoolishValueParser::new())]
    no_plasma: bool,
    #[command(flatten)]
    sidechain: crate::sidechain::DevnetSidechainArgs,
    #[command(flatten)]
    fastbridge: crate::fastbridge::DevnetFastBridgeArgs,
    #[command(flatten)]
    interop: crate::interop::DevnetInteropArgs,
    #[command(flatten)]
    l3: crate::l3::DevnetL3Args,
    /// The plasma operator's JSON-RPC.
    #[arg(long, env = "AQUEDUCT_PLASMA_ADDR", default_value = "127.0.0.1:9548")]
    plasma_addr: SocketAddr,
    /// Seconds a plasma exit waits at least (used when first deployed) [default: 60].
    #[arg(long, env = "AQUEDUCT_PLASMA_EXIT_PERIOD", default_value_t = 60)]
    plasma_exit_period: u64,
    /// The ZK operator's JSON-RPC.
    #[arg(long, env = "AQUEDUCT_ZK_ADDR", default_value = "127.0.0.1:9546")]
    zk_addr: SocketAddr,
    /// ZK circuit: transaction slots a block [default: 8].
    #[arg(long, env = "AQUEDUCT_ZK_SLOTS")]
    zk_slots: Option<usize>,
    /// ZK circuit: levels of the 4-ary account tree [default: 12, 2^24 accounts].
    #[arg(long, env = "AQUEDUCT_ZK_ACCOUNT_LEVELS")]
    zk_account_levels: Option<usize>,
    /// Settle on this Ethereum JSON-RPC node (anvil, a testnet…) instead of the embedded L1.
    /// Contracts are deployed by the first account of the standard test mnemonic unless
    /// --deployer-key is given; the batcher and proposer use the next two.
    #[arg(long, env = "AQUEDUCT_L1_RPC")]
    l1_rpc: Option<String>,
    /// Private key that deploys the contracts on an external L1 [default: the standard test
    /// mnemonic's first account].
    #[arg(long, env = "AQUEDUCT_DEPLOYER_KEY", hide_env_values = true, value_parser = crate::l1_key)]
    deployer_key: Option<PrivateKeySigner>,
    /// The sequencer's L2 JSON-RPC.
    #[arg(long, env = "AQUEDUCT_L2_ADDR", default_value = "127.0.0.1:9545")]
    l2_addr: SocketAddr,
    /// The verifier's read-only L2 JSON-RPC (chain derived from L1 alone; proofs read it).
    #[arg(long, env = "AQUEDUCT_VERIFIER_ADDR", default_value = "127.0.0.1:9547")]
    verifier_addr: SocketAddr,
    /// L2 block time in milliseconds, 100 to 60,000 [default: 1000].
    #[arg(long, env = "AQUEDUCT_L2_BLOCK_TIME_MS")]
    l2_block_time_ms: Option<u64>,
    /// Seconds before a proposed output is final and withdrawals against it can be paid
    /// [default: 60].
    #[arg(long, env = "AQUEDUCT_CHALLENGE_WINDOW")]
    challenge_window: Option<u64>,
    /// The live dashboard's address (a web page: heads, batches, outputs, ZK blocks).
    #[arg(long, env = "AQUEDUCT_DASHBOARD_ADDR", default_value = "127.0.0.1:8080")]
    dashboard_addr: SocketAddr,
    /// Do not serve the dashboard.
    #[arg(long)]
    no_dashboard: bool,
    /// A payment-channel node's control JSON-RPC for the dashboard to show (its channels,
    /// updates a second, closes on L1); repeat for more nodes.
    #[arg(long = "dashboard-channel-node", env = "AQUEDUCT_DASHBOARD_CHANNEL_NODES", value_delimiter = ',')]
    dashboard_channel_nodes: Vec<String>,
    /// A validium committee member's JSON-RPC (`aqueduct zk dac`) for the dashboard to show;
    /// repeat for more members.
    #[arg(long = "dashboard-dac", env = "AQUEDUCT_DASHBOARD_DAC", value_delimiter = ',')]
    dashboard_dac: Vec<String>,
    /// Where batches go: auto (cheaper of the two), calldata or blobs [default: auto].
    #[arg(long, env = "AQUEDUCT_DATA_MODE", value_parser = parse_mode)]
    data_mode: Option<DataMode>,
}

/// The `[rollup]` table: the devnet rollup's settings (used when it is first deployed).
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RollupDevnetConfig {
    pub l2_chain_id: u64,
    pub block_time_ms: u64,
    /// L1 blocks (3,600 on mainnet settings).
    pub seq_window: u64,
    pub channel_timeout: u64,
    /// Seconds (7 days on mainnet settings).
    pub challenge_window: u64,
    /// Output bond, in wei.
    pub bond_wei: u128,
    /// Seconds each side of a dispute may spend on its moves (3.5 days on mainnet settings).
    pub dispute_clock: u64,
    /// Bond of a challenge, in wei (later moves grow ×1.09493 per depth).
    pub dispute_bond_wei: u128,
    /// An output every this many L2 blocks.
    pub proposal_interval: u64,
    pub gas_limit: u64,
    /// "brotli:<quality>" or "zstd:<level>".
    pub compressor: String,
    pub data_mode: DataMode,
    /// Ether each dev account deposits to L2 when the rollup is first deployed (real deposits:
    /// every L2 wei is backed by the portal).
    pub balance_ether: u64,
}

impl Default for RollupDevnetConfig {
    fn default() -> Self {
        Self {
            l2_chain_id: 901,
            block_time_ms: 1_000,
            seq_window: 3_600,
            channel_timeout: 300,
            challenge_window: 60,
            bond_wei: ETH / 10,
            dispute_clock: 3_600,
            dispute_bond_wei: ETH / 100,
            proposal_interval: 10,
            gas_limit: 30_000_000,
            compressor: "brotli:5".into(),
            data_mode: DataMode::Auto,
            balance_ether: 1_000,
        }
    }
}

/// The `[zk]` table: the devnet ZK rollup's circuit and deadlines (used when first deployed).
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ZkDevnetConfig {
    pub slots: usize,
    pub account_levels: usize,
    pub balance_levels: usize,
    /// Seconds the operator has to serve an L1 request before exodus may start.
    pub priority_expiry: u64,
}

impl Default for ZkDevnetConfig {
    fn default() -> Self {
        Self { slots: 8, account_levels: 12, balance_levels: 2, priority_expiry: 86_400 }
    }
}

#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    #[serde(default)]
    l1: L1Config,
    #[serde(default)]
    rollup: RollupDevnetConfig,
    #[serde(default)]
    zk: ZkDevnetConfig,
}

pub fn parse_mode(s: &str) -> Result<DataMode, String> {
    match s {
        "auto" => Ok(DataMode::Auto),
        "calldata" => Ok(DataMode::Calldata),
        "blobs" => Ok(DataMode::Blobs),
        _ => Err(format!("unknown data mode {s:?}: auto, calldata or blobs")),
    }
}

/// `brotli:9`, `zstd:3` (level optional).
pub fn parse_compressor(s: &str) -> Result<Compressor, String> {
    let (name, level) = s.split_once(':').unwrap_or((s, ""));
    let level = |d: i32| if level.is_empty() { Ok(d) } else { level.parse::<i32>().map_err(|e| e.to_string()) };
    match name {
        "brotli" => {
            let q = level(9)?;
            if !(0..=11).contains(&q) {
                return Err(format!("brotli quality {q} is not in 0..=11"));
            }
            Ok(Compressor::Brotli(q as u32))
        }
        "zstd" => {
            let l = level(3)?;
            if !(1..=22).contains(&l) {
                return Err(format!("zstd level {l} is not in 1..=22"));
            }
            Ok(Compressor::Zstd(l))
        }
        _ => Err(format!("unknown compressor {s:?}: brotli:<0-11> or zstd:<1-22>")),
    }
}

/// Everything `devnet` runs with, after defaults, the TOML file, then flags and env vars.
pub struct Settings {
    pub l1: L1Config,
    pub rollup: RollupDevnetConfig,
    pub zk: ZkDevnetConfig,
    pub rollup_dir: PathBuf,
    pub zk_dir: PathBuf,
}

impl Settings {
    /// The same devnet's settings for another of its rollups: `rollup` kept in `<root>/<dir>`.
    pub fn other_rollup(&self, dir: &str, rollup: RollupDevnetConfig) -> Settings {
        Settings {
            l1: self.l1.clone(),
            rollup,
            zk: self.zk.clone(),
            rollup_dir: self.rollup_dir.parent().unwrap_or(Path::new(".")).join(dir),
            zk_dir: self.zk_dir.clone(),
        }
    }
}

pub fn resolve(args: &DevnetArgs) -> eyre::Result<Settings> {
    let file = match &args.config {
        Some(p) => {
            let text = std::fs::read_to_string(p).wrap_err_with(|| format!("reading {}", p.display()))?;
            toml::from_str::<FileConfig>(&text).wrap_err_with(|| format!("parsing {}", p.display()))?
        }
        None => FileConfig::default(),
    };
    let (mut c, mut r, mut z) = (file.l1, file.rollup, file.zk);
    if let Some(n) = args.zk_slots {
        z.slots = n;
    }
    if let Some(n) = args.zk_account_levels {
        z.account_levels = n;
    }
    if z.slots == 0 || z.slots > 256 {
        bail!("ZK slots {} must be between 1 and 256", z.slots);
    }
    aqueduct_zk_protocol::TreeShape { account_levels: z.account_levels, balance_levels: z.balance_levels }
        .validate()
        .map_err(|e| eyre::eyre!(e))?;
    if let Some(a) = args.addr {
        c.rpc_addr = a;
    }
    if let Some(p) = args.port {
        c.rpc_addr.set_port(p);
    }
    if let Some(b) = args.block_time {
        c.block_time = b;
    }
    if let Some(g) = args.gas_limit {
        c.gas_limit = g;
    }
    if let Some(id) = args.chain_id {
        c.chain_id = id;
    }
    if let Some(d) = &args.data_dir {
        c.data_dir = d.join("l1");
    }
    if let Some(ms) = args.l2_block_time_ms {
        r.block_time_ms = ms;
    }
    if let Some(w) = args.challenge_window {
        r.challenge_window = w;
    }
    if let Some(m) = args.data_mode {
        r.data_mode = m;
    }
    c.validate().map_err(|e| eyre::eyre!(e))?;
    if !(100..=60_000).contains(&r.block_time_ms) {
        bail!("L2 block time {} ms must be between 100 and 60000", r.block_time_ms);
    }
    parse_compressor(&r.compressor).map_err(|e| eyre::eyre!(e))?;
    if r.proposal_interval == 0 {
        bail!("proposal_interval must be at least 1");
    }
    let rollup_dir = match &args.data_dir {
        Some(d) => d.join("rollup"),
        None => c.data_dir.parent().unwrap_or(Path::new(".")).join("rollup"),
    };
    let zk_dir = rollup_dir.parent().unwrap_or(Path::new(".")).join("zk");
    Ok(Settings { l1: c, rollup: r, zk: z, rollup_dir, zk_dir })
}

/// Takes `<root>/devnet.lock` (an OS file lock, released when the process ends, however it ends)
/// and writes this process's id in it. A directory another process holds is refused before
/// anything in it is deleted or opened.
pub fn lock_data_dir(root: &Path) -> eyre::Result<std::fs::File> {
    use std::io::Write;
    std::fs::create_dir_all(root).wrap_err_with(|| format!("creating the data directory {}", root.display()))?;
    let path = root.join("devnet.lock");
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .wrap_err_with(|| format!("opening {}", path.display()))?;
    match f.try_lock() {
        Ok(()) => {
            f.set_len(0).and_then(|_| write!(f, "{}", std::process::id())).and_then(|_| f.flush()).ok();
            Ok(f)
        }
        Err(std::fs::TryLockError::WouldBlock) => {
            let holder = std::fs::read_to_string(&path).unwrap_or_default();
            bail!(
                "the data directory {} is in use by another aqueduct process (pid {}); stop it first or choose another --data-dir (nothing was deleted)",
                root.display(),
                holder.trim()
            )
        }
        Err(std::fs::TryLockError::Error(e)) => Err(e).wrap_err_with(|| format!("locking {}", path.display())),
    }
}

/// Every address the devnet will listen on must be free before anything is deployed: a clash is
/// one clear line at once, not an error after the deployment.
fn check_addresses(s: &Settings, args: &DevnetArgs) -> eyre::Result<()> {
    let mut wanted: Vec<(&str, SocketAddr)> = Vec::new();
    if args.l1_rpc.is_none() {
        wanted.push(("the L1 JSON-RPC (--port)", s.l1.rpc_addr));
    }
    if !args.no_rollup && !args.no_optimistic {
        wanted.push(("the sequencer (--l2-addr)", args.l2_addr));
        wanted.push(("the verifier (--verifier-addr)", args.verifier_addr));
    }
    if !args.no_rollup && !args.no_zk {
        wanted.push(("the ZK operator (--zk-addr)", args.zk_addr));
    }
    if !args.no_dashboard {
        wanted.push(("the dashboard (--dashboard-addr)", args.dashboard_addr));
    }
    if !args.no_rollup && !args.no_plasma {
        wanted.push(("the plasma operator (--plasma-addr)", args.plasma_addr));
    }
    if !args.no_rollup && !args.sidechain.no_sidechain {
        wanted.extend(args.sidechain.addresses());
    }
    if !args.no_rollup && !args.no_optimistic {
        wanted.extend(args.interop.addresses());
        wanted.extend(args.l3.addresses());
    }
    for (what, addr) in wanted {
        if addr.port() != 0 && std::net::TcpListener::bind(addr).is_err() {
            bail!("{addr} is in use: choose another address for {what}");
        }
    }
    Ok(())
}

pub async fn run(args: DevnetArgs) -> eyre::Result<()> {
    let s = resolve(&args)?;
    let root = args.data_dir.clone().unwrap_or_else(|| s.l1.data_dir.parent().unwrap_or(Path::new(".")).to_path_buf());
    let _lock = lock_data_dir(&root)?;
    check_addresses(&s, &args)?;
    if args.fresh && s.rollup_dir.exists() {
        std::fs::remove_dir_all(&s.rollup_dir).wrap_err_with(|| format!("removing {}", s.rollup_dir.display()))?;
    }
    if args.fresh {
        // Proving keys are kept: they depend on the circuit only.
        for f in ["zk.json", "operator.redb"] {
            let p = s.zk_dir.join(f);
            if p.exists() {
                std::fs::remove_file(&p).wrap_err_with(|| format!("removing {}", p.display()))?;
            }
        }
        let side = s.rollup_dir.parent().unwrap_or(Path::new(".")).join("sidechain");
        if side.exists() {
            std::fs::remove_dir_all(&side).wrap_err_with(|| format!("removing {}", side.display()))?;
        }
        for d in [crate::interop::second_rollup_dir(&s), crate::l3::l3_dir(&s)] {
            if d.exists() {
                std::fs::remove_dir_all(&d).wrap_err_with(|| format!("removing {}", d.display()))?;
            }
        }
        if plasma_dir(&s).exists() {
            let d = plasma_dir(&s);
            std::fs::remove_dir_all(&d).wrap_err_with(|| format!("removing {}", d.display()))?;
        }
    }
    let (devnet, l1_url, signers) = match &args.l1_rpc {
        Some(url) => (None, url.clone(), dev_signers(10).map_err(|e| eyre::eyre!(e.to_string()))?),
        None => {
            // The settlement layer of the optimistic rollup: its fault proofs end in EXECUTE.
            let l1 =
                L1Config { extra_precompiles: vec![aqueduct_rollup_protocol::execute_precompile()], ..s.l1.clone() };
            let d = Devnet::start(l1, args.fresh).await.wrap_err("starting the devnet")?;
            let (url, signers) = (d.url(), d.signers.clone());
            (Some(d), url, signers)
        }
    };
    if let Some(d) = &devnet {
        print_l1(d, &s.l1);
    } else {
        println!("Aqueduct devnet on the external L1 {l1_url}");
    }
    let l1_chains: Vec<_> = devnet.iter().map(|d| d.chain.halt()).collect();
    if args.no_rollup {
        let mut run = Running { devnet, ..Default::default() };
        match start_dashboard(&args, aqueduct_dashboard::Sources { l1: l1_url.clone(), ..Default::default() }).await {
            Ok(d) => run.dashboard = d,
            Err(e) => return run.fail(e).await,
        }
        println!("\nPress Ctrl-C to stop.");
        let outcome = until_stopped(l1_chains).await;
        eprintln!("stopping…");
        run.stop().await;
        return outcome;
    }
    let deployer = args.deployer_key.clone().unwrap_or_else(|| signers[0].clone());
    let mut run = Running { devnet, ..Default::default() };
    // Each part starts after the ones before it; a part that fails stops those already running.
    if !args.no_optimistic {
        let roles = crate::devnet_rollup::Roles {
            batcher: signers[1].clone(),
            proposer: signers[2].clone(),
            challenger: signers[3].clone(),
            l2_addr: args.l2_addr,
            verifier_addr: args.verifier_addr,
            dependencies: Vec::new(),
        };
        let spec = match crate::devnet_rollup::start_rollup(&s, roles, &l1_url, &deployer, &signers).await {
            Ok((r, addrs, spec)) => {
                (run.rollup, run.rollup_addrs) = (Some(r), Some(addrs));
                spec
            }
            Err(e) => return run.fail(e).await,
        };
        if !args.fastbridge.no_fastbridge {
            let root = s.rollup_dir.parent().unwrap_or(Path::new("."));
            let r = run.rollup.as_ref();
            let (seq, ver) = (r.and_then(|r| r.sequencer_rpc), r.and_then(|r| r.verifier_rpc));
            let l2 = format!("http://{}", seq.unwrap_or(args.l2_addr));
            let ver = format!("http://{}", ver.unwrap_or(args.verifier_addr));
            let started = crate::fastbridge::start_devnet_fastbridge(
                root,
                [&l1_url, &l2, &ver],
                &spec,
                [&deployer, &signers[8]],
                &args.fastbridge,
            );
            match started.await {
                Ok(f) => run.fastbridge = Some(f),
                Err(e) => return run.fail(e).await,
            }
        }
        if args.interop.interop {
            let started =
                crate::interop::start_devnet_interop(&s, &args.interop, &l1_url, &deployer, &signers, &spec).await;
            match started {
                Ok(r) => run.second_rollup = Some(r),
                Err(e) => return run.fail(e).await,
            }
        }
        if args.l3.l3 {
            let l2 = run.rollup.as_ref().and_then(|r| r.sequencer_rpc).map(|a| format!("http://{a}"));
            let l2 = l2.unwrap_or_else(|| format!("http://{}", args.l2_addr));
            match crate::l3::start_devnet_l3(&s, &args.l3, &l2, &signers).await {
                Ok(r) => run.l3 = Some(r),
                Err(e) => return run.fail(e).await,
            }
        }
    }
    if !args.no_zk {
        match crate::zk::start_devnet_zk(&s, args.zk_addr, &l1_url, &deployer, &signers[4]).await {
            Ok(z) => run.zk = Some(z),
            Err(e) => return run.fail(e).await,
        }
    }
    if !args.no_plasma {
        let dir = plasma_dir(&s);
        let started = crate::plasma::start_devnet_plasma(
            dir,
            args.plasma_addr,
            args.plasma_exit_period,
            &l1_url,
            &deployer,
            &signers[5],
        )
        .await;
        match started {
            Ok(p) => run.plasma = Some(p),
            Err(e) => return run.fail(e).await,
        }
    }
    if !args.sidechain.no_sidechain {
        let root = s.rollup_dir.parent().unwrap_or(Path::new("."));
        match crate::sidechain::start_devnet_sidechain(root, &l1_url, &deployer, &args.sidechain).await {
            Ok(sc) => run.sidechain = Some(sc),
            Err(e) => return run.fail(e).await,
        }
    }
    let http = |a: Option<SocketAddr>| a.map(|a| format!("http://{a}"));
    let sources = aqueduct_dashboard::Sources {
        l1: l1_url.clone(),
        sequencer: run.rollup.as_ref().and_then(|r| http(r.sequencer_rpc)),
        verifier: run.rollup.as_ref().and_then(|r| http(r.verifier_rpc)),
        rollup: run.rollup_addrs,
        zk: run.zk.as_ref().map(|z| format!("http://{}", z.rpc_addr)),
        plasma: run.plasma.as_ref().map(|p| format!("http://{}", p.rpc_addr)),
        ..Default::default()
    };
    match start_dashboard(&args, sources).await {
        Ok(d) => run.dashboard = d,
        Err(e) => return run.fail(e).await,
    }
    println!("\nPress Ctrl-C to stop.");
    let mut halts = l1_chains;
    for r in run.rollup.iter().chain(&run.second_rollup).chain(&run.l3) {
        halts.extend(r.sequencer.iter().chain(&r.verifier).map(|c| c.halt()));
        halts.push(r.halt.clone());
    }
    halts.extend(run.zk.iter().map(|z| z.halt.clone()));
    halts.extend(run.plasma.iter().map(|p| p.halt.clone()));
    halts.extend(run.sidechain.iter().map(|p| p.halt.clone()));
    halts.extend(run.fastbridge.iter().map(|f| f.halt.clone()));
    let outcome = until_stopped(halts).await;
    eprintln!("stopping…");
    run.stop().await;
    outcome
}

/// What the devnet runs, stopped in reverse order of starting.
#[derive(Default)]
struct Running {
    devnet: Option<Devnet>,
    rollup: Option<Rollup>,
    /// Rollup 902 (`--interop`).
    second_rollup: Option<Rollup>,
    /// The L3 on the rollup (`--l3`).
    l3: Option<Rollup>,
    rollup_addrs: Option<aqueduct_dashboard::RollupAddrs>,
    zk: Option<aqueduct_zk_node::ZkService>,
    plasma: Option<aqueduct_plasma_node::PlasmaService>,
    sidechain: Option<crate::sidechain::DevnetSidechain>,
    fastbridge: Option<crate::fastbridge::DevnetFastBridge>,
    dashboard: Option<aqueduct_dashboard::Dashboard>,
}

impl Running {
    async fn stop(self) {
        if let Some(d) = self.dashboard {
            d.stop().await;
        }
        if let Some(c) = self.sidechain {
            c.stop().await;
        }
        if let Some(f) = self.fastbridge {
            f.stop().await;
        }
        if let Some(p) = self.plasma {
            p.stop().await;
        }
        if let Some(z) = self.zk {
            z.stop().await;
        }
        if let Some(r) = self.l3 {
            r.stop().await;
        }
        if let Some(r) = self.second_rollup {
            r.stop().await;
        }
        if let Some(r) = self.rollup {
            r.stop().await;
        }
        if let Some(d) = self.devnet {
            d.stop().await;
        }
    }

    /// Stops what runs and returns `e`.
    async fn fail(self, e: eyre::Report) -> eyre::Result<()> {
        self.stop().await;
        Err(e)
    }
}

/// Where the devnet keeps its plasma chain (beside `rollup/` and `zk/`).
fn plasma_dir(s: &Settings) -> PathBuf {
    s.rollup_dir.parent().unwrap_or(Path::new(".")).join("plasma")
}

/// Serves the dashboard unless `--no-dashboard`.
async fn start_dashboard(
    args: &DevnetArgs,
    sources: aqueduct_dashboard::Sources,
) -> eyre::Result<Option<aqueduct_dashboard::Dashboard>> {
    if args.no_dashboard {
        return Ok(None);
    }
    let sources = aqueduct_dashboard::Sources {
        committee: args.dashboard_dac.clone(),
        channel_nodes: args.dashboard_channel_nodes.clone(),
        ..sources
    };
    let d = aqueduct_dashboard::serve(args.dashboard_addr, sources, Duration::from_secs(1))
        .await
        .wrap_err_with(|| format!("serving the dashboard on {}", args.dashboard_addr))?;
    println!("\nDashboard  http://{}", d.addr);
    Ok(Some(d))
}

fn print_l1(devnet: &Devnet, config: &L1Config) {
    let head = devnet.chain.head();
    println!("Aqueduct L1 devnet");
    println!("  JSON-RPC   {}  (WebSocket {})", devnet.url(), devnet.ws_url());
    println!("  chain id   {}", config.chain_id);
    println!(
        "  blocks     {}",
        if config.block_time == 0.0 {
            "mined on each transaction".to_string()
        } else {
            format!("every {} s", config.block_time)
        }
    );
    println!("  data dir   {} (head block {})", config.data_dir.display(), head.number());
    println!("  mnemonic   {DEV_MNEMONIC}");
    println!(
        "\nDev accounts ({} ETH each at genesis on L1; the rollup's first start deposits some to L2):",
        config.balance_ether
    );
    for (i, s) in devnet.signers.iter().enumerate() {
        println!("  ({i}) {}  key 0x{}", s.address(), alloy::primitives::hex::encode(s.to_bytes()));
    }
}
