//! Checkpoints: what validators sign for L1, and the rule `SidechainBridge` applies to them.

use alloy::{
    primitives::{Address, B256, Bytes, U256},
    sol_types::{Eip712Domain, SolStruct},
};
use aqueduct_primitives::{Signature, Signer};
use serde::{Deserialize, Serialize};

/// A range of sidechain blocks as L1 records it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Checkpoint {
    /// 0, 1, 2, … in order on L1.
    pub number: u64,
    pub start_block: u64,
    pub end_block: u64,
    /// Hash of the EVM block `end_block`.
    pub block_hash: B256,
    pub state_root: B256,
    /// Root of the withdrawals initiated in `start_block..=end_block`, in order.
    pub withdrawals_root: B256,
}

impl Checkpoint {
    /// What each validator signs, as `SidechainBridge.checkpointDigest`.
    pub fn digest(&self, domain: &Domain) -> B256 {
        // The contract's own struct (its name is the EIP-712 type's).
        self.to_abi().eip712_signing_hash(&domain.eip712())
    }

    /// The ABI struct the bridge's `submitCheckpoint` takes.
    pub fn to_abi(&self) -> aqueduct_contracts::sidechain::SidechainBridge::Checkpoint {
        aqueduct_contracts::sidechain::SidechainBridge::Checkpoint {
            number: self.number,
            startBlock: self.start_block,
            endBlock: self.end_block,
            blockHash: self.block_hash,
            stateRoot: self.state_root,
            withdrawalsRoot: self.withdrawals_root,
        }
    }

    pub fn sign(&self, domain: &Domain, signer: &Signer) -> Signature {
        signer.sign(&self.digest(domain))
    }
}

/// The bridge's EIP-712 domain: the L1 chain and the bridge's address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Domain {
    pub l1_chain_id: u64,
    pub bridge: Address,
}

impl Domain {
    pub fn eip712(&self) -> Eip712Domain {
        Eip712Domain::new(
            Some("Aqueduct Sidechain".into()),
            Some("1".into()),
            Some(U256::from(self.l1_chain_id)),
            Some(self.bridge),
            None,
        )
    }
}

/// Why signatures do not make a checkpoint L1 accepts (the contract's errors).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CheckpointError {
    #[error("signature {0} does not recover")]
    BadSignature(usize),
    #[error("signer {0} is not a validator")]
    NotValidator(Address),
    #[error("signers are not strictly ascending at {0}")]
    NotAscending(usize),
    #[error("signed stake {signed} is not more than 2/3 of {total}")]
    NotEnoughStake { signed: U256, total: U256 },
}

/// A validator set with stake, as the bridge holds it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quorum {
    /// (signer address, stake), any order.
    pub validators: Vec<(Address, U256)>,
}

impl Quorum {
    pub fn total(&self) -> U256 {
        self.validators.iter().map(|(_, s)| *s).sum()
    }

    pub fn stake_of(&self, who: &Address) -> U256 {
        self.validators.iter().find(|(a, _)| a == who).map(|(_, s)| *s).unwrap_or_default()
    }

    /// Whether `signed` stake is more than 2/3 of the total (`signed·3 > total·2`).
    pub fn reached(&self, signed: U256) -> bool {
        signed.saturating_mul(U256::from(3)) > self.total().saturating_mul(U256::from(2))
    }

    /// The stake behind `sigs` over `digest`, checked as `submitCheckpoint` checks it.
    pub fn check(&self, digest: &B256, sigs: &[Signature]) -> Result<U256, CheckpointError> {
        let mut prev = Address::ZERO;
        let mut signed = U256::ZERO;
        for (i, s) in sigs.iter().enumerate() {
            let who = s.recover(digest).ok_or(CheckpointError::BadSignature(i))?;
            if who <= prev {
                return Err(CheckpointError::NotAscending(i));
            }
            let stake = self.stake_of(&who);
            if stake.is_zero() {
                return Err(CheckpointError::NotValidator(who));
            }
            signed += stake;
            prev = who;
        }
        if !self.reached(signed) {
            return Err(CheckpointError::NotEnoughStake { signed, total: self.total() });
        }
        Ok(signed)
    }
}

/// A checkpoint with the signatures gathered for it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedCheckpoint {
    pub checkpoint: Checkpoint,
    /// (signer, signature); kept sorted by signer, one each.
    pub signatures: Vec<(Address, Signature)>,
}

