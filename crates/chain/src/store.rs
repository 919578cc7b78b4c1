//! Durable storage in redb. One write transaction per block: a block, its receipts, its state
//! changes, its trie nodes and its undo log are on disk together or not at all.

use std::{collections::HashMap, path::Path, sync::Arc};

use alloy::primitives::{Address, B256, Bytes, U256};
use alloy_rlp::{Decodable, Encodable};
use aqueduct_primitives::StateAccount;
use redb::{Database, Durability, ReadableDatabase, ReadableTable, TableDefinition, WriteTransaction};

use crate::{
    block::SealedBlock,
    state::{Reverts, StateWrite, WorldState},
};

const META: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("meta");
const HEADERS: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("headers");
const BODIES: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("bodies");
const RECEIPTS: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("receipts");
const REVERTS: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("reverts");
const ACCOUNTS: TableDefinition<'_, &[u8], &[u8]> = TableDefinition::new("accounts");
const STORAGE: TableDefinition<'_, &[u8], &[u8]> = TableDefinition::new("storage");
const CODES: TableDefinition<'_, &[u8], &[u8]> = TableDefinition::new("codes");
const NODES: TableDefinition<'_, &[u8], &[u8]> = TableDefinition::new("nodes");
const BLOBS: TableDefinition<'_, &[u8], &[u8]> = TableDefinition::new("blobs");

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("storage: {0}")]
    Db(redb::Error),
    #[error("corrupt record in {table}: {why}")]
    Corrupt { table: &'static str, why: String },
    /// The file or its directory cannot be opened or created (permissions, a read-only disk,
    /// a path that is a file): nothing was read or changed.
    #[error("cannot open {}: {source}; check that this user can write there and that the disk is not read-only", path.display())]
    Open { path: std::path::PathBuf, source: OpenError },
}

/// Why a store's file could not be opened: its directory, or the database engine.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error(transparent)]
    Dir(#[from] std::io::Error),
    #[error(transparent)]
    Db(#[from] redb::DatabaseError),
}

macro_rules! db_err {
    ($($t:ty),*) => {$(impl From<$t> for StoreError { fn from(e: $t) -> Self { Self::Db(redb::Error::from(e)) } })*};
}
db_err!(
    redb::Error,
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError,
    redb::SetDurabilityError
);

impl From<StoreError> for crate::ChainError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Open { path, source } => Self::Unopenable { path, source: Box::new(source) },
            e => Self::Store(Box::new(e)),
        }
    }
}

/// Everything a chain loads at start.
pub struct Loaded {
    pub blocks: Vec<Arc<SealedBlock>>,
    pub state: WorldState,
    pub pending_reverts: Reverts,
    pub meta: HashMap<String, Vec<u8>>,
}

/// A chain's database.
pub struct Store {
    db: std::sync::Arc<Database>,
}

/// The trie nodes a store holds, read one at a time (what the state reads once memory has let
/// a node go). A read that fails is a missing node, which the reader reports.
pub struct StoredNodes {
    db: std::sync::Arc<Database>,
}

impl aqueduct_trie::NodeStore for StoredNodes {
    fn node(&self, hash: &B256) -> Option<Vec<u8>> {
        let tx = self.db.begin_read().ok()?;
        let table = tx.open_table(NODES).ok()?;
        table.get(hash.as_slice()).ok()?.map(|v| v.value().to_vec())
    }
}

/// Writes that go with a block (or with a dev-method state change when `block` is None).
pub struct Commit<'a> {
    pub block: Option<&'a SealedBlock>,
    pub state: &'a StateWrite,
    /// Undo log of the block; for a dev change, the pending undo log to keep.
    pub reverts: &'a Reverts,
    pub meta: &'a [(&'a str, Vec<u8>)],
    pub blobs: &'a [(B256, Vec<u8>)],
}

fn storage_key(a: &Address, slot: &U256) -> [u8; 52] {
    let mut k = [0u8; 52];
    k[..20].copy_from_slice(a.as_slice());
    k[20..].copy_from_slice(&slot.to_be_bytes::<32>());
    k
}

/// Memory redb may use to cache a database's pages. Its default (1 GiB) let every store's RSS
/// grow with its file — tens of MB an hour on an idle devnet, three stores per devnet — while the
/// chain keeps what it reads often in memory anyway (its latest state and recent tries).
pub const STORE_CACHE_BYTES: usize = 64 * 1024 * 1024;

