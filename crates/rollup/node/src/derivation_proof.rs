//! Assembles the evidence `DisputeGame.disproveBlock` takes (DESIGN D6): the L1 headers, batches,
//! forced transactions and deposits that decide one L2 block, read over JSON-RPC, with the
//! witness of the block built from them. The same checks the L1 runs are run here first
//! ([`derive_proven`]), so a proof that would not hold is never sent.

use std::collections::BTreeMap;

use alloy::{
    eips::BlockNumberOrTag,
    primitives::{B256, Bytes, U256, keccak256},
    providers::Provider,
    rpc::types::Filter,
    sol_types::SolEvent,
};
use aqueduct_chain::{BlockRef, Chain};
use aqueduct_contracts::rollup::{BatchInbox, RollupPortal};
use aqueduct_rollup_protocol::{
    RollupConfig, SafeHead, blobs_payload,
    evidence::{
        DeriveEvidence, EvidenceError, Item, L1Records, Recorded, batch_window_start, deposit_item_data, derive_proven,
        kind, window,
    },
};

use crate::{
    error::ServiceError,
    l1::{L1Client, L1Error, RollupL1},
};

/// Everything `disproveBlock` takes besides the game.
#[derive(Clone, Debug)]
pub struct DerivationProof {
    pub parent_header: Bytes,
    pub anchor: u64,
    /// [batchFrom, batchTo, forcedFrom, forcedTo, depositFrom, depositTo].
    pub ranges: [U256; 6],
    pub evidence: Bytes,
    pub witness: Bytes,
    /// The hash of the block the proof derives.
    pub block_hash: B256,
}

/// Every record of the inbox and the portal, by list and index, read from their logs.
async fn read_records(
    l1: &L1Client,
    cfg: &RollupConfig,
) -> Result<(Vec<Recorded>, Vec<Recorded>, Vec<Recorded>, Vec<u64>), ServiceError> {
    let filter = Filter::new().from_block(0).to_block(BlockNumberOrTag::Latest).address(vec![cfg.inbox, cfg.portal]);
    let logs = l1.provider().get_logs(&filter).await?;
    let (mut batches, mut forced, mut deposits) = (BTreeMap::new(), BTreeMap::new(), BTreeMap::new());
    let mut anchors = Vec::new();
    for log in logs {
        let block = log.block_number.unwrap_or_default();
        let topic = log.topic0().copied().unwrap_or_default();
        if log.address() == cfg.inbox && topic == BatchInbox::BatchSubmitted::SIGNATURE_HASH {
            let ev = BatchInbox::BatchSubmitted::decode_log(&log.inner)?;
            anchors.push(block - 1);
            let (data_hash, item) = if ev.blobHashes.is_empty() {
                let missing = ServiceError::MissingRecord { what: "batch", index: ev.index.saturating_to() };
                let tx = log.transaction_hash.ok_or(missing)?;
                let frames = l1
                    .calldata_payload(tx)
                    .await?
                    .ok_or(ServiceError::MissingRecord { what: "batch", index: ev.index.saturating_to() })?;
                (keccak256(&frames), Item { l1_block: block, kind: kind::BYTES, data: frames.into() })
            } else {
                let blobs = l1
                    .blobs(&ev.blobHashes)
                    .await?
                    .ok_or(ServiceError::MissingRecord { what: "batch blobs", index: ev.index.saturating_to() })?;
                let item = match blobs_payload(&blobs) {
                    Some(p) => Item { l1_block: block, kind: kind::BLOB_PAYLOAD, data: p.into() },
                    None => Item { l1_block: block, kind: kind::RAW_BLOBS, data: blobs.concat().into() },
                };
                (keccak256(ev.blobHashes.concat()), item)
            };
            batches.insert(ev.index, Recorded { data_hash, l1_block: block, item });
        } else if log.address() == cfg.inbox && topic == BatchInbox::TransactionForced::SIGNATURE_HASH {
            let ev = BatchInbox::TransactionForced::decode_log(&log.inner)?;
            forced.insert(ev.index, Recorded::bytes(ev.data.transaction.clone(), block));
        } else if log.address() == cfg.portal && topic == RollupPortal::TransactionDeposited::SIGNATURE_HASH {
            let ev = RollupPortal::TransactionDeposited::decode_log(&log.inner)?;
            let data = deposit_item_data(ev.from, ev.to, ev.version, &ev.opaqueData);
            deposits.insert(ev.version >> 128, Recorded::bytes(data, block));
        }
    }
    let dense =
        |what: &'static str, m: BTreeMap<U256, Recorded>| -> Result<Vec<Recorded>, ServiceError> {
            m.into_iter()
                .enumerate()
                .map(|(i, (k, r))| {
                    if k == U256::from(i) { Ok(r) } else { Err(ServiceError::MissingRecord { what, index: i as u64 }) }
                })
                .collect()
        };
    Ok((dense("batch", batches)?, dense("forced transaction", forced)?, dense("deposit", deposits)?, anchors))
}

