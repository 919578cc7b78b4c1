//! Unwinding: reorgs, snapshots and reverts, on the blocks' undo logs.

use super::*;

impl Chain {
    /// Unwinds the chain to block `to`, undoing state, and announces the removed blocks.
    pub fn unwind_to(&self, to: u64) -> Result<Vec<Arc<SealedBlock>>, ChainError> {
        self.running()?;
        let mut inner = self.inner.lock();
        self.unwind_locked(&mut inner, to)
    }

    pub(super) fn unwind_locked(&self, inner: &mut Inner, to: u64) -> Result<Vec<Arc<SealedBlock>>, ChainError> {
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
}
