//! Starts a rollup's services in this process: a sequencer (with its batcher) and/or a verifier
//! (with its proposer), each with its own chain, data directory and JSON-RPC endpoint.

use std::{net::SocketAddr, path::PathBuf, sync::Arc, time::Duration};

use alloy::{
    primitives::{Address, U256, address},
    signers::local::PrivateKeySigner,
};
use aqueduct_chain::{Chain, ChainConfig, ChainError, Genesis, MiningMode, rpc};
use aqueduct_rollup_protocol::{Pipeline, RollupConfig};
use aqueduct_service::{CancellationToken, Halt};
use parking_lot::Mutex;
use tokio::task::JoinHandle;
use tracing::info;

use crate::{
    batcher::{Batcher, BatcherConfig, PostStats},
    genesis::l2_genesis,
    interop::{Interop, Source},
    l1::L1Client,
    proposer::Proposer,
    sequencer::{Sequencer, SequencerConfig},
    verifier::Verifier,
};

/// Receives L2 priority fees.
pub const SEQUENCER_FEE_VAULT: Address = address!("0x4200000000000000000000000000000000000011");

#[derive(Debug, thiserror::Error)]
pub enum RollupError {
    #[error("invalid rollup config: {0}")]
    Config(String),
    #[error(transparent)]
    Chain(#[from] ChainError),
    #[error("L2 JSON-RPC on {addr}: {source}")]
    Rpc { addr: SocketAddr, source: std::io::Error },
    #[error(transparent)]
    L1(#[from] crate::l1::L1Error),
    /// Opening the chain panicked (a bug).
    #[error("opening the L2 chain: {0}")]
    Task(#[from] tokio::task::JoinError),
}

/// The L2 rule set: Prague EVM, no blob transactions, deposits and the L1 data fee, OP-like
/// EIP-1559 parameters, blocks made by the sequencer or by derivation (never by a timer here).
pub fn l2_chain_config(cfg: &RollupConfig, gas_limit: u64, data_dir: PathBuf, genesis: Genesis) -> ChainConfig {
    let mut rules = aqueduct_rollup_protocol::l2_execution_rules(cfg.l2_chain_id, gas_limit, cfg.l2_rules());
    rules.client_version = format!("aqueduct-l2/v{}", env!("CARGO_PKG_VERSION"));
    rules.mining = MiningMode::Manual;
    rules.suggested_tip = 1_000_000;
    rules.pool.max_txs = 500_000;
    rules.pool.max_per_sender = 50_000;
    rules.pool.max_nonce_gap = 50_000;
    ChainConfig { rules, genesis, data_dir, beneficiary: SEQUENCER_FEE_VAULT, safe_depth: 0, finalized_depth: 0 }
}

pub struct SequencerRole {
    pub rpc_addr: SocketAddr,
    pub batcher: PrivateKeySigner,
    pub sequencer: SequencerConfig,
    pub batcher_config: BatcherConfig,
    /// Unlocked for `eth_sendTransaction` on L2.
    pub dev_signers: Vec<PrivateKeySigner>,
}

/// A fault-proof player (see [`crate::Challenger`]).
pub struct ChallengerRole {
    pub signer: PrivateKeySigner,
    /// Dispute wrong outputs (off: only defend this key's own outputs).
    pub challenge: bool,
}

pub struct ProposerRole {
    pub signer: PrivateKeySigner,
    pub interval: u64,
    pub bond: U256,
}

pub struct RollupOptions {
    pub l1_url: String,
    pub rollup: RollupConfig,
    pub data_dir: PathBuf,
    pub gas_limit: u64,
    /// L2 accounts funded at genesis, and with how much.
    pub funded: Vec<Address>,
    pub funded_balance: U256,
    pub sequencer: Option<SequencerRole>,
    /// Where the verifier serves read-only JSON-RPC (None: no verifier).
    pub verifier_rpc: Option<SocketAddr>,
    pub proposer: Option<ProposerRole>,
    /// Fault-proof players on the verifier's chain: the challenger, and proposers defending
    /// their own outputs.
    pub challengers: Vec<ChallengerRole>,
    /// How often the verifier and proposer look at L1.
    pub poll: Duration,
    /// Rollups on the same L1 whose messages this one accepts (each derived from L1 here too).
    pub dependencies: Vec<crate::RollupSpec>,
}

/// Running rollup services.
pub struct Rollup {
    pub sequencer: Option<Arc<Chain>>,
    pub sequencer_rpc: Option<SocketAddr>,
    pub verifier: Option<Arc<Chain>>,
    pub verifier_rpc: Option<SocketAddr>,
    pub batcher_stats: Option<Arc<Mutex<Vec<PostStats>>>>,
    /// Stopped, with why, when a service meets a critical error (the verifier below the anchor).
    pub halt: Halt,
    cancel: CancellationToken,
    tasks: Vec<JoinHandle<()>>,
    servers: Vec<jsonrpsee::server::ServerHandle>,
}

async fn open(config: ChainConfig) -> Result<Arc<Chain>, RollupError> {
    let dir = config.data_dir.clone();
    let chain = tokio::task::spawn_blocking(move || Chain::open(config)).await??;
    // L2 headers carry the derivation metadata in 32 bytes of extraData; an older build wrote 56,
    // which this one would misread (a wrong epoch), so such a chain is refused by name.
    let head = chain.head();
    if head.number() > 0 && head.header.extra_data.len() != 32 {
        return Err(RollupError::Config(format!(
            "{} holds L2 blocks of an older Aqueduct's header layout ({} bytes of extraData, not 32): start again with --fresh",
            dir.display(),
            head.header.extra_data.len()
        )));
    }
    Ok(chain)
}

impl Rollup {
    pub async fn start(o: RollupOptions) -> Result<Self, RollupError> {
        o.rollup.validate().map_err(RollupError::Config)?;
        let genesis = l2_genesis(&o.rollup, &o.funded, o.funded_balance);
        let l1 = L1Client::new(&o.l1_url)?;
        let cancel = CancellationToken::new();
        let mut r = Rollup {
            sequencer: None,
            sequencer_rpc: None,
            verifier: None,
            verifier_rpc: None,
            batcher_stats: None,
            halt: Halt::new(),
            cancel: cancel.clone(),
            tasks: Vec::new(),
            servers: Vec::new(),
        };
        let interop = r.start_dependencies(&o, &l1).await?;
        if let Some(s) = o.sequencer {
            let cfg = l2_chain_config(&o.rollup, o.gas_limit, o.data_dir.join("sequencer"), genesis.clone());
            let chain = open(cfg).await?;
            let pipeline = Arc::new(Mutex::new(Pipeline::new(o.rollup.clone())));
            let seq =
                Sequencer::new(chain.clone(), l1.clone(), pipeline.clone(), s.sequencer).with_interop(interop.clone());
            let batcher = Batcher::new(chain.clone(), l1.clone(), pipeline, s.batcher, s.batcher_config)
                .with_progress_file(o.data_dir.join("sequencer").join("batcher-progress"));
            r.batcher_stats = Some(batcher.stats());
            let (halt, stop) = (r.halt.clone(), cancel.clone());
            r.tasks.push(tokio::spawn(async move {
                aqueduct_service::run(seq, Duration::ZERO, stop, halt).await;
            }));
            let (poll, halt, stop) = (batcher.poll(), r.halt.clone(), cancel.clone());
            r.tasks.push(tokio::spawn(async move {
                aqueduct_service::run(batcher, poll, stop, halt).await;
            }));
            let rpc_cfg = rpc::RpcConfig { addr: s.rpc_addr, ..Default::default() };
            let (addr, handle) = rpc::serve(chain.clone(), s.dev_signers, rpc_cfg)
                .await
                .map_err(|source| RollupError::Rpc { addr: s.rpc_addr, source })?;
            info!(target: "rollup", %addr, "sequencer JSON-RPC up");
            r.servers.push(handle);
            r.sequencer = Some(chain);
            r.sequencer_rpc = Some(addr);
        }
        if let Some(rpc_addr) = o.verifier_rpc {
            let cfg = l2_chain_config(&o.rollup, o.gas_limit, o.data_dir.join("verifier"), genesis);
            let chain = open(cfg).await?;
            let verifier = Verifier::new(chain.clone(), l1.clone(), Pipeline::new(o.rollup.clone()), o.poll)?
                .with_interop(interop.clone());
            let (poll, halt, stop) = (verifier.poll(), r.halt.clone(), cancel.clone());
            r.tasks.push(tokio::spawn(async move {
                aqueduct_service::run(verifier, poll, stop, halt).await;
            }));
            if let Some(p) = o.proposer {
                let proposer =
                    Proposer::new(chain.clone(), l1.clone(), o.rollup.oracle, p.signer, p.interval, p.bond, o.poll);
                let (poll, halt, stop) = (proposer.poll(), r.halt.clone(), cancel.clone());
                r.tasks.push(tokio::spawn(async move {
                    aqueduct_service::run(proposer, poll, stop, halt).await;
                }));
            }
            for c in o.challengers {
                let mut player = crate::Challenger::new(chain.clone(), l1.clone(), o.rollup.clone(), c.signer, o.poll);
                player.challenge = c.challenge;
                let (poll, halt, stop) = (o.poll, r.halt.clone(), cancel.clone());
                r.tasks.push(tokio::spawn(async move {
                    aqueduct_service::run(player, poll, stop, halt).await;
                }));
            }
            let to = r.sequencer_rpc.map(|a| format!("http://{a}")).unwrap_or_else(|| "the sequencer".into());
            let rpc_cfg = rpc::RpcConfig { addr: rpc_addr, read_only: Some(to), ..Default::default() };
            let (addr, handle) = rpc::serve(chain.clone(), Vec::new(), rpc_cfg)
                .await
                .map_err(|source| RollupError::Rpc { addr: rpc_addr, source })?;
            info!(target: "rollup", %addr, "verifier JSON-RPC up");
            r.servers.push(handle);
            r.verifier = Some(chain);
            r.verifier_rpc = Some(addr);
        }
        Ok(r)
    }

    /// A verifier of each rollup this one accepts messages from, under `data_dir/interop/<chain id>`.
    async fn start_dependencies(&mut self, o: &RollupOptions, l1: &L1Client) -> Result<Interop, RollupError> {
        let mut sources = Vec::new();
        for spec in &o.dependencies {
            let id = spec.rollup.l2_chain_id;
            if id == o.rollup.l2_chain_id {
                return Err(RollupError::Config(format!("rollup {id} cannot depend on itself")));
            }
            let dir = o.data_dir.join("interop").join(id.to_string());
            let cfg = l2_chain_config(&spec.rollup, spec.gas_limit, dir, spec.genesis());
            let chain = open(cfg).await?;
            let verifier = Verifier::new(chain.clone(), l1.clone(), Pipeline::new(spec.rollup.clone()), o.poll)?;
            sources.push(Source { chain_id: id, chain, state: verifier.derived() });
            let (poll, halt, stop) = (verifier.poll(), self.halt.clone(), self.cancel.clone());
            self.tasks.push(tokio::spawn(async move {
                aqueduct_service::run(verifier, poll, stop, halt).await;
            }));
            info!(target: "rollup", source = id, "deriving a source rollup for its messages");
        }
        Ok(Interop::new(sources))
    }

    /// Stops every service; what they made is on disk.
    pub async fn stop(self) {
        self.cancel.cancel();
        for s in self.servers {
            let _ = s.stop();
            s.stopped().await;
        }
        for t in self.tasks {
            let _ = t.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use aqueduct_chain::{BlockAttributes, L1Prices};
    use aqueduct_rollup_protocol::{L1Origin, encode_meta, l1_info_deposit};

    use super::*;

    fn config() -> RollupConfig {
        RollupConfig {
            l2_chain_id: 901,
            block_time_ms: 1000,
            seq_window: 10,
            channel_timeout: 10,
            max_channel_bytes: 1 << 20,
            portal: Address::repeat_byte(1),
            inbox: Address::repeat_byte(2),
            oracle: Address::repeat_byte(3),
            dispute_game: Address::repeat_byte(5),
            batcher: Address::repeat_byte(4),
            l1_genesis: L1Origin { number: 1, timestamp: 1_000, base_fee: 7, blob_base_fee: 1, ..Default::default() },
            l2_genesis_time: 1_000,
            compression_ppm: 600_000,
            base_fee_scalar: 50_000,
            blob_base_fee_scalar: 1_000_000,
        }
    }

    /// An L2 chain (deposits, L1 prices and metadata in the header) reopens from disk as it was.
    #[test]
    fn l2_chain_reopens_from_disk() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = config();
        let genesis = l2_genesis(&cfg, &[Address::repeat_byte(9)], U256::from(10u128.pow(21)));
        let open =
            || Chain::open(l2_chain_config(&cfg, 30_000_000, dir.path().to_path_buf(), genesis.clone())).unwrap();
        let chain = open();
        let mut hashes = Vec::new();
        for n in 1..=3u64 {
            let b = chain
                .build_block(BlockAttributes {
                    timestamp: Some(cfg.block_timestamp(n)),
                    deposits: vec![l1_info_deposit(&cfg.l1_genesis, n - 1)],
                    from_pool: true,
                    l1_prices: L1Prices { base_fee: 7, blob_base_fee: 1 },
                    extra_data: encode_meta(0, 1, n - 1),
                    ..Default::default()
                })
                .unwrap();
            hashes.push(b.hash);
        }
        drop(chain);
        let chain = open();
        assert_eq!(chain.head().number(), 3);
        assert_eq!(chain.head().hash, hashes[2]);
        // D4 on L2 rules: deposits and the L1 fee re-execute statelessly to the same roots.
        let rules = l2_chain_config(&cfg, 30_000_000, dir.path().to_path_buf(), genesis.clone()).rules;
        for n in 1..=3 {
            let (w, input, pre) = chain.witness(n).unwrap();
            let out = aqueduct_chain::execute_stateless(&rules, pre, &w, input).unwrap();
            assert_eq!(out.post_root, chain.block(aqueduct_chain::BlockRef::Number(n)).unwrap().header.state_root);
        }
        // The genesis output the dispute game is deployed with is the one the chain reports.
        let computed = crate::genesis::genesis_output(&cfg, 30_000_000, &genesis).unwrap();
        assert_eq!(computed, crate::proposer::output_at(&chain, 0).unwrap());
    }

    /// L2 blocks written with the older 56-byte extraData would be misread (a wrong epoch):
    /// opening them as a rollup node is refused by name; blocks of today's layout open.
    #[tokio::test]
    async fn an_l2_chain_of_the_older_header_layout_is_refused() {
        let cfg = config();
        let genesis = l2_genesis(&cfg, &[], U256::ZERO);
        for (meta, ok) in [(encode_meta(0, 1, 0).to_vec(), true), ([0u8; 40].to_vec(), false)] {
            let dir = tempfile::tempdir().unwrap();
            let chain_config = || l2_chain_config(&cfg, 30_000_000, dir.path().to_path_buf(), genesis.clone());
            let chain = Chain::open(chain_config()).unwrap();
            chain
                .build_block(BlockAttributes {
                    timestamp: Some(cfg.block_timestamp(1)),
                    deposits: vec![l1_info_deposit(&cfg.l1_genesis, 0)],
                    extra_data: meta.into(),
                    ..Default::default()
                })
                .unwrap();
            drop(chain);
            match super::open(chain_config()).await {
                Ok(_) => assert!(ok, "a 56-byte header layout opened"),
                Err(e) => assert!(!ok && e.to_string().contains("start again with --fresh"), "{e}"),
            }
        }
    }
}
