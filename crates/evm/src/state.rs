//! The world state: flat maps for fast reads, and the Merkle-Patricia trie for the commitment.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use alloy::primitives::{Address, B256, Bytes, U256, keccak256};
use alloy_rlp::{Decodable, Encodable};
use aqueduct_primitives::{EMPTY_CODE_HASH, StateAccount};
use aqueduct_trie::{EMPTY_ROOT, Layered, MemoryNodes, NodeStore, TieredNodes, TrieError};

/// Read access to a state: the latest one, or any past one by its root.
pub trait StateView {
    fn account(&self, address: &Address) -> Result<Option<StateAccount>, TrieError>;
    fn storage(&self, address: &Address, slot: &U256) -> Result<U256, TrieError>;
    fn code(&self, hash: &B256) -> Option<Bytes>;
}

/// What executing something changed, with the final value of each key.
#[derive(Default, Debug, Clone)]
pub struct StateDiff {
    /// `None`: the account was deleted (self-destructed, or touched while empty).
    pub accounts: HashMap<Address, Option<StateAccount>>,
    /// Slot values; zero deletes.
    pub storage: HashMap<Address, HashMap<U256, U256>>,
    /// Accounts whose storage was wiped before `storage` applies (self-destruct, re-creation).
    pub wiped: BTreeSet<Address>,
    pub codes: HashMap<B256, Bytes>,
}

/// Old values of what a block (or dev method) changed: applying it undoes the change.
#[derive(Default, Debug, Clone, PartialEq, Eq, alloy_rlp::RlpEncodable, alloy_rlp::RlpDecodable)]
pub struct Reverts {
    pub accounts: Vec<AccountRevert>,
    pub storage: Vec<SlotRevert>,
}

#[derive(Debug, Clone, PartialEq, Eq, alloy_rlp::RlpEncodable, alloy_rlp::RlpDecodable)]
pub struct AccountRevert {
    pub address: Address,
    pub existed: bool,
    pub account: StateAccount,
}

#[derive(Debug, Clone, PartialEq, Eq, alloy_rlp::RlpEncodable, alloy_rlp::RlpDecodable)]
pub struct SlotRevert {
    pub address: Address,
    pub slot: U256,
    pub value: U256,
}

impl Reverts {
    pub fn encode_to_vec(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode(&mut out);
        out
    }

    pub fn decode_from(mut raw: &[u8]) -> Result<Self, alloy_rlp::Error> {
        Self::decode(&mut raw)
    }

    /// Appends `later`, keeping the oldest value of each key (the one to go back to).
    pub fn merge(&mut self, later: Reverts) {
        let seen_a: BTreeSet<Address> = self.accounts.iter().map(|a| a.address).collect();
        self.accounts.extend(later.accounts.into_iter().filter(|a| !seen_a.contains(&a.address)));
        let seen_s: BTreeSet<(Address, U256)> = self.storage.iter().map(|s| (s.address, s.slot)).collect();
        self.storage.extend(later.storage.into_iter().filter(|s| !seen_s.contains(&(s.address, s.slot))));
    }
}

/// What must be written to disk after a root update.
#[derive(Default, Debug)]
pub struct StateWrite {
    pub accounts: Vec<(Address, Option<StateAccount>)>,
    pub storage: Vec<(Address, U256, U256)>,
    /// Accounts whose stored slots must all be removed first.
    pub wiped: Vec<Address>,
    pub codes: Vec<(B256, Bytes)>,
    pub nodes: Vec<(B256, Vec<u8>)>,
}

/// The latest state, in memory, with its trie nodes.
#[derive(Default)]
pub struct WorldState {
    accounts: HashMap<Address, StateAccount>,
    storage: HashMap<Address, HashMap<U256, U256>>,
    codes: HashMap<B256, Bytes>,
    /// The trie nodes of recent states in memory, over the store that holds all of them.
    nodes: TieredNodes,
    root: B256,
    /// Changed since the last root update: accounts, with the slots changed in each.
    dirty: BTreeMap<Address, BTreeSet<U256>>,
    wiped: BTreeSet<Address>,
    new_codes: Vec<(B256, Bytes)>,
    /// Counts the changes to the flat maps: a reader that dropped the chain's lock between reads
    /// sees from it whether the state moved under it.
    version: u64,
}

impl WorldState {
    pub fn new() -> Self {
        Self { root: EMPTY_ROOT, ..Default::default() }
    }

    /// Rebuilds from stored parts (no root computation: `root` is trusted from disk).
    pub fn from_parts(
        accounts: HashMap<Address, StateAccount>,
        storage: HashMap<Address, HashMap<U256, U256>>,
        codes: HashMap<B256, Bytes>,
        nodes: MemoryNodes,
        root: B256,
    ) -> Self {
        Self { accounts, storage, codes, nodes: TieredNodes::new(nodes), root, ..Default::default() }
    }

