//! The real Foundry binaries (installed by scripts/tools.sh) against a running `aqueduct devnet`
//! process, and a kill -9 in the middle of its life.

mod common;

use std::path::Path;

use common::{ADDR0, ADDR1, KEY0, Proc, aqueduct_proc, field, forge_create_token, free_port, repo, run, wait_port};

/// `aqueduct devnet` (the L1 alone, instant mining) on `port`, data in `dir`.
fn start(dir: &Path, port: u16, fresh: bool) -> Proc {
    let port_s = port.to_string();
    let mut args =
        vec!["devnet", "--no-rollup", "--block-time", "0", "--port", &port_s, "--data-dir", dir.to_str().unwrap()];
    if fresh {
        args.push("--fresh");
    }
    let log = dir.join("devnet.log");
    let node = aqueduct_proc(&args, &log);
    wait_port(port, 30, "the devnet");
    node
}

#[test]
fn cast_and_forge_work_against_the_devnet_and_it_survives_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let node = start(dir.path(), port, true);
    let url = format!("http://127.0.0.1:{port}");
    let r = ["--rpc-url", url.as_str()];
    let cwd = repo();

    assert_eq!(run("cast", &["block-number", r[0], r[1]], &cwd), "0");
    assert_eq!(run("cast", &["chain-id", r[0], r[1]], &cwd), "31337");
    assert_eq!(run("cast", &["balance", ADDR1, r[0], r[1]], &cwd), "10000000000000000000000");

    let dead = "0x000000000000000000000000000000000000dEaD";
    let receipt = run("cast", &["send", "--private-key", KEY0, dead, "--value", "1ether", r[0], r[1]], &cwd);
    assert_eq!(field(&receipt, "status"), "1 (success)");
    let tx = field(&receipt, "transactionHash").to_string();
    let again = run("cast", &["receipt", &tx, r[0], r[1]], &cwd);
    assert_eq!(field(&again, "blockNumber"), "1");
    assert_eq!(field(&again, "gasUsed"), "21000");
    assert_eq!(run("cast", &["balance", dead, r[0], r[1]], &cwd), "1000000000000000000");

    // forge create the ERC-20, then a token transfer with cast send and a balanceOf with cast call.
    let token = forge_create_token(&url, KEY0, "Aqueduct Token", "AQT", "1000000");
    assert_eq!(run("cast", &["call", &token, "symbol()(string)", r[0], r[1]], &cwd), "\"AQT\"");
    let sent = run(
        "cast",
        &["send", "--private-key", KEY0, &token, "transfer(address,uint256)", ADDR1, "250", r[0], r[1]],
        &cwd,
    );
    assert_eq!(field(&sent, "status"), "1 (success)");
    assert_eq!(run("cast", &["call", &token, "balanceOf(address)(uint256)", ADDR1, r[0], r[1]], &cwd), "250");
    assert_eq!(
        run("cast", &["call", &token, "balanceOf(address)(uint256)", ADDR0, r[0], r[1]], &cwd),
        "999750 [9.997e5]"
    );

    let logs = run(
        "cast",
        &[
            "logs",
            "--from-block",
            "0",
            "--address",
            &token,
            "Transfer(address indexed,address indexed,uint256)",
            r[0],
            r[1],
        ],
        &cwd,
    );
    assert_eq!(logs.matches("transactionHash").count(), 2, "mint and transfer:\n{logs}");
    let head_before = run("cast", &["block", "latest", "--json", r[0], r[1]], &cwd);

    // kill -9, restart on the same data dir: every block, balance, receipt and log is there.
    node.kill9();
    let node = start(dir.path(), port, false);
    assert_eq!(run("cast", &["block", "latest", "--json", r[0], r[1]], &cwd), head_before);
    assert_eq!(field(&run("cast", &["receipt", &tx, r[0], r[1]], &cwd), "blockNumber"), "1");
    assert_eq!(run("cast", &["call", &token, "balanceOf(address)(uint256)", ADDR1, r[0], r[1]], &cwd), "250");
    assert_eq!(
        run("cast", &["logs", "--from-block", "0", "--address", &token, r[0], r[1]], &cwd)
            .matches("transactionHash")
            .count(),
        3
    );
    // And it continues.
    let sent = run("cast", &["send", "--private-key", KEY0, dead, "--value", "1", r[0], r[1]], &cwd);
    assert_eq!(field(&sent, "blockNumber"), "4");
    assert_eq!(run("cast", &["balance", dead, r[0], r[1]], &cwd), "1000000000000000001");
    drop(node);
}
