//! Dev methods' state edits and time control (anvil's names).

use super::*;

impl Chain {
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
}