impl SignedCheckpoint {
    pub fn new(checkpoint: Checkpoint) -> Self {
        Self { checkpoint, signatures: Vec::new() }
    }

    /// Adds a signature if it is a validator's over this checkpoint (and not already held).
    pub fn add(&mut self, domain: &Domain, quorum: &Quorum, sig: Signature) -> Result<bool, CheckpointError> {
        let who = sig.recover(&self.checkpoint.digest(domain)).ok_or(CheckpointError::BadSignature(0))?;
        if quorum.stake_of(&who).is_zero() {
            return Err(CheckpointError::NotValidator(who));
        }
        match self.signatures.binary_search_by_key(&who, |(a, _)| *a) {
            Ok(_) => Ok(false),
            Err(i) => {
                self.signatures.insert(i, (who, sig));
                Ok(true)
            }
        }
    }

    pub fn signed_stake(&self, quorum: &Quorum) -> U256 {
        self.signatures.iter().map(|(a, _)| quorum.stake_of(a)).sum()
    }

    /// Signatures as `submitCheckpoint` takes them: 65 bytes each, signers ascending.
    pub fn packed(&self) -> Bytes {
        self.signatures.iter().flat_map(|(_, s)| s.0).collect::<Vec<u8>>().into()
    }

    pub fn sigs(&self) -> Vec<Signature> {
        self.signatures.iter().map(|(_, s)| *s).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signers(n: u8) -> Vec<Signer> {
        (1..=n).map(|i| Signer::from_bytes(&B256::repeat_byte(i)).unwrap()).collect()
    }

    /// The EIP-712 type is the contract's `CHECKPOINT_TYPEHASH`.
    #[test]
    fn type_hash_is_the_contracts() {
        let ty = "Checkpoint(uint64 number,uint64 startBlock,uint64 endBlock,bytes32 blockHash,bytes32 stateRoot,bytes32 withdrawalsRoot)";
        let cp = Checkpoint {
            number: 0,
            start_block: 1,
            end_block: 2,
            block_hash: B256::ZERO,
            state_root: B256::ZERO,
            withdrawals_root: B256::ZERO,
        };
        assert_eq!(cp.to_abi().eip712_type_hash(), alloy::primitives::keccak256(ty));
    }

    #[test]
    fn quorum_needs_more_than_two_thirds_sorted_and_distinct() {
        let s = signers(4);
        let quorum = Quorum { validators: s.iter().map(|k| (k.address(), U256::from(1))).collect() };
        let domain = Domain { l1_chain_id: 31337, bridge: Address::repeat_byte(7) };
        let cp = Checkpoint {
            number: 0,
            start_block: 1,
            end_block: 16,
            block_hash: B256::repeat_byte(1),
            state_root: B256::repeat_byte(2),
            withdrawals_root: B256::ZERO,
        };
        let mut signed = SignedCheckpoint::new(cp);
        for k in &s[..2] {
            assert!(signed.add(&domain, &quorum, cp.sign(&domain, k)).unwrap());
        }
        assert!(!signed.add(&domain, &quorum, cp.sign(&domain, &s[0])).unwrap(), "one signature each");
        let d = cp.digest(&domain);
        assert!(matches!(quorum.check(&d, &signed.sigs()), Err(CheckpointError::NotEnoughStake { .. })));
        signed.add(&domain, &quorum, cp.sign(&domain, &s[2])).unwrap();
        assert_eq!(quorum.check(&d, &signed.sigs()), Ok(U256::from(3)));
        assert_eq!(signed.packed().len(), 3 * 65);
        let mut rev = signed.sigs();
        rev.reverse();
        assert_eq!(quorum.check(&d, &rev), Err(CheckpointError::NotAscending(1)));
        let stranger = Signer::from_bytes(&B256::repeat_byte(99)).unwrap();
        assert_eq!(
            signed.add(&domain, &quorum, cp.sign(&domain, &stranger)),
            Err(CheckpointError::NotValidator(stranger.address()))
        );
        // A signature over another checkpoint is someone else's over this one.
        let mut other = cp;
        other.block_hash = B256::repeat_byte(9);
        assert!(signed.add(&domain, &quorum, other.sign(&domain, &s[3])).is_err());
    }
}
