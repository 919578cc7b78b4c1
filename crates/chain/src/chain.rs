//! The chain: state, pool, blocks and storage behind one lock, with events for subscribers.

mod call;
mod dev;
mod mine;
mod proofs;
mod reads;
mod submit;
mod trace;
mod unwind;

pub use trace::{AccessListResult, STRUCT_LOG_LIMIT};

use std::{
    collections::{HashMap, HashSet},
    path::PathBuf,
    sync::Arc,
    time::{SystemTime, UNIX_EPOCH},
};

use alloy::{
    consensus::{EMPTY_OMMER_ROOT_HASH, Header, Transaction, TxEnvelope},
    eips::{
        eip2718::Typed2718, eip4844::env_settings::EnvKzgSettings, eip7594::BlobTransactionSidecarVariant,
        eip7685::EMPTY_REQUESTS_HASH,
    },
    primitives::{Address, B256, Bloom, Bytes, U256, keccak256},
};
use aqueduct_primitives::StateAccount;
use aqueduct_service::{CancellationToken, Halt};
use aqueduct_trie::{EMPTY_ROOT, TrieError};
use parking_lot::Mutex;
use revm::{
    context::{BlockEnv, CfgEnv, TxEnv, result::EVMError},
    precompile::Precompiles,
};
use tokio::sync::{Notify, broadcast};
use tracing::{debug, error, info, warn};

use crate::{
    block::{ChainTx, SealedBlock},
    builder::{BlockAttributes, BodyExecutor, Gate, Skip},
    error::{ChainError, TxError},
    executor::{BlockContext, block_env, build_evm, cfg_env, intrinsic_gas, precompiles_for},
    genesis::Genesis,
    overlay::Overlay,
    pool::Pool,
    rebuild::{Body, assemble_header, child_context, child_timestamp, extra_data, run_given},
    rules::ChainRules,
    state::{Reverts, StateDiff, StateView, StateWrite, WorldState},
    store::{Commit, Store},
};

/// How to open a chain.
#[derive(Clone, Debug)]
pub struct ChainConfig {
    pub rules: ChainRules,
    pub genesis: Genesis,
    /// Directory of the chain's database.
    pub data_dir: PathBuf,
    /// Receives priority fees.
    pub beneficiary: Address,
    /// Blocks behind the head that count as `safe` / `finalized`.
    pub safe_depth: u64,
    pub finalized_depth: u64,
}

/// What subscribers hear about.
#[derive(Clone, Debug)]
pub enum ChainEvent {
    /// A new head block.
    Block(Arc<SealedBlock>),
    /// A block left the canonical chain (unwound by a reorg or a snapshot revert).
    Removed(Arc<SealedBlock>),
}

/// A block number or tag, as JSON-RPC names blocks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlockRef {
    Number(u64),
    Hash(B256),
    Latest,
    Pending,
    Safe,
    Finalized,
    Earliest,
}

struct Inner {
    store: Store,
    blocks: Vec<Arc<SealedBlock>>,
    hashes: Vec<B256>,
    by_hash: HashMap<B256, u64>,
    tx_index: HashMap<B256, (u64, usize)>,
    state: WorldState,
    /// Undo log of dev-method changes made since the head block.
    pending_reverts: Reverts,
    pool: Pool,
    sidecars: HashMap<B256, BlobTransactionSidecarVariant>,
    time_offset: i64,
    next_timestamp: Option<u64>,
    snapshots: Vec<(u64, u64, i64)>,
    next_snapshot: u64,
    impersonated: HashSet<Address>,
    /// When the pool last dropped expired queued transactions (seconds).
    last_expiry: u64,
}

/// One chain (DESIGN D1): the engine under the L1 devnet, the rollup nodes and the sidechain.
pub struct Chain {
    rules: ChainRules,
    config: ChainConfig,
    precompiles: &'static Precompiles,
    inner: Mutex<Inner>,
    events: broadcast::Sender<ChainEvent>,
    pending: Notify,
    /// Stopped, with why, when a write to its store failed (D13: Critical).
    halt: Halt,
}

