//! The ZK bench (`aqueduct bench zk`): the ZK rollup and the validium at full size on the
//! embedded L1: circuit
//! size, proving time and CPU per transfer, proof size, L1 gas to verify and per transfer in both
//! data modes, pubdata per transfer, and the time from a withdrawal's submission to its payment.

use std::{path::PathBuf, sync::Arc, time::Instant};

use alloy::{
    primitives::{Address, U256},
    providers::DynProvider,
    signers::local::PrivateKeySigner,
    sol_types::SolCall,
};
use aqueduct_contracts::zk::{Groth16Verifier, ZkRollup};
use aqueduct_eth::{L1Client, L1Error};
use aqueduct_l1::{Devnet, L1Config};
use aqueduct_zk_circuit::{CircuitParams, Prover, ProverError, evm};
use aqueduct_zk_node::{
    BlockReport, DacClient, DacError, DacMember, DataAvailability, Operator, OperatorError, Pipeline, PipelineConfig,
    SubmitError, ZkDataMode, ZkDeployParams, ZkDeployment, deploy_zk, field_to_u256, load_prover,
};
use aqueduct_zk_protocol::{Amount32, OpKind, SecretKey, TreeShape, UnsignedTx};
use serde_json::json;

use crate::{zk_commit::commit_shares, zk_sizes::measure_size};

pub(crate) const ETH: u128 = 1_000_000_000_000_000_000;

/// What the ZK bench runs.
#[derive(Clone, Debug)]
pub struct ZkBenchOptions {
    /// Transaction slots a block.
    pub slots: usize,
    /// Blocks of transfers to prove in each mode.
    pub blocks: usize,
    /// Levels of the 4-ary account tree (12: 2^24 accounts, as deployed).
    pub account_levels: usize,
    /// Levels of each account's 4-ary balance tree (2: 16 tokens).
    pub balance_levels: usize,
    /// Users sending transfers (2 to 200).
    pub users: usize,
    /// Where proving keys are cached (generated on the first run).
    pub keys_dir: PathBuf,
    /// Further block sizes to measure (a key each, one block of transfers landed on L1 in
    /// rollup mode): proving time and peak memory against L1 gas per transfer.
    pub sizes: Vec<usize>,
    /// Seconds of sustained load in each mode through the operator's pipeline (0: none).
    pub duration: u64,
    /// Most proofs one L1 transaction verifies in the sustained run (and blocks a blob carries).
    pub aggregate: usize,
    /// Where the rollup's pubdata goes in the sustained run.
    pub data: ZkDataMode,
}

/// The operator's pipeline under a sustained load: transfers offered at a steady rate for a
/// fixed time, blocks proven one after another and landed `aggregate` at a time.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Sustained {
    pub seconds: f64,
    pub offered_per_second: f64,
    pub transfers: usize,
    pub blocks: usize,
    /// L1 transactions that verified them.
    pub verifications: usize,
    /// Transfers verified on L1 a second, from the first submission to the last verification.
    pub proven_per_second: f64,
    /// The same once the pipeline is full: transfers after the first verification over the time
    /// from it to the last (None with one verification).
    pub steady_per_second: Option<f64>,
    /// The same in 20-second windows of the load (decay shows there).
    pub windows: Vec<f64>,
    /// From a transfer's submission to its block's verification on L1.
    pub latency_p50: f64,
    pub latency_p99: f64,
    pub latency_max: f64,
    pub commit_gas_per_transfer: f64,
    pub verify_gas_per_transfer: f64,
    /// Blob gas bought per transfer (zero in calldata).
    pub blob_gas_per_transfer: f64,
    pub prove_cpu_seconds_per_transfer: f64,
}

