//! The batcher: packs the sequencer's new L2 blocks into compressed channels and posts their
//! frames to the inbox, as calldata or blobs, whichever costs less now. A post that an L1 reorg
//! removed, or that never got mined, is posted again.

use std::{
    collections::{BTreeMap, HashSet},
    path::PathBuf,
    sync::Arc,
    time::Duration,
};

use alloy::{
    eips::eip2718::Encodable2718,
    network::TransactionBuilder4844,
    primitives::{B256, Bytes, keccak256},
    signers::local::PrivateKeySigner,
};
use aqueduct_chain::Chain;
use aqueduct_contracts::rollup::BatchInbox;
use aqueduct_rollup_protocol::{
    Batch, ChannelBuilder, Compressor, Pipeline, SafeHead, encode_frames, l1_info_from_deposit,
};
use aqueduct_service::{CancellationToken, Halt, Progress, Service};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use tracing::{info, warn};

use crate::{
    error::ServiceError,
    l1::{L1Client, L1Fees, RollupL1},
};

/// Where batches go.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DataMode {
    /// Whichever is cheaper at the current base fee and blob base fee.
    #[default]
    Auto,
    Calldata,
    Blobs,
}

#[derive(Clone, Debug)]
pub struct BatcherConfig {
    pub compressor: Compressor,
    pub mode: DataMode,
    /// Close a channel at this many uncompressed bytes…
    pub max_channel_bytes: usize,
    /// …or this many L2 blocks.
    pub max_channel_blocks: u64,
    /// Largest calldata frame.
    pub max_calldata_frame: usize,
    pub poll: Duration,
    /// Wait for about this many compressed bytes before posting (a blob holds ~126 kB)…
    pub target_post_bytes: usize,
    /// …unless the oldest unposted L2 block is this old. Zero posts every round.
    pub max_delay: Duration,
}

impl Default for BatcherConfig {
    fn default() -> Self {
        Self {
            // Measured by `aqueduct bench rollup` on real batches: within 0.2 % of brotli 9-11 in
            // size, 2.4x faster than brotli 9; zstd 3 is 25x faster but 2 % larger.
            compressor: Compressor::Brotli(5),
            mode: DataMode::Auto,
            max_channel_bytes: 2_000_000,
            max_channel_blocks: 600,
            max_calldata_frame: 110_000,
            poll: Duration::from_millis(500),
            target_post_bytes: 120_000,
            max_delay: Duration::from_secs(6),
        }
    }
}

/// What one post put on L1, as the bench reads it back.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct PostStats {
    /// The L2 blocks posted: `first_block..=first_block + blocks - 1`.
    pub first_block: u64,
    pub blocks: u64,
    pub transactions: u64,
    pub uncompressed_bytes: u64,
    pub compressed_bytes: u64,
    /// Bytes on L1: calldata payload or blob contents used.
    pub l1_bytes: u64,
    /// Blob gas bought (131,072 per blob); the L1 gas used is in the receipts of `l1_txs`.
    pub blob_gas: u64,
    pub blobs: bool,
    /// The L1 transactions that carried it.
    pub l1_txs: Vec<B256>,
}

#[derive(Clone, Debug)]
struct Posted {
    first: u64,
    last: u64,
    tx: B256,
    l1_block: Option<(u64, B256)>,
    polls: u32,
}

pub struct Batcher {
    chain: Arc<Chain>,
    l1: L1Client,
    pipeline: Arc<Mutex<Pipeline>>,
    signer: PrivateKeySigner,
    cfg: BatcherConfig,
    /// First L2 block not yet posted.
    next: u64,
    posted: Vec<Posted>,
    /// The hash each posted, not yet settled L2 block had when it was posted: a block the
    /// sequencer built again since (its L1 origin replaced by a reorg) is posted again.
    sent: BTreeMap<u64, B256>,
    stats: Arc<Mutex<Vec<PostStats>>>,
    attempt: u64,
    /// Where the first L2 block not yet settled on L1 is written down, so that a restart does not
    /// post the whole chain again.
    progress: Option<(PathBuf, u64)>,
}

