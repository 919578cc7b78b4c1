//! The ZK rollup end to end, on the embedded L1 and on anvil, through the operator with its
//! store: deposits and key changes requested on L1, 100 transfers signed with Baby Jubjub keys, a
//! withdrawal paid the moment its block's proof verifies; L1 rejects a proof of another block and
//! a corrupted proof; the operator crashes with a block committed but not verified and resumes it
//! from disk; a node rebuilds the state from L1 alone and matches the operator's root; a full exit
//! is paid; then the operator stops, a deposit waits past its deadline, exodus mode starts, and
//! every user exits with their exact balance, once, while the unserved deposit is refunded.

mod common;

use std::sync::{Arc, OnceLock};

use alloy::{
    primitives::{Address, U256},
    signers::local::PrivateKeySigner,
    sol_types::SolCall,
};
use aqueduct_bench::Anvil;
use aqueduct_contracts::zk::ZkRollup;
use aqueduct_eth::{L1Client, L1Error};
use aqueduct_l1::dev_signers;
use aqueduct_zk_circuit::{CircuitParams, Prover, evm};
use aqueduct_zk_node::{
    DataAvailability, Operator, OperatorError, ZkDeployParams, deploy_zk, exit_call, field_to_u256, reconstruct,
};
use aqueduct_zk_protocol::{Amount32, OpKind, SecretKey, TreeShape, UnsignedTx};
use common::{advance, devnet, refused, send};

const ETH: u128 = 1_000_000_000_000_000_000;
const SHAPE: TreeShape = TreeShape { account_levels: 2, balance_levels: 1 };
const PARAMS: CircuitParams = CircuitParams { shape: SHAPE, slots: 8, onchain_slots: 8, domain: 7 };
const EXPIRY: u64 = 3_600;

fn prover() -> Arc<Prover> {
    static P: OnceLock<Arc<Prover>> = OnceLock::new();
    P.get_or_init(|| Arc::new(Prover::setup(PARAMS).unwrap())).clone()
}

async fn root(l1: &L1Client, rollup: Address) -> U256 {
    l1.read(rollup, ZkRollup::stateRootCall {}).await.unwrap()
}

