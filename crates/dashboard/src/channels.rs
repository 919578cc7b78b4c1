//! Payment channels as the dashboard reads them: each watched node's control JSON-RPC (its
//! channels, balances and state versions, whence updates a second) and the adjudicator on L1
//! (how many channels it holds, and each closing channel's deadline).

use std::{
    collections::BTreeMap,
    time::{Duration, Instant},
};

use alloy::primitives::{Address, U256};
use aqueduct_channel_node::{ChannelApiClient, Lifecycle, control_client};
use aqueduct_contracts::channel::ChannelAdjudicator;
use aqueduct_eth::L1Client;
use serde::Serialize;

use crate::snapshot::WithdrawalView;

/// One watched channel node.
#[derive(Clone, Debug, Serialize)]
pub struct NodeView {
    pub url: String,
    pub address: Option<Address>,
    /// Channels open on this node.
    pub open: usize,
    /// Co-signed state updates a second over the last minute, over all its channels (one update
    /// carries the payments batched into it).
    pub updates_per_sec: f64,
    /// Why the node did not answer, if it did not.
    pub error: Option<String>,
}

/// One channel, as the first node that holds it reports it.
#[derive(Clone, Debug, Serialize)]
pub struct ChannelView {
    pub id: String,
    /// The reporting node's side, and its peer.
    pub node: Address,
    pub peer: Address,
    pub state: &'static str,
    pub version: u64,
    /// The reporting node's balance and its peer's (the token's smallest unit).
    pub local: String,
    pub remote: String,
    pub connected: bool,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct ChannelsView {
    pub nodes: Vec<NodeView>,
    pub channels: Vec<ChannelView>,
    /// Co-signed state updates a second over the last minute, over every channel seen (each
    /// counted once, though both its nodes report it).
    pub updates_per_sec: f64,
    /// Channels the adjudicator has ever had (opened on L1).
    pub on_l1: Option<u64>,
    pub adjudicator: Option<Address>,
}

/// Reads the watched channel nodes, keeping each one's version history for rates.
pub(crate) struct Channels {
    nodes: Vec<(String, Option<jsonrpsee::http_client::HttpClient>)>,
    /// Version sums over the last minute, by node URL ("" for all channels together).
    history: BTreeMap<String, Vec<(Instant, u64)>>,
}

impl Channels {
    pub(crate) fn new(urls: &[String]) -> Self {
        Self { nodes: urls.iter().map(|u| (u.clone(), control_client(u).ok())).collect(), history: BTreeMap::new() }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// The view, and the channels closing on L1 with the time left before they can settle.
    pub(crate) async fn poll(&mut self, l1: &L1Client, l1_time: u64) -> (ChannelsView, Vec<WithdrawalView>) {
        let mut v = ChannelsView::default();
        let mut seen = BTreeMap::new();
        let now = Instant::now();
        for (url, client) in &self.nodes {
            let mut node = NodeView { url: url.clone(), address: None, open: 0, updates_per_sec: 0.0, error: None };
            let Some(c) = client else {
                node.error = Some("not a valid URL".into());
                v.nodes.push(node);
                continue;
            };
            let answer = async { Ok::<_, jsonrpsee::core::client::Error>((c.info().await?, c.list().await?)) };
            match answer.await {
                Ok((info, list)) => {
                    node.address = Some(info.address);
                    v.adjudicator.get_or_insert(info.adjudicator);
                    node.open = list.iter().filter(|c| c.state == Lifecycle::Open).count();
                    let versions: u64 = list.iter().map(|c| c.version).sum();
                    node.updates_per_sec = rate(self.history.entry(url.clone()).or_default(), now, versions);
                    for ch in list {
                        seen.entry(ch.id).or_insert(ChannelView {
                            id: ch.id.to_string(),
                            node: info.address,
                            peer: ch.peer,
                            state: lifecycle(ch.state),
                            version: ch.version,
                            local: ch.local.to_string(),
                            remote: ch.remote.to_string(),
                            connected: ch.connected,
                        });
                    }
                }
                Err(e) => node.error = Some(e.to_string()),
            }
            v.nodes.push(node);
        }
        let mut closing = Vec::new();
        if let Some(adj) = v.adjudicator {
            v.on_l1 = l1.read(adj, ChannelAdjudicator::channelCountCall {}).await.ok().map(|n| n.saturating_to());
            for (id, ch) in &seen {
                if ch.state != "closing" {
                    continue;
                }
                let Ok(c) = l1.read(adj, ChannelAdjudicator::getChannelCall { id: *id }).await else { continue };
                // Status 3 is a unilateral close waiting for its deadline; a cooperative close
                // settles in the transaction that starts it.
                if c.status != 3 {
                    continue;
                }
                let left = c.deadline.saturating_sub(l1_time);
                closing.push(WithdrawalView {
                    family: "channel",
                    id: alloy::primitives::B256::from(U256::from(*id)),
                    amount_wei: (U256::from(c.depositA) + U256::from(c.depositB)).to_string(),
                    state: if left == 0 { "closed on L1, can settle now" } else { "closing on L1, open to challenge" }
                        .into(),
                    seconds_left: Some(left),
                });
            }
        }
        let total: u64 = seen.values().map(|c| c.version).sum();
        v.updates_per_sec = rate(self.history.entry(String::new()).or_default(), now, total);
        v.channels = seen.into_values().collect();
        (v, closing)
    }
}

/// Adds `(now, count)` to a minute of history and returns the count's growth a second over it.
fn rate(h: &mut Vec<(Instant, u64)>, now: Instant, count: u64) -> f64 {
    h.push((now, count));
    h.retain(|(t, _)| now - *t <= Duration::from_secs(60));
    match (h.first(), h.last()) {
        (Some(first), Some(last)) if last.0 > first.0 => {
            last.1.saturating_sub(first.1) as f64 / (last.0 - first.0).as_secs_f64()
        }
        _ => 0.0,
    }
}

fn lifecycle(l: Lifecycle) -> &'static str {
    match l {
        Lifecycle::Opening => "opening",
        Lifecycle::Open => "open",
        Lifecycle::Closing => "closing",
        Lifecycle::Closed => "closed",
    }
}
