//! Derivation proven on L1: the L1 data that decides one L2 block, in a form an L1 contract can
//! check against what L1 itself stored, and the block it derives (sans IO).
//!
//! L1 keeps, per batch, forced transaction and deposit, a record `keccak256(abi.encode(dataHash,
//! l1Block))` (`BatchInbox.batchRecords`, `forcedRecords`, `RollupPortal.depositRecords`), and the
//! hash of the L1 block before each batch (`BatchInbox.l1Hashes`). Evidence for L2 block `N` is:
//! - the L1 headers from `N - 1`'s origin up to a stored hash (the anchor): origins, their
//!   timestamps and fees, and the block hashes deposits are named by;
//! - every batch from the L1 blocks a channel finishing at or after that origin may have started
//!   in, up to the anchor; every forced item from `N - 1`'s forced index on; every deposit of the
//!   headed blocks; each list with the records just outside it, which show nothing was left out.
//!
//! Derivation then runs over exactly that data, as every node runs it, and gives block `N`'s
//! attributes. Nothing else can change them: data past the anchor either lands after a valid
//! batch was found or after the window closed.

use alloy::{
    consensus::Header,
    primitives::{Address, B256, Bytes, U256, keccak256},
    sol_types::SolValue,
};
use alloy_rlp::{Decodable, RlpDecodable, RlpEncodable};

use crate::{
    blobs::{blobs_payload, payload_blobs, versioned_hashes},
    config::RollupConfig,
    deposit::{L1Origin, deposit_from_event},
    derive::{DerivedBlock, L1BlockData, Pipeline, SafeHead},
};

/// A record list as L1 storage hands it over: records `from - 1` (when `from > 0`) through `to`
/// (when `to < total`), i.e. the range `[from, to)` and the record on each side of it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RecordWindow {
    pub from: u64,
    pub to: u64,
    pub total: u64,
    pub records: Vec<B256>,
}

/// A record just outside a range: its data hash and L1 block (the record's preimage).
#[derive(Clone, Debug, Default, PartialEq, Eq, RlpEncodable, RlpDecodable)]
pub struct Edge {
    pub data_hash: B256,
    pub l1_block: u64,
}

/// How an item's data is given.
pub mod kind {
    /// Calldata frames, a forced transaction, or a deposit's `abi.encode(from, to, version, opaqueData)`.
    pub const BYTES: u8 = 0;
    /// A blob batch, as the payload its blobs canonically encode.
    pub const BLOB_PAYLOAD: u8 = 1;
    /// A blob batch, as its raw blobs (they are not a canonical encoding: no batch).
    pub const RAW_BLOBS: u8 = 2;
}

/// One record's data.
#[derive(Clone, Debug, Default, PartialEq, Eq, RlpEncodable, RlpDecodable)]
pub struct Item {
    pub l1_block: u64,
    pub kind: u8,
    pub data: Bytes,
}

/// A list's items `[from, to)` and the records beside them.
#[derive(Clone, Debug, Default, PartialEq, Eq, RlpEncodable, RlpDecodable)]
pub struct ListEvidence {
    pub before: Vec<Edge>,
    pub items: Vec<Item>,
    pub after: Vec<Edge>,
}

/// Everything that decides one L2 block, from L1.
#[derive(Clone, Debug, Default, PartialEq, Eq, RlpEncodable, RlpDecodable)]
pub struct DeriveEvidence {
    /// Consecutive L1 headers (RLP), the last one the anchor.
    pub headers: Vec<Bytes>,
    pub batches: ListEvidence,
    pub forced: ListEvidence,
    pub deposits: ListEvidence,
}

