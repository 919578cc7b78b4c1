//! Payment channels: the cheater closes with an old state that paid it more. Whether the
//! honest party keeps its money depends on someone answering within the challenge period: its
//! own node online, its watchtower while it is offline, or no one.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use alloy::{
    primitives::{Address, B256, U256},
    providers::Provider,
    rpc::types::Filter,
    signers::local::PrivateKeySigner,
    sol_types::SolEvent,
};
use aqueduct_channel_node::{Adjudicator, Lifecycle, Node, NodeConfig, SyncMode, serve_tower};
use aqueduct_contracts::channel::ChannelAdjudicator as Adj;
use aqueduct_eth::L1Client;
use aqueduct_l1::{Devnet, L1Config};

use super::{Outcome, Promise, advance, failed};
use crate::AttackError;

const ETH: u128 = 1_000_000_000_000_000_000;
/// The channel's challenge period, seconds (the L1 clock is moved past it).
const PERIOD: u32 = 300;

/// Who answers the stale close.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answer {
    /// The honest party's own node, online.
    Peer,
    /// Its watchtower, while it is offline.
    Tower,
    /// No one: offline, no tower.
    Nobody,
}

impl Answer {
    pub fn name(self) -> &'static str {
        match self {
            Self::Peer => "channels: stale close, victim online",
            Self::Tower => "channels: stale close, victim offline with a tower",
            Self::Nobody => "channels: stale close, victim offline, no tower",
        }
    }
}

async fn node(
    l1: &L1Client,
    key: &PrivateKeySigner,
    adj: Address,
    dir: &std::path::Path,
    tower: Option<String>,
) -> Result<Arc<Node>, AttackError> {
    let mut cfg = NodeConfig::new(std::net::SocketAddr::from(([127, 0, 0, 1], 0)), dir.join(key.address().to_string()));
    cfg.poll = Duration::from_millis(100);
    cfg.sync = SyncMode::Full;
    cfg.tower = tower;
    Node::start(cfg, l1.clone(), B256::from_slice(&key.to_bytes()[..]), adj)
        .await
        .map_err(|e| failed("a channel node", e))
}

/// What L1 paid out when channel `id` settled: (to A, to B).
async fn settled(l1: &L1Client, adj: Address, id: U256) -> Result<Option<(u128, u128)>, AttackError> {
    let filter = Filter::new()
        .address(adj)
        .event_signature(Adj::ChannelSettled::SIGNATURE_HASH)
        .topic1(B256::from(id.to_be_bytes::<32>()))
        .from_block(0);
    let logs = l1.provider().get_logs(&filter).await.map_err(|e| failed("reading the settlement", e))?;
    Ok(logs.first().and_then(|l| {
        let e = Adj::ChannelSettled::decode_log_data(l.data()).ok()?;
        Some((e.paidA.saturating_to::<u128>(), e.paidB.saturating_to::<u128>()))
    }))
}

/// Polls a condition on the nodes' own state (no I/O) until it holds.
async fn until(what: &str, secs: u64, mut cond: impl FnMut() -> bool) -> Result<(), AttackError> {
    crate::world::wait_for(what, secs, || std::future::ready(Ok(cond()))).await
}

