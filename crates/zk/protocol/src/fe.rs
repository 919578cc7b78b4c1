//! Serde for field elements: a `0x`-prefixed, 32-byte big-endian hex string, canonical only.

use ark_ff::{BigInteger, PrimeField};
use serde::{Deserialize, Deserializer, Serializer};

use crate::F;

/// The element as 32 big-endian bytes.
pub fn to_bytes(f: &F) -> [u8; 32] {
    let mut out = [0u8; 32];
    let b = f.into_bigint().to_bytes_be();
    out[32 - b.len()..].copy_from_slice(&b);
    out
}

pub fn to_hex(f: &F) -> String {
    format!("0x{}", alloy_primitives::hex::encode(f.into_bigint().to_bytes_be()))
}

pub fn from_hex(s: &str) -> Result<F, String> {
    let b = alloy_primitives::hex::decode(s.trim_start_matches("0x")).map_err(|e| format!("{s}: {e}"))?;
    if b.len() > 32 {
        return Err(format!("{s}: more than 32 bytes"));
    }
    let mut full = [0u8; 32];
    full[32 - b.len()..].copy_from_slice(&b);
    crate::eddsa::field_from_be(&full).ok_or_else(|| format!("{s}: not below the field modulus"))
}

pub fn serialize<S: Serializer>(f: &F, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&to_hex(f))
}

pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<F, D::Error> {
    from_hex(&String::deserialize(d)?).map_err(serde::de::Error::custom)
}
