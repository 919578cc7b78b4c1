//! What a malicious proposer lies about: seeded random corruptions of the real L2 state, each
//! turned into the outputs and step roots the liar claims in its game. Every corrupted root is
//! the root of a real trie (the true state with the change applied), not a random hash.

use std::collections::HashMap;

use alloy::{
    consensus::{SignableTransaction, TxEip1559, TxEnvelope},
    eips::Encodable2718,
    network::TxSignerSync,
    primitives::{Address, B256, Bytes, TxKind, U256},
    signers::local::PrivateKeySigner,
};
use aqueduct_chain::{
    BlockAttributes, BlockRef, Chain, L1Prices, SealedBlock, StateDiff, StateView, StepBlock, TxBody,
};
use aqueduct_rollup_node::{Challenger, output_at, withdrawals_upto};
use aqueduct_rollup_protocol::{MessageTree, OutputRoot, Predeploys, Withdrawal};
use aqueduct_trie::TrieError;
use rand::{Rng, seq::IndexedRandom};
use serde::{Deserialize, Serialize};

use crate::AttackError;

/// A kind of wrong output root.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Corruption {
    /// An account's balance raised, from one step of one block on.
    BalanceChanged,
    /// One bit of a system contract's storage slot flipped, from one step of one block on.
    StorageSlotFlipped,
    /// A withdrawal to the liar added to the output's withdrawals root (state intact).
    WithdrawalInvented,
    /// A transaction of a block left out: the liar builds the block without it.
    TransactionSkipped,
    /// A transaction the batches do not hold put in: the liar builds the block with it.
    TransactionAdded,
}

impl Corruption {
    pub const ALL: [Corruption; 5] = [
        Corruption::BalanceChanged,
        Corruption::StorageSlotFlipped,
        Corruption::WithdrawalInvented,
        Corruption::TransactionSkipped,
        Corruption::TransactionAdded,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Corruption::BalanceChanged => "balance changed",
            Corruption::StorageSlotFlipped => "storage slot flipped",
            Corruption::WithdrawalInvented => "withdrawal invented",
            Corruption::TransactionSkipped => "transaction skipped",
            Corruption::TransactionAdded => "transaction added",
        }
    }
}

impl std::str::FromStr for Corruption {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|c| c.name().replace(' ', "-") == s)
            .ok_or_else(|| format!("unknown corruption {s:?}: one of balance-changed, storage-slot-flipped, withdrawal-invented, transaction-skipped, transaction-added"))
    }
}

/// A change laid over a state: the diff it makes, given the state.
type StateChange = dyn Fn(&dyn StateView) -> Result<StateDiff, TrieError>;

/// A liar's claims for one output.
#[derive(Clone, Debug)]
pub struct Lie {
    pub kind: Corruption,
    /// What was changed, in words.
    pub what: String,
    /// The output root posted (at `block`).
    pub block: u64,
    /// The first block whose output the liar gets wrong.
    pub first_wrong_block: u64,
    /// The outputs the liar claims, blocks `first_wrong_block..=block`.
    pub outputs: HashMap<u64, OutputRoot>,
    /// Step roots the liar claims for its first wrong block.
    pub step_roots: HashMap<u64, Vec<B256>>,
    /// Blocks the liar publishes instead of the true ones (made of other transactions).
    pub blocks: HashMap<u64, StepBlock>,
    /// The invented withdrawal with its branch in the liar's message tree (its nonce is its
    /// position).
    pub invented: Option<(Withdrawal, Vec<B256>)>,
}

impl Lie {
    pub fn output(&self) -> OutputRoot {
        self.outputs[&self.block]
    }

    /// Makes `player` claim this lie's outputs and step roots.
    pub fn teach(&self, player: &mut Challenger) {
        player.lies = self.outputs.clone();
        player.lie_steps = self.step_roots.clone();
        player.lie_blocks = self.blocks.clone();
    }
}

