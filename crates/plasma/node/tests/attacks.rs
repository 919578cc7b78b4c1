//! The operator cheats, the users' watchers leave, on the embedded L1:
//! - the operator includes a theft (a spend of a user's output, signed by the operator): every
//!   watcher raises the alarm and exits its user's outputs of the last good state; the
//!   operator's exit of the stolen output is challenged as an invalid spend; every honest user is
//!   paid in full and the theft nothing;
//! - the operator withholds a block holding a user's payment: the sender's watcher starts an
//!   in-flight exit and piggybacks its input and change, the recipient's watcher piggybacks its
//!   output, the other users exit by standard exits; the payment is canonical, so its outputs are
//!   paid and its input is not: every coin is paid exactly once.

use std::time::Duration;

use alloy::{
    network::TransactionBuilder,
    primitives::{Address, U256},
    providers::Provider,
    rpc::types::TransactionRequest,
    signers::local::PrivateKeySigner,
};
use aqueduct_eth::L1Client;
use aqueduct_plasma_node::{
    Operator, OperatorConfig, PlasmaApiClient, PlasmaL1, PlasmaParams, PlasmaService, WatchReport, Watcher,
    WatcherConfig, deploy_plasma, plasma_client, serve_operator,
};
use aqueduct_plasma_protocol::{ExitPlan, Output, Payment, Position};
use aqueduct_primitives::Signer;
use aqueduct_service::{CancellationToken, Halt};
use aqueduct_testkit::{embedded_l1, eventually};
use std::sync::Arc;
use tokio::sync::Mutex;

const ETH: u64 = 1_000_000_000_000_000_000;
const PERIOD: u64 = 600;

async fn advance(l1: &L1Client, secs: u64) {
    let head = l1.header(l1.head().await.unwrap()).await.unwrap().timestamp;
    let _: serde_json::Value =
        l1.provider().raw_request("evm_setNextBlockTimestamp".into(), (head + secs,)).await.unwrap();
    let _: serde_json::Value = l1.provider().raw_request("evm_mine".into(), ()).await.unwrap();
}

struct User {
    key: PrivateKeySigner,
    signer: Signer,
    deposit: Position,
    report: Arc<Mutex<WatchReport>>,
    state: Arc<Mutex<aqueduct_plasma_protocol::WatchState>>,
}

struct World {
    _dir: tempfile::TempDir,
    l1: L1Client,
    contract: Address,
    operator_key: PrivateKeySigner,
    svc: PlasmaService,
    users: Vec<User>,
    cancel: CancellationToken,
}

/// L1, the contract, the operator, and three users who each deposit 1 ETH and run a watcher.
async fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let devnet = embedded_l1(dir.path(), false).await;
    let l1 = L1Client::new(&devnet.url()).unwrap();
    std::mem::forget(devnet); // lives as long as the test process
    let signers = aqueduct_l1::dev_signers(2).unwrap();
    let operator_key = signers[1].clone();
    let contract =
        deploy_plasma(&l1, &signers[0], &PlasmaParams::devnet(operator_key.address(), PERIOD)).await.unwrap();
    let op = Operator::open(
        l1.clone(),
        operator_key.clone(),
        contract,
        OperatorConfig::default(),
        &dir.path().join("op.redb"),
    )
    .await
    .unwrap();
    let svc = serve_operator(op, "127.0.0.1:0".parse().unwrap(), Duration::from_millis(300), Duration::from_millis(50))
        .await
        .unwrap();
    let url = format!("http://{}", svc.rpc_addr);
    let cancel = CancellationToken::new();
    let mut users = Vec::new();
    for i in 0..3u8 {
        let b = alloy::primitives::keccak256([i, 0x77]);
        let key = PrivateKeySigner::from_bytes(&b).unwrap();
        l1.transact(&signers[0], TransactionRequest::default().with_to(key.address()).with_value(U256::from(2 * ETH)))
            .await
            .unwrap();
        let p = PlasmaL1::new(l1.clone(), contract, key.clone());
        let (block, _) = p.deposit(Address::ZERO, U256::from(ETH)).await.unwrap();
        let config = WatcherConfig { grace: Duration::from_secs(2), ..Default::default() };
        let w = Watcher::new(p, plasma_client(&url).unwrap(), config).await.unwrap();
        let (report, state) = (w.report(), w.state());
        tokio::spawn(aqueduct_service::run(w, Duration::from_millis(200), cancel.clone(), Halt::new()));
        users.push(User {
            key,
            signer: Signer::from_bytes(&b).unwrap(),
            deposit: Position::new(block, 0, 0).unwrap(),
            report,
            state,
        });
    }
    let rpc = plasma_client(&url).unwrap();
    eventually("the operator sees the deposits", 30, || {
        let rpc = rpc.clone();
        async move { rpc.status().await.unwrap().deposits == 3 }
    })
    .await;
    World { _dir: dir, l1, contract, operator_key, svc, users, cancel }
}

impl World {
    fn rpc(&self) -> jsonrpsee::http_client::HttpClient {
        plasma_client(&format!("http://{}", self.svc.rpc_addr)).unwrap()
    }

