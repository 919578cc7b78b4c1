//! Payment channels: every user opens one channel with a hub on L1, then pays the plan's
//! transfers as invoices routed user → hub → user over each node's control JSON-RPC
//! (`channel_invoice`, `channel_payInvoice`); at the end every channel closes cooperatively.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use alloy::{
    network::TransactionBuilder,
    primitives::{Address, B256, U256},
    providers::Provider,
    rpc::types::TransactionRequest,
    signers::local::PrivateKeySigner,
};
use aqueduct_channel_node::{
    Adjudicator, Amount, ChannelApiClient, Lifecycle, Node, NodeConfig, SyncMode, control_client, rpc::serve_control,
};
use aqueduct_eth::{L1Client, L1Error};
use futures::future::{BoxFuture, try_join_all};

use super::{CompareError, CompareOptions, Family, FamilyId, Row, Trust, free_addr, start_l1};
use crate::report::percentile;
use crate::{ChannelBenchError, plan::Plan};

pub(super) struct Channels;

/// Seconds a unilateral close can be challenged (set at open).
const CHALLENGE_PERIOD: u32 = 3_600;

fn refused(e: impl std::fmt::Display) -> ChannelBenchError {
    ChannelBenchError::Payment(e.to_string())
}

async fn node(l1: &L1Client, key: B256, adj: Address, dir: &std::path::Path) -> Result<Arc<Node>, ChannelBenchError> {
    let mut cfg = NodeConfig::new(std::net::SocketAddr::from(([127, 0, 0, 1], 0)), dir.join(key.to_string()));
    cfg.sync = SyncMode::Full;
    Ok(Node::start(cfg, l1.clone(), key, adj).await?)
}

/// L1 use in blocks `from..=to`: gas, transactions, input bytes and wei paid.
async fn l1_usage(l1: &L1Client, from: u64, to: u64) -> Result<(u64, u64, u64, u128), ChannelBenchError> {
    let (mut gas, mut txs, mut bytes, mut wei) = (0u64, 0u64, 0u64, 0u128);
    for n in from..=to {
        let Some(b) = l1.provider().get_block_by_number(n.into()).full().await? else { continue };
        for t in b.transactions.txns() {
            bytes += alloy::consensus::Transaction::input(t).len() as u64;
        }
        for r in l1.provider().get_block_receipts(n.into()).await?.into_iter().flatten() {
            gas += r.gas_used;
            txs += 1;
            wei += u128::from(r.gas_used) * r.effective_gas_price;
        }
    }
    Ok((gas, txs, bytes, wei))
}