/// Blocks whose states' trie nodes stay in memory; older states are read through the store
/// (historical `eth_getProof`, `eth_call` at an old block, witnesses of old blocks).
pub const RECENT_STATES_IN_MEMORY: u64 = 256;

/// Blocks between two passes that let older trie nodes leave memory.
pub const NODE_PRUNE_INTERVAL: u64 = 1_024;

/// Keeps in memory only the trie nodes of the last [`RECENT_STATES_IN_MEMORY`] blocks' states
/// (and of the pending state): without it every state ever made stays in memory, a few KB per
/// block even when nothing happens (issue 23).
fn keep_recent_nodes(inner: &mut Inner) {
    let from = inner.blocks.len().saturating_sub(RECENT_STATES_IN_MEMORY as usize);
    let roots: Vec<B256> = inner.blocks[from..].iter().map(|b| b.header.state_root).collect();
    let started = std::time::Instant::now();
    match inner.state.keep_nodes_of(roots) {
        Ok(dropped) => debug!(
            target: "chain",
            dropped,
            kept = inner.state.nodes().len(),
            ms = started.elapsed().as_millis() as u64,
            "older trie nodes left memory"
        ),
        // A node the walk could not read: keep everything (nothing is lost, memory only grows).
        Err(e) => warn!(target: "chain", error = %e, "trie nodes kept in memory: the walk over recent states failed"),
    }
}

fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or_default()
}

impl Chain {
    /// Opens the chain in `config.data_dir`, creating it from genesis if it is new.
    pub fn open(config: ChainConfig) -> Result<Arc<Self>, ChainError> {
        let path = config.data_dir.join("chain.redb");
        let corrupt = |why: String| ChainError::Corrupt { path: path.clone(), why };
        // redb panics on some damaged pages: that is a corrupt store too, not a crash.
        let opened = std::panic::catch_unwind(|| {
            let store = Store::open(&path)?;
            let loaded = store.load()?;
            Ok::<_, crate::store::StoreError>((store, loaded))
        });
        let (store, loaded) = match opened {
            Ok(Ok(v)) => v,
            Ok(Err(e @ crate::store::StoreError::Corrupt { .. })) => return Err(corrupt(e.to_string())),
            Ok(Err(e)) => return Err(e.into()),
            Err(panic) => {
                let what = panic
                    .downcast_ref::<String>()
                    .map(String::as_str)
                    .or_else(|| panic.downcast_ref::<&str>().copied())
                    .unwrap_or("the database engine panicked");
                return Err(corrupt(format!("reading it failed: {what}")));
            }
        };
        if let Some(l) = &loaded {
            check_loaded(l).map_err(corrupt)?;
        }
        let rules = config.rules.clone();
        let (blocks, state, pending_reverts, time_offset) = match loaded {
            Some(l) => {
                let offset = l
                    .meta
                    .get("time_offset")
                    .and_then(|v| <[u8; 8]>::try_from(v.as_slice()).ok())
                    .map(i64::from_be_bytes)
                    .unwrap_or(0);
                info!(target: "chain", head = l.blocks.len() - 1, "resumed from disk");
                (l.blocks, l.state, l.pending_reverts, offset)
            }
            None => {
                let (block, state, write) = Self::genesis_block(&rules, &config.genesis)?;
                store.commit(Commit {
                    block: Some(&block),
                    state: &write,
                    reverts: &Reverts::default(),
                    meta: &[],
                    blobs: &[],
                })?;
                info!(target: "chain", hash = %block.hash, state_root = %block.header.state_root, "created genesis");
                (vec![block], state, Reverts::default(), 0)
            }
        };
        let mut inner = Inner {
            store,
            hashes: blocks.iter().map(|b| b.hash).collect(),
            by_hash: HashMap::new(),
            tx_index: HashMap::new(),
            blocks: Vec::new(),
            state,
            pending_reverts,
            pool: Pool::new(rules.pool),
            sidecars: HashMap::new(),
            time_offset,
            next_timestamp: None,
            snapshots: Vec::new(),
            next_snapshot: 1,
            impersonated: HashSet::new(),
            last_expiry: 0,
        };
        for b in blocks {
            index_block(&mut inner, b);
        }
        let cold: Arc<dyn aqueduct_trie::NodeStore + Send + Sync> = Arc::new(inner.store.nodes());
        inner.state.set_cold_nodes(cold);
        keep_recent_nodes(&mut inner);
        let (events, _) = broadcast::channel(4096);
        Ok(Arc::new(Self {
            precompiles: precompiles_for(&rules),
            rules,
            config,
            inner: Mutex::new(inner),
            events,
            pending: Notify::new(),
            halt: Halt::new(),
        }))
    }

