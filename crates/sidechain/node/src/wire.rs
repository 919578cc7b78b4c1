//! The application's messages between validators (consensus' own are commonware's). Every
//! decoder refuses what is malformed with a reason; none panics on a peer's bytes.

use alloy::primitives::{B256, Bytes};
use alloy_rlp::{Decodable, Encodable};
use aqueduct_primitives::Signature;
use aqueduct_sidechain_protocol::{Checkpoint, MAX_BODY_BYTES, MAX_TXS};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WireError {
    #[error("empty message")]
    Empty,
    #[error("unknown message tag {0}")]
    Tag(u8),
    #[error("wrong length {0}")]
    Length(usize),
    #[error("does not decode: {0}")]
    Decode(String),
    #[error("{0} transactions, over {MAX_TXS}")]
    TooMany(usize),
}

/// Asking a peer for a body, and its answer; asking how far a peer has executed, and which
/// body it executed at a height (how a validator that was away or is joining learns the
/// finalized chain: a digest more than a third of the set report is on it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FetchMessage {
    Request(B256),
    Response(Bytes),
    Tip,
    TipIs(u64),
    At(u64),
    AtIs(u64, B256),
}

impl FetchMessage {
    pub fn encode(&self) -> Vec<u8> {
        match self {
            Self::Request(d) => [&[0u8][..], d.as_slice()].concat(),
            Self::Response(b) => [&[1u8][..], b.as_ref()].concat(),
            Self::Tip => vec![2],
            Self::TipIs(h) => [&[3u8][..], &h.to_be_bytes()].concat(),
            Self::At(h) => [&[4u8][..], &h.to_be_bytes()].concat(),
            Self::AtIs(h, d) => [&[5u8][..], &h.to_be_bytes(), d.as_slice()].concat(),
        }
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, WireError> {
        let (&tag, rest) = bytes.split_first().ok_or(WireError::Empty)?;
        match tag {
            0 if rest.len() == 32 => Ok(Self::Request(B256::from_slice(rest))),
            0 => Err(WireError::Length(rest.len())),
            1 if rest.len() <= MAX_BODY_BYTES => Ok(Self::Response(Bytes::copy_from_slice(rest))),
            1 => Err(WireError::Length(rest.len())),
            2 if rest.is_empty() => Ok(Self::Tip),
            3 if rest.len() == 8 => Ok(Self::TipIs(u64::from_be_bytes(rest.try_into().expect("8")))),
            4 if rest.len() == 8 => Ok(Self::At(u64::from_be_bytes(rest.try_into().expect("8")))),
            5 if rest.len() == 40 => {
                Ok(Self::AtIs(u64::from_be_bytes(rest[..8].try_into().expect("8")), B256::from_slice(&rest[8..])))
            }
            2..=5 => Err(WireError::Length(rest.len())),
            t => Err(WireError::Tag(t)),
        }
    }
}

/// Transactions passed on: an RLP list of EIP-2718 encodings.
pub fn encode_txs(txs: &[Bytes]) -> Vec<u8> {
    let mut out = Vec::new();
    txs.to_vec().encode(&mut out);
    out
}

pub fn decode_txs(bytes: &[u8]) -> Result<Vec<Bytes>, WireError> {
    let mut buf = bytes;
    let txs = Vec::<Bytes>::decode(&mut buf).map_err(|e| WireError::Decode(e.to_string()))?;
    if !buf.is_empty() {
        return Err(WireError::Length(bytes.len()));
    }
    if txs.len() > MAX_TXS {
        return Err(WireError::TooMany(txs.len()));
    }
    Ok(txs)
}

/// One validator's signature over a checkpoint: the checkpoint's six fields then 65 bytes.
pub const CHECKPOINT_SIG_LEN: usize = 8 * 3 + 32 * 3 + 65;

pub fn encode_checkpoint_sig(cp: &Checkpoint, sig: &Signature) -> Vec<u8> {
    let mut out = Vec::with_capacity(CHECKPOINT_SIG_LEN);
    out.extend_from_slice(&cp.number.to_be_bytes());
    out.extend_from_slice(&cp.start_block.to_be_bytes());
    out.extend_from_slice(&cp.end_block.to_be_bytes());
    out.extend_from_slice(cp.block_hash.as_slice());
    out.extend_from_slice(cp.state_root.as_slice());
    out.extend_from_slice(cp.withdrawals_root.as_slice());
    out.extend_from_slice(&sig.0);
    out
}

pub fn decode_checkpoint_sig(bytes: &[u8]) -> Result<(Checkpoint, Signature), WireError> {
    if bytes.len() != CHECKPOINT_SIG_LEN {
        return Err(WireError::Length(bytes.len()));
    }
    let u = |i: usize| u64::from_be_bytes(bytes[i..i + 8].try_into().expect("8 bytes"));
    let h = |i: usize| B256::from_slice(&bytes[i..i + 32]);
    let cp = Checkpoint {
        number: u(0),
        start_block: u(8),
        end_block: u(16),
        block_hash: h(24),
        state_root: h(56),
        withdrawals_root: h(88),
    };
    let mut sig = [0u8; 65];
    sig.copy_from_slice(&bytes[120..]);
    Ok((cp, Signature(sig)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every decoder survives seeded mutations of a valid message (and random bytes).
    #[test]
    fn decoders_never_panic_on_mutations() {
        use rand_free::Lcg;
        let cp = Checkpoint {
            number: 3,
            start_block: 49,
            end_block: 64,
            block_hash: B256::repeat_byte(1),
            state_root: B256::repeat_byte(2),
            withdrawals_root: B256::repeat_byte(3),
        };
        let samples = [
            encode_checkpoint_sig(&cp, &Signature([7; 65])),
            encode_txs(&[Bytes::from_static(&[2, 1, 2]), Bytes::from_static(&[2, 3])]),
            FetchMessage::Request(B256::repeat_byte(4)).encode(),
            FetchMessage::Response(Bytes::from_static(&[0xc0])).encode(),
            FetchMessage::TipIs(77).encode(),
            FetchMessage::AtIs(64, B256::repeat_byte(5)).encode(),
        ];
        for m in [
            FetchMessage::Tip,
            FetchMessage::TipIs(9),
            FetchMessage::At(u64::MAX),
            FetchMessage::AtIs(3, B256::repeat_byte(8)),
        ] {
            assert_eq!(FetchMessage::decode(&m.encode()).unwrap(), m);
        }
        assert_eq!(FetchMessage::decode(&[4, 1, 2]), Err(WireError::Length(2)));
        assert_eq!(decode_checkpoint_sig(&samples[0]).unwrap(), (cp, Signature([7; 65])));
        assert_eq!(decode_txs(&samples[1]).unwrap().len(), 2);
        let mut rng = Lcg(0x5eed);
        for s in samples {
            for _ in 0..2_000 {
                let mut m = s.clone();
                for _ in 0..1 + rng.next() % 3 {
                    let i = (rng.next() as usize) % (m.len() + 1);
                    match rng.next() % 3 {
                        0 if i < m.len() => m[i] = rng.next() as u8,
                        1 if i < m.len() => {
                            m.remove(i);
                        }
                        _ => m.insert(i, rng.next() as u8),
                    }
                }
                let _ = decode_checkpoint_sig(&m);
                let _ = decode_txs(&m);
                let _ = FetchMessage::decode(&m);
            }
        }
        assert_eq!(FetchMessage::decode(&[]), Err(WireError::Empty));
        assert_eq!(FetchMessage::decode(&[9]), Err(WireError::Tag(9)));
        assert_eq!(decode_checkpoint_sig(&[0; 10]), Err(WireError::Length(10)));
    }

    /// A tiny seeded generator (the test needs no crate for it).
    mod rand_free {
        pub struct Lcg(pub u64);
        impl Lcg {
            pub fn next(&mut self) -> u64 {
                self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                self.0 >> 33
            }
        }
    }
}
