//! Channel states as the adjudicator sees them, and the digests both parties sign.

use alloy_primitives::{Address, B256, U256, keccak256};
use serde::{Deserialize, Serialize};

use aqueduct_primitives::Signature;

/// Largest amount the adjudicator stores (`uint96`).
pub const MAX_AMOUNT: u128 = (1u128 << 96) - 1;
/// Most HTLCs one state may hold (the adjudicator's `MAX_HTLCS`).
pub const MAX_HTLCS: usize = 64;

/// One of the two parties of a channel: `A` opened it, `B` joined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Side {
    A,
    B,
}

impl Side {
    pub fn other(self) -> Side {
        match self {
            Side::A => Side::B,
            Side::B => Side::A,
        }
    }
}

/// Where signatures are valid: one adjudicator on one chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Domain {
    pub chain_id: u64,
    pub adjudicator: Address,
}

/// A payment locked to `hash` (keccak256 of a 32-byte preimage) until `expiry` (unix seconds).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Htlc {
    /// Chosen by the sender, unique among a channel's pending HTLCs; not signed (the adjudicator
    /// knows HTLCs by position).
    pub id: u64,
    /// Offered by A (so B receives it if the preimage is revealed in time).
    pub from_a: bool,
    pub amount: u128,
    pub hash: B256,
    pub expiry: u64,
}

impl Htlc {
    /// The side that offered it.
    pub fn sender(&self) -> Side {
        if self.from_a { Side::A } else { Side::B }
    }
}

/// A channel state: what the adjudicator pays if it closes on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelState {
    pub channel_id: U256,
    pub version: u64,
    pub balance_a: u128,
    pub balance_b: u128,
    pub htlcs: Vec<Htlc>,
}

impl ChannelState {
    /// Version 0: the deposits, before any update.
    pub fn opening(channel_id: U256, deposit_a: u128, deposit_b: u128) -> Self {
        Self { channel_id, version: 0, balance_a: deposit_a, balance_b: deposit_b, htlcs: Vec::new() }
    }

    pub fn balance(&self, side: Side) -> u128 {
        match side {
            Side::A => self.balance_a,
            Side::B => self.balance_b,
        }
    }

    pub fn balance_mut(&mut self, side: Side) -> &mut u128 {
        match side {
            Side::A => &mut self.balance_a,
            Side::B => &mut self.balance_b,
        }
    }

    /// Everything the state accounts for: both balances and every HTLC.
    pub fn total(&self) -> u128 {
        self.balance_a + self.balance_b + self.htlcs.iter().map(|h| h.amount).sum::<u128>()
    }

    /// keccak256(abi.encode(htlcs)) as the adjudicator computes it (zero when there are none).
    pub fn htlcs_hash(&self) -> B256 {
        if self.htlcs.is_empty() {
            return B256::ZERO;
        }
        let mut buf = Vec::with_capacity(64 + 128 * self.htlcs.len());
        buf.extend_from_slice(&U256::from(32).to_be_bytes::<32>());
        buf.extend_from_slice(&U256::from(self.htlcs.len()).to_be_bytes::<32>());
        for h in &self.htlcs {
            buf.extend_from_slice(&U256::from(h.from_a as u8).to_be_bytes::<32>());
            buf.extend_from_slice(&U256::from(h.amount).to_be_bytes::<32>());
            buf.extend_from_slice(h.hash.as_slice());
            buf.extend_from_slice(&U256::from(h.expiry).to_be_bytes::<32>());
        }
        keccak256(&buf)
    }

    /// The digest both parties sign (the adjudicator's `stateDigest`).
    pub fn digest(&self, domain: &Domain) -> B256 {
        let mut buf = [0u8; 32 * 8];
        buf[0..32].copy_from_slice(state_tag().as_slice());
        buf[32..64].copy_from_slice(&U256::from(domain.chain_id).to_be_bytes::<32>());
        buf[76..96].copy_from_slice(domain.adjudicator.as_slice());
        buf[96..128].copy_from_slice(&self.channel_id.to_be_bytes::<32>());
        buf[128..160].copy_from_slice(&U256::from(self.version).to_be_bytes::<32>());
        buf[160..192].copy_from_slice(&U256::from(self.balance_a).to_be_bytes::<32>());
        buf[192..224].copy_from_slice(&U256::from(self.balance_b).to_be_bytes::<32>());
        buf[224..256].copy_from_slice(self.htlcs_hash().as_slice());
        keccak256(buf)
    }
}

/// The digest both parties sign for a cooperative close (the adjudicator's `closeDigest`).
pub fn close_digest(domain: &Domain, channel_id: U256, balance_a: u128, balance_b: u128) -> B256 {
    let mut buf = [0u8; 32 * 6];
    buf[0..32].copy_from_slice(keccak256("aqueduct.channel.close.v1").as_slice());
    buf[32..64].copy_from_slice(&U256::from(domain.chain_id).to_be_bytes::<32>());
    buf[76..96].copy_from_slice(domain.adjudicator.as_slice());
    buf[96..128].copy_from_slice(&channel_id.to_be_bytes::<32>());
    buf[128..160].copy_from_slice(&U256::from(balance_a).to_be_bytes::<32>());
    buf[160..192].copy_from_slice(&U256::from(balance_b).to_be_bytes::<32>());
    keccak256(buf)
}

fn state_tag() -> B256 {
    keccak256("aqueduct.channel.state.v1")
}

/// The hash an HTLC is locked to.
pub fn lock_hash(preimage: &B256) -> B256 {
    keccak256(preimage.as_slice())
}

/// A state with both parties' signatures: enough to close the channel on L1.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedState {
    pub state: ChannelState,
    pub sig_a: Signature,
    pub sig_b: Signature,
}

impl SignedState {
    /// The opening state needs no signatures.
    pub fn opening(state: ChannelState) -> Self {
        Self { state, sig_a: Signature::EMPTY, sig_b: Signature::EMPTY }
    }

    /// Checks both signatures against the parties (version 0 only against the deposits).
    pub fn verify(&self, domain: &Domain, a: Address, b: Address) -> bool {
        if self.state.version == 0 {
            return self.state.htlcs.is_empty();
        }
        let d = self.state.digest(domain);
        self.sig_a.recover(&d) == Some(a) && self.sig_b.recover(&d) == Some(b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_bind_every_field() {
        let domain = Domain { chain_id: 1, adjudicator: Address::repeat_byte(7) };
        let htlc = Htlc { id: 9, from_a: true, amount: 5, hash: B256::repeat_byte(1), expiry: 100 };
        let s = ChannelState { channel_id: U256::from(3), version: 4, balance_a: 10, balance_b: 20, htlcs: vec![htlc] };
        let base = s.digest(&domain);
        let mut t = s.clone();
        t.htlcs[0].id = 10;
        assert_eq!(t.digest(&domain), base, "the HTLC id is not signed");
        for change in 0..6 {
            let mut t = s.clone();
            let mut d = domain;
            match change {
                0 => t.version += 1,
                1 => t.balance_a += 1,
                2 => t.htlcs[0].from_a = false,
                3 => t.htlcs[0].expiry += 1,
                4 => d.chain_id = 2,
                _ => t.channel_id = U256::from(4),
            }
            assert_ne!(t.digest(&d), base, "change {change}");
        }
        assert_eq!(s.total(), 35);
        assert_ne!(close_digest(&domain, s.channel_id, 1, 2), close_digest(&domain, s.channel_id, 2, 1));
    }
}
