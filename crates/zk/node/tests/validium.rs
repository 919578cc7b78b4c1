//! The validium end to end on the embedded L1 with a committee of three members (two must sign),
//! each serving JSON-RPC: blocks land with sorted member signatures and no pubdata; L1 refuses
//! forged, duplicate, unsorted and too few signatures; the state is rebuilt from L1 plus the
//! committee's data. Then the committee withholds and the operator stops: exodus mode starts,
//! but nobody can prove a balance, so every L2 balance is frozen; only the deposit no block took
//! is refunded. Once one member serves the data again, every user exits with their exact balance.

mod common;

use std::sync::Arc;

use alloy::{
    primitives::{Bytes, U256},
    signers::{SignerSync, local::PrivateKeySigner},
    sol_types::SolCall,
};
use aqueduct_contracts::zk::ZkRollup;
use aqueduct_eth::L1Client;
use aqueduct_zk_circuit::{CircuitParams, Prover};
use aqueduct_zk_node::{
    DacClient, DacMember, DataAvailability, Operator, ZkDeployParams, deploy_zk, exit_call, field_to_u256, reconstruct,
    to_sol,
};
use aqueduct_zk_protocol::{Amount32, OpKind, SecretKey, TreeShape, UnsignedTx};
use common::{advance, devnet, refused, send};

