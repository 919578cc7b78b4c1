//! The sidechain as a new user meets it, process by process: an L1 (the embedded devnet, or
//! anvil), `aqueduct sidechain deploy`, four `aqueduct sidechain validator` processes; 10 ETH and
//! an ERC-20 deposited and minted; 1,000 transfers through the validators' JSON-RPC; a contract
//! deployed with `forge create`; a withdrawal paid on L1 after its checkpoint. On the embedded
//! L1 also the faults: one validator killed (kill -9) — the chain goes on; restarted — it catches
//! up and holds the same hash at every height; two killed — no finality; one back — it resumes,
//! with no fork. Then the validator set changing through L1: a fifth validator joins (it
//! catches up as a follower, and orders blocks from the checkpoint boundary after L1 applied
//! the change), one leaves — each shown by how many validators finality then needs.

mod common;

use std::{
    path::Path,
    time::{Duration, Instant},
};

use alloy::{
    consensus::{SignableTransaction, TxEip1559, TxEnvelope},
    eips::eip2718::Encodable2718,
    network::TxSignerSync,
    primitives::{Address, TxKind, U256, hex},
    signers::local::PrivateKeySigner,
};
use common::{
    ADDR0, KEY0, Proc, Rpc, aqueduct, aqueduct_proc, forge_create_token, free_port, run, tool, try_run, until,
    wait_port,
};
use serde_json::json;

const CHAIN_ID: u64 = 909;

struct Side {
    dir: tempfile::TempDir,
    l1: String,
    rpc_base: u16,
    p2p_base: u16,
    validators: Vec<Option<Proc>>,
}

impl Side {
    fn url(&self, i: usize) -> String {
        format!("http://127.0.0.1:{}", self.rpc_base + i as u16)
    }

    fn cli(&self, rest: &[&str]) -> (bool, String, String) {
        let data = self.dir.path().display().to_string();
        let rpc = self.url(0);
        let mut a = vec!["sidechain", "--l1-rpc", &self.l1, "--rpc", &rpc, "--data-dir", &data, "--key", KEY0];
        a.extend_from_slice(rest);
        try_run(&aqueduct(), &a, Path::new("."))
    }

    fn ok(&self, rest: &[&str]) -> String {
        let (ok, out, err) = self.cli(rest);
        assert!(ok, "aqueduct sidechain {rest:?} failed:\n{out}\n{err}");
        out
    }

    fn start(&mut self, i: usize) {
        self.start_with(i, &[]);
    }

    fn start_with(&mut self, i: usize, extra: &[&str]) {
        let data = self.dir.path().display().to_string();
        let log = self.dir.path().join(format!("validator-{i}.log"));
        let index = i.to_string();
        let mut a = vec!["sidechain", "--l1-rpc", &self.l1, "--data-dir", &data, "validator", "--dev-index", &index];
        a.extend_from_slice(extra);
        let p = aqueduct_proc(&a, &log);
        if self.validators.len() <= i {
            self.validators.resize_with(i + 1, || None);
        }
        self.validators[i] = Some(p);
        wait_port(self.rpc_base + i as u16, 60, "a sidechain validator");
    }

    fn status(&self, i: usize) -> serde_json::Value {
        Rpc::at(&self.url(i)).call("sidechain_status", json!([]))
    }

    fn kill(&mut self, i: usize) {
        self.validators[i].take().expect("running").kill9();
    }

    fn head(&self, i: usize) -> u64 {
        Rpc::at(&self.url(i)).head()
    }
}

impl Drop for Side {
    /// A failing test shows the end of each validator's log.
    fn drop(&mut self) {
        if std::thread::panicking() {
            for i in 0..self.validators.len() {
                let log =
                    std::fs::read_to_string(self.dir.path().join(format!("validator-{i}.log"))).unwrap_or_default();
                let tail: Vec<&str> = log.lines().rev().take(15).collect();
                eprintln!("--- validator {i}:\n{}", tail.into_iter().rev().collect::<Vec<_>>().join("\n"));
            }
        }
    }
}

