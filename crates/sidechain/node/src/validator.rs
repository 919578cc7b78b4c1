//! A validator process: its chain and store, consensus on commonware's tokio runtime (in a
//! thread of its own) over authenticated TCP to the other validators, its JSON-RPC, and its L1
//! duties — reading deposits, following the validator set, posting checkpoints.

use std::{
    net::SocketAddr,
    path::PathBuf,
    sync::Arc,
    time::{Duration, Instant},
};

use alloy::{
    primitives::{B256, U256},
    signers::local::PrivateKeySigner,
};
use aqueduct_chain::{Chain, rpc::RpcConfig};
use aqueduct_eth::L1Client;
use aqueduct_service::CancellationToken;
use aqueduct_sidechain_protocol::Quorum;
use commonware_cryptography::ChaCha20Poly1305;
use commonware_p2p::{AddressableManager, authenticated::lookup};
use commonware_runtime::{Clock, Quota, Runner, Spawner, Supervisor as _};
use commonware_stream::{
    cups::{self, Cups},
    sake::{self, Sake},
};
use commonware_utils::{NZU32, NZUsize, ordered::Map};
use jsonrpsee::server::ServerHandle;
use tracing::{info, warn};

use crate::{
    NodeError,
    app::{AppNet, Channel},
    consensus::{CH_BODIES, CH_CERTIFICATES, CH_CHECKPOINTS, CH_FETCH, CH_RESOLVER, CH_TXS, CH_VOTES, PublicKey},
    engine::{self, Channels, Timing},
    l1::{BridgeL1, SetEvent},
    rpc::{SidechainApiServer, SidechainRpc},
    shared::Shared,
    spec::{SidechainSpec, ValidatorKeys},
    store::SideStore,
};

/// Most validators and candidates one validator keeps p2p connections to. The network sizes
/// every channel's inbound queue by it (peers × peer sets kept × backlog), so it is not the
/// protocol's `MAX_VALIDATORS`: a larger network raises it with its memory.
const MAX_PEERS: usize = 16;

/// What one validator process runs with.
#[derive(Clone, Debug)]
pub struct ValidatorOptions {
    pub spec: SidechainSpec,
    /// The validator's secp256k1 secret (its consensus key derives from it).
    pub secret: B256,
    pub data_dir: PathBuf,
    /// Ethereum JSON-RPC of this validator (the spec's `rpc` names it for others).
    pub rpc_addr: SocketAddr,
    pub l1_rpc: String,
    /// Post checkpoints to L1 (paying gas from the validator's key).
    pub submit_checkpoints: bool,
    /// Where consensus p2p listens, for a validator the spec does not list (one that joins
    /// through L1); the spec's address otherwise.
    pub p2p_addr: Option<SocketAddr>,
}

/// A running validator.
pub struct Validator {
    /// Its place in the spec (none for a validator that joined through L1).
    pub index: Option<usize>,
    pub rpc_addr: SocketAddr,
    pub chain: Arc<Chain>,
    pub shared: Arc<Shared>,
    rpc: ServerHandle,
    consensus: Option<std::thread::JoinHandle<()>>,
    l1_task: tokio::task::JoinHandle<()>,
}

impl Validator {
    /// Stops everything and waits for the consensus thread.
    pub async fn stop(mut self) {
        self.shared.stop.cancel();
        let _ = self.rpc.stop();
        self.l1_task.abort();
        if let Some(t) = self.consensus.take() {
            let _ = tokio::task::spawn_blocking(move || t.join()).await;
        }
    }

    /// Resolves when the validator stops, with the reason if it failed.
    pub async fn stopped(&self) -> Option<String> {
        self.shared.stop.cancelled().await;
        self.shared.failure()
    }
}

