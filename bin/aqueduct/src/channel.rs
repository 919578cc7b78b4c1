//! `aqueduct channel`: payment channels. `serve` runs a party's node (peers on TCP, control
//! JSON-RPC on loopback); the other commands talk to that node; `watchtower` runs a tower;
//! `deploy` puts an adjudicator on L1.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use alloy::{
    primitives::{Address, B256, U256, utils::parse_ether},
    signers::local::PrivateKeySigner,
};
use aqueduct_channel_node::{
    Adjudicator, Amount, ChannelApiClient, Node, NodeConfig, Paid, SyncMode, control_client, rpc::serve_control,
    serve_tower,
};
use aqueduct_channel_protocol::FeePolicy;
use aqueduct_eth::L1Client;
use clap::{Args, Subcommand};
use eyre::{WrapErr, eyre};
use jsonrpsee::core::ClientError;

const DEV_KEY: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

#[derive(Args)]
pub struct ChannelArgs {
    /// The L1's JSON-RPC URL.
    #[arg(long, env = "AQUEDUCT_L1_RPC", default_value = "http://127.0.0.1:8545", global = true)]
    l1_rpc: String,
    /// The channel node's control JSON-RPC (what `serve --control` listens on).
    #[arg(long, env = "AQUEDUCT_CHANNEL_RPC", default_value = "http://127.0.0.1:9736", global = true)]
    rpc: String,
    #[command(subcommand)]
    command: ChannelCommand,
}

#[derive(Subcommand)]
pub enum ChannelCommand {
    /// Deploy a channel adjudicator on L1 and print its address.
    Deploy {
        /// The deployer's L1 key [default: dev account 0].
        #[arg(long, env = "AQUEDUCT_DEPLOYER_KEY", hide_env_values = true, default_value = DEV_KEY, hide_default_value = true)]
        key: String,
    },
    /// Run a party's channel node.
    Serve(Box<ServeArgs>),
    /// Run a watchtower.
    Watchtower {
        /// The tower's L1 key (it pays for the challenges it sends).
        #[arg(long, env = "AQUEDUCT_TOWER_KEY", hide_env_values = true)]
        key: String,
        /// The channel adjudicator on L1 (from `aqueduct channel deploy`).
        #[arg(long, env = "AQUEDUCT_ADJUDICATOR")]
        adjudicator: Address,
        /// Where the tower takes co-signed states from nodes.
        #[arg(long, default_value = "127.0.0.1:9737")]
        listen: SocketAddr,
        /// Directory of the node's journal (every co-signed state, persisted before it is acknowledged).
        #[arg(long, default_value = ".aqueduct/tower")]
        data: PathBuf,
        /// Milliseconds between L1 polls (closes to answer, deadlines).
        #[arg(long, default_value_t = 500)]
        poll_ms: u64,
    },
    /// Connect the node to a peer (host:port of its `serve --listen`).
    Connect { addr: String },
    /// Open a channel with a connected peer; both deposit (amounts in ether, or token units
    /// with --token).
    Open {
        /// The connected peer's address.
        #[arg(long)]
        peer: Address,
        /// What this node deposits.
        #[arg(long)]
        amount: String,
        /// What the peer is asked to deposit (it joins only within its own limits).
        #[arg(long, default_value = "0")]
        peer_amount: String,
        /// An ERC-20 instead of ETH.
        #[arg(long)]
        token: Option<Address>,
        /// Seconds a unilateral close waits for a newer state.
        #[arg(long, default_value_t = 3600)]
        challenge_period: u32,
    },
    /// Pay: directly over the channel with `--to`, or an invoice over a route with `--hash`.
    Pay {
        /// The counterparty (or the payee, with --hash).
        #[arg(long)]
        to: Address,
        /// Amount in ether.
        #[arg(long, value_parser = crate::ether_arg)]
        amount: String,
        /// The invoice's hash (from `aqueduct channel invoice` on the payee's node).
        #[arg(long)]
        hash: Option<B256>,
        /// Make this many direct payments of `amount`.
        #[arg(long, default_value_t = 1)]
        count: u32,
    },
    /// Make an invoice for `amount` ether: prints the hash a payer locks to.
    Invoice {
        /// Amount in ether, paid exactly and once.
        #[arg(long, value_parser = crate::ether_arg)]
        amount: String,
    },
    /// Close a channel: cooperatively, or alone on L1 with --force.
    Close {
        /// The channel's id (from `aqueduct channel status`).
        #[arg(long)]
        channel: String,
        /// Close alone on L1 with the latest co-signed state and wait out the challenge period,
        /// instead of asking the peer to sign a cooperative close.
        #[arg(long)]
        force: bool,
    },
    /// The node's channels and balances.
    Status,
}

