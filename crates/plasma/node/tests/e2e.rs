//! The plasma chain end to end, on the embedded L1 and on anvil: 50 users deposit, make 1,000 payments through
//! the operator's JSON-RPC, the blocks' roots land on L1 and every watcher-side replay of them is
//! valid; a standard exit is paid after the exit period; an exit of a spent output is challenged
//! (its bond taken) from what a watcher knows; a second exit of the same output is refused; the
//! operator restarts from its store with every acknowledged payment.

use std::time::Duration;

use alloy::{
    network::TransactionBuilder,
    primitives::{Address, B256, U256},
    providers::Provider,
    rpc::types::TransactionRequest,
    signers::local::PrivateKeySigner,
};
use aqueduct_eth::L1Client;
use aqueduct_plasma_node::{
    Operator, OperatorConfig, PlasmaApiClient, PlasmaL1, PlasmaParams, deploy_plasma, plasma_client, serve_operator,
};
use aqueduct_plasma_protocol::{Challenge, Output, Payment, Position, SignedTx, WatchState};
use aqueduct_primitives::Signer;
use aqueduct_testkit::{embedded_l1, eventually};

const ETH: u64 = 1_000_000_000_000_000_000;
const PERIOD: u64 = 60;

/// Moves L1's clock `secs` past its head block (instant mining runs block times ahead of the
/// wall clock, one second a block, so an offset from the wall clock would not do).
async fn advance(l1: &L1Client, secs: u64) {
    let head = l1.header(l1.head().await.unwrap()).await.unwrap().timestamp;
    let _: serde_json::Value =
        l1.provider().raw_request("evm_setNextBlockTimestamp".into(), (head + secs,)).await.unwrap();
    let _: serde_json::Value = l1.provider().raw_request("evm_mine".into(), ()).await.unwrap();
}

