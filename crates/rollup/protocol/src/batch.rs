//! A batch: one L2 block as the sequencer posts it (OP's singular batch, plus the L2 block number,
//! which identifies a block where several share a timestamp, and the forced-queue position).

use alloy::primitives::{B256, Bytes};
use alloy_rlp::{Decodable, Encodable, RlpDecodable, RlpEncodable};

/// Type byte of a singular batch.
const SINGULAR: u8 = 0;

#[derive(Clone, Debug, PartialEq, Eq, RlpEncodable, RlpDecodable)]
pub struct Batch {
    /// L2 block number.
    pub number: u64,
    pub parent_hash: B256,
    /// The L1 origin: number and hash.
    pub epoch_number: u64,
    pub epoch_hash: B256,
    pub timestamp: u64,
    /// Forced-queue items consumed once this block is done (a running total).
    pub forced_index: u64,
    /// Signed transactions (EIP-2718 bytes), in order; deposits are not here (L1 has them).
    pub transactions: Vec<Bytes>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BatchError {
    #[error("batch RLP: {0}")]
    Rlp(#[from] alloy_rlp::Error),
    #[error("an empty batch")]
    Empty,
    #[error("unknown batch type {0}")]
    Type(u8),
    #[error("{0} trailing bytes after a batch")]
    Trailing(usize),
}

impl Batch {
    /// Appends this batch to a channel's uncompressed stream: an RLP string `type ‖ rlp(batch)`.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        let payload_length = 1 + self.length();
        alloy_rlp::Header { list: false, payload_length }.encode(out);
        out.push(SINGULAR);
        self.encode(out);
    }

    /// Every batch of a channel's uncompressed stream.
    pub fn decode_all(mut stream: &[u8]) -> Result<Vec<Self>, BatchError> {
        let mut out = Vec::new();
        while !stream.is_empty() {
            let item = alloy_rlp::Header::decode_bytes(&mut stream, false)?;
            let (&ty, mut body) = item.split_first().ok_or(BatchError::Empty)?;
            if ty != SINGULAR {
                return Err(BatchError::Type(ty));
            }
            let b = Batch::decode(&mut body)?;
            if !body.is_empty() {
                return Err(BatchError::Trailing(body.len()));
            }
            out.push(b);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn arb_batch() -> impl Strategy<Value = Batch> {
        (
            any::<u64>(),
            any::<[u8; 32]>(),
            any::<u64>(),
            any::<u64>(),
            any::<u64>(),
            proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..150), 0..8),
        )
            .prop_map(|(number, h, epoch_number, timestamp, forced_index, txs)| Batch {
                number,
                parent_hash: B256::from(h),
                epoch_number,
                epoch_hash: alloy::primitives::keccak256(h),
                timestamp,
                forced_index,
                transactions: txs.into_iter().map(Bytes::from).collect(),
            })
    }

    proptest! {
        #[test]
        fn roundtrip(batches in proptest::collection::vec(arb_batch(), 0..5)) {
            let mut stream = Vec::new();
            for b in &batches {
                b.encode_into(&mut stream);
            }
            prop_assert_eq!(Batch::decode_all(&stream).unwrap(), batches);
        }

        #[test]
        fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = Batch::decode_all(&bytes);
        }
    }
}
