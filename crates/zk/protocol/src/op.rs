//! Operations, the 12-byte pubdata chunk each publishes, the record of those L1 acts on
//! (`OnchainOp`), the message an L2 key signs, and the packed amount format.

use alloy_primitives::Address;
use ark_ff::{Field, PrimeField};
use serde::{Deserialize, Serialize};

use crate::{
    F,
    eddsa::{PubkeyBytes, SignatureBytes},
};

/// Bytes of pubdata per slot.
pub const CHUNK_BYTES: usize = 12;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[repr(u8)]
pub enum OpKind {
    Noop = 0,
    Deposit = 1,
    Transfer = 2,
    Withdraw = 3,
    FullExit = 4,
    ChangeKey = 5,
}

impl OpKind {
    pub fn from_u8(b: u8) -> Option<Self> {
        Some(match b {
            0 => Self::Noop,
            1 => Self::Deposit,
            2 => Self::Transfer,
            3 => Self::Withdraw,
            4 => Self::FullExit,
            5 => Self::ChangeKey,
            _ => return None,
        })
    }

    /// Requested on L1 and queued there: the block must take these in queue order.
    pub fn is_priority(self) -> bool {
        matches!(self, Self::Deposit | Self::FullExit | Self::ChangeKey)
    }

    /// Produces an `OnchainOp` (L1 checks it against its queue or pays it).
    pub fn is_onchain(self) -> bool {
        self.is_priority() || self == Self::Withdraw
    }

    /// Signed by the account's L2 key.
    pub fn is_signed(self) -> bool {
        matches!(self, Self::Transfer | Self::Withdraw)
    }
}

/// An L2 transaction signed with the sender's Baby Jubjub key. Transfers and withdrawals both.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedTx {
    pub kind: OpKind,
    pub from: u32,
    /// The receiver (transfers); the sender again for withdrawals.
    pub to: u32,
    pub token: u8,
    /// The packed amount (`Amount32`): what is signed and published.
    pub amount: u32,
    pub nonce: u32,
    /// The signer's public key (its hash is in the account).
    pub pubkey: PubkeyBytes,
    pub signature: SignatureBytes,
}

/// An operation requested on L1 (queued in the rollup contract's priority queue).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriorityOp {
    pub kind: OpKind,
    pub account: u32,
    /// Deposit: the owner to credit; full exit / change key: the L1 address that asked.
    pub address: Address,
    pub token: u8,
    /// Deposit: the exact amount; change key: the new key hash; full exit: unused (zero).
    #[serde(with = "crate::fe")]
    pub value: F,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Op {
    Noop,
    Priority(PriorityOp),
    Tx(SignedTx),
}

impl Op {
    /// Whether L1 acts on it (it needs one of a block's on-chain slots).
    pub fn is_onchain(&self) -> bool {
        match self {
            Self::Noop => false,
            Self::Priority(_) => true,
            Self::Tx(t) => t.kind.is_onchain(),
        }
    }
}

/// What a block reports to L1 for one operation L1 must see: L1 matches priority ones with its
/// queue and pays withdrawals and full exits from it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OnchainOp {
    pub kind: OpKind,
    pub account: u32,
    pub token: u8,
    pub address: Address,
    /// Deposit, withdrawal, full exit: an amount in wei (or token units); change key: a key hash.
    #[serde(with = "crate::fe")]
    pub value: F,
    /// The block slot that holds it (below the block's on-chain slots).
    #[serde(default)]
    pub slot: u16,
}

/// A slot's 12 bytes: `kind ‖ a (3) ‖ b (3) ‖ token ‖ amount (4)`, all big-endian.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chunk {
    pub kind: u8,
    pub a: u32,
    pub b: u32,
    pub token: u8,
    pub amount: u32,
}

impl Chunk {
    pub fn to_bytes(&self) -> [u8; CHUNK_BYTES] {
        let mut out = [0u8; CHUNK_BYTES];
        out[0] = self.kind;
        out[1..4].copy_from_slice(&self.a.to_be_bytes()[1..]);
        out[4..7].copy_from_slice(&self.b.to_be_bytes()[1..]);
        out[7] = self.token;
        out[8..12].copy_from_slice(&self.amount.to_be_bytes());
        out
    }

    pub fn from_bytes(b: &[u8; CHUNK_BYTES]) -> Self {
        Self {
            kind: b[0],
            a: u32::from_be_bytes([0, b[1], b[2], b[3]]),
            b: u32::from_be_bytes([0, b[4], b[5], b[6]]),
            token: b[7],
            amount: u32::from_be_bytes([b[8], b[9], b[10], b[11]]),
        }
    }

    /// The chunk as an integer (96 bits): `kind·2⁸⁸ + a·2⁶⁴ + b·2⁴⁰ + token·2³² + amount`.
    pub fn to_u128(&self) -> u128 {
        (self.kind as u128) << 88
            | (self.a as u128) << 64
            | (self.b as u128) << 40
            | (self.token as u128) << 32
            | self.amount as u128
    }
}

pub fn pubdata(chunks: &[Chunk]) -> Vec<u8> {
    chunks.iter().flat_map(|c| c.to_bytes()).collect()
}