impl Batcher {
    pub fn new(
        chain: Arc<Chain>,
        l1: L1Client,
        pipeline: Arc<Mutex<Pipeline>>,
        signer: PrivateKeySigner,
        cfg: BatcherConfig,
    ) -> Self {
        Self {
            chain,
            l1,
            pipeline,
            signer,
            cfg,
            next: 1,
            posted: Vec::new(),
            sent: BTreeMap::new(),
            stats: Arc::new(Mutex::new(Vec::new())),
            attempt: 0,
            progress: None,
        }
    }

    /// Resumes from (and keeps up to date) the progress file at `path`: blocks before the block
    /// it names were posted and buried on L1 before a restart. A missing or unreadable file
    /// means starting from block 1 (posting again is safe: derivation drops old batches).
    pub fn with_progress_file(mut self, path: PathBuf) -> Self {
        let settled = std::fs::read_to_string(&path).ok().and_then(|s| s.trim().parse::<u64>().ok()).unwrap_or(1);
        let settled = settled.clamp(1, self.chain.head().number() + 1);
        self.next = settled;
        self.progress = Some((path, settled));
        self
    }

    fn save_progress(&mut self) {
        let settled = self.posted.iter().map(|p| p.first).min().unwrap_or(self.next);
        let Some((path, saved)) = &mut self.progress else { return };
        if settled == *saved {
            return;
        }
        let tmp = path.with_extension("tmp");
        let res = std::fs::write(&tmp, settled.to_string()).and_then(|_| std::fs::rename(&tmp, &*path));
        match res {
            Ok(()) => *saved = settled,
            Err(e) => warn!(target: "batcher", error = %e, path = %path.display(), "cannot record progress"),
        }
    }

    /// Every post's figures so far (shared with the bench).
    pub fn stats(&self) -> Arc<Mutex<Vec<PostStats>>> {
        self.stats.clone()
    }

    /// The batch of L2 block `n`: its transactions minus deposits and forced ones (L1 has those).
    pub fn batch_of(&self, n: u64) -> Option<Batch> {
        let b = self.chain.block(aqueduct_chain::BlockRef::Number(n))?;
        let parent = self.chain.block(aqueduct_chain::BlockRef::Number(n - 1))?;
        let p = self.pipeline.lock();
        let genesis = p.config().l1_genesis.number;
        let (meta, prev) = (SafeHead::of_block(&b, genesis), SafeHead::of_block(&parent, genesis));
        let (fi, epoch, prev_fi) = (meta.forced_index.0, meta.epoch.0, prev.forced_index.0);
        let forced: HashSet<B256> = p.forced_range(prev_fi, fi).iter().map(keccak256).collect();
        // The origin the block itself names (its L1-info deposit): a block built on an L1 block
        // that a reorg replaced must not pass for one built on its successor.
        let named = b.txs.first().and_then(|t| t.envelope.as_deposit()).and_then(l1_info_from_deposit);
        let epoch_hash = match named {
            Some((number, hash, _)) if number == epoch => hash,
            _ => p.l1_hash(epoch)?,
        };
        let transactions = b
            .txs
            .iter()
            .filter(|t| !t.envelope.is_deposit() && !forced.contains(&t.hash))
            .map(|t| Bytes::from(t.envelope.encoded_2718()))
            .collect();
        Some(Batch {
            number: n,
            parent_hash: b.header.parent_hash,
            epoch_number: epoch,
            epoch_hash,
            timestamp: b.header.timestamp,
            forced_index: fi,
            transactions,
        })
    }

    /// Posts on the service loop until cancelled (a rollup's own services pass its shared halt
    /// to [`aqueduct_service::run`] instead).
    pub async fn run(self, cancel: CancellationToken) {
        let poll = self.poll();
        aqueduct_service::run(self, poll, cancel, Halt::new()).await;
    }

    /// How often it looks for blocks to post.
    pub fn poll(&self) -> Duration {
        self.cfg.poll
    }

    /// One round: check earlier posts, then post what is new.
    pub async fn step(&mut self) -> Result<(), ServiceError> {
        self.check_rebuilt();
        self.check_posted().await?;
        if self.posted.iter().any(|p| p.l1_block.is_none()) {
            return Ok(());
        }
        let head = self.chain.head().number();
        if head < self.next || !self.due(head) {
            return Ok(());
        }
        self.post(head).await
    }