const ETH: u128 = 1_000_000_000_000_000_000;
const SHAPE: TreeShape = TreeShape { account_levels: 2, balance_levels: 1 };
const PARAMS: CircuitParams = CircuitParams { shape: SHAPE, slots: 4, onchain_slots: 4, domain: 9 };
const EXPIRY: u64 = 600;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validium_committee_and_data_withholding() {
    let dir = tempfile::tempdir().unwrap();
    let devnet = devnet(dir.path()).await;
    let l1 = L1Client::new(&devnet.url()).unwrap();
    let s = devnet.signers.clone();
    let (operator_key, alice, bob, outsider) = (s[0].clone(), s[1].clone(), s[2].clone(), s[9].clone());
    let member_keys = [s[5].clone(), s[6].clone(), s[7].clone()];

    let prover = Arc::new(Prover::setup(PARAMS).unwrap());
    let dep = deploy_zk(
        &l1,
        &operator_key,
        prover.vk(),
        &ZkDeployParams {
            circuit: PARAMS,
            operator: operator_key.address(),
            priority_expiry: EXPIRY,
            committee: member_keys.iter().map(|k| k.address()).collect(),
            threshold: 2,
        },
    )
    .await
    .unwrap();
    let rollup = dep.rollup;
    let chain_id = l1.chain_id().await.unwrap();
    let mut members = Vec::new();
    let mut clients = Vec::new();
    for (i, k) in member_keys.iter().enumerate() {
        let m =
            Arc::new(DacMember::open(k.clone(), chain_id, rollup, &dir.path().join(format!("dac{i}.redb"))).unwrap());
        let (addr, handle) = m.clone().serve("127.0.0.1:0".parse().unwrap()).await.unwrap();
        clients.push(DacClient::new(format!("http://{addr}")));
        members.push((m, handle));
    }
    let da = DataAvailability::Validium { committee: clients.clone(), threshold: 2 };
    let mut op =
        Operator::open(l1.clone(), operator_key.clone(), rollup, prover.clone(), da, &dir.path().join("zk.redb"))
            .await
            .unwrap();

    let (ka, kb) = (SecretKey::from_seed([0x1a; 32]), SecretKey::from_seed([0x1b; 32]));
    send(&l1, &alice, rollup, ETH, ZkRollup::depositETHCall { to: alice.address() }.abi_encode()).await;
    send(&l1, &bob, rollup, ETH, ZkRollup::depositETHCall { to: bob.address() }.abi_encode()).await;
    for (who, k) in [(&alice, &ka), (&bob, &kb)] {
        let call = ZkRollup::changeKeyCall { pubkeyHash: field_to_u256(&k.public().hash()) };
        send(&l1, who, rollup, 0, call.abi_encode()).await;
    }
    op.sync().await.unwrap();
    let r = op.produce_block().await.unwrap().unwrap();
    assert_eq!(r.ops, 4);
    let known_to_alice = op.state().clone();
    for m in &members {
        assert_eq!(m.0.stored().unwrap(), 1, "every member keeps the data");
    }

    // Transfers; block 3 is checked by hand against L1's signature rules before it settles.
    for i in 0..8u32 {
        let (key, from, to) = if i % 2 == 0 { (&ka, 1, 2) } else { (&kb, 2, 1) };
        let amount = Amount32::pack(ETH / 100 * (1 + i as u128)).unwrap();
        let nonce = op.next_nonce(from);
        op.submit(UnsignedTx { kind: OpKind::Transfer, from, to, token: 0, amount, nonce }.sign(9, key)).unwrap();
    }
    op.produce_block().await.unwrap().unwrap();
    let p = op.prepare().unwrap().unwrap();
    let w = &p.witness;
    let data_hash = w.commitment().data_hash;
    let digest =
        l1.read(rollup, ZkRollup::dacDigestCall { number: U256::from(p.number), dataHash: data_hash }).await.unwrap();
    let mut by_addr: Vec<&PrivateKeySigner> = member_keys.iter().collect();
    by_addr.sort_by_key(|k| k.address());
    let sig = |k: &PrivateKeySigner| Bytes::from(k.sign_hash_sync(&digest).unwrap().as_bytes().to_vec());
    let commit = |sigs: Vec<Bytes>| {
        ZkRollup::commitBlockValidiumCall {
            newRoot: field_to_u256(&w.new_root),
            dataHash: data_hash,
            ops: w.onchain.iter().map(to_sol).collect(),
            signatures: sigs,
        }
        .abi_encode()
    };
    let (m0, m1, m2) = (sig(by_addr[0]), sig(by_addr[1]), sig(by_addr[2]));
    let mut forged_outsider = vec![m0.clone(), sig(&outsider)];
    forged_outsider.sort();
    let mut tampered = m1.to_vec();
    tampered[5] ^= 1;
    for (what, sigs) in [
        ("an outsider's signature", forged_outsider),
        ("a tampered signature", vec![m0.clone(), Bytes::from(tampered)]),
        ("a duplicate", vec![m0.clone(), m0.clone()]),
        ("unsorted", vec![m1.clone(), m0.clone()]),
        ("too few", vec![m2.clone()]),
        ("none", vec![]),
    ] {
        assert!(refused(&l1, &operator_key, rollup, commit(sigs)).await, "L1 accepts {what}");
    }
    assert!(!refused(&l1, &operator_key, rollup, commit(vec![m0, m2])).await, "two sorted member signatures do");
    let other =
        ZkRollup::commitBlockCall { newRoot: field_to_u256(&w.new_root), pubdata: Default::default(), ops: vec![] };
    assert!(refused(&l1, &operator_key, rollup, other.abi_encode()).await, "no rollup-mode commits");
    op.produce_block().await.unwrap().unwrap();
    assert_eq!(op.blocks(), 3);

    // L1 alone has no pubdata; with the committee's data anyone rebuilds the state.
    let rebuilt = reconstruct(&l1, rollup, SHAPE, 9, &clients).await.unwrap();
    assert!(rebuilt.complete());
    assert_eq!(&rebuilt.state, op.state());
    let final_state = op.state().clone();

    // The committee withholds, the operator stops; a deposit waits past its deadline.
    for m in &members {
        m.0.set_withholding(true);
    }
    drop(op);
    send(&l1, &alice, rollup, ETH / 4, ZkRollup::depositETHCall { to: alice.address() }.abi_encode()).await;
    advance(&l1, EXPIRY + 60).await;
    send(&l1, &bob, rollup, 0, ZkRollup::activateExodusCall {}.abi_encode()).await;

    // What users cannot recover: the data of the very first block is missing, so no balance in
    // the verified state can be proven; Alice's own knowledge (the state after block 1) is stale.
    let partial = reconstruct(&l1, rollup, SHAPE, 9, &clients).await.unwrap();
    assert_eq!(partial.withheld, Some(1));
    assert!(!partial.complete());
    assert!(exit_call(&partial.state, 1, 0).is_none(), "no account is known at all");
    let (_, stale) = exit_call(&known_to_alice, 1, 0).unwrap();
    assert!(refused(&l1, &alice, rollup, stale.abi_encode()).await, "a proof against an old root is refused");
    // What they can: the deposit no block took.
    let before = l1.balance(alice.address()).await.unwrap();
    send(&l1, &bob, rollup, 0, ZkRollup::refundDepositsCall { max: 10 }.abi_encode()).await;
    assert_eq!(l1.balance(alice.address()).await.unwrap() - before, U256::from(ETH / 4));
    assert_eq!(l1.balance(rollup).await.unwrap(), U256::from(2 * ETH), "the L2 balances stay locked");

    // One member serves the data again: the escape hatch gives every balance back, exactly.
    members[2].0.set_withholding(false);
    let rebuilt = reconstruct(&l1, rollup, SHAPE, 9, &clients).await.unwrap();
    assert!(rebuilt.complete());
    assert_eq!(rebuilt.state, final_state);
    for (index, who) in [(1u32, &alice), (2u32, &bob)] {
        let (proof, call) = exit_call(&rebuilt.state, index, 0).unwrap();
        let before = l1.balance(who.address()).await.unwrap();
        send(&l1, &outsider, rollup, 0, call.abi_encode()).await;
        assert_eq!(l1.balance(who.address()).await.unwrap() - before, U256::from(proof.balance));
        assert!(refused(&l1, &outsider, rollup, call.abi_encode()).await, "once");
    }
    assert_eq!(l1.balance(rollup).await.unwrap(), U256::ZERO);
    for (_, h) in members {
        let _ = h.stop();
    }
    devnet.stop().await;
}
