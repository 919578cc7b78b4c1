//! Issue 15 (errors with a next action): a store write that fails in the ZK operator stops it
//! (Critical) instead of being logged and ignored. A verified block whose record cannot be
//! written stops the service and its JSON-RPC; a restart finishes that block from L1 and loses
//! nothing acknowledged. A transaction whose write fails is not acknowledged, the service stops,
//! and after a restart the transaction is not there.

#[allow(dead_code)] // each test binary uses part of what they share
mod common;

use std::time::Duration;

use alloy::primitives::Address;
use aqueduct_contracts::zk::ZkRollup;
use aqueduct_eth::L1Client;
use aqueduct_testkit::eventually as until;
use aqueduct_zk_circuit::{CircuitParams, Prover};
use aqueduct_zk_node::{
    AccountRef, DataAvailability, Operator, ZkAccount, ZkApiClient, ZkService, serve_rpc, zk_client,
};
use aqueduct_zk_protocol::{Amount32, OpKind, SecretKey, TreeShape, UnsignedTx};
use common::{devnet, rollup_with_two_users};
use jsonrpsee::http_client::HttpClient;

const ETH: u128 = 1_000_000_000_000_000_000;
const PARAMS: CircuitParams =
    CircuitParams { shape: TreeShape { account_levels: 2, balance_levels: 1 }, slots: 8, onchain_slots: 8, domain: 7 };

async fn account(rpc: &HttpClient, who: Address) -> ZkAccount {
    rpc.get_account(AccountRef::Address(who)).await.unwrap().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_store_write_stops_the_operator_and_a_restart_loses_nothing_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let devnet = devnet(dir.path()).await;
    let s = devnet.signers.clone();
    let (operator_key, alice, bob) = (s[0].clone(), s[1].clone(), s[2].clone());
    let l1 = L1Client::new(&devnet.url()).unwrap();
    let prover = std::sync::Arc::new(Prover::setup(PARAMS).unwrap());
    let ka = SecretKey::from_seed([0xa; 32]);
    let rollup = rollup_with_two_users(&l1, &operator_key, &prover, PARAMS, &alice, &bob, &ka).await;

    let store = dir.path().join("operator.redb");
    let start = async || -> ZkService {
        let op =
            Operator::open(l1.clone(), operator_key.clone(), rollup, prover.clone(), DataAvailability::Rollup, &store)
                .await
                .unwrap();
        serve_rpc(op, "127.0.0.1:0".parse().unwrap(), Duration::from_millis(100)).await.unwrap()
    };
    let svc = start().await;
    let rpc = zk_client(&format!("http://{}", svc.rpc_addr)).unwrap();
    until("the deposits' block is verified", 300, || async {
        assert!(!svc.halt.is_halted(), "the operator stopped: {:?}", svc.halt.why());
        rpc.status().await.unwrap().blocks >= 1
    })
    .await;
    let (a, b) = (account(&rpc, alice.address()).await, account(&rpc, bob.address()).await);

    // The verified block's record cannot be written: the transfer is acknowledged (on disk), its
    // block lands on L1, then the operator stops instead of going on without the record.
    svc.operator.lock().await.store().unwrap().fail_writes("block");
    let amount = Amount32::pack(ETH / 10).unwrap();
    let tx = UnsignedTx { kind: OpKind::Transfer, from: a.index, to: b.index, token: 0, amount, nonce: a.next_nonce };
    let seq = rpc.send_transaction(tx.sign(PARAMS.domain, &ka)).await.unwrap().seq;
    until("the operator stops", 300, || async { svc.halt.is_halted() }).await;
    let why = svc.halt.why().unwrap().to_string();
    assert!(why.contains("zk operator stopped") && why.contains("block"), "{why}");
    until("its JSON-RPC stops", 10, || async { rpc.status().await.is_err() }).await;
    let verified_on_l1 = l1.read(rollup, ZkRollup::totalVerifiedCall {}).await.unwrap();
    assert_eq!(verified_on_l1, 2, "the transfer's block was verified on L1 before the write failed");
    svc.stop().await;

    // A restart finishes the block from what is on disk and on L1: the transfer is there, once.
    let svc = start().await;
    let rpc = zk_client(&format!("http://{}", svc.rpc_addr)).unwrap();
    until("the block in flight is finished", 60, || async { rpc.status().await.unwrap().blocks == 2 }).await;
    assert_eq!(rpc.status().await.unwrap().pending, 0, "transaction {seq} is in block 2");
    assert_eq!(l1.read(rollup, ZkRollup::totalVerifiedCall {}).await.unwrap(), 2, "nothing was landed twice");
    let a2 = account(&rpc, alice.address()).await;
    assert_eq!(a2.nonce, a.nonce + 1);
    assert_eq!(a2.balances[&0].parse::<u128>().unwrap(), ETH - ETH / 10);
    assert_eq!(account(&rpc, bob.address()).await.balances[&0].parse::<u128>().unwrap(), ETH + ETH / 10);

    // A transaction whose write fails is refused, not acknowledged, and the operator stops.
    svc.operator.lock().await.store().unwrap().fail_writes("tx");
    let tx = UnsignedTx { nonce: a2.next_nonce, ..tx };
    let e = rpc.send_transaction(tx.sign(PARAMS.domain, &ka)).await.unwrap_err();
    assert!(e.to_string().contains("injected failure"), "{e}");
    assert!(svc.halt.why().unwrap().contains("storing a transaction failed"), "{:?}", svc.halt.why());
    until("its JSON-RPC stops", 10, || async { rpc.status().await.is_err() }).await;
    svc.stop().await;
    let svc = start().await;
    let rpc = zk_client(&format!("http://{}", svc.rpc_addr)).unwrap();
    assert_eq!(rpc.status().await.unwrap().pending, 0, "the refused transaction was not kept");
    assert_eq!(account(&rpc, alice.address()).await.next_nonce, a2.next_nonce);
    svc.stop().await;
    devnet.stop().await;
}
