//! Issue 18 (items 3 and 4): the operator's pipeline keeps several blocks in flight, proves one
//! while earlier ones land, and verifies several with one batched pairing check
//! (`ZkRollup.proveBlocks`) after committing them together (`commitBlocks`); a restart with several blocks committed and not yet verified
//! finishes them all from disk and L1, and loses nothing. Issue 18 (item 2): blocks whose
//! pubdata shares one blob land whole through `commitBlocksBlob`, survive a restart between
//! placing and landing, and rebuild from the blob.

#[allow(dead_code)] // each test binary uses part of what they share
mod common;

use std::{sync::Arc, time::Duration};

use alloy::providers::Provider;
use aqueduct_bench::Anvil;
use aqueduct_contracts::zk::ZkRollup;
use aqueduct_eth::L1Client;
use aqueduct_l1::dev_signers;
use aqueduct_service::{CancellationToken, Halt};
use aqueduct_testkit::eventually as until;
use aqueduct_zk_circuit::{CircuitParams, Prover};
use aqueduct_zk_node::{
    BlockReport, DataAvailability, Operator, Pipeline, PipelineConfig, ZkDataMode, field_to_u256, reconstruct,
};
use aqueduct_zk_protocol::{Amount32, OpKind, SecretKey, TreeShape, UnsignedTx};
use common::{devnet, rollup_with_two_users};
use tokio::sync::{Mutex, mpsc};

const ETH: u128 = 1_000_000_000_000_000_000;
const PARAMS: CircuitParams =
    CircuitParams { shape: TreeShape { account_levels: 2, balance_levels: 1 }, slots: 4, onchain_slots: 4, domain: 7 };

/// Runs a pipeline over `op` until cancelled; block reports come out of the receiver.
fn run(
    op: Arc<Mutex<Operator>>,
    config: PipelineConfig,
) -> (CancellationToken, Halt, tokio::task::JoinHandle<()>, mpsc::UnboundedReceiver<BlockReport>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let (cancel, halt) = (CancellationToken::new(), Halt::new());
    let task = {
        let (cancel, halt) = (cancel.clone(), halt.clone());
        tokio::spawn(async move {
            let p = Pipeline::new(op, config).await.with_reports(tx);
            aqueduct_service::run(p, Duration::from_millis(50), cancel, halt).await;
        })
    };
    (cancel, halt, task, rx)
}

