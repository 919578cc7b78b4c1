//! Mutation fuzzing of everything derivation decodes from L1 (stable Rust, seeded, so a failure
//! replays): valid inbox payloads are bit-flipped, truncated, spliced and repeated, then fed
//! through frames → channel bank → decompression → batches. Nothing may panic, and a payload
//! that survives mutation intact must still decode to the batches it carried.

use alloy::primitives::{B256, Bytes};
use aqueduct_rollup_protocol::{Batch, ChannelAssembler, ChannelBuilder, Compressor, decode_frames, encode_frames};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn payloads(rng: &mut ChaCha8Rng) -> (Vec<Vec<u8>>, Vec<Batch>) {
    let batches: Vec<Batch> = (0..rng.random_range(1..6))
        .map(|n| Batch {
            number: n,
            parent_hash: B256::from(rng.random::<[u8; 32]>()),
            epoch_number: rng.random_range(0..100),
            epoch_hash: B256::from(rng.random::<[u8; 32]>()),
            timestamp: rng.random(),
            forced_index: rng.random_range(0..10),
            transactions: (0..rng.random_range(0..5))
                .map(|_| Bytes::from((0..rng.random_range(1..120)).map(|_| rng.random::<u8>()).collect::<Vec<_>>()))
                .collect(),
        })
        .collect();
    let compressor = if rng.random() { Compressor::Zstd(3) } else { Compressor::Brotli(5) };
    let mut ch = ChannelBuilder::new(rng.random(), compressor);
    batches.iter().for_each(|b| ch.add(b));
    let out = ch.close(rng.random_range(20..400));
    (out.frames.iter().map(|f| encode_frames(std::slice::from_ref(f))).collect(), batches)
}

fn mutate(p: &mut Vec<u8>, rng: &mut ChaCha8Rng) {
    match rng.random_range(0..5) {
        0 if !p.is_empty() => {
            let i = rng.random_range(0..p.len());
            p[i] ^= 1 << rng.random_range(0..8);
        }
        1 => p.truncate(rng.random_range(0..=p.len())),
        2 => {
            let junk: Vec<u8> = (0..rng.random_range(0..64)).map(|_| rng.random()).collect();
            let at = rng.random_range(0..=p.len());
            p.splice(at..at, junk);
        }
        3 if p.len() > 22 => {
            // A huge declared length.
            p[19..23].copy_from_slice(&u32::MAX.to_be_bytes());
        }
        _ => {}
    }
}

#[test]
fn mutated_inbox_data_never_panics() {
    let mut rng = ChaCha8Rng::seed_from_u64(0xF00D);
    let mut intact = 0;
    for round in 0..3_000u64 {
        let (mut frames, batches) = payloads(&mut rng);
        let pristine = frames.clone();
        for f in frames.iter_mut() {
            if rng.random_bool(0.3) {
                mutate(f, &mut rng);
            }
        }
        if rng.random_bool(0.2) && !frames.is_empty() {
            // Replays.
            let f = frames[0].clone();
            frames.push(f);
        }
        let mut bank = ChannelAssembler::new(10, 1 << 20);
        let mut got = None;
        for p in &frames {
            let Ok(fs) = decode_frames(p) else { continue };
            for f in fs {
                if let Some(Ok(b)) = bank.add_frame(f, round) {
                    got.get_or_insert(b);
                }
            }
        }
        if frames.iter().take(pristine.len()).eq(pristine.iter()) {
            assert_eq!(got.as_ref(), Some(&batches), "round {round}: unmutated data decodes");
            intact += 1;
        }
        // Raw garbage straight into the batch decoder.
        let junk: Vec<u8> = (0..rng.random_range(0..200)).map(|_| rng.random()).collect();
        let _ = Batch::decode_all(&junk);
        let _ = Compressor::decompress(&junk, 1 << 16);
    }
    assert!(intact > 100, "the fuzz kept enough payloads intact to check decoding ({intact})");
}
