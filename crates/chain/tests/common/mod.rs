//! Helpers shared by the engine's integration tests.

#![allow(dead_code)]

use alloy::{
    consensus::{SignableTransaction, TxEip1559, TxEnvelope},
    network::TxSignerSync,
    primitives::{Address, TxKind, U256},
    signers::local::PrivateKeySigner,
};
use aqueduct_chain::{Chain, ChainConfig, ChainRules, Genesis, GenesisAccount, MiningMode};

/// Chain id 7, Prague, blocks only when asked for.
pub fn rules() -> ChainRules {
    let mut rules = ChainRules::ethereum(7);
    rules.mining = MiningMode::Manual;
    rules
}

/// A chain in `dir` with `funded` holding 10^24 wei each.
pub fn open(dir: &std::path::Path, funded: &[Address]) -> std::sync::Arc<Chain> {
    let genesis = Genesis {
        alloc: funded
            .iter()
            .map(|a| (*a, GenesisAccount { balance: U256::from(10u128.pow(24)), ..Default::default() }))
            .collect(),
        ..Default::default()
    };
    Chain::open(ChainConfig {
        rules: rules(),
        genesis,
        data_dir: dir.to_path_buf(),
        beneficiary: Address::repeat_byte(0xbe),
        safe_depth: 2,
        finalized_depth: 4,
    })
    .unwrap()
}

/// A signed EIP-1559 transaction on chain 7.
pub fn tx(s: &PrivateKeySigner, nonce: u64, to: TxKind, input: Vec<u8>, value: u64, gas: u64) -> TxEnvelope {
    let mut t = TxEip1559 {
        chain_id: 7,
        nonce,
        gas_limit: gas,
        max_fee_per_gas: 10_000_000_000,
        max_priority_fee_per_gas: 1,
        to,
        value: U256::from(value),
        input: input.into(),
        access_list: Default::default(),
    };
    let sig = s.sign_transaction_sync(&mut t).unwrap();
    t.into_signed(sig).into()
}