async fn next_report(rx: &mut mpsc::UnboundedReceiver<BlockReport>) -> BlockReport {
    tokio::time::timeout(Duration::from_secs(300), rx.recv()).await.expect("a block within 5 minutes").unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pipeline_lands_several_blocks_with_one_check_and_a_restart_finishes_those_in_flight() {
    let dir = tempfile::tempdir().unwrap();
    let devnet = devnet(dir.path()).await;
    let s = devnet.signers.clone();
    let (operator_key, alice, bob) = (s[0].clone(), s[1].clone(), s[2].clone());
    let l1 = L1Client::new(&devnet.url()).unwrap();
    let prover = Arc::new(Prover::setup(PARAMS).unwrap());
    let ka = SecretKey::from_seed([0xa; 32]);
    let rollup = rollup_with_two_users(&l1, &operator_key, &prover, PARAMS, &alice, &bob, &ka).await;
    let store = dir.path().join("operator.redb");
    let open = async || {
        let op =
            Operator::open(l1.clone(), operator_key.clone(), rollup, prover.clone(), DataAvailability::Rollup, &store);
        Arc::new(Mutex::new(op.await.unwrap()))
    };
    let verified = async || -> u64 { l1.read(rollup, ZkRollup::totalVerifiedCall {}).await.unwrap().saturating_to() };
    let committed = async || -> u64 { l1.read(rollup, ZkRollup::totalCommittedCall {}).await.unwrap().saturating_to() };

    // The deposits' block, then nine transfers and a withdrawal: three blocks of four slots,
    // which a pipeline aggregating three verifies with one proveBlocks.
    let op = open().await;
    let config = PipelineConfig {
        depth: 4,
        aggregate: 3,
        block_time: Duration::from_secs(1),
        max_wait: Duration::ZERO,
        data: ZkDataMode::Calldata,
    };
    let (cancel, halt, task, mut rx) = run(op.clone(), config);
    let first = next_report(&mut rx).await;
    assert_eq!((first.number, first.ops), (1, 3));
    let (a, b) = (1u32, 2u32);
    let unit = 10u128.pow(15);
    {
        let mut o = op.lock().await;
        for nonce in 0..9 {
            let amount = Amount32::pack(unit).unwrap();
            let t = UnsignedTx { kind: OpKind::Transfer, from: a, to: b, token: 0, amount, nonce };
            o.submit(t.sign(7, &ka)).unwrap();
        }
        let amount = Amount32::pack(ETH / 10).unwrap();
        let w = UnsignedTx { kind: OpKind::Withdraw, from: a, to: a, token: 0, amount, nonce: 9 };
        o.submit(w.sign(7, &ka)).unwrap();
    }
    let alice_l1 = l1.provider().get_balance(alice.address()).await.unwrap();
    let reports = [next_report(&mut rx).await, next_report(&mut rx).await, next_report(&mut rx).await];
    assert_eq!(reports.iter().map(|r| r.number).collect::<Vec<_>>(), [2, 3, 4]);
    assert_eq!(reports.iter().map(|r| r.seqs.len()).sum::<usize>(), 10, "every transaction, once");
    let tx = reports[0].l1_block;
    assert!(reports.iter().all(|r| r.l1_block == tx), "one L1 transaction verified the three: {reports:?}");
    // What the store recorded for each block: one verification and one commit for the three,
    // other than block 1's.
    let records: Vec<_> = {
        let o = op.lock().await;
        (1..=4).map(|n| o.block(n).unwrap().expect("a stored block")).collect()
    };
    assert!(records[1..].iter().all(|r| r.verify_tx == records[1].verify_tx), "one proveBlocks for the three");
    assert!(records[1..].iter().all(|r| r.commit_tx == records[1].commit_tx), "one commitBlocks for the three");
    assert_ne!(records[0].commit_tx, records[1].commit_tx, "block 1 was committed on its own");
    let paid = l1.provider().get_balance(alice.address()).await.unwrap() - alice_l1;
    assert_eq!(paid, alloy::primitives::U256::from(ETH / 10), "the withdrawal is paid with the batch");
    assert_eq!(verified().await, 4);
    assert!(!halt.is_halted(), "{:?}", halt.why());

    // Stopped with two blocks committed and not yet verified (a crash while landing): a restart
    // proves and lands both without committing them again, and the store ends where L1 does.
    cancel.cancel();
    task.await.unwrap();
    let config = PipelineConfig { depth: 2, aggregate: 2, data: ZkDataMode::Calldata, ..Default::default() };
    let (cancel, halt, task, _rx) = run(op.clone(), config);
    {
        let mut o = op.lock().await;
        for nonce in 10..18 {
            let amount = Amount32::pack(unit).unwrap();
            o.submit(UnsignedTx { kind: OpKind::Transfer, from: a, to: b, token: 0, amount, nonce }.sign(7, &ka))
                .unwrap();
        }
    }
    until("two blocks in flight", 60, || async { op.lock().await.inflight().len() == 2 }).await;
    cancel.cancel();
    task.abort();
    let _ = task.await;
    assert!(!halt.is_halted(), "{:?}", halt.why());
    assert_eq!(verified().await, 4, "stopped before landing");
    // The crash comes between landing's two transactions: both blocks committed, neither proven.
    let (settler, blocks) = {
        let o = op.lock().await;
        (o.settler(), o.inflight().iter().cloned().collect::<Vec<_>>())
    };
    settler.commit_batch(&blocks).await.unwrap();
    assert_eq!(committed().await, 6);
    drop(op);
    let op = open().await;
    let in_flight = op.lock().await.inflight().len();
    assert!(in_flight >= 1, "blocks in flight come back from disk");
    let (cancel, halt, task, mut rx) = run(op.clone(), config);
    let mut last = 0;
    while last < 6 {
        last = next_report(&mut rx).await.number;
    }
    assert_eq!((verified().await, committed().await), (6, 6), "nothing landed twice");
    let o = op.lock().await;
    assert_eq!(o.blocks(), 6);
    assert_eq!(o.pending(), 0);
    let root = l1.read(rollup, ZkRollup::stateRootCall {}).await.unwrap();
    assert_eq!(root, field_to_u256(&o.state().root()), "the operator's state is L1's");
    assert_eq!(o.state().account(b).unwrap().balance(0), ETH + 17 * unit);
    drop(o);
    assert!(!halt.is_halted(), "{:?}", halt.why());
    cancel.cancel();
    task.await.unwrap();
    // What was stored is L1's state: reopening checks the stored root against L1's.
    drop(op);
    let op = open().await;
    assert_eq!(op.lock().await.blocks(), 6);
    // Blocks committed together (commitBlocks) rebuild from L1 alone like single commits.
    let r = reconstruct(&l1, rollup, PARAMS.shape, PARAMS.domain, &[]).await.unwrap();
    assert_eq!(r.blocks, 6);
    assert!(r.complete(), "the rebuilt root is L1's");
    assert_eq!(r.state.root(), op.lock().await.state().root());
    devnet.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocks_in_one_blob_land_whole_survive_a_restart_and_rebuild_from_the_blob() {
    let dir = tempfile::tempdir().unwrap();
    let devnet = devnet(dir.path()).await;
    blob_scenario(&devnet.url(), &devnet.signers, dir.path()).await;
    devnet.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "long scenario (over a minute): scripts/test.sh and CI run it (cargo test -- --include-ignored)"]
async fn blocks_in_one_blob_on_anvil() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let anvil = Anvil::spawn(port, 31337, 30_000_000, None).await.expect("anvil (scripts/tools.sh installs it)");
    blob_scenario(&anvil.url, &dev_signers(10).unwrap(), dir.path()).await;
}

async fn blob_scenario(url: &str, s: &[alloy::signers::local::PrivateKeySigner], dir: &std::path::Path) {
    let _ = tracing_subscriber::fmt().with_env_filter(tracing_subscriber::EnvFilter::from_default_env()).try_init();
    use alloy::consensus::Transaction as _;
    let (operator_key, alice, bob) = (s[0].clone(), s[1].clone(), s[2].clone());
    let l1 = L1Client::new(url).unwrap();
    let prover = Arc::new(Prover::setup(PARAMS).unwrap());
    let ka = SecretKey::from_seed([0xa; 32]);
    let rollup = rollup_with_two_users(&l1, &operator_key, &prover, PARAMS, &alice, &bob, &ka).await;
    let store = dir.join("operator.redb");
    let open = async || {
        let op =
            Operator::open(l1.clone(), operator_key.clone(), rollup, prover.clone(), DataAvailability::Rollup, &store);
        Arc::new(Mutex::new(op.await.unwrap()))
    };
    let verified = async || -> u64 { l1.read(rollup, ZkRollup::totalVerifiedCall {}).await.unwrap().saturating_to() };
    let config = PipelineConfig {
        depth: 3,
        aggregate: 3,
        block_time: Duration::from_secs(1),
        max_wait: Duration::ZERO,
        data: ZkDataMode::Blob,
    };
    let (a, b) = (1u32, 2u32);
    let unit = 10u128.pow(15);
    let submit = async |op: &Arc<Mutex<Operator>>, nonces: std::ops::Range<u32>, withdraw: bool| {
        let mut o = op.lock().await;
        for nonce in nonces.clone() {
            let amount = Amount32::pack(unit).unwrap();
            o.submit(UnsignedTx { kind: OpKind::Transfer, from: a, to: b, token: 0, amount, nonce }.sign(7, &ka))
                .unwrap();
        }
        if withdraw {
            let amount = Amount32::pack(ETH / 10).unwrap();
            let w = UnsignedTx { kind: OpKind::Withdraw, from: a, to: a, token: 0, amount, nonce: nonces.end };
            o.submit(w.sign(7, &ka)).unwrap();
        }
    };

    // The deposits' block alone in a blob, then three blocks in one blob's three lanes.
    let op = open().await;
    let (cancel, halt, task, mut rx) = run(op.clone(), config);
    assert_eq!(next_report(&mut rx).await.number, 1);
    let alice_l1 = l1.provider().get_balance(alice.address()).await.unwrap();
    // Eleven transfers and a withdrawal: three full blocks, closed together.
    submit(&op, 0..11, true).await;
    let reports = [next_report(&mut rx).await, next_report(&mut rx).await, next_report(&mut rx).await];
    assert_eq!(reports.iter().map(|r| r.number).collect::<Vec<_>>(), [2, 3, 4]);
    assert!(reports.iter().all(|r| r.blob_gas == 131_072 / 3), "a third of the blob each: {reports:?}");
    let records: Vec<_> = {
        let o = op.lock().await;
        (2..=4).map(|n| o.block(n).unwrap().expect("a stored block")).collect()
    };
    assert!(records.iter().all(|r| r.commit_tx == records[0].commit_tx), "one commitBlocksBlob for the three");
    let commit = l1.provider().get_transaction_by_hash(records[0].commit_tx.parse().unwrap()).await.unwrap().unwrap();
    assert_eq!(commit.inner.blob_versioned_hashes().map(<[_]>::len), Some(1), "one blob");
    assert!(records.iter().all(|r| r.verify_tx == records[0].verify_tx), "one proveBlocks for the three");
    let paid = l1.provider().get_balance(alice.address()).await.unwrap() - alice_l1;
    assert_eq!(paid, alloy::primitives::U256::from(ETH / 10), "the withdrawal is paid with the group");
    assert!(!halt.is_halted(), "{:?}", halt.why());

    // Stopped once a group is placed (its points fixed and written) and before it lands: the
    // restart rebuilds the same blob and points, and its proofs verify.
    cancel.cancel();
    task.await.unwrap();
    let (cancel, halt, task, _rx) = run(op.clone(), config);
    submit(&op, 12..20, false).await;
    until("a blob group placed", 60, || async {
        let o = op.lock().await;
        o.inflight().len() == 2 && o.inflight().iter().all(|p| p.blob.is_some())
    })
    .await;
    cancel.cancel();
    task.abort();
    let _ = task.await;
    assert!(!halt.is_halted(), "{:?}", halt.why());
    assert_eq!(verified().await, 4, "stopped before landing");
    let placed: Vec<_> = op.lock().await.inflight().iter().map(|p| (p.blob, p.witness.blob_z)).collect();
    drop(op);
    let op = open().await;
    let reopened: Vec<_> = op.lock().await.inflight().iter().map(|p| (p.blob, p.witness.blob_z)).collect();
    assert_eq!(placed, reopened, "the same group and points after the restart");
    let (cancel, halt, task, mut rx) = run(op.clone(), config);
    let mut last = 0;
    while last < 6 {
        last = next_report(&mut rx).await.number;
    }
    assert_eq!(verified().await, 6);
    assert!(!halt.is_halted(), "{:?}", halt.why());
    cancel.cancel();
    task.await.unwrap();
    // L1 alone (its blobs included) rebuilds the operator's state.
    let r = reconstruct(&l1, rollup, PARAMS.shape, PARAMS.domain, &[]).await.unwrap();
    assert_eq!(r.blocks, 6);
    assert!(r.complete(), "the rebuilt root is L1's");
    let o = op.lock().await;
    assert_eq!(r.state.root(), o.state().root());
    assert_eq!(o.state().account(b).unwrap().balance(0), ETH + 19 * unit);
    drop(o);
}
