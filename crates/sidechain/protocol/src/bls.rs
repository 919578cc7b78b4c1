//! Checkpoint signatures as one aggregate BLS12-381 signature (min-pk: keys in G1, signatures in
//! G2), in the encodings EIP-2537's precompiles take, as `contracts/src/sidechain/BlsCheckpoints.sol`
//! checks them. The per-validator secp256k1 signatures of [`crate::SignedCheckpoint`] are what
//! the bridge uses; this is the variant measured beside them.

use alloy::primitives::B256;

/// The hash-to-G2 domain separation tag (RFC 9380), as `BlsCheckpoints.DST`.
pub const BLS_DST: &[u8] = b"AQUEDUCT-SIDECHAIN-CHECKPOINT-V1_BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_";

/// One validator's BLS key.
pub struct BlsKey(blst::min_pk::SecretKey);

impl BlsKey {
    /// A key derived from 32 bytes of secret material (RFC 9380's KeyGen).
    pub fn from_seed(seed: &B256) -> Self {
        Self(blst::min_pk::SecretKey::key_gen(seed.as_slice(), &[]).expect("32 bytes of key material"))
    }

    /// The public key as EIP-2537 encodes a G1 point (128 bytes).
    pub fn public_key(&self) -> [u8; 128] {
        g1_eip2537(&self.0.sk_to_pk().serialize())
    }

    pub fn sign(&self, message: &B256) -> blst::min_pk::Signature {
        self.0.sign(message.as_slice(), BLS_DST, &[])
    }
}

/// The aggregate of `sigs` as EIP-2537 encodes a G2 point (256 bytes).
pub fn aggregate(sigs: &[blst::min_pk::Signature]) -> Option<[u8; 256]> {
    let refs: Vec<&blst::min_pk::Signature> = sigs.iter().collect();
    let agg = blst::min_pk::AggregateSignature::aggregate(&refs, false).ok()?;
    Some(g2_eip2537(&agg.to_signature().serialize()))
}

/// blst's uncompressed G1 (x ‖ y, 48 bytes each) → EIP-2537 (each padded to 64).
fn g1_eip2537(p: &[u8; 96]) -> [u8; 128] {
    let mut out = [0u8; 128];
    out[16..64].copy_from_slice(&p[..48]);
    out[80..128].copy_from_slice(&p[48..]);
    out
}

/// blst's uncompressed G2 (x.c1 ‖ x.c0 ‖ y.c1 ‖ y.c0, 48 bytes each) → EIP-2537 (c0 before c1,
/// each padded to 64).
fn g2_eip2537(p: &[u8; 192]) -> [u8; 256] {
    let mut out = [0u8; 256];
    for (i, from) in [48, 0, 144, 96].into_iter().enumerate() {
        out[i * 64 + 16..(i + 1) * 64].copy_from_slice(&p[from..from + 48]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// blst agrees the aggregate verifies (the contract's check is tested from the embedded L1).
    #[test]
    fn aggregate_verifies_in_blst() {
        let keys: Vec<BlsKey> = (0..3u8).map(|i| BlsKey::from_seed(&B256::repeat_byte(i + 1))).collect();
        let m = B256::repeat_byte(9);
        let sigs: Vec<_> = keys.iter().map(|k| k.sign(&m)).collect();
        let refs: Vec<&blst::min_pk::Signature> = sigs.iter().collect();
        let agg = blst::min_pk::AggregateSignature::aggregate(&refs, false).unwrap().to_signature();
        let pks: Vec<_> = keys.iter().map(|k| k.0.sk_to_pk()).collect();
        let pk_refs: Vec<&blst::min_pk::PublicKey> = pks.iter().collect();
        assert_eq!(agg.fast_aggregate_verify(true, m.as_slice(), BLS_DST, &pk_refs), blst::BLST_ERROR::BLST_SUCCESS);
        assert!(aggregate(&sigs).is_some_and(|a| a[..16] == [0; 16]));
        assert_eq!(keys[0].public_key()[..16], [0; 16]);
    }
}
