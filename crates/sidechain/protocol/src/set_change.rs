//! A change of the validator set, as L1 applied it and the chain orders it.

use alloy::primitives::Address;
use alloy_rlp::{RlpDecodable, RlpEncodable};
use serde::{Deserialize, Serialize};

/// Most validators in one set (consensus messages and checkpoint signatures grow with it).
pub const MAX_VALIDATORS: usize = 128;

/// L1's `SidechainBridge.ValidatorSetChanged`: from `epoch` on, `validators` (ascending) are the
/// set. A body carrying one is the last of its consensus epoch; its children are ordered by the
/// new set, which starts from that body.
#[derive(Clone, Debug, PartialEq, Eq, Hash, RlpEncodable, RlpDecodable, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SetChange {
    pub epoch: u64,
    /// The checkpoint whose acceptance on L1 applied it.
    pub at_checkpoint: u64,
    pub validators: Vec<Address>,
}

impl SetChange {
    /// A set that is not empty, not too large and strictly ascending (as L1 keeps it).
    pub fn well_formed(&self) -> bool {
        !self.validators.is_empty()
            && self.validators.len() <= MAX_VALIDATORS
            && self.validators.windows(2).all(|w| w[0] < w[1])
    }
}