/// The L1 side of a derivation proof: what the contracts read from their storage.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct L1Records {
    /// The anchor: an L1 block number and the hash L1 stored for it.
    pub anchor: (u64, B256),
    pub batches: RecordWindow,
    pub forced: RecordWindow,
    pub deposits: RecordWindow,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EvidenceError {
    #[error("malformed evidence: {0}")]
    Malformed(String),
    /// The evidence is not RLP of its shape.
    #[error("malformed evidence: {0}")]
    Rlp(#[from] alloy_rlp::Error),
    /// Header `index` is not an RLP block header.
    #[error("L1 header {index}: {source}")]
    Header { index: usize, source: alloy_rlp::Error },
    #[error("L1 headers: {0}")]
    Headers(String),
    #[error("{list}: {why}")]
    Records { list: &'static str, why: String },
    /// The headers do not chain as derivation reads them.
    #[error("L1 headers: {0}")]
    Derive(#[from] crate::derive::DeriveError),
    #[error("derivation does not decide block {0} by the anchor: give a later anchor")]
    Undecided(u64),
}

impl DeriveEvidence {
    pub fn encode(&self) -> Vec<u8> {
        alloy_rlp::encode(self)
    }

    pub fn decode(mut raw: &[u8]) -> Result<Self, EvidenceError> {
        let ev = Self::decode_rlp(&mut raw)?;
        if !raw.is_empty() {
            return Err(EvidenceError::Malformed("trailing bytes".into()));
        }
        Ok(ev)
    }

    fn decode_rlp(raw: &mut &[u8]) -> Result<Self, EvidenceError> {
        Ok(<Self as Decodable>::decode(raw)?)
    }
}

/// One L1 record with the data an evidence item gives for it.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub data_hash: B256,
    pub l1_block: u64,
    pub item: Item,
}

impl Recorded {
    /// A record of plain bytes (calldata frames, a forced transaction, a deposit's data).
    pub fn bytes(data: Bytes, l1_block: u64) -> Self {
        Self { data_hash: keccak256(&data), l1_block, item: Item { l1_block, kind: kind::BYTES, data } }
    }
}

/// A list's range `[from, to)` with its neighbours: as L1 storage hands it over, and as evidence.
pub fn window(list: &[Recorded], from: usize, to: usize) -> (RecordWindow, ListEvidence) {
    let edge = |r: &Recorded| Edge { data_hash: r.data_hash, l1_block: r.l1_block };
    let mut records = Vec::new();
    let mut ev = ListEvidence::default();
    if from > 0 {
        records.push(record_hash(list[from - 1].data_hash, list[from - 1].l1_block));
        ev.before.push(edge(&list[from - 1]));
    }
    for r in &list[from..to] {
        records.push(record_hash(r.data_hash, r.l1_block));
        ev.items.push(r.item.clone());
    }
    if to < list.len() {
        records.push(record_hash(list[to].data_hash, list[to].l1_block));
        ev.after.push(edge(&list[to]));
    }
    (RecordWindow { from: from as u64, to: to as u64, total: list.len() as u64, records }, ev)
}

/// `keccak256(abi.encode(dataHash, l1Block))`.
pub fn record_hash(data_hash: B256, l1_block: u64) -> B256 {
    keccak256((data_hash, U256::from(l1_block)).abi_encode())
}

/// `abi.encode(from, to, version, opaqueData)`: a deposit as an evidence item carries it.
pub fn deposit_item_data(from: Address, to: Address, version: U256, opaque: &[u8]) -> Bytes {
    (from, to, version, Bytes::copy_from_slice(opaque)).abi_encode_params().into()
}

/// The L1 blocks whose batches can matter to the block after `parent`: a channel still open at
/// the parent's origin started at most a channel timeout before it.
pub fn batch_window_start(cfg: &RollupConfig, parent: &SafeHead) -> u64 {
    parent.epoch.0.saturating_sub(cfg.channel_timeout.saturating_add(1)).max(cfg.l1_genesis.number.saturating_add(1))
}

/// What an item's data hash is, and the batch payload it stands for (`None`: no batch).
fn batch_data(item: &Item) -> Result<(B256, Option<Vec<u8>>), String> {
    match item.kind {
        kind::BYTES => Ok((keccak256(&item.data), Some(item.data.to_vec()))),
        kind::BLOB_PAYLOAD => {
            let hashes = versioned_hashes(&payload_blobs(&item.data)).map_err(|e| format!("KZG: {e}"))?;
            Ok((keccak256(hashes.concat()), Some(item.data.to_vec())))
        }
        kind::RAW_BLOBS => {
            const SIZE: usize = alloy::eips::eip4844::BYTES_PER_BLOB;
            if item.data.is_empty() || !item.data.len().is_multiple_of(SIZE) {
                return Err(format!("raw blobs of {} bytes", item.data.len()));
            }
            let blobs: Vec<alloy::eips::eip4844::Blob> = item
                .data
                .chunks(SIZE)
                .map(|c| alloy::eips::eip4844::Blob::try_from(c).expect("exact blob size"))
                .collect();
            if blobs_payload(&blobs).is_some() {
                return Err("raw blobs that are a canonical payload: give the payload".into());
            }
            Ok((keccak256(versioned_hashes(&blobs).map_err(|e| format!("KZG: {e}"))?.concat()), None))
        }
        k => Err(format!("unknown item kind {k}")),
    }
}

/// The data hashes of a list whose items are plain bytes (forced transactions, deposits).
fn plain_hashes(list: &'static str, ev: &ListEvidence) -> Result<Vec<B256>, EvidenceError> {
    ev.items
        .iter()
        .map(|i| match i.kind {
            kind::BYTES => Ok(keccak256(&i.data)),
            k => Err(EvidenceError::Records { list, why: format!("item of kind {k}: only plain bytes") }),
        })
        .collect()
}

/// Checks a list against its records: every record in `[from, to)` has its item (whose data
/// hash is `hashes[i]`), the records on each side are outside `[lo, hi]` (so none inside was left
/// out), and returns the items.
fn check_list<'a>(
    list: &'static str,
    w: &RecordWindow,
    ev: &'a ListEvidence,
    lo: Option<u64>,
    hi: u64,
    hashes: &[B256],
) -> Result<&'a [Item], EvidenceError> {
    let err = |why: String| EvidenceError::Records { list, why };
    if w.from > w.to || w.to > w.total {
        return Err(err(format!("range [{}, {}) of {}", w.from, w.to, w.total)));
    }
    let has_before = w.from > 0;
    let has_after = w.to < w.total;
    let expected = (w.to - w.from) as usize + has_before as usize + has_after as usize;
    if w.records.len() != expected {
        return Err(err(format!("{} records for a window of {expected}", w.records.len())));
    }
    if ev.before.len() != has_before as usize || ev.after.len() != has_after as usize {
        return Err(err("the records beside the range are not both given".into()));
    }
    if ev.items.len() != (w.to - w.from) as usize || hashes.len() != ev.items.len() {
        return Err(err(format!("{} items for {} records", ev.items.len(), w.to - w.from)));
    }
    let mut records = w.records.iter();
    if let Some(b) = ev.before.first() {
        if record_hash(b.data_hash, b.l1_block) != *records.next().expect("counted") {
            return Err(err("the record before the range differs".into()));
        }
        if lo.is_some_and(|lo| b.l1_block >= lo) {
            return Err(err(format!("the record before the range is from L1 block {}, inside it", b.l1_block)));
        }
    }
    for (i, item) in ev.items.iter().enumerate() {
        if record_hash(hashes[i], item.l1_block) != *records.next().expect("counted") {
            return Err(err(format!("item {} does not match its record", w.from + i as u64)));
        }
    }
    if let Some(a) = ev.after.first() {
        if record_hash(a.data_hash, a.l1_block) != *records.next().expect("counted") {
            return Err(err("the record after the range differs".into()));
        }
        if a.l1_block <= hi {
            return Err(err(format!("the record after the range is from L1 block {}, inside it", a.l1_block)));
        }
    }
    Ok(&ev.items)
}

