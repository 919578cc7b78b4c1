//! The optimistic rollup as the dashboard reads it: the sequencer's and the verifier's heads, the
//! batcher's posts on L1, outputs and their challenge windows, dispute games and their moves, and
//! withdrawals from their start on L2 to their payout on L1.

use std::collections::{BTreeMap, VecDeque};

use alloy::{
    consensus::Transaction as _,
    eips::BlockNumberOrTag,
    primitives::{Address, B256, U256},
    providers::Provider,
    rpc::types::Filter,
    sol_types::SolEvent,
};
use aqueduct_contracts::rollup::{DisputeGame, L2ToL1MessagePasser, OutputOracle, RollupPortal};
use aqueduct_eth::{L1Client, L1Error};
use serde::Serialize;

use crate::snapshot::WithdrawalView;

/// The L2->L1 message passer, at its predeploy address.
const MESSAGE_PASSER: Address = alloy::primitives::address!("0x4200000000000000000000000000000000000016");
const KEEP_BATCHES: usize = 10;
const SHOW_OUTPUTS: u64 = 6;
const SHOW_GAMES: u64 = 6;
/// Withdrawals followed at once (the oldest unpaid are dropped from view beyond this).
const KEEP_WITHDRAWALS: usize = 50;
/// L1 and L2 blocks read back when the dashboard starts.
const LOOKBACK: u64 = 63;

/// The optimistic rollup's L1 side.
#[derive(Clone, Copy, Debug)]
pub struct RollupAddrs {
    pub oracle: Address,
    pub inbox: Address,
    pub batcher: Address,
    pub portal: Address,
    pub dispute_game: Address,
}

/// One batcher post on L1.
#[derive(Clone, Debug, Serialize)]
pub struct BatchView {
    pub l1_block: u64,
    pub tx: B256,
    /// `calldata` or `blobs`.
    pub kind: &'static str,
    /// Calldata bytes, or the blobs' bytes.
    pub bytes: u64,
    pub gas_used: u64,
    pub blob_gas_used: u64,
    /// What the batcher paid L1 for it.
    pub cost_wei: String,
}

/// A proposed output and its challenge window.
#[derive(Clone, Debug, Serialize)]
pub struct OutputView {
    pub index: u64,
    pub l2_block: u64,
    pub root: B256,
    /// Until withdrawals against it can be paid (0: final).
    pub seconds_left: u64,
    pub disputed: bool,
}

/// A dispute game on L1.
#[derive(Clone, Debug, Serialize)]
pub struct GameView {
    pub id: u64,
    pub output_index: u64,
    pub challenger: Address,
    pub defender: Address,
    /// `in progress`, `challenger won`, `defender won` or `moot`.
    pub status: &'static str,
    /// `blocks` (bisecting L2 blocks) or `steps` (bisecting one block's transactions).
    pub phase: &'static str,
    pub moves: u32,
    /// The disputed range: `lo` is agreed, `hi` disputed.
    pub lo: u64,
    pub hi: u64,
    /// Whose turn it is and what is left of their clock (in progress only).
    pub to_move: Option<&'static str>,
    pub clock_left: Option<u64>,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct L2View {
    pub head: u64,
    /// The verifier's head: derived from L1 alone.
    pub safe_head: Option<u64>,
    pub blocks_per_sec: f64,
    pub batches: Vec<BatchView>,
    pub outputs: Vec<OutputView>,
    pub outputs_total: u64,
    pub games: Vec<GameView>,
    pub games_total: u64,
}

/// A withdrawal seen on L2 and not yet paid on L1.
#[derive(Clone, Debug)]
struct Pending {
    l2_block: u64,
    l2_tx: B256,
    value: U256,
}

/// Reads the optimistic rollup, keeping what it needs across polls.
pub(crate) struct Optimistic {
    pub(crate) seq: L1Client,
    ver: Option<L1Client>,
    addrs: Option<RollupAddrs>,
    batches: VecDeque<BatchView>,
    scanned_l1: Option<u64>,
    scanned_l2: Option<u64>,
    withdrawals: BTreeMap<B256, Pending>,
}

impl Optimistic {
    pub(crate) fn new(seq: L1Client, ver: Option<L1Client>, addrs: Option<RollupAddrs>) -> Self {
        Self {
            seq,
            ver,
            addrs,
            batches: VecDeque::new(),
            scanned_l1: None,
            scanned_l2: None,
            withdrawals: BTreeMap::new(),
        }
    }

