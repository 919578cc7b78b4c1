//! Plasma: every user deposits on L1 and splits its deposit (four-way, off-chain, as many rounds
//! as its share of the plan needs) so that all of its transfers can go into one block; then the
//! plan's transfers are sent at once through the operator's JSON-RPC (`plasma_sendTransaction`),
//! each spending one output with change back. Only the blocks' roots touch L1.

use std::{sync::Arc, time::Instant};

use alloy::{
    network::TransactionBuilder,
    primitives::{Address, B256, U256},
    providers::Provider,
    rpc::types::TransactionRequest,
};
use aqueduct_eth::L1Client;
use aqueduct_plasma_node::{
    Operator, OperatorConfig, PlasmaApiClient, PlasmaL1, PlasmaParams, deploy_plasma, plasma_client, serve_operator,
};
use aqueduct_plasma_protocol::{Output, Payment, Position, SignedTx};
use aqueduct_primitives::Signer;
use futures::{StreamExt, future::BoxFuture, stream};

use super::{CompareError, CompareOptions, Family, FamilyId, Row, Trust, start_l1};
use crate::{
    PlasmaBenchError,
    plan::Plan,
    plasma::{positions_after as positions, settled},
    report::percentile,
};

pub(super) struct Plasma;

/// The devnet's exit period, seconds; mainnet settings use 7 days.
const PERIOD: u64 = 60;
const WEEK: f64 = 7.0 * 86_400.0;

fn stalled(e: impl std::fmt::Display) -> PlasmaBenchError {
    PlasmaBenchError::Stalled(e.to_string())
}

