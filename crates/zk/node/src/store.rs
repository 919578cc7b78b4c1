//! The operator's durable state in redb: the account tree's nodes and the accounts of the last
//! block verified on L1, the transactions it has acknowledged, and the block it is settling.
//! A block's effects are written in one transaction once L1 has verified it; a transaction is
//! written before the operator answers that it took it.

use std::{collections::BTreeMap, path::Path};

use aqueduct_zk_protocol::{Account, F, Op, SignedTx, ZkState, field_from_be};
use redb::{Database, Durability, ReadableDatabase, ReadableTable, TableDefinition, WriteTransaction};
use serde::{Deserialize, Serialize};

const META: TableDefinition<'_, &str, u64> = TableDefinition::new("meta");
const ACCOUNTS: TableDefinition<'_, u32, &[u8]> = TableDefinition::new("accounts");
const NODES: TableDefinition<'_, (u8, u64), &[u8]> = TableDefinition::new("nodes");
const MEMPOOL: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("mempool");
const INFLIGHT: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("inflight");
const BLOCKS: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("blocks");

/// The chain store's error: the same redb failures and corrupt records.
pub use aqueduct_chain::StoreError;

/// A block as the operator keeps it after L1 verified it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BlockRecord {
    pub number: u64,
    #[serde(with = "aqueduct_zk_protocol::fe")]
    pub root: F,
    pub ops: usize,
    pub transfers: usize,
    pub pubdata_bytes: usize,
    pub commit_tx: String,
    pub verify_tx: String,
    pub commit_gas: u64,
    pub verify_gas: u64,
    pub l1_block: u64,
    pub prove_seconds: f64,
    /// CPU time the proof took (all threads), seconds.
    #[serde(default)]
    pub prove_cpu_seconds: f64,
    /// Blob gas of the blob the block's pubdata went in (its share when blocks share one); 0 in
    /// calldata.
    #[serde(default)]
    pub blob_gas: u64,
}

/// A block being settled: what it applies, so a restart can redo it exactly.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Inflight {
    pub number: u64,
    pub ops: Vec<Op>,
    /// The mempool entries it took (removed once it is verified).
    pub seqs: Vec<u64>,
    /// Priority requests it serves.
    pub priority: u64,
    /// The blob it shares, once placed in one.
    #[serde(default)]
    pub blob: Option<crate::blob::BlobGroup>,
}

/// What the operator reopens with.
pub struct Loaded {
    pub state: ZkState,
    pub blocks: u64,
    /// Priority requests served by verified blocks.
    pub served: u64,
    pub next_seq: u64,
    pub mempool: Vec<(u64, SignedTx)>,
    /// Blocks in flight, in order.
    pub inflight: Vec<Inflight>,
}

/// What a verified block changes on disk, all in one transaction.
pub struct BlockWrite<'a> {
    pub record: &'a BlockRecord,
    pub nodes: &'a [((u8, u64), Option<F>)],
    pub accounts: &'a [(u32, Option<Account>)],
    pub seqs: &'a [u64],
    pub served: u64,
}

pub struct ZkStore {
    db: Database,
    /// Writes made to fail (a test's failpoint: `failpoints` feature): `tx`, `inflight`, `block`.
    fail: std::sync::Mutex<Vec<&'static str>>,
}

fn corrupt(table: &'static str, why: impl ToString) -> StoreError {
    StoreError::Corrupt { table, why: why.to_string() }
}

fn json<T: Serialize>(v: &T) -> Vec<u8> {
    serde_json::to_vec(v).expect("plain data serializes")
}