#[derive(Args)]
pub struct ServeArgs {
    /// The party's key (its L1 account and channel signing key) [default: dev account 0].
    #[arg(long, env = "AQUEDUCT_CHANNEL_KEY", hide_env_values = true, default_value = DEV_KEY, hide_default_value = true)]
    key: String,
    /// The channel adjudicator on L1 (from `aqueduct channel deploy`).
    #[arg(long, env = "AQUEDUCT_ADJUDICATOR")]
    adjudicator: Address,
    /// Peer listener.
    #[arg(long, default_value = "127.0.0.1:9735")]
    listen: SocketAddr,
    /// Control JSON-RPC (keep it on loopback).
    #[arg(long, default_value = "127.0.0.1:9736")]
    control: SocketAddr,
    /// Directory of the node's journal (every co-signed state, persisted before it is acknowledged).
    #[arg(long, default_value = ".aqueduct/channel")]
    data: PathBuf,
    /// A watchtower's URL: every co-signed state is handed to it.
    #[arg(long)]
    tower: Option<String>,
    /// Flat forwarding fee (wei).
    #[arg(long, default_value_t = 1_000)]
    fee_base: u64,
    /// Proportional forwarding fee (parts per million).
    #[arg(long, default_value_t = 100)]
    fee_ppm: u32,
    /// Seconds kept between an incoming and an outgoing HTLC's expiry.
    #[arg(long, default_value_t = 120)]
    expiry_delta: u32,
    /// `full` syncs the journal to disk before answering; `os` only hands it to the OS
    /// (survives kill -9, not power loss).
    #[arg(long, default_value = "full", value_parser = ["full", "os"])]
    sync: String,
    /// Milliseconds between L1 polls (closes to answer, deadlines).
    #[arg(long, default_value_t = 500)]
    poll_ms: u64,
    /// Most this node deposits (ether, or token units) when a peer asks it to join a channel;
    /// it never deposits more than the peer did.
    #[arg(long, default_value = "10")]
    max_join: String,
    /// Shortest challenge period (seconds) accepted on a channel this node opens or joins.
    #[arg(long, default_value_t = 60)]
    min_challenge_period: u64,
    /// Longest challenge period (seconds) accepted: a close locks the deposit this long.
    #[arg(long, default_value_t = 7 * 24 * 3600)]
    max_challenge_period: u64,
}

fn key(s: &str) -> eyre::Result<B256> {
    let k: B256 = s.parse().wrap_err("a key is 32 bytes of hex")?;
    PrivateKeySigner::from_bytes(&k).wrap_err("not a valid secp256k1 key")?;
    Ok(k)
}

/// A payment's or an invoice's amount: above zero, as in every family.
fn positive_wei(s: &str) -> eyre::Result<u128> {
    u128::try_from(crate::ether_amount(s)?).map_err(|_| eyre!("{s} ether is too much"))
}

fn wei(s: &str) -> eyre::Result<u128> {
    let w = parse_ether(s).wrap_err_with(|| format!("{s} is not an amount of ether"))?;
    u128::try_from(w).map_err(|_| eyre!("{s} ether is too much"))
}

/// A failed control call in one line: the node's own message when it answered, else why it could
/// not be reached.
fn node_err<'a>(method: &'static str, url: &'a str) -> impl FnOnce(ClientError) -> eyre::Report + 'a {
    move |e| match e {
        ClientError::Call(e) => eyre!("{method} on the channel node at {url}: {}", e.message()),
        e => eyre!("{method}: cannot reach the channel node at {url}: {e}"),
    }
}

