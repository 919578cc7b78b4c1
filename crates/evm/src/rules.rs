//! The rule set a chain runs under (DESIGN D1).

use std::time::Duration;

use alloy::{
    eips::{eip1559::BaseFeeParams, eip7840::BlobParams},
    primitives::Address,
};
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
    /// Most queued transactions (not executable yet: behind a nonce gap) per sender (geth: 64).
    pub max_queued_per_sender: usize,
    /// Most queued transactions in total (geth: 1,024); beyond it the cheapest queued one goes.
    pub max_queued: usize,
    /// Most bytes held (transactions with their blob sidecars).
    pub max_bytes: usize,
    /// Seconds a queued transaction is kept (geth: 3 h).
    pub queued_lifetime_secs: u64,
}

impl Default for PoolLimits {
    fn default() -> Self {
        Self {
            max_txs: 100_000,
            max_per_sender: 5_000,
            max_nonce_gap: 5_000,
            max_tx_bytes: 128 * 1024,
            price_bump_percent: 10,
            max_queued_per_sender: 64,
            max_queued: 4_096,
            max_bytes: 256 * 1024 * 1024,
            queued_lifetime_secs: 3 * 3600,
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
    /// Rollup additions: deposits and the L1 data fee. `None` on L1.
    pub l2: Option<L2Rules>,
}

/// L1 prices an L2 block charges data at (those of its L1 origin).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct L1Prices {
    pub base_fee: u128,
    pub blob_base_fee: u128,
}

impl L1Prices {
    /// Bytes of an L2 header's `extra_data` the prices take: the header keeps geth's 32-byte
    /// bound on `extra_data` (web3.py refuses longer), with the rollup's own metadata after them.
    pub const EXTRA_LEN: usize = 16;

    /// As an L2 header's `extra_data` holds them: two big-endian u64, each capped at `u64::MAX`
    /// wei (18.4 ETH a gas).
    pub fn to_extra_data(self) -> [u8; Self::EXTRA_LEN] {
        let cap = |v: u128| u64::try_from(v).unwrap_or(u64::MAX).to_be_bytes();
        let mut out = [0u8; Self::EXTRA_LEN];
        out[..8].copy_from_slice(&cap(self.base_fee));
        out[8..].copy_from_slice(&cap(self.blob_base_fee));
        out
    }

    /// Reads the prices from the front of an L2 header's `extra_data`.
    pub fn from_extra_data(extra: &[u8]) -> Option<Self> {
        let b = extra.get(..Self::EXTRA_LEN)?;
        let n = |r: std::ops::Range<usize>| Some(u128::from(u64::from_be_bytes(b.get(r)?.try_into().ok()?)));
        Some(Self { base_fee: n(0..8)?, blob_base_fee: n(8..16)? })
    }

    /// The prices a block charges: what its header can hold (a price above `u64::MAX` is capped,
    /// the same on every node, since each reads it back from the header).
    pub fn as_in_header(self) -> Self {
        Self::from_extra_data(&self.to_extra_data()).expect("the encoding reads back")
    }
}

/// What a rollup adds to a rule set (DESIGN D1): the deposit transaction type, and an L1 data fee
/// on every user transaction, charged from its size after compression (OP's Ecotone formula):
/// `fee = size × (16 × baseFee × baseFeeScalar + blobBaseFee × blobBaseFeeScalar) / 10^6`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct L2Rules {
    /// Receives L1 data fees.
    pub l1_fee_vault: Address,
    /// Compressed size per encoded byte, in millionths (the batcher's measured ratio).
    pub compression_ppm: u64,
    /// Fewest bytes a transaction is charged for.
    pub min_l1_bytes: u64,
    /// Millionths of `16 × baseFee` charged per byte (calldata price share).
    pub base_fee_scalar: u64,
    /// Millionths of the blob base fee charged per byte.
    pub blob_base_fee_scalar: u64,
}

impl L2Rules {
    /// Compressed bytes an encoded transaction of `len` bytes is charged for.
    pub fn l1_bytes(&self, len: usize) -> u64 {
        ((len as u64).saturating_mul(self.compression_ppm) / 1_000_000).max(self.min_l1_bytes)
    }

    pub fn l1_fee(&self, len: usize, prices: L1Prices) -> u128 {
        let per_byte = 16u128
            .saturating_mul(prices.base_fee)
            .saturating_mul(self.base_fee_scalar as u128)
            .saturating_add(prices.blob_base_fee.saturating_mul(self.blob_base_fee_scalar as u128));
        (self.l1_bytes(len) as u128).saturating_mul(per_byte) / 1_000_000
    }
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
            l2: None,
        }
    }

    /// An L2's rules as far as executing its blocks goes (what a one-step proof must agree on):
    /// Prague EVM, the chain id and gas limit, no blob transactions, deposits and the L1 data fee.
    pub fn l2_execution(chain_id: u64, gas_limit: u64, l2: L2Rules) -> Self {
        let mut r = Self::ethereum(chain_id);
        r.gas_limit = gas_limit;
        r.blob_params = None;
        r.tx_types = TxTypes { eip4844: false, ..TxTypes::ALL };
        r.l2 = Some(l2);
        // OP-like EIP-1559 parameters and floor: consensus, since every block's base fee follows.
        r.base_fee_params = alloy::eips::eip1559::BaseFeeParams::optimism();
        r.min_base_fee = 1_000_000;
        r
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
