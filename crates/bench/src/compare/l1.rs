//! The baseline: the plan's transfers as ordinary signed transactions on L1 itself, through its
//! JSON-RPC.

use std::{sync::Arc, time::Duration};

use futures::future::BoxFuture;

use super::{CompareError, CompareOptions, Family, FamilyId, Row, Trust, start_l1};
use crate::{BenchError, RunOptions, TxKindMix, Workload, WorkloadSpec, plan::Plan};

pub(super) struct L1;

/// The fees every EVM family's transfers offer.
pub(super) fn spec(plan: &Plan) -> WorkloadSpec {
    WorkloadSpec {
        seed: plan.seed,
        accounts: plan.users,
        txs: plan.transfers.len(),
        mix: TxKindMix { erc20_share: plan.erc20_share },
        chain_id: 0,
        max_fee_per_gas: 200_000_000_000,
        max_priority_fee_per_gas: 1_000,
    }
}

/// Mean size of the plan's signed transactions, bytes.
pub(super) fn mean_tx_bytes(plan: &Plan, chain_id: u64) -> f64 {
    let mut s = spec(plan);
    s.chain_id = chain_id;
    let w = Workload::from_plan(plan, &s, alloy::primitives::Address::ZERO);
    w.txs.iter().flatten().map(|t| t.0.len()).sum::<usize>() as f64 / w.len().max(1) as f64
}

/// Runs the plan through the JSON-RPC at `url` (the runner deploys the ERC-20 and funds the
/// users from `funder` first).
pub(super) fn run_options(
    plan: &Arc<Plan>,
    o: &CompareOptions,
    label: &str,
    url: String,
    funder: alloy::signers::local::PrivateKeySigner,
) -> RunOptions {
    RunOptions {
        target: label.into(),
        mode: "compare".into(),
        url,
        spec: spec(plan),
        funder,
        concurrency: plan.users,
        progress: o.progress,
        stall_timeout: Duration::from_secs_f64(120.0 + 5.0 * o.l1_block_time),
        plan: Some(plan.clone()),
    }
}

async fn run(plan: &Arc<Plan>, o: &CompareOptions) -> Result<Row, BenchError> {
    let dir = tempfile::tempdir()?;
    let devnet = start_l1::<BenchError>(o, dir.path()).await?;
    let funder = devnet.signers[0].clone();
    let report = crate::run(run_options(plan, o, "L1", devnet.url(), funder)).await?;
    let l1 = aqueduct_eth::L1Client::new(&devnet.url())?;
    let chain_id = l1.chain_id().await?;
    let base_fee = {
        use alloy::providers::Provider;
        let head = l1
            .provider()
            .get_block_by_number(alloy::eips::BlockNumberOrTag::Latest)
            .await
            .map_err(aqueduct_eth::L1Error::Rpc)?;
        head.and_then(|b| b.header.base_fee_per_gas).unwrap_or(0) as f64
    };
    devnet.stop().await;
    let n = report.included.max(1) as f64;
    let gas = report.gas_used as f64 / n;
    let fee = gas * (base_fee + spec(plan).max_priority_fee_per_gas as f64);
    Ok(Row {
        family: FamilyId::L1,
        label: "L1".into(),
        transfers: report.included,
        transfers_per_sec: report.transfers_per_sec,
        soft_p50_ms: report.p50_latency_ms,
        soft_p99_ms: report.p99_latency_ms,
        l1_p50_s: Some(report.p50_latency_ms / 1000.0),
        funds_s: Some(report.p50_latency_ms / 1000.0),
        funds_mainnet_s: 2.0 * 32.0 * 12.0,
        funds_mainnet_why: "Ethereum finality: two epochs of 32 slots of 12 s".into(),
        l1_bytes_per_transfer: mean_tx_bytes(plan, chain_id),
        l1_gas_per_transfer: gas,
        blob_gas_per_transfer: 0.0,
        l1_txs_during_transfers: Some(report.included as u64),
        prove_cpu_s_per_transfer: None,
        fee_wei: fee,
        operator_l1_wei: fee,
        trust: Trust {
            who: "L1's validators (a two-thirds honest stake finalizes)".into(),
            if_not: "nothing beyond L1's own security: this is the baseline".into(),
        },
        notes: vec![format!(
            "every node executes every transfer; {} of {} transfers included, {} failed",
            report.included, report.sent, report.failed
        )],
        wall_s: 0.0,
    })
}

impl Family for L1 {
    fn run<'a>(&'a self, plan: &'a Arc<Plan>, o: &'a CompareOptions) -> BoxFuture<'a, Result<Row, CompareError>> {
        Box::pin(async move { run(plan, o).await.map_err(|source| CompareError::Bench { family: "l1", source }) })
    }
}
