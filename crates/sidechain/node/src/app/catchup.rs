//! Catching up from peers: how a validator that was away (perhaps across an epoch change, whose
//! old consensus its peers stopped) or a candidate not yet in the set learns the finalized chain
//! without a finalization certificate — a body that more than a third of the current set (so at
//! least one honest member) say they executed is final.

use alloy::primitives::B256;
use commonware_p2p::{Receiver, Recipients, Sender};
use commonware_runtime::Clock;
use tracing::{debug, info};

use super::{App, AppNet};
use crate::{NodeError, consensus::PublicKey, wire::FetchMessage};

/// Most blocks a catch-up step reaches ahead of the executed head.
const SYNC_STEP: u64 = 512;

impl<E: Clock> App<E> {
    /// The current epoch's validators' consensus keys (empty until L1 named them all).
    pub(super) fn members(&self) -> Vec<PublicKey> {
        self.epoch.members.iter().filter_map(|v| crate::spec::consensus_key(&v.consensus_key).ok()).collect()
    }

    /// Asks how far peers have executed; when more than a third of the set (so at least one
    /// honest validator) is ahead, asks which body they executed at a height up to there.
    pub(super) fn sync<S, R>(&mut self, net: &mut AppNet<S, R>)
    where
        S: Sender<PublicKey = PublicKey>,
        R: Receiver<PublicKey = PublicKey>,
    {
        let members = self.members();
        let vouch = members.len() / 3 + 1;
        let mut heights: Vec<u64> = members.iter().filter_map(|m| self.tips.get(m).copied()).collect();
        heights.sort_unstable_by(|a, b| b.cmp(a));
        let executed = self.known.get(&self.executed).map(|k| k.height).unwrap_or(0);
        if let Some(&ahead) = heights.get(vouch - 1)
            && ahead > executed + 2
        {
            let target = ahead.min(executed + SYNC_STEP);
            debug!(target: "sidechain", executed, target, "catching up");
            net.fetch.sender.send(Recipients::All, FetchMessage::At(target).encode(), false);
        }
        net.fetch.sender.send(Recipients::All, FetchMessage::Tip.encode(), false);
    }

    /// A peer says it executed `digest` at `height`: once more than a third of the set says
    /// the same, that body is on the finalized chain, and execution fetches up to it.
    pub(super) fn on_reported(&mut self, from: PublicKey, height: u64, digest: B256) -> Result<(), NodeError> {
        let members = self.members();
        if !members.contains(&from) {
            return Ok(());
        }
        let finalized_height = self.known.get(&self.finalized).map(|k| k.height).unwrap_or(0);
        if height <= finalized_height {
            return Ok(());
        }
        let voters = self.reported.entry((height, digest)).or_default();
        voters.insert(from);
        if voters.len() > members.len() / 3 {
            info!(target: "sidechain", height, %digest, "catching up to a body more than a third of the set executed");
            self.reported.retain(|(h, _), _| *h > height);
            self.finalized = digest;
            self.execute()?;
        }
        Ok(())
    }
}