/// Builds a seeded lie of kind `kind` about L2 block `block`, wrong from some block after
/// `agreed` (the last output both sides accept) on.
pub fn make_lie(
    chain: &Chain,
    kind: Corruption,
    agreed: u64,
    block: u64,
    liar: &PrivateKeySigner,
    rng: &mut impl Rng,
) -> Result<Lie, AttackError> {
    if matches!(kind, Corruption::TransactionSkipped | Corruption::TransactionAdded) {
        return other_block(chain, kind, agreed, block, liar, rng);
    }
    let liar = liar.address();
    let honest = |n: u64| output_at(chain, n).map_err(AttackError::from);
    if kind == Corruption::WithdrawalInvented {
        let mut leaves: Vec<B256> = withdrawals_upto(chain, block).iter().map(|(w, _, _)| w.hash()).collect();
        let w = Withdrawal {
            nonce: U256::from(leaves.len()),
            sender: liar,
            target: liar,
            value: U256::from(rng.random_range(1..=5u64)) * U256::from(10u64).pow(U256::from(18)),
            gas_limit: U256::from(100_000),
            // A memo makes every invented withdrawal its own.
            data: Bytes::from(rng.random::<[u8; 8]>().to_vec()),
        };
        leaves.push(w.hash());
        let tree = MessageTree::new(leaves);
        let pos = tree.len() - 1;
        let branch = tree.branch(pos).ok_or_else(|| AttackError::Failed("message tree branch".into()))?.to_vec();
        let truth = honest(block)?;
        let out = OutputRoot { withdrawals_root: tree.root(), ..truth };
        return Ok(Lie {
            kind,
            what: format!("withdrawal #{pos} of {} wei to {liar} added to the message tree", w.value),
            block,
            first_wrong_block: block,
            outputs: HashMap::from([(block, out)]),
            step_roots: HashMap::new(),
            blocks: HashMap::new(),
            invented: Some((w, branch)),
        });
    }
    // A state corruption from step `from` of block `first` on, carried to `block`.
    let first = rng.random_range(agreed + 1..=block);
    let b = chain.block(BlockRef::Number(first)).ok_or_else(|| AttackError::Failed(format!("no L2 block {first}")))?;
    let steps = b.txs.len();
    let from = rng.random_range(1..=steps);
    let (change, what): (Box<StateChange>, String) = match kind {
        Corruption::BalanceChanged => {
            // Senders of the block, and the background traffic's recipients.
            let candidates: Vec<Address> =
                b.txs.iter().map(|t| t.sender).chain((0x70..0x77u8).map(Address::repeat_byte)).collect();
            let who = *candidates.choose(rng).unwrap_or(&liar);
            let extra = U256::from(rng.random_range(1..=1_000u64)) * U256::from(10u64).pow(U256::from(15));
            (
                Box::new(move |state: &dyn StateView| {
                    let mut acc = state.account(&who)?.unwrap_or_default();
                    acc.balance += extra;
                    let mut diff = StateDiff::default();
                    diff.accounts.insert(who, Some(acc));
                    Ok(diff)
                }),
                format!("balance of {who} raised by {extra} wei"),
            )
        }
        Corruption::StorageSlotFlipped => {
            let at = *[Predeploys::L1_BLOCK, Predeploys::MESSAGE_PASSER].choose(rng).expect("two candidates");
            let slot = U256::from(rng.random_range(0..8u64));
            let bit = rng.random_range(0..256usize);
            (
                Box::new(move |state: &dyn StateView| {
                    let value = state.storage(&at, &slot)? ^ (U256::from(1u64) << bit);
                    let mut diff = StateDiff::default();
                    diff.storage.entry(at).or_default().insert(slot, value);
                    Ok(diff)
                }),
                format!("bit {bit} of slot {slot} of {at} flipped"),
            )
        }
        _ => unreachable!("handled above"),
    };
    let roots = chain.step_roots_changed(first, from, &change)?;
    let mut outputs = HashMap::new();
    outputs.insert(first, OutputRoot { state_root: *roots.last().expect("a block has a root"), ..honest(first)? });
    for n in first + 1..=block {
        outputs.insert(n, OutputRoot { state_root: chain.state_root_changed(n, &change)?, ..honest(n)? });
    }
    Ok(Lie {
        kind,
        what: format!("{what}, from step {} of L2 block {first}", from - 1),
        block,
        first_wrong_block: first,
        outputs,
        step_roots: HashMap::from([(first, roots)]),
        blocks: HashMap::new(),
        invented: None,
    })
}

/// The attributes block `b` was built from (what derivation gave for it).
fn attributes_of(b: &SealedBlock) -> BlockAttributes {
    let extra = &b.header.extra_data;
    BlockAttributes {
        timestamp: Some(b.header.timestamp),
        deposits: b
            .txs
            .iter()
            .filter_map(|t| if let TxBody::Deposit(d) = &t.envelope { Some(d.clone()) } else { None })
            .collect(),
        transactions: b.txs.iter().filter(|t| !t.envelope.is_deposit()).cloned().collect(),
        l1_prices: L1Prices::from_extra_data(extra).unwrap_or_default(),
        extra_data: extra.get(L1Prices::EXTRA_LEN..).map(Bytes::copy_from_slice).unwrap_or_default(),
        ..Default::default()
    }
}

