//! The chain: state, pool, blocks and storage behind one lock, with events for subscribers.

mod trace;

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
    builder::{BlockAttributes, BodyExecutor, Skip},
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
    /// What re-executes block `n` without this node (D4): the trie nodes, code and block hashes
    /// its execution and root update read, its inputs, and the pre-state root (block `n - 1`'s).
    /// The witness is checked: a stateless run over it reaches this block's state root.
    pub fn witness(&self, n: u64) -> Result<(crate::Witness, crate::StatelessInput, B256), ChainError> {
        let inner = self.inner.lock();
        let (block, pre_root) = Self::transition(&inner, n)?;
        let input = crate::stateless_input(&self.rules, &block);
        let nodes = aqueduct_trie::MemoryNodes::new();
        let (witness, post, _) = self.record(&inner, &nodes, pre_root, input.clone(), n)?;
        if post != block.header.state_root {
            return Err(ChainError::Internal(format!(
                "stateless root {post} of block {n} differs from its header's {}",
                block.header.state_root
            )));
        }
        Ok((witness, input, pre_root))
    }

    /// The witness [`crate::build_stateless`] needs to build, on top of block `n - 1`, the block
    /// `attrs` make (the block a fault proof re-derives), checked by building it statelessly:
    /// the witness, and that block's header and included transactions.
    #[allow(clippy::type_complexity)]
    pub fn rebuild_witness(
        &self,
        n: u64,
        attrs: &BlockAttributes,
    ) -> Result<(crate::Witness, Header, Vec<ChainTx>), ChainError> {
        let inner = self.inner.lock();
        let parent = inner
            .blocks
            .get(n.checked_sub(1).ok_or_else(|| ChainError::InvalidParams("genesis has no parent".into()))? as usize)
            .cloned()
            .ok_or_else(|| ChainError::InvalidParams(format!("no block {}", n - 1)))?;
        let pre_root = parent.header.state_root;
        let nodes = inner.state.nodes();
        let (diff, mut witness) = Self::recorded(&inner, nodes, pre_root, |state, hashes| {
            crate::rebuild::build_diff(&self.rules, &parent.header, self.config.beneficiary, state, hashes, attrs)
        })
        .map_err(|e| ChainError::Internal(format!("rebuilding block {n}: {e}")))?;
        Self::complete_for_root(&inner, nodes, &mut witness, pre_root, diff, n)?;
        let (header, txs) =
            crate::build_stateless(&self.rules, &parent.header, self.config.beneficiary, &witness, attrs)
                .map_err(|e| ChainError::Internal(format!("rebuilding block {n} statelessly: {e}")))?;
        Ok((witness, header, txs))
    }

    /// The state roots between the steps of block `n` (each deposit, then each transaction):
    /// `roots[0]` is the parent's state root, `roots[k + 1]` the root after step `k`, the last
    /// the block's own.
    pub fn step_roots(&self, n: u64) -> Result<Vec<B256>, ChainError> {
        let inner = self.inner.lock();
        Ok(self.steps(&inner, n, None)?.0)
    }

    /// Block `n`'s step roots as claimed by a node whose state differs from this one by `change`
    /// from `roots[from]` on (the attack suite's lying proposers): earlier roots are the true
    /// ones; each later one is the root of the true state at that point with `change(state)`
    /// applied over it. The changed tries are real: every claimed root has a full trie behind it.
    pub fn step_roots_changed(
        &self,
        n: u64,
        from: usize,
        change: impl Fn(&dyn StateView) -> Result<StateDiff, TrieError>,
    ) -> Result<Vec<B256>, ChainError> {
        let inner = self.inner.lock();
        let (mut roots, _, created) = self.steps(&inner, n, None)?;
        let nodes = aqueduct_trie::Layered { top: &created, base: inner.state.nodes() };
        for root in roots.iter_mut().skip(from) {
            *root = Self::changed_root(&inner, &nodes, *root, &change)
                .map_err(|e| ChainError::Internal(format!("changing block {n}'s state: {e}")))?;
        }
        Ok(roots)
    }

    /// The root of block `n`'s post-state with `change(state)` applied over it.
    pub fn state_root_changed(
        &self,
        n: u64,
        change: impl Fn(&dyn StateView) -> Result<StateDiff, TrieError>,
    ) -> Result<B256, ChainError> {
        let inner = self.inner.lock();
        let root = Self::state_root_at(&inner, n)?;
        Self::changed_root(&inner, inner.state.nodes(), root, &change)
            .map_err(|e| ChainError::Internal(format!("changing block {n}'s state: {e}")))
    }

    fn changed_root<N: aqueduct_trie::NodeStore>(
        inner: &Inner,
        nodes: &N,
        root: B256,
        change: &impl Fn(&dyn StateView) -> Result<StateDiff, TrieError>,
    ) -> Result<B256, TrieError> {
        let view = crate::state::HistoricState::new(nodes, inner.state.codes(), root);
        let diff = change(&view)?;
        Ok(crate::stateless::root_after(&view, nodes, root, diff)?.0)
    }

    /// Step `k` of block `n` as a one-step proof needs it: the block, the witness of the step
    /// and the roots before and after it.
    pub fn step_proof(&self, n: u64, k: u64) -> Result<StepProof, ChainError> {
        let (roots, witness, _) = self.steps(&self.inner.lock(), n, Some(k))?;
        let block =
            self.block(BlockRef::Number(n)).ok_or_else(|| ChainError::InvalidParams(format!("no block {n}")))?;
        let k = k as usize;
        Ok(StepProof {
            block: crate::StepBlock::new(block.header.clone(), block.txs.clone()),
            witness: witness.unwrap_or_default(),
            pre_root: roots[k],
            post_root: roots[k + 1],
        })
    }

    /// Runs block `n` step by step, each step over the roots the earlier ones left; with
    /// `want`, also records that step's witness.
    /// Also returns the trie nodes the intermediate roots created.
    #[allow(clippy::type_complexity)]
    fn steps(
        &self,
        inner: &Inner,
        n: u64,
        want: Option<u64>,
    ) -> Result<(Vec<B256>, Option<crate::Witness>, aqueduct_trie::MemoryNodes), ChainError> {
        let (block, pre_root) = Self::transition(inner, n)?;
        let input = crate::stateless_input(&self.rules, &block);
        let count = input.step_count() as u64;
        if let Some(k) = want.filter(|k| *k >= count) {
            return Err(ChainError::InvalidParams(format!("block {n} has {count} steps, not {}", k + 1)));
        }
        let mut roots = vec![pre_root];
        let mut created = aqueduct_trie::MemoryNodes::new();
        let mut recorded = None;
        for k in 0..count {
            let one = input.step(k as usize).expect("k is below the step count");
            let (witness, post, new) = self.record(inner, &created, roots[k as usize], one, n)?;
            created.extend(new);
            if want == Some(k) {
                recorded = Some(witness);
            }
            roots.push(post);
        }
        if roots.last() != Some(&block.header.state_root) {
            return Err(ChainError::Internal(format!(
                "block {n}: its steps end at {:?}, its header says {}",
                roots.last(),
                block.header.state_root
            )));
        }
        Ok((roots, recorded, created))
    }

    /// The witness of a read-only call to `to` with `data` at block `n`'s state (what
    /// [`crate::call_stateless`] needs), with that state's root.
    pub fn call_witness(&self, n: u64, to: Address, data: Bytes) -> Result<(crate::Witness, B256), ChainError> {
        let inner = self.inner.lock();
        let root = Self::state_root_at(&inner, n)?;
        let (_, witness) = Self::recorded(&inner, inner.state.nodes(), root, |state, hashes| {
            crate::stateless::read_call(&self.rules, state, hashes, to, data)
        })
        .map_err(|e| ChainError::Internal(format!("call at block {n}: {e}")))?;
        Ok((witness, root))
    }

    /// Runs `run` over the state with root `root` (its nodes in `store`), recording every trie
    /// node, code and block hash it reads: its result, and the witness of those reads.
    fn recorded<N: aqueduct_trie::NodeStore, R>(
        inner: &Inner,
        store: &N,
        root: B256,
        run: impl FnOnce(
            &crate::stateless::CodeRecorder<'_, crate::state::HistoricState<'_, aqueduct_trie::RecordingStore<&N>>>,
            &crate::stateless::HashRecorder<'_>,
        ) -> Result<R, crate::StatelessError>,
    ) -> Result<(R, crate::Witness), crate::StatelessError> {
        use crate::stateless::{CodeRecorder, HashRecorder};
        let recording = aqueduct_trie::RecordingStore::new(store);
        let (out, codes, block_hashes) = {
            let view = crate::state::HistoricState::new(&recording, inner.state.codes(), root);
            let code_rec = CodeRecorder { inner: &view, seen: Default::default() };
            let hash_rec = HashRecorder { all: inner.hashes.as_slice(), seen: Default::default() };
            let out = run(&code_rec, &hash_rec)?;
            (out, code_rec.seen.into_inner(), hash_rec.seen.into_inner())
        };
        Ok((out, crate::Witness { nodes: recording.into_witness(), codes, block_hashes }))
    }

    /// The state root after block `n`.
    fn state_root_at(inner: &Inner, n: u64) -> Result<B256, ChainError> {
        let block = inner.blocks.get(n as usize).ok_or_else(|| ChainError::InvalidParams(format!("no block {n}")))?;
        Ok(block.header.state_root)
    }

    fn transition(inner: &Inner, n: u64) -> Result<(Arc<SealedBlock>, B256), ChainError> {
        if n == 0 {
            return Err(ChainError::InvalidParams("genesis has no transition to witness".into()));
        }
        let block =
            inner.blocks.get(n as usize).cloned().ok_or_else(|| ChainError::InvalidParams(format!("no block {n}")))?;
        Ok((block, inner.blocks[n as usize - 1].header.state_root))
    }

    /// Executes `input` over the state with root `pre_root` (its nodes in the node's state or in
    /// `extra`), recording what it reads. Returns the witness, the post-state root and the trie
    /// nodes the root update created.
    fn record(
        &self,
        inner: &Inner,
        extra: &aqueduct_trie::MemoryNodes,
        pre_root: B256,
        input: crate::StatelessInput,
        n: u64,
    ) -> Result<(crate::Witness, B256, aqueduct_trie::MemoryNodes), ChainError> {
        use crate::stateless::run_body;
        let all_nodes = aqueduct_trie::Layered { top: extra, base: inner.state.nodes() };
        let (diff, mut witness) = Self::recorded(inner, &all_nodes, pre_root, |state, hashes| {
            run_body(&self.rules, state, hashes, input).map(|(diff, _, _)| diff)
        })
        .map_err(|e| ChainError::Internal(format!("re-executing block {n}: {e}")))?;
        let (post, created) = Self::complete_for_root(inner, &all_nodes, &mut witness, pre_root, diff, n)?;
        Ok((witness, post, created))
    }

    /// Adds to `witness` the nodes the root update after `diff` needs that no read touched
    /// (siblings of deleted leaves); returns the post-state root and the nodes the update made.
    fn complete_for_root<N: aqueduct_trie::NodeStore>(
        inner: &Inner,
        all_nodes: &N,
        witness: &mut crate::Witness,
        pre_root: B256,
        diff: StateDiff,
        n: u64,
    ) -> Result<(B256, aqueduct_trie::MemoryNodes), ChainError> {
        use crate::stateless::root_after;
        loop {
            let view = crate::state::HistoricState::new(&witness.nodes, inner.state.codes(), pre_root);
            match root_after(&view, &witness.nodes, pre_root, diff.clone()) {
                Ok(done) => return Ok(done),
                Err(aqueduct_trie::TrieError::MissingNode(h)) => {
                    let node = aqueduct_trie::NodeStore::node(all_nodes, &h)
                        .ok_or_else(|| ChainError::Internal(format!("trie node {h} of block {n} is not kept")))?;
                    witness.nodes.insert(h, node);
                }
                Err(e) => return Err(ChainError::Internal(format!("witness of block {n}: {e}"))),
            }
        }
    }

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
            Ok(Err(crate::store::StoreError::Open { path, why })) => return Err(ChainError::Unopenable { path, why }),
            Ok(Err(e)) => return Err(ChainError::Internal(format!("{}: {e}", path.display()))),
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

    // ---------------------------------------------------------------- reads

    pub fn head(&self) -> Arc<SealedBlock> {
        self.inner.lock().blocks.last().cloned().expect("a chain always has its genesis block")
    }

    pub fn block_number(&self, r: BlockRef) -> Option<u64> {
        let inner = self.inner.lock();
        self.resolve(&inner, r)
    }

    fn resolve(&self, inner: &Inner, r: BlockRef) -> Option<u64> {
        let head = inner.blocks.len() as u64 - 1;
        match r {
            BlockRef::Number(n) => (n <= head).then_some(n),
            BlockRef::Hash(h) => inner.by_hash.get(&h).copied(),
            BlockRef::Latest | BlockRef::Pending => Some(head),
            BlockRef::Safe => Some(head.saturating_sub(self.config.safe_depth)),
            BlockRef::Finalized => Some(head.saturating_sub(self.config.finalized_depth)),
            BlockRef::Earliest => Some(0),
        }
    }

    pub fn block(&self, r: BlockRef) -> Option<Arc<SealedBlock>> {
        let inner = self.inner.lock();
        let n = self.resolve(&inner, r)?;
        inner.blocks.get(n as usize).cloned()
    }

    /// Blocks `from..=to` (clamped to the chain).
    pub fn blocks(&self, from: u64, to: u64) -> Vec<Arc<SealedBlock>> {
        let inner = self.inner.lock();
        let to = to.min(inner.blocks.len() as u64 - 1);
        if from > to {
            return vec![];
        }
        inner.blocks[from as usize..=to as usize].to_vec()
    }

    /// A mined transaction: its block and index.
    pub fn transaction(&self, hash: &B256) -> Option<(Arc<SealedBlock>, usize)> {
        let inner = self.inner.lock();
        let (n, i) = *inner.tx_index.get(hash)?;
        Some((inner.blocks[n as usize].clone(), i))
    }

    pub fn pending_transaction(&self, hash: &B256) -> Option<ChainTx> {
        self.inner.lock().pool.get(hash).cloned()
    }

    /// Whether the next block would include at least one pooled transaction (right nonce, fee cap
    /// at or above the next base fee).
    pub fn has_ready_transactions(&self) -> bool {
        let inner = self.inner.lock();
        let head = inner.blocks.last().expect("genesis");
        let (base_fee, _) = self.fees_after(&head.header);
        let state = &inner.state;
        inner.pool.best(base_fee, |a| state.account(a).ok().flatten().map(|a| a.nonce).unwrap_or(0)).next_tx().is_some()
    }

    /// (pending, queued): transactions executable now, and those waiting behind a nonce gap.
    pub fn pool_counts(&self) -> (usize, usize) {
        let inner = self.inner.lock();
        let total = inner.pool.len();
        let pending = inner
            .pool
            .senders()
            .map(|(s, nonces)| {
                let mut n = inner.state.account(s).ok().flatten().map(|a| a.nonce).unwrap_or(0);
                let mut run = 0;
                while nonces.contains_key(&n) {
                    n += 1;
                    run += 1;
                }
                run
            })
            .sum::<usize>();
        (pending, total - pending)
    }

    /// Reads from the state after block `r` (the latest state includes pending dev changes).
    pub fn with_state<R>(&self, r: BlockRef, f: impl FnOnce(&dyn StateView) -> R) -> Result<R, ChainError> {
        let inner = self.inner.lock();
        let n = self.resolve(&inner, r).ok_or(ChainError::UnknownBlock)?;
        if n + 1 == inner.blocks.len() as u64 {
            Ok(f(&inner.state))
        } else {
            Ok(f(&inner.state.at_root(inner.blocks[n as usize].header.state_root)))
        }
    }

    pub fn account(&self, address: Address, r: BlockRef) -> Result<Option<StateAccount>, ChainError> {
        Ok(self.with_state(r, |s| s.account(&address))??)
    }

    /// The nonce a new transaction from `address` should use (pool included).
    pub fn next_nonce(&self, address: Address) -> u64 {
        let inner = self.inner.lock();
        let state_nonce = inner.state.account(&address).ok().flatten().map(|a| a.nonce).unwrap_or(0);
        inner.pool.next_nonce(&address, state_nonce)
    }

    /// An `eth_getProof` answer for the state after block `r`.
    pub fn proof(&self, address: Address, slots: &[B256], r: BlockRef) -> Result<AccountProof, ChainError> {
        let inner = self.inner.lock();
        let n = self.resolve(&inner, r).ok_or(ChainError::UnknownBlock)?;
        let root = inner.blocks[n as usize].header.state_root;
        let nodes = inner.state.nodes();
        let (raw, account_proof) = aqueduct_trie::prove(nodes, root, keccak256(address).as_slice())?;
        let account = match raw {
            Some(raw) => alloy_rlp::Decodable::decode(&mut raw.as_slice())
                .map_err(|e| ChainError::Internal(format!("account rlp: {e}")))?,
            None => StateAccount::default(),
        };
        let mut storage = Vec::with_capacity(slots.len());
        for slot in slots {
            let (v, proof) = aqueduct_trie::prove(nodes, account.storage_root, keccak256(slot).as_slice())?;
            let value = match v {
                Some(raw) => alloy_rlp::Decodable::decode(&mut raw.as_slice())
                    .map_err(|e| ChainError::Internal(format!("slot rlp: {e}")))?,
                None => U256::ZERO,
            };
            storage.push((*slot, value, proof.into_iter().map(Bytes::from).collect()));
        }
        Ok(AccountProof { account, account_proof: account_proof.into_iter().map(Bytes::from).collect(), storage })
    }

    /// A stored blob by its versioned hash: blob ‖ commitment ‖ proof.
    pub fn blob(&self, versioned_hash: &B256) -> Result<Option<Vec<u8>>, ChainError> {
        Ok(self.inner.lock().store.blob(versioned_hash)?)
    }

    /// Current base fee for the next block and the blob base fee.
    pub fn next_fees(&self) -> (u64, u128) {
        self.fees_after(&self.head().header)
    }

    fn fees_after(&self, h: &Header) -> (u64, u128) {
        let base = self.rules.next_base_fee(h.gas_used, h.gas_limit, h.base_fee_per_gas.unwrap_or_default());
        let excess = self.rules.next_excess_blob_gas(h.excess_blob_gas.unwrap_or(0), h.blob_gas_used.unwrap_or(0));
        (base, self.rules.blob_base_fee(excess))
    }

    // ---------------------------------------------------------------- transactions

    /// `eth_sendRawTransaction`: decodes, validates and pools a signed transaction.
    pub fn send_raw(&self, raw: &[u8]) -> Result<B256, TxError> {
        let (env, sender) = Self::decode_raw(raw, &self.rules)?;
        self.submit(env, sender)
    }

    /// Decodes a signed transaction and recovers its sender, as `eth_sendRawTransaction` does
    /// (an L2 node uses it for the transactions of batches and the forced queue).
    pub fn decode_raw_tx(&self, raw: &[u8]) -> Result<ChainTx, TxError> {
        let (env, sender) = Self::decode_raw(raw, &self.rules)?;
        Ok(ChainTx::new(env, sender))
    }

    /// Decodes a signed transaction under `rules` and recovers its sender (no state checks).
    pub fn decode_raw_tx_for(rules: &ChainRules, raw: &[u8]) -> Result<ChainTx, TxError> {
        let (env, sender) = Self::decode_raw(raw, rules)?;
        Ok(ChainTx::new(env, sender))
    }

    fn decode_raw(raw: &[u8], rules: &ChainRules) -> Result<(TxEnvelope, Address), TxError> {
        aqueduct_evm::decode_raw_tx(rules, raw)
    }

    /// Pools a transaction whose sender is known (signed here for a dev account, or impersonated).
    pub fn submit(&self, env: TxEnvelope, sender: Address) -> Result<B256, TxError> {
        self.running().map_err(|e| TxError::Other(e.to_string()))?;
        let hash = self.submit_locked(&mut self.inner.lock(), env, sender)?;
        debug!(target: "chain::pool", %hash, %sender, "accepted");
        self.pending.notify_one();
        Ok(hash)
    }

    fn submit_locked(&self, inner: &mut Inner, env: TxEnvelope, sender: Address) -> Result<B256, TxError> {
        let ty = env.ty();
        if !self.rules.tx_types.accepts(ty) {
            return Err(TxError::TypeNotSupported);
        }
        let (env, sidecar) = match env {
            TxEnvelope::Eip4844(signed) => {
                let (tx, sig, hash) = signed.into_parts();
                let (tx, sidecar) = tx.strip_sidecar();
                (TxEnvelope::Eip4844(alloy::consensus::Signed::new_unchecked(tx, sig, hash)), sidecar)
            }
            other => (other, None),
        };
        let body_len = alloy::eips::eip2718::Encodable2718::encode_2718_len(&env);
        if body_len > self.rules.pool.max_tx_bytes {
            return Err(TxError::Oversized { size: body_len, limit: self.rules.pool.max_tx_bytes });
        }
        if let Some(id) = env.chain_id()
            && id != self.rules.chain_id
        {
            return Err(TxError::ChainId { expected: self.rules.chain_id, got: id });
        }
        let needed = intrinsic_gas(&env);
        if env.gas_limit() < needed {
            return Err(TxError::IntrinsicGas { gas: env.gas_limit(), needed });
        }
        if env.gas_limit() > self.rules.gas_limit {
            return Err(TxError::GasLimit { gas: env.gas_limit(), limit: self.rules.gas_limit });
        }
        if let Some(tip) = env.max_priority_fee_per_gas()
            && ty >= 2
            && tip > env.max_fee_per_gas()
        {
            return Err(TxError::TipAboveFeeCap);
        }
        let (base_fee, blob_fee) = self.fees_after(&inner.blocks.last().expect("genesis").header);
        if env.max_fee_per_gas() < base_fee as u128 {
            return Err(TxError::FeeCapTooLow { max_fee: env.max_fee_per_gas(), base_fee });
        }
        let mut cost = U256::from(env.gas_limit()) * U256::from(env.max_fee_per_gas()) + env.value();
        if ty == 3 {
            let hashes = env.blob_versioned_hashes().unwrap_or_default();
            let sidecar = sidecar.as_ref().ok_or(TxError::MissingSidecar)?;
            let max = self.rules.blob_params.map(|p| p.max_blobs_per_tx).unwrap_or(0);
            if hashes.is_empty() || hashes.len() as u64 > max {
                return Err(TxError::InvalidBlob(format!("{} blobs, allowed 1 to {max}", hashes.len())));
            }
            sidecar
                .validate(hashes, EnvKzgSettings::Default.get())
                .map_err(|e| TxError::InvalidBlob(format!("KZG check failed: {e}")))?;
            let max_blob_fee = env.max_fee_per_blob_gas().unwrap_or_default();
            if max_blob_fee < blob_fee {
                return Err(TxError::BlobFeeCapTooLow { max_fee: max_blob_fee, blob_fee });
            }
            cost += U256::from(hashes.len() as u64 * 131_072) * U256::from(max_blob_fee);
        }
        let tx = ChainTx::new(env, sender);
        let hash = tx.hash;
        {
            let acc = inner.state.account(&sender).ok().flatten().unwrap_or_default();
            if tx.nonce() < acc.nonce {
                return Err(TxError::NonceTooLow { tx: tx.nonce(), state: acc.nonce });
            }
            if acc.balance < cost {
                return Err(TxError::InsufficientFunds { address: sender, have: acc.balance, want: cost });
            }
            let bytes = body_len + sidecar.as_ref().map_or(0, |s| s.blobs().len() * 131_072);
            let now = now_secs();
            let Inner { pool, state, sidecars, last_expiry, .. } = inner;
            let nonce_of = |a: &Address| state.account(a).ok().flatten().map(|a| a.nonce).unwrap_or(0);
            if now >= *last_expiry + 60 {
                *last_expiry = now;
                for h in pool.expire(now, nonce_of) {
                    debug!(target: "chain::pool", hash = %h, "queued transaction expired");
                    sidecars.remove(&h);
                }
            }
            for old in pool.insert(tx, acc.nonce, bytes, now, nonce_of)? {
                sidecars.remove(&old);
            }
            if let Some(s) = sidecar {
                inner.sidecars.insert(hash, s);
            }
        }
        Ok(hash)
    }

    /// Whether `address` may send unsigned transactions (anvil_impersonateAccount).
    pub fn is_impersonated(&self, address: &Address) -> bool {
        self.inner.lock().impersonated.contains(address)
    }

    pub fn set_impersonated(&self, address: Address, on: bool) {
        let mut inner = self.inner.lock();
        if on {
            inner.impersonated.insert(address);
        } else {
            inner.impersonated.remove(&address);
        }
    }

    // ---------------------------------------------------------------- blocks

    /// Timestamp the next block gets now.
    fn next_timestamp(&self, inner: &mut Inner) -> u64 {
        let parent = inner.blocks.last().map(|b| b.header.timestamp).unwrap_or_default();
        if let Some(t) = inner.next_timestamp.take() {
            return child_timestamp(&self.rules, parent, t);
        }
        let now = (now_secs() as i64).saturating_add(inner.time_offset).max(0) as u64;
        now.max(parent + 1)
    }

    /// Builds, executes, persists and announces one block from the pool.
    pub fn mine(&self) -> Result<Arc<SealedBlock>, ChainError> {
        self.mine_at(None)
    }

    /// Mines a block whatever the pool holds, at `timestamp` if given.
    pub fn mine_at(&self, timestamp: Option<u64>) -> Result<Arc<SealedBlock>, ChainError> {
        self.build_block(BlockAttributes { timestamp, from_pool: true, ..Default::default() })
    }

    /// Builds, executes, persists and announces a block made as `attrs` says: how an L2 sequencer
    /// (deposits, then the pool) and an L2 verifier (deposits, then a batch's transactions) make
    /// their blocks.
    pub fn build_block(&self, mut attrs: BlockAttributes) -> Result<Arc<SealedBlock>, ChainError> {
        self.running()?;
        let mut inner = self.inner.lock();
        if let Some(t) = attrs.timestamp.take() {
            inner.next_timestamp = Some(t);
        }
        let ts = self.next_timestamp(&mut inner);
        self.mine_locked(&mut inner, ts, attrs)
    }

    fn mine_locked(
        &self,
        inner: &mut Inner,
        timestamp: u64,
        attrs: BlockAttributes,
    ) -> Result<Arc<SealedBlock>, ChainError> {
        let parent = inner.blocks.last().cloned().expect("genesis");
        let ctx = child_context(
            &self.rules,
            &parent.header,
            parent.hash,
            timestamp,
            self.config.beneficiary,
            attrs.prevrandao,
        );
        let extra = extra_data(&self.rules, &attrs);
        let (number, base_fee) = (ctx.number, ctx.base_fee);

        let mut invalid = Vec::new();
        let (diff, included, receipts, gas_used, blob_gas_used) = {
            let Inner { state, hashes, pool, .. } = &*inner;
            let mut overlay = Overlay::new(state, hashes.as_slice());
            let mut exec = BodyExecutor::new(&self.rules, &mut overlay, &ctx, attrs.l1_prices.as_in_header());
            if !attrs.deposits.is_empty() && self.rules.l2.is_none() {
                return Err(ChainError::InvalidParams("deposits on a chain without L2 rules".into()));
            }
            run_given(&mut exec, &attrs)?;
            if attrs.from_pool {
                let mut best = pool.best(base_fee, |a| state.account(a).ok().flatten().map(|a| a.nonce).unwrap_or(0));
                while let Some(tx) = best.next_tx() {
                    if attrs.exclude_senders.contains(&tx.sender) {
                        best.skip_sender(&tx.sender);
                        continue;
                    }
                    match exec.apply_tx(&tx)? {
                        Ok(()) => {}
                        Err(Skip::Full) => best.skip_sender(&tx.sender),
                        Err(Skip::Invalid(e)) => {
                            warn!(target: "chain::builder", hash = %tx.hash, error = %e, "dropping invalid transaction");
                            invalid.push(tx.hash);
                            best.skip_sender(&tx.sender);
                        }
                    }
                }
            }
            let BodyExecutor { evm, included, receipts, gas_used, blob_gas_used, .. } = exec;
            drop(evm);
            (overlay.into_diff(), included, receipts, gas_used, blob_gas_used)
        };

        let pre_root = inner.state.root();
        let reverts = inner.state.apply(diff);
        // The block's undo log also undoes the dev-method changes made since the head, if any.
        let merged;
        let all_reverts = if inner.pending_reverts.accounts.is_empty() && inner.pending_reverts.storage.is_empty() {
            &reverts
        } else {
            let mut m = inner.pending_reverts.clone();
            m.merge(reverts.clone());
            merged = m;
            &merged
        };
        let write = match inner.state.commit_root() {
            Ok(w) => w,
            Err(e) => {
                restore(inner, &reverts, pre_root);
                return Err(self.stop_on(&format!("block {number}'s state root"), e));
            }
        };
        let body = Body { included, receipts, gas_used, blob_gas_used };
        let header = assemble_header(&self.rules, parent.hash, &ctx, inner.state.root(), &body, extra);
        let Body { included, receipts, .. } = body;
        let block = SealedBlock::new(header, included, receipts);
        let mut blobs = Vec::new();
        for tx in &block.txs {
            if let Some(sc) = inner.sidecars.remove(&tx.hash) {
                blobs.extend(sidecar_blobs(&sc));
            }
        }
        let meta = [("time_offset", inner.time_offset.to_be_bytes().to_vec())];
        let stored = inner.store.commit(Commit {
            block: Some(&block),
            state: &write,
            reverts: all_reverts,
            meta: &meta,
            blobs: &blobs,
        });
        if let Err(e) = stored {
            // Memory goes back to what the store holds: no read may show a block that is not on disk.
            restore(inner, &reverts, pre_root);
            return Err(self.stop_on(&format!("block {number}"), e));
        }
        inner.pending_reverts = Reverts::default();

        for h in invalid {
            inner.pool.remove(&h);
            inner.sidecars.remove(&h);
        }
        let senders: HashSet<Address> = block.txs.iter().map(|t| t.sender).collect();
        for tx in &block.txs {
            inner.pool.remove(&tx.hash);
        }
        for s in senders {
            let n = inner.state.account(&s).ok().flatten().map(|a| a.nonce).unwrap_or(0);
            inner.pool.prune_sender(&s, n);
        }
        index_block(inner, block.clone());
        if number.is_multiple_of(NODE_PRUNE_INTERVAL) {
            keep_recent_nodes(inner);
        }
        debug!(target: "chain::builder", number, txs = block.txs.len(), gas_used, "mined");
        let _ = self.events.send(ChainEvent::Block(block.clone()));
        Ok(block)
    }

    // ---------------------------------------------------------------- unwinding

    /// Unwinds the chain to block `to`, undoing state, and announces the removed blocks.
    pub fn unwind_to(&self, to: u64) -> Result<Vec<Arc<SealedBlock>>, ChainError> {
        self.running()?;
        let mut inner = self.inner.lock();
        self.unwind_locked(&mut inner, to)
    }

    fn unwind_locked(&self, inner: &mut Inner, to: u64) -> Result<Vec<Arc<SealedBlock>>, ChainError> {
        let head = inner.blocks.len() as u64 - 1;
        if to > head {
            return Err(ChainError::InvalidParams(format!("cannot unwind to {to}: head is {head}")));
        }
        let mut touched = std::mem::take(&mut inner.pending_reverts);
        let head_root = inner.blocks[head as usize].header.state_root;
        inner.state.revert(&touched, head_root);
        for n in (to + 1..=head).rev() {
            let r = inner.store.reverts(n)?;
            let parent_root = inner.blocks[n as usize - 1].header.state_root;
            inner.state.revert(&r, parent_root);
            touched.merge(r);
        }
        let write = inner.state.write_for(&touched);
        if let Err(e) = inner.store.unwind(to, head, &write, &Reverts::default()) {
            return Err(self.stop_on(&format!("the unwind to block {to}"), e));
        }
        let removed: Vec<Arc<SealedBlock>> = inner.blocks.drain(to as usize + 1..).collect();
        inner.hashes.truncate(to as usize + 1);
        for b in &removed {
            inner.by_hash.remove(&b.hash);
            for tx in &b.txs {
                inner.tx_index.remove(&tx.hash);
            }
        }
        for b in removed.iter().rev() {
            let _ = self.events.send(ChainEvent::Removed(b.clone()));
        }
        info!(target: "chain", to, removed = removed.len(), "unwound");
        Ok(removed)
    }

    /// Replaces the last `depth` blocks with a new branch of `depth + 1` blocks holding `txs`
    /// (raw signed transactions) in its first block; the old blocks' transactions are dropped.
    pub fn reorg(&self, depth: u64, txs: &[Bytes]) -> Result<Arc<SealedBlock>, ChainError> {
        let head = self.head().number();
        if depth == 0 || depth > head {
            return Err(ChainError::InvalidParams(format!("reorg depth must be 1..={head}")));
        }
        self.running()?;
        let decoded = txs.iter().map(|raw| Self::decode_raw(raw, &self.rules)).collect::<Result<Vec<_>, _>>()?;
        // One lock throughout, so that no other block lands inside the new branch.
        let mut inner = self.inner.lock();
        self.unwind_locked(&mut inner, head - depth)?;
        // Keep the pool aside: the new branch holds only the given transactions.
        let saved: Vec<ChainTx> = inner.pool.all().cloned().collect();
        inner.pool = Pool::new(self.rules.pool);
        for (env, sender) in decoded {
            self.submit_locked(&mut inner, env, sender)?;
        }
        let mut last = None;
        for i in 0..=depth {
            let ts = self.next_timestamp(&mut inner);
            let attrs = BlockAttributes {
                extra_data: Bytes::from(format!("aqueduct-reorg-{i}").into_bytes()),
                from_pool: i == 0,
                ..Default::default()
            };
            last = Some(self.mine_locked(&mut inner, ts, attrs)?);
        }
        for tx in saved {
            let n = inner.state.account(&tx.sender).ok().flatten().map(|a| a.nonce).unwrap_or(0);
            if tx.nonce() >= n {
                let Inner { pool, state, .. } = &mut *inner;
                let nonce_of = |a: &Address| state.account(a).ok().flatten().map(|a| a.nonce).unwrap_or(0);
                let bytes = alloy::eips::eip2718::Encodable2718::encode_2718_len(&tx.envelope);
                let _ = pool.insert(tx, n, bytes, now_secs(), nonce_of);
            }
        }
        Ok(last.expect("at least one block"))
    }

    /// `evm_snapshot`: an id to come back to.
    pub fn snapshot(&self) -> u64 {
        let mut inner = self.inner.lock();
        let id = inner.next_snapshot;
        inner.next_snapshot += 1;
        let (head, off) = (inner.blocks.len() as u64 - 1, inner.time_offset);
        inner.snapshots.push((id, head, off));
        id
    }

    /// `evm_revert`: back to a snapshot (which is consumed, with all later ones).
    pub fn revert_to_snapshot(&self, id: u64) -> Result<bool, ChainError> {
        self.running()?;
        let mut inner = self.inner.lock();
        let Some(pos) = inner.snapshots.iter().position(|s| s.0 == id) else {
            return Ok(false);
        };
        let (_, head, off) = inner.snapshots[pos];
        inner.snapshots.truncate(pos);
        self.unwind_locked(&mut inner, head)?;
        inner.time_offset = off;
        inner.pool = Pool::new(self.rules.pool);
        inner.sidecars.clear();
        Ok(true)
    }

    // ---------------------------------------------------------------- dev methods

    /// Applies a dev-method change to the latest state now; the next block's root includes it.
    pub fn dev_change(
        &self,
        f: impl FnOnce(&mut Overlay<'_, WorldState, [B256]>) -> Result<(), ChainError>,
    ) -> Result<(), ChainError> {
        self.running()?;
        let mut inner = self.inner.lock();
        let diff = {
            let mut o = Overlay::new(&inner.state, inner.hashes.as_slice());
            f(&mut o)?;
            o.into_diff()
        };
        let pre_root = inner.state.root();
        let reverts = inner.state.apply(diff);
        let mut pending = inner.pending_reverts.clone();
        pending.merge(reverts.clone());
        let write = inner.state.write_for(&pending);
        if let Err(e) =
            inner.store.commit(Commit { block: None, state: &write, reverts: &pending, meta: &[], blobs: &[] })
        {
            restore(&mut inner, &reverts, pre_root);
            return Err(self.stop_on("a dev-method state change", e));
        }
        inner.pending_reverts = pending;
        Ok(())
    }

    /// `evm_increaseTime`: returns the total offset in seconds.
    pub fn increase_time(&self, secs: i64) -> i64 {
        let mut inner = self.inner.lock();
        inner.time_offset = inner.time_offset.saturating_add(secs);
        inner.time_offset
    }

    /// `evm_setNextBlockTimestamp`.
    pub fn set_next_timestamp(&self, ts: u64) -> Result<(), ChainError> {
        let mut inner = self.inner.lock();
        let parent = inner.blocks.last().map(|b| b.header.timestamp).unwrap_or_default();
        if ts <= parent {
            return Err(ChainError::InvalidParams(format!("timestamp {ts} is not after the head's {parent}")));
        }
        inner.time_offset = ts as i64 - now_secs() as i64;
        inner.next_timestamp = Some(ts);
        Ok(())
    }

    // ---------------------------------------------------------------- calls

    /// Executes a call against the state after block `r` without committing it.
    pub fn call(&self, call: &CallArgs, r: BlockRef) -> Result<revm::context::result::ExecutionResult, ChainError> {
        let inner = self.inner.lock();
        let n = self.resolve(&inner, r).ok_or(ChainError::UnknownBlock)?;
        let header = inner.blocks[n as usize].header.clone();
        if n + 1 == inner.blocks.len() as u64 {
            self.call_on(&inner.state, inner.hashes.as_slice(), &header, call)
        } else {
            self.call_on(&inner.state.at_root(header.state_root), inner.hashes.as_slice(), &header, call)
        }
    }

    fn call_on<S: StateView + ?Sized>(
        &self,
        state: &S,
        hashes: &[B256],
        header: &Header,
        call: &CallArgs,
    ) -> Result<revm::context::result::ExecutionResult, ChainError> {
        let mut overlay = Overlay::new(state, hashes);
        (call.overrides)(&mut overlay)?;
        let (cfg, block, tx) = self.call_env(header, call);
        let mut evm = build_evm(&self.rules, self.precompiles, &mut overlay, cfg, block);
        let caller = tx.caller;
        revm::ExecuteEvm::transact(&mut evm, tx).map(|r| r.result).map_err(|e| call_error(caller, e))
    }

    /// The environments a call at `header`'s state runs in: no nonce or chain id check, no base
    /// fee for an unpriced call, the block's gas limit when the call names none or more.
    fn call_env(&self, header: &Header, call: &CallArgs) -> (CfgEnv, BlockEnv, TxEnv) {
        let priced = call.tx.gas_price > 0;
        let ctx = BlockContext {
            number: header.number,
            timestamp: header.timestamp,
            beneficiary: header.beneficiary,
            gas_limit: header.gas_limit,
            base_fee: if priced { header.base_fee_per_gas.unwrap_or_default() } else { 0 },
            prevrandao: header.mix_hash,
            excess_blob_gas: header.excess_blob_gas.unwrap_or_default(),
        };
        let mut cfg = cfg_env(&self.rules);
        cfg.disable_nonce_check = true;
        cfg.tx_chain_id_check = false;
        let mut tx = call.tx.clone();
        if tx.gas_limit == 0 || tx.gas_limit > header.gas_limit {
            tx.gas_limit = header.gas_limit;
        }
        (cfg, block_env(&self.rules, &ctx), tx)
    }

    /// Smallest gas limit with which the call succeeds (binary search, as geth does).
    pub fn estimate_gas(&self, call: &CallArgs, r: BlockRef) -> Result<u64, ChainError> {
        let cap =
            if call.tx.gas_limit > 0 { call.tx.gas_limit.min(self.rules.gas_limit) } else { self.rules.gas_limit };
        let run = |gas: u64| {
            let mut c = call.clone();
            c.tx.gas_limit = gas;
            self.call(&c, r)
        };
        let first = run(cap)?;
        let used = match first {
            revm::context::result::ExecutionResult::Success { .. } => first.tx_gas_used(),
            revm::context::result::ExecutionResult::Revert { output, .. } => {
                return Err(revert_error(output));
            }
            revm::context::result::ExecutionResult::Halt { reason, .. } => {
                return Err(ChainError::Halted(format!("{reason:?}")));
            }
        };
        let ok = |gas: u64| matches!(run(gas), Ok(r) if r.is_success());
        // Most calls succeed with what they used plus the 63/64 reserve; try that first.
        let guess = (used + used / 63 + 2_300).min(cap);
        if ok(used) {
            return Ok(used);
        }
        // Invariant: `lo` fails, `hi` succeeds.
        let (mut lo, mut hi) = (used, cap);
        if ok(guess) {
            hi = guess;
        }
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if ok(mid) { hi = mid } else { lo = mid }
        }
        Ok(hi)
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
        EVMError::Transaction(e) => ChainError::Tx(TxError::Other(e.to_string())),
        e => ChainError::Internal(e.to_string()),
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
        Overlay::set_account(self, address, f).map_err(|e| ChainError::Internal(e.to_string()))
    }
    fn set_code(&mut self, address: Address, code: Bytes) -> Result<(), ChainError> {
        Overlay::set_code(self, address, code).map_err(|e| ChainError::Internal(e.to_string()))
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