    /// Whether blocks `next..=head` are worth a post now: enough bytes to fill most of a blob
    /// (estimated from their encoded size and the last compression ratio), or waited long enough.
    fn due(&self, head: u64) -> bool {
        if self.cfg.max_delay.is_zero() {
            return true;
        }
        let Some(oldest) = self.chain.block(aqueduct_chain::BlockRef::Number(self.next)) else { return true };
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_secs();
        if now.saturating_sub(oldest.header.timestamp) >= self.cfg.max_delay.as_secs() {
            return true;
        }
        let ratio = self
            .stats
            .lock()
            .last()
            .map(|p| p.compressed_bytes as f64 / p.uncompressed_bytes.max(1) as f64)
            .unwrap_or(1.0);
        let raw: usize = self
            .chain
            .blocks(self.next, head)
            .iter()
            .flat_map(|b| b.txs.iter().filter(|t| !t.envelope.is_deposit()))
            .map(|t| t.envelope.encode_2718_len())
            .sum();
        raw as f64 * ratio >= self.cfg.target_post_bytes as f64
    }

    /// Posts again from the first posted block that the sequencer has replaced since.
    fn check_rebuilt(&mut self) {
        let same = |n: u64, h: B256| self.chain.block(aqueduct_chain::BlockRef::Number(n)).map(|b| b.hash) == Some(h);
        // Each block names its parent's hash: if the newest posted block is unchanged, so is
        // every one before it (one lookup a round, not one per unsettled block).
        if self.sent.last_key_value().is_none_or(|(n, h)| same(*n, *h)) {
            return;
        }
        let changed = self.sent.iter().find(|(n, h)| !same(**n, **h));
        let Some((&from, _)) = changed else { return };
        warn!(target: "batcher", from, "posted blocks were built again: posting them again");
        self.sent.split_off(&from);
        self.posted.retain(|p| p.first < from);
        self.next = self.next.min(from);
    }

    /// Confirms posts, and rewinds to repost those an L1 reorg removed or that were dropped.
    async fn check_posted(&mut self) -> Result<(), ServiceError> {
        let mut repost_from = None;
        for p in self.posted.iter_mut() {
            match self.l1.receipt(p.tx).await? {
                Some(r) => {
                    let (Some(num), Some(hash)) = (r.block_number, r.block_hash) else { continue };
                    let canonical = self.l1.origin(num).await.map(|(o, _)| o.hash).ok();
                    if canonical != Some(hash) || !r.status() {
                        repost_from = Some(repost_from.map_or(p.first, |x: u64| x.min(p.first)));
                    } else {
                        p.l1_block = Some((num, hash));
                    }
                }
                None => {
                    p.polls += 1;
                    // Mined once and now gone (reorg), or never mined.
                    if p.l1_block.is_some() || p.polls > 120 {
                        repost_from = Some(repost_from.map_or(p.first, |x: u64| x.min(p.first)));
                    }
                }
            }
        }
        if let Some(from) = repost_from {
            warn!(target: "batcher", from, "posted batches lost (L1 reorg or dropped): posting again");
            self.posted.retain(|p| p.last < from);
            self.next = from;
            self.sent.split_off(&from);
        }
        // Posts buried deep enough are settled; forget them.
        if let Ok(head) = self.l1.head().await {
            self.posted.retain(|p| p.l1_block.is_none_or(|(n, _)| n + 64 > head));
        }
        let settled = self.posted.iter().map(|p| p.first).min().unwrap_or(self.next);
        self.sent = self.sent.split_off(&settled);
        self.save_progress();
        Ok(())
    }