    pub fn root(&self) -> B256 {
        self.root
    }

    /// Changes since the state was made ([`Self::apply`] and [`Self::revert`] each count one).
    pub fn version(&self) -> u64 {
        self.version
    }

    /// Every trie node this state can read: those in memory, then the store's.
    pub fn nodes(&self) -> &TieredNodes {
        &self.nodes
    }

    /// Reads the trie nodes that memory no longer holds from `cold` (the chain's store, which
    /// holds every node ever committed).
    pub fn set_cold_nodes(&mut self, cold: std::sync::Arc<dyn NodeStore + Send + Sync>) {
        self.nodes.set_cold(cold);
    }

    /// Keeps in memory only the trie nodes of the states with these roots (and of this state);
    /// older states stay readable through the store. Returns how many nodes left memory.
    pub fn keep_nodes_of(&mut self, roots: impl IntoIterator<Item = B256>) -> Result<usize, TrieError> {
        let storage_root = |leaf: &[u8]| StateAccount::decode(&mut &leaf[..]).ok().map(|a| a.storage_root);
        let roots: Vec<B256> = std::iter::once(self.root).chain(roots).collect();
        self.nodes.keep_only(roots, storage_root)
    }

    pub fn codes(&self) -> &HashMap<B256, Bytes> {
        &self.codes
    }

    /// The trie nodes this state holds.
    pub fn into_nodes(self) -> MemoryNodes {
        self.nodes.into_hot()
    }

    /// Applies a diff and returns its reverts (old values of every key it changes).
    pub fn apply(&mut self, diff: StateDiff) -> Reverts {
        self.version += 1;
        let mut reverts = Reverts::default();
        for (h, c) in diff.codes {
            if let std::collections::hash_map::Entry::Vacant(e) = self.codes.entry(h) {
                e.insert(c.clone());
                self.new_codes.push((h, c));
            }
        }
        let mut wiped_slots = std::collections::HashSet::new();
        for addr in &diff.wiped {
            let old = self.storage.remove(addr).unwrap_or_default();
            for (slot, value) in old {
                wiped_slots.insert((*addr, slot));
                reverts.storage.push(SlotRevert { address: *addr, slot, value });
            }
            self.wiped.insert(*addr);
            self.dirty.entry(*addr).or_default();
        }
        for (addr, slots) in diff.storage {
            let dirty = self.dirty.entry(addr).or_default();
            let map = self.storage.entry(addr).or_default();
            for (slot, value) in slots {
                let old = if value.is_zero() { map.remove(&slot) } else { map.insert(slot, value) };
                // A wiped account's old slots are already recorded; a slot new after the wipe
                // was zero before it.
                if !diff.wiped.contains(&addr) {
                    reverts.storage.push(SlotRevert { address: addr, slot, value: old.unwrap_or_default() });
                } else if !wiped_slots.contains(&(addr, slot)) {
                    reverts.storage.push(SlotRevert { address: addr, slot, value: U256::ZERO });
                }
                dirty.insert(slot);
            }
            if map.is_empty() {
                self.storage.remove(&addr);
            }
        }
        for (addr, acc) in diff.accounts {
            let old = match acc {
                Some(a) => self.accounts.insert(addr, a),
                None => self.accounts.remove(&addr),
            };
            reverts.accounts.push(AccountRevert {
                address: addr,
                existed: old.is_some(),
                account: old.unwrap_or_default(),
            });
            self.dirty.entry(addr).or_default();
        }
        reverts
    }

    /// Undoes a block's changes and sets the root it had before.
    pub fn revert(&mut self, reverts: &Reverts, root: B256) {
        self.version += 1;
        for s in &reverts.storage {
            let map = self.storage.entry(s.address).or_default();
            if s.value.is_zero() {
                map.remove(&s.slot);
            } else {
                map.insert(s.slot, s.value);
            }
        }
        for a in &reverts.accounts {
            if a.existed {
                self.accounts.insert(a.address, a.account);
            } else {
                self.accounts.remove(&a.address);
            }
        }
        self.storage.retain(|_, m| !m.is_empty());
        self.root = root;
        self.dirty.clear();
        self.wiped.clear();
    }

    /// Recomputes the state root from the changed keys only, and returns what to persist.
    pub fn commit_root(&mut self) -> Result<StateWrite, TrieError> {
        self.commit_root_over(&aqueduct_trie::NoNodes)
    }