/// Pubdata that does not split into whole chunks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("pubdata of {len} bytes is not a whole number of {CHUNK_BYTES}-byte chunks")]
pub struct PubdataLength {
    pub len: usize,
}

pub fn chunks_from_pubdata(data: &[u8]) -> Result<Vec<Chunk>, PubdataLength> {
    if !data.len().is_multiple_of(CHUNK_BYTES) {
        return Err(PubdataLength { len: data.len() });
    }
    Ok(data.chunks_exact(CHUNK_BYTES).map(|c| Chunk::from_bytes(c.try_into().expect("exact"))).collect())
}

/// The message an L2 key signs for a transaction: one field element,
/// `kind + from·2⁸ + to·2³² + token·2⁵⁶ + amount·2⁶⁴ + nonce·2⁹⁶ + domain·2¹²⁸`, where the domain
/// names the rollup (so a signature cannot be replayed on another).
pub fn tx_message(domain: u64, kind: OpKind, from: u32, to: u32, token: u8, amount: u32, nonce: u32) -> F {
    let low = kind as u128
        | (from as u128) << 8
        | (to as u128) << 32
        | (token as u128) << 56
        | (amount as u128) << 64
        | (nonce as u128) << 96;
    F::from(low) + F::from(domain) * F::from(2u64).pow([128u64])
}

/// The packed amount: 5 bits of decimal exponent over 27 bits of mantissa, `m · 10^e`.
pub struct Amount32;

impl Amount32 {
    pub const MANTISSA_BITS: u32 = 27;
    pub const EXP_BITS: u32 = 5;

    /// The packed form of `amount`, if it has one (the smallest exponent).
    pub fn pack(amount: u128) -> Option<u32> {
        let mut m = amount;
        let mut e = 0u32;
        while m >= 1 << Self::MANTISSA_BITS {
            if !m.is_multiple_of(10) || e == (1 << Self::EXP_BITS) - 1 {
                return None;
            }
            m /= 10;
            e += 1;
        }
        Some(e << Self::MANTISSA_BITS | m as u32)
    }

    /// The amount a packed value stands for (`None` above 2¹²⁸ − 1).
    pub fn unpack(packed: u32) -> Option<u128> {
        let e = packed >> Self::MANTISSA_BITS;
        let m = (packed & ((1 << Self::MANTISSA_BITS) - 1)) as u128;
        10u128.checked_pow(e)?.checked_mul(m)
    }

    /// The largest amount not above `amount` that packs (what a wallet offers instead).
    pub fn round_down(amount: u128) -> u128 {
        let mut m = amount;
        let mut scale = 1u128;
        while m >= 1 << Self::MANTISSA_BITS {
            m /= 10;
            scale *= 10;
        }
        m * scale
    }
}

/// `value` as a u128, when it is one.
pub fn field_to_u128(value: F) -> Option<u128> {
    let big = value.into_bigint();
    let limbs = big.0;
    (limbs[2] == 0 && limbs[3] == 0).then(|| limbs[0] as u128 | (limbs[1] as u128) << 64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn amounts_pack_when_they_round_trip() {
        assert_eq!(Amount32::unpack(Amount32::pack(0).unwrap()), Some(0));
        let one_eth = 10u128.pow(18);
        assert_eq!(Amount32::unpack(Amount32::pack(one_eth).unwrap()), Some(one_eth));
        assert_eq!(Amount32::pack(one_eth + 1), None);
        assert_eq!(Amount32::round_down(123_456_789_123_456_789), 123_456_789_000_000_000);
        assert!(Amount32::unpack(u32::MAX).is_none() || Amount32::unpack(u32::MAX).is_some());
    }

    proptest! {
        #[test]
        fn packing_round_trips(amount in any::<u128>()) {
            if let Some(p) = Amount32::pack(amount) {
                prop_assert_eq!(Amount32::unpack(p), Some(amount));
            }
            let r = Amount32::round_down(amount);
            prop_assert!(r <= amount);
            prop_assert_eq!(Amount32::unpack(Amount32::pack(r).unwrap()), Some(r));
        }

        #[test]
        fn chunks_round_trip(kind in 0u8..6, a in 0u32..1 << 24, b in 0u32..1 << 24, token: u8, amount: u32) {
            let c = Chunk { kind, a, b, token, amount };
            prop_assert_eq!(Chunk::from_bytes(&c.to_bytes()), c);
            let bytes = pubdata(&[c, c]);
            prop_assert_eq!(chunks_from_pubdata(&bytes).unwrap(), vec![c, c]);
            prop_assert_eq!(u128::from_be_bytes({ let mut x = [0u8; 16]; x[4..].copy_from_slice(&c.to_bytes()); x }), c.to_u128());
        }

        #[test]
        fn pubdata_of_any_length_decodes_or_errs(data in proptest::collection::vec(any::<u8>(), 0..100)) {
            let r = chunks_from_pubdata(&data);
            prop_assert_eq!(r.is_ok(), data.len() % CHUNK_BYTES == 0);
        }
    }
}