/// A (the cheater) pays B, then closes with the state from before most of those payments.
pub async fn stale_close(answer: Answer) -> Result<Outcome, AttackError> {
    let dir = tempfile::tempdir().map_err(AttackError::TempDir)?;
    let devnet = Devnet::start(L1Config::instant(&dir.path().join("l1")), true).await?;
    let l1 = L1Client::new(&devnet.url())?;
    let s = devnet.signers.clone();
    let adj = Adjudicator::deploy(&l1, &s[0]).await?;
    let tower = match answer {
        Answer::Tower => Some(
            serve_tower(
                l1.clone(),
                B256::from_slice(&s[5].to_bytes()[..]),
                adj,
                &dir.path().join("tower"),
                std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
                Duration::from_millis(100),
            )
            .await
            .map_err(|e| failed("the watchtower", e))?,
        ),
        _ => None,
    };
    let a = node(&l1, &s[6], adj, dir.path(), None).await?;
    let b = node(&l1, &s[7], adj, dir.path(), tower.as_ref().map(|t| format!("http://{}", t.rpc_addr))).await?;
    a.connect(&b.listen_addr().to_string()).await.map_err(|e| failed("connecting", e))?;
    let id = a.open(b.address(), Address::ZERO, ETH, ETH, PERIOD).await.map_err(|e| failed("opening", e))?;
    until("B sees the channel open", 30, || b.channels().iter().any(|i| i.id == id && i.state == Lifecycle::Open))
        .await?;
    a.pay(id, ETH / 100).await.map_err(|e| failed("a payment", e))?;
    let old = a.latest_state(id).ok_or_else(|| AttackError::Failed("no signed state".into()))?;
    for _ in 0..20 {
        a.pay(id, ETH / 100).await.map_err(|e| failed("a payment", e))?;
    }
    let latest = a.latest_state(id).ok_or_else(|| AttackError::Failed("no signed state".into()))?.state;
    let (owed_a, owed_b) = (latest.balance_a, latest.balance_b);
    if let Some(t) = &tower {
        let v = latest.version;
        until("the tower holds the latest state", 30, || {
            b.tower().is_some_and(|c| c.delivered(id) == Some(v)) && t.tower.challenges().is_empty()
        })
        .await?;
    }
    // The attack: A's node stops (so does its own watcher) and A closes with the old state.
    a.stop();
    if answer != Answer::Peer {
        b.stop();
    }
    let close = a.close_with(&old).await.map_err(|e| failed("the stale close", e))?;
    let answered = match (answer, &tower) {
        (Answer::Peer, _) => {
            let v = latest.version;
            let adj_b = b.adj.clone();
            let deadline = Instant::now() + Duration::from_secs(30);
            loop {
                if let Some(aqueduct_channel_protocol::OnchainChannel::Closing { version, .. }) =
                    adj_b.record(id).await?.map(|r| r.status)
                    && version == v
                {
                    break true;
                }
                if Instant::now() > deadline {
                    break false;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        (Answer::Tower, Some(t)) => {
            until("the tower challenges", 30, || !t.tower.challenges().is_empty()).await?;
            true
        }
        _ => {
            // Give any answer time to arrive: none will.
            tokio::time::sleep(Duration::from_secs(2)).await;
            false
        }
    };
    advance(&l1, u64::from(PERIOD) + 30).await?;
    if answer == Answer::Peer {
        until("B settles", 60, || b.channels().iter().any(|i| i.id == id && i.state == Lifecycle::Closed)).await?;
    } else {
        a.adj.settle(id, &[]).await?;
    }
    let (paid_a, paid_b) =
        settled(&l1, adj, id).await?.ok_or_else(|| AttackError::Failed("the channel did not settle".into()))?;
    b.stop();
    if let Some(t) = tower {
        t.stop().await;
    }
    devnet.stop().await;
    let honest_loss = owed_b.saturating_sub(paid_b);
    let gain = paid_a.saturating_sub(owed_a);
    let stolen = old.state.balance_a.saturating_sub(owed_a);
    let (promise, held, must_be, setting) = match answer {
        Answer::Peer => {
            (Promise::NoLoss, honest_loss == 0, "the victim online within the challenge period", "B online")
        }
        Answer::Tower => {
            (Promise::NoLoss, honest_loss == 0, "the victim or its watchtower online", "B offline, its tower online")
        }
        // The design allows the theft: exactly the difference between the states goes to A.
        Answer::Nobody => (
            Promise::LossAllowed,
            honest_loss == stolen && gain == stolen,
            "the victim or a watchtower online",
            "B offline, no tower",
        ),
    };
    let happened = format!(
        "A closed with version {} (stale; latest {}) in {} gas; {}; L1 paid A {} and B {} (owed {} / {})",
        old.state.version,
        latest.version,
        close.gas,
        if answered { "answered with the latest state" } else { "no one answered" },
        paid_a,
        paid_b,
        owed_a,
        owed_b
    );
    Ok(Outcome {
        family: "payment channels",
        attack: match answer {
            Answer::Peer => "stale close (victim online)",
            Answer::Tower => "stale close (victim offline, tower)",
            Answer::Nobody => "stale close (victim offline, no tower)",
        },
        must_be,
        setting: setting.into(),
        happened,
        honest_loss_wei: honest_loss,
        attacker_gain_wei: gain,
        promise,
        held,
        wall_s: 0.0,
    })
}