impl ZkStore {
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let db = aqueduct_chain::create_database(path)?;
        let tx = db.begin_write()?;
        tx.open_table(META)?;
        tx.open_table(NODES)?;
        for t in [MEMPOOL, INFLIGHT, BLOCKS] {
            tx.open_table(t)?;
        }
        tx.open_table(ACCOUNTS)?;
        tx.commit()?;
        Ok(Self { db, fail: Default::default() })
    }

    /// Makes every later write of this kind (`tx`, `inflight`, `block`) fail as a full disk would:
    /// for tests of what the operator does then.
    #[cfg(feature = "failpoints")]
    pub fn fail_writes(&self, kind: &'static str) {
        self.fail.lock().unwrap_or_else(|e| e.into_inner()).push(kind);
    }

    fn begin(&self, kind: &'static str) -> Result<WriteTransaction, StoreError> {
        // Checked only in builds with the failpoints feature: no lock on a production write.
        if cfg!(feature = "failpoints") && self.fail.lock().unwrap_or_else(|e| e.into_inner()).contains(&kind) {
            let injected = std::io::Error::other(format!("writing a {kind} record: injected failure (failpoint)"));
            return Err(StoreError::Db(redb::Error::Io(injected)));
        }
        let mut tx = self.db.begin_write()?;
        tx.set_durability(Durability::Immediate)?;
        Ok(tx)
    }

    /// Reads everything back into a state of `empty`'s shape and domain.
    pub fn load(&self, mut state: ZkState) -> Result<Loaded, StoreError> {
        let tx = self.db.begin_read()?;
        let meta = tx.open_table(META)?;
        let get = |k: &str| -> Result<u64, StoreError> { Ok(meta.get(k)?.map(|v| v.value()).unwrap_or(0)) };
        let (blocks, served, next_seq) = (get("blocks")?, get("served")?, get("next_seq")?);
        for e in tx.open_table(NODES)?.iter()? {
            let (k, v) = e?;
            let (level, index) = k.value();
            let bytes: [u8; 32] = v.value().try_into().map_err(|_| corrupt("nodes", "not 32 bytes"))?;
            let f = field_from_be(&bytes).ok_or_else(|| corrupt("nodes", "not a field element"))?;
            state.tree_mut().load(level, index, f);
        }
        let mut accounts = BTreeMap::new();
        for e in tx.open_table(ACCOUNTS)?.iter()? {
            let (k, v) = e?;
            let acc: Account = serde_json::from_slice(v.value()).map_err(|e| corrupt("accounts", e))?;
            accounts.insert(k.value(), acc);
        }
        for (i, acc) in accounts {
            state.load_account(i, acc);
        }
        let mut mempool = Vec::new();
        for e in tx.open_table(MEMPOOL)?.iter()? {
            let (k, v) = e?;
            mempool.push((k.value(), serde_json::from_slice(v.value()).map_err(|e| corrupt("mempool", e))?));
        }
        let mut inflight = Vec::new();
        let table = tx.open_table(INFLIGHT)?;
        while let Some(v) = table.get(blocks + 1 + inflight.len() as u64)? {
            inflight.push(serde_json::from_slice(v.value()).map_err(|e| corrupt("inflight", e))?);
        }
        Ok(Loaded { state, blocks, served, next_seq, mempool, inflight })
    }

    /// Keeps an acknowledged transaction.
    pub fn put_tx(&self, seq: u64, tx: &SignedTx) -> Result<(), StoreError> {
        let w = self.begin("tx")?;
        w.open_table(MEMPOOL)?.insert(seq, json(tx).as_slice())?;
        w.open_table(META)?.insert("next_seq", seq + 1)?;
        w.commit()?;
        Ok(())
    }

    /// Drops transactions that can no longer apply.
    pub fn drop_txs(&self, seqs: &[u64]) -> Result<(), StoreError> {
        let w = self.begin("tx")?;
        {
            let mut t = w.open_table(MEMPOOL)?;
            for s in seqs {
                t.remove(*s)?;
            }
        }
        w.commit()?;
        Ok(())
    }

    /// Records the block about to go to L1.
    pub fn put_inflight(&self, b: &Inflight) -> Result<(), StoreError> {
        let w = self.begin("inflight")?;
        w.open_table(INFLIGHT)?.insert(b.number, json(b).as_slice())?;
        w.commit()?;
        Ok(())
    }

    pub fn clear_inflight(&self, number: u64) -> Result<(), StoreError> {
        let w = self.begin("inflight")?;
        w.open_table(INFLIGHT)?.remove(number)?;
        w.commit()?;
        Ok(())
    }

    /// Writes a verified block's effects.
    pub fn put_block(&self, b: BlockWrite<'_>) -> Result<(), StoreError> {
        let w = self.begin("block")?;
        {
            let mut nodes = w.open_table(NODES)?;
            for (k, v) in b.nodes {
                match v {
                    Some(f) => nodes.insert(*k, aqueduct_zk_circuit::evm::word(f).as_slice())?,
                    None => nodes.remove(*k)?,
                };
            }
            let mut accounts = w.open_table(ACCOUNTS)?;
            for (i, a) in b.accounts {
                match a {
                    Some(a) => accounts.insert(*i, json(a).as_slice())?,
                    None => accounts.remove(*i)?,
                };
            }
            let mut mempool = w.open_table(MEMPOOL)?;
            for s in b.seqs {
                mempool.remove(*s)?;
            }
            w.open_table(INFLIGHT)?.remove(b.record.number)?;
            w.open_table(BLOCKS)?.insert(b.record.number, json(b.record).as_slice())?;
            let mut meta = w.open_table(META)?;
            meta.insert("blocks", b.record.number)?;
            meta.insert("served", b.served)?;
        }
        w.commit()?;
        Ok(())
    }

    pub fn block(&self, number: u64) -> Result<Option<BlockRecord>, StoreError> {
        let tx = self.db.begin_read()?;
        match tx.open_table(BLOCKS)?.get(number)? {
            Some(v) => Ok(Some(serde_json::from_slice(v.value()).map_err(|e| corrupt("blocks", e))?)),
            None => Ok(None),
        }
    }
}
