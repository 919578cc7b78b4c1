//! Channel compression. The first byte of a channel names the algorithm, so a reader needs no
//! configuration; decompression is bounded so that a small bomb cannot exhaust memory.

use std::io::{Read, Write};

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase", tag = "algo", content = "level")]
pub enum Compressor {
    /// zstd at a level (1-22).
    Zstd(i32),
    /// brotli at a quality (0-11), window 22 bits.
    Brotli(u32),
}

const ZSTD: u8 = 0x00;
const BROTLI: u8 = 0x01;

#[derive(Debug, thiserror::Error)]
pub enum CompressError {
    #[error("empty channel")]
    Empty,
    #[error("unknown compression byte {0:#04x}")]
    Unknown(u8),
    #[error("channel decompresses beyond {0} bytes")]
    TooLarge(usize),
    #[error("corrupt compressed data: {0}")]
    Corrupt(#[from] std::io::Error),
}

impl Compressor {
    pub fn name(&self) -> String {
        match self {
            Self::Zstd(l) => format!("zstd-{l}"),
            Self::Brotli(q) => format!("brotli-{q}"),
        }
    }

    /// Compresses `data`, prefixed with the algorithm byte.
    pub fn compress(&self, data: &[u8]) -> Vec<u8> {
        match *self {
            Self::Zstd(level) => {
                let mut out = vec![ZSTD];
                // Writing into a Vec cannot fail; an encoder error would be a zstd bug.
                let mut enc = zstd::stream::Encoder::new(&mut out, level).expect("zstd encoder");
                enc.write_all(data).expect("zstd write");
                enc.finish().expect("zstd finish");
                out
            }
            Self::Brotli(quality) => {
                let mut out = vec![BROTLI];
                {
                    let mut w = brotli::CompressorWriter::new(&mut out, 64 * 1024, quality, 22);
                    w.write_all(data).expect("brotli write");
                }
                out
            }
        }
    }

    /// Decompresses a channel, refusing to produce more than `limit` bytes.
    pub fn decompress(data: &[u8], limit: usize) -> Result<Vec<u8>, CompressError> {
        let (&algo, body) = data.split_first().ok_or(CompressError::Empty)?;
        let mut out = Vec::new();
        let read = match algo {
            ZSTD => {
                let dec = zstd::stream::Decoder::new(body)?;
                dec.take(limit as u64 + 1).read_to_end(&mut out)
            }
            BROTLI => brotli::Decompressor::new(body, 64 * 1024).take(limit as u64 + 1).read_to_end(&mut out),
            b => return Err(CompressError::Unknown(b)),
        };
        read?;
        if out.len() > limit {
            return Err(CompressError::TooLarge(limit));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn roundtrip(data in proptest::collection::vec(any::<u8>(), 0..2000), brotli in any::<bool>()) {
            let c = if brotli { Compressor::Brotli(5) } else { Compressor::Zstd(3) };
            prop_assert_eq!(Compressor::decompress(&c.compress(&data), 4096).unwrap(), data);
        }

        #[test]
        fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = Compressor::decompress(&bytes, 1 << 16);
        }
    }

    #[test]
    fn bombs_are_refused() {
        let zeros = vec![0u8; 1 << 20];
        for c in [Compressor::Zstd(3), Compressor::Brotli(5)] {
            let small = c.compress(&zeros);
            assert!(small.len() < 2_000, "{} compresses zeros", c.name());
            assert!(matches!(Compressor::decompress(&small, 1 << 16), Err(CompressError::TooLarge(65_536))));
        }
        assert!(matches!(Compressor::decompress(&[7, 1, 2], 10), Err(CompressError::Unknown(7))));
    }
}
