//! The ZK rollup end to end on the embedded L1: deposits and key changes requested on L1, 100
//! transfers signed with Baby Jubjub keys, a withdrawal and a full exit paid on L1 the moment their
//! block's proof verifies; L1's state root is the operator's after every block.

use std::sync::Arc;

use alloy::{
    primitives::{Address, TxKind, U256},
    signers::local::PrivateKeySigner,
    sol_types::SolCall,
};
use aqueduct_contracts::zk::ZkRollup;
use aqueduct_l1::{Devnet, L1Config};
use aqueduct_rollup_node::{L1Call, L1Client};
use aqueduct_zk_circuit::{CircuitParams, Prover};
use aqueduct_zk_node::{Operator, ZkDeployParams, deploy_zk, field_to_u256};
use aqueduct_zk_protocol::{Amount32, OpKind, SecretKey, TreeShape, UnsignedTx};

const ETH: u128 = 1_000_000_000_000_000_000;
const SHAPE: TreeShape = TreeShape { account_levels: 2, balance_levels: 1 };

async fn send(l1: &L1Client, who: &PrivateKeySigner, to: Address, value: u128, input: Vec<u8>) {
    let call = L1Call { to: TxKind::Call(to), value: U256::from(value), input: input.into(), gas_limit: 500_000 };
    let h = l1.send_call(who, &call).await.unwrap();
    assert!(l1.wait(h, 2_400).await.unwrap().status());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deposits_transfers_and_withdrawals_are_proven_on_l1() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    let dir = tempfile::tempdir().unwrap();
    let cfg = L1Config {
        block_time: 0.0,
        data_dir: dir.path().join("l1"),
        rpc_addr: "127.0.0.1:0".parse().unwrap(),
        ..Default::default()
    };
    let devnet = Devnet::start(cfg, true).await.unwrap();
    let l1 = L1Client::new(&devnet.url()).unwrap();
    let (operator_key, alice, bob) = (devnet.signers[0].clone(), devnet.signers[1].clone(), devnet.signers[2].clone());

    let params = CircuitParams { shape: SHAPE, slots: 8, domain: 7 };
    let prover = Arc::new(Prover::setup(params).unwrap());
    let dep = deploy_zk(
        &l1,
        &operator_key,
        prover.vk(),
        &ZkDeployParams {
            circuit: params,
            operator: operator_key.address(),
            priority_expiry: 3600,
            committee: vec![],
            threshold: 0,
        },
    )
    .await
    .unwrap();

    let (ka, kb) = (SecretKey::from_seed([0xa; 32]), SecretKey::from_seed([0xb; 32]));
    send(&l1, &alice, dep.rollup, ETH, ZkRollup::depositETHCall { to: alice.address() }.abi_encode()).await;
    send(&l1, &bob, dep.rollup, ETH / 2, ZkRollup::depositETHCall { to: bob.address() }.abi_encode()).await;
    send(
        &l1,
        &alice,
        dep.rollup,
        0,
        ZkRollup::changeKeyCall { pubkeyHash: field_to_u256(&ka.public().hash()) }.abi_encode(),
    )
    .await;
    send(
        &l1,
        &bob,
        dep.rollup,
        0,
        ZkRollup::changeKeyCall { pubkeyHash: field_to_u256(&kb.public().hash()) }.abi_encode(),
    )
    .await;

    let mut op = Operator::new(l1.clone(), operator_key.clone(), dep.rollup, prover.clone());
    assert_eq!(op.sync().await.unwrap(), 4);
    op.produce_block().await.unwrap().unwrap();
    let (a, b) = (1u32, 2u32);
    assert_eq!(op.state().account(a).unwrap().balance(0), ETH);

    // 100 transfers, both ways, then a withdrawal.
    let unit = 10u128.pow(15);
    let (mut na, mut nb) = (0u32, 0u32);
    for i in 0..100u32 {
        let (key, from, to, nonce) = if i % 3 == 2 { (&kb, b, a, &mut nb) } else { (&ka, a, b, &mut na) };
        let amount = Amount32::pack(unit * (1 + i as u128 % 5)).unwrap();
        let tx = UnsignedTx { kind: OpKind::Transfer, from, to, token: 0, amount, nonce: *nonce }.sign(7, key);
        op.submit(tx).unwrap();
        *nonce += 1;
    }
    let w = UnsignedTx {
        kind: OpKind::Withdraw,
        from: b,
        to: b,
        token: 0,
        amount: Amount32::pack(ETH / 10).unwrap(),
        nonce: nb,
    };
    op.submit(w.sign(7, &kb)).unwrap();
    let bob_before = l1.balance(bob.address()).await.unwrap();
    let mut transfers = 0;
    while op.pending() > 0 {
        let r = op.produce_block().await.unwrap().unwrap();
        assert!(r.skipped.is_empty(), "{:?}", r.skipped);
        transfers += r.transfers;
        let root = l1.read(dep.rollup, ZkRollup::stateRootCall {}).await.unwrap();
        assert_eq!(root, field_to_u256(&op.state().root()), "L1's root is the operator's");
    }
    assert_eq!(transfers, 100);
    assert_eq!(
        l1.balance(bob.address()).await.unwrap() - bob_before,
        U256::from(ETH / 10),
        "the withdrawal is paid with the proof"
    );

    // Conservation: what L2 holds plus what was paid out is what was deposited.
    let l2_total: u128 = op.state().accounts().values().map(|acc| acc.balance(0)).sum();
    assert_eq!(l2_total + ETH / 10, ETH + ETH / 2);
    let locked = l1.balance(dep.rollup).await.unwrap();
    assert_eq!(locked, U256::from(l2_total));

    // A full exit requested on L1 pays Alice's exact balance.
    let alice_l2 = op.state().account(a).unwrap().balance(0);
    send(&l1, &alice, dep.rollup, 0, ZkRollup::requestFullExitCall { token: 0 }.abi_encode()).await;
    let alice_before = l1.balance(alice.address()).await.unwrap();
    assert_eq!(op.sync().await.unwrap(), 1);
    op.produce_block().await.unwrap().unwrap();
    assert_eq!(l1.balance(alice.address()).await.unwrap() - alice_before, U256::from(alice_l2));
    assert_eq!(op.state().account(a).unwrap().balance(0), 0);
}
