//! The node's L1 loop: refreshes the clock, learns channels for the route graph, activates
//! channels the counterparty joined, and applies the watch rules to every live channel —
//! challenging stale closes, revealing preimages, settling, enforcing HTLCs of an unresponsive
//! counterparty, and learning preimages that other hops revealed on L1.

use std::sync::Arc;

use alloy::primitives::{B256, U256};
use aqueduct_channel_protocol::{Edge, Lifecycle, OnchainChannel, Outbox, Side, SignedState, WatchAction, watch};
use aqueduct_service::{Progress, Service};
use tracing::{info, warn};

use crate::{error::NodeError, node::Node};

/// The node's L1 watch as a service (one tick per step, at the node's poll interval).
pub struct Watcher {
    node: Arc<Node>,
    /// The first L1 block the route graph has not scanned yet.
    unscanned: u64,
}

impl Watcher {
    pub fn new(node: Arc<Node>) -> Self {
        Self { node, unscanned: 0 }
    }
}

/// L1 trouble is retried with a growing pause; a journal that cannot be written stops the node.
impl Service for Watcher {
    type Error = NodeError;

    fn name(&self) -> &'static str {
        "channel watcher"
    }

    async fn step(&mut self) -> Result<Progress, NodeError> {
        tick(&self.node, &mut self.unscanned).await.map(|_| Progress::Idle)
    }
}

struct Snapshot {
    id: U256,
    side: Side,
    lifecycle: Lifecycle,
    latest: SignedState,
}

async fn tick(node: &Arc<Node>, unscanned: &mut u64) -> Result<(), NodeError> {
    let (head, now) = node.adj.head().await?;
    node.lock().m.now = now;
    // The graph: channels other nodes opened and joined.
    if head >= *unscanned {
        for id in node.adj.opened_between(*unscanned, head).await? {
            if node.lock().m.channels.contains_key(&id) {
                continue;
            }
            if let Some(r) = node.adj.record(id).await? {
                node.lock()
                    .m
                    .graph_edges
                    .insert(id, Edge { id, a: r.a, b: r.b, capacity: r.deposit_a + r.deposit_b, spendable: None });
            }
        }
        *unscanned = head + 1;
    }
    let snapshot: Vec<Snapshot> = node
        .lock()
        .m
        .channels
        .values()
        .filter(|r| r.lifecycle != Lifecycle::Closed)
        .map(|r| Snapshot {
            id: r.channel.id,
            side: r.channel.side,
            lifecycle: r.lifecycle,
            latest: r.channel.latest.clone(),
        })
        .collect();
    // A transaction sent now lands in the next block, at least a second later.
    let next_block = now + 1;
    for s in snapshot {
        if let Err(e) = channel_tick(node, &s, next_block).await {
            warn!(target: "aqueduct::channel", channel = %s.id, error = %e, "watching a channel");
        }
    }
    Ok(())
}

async fn channel_tick(node: &Arc<Node>, s: &Snapshot, now: u64) -> Result<(), NodeError> {
    let Some(rec) = node.adj.record(s.id).await? else {
        if s.lifecycle != Lifecycle::Opening {
            node.set_lifecycle(s.id, Lifecycle::Closed);
        }
        return Ok(());
    };
    if s.lifecycle == Lifecycle::Opening {
        if !rec.opening {
            node.activate(s.id, rec.deposit_a, rec.deposit_b);
        }
        return Ok(());
    }
    if rec.status == OnchainChannel::Gone {
        node.set_lifecycle(s.id, Lifecycle::Closed);
        info!(target: "aqueduct::channel", channel = %s.id, "channel settled on L1");
        return Ok(());
    }
    if matches!(rec.status, OnchainChannel::Closing { .. }) && s.lifecycle == Lifecycle::Open {
        node.set_lifecycle(s.id, Lifecycle::Closing);
    }
    // Which HTLC hashes L1 has seen revealed: all of them matter once the channel is closing;
    // while it is open, only those of HTLCs we offered whose preimage we lack (another hop may
    // have revealed it: then the payment succeeded and we pass the preimage on).
    let closing = matches!(rec.status, OnchainChannel::Closing { .. });
    let mut revealed = std::collections::HashSet::new();
    for h in &s.latest.state.htlcs {
        let ours_unknown = h.sender() == s.side && !node.lock().m.preimages.contains_key(&h.hash);
        if !(closing || ours_unknown) || node.adj.revealed_at(h.hash).await? == 0 {
            continue;
        }
        revealed.insert(h.hash);
        if ours_unknown && let Some(preimage) = node.adj.revealed_preimage(h.hash).await? {
            info!(target: "aqueduct::channel", channel = %s.id, hash = %h.hash, "learned a preimage from L1");
            let mut inner = node.lock();
            let mut ob = Outbox::default();
            inner.m.htlc_fulfilled(s.id, h.id, preimage, &mut ob);
            node.commit(&mut inner, ob);
        }
    }
    let actions = {
        let inner = node.lock();
        let preimages = &inner.m.preimages;
        watch(
            &rec.status,
            &s.latest,
            Some(s.side),
            now,
            node.config.close_margin,
            |h: &B256| preimages.get(h).copied(),
            |h: &B256| revealed.contains(h),
        )
    };
    tracing::debug!(target: "aqueduct::channel", channel = %s.id, status = ?rec.status, now, version = s.latest.state.version, ?actions, "watch");
    for a in actions {
        match a {
            WatchAction::Challenge(state) => {
                let sent = node.adj.challenge(&state).await?;
                info!(target: "aqueduct::channel", channel = %s.id, version = state.state.version, gas = sent.gas, "answered a stale close");
            }
            WatchAction::Reveal(preimage) => {
                node.adj.reveal(preimage).await?;
                info!(target: "aqueduct::channel", channel = %s.id, "revealed a preimage on L1");
            }
            WatchAction::Settle => {
                let htlcs = match rec.status {
                    OnchainChannel::Closing { version, .. } if version == s.latest.state.version => {
                        s.latest.state.htlcs.clone()
                    }
                    _ => Vec::new(),
                };
                let sent = node.adj.settle(s.id, &htlcs).await?;
                info!(target: "aqueduct::channel", channel = %s.id, gas = sent.gas, "settled on L1");
                node.set_lifecycle(s.id, Lifecycle::Closed);
            }
            WatchAction::Close(state) => {
                warn!(target: "aqueduct::channel", channel = %s.id, "an HTLC must be enforced on L1: closing");
                node.set_lifecycle(s.id, Lifecycle::Closing);
                node.adj.close(&state).await?;
            }
        }
    }
    Ok(())
}