/// Checks `ev` against `l1` and derives the L2 block after `parent` (whose header's hash and
/// extra data give the safe head) from it.
pub fn derive_proven(
    cfg: &RollupConfig,
    parent: &Header,
    l1: &L1Records,
    ev: &DeriveEvidence,
) -> Result<DerivedBlock, EvidenceError> {
    let genesis = cfg.l1_genesis.number;
    let safe = SafeHead::of(parent.number, parent.hash_slow(), &parent.extra_data, genesis);

    // Headers: consecutive, ending at the anchor, starting no later than the parent's origin.
    let mut headers = Vec::with_capacity(ev.headers.len());
    for (i, raw) in ev.headers.iter().enumerate() {
        let mut buf = raw.as_ref();
        let h = Header::decode(&mut buf).map_err(|source| EvidenceError::Header { index: i, source })?;
        if !buf.is_empty() {
            return Err(EvidenceError::Headers(format!("header {i}: trailing bytes")));
        }
        headers.push((h.hash_slow(), h));
    }
    let (anchor_number, anchor_hash) = l1.anchor;
    let Some((last_hash, last)) = headers.last() else { return Err(EvidenceError::Headers("none given".into())) };
    if last.number != anchor_number || *last_hash != anchor_hash || anchor_hash.is_zero() {
        return Err(EvidenceError::Headers(format!("the last header is not the anchor, L1 block {anchor_number}")));
    }
    // Far beyond any real chain: refused before any arithmetic on them can overflow.
    const FAR: u64 = 1 << 48;
    if anchor_number >= FAR || safe.number.0 >= FAR || safe.epoch.0 > anchor_number {
        return Err(EvidenceError::Malformed(format!(
            "parent block {} with origin {} and anchor {anchor_number} are out of range",
            safe.number, safe.epoch
        )));
    }
    for w in headers.windows(2) {
        if w[1].1.parent_hash != w[0].0 || w[0].1.number.checked_add(1) != Some(w[1].1.number) {
            return Err(EvidenceError::Headers(format!(
                "block {} does not follow block {}",
                w[1].1.number, w[0].1.number
            )));
        }
    }
    let first_header = headers[0].1.number;
    if first_header > safe.epoch.0 {
        return Err(EvidenceError::Headers(format!(
            "headers start at L1 block {first_header}, after the parent's origin {}",
            safe.epoch
        )));
    }
    let hi = anchor_number;
    let lo = batch_window_start(cfg, &safe);
    let start = lo.min(first_header.max(genesis));

    // Records: complete over the window, each item its record's data.
    // Batch data once: a blob batch's hashes come from KZG commitments, the costly part.
    let batch_data: Vec<(B256, Option<Vec<u8>>)> = ev
        .batches
        .items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            batch_data(item).map_err(|why| EvidenceError::Records { list: "batches", why: format!("item {i}: {why}") })
        })
        .collect::<Result<_, _>>()?;
    let hashes: Vec<B256> = batch_data.iter().map(|d| d.0).collect();
    let batches = check_list("batches", &l1.batches, &ev.batches, Some(lo), hi, &hashes)?;
    let deposit_lo = Some(first_header.max(genesis.saturating_add(1)));
    let deposits =
        check_list("deposits", &l1.deposits, &ev.deposits, deposit_lo, hi, &plain_hashes("deposits", &ev.deposits)?)?;
    if l1.forced.from != safe.forced_index.0 {
        return Err(EvidenceError::Records {
            list: "forced",
            why: format!(
                "the range starts at {}, not at the parent's forced index {}",
                l1.forced.from, safe.forced_index
            ),
        });
    }
    let forced = check_list("forced", &l1.forced, &ev.forced, None, hi, &plain_hashes("forced", &ev.forced)?)?;

    // The L1 blocks derivation reads, from `start` to the anchor.
    let headed: std::collections::BTreeMap<u64, &(B256, Header)> = headers.iter().map(|h| (h.1.number, h)).collect();
    let mut blocks: Vec<L1BlockData> = (start..=hi)
        .map(|n| {
            let mut b = L1BlockData::default();
            b.origin.number = n;
            if let Some((hash, h)) = headed.get(&n) {
                b.origin = L1Origin {
                    number: n,
                    hash: *hash,
                    timestamp: h.timestamp,
                    base_fee: h.base_fee_per_gas.unwrap_or_default() as u128,
                    blob_base_fee: h.blob_fee(alloy::eips::eip7840::BlobParams::prague()).unwrap_or(1),
                };
                b.parent_hash = h.parent_hash;
            }
            b
        })
        .collect();
    // A block without a header stands in for the one before the first header: give it the hash
    // that header names, so the pipeline sees an unbroken chain.
    if first_header > start {
        blocks[(first_header - 1 - start) as usize].origin.hash = headers[0].1.parent_hash;
    }
    let slot = |n: u64| (n > genesis && n >= start && n <= hi).then(|| (n - start) as usize);
    for (item, (_, payload)) in batches.iter().zip(batch_data) {
        if item.l1_block < lo {
            continue;
        }
        if let (Some(i), Some(payload)) = (slot(item.l1_block), payload) {
            blocks[i].batches.push(payload);
        }
    }
    for item in deposits {
        let Some(i) = slot(item.l1_block) else { continue };
        let Some((hash, _)) = headed.get(&item.l1_block) else { continue };
        let Ok((from, to, version, opaque)) = <(Address, Address, U256, Bytes)>::abi_decode_params(&item.data) else {
            return Err(EvidenceError::Malformed("a deposit item is not abi.encode(from, to, version, data)".into()));
        };
        // A deposit the nodes cannot read is skipped by them too.
        if let Ok(d) = deposit_from_event(from, to, version, &opaque, *hash) {
            blocks[i].deposits.push(d);
        }
    }
    let mut pipeline = Pipeline::starting_at(cfg.clone(), start, safe.forced_index.0);
    for item in forced {
        match slot(item.l1_block) {
            Some(i) => blocks[i].forced.push(item.data.clone()),
            None if item.l1_block < start && item.l1_block > genesis => {
                pipeline.push_forced(item.l1_block, item.data.clone())
            }
            None => {}
        }
    }

    for b in blocks {
        pipeline.push_l1(b)?;
        if let Some(d) = pipeline.next(&safe) {
            return Ok(d);
        }
    }
    Err(EvidenceError::Undecided(safe.number.0 + 1))
}

