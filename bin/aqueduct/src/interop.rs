//! `aqueduct interop`: messages between the devnet's two optimistic rollups (901 and 902, on the
//! same L1) — send a call on one, relay it on the other once its source is safe there; and the
//! devnet's second rollup (`aqueduct devnet --interop`).

use std::{net::SocketAddr, time::Instant};

use alloy::{
    network::TransactionBuilder,
    primitives::{Address, Bytes, U256},
    rpc::types::TransactionRequest,
    signers::local::PrivateKeySigner,
    sol_types::SolEvent,
};
use aqueduct_contracts::interop::L2ToL2Messenger;
use aqueduct_rollup_node::{L1Client, Rollup, RollupSpec, interop::SentMessage};
use aqueduct_rollup_protocol::Predeploys;
use clap::{Args, Subcommand};
use eyre::{WrapErr, bail};

use crate::{devnet::Settings, devnet_rollup::Roles};

/// Account (0) of the standard test mnemonic: funded on the devnet's L1 and both rollups.
const DEV_KEY: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

/// Chain id of the devnet's second rollup.
pub const SECOND_ROLLUP: u64 = 902;

#[derive(Args, Debug)]
pub struct InteropArgs {
    /// The source rollup's sequencer JSON-RPC (the devnet's rollup 901).
    #[arg(long, env = "AQUEDUCT_L2_RPC", default_value = "http://127.0.0.1:9545", global = true)]
    from_rpc: String,
    /// The destination rollup's sequencer JSON-RPC (the devnet's rollup 902).
    #[arg(long, env = "AQUEDUCT_INTEROP_RPC", default_value = "http://127.0.0.1:9645", global = true)]
    to_rpc: String,
    /// The private key that signs on both rollups [default: dev account 0].
    #[arg(long, env = "AQUEDUCT_KEY", hide_env_values = true, value_parser = crate::l1_key, default_value = DEV_KEY, hide_default_value = true, global = true)]
    key: PrivateKeySigner,
    #[command(subcommand)]
    command: InteropCommand,
}

#[derive(Subcommand, Debug)]
pub enum InteropCommand {
    /// Send a call to a contract on the destination rollup, and relay it there once its source
    /// block is safe (its batch on L1 at or before the destination's L1 origin).
    Send {
        /// The contract (or account) called on the destination.
        #[arg(long)]
        target: Address,
        /// Calldata for the target, hex.
        #[arg(long, default_value = "0x")]
        data: Bytes,
        /// Only send; relay later with `aqueduct interop relay --tx <hash>`.
        #[arg(long)]
        no_relay: bool,
    },
    /// Relay the messages a mined source transaction sent, and wait until they ran.
    Relay {
        /// The source transaction.
        #[arg(long)]
        tx: alloy::primitives::B256,
    },
}

pub async fn run(args: InteropArgs) -> eyre::Result<()> {
    let from = L1Client::new(&args.from_rpc)?;
    let to = L1Client::new(&args.to_rpc)?;
    let (from_id, to_id) = (
        from.chain_id().await.wrap_err_with(|| format!("reaching the source rollup at {}", args.from_rpc))?,
        to.chain_id().await.wrap_err_with(|| format!("reaching the destination rollup at {}", args.to_rpc))?,
    );
    let tx = match args.command {
        InteropCommand::Send { target, data, no_relay } => {
            let messenger = L2ToL2Messenger::new(Predeploys::L2_TO_L2_MESSENGER, from.provider());
            let call = messenger.sendMessage(U256::from(to_id), target, data).into_transaction_request();
            let receipt = from.transact(&args.key, call).await.wrap_err("sending the message on the source rollup")?;
            let tx = receipt.transaction_hash;
            println!(
                "sent on rollup {from_id} in block {} (transaction {tx})",
                receipt.block_number.unwrap_or_default()
            );
            if no_relay {
                println!("relay it with: aqueduct interop relay --tx {tx}");
                return Ok(());
            }
            tx
        }
        InteropCommand::Relay { tx } => tx,
    };
    let messages = sent_messages(&from, from_id, tx).await?;
    if messages.is_empty() {
        bail!("transaction {tx} on rollup {from_id} sent no message through the messenger");
    }
    for m in messages {
        relay(&to, &args.key, to_id, &m).await?;
    }
    Ok(())
}

/// The `SentMessage` logs of a mined source transaction, with their identifiers.
async fn sent_messages(from: &L1Client, chain_id: u64, tx: alloy::primitives::B256) -> eyre::Result<Vec<SentMessage>> {
    let receipt =
        from.receipt(tx).await?.ok_or_else(|| eyre::eyre!("transaction {tx} is not mined on rollup {chain_id}"))?;
    let number = receipt.block_number.ok_or_else(|| eyre::eyre!("the receipt of {tx} names no block"))?;
    let header = from.header(number).await?;
    let logs = receipt.inner.logs();
    let Some(first) = logs.first() else { return Ok(Vec::new()) };
    let first_index = first.log_index.ok_or_else(|| eyre::eyre!("the receipt of {tx} gives no log index"))?;
    let plain: Vec<_> = logs.iter().map(|l| l.inner.clone()).collect();
    Ok(SentMessage::from_logs(chain_id, number, header.timestamp, first_index as u32, &plain))
}