pub async fn run(args: ChannelArgs) -> eyre::Result<()> {
    let rpc = control_client(&args.rpc).map_err(|e| eyre!("--rpc {}: {e}", args.rpc))?;
    match args.command {
        ChannelCommand::Deploy { key: k } => {
            let l1 = L1Client::new(&args.l1_rpc)?;
            let signer = PrivateKeySigner::from_bytes(&key(&k)?)?;
            let adj = Adjudicator::deploy(&l1, &signer).await?;
            println!("{adj}");
        }
        ChannelCommand::Serve(s) => {
            let l1 = L1Client::new(&args.l1_rpc)?;
            let k = key(&s.key)?;
            let me = PrivateKeySigner::from_bytes(&k)?.address();
            let mut cfg = NodeConfig::new(s.listen, s.data.join(me.to_string()));
            cfg.fee = FeePolicy { base: s.fee_base, ppm: s.fee_ppm, expiry_delta: s.expiry_delta };
            cfg.sync = if s.sync == "os" { SyncMode::Os } else { SyncMode::Full };
            cfg.poll = Duration::from_millis(s.poll_ms);
            cfg.tower = s.tower.clone();
            cfg.max_join = wei(&s.max_join)?;
            if s.min_challenge_period > s.max_challenge_period {
                eyre::bail!("--min-challenge-period is above --max-challenge-period");
            }
            cfg.challenge_periods = s.min_challenge_period..=s.max_challenge_period;
            let node = Node::start(cfg, l1, k, s.adjudicator).await?;
            let (handle, control) = serve_control(node.clone(), s.control).await?;
            println!("channel node {me}: peers on {}, control on http://{control}", node.listen_addr());
            let halt = node.halt();
            tokio::select! {
                r = tokio::signal::ctrl_c() => r?,
                _ = halt.halted() => {}
            }
            node.stop();
            let _ = handle.stop();
            if let Some(why) = halt.why() {
                eyre::bail!("{why}");
            }
        }
        ChannelCommand::Watchtower { key: k, adjudicator, listen, data, poll_ms } => {
            let l1 = L1Client::new(&args.l1_rpc)?;
            let t = serve_tower(l1, key(&k)?, adjudicator, &data, listen, Duration::from_millis(poll_ms)).await?;
            println!("watchtower {}: http://{}", t.tower.address(), t.rpc_addr);
            tokio::signal::ctrl_c().await?;
            t.stop().await;
        }
        ChannelCommand::Connect { addr } => {
            let peer = rpc.connect(addr).await.map_err(node_err("channel_connect", &args.rpc))?;
            println!("connected to {peer}");
        }
        ChannelCommand::Open { peer, amount, peer_amount, token, challenge_period } => {
            let (a, b) = match token {
                Some(_) => (
                    amount.parse::<u128>().wrap_err("token amounts are integers")?,
                    peer_amount.parse::<u128>().wrap_err("token amounts are integers")?,
                ),
                None => (wei(&amount)?, wei(&peer_amount)?),
            };
            let step = crate::progress::step(&format!(
                "opening a channel with {peer} (our deposit on L1, then the peer's join)"
            ));
            let id = rpc
                .open(peer, Amount(a), Some(Amount(b)), token, Some(challenge_period.into()))
                .await
                .map_err(node_err("channel_open", &args.rpc))?;
            step.done();
            println!("channel {id} open");
        }
        ChannelCommand::Pay { to, amount, hash: Some(hash), .. } => {
            let r = rpc
                .pay_invoice(to, hash, Amount(positive_wei(&amount)?))
                .await
                .map_err(node_err("channel_payInvoice", &args.rpc))?;
            println!("paid over {} hops, fee {} wei, preimage {}", r.hops, r.fee, r.preimage);
        }
        ChannelCommand::Pay { to, amount, hash: None, count } => {
            let amount = Amount(positive_wei(&amount)?);
            let mut last = None;
            for _ in 0..count {
                last = Some(rpc.pay(to.to_string(), amount).await.map_err(node_err("channel_pay", &args.rpc))?);
            }
            if let Some(Paid { channel, version }) = last {
                let version = version.map_or("?".to_string(), |v| v.to_string());
                println!("paid {count} time(s); channel {channel} at version {version}");
            }
        }
        ChannelCommand::Invoice { amount } => {
            let r =
                rpc.invoice(Amount(positive_wei(&amount)?)).await.map_err(node_err("channel_invoice", &args.rpc))?;
            println!("{}", r.hash);
        }
        ChannelCommand::Close { channel, force } => {
            let id: U256 = channel.parse().map_err(|_| eyre!("{channel} is not a channel id"))?;
            let r = rpc.close(id, Some(force)).await.map_err(node_err("channel_close", &args.rpc))?;
            println!("close sent: tx {} ({} gas)", r.tx, r.gas);
        }
        ChannelCommand::Status => {
            let info = rpc.info().await.map_err(node_err("channel_info", &args.rpc))?;
            println!("node {} (peers on {})", info.address, info.listen);
            for c in rpc.list().await.map_err(node_err("channel_list", &args.rpc))? {
                println!(
                    "channel {} with {}: {} v{} local {} remote {} htlcs {} pending {}{}",
                    c.id,
                    c.peer,
                    serde_json::to_value(c.state).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default(),
                    c.version,
                    c.local,
                    c.remote,
                    c.htlcs,
                    c.pending,
                    if c.connected { "" } else { " (peer offline)" },
                );
            }
        }
    }
    Ok(())
}