/// The ABI form of the rollup's derivation parameters, as the step verifier stores them.
pub type DeriveRules = aqueduct_contracts::rollup::step_verifier::IExecute::DeriveRules;

/// `cfg`'s derivation parameters (and the fee recipient of its blocks) for the L1 verifier.
pub fn derive_rules(cfg: &RollupConfig, beneficiary: Address) -> DeriveRules {
    DeriveRules {
        l1Genesis: cfg.l1_genesis.number,
        l2GenesisTime: cfg.l2_genesis_time,
        blockTimeMs: cfg.block_time_ms,
        seqWindow: cfg.seq_window,
        channelTimeout: cfg.channel_timeout,
        maxChannelBytes: cfg.max_channel_bytes as u64,
        beneficiary,
    }
}

/// The rollup parameters derivation reads, back from [`derive_rules`] (addresses and fee
/// parameters it does not read stay empty).
pub fn config_of(r: &DeriveRules, l2_chain_id: u64) -> Result<(RollupConfig, Address), EvidenceError> {
    let cfg = RollupConfig {
        l2_chain_id,
        block_time_ms: r.blockTimeMs,
        seq_window: r.seqWindow,
        channel_timeout: r.channelTimeout,
        max_channel_bytes: usize::try_from(r.maxChannelBytes)
            .map_err(|_| EvidenceError::Malformed("max channel bytes".into()))?,
        portal: Address::ZERO,
        inbox: Address::ZERO,
        oracle: Address::ZERO,
        dispute_game: Address::ZERO,
        batcher: Address::ZERO,
        l1_genesis: L1Origin { number: r.l1Genesis, ..Default::default() },
        l2_genesis_time: r.l2GenesisTime,
        compression_ppm: 0,
        base_fee_scalar: 0,
        blob_base_fee_scalar: 0,
    };
    cfg.validate().map_err(EvidenceError::Malformed)?;
    const FAR: u64 = 1 << 40;
    if [r.l1Genesis, r.l2GenesisTime, r.blockTimeMs, r.seqWindow, r.channelTimeout].iter().any(|v| *v >= FAR) {
        return Err(EvidenceError::Malformed("derivation parameters out of range".into()));
    }
    Ok((cfg, r.beneficiary))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Batch, ChannelBuilder, Compressor, encode_frames};
    use proptest::prelude::*;

    const GENESIS: u64 = 10;

    fn cfg() -> RollupConfig {
        RollupConfig {
            l2_chain_id: 42,
            block_time_ms: 1000,
            seq_window: 4,
            channel_timeout: 6,
            max_channel_bytes: 1 << 20,
            portal: Address::ZERO,
            inbox: Address::ZERO,
            oracle: Address::ZERO,
            dispute_game: Address::ZERO,
            batcher: Address::ZERO,
            l1_genesis: L1Origin { number: GENESIS, ..Default::default() },
            l2_genesis_time: 1000,
            compression_ppm: 700_000,
            base_fee_scalar: 0,
            blob_base_fee_scalar: 0,
        }
    }

    /// A little L1: real headers 0..=40 and the records of what the rollup's contracts saw.
    struct World {
        headers: Vec<Header>,
        batches: Vec<(Vec<u8>, u64)>,
        forced: Vec<(Bytes, u64)>,
        deposits: Vec<(Bytes, u64)>,
        parent: Header,
    }

    fn origin(h: &Header) -> L1Origin {
        L1Origin {
            number: h.number,
            hash: h.hash_slow(),
            timestamp: h.timestamp,
            base_fee: h.base_fee_per_gas.unwrap_or_default() as u128,
            blob_base_fee: h.blob_fee(alloy::eips::eip7840::BlobParams::prague()).unwrap_or(1),
        }
    }

    fn payload(b: &Batch) -> Vec<u8> {
        let mut c = ChannelBuilder::new([b.number as u8; 16], Compressor::Zstd(3));
        c.add(b);
        encode_frames(&c.close(100_000).frames)
    }

    fn world() -> World {
        let mut headers: Vec<Header> = Vec::new();
        for n in 0..=40u64 {
            let parent_hash = headers.last().map(|h| h.hash_slow()).unwrap_or_default();
            headers.push(Header {
                number: n,
                parent_hash,
                timestamp: 1000 + n.saturating_sub(GENESIS) * 2,
                base_fee_per_gas: Some(7 + n),
                ..Default::default()
            });
        }
        let parent = Header { number: 0, extra_data: Bytes::from(vec![1, 2, 3]), ..Default::default() };
        let ph = parent.hash_slow();
        let cfg = cfg();
        let tx = |b: u8| Bytes::from(vec![0x02, b, b]);
        // Block 1 keeps origin 10; its batch lands in L1 block 13, after an invalid one for it.
        let wrong = Batch {
            number: 1,
            parent_hash: B256::repeat_byte(9),
            epoch_number: GENESIS,
            epoch_hash: headers[10].hash_slow(),
            timestamp: cfg.block_timestamp(1),
            forced_index: 0,
            transactions: vec![tx(1)],
        };
        let good = Batch { parent_hash: ph, transactions: vec![tx(2), tx(3)], ..wrong.clone() };
        let opaque = [[0u8; 32].as_slice(), &[0u8; 32], &50_000u64.to_be_bytes(), &[0u8]].concat();
        let deposit =
            deposit_item_data(Address::repeat_byte(1), Address::repeat_byte(2), U256::from(3) << 128, &opaque);
        World {
            batches: vec![(b"old".to_vec(), 2), (payload(&wrong), 12), (payload(&good), 13), (b"later".to_vec(), 30)],
            forced: vec![(tx(7), 11), (tx(8), 31)],
            deposits: vec![(deposit, 11)],
            headers,
            parent,
        }
    }

    /// The evidence and records for anchor `anchor`, with the batch window `[bf, bt)`.
    fn evidence(w: &World, anchor: u64, bf: usize, bt: usize) -> (L1Records, DeriveEvidence) {
        let list = |recs: &[(Bytes, u64)], from, to| {
            let recs: Vec<Recorded> = recs.iter().map(|(d, b)| Recorded::bytes(d.clone(), *b)).collect();
            window(&recs, from, to)
        };
        let batches: Vec<(Bytes, u64)> = w.batches.iter().map(|(p, b)| (Bytes::from(p.clone()), *b)).collect();
        let (bw, be) = list(&batches, bf, bt);
        let (fw, fe) = list(&w.forced, 0, 1);
        let (dw, de) = list(&w.deposits, 0, 1);
        let headers =
            w.headers[GENESIS as usize..=anchor as usize].iter().map(|h| alloy_rlp::encode(h).into()).collect();
        let records = L1Records {
            anchor: (anchor, w.headers[anchor as usize].hash_slow()),
            batches: bw,
            forced: fw,
            deposits: dw,
        };
        (records, DeriveEvidence { headers, batches: be, forced: fe, deposits: de })
    }

    /// What a node reading every L1 block from the genesis derives for block 1.
    fn full_pipeline(w: &World) -> DerivedBlock {
        let mut cfg = cfg();
        cfg.l1_genesis = origin(&w.headers[GENESIS as usize]);
        let mut p = Pipeline::new(cfg.clone());
        let safe = SafeHead::of(0, w.parent.hash_slow(), &w.parent.extra_data, GENESIS);
        for n in GENESIS + 1..=40 {
            let h = &w.headers[n as usize];
            let mut b = L1BlockData { origin: origin(h), parent_hash: h.parent_hash, ..Default::default() };
            b.batches = w.batches.iter().filter(|x| x.1 == n).map(|x| x.0.clone()).collect();
            b.forced = w.forced.iter().filter(|x| x.1 == n).map(|x| x.0.clone()).collect();
            for d in w.deposits.iter().filter(|x| x.1 == n) {
                let (from, to, version, opaque) =
                    <(Address, Address, U256, Bytes)>::abi_decode_params(&d.0).expect("a deposit item");
                b.deposits.push(deposit_from_event(from, to, version, &opaque, h.hash_slow()).expect("readable"));
            }
            p.push_l1(b).unwrap();
            if let Some(d) = p.next(&safe) {
                return d;
            }
        }
        panic!("undecided");
    }

    #[test]
    fn proven_derivation_is_the_full_pipelines_and_refuses_anything_incomplete_or_forged() {
        let w = world();
        let truth = full_pipeline(&w);
        assert!(!truth.default);
        assert_eq!(truth.transactions.len(), 2, "the valid batch's transactions");
        // Batches from L1 block 4 (10 - 6) on: the first record (block 2) is the one before.
        let (records, ev) = evidence(&w, 14, 1, 3);
        let derived = derive_proven(&cfg(), &w.parent, &records, &ev).unwrap();
        assert_eq!(derived, truth);
        // Through the codec.
        assert_eq!(DeriveEvidence::decode(&ev.encode()).unwrap(), ev);

        let refused =
            |records: &L1Records, ev: &DeriveEvidence| derive_proven(&cfg(), &w.parent, records, ev).unwrap_err();
        // The good batch left out, its record still there.
        let mut e = ev.clone();
        e.batches.items.pop();
        assert!(matches!(refused(&records, &e), EvidenceError::Records { list: "batches", .. }));
        // Its data changed.
        let mut e = ev.clone();
        e.batches.items[1].data = Bytes::from(b"other".to_vec());
        assert!(matches!(refused(&records, &e), EvidenceError::Records { list: "batches", .. }));
        // A range that stops short of the window: the record after it is inside.
        let (r, e) = evidence(&w, 14, 1, 2);
        assert!(matches!(refused(&r, &e), EvidenceError::Records { list: "batches", .. }), "{:?}", refused(&r, &e));
        // A range that starts late: the record before it is inside.
        let (r, e) = evidence(&w, 14, 2, 3);
        assert!(matches!(refused(&r, &e), EvidenceError::Records { list: "batches", .. }));
        // Forced items from another index than the parent's.
        let mut r = records.clone();
        r.forced.from = 1;
        assert!(matches!(refused(&r, &ev), EvidenceError::Records { list: "forced", .. }));
        // Another hash for the anchor, and a broken header chain.
        let mut r = records.clone();
        r.anchor.1 = B256::repeat_byte(1);
        assert!(matches!(refused(&r, &ev), EvidenceError::Headers(_)));
        let mut e = ev.clone();
        e.headers.remove(2);
        assert!(matches!(refused(&records, &e), EvidenceError::Headers(_)));
        // An anchor before the batch landed decides nothing.
        let (r, e) = evidence(&w, 12, 1, 2);
        assert_eq!(refused(&r, &e), EvidenceError::Undecided(1));
        // Garbage is an error, never a panic.
        assert!(matches!(DeriveEvidence::decode(&[0xc3, 0x01, 0x02]), Err(EvidenceError::Rlp(_))));
    }

    proptest! {
        #[test]
        fn evidence_codec_roundtrips(
            headers in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..64), 0..4),
            items in prop::collection::vec((any::<u64>(), 0u8..3, prop::collection::vec(any::<u8>(), 0..64)), 0..6),
            edge in prop::option::of((any::<[u8; 32]>(), any::<u64>())),
        ) {
            let items: Vec<Item> = items.into_iter().map(|(l1_block, kind, d)| Item { l1_block, kind, data: d.into() }).collect();
            let edges: Vec<Edge> = edge.into_iter().map(|(h, b)| Edge { data_hash: B256::from(h), l1_block: b }).collect();
            let list = ListEvidence { before: edges.clone(), items: items.clone(), after: edges };
            let ev = DeriveEvidence {
                headers: headers.into_iter().map(Bytes::from).collect(),
                batches: list.clone(),
                forced: ListEvidence { items, ..Default::default() },
                deposits: list,
            };
            prop_assert_eq!(DeriveEvidence::decode(&ev.encode()).unwrap(), ev);
        }

        #[test]
        fn arbitrary_evidence_is_an_error_not_a_panic(raw in prop::collection::vec(any::<u8>(), 0..512)) {
            if let Ok(ev) = DeriveEvidence::decode(&raw) {
                let w = world();
                let (records, _) = evidence(&w, 14, 1, 3);
                let _ = derive_proven(&cfg(), &w.parent, &records, &ev);
            }
        }
    }
}