async fn scenario(url: &str, signers: &[PrivateKeySigner]) {
    let dir = tempfile::tempdir().unwrap();
    let l1 = L1Client::new(url).unwrap();
    let (operator_key, alice, bob) = (signers[0].clone(), signers[1].clone(), signers[2].clone());
    let prover = prover();
    let dep = deploy_zk(
        &l1,
        &operator_key,
        prover.vk(),
        &ZkDeployParams {
            circuit: PARAMS,
            operator: operator_key.address(),
            priority_expiry: EXPIRY,
            committee: vec![],
            threshold: 0,
        },
    )
    .await
    .unwrap();
    let rollup = dep.rollup;
    let store = dir.path().join("zk.redb");
    let open =
        || Operator::open(l1.clone(), operator_key.clone(), rollup, prover.clone(), DataAvailability::Rollup, &store);

    let (ka, kb) = (SecretKey::from_seed([0xa; 32]), SecretKey::from_seed([0xb; 32]));
    send(&l1, &alice, rollup, ETH, ZkRollup::depositETHCall { to: alice.address() }.abi_encode()).await;
    send(&l1, &bob, rollup, ETH / 2, ZkRollup::depositETHCall { to: bob.address() }.abi_encode()).await;
    for (who, k) in [(&alice, &ka), (&bob, &kb)] {
        let call = ZkRollup::changeKeyCall { pubkeyHash: field_to_u256(&k.public().hash()) };
        send(&l1, who, rollup, 0, call.abi_encode()).await;
    }

    let mut op = open().await.unwrap();
    assert_eq!(op.sync().await.unwrap(), 4);
    let first = op.produce_block().await.unwrap().unwrap();
    assert_eq!((first.number, first.ops), (1, 4));
    let (a, b) = (1u32, 2u32);
    assert_eq!(op.state().account(a).unwrap().balance(0), ETH);
    assert_eq!(root(&l1, rollup).await, field_to_u256(&op.state().root()));

    // 100 transfers both ways, then a withdrawal; all acknowledged (on disk) before any block.
    let unit = 10u128.pow(15);
    for i in 0..100u32 {
        let (key, from, to) = if i % 3 == 2 { (&kb, b, a) } else { (&ka, a, b) };
        let amount = Amount32::pack(unit * (1 + i as u128 % 5)).unwrap();
        let nonce = op.next_nonce(from);
        op.submit(UnsignedTx { kind: OpKind::Transfer, from, to, token: 0, amount, nonce }.sign(7, key)).unwrap();
    }
    let nonce = op.next_nonce(b);
    let w = UnsignedTx {
        kind: OpKind::Withdraw,
        from: b,
        to: b,
        token: 0,
        amount: Amount32::pack(ETH / 10).unwrap(),
        nonce,
    };
    op.submit(w.sign(7, &kb)).unwrap();
    // Issue 23, item 6: what the sender's waiting transactions leave must cover the next one
    // (B holds 0.5 ETH; it was accepted, then dropped in silence).
    let over = UnsignedTx {
        kind: OpKind::Transfer,
        from: b,
        to: a,
        token: 0,
        amount: Amount32::pack(ETH).unwrap(),
        nonce: op.next_nonce(b),
    };
    let e = op.submit(over.sign(7, &kb)).unwrap_err();
    assert!(e.to_string().contains("is below"), "{e}");
    let drain = UnsignedTx { kind: OpKind::Withdraw, to: b, amount: Amount32::pack(ETH / 2).unwrap(), ..over };
    assert!(op.submit(drain.sign(7, &kb)).unwrap_err().to_string().contains("is below"));
    // A replayed transaction and one signed by the wrong key are refused.
    let replay = UnsignedTx { kind: OpKind::Transfer, from: a, to: b, token: 0, amount: 1, nonce: 0 };
    assert!(op.submit(replay.sign(7, &ka)).is_err());
    let forged = UnsignedTx { nonce: op.next_nonce(a), ..replay };
    assert!(op.submit(forged.sign(7, &kb)).is_err());

    // Block 2 the long way, keeping its proof.
    let settler = op.settler();
    let p2 = op.prepare().unwrap().unwrap();
    let proof2 = evm::proof_words(&settler.prove(&p2).await.unwrap()).map(U256::from_be_bytes);
    settler.commit(&p2).await.unwrap();
    settler.verify(&p2, proof2).await.unwrap();
    op.finish(p2, &Default::default()).unwrap();

    // Block 3 is committed, then L1 refuses block 2's proof (another public input) and a
    // corrupted proof; then the operator crashes before verifying it.
    let p3 = op.prepare().unwrap().unwrap();
    settler.commit(&p3).await.unwrap();
    let e = settler.verify(&p3, proof2).await.unwrap_err();
    assert!(matches!(e, OperatorError::L1(L1Error::WouldRevert { .. })), "{e}");
    let mut bad = proof2;
    bad[0] = bad[2];
    assert!(settler.verify(&p3, bad).await.is_err());
    let pending = op.pending();
    drop(op);

    let mut op = open().await.unwrap();
    assert_eq!(op.pending(), pending, "the block in flight and every acknowledged transaction survive");
    let bob_before = l1.balance(bob.address()).await.unwrap();
    let mut transfers = 0;
    let mut blocks = 0;
    while op.pending() > 0 {
        let r = op.produce_block().await.unwrap().unwrap();
        assert!(r.skipped.is_empty(), "{:?}", r.skipped);
        transfers += r.transfers;
        blocks += 1;
        assert_eq!(root(&l1, rollup).await, field_to_u256(&op.state().root()), "L1's root is the operator's");
    }
    assert_eq!(blocks, 12, "block 3 again, then 85 transactions in blocks of 8");
    assert_eq!(
        l1.balance(bob.address()).await.unwrap() - bob_before,
        U256::from(ETH / 10),
        "the withdrawal is paid with the proof"
    );
    let state = op.state().clone();
    let l2_total: u128 = state.accounts().values().map(|acc| acc.balance(0)).sum();
    assert_eq!(l2_total + ETH / 10, ETH + ETH / 2, "conservation");
    assert_eq!(l1.balance(rollup).await.unwrap(), U256::from(l2_total));
    let sent_ab: u128 = (0..100u128).filter(|i| i % 3 != 2).map(|i| unit * (1 + i % 5)).sum();
    let sent_ba: u128 = (0..100u128).filter(|i| i % 3 == 2).map(|i| unit * (1 + i % 5)).sum();
    assert_eq!(state.account(a).unwrap().balance(0), ETH - sent_ab + sent_ba);
    assert_eq!(transfers + 8, 100, "block 2 held the first 8 transfers");

    // Anyone rebuilds the state from L1 alone.
    let rebuilt = reconstruct(&l1, rollup, SHAPE, 7, &[]).await.unwrap();
    assert!(rebuilt.complete());
    assert_eq!(rebuilt.state, state);

    // A full exit requested on L1 pays Alice's exact balance.
    let alice_l2 = state.account(a).unwrap().balance(0);
    send(&l1, &alice, rollup, 0, ZkRollup::requestFullExitCall { token: 0 }.abi_encode()).await;
    let alice_before = l1.balance(alice.address()).await.unwrap();
    assert_eq!(op.sync().await.unwrap(), 1);
    op.produce_block().await.unwrap().unwrap();
    assert_eq!(l1.balance(alice.address()).await.unwrap() - alice_before, U256::from(alice_l2));
    assert_eq!(op.state().account(a).unwrap().balance(0), 0);

    // The operator stops. Alice deposits again; nobody serves it; its deadline passes.
    let last = op.state().clone();
    drop(op);
    send(&l1, &alice, rollup, ETH / 4, ZkRollup::depositETHCall { to: alice.address() }.abi_encode()).await;
    assert!(refused(&l1, &bob, rollup, ZkRollup::activateExodusCall {}.abi_encode()).await, "not due yet");
    advance(&l1, EXPIRY + 60).await;
    send(&l1, &bob, rollup, 0, ZkRollup::activateExodusCall {}.abi_encode()).await;
    assert!(l1.read(rollup, ZkRollup::exodusCall {}).await.unwrap());

    // Every user exits with their exact balance from the state rebuilt from L1, once.
    let rebuilt = reconstruct(&l1, rollup, SHAPE, 7, &[]).await.unwrap();
    assert!(rebuilt.complete());
    assert_eq!(rebuilt.state, last);
    for (index, who) in [(a, &alice), (b, &bob)] {
        let (proof, call) = exit_call(&rebuilt.state, index, 0).unwrap();
        assert_eq!(proof.balance, last.account(index).unwrap().balance(0));
        let before = l1.balance(who.address()).await.unwrap();
        // Anyone may send the exit; the owner is paid. Bob sends both.
        send(&l1, &bob, rollup, 0, call.abi_encode()).await;
        let after = l1.balance(who.address()).await.unwrap();
        if index == a {
            assert_eq!(after - before, U256::from(proof.balance));
        }
        assert!(refused(&l1, &bob, rollup, call.abi_encode()).await, "a second exit is refused");
    }
    let mut lie = exit_call(&rebuilt.state, b, 0).unwrap().1;
    lie.balance += U256::from(1);
    assert!(refused(&l1, &alice, rollup, lie.abi_encode()).await);
    // The deposit no block took is refunded.
    let before = l1.balance(alice.address()).await.unwrap();
    send(&l1, &bob, rollup, 0, ZkRollup::refundDepositsCall { max: 10 }.abi_encode()).await;
    assert_eq!(l1.balance(alice.address()).await.unwrap() - before, U256::from(ETH / 4));
    assert_eq!(l1.balance(rollup).await.unwrap(), U256::ZERO, "everything locked went back to its owners");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "long scenario (over a minute): scripts/test.sh and CI run it (cargo test -- --include-ignored)"]
async fn zk_rollup_end_to_end_on_the_embedded_l1() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    let dir = tempfile::tempdir().unwrap();
    let devnet = devnet(dir.path()).await;
    scenario(&devnet.url(), &devnet.signers).await;
    devnet.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "long scenario (over a minute): scripts/test.sh and CI run it (cargo test -- --include-ignored)"]
async fn zk_rollup_end_to_end_on_anvil() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let anvil = Anvil::spawn(port, 31337, 30_000_000, None).await.expect("anvil (scripts/tools.sh installs it)");
    scenario(&anvil.url, &dev_signers(10).unwrap()).await;
}
