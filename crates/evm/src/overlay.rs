//! revm's view of a state during a block: reads fall through to a base state, commits stay here.

use std::collections::{BTreeSet, HashMap};

use alloy::primitives::{Address, B256, U256};
use aqueduct_primitives::{EMPTY_CODE_HASH, StateAccount};
use aqueduct_trie::TrieError;
use revm::{
    Database, DatabaseCommit, DatabaseRef,
    bytecode::Bytecode,
    database_interface::DBErrorMarker,
    primitives::{AddressMap, KECCAK_EMPTY},
    state::{Account, AccountInfo},
};

use crate::state::{StateDiff, StateView};

/// Errors reading state during execution.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error(transparent)]
    Trie(#[from] TrieError),
    #[error("code {0} is missing")]
    MissingCode(B256),
}

impl DBErrorMarker for StateError {}

/// Block hashes visible to BLOCKHASH.
pub trait BlockHashes {
    fn block_hash(&self, number: u64) -> B256;
}

impl BlockHashes for [B256] {
    fn block_hash(&self, number: u64) -> B256 {
        self.get(number as usize).copied().unwrap_or_default()
    }
}

/// Pending changes over a base state.
pub struct Overlay<'a, S: ?Sized, H: ?Sized> {
    base: &'a S,
    hashes: &'a H,
    accounts: HashMap<Address, Option<StateAccount>>,
    storage: HashMap<Address, HashMap<U256, U256>>,
    wiped: BTreeSet<Address>,
    codes: HashMap<B256, Bytecode>,
}

impl<'a, S: StateView + ?Sized, H: BlockHashes + ?Sized> Overlay<'a, S, H> {
    pub fn new(base: &'a S, hashes: &'a H) -> Self {
        Self {
            base,
            hashes,
            accounts: HashMap::new(),
            storage: HashMap::new(),
            wiped: BTreeSet::new(),
            codes: HashMap::new(),
        }
    }

    pub fn account_of(&self, address: &Address) -> Result<Option<StateAccount>, StateError> {
        match self.accounts.get(address) {
            Some(a) => Ok(*a),
            None => Ok(self.base.account(address)?),
        }
    }

    /// Overrides an account's fields (eth_call state overrides, dev methods).
    pub fn set_account(&mut self, address: Address, f: impl FnOnce(&mut StateAccount)) -> Result<(), StateError> {
        let mut acc = self.account_of(&address)?.unwrap_or_default();
        f(&mut acc);
        self.accounts.insert(address, Some(acc));
        Ok(())
    }

    pub fn set_code(&mut self, address: Address, code: alloy::primitives::Bytes) -> Result<(), StateError> {
        let hash = StateAccount::code_hash_of(&code);
        if hash != EMPTY_CODE_HASH {
            self.codes.insert(hash, Bytecode::new_raw(code));
        }
        self.set_account(address, |a| a.code_hash = hash)
    }

    pub fn set_storage(&mut self, address: Address, slot: U256, value: U256) {
        self.storage.entry(address).or_default().insert(slot, value);
    }

    /// Replaces all of an account's storage (eth_call `state` override).
    pub fn replace_storage(&mut self, address: Address, slots: impl IntoIterator<Item = (U256, U256)>) {
        self.wiped.insert(address);
        self.storage.insert(address, slots.into_iter().collect());
    }

    /// The accumulated changes.
    pub fn into_diff(self) -> StateDiff {
        StateDiff {
            accounts: self.accounts,
            storage: self.storage,
            wiped: self.wiped,
            codes: self.codes.into_iter().map(|(h, c)| (h, c.original_bytes())).collect(),
        }
    }
}

