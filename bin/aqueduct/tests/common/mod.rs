//! Helpers of the process-level tests beyond the shared kit (`aqueduct-testkit`): the binary
//! under test, the dev keys, Foundry calls.

#![allow(dead_code, unused_imports)] // each test binary uses part of what they share

use std::path::{Path, PathBuf};

pub use aqueduct_testkit::{Proc, Rpc, free_port, repo, run_bin, tool, try_run, until, wait_port};

pub const KEY0: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
pub const ADDR0: &str = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";
pub const ADDR1: &str = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";

/// The `aqueduct` binary under test.
pub fn aqueduct() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_aqueduct"))
}

/// Starts `aqueduct args…` with its output in `log`.
pub fn aqueduct_proc(args: &[&str], log: &Path) -> Proc {
    Proc::spawn(&aqueduct(), args, log)
}

/// Runs a Foundry tool (see `run_bin`).
pub fn run(bin: &str, args: &[&str], cwd: &Path) -> String {
    run_bin(&tool(bin), args, cwd)
}

pub fn field<'a>(text: &'a str, name: &str) -> &'a str {
    text.lines().find_map(|l| l.strip_prefix(name)).map(str::trim).unwrap_or_else(|| panic!("no {name} in:\n{text}"))
}

/// `forge create` of `AqueductToken` (name, symbol, 18 decimals, `supply` in smallest units,
/// minted to the deployer) through `rpc_url`; returns its address.
pub fn forge_create_token(rpc_url: &str, key: &str, name: &str, symbol: &str, supply: &str) -> String {
    let solc = tool("solc");
    let created = run(
        "forge",
        &[
            "create",
            "--use",
            solc.to_str().unwrap(),
            "--offline",
            "--broadcast",
            "src/AqueductToken.sol:AqueductToken",
            "--private-key",
            key,
            "--rpc-url",
            rpc_url,
            "--constructor-args",
            name,
            symbol,
            "18",
            supply,
        ],
        &repo().join("contracts"),
    );
    field(&created, "Deployed to:").to_string()
}
