//! Executing finalized bodies in order with the chain engine, fetching what is missing, and
//! ending a consensus epoch at the body that carries a set change.

use alloy::primitives::{B256, Bytes};
use aqueduct_chain::{BlockAttributes, Chain};
use aqueduct_sidechain_protocol::Body;
use commonware_runtime::Clock;
use tracing::{debug, info};

use super::App;
use crate::{NodeError, store::EpochStart};

impl<E: Clock> App<E> {
    /// Executes finalized bodies in order from the executed head (fetching what is missing).
    pub(super) fn execute(&mut self) -> Result<(), NodeError> {
        if self.finalized == self.executed {
            return Ok(());
        }
        // Bodies held but not yet taken in (not verified here: this validator was away or slow)
        // join once finality reaches them and their ancestry is known.
        let mut held = Vec::new();
        let mut cur = self.finalized;
        while !self.known.contains_key(&cur) {
            match self.orphans.get(&cur) {
                Some(b) => {
                    held.push(cur);
                    cur = b.parent;
                }
                None => {
                    self.missing = Some(cur);
                    return Ok(());
                }
            }
        }
        for d in held.into_iter().rev() {
            let body = self.orphans.remove(&d).expect("held");
            let parent = self.known.get(&body.parent).cloned().expect("walked");
            if body.height != parent.height + 1 {
                self.shared.fail(format!("finalized body {d} has height {} after {}", body.height, parent.height));
                return Ok(());
            }
            self.connect(d, body, &parent)?;
        }
        let executed_height = self.known.get(&self.executed).map(|k| k.height).unwrap_or(0);
        let mut path = Vec::new();
        let mut cur = self.finalized;
        while cur != self.executed {
            let Some(k) = self.known.get(&cur) else {
                // A finalized ancestor this validator never received (it was away, or slow to
                // verify): fetch it; execution goes on when it arrives.
                self.missing = Some(cur);
                return Ok(());
            };
            if k.height <= executed_height {
                // Finality on a branch that does not hold our executed head cannot happen with
                // fewer than 1/3 faulty validators: stop rather than fork.
                self.shared
                    .fail(format!("finalized body {} does not extend executed body {}", self.finalized, self.executed));
                return Ok(());
            }
            path.push(cur);
            cur = k.parent;
        }
        for d in path.into_iter().rev() {
            let (body, _) = self.store.body(&d)?.ok_or_else(|| NodeError::Config(format!("body {d} vanished")))?;
            // An epoch's end waits until this validator's own L1 watcher saw the change (and so
            // every join request before it): the next set's members are read from them.
            if let Some(c) = body.set_change.first()
                && self.shared.set_change(c.epoch).as_ref() != Some(c)
            {
                debug!(target: "sidechain", epoch = c.epoch, "waiting for L1's set change before ending the epoch");
                return Ok(());
            }
            self.execute_body(d, &body)?;
        }
        Ok(())
    }

    fn execute_body(&mut self, digest: B256, body: &Body) -> Result<(), NodeError> {
        // Fetched bodies were never decoded here; the others were, once.
        let txs = match self.decoded.remove(&digest) {
            Some(txs) => txs,
            None => body.txs.iter().filter_map(|raw| Chain::decode_raw_tx_for(self.chain.rules(), raw).ok()).collect(),
        };
        self.store.put_executed(body.height, &digest)?;
        let block = self.chain.build_block(BlockAttributes {
            timestamp: Some(body.timestamp_secs()),
            prevrandao: Some(digest),
            deposits: body.deposit_txs(),
            transactions: txs,
            from_pool: false,
            extra_data: Bytes::copy_from_slice(&digest[..16]),
            ..Default::default()
        })?;
        if block.header.number != body.height {
            return Err(NodeError::Config(format!(
                "executed body of height {} as block {}: the chain and the store disagree",
                body.height, block.header.number
            )));
        }
        for tx in &block.txs {
            self.gossiped.remove(&tx.hash);
        }
        self.executed = digest;
        self.shared.note_executed(&block, body.txs.len());
        if let Some(k) = self.known.get(&digest) {
            self.shared.set_deposits_minted(k.next_deposit);
        }
        debug!(target: "sidechain", height = body.height, hash = %block.hash, txs = block.txs.len(), "executed");
        self.checkpointer.after_block(&self.chain, &block)?;
        if let Some(c) = body.set_change.first() {
            let members = self.shared.members(&c.validators);
            let start = EpochStart { floor: digest, height: body.height, change: c.clone(), members };
            self.store.put_epoch(&start)?;
            info!(target: "sidechain", epoch = c.epoch, height = body.height, validators = c.validators.len(), "epoch ends: the new validator set orders the next block");
            self.epoch = start.clone();
            self.tips.clear();
            self.reported.clear();
            let _ = self.epochs.unbounded_send(start);
        }
        Ok(())
    }
}