/// Sends the relay of `m` (its access list declares the message) and waits until it ran.
async fn relay(to: &L1Client, key: &PrivateKeySigner, to_id: u64, m: &SentMessage) -> eyre::Result<()> {
    let started = Instant::now();
    if let Some(h) = m.message_hash() {
        let done = to
            .read_latest(Predeploys::L2_TO_L2_MESSENGER, L2ToL2Messenger::successfulMessagesCall(h))
            .await
            .wrap_err("reading the destination's messenger")?;
        if done {
            println!(
                "message {} of rollup {} block {} already ran on rollup {to_id}",
                m.id.log_index, m.id.chain_id, m.id.block_number
            );
            return Ok(());
        }
    }
    let request = TransactionRequest::default()
        .with_to(Predeploys::L2_TO_L2_MESSENGER)
        .with_input(m.relay_calldata())
        .with_access_list(m.access_list())
        // The sequencer keeps the relay until its source is safe; estimating now could fail.
        .with_gas_limit(1_000_000);
    let hash = to.send_request(key, request).await.wrap_err("sending the relay")?;
    let step = crate::progress::step(&format!(
        "relaying message {} of rollup {} block {} on rollup {to_id}: waiting until its source is safe there",
        m.id.log_index, m.id.chain_id, m.id.block_number
    ));
    let receipt = to.wait_within(hash, std::time::Duration::from_secs(600)).await.wrap_err_with(|| {
        format!(
            "the relay {hash} did not run: rollup {to_id} keeps it until the source block's batch is on L1, and drops it if \
             the message is not there (or rollup {} is not in its dependency set)",
            m.id.chain_id
        )
    })?;
    step.done();
    let block = receipt.block_number.unwrap_or_default();
    let relayed = receipt.inner.logs().iter().any(|l| {
        l.address() == Predeploys::L2_TO_L2_MESSENGER
            && l.topics().first() == Some(&L2ToL2Messenger::RelayedMessage::SIGNATURE_HASH)
    });
    if !relayed {
        bail!("the relay {hash} was mined without running the message");
    }
    println!(
        "relayed on rollup {to_id} in block {block} after {:.1} s (transaction {hash}, {} gas)",
        started.elapsed().as_secs_f64(),
        receipt.gas_used,
    );
    Ok(())
}

/// The devnet's second rollup: flags of `aqueduct devnet`.
#[derive(Args, Debug, Clone)]
pub struct DevnetInteropArgs {
    /// Also start rollup 902 on the same L1, which accepts messages from rollup 901.
    #[arg(long, env = "AQUEDUCT_INTEROP", num_args = 0..=1, default_missing_value = "true", value_parser = clap::builder::BoolishValueParser::new())]
    pub interop: bool,
    /// Rollup 902's sequencer JSON-RPC.
    #[arg(long, env = "AQUEDUCT_INTEROP_L2_ADDR", default_value = "127.0.0.1:9645")]
    pub interop_l2_addr: SocketAddr,
    /// Rollup 902's verifier JSON-RPC (902 derived from L1, with 901 derived beside it).
    #[arg(long, env = "AQUEDUCT_INTEROP_VERIFIER_ADDR", default_value = "127.0.0.1:9647")]
    pub interop_verifier_addr: SocketAddr,
}

impl DevnetInteropArgs {
    pub fn addresses(&self) -> Vec<(&'static str, SocketAddr)> {
        if !self.interop {
            return Vec::new();
        }
        vec![
            ("rollup 902's sequencer (--interop-l2-addr)", self.interop_l2_addr),
            ("rollup 902's verifier (--interop-verifier-addr)", self.interop_verifier_addr),
        ]
    }
}

/// The devnet's data directory for rollup 902 (beside `rollup/`).
const SECOND_ROLLUP_DIR: &str = "rollup-902";

/// Where the devnet keeps rollup 902.
pub fn second_rollup_dir(s: &Settings) -> std::path::PathBuf {
    s.other_rollup(SECOND_ROLLUP_DIR, s.rollup.clone()).rollup_dir
}

/// Deploys rollup 902 (or finds it from an earlier run) and starts it, accepting messages from
/// `first`. Its L1 accounts are dev accounts 6 (batcher), 7 (proposer) and 9 (challenger).
pub async fn start_devnet_interop(
    s: &Settings,
    args: &DevnetInteropArgs,
    l1_url: &str,
    deployer: &PrivateKeySigner,
    signers: &[PrivateKeySigner],
    first: &RollupSpec,
) -> eyre::Result<Rollup> {
    let settings = s.other_rollup(
        SECOND_ROLLUP_DIR,
        crate::devnet::RollupDevnetConfig { l2_chain_id: SECOND_ROLLUP, ..s.rollup.clone() },
    );
    let roles = Roles {
        batcher: signers[6].clone(),
        proposer: signers[7].clone(),
        challenger: signers[9].clone(),
        l2_addr: args.interop_l2_addr,
        verifier_addr: args.interop_verifier_addr,
        dependencies: vec![first.clone()],
    };
    let (rollup, ..) = crate::devnet_rollup::start_rollup(&settings, roles, l1_url, deployer, signers).await?;
    println!(
        "  messages            from rollup {} (aqueduct interop send --target <address>)",
        first.rollup.l2_chain_id
    );
    Ok(rollup)
}
