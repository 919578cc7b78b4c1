//! A validator's durable state besides its chain, in redb: every body it has voted for or
//! proposed (written before the vote), which body each executed height ran, the checkpoints it
//! has signed or gathered, and the Byzantine evidence consensus reported.

use std::path::Path;

use alloy::primitives::B256;
use aqueduct_sidechain_protocol::{Body, SetChange, SignedCheckpoint};
use redb::{Database, Durability, ReadableDatabase, ReadableTable, TableDefinition, WriteTransaction};

pub use aqueduct_chain::StoreError;

/// digest → next deposit nonce after the body (8 bytes, big-endian) ‖ the encoded body.
const BODIES: TableDefinition<'_, &[u8; 32], &[u8]> = TableDefinition::new("bodies");
/// height → digest of the body executed there.
const EXECUTED: TableDefinition<'_, u64, &[u8; 32]> = TableDefinition::new("executed");
/// Tables of JSON records by number.
type JsonTable = TableDefinition<'static, u64, &'static [u8]>;
const CHECKPOINTS: JsonTable = TableDefinition::new("checkpoints");
const EVIDENCE: TableDefinition<'_, u64, &str> = TableDefinition::new("evidence");
/// epoch → the body that started it (JSON of [`EpochStart`]), written when that body executes.
const EPOCHS: JsonTable = TableDefinition::new("epochs");

/// Where a consensus epoch starts: the executed body that carried its set change (its children
/// are the epoch's first proposals), at `height`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct EpochStart {
    pub floor: B256,
    pub height: u64,
    pub change: SetChange,
    /// The set's members as L1 announced them (consensus keys, addresses), fixed when the epoch
    /// starts: the participants of its consensus.
    pub members: Vec<crate::spec::ValidatorInfo>,
}

fn corrupt(table: &'static str, why: impl ToString) -> StoreError {
    StoreError::Corrupt { table, why: why.to_string() }
}

pub struct SideStore {
    db: Database,
}

impl SideStore {
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let db = aqueduct_chain::create_database(path)?;
        let tx = db.begin_write()?;
        tx.open_table(BODIES)?;
        tx.open_table(EXECUTED)?;
        tx.open_table(CHECKPOINTS)?;
        tx.open_table(EVIDENCE)?;
        tx.open_table(EPOCHS)?;
        tx.commit()?;
        Ok(Self { db })
    }

    fn begin(&self) -> Result<WriteTransaction, StoreError> {
        let mut tx = self.db.begin_write()?;
        tx.set_durability(Durability::Immediate)?;
        Ok(tx)
    }

    /// A body, durable before the validator votes for it (or proposes it).
    pub fn put_body(&self, digest: &B256, next_deposit: u64, body: &Body) -> Result<(), StoreError> {
        let mut v = next_deposit.to_be_bytes().to_vec();
        v.extend_from_slice(&body.encode());
        let w = self.begin()?;
        w.open_table(BODIES)?.insert(&digest.0, v.as_slice())?;
        w.commit()?;
        Ok(())
    }

    /// A body and the next deposit nonce after it.
    pub fn body(&self, digest: &B256) -> Result<Option<(Body, u64)>, StoreError> {
        let r = self.db.begin_read()?;
        let t = r.open_table(BODIES)?;
        let Some(v) = t.get(&digest.0)? else { return Ok(None) };
        let v = v.value();
        if v.len() < 8 {
            return Err(corrupt("bodies", "record shorter than its deposit nonce"));
        }
        let next = u64::from_be_bytes(v[..8].try_into().expect("8 bytes"));
        let body = Body::decode(&v[8..]).map_err(|e| corrupt("bodies", e))?;
        if body.digest() != *digest {
            return Err(corrupt("bodies", format!("body under {digest} hashes to {}", body.digest())));
        }
        Ok(Some((body, next)))
    }

    /// Records that height `h` executes `digest` (written before the block is built: on a
    /// restart the chain's head names which entry holds).
    pub fn put_executed(&self, height: u64, digest: &B256) -> Result<(), StoreError> {
        let w = self.begin()?;
        w.open_table(EXECUTED)?.insert(height, &digest.0)?;
        w.commit()?;
        Ok(())
    }

    pub fn executed(&self, height: u64) -> Result<Option<B256>, StoreError> {
        let r = self.db.begin_read()?;
        Ok(r.open_table(EXECUTED)?.get(height)?.map(|v| B256::from(*v.value())))
    }

    /// A record as JSON under `key` (durable on return).
    fn put_json<T: serde::Serialize>(&self, table: JsonTable, key: u64, value: &T) -> Result<(), StoreError> {
        let w = self.begin()?;
        let v = serde_json::to_vec(value).expect("plain data serializes");
        w.open_table(table)?.insert(key, v.as_slice())?;
        w.commit()?;
        Ok(())
    }

    /// Every record of a JSON table, in key order.
    fn all_json<T: serde::de::DeserializeOwned>(
        &self,
        table: JsonTable,
        name: &'static str,
    ) -> Result<Vec<T>, StoreError> {
        let r = self.db.begin_read()?;
        let mut out = Vec::new();
        for e in r.open_table(table)?.iter()? {
            let (_, v) = e?;
            out.push(serde_json::from_slice(v.value()).map_err(|e| corrupt(name, e))?);
        }
        Ok(out)
    }

    pub fn put_checkpoint(&self, cp: &SignedCheckpoint) -> Result<(), StoreError> {
        self.put_json(CHECKPOINTS, cp.checkpoint.number, cp)
    }

    pub fn checkpoints(&self) -> Result<Vec<SignedCheckpoint>, StoreError> {
        self.all_json(CHECKPOINTS, "checkpoints")
    }

    pub fn put_epoch(&self, start: &EpochStart) -> Result<(), StoreError> {
        self.put_json(EPOCHS, start.change.epoch, start)
    }

    /// Every epoch after the first, in order.
    pub fn epochs(&self) -> Result<Vec<EpochStart>, StoreError> {
        self.all_json(EPOCHS, "epochs")
    }

    pub fn put_evidence(&self, seq: u64, what: &str) -> Result<(), StoreError> {
        let w = self.begin()?;
        w.open_table(EVIDENCE)?.insert(seq, what)?;
        w.commit()?;
        Ok(())
    }

    pub fn evidence(&self) -> Result<Vec<String>, StoreError> {
        let r = self.db.begin_read()?;
        let mut out = Vec::new();
        for e in r.open_table(EVIDENCE)?.iter()? {
            out.push(e?.1.value().to_string());
        }
        Ok(out)
    }
}
