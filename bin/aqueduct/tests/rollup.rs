//! The optimistic rollup as a user meets it, process by process: an L1 (the embedded devnet in
//! its own process, or anvil), `aqueduct devnet --l1-rpc` running the rollup on it, a separate
//! `aqueduct node --role verifier`, the `aqueduct bridge` CLI, forge and cast on L2, and a
//! kill -9 of the sequencer under load.

mod common;

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    time::Duration,
};

use alloy::{
    primitives::{Address, B256, Bytes, TxKind, U256},
    signers::local::PrivateKeySigner,
};
use aqueduct_rollup_node::{L1Call, L1Fees, sign_1559};
use common::{
    KEY0, Proc, Rpc, aqueduct_proc, field, forge_create_token, free_port, repo, run, run_bin, tool, try_run, until,
    wait_port,
};
use serde_json::{Value, json};

const L2_CHAIN: u64 = 901;
/// Fee caps for L2 transfers: 1 gwei max fee, a small tip.
const L2_FEES: L1Fees = L1Fees { base_fee: 499_999_500, blob_base_fee: 1, tip: 1_000 };
/// Dev accounts 5 and 6 of the test mnemonic (funded on L1 and, at genesis, on L2).
const KEY5: &str = "0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba";
const KEY6: &str = "0x92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e";

enum L1Kind {
    Embedded,
    Anvil,
}

fn aqueduct() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_aqueduct"))
}

fn transfer(s: &PrivateKeySigner, nonce: u64, to: Address) -> Bytes {
    let call = L1Call { to: TxKind::Call(to), value: U256::from(1), input: Bytes::new(), gas_limit: 21_000 };
    sign_1559(s, L2_CHAIN, nonce, L2_FEES, &call)
}

struct World {
    dir: tempfile::TempDir,
    l1_url: String,
    l2_port: u16,
    ver_port: u16,
    spec: PathBuf,
    /// Rollup 902's sequencer and verifier ports (`devnet --interop`), on the embedded L1.
    interop: Option<(u16, u16)>,
    /// The L3's sequencer and verifier ports (`devnet --l3`), on the embedded L1.
    l3: Option<(u16, u16)>,
}

impl World {
    fn rollup_args(&self) -> Vec<String> {
        [
            "devnet",
            "--l1-rpc",
            &self.l1_url,
            "--data-dir",
            self.dir.path().join("rollup").to_str().unwrap(),
            "--l2-addr",
            &format!("127.0.0.1:{}", self.l2_port),
            "--verifier-addr",
            &format!("127.0.0.1:{}", free_port()),
            "--l2-block-time-ms",
            "500",
            "--challenge-window",
            "6",
            "--no-zk",
            "--no-fastbridge=false",
            "--fastbridge-liveness",
            "5",
        ]
        .map(str::to_string)
        .to_vec()
        .into_iter()
        .chain(self.l3.into_iter().flat_map(|(l3, ver)| {
            [
                "--l3".into(),
                "--l3-addr".into(),
                format!("127.0.0.1:{l3}"),
                "--l3-verifier-addr".into(),
                format!("127.0.0.1:{ver}"),
            ]
        }))
        .chain(self.interop.into_iter().flat_map(|(l2, ver)| {
            [
                "--interop".into(),
                "--interop-l2-addr".into(),
                format!("127.0.0.1:{l2}"),
                "--interop-verifier-addr".into(),
                format!("127.0.0.1:{ver}"),
            ]
        }))
        .collect()
    }

