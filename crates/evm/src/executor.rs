//! revm wiring: environments from our types, and an EVM over any state.

use alloy::{
    consensus::Transaction,
    eips::Typed2718,
    primitives::{Address, B256, U256},
};
use revm::{
    Context, MainBuilder, MainContext,
    context::{BlockEnv, CfgEnv, TxEnv},
    context_interface::block::BlobExcessGasAndPrice,
    handler::EthPrecompiles,
    precompile::Precompiles,
    primitives::hardfork::SpecId,
};

use crate::{block::ChainTx, rules::ChainRules};

/// What a block's execution environment needs.
#[derive(Clone, Copy, Debug)]
pub struct BlockContext {
    pub number: u64,
    pub timestamp: u64,
    pub beneficiary: Address,
    pub gas_limit: u64,
    pub base_fee: u64,
    pub prevrandao: B256,
    pub excess_blob_gas: u64,
}

/// The precompile set of a rule set: the spec's own plus the rule set's extras.
pub fn precompiles_for(rules: &ChainRules) -> &'static Precompiles {
    type Key = (revm::precompile::PrecompileSpecId, Vec<String>);
    static SETS: std::sync::OnceLock<parking_lot::Mutex<std::collections::HashMap<Key, &'static Precompiles>>> =
        std::sync::OnceLock::new();
    let spec = revm::precompile::PrecompileSpecId::from_spec_id(rules.spec);
    let base = Precompiles::new(spec);
    if rules.extra_precompiles.is_empty() {
        return base;
    }
    // revm wants a 'static set: one per distinct rule set (extras named by id and address),
    // made once and kept for the process, however often blocks are executed.
    let key = (spec, rules.extra_precompiles.iter().map(|p| format!("{p:?}")).collect());
    let mut sets = SETS.get_or_init(Default::default).lock();
    sets.entry(key).or_insert_with(|| {
        let mut set = base.clone();
        set.extend(rules.extra_precompiles.iter().cloned());
        Box::leak(Box::new(set))
    })
}

pub fn cfg_env(rules: &ChainRules) -> CfgEnv {
    let mut cfg = CfgEnv::new_with_spec(rules.spec);
    cfg.chain_id = rules.chain_id;
    cfg
}

pub fn block_env(rules: &ChainRules, b: &BlockContext) -> BlockEnv {
    let fraction = rules.blob_params.map(|p| p.update_fraction as u64).unwrap_or(1);
    BlockEnv {
        number: U256::from(b.number),
        beneficiary: b.beneficiary,
        timestamp: U256::from(b.timestamp),
        gas_limit: b.gas_limit,
        basefee: b.base_fee,
        difficulty: U256::ZERO,
        prevrandao: Some(b.prevrandao),
        blob_excess_gas_and_price: Some(BlobExcessGasAndPrice::new(b.excess_blob_gas, fraction.max(1))),
        ..Default::default()
    }
}

/// revm's view of a signed transaction.
pub fn tx_env(tx: &ChainTx) -> TxEnv {
    let e = &tx.envelope;
    TxEnv {
        tx_type: e.ty(),
        caller: tx.sender,
        gas_limit: e.gas_limit(),
        gas_price: e.max_fee_per_gas(),
        kind: e.kind(),
        value: e.value(),
        data: e.input().clone(),
        nonce: e.nonce(),
        chain_id: e.chain_id(),
        access_list: e.access_list().cloned().unwrap_or_default(),
        gas_priority_fee: if e.ty() == 0 || e.ty() == 1 { None } else { e.max_priority_fee_per_gas() },
        blob_hashes: e.blob_versioned_hashes().map(|h| h.to_vec()).unwrap_or_default(),
        max_fee_per_blob_gas: e.max_fee_per_blob_gas().unwrap_or_default(),
        ..Default::default()
    }
}

/// Builds a mainnet-handler EVM over `db` with the rule set's precompiles.
pub fn build_evm<DB: revm::Database>(
    rules: &ChainRules,
    precompiles: &'static Precompiles,
    db: DB,
    cfg: CfgEnv,
    block: BlockEnv,
) -> revm::handler::MainnetEvm<revm::context::Context<BlockEnv, TxEnv, CfgEnv, DB>> {
    let spec: SpecId = rules.spec;
    Context::mainnet()
        .with_db(db)
        .with_cfg(cfg)
        .with_block(block)
        .build_mainnet()
        .with_precompiles(EthPrecompiles { precompiles, spec })
}

/// As [`build_evm`], with `inspector` watching every step (tracing, access lists).
pub fn build_inspecting_evm<DB: revm::Database, I>(
    rules: &ChainRules,
    precompiles: &'static Precompiles,
    db: DB,
    cfg: CfgEnv,
    block: BlockEnv,
    inspector: I,
) -> revm::handler::MainnetEvm<revm::context::Context<BlockEnv, TxEnv, CfgEnv, DB>, I> {
    let spec: SpecId = rules.spec;
    Context::mainnet()
        .with_db(db)
        .with_cfg(cfg)
        .with_block(block)
        .build_mainnet_with_inspector(inspector)
        .with_precompiles(EthPrecompiles { precompiles, spec })
}

/// Intrinsic gas (Prague): base, calldata, creation, access list, and the EIP-7623 floor.
pub fn intrinsic_gas(tx: &alloy::consensus::TxEnvelope) -> u64 {
    let input = tx.input();
    let zeros = input.iter().filter(|b| **b == 0).count() as u64;
    let nonzeros = input.len() as u64 - zeros;
    let create = tx.kind().is_create();
    let mut gas = 21_000 + zeros * 4 + nonzeros * 16;
    if create {
        gas += 32_000 + (input.len() as u64).div_ceil(32) * 2;
    }
    if let Some(al) = tx.access_list() {
        for item in al.iter() {
            gas += 2_400 + 1_900 * item.storage_keys.len() as u64;
        }
    }
    let floor = 21_000 + 10 * (zeros + 4 * nonzeros);
    gas.max(floor)
}

/// revm's view of a deposit: a free legacy-shaped call from `from` (no signature, no fee; the
/// builder turns the nonce and base-fee checks off around it).
pub fn deposit_env(d: &crate::deposit::DepositTx, nonce: u64) -> TxEnv {
    TxEnv {
        tx_type: 0,
        caller: d.from,
        gas_limit: d.gas_limit,
        gas_price: 0,
        kind: d.to,
        value: d.value,
        data: d.input.clone(),
        nonce,
        chain_id: None,
        ..Default::default()
    }
}
