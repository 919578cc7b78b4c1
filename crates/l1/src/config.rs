//! Devnet settings.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use alloy::primitives::U256;
use aqueduct_chain::{ChainConfig, ChainRules, Genesis, GenesisAccount, MiningMode};
use aqueduct_contracts::multicall::{MULTICALL3, Multicall3};
use revm::precompile::Precompile;

/// Settings of the embedded L1 (all have mainnet-like or anvil-like defaults).
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct L1Config {
    pub chain_id: u64,
    /// Seconds between blocks; 0 mines a block as soon as transactions arrive.
    pub block_time: f64,
    pub gas_limit: u64,
    pub data_dir: PathBuf,
    pub rpc_addr: SocketAddr,
    /// How many mnemonic accounts to fund.
    pub accounts: u32,
    /// Balance of each, in ether.
    pub balance_ether: u64,
    pub base_fee: u64,
    /// Precompiles added to Ethereum's (the optimistic rollup's EXECUTE, installed by whoever
    /// settles a rollup here): the L1 itself knows no rollup. Not part of the TOML config.
    #[serde(skip)]
    pub extra_precompiles: Vec<Precompile>,
}

impl Default for L1Config {
    fn default() -> Self {
        Self {
            chain_id: 31337,
            block_time: 12.0,
            gas_limit: 30_000_000,
            data_dir: PathBuf::from(".aqueduct/l1"),
            rpc_addr: SocketAddr::from(([127, 0, 0, 1], 8545)),
            accounts: 10,
            balance_ether: 10_000,
            base_fee: 1_000_000_000,
            extra_precompiles: Vec::new(),
        }
    }
}

impl L1Config {
    /// A throwaway L1 for tests and benchmarks: mines a block as soon as transactions arrive,
    /// keeps its data in `dir`, serves JSON-RPC on a free loopback port.
    pub fn instant(dir: &std::path::Path) -> Self {
        Self {
            block_time: 0.0,
            data_dir: dir.to_path_buf(),
            rpc_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            ..Default::default()
        }
    }

    pub fn validate(&self) -> Result<(), String> {
        if self.gas_limit < 21_000 {
            return Err(format!("gas limit {} is below one transfer (21000)", self.gas_limit));
        }
        if !(self.block_time >= 0.0 && self.block_time <= 3600.0) {
            return Err(format!("block time {} s must be between 0 and 3600", self.block_time));
        }
        if self.accounts == 0 || self.accounts > 1000 {
            return Err("accounts must be between 1 and 1000".into());
        }
        Ok(())
    }

    pub fn mining(&self) -> MiningMode {
        if self.block_time == 0.0 {
            MiningMode::Instant
        } else {
            MiningMode::Interval(Duration::from_secs_f64(self.block_time))
        }
    }

    /// The L1 rule set: Ethereum (Prague) with this devnet's chain id, gas limit and mining, and
    /// the extra precompiles installed.
    pub fn rules(&self) -> ChainRules {
        let mut r = ChainRules::ethereum(self.chain_id);
        r.gas_limit = self.gas_limit;
        r.mining = self.mining();
        r.dev_methods = true;
        r.extra_precompiles = self.extra_precompiles.clone();
        r
    }

    pub fn chain_config(&self, genesis: Genesis) -> ChainConfig {
        ChainConfig {
            rules: self.rules(),
            genesis,
            data_dir: self.data_dir.clone(),
            beneficiary: alloy::primitives::Address::ZERO,
            safe_depth: 32,
            finalized_depth: 64,
        }
    }

    /// Genesis with the dev accounts funded and Multicall3 at its usual address.
    pub fn genesis(&self, accounts: &[alloy::primitives::Address]) -> Genesis {
        let balance = U256::from(self.balance_ether) * U256::from(10u64).pow(U256::from(18));
        let mut alloc: std::collections::BTreeMap<_, _> =
            accounts.iter().map(|a| (*a, GenesisAccount { balance, ..Default::default() })).collect();
        alloc.insert(MULTICALL3, GenesisAccount { code: Multicall3::DEPLOYED_BYTECODE.clone(), ..Default::default() });
        Genesis { base_fee: self.base_fee, alloc, ..Default::default() }
    }
}