/// A liar that makes a block of other transactions, executes it faithfully and claims it: one of
/// the block's transactions left out, or one of its own put in. Its later blocks are the true
/// ones on top of it (so every output from there on differs from the truth).
fn other_block(
    chain: &Chain,
    kind: Corruption,
    agreed: u64,
    block: u64,
    liar: &PrivateKeySigner,
    rng: &mut impl Rng,
) -> Result<Lie, AttackError> {
    let fail = |e: String| AttackError::Failed(format!("{}: {e}", kind.name()));
    // A block with a transaction to leave out (background traffic fills most).
    let (first, b) = (0..64)
        .map(|_| rng.random_range(agreed + 1..=block))
        .filter_map(|n| chain.block(BlockRef::Number(n)).map(|b| (n, b)))
        .find(|(_, b)| kind == Corruption::TransactionAdded || b.txs.iter().any(|t| !t.envelope.is_deposit()))
        .ok_or_else(|| fail(format!("no L2 block in {}..={block} has a transaction to leave out", agreed + 1)))?;
    let mut attrs = attributes_of(&b);
    let what = match kind {
        Corruption::TransactionSkipped => {
            let i = rng.random_range(0..attrs.transactions.len());
            let t = attrs.transactions.remove(i);
            format!("transaction {} ({} of {}) left out of L2 block {first}", t.hash, i, attrs.transactions.len() + 1)
        }
        _ => {
            let nonce = chain.account(liar.address(), BlockRef::Number(first - 1))?.map(|a| a.nonce).unwrap_or(0);
            let fee = u128::from(b.header.base_fee_per_gas.unwrap_or_default()) * 2;
            let value = U256::from(rng.random_range(1..=1_000u64)) * U256::from(10u64).pow(U256::from(15));
            let mut tx = TxEip1559 {
                chain_id: chain.rules().chain_id,
                nonce,
                gas_limit: 21_000,
                max_fee_per_gas: fee,
                max_priority_fee_per_gas: 0,
                to: TxKind::Call(liar.address()),
                value,
                ..Default::default()
            };
            let sig = liar.sign_transaction_sync(&mut tx)?;
            let raw = TxEnvelope::Eip1559(tx.into_signed(sig)).encoded_2718();
            let t = chain.decode_raw_tx(&raw)?;
            let i = rng.random_range(0..=attrs.transactions.len());
            let hash = t.hash;
            attrs.transactions.insert(i, t);
            format!("transaction {hash} of the liar's (a self-transfer) put in L2 block {first} at {i}")
        }
    };
    let (_, header, txs) = chain.rebuild_witness(first, &attrs)?;
    let hash = header.hash_slow();
    if hash == b.hash {
        return Err(fail(format!("the changed L2 block {first} came out the same")));
    }
    let honest = |n: u64| output_at(chain, n).map_err(AttackError::from);
    let mut outputs = HashMap::new();
    outputs.insert(first, OutputRoot { state_root: header.state_root, block_hash: hash, ..honest(first)? });
    let mut prev = hash;
    for n in first + 1..=block {
        let mut h = chain.block(BlockRef::Number(n)).ok_or_else(|| fail(format!("no L2 block {n}")))?.header.clone();
        h.parent_hash = prev;
        prev = h.hash_slow();
        outputs.insert(n, OutputRoot { block_hash: prev, ..honest(n)? });
    }
    Ok(Lie {
        kind,
        what,
        block,
        first_wrong_block: first,
        outputs,
        step_roots: HashMap::new(),
        blocks: HashMap::from([(first, StepBlock::new(header, txs))]),
        invented: None,
    })
}

/// A false challenger's lie about an honest output at `block`: a balance it pretends is higher.
pub fn false_belief(chain: &Chain, block: u64, rng: &mut impl Rng) -> Result<Lie, AttackError> {
    let nobody = PrivateKeySigner::from_bytes(&B256::with_last_byte(1)).expect("a valid key");
    let mut lie = make_lie(chain, Corruption::BalanceChanged, block - 1, block, &nobody, rng)?;
    lie.what = format!("believes {}", lie.what);
    Ok(lie)
}
