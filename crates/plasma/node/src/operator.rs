//! The operator: takes signed payments (checked against the UTXO set and the payments waiting,
//! written to disk before it answers), seals them into child blocks (written before the root goes
//! to L1, resent until L1 holds it), follows L1's deposits, and serves blocks and inclusion proofs
//! to anyone. Two attack modes for experiments: withholding blocks' data from a block on, and
//! including a theft (a spend of someone else's output, signed by the operator) in the next block.

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    path::Path,
};

use alloy::{
    primitives::{Address, B256},
    signers::local::PrivateKeySigner,
};
use aqueduct_eth::L1Client;
use aqueduct_plasma_protocol::{
    BLOCK_INTERVAL, BlockTree, Domain, Included, Ledger, MAX_TXS, Output, Payment, Position, SignedTx, Utxo,
};
use aqueduct_primitives::Signer;
use tracing::{info, warn};

use crate::{
    error::PlasmaError,
    l1::PlasmaL1,
    store::{BlockRecord, DepositRecord, PlasmaStore},
};

/// Most payments waiting for a block before new ones are refused.
pub const MAX_PENDING: usize = 200_000;

/// How the operator behaves.
#[derive(Clone, Debug, Default)]
pub struct OperatorConfig {
    /// Most payments in one block (at most 65,536).
    pub max_block_txs: usize,
    /// Serve no data of child blocks from this number on (an attack).
    pub withhold_from: Option<u64>,
    /// Include a theft in the next block (an attack): see [`Operator::steal_next`].
    pub steal: bool,
}

/// The operator's state (shared by its JSON-RPC and its block loop behind one lock; L1 calls
/// are made outside the lock).
pub struct Operator {
    pub(crate) l1: PlasmaL1,
    domain: Domain,
    config: OperatorConfig,
    store: PlasmaStore,
    /// The UTXO set after every built block and every deposit read.
    ledger: Ledger,
    pending: Vec<(u64, SignedTx)>,
    spent: HashSet<Position>,
    next_seq: u64,
    blocks: BTreeMap<u64, BlockRecord>,
    deposits: BTreeMap<u64, DepositRecord>,
    /// Where each included transaction's output 0 is.
    by_hash: HashMap<B256, Position>,
    /// The first L1 block not yet read for deposits.
    scanned: u64,
}

/// `plasma_status`'s numbers.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    pub contract: Address,
    pub chain_id: u64,
    pub operator: Address,
    /// Child blocks built.
    pub blocks: u64,
    /// The last child block built (0: none).
    pub last_block: u64,
    pub deposits: u64,
    pub pending: usize,
    pub utxos: usize,
    /// Child blocks built and not yet known to be on L1.
    pub unsubmitted: usize,
}

impl Operator {
    /// Opens (or creates) the operator's store at `path` and rebuilds its state from it.
    pub async fn open(
        l1: L1Client,
        signer: PrivateKeySigner,
        contract: Address,
        config: OperatorConfig,
        path: &Path,
    ) -> Result<Self, PlasmaError> {
        let l1 = PlasmaL1::new(l1, contract, signer);
        let domain = l1.domain().await?;
        let store = PlasmaStore::open(path)?;
        let loaded = store.load()?;
        let mut op = Self {
            l1,
            domain,
            config,
            store,
            ledger: Ledger::new(),
            pending: Vec::new(),
            spent: HashSet::new(),
            next_seq: loaded.next_seq,
            blocks: BTreeMap::new(),
            deposits: BTreeMap::new(),
            by_hash: HashMap::new(),
            scanned: loaded.scanned,
        };
        for d in loaded.deposits {
            op.apply_deposit(d)?;
        }
        for b in loaded.blocks {
            op.apply_block(b)?;
        }
        for (seq, tx) in loaded.pending {
            // Acknowledged before the crash: still valid against the same state.
            for p in &tx.tx.inputs {
                op.spent.insert(*p);
            }
            op.pending.push((seq, tx));
        }
        if op.config.max_block_txs == 0 || op.config.max_block_txs > MAX_TXS {
            op.config.max_block_txs = MAX_TXS;
        }
        info!(target: "plasma::operator", blocks = op.blocks.len(), pending = op.pending.len(), utxos = op.ledger.len(), "opened");
        Ok(op)
    }

