//! Frames: slices of a channel as they sit in L1 data (OP's layout).
//!
//! `frame = channel_id (16) ‖ frame_number (u16) ‖ data_len (u32) ‖ data ‖ is_last (u8)`, and an
//! inbox payload is `DERIVATION_VERSION ‖ frame ‖ frame ‖ …`.

/// First byte of every inbox payload.
pub const DERIVATION_VERSION: u8 = 0;
/// Most data bytes one frame carries (OP's limit).
pub const MAX_FRAME_DATA: usize = 1_000_000;
const OVERHEAD: usize = 16 + 2 + 4 + 1;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    pub channel_id: [u8; 16],
    pub number: u16,
    pub data: Vec<u8>,
    pub is_last: bool,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FrameError {
    #[error("empty payload")]
    Empty,
    #[error("unknown derivation version {0}")]
    Version(u8),
    #[error("frame truncated at byte {0}")]
    Truncated(usize),
    #[error("frame data of {0} bytes exceeds {MAX_FRAME_DATA}")]
    TooLarge(usize),
    #[error("is_last byte is {0}, not 0 or 1")]
    BadIsLast(u8),
    #[error("payload holds no frame")]
    NoFrames,
}

impl Frame {
    pub fn encoded_len(&self) -> usize {
        OVERHEAD + self.data.len()
    }

    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.channel_id);
        out.extend_from_slice(&self.number.to_be_bytes());
        out.extend_from_slice(&(self.data.len() as u32).to_be_bytes());
        out.extend_from_slice(&self.data);
        out.push(self.is_last as u8);
    }

    /// Decodes one frame from the front of `buf`, returning it and the bytes it used.
    pub fn decode(buf: &[u8]) -> Result<(Self, usize), FrameError> {
        if buf.len() < OVERHEAD {
            return Err(FrameError::Truncated(buf.len()));
        }
        let channel_id: [u8; 16] = buf[..16].try_into().expect("16 bytes");
        let number = u16::from_be_bytes([buf[16], buf[17]]);
        let len = u32::from_be_bytes([buf[18], buf[19], buf[20], buf[21]]) as usize;
        if len > MAX_FRAME_DATA {
            return Err(FrameError::TooLarge(len));
        }
        let end = 22 + len;
        if buf.len() < end + 1 {
            return Err(FrameError::Truncated(buf.len()));
        }
        let is_last = match buf[end] {
            0 => false,
            1 => true,
            b => return Err(FrameError::BadIsLast(b)),
        };
        Ok((Self { channel_id, number, data: buf[22..end].to_vec(), is_last }, end + 1))
    }
}

/// An inbox payload holding `frames`.
pub fn encode_frames(frames: &[Frame]) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 + frames.iter().map(Frame::encoded_len).sum::<usize>());
    out.push(DERIVATION_VERSION);
    for f in frames {
        f.encode(&mut out);
    }
    out
}

/// The frames of an inbox payload. One bad frame spoils the payload (OP's rule: all or nothing).
pub fn decode_frames(payload: &[u8]) -> Result<Vec<Frame>, FrameError> {
    let (&version, mut rest) = payload.split_first().ok_or(FrameError::Empty)?;
    if version != DERIVATION_VERSION {
        return Err(FrameError::Version(version));
    }
    let mut frames = Vec::new();
    while !rest.is_empty() {
        let (f, used) = Frame::decode(rest)?;
        frames.push(f);
        rest = &rest[used..];
    }
    if frames.is_empty() {
        return Err(FrameError::NoFrames);
    }
    Ok(frames)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn arb_frame() -> impl Strategy<Value = Frame> {
        (any::<[u8; 16]>(), any::<u16>(), proptest::collection::vec(any::<u8>(), 0..500), any::<bool>())
            .prop_map(|(channel_id, number, data, is_last)| Frame { channel_id, number, data, is_last })
    }

    proptest! {
        #[test]
        fn roundtrip(frames in proptest::collection::vec(arb_frame(), 1..6)) {
            let payload = encode_frames(&frames);
            prop_assert_eq!(decode_frames(&payload).unwrap(), frames);
        }

        #[test]
        fn truncation_is_an_error_or_a_prefix(frames in proptest::collection::vec(arb_frame(), 1..4), cut in 1usize..50) {
            let payload = encode_frames(&frames);
            let cut = cut.min(payload.len() - 1);
            // A cut inside a frame is an error; a cut exactly at a frame boundary leaves whole
            // frames, which must be the first ones and nothing else.
            match decode_frames(&payload[..payload.len() - cut]) {
                Err(_) => {}
                Ok(got) => prop_assert!(got.len() < frames.len() && got[..] == frames[..got.len()]),
            }
        }

        #[test]
        fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = decode_frames(&bytes);
        }
    }

    #[test]
    fn rejects_bad_headers() {
        assert_eq!(decode_frames(&[]), Err(FrameError::Empty));
        assert_eq!(decode_frames(&[1, 2, 3]), Err(FrameError::Version(1)));
        assert_eq!(decode_frames(&[0]), Err(FrameError::NoFrames));
        let mut f = encode_frames(&[Frame { channel_id: [1; 16], number: 0, data: vec![1, 2], is_last: true }]);
        *f.last_mut().unwrap() = 2;
        assert_eq!(decode_frames(&f), Err(FrameError::BadIsLast(2)));
        let mut huge = vec![0u8; 24];
        huge[19..23].copy_from_slice(&(MAX_FRAME_DATA as u32 + 1).to_be_bytes());
        assert_eq!(decode_frames(&huge), Err(FrameError::TooLarge(MAX_FRAME_DATA + 1)));
    }
}