/// Starts a validator.
pub async fn start_validator(opts: ValidatorOptions) -> Result<Validator, NodeError> {
    let spec = opts.spec.clone();
    spec.check()?;
    let keys = ValidatorKeys::from_secret(&opts.secret)?;
    let me = keys.signer.address();
    let index = spec.index_of(me);
    let p2p = match (index, opts.p2p_addr) {
        (Some(i), _) if spec.validators[i].consensus_key != keys.consensus_key_hex() => {
            return Err(NodeError::Config(
                "the spec's consensus key for this validator is not the one its secret derives".into(),
            ));
        }
        (Some(i), None) => spec.validators[i].p2p,
        (_, Some(a)) => a,
        (None, None) => {
            return Err(NodeError::Config(format!(
                "{me} is not in the spec: give the p2p address it announced when it asked L1 to join"
            )));
        }
    };
    std::fs::create_dir_all(&opts.data_dir)?;
    let chain = Chain::open(spec.chain_config(&opts.data_dir))?;
    let store = Arc::new(SideStore::open(&opts.data_dir.join("sidechain.redb"))?);
    // Until L1 answers, the spec's validators with equal stake.
    let quorum = Quorum { validators: spec.validators.iter().map(|v| (v.signer, U256::from(10u64.pow(18)))).collect() };
    let shared = Arc::new(Shared::new(quorum, &spec.validators));

    let api = SidechainRpc { spec: spec.clone(), index, signer: me, chain: chain.clone(), shared: shared.clone() };
    let config = RpcConfig { addr: opts.rpc_addr, ..Default::default() };
    let (rpc_addr, rpc) =
        aqueduct_chain::rpc::serve_extended(chain.clone(), Vec::new(), config, api.into_rpc().into()).await?;

    let consensus = spawn_consensus(&spec, &keys, p2p, &opts.data_dir, chain.clone(), store, shared.clone())?;
    let l1 = L1Client::new(&opts.l1_rpc).map_err(|e| NodeError::L1(e.to_string()))?;
    let signer = PrivateKeySigner::from_bytes(&opts.secret).map_err(|e| NodeError::Config(e.to_string()))?;
    let l1_task = tokio::spawn(l1_duties(
        spec.clone(),
        BridgeL1::new(l1, spec.bridge),
        signer,
        opts.submit_checkpoints,
        shared.clone(),
    ));
    info!(target: "sidechain", ?index, %me, rpc = %rpc_addr, %p2p, "validator started");
    Ok(Validator { index, rpc_addr, chain, shared, rpc, consensus: Some(consensus), l1_task })
}

/// Runs consensus on commonware's tokio runtime in a thread of its own, until `shared.stop`.
fn spawn_consensus(
    spec: &SidechainSpec,
    keys: &ValidatorKeys,
    listen: SocketAddr,
    data_dir: &std::path::Path,
    chain: Arc<Chain>,
    store: Arc<SideStore>,
    shared: Arc<Shared>,
) -> Result<std::thread::JoinHandle<()>, NodeError> {
    let storage = data_dir.join("consensus");
    let (spec, keys) = (spec.clone(), keys.clone());
    let thread = std::thread::Builder::new().name("sidechain-consensus".into()).spawn(move || {
        let cfg = commonware_runtime::tokio::Config::new().with_storage_directory(storage);
        let runner = commonware_runtime::tokio::Runner::new(cfg);
        runner.start(async move |context| {
            let namespace = crate::consensus::namespace(spec.chain_id);
            let handshake = Cups::<_, ChaCha20Poly1305>::new(
                Sake {
                    signer: keys.consensus.clone(),
                    synchrony_bound: Duration::from_secs(5),
                    max_handshake_age: Duration::from_secs(10),
                    version: sake::Version::V1,
                },
                cups::Version::V1,
            );
            let p2p = lookup::Config::local(
                handshake,
                &[namespace.as_slice(), b"_P2P"].concat(),
                listen,
                NZUsize!(MAX_PEERS),
                8 * 1024 * 1024,
                NZUsize!(1_024),
            );
            let (mut network, oracle) = lookup::Network::new(context.child("network"), p2p);
            context.child("peers").spawn({
                let (shared, oracle) = (shared.clone(), oracle.clone());
                move |context| track_peers(context, oracle, shared)
            });
            let rate = Quota::per_second(NZU32!(10_000));
            let mut reg = |ch| {
                let (s, r) = network.register(ch, rate);
                (s, r)
            };
            let votes = reg(CH_VOTES);
            let certificates = reg(CH_CERTIFICATES);
            let resolver = reg(CH_RESOLVER);
            let ch = |(sender, receiver)| Channel { sender, receiver };
            let app = AppNet {
                bodies: ch(reg(CH_BODIES)),
                fetch: ch(reg(CH_FETCH)),
                checkpoints: ch(reg(CH_CHECKPOINTS)),
                txs: ch(reg(CH_TXS)),
            };
            network.start();
            let channels = Channels { votes, certificates, resolver, app };
            if let Err(e) = engine::start(
                context.child("sidechain"),
                &spec,
                &keys,
                chain,
                store,
                shared.clone(),
                oracle,
                channels,
                Timing::default(),
            ) {
                shared.fail(e.to_string());
                return;
            }
            shared.stop.cancelled().await;
        });
    })?;
    Ok(thread)
}

