//! A node faced with a hostile peer on a raw TCP socket: garbage, oversized frames, another
//! chain, a forged handshake, and — once authenticated with the real counterparty's key — a
//! replayed update, a forged one and an overspending one. Each gets a clear error; the node's
//! channel is untouched.

use std::time::Duration;

use alloy::primitives::{Address, B256, U256};
use aqueduct_channel_node::{Adjudicator, Amount, Lifecycle, Node, NodeConfig};
use aqueduct_channel_protocol::{
    Change, ChannelState, Message, Signer, Update,
    channel::apply,
    wire::{Hello, auth_digest, frame_len},
};
use aqueduct_eth::L1Client;
use aqueduct_l1::{Devnet, L1Config};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

async fn read_msg(s: &mut TcpStream) -> Option<Message> {
    let mut len = [0u8; 4];
    tokio::time::timeout(Duration::from_secs(10), s.read_exact(&mut len)).await.ok()?.ok()?;
    let mut body = vec![0u8; frame_len(len).ok()?];
    s.read_exact(&mut body).await.ok()?;
    Message::decode(&body).ok()
}

/// Reads until an `Error` frame and returns its text.
async fn error_text(s: &mut TcpStream) -> String {
    loop {
        match read_msg(s).await {
            Some(Message::Error(e)) => return e,
            Some(_) => continue,
            None => panic!("connection ended without an error message"),
        }
    }
}

async fn hello(s: &mut TcpStream, node: Address, chain_id: u64, adjudicator: Address) -> Hello {
    let Some(Message::Hello(theirs)) = read_msg(s).await else { panic!("no hello") };
    let ours = Hello {
        node,
        chain_id,
        adjudicator,
        nonce: B256::repeat_byte(5),
        fee: aqueduct_channel_protocol::FeePolicy { base: 0, ppm: 0, expiry_delta: 0 },
    };
    s.write_all(&Message::Hello(ours).encode()).await.unwrap();
    theirs
}

/// An instant-mining L1 with an adjudicator, where the dev accounts' nodes start.
struct World {
    dir: tempfile::TempDir,
    devnet: Devnet,
    l1: L1Client,
    adj: Address,
}

async fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let devnet = Devnet::start(L1Config::instant(&dir.path().join("l1")), true).await.unwrap();
    let l1 = L1Client::new(&devnet.url()).unwrap();
    let adj = Adjudicator::deploy(&l1, &devnet.signers[0]).await.unwrap();
    World { dir, devnet, l1, adj }
}

impl World {
    fn key(&self, i: usize) -> B256 {
        B256::from_slice(&self.devnet.signers[i].to_bytes()[..])
    }

