//! Payment channels end to end, on the embedded L1 and on anvil, through real nodes talking TCP:
//! - A and B open a channel (both deposit), make 10,000 payments in both directions at once
//!   (pipelined, so their proposals conflict and are resolved), and close cooperatively: L1 pays
//!   each exactly its balance;
//! - A pays D over 3 hops (A → B → C → D) with one hash lock, fees and decreasing expiries;
//! - C goes silent right after forwarding a second payment: D enforces its HTLC on L1 (close,
//!   reveal, settle), B learns the preimage from L1 and is paid by A off-chain, B settles its
//!   channel with C on L1: nobody honest loses anything;
//! - A closes with an old state: B, online, answers with the latest; then A does it again while
//!   B is offline, and B's watchtower answers. Both times L1 pays the latest balances.

use std::{sync::Arc, time::Duration};

use alloy::{
    primitives::{Address, B256, U256},
    providers::Provider,
    rpc::types::Filter,
    signers::local::PrivateKeySigner,
    sol_types::SolEvent,
};
use aqueduct_bench::Anvil;
use aqueduct_channel_node::{Adjudicator, Lifecycle, Node, NodeConfig, SyncMode, serve_tower};
use aqueduct_channel_protocol::{FeePolicy, OnchainChannel};
use aqueduct_contracts::channel::ChannelAdjudicator as Adj;
use aqueduct_eth::L1Client;
use aqueduct_l1::{Devnet, L1Config, dev_signers};
use aqueduct_testkit::eventually_holds as until;

const ETH: u128 = 1_000_000_000_000_000_000;
const GWEI: u128 = 1_000_000_000;

async fn advance(l1: &L1Client, secs: u64) {
    let _: serde_json::Value = l1.provider().raw_request("evm_increaseTime".into(), (secs,)).await.unwrap();
    let _: serde_json::Value = l1.provider().raw_request("evm_mine".into(), ()).await.unwrap();
}

/// What L1 paid out when channel `id` settled: (to A, to B).
async fn settled(l1: &L1Client, adj: Address, id: U256) -> Option<(u128, u128)> {
    let filter = Filter::new()
        .address(adj)
        .event_signature(Adj::ChannelSettled::SIGNATURE_HASH)
        .topic1(B256::from(id.to_be_bytes::<32>()))
        .from_block(0);
    let logs = l1.provider().get_logs(&filter).await.unwrap();
    logs.first().map(|l| {
        let e = Adj::ChannelSettled::decode_log_data(l.data()).unwrap();
        (e.paidA.to::<u128>(), e.paidB.to::<u128>())
    })
}

async fn node(
    l1: &L1Client,
    key: &PrivateKeySigner,
    adj: Address,
    dir: &std::path::Path,
    tower: Option<String>,
) -> Arc<Node> {
    let mut cfg = NodeConfig::new("127.0.0.1:0".parse().unwrap(), dir.join(key.address().to_string()));
    cfg.poll = Duration::from_millis(100);
    cfg.fee = FeePolicy { base: 1_000, ppm: 100, expiry_delta: 120 };
    cfg.final_expiry = 600;
    cfg.close_margin = 120;
    cfg.sync = SyncMode::Full;
    cfg.tower = tower;
    Node::start(cfg, l1.clone(), B256::from_slice(&key.to_bytes()[..]), adj).await.unwrap()
}