/// The proof that L2 block `n` is what L1's data and block `n - 1` of `chain` make.
pub async fn derivation_proof(
    l1: &L1Client,
    cfg: &RollupConfig,
    chain: &Chain,
    n: u64,
) -> Result<DerivationProof, ServiceError> {
    let parent = chain
        .block(BlockRef::Number(n.saturating_sub(1)))
        .filter(|_| n > 0)
        .ok_or(ServiceError::NoL2Block(n.saturating_sub(1)))?;
    let safe = SafeHead::of(parent.number(), parent.hash, &parent.header.extra_data, cfg.l1_genesis.number);
    let (batches, forced, deposits, mut anchors) = read_records(l1, cfg).await?;
    let lo = batch_window_start(cfg, &safe);
    let first_header = safe.epoch.0;
    anchors.retain(|a| *a >= first_header);
    anchors.sort_unstable();
    anchors.dedup();
    let first_at = |list: &[Recorded], from: u64| list.partition_point(|r| r.l1_block < from);
    let mut headers: Vec<Bytes> = Vec::new();
    for anchor in anchors {
        let anchor_hash: B256 = l1.read(cfg.inbox, BatchInbox::l1HashesCall(U256::from(anchor))).await?;
        // Headers from the origin on, read once across the anchors tried.
        for b in first_header + headers.len() as u64..=anchor {
            let block = l1
                .provider()
                .get_block_by_number(BlockNumberOrTag::Number(b))
                .await?
                .ok_or(L1Error::MissingBlock(b))?;
            headers.push(Bytes::from(alloy::rlp::encode(&block.header.inner)));
        }
        let after = |list: &[Recorded]| list.partition_point(|r| r.l1_block <= anchor);
        let (bf, bt) = (first_at(&batches, lo), after(&batches));
        let (ff, ft) = (safe.forced_index.0 as usize, after(&forced).max(safe.forced_index.0 as usize));
        let (df, dt) = (first_at(&deposits, first_header.max(cfg.l1_genesis.number + 1)), after(&deposits));
        let (bw, be) = window(&batches, bf, bt);
        let (fw, fe) = window(&forced, ff.min(forced.len()), ft.min(forced.len()));
        let (dw, de) = window(&deposits, df, dt);
        let records = L1Records { anchor: (anchor, anchor_hash), batches: bw, forced: fw, deposits: dw };
        let evidence = DeriveEvidence { headers: headers.clone(), batches: be, forced: fe, deposits: de };
        let derived = match derive_proven(cfg, &parent.header, &records, &evidence) {
            Ok(d) => d,
            Err(EvidenceError::Undecided(_)) => continue,
            Err(e) => return Err(e.into()),
        };
        let attrs = derived.attributes(chain.rules());
        let (witness, header, _) = chain.rebuild_witness(n, &attrs)?;
        let u = |v: usize| U256::from(v);
        return Ok(DerivationProof {
            parent_header: alloy::rlp::encode(&parent.header).into(),
            anchor,
            ranges: [u(bf), u(bt), u(ff), u(ft), u(df), u(dt)],
            evidence: evidence.encode().into(),
            witness: witness.encode().into(),
            block_hash: header.hash_slow(),
        });
    }
    Err(ServiceError::NotAnchored(n))
}
