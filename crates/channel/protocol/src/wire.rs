//! The peer wire protocol: length-prefixed binary frames over TCP.
//!
//! A frame is a 4-byte big-endian body length (at most [`MAX_FRAME`]) and a body: one type byte,
//! then the fields in order. Integers are big-endian; an address is 20 bytes, a hash 32, a
//! signature 65 (r ‖ s ‖ v), an amount 16 (u128), a string a u16 length and UTF-8, a list a u16
//! count and its items. A decoder refuses unknown types, short or oversized frames, trailing
//! bytes and out-of-range values with a [`WireError`]; it never panics.
//!
//! | type | message | fields |
//! |---|---|---|
//! | 1 | `Hello` | node address, chain id u64, adjudicator, nonce (32), fee base u64, fee ppm u32, expiry delta u32 |
//! | 2 | `Auth` | signature over keccak256("aqueduct.channel.auth.v1" ‖ the peer's nonce ‖ own address) |
//! | 3 | `Reestablish` | the latest signed state of a shared channel |
//! | 4 | `Update` | channel id, version, parent digest, change, proposer's signature |
//! | 5 | `Ack` | channel id, version, countersignature |
//! | 6 | `Reject` | channel id, version, parent digest, conflict flag u8, reason string |
//! | 7 | `CloseSig` | channel id, balance A, balance B, signature over the close digest |
//! | 8 | `Error` | message string (the sender closes the connection after it) |
//! | 9 | `Join` | channel id, amount: asks the peer to deposit `amount` into a channel opened to it |
//!
//! A change is a tag byte: 1 `Pay` amount; 2 `AddHtlc` id u64, amount, hash, expiry u64, route
//! (list of hops: node, channel id, amount, expiry u64); 3 `Fulfill` id u64, preimage; 4 `Fail`
//! id u64. A signed state is channel id, version u64, balance A, balance B, the HTLC list (id
//! u64, from-A u8, amount, hash, expiry u64), signature A, signature B.

use alloy_primitives::{Address, B256, U256, keccak256};

use crate::{
    Signature,
    channel::{Ack, Change, CloseSig, FailReason, Hop, Reject, Update},
    state::{ChannelState, Htlc, MAX_AMOUNT, MAX_HTLCS, SignedState},
};

/// Largest frame body accepted.
pub const MAX_FRAME: usize = 64 * 1024;
/// Longest route an HTLC may carry.
pub const MAX_HOPS: usize = 20;

/// A node's forwarding terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FeePolicy {
    /// Flat fee per forwarded payment (wei or token units).
    pub base: u64,
    /// Proportional fee, parts per million of the forwarded amount.
    pub ppm: u32,
    /// Seconds between the incoming and the outgoing HTLC's expiry.
    pub expiry_delta: u32,
}

