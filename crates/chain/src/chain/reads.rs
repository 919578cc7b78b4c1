//! Reads: blocks, transactions, the pool, state at a block, proofs of accounts, fees.

use super::*;

impl Chain {
    pub fn head(&self) -> Arc<SealedBlock> {
        self.inner.lock().blocks.last().cloned().expect("a chain always has its genesis block")
    }

    pub fn block_number(&self, r: BlockRef) -> Option<u64> {
        let inner = self.inner.lock();
        self.resolve(&inner, r)
    }

    pub(super) fn resolve(&self, inner: &Inner, r: BlockRef) -> Option<u64> {
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
                .map_err(|source| ChainError::Rlp { what: "account", source })?,
            None => StateAccount::default(),
        };
        let mut storage = Vec::with_capacity(slots.len());
        for slot in slots {
            let (v, proof) = aqueduct_trie::prove(nodes, account.storage_root, keccak256(slot).as_slice())?;
            let value = match v {
                Some(raw) => alloy_rlp::Decodable::decode(&mut raw.as_slice())
                    .map_err(|source| ChainError::Rlp { what: "slot", source })?,
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

    pub(super) fn fees_after(&self, h: &Header) -> (u64, u128) {
        let base = self.rules.next_base_fee(h.gas_used, h.gas_limit, h.base_fee_per_gas.unwrap_or_default());
        let excess = self.rules.next_excess_blob_gas(h.excess_blob_gas.unwrap_or(0), h.blob_gas_used.unwrap_or(0));
        (base, self.rules.blob_base_fee(excess))
    }
}