/// Opens (or creates) a redb database at `path`, creating its directory first.
pub fn create_database(path: &Path) -> Result<Database, StoreError> {
    let open = |path: &Path, source: OpenError| StoreError::Open { path: path.to_path_buf(), source };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| open(dir, e.into()))?;
    }
    redb::Builder::new().set_cache_size(STORE_CACHE_BYTES).create(path).map_err(|e| open(path, e.into()))
}

impl Store {
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let db = create_database(path)?;
        let tx = db.begin_write()?;
        tx.open_table(META)?;
        for t in [HEADERS, BODIES, RECEIPTS, REVERTS] {
            tx.open_table(t)?;
        }
        for t in [ACCOUNTS, STORAGE, CODES, NODES, BLOBS] {
            tx.open_table(t)?;
        }
        tx.commit()?;
        Ok(Self { db: std::sync::Arc::new(db) })
    }

    /// Reads of this store's trie nodes, shareable with the state.
    pub fn nodes(&self) -> StoredNodes {
        StoredNodes { db: self.db.clone() }
    }

    /// Writes one commit atomically and durably.
    pub fn commit(&self, c: Commit<'_>) -> Result<(), StoreError> {
        let tx = self.begin()?;
        if let Some(b) = c.block {
            let n = b.number();
            tx.open_table(HEADERS)?.insert(n, b.encode_header().as_slice())?;
            tx.open_table(BODIES)?.insert(n, b.encode_body().as_slice())?;
            tx.open_table(RECEIPTS)?.insert(n, b.encode_receipts().as_slice())?;
            tx.open_table(REVERTS)?.insert(n, c.reverts.encode_to_vec().as_slice())?;
            let mut meta = tx.open_table(META)?;
            meta.insert("head", n.to_be_bytes().as_slice())?;
            meta.insert("pending_reverts", Reverts::default().encode_to_vec().as_slice())?;
        } else {
            tx.open_table(META)?.insert("pending_reverts", c.reverts.encode_to_vec().as_slice())?;
        }
        {
            let mut meta = tx.open_table(META)?;
            for (k, v) in c.meta {
                meta.insert(*k, v.as_slice())?;
            }
            let mut blobs = tx.open_table(BLOBS)?;
            for (h, b) in c.blobs {
                blobs.insert(h.as_slice(), b.as_slice())?;
            }
        }
        write_state(&tx, c.state)?;
        tx.commit()?;
        Ok(())
    }

    /// Removes blocks above `head` and writes the reverted state, in one transaction: a crash
    /// leaves either the old chain or the unwound one, never blocks without their state.
    pub fn unwind(&self, head: u64, top: u64, state: &StateWrite, pending: &Reverts) -> Result<(), StoreError> {
        let tx = self.begin()?;
        for t in [HEADERS, BODIES, RECEIPTS, REVERTS] {
            let mut table = tx.open_table(t)?;
            for n in head + 1..=top {
                table.remove(n)?;
            }
        }
        {
            let mut meta = tx.open_table(META)?;
            meta.insert("head", head.to_be_bytes().as_slice())?;
            meta.insert("pending_reverts", pending.encode_to_vec().as_slice())?;
        }
        write_state(&tx, state)?;
        tx.commit()?;
        Ok(())
    }

    fn begin(&self) -> Result<WriteTransaction, StoreError> {
        let mut tx = self.db.begin_write()?;
        tx.set_durability(Durability::Immediate)?;
        Ok(tx)
    }

    pub fn reverts(&self, n: u64) -> Result<Reverts, StoreError> {
        let tx = self.db.begin_read()?;
        let t = tx.open_table(REVERTS)?;
        let raw =
            t.get(n)?.ok_or(StoreError::Corrupt { table: "reverts", why: format!("no undo log for block {n}") })?;
        Reverts::decode_from(raw.value()).map_err(|e| StoreError::Corrupt { table: "reverts", why: e.to_string() })
    }

    pub fn blob(&self, versioned_hash: &B256) -> Result<Option<Vec<u8>>, StoreError> {
        let tx = self.db.begin_read()?;
        Ok(tx.open_table(BLOBS)?.get(versioned_hash.as_slice())?.map(|v| v.value().to_vec()))
    }

    /// Loads the whole chain: blocks and the latest state.
    pub fn load(&self) -> Result<Option<Loaded>, StoreError> {
        let tx = self.db.begin_read()?;
        let meta_t = tx.open_table(META)?;
        let mut meta = HashMap::new();
        for e in meta_t.iter()? {
            let (k, v) = e?;
            meta.insert(k.value().to_string(), v.value().to_vec());
        }
        let Some(head) = meta.get("head") else {
            return Ok(None);
        };
        let head = u64::from_be_bytes(head.as_slice().try_into().map_err(|_| corrupt("meta", "head"))?);
        let (headers, bodies, receipts) = (tx.open_table(HEADERS)?, tx.open_table(BODIES)?, tx.open_table(RECEIPTS)?);
        let mut blocks = Vec::with_capacity(head as usize + 1);
        for n in 0..=head {
            let missing = || corrupt("headers", &format!("block {n} missing"));
            let h = headers.get(n)?.ok_or_else(missing)?;
            let b = bodies.get(n)?.ok_or_else(missing)?;
            let r = receipts.get(n)?.ok_or_else(missing)?;
            blocks.push(
                SealedBlock::decode(h.value(), b.value(), r.value()).map_err(|e| corrupt("blocks", &e.to_string()))?,
            );
        }
        let mut accounts = HashMap::new();
        for e in tx.open_table(ACCOUNTS)?.iter()? {
            let (k, v) = e?;
            let a = Address::try_from(k.value()).map_err(|_| corrupt("accounts", "key"))?;
            accounts
                .insert(a, StateAccount::decode(&mut &v.value()[..]).map_err(|e| corrupt("accounts", &e.to_string()))?);
        }
        let mut storage: HashMap<Address, HashMap<U256, U256>> = HashMap::new();
        for e in tx.open_table(STORAGE)?.iter()? {
            let (k, v) = e?;
            let k = k.value();
            if k.len() != 52 || v.value().len() != 32 {
                return Err(corrupt("storage", "record length"));
            }
            let a = Address::from_slice(&k[..20]);
            storage.entry(a).or_default().insert(U256::from_be_slice(&k[20..]), U256::from_be_slice(v.value()));
        }
        let mut codes = HashMap::new();
        for e in tx.open_table(CODES)?.iter()? {
            let (k, v) = e?;
            codes.insert(
                B256::try_from(k.value()).map_err(|_| corrupt("codes", "key"))?,
                Bytes::copy_from_slice(v.value()),
            );
        }
        let mut nodes = HashMap::new();
        for e in tx.open_table(NODES)?.iter()? {
            let (k, v) = e?;
            nodes.insert(B256::try_from(k.value()).map_err(|_| corrupt("nodes", "key"))?, v.value().to_vec());
        }
        let root = blocks.last().map(|b| b.header.state_root).unwrap_or(aqueduct_trie::EMPTY_ROOT);
        let pending_reverts = match meta.get("pending_reverts") {
            Some(raw) => Reverts::decode_from(raw).map_err(|e| corrupt("meta", &e.to_string()))?,
            None => Reverts::default(),
        };
        let mut state = WorldState::from_parts(accounts, storage, codes, nodes, root);
        // Dev-method changes made after the head block are not in its root yet.
        for a in &pending_reverts.accounts {
            state.mark_dirty(a.address, None);
        }
        for s in &pending_reverts.storage {
            state.mark_dirty(s.address, Some(s.slot));
        }
        Ok(Some(Loaded { blocks, state, pending_reverts, meta }))
    }
}