    async fn post(&mut self, head: u64) -> Result<(), ServiceError> {
        self.attempt += 1;
        let mut id = [0u8; 16];
        id.copy_from_slice(&keccak256([self.next.to_be_bytes(), self.attempt.to_be_bytes()].concat())[..16]);
        let mut ch = ChannelBuilder::new(id, self.cfg.compressor);
        let mut last = self.next - 1;
        for n in self.next..=head.min(self.next + self.cfg.max_channel_blocks - 1) {
            let Some(b) = self.batch_of(n) else { break };
            let Some(block) = self.chain.block(aqueduct_chain::BlockRef::Number(n)) else { break };
            ch.add(&b);
            self.sent.insert(n, block.hash);
            last = n;
            if ch.uncompressed_len() >= self.cfg.max_channel_bytes {
                break;
            }
        }
        if ch.is_empty() {
            return Ok(());
        }
        let fees = self.l1.fees().await?;
        // Compression and KZG proofs take CPU for a while: off the async workers.
        let out = tokio::task::spawn_blocking(move || ch.close(usize::MAX)).await?;
        let compressed = out.compressed_len;
        let use_blobs = match self.cfg.mode {
            DataMode::Blobs => true,
            DataMode::Calldata => false,
            DataMode::Auto => blobs_cheaper(compressed, fees),
        };
        let mut stats = PostStats {
            first_block: self.next,
            blocks: out.blocks.len() as u64,
            transactions: out.transactions as u64,
            uncompressed_bytes: out.uncompressed_len as u64,
            compressed_bytes: compressed as u64,
            blobs: use_blobs,
            ..Default::default()
        };
        // Re-cut into frames sized for the medium.
        let data: Vec<u8> = out.frames.into_iter().flat_map(|f| f.data).collect();
        let frame_size = if use_blobs { 6 * 126_000 - 64 } else { self.cfg.max_calldata_frame };
        let chunks: Vec<&[u8]> = data.chunks(frame_size).collect();
        let n = chunks.len();
        let inbox = self.pipeline.lock().config().inbox;
        for (i, c) in chunks.into_iter().enumerate() {
            let frame = aqueduct_rollup_protocol::Frame {
                channel_id: id,
                number: i as u16,
                data: c.to_vec(),
                is_last: i + 1 == n,
            };
            let payload = encode_frames(&[frame]);
            let inbox_contract = BatchInbox::new(inbox, self.l1.provider());
            let hash = if use_blobs {
                stats.l1_bytes += payload.len() as u64;
                // KZG commitments and proofs take CPU for a while: off the async workers.
                let sidecar =
                    tokio::task::spawn_blocking(move || aqueduct_rollup_protocol::payload_sidecar(&payload)).await??;
                stats.blob_gas += sidecar.blobs.len() as u64 * 131_072;
                let tx = inbox_contract
                    .submitBlobs()
                    .gas(100_000)
                    .into_transaction_request()
                    .with_blob_sidecar_4844(sidecar);
                self.l1.send_request(&self.signer, fees.price(tx)).await?
            } else {
                stats.l1_bytes += payload.len() as u64;
                let gas = calldata_gas(&payload);
                let tx = inbox_contract.submit(payload.into()).gas(gas).into_transaction_request();
                self.l1.send_request(&self.signer, fees.price(tx)).await?
            };
            stats.l1_txs.push(hash);
            self.posted.push(Posted { first: self.next, last, tx: hash, l1_block: None, polls: 0 });
        }
        info!(target: "batcher::submit", blocks = stats.blocks, txs = stats.transactions, raw = stats.uncompressed_bytes,
              compressed = stats.compressed_bytes, blobs = use_blobs, "posted channel");
        self.stats.lock().push(stats);
        self.next = last + 1;
        Ok(())
    }
}

/// The batcher as a service: L1 trouble is retried with a growing pause, the anchor gone stops
/// it.
impl Service for Batcher {
    type Error = ServiceError;

    fn name(&self) -> &'static str {
        "batcher"
    }

    async fn step(&mut self) -> Result<Progress, ServiceError> {
        Batcher::step(self).await.map(|_| Progress::Idle)
    }
}

/// Gas limit for a calldata post: intrinsic (with the EIP-7623 floor) plus the inbox's work.
fn calldata_gas(payload: &[u8]) -> u64 {
    let zeros = payload.iter().filter(|b| **b == 0).count() as u64;
    let nonzeros = payload.len() as u64 - zeros;
    let abi = 4 + 64 + 32; // selector, offset, length, padding
    let standard = 21_000 + 16 * (nonzeros + abi) + 4 * zeros + 60_000;
    let floor = 21_000 + 10 * (zeros + 4 * (nonzeros + abi));
    standard.max(floor) + 20_000
}

/// Whether blobs cost less than calldata for `bytes` at these prices.
pub fn blobs_cheaper(bytes: usize, fees: L1Fees) -> bool {
    let calldata = (21_000 + 40 * bytes as u128) * fees.base_fee;
    let blobs = bytes.div_ceil(126_000) as u128;
    let blob = 60_000 * fees.base_fee + blobs * 131_072 * fees.blob_base_fee;
    blob < calldata
}
