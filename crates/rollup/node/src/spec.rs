//! A rollup's spec file: everything a node needs to join it (the rollup config, the L2 genesis,
//! the L1 deployment), written by whoever deployed it and read by every other process.

use std::path::Path;

use alloy::primitives::{Address, U256};
use aqueduct_chain::Genesis;
use aqueduct_rollup_protocol::RollupConfig;
use serde::{Deserialize, Serialize};

use crate::genesis::l2_genesis;

#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("reading rollup spec {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("rollup spec {path} does not parse: {source}")]
    Parse { path: String, source: serde_json::Error },
    /// It parses, but its rollup config is out of range (the validator's reason).
    #[error("rollup spec {path} is not valid: {reason}")]
    Invalid { path: String, reason: String },
    #[error("writing rollup spec {path}: {source}")]
    Write { path: String, source: std::io::Error },
}

/// One rollup, as a file (`rollup.json`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RollupSpec {
    /// The L1 it settles on.
    pub l1_chain_id: u64,
    pub rollup: RollupConfig,
    /// L2 block gas limit.
    pub gas_limit: u64,
    /// Accounts funded in the L2 genesis, and with how much (devnets only; empty on real settings).
    #[serde(default)]
    pub funded: Vec<Address>,
    #[serde(default)]
    pub funded_balance: U256,
    /// Output bond and challenge window, as deployed.
    pub bond: U256,
    pub finalization_period: u64,
}

impl RollupSpec {
    pub fn genesis(&self) -> Genesis {
        l2_genesis(&self.rollup, &self.funded, self.funded_balance)
    }

    pub fn load(path: &Path) -> Result<Self, SpecError> {
        let p = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| SpecError::Read { path: p.clone(), source })?;
        let spec: Self = serde_json::from_str(&text).map_err(|source| SpecError::Parse { path: p.clone(), source })?;
        spec.rollup.validate().map_err(|reason| SpecError::Invalid { path: p, reason })?;
        Ok(spec)
    }

    /// Writes the spec atomically (temporary file, fsync, rename).
    pub fn save(&self, path: &Path) -> Result<(), SpecError> {
        let p = path.display().to_string();
        let err = |source| SpecError::Write { path: p.clone(), source };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(err)?;
        }
        let tmp = path.with_extension("json.tmp");
        let text = serde_json::to_string_pretty(self).expect("a spec serializes");
        {
            use std::io::Write;
            let mut f = std::fs::File::create(&tmp).map_err(err)?;
            f.write_all(text.as_bytes()).map_err(err)?;
            f.sync_all().map_err(err)?;
        }
        std::fs::rename(&tmp, path).map_err(err)
    }
}

#[cfg(test)]
mod tests {
    use aqueduct_rollup_protocol::L1Origin;

    use super::*;

    #[test]
    fn round_trips_through_a_file_and_rejects_garbage() {
        let dir = tempfile::tempdir().unwrap();
        let spec = RollupSpec {
            l1_chain_id: 31337,
            rollup: RollupConfig {
                l2_chain_id: 901,
                block_time_ms: 1000,
                seq_window: 3600,
                channel_timeout: 300,
                max_channel_bytes: 16 << 20,
                portal: Address::repeat_byte(1),
                inbox: Address::repeat_byte(2),
                oracle: Address::repeat_byte(3),
                dispute_game: Address::repeat_byte(5),
                batcher: Address::repeat_byte(4),
                l1_genesis: L1Origin { number: 3, ..Default::default() },
                l2_genesis_time: 1_700_000_000,
                compression_ppm: 600_000,
                base_fee_scalar: 50_000,
                blob_base_fee_scalar: 1_000_000,
            },
            gas_limit: 30_000_000,
            funded: vec![Address::repeat_byte(9)],
            funded_balance: U256::from(7),
            bond: U256::from(100),
            finalization_period: 60,
        };
        let path = dir.path().join("r/rollup.json");
        spec.save(&path).unwrap();
        assert_eq!(RollupSpec::load(&path).unwrap(), spec);
        assert_eq!(spec.genesis().alloc[&Address::repeat_byte(9)].balance, U256::from(7));
        std::fs::write(&path, "{ not json").unwrap();
        assert!(matches!(RollupSpec::load(&path), Err(SpecError::Parse { .. })));
        let mut bad = spec.clone();
        bad.rollup.block_time_ms = 10;
        std::fs::write(&path, serde_json::to_string(&bad).unwrap()).unwrap();
        let e = RollupSpec::load(&path).unwrap_err().to_string();
        assert!(e.contains("100 ms floor"), "{e}");
        assert!(matches!(RollupSpec::load(&dir.path().join("none.json")), Err(SpecError::Read { .. })));
    }
}
