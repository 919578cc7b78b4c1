//! The state transition as one pure function (DESIGN D4): a block's (or a single transaction's)
//! post-state root from the pre-state root and a witness — the trie nodes, code and block hashes
//! the execution touches — with nothing else. It runs the same body executor and the same root
//! update as the chain itself; only the state underneath is the witness instead of the node's
//! state. Anything missing from the witness is an error, never a guess.

use std::{
    cell::RefCell,
    collections::{BTreeMap, HashMap},
};

use alloy::primitives::{Address, B256, Bytes, keccak256};
use aqueduct_primitives::StateAccount;
use aqueduct_trie::{MemoryNodes, NodeStore, TrieError};

use crate::{
    block::{ChainReceipt, ChainTx},
    builder::BodyExecutor,
    deposit::DepositTx,
    error::ChainError,
    executor::BlockContext,
    overlay::{BlockHashes, Overlay},
    rules::{ChainRules, L1Prices},
    state::{HistoricState, StateDiff, StateView, WorldState},
};

/// What a stateless execution may read.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Witness {
    /// Account-trie and storage-trie nodes, by hash.
    pub nodes: MemoryNodes,
    /// Contract code, by hash.
    pub codes: HashMap<B256, Bytes>,
    /// The answers BLOCKHASH gives.
    pub block_hashes: BTreeMap<u64, B256>,
}

impl Witness {
    /// Every node and every code must hash to its key (a forged entry could otherwise stand in
    /// for the real one).
    pub fn check(&self) -> Result<(), StatelessError> {
        for (h, n) in &self.nodes {
            if keccak256(n) != *h {
                return Err(StatelessError::BadWitness(*h));
            }
        }
        for (h, c) in &self.codes {
            if keccak256(c) != *h {
                return Err(StatelessError::BadWitness(*h));
            }
        }
        Ok(())
    }

    /// `rlp([[node…], [code…], [[number, hash]…]])`: keys are not sent, they are the hashes.
    pub fn encode(&self) -> Vec<u8> {
        let mut nodes: Vec<&Vec<u8>> = self.nodes.values().collect();
        nodes.sort();
        let mut codes: Vec<&Bytes> = self.codes.values().collect();
        codes.sort();
        let nodes: Vec<Bytes> = nodes.into_iter().map(|n| Bytes::copy_from_slice(n)).collect();
        let codes: Vec<Bytes> = codes.into_iter().cloned().collect();
        let hashes: Vec<BlockHashEntry> =
            self.block_hashes.iter().map(|(number, hash)| BlockHashEntry { number: *number, hash: *hash }).collect();
        let mut out = Vec::with_capacity(self.size() + 64);
        alloy_rlp::encode_list::<_, dyn alloy_rlp::Encodable>(
            &[&nodes as &dyn alloy_rlp::Encodable, &codes, &hashes],
            &mut out,
        );
        out
    }

    /// Reads [`Self::encode`]'s format. Every entry is keyed by its own hash, so a decoded
    /// witness cannot hold a forged entry.
    pub fn decode(mut raw: &[u8]) -> Result<Self, StatelessError> {
        let bad = |source| StatelessError::from(Malformed::Rlp { what: "witness", source });
        one_list(&mut raw, "witness")?;
        let nodes = <Vec<Bytes> as alloy_rlp::Decodable>::decode(&mut raw).map_err(bad)?;
        let codes = <Vec<Bytes> as alloy_rlp::Decodable>::decode(&mut raw).map_err(bad)?;
        let hashes = <Vec<BlockHashEntry> as alloy_rlp::Decodable>::decode(&mut raw).map_err(bad)?;
        if !raw.is_empty() {
            return Err(Malformed::Trailing("witness").into());
        }
        Ok(Self {
            nodes: nodes.into_iter().map(|n| (keccak256(&n), n.to_vec())).collect(),
            codes: codes.into_iter().map(|c| (keccak256(&c), c)).collect(),
            block_hashes: hashes.into_iter().map(|e| (e.number, e.hash)).collect(),
        })
    }

    /// Adds another witness's entries.
    pub fn extend(&mut self, other: Witness) {
        self.nodes.extend(other.nodes);
        self.codes.extend(other.codes);
        self.block_hashes.extend(other.block_hashes);
    }

    /// Bytes of nodes and code (what an L1 step pays for).
    pub fn size(&self) -> usize {
        self.nodes.values().map(Vec::len).sum::<usize>()
            + self.codes.values().map(|c| c.len()).sum::<usize>()
            + self.block_hashes.len() * 40
    }
}

#[derive(alloy_rlp::RlpEncodable, alloy_rlp::RlpDecodable)]
struct BlockHashEntry {
    number: u64,
    hash: B256,
}

impl BlockHashes for BTreeMap<u64, B256> {
    fn block_hash(&self, number: u64) -> B256 {
        self.get(&number).copied().unwrap_or_default()
    }
}

/// The block (or the part of one) to execute.
#[derive(Clone, Debug)]
pub struct StatelessInput {
    pub ctx: BlockContext,
    /// L2 blocks: the L1 prices the data fee uses.
    pub l1_prices: L1Prices,
    pub deposits: Vec<DepositTx>,
    pub transactions: Vec<ChainTx>,
}