/// Keeps the p2p network's peer list to every validator and candidate known (the spec's, then
/// those that asked L1 to join): a new peer set each time one is added.
async fn track_peers<E: Clock>(context: E, mut oracle: lookup::Oracle<PublicKey>, shared: Arc<Shared>) {
    let mut tracked = 0usize;
    let mut id = 0u64;
    loop {
        let dir = shared.directory();
        if dir.len() != tracked {
            let peers: Vec<(PublicKey, commonware_p2p::Address)> = dir
                .iter()
                .filter_map(|v| {
                    crate::spec::consensus_key(&v.consensus_key).ok().map(|k| (k, commonware_p2p::Address::from(v.p2p)))
                })
                .take(MAX_PEERS)
                .collect();
            match Map::try_from(peers) {
                Ok(map) => {
                    let _ = oracle.track(id, map);
                    id += 1;
                }
                Err(_) => warn!(target: "sidechain", "two validators announced one consensus key; peers not updated"),
            }
            tracked = dir.len();
        }
        tokio::select! {
            _ = shared.stop.cancelled() => return,
            _ = context.sleep(Duration::from_millis(500)) => {}
        }
    }
}

/// L1 duties: deposits (after confirmations) for the proposers, the validator set from the
/// bridge, and checkpoints posted once more than 2/3 signed (the checkpoint's turn-holder
/// first, anyone after a grace period).
async fn l1_duties(spec: SidechainSpec, bridge: BridgeL1, signer: PrivateKeySigner, submit: bool, shared: Arc<Shared>) {
    let stop: CancellationToken = shared.stop.clone();
    let mut cursor = spec.deployed_at;
    let mut quorum_seen: Option<(u64, Instant)> = None;
    let mut audited = 0u64;
    loop {
        let mut round = l1_round(&spec, &bridge, &signer, submit, &shared, &mut cursor, &mut quorum_seen).await;
        if round.is_ok() {
            round = audit(&bridge, &shared, &mut audited).await;
        }
        if let Err(e) = round {
            warn!(target: "sidechain", error = %e, "L1 duty failed; retrying");
        }
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(Duration::from_millis(250)) => {}
        }
    }
}

