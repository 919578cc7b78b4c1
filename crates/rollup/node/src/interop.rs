//! A node's side of messages between rollups (OP Stack interop's rules, without a separate
//! supervisor): every rollup this one accepts messages from is derived from the same L1 in this
//! process (a [`crate::Verifier`] of it), and every message a transaction declares is checked
//! against that derivation before the transaction runs. A message is valid in a block with L1
//! origin `O` only when its source block was derived from L1 data at or before `O`, so the check
//! depends on L1 alone: the sequencer, every verifier and a restarted node decide the same, and an
//! L1 reorg that removes the source's batch also removes every block that relied on it.

use std::{collections::BTreeMap, sync::Arc};

use alloy::{
    consensus::Transaction,
    eips::eip2718::Decodable2718,
    primitives::{B256, Log},
    sol_types::{SolCall, SolEvent},
};
use aqueduct_chain::{BlockRef, Chain, ChainTx, Gate, TxGate};
use aqueduct_contracts::interop::L2ToL2Messenger;
use aqueduct_rollup_protocol::{
    DerivedBlock, L1Origin, Predeploys,
    interop::{Identifier, SourceBlock, Verdict, access_list, check, declared, payload},
};
use parking_lot::Mutex;
use tracing::warn;

/// How many L1 block hashes a derived state keeps (the deepest reorg it can tell apart).
const KEPT_L1_HASHES: usize = 100_000;

/// How far a verifier's derivation has come, shared with the rollups that consume its messages.
#[derive(Debug, Default)]
pub struct DerivedState {
    /// For each derived L2 block, the last L1 block it depends on.
    pub sources: BTreeMap<u64, u64>,
    /// Every L1 block up to this one is read, and every L2 block it decides is derived.
    pub through: Option<u64>,
    /// Hashes of the L1 blocks read (the newest [`KEPT_L1_HASHES`]).
    pub l1: BTreeMap<u64, B256>,
}

impl DerivedState {
    /// After a reorg from `first_bad` on: nothing from there counts.
    pub fn rewind(&mut self, first_bad: u64, keep_l2: u64) {
        self.sources.retain(|n, _| *n <= keep_l2);
        self.l1.retain(|n, _| *n < first_bad);
        self.through = self.through.map(|t| t.min(first_bad.saturating_sub(1)));
    }

    /// Derivation is complete through `through`, whose blocks have these hashes.
    pub fn advance(&mut self, through: u64, hashes: impl IntoIterator<Item = (u64, B256)>) {
        self.l1.extend(hashes);
        while self.l1.len() > KEPT_L1_HASHES {
            self.l1.pop_first();
        }
        self.through = Some(through);
    }
}

/// One rollup whose messages this one accepts.
#[derive(Clone)]
pub struct Source {
    pub chain_id: u64,
    /// Its chain as derived from L1 here.
    pub chain: Arc<Chain>,
    pub state: Arc<Mutex<DerivedState>>,
}

/// What the node concludes about one transaction's declared messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TxVerdict {
    /// No messages, or all valid.
    Valid,
    /// A source is not derived through the executing block's origin yet: ask again later.
    NotReady,
    /// A message's source block is not safe at this origin.
    NotSafe,
    Invalid(String),
}

/// The dependency set: the rollups this one accepts messages from.
#[derive(Clone, Default)]
pub struct Interop {
    sources: Vec<Source>,
}

impl Interop {
    pub fn new(sources: Vec<Source>) -> Self {
        Self { sources }
    }

    pub fn is_empty(&self) -> bool {
        self.sources.is_empty()
    }