fn key(i: u32) -> (PrivateKeySigner, Signer) {
    let b = alloy::primitives::keccak256(format!("plasma user {i}"));
    (PrivateKeySigner::from_bytes(&b).unwrap(), Signer::from_bytes(&b).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deposits_a_thousand_payments_exits_and_challenges_on_the_embedded_l1() {
    let dir = tempfile::tempdir().unwrap();
    let devnet = embedded_l1(dir.path(), false).await;
    scenario(&devnet.url(), dir.path()).await;
    devnet.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deposits_a_thousand_payments_exits_and_challenges_on_anvil() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let anvil = aqueduct_bench::Anvil::spawn(port, 31337, 30_000_000, None)
        .await
        .expect("anvil (scripts/tools.sh installs it)");
    scenario(&anvil.url, dir.path()).await;
}

async fn scenario(url: &str, dir: &std::path::Path) {
    let l1 = L1Client::new(url).unwrap();
    let signers = aqueduct_l1::dev_signers(4).unwrap();
    let (deployer, operator_key) = (&signers[0], &signers[1]);
    let params = PlasmaParams::devnet(operator_key.address(), PERIOD);
    let contract = deploy_plasma(&l1, deployer, &params).await.unwrap();
    let config = OperatorConfig { max_block_txs: 400, ..Default::default() };
    let op =
        Operator::open(l1.clone(), operator_key.clone(), contract, config.clone(), &dir.join("op.redb")).await.unwrap();
    let svc = serve_operator(op, "127.0.0.1:0".parse().unwrap(), Duration::from_millis(300), Duration::from_millis(50))
        .await
        .unwrap();
    let rpc = plasma_client(&format!("http://{}", svc.rpc_addr)).unwrap();

    // 50 users, each funded on L1 and depositing 1 ETH.
    let users: Vec<_> = (0..50).map(key).collect();
    for (k, _) in &users {
        let tx = TransactionRequest::default().with_to(k.address()).with_value(U256::from(2 * ETH));
        l1.transact(deployer, tx).await.unwrap();
    }
    let mut deposits = Vec::new();
    for (k, _) in &users {
        let p = PlasmaL1::new(l1.clone(), contract, k.clone());
        let (block, _) = p.deposit(Address::ZERO, U256::from(ETH)).await.unwrap();
        deposits.push(Position::new(block, 0, 0).unwrap());
    }
    eventually("the operator sees every deposit", 30, || {
        let rpc = rpc.clone();
        async move { rpc.status().await.unwrap().deposits == 50 }
    })
    .await;

    // 1,000 payments: in rounds, each user pays a slice of its newest output to the next user.
    let domain = svc.operator.lock().await.domain();
    let mut holding: Vec<Position> = deposits.clone();
    let mut amounts: Vec<u64> = vec![ETH; 50];
    let mut sent = 0;
    let mut refused_double = false;
    for round in 0..20 {
        let mut hashes = Vec::new();
        for i in 0..50 {
            let (_, from) = &users[i];
            let to = users[(i + 1 + round) % 50].0.address();
            let pay = 1_000_000 + round as u64;
            let tx = Payment {
                inputs: vec![holding[i]],
                outputs: vec![
                    Output { owner: to, token: Address::ZERO, amount: U256::from(pay) },
                    Output { owner: from.address(), token: Address::ZERO, amount: U256::from(amounts[i] - pay) },
                ],
            }
            .sign(&domain, &[from]);
            let a = rpc.send_transaction(tx.tx.encode(), tx.sig_bytes()).await.unwrap();
            if !refused_double {
                // The same input again before the block: refused by name.
                let again = rpc.send_transaction(tx.tx.encode(), tx.sig_bytes()).await.unwrap_err();
                assert!(again.to_string().contains("already spent by a transaction waiting"), "{again}");
                refused_double = true;
            }
            hashes.push(a.hash);
            amounts[i] -= pay;
            sent += 1;
        }
        // Wait for the round's block, then learn each change output's position.
        for (i, h) in hashes.iter().enumerate() {
            let mut pos = None;
            for _ in 0..200 {
                pos = rpc.get_transaction(*h).await.unwrap();
                if pos.is_some() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            holding[i] = Position(pos.expect("included")).with_output(1);
        }
    }
    assert_eq!(sent, 1000);
    eventually("every root on L1", 60, || {
        let rpc = rpc.clone();
        async move { rpc.status().await.unwrap().unsubmitted == 0 }
    })
    .await;

    // A watcher replays every block from L1's roots and the operator's data: all valid.
    let chain = PlasmaL1::new(l1.clone(), contract, signers[2].clone());
    let head = l1.head().await.unwrap();
    let mut w = WatchState::new(domain);
    for d in chain.deposits(0, head).await.unwrap() {
        w.on_deposit(d.block, d.owner, d.token, d.amount).unwrap();
    }
    let roots = chain.blocks(0, head).await.unwrap();
    assert!(roots.len() >= 20, "{} blocks", roots.len());
    for (n, root) in &roots {
        let b = rpc.get_block(*n).await.unwrap().unwrap();
        let txs = b.txs.iter().map(|t| SignedTx::decode(&t.tx, &t.sigs).unwrap()).collect();
        assert_eq!(w.on_block(*n, *root, Some(txs)), None, "block {n} is valid");
    }
    let total: U256 = w.ledger().totals().values().copied().sum();
    assert_eq!(total, U256::from(ETH) * U256::from(50), "no value created or lost");

    // User 0 exits its newest output: paid after the period.
    let (k0, s0) = &users[0];
    let mine = PlasmaL1::new(l1.clone(), contract, k0.clone());
    let plan = w.exits_for(s0.address()).into_iter().find(|p| p.utxo.position == holding[0]).unwrap();
    let (exit_id, _) = mine.start_exit(&plan, params.standard_exit_bond).await.unwrap();
    let again = mine.start_exit(&plan, params.standard_exit_bond).await.unwrap_err();
    assert!(again.to_string().contains("ExitExists"), "a second exit of the same output: {again}");
    // User 1 exits its spent deposit: a watcher challenges with the payment that spent it.
    let (k1, _) = &users[1];
    let cheat = PlasmaL1::new(l1.clone(), contract, k1.clone());
    let dplan = aqueduct_plasma_protocol::ExitPlan {
        utxo: aqueduct_plasma_protocol::Utxo {
            position: deposits[1],
            output: Output { owner: k1.address(), token: Address::ZERO, amount: U256::from(ETH) },
            tx_hash: B256::ZERO,
        },
        creating: w.inclusion(deposits[1].block(), 0).unwrap(),
    };
    let (bad_id, _) = cheat.start_exit(&dplan, params.standard_exit_bond).await.unwrap();
    let challenger = PlasmaL1::new(l1.clone(), contract, signers[3].clone());
    let before = l1.balance(signers[3].address()).await.unwrap();
    let c = w.challenge_for(bad_id, deposits[1]).expect("the spent deposit's exit is challengeable");
    assert!(matches!(c, Challenge::Spent { .. }));
    let s = challenger.challenge(&c).await.unwrap();
    assert_eq!(challenger.exit_status(bad_id).await.unwrap(), 2, "challenged");
    let after = l1.balance(signers[3].address()).await.unwrap();
    let fee = U256::from(s.gas) * U256::from(2_000_000_000u64);
    assert!(
        after + fee > before + params.standard_exit_bond - U256::from(10u64).pow(U256::from(16)),
        "the bond went to the challenger"
    );
    // A deposit's exit comes due first (one period from its start; a child block's output two
    // from its block): the challenged one heads the queue. After both, user 0 is paid exactly
    // its output.
    assert_eq!(mine.next_exit(Address::ZERO).await.unwrap().map(|e| e.2), Some(bad_id));
    advance(&l1, 2 * PERIOD + 1).await;
    challenger.process(Address::ZERO, 10).await.unwrap();
    assert_eq!(mine.exit_status(exit_id).await.unwrap(), 3, "processed");
    assert_eq!(chain.paid_out(Address::ZERO).await.unwrap(), U256::from(amounts[0]), "paid exactly user 0's output");

    // The operator restarts from its store with the same state.
    let status = rpc.status().await.unwrap();
    drop(rpc);
    svc.stop().await;
    // The server lets go of the store once its last connection closes.
    let mut reopened = None;
    for _ in 0..50 {
        match Operator::open(l1.clone(), operator_key.clone(), contract, config.clone(), &dir.join("op.redb")).await {
            Ok(op) => {
                reopened = Some(op);
                break;
            }
            Err(e)
                if e.to_string().contains("DatabaseAlreadyOpen")
                    || format!("{e:?}").contains("DatabaseAlreadyOpen") =>
            {
                tokio::time::sleep(Duration::from_millis(100)).await
            }
            Err(e) => panic!("reopening the operator: {e}"),
        }
    }
    let op = reopened.expect("the store reopens within 5 s");
    let st = op.status();
    assert_eq!((st.blocks, st.deposits, st.utxos, st.pending), (status.blocks, status.deposits, status.utxos, 0));
    drop(op);
}