/// Three committee members over JSON-RPC (2 must sign) for the validium `signers[0]` deploys
/// next (its address is known before deployment: the operator's nonce + 2).
pub(crate) async fn start_committee(
    l1: &L1Client,
    signers: &[PrivateKeySigner],
    chain_id: u64,
    dir: &std::path::Path,
) -> Result<(DataAvailability, Vec<Address>, Vec<jsonrpsee::server::ServerHandle>), ZkBenchError> {
    let member_keys: Vec<PrivateKeySigner> = signers[7..10].to_vec();
    let validium_at = signers[0].address().create(l1.nonce(signers[0].address()).await? + 2);
    std::fs::create_dir_all(dir)?;
    let (mut clients, mut handles) = (Vec::new(), Vec::new());
    for (i, k) in member_keys.iter().enumerate() {
        let m = Arc::new(DacMember::open(k.clone(), chain_id, validium_at, &dir.join(format!("dac{i}.redb")))?);
        let (addr, handle) = m.serve(std::net::SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        clients.push(DacClient::new(format!("http://{addr}")));
        handles.push(handle);
    }
    let da = DataAvailability::Validium { committee: clients, threshold: 2 };
    Ok((da, member_keys.iter().map(|k| k.address()).collect(), handles))
}

/// What went wrong running the ZK bench.
#[derive(Debug, thiserror::Error)]
pub enum ZkBenchError {
    #[error("{0}")]
    Options(String),
    #[error("the embedded L1: {0}")]
    Devnet(#[from] aqueduct_l1::DevnetError),
    #[error(transparent)]
    L1(#[from] L1Error),
    #[error("L1 JSON-RPC: {0}")]
    Rpc(#[from] alloy::transports::TransportError),
    #[error(transparent)]
    Prover(#[from] ProverError),
    #[error("deploying the ZK rollup: {0}")]
    Deploy(#[from] aqueduct_zk_node::ZkDeployError),
    #[error(transparent)]
    Operator(#[from] OperatorError),
    #[error("the operator refused a transaction: {0}")]
    Refused(#[from] SubmitError),
    #[error(transparent)]
    Dac(#[from] DacError),
    #[error("the operator made no {0}")]
    Missing(&'static str),
    #[error("the withdrawal paid {paid} wei, not {want}")]
    WrongPayout { paid: U256, want: U256 },
    #[error("the verifier rejects a valid proof")]
    ProofRejected,
    #[error("a bench task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
}

pub(crate) struct ModeResult {
    /// The deployment's Groth16 verifier.
    verifier: Address,
    pub(crate) blocks: Vec<BlockReport>,
    withdraw_seconds: f64,
    withdraw_block: BlockReport,
    sustained: Option<Sustained>,
    /// The blocks the sustained run landed, in order.
    sustained_blocks: Vec<BlockReport>,
}

/// The rollup's `sol!` instance on `l1`'s connection.
fn rollup_at(l1: &L1Client, at: Address) -> ZkRollup::ZkRollupInstance<&DynProvider> {
    ZkRollup::new(at, l1.provider())
}

/// A fresh deployment on `l1` and `users` users who each deposited 1 ETH and set their L2 key
/// on L1 (the operator has not yet served those requests).
pub(crate) async fn deploy_with_users(
    l1: &L1Client,
    signers: &[PrivateKeySigner],
    prover: &Arc<Prover>,
    users: usize,
    committee: Vec<Address>,
) -> Result<(ZkDeployment, Vec<(PrivateKeySigner, SecretKey)>), ZkBenchError> {
    let operator_key = &signers[0];
    let threshold = if committee.is_empty() { 0 } else { 2 };
    let dep = deploy_zk(
        l1,
        operator_key,
        prover.vk(),
        &ZkDeployParams {
            circuit: prover.params,
            operator: operator_key.address(),
            priority_expiry: 86_400,
            committee,
            threshold,
        },
    )
    .await?;
    let users: Vec<(PrivateKeySigner, SecretKey)> = (0..users)
        .map(|i| (signers[1 + i % (signers.len() - 1)].clone(), SecretKey::from_seed([i as u8 + 1; 32])))
        .collect();
    let rollup = rollup_at(l1, dep.rollup);
    for (l1_key, zk_key) in &users {
        let deposit = rollup.depositETH(l1_key.address()).value(U256::from(ETH)).gas(3_000_000);
        l1.transact(l1_key, deposit.into_transaction_request()).await?;
        let change = rollup.changeKey(field_to_u256(&zk_key.public().hash())).gas(3_000_000);
        l1.transact(l1_key, change.into_transaction_request()).await?;
    }
    Ok((dep, users))
}

pub(crate) async fn run_mode(
    l1: &L1Client,
    signers: &[PrivateKeySigner],
    prover: &Arc<Prover>,
    b: &ZkBenchOptions,
    da: DataAvailability,
    committee: Vec<Address>,
    store: PathBuf,
) -> Result<ModeResult, ZkBenchError> {
    let params = prover.params;
    let operator_key = &signers[0];
    let (dep, users) = deploy_with_users(l1, signers, prover, b.users, committee).await?;
    let mut op = Operator::open(l1.clone(), operator_key.clone(), dep.rollup, prover.clone(), da, &store).await?;
    op.sync().await?;
    while op.pending() > 0 {
        op.produce_block().await?;
    }
    let index = |a: Address| op.state().index_of(a).ok_or(ZkBenchError::Missing("account for a depositor"));
    let indices: Vec<u32> = users.iter().map(|(k, _)| index(k.address())).collect::<Result<_, _>>()?;
    let domain = params.domain;
    let mut blocks = Vec::new();
    for blk in 0..b.blocks {
        for s in 0..params.slots {
            let i = (blk * params.slots + s) % users.len();
            let (from, to) = (indices[i], indices[(i + 1) % indices.len()]);
            // 0.001 to 0.008 ETH, round robin: balances drift little however large the block.
            let amount = Amount32::pack(10u128.pow(15) * (1 + (s % 8) as u128)).expect("exact");
            let nonce = op.next_nonce(from);
            let tx = UnsignedTx { kind: OpKind::Transfer, from, to, token: 0, amount, nonce };
            op.submit(tx.sign(domain, &users[i].1))?;
        }
        let r = op.produce_block().await?.ok_or(ZkBenchError::Missing("block"))?;
        eprintln!(
            "  block {}: {} transfers, proved in {:.1} s ({:.1} CPU-s), commit {} gas, verify {} gas",
            r.number, r.transfers, r.prove_seconds, r.prove_cpu_seconds, r.commit_gas, r.verify_gas
        );
        blocks.push(r);
    }
    // A withdrawal: from its submission to its payment on L1.
    let (who, key) = (&users[0].0, &users[0].1);
    let from = indices[0];
    let started = Instant::now();
    let amount = Amount32::pack(ETH / 10).expect("exact");
    let w = UnsignedTx { kind: OpKind::Withdraw, from, to: from, token: 0, amount, nonce: op.next_nonce(from) };
    let before = l1.balance(who.address()).await?;
    op.submit(w.sign(domain, key))?;
    let withdraw_block = op.produce_block().await?.ok_or(ZkBenchError::Missing("block"))?;
    let paid = l1.balance(who.address()).await? - before;
    let withdraw_seconds = started.elapsed().as_secs_f64();
    if paid != U256::from(ETH / 10) {
        return Err(ZkBenchError::WrongPayout { paid, want: U256::from(ETH / 10) });
    }
    let sustained = if b.duration > 0 {
        // Offered at what one block at a time proves (the sequential blocks above): the pipeline
        // keeps up only if overlapping proving with L1 gains what it should.
        let prove: f64 = blocks.iter().map(|r| r.prove_seconds).sum::<f64>() / blocks.len().max(1) as f64;
        let rate = params.slots as f64 / prove.max(0.1);
        let keys: Vec<SecretKey> = users.iter().map(|(_, k)| k.clone()).collect();
        let (s, landed) = sustained(op, &keys, &indices, b, rate).await?;
        (Some(s), landed)
    } else {
        (None, vec![])
    };
    let (sustained, sustained_blocks) = sustained;
    Ok(ModeResult { verifier: dep.verifier, blocks, withdraw_seconds, withdraw_block, sustained, sustained_blocks })
}

/// Runs `op`'s pipeline while transfers are offered at `rate` a second for `b.duration`
/// seconds, then until every one is verified on L1.
async fn sustained(
    op: Operator,
    keys: &[SecretKey],
    indices: &[u32],
    b: &ZkBenchOptions,
    rate: f64,
) -> Result<(Sustained, Vec<BlockReport>), ZkBenchError> {
    use aqueduct_service::{CancellationToken, Halt};
    use std::collections::HashMap;
    use std::time::Duration;
    let params = op.settler().prover().params;
    let op = Arc::new(tokio::sync::Mutex::new(op));
    // A block closes when full or after the time the load takes to fill one; a proven block
    // waits up to two such times for further proofs to share its verification.
    let fill = Duration::from_secs_f64(params.slots as f64 / rate);
    let config = PipelineConfig {
        depth: b.aggregate + 1,
        aggregate: b.aggregate,
        block_time: fill,
        max_wait: fill * 2,
        data: b.data,
    };
    let (tx, mut reports) = tokio::sync::mpsc::unbounded_channel();
    let (cancel, halt) = (CancellationToken::new(), Halt::new());
    let pipeline = Pipeline::new(op.clone(), config).await.with_reports(tx);
    let task = tokio::spawn(aqueduct_service::run(pipeline, Duration::from_millis(100), cancel.clone(), halt.clone()));
    eprintln!(
        "  sustained: {rate:.2} transfers/s offered for {} s, up to {} proofs a verification",
        b.duration, b.aggregate
    );
    let started = Instant::now();
    let mut submitted: HashMap<u64, Instant> = HashMap::new();
    let mut landed: Vec<(Instant, BlockReport)> = Vec::new();
    let mut next = 0usize;
    let interval = Duration::from_secs_f64(1.0 / rate);
    let take = |landed: &mut Vec<(Instant, BlockReport)>, reports: &mut tokio::sync::mpsc::UnboundedReceiver<_>| {
        while let Ok(r) = reports.try_recv() {
            landed.push((Instant::now(), r));
        }
    };
    while started.elapsed().as_secs() < b.duration {
        let i = next % keys.len();
        let (from, to) = (indices[i], indices[(i + 1) % indices.len()]);
        let amount = Amount32::pack(10u128.pow(15) * (1 + (next % 8) as u128)).expect("exact");
        {
            let mut o = op.lock().await;
            let nonce = o.next_nonce(from);
            let seq = o.submit(
                UnsignedTx { kind: OpKind::Transfer, from, to, token: 0, amount, nonce }.sign(params.domain, &keys[i]),
            )?;
            submitted.insert(seq, Instant::now());
        }
        next += 1;
        take(&mut landed, &mut reports);
        if let Some(why) = halt.why() {
            return Err(ZkBenchError::Options(format!("the operator stopped: {why}")));
        }
        let due = started + interval.mul_f64(next as f64);
        tokio::time::sleep_until(due.into()).await;
    }
    // Drain: every submitted transfer verified on L1.
    let total = submitted.len();
    let deadline = Instant::now() + Duration::from_secs(600);
    while landed.iter().map(|(_, r)| r.seqs.len()).sum::<usize>() < total {
        if let Some(why) = halt.why() {
            return Err(ZkBenchError::Options(format!("the operator stopped: {why}")));
        }
        if Instant::now() > deadline {
            return Err(ZkBenchError::Missing("verification of every sustained transfer within 10 minutes"));
        }
        match tokio::time::timeout(Duration::from_secs(1), reports.recv()).await {
            Ok(Some(r)) => landed.push((Instant::now(), r)),
            Ok(None) => return Err(ZkBenchError::Missing("block report")),
            Err(_) => {}
        }
    }
    cancel.cancel();
    let _ = task.await;
    let end = landed.last().map(|(t, _)| *t).unwrap_or(started);
    let seconds = (end - started).as_secs_f64();
    let mut latencies: Vec<f64> = landed
        .iter()
        .flat_map(|(t, r)| r.seqs.iter().filter_map(|s| submitted.get(s)).map(move |at| (*t - *at).as_secs_f64()))
        .collect();
    latencies.sort_by(f64::total_cmp);
    let pct = |q: f64| {
        latencies
            .get(((latencies.len() as f64 * q) as usize).min(latencies.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0.0)
    };
    let window = 20.0;
    let windows = (0..(seconds / window).ceil() as usize)
        .map(|w| {
            let (lo, hi) = (w as f64 * window, (w + 1) as f64 * window);
            let n: usize = landed
                .iter()
                .filter(|(t, _)| (lo..hi).contains(&(*t - started).as_secs_f64()))
                .map(|(_, r)| r.transfers)
                .sum();
            n as f64 / window.min(seconds - lo)
        })
        .collect();
    let transfers: usize = landed.iter().map(|(_, r)| r.transfers).sum();
    let t = transfers.max(1) as f64;
    let mut txs: Vec<_> = landed.iter().map(|(_, r)| r.l1_block).collect();
    txs.dedup();
    let steady = {
        let first = landed.first().map(|(t, r)| (*t, r.l1_block));
        first.and_then(|(t0, tx0)| {
            let after: Vec<&(Instant, BlockReport)> = landed.iter().filter(|(_, r)| r.l1_block != tx0).collect();
            let span = (after.last()?.0 - t0).as_secs_f64();
            Some(after.iter().map(|(_, r)| r.transfers).sum::<usize>() as f64 / span.max(1e-9))
        })
    };
    let s = Sustained {
        steady_per_second: steady,
        seconds,
        offered_per_second: rate,
        transfers,
        blocks: landed.len(),
        verifications: txs.len(),
        proven_per_second: transfers as f64 / seconds.max(1e-9),
        windows,
        latency_p50: pct(0.5),
        latency_p99: pct(0.99),
        latency_max: latencies.last().copied().unwrap_or(0.0),
        commit_gas_per_transfer: landed.iter().map(|(_, r)| r.commit_gas).sum::<u64>() as f64 / t,
        blob_gas_per_transfer: landed.iter().map(|(_, r)| r.blob_gas).sum::<u64>() as f64 / t,
        verify_gas_per_transfer: landed.iter().map(|(_, r)| r.verify_gas).sum::<u64>() as f64 / t,
        prove_cpu_seconds_per_transfer: landed.iter().map(|(_, r)| r.prove_cpu_seconds).sum::<f64>() / t,
    };
    eprintln!(
        "  sustained: {} transfers in {} blocks, {} L1 verifications, {:.2} proven/s, latency p50 {:.1} s p99 {:.1} s",
        s.transfers, s.blocks, s.verifications, s.proven_per_second, s.latency_p50, s.latency_p99
    );
    Ok((s, landed.into_iter().map(|(_, r)| r).collect()))
}

/// Runs the ZK bench; prints its table and returns its figures (JSON).
pub async fn bench_zk(b: ZkBenchOptions) -> Result<serde_json::Value, ZkBenchError> {
    let shape = TreeShape { account_levels: b.account_levels, balance_levels: b.balance_levels };
    shape.validate().map_err(ZkBenchError::Options)?;
    if b.users < 2 || b.users > 200 {
        return Err(ZkBenchError::Options("--users must be between 2 and 200".into()));
    }
    let dir = tempfile::tempdir()?;
    let cfg = L1Config::instant(&dir.path().join("l1"));
    let devnet = Devnet::start(cfg, true).await?;
    let l1 = L1Client::new(&devnet.url())?;
    let chain_id = l1.chain_id().await?;
    let params = CircuitParams::new(shape, b.slots, chain_id);
    // The whole circuit, and what one more transfer slot adds (measured over 16 more slots, so
    // SHA-256's whole blocks round little).
    let (constraints, per_transfer) = tokio::task::spawn_blocking(move || {
        let more = CircuitParams { slots: params.slots + 16, ..params };
        let c = params.constraints();
        (c, (more.constraints() - c) / 16)
    })
    .await?;
    eprintln!(
        "circuit: {constraints} constraints for {} slots ({} on-chain), {per_transfer} a further transfer slot",
        b.slots, params.onchain_slots
    );
    let keys_started = Instant::now();
    let prover = load_prover(b.keys_dir.clone(), params).await?;
    let keys_seconds = keys_started.elapsed().as_secs_f64();
    let signers = devnet.signers.clone();

    eprintln!("rollup mode (pubdata on L1):");
    let rollup =
        run_mode(&l1, &signers, &prover, &b, DataAvailability::Rollup, vec![], dir.path().join("r.redb")).await?;

    eprintln!("validium mode (3 committee members over JSON-RPC, 2 must sign):");
    let (da, committee, mut members) = start_committee(&l1, &signers, chain_id, &dir.path().join("dac")).await?;
    let validium = run_mode(&l1, &signers, &prover, &b, da, committee, dir.path().join("v.redb")).await?;

    // The pairing check alone.
    let (verifier_gas, proof_bytes) = verify_only_gas(&l1, &prover, rollup.verifier).await?;
    eprintln!("commitment of {} blocks in one transaction, calldata and blob:", b.aggregate.max(1));
    let batch = commit_shares(&l1, &signers, &prover, b.aggregate.max(1), dir.path()).await?;
    let mut sweep = Vec::new();
    for (i, slots) in b.sizes.iter().enumerate() {
        let (row, handles) =
            measure_size(&l1, &signers, &b, chain_id, *slots, &dir.path().join(format!("s{i}"))).await?;
        sweep.push(row);
        members.extend(handles);
    }
    for h in members {
        let _ = h.stop();
    }
    devnet.stop().await;

    // L1 gas per transfer: committing (calldata, hashes, storage) and verifying (the pairing
    // check and paying out) apart.
    let per = |m: &ModeResult| {
        let t: usize = m.blocks.iter().map(|r| r.transfers).sum();
        let per_t = |x: f64| x / t.max(1) as f64;
        let commit = per_t(m.blocks.iter().map(|r| r.commit_gas).sum::<u64>() as f64);
        let verify_share = per_t(m.blocks.iter().map(|r| r.verify_gas).sum::<u64>() as f64);
        let cpu = per_t(m.blocks.iter().map(|r| r.prove_cpu_seconds).sum());
        let wall = per_t(m.blocks.iter().map(|r| r.prove_seconds).sum());
        let verify = m.blocks.iter().map(|r| r.verify_gas).max().unwrap_or(0);
        let pubdata = per_t(m.blocks.iter().map(|r| r.pubdata_bytes).sum::<usize>() as f64);
        (t, commit, verify_share, cpu, wall, verify, pubdata)
    };
    let (rt, r_commit, r_verify_share, r_cpu, r_wall, r_verify, r_pub) = per(&rollup);
    let (_, v_commit, v_verify_share, v_cpu, _, v_verify, _) = per(&validium);
    let (r_gas, v_gas) = (r_commit + r_verify_share, v_commit + v_verify_share);
    println!(
        "\nZK rollup benchmark: {} slots a block, 4^{} accounts, {} transfers a mode",
        b.slots, b.account_levels, rt
    );
    println!("  {:<44} {:>14}  goal / reference", "figure", "measured");
    let row = |k: &str, v: String, goal: &str| println!("  {k:<44} {v:>14}  {goal}");
    row("constraints per transfer slot", format!("{per_transfer}"), "≤ 30,000 (Hermez ~54k, Loopring ~130k)");
    row("constraints per slot, whole block", format!("{}", constraints / b.slots), "with the on-chain slots' records");
    row("proving CPU-seconds per transfer", format!("{r_cpu:.2}"), "≤ 1.0");
    row("proving wall seconds per transfer", format!("{r_wall:.2}"), "");
    row("proof size (EVM calldata words)", format!("{proof_bytes} B"), "Groth16: 2 G1 + 1 G2");
    row("L1 gas: pairing check (Groth16Verifier)", format!("{verifier_gas}"), "");
    row("L1 gas: proveBlock (verify + execute)", format!("{r_verify}"), "≤ 250,000");
    row("pubdata bytes per transfer", format!("{r_pub:.1}"), "≤ 12 (zkSync Lite 20, Hermez 14)");
    row("L1 gas per transfer, rollup", format!("{r_gas:.0}"), "L1 ETH transfer 21,000; goal ≤ 1,000");
    row("  of which commitment (rollup)", format!("{r_commit:.0}"), "calldata, SHA-256, storage");
    row("  of which verification (rollup)", format!("{r_verify_share:.0}"), "the pairing check, shared by the block");
    row("L1 gas per transfer, validium", format!("{v_gas:.0}"), "");
    row("  of which commitment (validium)", format!("{v_commit:.0}"), "committee signatures, SHA-256, storage");
    row("  of which verification (validium)", format!("{v_verify_share:.0}"), "");
    row("validium proveBlock gas", format!("{v_verify}"), "");
    let k = batch.blocks;
    row(
        &format!("commitment per transfer, {k} blocks a commit"),
        format!("{:.0}", batch.calldata_gas_per_transfer),
        "commitBlocks, calldata (measured)",
    );
    row(
        &format!("  the same in one blob ({k} lanes)"),
        format!("{:.0}", batch.blob_gas_per_transfer),
        &format!(
            "commitBlocksBlob + {:.0} blob gas/tx, blob {:.1}% full",
            batch.blob_blob_gas_per_transfer,
            100.0 * batch.blob_bytes as f64 / 126_976.0
        ),
    );
    row("validium proving CPU-s per transfer", format!("{v_cpu:.2}"), "");
    row(
        "withdrawal: submitted → paid on L1 (s)",
        format!("{:.1}", rollup.withdraw_seconds),
        "no challenge window (optimistic: 7 days)",
    );
    row("key generation or load (s)", format!("{keys_seconds:.1}"), "cached after the first run");
    // A batch's verification gas less one proof alone's, per further proof (the largest batch).
    let marginal = |m: &ModeResult| -> Option<(usize, f64)> {
        m.sustained.as_ref()?;
        let mut by_tx: Vec<(u64, u64, usize)> = Vec::new();
        for r in m.sustained_blocks.iter() {
            match by_tx.last_mut() {
                Some((tx, gas, k)) if *tx == r.l1_block => {
                    *gas += r.verify_gas;
                    *k += 1;
                }
                _ => by_tx.push((r.l1_block, r.verify_gas, 1)),
            }
        }
        let single = m.blocks.iter().map(|r| r.verify_gas).max()? as f64;
        let (_, gas, k) = by_tx.into_iter().filter(|(_, _, k)| *k > 1).max_by_key(|(_, _, k)| *k)?;
        Some((k, (gas as f64 - single) / (k - 1) as f64))
    };
    let mut further = None;
    for (name, m) in [("rollup", &rollup), ("validium", &validium)] {
        let Some(s) = &m.sustained else { continue };
        println!(
            "\nSustained load, {name} ({:.0} s offered at {:.2} transfers/s, up to {} proofs an L1 verification)",
            b.duration as f64, s.offered_per_second, b.aggregate
        );
        row("proven transfers/s (first submission → last verification)", format!("{:.2}", s.proven_per_second), "");
        let steady = s.steady_per_second.map_or("—".into(), |v| format!("{v:.2}"));
        row("proven transfers/s once full (first → last verification)", steady, "");
        let windows: Vec<String> = s.windows.iter().map(|w| format!("{w:.2}")).collect();
        row("  per 20 s window", windows.join(" "), "decay shows here");
        row("transfers, blocks, L1 verifications", format!("{} / {} / {}", s.transfers, s.blocks, s.verifications), "");
        row(
            "submitted → verified on L1, p50 / p99 / max (s)",
            format!("{:.1} / {:.1} / {:.1}", s.latency_p50, s.latency_p99, s.latency_max),
            "",
        );
        row(
            "L1 gas per transfer (commitment + verification)",
            format!("{:.0}", s.commit_gas_per_transfer + s.verify_gas_per_transfer),
            &format!("{:.0} + {:.0}", s.commit_gas_per_transfer, s.verify_gas_per_transfer),
        );
        row("blob gas per transfer", format!("{:.0}", s.blob_gas_per_transfer), &format!("--data {:?}", b.data));
        row("proving CPU-seconds per transfer", format!("{:.2}", s.prove_cpu_seconds_per_transfer), "≤ 1.0");
        if let Some((k, g)) = marginal(m) {
            row(
                "verification gas a further proof in a batch",
                format!("{g:.0}"),
                &format!("measured on a batch of {k}"),
            );
            if name == "rollup" {
                further = Some(g);
            }
        }
    }
    crate::zk_sizes::print_sweep(&sweep, b.aggregate, further);
    let j = json!({
            "slots": b.slots, "account_levels": b.account_levels, "balance_levels": b.balance_levels,
            "constraints": constraints, "constraints_per_slot": constraints / b.slots,
            "constraints_per_transfer_slot": per_transfer,
            "prove_cpu_seconds_per_transfer": r_cpu, "prove_wall_seconds_per_transfer": r_wall,
            "proof_bytes": proof_bytes, "verifier_gas": verifier_gas, "prove_block_gas": r_verify,
            "pubdata_bytes_per_transfer": r_pub, "l1_gas_per_transfer_rollup": r_gas,
            "l1_gas_per_transfer_validium": v_gas, "withdrawal_seconds": rollup.withdraw_seconds,
            "commit_gas_per_transfer_rollup": r_commit, "verify_gas_per_transfer_rollup": r_verify_share,
            "commit_gas_per_transfer_validium": v_commit, "verify_gas_per_transfer_validium": v_verify_share,
            "onchain_slots": params.onchain_slots, "sizes": sweep,
            "withdrawal_block_prove_seconds": rollup.withdraw_block.prove_seconds,
            "validium_withdrawal_seconds": validium.withdraw_seconds,
            "sustained_rollup": rollup.sustained, "sustained_validium": validium.sustained,
            "aggregate": b.aggregate, "verify_gas_per_further_proof": further,
            "commit_batch": batch, "data": format!("{:?}", b.data),
    });
    Ok(j)
}

/// Gas of `Groth16Verifier.verify` alone at `verifier`, on a proof of a blank block: its
/// `eth_estimateGas` less the 21,000 of a transaction and its calldata. Also the proof's size as
/// L1 takes it.
async fn verify_only_gas(l1: &L1Client, prover: &Arc<Prover>, verifier: Address) -> Result<(u64, usize), ZkBenchError> {
    use alloy::providers::Provider;
    let blank = prover.params.blank();
    let p = prover.clone();
    let w = blank.clone();
    let proof = tokio::task::spawn_blocking(move || p.prove(&w)).await??;
    let words = evm::proof_words(&proof);
    let proof_bytes = words.iter().map(|w| w.len()).sum();
    let call = Groth16Verifier::verifyCall {
        proof: words.map(U256::from_be_bytes),
        input: field_to_u256(&blank.commitment().public_input()),
    };
    if !l1.read(verifier, call.clone()).await? {
        return Err(ZkBenchError::ProofRejected);
    }
    let data = call.abi_encode();
    let calldata: u64 = data.iter().map(|b| if *b == 0 { 4 } else { 16 }).sum();
    let tx = alloy::rpc::types::TransactionRequest::default().to(verifier).input(data.into());
    let est = l1.provider().estimate_gas(tx).await?;
    Ok((est.saturating_sub(21_000 + calldata), proof_bytes))
}
