//! A block made from its parent header and its attributes alone, over a witness: what a fault
//! proof runs on L1 to show which block derivation and execution give (the L2 block a batch,
//! deposits and forced transactions decide). It shares every rule with [`crate::Chain`]'s own
//! block building: the same context, the same skipping of invalid transactions, the same header.

use alloy::{
    consensus::{EMPTY_OMMER_ROOT_HASH, Header, proofs::ordered_trie_root_with_encoder},
    eips::{eip2718::Encodable2718, eip7685::EMPTY_REQUESTS_HASH},
    primitives::{Address, B256, Bloom, Bytes, U256, keccak256},
};
use aqueduct_trie::EMPTY_ROOT;
use tracing::debug;

use crate::{
    block::{ChainReceipt, ChainTx},
    builder::{BlockAttributes, BodyExecutor},
    error::ChainError,
    executor::BlockContext,
    overlay::{BlockHashes, Overlay},
    rules::ChainRules,
    state::{HistoricState, StateDiff, StateView},
    stateless::{StatelessError, Witness, root_after},
};

/// The context of the block after `parent` (whose hash is `parent_hash`).
pub fn child_context(
    rules: &ChainRules,
    parent: &Header,
    parent_hash: B256,
    timestamp: u64,
    beneficiary: Address,
    prevrandao: Option<B256>,
) -> BlockContext {
    let number = parent.number + 1;
    BlockContext {
        number,
        timestamp,
        beneficiary,
        gas_limit: rules.gas_limit,
        base_fee: rules.next_base_fee(parent.gas_used, parent.gas_limit, parent.base_fee_per_gas.unwrap_or_default()),
        prevrandao: prevrandao.unwrap_or_else(|| keccak256([parent_hash.as_slice(), &number.to_be_bytes()].concat())),
        excess_blob_gas: rules
            .next_excess_blob_gas(parent.excess_blob_gas.unwrap_or(0), parent.blob_gas_used.unwrap_or(0)),
    }
}

/// The header's extra data: on an L2, the L1 prices, then the attributes' own bytes.
pub fn extra_data(rules: &ChainRules, attrs: &BlockAttributes) -> Bytes {
    match &rules.l2 {
        Some(_) => [attrs.l1_prices.to_extra_data().as_slice(), &attrs.extra_data].concat().into(),
        None => attrs.extra_data.clone(),
    }
}

/// Runs the attributes' deposits, then their transactions (skipping what cannot run, as every
/// node does).
pub fn run_given<S: StateView + ?Sized, H: BlockHashes + ?Sized>(
    exec: &mut BodyExecutor<'_, '_, '_, S, H>,
    attrs: &BlockAttributes,
) -> Result<(), ChainError> {
    for d in &attrs.deposits {
        exec.apply_deposit(d.clone())?;
    }
    for tx in &attrs.transactions {
        if let Err(skip) = exec.apply_tx(tx)? {
            debug!(target: "chain::builder", hash = %tx.hash, ?skip, "skipping given transaction");
        }
    }
    Ok(())
}

/// What executing a block body gave.
pub struct Body {
    pub included: Vec<ChainTx>,
    pub receipts: Vec<ChainReceipt>,
    pub gas_used: u64,
    pub blob_gas_used: u64,
}