    /// `aqueduct bridge` between the L3 and the rollup it settles on.
    fn l3_bridge(&self, key: &str, cmd: &[&str]) -> (bool, String, String) {
        let (l3, ver) = self.l3.unwrap();
        let (l2, l3, ver) = (
            format!("http://127.0.0.1:{}", self.l2_port),
            format!("http://127.0.0.1:{l3}"),
            format!("http://127.0.0.1:{ver}"),
        );
        let spec = self.dir.path().join("rollup/l3/rollup.json");
        let mut args = vec![
            "bridge",
            "--l1-rpc",
            &l2,
            "--l2-rpc",
            &l3,
            "--verifier-rpc",
            &ver,
            "--rollup",
            spec.to_str().unwrap(),
            "--key",
            key,
        ];
        args.extend_from_slice(cmd);
        try_run(&aqueduct(), &args, &repo())
    }

    /// `aqueduct interop` from the rollup (901) to rollup 902.
    fn interop(&self, key: &str, cmd: &[&str]) -> (bool, String, String) {
        let (from, to) =
            (format!("http://127.0.0.1:{}", self.l2_port), format!("http://127.0.0.1:{}", self.interop.unwrap().0));
        let mut args = vec!["interop", "--from-rpc", &from, "--to-rpc", &to, "--key", key];
        args.extend_from_slice(cmd);
        try_run(&aqueduct(), &args, &repo())
    }

    fn start_rollup(&self, log: &str) -> Proc {
        let args = self.rollup_args();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let p = aqueduct_proc(&args, &self.dir.path().join(log));
        wait_port(self.l2_port, 120, "the rollup's sequencer");
        // The fast bridge deploys from account 0 after the sequencer is up: wait for all of it.
        until("the devnet to be up", 120, || self.log(log).contains("Press Ctrl-C").then_some(()));
        p
    }

    fn fastbridge(&self, key: &str, cmd: &[&str]) -> (bool, String, String) {
        let l2 = format!("http://127.0.0.1:{}", self.l2_port);
        let mut args = vec!["fastbridge", "--l1-rpc", &self.l1_url, "--l2-rpc", &l2, "--key", key];
        let data = self.dir.path().join("rollup");
        args.extend_from_slice(&["--data-dir", data.to_str().unwrap()]);
        args.extend_from_slice(cmd);
        try_run(&aqueduct(), &args, &repo())
    }

    /// The rollup's L1 portal, from its spec.
    fn spec_portal(&self) -> String {
        let spec: Value = serde_json::from_str(&std::fs::read_to_string(&self.spec).unwrap()).unwrap();
        spec["rollup"]["portal"].as_str().unwrap().to_string()
    }

    fn bridge(&self, key: &str, cmd: &[&str]) -> (bool, String, String) {
        let l2 = format!("http://127.0.0.1:{}", self.l2_port);
        let ver = format!("http://127.0.0.1:{}", self.ver_port);
        let mut args = vec![
            "bridge",
            "--l1-rpc",
            &self.l1_url,
            "--l2-rpc",
            &l2,
            "--verifier-rpc",
            &ver,
            "--rollup",
            self.spec.to_str().unwrap(),
            "--key",
            key,
        ];
        args.extend_from_slice(cmd);
        try_run(&aqueduct(), &args, &repo())
    }

    fn route(&self, key: &str, cmd: &[&str]) -> (bool, String, String) {
        let (l2, ver) = (format!("http://127.0.0.1:{}", self.l2_port), format!("http://127.0.0.1:{}", self.ver_port));
        let data = self.dir.path().join("rollup");
        let mut args = vec!["route", "--l1-rpc", &self.l1_url, "--l2-rpc", &l2, "--verifier-rpc", &ver, "--key", key];
        args.extend_from_slice(&["--data-dir", data.to_str().unwrap()]);
        let l3 = self.l3.map(|(l3, ver)| (format!("http://127.0.0.1:{l3}"), format!("http://127.0.0.1:{ver}")));
        if let Some((l3, ver)) = &l3 {
            args.extend_from_slice(&["--l3-rpc", l3, "--l3-verifier-rpc", ver]);
        }
        args.extend_from_slice(cmd);
        try_run(&aqueduct(), &args, &repo())
    }

    fn log(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(name)).unwrap_or_default()
    }
}

