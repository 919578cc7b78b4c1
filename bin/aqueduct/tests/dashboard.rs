//! The devnet's live dashboard in a real browser (Debian's headless Chromium, installed by
//! `scripts/tools.sh`, driven over the DevTools protocol): the page's numbers are the ones the
//! components' JSON-RPC reports, and they change live (server-sent events, no reload) when users
//! deposit and transfer on the ZK rollup, start a withdrawal on the optimistic rollup, propose a
//! wrong output (the devnet's challenger opens a dispute game), pay over a payment channel
//! between two `aqueduct channel serve` nodes, and when a validium committee member
//! (`aqueduct zk dac`) starts withholding; a screenshot is taken. The compare report renders
//! every chart in the same browser.

mod common;

use alloy::{
    network::EthereumWallet,
    primitives::{B256, U256},
    providers::ProviderBuilder,
    signers::local::PrivateKeySigner,
};
use aqueduct_contracts::rollup::{DisputeGame, OutputOracle};
use aqueduct_testkit::{AsyncRpc, browser::Browser};
use common::{KEY0, aqueduct, aqueduct_proc, field, free_port, repo, run_bin, wait_port};
use serde_json::{Value, json};

const ADDR1: &str = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
const KEY1: &str = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
/// Dev accounts 5-8 (the devnet's own roles take 0-4): a withdrawer on L2, two channel parties
/// and a dishonest proposer on L1.
const KEY5: &str = "0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba";
const KEY6: &str = "0x92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e";
const KEY7: &str = "0x4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356";
const ADDR7: &str = "0x14dC79964da2C08b23698B3D3cc7Ca32193d9955";
const KEY8: &str = "0xdbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97";

fn num(v: &Value) -> u64 {
    v.as_str().and_then(|s| s.trim().parse().ok()).unwrap_or_else(|| panic!("not a number on the page: {v}"))
}

async fn hex(rpc: &AsyncRpc, method: &str) -> u64 {
    let v = rpc.call(method, json!([])).await.unwrap();
    u64::from_str_radix(v.as_str().unwrap().trim_start_matches("0x"), 16).unwrap()
}

