//! EdDSA on Baby Jubjub (the twisted Edwards curve over BN254's scalar field, in the a = 1 form of
//! ark-ed-on-bn254) with a Poseidon challenge — the scheme the circuit verifies.
//!
//! Keys: `A = a·G` with `a` derived from a 32-byte seed. Signing `m`: a deterministic nonce
//! `r = H(seed, m)`, `R = r·G`, `c = Poseidon(R.x, R.y, Poseidon(A.x, A.y), m)`,
//! `S = r + c·a mod l`. Verifying: `S·G = R + c·A`, with `c` taken as an integer (as the circuit
//! multiplies by its bits; `A` has order `l`, so this is `(c mod l)·A`).

use alloy_primitives::keccak256;
use ark_ec::{AffineRepr, CurveGroup, PrimeGroup};
use ark_ed_on_bn254::{EdwardsAffine, EdwardsProjective, Fr as Scalar};
use ark_ff::{BigInteger, PrimeField};
use serde::{Deserialize, Serialize};

use crate::{
    F,
    poseidon::{hash2, hash4},
};

/// An L2 signing key (a 32-byte seed).
#[derive(Clone)]
pub struct SecretKey {
    seed: [u8; 32],
    scalar: Scalar,
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SecretKey({})", self.public().hash())
    }
}

/// A Baby Jubjub public key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublicKey(pub EdwardsAffine);

/// `(R, S)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Signature {
    pub r: EdwardsAffine,
    pub s: Scalar,
}

/// A public key as bytes: `A.x ‖ A.y`, 32 bytes each, big-endian.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PubkeyBytes(#[serde(with = "hex_bytes")] pub Vec<u8>);

/// A signature as bytes: `R.x ‖ R.y ‖ S`, 32 bytes each, big-endian.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignatureBytes(#[serde(with = "hex_bytes")] pub Vec<u8>);

impl SecretKey {
    pub fn from_seed(seed: [u8; 32]) -> Self {
        let mut pre = b"aqueduct-zk-key".to_vec();
        pre.extend_from_slice(&seed);
        let scalar = Scalar::from_be_bytes_mod_order(keccak256(&pre).as_slice());
        Self { seed, scalar }
    }

    pub fn seed(&self) -> [u8; 32] {
        self.seed
    }

    pub fn public(&self) -> PublicKey {
        PublicKey((EdwardsProjective::generator() * self.scalar).into_affine())
    }

    pub fn sign(&self, m: F) -> Signature {
        let mut pre = b"aqueduct-zk-nonce".to_vec();
        pre.extend_from_slice(&self.seed);
        pre.extend_from_slice(&m.into_bigint().to_bytes_be());
        let r = Scalar::from_be_bytes_mod_order(keccak256(&pre).as_slice());
        let big_r = (EdwardsProjective::generator() * r).into_affine();
        let c = challenge(&big_r, self.public().hash(), m);
        Signature { r: big_r, s: r + Scalar::from_le_bytes_mod_order(&c.into_bigint().to_bytes_le()) * self.scalar }
    }
}

impl PublicKey {
    /// `Poseidon(A.x, A.y)`: what an account leaf stores.
    pub fn hash(&self) -> F {
        hash2(self.0.x, self.0.y)
    }

    pub fn verify(&self, m: F, sig: &Signature) -> bool {
        if !on_curve(&sig.r) || !on_curve(&self.0) {
            return false;
        }
        let c = challenge(&sig.r, self.hash(), m);
        let lhs = EdwardsProjective::generator() * sig.s;
        let rhs = sig.r.into_group() + self.0.mul_bigint(c.into_bigint());
        lhs == rhs
    }

    pub fn to_bytes(&self) -> [u8; 64] {
        let mut out = [0u8; 64];
        out[..32].copy_from_slice(&self.0.x.into_bigint().to_bytes_be());
        out[32..].copy_from_slice(&self.0.y.into_bigint().to_bytes_be());
        out
    }

    pub fn from_bytes(b: &[u8]) -> Result<Self, String> {
        let p = point_from_bytes(b)?;
        if p.is_zero() {
            return Err("the public key is the identity".into());
        }
        Ok(Self(p))
    }
}

fn point_from_bytes(b: &[u8]) -> Result<EdwardsAffine, String> {
    if b.len() != 64 {
        return Err(format!("a curve point is 64 bytes, got {}", b.len()));
    }
    let x = field_from_be(&b[..32]).ok_or("x is not below the field modulus")?;
    let y = field_from_be(&b[32..]).ok_or("y is not below the field modulus")?;
    let p = EdwardsAffine::new_unchecked(x, y);
    if !on_curve(&p) {
        return Err("the point is not on Baby Jubjub's prime-order subgroup".into());
    }
    Ok(p)
}

/// A canonical big-endian field element (rejects values at or above the modulus).
pub fn field_from_be(b: &[u8]) -> Option<F> {
    let f = F::from_be_bytes_mod_order(b);
    (f.into_bigint().to_bytes_be().as_slice() == b).then_some(f)
}

fn on_curve(p: &EdwardsAffine) -> bool {
    p.is_on_curve() && p.is_in_correct_subgroup_assuming_on_curve()
}

pub fn challenge(r: &EdwardsAffine, pubkey_hash: F, m: F) -> F {
    hash4(r.x, r.y, pubkey_hash, m)
}

impl Signature {
    pub fn to_bytes(&self) -> SignatureBytes {
        let mut out = Vec::with_capacity(96);
        out.extend_from_slice(&self.r.x.into_bigint().to_bytes_be());
        out.extend_from_slice(&self.r.y.into_bigint().to_bytes_be());
        out.extend_from_slice(&self.s.into_bigint().to_bytes_be());
        SignatureBytes(out)
    }

    pub fn from_bytes(b: &SignatureBytes) -> Result<Self, String> {
        let b = &b.0;
        if b.len() != 96 {
            return Err(format!("a signature is 96 bytes, got {}", b.len()));
        }
        let r = point_from_bytes(&b[..64])?;
        let s = Scalar::from_be_bytes_mod_order(&b[64..]);
        if s.into_bigint().to_bytes_be().as_slice() != &b[64..] {
            return Err("S is not below the subgroup order".into());
        }
        Ok(Self { r, s })
    }
}

mod hex_bytes {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(b: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("0x{}", alloy_primitives::hex::encode(b)))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = String::deserialize(d)?;
        alloy_primitives::hex::decode(s.trim_start_matches("0x")).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_verify_only_for_their_key_and_message() {
        let k = SecretKey::from_seed([7; 32]);
        let m = F::from(12345u64);
        let sig = k.sign(m);
        assert!(k.public().verify(m, &sig));
        assert!(!k.public().verify(m + F::from(1u64), &sig));
        assert!(!SecretKey::from_seed([8; 32]).public().verify(m, &sig));
        let bad = Signature { s: sig.s + Scalar::from(1u64), ..sig };
        assert!(!k.public().verify(m, &bad));
        let round = Signature::from_bytes(&sig.to_bytes()).unwrap();
        assert_eq!(round, sig);
        assert_eq!(PublicKey::from_bytes(&k.public().to_bytes()).unwrap(), k.public());
        assert!(Signature::from_bytes(&SignatureBytes(vec![0; 95])).is_err());
        assert!(PublicKey::from_bytes(&[1u8; 64]).is_err());
    }
}
