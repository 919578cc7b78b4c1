//! Batcher payloads in EIP-4844 blobs. A payload's blobs are its canonical encoding (alloy's
//! `SimpleCoder`); blobs that decode to a payload but are not that payload's canonical encoding
//! are not a batch (so a fault proof on L1 can show a blob batch from the payload alone).

use alloy::{
    eips::eip4844::{
        Blob, BlobTransactionSidecar,
        builder::{SidecarBuilder, SidecarCoder, SimpleCoder},
        c_kzg,
        env_settings::EnvKzgSettings,
        kzg_to_versioned_hash,
    },
    primitives::B256,
};

/// The blobs (with KZG commitments and proofs) that carry `payload`.
pub fn payload_sidecar(payload: &[u8]) -> Result<BlobTransactionSidecar, c_kzg::Error> {
    SidecarBuilder::<SimpleCoder>::from_slice(payload).build_4844()
}

/// The canonical blobs of `payload`, without commitments.
pub fn payload_blobs(payload: &[u8]) -> Vec<Blob> {
    SidecarBuilder::<SimpleCoder>::from_slice(payload).take()
}

/// The versioned hashes of blobs, from their KZG commitments.
pub fn versioned_hashes(blobs: &[Blob]) -> Result<Vec<B256>, c_kzg::Error> {
    let settings = EnvKzgSettings::Default.get();
    blobs
        .iter()
        .map(|b| {
            let blob = c_kzg::Blob::new(b.0);
            let c = settings.blob_to_kzg_commitment(&blob)?;
            Ok(kzg_to_versioned_hash(c.as_slice()))
        })
        .collect()
}

/// The payload blobs carry, when they are its canonical encoding.
pub fn blobs_payload(blobs: &[Blob]) -> Option<Vec<u8>> {
    let payload = SimpleCoder::default().decode_all(blobs)?.concat();
    (payload_blobs(&payload) == blobs).then_some(payload)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_roundtrip_and_only_canonical_blobs_count() {
        for len in [1usize, 1000, 126_000, 300_000] {
            let payload: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
            let blobs = payload_blobs(&payload);
            assert_eq!(blobs_payload(&blobs).as_deref(), Some(payload.as_slice()), "{len} bytes");
        }
        let mut blobs = payload_blobs(b"frames");
        // Padding that decoding ignores makes the blob non-canonical.
        blobs[0].0[100_000] = 1;
        assert_eq!(blobs_payload(&blobs), None);
    }

    #[test]
    fn versioned_hashes_match_the_sidecar() {
        let sidecar = payload_sidecar(b"some frames").unwrap();
        let hashes: Vec<B256> = sidecar.versioned_hashes().collect();
        assert_eq!(versioned_hashes(&sidecar.blobs).unwrap(), hashes);
    }
}
