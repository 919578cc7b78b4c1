//! Client compatibility (issue 16): viem and web3.py, as installed by scripts/tools.sh, drive the
//! devnet's L1 and L2 sequencer as dapps and scripts would (compat/viem.mjs, compat/web3py.py),
//! and anvil as the reference, which must pass the same checks.

mod common;

use std::path::PathBuf;

use common::{Proc, Rpc, aqueduct_proc, free_port, repo, tool, try_run, until, wait_port};
use serde_json::json;

/// Keys of the standard test mnemonic's accounts 8 and 9, which no devnet role uses.
const VIEM_KEY: &str = "0xdbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97";
const WEB3PY_KEY: &str = "0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6";

fn artifact(name: &str) -> PathBuf {
    repo().join("crates/contracts/artifacts").join(format!("{name}.json"))
}

fn python() -> PathBuf {
    let p = repo().join(".tools/py/bin/python");
    assert!(p.exists(), "{} is missing: run scripts/tools.sh (the test command does)", p.display());
    p
}

/// Runs both clients' checks against the endpoint on `port`; returns what failed.
fn clients_pass(port: u16, what: &str) -> Vec<String> {
    let (http, ws) = (format!("http://127.0.0.1:{port}"), format!("ws://127.0.0.1:{port}"));
    let token = artifact("AqueductToken");
    let token = token.to_str().unwrap();
    let viem = repo().join("compat/viem.mjs");
    let web3py = repo().join("compat/web3py.py");
    let node = which("node");
    let runs = [
        ("viem", try_run(&node, &[viem.to_str().unwrap(), &http, &ws, VIEM_KEY, token], &repo())),
        ("web3.py", try_run(&python(), &[web3py.to_str().unwrap(), &http, WEB3PY_KEY, token], &repo())),
    ];
    let mut failed = Vec::new();
    for (client, (ok, out, err)) in runs {
        eprintln!("{what}, {client}: {out}");
        if !ok {
            failed.push(format!("{client} on {what}:\n{out}\n{}", tail(&err, 40)));
        }
    }
    failed
}

fn which(name: &str) -> PathBuf {
    std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .map(|d| d.join(name))
        .find(|p| p.exists())
        .unwrap_or_else(|| panic!("{name} is not on PATH"))
}

fn tail(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

#[test]
fn viem_and_web3py_pass_on_l1_l2_and_anvil() {
    let dir = tempfile::tempdir().unwrap();
    assert!(repo().join("compat/node_modules/viem").exists(), "viem is missing: run scripts/tools.sh");

    // The reference: anvil, with Multicall3 set where chains keep it (anvil has none).
    let anvil_port = free_port();
    let _anvil = Proc::spawn(&tool("anvil"), &["--port", &anvil_port.to_string()], &dir.path().join("anvil.log"));
    wait_port(anvil_port, 30, "anvil");
    let multicall: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(artifact("Multicall3")).unwrap()).unwrap();
    let code = &multicall["deployedBytecode"]["object"];
    Rpc::new(anvil_port).call("anvil_setCode", json!(["0xcA11bde05977b3631167028862bE2a173976CA11", code]));

    // The devnet: embedded L1 with 1 s blocks and the optimistic rollup.
    let (l1, l2, ver) = (free_port(), free_port(), free_port());
    let data = dir.path().join("data");
    let (l1s, l2s, vers) = (l1.to_string(), format!("127.0.0.1:{l2}"), format!("127.0.0.1:{ver}"));
    let args = [
        "devnet",
        "--no-zk",
        "--block-time",
        "1",
        "--port",
        &l1s,
        "--l2-addr",
        &l2s,
        "--verifier-addr",
        &vers,
        "--data-dir",
        data.to_str().unwrap(),
    ];
    let log = dir.path().join("devnet.log");
    let _devnet = aqueduct_proc(&args, &log);
    // Ready once the dev accounts' L2 deposits have landed (it says so last).
    until("the devnet to be ready", 240, || {
        std::fs::read_to_string(&log).unwrap_or_default().contains("Press Ctrl-C").then_some(())
    });

    let mut failed = clients_pass(anvil_port, "anvil (reference)");
    failed.extend(clients_pass(l1, "the L1"));
    failed.extend(clients_pass(l2, "the L2 sequencer"));
    assert!(failed.is_empty(), "{}", failed.join("\n\n"));
}
