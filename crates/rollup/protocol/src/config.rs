//! Rollup parameters every node of one rollup must agree on.

use alloy::primitives::{Address, address};
use aqueduct_evm::L2Rules;
use serde::{Deserialize, Serialize};

use crate::deposit::L1Origin;

/// L2 predeploys and system accounts (contracts/src/rollup/RollupLib.sol).
pub struct Predeploys;

impl Predeploys {
    pub const L2_BRIDGE: Address = address!("0x4200000000000000000000000000000000000010");
    pub const L1_BLOCK: Address = address!("0x4200000000000000000000000000000000000015");
    pub const MESSAGE_PASSER: Address = address!("0x4200000000000000000000000000000000000016");
    pub const L1_FEE_VAULT: Address = address!("0x420000000000000000000000000000000000001A");
    /// Consumes messages of other rollups (OP Stack's CrossL2Inbox address).
    pub const CROSS_L2_INBOX: Address = address!("0x4200000000000000000000000000000000000022");
    /// Sends and relays messages between rollups (OP Stack's L2ToL2CrossDomainMessenger address).
    pub const L2_TO_L2_MESSENGER: Address = address!("0x4200000000000000000000000000000000000023");
    pub const DEPOSITOR: Address = address!("0xDeaDDEaDDeAdDeAdDEAdDEaddeAddEAdDEAd0001");
}

/// One rollup's fixed parameters.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RollupConfig {
    pub l2_chain_id: u64,
    /// L2 block time in milliseconds (1,000 by default, down to 100).
    pub block_time_ms: u64,
    /// L1 blocks within which a batch for an L1 origin must land, and after which forced
    /// transactions are included whatever the sequencer does (3,600 on mainnet settings).
    pub seq_window: u64,
    /// L1 blocks a channel may take from its first frame to its last.
    pub channel_timeout: u64,
    /// Largest decompressed channel accepted.
    pub max_channel_bytes: usize,
    pub portal: Address,
    pub inbox: Address,
    pub oracle: Address,
    /// The fault-proof dispute game (the oracle's only deleter).
    #[serde(default)]
    pub dispute_game: Address,
    /// The only sender whose inbox batches count.
    pub batcher: Address,
    /// The L1 block the L2 genesis is anchored to.
    pub l1_genesis: L1Origin,
    /// L2 genesis timestamp (seconds).
    pub l2_genesis_time: u64,
    /// Compressed bytes per encoded byte, in millionths (charged in the L1 fee).
    pub compression_ppm: u64,
    pub base_fee_scalar: u64,
    pub blob_base_fee_scalar: u64,
}

impl RollupConfig {
    /// Timestamp of L2 block `n` (blocks below one second share a timestamp).
    pub fn block_timestamp(&self, n: u64) -> u64 {
        self.l2_genesis_time + n.saturating_mul(self.block_time_ms) / 1_000
    }

    pub fn l2_rules(&self) -> L2Rules {
        L2Rules {
            l1_fee_vault: Predeploys::L1_FEE_VAULT,
            compression_ppm: self.compression_ppm,
            min_l1_bytes: 40,
            base_fee_scalar: self.base_fee_scalar,
            blob_base_fee_scalar: self.blob_base_fee_scalar,
        }
    }

    pub fn validate(&self) -> Result<(), String> {
        if self.block_time_ms < 100 {
            return Err(format!("block time {} ms is below the 100 ms floor", self.block_time_ms));
        }
        if self.seq_window == 0 || self.channel_timeout == 0 {
            return Err("sequencing window and channel timeout must be at least one L1 block".into());
        }
        Ok(())
    }
}