fn start_sidechain(l1: &str, dir: tempfile::TempDir) -> Side {
    let (rpc_base, p2p_base) = (free_port_block(), free_port_block());
    let mut side = Side { dir, l1: l1.to_string(), rpc_base, p2p_base, validators: (0..4).map(|_| None).collect() };
    let out = side.ok(&[
        "deploy",
        "--rpc-base",
        &rpc_base.to_string(),
        "--p2p-base",
        &p2p_base.to_string(),
        "--checkpoint-interval",
        "4",
    ]);
    assert!(out.contains("validator 3"), "{out}");
    for i in 0..4 {
        side.start(i);
    }
    side
}

/// Five consecutive free ports (validators take base + i; the fifth joins later).
fn free_port_block() -> u16 {
    loop {
        let p = free_port();
        if p < 60_000 && (1..5).all(|i| std::net::TcpListener::bind(("127.0.0.1", p + i)).is_ok()) {
            return p;
        }
    }
}

fn transfer(user: &PrivateKeySigner, nonce: u64, to: Address, value: U256) -> String {
    let mut tx = TxEip1559 {
        chain_id: CHAIN_ID,
        nonce,
        gas_limit: 21_000,
        max_fee_per_gas: 50_000_000_000,
        max_priority_fee_per_gas: 1_000_000_000,
        to: TxKind::Call(to),
        value,
        ..Default::default()
    };
    let sig = user.sign_transaction_sync(&mut tx).unwrap();
    format!("0x{}", hex::encode(TxEnvelope::from(tx.into_signed(sig)).encoded_2718()))
}

/// The user flow every L1 gets: deposits, transfers, a contract, a withdrawal.
fn user_flow(side: &Side) {
    let out = side.ok(&["deposit", "--amount", "10"]);
    assert!(out.contains("minted on the sidechain"), "{out}");
    let v2 = Rpc::at(&side.url(2));
    assert_eq!(v2.balance(ADDR0), U256::from(10u64) * U256::from(10u64).pow(U256::from(18)), "10 ETH minted");

    // An ERC-20 from L1 arrives as its child token.
    let token = forge_create_token(&side.l1, KEY0, "Gold", "GLD", "1000000000000000000000");
    let out = side.ok(&["deposit", "--amount", "5", "--token", &token]);
    assert!(out.contains("minted"), "{out}");
    let bridge = "0x5100000000000000000000000000000000000001";
    let child =
        run("cast", &["call", bridge, "childOf(address)(address)", &token, "--rpc-url", &side.url(0)], Path::new("."));
    assert_ne!(child, "0x0000000000000000000000000000000000000000", "a child token was created");
    // Every validator executes the same block (the deposit command waited for validator 0).
    until("the child token on validator 3", 10, || {
        let args = ["call", &child, "balanceOf(address)(uint256)", ADDR0, "--rpc-url", &side.url(3)];
        let (_, bal, _) = try_run(&tool("cast"), &args, Path::new("."));
        bal.starts_with("5000000000000000000").then_some(())
    });

    // 1,000 transfers: four users funded on the sidechain, each sending 250 through its own
    // validator (the validators pass them on to each other).
    let user = PrivateKeySigner::from_bytes(&KEY0.parse().unwrap()).unwrap();
    let users: Vec<PrivateKeySigner> =
        (1..=4u8).map(|i| PrivateKeySigner::from_bytes(&[i; 32].into()).unwrap()).collect();
    let bob = Address::repeat_byte(0xb0);
    let n0 = Rpc::at(&side.url(0)).u64("eth_getTransactionCount", json!([ADDR0, "pending"]));
    for (k, u) in users.iter().enumerate() {
        let raw = transfer(&user, n0 + k as u64, u.address(), U256::from(10u64).pow(U256::from(18)));
        Rpc::at(&side.url(0)).call("eth_sendRawTransaction", json!([raw]));
    }
    until("the users funded on every validator", 30, || {
        users
            .iter()
            .all(|u| (0..4).all(|i| !Rpc::at(&side.url(i)).balance(&u.address().to_string()).is_zero()))
            .then_some(())
    });
    let started = Instant::now();
    for (k, u) in users.iter().enumerate() {
        let rpc = Rpc::at(&side.url(k));
        for n in 0..250u64 {
            rpc.call("eth_sendRawTransaction", json!([transfer(u, n, bob, U256::from(1_000_000_000u64))]));
        }
    }
    until("1,000 transfers executed on every validator", 120, || {
        (0..4)
            .all(|i| Rpc::at(&side.url(i)).balance(&bob.to_string()) == U256::from(1_000u64 * 1_000_000_000))
            .then_some(())
    });
    eprintln!("1,000 transfers finalized in {:.1} s", started.elapsed().as_secs_f64());

    // A contract deployed with forge, read back through another validator.
    let addr = forge_create_token(&side.url(0), KEY0, "Side", "SID", "777");
    let supply = run("cast", &["call", &addr, "totalSupply()(uint256)", "--rpc-url", &side.url(3)], Path::new("."));
    assert_eq!(supply, "777");

    // A withdrawal paid on L1 after its checkpoint.
    let l1 = Rpc::at(&side.l1);
    let before = l1.balance(ADDR0);
    let out = side.ok(&["withdraw", "--amount", "1", "--to", "0x00000000000000000000000000000000000000a1"]);
    assert!(out.contains("paid 1 to"), "{out}");
    assert_eq!(l1.balance("0x00000000000000000000000000000000000000a1"), U256::from(10u64).pow(U256::from(18)));
    assert!(l1.balance(ADDR0) < before, "the user paid only gas on L1");
    let status = side.ok(&["status"]);
    assert!(status.contains("\"evidence\": 0"), "{status}");
    assert!(status.contains("holds 9 ETH locked"), "{status}");
}

