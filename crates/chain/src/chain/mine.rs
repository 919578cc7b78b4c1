//! Blocks: timestamps, building and mining, persisting and announcing.

use super::*;

impl Chain {
    /// Timestamp the next block gets now.
    pub(super) fn next_timestamp(&self, inner: &mut Inner) -> u64 {
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

    pub(super) fn mine_locked(
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
                    match attrs.gate.as_ref().map_or(Gate::Pass, |g| (g.0)(&tx)) {
                        Gate::Pass => {}
                        Gate::Later => {
                            best.skip_sender(&tx.sender);
                            continue;
                        }
                        Gate::Drop(why) => {
                            warn!(target: "chain::builder", hash = %tx.hash, reason = %why, "dropping a transaction its gate refused");
                            invalid.push(tx.hash);
                            best.skip_sender(&tx.sender);
                            continue;
                        }
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
}

impl Chain {
    /// Pool transactions a proposer would put in the next block now (a consensus leader that
    /// builds a block before it is executed): best tip first, each sender in nonce order from
    /// its state nonce, at most `max_gas` of gas limits and `max_count` of them, leaving out
    /// `exclude` (those already in proposed blocks not yet executed) without skipping their
    /// senders' later nonces.
    pub fn pending_for_block(&self, max_gas: u64, max_count: usize, exclude: &HashSet<B256>) -> Vec<ChainTx> {
        let inner = self.inner.lock();
        let parent = inner.blocks.last().expect("genesis");
        let base_fee = self.rules.next_base_fee(
            parent.header.gas_used,
            parent.header.gas_limit,
            parent.header.base_fee_per_gas.unwrap_or_default(),
        );
        let mut best =
            inner.pool.best(base_fee, |a| inner.state.account(a).ok().flatten().map(|a| a.nonce).unwrap_or(0));
        let (mut gas, mut out) = (0u64, Vec::new());
        while out.len() < max_count
            && let Some(tx) = best.next_tx()
        {
            if exclude.contains(&tx.hash) {
                continue;
            }
            let limit = tx.envelope.gas_limit();
            if gas.saturating_add(limit) > max_gas {
                best.skip_sender(&tx.sender);
                continue;
            }
            gas += limit;
            out.push(tx);
        }
        out
    }

    /// Pool transactions not in `seen`, EIP-2718 encoded, each added to `seen` (at most `max`):
    /// what a validator passes on to its peers.
    pub fn pool_unseen(&self, seen: &mut HashSet<B256>, max: usize) -> Vec<Bytes> {
        use alloy::eips::eip2718::Encodable2718;
        let inner = self.inner.lock();
        let mut out = Vec::new();
        for tx in inner.pool.all() {
            if out.len() >= max {
                break;
            }
            if seen.insert(tx.hash) {
                out.push(tx.envelope.encoded_2718().into());
            }
        }
        out
    }

    /// Whether the pool holds `hash`.
    pub fn in_pool(&self, hash: &B256) -> bool {
        self.inner.lock().pool.get(hash).is_some()
    }
}