    fn apply_deposit(&mut self, d: DepositRecord) -> Result<(), PlasmaError> {
        self.ledger.deposit(d.block, d.owner, d.token, d.amount)?;
        let tx = SignedTx::deposit(d.owner, d.token, d.amount);
        self.by_hash.insert(tx.tx.hash(), Position::new(d.block, 0, 0)?);
        self.deposits.insert(d.block, d);
        Ok(())
    }

    fn apply_block(&mut self, b: BlockRecord) -> Result<(), PlasmaError> {
        for (i, tx) in b.txs.iter().enumerate() {
            self.ledger.apply(b.number, i as u64, tx)?;
            self.by_hash.insert(tx.tx.hash(), Position::new(b.number, i as u64, 0)?);
        }
        self.blocks.insert(b.number, b);
        Ok(())
    }

    pub fn domain(&self) -> Domain {
        self.domain
    }

    pub fn config_mut(&mut self) -> &mut OperatorConfig {
        &mut self.config
    }

    /// Takes a signed payment: checked, written to disk, then acknowledged with its place in the
    /// queue and its hash.
    pub fn submit(&mut self, tx: SignedTx) -> Result<(u64, B256), PlasmaError> {
        if self.pending.len() >= MAX_PENDING {
            return Err(PlasmaError::Full(self.pending.len()));
        }
        self.ledger.check(&self.domain, &tx)?;
        if let Some(p) = tx.tx.inputs.iter().find(|p| self.spent.contains(p)) {
            return Err(PlasmaError::SpentInPending(*p));
        }
        let seq = self.next_seq;
        self.store.put_pending(seq, &tx)?;
        self.next_seq += 1;
        for p in &tx.tx.inputs {
            self.spent.insert(*p);
        }
        let hash = tx.tx.hash();
        self.pending.push((seq, tx));
        Ok((seq, hash))
    }

    /// Builds the next child block from the payments waiting (and the theft, in that mode) and
    /// writes it; the caller sends its root to L1. `None` when nothing waits, unless `empty`
    /// (an empty block frees the deposit numbers between two child blocks).
    pub fn build(&mut self, next_child: u64, empty: bool) -> Result<Option<BlockRecord>, PlasmaError> {
        if self.blocks.contains_key(&next_child) {
            // Built before a crash and not on L1 yet: the same block again.
            return Ok(self.blocks.get(&next_child).cloned());
        }
        if self.pending.is_empty() && !self.config.steal && !empty {
            return Ok(None);
        }
        let n = self.pending.len().min(self.config.max_block_txs);
        let taken: Vec<(u64, SignedTx)> = self.pending.drain(..n).collect();
        let mut txs: Vec<SignedTx> = taken.iter().map(|(_, t)| t.clone()).collect();
        if self.config.steal
            && let Some(theft) = self.theft()
        {
            txs.push(theft);
            self.config.steal = false;
        }
        if txs.is_empty() && !empty {
            return Ok(None);
        }
        let root = BlockTree::new(txs.iter().map(SignedTx::leaf).collect()).root();
        let record = BlockRecord { number: next_child, root, txs, submitted: None };
        let seqs: Vec<u64> = taken.iter().map(|(s, _)| *s).collect();
        self.store.put_block(&record, &seqs)?;
        for (_, t) in &taken {
            for p in &t.tx.inputs {
                self.spent.remove(p);
            }
        }
        self.apply_block(record.clone())?;
        info!(target: "plasma::operator", block = next_child, txs = record.txs.len(), "built");
        Ok(Some(record))
    }