impl StatelessInput {
    /// Steps of the block: each deposit, then each transaction.
    pub fn step_count(&self) -> usize {
        self.deposits.len() + self.transactions.len()
    }

    /// The block's environment with only step `k` in it (what a one-step proof re-executes).
    pub fn step(&self, k: usize) -> Option<StatelessInput> {
        let (deposits, transactions) = if k < self.deposits.len() {
            (vec![self.deposits[k].clone()], Vec::new())
        } else {
            (Vec::new(), vec![self.transactions.get(k - self.deposits.len())?.clone()])
        };
        Some(StatelessInput { ctx: self.ctx, l1_prices: self.l1_prices, deposits, transactions })
    }
}

#[derive(Clone, Debug)]
pub struct StatelessOutput {
    pub post_root: B256,
    pub receipts: Vec<ChainReceipt>,
    pub gas_used: u64,
}

/// What is wrong with an encoded witness or step block.
#[derive(Debug, thiserror::Error)]
pub enum Malformed {
    #[error("{what}: {source}")]
    Rlp { what: &'static str, source: alloy_rlp::Error },
    #[error("{0}: trailing bytes")]
    Trailing(&'static str),
    #[error("{0}: not one RLP list")]
    NotOneList(&'static str),
    #[error("block: transaction {index}: {source}")]
    Transaction { index: usize, source: alloy::eips::eip2718::Eip2718Error },
    #[error("block: transaction {index}: signature: {source}")]
    Signature { index: usize, source: alloy::consensus::crypto::RecoveryError },
}

#[derive(Debug, thiserror::Error)]
pub enum StatelessError {
    #[error("witness entry {0} does not hash to its key")]
    BadWitness(B256),
    #[error("malformed {0}")]
    Malformed(#[from] Malformed),
    #[error("block: {0}")]
    Block(String),
    #[error("the witness is incomplete: {0}")]
    Trie(#[from] TrieError),
    #[error("transaction {hash} cannot be executed at this point of the block: {why}")]
    NotExecutable { hash: B256, why: String },
    #[error(transparent)]
    Chain(#[from] ChainError),
}

/// Executes `input` over the state with root `pre_root`, reading only `witness`.
pub fn execute_stateless(
    rules: &ChainRules,
    pre_root: B256,
    witness: &Witness,
    input: StatelessInput,
) -> Result<StatelessOutput, StatelessError> {
    witness.check()?;
    let view = HistoricState::new(&witness.nodes, &witness.codes, pre_root);
    let (diff, receipts, gas_used) = run_body(rules, &view, &witness.block_hashes, input)?;
    let (post_root, _) = root_after(&view, &witness.nodes, pre_root, diff)?;
    Ok(StatelessOutput { post_root, receipts, gas_used })
}

/// A read-only call to `to` with `data` at the state with root `state_root`, reading only
/// `witness` (e.g. the message passer's `root()` at an output's state root). The call must
/// succeed; its return data is the answer, with the gas it used.
pub fn call_stateless(
    rules: &ChainRules,
    state_root: B256,
    witness: &Witness,
    to: Address,
    data: Bytes,
) -> Result<(Bytes, u64), StatelessError> {
    witness.check()?;
    let view = HistoricState::new(&witness.nodes, &witness.codes, state_root);
    read_call(rules, &view, &witness.block_hashes, to, data)
}

/// Runs a read-only call over `state` (no fee, no nonce check, the chain's gas limit).
pub fn read_call<S: StateView, H: BlockHashes + ?Sized>(
    rules: &ChainRules,
    state: &S,
    hashes: &H,
    to: Address,
    data: Bytes,
) -> Result<(Bytes, u64), StatelessError> {
    use crate::executor::{block_env, build_evm, cfg_env, precompiles_for};
    let mut overlay = Overlay::new(state, hashes);
    let mut cfg = cfg_env(rules);
    cfg.disable_nonce_check = true;
    let ctx = BlockContext {
        number: 0,
        timestamp: 0,
        beneficiary: Address::ZERO,
        gas_limit: rules.gas_limit,
        base_fee: 0,
        prevrandao: B256::ZERO,
        excess_blob_gas: 0,
    };
    let mut evm = build_evm(rules, precompiles_for(rules), &mut overlay, cfg, block_env(rules, &ctx));
    let tx = revm::context::TxEnv {
        kind: alloy::primitives::TxKind::Call(to),
        data,
        gas_limit: rules.gas_limit,
        chain_id: Some(rules.chain_id),
        ..Default::default()
    };
    let out = revm::ExecuteEvm::transact(&mut evm, tx);
    // A missing witness entry surfaces as a database error inside the EVM.
    let result = out.map_err(|e| StatelessError::NotExecutable { hash: B256::ZERO, why: e.to_string() })?.result;
    match result {
        revm::context::result::ExecutionResult::Success { output, gas, .. } => {
            Ok((output.into_data(), gas.tx_gas_used()))
        }
        other => Err(StatelessError::NotExecutable { hash: B256::ZERO, why: format!("the call failed: {other:?}") }),
    }
}

/// Runs deposits then transactions over `state`; every transaction must execute.
pub fn run_body<S: StateView, H: BlockHashes + ?Sized>(
    rules: &ChainRules,
    state: &S,
    hashes: &H,
    input: StatelessInput,
) -> Result<(StateDiff, Vec<ChainReceipt>, u64), StatelessError> {
    let mut overlay = Overlay::new(state, hashes);
    let mut exec = BodyExecutor::new(rules, &mut overlay, &input.ctx, input.l1_prices);
    for d in input.deposits {
        exec.apply_deposit(d)?;
    }
    for tx in &input.transactions {
        if let Err(skip) = exec.apply_tx(tx)? {
            return Err(StatelessError::NotExecutable { hash: tx.hash, why: format!("{skip:?}") });
        }
    }
    let BodyExecutor { evm, receipts, gas_used, .. } = exec;
    drop(evm);
    Ok((overlay.into_diff(), receipts, gas_used))
}

/// The state root after `diff`, updating the tries through `nodes` only, and the trie nodes the
/// update created. Accounts the diff touches are read from `view` (the pre-state) so the update
/// sees them as the node would.
pub fn root_after<S: StateView, N: NodeStore>(
    view: &S,
    nodes: &N,
    pre_root: B256,
    diff: StateDiff,
) -> Result<(B256, MemoryNodes), TrieError> {
    let mut touched: Vec<Address> =
        diff.accounts.keys().chain(diff.storage.keys()).chain(&diff.wiped).copied().collect();
    touched.sort();
    touched.dedup();
    let mut accounts: HashMap<Address, StateAccount> = HashMap::new();
    for a in touched {
        if let Some(acc) = view.account(&a)? {
            accounts.insert(a, acc);
        }
    }
    let mut ws = WorldState::from_parts(accounts, HashMap::new(), HashMap::new(), MemoryNodes::new(), pre_root);
    ws.apply(diff);
    ws.commit_root_over(nodes)?;
    Ok((ws.root(), ws.into_nodes()))
}

/// A state view that remembers which code it handed out.
pub struct CodeRecorder<'a, S> {
    pub inner: &'a S,
    pub seen: RefCell<HashMap<B256, Bytes>>,
}

impl<S: StateView> StateView for CodeRecorder<'_, S> {
    fn account(&self, address: &Address) -> Result<Option<StateAccount>, TrieError> {
        self.inner.account(address)
    }
    fn storage(&self, address: &Address, slot: &alloy::primitives::U256) -> Result<alloy::primitives::U256, TrieError> {
        self.inner.storage(address, slot)
    }
    fn code(&self, hash: &B256) -> Option<Bytes> {
        let c = self.inner.code(hash)?;
        if *hash != aqueduct_primitives::EMPTY_CODE_HASH {
            self.seen.borrow_mut().insert(*hash, c.clone());
        }
        Some(c)
    }
}

/// Block hashes that remember which ones were asked for.
pub struct HashRecorder<'a> {
    pub all: &'a [B256],
    pub seen: RefCell<BTreeMap<u64, B256>>,
}

impl BlockHashes for HashRecorder<'_> {
    fn block_hash(&self, number: u64) -> B256 {
        let h = self.all.block_hash(number);
        self.seen.borrow_mut().insert(number, h);
        h
    }
}

/// The inputs of block `b` for a stateless re-execution.
pub fn stateless_input(rules: &ChainRules, b: &crate::block::SealedBlock) -> StatelessInput {
    input_of(rules, &b.header, &b.txs)
}

/// The inputs of the block with header `h` and transactions `txs`.
pub fn input_of(rules: &ChainRules, h: &alloy::consensus::Header, txs: &[ChainTx]) -> StatelessInput {
    let ctx = BlockContext {
        number: h.number,
        timestamp: h.timestamp,
        beneficiary: h.beneficiary,
        gas_limit: h.gas_limit,
        base_fee: h.base_fee_per_gas.unwrap_or_default(),
        prevrandao: h.mix_hash,
        excess_blob_gas: h.excess_blob_gas.unwrap_or(0),
    };
    let l1_prices = if rules.l2.is_some() {
        L1Prices::from_extra_data(&h.extra_data).unwrap_or_default()
    } else {
        L1Prices::default()
    };
    let mut deposits = Vec::new();
    let mut transactions = Vec::new();
    for t in txs {
        match &t.envelope {
            crate::tx::TxBody::Deposit(d) => deposits.push(d.clone()),
            crate::tx::TxBody::Ethereum(_) => transactions.push(t.clone()),
        }
    }
    StatelessInput { ctx, l1_prices, deposits, transactions }
}

/// Reads the header of an RLP list that must span all of `raw` (`what` names it in the error).
pub fn one_list(raw: &mut &[u8], what: &'static str) -> Result<(), StatelessError> {
    let header = alloy_rlp::Header::decode(raw).map_err(|source| Malformed::Rlp { what, source })?;
    if !header.list || header.payload_length != raw.len() {
        return Err(Malformed::NotOneList(what).into());
    }
    Ok(())
}
