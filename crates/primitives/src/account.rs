//! The account record committed in Ethereum's state trie.

use alloy_primitives::{B256, U256, b256, keccak256};
use alloy_rlp::{RlpDecodable, RlpEncodable};

/// keccak256 of empty code.
pub const EMPTY_CODE_HASH: B256 = b256!("c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470");

/// `rlp([nonce, balance, storageRoot, codeHash])`, the value stored under `keccak256(address)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, RlpEncodable, RlpDecodable, serde::Serialize, serde::Deserialize)]
pub struct StateAccount {
    pub nonce: u64,
    pub balance: U256,
    pub storage_root: B256,
    pub code_hash: B256,
}

impl Default for StateAccount {
    fn default() -> Self {
        Self { nonce: 0, balance: U256::ZERO, storage_root: EMPTY_ROOT, code_hash: EMPTY_CODE_HASH }
    }
}

/// Root of an empty trie (kept here too so primitives need no trie dependency).
const EMPTY_ROOT: B256 = b256!("56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421");

impl StateAccount {
    /// EIP-161: no code, zero nonce, zero balance.
    pub fn is_empty(&self) -> bool {
        self.nonce == 0 && self.balance.is_zero() && self.code_hash == EMPTY_CODE_HASH
    }

    pub fn code_hash_of(code: &[u8]) -> B256 {
        if code.is_empty() { EMPTY_CODE_HASH } else { keccak256(code) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_rlp::{Decodable, Encodable};
    use proptest::prelude::*;

    #[test]
    fn empty_code_hash_is_keccak_of_nothing() {
        assert_eq!(EMPTY_CODE_HASH, keccak256([]));
    }

    proptest! {
        #[test]
        fn rlp_roundtrip(nonce: u64, balance: [u8; 32], root: [u8; 32], code: [u8; 32]) {
            let a = StateAccount { nonce, balance: U256::from_be_bytes(balance), storage_root: B256::from(root), code_hash: B256::from(code) };
            let mut out = Vec::new();
            a.encode(&mut out);
            prop_assert_eq!(StateAccount::decode(&mut out.as_slice()).unwrap(), a);
        }

        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..120)) {
            let _ = StateAccount::decode(&mut bytes.as_slice());
        }
    }
}