    /// As [`Self::commit_root`], reading trie nodes this state does not hold from `base` (a
    /// state built on another's nodes keeps only the nodes it creates).
    pub fn commit_root_over(&mut self, base: &impl NodeStore) -> Result<StateWrite, TrieError> {
        let mut write = StateWrite { codes: std::mem::take(&mut self.new_codes), ..Default::default() };
        let dirty = std::mem::take(&mut self.dirty);
        let wiped = std::mem::take(&mut self.wiped);
        let mut account_changes = Vec::with_capacity(dirty.len());
        for (addr, slots) in dirty {
            let current = self.storage.get(&addr);
            let was_wiped = wiped.contains(&addr);
            if was_wiped {
                write.wiped.push(addr);
            }
            let Some(mut acc) = self.accounts.get(&addr).copied() else {
                // Deleted account: its storage goes with it.
                if !was_wiped {
                    write.wiped.push(addr);
                }
                self.storage.remove(&addr);
                write.accounts.push((addr, None));
                account_changes.push((keccak256(addr).to_vec(), None));
                continue;
            };
            let value_of = |slot: &U256| current.and_then(|m| m.get(slot)).copied().unwrap_or_default();
            let (root, changes): (B256, Vec<TrieChange>) = if was_wiped {
                let all = current.map(|m| m.iter().map(|(s, v)| (*s, *v)).collect::<Vec<_>>()).unwrap_or_default();
                for (s, v) in &all {
                    write.storage.push((addr, *s, *v));
                }
                (EMPTY_ROOT, all.iter().map(|(s, v)| (slot_key(s), Some(slot_value(v)))).collect())
            } else {
                let ch = slots
                    .iter()
                    .map(|s| {
                        let v = value_of(s);
                        write.storage.push((addr, *s, v));
                        (slot_key(s), (!v.is_zero()).then(|| slot_value(&v)))
                    })
                    .collect();
                (acc.storage_root, ch)
            };
            if was_wiped || !slots.is_empty() {
                let up = aqueduct_trie::update(&Layered { top: &self.nodes, base }, root, changes)?;
                acc.storage_root = up.root;
                write.nodes.extend(up.nodes.iter().map(|(h, n)| (*h, n.clone())));
                self.nodes.extend(up.nodes);
                self.accounts.insert(addr, acc);
            }
            write.accounts.push((addr, Some(acc)));
            let mut enc = Vec::with_capacity(80);
            acc.encode(&mut enc);
            account_changes.push((keccak256(addr).to_vec(), Some(enc)));
        }
        let up = aqueduct_trie::update(&Layered { top: &self.nodes, base }, self.root, account_changes)?;
        self.root = up.root;
        write.nodes.extend(up.nodes.iter().map(|(h, n)| (*h, n.clone())));
        self.nodes.extend(up.nodes);
        Ok(write)
    }

    /// A view of a past state by its root (its nodes read from memory or the store).
    pub fn at_root(&self, root: B256) -> HistoricState<'_, TieredNodes> {
        HistoricState { nodes: &self.nodes, codes: &self.codes, root }
    }
}

impl StateView for WorldState {
    fn account(&self, address: &Address) -> Result<Option<StateAccount>, TrieError> {
        Ok(self.accounts.get(address).copied())
    }

    fn storage(&self, address: &Address, slot: &U256) -> Result<U256, TrieError> {
        Ok(self.storage.get(address).and_then(|m| m.get(slot)).copied().unwrap_or_default())
    }

    fn code(&self, hash: &B256) -> Option<Bytes> {
        if *hash == EMPTY_CODE_HASH {
            return Some(Bytes::new());
        }
        self.codes.get(hash).cloned()
    }
}

/// A state read through the trie from its root: a past state of this node, or a witness.
pub struct HistoricState<'a, N: NodeStore = MemoryNodes> {
    nodes: &'a N,
    codes: &'a HashMap<B256, Bytes>,
    root: B256,
}

impl<'a, N: NodeStore> HistoricState<'a, N> {
    /// Reads the state with root `root` from `nodes` (a missing node is an error, never a guess).
    pub fn new(nodes: &'a N, codes: &'a HashMap<B256, Bytes>, root: B256) -> Self {
        Self { nodes, codes, root }
    }
}

impl<N: NodeStore> StateView for HistoricState<'_, N> {
    fn account(&self, address: &Address) -> Result<Option<StateAccount>, TrieError> {
        match aqueduct_trie::get(self.nodes, self.root, keccak256(address).as_slice())? {
            None => Ok(None),
            Some(raw) => {
                StateAccount::decode(&mut raw.as_slice()).map(Some).map_err(|_| TrieError::Malformed("account RLP"))
            }
        }
    }

    fn storage(&self, address: &Address, slot: &U256) -> Result<U256, TrieError> {
        let Some(acc) = self.account(address)? else {
            return Ok(U256::ZERO);
        };
        match aqueduct_trie::get(self.nodes, acc.storage_root, slot_key(slot).as_slice())? {
            None => Ok(U256::ZERO),
            Some(raw) => U256::decode(&mut raw.as_slice()).map_err(|_| TrieError::Malformed("slot RLP")),
        }
    }

    fn code(&self, hash: &B256) -> Option<Bytes> {
        if *hash == EMPTY_CODE_HASH {
            return Some(Bytes::new());
        }
        self.codes.get(hash).cloned()
    }
}

