//! The plasma bench (`aqueduct bench plasma`): the operator on the embedded L1 under a sustained
//! load of signed payments through its JSON-RPC. Users deposit, fan their deposits out into many
//! outputs, then every round spends every output once (one payment each, signed before the
//! round's clock starts) until the duration is over. Reports payments per second per 5-second
//! window and overall, blocks and their sizes, the L1 gas of each root and per payment, and the
//! L1 gas to start, challenge and process one exit.

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use alloy::{
    network::TransactionBuilder,
    primitives::{Address, B256, U256},
    providers::Provider,
    rpc::types::TransactionRequest,
    signers::local::PrivateKeySigner,
};
use aqueduct_eth::L1Client;
use aqueduct_l1::{Devnet, L1Config};
use aqueduct_plasma_node::{
    Operator, OperatorConfig, PlasmaApiClient, PlasmaL1, PlasmaParams, deploy_plasma, plasma_client, serve_operator,
};
use aqueduct_plasma_protocol::{Domain, Output, Payment, Position, SignedTx, WatchState};
use aqueduct_primitives::Signer;
use futures::{StreamExt, stream};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

const ETH: u128 = 1_000_000_000_000_000_000;

/// What the plasma bench runs.
#[derive(Clone, Debug)]
pub struct PlasmaBenchOptions {
    /// Users who deposit (each once, 1 ETH).
    pub users: usize,
    /// Rounds in which every output is split in four before the load (outputs = users × 4^fanout).
    pub fanout: u32,
    /// Seconds of load.
    pub duration: u64,
    pub block_ms: u64,
    pub max_block_txs: usize,
    /// Payments in flight at once.
    pub concurrency: usize,
    pub seed: u64,
}

impl Default for PlasmaBenchOptions {
    fn default() -> Self {
        Self { users: 200, fanout: 3, duration: 30, block_ms: 1000, max_block_txs: 65_536, concurrency: 64, seed: 42 }
    }
}

/// One round of the load: every output spent once.
#[derive(Clone, Debug, Serialize)]
pub struct Round {
    pub payments: usize,
    /// From the first send to the last payment's block.
    pub seconds: f64,
    pub per_sec: f64,
}

/// One child block and its root's cost on L1.
#[derive(Clone, Debug, Serialize)]
pub struct BlockCost {
    pub block: u64,
    pub payments: usize,
    pub root_gas: u64,
}

/// What the plasma bench measured.
#[derive(Clone, Debug, Serialize)]
pub struct PlasmaBenchReport {
    pub users: usize,
    pub outputs: usize,
    pub load_payments: usize,
    pub load_seconds: f64,
    pub payments_per_sec: f64,
    /// Payments per second in each 5-second window of the load (by block inclusion time).
    pub windows: Vec<f64>,
    pub rounds: Vec<Round>,
    /// Signing a round's payments (the client's cost, outside the round's clock), per payment.
    pub sign_us_per_payment: f64,
    pub blocks: Vec<BlockCost>,
    /// Root gas over payments in the load's blocks.
    pub l1_gas_per_payment: f64,
    /// The largest block's root gas over its payments.
    pub l1_gas_per_payment_largest_block: f64,
    pub deposit_gas: u64,
    pub exit_start_gas: u64,
    pub exit_challenge_gas: u64,
    pub exit_process_gas: u64,
    /// A payment is withdrawable on L1 after the exit period (and two periods after its block).
    pub exit_period_mainnet_s: u64,
}

