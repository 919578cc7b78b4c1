//! The operator's durable state in redb: the transactions it has acknowledged (written before it
//! answers), the child blocks it has built (written, with the acknowledged transactions they take
//! removed, in one transaction before the root goes to L1), the deposits it has read from L1 and
//! how far it has read.

use std::path::Path;

use aqueduct_plasma_protocol::SignedTx;
use redb::{Database, Durability, ReadableDatabase, ReadableTable, TableDefinition, WriteTransaction};
use serde::{Deserialize, Serialize};

pub use aqueduct_chain::StoreError;

const META: TableDefinition<'_, &str, u64> = TableDefinition::new("meta");
const PENDING: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("pending");
const BLOCKS: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("blocks");
const DEPOSITS: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("deposits");

/// A child block as the operator built it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockRecord {
    pub number: u64,
    pub root: alloy::primitives::B256,
    pub txs: Vec<SignedTx>,
    /// The L1 transaction that submitted the root (None: built, not yet known submitted).
    pub submitted: Option<Submitted>,
}

/// Where a root landed on L1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Submitted {
    pub tx: alloy::primitives::B256,
    pub gas: u64,
    pub l1_block: u64,
}

/// A deposit as L1 reported it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DepositRecord {
    pub block: u64,
    pub owner: alloy::primitives::Address,
    pub token: alloy::primitives::Address,
    pub amount: alloy::primitives::U256,
}

/// What the operator reopens with.
pub struct Loaded {
    pub next_seq: u64,
    /// The first L1 block not yet read for deposits.
    pub scanned: u64,
    pub pending: Vec<(u64, SignedTx)>,
    pub blocks: Vec<BlockRecord>,
    pub deposits: Vec<DepositRecord>,
}

pub struct PlasmaStore {
    db: Database,
}

fn corrupt(table: &'static str, why: impl ToString) -> StoreError {
    StoreError::Corrupt { table, why: why.to_string() }
}

fn json<T: Serialize>(v: &T) -> Vec<u8> {
    serde_json::to_vec(v).expect("plain data serializes")
}

impl PlasmaStore {
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let db = aqueduct_chain::create_database(path)?;
        let tx = db.begin_write()?;
        tx.open_table(META)?;
        for t in [PENDING, BLOCKS, DEPOSITS] {
            tx.open_table(t)?;
        }
        tx.commit()?;
        Ok(Self { db })
    }

    fn begin(&self) -> Result<WriteTransaction, StoreError> {
        let mut tx = self.db.begin_write()?;
        tx.set_durability(Durability::Immediate)?;
        Ok(tx)
    }

    pub fn load(&self) -> Result<Loaded, StoreError> {
        let tx = self.db.begin_read()?;
        let meta = tx.open_table(META)?;
        let get = |k: &str| -> Result<u64, StoreError> { Ok(meta.get(k)?.map(|v| v.value()).unwrap_or(0)) };
        let (next_seq, scanned) = (get("next_seq")?, get("scanned")?);
        let mut pending = Vec::new();
        for e in tx.open_table(PENDING)?.iter()? {
            let (k, v) = e?;
            pending.push((k.value(), serde_json::from_slice(v.value()).map_err(|e| corrupt("pending", e))?));
        }
        let mut blocks = Vec::new();
        for e in tx.open_table(BLOCKS)?.iter()? {
            let (_, v) = e?;
            blocks.push(serde_json::from_slice(v.value()).map_err(|e| corrupt("blocks", e))?);
        }
        let mut deposits = Vec::new();
        for e in tx.open_table(DEPOSITS)?.iter()? {
            let (_, v) = e?;
            deposits.push(serde_json::from_slice(v.value()).map_err(|e| corrupt("deposits", e))?);
        }
        Ok(Loaded { next_seq, scanned, pending, blocks, deposits })
    }

    /// An acknowledged transaction, durable before the operator answers.
    pub fn put_pending(&self, seq: u64, tx: &SignedTx) -> Result<(), StoreError> {
        let w = self.begin()?;
        w.open_table(PENDING)?.insert(seq, json(tx).as_slice())?;
        w.open_table(META)?.insert("next_seq", seq + 1)?;
        w.commit()?;
        Ok(())
    }

    /// A built block, and the acknowledged transactions it took gone, in one write.
    pub fn put_block(&self, block: &BlockRecord, taken: &[u64]) -> Result<(), StoreError> {
        let w = self.begin()?;
        w.open_table(BLOCKS)?.insert(block.number, json(block).as_slice())?;
        {
            let mut p = w.open_table(PENDING)?;
            for s in taken {
                p.remove(s)?;
            }
        }
        w.commit()?;
        Ok(())
    }

    /// Deposits read from L1 up to (not including) L1 block `scanned`.
    pub fn put_deposits(&self, deposits: &[DepositRecord], scanned: u64) -> Result<(), StoreError> {
        let w = self.begin()?;
        {
            let mut t = w.open_table(DEPOSITS)?;
            for d in deposits {
                t.insert(d.block, json(d).as_slice())?;
            }
        }
        w.open_table(META)?.insert("scanned", scanned)?;
        w.commit()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::primitives::{Address, B256, U256};

    #[test]
    fn what_is_written_reads_back_and_a_block_takes_its_transactions() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("op.redb");
        let tx = SignedTx::deposit(Address::repeat_byte(1), Address::ZERO, U256::from(5));
        {
            let s = PlasmaStore::open(&path).unwrap();
            s.put_pending(0, &tx).unwrap();
            s.put_pending(1, &tx).unwrap();
            let b = BlockRecord { number: 1000, root: B256::repeat_byte(3), txs: vec![tx.clone()], submitted: None };
            s.put_block(&b, &[0]).unwrap();
            let d =
                DepositRecord { block: 1, owner: Address::repeat_byte(1), token: Address::ZERO, amount: U256::from(5) };
            s.put_deposits(&[d], 77).unwrap();
        }
        let l = PlasmaStore::open(&path).unwrap().load().unwrap();
        assert_eq!((l.next_seq, l.scanned), (2, 77));
        assert_eq!(l.pending.iter().map(|p| p.0).collect::<Vec<_>>(), vec![1]);
        assert_eq!(l.blocks.len(), 1);
        assert_eq!(l.deposits[0].block, 1);
    }
}
