//! Where the fast bridge is and how it is set: written at deployment, read by every process.

use std::path::Path;

use alloy::primitives::{Address, U256};
use serde::{Deserialize, Serialize};

use crate::FastBridgeError;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BridgeSpec {
    /// The hub on L1 and the spoke on the rollup.
    pub hub: Address,
    pub spoke: Address,
    pub l1_chain_id: u64,
    pub l2_chain_id: u64,
    /// The rollup's portal and output oracle (the spoke's deposits reach L1 through them).
    pub portal: Address,
    pub oracle: Address,
    /// A refund bundle's bond (wei) and liveness (seconds).
    pub bond: U256,
    pub liveness: u64,
    /// The rollup's challenge window (seconds): how long a relayer waits to be repaid, at least.
    pub challenge_window: u64,
    /// The latest fill deadline a deposit may ask for, in seconds from its block.
    pub max_fill_window: u32,
    /// Blocks the two were deployed in (event reads start there).
    pub hub_block: u64,
    pub spoke_block: u64,
}

impl BridgeSpec {
    pub fn load(path: &Path) -> Result<Self, FastBridgeError> {
        let text =
            std::fs::read_to_string(path).map_err(|source| FastBridgeError::Spec { path: path.into(), source })?;
        serde_json::from_str(&text).map_err(|source| FastBridgeError::SpecFormat { path: path.into(), source })
    }

    /// Written to a temporary file and renamed, so a reader never sees half of it.
    pub fn save(&self, path: &Path) -> Result<(), FastBridgeError> {
        let io = |source| FastBridgeError::Spec { path: path.into(), source };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let tmp = path.with_extension("json.tmp");
        let text = serde_json::to_string_pretty(self).expect("a spec serializes");
        std::fs::write(&tmp, text).map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)
    }
}