/// Runs the CLI off the async runtime.
async fn cli(args: Vec<String>) -> String {
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        run_bin(&aqueduct(), &args, std::path::Path::new("."))
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a devnet and a browser, ~2 min; scripts/test.sh and CI run it (cargo test -- --include-ignored)"]
async fn the_dashboard_shows_what_json_rpc_reports_live_in_a_browser() {
    let dir = tempfile::tempdir().unwrap();
    let (l1, l2, ver, zk, dash) = (free_port(), free_port(), free_port(), free_port(), free_port());
    let (dac, node_a, node_b, plasma_port) = (free_port(), free_port(), free_port(), free_port());
    let args = [
        "devnet".to_string(),
        "--block-time".into(),
        "1".into(),
        "--port".into(),
        l1.to_string(),
        "--data-dir".into(),
        dir.path().display().to_string(),
        "--l2-addr".into(),
        format!("127.0.0.1:{l2}"),
        "--verifier-addr".into(),
        format!("127.0.0.1:{ver}"),
        "--zk-addr".into(),
        format!("127.0.0.1:{zk}"),
        "--dashboard-addr".into(),
        format!("127.0.0.1:{dash}"),
        "--zk-slots".into(),
        "2".into(),
        "--zk-account-levels".into(),
        "2".into(),
        "--challenge-window".into(),
        "30".into(),
        "--dashboard-dac".into(),
        format!("http://127.0.0.1:{dac}"),
        "--dashboard-channel-node".into(),
        format!("http://127.0.0.1:{node_a},http://127.0.0.1:{node_b}"),
        "--no-plasma=false".into(),
        "--plasma-addr".into(),
        format!("127.0.0.1:{plasma_port}"),
    ];
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let _devnet = aqueduct_proc(&args, &dir.path().join("devnet.log"));
    tokio::task::spawn_blocking(move || wait_port(dash, 300, "the dashboard")).await.unwrap();
    let (l1_rpc, l2_rpc, zk_rpc) = (
        AsyncRpc::new(&format!("http://127.0.0.1:{l1}")),
        AsyncRpc::new(&format!("http://127.0.0.1:{l2}")),
        AsyncRpc::new(&format!("http://127.0.0.1:{zk}")),
    );

    eprintln!("dashboard up; launching the browser");
    let mut b = Browser::launch().await;
    eprintln!("browser up");
    b.navigate(&format!("http://127.0.0.1:{dash}/")).await;
    eprintln!("page loaded");
    b.until("the first snapshot", 30, "document.getElementById('l1-head').textContent !== '-'").await;
    // The heads on the page are the chains' (a second of polling apart at most).
    let page_l1 = num(&b.eval("document.getElementById('l1-head').textContent").await);
    let rpc_l1 = hex(&l1_rpc, "eth_blockNumber").await;
    assert!(rpc_l1.abs_diff(page_l1) <= 3, "page L1 head {page_l1}, JSON-RPC {rpc_l1}");
    let page_l2 = num(&b.eval("document.getElementById('l2-head').textContent").await);
    let rpc_l2 = hex(&l2_rpc, "eth_blockNumber").await;
    assert!(rpc_l2.abs_diff(page_l2) <= 3, "page L2 head {page_l2}, JSON-RPC {rpc_l2}");
    // It moves without a reload.
    b.until(
        "the L1 head to move on the page",
        30,
        &format!("Number(document.getElementById('l1-head').textContent) > {page_l1}"),
    )
    .await;
    b.until("a batch on the page", 120, "document.querySelectorAll('#batches tbody tr').length > 0").await;
    b.until("an output with its window", 120, "document.querySelectorAll('#outputs tbody tr').length > 0").await;

    // Deposits and a transfer on the ZK rollup: the page shows the operator's new numbers.
    let status = |v: Value| (v["accounts"].as_u64().unwrap(), v["blocks"].as_u64().unwrap());
    let (accounts_before, _) = status(zk_rpc.call("zk_status", json!([])).await.unwrap());
    let zk_url = format!("http://127.0.0.1:{zk}");
    let l1_url = format!("http://127.0.0.1:{l1}");
    let zk = |rest: &[&str]| {
        let mut a = vec!["zk".to_string(), "--l1-rpc".into(), l1_url.clone(), "--zk-rpc".into(), zk_url.clone()];
        a.extend(rest.iter().map(|s| s.to_string()));
        cli(a)
    };
    let seed_a = field(&zk(&["key"]).await, "L2 key seed (secret)").to_string();
    zk(&["deposit", "--key", KEY0, "--amount", "1"]).await;
    zk(&["deposit", "--key", KEY1, "--amount", "0.5"]).await;
    zk(&["set-key", "--key", KEY0, "--zk-key", &seed_a]).await;
    b.until(
        "the new ZK accounts on the page",
        300,
        &format!("Number(document.getElementById('zk-accounts').textContent) >= {}", accounts_before + 2),
    )
    .await;
    let (accounts, _) = status(zk_rpc.call("zk_status", json!([])).await.unwrap());
    assert_eq!(num(&b.eval("document.getElementById('zk-accounts').textContent").await), accounts);
    let addr0 = common::ADDR0;
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    let blocks_before = status(zk_rpc.call("zk_status", json!([])).await.unwrap()).1;
    zk(&["transfer", "--zk-key", &seed_a, "--from", addr0, "--to", ADDR1, "--amount", "0.1"]).await;
    b.until(
        "the transfer's block verified on the page",
        300,
        &format!("Number(document.getElementById('zk-blocks').textContent) > {blocks_before}"),
    )
    .await;
    let (_, blocks) = status(zk_rpc.call("zk_status", json!([])).await.unwrap());
    let page_blocks = num(&b.eval("document.getElementById('zk-blocks').textContent").await);
    assert!(blocks >= page_blocks && blocks - page_blocks <= 1, "page {page_blocks} blocks, JSON-RPC {blocks}");

    // A withdrawal started on L2 appears among the pending ones, with its L2 transaction.
    let rollup_dir = dir.path().join("rollup");
    let bridge = |rest: &[&str]| {
        let mut a = vec![
            "bridge".to_string(),
            "--l1-rpc".into(),
            l1_url.clone(),
            "--l2-rpc".into(),
            format!("http://127.0.0.1:{l2}"),
            "--verifier-rpc".into(),
            format!("http://127.0.0.1:{ver}"),
            "--data-dir".into(),
            dir.path().display().to_string(),
            "--key".into(),
            KEY5.into(),
        ];
        a.extend(rest.iter().map(|s| s.to_string()));
        cli(a)
    };
    let out = bridge(&["withdraw", "--amount", "0.25"]).await;
    let tx = out.split_whitespace().find(|t| t.starts_with("0x") && t.len() == 66).expect("the L2 hash").to_lowercase();
    let row = format!(
        "[...document.querySelectorAll('#withdrawals tbody tr')].map(r => [...r.cells].map(c => c.textContent)).find(c => c[1] === '{tx}')"
    );
    b.until("the withdrawal on the page", 60, &format!("({row}) !== undefined")).await;
    let cells = b.eval(&row).await;
    assert_eq!(cells[0], json!("optimistic"));
    assert_eq!(cells[2], json!("250000000000000000"), "the amount in wei");

    // A wrong output: the devnet's challenger opens a dispute game, and the page shows the
    // game as the contract holds it.
    let spec: Value = serde_json::from_str(&std::fs::read_to_string(rollup_dir.join("rollup.json")).unwrap()).unwrap();
    let oracle_addr = spec["rollup"]["oracle"].as_str().unwrap().parse().unwrap();
    let game_addr = spec["rollup"]["dispute_game"].as_str().unwrap().parse().unwrap();
    let liar: PrivateKeySigner = KEY8.parse().unwrap();
    let provider = ProviderBuilder::new().wallet(EthereumWallet::from(liar)).connect_http(l1_url.parse().unwrap());
    let oracle = OutputOracle::new(oracle_addr, &provider);
    let game = DisputeGame::new(game_addr, &provider);
    let bond = oracle.bond().call().await.unwrap();
    let latest: u64 = oracle.latestBlockNumber().call().await.unwrap().saturating_to();
    let target = hex(&l2_rpc, "eth_blockNumber").await.max(latest + 1);
    oracle
        .proposeOutput(B256::repeat_byte(0xbd), U256::from(target))
        .value(bond)
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    b.until("a dispute game on the page", 180, "document.querySelectorAll('#games tbody tr').length > 0").await;
    let games: u64 = game.gameCount().call().await.unwrap().saturating_to();
    assert_eq!(num(&b.eval("document.getElementById('l2-games').textContent").await), games);
    let g = game.getGame(U256::from(games - 1)).call().await.unwrap();
    let page_moves = num(&b.eval("document.querySelector('#games tbody tr').cells[4].textContent").await);
    assert!(u64::from(g.moves).abs_diff(page_moves) <= 1, "page {page_moves} moves, L1 {}", g.moves);
    assert!(g.moves >= 1, "the challenger opened the game");

    // A validium committee member: shown as it reports itself, and when it starts withholding.
    let zk_config = zk_rpc.call("zk_config", json!([])).await.unwrap();
    let zk_rollup = zk_config["rollup"].as_str().unwrap().to_string();
    let _member = aqueduct_proc(
        &[
            "zk",
            "--l1-rpc",
            &l1_url,
            "dac",
            "--rollup",
            &zk_rollup,
            "--key",
            KEY8,
            "--addr",
            &format!("127.0.0.1:{dac}"),
            "--store",
            dir.path().join("dac.redb").to_str().unwrap(),
        ],
        &dir.path().join("dac.log"),
    );
    let member_addr = "0x23618e81e3f5cdf7f54c3d65f7fbc0abf5b21e8f";
    b.until(
        "the committee member on the page",
        60,
        &format!("[...document.querySelectorAll('#committee tbody tr')].some(r => r.cells[1].textContent.toLowerCase() === '{member_addr}' && r.cells[3].textContent === 'yes')"),
    )
    .await;
    let dac_rpc = AsyncRpc::new(&format!("http://127.0.0.1:{dac}"));
    dac_rpc.call("dac_setWithholding", json!([true])).await.unwrap();
    b.until(
        "the member withholding on the page",
        30,
        "document.querySelector('#committee tbody tr').cells[3].textContent === 'WITHHOLDING'",
    )
    .await;

    // Two channel nodes: a channel opened on L1 and payments over it; the page shows the
    // channel's state version as the nodes report it.
    let adj =
        cli(vec!["channel".into(), "--l1-rpc".into(), l1_url.clone(), "deploy".into(), "--key".into(), KEY6.into()])
            .await;
    let adj = adj.lines().last().unwrap().trim().to_string();
    let (listen_a, listen_b) = (free_port(), free_port());
    let serve = |key: &str, listen: u16, control: u16, name: &str| {
        aqueduct_proc(
            &[
                "channel",
                "--l1-rpc",
                &l1_url,
                "serve",
                "--key",
                key,
                "--adjudicator",
                &adj,
                "--listen",
                &format!("127.0.0.1:{listen}"),
                "--control",
                &format!("127.0.0.1:{control}"),
                "--data",
                dir.path().join(name).to_str().unwrap(),
                "--poll-ms",
                "100",
            ],
            &dir.path().join(format!("{name}.log")),
        )
    };
    let _a = serve(KEY6, listen_a, node_a, "node-a");
    let _b = serve(KEY7, listen_b, node_b, "node-b");
    tokio::task::spawn_blocking(move || {
        wait_port(node_a, 60, "channel node A");
        wait_port(node_b, 60, "channel node B");
    })
    .await
    .unwrap();
    let channel = |rest: &[&str]| {
        let mut a = vec!["channel".to_string(), "--rpc".into(), format!("http://127.0.0.1:{node_a}")];
        a.extend(rest.iter().map(|s| s.to_string()));
        cli(a)
    };
    channel(&["connect", &format!("127.0.0.1:{listen_b}")]).await;
    let opened =
        channel(&["open", "--peer", ADDR7, "--amount", "1", "--peer-amount", "1", "--challenge-period", "600"]).await;
    assert!(opened.contains("open"), "{opened}");
    let paid = channel(&["pay", "--to", ADDR7, "--amount", "0.000001", "--count", "5"]).await;
    assert!(paid.contains("paid 5 time(s)"), "{paid}");
    let list = AsyncRpc::new(&format!("http://127.0.0.1:{node_a}")).call("channel_list", json!([])).await.unwrap();
    let version = list[0]["version"].as_u64().unwrap();
    b.until(
        "the channel's version on the page",
        30,
        &format!("[...document.querySelectorAll('#channels tbody tr')].some(r => r.cells[3].textContent === 'open' && Number(r.cells[4].textContent) === {version})"),
    )
    .await;
    assert_eq!(num(&b.eval("document.getElementById('ch-open').textContent").await), 1);
    // Plasma: a deposit and a payment on the page as the operator reports them, and an exit
    // among the pending withdrawals with its time left.
    let plasma_url = format!("http://127.0.0.1:{plasma_port}");
    let data_dir = dir.path().display().to_string();
    let plasma = |key: &str, rest: &[&str]| {
        let mut a = vec![
            "plasma".to_string(),
            "--l1-rpc".into(),
            l1_url.clone(),
            "--rpc".into(),
            plasma_url.clone(),
            "--data-dir".into(),
            data_dir.clone(),
            "--key".into(),
            key.into(),
        ];
        a.extend(rest.iter().map(|s| s.to_string()));
        cli(a)
    };
    plasma(KEY6, &["deposit", "--amount", "1"]).await;
    let out = plasma(KEY6, &["transfer", "--to", ADDR7, "--amount", "0.4", "--wait"]).await;
    assert!(out.contains("included in block 1000"), "{out}");
    let out = plasma(KEY7, &["exit", "--all"]).await;
    assert!(out.contains("exit 1 started"), "{out}");
    let status = AsyncRpc::new(&plasma_url).call("plasma_status", json!([])).await.unwrap();
    b.until(
        "the plasma exit among the pending withdrawals",
        30,
        "[...document.querySelectorAll('#withdrawals tbody tr')].some(r => r.cells[0].textContent === 'plasma' && r.cells[2].textContent === '400000000000000000' && r.cells[4].textContent.endsWith(' s'))",
    )
    .await;
    assert_eq!(
        num(&b.eval("document.getElementById('pl-blocks').textContent").await),
        status["blocks"].as_u64().unwrap()
    );
    assert_eq!(
        num(&b.eval("document.getElementById('pl-deposits').textContent").await),
        status["deposits"].as_u64().unwrap()
    );
    assert_eq!(num(&b.eval("document.getElementById('pl-exits').textContent").await), 1);
    assert_eq!(b.eval("document.getElementById('errors').textContent").await, json!(""), "every component answers");

    let shot = b.screenshot(&dir.path().join("dashboard.png")).await;
    assert!(shot > 20_000, "a {shot}-byte screenshot");

    // The compare report (the committed run) in the same browser: every chart drawn.
    let report = dir.path().join("report.html");
    let json_path = repo().join("docs/compare/report.json");
    cli(vec![
        "compare".into(),
        "--from-json".into(),
        json_path.display().to_string(),
        "--html".into(),
        report.display().to_string(),
    ])
    .await;
    b.navigate(&format!("file://{}", report.display())).await;
    assert_eq!(b.eval("document.querySelectorAll('svg.chart').length").await, json!(6));
    let drawn = "[...document.querySelectorAll('svg.chart')].every(s => s.getBBox().width > 100 && s.querySelectorAll('rect.bar, circle.mark').length > 0)";
    assert_eq!(b.eval(drawn).await, json!(true), "every chart has marks and a size");
    assert!(b.screenshot(&dir.path().join("report.png")).await > 20_000);
}
