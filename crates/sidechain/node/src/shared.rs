//! What the consensus thread and the validator's services (L1 watcher, checkpoint submitter,
//! JSON-RPC) share: L1 deposits seen, the validator set's stake, progress, checkpoints,
//! evidence, and the reason it stopped.

use std::collections::BTreeMap;

use alloy::primitives::{Address, B256};
use aqueduct_chain::SealedBlock;
use aqueduct_service::CancellationToken;
use aqueduct_sidechain_protocol::{L1Deposit, Quorum, SetChange, SignedCheckpoint};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

use crate::spec::ValidatorInfo;

/// A validator's progress, as `sidechain_status` reports it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Progress {
    /// Highest view consensus finalized.
    pub finalized_view: u64,
    /// Executed (finalized) height and its EVM block hash.
    pub height: u64,
    pub block_hash: B256,
    pub state_root: B256,
    /// Transactions executed since start.
    pub txs: u64,
    /// Deposits minted (the next L1 deposit nonce).
    pub deposits_minted: u64,
    /// The consensus epoch (validator set) ordering the next block, and whether this validator
    /// is one of its members (or only follows the chain).
    pub epoch: u64,
    pub member: bool,
}

#[derive(Default)]
pub struct Shared {
    deposits: Mutex<BTreeMap<u64, L1Deposit>>,
    quorum: Mutex<Quorum>,
    progress: Mutex<Progress>,
    checkpoints: Mutex<BTreeMap<u64, SignedCheckpoint>>,
    l1_checkpoints: Mutex<u64>,
    /// Every validator and candidate known: the spec's, then L1's join requests.
    directory: Mutex<BTreeMap<Address, ValidatorInfo>>,
    /// Validator-set changes L1 applied (confirmed), by epoch.
    set_changes: Mutex<BTreeMap<u64, SetChange>>,
    evidence: Mutex<Vec<String>>,
    failure: Mutex<Option<String>>,
    pub stop: CancellationToken,
}

impl Shared {
    pub fn new(quorum: Quorum, validators: &[ValidatorInfo]) -> Self {
        let directory = validators.iter().map(|v| (v.signer, v.clone())).collect();
        Self { quorum: Mutex::new(quorum), directory: Mutex::new(directory), ..Default::default() }
    }

    // The directory of validators and candidates (consensus keys and addresses), and the set
    // changes L1 applied: the L1 watcher adds them; consensus and the peer list read them.
    /// Adds (or updates) a candidate; refused when another validator already announced its
    /// consensus key (a copied key could not sign, and two members with one key would leave
    /// consensus without a valid set). Every validator reads L1 in the same order, so all refuse
    /// the same announcements.
    pub fn add_candidate(&self, v: ValidatorInfo) -> bool {
        let mut d = self.directory.lock();
        if d.values().any(|o| o.signer != v.signer && o.consensus_key == v.consensus_key) {
            return false;
        }
        d.insert(v.signer, v);
        true
    }

    pub fn directory(&self) -> Vec<ValidatorInfo> {
        self.directory.lock().values().cloned().collect()
    }

    /// The members of `addresses` whose consensus keys L1 announced (an address whose
    /// announcement was refused takes no part in consensus), in that order.
    pub fn members(&self, addresses: &[Address]) -> Vec<ValidatorInfo> {
        let d = self.directory.lock();
        addresses.iter().filter_map(|a| d.get(a).cloned()).collect()
    }

    pub fn add_set_change(&self, c: SetChange) {
        self.set_changes.lock().insert(c.epoch, c);
    }

    pub fn set_change(&self, epoch: u64) -> Option<SetChange> {
        self.set_changes.lock().get(&epoch).cloned()
    }

    pub fn note_epoch(&self, epoch: u64, member: bool) {
        let mut p = self.progress.lock();
        if p.epoch != epoch {
            // Views start again in each epoch.
            p.finalized_view = 0;
        }
        p.epoch = epoch;
        p.member = member;
    }

