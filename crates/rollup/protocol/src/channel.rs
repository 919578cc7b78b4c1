//! Channels: batches compressed together, then cut into frames. The builder is the batcher's
//! side; the assembler is derivation's, collecting frames across L1 blocks until a channel is whole.

use std::collections::{BTreeMap, HashMap, VecDeque};

use tracing::debug;

use crate::{
    batch::{Batch, BatchError},
    compress::{CompressError, Compressor},
    frame::{Frame, MAX_FRAME_DATA},
};

/// Collects batches for one channel.
#[derive(Debug)]
pub struct ChannelBuilder {
    id: [u8; 16],
    compressor: Compressor,
    stream: Vec<u8>,
    blocks: Vec<u64>,
    txs: usize,
}

/// A closed channel, ready to post.
#[derive(Clone, Debug)]
pub struct ChannelOut {
    pub id: [u8; 16],
    pub frames: Vec<Frame>,
    /// L2 blocks it carries.
    pub blocks: Vec<u64>,
    pub transactions: usize,
    pub uncompressed_len: usize,
    pub compressed_len: usize,
}

impl ChannelBuilder {
    pub fn new(id: [u8; 16], compressor: Compressor) -> Self {
        Self { id, compressor, stream: Vec::new(), blocks: Vec::new(), txs: 0 }
    }

    pub fn add(&mut self, batch: &Batch) {
        batch.encode_into(&mut self.stream);
        self.blocks.push(batch.number);
        self.txs += batch.transactions.len();
    }

    pub fn is_empty(&self) -> bool {
        self.blocks.is_empty()
    }

    pub fn uncompressed_len(&self) -> usize {
        self.stream.len()
    }