    /// Trie nodes held in memory (those of the last [`RECENT_STATES_IN_MEMORY`] states, and
    /// what blocks made since the last pruning pass).
    pub fn nodes_in_memory(&self) -> usize {
        self.inner.lock().state.nodes().len()
    }

    /// Why the chain stopped, once a write to its store has failed.
    pub fn failure(&self) -> Option<&str> {
        self.halt.why()
    }

    /// Cancelled when the chain stops (its JSON-RPC server and its process stop with it).
    pub fn stopped(&self) -> CancellationToken {
        self.halt.token()
    }

    /// The chain's stop signal with its reason, for whatever waits on it (the devnet exits with it).
    pub fn halt(&self) -> Halt {
        self.halt.clone()
    }

    /// Refuses every change once the chain has stopped.
    fn running(&self) -> Result<(), ChainError> {
        match self.halt.why() {
            Some(why) => Err(ChainError::Stopped(why.to_string())),
            None => Ok(()),
        }
    }

    /// A write to the store failed: the chain stops for good (D13: Critical). The caller has put
    /// memory back to what the store holds.
    fn stop_on(&self, what: &str, e: impl std::fmt::Display) -> ChainError {
        let why = format!(
            "writing {what} to {} failed ({e}); nothing after the last stored block was kept — free the disk or repair the store, then restart",
            self.config.data_dir.join("chain.redb").display()
        );
        let why = self.halt.halt(why).to_string();
        error!(target: "chain", "{why}");
        ChainError::Stopped(why)
    }

    /// The genesis block `genesis` makes under `rules`, without opening a chain.
    pub fn genesis_of(rules: &ChainRules, genesis: &Genesis) -> Result<Arc<SealedBlock>, ChainError> {
        Ok(Self::genesis_block(rules, genesis)?.0)
    }

    fn genesis_block(
        rules: &ChainRules,
        g: &Genesis,
    ) -> Result<(Arc<SealedBlock>, WorldState, StateWrite), ChainError> {
        let mut diff = StateDiff::default();
        for (addr, acc) in &g.alloc {
            let code_hash = StateAccount::code_hash_of(&acc.code);
            if !acc.code.is_empty() {
                diff.codes.insert(code_hash, acc.code.clone());
            }
            diff.accounts.insert(
                *addr,
                Some(StateAccount { nonce: acc.nonce, balance: acc.balance, storage_root: EMPTY_ROOT, code_hash }),
            );
            let slots = diff.storage.entry(*addr).or_default();
            for (k, v) in &acc.storage {
                slots.insert(U256::from_be_bytes(k.0), U256::from_be_bytes(v.0));
            }
        }
        let mut state = WorldState::new();
        state.apply(diff);
        let write = state.commit_root()?;
        let header = Header {
            parent_hash: B256::ZERO,
            ommers_hash: EMPTY_OMMER_ROOT_HASH,
            beneficiary: Address::ZERO,
            state_root: state.root(),
            transactions_root: EMPTY_ROOT,
            receipts_root: EMPTY_ROOT,
            logs_bloom: Bloom::ZERO,
            difficulty: U256::ZERO,
            number: 0,
            gas_limit: rules.gas_limit,
            gas_used: 0,
            timestamp: if g.timestamp == 0 { now_secs() } else { g.timestamp },
            extra_data: g.extra_data.clone(),
            mix_hash: B256::ZERO,
            nonce: Default::default(),
            base_fee_per_gas: Some(g.base_fee),
            withdrawals_root: Some(EMPTY_ROOT),
            // Present (zero) without blobs too, as on OP: the header's later fields need them.
            blob_gas_used: Some(0),
            excess_blob_gas: Some(0),
            parent_beacon_block_root: Some(B256::ZERO),
            requests_hash: Some(EMPTY_REQUESTS_HASH),
            ..Default::default()
        };
        Ok((SealedBlock::new(header, vec![], vec![]), state, write))
    }