    /// A spend of the largest output someone else holds, to the operator, signed by the
    /// operator: invalid, as a cheating operator would include it.
    fn theft(&self) -> Option<SignedTx> {
        let me = self.l1.signer.address();
        let victim = self
            .ledger
            .iter()
            .filter(|u| u.output.owner != me && !self.spent.contains(&u.position))
            .max_by_key(|u| u.output.amount)?;
        let key = Signer::from_bytes(&self.l1.signer.to_bytes())?;
        warn!(target: "plasma::operator", victim = %victim.output.owner, position = %victim.position, "including a theft (attack mode)");
        let tx = Payment {
            inputs: vec![victim.position],
            outputs: vec![Output { owner: me, token: victim.output.token, amount: victim.output.amount }],
        };
        Some(tx.sign(&self.domain, &[&key]))
    }

    pub(crate) fn mark_submitted(&mut self, n: u64, s: crate::store::Submitted) -> Result<(), PlasmaError> {
        if let Some(b) = self.blocks.get_mut(&n) {
            b.submitted = Some(s);
            let b = b.clone();
            self.store.put_block(&b, &[])?;
        }
        Ok(())
    }

    pub(crate) fn scanned(&self) -> u64 {
        self.scanned
    }

    pub(crate) fn add_deposits(&mut self, deposits: Vec<DepositRecord>, scanned: u64) -> Result<(), PlasmaError> {
        self.store.put_deposits(&deposits, scanned)?;
        for d in deposits {
            if !self.deposits.contains_key(&d.block) {
                self.apply_deposit(d)?;
            }
        }
        self.scanned = scanned;
        Ok(())
    }

    fn withheld(&self, n: u64) -> bool {
        n.is_multiple_of(BLOCK_INTERVAL) && self.config.withhold_from.is_some_and(|from| n >= from)
    }

    /// Child block `n` (or deposit block `n`, as its one transaction).
    pub fn block(&self, n: u64) -> Result<Option<(B256, Vec<SignedTx>)>, PlasmaError> {
        if self.withheld(n) {
            return Err(PlasmaError::Withheld(n));
        }
        if let Some(b) = self.blocks.get(&n) {
            return Ok(Some((b.root, b.txs.clone())));
        }
        Ok(self.deposits.get(&n).map(|d| {
            let tx = SignedTx::deposit(d.owner, d.token, d.amount);
            (BlockTree::new(vec![tx.leaf()]).root(), vec![tx])
        }))
    }

    /// The inclusion of the transaction at `position` (any output index), with its proof.
    pub fn inclusion(&self, position: Position) -> Result<Option<Included>, PlasmaError> {
        let Some((_, txs)) = self.block(position.block())? else { return Ok(None) };
        let i = position.tx_index() as usize;
        let Some(tx) = txs.get(i).cloned() else { return Ok(None) };
        let tree = BlockTree::new(txs.iter().map(SignedTx::leaf).collect());
        Ok(Some(Included { tx, position: position.with_output(0), proof: tree.proof(i).unwrap_or_default() }))
    }

    /// Where transaction `hash` was included (its output 0), if it was.
    pub fn position_of(&self, hash: &B256) -> Option<Position> {
        self.by_hash.get(hash).copied()
    }

    pub fn utxos_of(&self, owner: Address) -> Vec<Utxo> {
        self.ledger.owned_by(owner).filter(|u| !self.spent.contains(&u.position)).copied().collect()
    }

    pub fn unsubmitted(&self) -> Vec<BlockRecord> {
        self.blocks.values().filter(|b| b.submitted.is_none()).cloned().collect()
    }

    pub fn status(&self) -> Status {
        let child = self.blocks.len() as u64;
        Status {
            contract: self.l1.contract,
            chain_id: self.domain.chain_id,
            operator: self.l1.signer.address(),
            blocks: child,
            last_block: self.blocks.keys().next_back().copied().unwrap_or(0),
            deposits: self.deposits.len() as u64,
            pending: self.pending.len(),
            utxos: self.ledger.len(),
            unsubmitted: self.blocks.values().filter(|b| b.submitted.is_none()).count(),
        }
    }
}