    /// The verdict on a transaction with this access list, in a block with L1 origin `origin`
    /// and timestamp `timestamp`.
    pub fn verdict(
        &self,
        list: Option<&alloy::eips::eip2930::AccessList>,
        origin: &L1Origin,
        timestamp: u64,
    ) -> TxVerdict {
        let Some(list) = list else { return TxVerdict::Valid };
        let decls = match declared(list) {
            Ok(d) => d,
            Err(e) => return TxVerdict::Invalid(e.to_string()),
        };
        let mut out = TxVerdict::Valid;
        for d in decls {
            let Some(src) = self.sources.iter().find(|s| s.chain_id == d.chain_id) else {
                return TxVerdict::Invalid(format!("chain {} is not in this rollup's dependency set", d.chain_id));
            };
            let state = src.state.lock();
            let ready = state.through.is_some_and(|t| t >= origin.number)
                && state.l1.get(&origin.number).is_none_or(|h| *h == origin.hash);
            if !ready {
                out = TxVerdict::NotReady;
                continue;
            }
            let block = state
                .sources
                .get(&d.block_number)
                .and_then(|l1_source| src.chain.block(BlockRef::Number(d.block_number)).map(|b| (b, *l1_source)));
            drop(state);
            let logs: Vec<_> =
                block.iter().flat_map(|(b, _)| b.receipts.iter().flat_map(|r| r.logs().iter())).collect();
            let source = block.as_ref().map(|(b, l1_source)| SourceBlock {
                timestamp: b.header.timestamp,
                l1_source: *l1_source,
                logs: &logs,
            });
            match check(&d, source, origin.number, timestamp) {
                Verdict::Valid => {}
                Verdict::NotSafe => {
                    if out == TxVerdict::Valid {
                        out = TxVerdict::NotSafe;
                    }
                }
                Verdict::Invalid(why) => return TxVerdict::Invalid(why),
            }
        }
        out
    }

    /// The sequencer's check of pool transactions for a block with this origin and timestamp:
    /// valid messages pass, messages not safe yet wait, wrong ones leave the pool.
    pub fn gate(&self, origin: L1Origin, timestamp: u64) -> TxGate {
        let this = self.clone();
        TxGate(Arc::new(move |tx: &ChainTx| match this.verdict(tx.envelope.access_list(), &origin, timestamp) {
            TxVerdict::Valid => Gate::Pass,
            TxVerdict::NotReady | TxVerdict::NotSafe => Gate::Later,
            TxVerdict::Invalid(why) => Gate::Drop(why),
        }))
    }

    /// Derivation's rule: leaves out of `d` every transaction whose messages are not valid at its
    /// origin. Err while a source is not derived through that origin (derive `d` later).
    pub fn filter(&self, d: &mut DerivedBlock) -> Result<usize, NotReady> {
        if self.is_empty() {
            return Ok(0);
        }
        let mut keep = Vec::with_capacity(d.transactions.len());
        let mut forced = d.forced_count;
        let mut dropped = 0;
        for (i, raw) in d.transactions.iter().enumerate() {
            // Undecodable transactions are skipped later, the same way everywhere.
            let verdict = match alloy::consensus::TxEnvelope::decode_2718(&mut raw.as_ref()) {
                Ok(env) => self.verdict(env.access_list(), &d.origin, d.timestamp),
                Err(_) => TxVerdict::Valid,
            };
            match verdict {
                TxVerdict::Valid => keep.push(raw.clone()),
                TxVerdict::NotReady => return Err(NotReady { origin: d.origin.number }),
                TxVerdict::NotSafe | TxVerdict::Invalid(_) => {
                    warn!(target: "interop", block = d.number.0, ?verdict, "left out a transaction whose message is not valid here");
                    dropped += 1;
                    if i < d.forced_count {
                        forced -= 1;
                    }
                }
            }
        }
        d.transactions = keep;
        d.forced_count = forced;
        Ok(dropped)
    }
}

/// A source rollup is not derived through the L1 block a derived block stands on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a source rollup is not derived through L1 block {origin} yet")]
pub struct NotReady {
    pub origin: u64,
}

/// A message sent on a source rollup: where its `SentMessage` log is, and its payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SentMessage {
    pub id: Identifier,
    /// The log's topics, then its data (what `relayMessage` takes).
    pub payload: alloy::primitives::Bytes,
}