impl FeePolicy {
    pub fn fee(&self, amount: u128) -> u128 {
        (self.base as u128).saturating_add(amount.saturating_mul(self.ppm as u128) / 1_000_000)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hello {
    pub node: Address,
    pub chain_id: u64,
    pub adjudicator: Address,
    pub nonce: B256,
    pub fee: FeePolicy,
}

/// The digest a node signs to prove it holds the key of the address its `Hello` named.
pub fn auth_digest(peer_nonce: &B256, own: Address) -> B256 {
    let mut buf = Vec::with_capacity(24 + 32 + 20);
    buf.extend_from_slice(b"aqueduct.channel.auth.v1");
    buf.extend_from_slice(peer_nonce.as_slice());
    buf.extend_from_slice(own.as_slice());
    keccak256(buf)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    Hello(Hello),
    Auth(Signature),
    Reestablish(SignedState),
    Update(Update),
    Ack(Ack),
    Reject(Reject),
    CloseSig(CloseSig),
    Error(String),
    /// The opener asks the counterparty to join the channel it opened on L1 with `amount`.
    Join {
        channel_id: U256,
        amount: u128,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    #[error("frame ends early")]
    Truncated,
    #[error("frame of {0} bytes exceeds the limit of {MAX_FRAME}")]
    TooLong(usize),
    #[error("unknown message type {0}")]
    UnknownType(u8),
    #[error("unknown change tag {0}")]
    UnknownChange(u8),
    #[error("{0} bytes left after the message")]
    Trailing(usize),
    #[error("invalid field: {0}")]
    Invalid(&'static str),
}

impl Message {
    pub fn name(&self) -> &'static str {
        match self {
            Message::Hello(_) => "hello",
            Message::Auth(_) => "auth",
            Message::Reestablish(_) => "reestablish",
            Message::Update(_) => "update",
            Message::Ack(_) => "ack",
            Message::Reject(_) => "reject",
            Message::CloseSig(_) => "close-sig",
            Message::Error(_) => "error",
            Message::Join { .. } => "join",
        }
    }

    /// The frame: length prefix and body.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Vec::with_capacity(128);
        w.extend_from_slice(&[0; 4]);
        match self {
            Message::Hello(h) => {
                w.push(1);
                w.extend_from_slice(h.node.as_slice());
                w.extend_from_slice(&h.chain_id.to_be_bytes());
                w.extend_from_slice(h.adjudicator.as_slice());
                w.extend_from_slice(h.nonce.as_slice());
                w.extend_from_slice(&h.fee.base.to_be_bytes());
                w.extend_from_slice(&h.fee.ppm.to_be_bytes());
                w.extend_from_slice(&h.fee.expiry_delta.to_be_bytes());
            }
            Message::Auth(sig) => {
                w.push(2);
                w.extend_from_slice(&sig.0);
            }
            Message::Reestablish(s) => {
                w.push(3);
                put_signed(&mut w, s);
            }
            Message::Update(u) => {
                w.push(4);
                w.extend_from_slice(&u.channel_id.to_be_bytes::<32>());
                w.extend_from_slice(&u.version.to_be_bytes());
                w.extend_from_slice(u.prev.as_slice());
                put_change(&mut w, &u.change);
                w.extend_from_slice(&u.sig.0);
            }
            Message::Ack(a) => {
                w.push(5);
                w.extend_from_slice(&a.channel_id.to_be_bytes::<32>());
                w.extend_from_slice(&a.version.to_be_bytes());
                w.extend_from_slice(&a.sig.0);
            }
            Message::Reject(r) => {
                w.push(6);
                w.extend_from_slice(&r.channel_id.to_be_bytes::<32>());
                w.extend_from_slice(&r.version.to_be_bytes());
                w.extend_from_slice(r.prev.as_slice());
                w.push(r.conflict as u8);
                put_str(&mut w, &r.reason);
            }
            Message::CloseSig(c) => {
                w.push(7);
                w.extend_from_slice(&c.channel_id.to_be_bytes::<32>());
                w.extend_from_slice(&c.balance_a.to_be_bytes());
                w.extend_from_slice(&c.balance_b.to_be_bytes());
                w.extend_from_slice(&c.sig.0);
            }
            Message::Error(m) => {
                w.push(8);
                put_str(&mut w, m);
            }
            Message::Join { channel_id, amount } => {
                w.push(9);
                w.extend_from_slice(&channel_id.to_be_bytes::<32>());
                w.extend_from_slice(&amount.to_be_bytes());
            }
        }
        let len = (w.len() - 4) as u32;
        w[..4].copy_from_slice(&len.to_be_bytes());
        w
    }

    /// Decodes one frame body (without its length prefix).
    pub fn decode(body: &[u8]) -> Result<Message, WireError> {
        if body.len() > MAX_FRAME {
            return Err(WireError::TooLong(body.len()));
        }
        let mut r = Reader(body);
        let msg = match r.u8()? {
            1 => Message::Hello(Hello {
                node: r.address()?,
                chain_id: r.u64()?,
                adjudicator: r.address()?,
                nonce: r.b256()?,
                fee: FeePolicy { base: r.u64()?, ppm: r.u32()?, expiry_delta: r.u32()? },
            }),
            2 => Message::Auth(r.sig()?),
            3 => Message::Reestablish(r.signed()?),
            4 => Message::Update(Update {
                channel_id: r.u256()?,
                version: r.u64()?,
                prev: r.b256()?,
                change: r.change()?,
                sig: r.sig()?,
            }),
            5 => Message::Ack(Ack { channel_id: r.u256()?, version: r.u64()?, sig: r.sig()? }),
            6 => Message::Reject(Reject {
                channel_id: r.u256()?,
                version: r.u64()?,
                prev: r.b256()?,
                conflict: r.flag()?,
                reason: r.string()?,
            }),
            7 => Message::CloseSig(CloseSig {
                channel_id: r.u256()?,
                balance_a: r.amount()?,
                balance_b: r.amount()?,
                sig: r.sig()?,
            }),
            8 => Message::Error(r.string()?),
            9 => Message::Join { channel_id: r.u256()?, amount: r.amount()? },
            t => return Err(WireError::UnknownType(t)),
        };
        if !r.0.is_empty() {
            return Err(WireError::Trailing(r.0.len()));
        }
        Ok(msg)
    }
}

/// Reads a frame's length prefix: the body length, or an error if it is over the limit.
pub fn frame_len(prefix: [u8; 4]) -> Result<usize, WireError> {
    let len = u32::from_be_bytes(prefix) as usize;
    if len > MAX_FRAME { Err(WireError::TooLong(len)) } else { Ok(len) }
}

fn put_str(w: &mut Vec<u8>, s: &str) {
    // At most 1 KiB, cut at a character boundary.
    let mut end = s.len().min(1024);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    let bytes = &s.as_bytes()[..end];
    w.extend_from_slice(&(bytes.len() as u16).to_be_bytes());
    w.extend_from_slice(bytes);
}

fn put_change(w: &mut Vec<u8>, c: &Change) {
    match c {
        Change::Pay { amount } => {
            w.push(1);
            w.extend_from_slice(&amount.to_be_bytes());
        }
        Change::AddHtlc { htlc_id, amount, hash, expiry, route } => {
            w.push(2);
            w.extend_from_slice(&htlc_id.to_be_bytes());
            w.extend_from_slice(&amount.to_be_bytes());
            w.extend_from_slice(hash.as_slice());
            w.extend_from_slice(&expiry.to_be_bytes());
            w.extend_from_slice(&(route.len() as u16).to_be_bytes());
            for h in route {
                w.extend_from_slice(h.node.as_slice());
                w.extend_from_slice(&h.channel_id.to_be_bytes::<32>());
                w.extend_from_slice(&h.amount.to_be_bytes());
                w.extend_from_slice(&h.expiry.to_be_bytes());
            }
        }
        Change::Fulfill { htlc_id, preimage } => {
            w.push(3);
            w.extend_from_slice(&htlc_id.to_be_bytes());
            w.extend_from_slice(preimage.as_slice());
        }
        Change::Fail { htlc_id, reason } => {
            w.push(4);
            w.extend_from_slice(&htlc_id.to_be_bytes());
            w.push(reason.code());
        }
    }
}

fn put_signed(w: &mut Vec<u8>, s: &SignedState) {
    let st = &s.state;
    w.extend_from_slice(&st.channel_id.to_be_bytes::<32>());
    w.extend_from_slice(&st.version.to_be_bytes());
    w.extend_from_slice(&st.balance_a.to_be_bytes());
    w.extend_from_slice(&st.balance_b.to_be_bytes());
    w.extend_from_slice(&(st.htlcs.len() as u16).to_be_bytes());
    for h in &st.htlcs {
        w.extend_from_slice(&h.id.to_be_bytes());
        w.push(h.from_a as u8);
        w.extend_from_slice(&h.amount.to_be_bytes());
        w.extend_from_slice(h.hash.as_slice());
        w.extend_from_slice(&h.expiry.to_be_bytes());
    }
    w.extend_from_slice(&s.sig_a.0);
    w.extend_from_slice(&s.sig_b.0);
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], WireError> {
        if self.0.len() < n {
            return Err(WireError::Truncated);
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], WireError> {
        Ok(self.take(N)?.try_into().expect("length checked"))
    }

    fn u8(&mut self) -> Result<u8, WireError> {
        Ok(self.take(1)?[0])
    }

    fn flag(&mut self) -> Result<bool, WireError> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(WireError::Invalid("flag is not 0 or 1")),
        }
    }