    /// The rollup's view, and its withdrawals not yet paid.
    pub(crate) async fn poll(&mut self, l1: &L1Client, l1_head: u64) -> Result<(L2View, Vec<WithdrawalView>), L1Error> {
        let mut v = L2View { head: self.seq.head().await?, ..Default::default() };
        if let Some(ver) = &self.ver {
            v.safe_head = ver.head().await.ok();
        }
        let Some(r) = self.addrs else { return Ok((v, vec![])) };
        self.scan_batches(l1, r, l1_head).await?;
        v.batches = self.batches.iter().rev().cloned().collect();
        let total: u64 = l1.read(r.oracle, OutputOracle::nextOutputIndexCall {}).await?.saturating_to();
        v.outputs_total = total;
        let mut latest_output_block = None;
        for index in (total.saturating_sub(SHOW_OUTPUTS)..total).rev() {
            let i = U256::from(index);
            let o = l1.read(r.oracle, OutputOracle::getOutputCall { index: i }).await?;
            let left: u64 = l1.read(r.oracle, OutputOracle::secondsLeftCall { index: i }).await?.saturating_to();
            let disputed = l1.read(r.oracle, OutputOracle::isDisputedCall { index: i }).await?;
            latest_output_block = latest_output_block.max(Some(o.l2BlockNumber));
            v.outputs.push(OutputView {
                index,
                l2_block: o.l2BlockNumber,
                root: o.outputRoot,
                seconds_left: left,
                disputed,
            });
        }
        if r.dispute_game != Address::ZERO {
            (v.games, v.games_total) = games(l1, r.dispute_game).await?;
        }
        let withdrawals = self.withdrawals(l1, r, v.head, latest_output_block).await?;
        Ok((v, withdrawals))
    }

    /// Reads the L1 blocks not yet scanned (at most the last 64) for the batcher's posts.
    async fn scan_batches(&mut self, l1: &L1Client, r: RollupAddrs, head: u64) -> Result<(), L1Error> {
        let from = self.scanned_l1.map_or(0, |s| s + 1).max(head.saturating_sub(LOOKBACK));
        for n in from..=head {
            let Some(block) = l1.provider().get_block_by_number(BlockNumberOrTag::Number(n)).full().await? else {
                continue;
            };
            for tx in block.transactions.txns() {
                if tx.to() != Some(r.inbox) || tx.inner.signer() != r.batcher {
                    continue;
                }
                let hash = *tx.inner.tx_hash();
                let Some(rc) = l1.receipt(hash).await? else { continue };
                let blobs = tx.blob_versioned_hashes().map_or(0, |h| h.len()) as u64;
                let blob_gas = rc.blob_gas_used.unwrap_or(0);
                let cost = U256::from(rc.gas_used) * U256::from(rc.effective_gas_price)
                    + U256::from(blob_gas) * U256::from(rc.blob_gas_price.unwrap_or(0));
                self.batches.push_back(BatchView {
                    l1_block: n,
                    tx: hash,
                    kind: if blobs > 0 { "blobs" } else { "calldata" },
                    bytes: if blobs > 0 { blobs * 131_072 } else { tx.input().len() as u64 },
                    gas_used: rc.gas_used,
                    blob_gas_used: blob_gas,
                    cost_wei: cost.to_string(),
                });
                while self.batches.len() > KEEP_BATCHES {
                    self.batches.pop_front();
                }
            }
            self.scanned_l1 = Some(n);
        }
        Ok(())
    }