    /// User `from` pays `amount` of its deposit to user `to`, change back.
    async fn pay(&self, from: usize, to: usize, amount: u64) -> aqueduct_plasma_protocol::SignedTx {
        let domain = self.svc.operator.lock().await.domain();
        let u = &self.users[from];
        let tx = Payment {
            inputs: vec![u.deposit],
            outputs: vec![
                Output { owner: self.users[to].key.address(), token: Address::ZERO, amount: U256::from(amount) },
                Output { owner: u.key.address(), token: Address::ZERO, amount: U256::from(ETH - amount) },
            ],
        }
        .sign(&domain, &[&u.signer]);
        self.rpc().send_transaction(tx.tx.encode(), tx.sig_bytes()).await.unwrap();
        tx
    }

    async fn paid_out(&self) -> U256 {
        PlasmaL1::new(self.l1.clone(), self.contract, self.operator_key.clone()).paid_out(Address::ZERO).await.unwrap()
    }

    /// Moves L1 past every exit period and waits for the watchers to process every exit.
    async fn settle(&self, expect_paid: U256) {
        advance(&self.l1, 3 * PERIOD).await;
        let (l1, contract, key) = (self.l1.clone(), self.contract, self.operator_key.clone());
        eventually("every due exit processed", 120, || {
            let p = PlasmaL1::new(l1.clone(), contract, key.clone());
            async move { p.next_exit(Address::ZERO).await.unwrap().is_none() }
        })
        .await;
        assert_eq!(self.paid_out().await, expect_paid);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_theft_is_answered_by_every_watcher_and_no_honest_user_loses() {
    let w = world().await;
    let paid = w.pay(0, 1, ETH / 4).await;
    let rpc = w.rpc();
    let hash = paid.tx.hash();
    eventually("the honest payment's block", 30, || {
        let rpc = rpc.clone();
        async move { rpc.get_transaction(hash).await.unwrap().is_some() }
    })
    .await;
    // The operator includes a theft of the largest output (user 2's untouched deposit or user
    // 0's change) and then exits what it stole.
    w.svc.operator.lock().await.config_mut().steal = true;
    let op_addr = w.operator_key.address();
    let stolen = {
        let mut found = None;
        for _ in 0..100 {
            let utxos = rpc.get_utxos(op_addr).await.unwrap();
            if let Some(u) = utxos.first() {
                found = Some(*u);
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        found.expect("the theft is in a block")
    };
    for u in &w.users {
        let r = u.report.clone();
        eventually("the watcher's alarm", 30, || {
            let r = r.clone();
            async move { r.lock().await.alarm.is_some() }
        })
        .await;
    }
    let creating = w.svc.operator.lock().await.inclusion(stolen.position).unwrap().unwrap();
    let thief = PlasmaL1::new(w.l1.clone(), w.contract, w.operator_key.clone());
    let bond = thief.params().await.unwrap().standard_exit_bond;
    let (theft_exit, _) = thief.start_exit(&ExitPlan { utxo: stolen, creating }, bond).await.unwrap();
    let reports = w.users.iter().map(|u| u.report.clone()).collect::<Vec<_>>();
    eventually("the theft's exit challenged", 30, || {
        let reports = reports.clone();
        async move {
            for r in &reports {
                if r.lock().await.challenges.contains(&theft_exit) {
                    return true;
                }
            }
            false
        }
    })
    .await;
    assert_eq!(thief.exit_status(theft_exit).await.unwrap(), 2, "challenged");
    // Every honest user exits all it had in the last good state: 3 ETH in all.
    for u in &w.users {
        let n = u.report.lock().await.exits_started.len();
        let holds = u.state.lock().await.ledger().owned_by(u.key.address()).count();
        assert_eq!(n, holds, "every output exited");
    }
    w.settle(U256::from(3 * ETH)).await;
    w.cancel.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_withheld_block_is_left_by_in_flight_exits_and_each_coin_is_paid_once() {
    let w = world().await;
    w.svc.operator.lock().await.config_mut().withhold_from = Some(1000);
    let tx = w.pay(0, 1, ETH / 4).await;
    w.users[0].state.lock().await.track(tx.clone());
    let rpc = w.rpc();
    let hash = tx.tx.hash();
    eventually("the payment in a (withheld) block", 30, || {
        let rpc = rpc.clone();
        async move { rpc.get_transaction(hash).await.unwrap().is_some() }
    })
    .await;
    for u in &w.users {
        let r = u.report.clone();
        eventually("the watcher's alarm", 30, || {
            let r = r.clone();
            async move { matches!(r.lock().await.alarm, Some(aqueduct_plasma_protocol::Alarm::Withheld { .. })) }
        })
        .await;
    }
    let (sender, recipient) = (w.users[0].report.clone(), w.users[1].report.clone());
    eventually("the in-flight exit and its piggybacks", 60, || {
        let (s, r) = (sender.clone(), recipient.clone());
        async move {
            let s = s.lock().await;
            // Sender: its input and its change; recipient: its output.
            s.in_flight_exits_started.len() == 1 && s.piggybacks == 2 && r.lock().await.piggybacks == 1
        }
    })
    .await;
    assert!(w.users[0].report.lock().await.exits_started.is_empty(), "the sender's deposit leaves in flight only");
    assert_eq!(w.users[1].report.lock().await.exits_started.len(), 1, "the recipient's own deposit");
    assert_eq!(w.users[2].report.lock().await.exits_started.len(), 1, "the bystander's deposit");
    // Canonical: the payment's two outputs (1 ETH) and the two other deposits; the input is not paid.
    w.settle(U256::from(3 * ETH)).await;
    w.cancel.cancel();
}