impl SentMessage {
    /// The messenger's `SentMessage` logs of a mined transaction: its block, the index of the
    /// first of its logs in the block, and its logs.
    pub fn from_logs(chain_id: u64, block_number: u64, timestamp: u64, first_index: u32, logs: &[Log]) -> Vec<Self> {
        logs.iter()
            .enumerate()
            .filter(|(_, l)| {
                l.address == Predeploys::L2_TO_L2_MESSENGER
                    && l.topics().first() == Some(&L2ToL2Messenger::SentMessage::SIGNATURE_HASH)
            })
            .map(|(i, l)| Self {
                id: Identifier {
                    origin: l.address,
                    block_number,
                    log_index: first_index + i as u32,
                    timestamp,
                    chain_id,
                },
                payload: payload(l).into(),
            })
            .collect()
    }

    /// `relayMessage(id, payload)` calldata.
    pub fn relay_calldata(&self) -> alloy::primitives::Bytes {
        L2ToL2Messenger::relayMessageCall { id: self.id.to_sol(), sentMessage: self.payload.clone() }
            .abi_encode()
            .into()
    }

    /// The access list that declares this message.
    pub fn access_list(&self) -> alloy::eips::eip2930::AccessList {
        access_list(&[(self.id, alloy::primitives::keccak256(&self.payload))])
    }

    /// The messenger's hash of the message (its key in `successfulMessages`), or None when the
    /// payload is not a `SentMessage` log.
    pub fn message_hash(&self) -> Option<B256> {
        let topics: Vec<B256> = self.payload.chunks(32).take(4).map(B256::from_slice).collect();
        if self.payload.len() < 128 || topics[0] != L2ToL2Messenger::SentMessage::SIGNATURE_HASH {
            return None;
        }
        let log = Log::new_unchecked(self.id.origin, topics.clone(), self.payload[128..].to_vec().into());
        let ev = L2ToL2Messenger::SentMessage::decode_log_data(&log.data).ok()?;
        let source = alloy::primitives::U256::from(self.id.chain_id);
        let h = L2ToL2Messenger::hashMessageCall {
            destination: ev.destination,
            source,
            nonce: ev.messageNonce,
            sender: ev.sender,
            target: ev.target,
            message: ev.message,
        };
        // The contract hashes abi.encode of these fields; the call's arguments are that encoding.
        Some(alloy::primitives::keccak256(&h.abi_encode()[4..]))
    }
}

/// A signed `relayMessage` transaction for `m` on rollup `chain_id`, declaring it (EIP-1559 with
/// the access list; a gas limit of `gas`, the fee cap `max_fee` wei per gas).
pub fn relay_transaction(
    signer: &alloy::signers::local::PrivateKeySigner,
    chain_id: u64,
    nonce: u64,
    max_fee: u128,
    gas: u64,
    m: &SentMessage,
) -> alloy::primitives::Bytes {
    use alloy::{
        consensus::{SignableTransaction, TxEip1559, TxEnvelope},
        eips::eip2718::Encodable2718,
        network::TxSignerSync,
        primitives::{TxKind, U256},
    };
    let mut tx = TxEip1559 {
        chain_id,
        nonce,
        gas_limit: gas,
        max_fee_per_gas: max_fee,
        max_priority_fee_per_gas: 1_000,
        to: TxKind::Call(Predeploys::L2_TO_L2_MESSENGER),
        value: U256::ZERO,
        access_list: m.access_list(),
        input: m.relay_calldata(),
    };
    let sig = signer.sign_transaction_sync(&mut tx).expect("local signing");
    TxEnvelope::Eip1559(tx.into_signed(sig)).encoded_2718().into()
}

/// The messages a mined transaction of `chain` (rollup `chain_id`) sent, or None when it is not
/// mined there.
pub fn sent_in(chain: &Chain, tx: &B256, chain_id: u64) -> Option<Vec<SentMessage>> {
    let (block, i) = chain.transaction(tx)?;
    let first: usize = block.receipts[..i].iter().map(|r| r.logs().len()).sum();
    let logs = block.receipts[i].logs();
    Some(SentMessage::from_logs(chain_id, block.number(), block.header.timestamp, first as u32, logs))
}
