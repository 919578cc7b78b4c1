//! `docs/ARCH.md`'s crate graph is the workspace's (issue 15, item 8): the table between the
//! `crate-graph` markers must be what `cargo metadata` says, layer by layer. On a mismatch the
//! test prints the table to paste.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

const BEGIN: &str = "<!-- crate-graph: generated from `cargo metadata`; bin/aqueduct/tests/arch.rs checks it -->";
const END: &str = "<!-- /crate-graph -->";

/// Each workspace crate and the workspace crates it depends on (normal dependencies).
fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = std::process::Command::new(cargo)
        .args(["metadata", "--no-deps", "--format-version", "1", "--offline"])
        .current_dir(common::repo())
        .output()
        .unwrap();
    assert!(out.status.success(), "cargo metadata: {}", String::from_utf8_lossy(&out.stderr));
    let meta: Value = serde_json::from_slice(&out.stdout).unwrap();
    let packages = meta["packages"].as_array().unwrap();
    let names: BTreeSet<String> = packages.iter().map(|p| p["name"].as_str().unwrap().to_string()).collect();
    packages
        .iter()
        .map(|p| {
            let deps = p["dependencies"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|d| d["kind"].is_null())
                .map(|d| d["name"].as_str().unwrap().to_string())
                .filter(|d| names.contains(d))
                .collect();
            (p["name"].as_str().unwrap().to_string(), deps)
        })
        .collect()
}

/// The table: crates by layer (a crate's layer is one more than its deepest dependency's).
fn table(g: &BTreeMap<String, BTreeSet<String>>) -> String {
    fn layer(c: &str, g: &BTreeMap<String, BTreeSet<String>>) -> usize {
        g[c].iter().map(|d| layer(d, g) + 1).max().unwrap_or(0)
    }
    let mut rows: Vec<(usize, &String)> = g.keys().map(|c| (layer(c, g), c)).collect();
    rows.sort();
    let mut t = format!("{BEGIN}\n| layer | crate | depends on (workspace crates) |\n|---|---|---|\n");
    for (l, c) in rows {
        let deps: Vec<String> = g[c].iter().map(|d| format!("`{d}`")).collect();
        let deps = if deps.is_empty() { "—".to_string() } else { deps.join(", ") };
        t.push_str(&format!("| {l} | `{c}` | {deps} |\n"));
    }
    t.push_str(END);
    t
}

#[test]
fn the_crate_graph_in_arch_md_is_the_workspaces() {
    let expected = table(&graph());
    let doc = std::fs::read_to_string(common::repo().join("docs/ARCH.md")).unwrap();
    let found = doc.find(BEGIN).and_then(|b| doc[b..].find(END).map(|e| &doc[b..b + e + END.len()]));
    assert_eq!(
        found,
        Some(expected.as_str()),
        "docs/ARCH.md's crate graph is stale; the table to paste:\n\n{expected}\n"
    );
}

/// Every crate `c` reaches through normal dependencies, itself left out.
fn reach(g: &BTreeMap<String, BTreeSet<String>>, c: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut todo: Vec<&str> = g[c].iter().map(String::as_str).collect();
    while let Some(d) = todo.pop() {
        if seen.insert(d.to_string()) {
            todo.extend(g[d].iter().map(String::as_str));
        }
    }
    seen
}

/// Sans-IO cores (protocol rules, execution, codecs) build without storage, RPC, HTTP or an async
/// runtime, whatever the services beside them enable (issue 15, acceptance).
#[test]
fn protocol_cores_reach_no_storage_rpc_or_runtime() {
    const CORES: [&str; 8] = [
        "aqueduct-primitives",
        "aqueduct-trie",
        "aqueduct-evm",
        "aqueduct-contracts",
        "aqueduct-rollup-protocol",
        "aqueduct-zk-protocol",
        "aqueduct-channel-protocol",
        "aqueduct-bridge-protocol",
    ];
    const IO: [&str; 6] = ["tokio", "redb", "jsonrpsee", "reqwest", "hyper", "mio"];
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    for core in CORES {
        let out = std::process::Command::new(&cargo)
            .args(["tree", "-p", core, "-e", "normal", "--prefix", "none", "--offline"])
            .current_dir(common::repo())
            .output()
            .unwrap();
        assert!(out.status.success(), "cargo tree -p {core}: {}", String::from_utf8_lossy(&out.stderr));
        let tree = String::from_utf8(out.stdout).unwrap();
        assert!(tree.lines().count() > 1, "cargo tree -p {core} printed nothing to check:\n{tree}");
        let found: BTreeSet<&str> =
            tree.lines().filter_map(|l| l.split_whitespace().next()).filter(|n| IO.contains(n)).collect();
        assert!(found.is_empty(), "{core} reaches {found:?} (cargo tree -p {core} -i <name> shows through what)");
    }
}

/// The embedded L1 is a settlement layer for every family and knows none of them: the rollup
/// installs its EXECUTE precompile through `ChainRules::extra_precompiles` (DESIGN D1).
#[test]
fn the_l1_the_cores_and_each_family_depend_on_no_other_familys_node() {
    let g = graph();
    let l1 = reach(&g, "aqueduct-l1");
    assert!(l1.contains("aqueduct-chain"), "the graph lost the L1's engine: {l1:?}");
    let families: Vec<&String> =
        l1.iter().filter(|c| ["rollup", "zk", "channel"].iter().any(|f| c.contains(f))).collect();
    assert!(families.is_empty(), "aqueduct-l1 depends on {families:?}");
    // No family reaches L1 through another family's node: they share aqueduct-eth.
    let families = ["rollup", "zk", "channel"];
    for f in families {
        let node = format!("aqueduct-{f}-node");
        let others: Vec<String> = reach(&g, &node)
            .into_iter()
            .filter(|c| c.ends_with("-node") && families.iter().any(|o| *o != f && c.contains(o)))
            .collect();
        assert!(others.is_empty(), "{node} depends on {others:?}");
        assert!(reach(&g, &node).contains("aqueduct-eth"), "{node} reaches L1 through aqueduct-eth");
    }
    for core in [
        "aqueduct-evm",
        "aqueduct-rollup-protocol",
        "aqueduct-zk-protocol",
        "aqueduct-channel-protocol",
        "aqueduct-bridge-protocol",
    ] {
        let bad: Vec<String> =
            reach(&g, core).into_iter().filter(|c| c.ends_with("-node") || c == "aqueduct-chain").collect();
        assert!(bad.is_empty(), "{core} depends on {bad:?}");
    }
}
