//! The state and header a chain starts from.

use std::collections::BTreeMap;

use alloy::primitives::{Address, B256, Bytes, U256};

/// One account at genesis.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct GenesisAccount {
    pub balance: U256,
    #[serde(default)]
    pub nonce: u64,
    #[serde(default)]
    pub code: Bytes,
    #[serde(default)]
    pub storage: BTreeMap<B256, B256>,
}

/// A chain's first block.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Genesis {
    pub timestamp: u64,
    pub base_fee: u64,
    pub extra_data: Bytes,
    pub alloc: BTreeMap<Address, GenesisAccount>,
}

impl Default for Genesis {
    fn default() -> Self {
        Self {
            timestamp: 0,
            base_fee: 1_000_000_000,
            extra_data: Bytes::from_static(b"aqueduct"),
            alloc: BTreeMap::new(),
        }
    }
}
