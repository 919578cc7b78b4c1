//! The proposer: posts the output root of every `interval`-th derived L2 block to the oracle,
//! with the bond. It reads the chain a verifier derived from L1, never the sequencer's.

use std::{sync::Arc, time::Duration};

use alloy::{
    primitives::{Address, B256, U256},
    signers::local::PrivateKeySigner,
    sol_types::SolCall,
};
use aqueduct_chain::{BlockRef, CallArgs, Chain, ChainError};
use aqueduct_contracts::rollup::{L2ToL1MessagePasser, OutputOracle};
use aqueduct_rollup_protocol::{OutputRoot, Predeploys};
use aqueduct_service::{Progress, Service};
use tracing::info;

use crate::{error::ServiceError, l1::L1Client};

/// The output root of L2 block `n` (state root, message tree root, block hash).
pub fn output_at(chain: &Chain, n: u64) -> Result<OutputRoot, ChainError> {
    let b = chain.block(BlockRef::Number(n)).ok_or_else(|| ChainError::InvalidParams(format!("no L2 block {n}")))?;
    let call = CallArgs::simple(Predeploys::MESSAGE_PASSER, L2ToL1MessagePasser::rootCall {}.abi_encode().into());
    let out = chain.call(&call, BlockRef::Number(n))?;
    let ret = out.output().cloned().unwrap_or_default();
    let root = B256::try_from(ret.as_ref())
        .map_err(|_| ChainError::Internal("message passer root() returned garbage".into()))?;
    Ok(OutputRoot { version: B256::ZERO, state_root: b.header.state_root, withdrawals_root: root, block_hash: b.hash })
}

pub struct Proposer {
    chain: Arc<Chain>,
    l1: L1Client,
    oracle: Address,
    signer: PrivateKeySigner,
    interval: u64,
    bond: U256,
    poll: Duration,
}

impl Proposer {
    pub fn new(
        chain: Arc<Chain>,
        l1: L1Client,
        oracle: Address,
        signer: PrivateKeySigner,
        interval: u64,
        bond: U256,
        poll: Duration,
    ) -> Self {
        Self { chain, l1, oracle, signer, interval: interval.max(1), bond, poll }
    }

    /// Proposes the latest due output — the highest multiple of the interval the derived chain
    /// has reached — if it is past the oracle's latest. Returns the block proposed. (Posting the
    /// next one in line instead fell behind without bound when L2 blocks came faster than one
    /// output per L1 block could follow.)
    pub async fn step(&self) -> Result<Option<u64>, ServiceError> {
        let latest: u64 = self.l1.read(self.oracle, OutputOracle::latestBlockNumberCall {}).await?.saturating_to();
        let next = due_output(self.chain.head().number(), self.interval);
        if next <= latest || next == 0 {
            return Ok(None);
        }
        let out = output_at(&self.chain, next)?;
        let oracle = OutputOracle::new(self.oracle, self.l1.provider());
        let tx = oracle.proposeOutput(out.hash(), U256::from(next)).value(self.bond).gas(300_000);
        let hash = self.l1.send_request(&self.signer, tx.into_transaction_request()).await?;
        self.l1.wait(hash).await?;
        info!(target: "proposer", l2_block = next, root = %out.hash(), "output proposed");
        Ok(Some(next))
    }

    /// How often it looks for a due output.
    pub fn poll(&self) -> Duration {
        self.poll
    }
}

/// The proposer as a service: L1 trouble is retried with a growing pause, the anchor gone stops
/// it (and the rollup with it).
impl Service for Proposer {
    type Error = ServiceError;

    fn name(&self) -> &'static str {
        "proposer"
    }

    async fn step(&mut self) -> Result<Progress, ServiceError> {
        Proposer::step(self).await.map(|_| Progress::Idle)
    }
}

/// The latest output due at derived head `head`: the highest multiple of `interval` not above it.
pub fn due_output(head: u64, interval: u64) -> u64 {
    head / interval.max(1) * interval.max(1)
}

#[cfg(test)]
mod tests {
    use super::due_output;

    /// Issue 16, item 4: one output per L1 block, interval 10, 12 L2 blocks per L1 block: posting
    /// the next output in line fell 134 blocks behind after 11 minutes. Posting the latest due
    /// one keeps the lag under one interval plus one L1 block's L2 blocks, however long it runs.
    #[test]
    fn outputs_keep_up_with_the_head() {
        let (interval, per_l1_block) = (10, 12);
        let (mut head, mut latest_next_in_line, mut latest_due) = (0u64, 0u64, 0u64);
        for _l1_block in 0..3_600 {
            head += per_l1_block;
            // The old rule: the next multiple after the latest, once reached.
            let next = (latest_next_in_line / interval + 1) * interval;
            if head >= next {
                latest_next_in_line = next;
            }
            let due = due_output(head, interval);
            if due > latest_due {
                latest_due = due;
            }
            assert!(head - latest_due < interval + per_l1_block, "lag {} at head {head}", head - latest_due);
        }
        assert!(head - latest_next_in_line > 7_000, "the old rule falls behind: {}", head - latest_next_in_line);
    }
}