    /// The node of dev account `i` (L1 read every 100 ms), its config changed by `tweak`.
    async fn node(&self, i: usize, tweak: impl FnOnce(&mut NodeConfig)) -> std::sync::Arc<Node> {
        let mut cfg = NodeConfig::new("127.0.0.1:0".parse().unwrap(), self.dir.path().join(format!("n{i}")));
        cfg.poll = Duration::from_millis(100);
        tweak(&mut cfg);
        Node::start(cfg, self.l1.clone(), self.key(i), self.adj).await.unwrap()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_peers_get_clear_errors() {
    let w = world().await;
    let adj = w.adj;
    let key = |i: usize| w.key(i);
    let a = w.node(1, |_| {}).await;
    let b = w.node(2, |_| {}).await;
    a.connect(&b.listen_addr().to_string()).await.unwrap();
    let id = a.open(b.address(), Address::ZERO, 1_000_000, 1_000_000, 600).await.unwrap();
    for _ in 0..100 {
        if b.channels().iter().any(|c| c.id == id && c.state == Lifecycle::Open) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for _ in 0..3 {
        b.pay(id, 10).await.unwrap();
    }
    let before = a.latest_state(id).unwrap();
    b.stop();
    let addr = a.listen_addr();
    let chain = a.domain.chain_id;

    // Garbage instead of a hello.
    let mut s = TcpStream::connect(addr).await.unwrap();
    let _ = read_msg(&mut s).await;
    s.write_all(&[0, 0, 0, 1, 99]).await.unwrap();
    assert_eq!(error_text(&mut s).await, "invalid frame: unknown message type 99");
    assert!(read_msg(&mut s).await.is_none(), "the node hung up");

    // A frame over the size limit.
    let mut s = TcpStream::connect(addr).await.unwrap();
    let _ = read_msg(&mut s).await;
    s.write_all(&(1u32 << 20).to_be_bytes()).await.unwrap();
    assert!(error_text(&mut s).await.contains("exceeds the limit"));

    // Another chain.
    let mut s = TcpStream::connect(addr).await.unwrap();
    hello(&mut s, Address::repeat_byte(1), chain + 1, adj).await;
    assert!(error_text(&mut s).await.contains(&format!("peer is on chain {}", chain + 1)));

    // Claiming B's address without B's key.
    let mut s = TcpStream::connect(addr).await.unwrap();
    let theirs = hello(&mut s, b.address(), chain, adj).await;
    let mallory = Signer::from_bytes(&B256::repeat_byte(0x66)).unwrap();
    s.write_all(&Message::Auth(mallory.sign(&auth_digest(&theirs.nonce, b.address()))).encode()).await.unwrap();
    assert_eq!(error_text(&mut s).await, format!("handshake: authentication failed for {}", b.address()));

    // Authenticated as B (with B's key): bad updates are refused one by one.
    let signer_b = Signer::from_bytes(&key(2)).unwrap();
    let mut s = TcpStream::connect(addr).await.unwrap();
    let theirs = hello(&mut s, b.address(), chain, adj).await;
    s.write_all(&Message::Auth(signer_b.sign(&auth_digest(&theirs.nonce, b.address()))).encode()).await.unwrap();
    let reject = |m: Option<Message>| match m {
        Some(Message::Reject(r)) => r.reason,
        other => panic!("expected a reject, got {other:?}"),
    };
    // After the handshake the node sends its latest state.
    let Some(Message::Auth(_)) = read_msg(&mut s).await else { panic!("no auth") };
    let Some(Message::Reestablish(latest)) = read_msg(&mut s).await else { panic!("no reestablish") };
    assert_eq!(latest, before);
    let domain = a.domain;
    let opening = ChannelState::opening(id, 1_000_000, 1_000_000);
    // A replay of B's first payment.
    let first = apply(&opening, &Change::Pay { amount: 10 }, aqueduct_channel_protocol::Side::B, 0).unwrap();
    let replay = Update {
        channel_id: id,
        version: 1,
        prev: opening.digest(&domain),
        change: Change::Pay { amount: 10 },
        sig: signer_b.sign(&first.digest(&domain)),
    };
    s.write_all(&Message::Update(replay).encode()).await.unwrap();
    assert_eq!(reject(read_msg(&mut s).await), "version 1 does not follow the latest version 3");
    // The next version, signed by someone else.
    let next = apply(&latest.state, &Change::Pay { amount: 10 }, aqueduct_channel_protocol::Side::B, 0).unwrap();
    let forged = Update {
        channel_id: id,
        version: next.version,
        prev: latest.state.digest(&domain),
        change: Change::Pay { amount: 10 },
        sig: mallory.sign(&next.digest(&domain)),
    };
    s.write_all(&Message::Update(forged).encode()).await.unwrap();
    assert_eq!(reject(read_msg(&mut s).await), "signature does not recover to the channel's counterparty");
    // B spending more than it has.
    let overspend = Update {
        channel_id: id,
        version: next.version,
        prev: latest.state.digest(&domain),
        change: Change::Pay { amount: 2_000_000 },
        sig: signer_b.sign(&B256::ZERO),
    };
    s.write_all(&Message::Update(overspend).encode()).await.unwrap();
    assert_eq!(reject(read_msg(&mut s).await), "balance 999970 is below 2000000");
    // A channel that is not B's.
    let stranger = Update {
        channel_id: U256::from(999),
        version: 1,
        prev: B256::ZERO,
        change: Change::Pay { amount: 1 },
        sig: signer_b.sign(&B256::ZERO),
    };
    s.write_all(&Message::Update(stranger).encode()).await.unwrap();
    assert_eq!(error_text(&mut s).await, "no channel 999 with you");
    // None of it changed the channel.
    assert_eq!(a.latest_state(id).unwrap(), before);
    a.stop();
    w.devnet.stop().await;
}

/// Issue 23, item 7: a peer asked B to join a channel with 0 from itself and 5,000 ETH from B
/// under a 30-day challenge period, and B deposited. B joins only within what its owner set:
/// no more than the peer deposited, up to a cap, with a challenge period in range, never an
/// empty channel; and the control RPC does not truncate a challenge period.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_cannot_make_a_node_deposit_beyond_its_limits() {
    const ETH: u128 = 1_000_000_000_000_000_000;
    let w = world().await;
    let (devnet, l1, adj) = (&w.devnet, &w.l1, w.adj);
    let b = w.node(2, |_| {}).await;
    // The attacker: dev account 1, on L1 and on a raw socket to B.
    let mallory = Adjudicator { l1: l1.clone(), address: adj, signer: devnet.signers[1].clone() };
    let signer = Signer::from_bytes(&B256::from_slice(&devnet.signers[1].to_bytes()[..])).unwrap();
    let me = devnet.signers[1].address();
    let mut s = TcpStream::connect(b.listen_addr()).await.unwrap();
    let theirs = hello(&mut s, me, b.domain.chain_id, adj).await;
    s.write_all(&Message::Auth(signer.sign(&auth_digest(&theirs.nonce, me))).encode()).await.unwrap();
    let Some(Message::Auth(_)) = read_msg(&mut s).await else { panic!("no auth") };

    let joined = |id: U256| {
        let as_b = Adjudicator { l1: l1.clone(), address: adj, signer: devnet.signers[2].clone() };
        async move { as_b.record(id).await.unwrap().is_some_and(|r| !r.opening) }
    };
    let mut refused = Vec::new();
    let asks = [
        (0, 5_000 * ETH, 600),      // nothing from the peer, everything from B
        (20 * ETH, 15 * ETH, 600),  // over B's cap (10 ETH by default)
        (ETH, 2 * ETH, 600),        // more than the peer put in
        (ETH, ETH, 30 * 24 * 3600), // a 30-day lock
        (0, 0, 600),                // an empty channel
    ];
    for (ours, asked, period) in asks {
        let (id, _) = mallory.open(b.address(), Address::ZERO, ours, period).await.unwrap();
        s.write_all(&Message::Join { channel_id: id, amount: asked }.encode()).await.unwrap();
        refused.push(id);
    }
    // A fair request, sent last, is joined: the refusals above are decisions, not slowness.
    let (fair, _) = mallory.open(b.address(), Address::ZERO, ETH, 600).await.unwrap();
    s.write_all(&Message::Join { channel_id: fair, amount: ETH }.encode()).await.unwrap();
    let mut ok = false;
    for _ in 0..100 {
        if joined(fair).await {
            ok = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ok, "B joins a channel within its limits");
    tokio::time::sleep(Duration::from_millis(500)).await;
    for id in refused {
        assert!(!joined(id).await, "B joined channel {id}, which is outside its limits");
    }

    // The control RPC refuses a period that does not fit in 32 bits instead of truncating it.
    let (_h, control) =
        aqueduct_channel_node::rpc::serve_control(b.clone(), "127.0.0.1:0".parse().unwrap()).await.unwrap();
    let rpc = aqueduct_channel_node::control_client(&format!("http://{control}")).unwrap();
    let period = (1u64 << 32) + 1;
    let e = aqueduct_channel_node::ChannelApiClient::open(&rpc, me, Amount(1), Some(Amount(0)), None, Some(period))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("below 2^32"), "{e}");
    b.stop();
    w.devnet.stop().await;
}

/// Issue 16, item 3: `open` with a peer amount the peer could not fund hung 60 s with the
/// opener's deposit locked in "opening", and `close` failed with an undecoded `BadStatus(1)`.
/// An unfundable open is refused before anything is locked; an open the peer does not join is
/// cancelled on L1 after the join timeout, the deposit returned; adjudicator reverts are named.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_the_peer_cannot_or_will_not_fund_returns_the_deposit() {
    const ETH: u128 = 1_000_000_000_000_000_000;
    let w = world().await;
    let (l1, adj) = (&w.l1, w.adj);
    let short = |c: &mut NodeConfig| c.join_timeout = Duration::from_secs(2);
    let a = w.node(1, short).await;
    let b = w.node(2, short).await;
    a.connect(&b.listen_addr().to_string()).await.unwrap();
    let before = l1.balance(a.address()).await.unwrap();

    let e = a.open(b.address(), Address::ZERO, ETH, 100_000 * ETH, 600).await.unwrap_err();
    assert!(e.to_string().contains("less than the"), "{e}");
    assert!(a.channels().is_empty(), "nothing was opened");

    // B does not join (it never deposits more than the opener): A cancels and is repaid.
    let e = a.open(b.address(), Address::ZERO, ETH, 2 * ETH, 600).await.unwrap_err();
    assert!(e.to_string().contains("cancelled"), "{e}");
    let ch = a.channels();
    assert_eq!((ch.len(), ch[0].state), (1, Lifecycle::Closed));
    let after = l1.balance(a.address()).await.unwrap();
    assert!(after + U256::from(ETH / 100) > before, "the deposit came back: {before} → {after}");
    assert_eq!(l1.balance(adj).await.unwrap(), U256::ZERO, "the adjudicator holds nothing");

    // Closing it again is refused by the adjudicator, by name.
    let e = a.force_close(ch[0].id).await.unwrap_err();
    assert!(e.to_string().contains("BadStatus"), "{e}");
    a.stop();
    b.stop();
    w.devnet.stop().await;
}