/// A trie key and its new value (`None` deletes).
type TrieChange = (Vec<u8>, Option<Vec<u8>>);

/// Trie key of a storage slot.
pub fn slot_key(slot: &U256) -> Vec<u8> {
    keccak256(slot.to_be_bytes::<32>()).to_vec()
}

/// Trie value of a storage slot: the RLP of the integer.
pub fn slot_value(v: &U256) -> Vec<u8> {
    let mut out = Vec::with_capacity(33);
    v.encode(&mut out);
    out
}

/// Nodes of the latest trie, for proofs.
impl NodeStore for WorldState {
    fn node(&self, hash: &B256) -> Option<Vec<u8>> {
        self.nodes.node(hash)
    }
}

impl WorldState {
    /// Marks a key changed since the last root (used when reloading pending dev changes).
    pub fn mark_dirty(&mut self, address: Address, slot: Option<U256>) {
        let e = self.dirty.entry(address).or_default();
        if let Some(s) = slot {
            e.insert(s);
        }
    }
}

impl WorldState {
    /// Current values of every key in `reverts`, as a write (for dev changes and unwinds).
    pub fn write_for(&self, reverts: &Reverts) -> StateWrite {
        let mut w = StateWrite::default();
        for a in &reverts.accounts {
            let acc = self.accounts.get(&a.address).copied();
            if let Some(acc) = &acc
                && let Some(code) = self.codes.get(&acc.code_hash)
            {
                w.codes.push((acc.code_hash, code.clone()));
            }
            w.accounts.push((a.address, acc));
        }
        for s in &reverts.storage {
            let v = self.storage.get(&s.address).and_then(|m| m.get(&s.slot)).copied().unwrap_or_default();
            w.storage.push((s.address, s.slot, v));
        }
        w
    }
}

/// Root of a trie over `(key hash, value)` leaves, built from scratch.
fn root_of(mut leaves: Vec<(B256, Vec<u8>)>) -> B256 {
    leaves.sort_unstable_by_key(|l| l.0);
    let mut hb = alloy_trie::HashBuilder::default();
    for (k, v) in &leaves {
        hb.add_leaf(alloy_trie::Nibbles::unpack(k), v);
    }
    hb.root()
}

impl WorldState {
    /// Checks what was loaded from disk: every trie node and code against its hash, every
    /// account's storage against its storage root, and the accounts against `root` (the head's
    /// state root), reading the keys of dev changes made after the head (`pending`) at their old
    /// values. A flipped bit anywhere in the state fails one of these.
    pub fn check(&self, root: B256, pending: &Reverts) -> Result<(), String> {
        if let Some(h) = self.nodes.iter().find_map(|(h, n)| (keccak256(n) != *h).then_some(h)) {
            return Err(format!("trie node {h} does not hash to its key"));
        }
        if let Some(h) = self.codes.iter().find_map(|(h, c)| (keccak256(c) != *h).then_some(h)) {
            return Err(format!("code {h} does not hash to its key"));
        }
        let mut accounts = self.accounts.clone();
        for a in pending.accounts.iter().rev() {
            match a.existed {
                true => accounts.insert(a.address, a.account),
                false => accounts.remove(&a.address),
            };
        }
        let mut changed: HashMap<Address, HashMap<U256, U256>> = HashMap::new();
        for s in pending.storage.iter().rev() {
            let slots =
                changed.entry(s.address).or_insert_with(|| self.storage.get(&s.address).cloned().unwrap_or_default());
            match s.value.is_zero() {
                true => slots.remove(&s.slot),
                false => slots.insert(s.slot, s.value),
            };
        }
        let mut leaves = Vec::with_capacity(accounts.len());
        for (addr, acc) in &accounts {
            let slots = changed.get(addr).or(self.storage.get(addr));
            let storage_root = match slots {
                Some(m) if !m.is_empty() => {
                    root_of(m.iter().map(|(s, v)| (keccak256(s.to_be_bytes::<32>()), slot_value(v))).collect())
                }
                _ => EMPTY_ROOT,
            };
            if storage_root != acc.storage_root {
                return Err(format!("storage of {addr} does not match its storage root"));
            }
            let mut enc = Vec::with_capacity(80);
            acc.encode(&mut enc);
            leaves.push((keccak256(addr), enc));
        }
        let got = root_of(leaves);
        if got != root {
            return Err(format!("the accounts hash to state root {got}, the head block says {root}"));
        }
        Ok(())
    }
}
