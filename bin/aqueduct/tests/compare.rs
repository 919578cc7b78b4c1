//! `aqueduct compare` as a user runs it: every family on one small seeded workload, the table on
//! stdout, the HTML report and its JSON written; and the same seed twice gives the same workload
//! and the same L1 gas.

mod common;

use common::{aqueduct, run_bin};
use serde_json::Value;

fn compare(dir: &std::path::Path, args: &[&str]) -> (String, Value) {
    let html = dir.join("report.html");
    let keys = dir.join("keys");
    let mut all = vec![
        "compare",
        "--users",
        "4",
        "--zk-slots",
        "8",
        "--zk-account-levels",
        "4",
        "--keys-dir",
        keys.to_str().unwrap(),
        "--html",
        html.to_str().unwrap(),
    ];
    all.extend_from_slice(args);
    let out = run_bin(&aqueduct(), &all, dir);
    let json: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap();
    (out, json)
}

fn row<'a>(j: &'a Value, family: &str) -> &'a Value {
    j["rows"].as_array().unwrap().iter().find(|r| r["family"] == family).unwrap_or_else(|| panic!("no {family} row"))
}

fn f(r: &Value, k: &str) -> f64 {
    r[k].as_f64().unwrap_or_else(|| panic!("{k} of {r}"))
}

#[test]
#[ignore = "every family end to end, ~4 min; CI runs it"]
fn every_family_on_one_workload() {
    let dir = tempfile::tempdir().unwrap();
    let (out, j) = compare(dir.path(), &["--transfers", "16", "--seed", "5"]);
    for family in
        ["L1", "optimistic (calldata)", "optimistic (blobs)", "ZK rollup", "validium", "payment channels", "plasma"]
    {
        assert!(out.contains(family), "{family} missing from the table:\n{out}");
    }
    assert_eq!(j["rows"].as_array().unwrap().len(), 7);
    for r in j["rows"].as_array().unwrap() {
        assert_eq!(r["transfers"], 16, "{r}");
        assert!(f(r, "transfers_per_sec") > 0.0 && f(r, "l1_gas_per_transfer") > 0.0, "{r}");
    }
    // L1 transfers: 21,000 gas for ETH, more for the ERC-20.
    let l1 = row(&j, "l1");
    assert!(f(l1, "l1_gas_per_transfer") >= 21_000.0, "{l1}");
    // Blobs move the data off calldata: less L1 gas, some blob gas.
    let (cd, bl) = (row(&j, "optimistic-calldata"), row(&j, "optimistic-blobs"));
    assert!(f(bl, "blob_gas_per_transfer") > 0.0 && f(cd, "blob_gas_per_transfer") == 0.0, "{bl}");
    assert!(f(bl, "l1_gas_per_transfer") < f(cd, "l1_gas_per_transfer"), "{cd} vs {bl}");
    // Proofs cost CPU; the validium's data stays off L1.
    let (zk, va) = (row(&j, "zk-rollup"), row(&j, "validium"));
    assert!(f(zk, "prove_cpu_s_per_transfer") > 0.0 && f(va, "prove_cpu_s_per_transfer") > 0.0);
    assert!(f(zk, "l1_p50_s") > 0.0 && f(zk, "funds_s") > 0.0, "{zk}");
    // Channels: nothing on L1 while paying, every payment over the hub.
    let ch = row(&j, "channels");
    assert_eq!(ch["l1_txs_during_transfers"], 0, "{ch}");
    assert!(ch["l1_p50_s"].is_null());
    // Plasma: only roots on L1, far less gas a transfer than L1 itself.
    let pl = row(&j, "plasma");
    assert!(pl["l1_txs_during_transfers"].as_u64().unwrap() >= 1, "{pl}");
    assert!(f(pl, "l1_gas_per_transfer") * 5.0 < f(l1, "l1_gas_per_transfer"), "{pl}");
    // Every claim has the families it needs.
    assert!(!out.contains("[not measured]"), "{out}");
    // The report: one table row per family, every chart drawn, no network.
    let html = std::fs::read_to_string(dir.path().join("report.html")).unwrap();
    assert_eq!(html.matches("<tr data-family=").count(), 7);
    assert_eq!(html.matches("<svg").count(), 6);
    assert_eq!(html.matches("class=\"bar\"").count(), 5 * 7);
    assert!(!html.contains("<script") && !html.contains("https://"));
    assert!(html.contains("compare --users 4"), "the command is in the report");
}

#[test]
fn the_same_seed_sends_the_same_workload_for_the_same_gas() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let args = ["--families", "l1", "--transfers", "12", "--seed", "9", "--erc20-share", "0.5"];
    let (_, ja) = compare(a.path(), &args);
    let (_, jb) = compare(b.path(), &args);
    let (ra, rb) = (row(&ja, "l1"), row(&jb, "l1"));
    assert_eq!(ja["erc20_transfers"], jb["erc20_transfers"]);
    assert_eq!(ra["l1_gas_per_transfer"], rb["l1_gas_per_transfer"]);
    assert_eq!(ra["l1_bytes_per_transfer"], rb["l1_bytes_per_transfer"]);
    assert_eq!(ra["transfers"], 12);
    // A bad option is refused by name.
    let (ok, _, err) = aqueduct_testkit::try_run(&aqueduct(), &["compare", "--l1-prices", "mainnet-1999"], a.path());
    assert!(!ok && err.contains("mainnet-2024"), "{err}");
}
