//! The optimistic rollup: the plan's transfers through the sequencer's Ethereum JSON-RPC, its
//! batches posted to L1 in calldata or in blobs.

use std::{sync::Arc, time::Instant};

use aqueduct_rollup_node::DataMode;
use futures::future::BoxFuture;

use super::{CompareError, CompareOptions, Family, FamilyId, Row, Trust};
use crate::{
    BenchError, RollupBenchOptions,
    plan::Plan,
    rollup::{fees, l1_cost, posted_through, start},
};

pub(super) struct Optimistic {
    pub blobs: bool,
}

/// OP Stack's mainnet finalization period.
const MAINNET_FINALIZATION_S: f64 = 604_800.0;

impl Optimistic {
    fn id(&self) -> FamilyId {
        if self.blobs { FamilyId::OptimisticBlobs } else { FamilyId::OptimisticCalldata }
    }

    async fn measure(&self, plan: &Arc<Plan>, o: &CompareOptions) -> Result<Row, BenchError> {
        let mode = if self.blobs { DataMode::Blobs } else { DataMode::Calldata };
        let ro = RollupBenchOptions {
            txs: plan.transfers.len(),
            accounts: plan.users,
            seed: plan.seed,
            l2_block_time_ms: 100,
            l2_gas_limit: 200_000_000,
            l1_block_time: o.l1_block_time,
            concurrency: plan.users,
            modes: vec![mode],
            compressor: aqueduct_rollup_protocol::Compressor::Brotli(5),
            vs_anvil: false,
            progress: o.progress,
        };
        let stack = start(&ro, mode).await?;
        let label = if self.blobs { "optimistic (blobs)" } else { "optimistic (calldata)" };
        let posts_before = posted_through(&stack, stack.chain.head().number()).await?;
        let first = stack.chain.head().number() + 1;
        let funder = stack.devnet.signers[0].clone();
        let report = crate::run(super::l1::run_options(plan, o, label, stack.url.clone(), funder)).await?;
        let soft_done = Instant::now();
        let last = stack.chain.head().number();
        posted_through(&stack, last).await?;
        let on_l1 = soft_done.elapsed().as_secs_f64() + report.p50_latency_ms / 1000.0;
        let posts = stack.posts_since(posts_before);
        let cost = l1_cost(&stack, &posts).await?;
        let fee = fees(&stack, first, last, &cost).await?;
        stack.rollup.stop().await;
        stack.devnet.stop().await;
        Ok(Row {
            family: self.id(),
            label: label.into(),
            transfers: report.included,
            transfers_per_sec: report.transfers_per_sec,
            soft_p50_ms: report.p50_latency_ms,
            soft_p99_ms: report.p99_latency_ms,
            l1_p50_s: Some(on_l1),
            funds_s: None,
            funds_mainnet_s: MAINNET_FINALIZATION_S + on_l1,
            funds_mainnet_why: "a withdrawal waits out the 7-day challenge period after its output is proposed".into(),
            l1_bytes_per_transfer: cost.bytes_per_tx,
            l1_gas_per_transfer: cost.l1_gas_per_tx,
            blob_gas_per_transfer: cost.blob_gas_per_tx,
            l1_txs_during_transfers: Some(cost.l1_transactions as u64),
            prove_cpu_s_per_transfer: None,
            fee_wei: fee.l2_fee_wei,
            operator_l1_wei: fee.l1_data_cost_wei,
            trust: Trust {
                who: "one honest challenger online within the challenge period; the sequencer only for ordering (L1 forces inclusion)".into(),
                if_not: "with no challenger, a false output can pay out stolen withdrawals".into(),
            },
            notes: vec![
                format!(
                    "L1 figures per L2 transaction over {} L2 transactions in {} posts (the users' funding included); compression {:.2}",
                    cost.l2_transactions, cost.posts, cost.compression_ratio
                ),
                "to L1: the last transfer's time until its batch was mined".into(),
                "withdrawals are not measured here: the devnet's challenge period is a setting".into(),
            ],
            wall_s: 0.0,
        })
    }
}

impl Family for Optimistic {
    fn run<'a>(&'a self, plan: &'a Arc<Plan>, o: &'a CompareOptions) -> BoxFuture<'a, Result<Row, CompareError>> {
        Box::pin(async move {
            self.measure(plan, o).await.map_err(|source| CompareError::Bench { family: self.id().name(), source })
        })
    }
}