async fn measure(plan: &Arc<Plan>, o: &CompareOptions) -> Result<Row, ChannelBenchError> {
    let dir = tempfile::tempdir()?;
    let devnet = start_l1::<ChannelBenchError>(o, dir.path()).await?;
    let l1 = L1Client::new(&devnet.url())?;
    let signers = devnet.signers.clone();
    let adj = Adjudicator::deploy(&l1, &signers[0]).await?;
    let key = |s: &PrivateKeySigner| B256::from_slice(&s.to_bytes()[..]);
    let hub = node(&l1, key(&signers[7]), adj, dir.path()).await?;
    let users: Vec<PrivateKeySigner> = (0..plan.users).map(|i| plan.signer(i)).collect();
    // What each user sends and receives over the plan, with room for the hub's fees.
    let inflow = |i: usize| plan.transfers.iter().filter(|t| t.to == i).map(|t| t.amount()).sum::<u128>();
    let outflow = |i: usize| {
        let (eth, tokens) = plan.outflow(i);
        eth + tokens
    };
    let room = |x: u128| x + x / 10 + 10_000_000;
    // Both sides put in the same (a hub joins with at most what the user deposits): enough for
    // what the user sends and for what it receives.
    let deposit = |i: usize| room(outflow(i).max(inflow(i)));

    // Gas money for every user, five funders at once.
    let funders = &signers[1..6];
    try_join_all(funders.iter().enumerate().map(|(f, funder)| {
        let (users, l1) = (&users, &l1);
        async move {
            for (i, u) in users.iter().enumerate().filter(|(i, _)| i % funders.len() == f) {
                let value = U256::from(deposit(i)) + U256::from(10u128.pow(17));
                l1.transact(funder, TransactionRequest::default().with_to(u.address()).with_value(value)).await?;
            }
            Ok::<_, L1Error>(())
        }
    }))
    .await?;
    let mut nodes = Vec::new();
    let mut clients = Vec::new();
    let mut servers = Vec::new();
    for i in 0..plan.users {
        let n = node(&l1, B256::from(plan.secrets[i]), adj, dir.path()).await?;
        n.connect(&hub.listen_addr().to_string()).await?;
        let (handle, addr) = serve_control(n.clone(), free_addr()?).await?;
        clients.push(control_client(&format!("http://{addr}")).map_err(refused)?);
        servers.push(handle);
        nodes.push(n);
    }

    // Open: each user's channel with the hub, one after another (the hub joins each on L1).
    let opened_from = l1.head().await? + 1;
    let open_started = Instant::now();
    let mut ids = Vec::new();
    for (i, c) in clients.iter().enumerate() {
        let id = c
            .open(hub.address(), Amount(deposit(i)), Some(Amount(deposit(i))), None, Some(u64::from(CHALLENGE_PERIOD)))
            .await
            .map_err(refused)?;
        ids.push(id);
    }
    let open_s = open_started.elapsed().as_secs_f64() / plan.users as f64;
    // Every user knows a route to every other, and the hub sees every channel open.
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let open = ids.iter().all(|id| hub.channels().iter().any(|c| c.id == *id && c.state == Lifecycle::Open));
        let routes = (0..plan.users).all(|i| {
            (0..plan.users).filter(|j| *j != i).all(|j| nodes[i].find_route(users[j].address(), 1_000).is_ok())
        });
        if open && routes {
            break;
        }
        if Instant::now() > deadline {
            return Err(ChannelBenchError::Payment("routes between all users within 120 s".into()));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // The measured phase.
    let payments_from = l1.head().await?;
    let started = Instant::now();
    let results: Vec<Vec<(f64, u128, usize)>> = try_join_all((0..plan.users).map(|i| {
        let (clients, users) = (&clients, &users);
        async move {
            let mut out = Vec::new();
            for t in plan.sent_by(i) {
                let at = Instant::now();
                let invoice = clients[t.to].invoice(Amount(t.amount())).await.map_err(refused)?;
                let paid = clients[i]
                    .pay_invoice(users[t.to].address(), invoice.hash, Amount(t.amount()))
                    .await
                    .map_err(refused)?;
                let fee: u128 = paid.fee.parse().map_err(refused)?;
                out.push((at.elapsed().as_secs_f64() * 1000.0, fee, paid.hops));
            }
            Ok::<_, ChannelBenchError>(out)
        }
    }))
    .await?;
    let seconds = started.elapsed().as_secs_f64();
    let payments_to = l1.head().await?;
    let results: Vec<(f64, u128, usize)> = results.into_iter().flatten().collect();

    // Close every channel cooperatively: the money is on L1 when the close is mined.
    let mut close_s = Vec::new();
    for (c, id) in clients.iter().zip(&ids) {
        let at = Instant::now();
        c.close(*id, None).await.map_err(refused)?;
        close_s.push(at.elapsed().as_secs_f64());
    }
    close_s.sort_by(f64::total_cmp);
    let closed_to = l1.head().await?;
    let (gas, txs, bytes, wei) = l1_usage(&l1, opened_from, closed_to).await?;
    let (_, during, _, _) = l1_usage(&l1, payments_from + 1, payments_to).await?;
    for s in servers {
        let _ = s.stop();
    }
    for n in &nodes {
        n.stop();
    }
    hub.stop();
    devnet.stop().await;

    let n = results.len().max(1) as f64;
    let mut soft: Vec<f64> = results.iter().map(|r| r.0).collect();
    soft.sort_by(f64::total_cmp);
    let fees: u128 = results.iter().map(|r| r.1).sum();
    let soft_p50 = percentile(&soft, 50.0);
    let close_p50 = percentile(&close_s, 50.0);
    Ok(Row {
        family: FamilyId::Channels,
        label: "payment channels".into(),
        transfers: results.len(),
        transfers_per_sec: results.len() as f64 / seconds.max(1e-9),
        soft_p50_ms: soft_p50,
        soft_p99_ms: percentile(&soft, 99.0),
        l1_p50_s: None,
        funds_s: Some(soft_p50 / 1000.0 + close_p50),
        funds_mainnet_s: soft_p50 / 1000.0 + 12.0,
        funds_mainnet_why: format!(
            "a payment is final when countersigned; on L1 after a cooperative close (one 12-s slot), or after the {} h challenge period if the peer is gone",
            CHALLENGE_PERIOD / 3600
        ),
        l1_bytes_per_transfer: bytes as f64 / n,
        l1_gas_per_transfer: gas as f64 / n,
        blob_gas_per_transfer: 0.0,
        l1_txs_during_transfers: Some(during),
        prove_cpu_s_per_transfer: None,
        fee_wei: fees as f64 / n,
        operator_l1_wei: wei as f64 / n,
        trust: Trust {
            who: "yourself (or a watchtower) online within the challenge period; the hub only for routing".into(),
            if_not: "a peer that closes with a stale state keeps the difference if no one answers in time".into(),
        },
        notes: vec![
            format!(
                "{} channels with one hub: {} L1 transactions for opening ({:.1} s a channel) and closing, none while paying",
                plan.users, txs, open_s
            ),
            format!(
                "every transfer is an invoice paid over {} hops; ERC-20 transfers of the plan are paid in ETH (one asset a route)",
                results.first().map_or(0, |r| r.2)
            ),
            "L1 figures: the channels' whole life (open, join, close) spread over the transfers".into(),
        ],
        wall_s: 0.0,
    })
}

impl Family for Channels {
    fn run<'a>(&'a self, plan: &'a Arc<Plan>, o: &'a CompareOptions) -> BoxFuture<'a, Result<Row, CompareError>> {
        Box::pin(async move {
            measure(plan, o).await.map_err(|source| CompareError::Channel { family: "channels", source })
        })
    }
}