/// Every validator holds the same block hash at every height up to the lowest head.
fn same_chain(side: &Side, which: &[usize]) -> u64 {
    let low = which.iter().map(|i| side.head(*i)).min().unwrap();
    for n in 1..=low {
        let h: Vec<_> = which.iter().map(|i| Rpc::at(&side.url(*i)).block_hash(n)).collect();
        assert!(h.iter().all(|x| x == &h[0] && x.is_some()), "block {n} differs: {h:?}");
    }
    low
}

#[test]
#[ignore = "four validator processes and an L1, ~2 min; CI runs it (cargo test -- --include-ignored)"]
fn four_validator_processes_on_the_embedded_l1_with_faults() {
    let dir = tempfile::tempdir().unwrap();
    let l1_port = free_port();
    let data = dir.path().join("l1").display().to_string();
    let _l1 = aqueduct_proc(
        &[
            "devnet",
            "--no-rollup",
            "--no-dashboard",
            "--block-time",
            "1",
            "--port",
            &l1_port.to_string(),
            "--data-dir",
            &data,
        ],
        &dir.path().join("l1.log"),
    );
    wait_port(l1_port, 60, "the L1");
    let mut side = start_sidechain(&format!("http://127.0.0.1:{l1_port}"), dir);
    user_flow(&side);

    // One validator killed: the others (3 of 4 > 2/3) keep finalizing.
    side.kill(3);
    let h = side.head(0);
    until("finality without validator 3", 30, || (side.head(0) >= h + 5).then_some(()));
    // Back: it catches up and agrees on every block.
    side.start(3);
    let target = side.head(0) + 2;
    until("validator 3 caught up", 60, || (side.head(3) >= target).then_some(()));
    let agreed = same_chain(&side, &[0, 1, 2, 3]);
    assert!(agreed >= target, "agreed up to {agreed}");

    // Two of four killed: no 2/3, no finality.
    side.kill(2);
    side.kill(3);
    std::thread::sleep(Duration::from_secs(3));
    let halted = side.head(0);
    std::thread::sleep(Duration::from_secs(6));
    assert_eq!(side.head(0), halted, "no block finalizes with 2 of 4");
    assert_eq!(side.head(1), halted);
    // One returns: finality resumes, on the same chain.
    side.start(2);
    until("finality resumed", 60, || (side.head(0) >= halted + 3).then_some(()));
    until("validator 2 caught up", 60, || (side.head(2) >= halted + 3).then_some(()));
    same_chain(&side, &[0, 1, 2]);
    let ev = Rpc::at(&side.url(0)).call("sidechain_evidence", json!([]));
    assert_eq!(ev, json!([]), "no Byzantine evidence among honest validators");
}

