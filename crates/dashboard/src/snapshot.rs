//! What the dashboard shows, read over JSON-RPC.

use std::{
    collections::VecDeque,
    time::{Duration, Instant},
};

use alloy::{eips::BlockNumberOrTag, primitives::B256, providers::Provider};
use aqueduct_eth::L1Client;
use aqueduct_zk_node::{DacClient, zk_client};
use serde::Serialize;

use crate::{
    channels::{Channels, ChannelsView},
    optimistic::{L2View, Optimistic, RollupAddrs},
    plasma::{Plasma, PlasmaView},
    zk::{MemberView, ZkView},
};

/// Where each component answers. Every field but `l1` is optional: the page shows what is there.
#[derive(Clone, Debug, Default)]
pub struct Sources {
    pub l1: String,
    pub sequencer: Option<String>,
    pub verifier: Option<String>,
    pub rollup: Option<RollupAddrs>,
    pub zk: Option<String>,
    /// Data-availability committee members' JSON-RPC (a validium's committee).
    pub committee: Vec<String>,
    /// Payment-channel nodes' control JSON-RPC.
    pub channel_nodes: Vec<String>,
    /// The plasma operator's JSON-RPC.
    pub plasma: Option<String>,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct ChainView {
    pub head: u64,
    /// The head block's timestamp (unix seconds).
    pub time: u64,
    /// Blocks a second over the last minute.
    pub blocks_per_sec: f64,
    pub base_fee_wei: String,
}

/// Money on its way out of a family, not yet paid on L1.
#[derive(Clone, Debug, Serialize)]
pub struct WithdrawalView {
    /// `optimistic`, `channel` or `plasma`.
    pub family: &'static str,
    /// The L2 transaction that started it (optimistic), the channel id (channel) or the exit id
    /// (plasma).
    pub id: B256,
    pub amount_wei: String,
    pub state: String,
    /// Seconds before it can be paid, where L1 fixes that time.
    pub seconds_left: Option<u64>,
}

/// Everything the page shows at one moment.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Snapshot {
    /// Milliseconds since the Unix epoch.
    pub at_ms: u128,
    pub l1: ChainView,
    pub l2: Option<L2View>,
    pub zk: Option<ZkView>,
    pub committee: Vec<MemberView>,
    pub channels: Option<ChannelsView>,
    pub plasma: Option<PlasmaView>,
    pub withdrawals: Vec<WithdrawalView>,
    /// Components that did not answer this time, and why.
    pub errors: Vec<String>,
}

/// Reads a [`Snapshot`] each time it is asked, keeping what it needs across calls (head history
/// for rates, the batches and withdrawals seen so far).
pub struct Poller {
    l1: L1Client,
    optimistic: Option<Optimistic>,
    zk: Option<jsonrpsee::http_client::HttpClient>,
    committee: Vec<DacClient>,
    channels: Channels,
    plasma: Option<Plasma>,
    heads: VecDeque<(Instant, u64, u64)>,
}

impl Poller {
    pub fn new(sources: Sources) -> Result<Self, aqueduct_eth::L1Error> {
        let client = |u: &Option<String>| u.as_deref().map(L1Client::new).transpose();
        let ver = client(&sources.verifier)?;
        Ok(Self {
            l1: L1Client::new(&sources.l1)?,
            optimistic: client(&sources.sequencer)?.map(|seq| Optimistic::new(seq, ver, sources.rollup)),
            zk: sources.zk.as_deref().and_then(|u| zk_client(u).ok()),
            committee: sources.committee.iter().map(DacClient::new).collect(),
            channels: Channels::new(&sources.channel_nodes),
            plasma: sources.plasma.as_deref().and_then(Plasma::new),
            heads: VecDeque::new(),
        })
    }

    /// One snapshot; what does not answer is listed in `errors`.
    pub async fn poll(&mut self) -> Snapshot {
        let mut s = Snapshot {
            at_ms: std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis()),
            ..Default::default()
        };
        match self.l1().await {
            Ok(v) => s.l1 = v,
            Err(e) => s.errors.push(format!("L1: {e}")),
        }
        if let Some(o) = &mut self.optimistic {
            match o.poll(&self.l1, s.l1.head).await {
                Ok((v, w)) => {
                    s.l2 = Some(v);
                    s.withdrawals.extend(w);
                }
                Err(e) => s.errors.push(format!("optimistic rollup: {e}")),
            }
        }
        if let Some(zk) = &self.zk {
            match crate::zk::poll(zk, &self.l1).await {
                Ok(v) => s.zk = Some(v),
                Err(e) => s.errors.push(format!("ZK operator: {e}")),
            }
        }
        s.committee = crate::zk::committee(&self.committee).await;
        if !self.channels.is_empty() {
            let (v, w) = self.channels.poll(&self.l1, s.l1.time).await;
            s.channels = Some(v);
            s.withdrawals.extend(w);
        }
        if let Some(p) = &mut self.plasma {
            match p.poll(&self.l1, s.l1.time).await {
                Ok((v, w)) => {
                    s.plasma = Some(v);
                    s.withdrawals.extend(w);
                }
                Err(e) => s.errors.push(format!("plasma operator: {e}")),
            }
        }
        let l2_head = s.l2.as_ref().map_or(0, |v| v.head);
        let now = Instant::now();
        self.heads.push_back((now, s.l1.head, l2_head));
        while self.heads.front().is_some_and(|h| now - h.0 > Duration::from_secs(60)) {
            self.heads.pop_front();
        }
        if let (Some(first), Some(last)) = (self.heads.front(), self.heads.back()) {
            let secs = (last.0 - first.0).as_secs_f64();
            if secs > 0.0 {
                s.l1.blocks_per_sec = last.1.saturating_sub(first.1) as f64 / secs;
                if let Some(l2) = &mut s.l2 {
                    l2.blocks_per_sec = last.2.saturating_sub(first.2) as f64 / secs;
                }
            }
        }
        s
    }

    async fn l1(&self) -> Result<ChainView, aqueduct_eth::L1Error> {
        let head = self.l1.head().await?;
        let block = self.l1.provider().get_block_by_number(BlockNumberOrTag::Number(head)).await?;
        let (base, time) = block.map_or((0, 0), |b| (b.header.base_fee_per_gas.unwrap_or(0), b.header.timestamp));
        Ok(ChainView { head, time, blocks_per_sec: 0.0, base_fee_wei: base.to_string() })
    }
}
