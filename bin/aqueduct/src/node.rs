//! `aqueduct node`: one rollup service as its own process, talking to L1 over JSON-RPC.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use alloy::{primitives::Address, signers::local::PrivateKeySigner};
use aqueduct_rollup_node::{
    BatcherConfig, ChallengerRole, DataMode, L1Client, ProposerRole, Rollup, RollupOptions, RollupSpec,
    SequencerConfig, SequencerRole,
};
use clap::{Args, ValueEnum};
use eyre::{WrapErr, bail};

use crate::{
    devnet::{parse_compressor, parse_mode},
    devnet_rollup::check_on_l1,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Role {
    /// Orders transactions, makes L2 blocks, and posts them to L1 (needs --batcher-key).
    Sequencer,
    /// Derives the L2 chain from L1 alone and serves it read-only; with --proposer-key it
    /// also posts output roots and defends them in disputes.
    Verifier,
    /// A verifier that disputes every wrong output root on L1 and plays each game to its end
    /// (needs --challenger-key; its bonds come from that account).
    Challenger,
}

#[derive(Args, Debug)]
pub struct NodeArgs {
    #[arg(long, value_enum)]
    role: Role,
    /// L1 Ethereum JSON-RPC.
    #[arg(long, env = "AQUEDUCT_L1_RPC", default_value = "http://127.0.0.1:8545")]
    l1_rpc: String,
    /// The rollup's spec file (written by `aqueduct devnet` when it deployed the rollup).
    #[arg(long, env = "AQUEDUCT_ROLLUP", default_value = ".aqueduct/rollup/rollup.json")]
    rollup: PathBuf,
    /// Where this node keeps its chain. Default: `.aqueduct/node-<role>`.
    #[arg(long, env = "AQUEDUCT_NODE_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Delete this node's data first.
    #[arg(long)]
    fresh: bool,
    /// L2 JSON-RPC listen address. Default: 127.0.0.1:9545 (sequencer), 127.0.0.1:9548 (verifier),
    /// 127.0.0.1:9549 (challenger).
    #[arg(long, env = "AQUEDUCT_NODE_RPC_ADDR")]
    rpc_addr: Option<SocketAddr>,
    /// The batcher's L1 key (sequencer); it must be the rollup's batcher.
    #[arg(long, env = "AQUEDUCT_BATCHER_KEY", hide_env_values = true, value_parser = crate::l1_key)]
    batcher_key: Option<PrivateKeySigner>,
    /// Post output roots with this L1 key (verifier).
    #[arg(long, env = "AQUEDUCT_PROPOSER_KEY", hide_env_values = true, value_parser = crate::l1_key)]
    proposer_key: Option<PrivateKeySigner>,
    /// Dispute wrong outputs with this L1 key (challenger).
    #[arg(long, env = "AQUEDUCT_CHALLENGER_KEY", hide_env_values = true, value_parser = crate::l1_key)]
    challenger_key: Option<PrivateKeySigner>,
    /// An output every this many L2 blocks.
    #[arg(long, default_value_t = 10)]
    proposal_interval: u64,
    /// Where batches go: auto, calldata or blobs.
    #[arg(long, value_parser = parse_mode, default_value = "auto")]
    data_mode: DataMode,
    /// brotli:<0-11> or zstd:<1-22>.
    #[arg(long, value_parser = parse_compressor, default_value = "brotli:5")]
    compressor: aqueduct_rollup_protocol::Compressor,
    /// L1 blocks an origin must be buried under before the sequencer uses it.
    #[arg(long, default_value_t = 0)]
    l1_confirmations: u64,
    /// Ignore pool transactions from these senders (a censoring sequencer, for experiments;
    /// forced inclusion still reaches them).
    #[arg(long, value_delimiter = ',')]
    censor: Vec<Address>,
    /// How often to look at L1, in milliseconds.
    #[arg(long, default_value_t = 500)]
    poll_ms: u64,
}

pub async fn run(args: NodeArgs) -> eyre::Result<()> {
    let spec = RollupSpec::load(&args.rollup)?;
    let l1 = L1Client::new(&args.l1_rpc)?;
    let chain_id = l1.chain_id().await.wrap_err_with(|| format!("reaching L1 at {}", args.l1_rpc))?;
    check_on_l1(&spec, &l1, chain_id).await.wrap_err("the rollup spec does not match this L1")?;
    let role_name = format!("{:?}", args.role).to_lowercase();
    let data_dir = args.data_dir.clone().unwrap_or_else(|| PathBuf::from(format!(".aqueduct/node-{role_name}")));
    if args.fresh && data_dir.exists() {
        std::fs::remove_dir_all(&data_dir).wrap_err_with(|| format!("removing {}", data_dir.display()))?;
    }
    let poll = Duration::from_millis(args.poll_ms.max(10));
    let mut opts = RollupOptions {
        l1_url: args.l1_rpc.clone(),
        rollup: spec.rollup.clone(),
        data_dir: data_dir.clone(),
        gas_limit: spec.gas_limit,
        funded: spec.funded.clone(),
        funded_balance: spec.funded_balance,
        sequencer: None,
        verifier_rpc: None,
        proposer: None,
        challengers: Vec::new(),
        poll,
        dependencies: Vec::new(),
    };
    match args.role {
        Role::Sequencer => {
            let Some(batcher) = args.batcher_key.clone() else { bail!("a sequencer needs --batcher-key") };
            if batcher.address() != spec.rollup.batcher {
                bail!("--batcher-key is {}, the rollup's batcher is {}", batcher.address(), spec.rollup.batcher);
            }
            opts.sequencer = Some(SequencerRole {
                rpc_addr: args.rpc_addr.unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 9545))),
                batcher,
                sequencer: SequencerConfig { l1_confirmations: args.l1_confirmations, censor: args.censor.clone() },
                batcher_config: BatcherConfig {
                    compressor: args.compressor,
                    mode: args.data_mode,
                    poll,
                    ..Default::default()
                },
                dev_signers: Vec::new(),
            });
        }
        Role::Verifier => {
            opts.verifier_rpc = Some(args.rpc_addr.unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 9548))));
            opts.proposer = args.proposer_key.clone().map(|signer| ProposerRole {
                signer,
                interval: args.proposal_interval.max(1),
                bond: spec.bond,
            });
            if let Some(signer) = args.proposer_key.clone() {
                opts.challengers.push(ChallengerRole { signer, challenge: false });
            }
        }
        Role::Challenger => {
            let Some(signer) = args.challenger_key.clone() else { bail!("a challenger needs --challenger-key") };
            if spec.rollup.dispute_game.is_zero() {
                bail!("this rollup has no dispute game (its spec predates fault proofs); deploy it again");
            }
            opts.verifier_rpc = Some(args.rpc_addr.unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 9549))));
            opts.challengers.push(ChallengerRole { signer, challenge: true });
        }
    }
    let rollup = Rollup::start(opts).await.wrap_err_with(|| format!("starting the {role_name}"))?;
    let rpc = rollup.sequencer_rpc.or(rollup.verifier_rpc).map(|a| format!("http://{a}")).unwrap_or_default();
    println!("Aqueduct rollup {role_name} (L2 chain id {})", spec.rollup.l2_chain_id);
    println!("  L1         {}", args.l1_rpc);
    println!("  JSON-RPC   {rpc}{}", if args.role == Role::Sequencer { "" } else { "  (read-only)" });
    if args.role == Role::Challenger {
        println!("  disputes   game {} (oracle {})", spec.rollup.dispute_game, spec.rollup.oracle);
    }
    println!("  data dir   {}", data_dir.display());
    println!("\nPress Ctrl-C to stop.");
    let mut halts: Vec<_> = rollup.sequencer.iter().chain(&rollup.verifier).map(|c| c.halt()).collect();
    halts.push(rollup.halt.clone());
    let outcome = crate::devnet::until_stopped(halts).await;
    eprintln!("stopping…");
    rollup.stop().await;
    outcome
}