async fn measure(plan: &Arc<Plan>, o: &CompareOptions) -> Result<Row, PlasmaBenchError> {
    let dir = tempfile::tempdir()?;
    let devnet = start_l1::<PlasmaBenchError>(o, dir.path()).await?;
    let l1 = L1Client::new(&devnet.url())?;
    let signers = devnet.signers.clone();
    let params = PlasmaParams::devnet(signers[1].address(), PERIOD);
    let contract = deploy_plasma(&l1, &signers[0], &params).await?;
    let op = Operator::open(
        l1.clone(),
        signers[1].clone(),
        contract,
        OperatorConfig::default(),
        &dir.path().join("op.redb"),
    )
    .await?;
    let svc = serve_operator(
        op,
        super::free_addr()?,
        std::time::Duration::from_millis(500),
        std::time::Duration::from_millis(50),
    )
    .await?;
    let rpc = plasma_client(&format!("http://{}", svc.rpc_addr))?;
    let domain = svc.operator.lock().await.domain();
    let users: Vec<Signer> = (0..plan.users)
        .map(|i| Signer::from_bytes(&B256::from(plan.secrets[i])).ok_or_else(|| stalled("a plan key")))
        .collect::<Result<_, _>>()?;
    // Each user needs one output per transfer it sends, each worth its largest transfer.
    let counts: Vec<usize> = (0..plan.users).map(|i| plan.sent_by(i).count()).collect();
    let largest: Vec<u128> = (0..plan.users).map(|i| plan.sent_by(i).map(|t| t.amount()).max().unwrap_or(1)).collect();
    let rounds = counts.iter().map(|c| (1..).find(|r| 4usize.pow(*r) >= *c).unwrap_or(1)).max().unwrap_or(1);
    let deposit = |i: usize| largest[i] * 4u128.pow(rounds);
    let mut holdings: Vec<Vec<(Position, u128)>> = vec![Vec::new(); plan.users];
    for i in 0..plan.users {
        let key = plan.signer(i);
        let value = U256::from(deposit(i)) + U256::from(10u128.pow(17));
        l1.transact(&signers[2 + i % 5], TransactionRequest::default().with_to(key.address()).with_value(value))
            .await?;
        let (block, _) =
            PlasmaL1::new(l1.clone(), contract, key).deposit(Address::ZERO, U256::from(deposit(i))).await?;
        holdings[i].push((Position::new(block, 0, 0).map_err(stalled)?, deposit(i)));
    }
    while (rpc.status().await?.deposits as usize) < plan.users {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    // The split, off-chain (setup, not measured): every output in four, `rounds` times.
    for _ in 0..rounds {
        let last = rpc.status().await?.last_block;
        let mut sent = Vec::new();
        for (i, held) in holdings.iter().enumerate() {
            for (p, amount) in held {
                let part = amount / 4;
                let me = users[i].address();
                let outs = vec![Output { owner: me, token: Address::ZERO, amount: U256::from(part) }; 4];
                let tx = Payment { inputs: vec![*p], outputs: outs }.sign(&domain, &[&users[i]]);
                rpc.send_transaction(tx.tx.encode(), tx.sig_bytes()).await?;
                sent.push((i, tx.tx.hash(), part));
            }
        }
        settled(&rpc).await?;
        let at = positions(&rpc, last).await?;
        holdings = vec![Vec::new(); plan.users];
        for (i, h, part) in sent {
            let p = *at.get(&h).ok_or_else(|| stalled("a split not in a block"))?;
            holdings[i].extend((0..4).map(|k| (p.with_output(k), part)));
        }
    }
    // The measured phase: every transfer at once, each spending one output.
    let mut txs: Vec<SignedTx> = Vec::new();
    for i in 0..plan.users {
        for (k, t) in plan.sent_by(i).enumerate() {
            let (p, part) = holdings[i][k];
            let mut outs =
                vec![Output { owner: users[t.to].address(), token: Address::ZERO, amount: U256::from(t.amount()) }];
            if part > t.amount() {
                outs.push(Output {
                    owner: users[i].address(),
                    token: Address::ZERO,
                    amount: U256::from(part - t.amount()),
                });
            }
            txs.push(Payment { inputs: vec![p], outputs: outs }.sign(&domain, &[&users[i]]));
        }
    }
    let before = rpc.status().await?.last_block;
    let l1_from = l1.head().await? + 1;
    let started = Instant::now();
    let payloads: Vec<(alloy::primitives::Bytes, alloy::primitives::Bytes)> =
        txs.iter().map(|t| (t.tx.encode(), t.sig_bytes())).collect();
    let sends = payloads.into_iter().map(|(tx, sigs)| {
        let rpc = rpc.clone();
        async move {
            let at = Instant::now();
            rpc.send_transaction(tx, sigs).await.map(|_| at.elapsed().as_secs_f64() * 1000.0)
        }
    });
    let mut soft: Vec<f64> =
        stream::iter(sends).buffer_unordered(32).collect::<Vec<_>>().await.into_iter().collect::<Result<_, _>>()?;
    let acked = started.elapsed().as_secs_f64();
    settled(&rpc).await?;
    let on_l1 = started.elapsed().as_secs_f64();
    let l1_to = l1.head().await?;
    let at = positions(&rpc, before).await?;
    if !txs.iter().all(|t| at.contains_key(&t.tx.hash())) {
        return Err(stalled("a transfer is missing from the blocks"));
    }
    // The roots of the measured blocks: gas, bytes, wei.
    let (mut gas, mut bytes, mut wei, mut roots) = (0u64, 0u64, 0u128, 0u64);
    for n in l1_from..=l1_to {
        let Some(b) = l1.provider().get_block_by_number(n.into()).full().await.map_err(aqueduct_eth::L1Error::Rpc)?
        else {
            continue;
        };
        for t in b.transactions.txns() {
            if alloy::consensus::Transaction::to(t) != Some(contract) {
                continue;
            }
            let Some(r) = l1.receipt(*t.inner.tx_hash()).await? else { continue };
            gas += r.gas_used;
            bytes += alloy::consensus::Transaction::input(t).len() as u64;
            wei += u128::from(r.gas_used) * r.effective_gas_price;
            roots += 1;
        }
    }
    svc.stop().await;
    devnet.stop().await;
    soft.sort_by(f64::total_cmp);
    let n = txs.len().max(1) as f64;
    Ok(Row {
        family: FamilyId::Plasma,
        label: "plasma (MoreVP)".into(),
        transfers: txs.len(),
        transfers_per_sec: txs.len() as f64 / acked.max(1e-9),
        soft_p50_ms: percentile(&soft, 50.0),
        soft_p99_ms: percentile(&soft, 99.0),
        l1_p50_s: Some(on_l1),
        funds_s: None,
        funds_mainnet_s: 2.0 * WEEK,
        funds_mainnet_why: "an exit waits until max(its output's block + 2 exit periods, its start + 1): 7-14 days on mainnet settings; a deposit's exit 7".into(),
        l1_bytes_per_transfer: bytes as f64 / n,
        l1_gas_per_transfer: gas as f64 / n,
        blob_gas_per_transfer: 0.0,
        l1_txs_during_transfers: Some(roots),
        prove_cpu_s_per_transfer: None,
        fee_wei: 0.0,
        operator_l1_wei: wei as f64 / n,
        trust: Trust {
            who: "yourself (or your watcher) online within every exit period, and L1 space for every user to exit".into(),
            if_not: "an operator that includes a theft or withholds a block keeps what users do not exit in time; a mass exit fills L1 (1.4 days of full mainnet blocks a million users)".into(),
        },
        notes: vec![
            format!("{} users split their deposits {rounds} time(s) four-way (setup, not measured) so that all their transfers fit one block; only {roots} root(s) touched L1", plan.users),
            "ERC-20 transfers of the plan are paid in ETH; payments carry no fee (the operator is unpaid)".into(),
            "funds on L1 need an exit (not run here); its gas is in `aqueduct bench plasma`".into(),
        ],
        wall_s: 0.0,
    })
}

impl Family for Plasma {
    fn run<'a>(&'a self, plan: &'a Arc<Plan>, o: &'a CompareOptions) -> BoxFuture<'a, Result<Row, CompareError>> {
        Box::pin(
            async move { measure(plan, o).await.map_err(|source| CompareError::Plasma { family: "plasma", source }) },
        )
    }
}
