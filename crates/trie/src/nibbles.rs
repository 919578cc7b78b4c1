//! Nibble paths and the hex-prefix encoding.

use crate::trie::TrieError;

/// A path of nibbles (each 0..=15), one per byte.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Debug)]
pub struct Nibbles(pub Vec<u8>);

impl Nibbles {
    /// The 2·len nibbles of `bytes`, high nibble first.
    pub fn from_bytes(bytes: &[u8]) -> Self {
        let mut v = Vec::with_capacity(bytes.len() * 2);
        for b in bytes {
            v.push(b >> 4);
            v.push(b & 0x0f);
        }
        Self(v)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn as_slice(&self) -> &[u8] {
        &self.0
    }

    /// Hex-prefix encoding (Yellow Paper appendix C): flag nibble (2 for a leaf, +1 when odd).
    pub fn encode_hex_prefix(path: &[u8], leaf: bool) -> Vec<u8> {
        let odd = path.len() % 2 == 1;
        let flag = (if leaf { 2 } else { 0 }) + u8::from(odd);
        let mut out = Vec::with_capacity(path.len() / 2 + 1);
        let rest = if odd {
            out.push((flag << 4) | path[0]);
            &path[1..]
        } else {
            out.push(flag << 4);
            path
        };
        for pair in rest.chunks_exact(2) {
            out.push((pair[0] << 4) | pair[1]);
        }
        out
    }

    /// Decodes a hex-prefix path, returning the nibbles and whether it marks a leaf.
    pub fn decode_hex_prefix(bytes: &[u8]) -> Result<(Self, bool), TrieError> {
        let first = *bytes.first().ok_or(TrieError::Malformed("empty hex-prefix path"))?;
        let flag = first >> 4;
        if flag > 3 {
            return Err(TrieError::Malformed("bad hex-prefix flag"));
        }
        let leaf = flag & 2 != 0;
        let mut v = Vec::with_capacity(bytes.len() * 2);
        if flag & 1 == 1 {
            v.push(first & 0x0f);
        } else if first & 0x0f != 0 {
            return Err(TrieError::Malformed("non-zero padding in hex-prefix path"));
        }
        for b in &bytes[1..] {
            v.push(b >> 4);
            v.push(b & 0x0f);
        }
        Ok((Self(v), leaf))
    }
}

/// Length of the common prefix of two nibble slices.
pub(crate) fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn hex_prefix_vectors() {
        // Yellow Paper examples.
        assert_eq!(Nibbles::encode_hex_prefix(&[1, 2, 3, 4, 5], false), vec![0x11, 0x23, 0x45]);
        assert_eq!(Nibbles::encode_hex_prefix(&[0, 1, 2, 3, 4, 5], false), vec![0x00, 0x01, 0x23, 0x45]);
        assert_eq!(Nibbles::encode_hex_prefix(&[0, 0xf, 1, 0xc, 0xb, 8], true), vec![0x20, 0x0f, 0x1c, 0xb8]);
        assert_eq!(Nibbles::encode_hex_prefix(&[0xf, 1, 0xc, 0xb, 8], true), vec![0x3f, 0x1c, 0xb8]);
    }

    proptest! {
        #[test]
        fn hex_prefix_roundtrip(path in proptest::collection::vec(0u8..16, 0..70), leaf: bool) {
            let enc = Nibbles::encode_hex_prefix(&path, leaf);
            let (dec, l) = Nibbles::decode_hex_prefix(&enc).unwrap();
            prop_assert_eq!(dec.0, path);
            prop_assert_eq!(l, leaf);
        }

        #[test]
        fn hex_prefix_decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..40)) {
            let _ = Nibbles::decode_hex_prefix(&bytes);
        }
    }
}