/// Compares each checkpoint L1 accepted with this validator's own for the same number: one that
/// differs (signed by a colluding 2/3 with a forged root) is reported as evidence — the honest
/// validators see it, but the bridge already took it.
async fn audit(bridge: &BridgeL1, shared: &Shared, audited: &mut u64) -> Result<(), crate::l1::BridgeError> {
    use alloy::sol_types::SolValue;
    let on_l1 = shared.l1_checkpoints();
    while *audited < on_l1 {
        let n = *audited;
        let Some(ours) = shared.checkpoint(n) else { break };
        let theirs = bridge.checkpoint_hash(n).await?;
        let mine = alloy::primitives::keccak256(ours.checkpoint.to_abi().abi_encode());
        if theirs != mine {
            let what = format!(
                "checkpoint {n} on L1 is not this chain's (L1 holds {theirs}, this chain's is {mine}: blocks {}..={}, withdrawals root {}): signed by validators holding more than 2/3 of the stake",
                ours.checkpoint.start_block, ours.checkpoint.end_block, ours.checkpoint.withdrawals_root
            );
            warn!(target: "sidechain", %what, "forged checkpoint on L1");
            shared.add_evidence(what);
        }
        *audited += 1;
    }
    Ok(())
}

async fn l1_round(
    spec: &SidechainSpec,
    bridge: &BridgeL1,
    signer: &PrivateKeySigner,
    submit: bool,
    shared: &Shared,
    cursor: &mut u64,
    quorum_seen: &mut Option<(u64, Instant)>,
) -> Result<(), crate::l1::BridgeError> {
    let head = bridge.l1.head().await?;
    let safe = head.saturating_sub(spec.l1_confirmations);
    while *cursor <= safe {
        let to = safe.min(*cursor + 5_000);
        for d in bridge.deposits(*cursor, to).await? {
            shared.add_deposit(d);
        }
        for e in bridge.set_events(*cursor, to).await? {
            match e {
                SetEvent::Candidate(v) => {
                    let (who, p2p) = (v.signer, v.p2p);
                    if shared.add_candidate(v) {
                        info!(target: "sidechain", validator = %who, %p2p, "a validator asked to join");
                    } else {
                        warn!(target: "sidechain", validator = %who, "a join request announced another validator's consensus key: it takes no part in consensus");
                    }
                }
                // The constructor's event names the spec's set (epoch 0).
                SetEvent::Changed(c) if c.epoch == 0 => {}
                SetEvent::Changed(c) => {
                    info!(target: "sidechain", epoch = c.epoch, at_checkpoint = c.at_checkpoint, validators = c.validators.len(), "L1 changed the validator set");
                    shared.add_set_change(c);
                }
            }
        }
        *cursor = to + 1;
    }
    shared.set_quorum(bridge.quorum().await?);
    let on_l1 = bridge.checkpoint_count().await?;
    shared.set_l1_checkpoints(on_l1);
    if !submit {
        return Ok(());
    }
    let Some(mut cp) = shared.checkpoint(on_l1) else { return Ok(()) };
    let quorum = shared.quorum();
    // Signatures of validators that left since they signed do not count (L1 refuses them).
    cp.signatures.retain(|(a, _)| quorum.stake_of(a) > U256::ZERO);
    if !quorum.reached(cp.signed_stake(&quorum)) {
        return Ok(());
    }
    let since = match quorum_seen {
        Some((num, t)) if *num == on_l1 => *t,
        _ => {
            *quorum_seen = Some((on_l1, Instant::now()));
            Instant::now()
        }
    };
    // Turns go round L1's current set.
    let n = quorum.validators.len().max(1) as u64;
    let my_turn = quorum.validators.iter().position(|(a, _)| *a == signer.address()) == Some((on_l1 % n) as usize);
    if my_turn || since.elapsed() > Duration::from_secs(6) {
        match bridge.submit_checkpoint(signer, &cp).await {
            Ok(s) => {
                info!(target: "sidechain", number = cp.checkpoint.number, gas = s.gas, signatures = cp.signatures.len(), "checkpoint on L1");
                shared.set_l1_checkpoints(on_l1 + 1);
            }
            Err(e) => warn!(target: "sidechain", number = cp.checkpoint.number, error = %e, "checkpoint not posted"),
        }
    }
    Ok(())
}