    pub fn rules(&self) -> &ChainRules {
        &self.rules
    }

    pub fn config(&self) -> &ChainConfig {
        &self.config
    }

    pub fn subscribe(&self) -> broadcast::Receiver<ChainEvent> {
        self.events.subscribe()
    }

    /// Resolves when a transaction enters the pool (the instant miner waits on it).
    pub async fn pending_notified(&self) {
        self.pending.notified().await
    }
}

/// A call to execute: the transaction environment and state overrides to apply first.
/// A call that could not run, in geth's words where clients classify them.
fn call_error(caller: Address, e: EVMError<crate::overlay::StateError>) -> ChainError {
    match e {
        // geth's wording, which clients classify as insufficient funds (not a revert).
        EVMError::Transaction(revm::context::result::InvalidTransaction::LackOfFundForMaxFee { fee, balance }) => {
            ChainError::Tx(TxError::InsufficientFunds { address: caller, have: *balance, want: *fee })
        }
        EVMError::Transaction(e) => ChainError::Tx(TxError::Invalid(e)),
        e => ChainError::Execution(Box::new(e)),
    }
}

#[derive(Clone)]
pub struct CallArgs {
    pub tx: revm::context::TxEnv,
    #[allow(clippy::type_complexity)]
    pub overrides: Arc<dyn Fn(&mut dyn OverrideTarget) -> Result<(), ChainError> + Send + Sync>,
}

impl CallArgs {
    /// A read-only call of `to` with `data`, no overrides (a node reading its own contracts).
    pub fn simple(to: Address, data: Bytes) -> Self {
        let tx = revm::context::TxEnv {
            kind: alloy::primitives::TxKind::Call(to),
            data,
            gas_limit: 10_000_000,
            ..Default::default()
        };
        Self { tx, overrides: Arc::new(|_| Ok(())) }
    }
}

/// What state overrides may change.
pub trait OverrideTarget {
    fn set_account(&mut self, address: Address, f: &mut dyn FnMut(&mut StateAccount)) -> Result<(), ChainError>;
    fn set_code(&mut self, address: Address, code: Bytes) -> Result<(), ChainError>;
    fn set_storage(&mut self, address: Address, slot: U256, value: U256);
    fn replace_storage(&mut self, address: Address, slots: Vec<(U256, U256)>);
}

impl<S: StateView + ?Sized, H: crate::overlay::BlockHashes + ?Sized> OverrideTarget for Overlay<'_, S, H> {
    fn set_account(&mut self, address: Address, f: &mut dyn FnMut(&mut StateAccount)) -> Result<(), ChainError> {
        Ok(Overlay::set_account(self, address, f)?)
    }
    fn set_code(&mut self, address: Address, code: Bytes) -> Result<(), ChainError> {
        Ok(Overlay::set_code(self, address, code)?)
    }
    fn set_storage(&mut self, address: Address, slot: U256, value: U256) {
        Overlay::set_storage(self, address, slot, value)
    }
    fn replace_storage(&mut self, address: Address, slots: Vec<(U256, U256)>) {
        Overlay::replace_storage(self, address, slots)
    }
}