#[test]
#[ignore = "four validator processes and anvil, ~1 min; CI runs it (cargo test -- --include-ignored)"]
fn four_validator_processes_on_anvil() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let _anvil =
        Proc::spawn(&tool("anvil"), &["--port", &port.to_string(), "--block-time", "1"], &dir.path().join("anvil.log"));
    wait_port(port, 30, "anvil");
    let side = start_sidechain(&format!("http://127.0.0.1:{port}"), dir);
    user_flow(&side);
    same_chain(&side, &[0, 1, 2, 3]);
}

#[test]
#[ignore = "five validator processes and anvil, ~1.5 min; CI runs it (cargo test -- --include-ignored)"]
fn validators_join_and_leave_through_l1() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let _anvil =
        Proc::spawn(&tool("anvil"), &["--port", &port.to_string(), "--block-time", "1"], &dir.path().join("anvil.log"));
    wait_port(port, 30, "anvil");
    let mut side = start_sidechain(&format!("http://127.0.0.1:{port}"), dir);
    until("blocks", 60, || (side.head(0) >= 2).then_some(()));

    // A fifth validator asks L1 to join, and starts following the chain.
    let p2p = format!("127.0.0.1:{}", side.p2p_base + 4);
    let rpc = format!("127.0.0.1:{}", side.rpc_base + 4);
    let out = side.ok(&["join", "--dev-index", "4", "--p2p", &p2p, "--addr", &rpc]);
    assert!(out.contains("asked to join"), "{out}");
    side.start_with(4, &["--p2p", &p2p, "--addr", &rpc]);
    // The next checkpoint applies it on L1; the chain ends epoch 0 at the checkpoint boundary
    // after, and the joiner is a member of epoch 1.
    until("the joiner orders blocks in epoch 1", 90, || {
        let s = side.status(4);
        (s["epoch"] == json!(1) && s["member"] == json!(true)).then_some(())
    });
    for i in 0..4 {
        until("every validator in epoch 1", 30, || (side.status(i)["epoch"] == json!(1)).then_some(()));
    }
    assert_eq!(side.status(0)["validators"], json!(5), "L1's set");
    // With five, finality needs four: one original killed, it goes on only with the joiner's votes.
    side.kill(3);
    let h = side.head(0);
    until("finality with the joiner's votes", 30, || (side.head(0) >= h + 4).then_some(()));
    let agreed = same_chain(&side, &[0, 1, 2, 4]);
    assert!(agreed >= h + 3, "the joiner holds the same chain (agreed up to {agreed})");

    // The killed validator leaves through L1. The checkpoint that applies it needs more than
    // 2/3 of five: the joiner's signature is one of the four.
    let out = side.ok(&["leave", "--dev-index", "3"]);
    assert!(out.contains("asked to leave"), "{out}");
    until("epoch 2 without validator 3", 90, || (side.status(0)["epoch"] == json!(2)).then_some(()));
    assert_eq!(side.status(0)["validators"], json!(4), "L1's set");
    // Four left: finality needs three, so it survives a second validator killed (with five it
    // would have halted at three of five).
    side.kill(2);
    let h = side.head(0);
    until("finality with three of the four", 30, || (side.head(0) >= h + 4).then_some(()));
    same_chain(&side, &[0, 1, 4]);
    let ev = Rpc::at(&side.url(0)).call("sidechain_evidence", json!([]));
    assert_eq!(ev, json!([]), "no Byzantine evidence among honest validators");
}