fn journey(kind: L1Kind) {
    let mut dir = tempfile::tempdir().unwrap();
    // AQUEDUCT_TEST_KEEP=1 keeps the logs and data for a look afterwards.
    if std::env::var_os("AQUEDUCT_TEST_KEEP").is_some() {
        eprintln!("keeping {}", dir.path().display());
        dir.disable_cleanup(true);
    }
    let l1_port = free_port();
    let _l1 = match kind {
        L1Kind::Embedded => aqueduct_proc(
            &[
                "devnet",
                "--no-rollup",
                "--block-time",
                "1",
                "--port",
                &l1_port.to_string(),
                "--data-dir",
                dir.path().join("l1").to_str().unwrap(),
            ],
            &dir.path().join("l1.log"),
        ),
        L1Kind::Anvil => Proc::spawn(
            &tool("anvil"),
            &["--port", &l1_port.to_string(), "--block-time", "1", "--silent"],
            &dir.path().join("l1.log"),
        ),
    };
    wait_port(l1_port, 60, "L1");
    let spec = dir.path().join("rollup/rollup/rollup.json");
    // The second rollup and its messages run on the embedded L1 only (they add a minute to a
    // journey; anvil is covered by the rest).
    let interop = matches!(kind, L1Kind::Embedded).then(|| (free_port(), free_port()));
    let l3 = matches!(kind, L1Kind::Embedded).then(|| (free_port(), free_port()));
    let w = World {
        l1_url: format!("http://127.0.0.1:{l1_port}"),
        l2_port: free_port(),
        ver_port: free_port(),
        spec,
        dir,
        interop,
        l3,
    };
    let rollup = w.start_rollup("rollup.log");
    assert!(w.spec.exists(), "the rollup wrote its spec:\n{}", w.log("rollup.log"));

    // A verifier of its own, from the spec and the L1 URL alone.
    let _verifier = aqueduct_proc(
        &[
            "node",
            "--role",
            "verifier",
            "--l1-rpc",
            &w.l1_url,
            "--rollup",
            w.spec.to_str().unwrap(),
            "--data-dir",
            w.dir.path().join("verifier").to_str().unwrap(),
            "--rpc-addr",
            &format!("127.0.0.1:{}", w.ver_port),
        ],
        &w.dir.path().join("verifier.log"),
    );
    wait_port(w.ver_port, 60, "the verifier node");
    let l2 = Rpc::new(w.l2_port);
    let ver = Rpc::new(w.ver_port);
    let l1 = Rpc::new(l1_port);
    assert_eq!(l2.u64("eth_chainId", json!([])), L2_CHAIN);

    // Deposit 10 ETH to a fresh address with the bridge CLI: credited on L2, seen by the verifier.
    let beef = "0x000000000000000000000000000000000000bEEF";
    let (ok, out, err) = w.bridge(KEY5, &["deposit", "--amount", "10", "--to", beef]);
    assert!(ok, "deposit failed: {out}\n{err}");
    let ten = U256::from(10u128 * 10u128.pow(18));
    until("the deposit on L2", 60, || (l2.balance(beef) == ten).then_some(()));
    until("the deposit on the verifier", 90, || (ver.balance(beef) == ten).then_some(()));

    // The fast bridge: 1 ETH from the rollup to L1 through the devnet's relayer, paid in seconds
    // (the canonical withdrawal below waits out the challenge window).
    let (ok, out, err) = w.fastbridge(KEY5, &["deposit", "--amount", "1", "--to", beef]);
    assert!(ok && out.contains("paid") && out.contains("on L1"), "fast deposit: {out}\n{err}");
    assert!(out.contains("destination gas") && out.contains("capital"), "the quote term by term: {out}");
    let fee = U256::from(10u128.pow(18)) - l1.balance(beef);
    assert!(fee > U256::ZERO && fee < U256::from(10u128.pow(16)), "paid on L1 less a fee under 1 %: {fee}");

    // The router lists both ways out of the rollup with fee, time and trust, and follows each
    // route kind to the end: in through the portal, out through the relayer (fastest), out
    // through the canonical bridge (safest: one honest challenger, no relayer, no watcher).
    let (ok, out, err) = w.route(KEY5, &["--from", "rollup", "--to", "l1", "--amount", "1"]);
    assert!(ok && out.contains("fast bridge (relayer)") && out.contains("canonical withdrawal"), "{out}\n{err}");
    assert!(out.contains("trust:") && out.contains("challenge window"), "{out}");
    let (ok, out, err) = w.route(KEY5, &["--from", "l1", "--to", "rollup", "--amount", "2", "--execute"]);
    assert!(ok && out.contains("by the canonical deposit"), "{out}\n{err}");
    let cafe = "0x000000000000000000000000000000000000cafe";
    let fast = ["--from", "rollup", "--to", "l1", "--amount", "0.5", "--prefer", "fastest", "--recipient", cafe];
    let (ok, out, err) = w.route(KEY5, &[&fast[..], &["--execute"]].concat());
    assert!(ok && out.contains("by the fast bridge"), "{out}\n{err}");
    assert!(l1.balance(cafe) > U256::from(49u128 * 10u128.pow(16)), "the fast route paid on L1");
    let safe = ["--from", "rollup", "--to", "l1", "--amount", "0.3", "--prefer", "safest", "--recipient", cafe];
    let before = l1.balance(cafe);
    let (ok, out, err) = w.route(KEY5, &[&safe[..], &["--execute"]].concat());
    assert!(ok && out.contains("by the canonical withdrawal"), "{out}\n{err}");
    assert_eq!(l1.balance(cafe), before + U256::from(3u128 * 10u128.pow(17)), "the canonical route paid in full");

    // A message from rollup 901 to rollup 902 (`devnet --interop`): sent, relayed once its source
    // is safe on 902, and a second relay finds it already ran.
    let mut message_tx = None;
    if w.interop.is_some() {
        let (ok, out, err) = w.interop(KEY5, &["send", "--target", beef, "--data", "0x1234"]);
        assert!(ok && out.contains("sent on rollup 901") && out.contains("relayed on rollup 902"), "{out}\n{err}");
        let tx =
            out.split(|c: char| c.is_whitespace() || c == ')').find(|t| t.starts_with("0x") && t.len() == 66).unwrap();
        message_tx = Some(tx.to_string());
        let (ok, out, err) = w.interop(KEY5, &["relay", "--tx", tx]);
        assert!(ok && out.contains("already ran on rollup 902"), "{out}\n{err}");
    }

    // The L3 (`devnet --l3`) settles on the rollup: 1 ETH leaves it for the rollup (proven and
    // finalized after the kill -9 below), then goes on to L1 with the rollup's own withdrawal.
    let mut l3_withdrawal = None;
    if w.l3.is_some() {
        let (ok, out, err) = w.l3_bridge(KEY5, &["withdraw", "--amount", "1"]);
        assert!(ok, "L3 withdrawal failed: {out}\n{err}");
        l3_withdrawal =
            Some(out.split_whitespace().find(|t| t.starts_with("0x") && t.len() == 66).unwrap().to_string());
        // The router knows the L3: out of it to L1 through the rollup (canonical both ways, or
        // the fast bridge for the second leg), and into it from L1 in two deposits, followed.
        let (ok, out, err) = w.route(KEY5, &["--from", "l3", "--to", "l1", "--amount", "0.5"]);
        assert!(ok && out.contains("canonical withdrawal from L3") && out.contains("then fast bridge"), "{out}\n{err}");
        let (ok, out, err) = w.route(KEY5, &["--from", "l1", "--to", "l3", "--amount", "0.2", "--execute"]);
        assert!(
            ok && out.contains("by the canonical deposit (rollup's portal), then canonical deposit (L3's portal)"),
            "{out}\n{err}"
        );
    }

    // forge create on L2, then cast send and cast call.
    let l2_url = format!("http://127.0.0.1:{}", w.l2_port);
    let r = ["--rpc-url", l2_url.as_str()];
    let token = forge_create_token(&l2_url, KEY0, "Aqueduct Token", "AQT", "1000000");
    let cwd = repo();
    assert_eq!(run("cast", &["call", &token, "symbol()(string)", r[0], r[1]], &cwd), "\"AQT\"");
    let sent = run(
        "cast",
        &["send", "--private-key", KEY0, &token, "transfer(address,uint256)", beef, "250", r[0], r[1]],
        &cwd,
    );
    assert_eq!(field(&sent, "status"), "1 (success)");
    assert_eq!(run("cast", &["call", &token, "balanceOf(address)(uint256)", beef, r[0], r[1]], &cwd), "250");
    let receipt = run("cast", &["receipt", field(&sent, "transactionHash"), "--json", r[0], r[1]], &cwd);
    let receipt: Value = serde_json::from_str(&receipt).unwrap();
    assert!(receipt["l1Fee"].as_str().is_some_and(|f| f != "0x0"), "receipts carry the L1 data fee: {receipt}");

    // An ERC-20 on L1 (forge create there), deposited with the bridge CLI: its twin is minted on L2.
    let l1r = ["--rpc-url", w.l1_url.as_str()];
    let l1_token = forge_create_token(&w.l1_url, KEY5, "L1 Token", "L1T", "1000000000000000000000");
    let (ok, out, err) = w.bridge(KEY5, &["deposit", "--amount", "100", "--token", &l1_token]);
    assert!(ok, "ERC-20 deposit failed: {out}\n{err}");
    // Issue 16, item 14: a --token that is not an ERC-20 is named as such ("ABI decoding failed:
    // buffer overrun" before), an account and a contract alike.
    let portal = w.spec_portal();
    for (not_token, why) in [(beef.to_string(), "is not a contract on L1"), (portal, "it is not an ERC-20")] {
        let (ok, _, err) = w.bridge(KEY5, &["deposit", "--amount", "1", "--token", &not_token]);
        assert!(!ok && err.contains(why) && err.trim().lines().count() == 1, "{not_token}: {err}");
    }
    let bridge = "0x4200000000000000000000000000000000000010";
    let twin = until("the ERC-20 twin on L2", 60, || {
        let t = run("cast", &["call", bridge, "l2TokenOf(address)(address)", &l1_token, r[0], r[1]], &cwd);
        (t != "0x0000000000000000000000000000000000000000").then_some(t)
    });
    let addr5 = "0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc";
    let balance_of = |token: &str, who: &str, rpc: &[&str; 2]| {
        run("cast", &["call", token, "balanceOf(address)(uint256)", who, rpc[0], rpc[1]], &cwd)
    };
    assert_eq!(balance_of(&twin, addr5, &r), "100000000000000000000 [1e20]");

    // Load, then kill -9 of the sequencer: every transaction that had a receipt is still there.
    let sender: PrivateKeySigner = KEY6.parse().unwrap();
    let to = Address::repeat_byte(0x77);
    let mut acked: HashMap<B256, String> = HashMap::new();
    let mut sent_hashes = Vec::new();
    let mut nonce = 0u64;
    let mut rollup = Some(rollup);
    for _round in 0..200 {
        let calls: Vec<(&str, Value)> =
            (0..20).map(|i| ("eth_sendRawTransaction", json!([transfer(&sender, nonce + i, to)]))).collect();
        if let Ok(hashes) = l2.batch(&calls) {
            for h in hashes.iter().filter_map(|h| h.as_str()) {
                sent_hashes.push(h.parse::<B256>().unwrap());
            }
        }
        nonce += 20;
        // At most 500 calls per batch (the server takes up to 1,000).
        let pending: Vec<B256> = sent_hashes.iter().filter(|h| !acked.contains_key(*h)).take(500).copied().collect();
        let calls: Vec<(&str, Value)> = pending.iter().map(|h| ("eth_getTransactionReceipt", json!([h]))).collect();
        if let Ok(rs) = l2.batch(&calls) {
            for (h, r) in pending.iter().zip(rs) {
                if let Some(bh) = r["blockHash"].as_str() {
                    acked.insert(*h, bh.to_string());
                }
            }
        }
        if acked.len() >= 200 {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    if acked.len() < 200 {
        let log = w.log("rollup.log");
        let tail: Vec<&str> = log.lines().rev().take(40).collect();
        panic!(
            "only {} of {} transfers got receipts (L2 head {}); rollup log:\n{}",
            acked.len(),
            sent_hashes.len(),
            l2.head(),
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        );
    }
    // Keep sending while the kill lands.
    let calls: Vec<(&str, Value)> =
        (0..20).map(|i| ("eth_sendRawTransaction", json!([transfer(&sender, nonce + i, to)]))).collect();
    let _ = l2.batch(&calls);
    rollup.take().unwrap().kill9();
    let _rollup = w.start_rollup("rollup2.log");
    let calls: Vec<(&str, Value)> = acked.keys().map(|h| ("eth_getTransactionReceipt", json!([h]))).collect();
    let after = l2.batch(&calls).unwrap_or_else(|e| panic!("{e}; restarted rollup log:\n{}", w.log("rollup2.log")));
    for ((h, bh), r) in acked.iter().zip(&after) {
        assert_eq!(
            r["blockHash"].as_str(),
            Some(bh.as_str()),
            "receipted transaction {h} lost or moved by the restart"
        );
    }
    // The chain goes on, and the separate verifier reaches the sequencer's blocks, hash for hash.
    let head = l2.head();
    until("the restarted sequencer to make blocks", 30, || (l2.head() > head + 2).then_some(()));
    let target = l2.head();
    until("the verifier to derive the sequencer's blocks", 120, || (ver.head() >= target).then_some(()));
    for n in [1, target / 2, target] {
        assert_eq!(ver.block_hash(n), l2.block_hash(n), "verifier and sequencer differ at L2 block {n}");
    }
    // Rollup 902 restarted with it and still has the message relayed, once.
    if let Some(tx) = &message_tx {
        let (ok, out, err) = w.interop(KEY5, &["relay", "--tx", tx]);
        assert!(ok && out.contains("already ran on rollup 902"), "{out}\n{err}");
    }

    // The L3's withdrawal reaches the rollup across the restart: proven against an L3 output on
    // the rollup, finalized after the window. The L3's verifier (deriving it from the rollup's
    // JSON-RPC alone) is on the L3 sequencer's chain.
    if let (Some(tx), Some((l3_port, l3_ver_port))) = (&l3_withdrawal, w.l3) {
        let addr5 = "0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc";
        let before = l2.balance(addr5);
        let (ok, out, err) = w.l3_bridge(KEY5, &["prove", "--tx", tx, "--wait"]);
        assert!(ok, "L3 prove: {out}\n{err}");
        until("the L3's challenge window to pass", 60, || {
            let (_, out, _) = w.l3_bridge(KEY5, &["status", "--tx", tx]);
            out.contains("ready to finalize").then_some(())
        });
        let (ok, out, err) = w.l3_bridge(KEY5, &["finalize", "--tx", tx]);
        assert!(ok, "L3 finalize: {out}\n{err}");
        let gained = l2.balance(addr5) + U256::from(10u128.pow(16)) - before;
        assert!(gained > U256::from(10u128.pow(18)), "1 ETH from the L3 on the rollup (less gas): {gained}");
        let (l3, l3_ver) = (Rpc::new(l3_port), Rpc::new(l3_ver_port));
        let target = l3.head();
        until("the L3 verifier to derive the L3 from the rollup", 120, || (l3_ver.head() >= target).then_some(()));
        assert_eq!(l3_ver.block_hash(target), l3.block_hash(target), "L3 verifier and sequencer at block {target}");
    }

    // Withdraw 1 ETH and 40 tokens with the bridge CLI: prove once an output covers them,
    // refused early by name, paid after the window, refused a second time.
    let mut txs = Vec::new();
    for args in [&["withdraw", "--amount", "1"][..], &["withdraw", "--amount", "40", "--token", &l1_token][..]] {
        let (ok, out, err) = w.bridge(KEY5, args);
        assert!(ok, "withdraw failed: {out}\n{err}");
        txs.push(out.split_whitespace().find(|t| t.starts_with("0x") && t.len() == 66).unwrap().to_string());
    }
    // Issue 16, item 8: too early, `prove` says what it waits for and offers --wait, which waits
    // (with progress and the output's ETA) and proves.
    let (ok, _, err) = w.bridge(KEY5, &["prove", "--tx", &txs[0]]);
    assert!(!ok && err.contains("or use --wait"), "prove before an output: {err}");
    for (i, tx) in txs.iter().enumerate() {
        let (ok, out, err) = w.bridge(KEY5, &["prove", "--tx", tx, "--wait"]);
        assert!(ok && out.contains("challenge window"), "prove --wait: {out}\n{err}");
        if i == 0 {
            // Right after its proof, inside the 6 s window (proving the second may wait for the
            // next output, longer than the window).
            let (ok, out, err) = w.bridge(KEY5, &["finalize", "--tx", tx]);
            assert!(!ok && err.contains("ChallengeWindowOpen"), "early finalize must be refused by name: {out}\n{err}");
        }
    }
    let before = l1.balance(addr5);
    for tx in &txs {
        until("the challenge window to pass", 60, || {
            let (_, out, _) = w.bridge(KEY5, &["status", "--tx", tx]);
            out.contains("ready to finalize").then_some(())
        });
        let (ok, out, err) = w.bridge(KEY5, &["finalize", "--tx", tx]);
        assert!(ok, "finalize failed: {out}\n{err}");
        let (_, status, _) = w.bridge(KEY5, &["status", "--tx", tx]);
        assert!(status.contains("finalized"), "{status}");
    }
    let gained = l1.balance(addr5) + U256::from(10u128.pow(16)) - before;
    assert!(gained > U256::from(10u128.pow(18)), "1 ETH arrived on L1 (less gas): gained {gained}");
    assert_eq!(balance_of(&l1_token, addr5, &l1r), "940000000000000000000 [9.4e20]", "40 tokens back on L1");
    let (ok, _, err) = w.bridge(KEY5, &["finalize", "--tx", &txs[1]]);
    assert!(!ok && err.contains("AlreadyFinalized"), "{err}");
    // The relayer was repaid through the canonical bridge after the window and the bundle's
    // liveness, across the sequencer's kill -9 (the devnet and its relayer restarted).
    until("the relayer's repayment", 120, || {
        let (_, out, _) = w.fastbridge(KEY5, &["status", "--deposit", "1"]);
        out.contains("settled       yes").then_some(())
    });
    let (ok, out, err) = w.fastbridge(KEY5, &["status"]);
    assert!(ok && out.contains("2 delivered, 2 in bundles"), "{out}\n{err}");
    // Batches went to L1 both ways over the run (blobs once transfers filled them).
    let posts = w.log("rollup.log") + &w.log("rollup2.log");
    assert!(posts.contains("blobs=true") && posts.contains("blobs=false"), "calldata and blob posts:\n{posts}");
    assert!(run_bin(&aqueduct(), &["--version"], Path::new(".")).starts_with("aqueduct "));
}

#[test]
fn rollup_on_the_embedded_l1_through_the_cli() {
    journey(L1Kind::Embedded);
}

#[test]
fn rollup_on_anvil_through_the_cli() {
    journey(L1Kind::Anvil);
}
