//! The plasma chain as a user drives it, process by process: `aqueduct devnet` (the embedded L1
//! and the plasma operator on its JSON-RPC), then `aqueduct plasma` deposits, a transfer that
//! waits for its block, status, an exit of the received output, a second exit of it refused by
//! name, the exit paid after the period by `process`, and a watcher process that sees the
//! chain is valid (no alarm, nothing exited).

mod common;

use std::path::Path;

use alloy::primitives::U256;
use common::{Rpc, aqueduct, aqueduct_proc, free_port, try_run, until, wait_port};
use serde_json::json;

const KEY6: &str = "0x92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e";
const KEY7: &str = "0x4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356";
const ADDR7: &str = "0x14dC79964da2C08b23698B3D3cc7Ca32193d9955";

#[test]
fn deposit_transfer_exit_and_process_through_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let (l1_port, op_port) = (free_port(), free_port());
    let data = dir.path().display().to_string();
    let _devnet = aqueduct_proc(
        &[
            "devnet",
            "--no-optimistic",
            "--no-zk",
            "--no-dashboard",
            "--no-plasma=false",
            "--block-time",
            "0",
            "--port",
            &l1_port.to_string(),
            "--data-dir",
            &data,
            "--plasma-addr",
            &format!("127.0.0.1:{op_port}"),
            "--plasma-exit-period",
            "30",
        ],
        &dir.path().join("devnet.log"),
    );
    wait_port(op_port, 120, "the plasma operator");
    let l1 = format!("http://127.0.0.1:{l1_port}");
    let op = format!("http://127.0.0.1:{op_port}");
    let plasma = |key: &str, rest: &[&str]| -> (bool, String, String) {
        let mut a = vec!["plasma", "--l1-rpc", &l1, "--rpc", &op, "--data-dir", &data, "--key", key];
        a.extend_from_slice(rest);
        try_run(&aqueduct(), &a, Path::new("."))
    };
    let ok = |key: &str, rest: &[&str]| {
        let (ok, out, err) = plasma(key, rest);
        assert!(ok, "aqueduct plasma {rest:?} failed:\n{out}\n{err}");
        out
    };
    let out = ok(KEY6, &["deposit", "--amount", "2"]);
    assert!(out.contains("deposited in block 1"), "{out}");
    until("the operator sees the deposit", 30, || ok(KEY6, &["status"]).contains("holds 1 outputs").then_some(()));
    let out = ok(KEY6, &["transfer", "--to", ADDR7, "--amount", "0.5", "--wait"]);
    assert!(out.contains("included in block 1000"), "{out}");
    let status = ok(KEY7, &["status"]);
    assert!(status.contains("holds 1 outputs") && status.contains("500000000000000000 wei of ETH"), "{status}");
    let position = status
        .lines()
        .find_map(|l| l.trim().strip_prefix("position "))
        .and_then(|l| l.split_whitespace().next())
        .unwrap()
        .to_string();
    assert_eq!(position, "1000000000000", "block 1000, tx 0, output 0");
    let out = ok(KEY7, &["exit", "--position", &position]);
    assert!(out.contains("exit 1 started"), "{out}");
    let (again, _, err) = plasma(KEY7, &["exit", "--position", &position]);
    assert!(!again && err.contains("ExitExists"), "a second exit is refused by name: {err}");
    let (bad, _, err) = plasma(KEY7, &["exit"]);
    assert!(!bad && err.contains("--position"), "{err}");
    // A watcher for the sender: the chain is valid, it does nothing.
    let watcher = aqueduct_proc(
        &["plasma", "--l1-rpc", &l1, "--rpc", &op, "--data-dir", &data, "--key", KEY6, "watcher", "--grace", "2"],
        &dir.path().join("watcher.log"),
    );
    until("the watcher has verified block 1000", 30, || {
        let log = std::fs::read_to_string(dir.path().join("watcher.log")).unwrap_or_default();
        log.contains("\"verifiedTo\":1000").then_some(log)
    });
    drop(watcher);
    let log = std::fs::read_to_string(dir.path().join("watcher.log")).unwrap();
    assert!(log.contains("\"alarm\":null") && !log.contains("\"exitsStarted\":[1"), "{log}");
    // Not due yet; after the period, `process` pays it.
    assert!(ok(KEY6, &["process"]).contains("is due at L1 time"));
    let rpc = Rpc::at(&l1);
    let head = rpc.call("eth_getBlockByNumber", json!(["latest", false]));
    let ts = u64::from_str_radix(head["timestamp"].as_str().unwrap().trim_start_matches("0x"), 16).unwrap();
    rpc.call("evm_setNextBlockTimestamp", json!([ts + 61]));
    rpc.call("evm_mine", json!([]));
    let before = rpc.balance(ADDR7);
    assert!(ok(KEY6, &["process"]).contains("processed due exits"));
    let after = rpc.balance(ADDR7);
    let bond_less_bounty = U256::from(18_000_000_000_000_000u64);
    assert_eq!(
        after - before,
        U256::from(500_000_000_000_000_000u64) + bond_less_bounty,
        "the output and the bond back"
    );
    assert!(ok(KEY6, &["process"]).contains("no exits waiting"));
}