    /// New withdrawals from the L2 message passer's events, then each unpaid one's standing on
    /// L1: waiting for an output, provable, proven with its time left, or paid (dropped).
    async fn withdrawals(
        &mut self,
        l1: &L1Client,
        r: RollupAddrs,
        l2_head: u64,
        latest_output_block: Option<u64>,
    ) -> Result<Vec<WithdrawalView>, L1Error> {
        let from = self.scanned_l2.map_or(0, |s| s + 1).max(l2_head.saturating_sub(LOOKBACK));
        if from <= l2_head {
            let filter = Filter::new()
                .address(MESSAGE_PASSER)
                .event_signature(L2ToL1MessagePasser::MessagePassed::SIGNATURE_HASH)
                .from_block(from)
                .to_block(l2_head);
            for log in self.seq.provider().get_logs(&filter).await? {
                let Ok(ev) = L2ToL1MessagePasser::MessagePassed::decode_log(&log.inner) else { continue };
                self.withdrawals.insert(
                    ev.withdrawalHash,
                    Pending {
                        l2_block: log.block_number.unwrap_or(l2_head),
                        l2_tx: log.transaction_hash.unwrap_or_default(),
                        value: ev.value,
                    },
                );
            }
            while self.withdrawals.len() > KEEP_WITHDRAWALS {
                let oldest = self.withdrawals.iter().min_by_key(|(_, p)| p.l2_block).map(|(h, _)| *h);
                oldest.map(|h| self.withdrawals.remove(&h));
            }
            self.scanned_l2 = Some(l2_head);
        }
        let mut out = Vec::new();
        let mut paid = Vec::new();
        for (hash, p) in &self.withdrawals {
            if l1.read(r.portal, RollupPortal::finalizedWithdrawalsCall(*hash)).await? {
                paid.push(*hash);
                continue;
            }
            let proven = l1.read(r.portal, RollupPortal::provenWithdrawalsCall(*hash)).await?;
            let (state, seconds_left) = if proven.timestamp != 0 {
                let left: u64 =
                    l1.read(r.portal, RollupPortal::secondsLeftCall { withdrawalHash: *hash }).await?.saturating_to();
                (if left == 0 { "proven, can be paid now" } else { "proven, in its challenge window" }, Some(left))
            } else if latest_output_block.is_some_and(|b| b >= p.l2_block) {
                ("covered by an output: can be proven", None)
            } else {
                ("waiting for an output to cover its L2 block", None)
            };
            out.push(WithdrawalView {
                family: "optimistic",
                id: p.l2_tx,
                amount_wei: p.value.to_string(),
                state: state.into(),
                seconds_left,
            });
        }
        for h in paid {
            self.withdrawals.remove(&h);
        }
        Ok(out)
    }
}

/// The last games on the dispute contract, newest first, and how many there are.
async fn games(l1: &L1Client, game: Address) -> Result<(Vec<GameView>, u64), L1Error> {
    let total: u64 = l1.read(game, DisputeGame::gameCountCall {}).await?.saturating_to();
    let mut out = Vec::new();
    for id in (total.saturating_sub(SHOW_GAMES)..total).rev() {
        let g = l1.read(game, DisputeGame::getGameCall { gameId: U256::from(id) }).await?;
        let status = match g.status {
            1 => "in progress",
            2 => "challenger won",
            3 => "defender won",
            4 => "moot",
            _ => "none",
        };
        let (to_move, clock_left) = if g.status == 1 {
            let c = l1.read(game, DisputeGame::clockLeftCall { gameId: U256::from(id) }).await?;
            (Some(if c.defender { "defender" } else { "challenger" }), Some(c.left.saturating_to()))
        } else {
            (None, None)
        };
        out.push(GameView {
            id,
            output_index: g.outputIndex,
            challenger: g.challenger,
            defender: g.defender,
            status,
            phase: if g.phase == 0 { "blocks" } else { "steps" },
            moves: g.moves,
            lo: g.lo,
            hi: g.hi,
            to_move,
            clock_left,
        });
    }
    Ok((out, total))
}
