//! Reads L1 block by block into a derivation pipeline, handling L1 reorgs.

use std::sync::Arc;

use aqueduct_rollup_protocol::{DeriveError, Pipeline};
use parking_lot::Mutex;
use tracing::{debug, warn};

use crate::{
    error::ServiceError,
    l1::{L1Client, L1Error, RollupL1},
};

/// Feeds `pipeline` every L1 block up to `head - confirmations`. Returns the first L1 block
/// number that a reorg invalidated, if one did (the pipeline is already rewound to it).
pub async fn follow_l1(
    l1: &L1Client,
    pipeline: &Arc<Mutex<Pipeline>>,
    confirmations: u64,
    max_blocks: u64,
) -> Result<Option<u64>, ServiceError> {
    let head = l1.head().await?.saturating_sub(confirmations);
    let mut reorged = None;
    let (cfg, mut cursor) = {
        let p = pipeline.lock();
        (p.config().clone(), p.cursor())
    };
    let mut read = 0;
    while cursor <= head && read < max_blocks {
        let data = l1.block_data(cursor, &cfg).await?;
        let result = pipeline.lock().push_l1(data);
        match result {
            Ok(()) => {
                cursor += 1;
                read += 1;
            }
            Err(DeriveError::Reorg(at)) => {
                let ancestor = common_ancestor(l1, pipeline, at).await?;
                warn!(target: "l1::follow", at, ancestor, "L1 reorg: rewinding");
                pipeline.lock().rewind_l1(ancestor + 1);
                reorged = Some(reorged.map_or(ancestor + 1, |r: u64| r.min(ancestor + 1)));
                cursor = ancestor + 1;
            }
            Err(e @ DeriveError::OutOfOrder { .. }) => {
                return Err(e.into());
            }
        }
    }
    if read > 0 {
        debug!(target: "l1::follow", to = cursor - 1, "read L1");
    }
    Ok(reorged)
}

/// Highest L1 block at or below `from` that the pipeline read and L1 still has.
async fn common_ancestor(l1: &L1Client, pipeline: &Arc<Mutex<Pipeline>>, from: u64) -> Result<u64, L1Error> {
    let anchor = pipeline.lock().config().l1_genesis;
    let genesis = anchor.number;
    let mut n = from;
    while n > genesis {
        let ours = pipeline.lock().l1_hash(n);
        let (theirs, _) = l1.origin(n).await?;
        if ours == Some(theirs.hash) {
            return Ok(n);
        }
        n -= 1;
    }
    let (now, _) = l1.origin(genesis).await?;
    if now.hash != anchor.hash {
        return Err(L1Error::AnchorReorged(genesis));
    }
    Ok(genesis)
}
