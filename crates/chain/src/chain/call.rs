//! Calls and gas estimates against a block's state, without committing.

use std::{cell::Cell, collections::BTreeMap};

use super::*;

impl Chain {
    /// Executes a call against the state after block `r` without committing it. revm runs
    /// without the chain's lock (the miner's): see [`UnlockedReads`].
    pub fn call(&self, call: &CallArgs, r: BlockRef) -> Result<revm::context::result::ExecutionResult, ChainError> {
        match self.call_state(r)? {
            CallState::Unlocked { header, hashes, reads } => self.call_on(&reads, &hashes, &header, call),
            CallState::DevChanges => {
                let inner = self.inner.lock();
                let header = inner.blocks.last().expect("a chain always has its genesis block").header.clone();
                self.call_on(&inner.state, inner.hashes.as_slice(), &header, call)
            }
        }
    }

    /// What a call at `r` reads: its block's header, the 256 block hashes before it, and reads
    /// that take the lock one at a time — unless the latest state holds dev changes its root does
    /// not (a dev chain after `anvil_setBalance` and the like), which only the locked maps have.
    pub(super) fn call_state(&self, r: BlockRef) -> Result<CallState<'_>, ChainError> {
        let inner = self.inner.lock();
        let n = self.resolve(&inner, r).ok_or(ChainError::UnknownBlock)?;
        let latest = n + 1 == inner.blocks.len() as u64;
        if latest && (!inner.pending_reverts.accounts.is_empty() || !inner.pending_reverts.storage.is_empty()) {
            return Ok(CallState::DevChanges);
        }
        let header = inner.blocks[n as usize].header.clone();
        let hashes = recent_hashes(&inner, n);
        let reads = UnlockedReads {
            chain: self,
            version: latest.then(|| inner.state.version()),
            root: header.state_root,
            moved: Cell::new(false),
        };
        Ok(CallState::Unlocked { header: Box::new(header), hashes, reads })
    }

    pub(super) fn call_on<S: StateView + ?Sized, H: crate::overlay::BlockHashes + ?Sized>(
        &self,
        state: &S,
        hashes: &H,
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
    pub(super) fn call_env(&self, header: &Header, call: &CallArgs) -> (CfgEnv, BlockEnv, TxEnv) {
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
                return Err(ChainError::Halted(reason));
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

/// The hashes BLOCKHASH sees in a call at block `n`: the 256 blocks up to it.
pub(super) fn recent_hashes(inner: &Inner, n: u64) -> BTreeMap<u64, B256> {
    (n.saturating_sub(256)..=n).map(|i| (i, inner.hashes[i as usize])).collect()
}

/// What a call reads (see [`Chain::call_state`]).
pub(super) enum CallState<'a> {
    Unlocked { header: Box<Header>, hashes: BTreeMap<u64, B256>, reads: UnlockedReads<'a> },
    DevChanges,
}

/// State reads for a call that runs without the chain's lock: each read takes the lock for
/// itself and reads the latest state's maps while no block, unwind or dev change has moved them
/// since the call began, and the call's block's state root (a consistent snapshot, through the
/// trie) from the first read that finds they have. A call at an older block reads its root.
pub(super) struct UnlockedReads<'a> {
    chain: &'a Chain,
    /// The latest state's version when the call began; `None` for a call at an older block.
    version: Option<u64>,
    /// The state root of the call's block.
    root: B256,
    /// Set once a read found the latest state moved on (reads go to `root` from then on).
    moved: Cell<bool>,
}

impl UnlockedReads<'_> {
    fn read<R>(&self, f: impl FnOnce(&dyn StateView) -> R) -> R {
        let inner = self.chain.inner.lock();
        if !self.moved.get() && self.version == Some(inner.state.version()) {
            return f(&inner.state);
        }
        self.moved.set(true);
        f(&inner.state.at_root(self.root))
    }
}
impl StateView for UnlockedReads<'_> {
    fn account(&self, address: &Address) -> Result<Option<StateAccount>, TrieError> {
        self.read(|s| s.account(address))
    }

    fn storage(&self, address: &Address, slot: &U256) -> Result<U256, TrieError> {
        self.read(|s| s.storage(address, slot))
    }

    fn code(&self, hash: &B256) -> Option<Bytes> {
        self.read(|s| s.code(hash))
    }
}