/// The header of a block with this context, post-state root and body.
pub fn assemble_header(
    rules: &ChainRules,
    parent_hash: B256,
    ctx: &BlockContext,
    state_root: B256,
    body: &Body,
    extra_data: Bytes,
) -> Header {
    let logs_bloom = body.receipts.iter().fold(Bloom::ZERO, |mut b, r| {
        b.accrue_bloom(&r.bloom());
        b
    });
    let blobs = rules.blob_params.is_some();
    Header {
        parent_hash,
        ommers_hash: EMPTY_OMMER_ROOT_HASH,
        beneficiary: ctx.beneficiary,
        state_root,
        transactions_root: ordered_trie_root_with_encoder(&body.included, |t: &ChainTx, buf| {
            t.envelope.encode_2718(buf)
        }),
        receipts_root: ordered_trie_root_with_encoder(&body.receipts, |r: &ChainReceipt, buf| r.encode_2718(buf)),
        logs_bloom,
        difficulty: U256::ZERO,
        number: ctx.number,
        gas_limit: ctx.gas_limit,
        gas_used: body.gas_used,
        timestamp: ctx.timestamp,
        extra_data,
        mix_hash: ctx.prevrandao,
        nonce: Default::default(),
        base_fee_per_gas: Some(ctx.base_fee),
        withdrawals_root: Some(EMPTY_ROOT),
        blob_gas_used: Some(if blobs { body.blob_gas_used } else { 0 }),
        excess_blob_gas: Some(if blobs { ctx.excess_blob_gas } else { 0 }),
        parent_beacon_block_root: Some(B256::ZERO),
        requests_hash: Some(EMPTY_REQUESTS_HASH),
        ..Default::default()
    }
}

/// The timestamp a child of a block at `parent_ts` gets when `wanted` is asked for.
pub fn child_timestamp(rules: &ChainRules, parent_ts: u64, wanted: u64) -> u64 {
    // L2 blocks faster than a second share timestamps.
    if rules.l2.is_some() { wanted.max(parent_ts) } else { wanted.max(parent_ts + 1) }
}

/// A block built from attributes (never from a pool) over some state.
fn build_over<S: StateView, H: BlockHashes + ?Sized>(
    rules: &ChainRules,
    parent: &Header,
    beneficiary: Address,
    state: &S,
    hashes: &H,
    attrs: &BlockAttributes,
) -> Result<(BlockContext, StateDiff, Body), StatelessError> {
    let parent_hash = parent.hash_slow();
    let ts = child_timestamp(rules, parent.timestamp, attrs.timestamp.unwrap_or(parent.timestamp));
    let ctx = child_context(rules, parent, parent_hash, ts, beneficiary, attrs.prevrandao);
    let mut overlay = Overlay::new(state, hashes);
    let mut exec = BodyExecutor::new(rules, &mut overlay, &ctx, attrs.l1_prices.as_in_header());
    run_given(&mut exec, attrs)?;
    let BodyExecutor { evm, included, receipts, gas_used, blob_gas_used, .. } = exec;
    drop(evm);
    Ok((ctx, overlay.into_diff(), Body { included, receipts, gas_used, blob_gas_used }))
}

/// The block (header and included transactions) that `attrs` make on top of `parent`, reading
/// the parent's state only through `witness`: the same block [`crate::Chain::build_block`] makes.
pub fn build_stateless(
    rules: &ChainRules,
    parent: &Header,
    beneficiary: Address,
    witness: &Witness,
    attrs: &BlockAttributes,
) -> Result<(Header, Vec<ChainTx>), StatelessError> {
    witness.check()?;
    let pre_root = parent.state_root;
    let view = HistoricState::new(&witness.nodes, &witness.codes, pre_root);
    let (ctx, diff, body) = build_over(rules, parent, beneficiary, &view, &witness.block_hashes, attrs)?;
    let (post_root, _) = root_after(&view, &witness.nodes, pre_root, diff)?;
    let header = assemble_header(rules, parent.hash_slow(), &ctx, post_root, &body, extra_data(rules, attrs));
    Ok((header, body.included))
}

/// Like [`build_stateless`] over any state view (the node recording a witness for it).
pub fn build_diff<S: StateView, H: BlockHashes + ?Sized>(
    rules: &ChainRules,
    parent: &Header,
    beneficiary: Address,
    state: &S,
    hashes: &H,
    attrs: &BlockAttributes,
) -> Result<StateDiff, StatelessError> {
    Ok(build_over(rules, parent, beneficiary, state, hashes, attrs)?.1)
}