    // L1 deposits (the watcher adds confirmed ones; proposers and verifiers read them).
    pub fn add_deposit(&self, d: L1Deposit) {
        self.deposits.lock().insert(d.nonce, d);
    }

    pub fn deposit(&self, nonce: u64) -> Option<L1Deposit> {
        self.deposits.lock().get(&nonce).cloned()
    }

    /// Consecutive deposits from `nonce`, at most `max`.
    pub fn deposits_from(&self, nonce: u64, max: usize) -> Vec<L1Deposit> {
        let d = self.deposits.lock();
        let mut out = Vec::new();
        let mut n = nonce;
        while out.len() < max
            && let Some(x) = d.get(&n)
        {
            out.push(x.clone());
            n += 1;
        }
        out
    }

    pub fn deposits_seen(&self) -> u64 {
        self.deposits.lock().keys().next_back().map(|n| n + 1).unwrap_or(0)
    }

    pub fn quorum(&self) -> Quorum {
        self.quorum.lock().clone()
    }

    pub fn set_quorum(&self, q: Quorum) {
        *self.quorum.lock() = q;
    }

    pub fn note_finalized(&self, view: u64) {
        let mut p = self.progress.lock();
        p.finalized_view = p.finalized_view.max(view);
    }

    pub fn note_executed(&self, block: &SealedBlock, txs: usize) {
        let mut p = self.progress.lock();
        p.height = block.header.number;
        p.block_hash = block.hash;
        p.state_root = block.header.state_root;
        p.txs += txs as u64;
    }

    pub fn set_deposits_minted(&self, n: u64) {
        self.progress.lock().deposits_minted = n;
    }

    pub fn progress(&self) -> Progress {
        self.progress.lock().clone()
    }

    pub fn put_checkpoint(&self, cp: SignedCheckpoint) {
        self.checkpoints.lock().insert(cp.checkpoint.number, cp);
    }

    pub fn checkpoint(&self, n: u64) -> Option<SignedCheckpoint> {
        self.checkpoints.lock().get(&n).cloned()
    }

    pub fn last_checkpoint(&self) -> Option<SignedCheckpoint> {
        self.checkpoints.lock().values().next_back().cloned()
    }

    pub fn set_l1_checkpoints(&self, n: u64) {
        *self.l1_checkpoints.lock() = n;
    }

    pub fn l1_checkpoints(&self) -> u64 {
        *self.l1_checkpoints.lock()
    }

    /// Records Byzantine evidence; returns its sequence number.
    pub fn add_evidence(&self, what: String) -> u64 {
        let mut e = self.evidence.lock();
        e.push(what);
        e.len() as u64 - 1
    }

    pub fn evidence(&self) -> Vec<String> {
        self.evidence.lock().clone()
    }

    /// Stops the validator with a reason (the first one wins).
    pub fn fail(&self, why: String) {
        tracing::error!(target: "sidechain", %why, "stopping");
        self.failure.lock().get_or_insert(why);
        self.stop.cancel();
    }

    pub fn failure(&self) -> Option<String> {
        self.failure.lock().clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(signer: u8, key: u8) -> ValidatorInfo {
        ValidatorInfo {
            signer: Address::repeat_byte(signer),
            consensus_key: alloy::primitives::hex::encode([key; 32]),
            p2p: "127.0.0.1:1".parse().unwrap(),
            rpc: String::new(),
        }
    }

    /// A join request that copies another validator's consensus key is refused; the rest take
    /// part, in the set's order, and an unannounced address is left out.
    #[test]
    fn copied_consensus_keys_are_refused() {
        let s = Shared::new(Quorum::default(), &[info(1, 1), info(2, 2)]);
        assert!(!s.add_candidate(info(3, 1)), "validator 1's key");
        assert!(s.add_candidate(info(3, 3)));
        assert!(s.add_candidate(info(3, 4)), "a candidate may announce itself again with a new key");
        let m = s.members(&[Address::repeat_byte(3), Address::repeat_byte(9), Address::repeat_byte(1)]);
        assert_eq!(m, vec![info(3, 4), info(1, 1)]);
    }
}