/// What went wrong running the plasma bench.
#[derive(Debug, thiserror::Error)]
pub enum PlasmaBenchError {
    #[error("the embedded L1: {0}")]
    Devnet(#[from] aqueduct_l1::DevnetError),
    #[error(transparent)]
    L1(#[from] aqueduct_eth::L1Error),
    #[error(transparent)]
    Plasma(#[from] aqueduct_plasma_node::PlasmaError),
    #[error("the operator's JSON-RPC: {0}")]
    Rpc(#[from] jsonrpsee::core::client::Error),
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Stalled(String),
}

struct User {
    key: PrivateKeySigner,
    signer: Signer,
}

/// Waits until nothing waits at the operator and every built block's root is on L1.
pub(crate) async fn settled(rpc: &jsonrpsee::http_client::HttpClient) -> Result<(), PlasmaBenchError> {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let st = rpc.status().await?;
        if st.pending == 0 && st.unsubmitted == 0 {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(PlasmaBenchError::Stalled(format!("{} payments still waiting after 120 s", st.pending)));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Where each payment of the child blocks after `after` is (its output 0), by hash.
pub(crate) async fn positions_after(
    rpc: &jsonrpsee::http_client::HttpClient,
    after: u64,
) -> Result<HashMap<B256, Position>, PlasmaBenchError> {
    let last = rpc.status().await?.last_block;
    let mut out = HashMap::new();
    let mut n = after + 1000;
    while n <= last {
        if let Some(b) = rpc.get_block(n).await? {
            for (i, t) in b.txs.iter().enumerate() {
                let p = Position::new(n, i as u64, 0).map_err(|e| PlasmaBenchError::Stalled(e.to_string()))?;
                out.insert(alloy::primitives::keccak256(&t.tx), p);
            }
        }
        n += 1000;
    }
    Ok(out)
}

/// Waits until every payment in `hashes` is in a block whose root is on L1; returns where
/// (output 0) by hash. `after` is the last child block before they were sent.
async fn positions(
    rpc: &jsonrpsee::http_client::HttpClient,
    after: u64,
    hashes: &[B256],
) -> Result<HashMap<B256, Position>, PlasmaBenchError> {
    settled(rpc).await?;
    let all = positions_after(rpc, after).await?;
    hashes
        .iter()
        .map(|h| all.get(h).map(|p| (*h, *p)).ok_or_else(|| PlasmaBenchError::Stalled(format!("{h} in no block"))))
        .collect()
}

/// Sends `txs` with `concurrency` in flight; every one must be accepted.
async fn send_all(
    rpc: &jsonrpsee::http_client::HttpClient,
    txs: &[SignedTx],
    concurrency: usize,
) -> Result<(), PlasmaBenchError> {
    let mut s = stream::iter(txs.iter().map(|t| {
        let rpc = rpc.clone();
        async move { rpc.send_transaction(t.tx.encode(), t.sig_bytes()).await }
    }))
    .buffer_unordered(concurrency.max(1));
    while let Some(r) = s.next().await {
        r?;
    }
    Ok(())
}

/// Signs one payment per output: `split` outputs to the owner itself, or one to a random user.
fn sign_round(
    domain: &Domain,
    users: &[User],
    outputs: &[(Position, usize, U256)],
    split: bool,
    rng: &mut ChaCha8Rng,
) -> Vec<(SignedTx, usize)> {
    outputs
        .iter()
        .map(|(p, owner, amount)| {
            let u = &users[*owner];
            let (to, outs) = if split {
                let part = *amount / U256::from(4);
                let rest = *amount - part * U256::from(3);
                let mut o = vec![Output { owner: u.key.address(), token: Address::ZERO, amount: part }; 3];
                o.push(Output { owner: u.key.address(), token: Address::ZERO, amount: rest });
                (*owner, o)
            } else {
                let to = rng.random_range(0..users.len());
                (to, vec![Output { owner: users[to].key.address(), token: Address::ZERO, amount: *amount }])
            };
            (Payment { inputs: vec![*p], outputs: outs }.sign(domain, &[&u.signer]), to)
        })
        .collect()
}

pub async fn bench_plasma(o: PlasmaBenchOptions) -> Result<PlasmaBenchReport, PlasmaBenchError> {
    let dir = tempfile::tempdir()?;
    let devnet = Devnet::start(L1Config::instant(&dir.path().join("l1")), true).await?;
    let l1 = L1Client::new(&devnet.url())?;
    let (funder, operator_key) = (devnet.signers[0].clone(), devnet.signers[1].clone());
    let params = PlasmaParams::devnet(operator_key.address(), 60);
    let contract = deploy_plasma(&l1, &funder, &params).await?;
    let config = OperatorConfig { max_block_txs: o.max_block_txs, ..Default::default() };
    let op = Operator::open(l1.clone(), operator_key.clone(), contract, config, &dir.path().join("op.redb")).await?;
    let svc = serve_operator(
        op,
        "127.0.0.1:0".parse().expect("an address"),
        Duration::from_millis(o.block_ms),
        Duration::from_millis(20),
    )
    .await?;
    let rpc = plasma_client(&format!("http://{}", svc.rpc_addr))?;
    let domain = svc.operator.lock().await.domain();
    eprintln!("plasma bench: {} users deposit", o.users);
    let mut users = Vec::new();
    let mut outputs: Vec<(Position, usize, U256)> = Vec::new();
    let mut deposit_gas = 0;
    for i in 0..o.users {
        let b = alloy::primitives::keccak256(format!("plasma bench user {i}"));
        let key = PrivateKeySigner::from_bytes(&b).expect("a key");
        l1.transact(&funder, TransactionRequest::default().with_to(key.address()).with_value(U256::from(2 * ETH)))
            .await?;
        let (block, sent) =
            PlasmaL1::new(l1.clone(), contract, key.clone()).deposit(Address::ZERO, U256::from(ETH)).await?;
        deposit_gas = sent.gas;
        outputs.push((Position::new(block, 0, 0).expect("a deposit position"), i, U256::from(ETH)));
        users.push(User { key, signer: Signer::from_bytes(&b).expect("a key") });
    }
    while (rpc.status().await?.deposits as usize) < o.users {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut rng = ChaCha8Rng::seed_from_u64(o.seed);
    // Fan-out: every output split in four, `fanout` times.
    for r in 0..o.fanout {
        let round = sign_round(&domain, &users, &outputs, true, &mut rng);
        let txs: Vec<SignedTx> = round.iter().map(|(t, _)| t.clone()).collect();
        let after = rpc.status().await?.last_block;
        send_all(&rpc, &txs, o.concurrency).await?;
        let hashes: Vec<B256> = txs.iter().map(|t| t.tx.hash()).collect();
        let at = positions(&rpc, after, &hashes).await?;
        let mut next = Vec::new();
        for ((t, owner), h) in round.iter().zip(&hashes) {
            let p = at[h];
            for (i, out) in t.tx.outputs.iter().enumerate() {
                next.push((p.with_output(i as u64), *owner, out.amount));
            }
        }
        outputs = next;
        eprintln!("plasma bench: fan-out {} -> {} outputs", r + 1, outputs.len());
    }
    let first_load_block = rpc.status().await?.last_block + 1000;
    // The load: every output spent once a round, until the duration is over.
    let mut rounds = Vec::new();
    let mut sign_time = Duration::ZERO;
    let mut signed = 0usize;
    let start = Instant::now();
    let mut inclusions: Vec<(f64, usize)> = Vec::new();
    while start.elapsed() < Duration::from_secs(o.duration) {
        let t_sign = Instant::now();
        let round = sign_round(&domain, &users, &outputs, false, &mut rng);
        sign_time += t_sign.elapsed();
        signed += round.len();
        let txs: Vec<SignedTx> = round.iter().map(|(t, _)| t.clone()).collect();
        let after = rpc.status().await?.last_block;
        let t = Instant::now();
        send_all(&rpc, &txs, o.concurrency).await?;
        let hashes: Vec<B256> = txs.iter().map(|t| t.tx.hash()).collect();
        let at = positions(&rpc, after, &hashes).await?;
        let secs = t.elapsed().as_secs_f64();
        inclusions.push((start.elapsed().as_secs_f64(), txs.len()));
        rounds.push(Round { payments: txs.len(), seconds: secs, per_sec: txs.len() as f64 / secs });
        eprintln!("plasma bench: {} payments in {secs:.2} s ({:.0}/s)", txs.len(), txs.len() as f64 / secs);
        outputs = round.iter().zip(&hashes).map(|((t, to), h)| (at[h], *to, t.tx.outputs[0].amount)).collect();
    }
    let load_seconds: f64 = rounds.iter().map(|r| r.seconds).sum();
    let load_payments: usize = rounds.iter().map(|r| r.payments).sum();
    let mut windows = vec![0f64; (start.elapsed().as_secs_f64() / 5.0).ceil() as usize];
    for (t, n) in &inclusions {
        let w = ((t / 5.0) as usize).min(windows.len().saturating_sub(1));
        windows[w] += *n as f64 / 5.0;
    }
    // Every load block's root and its cost.
    let chain = PlasmaL1::new(l1.clone(), contract, funder.clone());
    let head = l1.head().await?;
    let mut blocks = Vec::new();
    let filter = alloy::rpc::types::Filter::new()
        .address(contract)
        .event_signature(
            <aqueduct_contracts::plasma::PlasmaChain::BlockSubmitted as alloy::sol_types::SolEvent>::SIGNATURE_HASH,
        )
        .from_block(0)
        .to_block(head);
    for log in l1.provider().get_logs(&filter).await.map_err(aqueduct_eth::L1Error::Rpc)? {
        let Ok(e) = log.log_decode::<aqueduct_contracts::plasma::PlasmaChain::BlockSubmitted>() else { continue };
        let n: u64 = e.inner.data.blockNumber.saturating_to();
        if n < first_load_block {
            continue;
        }
        let Some(hash) = log.transaction_hash else { continue };
        let gas = l1.receipt(hash).await?.map_or(0, |r| r.gas_used);
        let payments = rpc.get_block(n).await?.map_or(0, |b| b.txs.len());
        blocks.push(BlockCost { block: n, payments, root_gas: gas });
    }
    let in_blocks: usize = blocks.iter().map(|b| b.payments).sum();
    let root_gas: u64 = blocks.iter().map(|b| b.root_gas).sum();
    let largest = blocks.iter().max_by_key(|b| b.payments);
    // One exit started, one challenged, one processed (a fresh user's deposit, spent).
    let (exit_start_gas, exit_challenge_gas, exit_process_gas) =
        exit_costs(&l1, contract, &funder, &params, &rpc, domain, &chain).await?;
    svc.stop().await;
    devnet.stop().await;
    Ok(PlasmaBenchReport {
        users: o.users,
        outputs: outputs.len(),
        load_payments,
        load_seconds,
        payments_per_sec: load_payments as f64 / load_seconds.max(1e-9),
        windows,
        rounds,
        sign_us_per_payment: sign_time.as_secs_f64() * 1e6 / signed.max(1) as f64,
        l1_gas_per_payment: root_gas as f64 / in_blocks.max(1) as f64,
        l1_gas_per_payment_largest_block: largest.map_or(0.0, |b| b.root_gas as f64 / b.payments.max(1) as f64),
        blocks,
        deposit_gas,
        exit_start_gas,
        exit_challenge_gas,
        exit_process_gas,
        exit_period_mainnet_s: 7 * 24 * 3600,
    })
}

/// The L1 gas of one exit started (and processed), and one challenged.
async fn exit_costs(
    l1: &L1Client,
    contract: Address,
    funder: &PrivateKeySigner,
    params: &PlasmaParams,
    rpc: &jsonrpsee::http_client::HttpClient,
    domain: Domain,
    chain: &PlasmaL1,
) -> Result<(u64, u64, u64), PlasmaBenchError> {
    let mut keys = Vec::new();
    for i in 0..2 {
        let b = alloy::primitives::keccak256(format!("plasma bench exiter {i}"));
        let key = PrivateKeySigner::from_bytes(&b).expect("a key");
        l1.transact(funder, TransactionRequest::default().with_to(key.address()).with_value(U256::from(2 * ETH)))
            .await?;
        keys.push((key, Signer::from_bytes(&b).expect("a key")));
    }
    let seen = rpc.status().await?.deposits;
    let mut deposits = Vec::new();
    for (k, _) in &keys {
        let (block, _) = PlasmaL1::new(l1.clone(), contract, k.clone()).deposit(Address::ZERO, U256::from(ETH)).await?;
        deposits.push(Position::new(block, 0, 0).expect("a deposit position"));
    }
    while rpc.status().await?.deposits < seen + 2 {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Exiter 1 spends its deposit to exiter 0, then exits the deposit anyway: challenged.
    let spend = Payment {
        inputs: vec![deposits[1]],
        outputs: vec![Output { owner: keys[0].0.address(), token: Address::ZERO, amount: U256::from(ETH) }],
    }
    .sign(&domain, &[&keys[1].1]);
    let after = rpc.status().await?.last_block;
    rpc.send_transaction(spend.tx.encode(), spend.sig_bytes()).await?;
    positions(rpc, after, &[spend.tx.hash()]).await?;
    let mut w = WatchState::new(domain);
    let head = l1.head().await?;
    for d in chain.deposits(0, head).await? {
        w.on_deposit(d.block, d.owner, d.token, d.amount).ok();
    }
    for (n, root) in chain.blocks(0, head).await? {
        let data = rpc
            .get_block(n)
            .await?
            .map(|b| b.txs.iter().filter_map(|t| SignedTx::decode(&t.tx, &t.sigs).ok()).collect());
        w.on_block(n, root, data);
    }
    let plan0 = w
        .exits_for(keys[0].0.address())
        .into_iter()
        .find(|p| p.utxo.position == deposits[0])
        .ok_or_else(|| PlasmaBenchError::Stalled("exiter 0's deposit".into()))?;
    let p0 = PlasmaL1::new(l1.clone(), contract, keys[0].0.clone());
    let (_, started) = p0.start_exit(&plan0, params.standard_exit_bond).await?;
    let spent_plan = aqueduct_plasma_protocol::ExitPlan {
        utxo: aqueduct_plasma_protocol::Utxo {
            position: deposits[1],
            output: Output { owner: keys[1].0.address(), token: Address::ZERO, amount: U256::from(ETH) },
            tx_hash: B256::ZERO,
        },
        creating: w.inclusion(deposits[1].block(), 0).ok_or_else(|| PlasmaBenchError::Stalled("a deposit".into()))?,
    };
    let (bad, _) = PlasmaL1::new(l1.clone(), contract, keys[1].0.clone())
        .start_exit(&spent_plan, params.standard_exit_bond)
        .await?;
    let c = w.challenge_for(bad, deposits[1]).ok_or_else(|| PlasmaBenchError::Stalled("no challenge".into()))?;
    let challenged = chain.challenge(&c).await?;
    let ts = l1.header(l1.head().await?).await?.timestamp;
    let _: serde_json::Value = l1
        .provider()
        .raw_request("evm_setNextBlockTimestamp".into(), (ts + 3 * params.min_exit_period,))
        .await
        .map_err(aqueduct_eth::L1Error::Rpc)?;
    let _: serde_json::Value =
        l1.provider().raw_request("evm_mine".into(), ()).await.map_err(aqueduct_eth::L1Error::Rpc)?;
    // The challenged exit heads the queue (a deposit's exit comes due first): process both and
    // count the paid one.
    let processed = chain.process(Address::ZERO, 2).await?;
    Ok((started.gas, challenged.gas, processed.gas))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small run measures every figure (the full one is `aqueduct bench plasma`).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_small_run_measures_every_figure() {
        let o = PlasmaBenchOptions { users: 4, fanout: 1, duration: 1, ..Default::default() };
        let r = bench_plasma(o).await.unwrap();
        assert_eq!(r.outputs, 16, "4 deposits split in four");
        assert!(r.load_payments >= 16 && r.payments_per_sec > 0.0, "{r:?}");
        assert!(r.blocks.iter().all(|b| b.payments > 0 && b.root_gas > 21_000), "{:?}", r.blocks);
        assert_eq!(
            r.blocks.iter().map(|b| b.payments).sum::<usize>(),
            r.load_payments,
            "every load payment in a load block"
        );
        assert!(r.exit_start_gas > 100_000 && r.exit_challenge_gas > 30_000 && r.exit_process_gas > 30_000, "{r:?}");
    }
}