    fn u16(&mut self) -> Result<u16, WireError> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    fn u32(&mut self) -> Result<u32, WireError> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    fn u64(&mut self) -> Result<u64, WireError> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    fn amount(&mut self) -> Result<u128, WireError> {
        let v = u128::from_be_bytes(self.array()?);
        if v > MAX_AMOUNT { Err(WireError::Invalid("amount above 2^96 - 1")) } else { Ok(v) }
    }

    fn u256(&mut self) -> Result<U256, WireError> {
        Ok(U256::from_be_bytes(self.array::<32>()?))
    }

    fn b256(&mut self) -> Result<B256, WireError> {
        Ok(B256::from(self.array::<32>()?))
    }

    fn address(&mut self) -> Result<Address, WireError> {
        Ok(Address::from(self.array::<20>()?))
    }

    fn sig(&mut self) -> Result<Signature, WireError> {
        Ok(Signature(self.array()?))
    }

    fn string(&mut self) -> Result<String, WireError> {
        let n = self.u16()? as usize;
        String::from_utf8(self.take(n)?.to_vec()).map_err(|_| WireError::Invalid("string is not UTF-8"))
    }

    /// A `u16` count of at most `max` items (else `too_many`), then the items.
    fn list<T>(
        &mut self,
        max: usize,
        too_many: &'static str,
        mut item: impl FnMut(&mut Self) -> Result<T, WireError>,
    ) -> Result<Vec<T>, WireError> {
        let n = self.u16()? as usize;
        if n > max {
            return Err(WireError::Invalid(too_many));
        }
        (0..n).map(|_| item(self)).collect()
    }