impl<S: StateView + ?Sized, H: BlockHashes + ?Sized> Database for Overlay<'_, S, H> {
    type Error = StateError;

    fn basic(&mut self, address: Address) -> Result<Option<AccountInfo>, Self::Error> {
        self.basic_ref(address)
    }

    fn code_by_hash(&mut self, code_hash: B256) -> Result<Bytecode, Self::Error> {
        if code_hash == KECCAK_EMPTY || code_hash.is_zero() {
            return Ok(Bytecode::default());
        }
        if let Some(c) = self.codes.get(&code_hash) {
            return Ok(c.clone());
        }
        let raw = self.base.code(&code_hash).ok_or(StateError::MissingCode(code_hash))?;
        let code = Bytecode::new_raw(raw);
        self.codes.insert(code_hash, code.clone());
        Ok(code)
    }

    fn storage(&mut self, address: Address, index: U256) -> Result<U256, Self::Error> {
        self.storage_ref(address, index)
    }

    fn block_hash(&mut self, number: u64) -> Result<B256, Self::Error> {
        self.block_hash_ref(number)
    }
}

/// Reads without caching (what a tracer reads after execution: the state before it).
impl<S: StateView + ?Sized, H: BlockHashes + ?Sized> DatabaseRef for Overlay<'_, S, H> {
    type Error = StateError;

    fn basic_ref(&self, address: Address) -> Result<Option<AccountInfo>, Self::Error> {
        Ok(self.account_of(&address)?.map(|a| AccountInfo {
            balance: a.balance,
            nonce: a.nonce,
            // Our EMPTY_CODE_HASH is revm's KECCAK_EMPTY (see the test below).
            code_hash: a.code_hash,
            account_id: None,
            code: None,
        }))
    }

    fn code_by_hash_ref(&self, code_hash: B256) -> Result<Bytecode, Self::Error> {
        if code_hash == KECCAK_EMPTY || code_hash.is_zero() {
            return Ok(Bytecode::default());
        }
        if let Some(c) = self.codes.get(&code_hash) {
            return Ok(c.clone());
        }
        Ok(Bytecode::new_raw(self.base.code(&code_hash).ok_or(StateError::MissingCode(code_hash))?))
    }

    fn storage_ref(&self, address: Address, index: U256) -> Result<U256, Self::Error> {
        if let Some(v) = self.storage.get(&address).and_then(|m| m.get(&index)) {
            return Ok(*v);
        }
        if self.wiped.contains(&address) || matches!(self.accounts.get(&address), Some(None)) {
            return Ok(U256::ZERO);
        }
        Ok(self.base.storage(&address, &index)?)
    }

    fn block_hash_ref(&self, number: u64) -> Result<B256, Self::Error> {
        Ok(self.hashes.block_hash(number))
    }
}

impl<S: StateView + ?Sized, H: BlockHashes + ?Sized> DatabaseCommit for Overlay<'_, S, H> {
    fn commit(&mut self, changes: AddressMap<Account>) {
        for (address, account) in changes {
            if !account.is_touched() {
                continue;
            }
            if account.is_selfdestructed() {
                self.accounts.insert(address, None);
                self.wiped.insert(address);
                self.storage.remove(&address);
                continue;
            }
            if account.is_created() {
                self.wiped.insert(address);
                self.storage.remove(&address);
            }
            if account.is_empty() {
                // EIP-161: touched empty accounts are removed.
                self.accounts.insert(address, None);
                continue;
            }
            let code_hash = account.info.code_hash;
            if code_hash != EMPTY_CODE_HASH
                && let Some(code) = &account.info.code
            {
                self.codes.entry(code_hash).or_insert_with(|| code.clone());
            }
            // The storage root is recomputed when the block's root is.
            let storage_root = match self.accounts.get(&address) {
                Some(Some(a)) => a.storage_root,
                _ => self
                    .base
                    .account(&address)
                    .ok()
                    .flatten()
                    .map(|a| a.storage_root)
                    .unwrap_or(aqueduct_trie::EMPTY_ROOT),
            };
            self.accounts.insert(
                address,
                Some(StateAccount {
                    nonce: account.info.nonce,
                    balance: account.info.balance,
                    storage_root,
                    code_hash,
                }),
            );
            let slots = self.storage.entry(address).or_default();
            for (slot, s) in account.storage {
                if s.is_changed() {
                    slots.insert(slot, s.present_value);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_code_hashes_agree() {
        // The overlay passes code hashes between revm and our accounts unchanged.
        assert_eq!(EMPTY_CODE_HASH, KECCAK_EMPTY);
    }
}
