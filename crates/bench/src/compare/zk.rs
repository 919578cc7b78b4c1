//! The ZK rollup and the validium: users deposit ETH and the ERC-20 on L1 and set their L2 key,
//! then send the plan's transfers as signed ZK transactions to the operator's JSON-RPC
//! (`zk_sendTransaction`); the operator proves blocks and lands them on L1 through its pipeline.

use std::{
    collections::{BTreeMap, HashSet},
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
use aqueduct_contracts::{AqueductToken, zk::ZkRollup};
use aqueduct_eth::{L1Client, L1Error};
use aqueduct_zk_circuit::CircuitParams;
use aqueduct_zk_node::{
    AccountRef, DataAvailability, Operator, PipelineConfig, ZkApiClient, ZkDataMode, ZkDeployParams, deploy_zk,
    field_to_u256, load_prover, serve_rpc_with, zk_client,
};
use aqueduct_zk_protocol::{Amount32, OpKind, SecretKey, TreeShape, UnsignedTx};
use futures::future::{BoxFuture, try_join_all};

use super::{CompareError, CompareOptions, Family, FamilyId, Row, Trust, free_addr, start_l1};
use crate::report::percentile;
use crate::{ZkBenchError, plan::Plan, zk::start_committee};

pub(super) struct Zk {
    pub validium: bool,
}

/// Levels of each account's balance tree, as deployed (16 tokens).
const BALANCE_LEVELS: usize = 2;

fn missing(what: &'static str) -> ZkBenchError {
    ZkBenchError::Missing(what)
}

fn rpc_err(e: jsonrpsee::core::client::Error) -> ZkBenchError {
    ZkBenchError::Options(format!("the operator's JSON-RPC: {e}"))
}

/// Every user funded on L1, with its deposits of ETH and of the token made and its L2 key set.
async fn onboard(
    l1: &L1Client,
    signers: &[PrivateKeySigner],
    plan: &Plan,
    rollup: Address,
    token: Address,
    token_id: u8,
) -> Result<(), ZkBenchError> {
    let users: Vec<PrivateKeySigner> = (0..plan.users).map(|i| plan.signer(i)).collect();
    // ETH for gas and deposits from five funders at once; the token's minter mints in turn.
    let funders = &signers[1..6];
    let fund = funders.iter().enumerate().map(|(f, funder)| {
        let users = &users;
        async move {
            for (i, u) in users.iter().enumerate().filter(|(i, _)| i % funders.len() == f) {
                let value = U256::from(plan.outflow(i).0) + U256::from(10u128.pow(18));
                l1.transact(funder, TransactionRequest::default().with_to(u.address()).with_value(value)).await?;
            }
            Ok::<_, L1Error>(())
        }
    });
    let minter = &signers[6];
    let mint = async {
        let t = AqueductToken::new(token, l1.provider());
        for (i, u) in users.iter().enumerate() {
            let tokens = plan.outflow(i).1;
            if tokens > 0 {
                l1.transact(minter, t.mint(u.address(), U256::from(tokens)).into_transaction_request()).await?;
            }
        }
        Ok::<_, L1Error>(())
    };
    let (funded, minted) = futures::join!(try_join_all(fund), mint);
    funded?;
    minted?;
    let r = ZkRollup::new(rollup, l1.provider());
    let t = AqueductToken::new(token, l1.provider());
    try_join_all(users.iter().enumerate().map(|(i, u)| {
        let (r, t) = (&r, &t);
        async move {
            let (eth, tokens) = plan.outflow(i);
            let key = SecretKey::from_seed(plan.secrets[i]);
            let deposit = r.depositETH(u.address()).value(U256::from(eth.max(1))).gas(3_000_000);
            l1.transact(u, deposit.into_transaction_request()).await?;
            let change = r.changeKey(field_to_u256(&key.public().hash())).gas(3_000_000);
            l1.transact(u, change.into_transaction_request()).await?;
            if tokens > 0 {
                l1.transact(u, t.approve(rollup, U256::from(tokens)).into_transaction_request()).await?;
                let d = r.depositERC20(token_id, U256::from(tokens), u.address()).gas(3_000_000);
                l1.transact(u, d.into_transaction_request()).await?;
            }
            Ok::<_, L1Error>(())
        }
    }))
    .await?;
    Ok(())
}

/// Waits until the operator shows every user's account with its key set and both deposits in,
/// nothing pending, and L1 has verified every request (so no setup block is counted with the
/// transfers).
async fn await_accounts(
    client: &jsonrpsee::http_client::HttpClient,
    l1: &L1Client,
    rollup: Address,
    plan: &Plan,
    token_id: u8,
) -> Result<Vec<(u32, u32)>, ZkBenchError> {
    let deadline = Instant::now() + Duration::from_secs(900);
    let holds = |a: &aqueduct_zk_node::ZkAccount, token: u8, want: u128| {
        want == 0 || a.balances.get(&token).and_then(|b| b.parse::<u128>().ok()).is_some_and(|b| b >= want)
    };
    loop {
        let mut ready = Vec::new();
        for i in 0..plan.users {
            let key = SecretKey::from_seed(plan.secrets[i]).public().hash();
            let (eth, tokens) = plan.outflow(i);
            match client.get_account(AccountRef::Address(plan.signer(i).address())).await.map_err(rpc_err)? {
                Some(a) if a.pubkey_hash == key && holds(&a, 0, eth) && holds(&a, token_id, tokens) => {
                    ready.push((a.index, a.next_nonce))
                }
                _ => break,
            }
        }
        let status = client.status().await.map_err(rpc_err)?;
        if ready.len() == plan.users && status.pending == 0 {
            let served = l1.read(rollup, ZkRollup::firstPriorityCall {}).await?;
            let requested = l1.read(rollup, ZkRollup::totalPriorityCall {}).await?;
            let verified: u64 = l1.read(rollup, ZkRollup::totalVerifiedCall {}).await?.saturating_to();
            if served == requested && status.blocks == verified {
                return Ok(ready);
            }
        }
        if Instant::now() > deadline {
            return Err(missing("every user's deposits and key within 15 minutes"));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

impl Zk {
    fn id(&self) -> FamilyId {
        if self.validium { FamilyId::Validium } else { FamilyId::ZkRollup }
    }

    async fn measure(&self, plan: &Arc<Plan>, o: &CompareOptions) -> Result<Row, ZkBenchError> {
        let dir = tempfile::tempdir()?;
        let devnet = start_l1::<ZkBenchError>(o, dir.path()).await?;
        let l1 = L1Client::new(&devnet.url())?;
        let signers = devnet.signers.clone();
        let chain_id = l1.chain_id().await?;
        let shape = TreeShape { account_levels: o.zk_account_levels, balance_levels: BALANCE_LEVELS };
        let params = CircuitParams::new(shape, o.zk_slots, chain_id);
        let prover = load_prover(o.keys_dir.clone(), params).await?;
        let (da, committee, _members) = if self.validium {
            let (da, members, handles) = start_committee(&l1, &signers, chain_id, &dir.path().join("dac")).await?;
            (da, members, handles)
        } else {
            (DataAvailability::Rollup, vec![], vec![])
        };
        let threshold = if committee.is_empty() { 0 } else { 2 };
        let operator = &signers[0];
        let dep = deploy_zk(
            &l1,
            operator,
            prover.vk(),
            &ZkDeployParams {
                circuit: params,
                operator: operator.address(),
                priority_expiry: 86_400,
                committee,
                threshold,
            },
        )
        .await?;
        // The ERC-20 on L1 (minted by signers[6]), registered with the rollup.
        let minter = &signers[6];
        let deploy = AqueductToken::deploy_builder(l1.provider(), "Compare".into(), "CMP".into(), 18, U256::ZERO)
            .gas(3_000_000)
            .into_transaction_request();
        let token = l1.transact(minter, deploy).await?.contract_address.ok_or(missing("token address"))?;
        let r = ZkRollup::new(dep.rollup, l1.provider());
        let token_id = l1.read(dep.rollup, ZkRollup::tokenCountCall {}).await?;
        l1.transact(operator, r.addToken(token).gas(500_000).into_transaction_request()).await?;
        onboard(&l1, &signers, plan, dep.rollup, token, token_id).await?;

        let op =
            Operator::open(l1.clone(), operator.clone(), dep.rollup, prover.clone(), da, &dir.path().join("op.redb"))
                .await?;
        let pipeline = PipelineConfig {
            depth: 5,
            aggregate: 4,
            block_time: Duration::from_secs(2),
            max_wait: Duration::from_secs(4),
            data: ZkDataMode::Auto,
        };
        let svc = serve_rpc_with(op, free_addr()?, Duration::from_millis(100), pipeline).await?;
        let url = format!("http://{}", svc.rpc_addr);
        let client = zk_client(&url).map_err(rpc_err)?;
        let accounts = await_accounts(&client, &l1, dep.rollup, plan, token_id).await?;
        let blocks_before = client.status().await.map_err(rpc_err)?.blocks;
        let domain = params.domain;

        // The measured phase: each user sends its transfers in order, all users at once.
        let started = Instant::now();
        let sent: Vec<Vec<(u64, Instant, Instant)>> = try_join_all((0..plan.users).map(|i| {
            let (client, accounts) = (&client, &accounts);
            async move {
                let key = SecretKey::from_seed(plan.secrets[i]);
                let mut out = Vec::new();
                for (nonce, t) in (accounts[i].1..).zip(plan.sent_by(i)) {
                    let amount = Amount32::pack(t.amount()).ok_or(missing("a packable amount"))?;
                    let tx = UnsignedTx {
                        kind: OpKind::Transfer,
                        from: accounts[t.from].0,
                        to: accounts[t.to].0,
                        token: if t.erc20 { token_id } else { 0 },
                        amount,
                        nonce,
                    };
                    let at = Instant::now();
                    let seq = client.send_transaction(tx.sign(domain, &key)).await.map_err(rpc_err)?.seq;
                    out.push((seq, at, Instant::now()));
                }
                Ok::<_, ZkBenchError>(out)
            }
        }))
        .await?;
        let mut sent: Vec<(u64, Instant, Instant)> = sent.into_iter().flatten().collect();
        sent.sort_by_key(|s| s.0);
        let acked = sent.iter().map(|s| s.2).max().unwrap_or(started);

        // Until every transfer is verified on L1: blocks as they land, with when they were seen.
        let total = sent.len();
        let mut records = Vec::new();
        let mut seen: Vec<(usize, Instant)> = Vec::new(); // (transfers verified so far, when)
        let mut next = blocks_before + 1;
        let deadline = Instant::now() + Duration::from_secs(1800);
        while seen.last().map_or(0, |s| s.0) < total {
            if let Some(why) = svc.halt.why() {
                return Err(ZkBenchError::Options(format!("the operator stopped: {why}")));
            }
            if Instant::now() > deadline {
                return Err(missing("verification of every transfer within 30 minutes"));
            }
            let blocks = client.status().await.map_err(rpc_err)?.blocks;
            while next <= blocks {
                let rec = client.get_block(next).await.map_err(rpc_err)?.ok_or(missing("a verified block's record"))?;
                let so_far = seen.last().map_or(0, |s| s.0) + rec.transfers;
                seen.push((so_far, Instant::now()));
                records.push(rec);
                next += 1;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let done = seen.last().map_or(started, |s| s.1);
        svc.stop().await;

        // Latencies: the k-th transfer the operator took is verified once k transfers are.
        let mut soft: Vec<f64> = sent.iter().map(|s| (s.2 - s.1).as_secs_f64() * 1000.0).collect();
        soft.sort_by(f64::total_cmp);
        let mut to_l1: Vec<f64> = sent
            .iter()
            .enumerate()
            .filter_map(|(k, s)| seen.iter().find(|v| v.0 > k).map(|v| (v.1 - s.1).as_secs_f64()))
            .collect();
        to_l1.sort_by(f64::total_cmp);

        // What L1 saw: every commit and verification transaction once.
        let hashes: HashSet<B256> = records
            .iter()
            .flat_map(|r| [r.commit_tx.parse::<B256>().ok(), r.verify_tx.parse::<B256>().ok()])
            .flatten()
            .collect();
        let blob_bytes: BTreeMap<B256, usize> = records.iter().fold(BTreeMap::new(), |mut m, r| {
            if r.blob_gas > 0
                && let Ok(h) = r.commit_tx.parse::<B256>()
            {
                *m.entry(h).or_default() += r.pubdata_bytes;
            }
            m
        });
        let (mut gas, mut blob_gas, mut wei, mut bytes) = (0u64, 0u64, 0u128, 0usize);
        for h in &hashes {
            let rc = l1.receipt(*h).await?.ok_or(missing("a settlement receipt"))?;
            gas += rc.gas_used;
            wei += u128::from(rc.gas_used) * rc.effective_gas_price;
            let bg = rc.blob_gas_used.unwrap_or(0);
            blob_gas += bg;
            wei += u128::from(bg) * rc.blob_gas_price.unwrap_or(0);
            let tx = l1.provider().get_transaction_by_hash(*h).await.map_err(L1Error::Rpc)?;
            bytes += tx.map_or(0, |t| alloy::consensus::Transaction::input(&t).len());
            bytes += blob_bytes.get(h).copied().unwrap_or(0);
        }
        devnet.stop().await;
        let transfers: usize = records.iter().map(|r| r.transfers).sum();
        let n = transfers.max(1) as f64;
        let cpu: f64 = records.iter().map(|r| r.prove_cpu_seconds).sum();
        let seconds = (done - started).as_secs_f64();
        let l1_p50 = percentile(&to_l1, 50.0);
        let label = if self.validium { "validium" } else { "ZK rollup" };
        Ok(Row {
            family: self.id(),
            label: label.into(),
            transfers,
            transfers_per_sec: transfers as f64 / seconds.max(1e-9),
            soft_p50_ms: percentile(&soft, 50.0),
            soft_p99_ms: percentile(&soft, 99.0),
            l1_p50_s: Some(l1_p50),
            funds_s: Some(l1_p50),
            funds_mainnet_s: l1_p50,
            funds_mainnet_why: "paid when the block's proof is verified on L1: proving time, no challenge period"
                .into(),
            l1_bytes_per_transfer: bytes as f64 / n,
            l1_gas_per_transfer: gas as f64 / n,
            blob_gas_per_transfer: blob_gas as f64 / n,
            l1_txs_during_transfers: Some(hashes.len() as u64),
            prove_cpu_s_per_transfer: Some(cpu / n),
            fee_wei: 0.0,
            operator_l1_wei: wei as f64 / n,
            trust: if self.validium {
                Trust {
                    who: "the data committee (2 of 3 signers) to keep the data; proofs for validity".into(),
                    if_not: "a committee that withholds freezes balances: without the data no one can exit".into(),
                }
            } else {
                Trust {
                    who: "no one for safety (validity proofs, data on L1); the operator only for liveness".into(),
                    if_not: "an operator that stops: users leave through exodus with their last verified balance"
                        .into(),
                }
            },
            notes: vec![
                format!(
                    "transfers/s: verified on L1, from the first submission to the last verification; the operator took them at {:.0}/s",
                    total as f64 / (acked - started).as_secs_f64().max(1e-9)
                ),
                format!(
                    "{} blocks of {} slots, {} L1 transactions; blocks grouped up to 4 a verification (and a blob)",
                    records.len(),
                    o.zk_slots,
                    hashes.len()
                ),
                "the ZK transaction format carries no fee: the operator charges nothing (fee 0)".into(),
            ],
            wall_s: 0.0,
        })
    }
}

impl Family for Zk {
    fn run<'a>(&'a self, plan: &'a Arc<Plan>, o: &'a CompareOptions) -> BoxFuture<'a, Result<Row, CompareError>> {
        Box::pin(async move {
            self.measure(plan, o).await.map_err(|source| CompareError::Zk { family: self.id().name(), source })
        })
    }
}