    fn change(&mut self) -> Result<Change, WireError> {
        Ok(match self.u8()? {
            1 => Change::Pay { amount: self.amount()? },
            2 => {
                let htlc_id = self.u64()?;
                let amount = self.amount()?;
                let hash = self.b256()?;
                let expiry = self.u64()?;
                let route = self.list(MAX_HOPS, "route longer than 20 hops", |r| {
                    Ok(Hop { node: r.address()?, channel_id: r.u256()?, amount: r.amount()?, expiry: r.u64()? })
                })?;
                Change::AddHtlc { htlc_id, amount, hash, expiry, route }
            }
            3 => Change::Fulfill { htlc_id: self.u64()?, preimage: self.b256()? },
            4 => Change::Fail {
                htlc_id: self.u64()?,
                reason: FailReason::from_code(self.u8()?).ok_or(WireError::Invalid("unknown failure reason"))?,
            },
            t => return Err(WireError::UnknownChange(t)),
        })
    }

    fn signed(&mut self) -> Result<SignedState, WireError> {
        let channel_id = self.u256()?;
        let version = self.u64()?;
        let balance_a = self.amount()?;
        let balance_b = self.amount()?;
        let htlcs = self.list(MAX_HTLCS, "more than 64 HTLCs", |r| {
            Ok(Htlc { id: r.u64()?, from_a: r.flag()?, amount: r.amount()?, hash: r.b256()?, expiry: r.u64()? })
        })?;
        Ok(SignedState {
            state: ChannelState { channel_id, version, balance_a, balance_b, htlcs },
            sig_a: self.sig()?,
            sig_b: self.sig()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn amount() -> impl Strategy<Value = u128> {
        0..=MAX_AMOUNT
    }

    fn b256() -> impl Strategy<Value = B256> {
        any::<[u8; 32]>().prop_map(B256::from)
    }

    fn sig() -> impl Strategy<Value = Signature> {
        proptest::collection::vec(any::<u8>(), 65).prop_map(|v| Signature(v.try_into().unwrap()))
    }

    fn hop() -> impl Strategy<Value = Hop> {
        (any::<[u8; 20]>(), b256(), amount(), any::<u64>()).prop_map(|(n, c, amount, expiry)| Hop {
            node: Address::from(n),
            channel_id: U256::from_be_bytes(c.0),
            amount,
            expiry,
        })
    }

    fn change() -> impl Strategy<Value = Change> {
        prop_oneof![
            amount().prop_map(|amount| Change::Pay { amount }),
            (any::<u64>(), amount(), b256(), any::<u64>(), proptest::collection::vec(hop(), 0..4)).prop_map(
                |(htlc_id, amount, hash, expiry, route)| Change::AddHtlc { htlc_id, amount, hash, expiry, route }
            ),
            (any::<u64>(), b256()).prop_map(|(htlc_id, preimage)| Change::Fulfill { htlc_id, preimage }),
            (any::<u64>(), 0u8..10).prop_map(|(htlc_id, c)| Change::Fail {
                htlc_id,
                reason: FailReason::from_code(c).expect("a listed code")
            }),
        ]
    }

    fn htlc() -> impl Strategy<Value = Htlc> {
        (any::<u64>(), any::<bool>(), amount(), b256(), any::<u64>())
            .prop_map(|(id, from_a, amount, hash, expiry)| Htlc { id, from_a, amount, hash, expiry })
    }

    fn message() -> impl Strategy<Value = Message> {
        prop_oneof![
            (any::<[u8; 20]>(), any::<u64>(), any::<[u8; 20]>(), b256(), any::<(u64, u32, u32)>()).prop_map(
                |(n, chain_id, adj, nonce, (base, ppm, expiry_delta))| Message::Hello(Hello {
                    node: Address::from(n),
                    chain_id,
                    adjudicator: Address::from(adj),
                    nonce,
                    fee: FeePolicy { base, ppm, expiry_delta },
                })
            ),
            sig().prop_map(Message::Auth),
            (b256(), any::<u64>(), amount(), amount(), proptest::collection::vec(htlc(), 0..5), sig(), sig()).prop_map(
                |(c, version, balance_a, balance_b, htlcs, sig_a, sig_b)| Message::Reestablish(SignedState {
                    state: ChannelState { channel_id: U256::from_be_bytes(c.0), version, balance_a, balance_b, htlcs },
                    sig_a,
                    sig_b,
                })
            ),
            (b256(), any::<u64>(), b256(), change(), sig()).prop_map(|(c, version, prev, change, sig)| {
                Message::Update(Update { channel_id: U256::from_be_bytes(c.0), version, prev, change, sig })
            }),
            (b256(), any::<u64>(), sig()).prop_map(|(c, version, sig)| Message::Ack(Ack {
                channel_id: U256::from_be_bytes(c.0),
                version,
                sig
            })),
            (b256(), any::<u64>(), b256(), any::<bool>(), "[a-z ]{0,40}").prop_map(
                |(c, version, prev, conflict, reason)| Message::Reject(Reject {
                    channel_id: U256::from_be_bytes(c.0),
                    version,
                    prev,
                    conflict,
                    reason,
                })
            ),
            (b256(), amount(), amount(), sig()).prop_map(|(c, balance_a, balance_b, sig)| {
                Message::CloseSig(CloseSig { channel_id: U256::from_be_bytes(c.0), balance_a, balance_b, sig })
            }),
            "\\PC{0,50}".prop_map(Message::Error),
            (b256(), amount()).prop_map(|(c, amount)| Message::Join { channel_id: U256::from_be_bytes(c.0), amount }),
        ]
    }

    proptest! {
        #[test]
        fn roundtrip(m in message()) {
            let frame = m.encode();
            let len = frame_len(frame[..4].try_into().unwrap()).unwrap();
            prop_assert_eq!(len, frame.len() - 4);
            prop_assert_eq!(Message::decode(&frame[4..]).unwrap(), m);
        }

        /// Fuzz: arbitrary bytes decode to a message or an error, never a panic; any message
        /// that decodes re-encodes to the same bytes.
        #[test]
        fn arbitrary_bytes_never_panic(body in proptest::collection::vec(any::<u8>(), 0..600)) {
            if let Ok(m) = Message::decode(&body) {
                prop_assert_eq!(&m.encode()[4..], &body[..]);
            }
        }

        /// Fuzz: every truncation or extension of a valid frame is refused.
        #[test]
        fn mangled_frames_are_refused(m in message(), cut in any::<prop::sample::Index>(), extra in 1u8..4) {
            let frame = m.encode();
            let body = &frame[4..];
            let at = cut.index(body.len());
            prop_assert!(Message::decode(&body[..at]).is_err());
            let mut longer = body.to_vec();
            longer.extend(std::iter::repeat_n(0u8, extra as usize));
            prop_assert!(Message::decode(&longer).is_err());
        }
    }

    #[test]
    fn errors_are_specific() {
        assert_eq!(Message::decode(&[]), Err(WireError::Truncated));
        assert_eq!(Message::decode(&[99]), Err(WireError::UnknownType(99)));
        assert_eq!(frame_len((MAX_FRAME as u32 + 1).to_be_bytes()), Err(WireError::TooLong(MAX_FRAME + 1)));
        let mut ack = Message::Ack(Ack { channel_id: U256::from(1), version: 2, sig: Signature::EMPTY }).encode();
        ack.push(0);
        assert_eq!(Message::decode(&ack[4..]), Err(WireError::Trailing(1)));
        let mut pay = vec![4u8];
        pay.extend_from_slice(&[0; 32 + 8 + 32]);
        pay.push(1);
        pay.extend_from_slice(&u128::MAX.to_be_bytes());
        assert_eq!(Message::decode(&pay), Err(WireError::Invalid("amount above 2^96 - 1")));
    }
}
