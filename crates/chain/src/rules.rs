//! The rule set a chain runs under (DESIGN D1).

use std::time::Duration;

use alloy::eips::{eip1559::BaseFeeParams, eip7840::BlobParams};
use revm::{precompile::Precompile, primitives::hardfork::SpecId};

/// Transaction types a chain accepts from users.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TxTypes {
    pub legacy: bool,
    pub eip2930: bool,
    pub eip1559: bool,
    pub eip4844: bool,
}

impl TxTypes {
    pub const ALL: Self = Self { legacy: true, eip2930: true, eip1559: true, eip4844: true };

    pub fn accepts(&self, ty: u8) -> bool {
        match ty {
            0 => self.legacy,
            1 => self.eip2930,
            2 => self.eip1559,
            3 => self.eip4844,
            _ => false,
        }
    }
}

/// How blocks are produced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MiningMode {
    /// A block as soon as transactions are pending (all pending transactions that fit).
    Instant,
    /// A block every interval, empty or not.
    Interval(Duration),
    /// Only on request (`evm_mine`).
    Manual,
}

/// Mempool limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolLimits {
    /// Most transactions held in total.
    pub max_txs: usize,
    /// Most transactions held per sender.
    pub max_per_sender: usize,
    /// Most nonces ahead of the account's current nonce.
    pub max_nonce_gap: u64,
    /// Largest encoded transaction accepted (blob sidecars excluded).
    pub max_tx_bytes: usize,
    /// A replacement must raise both fees by at least this many percent.
    pub price_bump_percent: u128,
}

impl Default for PoolLimits {
    fn default() -> Self {
        Self {
            max_txs: 100_000,
            max_per_sender: 5_000,
            max_nonce_gap: 5_000,
            max_tx_bytes: 128 * 1024,
            price_bump_percent: 10,
        }
    }
}

/// Everything that makes one chain differ from another.
#[derive(Clone, Debug)]
pub struct ChainRules {
    pub chain_id: u64,
    /// Shown by `web3_clientVersion`.
    pub client_version: String,
    pub spec: SpecId,
    pub gas_limit: u64,
    pub base_fee_params: BaseFeeParams,
    /// Lowest base fee the chain falls to.
    pub min_base_fee: u64,
    /// `None`: blob transactions are not accepted.
    pub blob_params: Option<BlobParams>,
    pub tx_types: TxTypes,
    pub mining: MiningMode,
    pub pool: PoolLimits,
    /// Precompiles added to the spec's own (e.g. an EXECUTE precompile).
    pub extra_precompiles: Vec<Precompile>,
    /// Serve anvil-style dev methods (evm_mine, anvil_setBalance, …).
    pub dev_methods: bool,
    /// Suggested priority fee (eth_maxPriorityFeePerGas).
    pub suggested_tip: u128,
}

impl ChainRules {
    /// Ethereum mainnet rules at Prague, with the given chain id.
    pub fn ethereum(chain_id: u64) -> Self {
        Self {
            chain_id,
            client_version: format!("aqueduct/v{}", env!("CARGO_PKG_VERSION")),
            spec: SpecId::PRAGUE,
            gas_limit: 30_000_000,
            base_fee_params: BaseFeeParams::ethereum(),
            min_base_fee: 7,
            blob_params: Some(BlobParams::prague()),
            tx_types: TxTypes::ALL,
            mining: MiningMode::Interval(Duration::from_secs(12)),
            pool: PoolLimits::default(),
            extra_precompiles: Vec::new(),
            dev_methods: false,
            suggested_tip: 1_000_000_000,
        }
    }

    /// The base fee after a parent with this gas use.
    pub fn next_base_fee(&self, parent_gas_used: u64, parent_gas_limit: u64, parent_base_fee: u64) -> u64 {
        self.base_fee_params
            .next_block_base_fee(parent_gas_used, parent_gas_limit, parent_base_fee)
            .max(self.min_base_fee)
    }

    /// EIP-4844 excess blob gas after a parent (Prague rule).
    pub fn next_excess_blob_gas(&self, parent_excess: u64, parent_used: u64) -> u64 {
        match &self.blob_params {
            Some(p) => (parent_excess + parent_used).saturating_sub(p.target_blob_gas_per_block()),
            None => 0,
        }
    }

    pub fn blob_base_fee(&self, excess_blob_gas: u64) -> u128 {
        self.blob_params.as_ref().map(|p| p.calc_blob_fee(excess_blob_gas)).unwrap_or(0)
    }
}