/// Flat state, code and trie nodes of a write.
fn write_state(tx: &WriteTransaction, state: &StateWrite) -> Result<(), StoreError> {
    let mut accounts = tx.open_table(ACCOUNTS)?;
    for (a, acc) in &state.accounts {
        match acc {
            Some(acc) => {
                let mut v = Vec::with_capacity(80);
                acc.encode(&mut v);
                accounts.insert(a.as_slice(), v.as_slice())?;
            }
            None => {
                accounts.remove(a.as_slice())?;
            }
        }
    }
    let mut storage = tx.open_table(STORAGE)?;
    for a in &state.wiped {
        let lo = storage_key(a, &U256::ZERO);
        let hi = storage_key(a, &U256::MAX);
        storage.retain_in(lo.as_slice()..=hi.as_slice(), |_, _| false)?;
    }
    for (a, slot, v) in &state.storage {
        let k = storage_key(a, slot);
        if v.is_zero() {
            storage.remove(k.as_slice())?;
        } else {
            storage.insert(k.as_slice(), v.to_be_bytes::<32>().as_slice())?;
        }
    }
    let mut codes = tx.open_table(CODES)?;
    for (h, code) in &state.codes {
        codes.insert(h.as_slice(), code.as_ref())?;
    }
    let mut nodes = tx.open_table(NODES)?;
    for (h, n) in &state.nodes {
        nodes.insert(h.as_slice(), n.as_slice())?;
    }
    Ok(())
}

fn corrupt(table: &'static str, why: &str) -> StoreError {
    StoreError::Corrupt { table, why: why.to_string() }
}