    /// Compresses and cuts the channel into frames of at most `max_frame_data` bytes.
    pub fn close(self, max_frame_data: usize) -> ChannelOut {
        let compressed = self.compressor.compress(&self.stream);
        let size = max_frame_data.clamp(1, MAX_FRAME_DATA);
        let chunks: Vec<&[u8]> = compressed.chunks(size).collect();
        let n = chunks.len();
        let frames = chunks
            .into_iter()
            .enumerate()
            .map(|(i, c)| Frame { channel_id: self.id, number: i as u16, data: c.to_vec(), is_last: i + 1 == n })
            .collect();
        ChannelOut {
            id: self.id,
            frames,
            blocks: self.blocks,
            transactions: self.txs,
            uncompressed_len: self.stream.len(),
            compressed_len: compressed.len(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ChannelError {
    #[error(transparent)]
    Compress(#[from] CompressError),
    #[error(transparent)]
    Batch(#[from] BatchError),
}

#[derive(Debug)]
struct Pending {
    opened_at: u64,
    frames: BTreeMap<u16, Vec<u8>>,
    last: Option<u16>,
    size: usize,
}

/// Derivation's channel bank: frames in, whole channels out. Bounded in memory and in time.
#[derive(Debug)]
pub struct ChannelAssembler {
    pending: HashMap<[u8; 16], Pending>,
    order: VecDeque<[u8; 16]>,
    total: usize,
    max_total: usize,
    timeout: u64,
    max_channel_bytes: usize,
}

impl ChannelAssembler {
    /// `timeout`: L1 blocks a channel may stay incomplete; `max_channel_bytes`: largest
    /// decompressed channel.
    pub fn new(timeout: u64, max_channel_bytes: usize) -> Self {
        Self {
            pending: HashMap::new(),
            order: VecDeque::new(),
            total: 0,
            max_total: 128 * 1024 * 1024,
            timeout,
            max_channel_bytes,
        }
    }

    /// Adds a frame seen in L1 block `l1_block`. Returns the channel's batches when this frame
    /// completes it (or why the channel is unreadable).
    pub fn add_frame(&mut self, frame: Frame, l1_block: u64) -> Option<Result<Vec<Batch>, ChannelError>> {
        self.prune(l1_block);
        let id = frame.channel_id;
        let p = self.pending.entry(id).or_insert_with(|| {
            self.order.push_back(id);
            Pending { opened_at: l1_block, frames: BTreeMap::new(), last: None, size: 0 }
        });
        if p.frames.contains_key(&frame.number) {
            debug!(target: "derive::frames", number = frame.number, "duplicate frame ignored");
            return None;
        }
        if let Some(last) = p.last
            && (frame.number > last || frame.is_last)
        {
            debug!(target: "derive::frames", number = frame.number, last, "frame past the channel's end ignored");
            return None;
        }
        if frame.is_last {
            p.last = Some(frame.number);
            // Frames numbered after the last one can never belong.
            let dropped: usize = p.frames.split_off(&(frame.number + 1)).values().map(Vec::len).sum();
            p.size -= dropped;
            self.total -= dropped;
        }
        p.size += frame.data.len();
        self.total += frame.data.len();
        p.frames.insert(frame.number, frame.data);
        let complete = p.last.is_some_and(|last| p.frames.len() == last as usize + 1);
        let out = if complete {
            let p = self.remove(&id).expect("present");
            let data: Vec<u8> = p.frames.into_values().flatten().collect();
            Some(
                Compressor::decompress(&data, self.max_channel_bytes)
                    .map_err(ChannelError::from)
                    .and_then(|raw| Batch::decode_all(&raw).map_err(ChannelError::from)),
            )
        } else {
            None
        };
        while self.total > self.max_total {
            let Some(oldest) = self.order.front().copied() else { break };
            debug!(target: "derive::frames", "channel bank full: dropping the oldest channel");
            self.remove(&oldest);
        }
        out
    }

    /// Drops channels that timed out by L1 block `l1_block`.
    pub fn prune(&mut self, l1_block: u64) {
        while let Some(id) = self.order.front().copied() {
            match self.pending.get(&id) {
                Some(p) if p.opened_at + self.timeout < l1_block => {
                    debug!(target: "derive::frames", opened_at = p.opened_at, "channel timed out");
                    self.remove(&id);
                }
                Some(_) => break,
                None => {
                    self.order.pop_front();
                }
            }
        }
    }

    /// Forgets everything (an L1 reorg: derivation starts again from a safe point).
    pub fn clear(&mut self) {
        self.pending.clear();
        self.order.clear();
        self.total = 0;
    }

    pub fn pending_channels(&self) -> usize {
        self.pending.len()
    }

    fn remove(&mut self, id: &[u8; 16]) -> Option<Pending> {
        let p = self.pending.remove(id)?;
        self.total -= p.size;
        self.order.retain(|x| x != id);
        Some(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::primitives::{B256, Bytes};
    use rand::{Rng, SeedableRng, seq::SliceRandom};
    use rand_chacha::ChaCha8Rng;

    fn batch(n: u64, rng: &mut ChaCha8Rng) -> Batch {
        let txs = (0..rng.random_range(0..20)).map(|_| Bytes::from(rng.random::<[u8; 32]>().to_vec())).collect();
        Batch {
            number: n,
            parent_hash: B256::repeat_byte(n as u8),
            epoch_number: n / 4,
            epoch_hash: B256::repeat_byte(1),
            timestamp: 1000 + n,
            forced_index: 0,
            transactions: txs,
        }
    }

    #[test]
    fn frames_in_any_order_rebuild_the_channel() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        for compressor in [Compressor::Zstd(3), Compressor::Brotli(6)] {
            let batches: Vec<Batch> = (0..30).map(|n| batch(n, &mut rng)).collect();
            let mut b = ChannelBuilder::new([9; 16], compressor);
            batches.iter().for_each(|x| b.add(x));
            let out = b.close(300);
            assert!(out.frames.len() > 3);
            let mut frames = out.frames.clone();
            frames.shuffle(&mut rng);
            // A duplicate on the way changes nothing.
            frames.insert(1, frames[0].clone());
            let mut asm = ChannelAssembler::new(10, 1 << 20);
            let mut got = None;
            for f in frames {
                if let Some(r) = asm.add_frame(f, 5) {
                    assert!(got.is_none(), "completes once");
                    got = Some(r.unwrap());
                }
            }
            assert_eq!(got.unwrap(), batches);
            assert_eq!(asm.pending_channels(), 0);
        }
    }

    #[test]
    fn incomplete_channels_time_out() {
        let mut rng = ChaCha8Rng::seed_from_u64(8);
        let mut b = ChannelBuilder::new([1; 16], Compressor::Zstd(3));
        (0..10).for_each(|n| b.add(&batch(n, &mut rng)));
        let out = b.close(100);
        let mut asm = ChannelAssembler::new(3, 1 << 20);
        assert!(asm.add_frame(out.frames[0].clone(), 10).is_none());
        assert_eq!(asm.pending_channels(), 1);
        asm.prune(14);
        assert_eq!(asm.pending_channels(), 0, "timed out after 3 L1 blocks");
        // The rest arriving late cannot complete it.
        for f in &out.frames[1..] {
            assert!(asm.add_frame(f.clone(), 15).is_none());
        }
    }

    #[test]
    fn corrupt_channel_is_an_error_not_a_panic() {
        let mut asm = ChannelAssembler::new(10, 1 << 20);
        let f = Frame { channel_id: [2; 16], number: 0, data: vec![0, 1, 2, 3], is_last: true };
        assert!(matches!(asm.add_frame(f, 1), Some(Err(ChannelError::Compress(_)))));
    }
}