/// Waits until L1 shows channel `id` closing (a close was mined), on `version` if given.
async fn closing_on_l1(adj: &Adjudicator, id: U256, version: Option<u64>) {
    for _ in 0..600 {
        if let Some(OnchainChannel::Closing { version: v, .. }) = adj.record(id).await.unwrap().map(|r| r.status)
            && version.is_none_or(|want| want == v)
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("channel {id} never closed on L1 at version {version:?}");
}

fn balances(n: &Node, id: U256) -> (u128, u128) {
    let s = n.latest_state(id).unwrap().state;
    (s.balance_a, s.balance_b)
}

async fn scenario(url: &str, signers: &[PrivateKeySigner]) {
    let dir = tempfile::tempdir().unwrap();
    let l1 = L1Client::new(url).unwrap();
    let adj = Adjudicator::deploy(&l1, &signers[0]).await.unwrap();
    let (a, b, c, d) = (
        node(&l1, &signers[1], adj, dir.path(), None).await,
        node(&l1, &signers[2], adj, dir.path(), None).await,
        node(&l1, &signers[3], adj, dir.path(), None).await,
        node(&l1, &signers[4], adj, dir.path(), None).await,
    );
    let addr = |n: &Node| n.listen_addr().to_string();
    assert_eq!(a.connect(&addr(&b)).await.unwrap(), b.address());
    b.connect(&addr(&c)).await.unwrap();
    c.connect(&addr(&d)).await.unwrap();

    // The off-chain digest is the adjudicator's.
    let probe = aqueduct_channel_protocol::ChannelState {
        channel_id: U256::from(9),
        version: 3,
        balance_a: 5,
        balance_b: 6,
        htlcs: vec![aqueduct_channel_protocol::Htlc {
            id: 1,
            from_a: false,
            amount: 2,
            hash: B256::repeat_byte(7),
            expiry: 99,
        }],
    };
    assert_eq!(a.adj.state_digest(&probe).await.unwrap(), probe.digest(&a.domain));

    let ab = a.open(b.address(), Address::ZERO, 5 * ETH, 5 * ETH, 300).await.unwrap();
    let bc = b.open(c.address(), Address::ZERO, 2 * ETH, ETH, 300).await.unwrap();
    let cd = c.open(d.address(), Address::ZERO, 2 * ETH, ETH, 300).await.unwrap();
    until("B sees A–B open", 30, || b.channels().iter().any(|i| i.id == ab && i.state == Lifecycle::Open)).await;
    until("D sees C–D open", 30, || d.channels().iter().any(|i| i.id == cd && i.state == Lifecycle::Open)).await;

    // 10,000 payments, both directions at once, pipelined.
    let mut waits = Vec::new();
    let (mut a_to_b, mut b_to_a) = (0u128, 0u128);
    for i in 0..5_000u128 {
        let x = GWEI * (1 + i % 7);
        waits.push(a.pay_start(ab, x).unwrap());
        a_to_b += x;
        let y = GWEI * (1 + i % 5);
        waits.push(b.pay_start(ab, y).unwrap());
        b_to_a += y;
        if waits.len() >= 256 {
            for w in waits.drain(..) {
                w.await.unwrap().unwrap();
            }
        }
    }
    for w in waits {
        w.await.unwrap().unwrap();
    }
    let expect_ab = (5 * ETH - a_to_b + b_to_a, 5 * ETH + a_to_b - b_to_a);
    until("both sides agree", 30, || balances(&a, ab) == balances(&b, ab)).await;
    assert_eq!(balances(&a, ab), expect_ab);
    // Payments asked for while a proposal was in flight went out in batches: every signed
    // state carries at least one payment.
    let states = a.latest_state(ab).unwrap().state.version;
    assert!((1..=10_000).contains(&states), "{states} signed states for 10,000 payments");

    // One payment over 3 hops: A → B → C → D.
    let amount = ETH / 10;
    until("A knows a route to D", 30, || a.find_route(d.address(), amount).is_ok()).await;
    let hash = d.invoice(amount);
    let paid = a.pay_invoice(d.address(), hash, amount).await.unwrap();
    assert_eq!(paid.hops, 3);
    assert_eq!(aqueduct_channel_protocol::lock_hash(&paid.preimage), hash);
    let fee_c = 1_000 + amount * 100 / 1_000_000;
    let fee_b = 1_000 + (amount + fee_c) * 100 / 1_000_000;
    assert_eq!(paid.fee, (fee_b + fee_c).to_string());
    until("D is paid", 30, || balances(&d, cd).1 == ETH + amount).await;
    until("C is paid", 30, || balances(&c, bc).1 == ETH + amount + fee_c).await;
    until("B is paid", 30, || {
        balances(&b, ab) == (expect_ab.0 - amount - fee_b - fee_c, expect_ab.1 + amount + fee_b + fee_c)
    })
    .await;

    // Issue 16, item 2: an invoice is paid once, for exactly its amount; a second payment, an
    // over- or underpayment and an unknown hash fail by name over 3 hops, and move nothing.
    let before = (balances(&a, ab), balances(&d, cd));
    let again = a.pay_invoice(d.address(), hash, amount).await.unwrap_err();
    assert!(again.to_string().contains("already paid"), "{again}");
    let small = d.invoice(amount);
    let under = a.pay_invoice(d.address(), small, amount / 2).await.unwrap_err();
    assert!(under.to_string().contains("below the invoice"), "{under}");
    let over = a.pay_invoice(d.address(), small, amount * 5).await.unwrap_err();
    assert!(over.to_string().contains("above the invoice"), "{over}");
    let unknown = a.pay_invoice(d.address(), B256::repeat_byte(0x42), amount).await.unwrap_err();
    assert!(unknown.to_string().contains("no invoice"), "{unknown}");
    until("failed payments moved nothing", 30, || (balances(&a, ab), balances(&d, cd)) == before).await;

    // Cooperative close of A–B: L1 pays exactly the latest balances, at once.
    let final_ab = balances(&a, ab);
    let sent = a.close(ab).await.unwrap();
    assert_eq!(settled(&l1, adj, ab).await, Some(final_ab));
    println!("cooperative close: {} gas", sent.gas);

    // C goes silent once it has forwarded the next payment.
    let ab2 = a.open(b.address(), Address::ZERO, ETH, 0, 300).await.unwrap();
    until("B sees the new A–B", 30, || b.channels().iter().any(|i| i.id == ab2 && i.state == Lifecycle::Open)).await;
    let hash = d.invoice(amount);
    c.set_silent_after_forward();
    let before_d = balances(&d, cd);
    let before_bc = balances(&b, bc);
    let payment = tokio::spawn({
        let a = a.clone();
        let d = d.address();
        async move { a.pay_invoice(d, hash, amount).await }
    });
    until("D holds the HTLC", 30, || d.latest_state(cd).unwrap().state.htlcs.len() == 1).await;
    // D's HTLC nears expiry (600 s, D enforces 120 s before): D closes on L1 and reveals.
    advance(&l1, 540).await;
    closing_on_l1(&d.adj, cd, None).await;
    // B learns the preimage from L1 and A pays B off-chain: the payment succeeded.
    let paid = tokio::time::timeout(Duration::from_secs(30), payment).await.unwrap().unwrap().unwrap();
    assert_eq!(aqueduct_channel_protocol::lock_hash(&paid.preimage), hash);
    until("B is paid by A", 30, || balances(&b, ab2).1 == amount + fee_b + fee_c).await;
    // After the challenge period D settles and gets its HTLC; B's HTLC to silent C has expired
    // unresolved off-chain, so B closes B–C and settles too: the HTLC goes to C (its preimage
    // was revealed in time), B keeps its balance.
    advance(&l1, 330).await;
    until("C–D settles", 60, || d.channels().iter().any(|i| i.id == cd && i.state == Lifecycle::Closed)).await;
    let (to_c, to_d) = settled(&l1, adj, cd).await.unwrap();
    assert_eq!(to_d, before_d.1 + amount, "D got its HTLC on L1");
    assert_eq!(to_c + to_d, 3 * ETH);
    closing_on_l1(&b.adj, bc, None).await;
    advance(&l1, 330).await;
    until("B–C settles", 60, || b.channels().iter().any(|i| i.id == bc && i.state == Lifecycle::Closed)).await;
    let (to_b, to_c) = settled(&l1, adj, bc).await.unwrap();
    assert_eq!(to_b, before_bc.0 - amount - fee_c, "B keeps its balance");
    assert_eq!(to_c, before_bc.1 + amount + fee_c, "C gets the HTLC it forwarded");

    // Stale closes. A turns attacker (its node, and so its own watcher, stops) and closes with
    // an old state; B, online, answers with the latest and settles.
    let old = a.latest_state(ab2).unwrap();
    a.pay(ab2, GWEI).await.unwrap();
    a.pay(ab2, GWEI).await.unwrap();
    let latest = balances(&a, ab2);
    let latest_version = a.latest_state(ab2).unwrap().state.version;
    a.stop();
    a.close_with(&old).await.unwrap();
    // B answers the stale close with the latest version.
    closing_on_l1(&a.adj, ab2, Some(latest_version)).await;
    advance(&l1, 330).await;
    until("B settles A–B", 60, || b.channels().iter().any(|i| i.id == ab2 && i.state == Lifecycle::Closed)).await;
    assert_eq!(settled(&l1, adj, ab2).await, Some(latest), "the latest state won");

    for n in [&a, &b, &c, &d] {
        n.stop();
    }
    // B offline, its watchtower answers.
    let tower = serve_tower(
        l1.clone(),
        B256::from_slice(&signers[5].to_bytes()[..]),
        adj,
        &dir.path().join("tower"),
        "127.0.0.1:0".parse().unwrap(),
        Duration::from_millis(100),
    )
    .await
    .unwrap();
    let url = format!("http://{}", tower.rpc_addr);
    let a = node(&l1, &signers[6], adj, dir.path(), None).await;
    let b = node(&l1, &signers[7], adj, dir.path(), Some(url.clone())).await;
    a.connect(&b.listen_addr().to_string()).await.unwrap();
    let id = a.open(b.address(), Address::ZERO, ETH, ETH, 300).await.unwrap();
    until("B sees it open", 30, || b.channels().iter().any(|i| i.id == id && i.state == Lifecycle::Open)).await;
    a.pay(id, GWEI).await.unwrap();
    let old = a.latest_state(id).unwrap();
    for _ in 0..20 {
        a.pay(id, 3 * GWEI).await.unwrap();
    }
    let latest = balances(&a, id);
    let v = a.latest_state(id).unwrap().state.version;
    until("the tower holds the latest", 30, || b.tower().unwrap().delivered(id) == Some(v)).await;
    b.stop();
    a.stop();
    a.close_with(&old).await.unwrap();
    until("the tower challenges", 30, || !tower.tower.challenges().is_empty()).await;
    assert_eq!(tower.tower.challenges()[0].version, v);
    // Its JSON-RPC through the generated client (issue 15, item 5): the same challenge, and an
    // older state is not taken.
    let rpc = jsonrpsee::http_client::HttpClientBuilder::default().build(&url).unwrap();
    let status = aqueduct_channel_node::TowerApiClient::status(&rpc).await.unwrap();
    assert_eq!((status.channels, status.challenges), (1, tower.tower.challenges()));
    let stale = aqueduct_channel_node::TowerApiClient::watch(&rpc, old.clone()).await.unwrap();
    assert_eq!((stale.channel_id, stale.accepted), (id, false));
    advance(&l1, 330).await;
    a.adj.settle(id, &[]).await.unwrap();
    assert_eq!(settled(&l1, adj, id).await, Some(latest), "the tower's state won while B was offline");
    assert_eq!(l1.balance(adj).await.unwrap(), U256::ZERO, "every channel settled; nothing left behind");
    tower.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn channels_end_to_end_on_the_embedded_l1() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    let dir = tempfile::tempdir().unwrap();
    let cfg = L1Config::instant(&dir.path().join("l1"));
    let devnet = Devnet::start(cfg, true).await.unwrap();
    scenario(&devnet.url(), &devnet.signers).await;
    devnet.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn channels_end_to_end_on_anvil() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let anvil = Anvil::spawn(port, 31337, 30_000_000, None).await.expect("anvil (scripts/tools.sh installs it)");
    scenario(&anvil.url, &dev_signers(10).unwrap()).await;
}

/// Nodes A and B on a fresh embedded L1, connected, with an open channel of `ETH` on each side.
struct Pair {
    devnet: Devnet,
    l1: L1Client,
    adj: Address,
    a: Arc<Node>,
    b: Arc<Node>,
    ab: U256,
}

async fn open_pair(dir: &std::path::Path) -> Pair {
    let devnet = Devnet::start(L1Config::instant(&dir.join("l1")), true).await.unwrap();
    let l1 = L1Client::new(&devnet.url()).unwrap();
    let adj = Adjudicator::deploy(&l1, &devnet.signers[0]).await.unwrap();
    let a = node(&l1, &devnet.signers[1], adj, dir, None).await;
    let b = node(&l1, &devnet.signers[2], adj, dir, None).await;
    a.connect(&b.listen_addr().to_string()).await.unwrap();
    let ab = a.open(b.address(), Address::ZERO, ETH, ETH, 300).await.unwrap();
    until("A and B see A–B open", 30, || {
        [&a, &b].iter().all(|n| n.channels().iter().any(|i| i.id == ab && i.state == Lifecycle::Open))
    })
    .await;
    Pair { devnet, l1, adj, a, b, ab }
}

/// A channel whose join is the only L1 block after a node's last graph scan still reaches the
/// node's route graph (the scan once skipped the block right after the one it had seen).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_join_in_the_only_new_block_reaches_the_route_graph() {
    let dir = tempfile::tempdir().unwrap();
    let Pair { devnet, l1, adj, a, .. } = open_pair(dir.path()).await;
    let signers = &devnet.signers;

    // B opens to C (no node) on L1; A scans past that block before C joins.
    let c = signers[3].address();
    let as_b = Adjudicator { l1: l1.clone(), address: adj, signer: signers[2].clone() };
    let (bc, _) = as_b.open(c, Address::ZERO, ETH, 300).await.unwrap();
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(a.find_route(c, GWEI).is_err(), "C has not joined yet");
    let as_c = Adjudicator { l1: l1.clone(), address: adj, signer: signers[3].clone() };
    as_c.join(bc, Address::ZERO, ETH).await.unwrap();
    until("A knows a route to C", 10, || a.find_route(c, GWEI).is_ok()).await;
    assert_eq!(a.find_route(c, GWEI).unwrap().len(), 2);
    devnet.stop().await;
}

/// Payments asked for while one is in flight go out as a batch; each completes on its own, a
/// payment the batch cannot cover is refused at once, and the balances come out exact.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batched_payments_complete_each_and_overspends_fail_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let Pair { devnet, a, b, ab, .. } = open_pair(dir.path()).await;

    let part = 3 * ETH / 10;
    let waits: Vec<_> = (0..3).map(|_| a.pay_start(ab, part).unwrap()).collect();
    let err = a.pay_start(ab, part).unwrap_err().to_string();
    assert!(err.contains("is below"), "{err}");
    for w in waits {
        w.await.unwrap().unwrap();
    }
    until("both sides agree", 30, || balances(&a, ab) == balances(&b, ab)).await;
    assert_eq!(balances(&a, ab), (ETH - 3 * part, ETH + 3 * part));
    devnet.stop().await;
}