/// A revert as an error, with the reason decoded when it is `Error(string)` or `Panic(uint)`.
pub fn revert_error(output: Bytes) -> ChainError {
    // `Error(string)` decodes as "revert: <text>"; geth says "execution reverted: <text>".
    let reason = alloy::sol_types::decode_revert_reason(&output)
        .map(|r| r.strip_prefix("revert: ").map(str::to_string).unwrap_or(r));
    ChainError::Reverted { reason, data: output }
}

/// One step of a block, ready for a one-step proof.
#[derive(Clone, Debug)]
pub struct StepProof {
    pub block: crate::StepBlock,
    pub witness: crate::Witness,
    pub pre_root: B256,
    pub post_root: B256,
}

/// `eth_getProof` material.
#[derive(Clone, Debug)]
pub struct AccountProof {
    pub account: StateAccount,
    pub account_proof: Vec<Bytes>,
    pub storage: Vec<(B256, U256, Vec<Bytes>)>,
}

/// Checks a loaded chain before it serves anything: blocks link by parent hash and their bodies
/// match their headers, and the state matches the head's state root (see [`WorldState::check`]).
fn check_loaded(l: &crate::store::Loaded) -> Result<(), String> {
    for w in l.blocks.windows(2) {
        if w[1].header.parent_hash != w[0].hash {
            return Err(format!("block {} does not link to block {}", w[1].number(), w[0].number()));
        }
    }
    for b in &l.blocks {
        let root = alloy::consensus::proofs::ordered_trie_root_with_encoder(&b.txs, |t: &ChainTx, buf| {
            alloy::eips::eip2718::Encodable2718::encode_2718(&t.envelope, buf)
        });
        if root != b.header.transactions_root {
            return Err(format!("block {}'s transactions do not match its header", b.number()));
        }
    }
    let head = l.blocks.last().ok_or("no blocks")?;
    l.state.check(head.header.state_root, &l.pending_reverts)
}

/// Undoes changes applied since the last stored write (`reverts`, over a state whose root was
/// `root`), keeping the dev-method changes still pending before them.
fn restore(inner: &mut Inner, reverts: &Reverts, root: B256) {
    inner.state.revert(reverts, root);
    for a in &inner.pending_reverts.accounts {
        inner.state.mark_dirty(a.address, None);
    }
    for s in &inner.pending_reverts.storage {
        inner.state.mark_dirty(s.address, Some(s.slot));
    }
}

fn index_block(inner: &mut Inner, b: Arc<SealedBlock>) {
    let n = b.number();
    if inner.hashes.len() as u64 == n {
        inner.hashes.push(b.hash);
    } else {
        inner.hashes[n as usize] = b.hash;
    }
    inner.by_hash.insert(b.hash, n);
    for (i, tx) in b.txs.iter().enumerate() {
        inner.tx_index.insert(tx.hash, (n, i));
    }
    inner.blocks.push(b);
}

/// The blobs of a sidecar, keyed by versioned hash: blob ‖ commitment ‖ proof(s).
fn sidecar_blobs(sc: &BlobTransactionSidecarVariant) -> Vec<(B256, Vec<u8>)> {
    match sc {
        BlobTransactionSidecarVariant::Eip4844(s) => s
            .blobs
            .iter()
            .zip(&s.commitments)
            .zip(&s.proofs)
            .map(|((b, c), p)| {
                let h = alloy::eips::eip4844::kzg_to_versioned_hash(c.as_slice());
                (h, [b.as_slice(), c.as_slice(), p.as_slice()].concat())
            })
            .collect(),
        BlobTransactionSidecarVariant::Eip7594(s) => s
            .blobs
            .iter()
            .zip(&s.commitments)
            .map(|(b, c)| {
                (alloy::eips::eip4844::kzg_to_versioned_hash(c.as_slice()), [b.as_slice(), c.as_slice()].concat())
            })
            .collect(),
    }
}
