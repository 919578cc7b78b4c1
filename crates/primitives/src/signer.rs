//! secp256k1 keys and 65-byte recoverable signatures over 32-byte digests, as `ecrecover` reads
//! them (r ‖ s ‖ v with v = 27 or 28, low s).

use alloy_primitives::{Address, B256};
use secp256k1::{
    Message, PublicKey, SecretKey,
    ecdsa::{RecoverableSignature, RecoveryId},
};
use serde::{Deserialize, Serialize};

/// A 65-byte signature `r ‖ s ‖ v`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Signature(#[serde(with = "sig_hex")] pub [u8; 65]);

impl std::fmt::Debug for Signature {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Signature(0x{})", alloy_primitives::hex::encode(&self.0[..8]))
    }
}

impl Signature {
    /// No signature (the opening state needs none).
    pub const EMPTY: Signature = Signature([0; 65]);

    pub fn is_empty(&self) -> bool {
        self.0 == [0; 65]
    }

    /// The signer's address, or `None` for a malformed or high-s signature.
    pub fn recover(&self, digest: &B256) -> Option<Address> {
        let v = self.0[64];
        let id = match v {
            27 | 28 => RecoveryId::try_from((v - 27) as i32).ok()?,
            _ => return None,
        };
        let sig = RecoverableSignature::from_compact(&self.0[..64], id).ok()?;
        // libsecp256k1 signs low-s; refuse high-s like the adjudicator does.
        let mut normalized = sig.to_standard();
        normalized.normalize_s();
        if normalized != sig.to_standard() {
            return None;
        }
        let key = sig.recover(Message::from_digest(digest.0)).ok()?;
        Some(address_of(&key))
    }
}

fn address_of(key: &PublicKey) -> Address {
    Address::from_raw_public_key(&key.serialize_uncompressed()[1..])
}

/// A party's signing key.
#[derive(Clone)]
pub struct Signer {
    key: SecretKey,
    address: Address,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer").field("address", &self.address).finish_non_exhaustive()
    }
}

impl Signer {
    /// From a 32-byte secret; `None` if it is not a valid secp256k1 scalar.
    pub fn from_bytes(secret: &B256) -> Option<Self> {
        let key = SecretKey::from_byte_array(secret.0).ok()?;
        let address = address_of(&key.public_key(secp256k1::SECP256K1));
        Some(Self { key, address })
    }

    pub fn address(&self) -> Address {
        self.address
    }

    pub fn secret(&self) -> B256 {
        B256::from(self.key.secret_bytes())
    }

    pub fn sign(&self, digest: &B256) -> Signature {
        let sig = secp256k1::SECP256K1.sign_ecdsa_recoverable(Message::from_digest(digest.0), &self.key);
        let (id, compact) = sig.serialize_compact();
        let mut out = [0u8; 65];
        out[..64].copy_from_slice(&compact);
        out[64] = 27 + i32::from(id) as u8;
        Signature(out)
    }
}

mod sig_hex {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(sig: &[u8; 65], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("0x{}", alloy_primitives::hex::encode(sig)))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 65], D::Error> {
        let s = String::deserialize(d)?;
        let bytes = alloy_primitives::hex::decode(s.trim_start_matches("0x")).map_err(D::Error::custom)?;
        bytes.try_into().map_err(|_| D::Error::custom("a signature is 65 bytes"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::keccak256;

    #[test]
    fn sign_recover_and_reject_tampering() {
        let signer = Signer::from_bytes(&B256::repeat_byte(0x11)).unwrap();
        let digest = keccak256("hello");
        let sig = signer.sign(&digest);
        assert_eq!(sig.recover(&digest), Some(signer.address()));
        assert_ne!(sig.recover(&keccak256("other")), Some(signer.address()));
        let mut bad_v = sig;
        bad_v.0[64] = 29;
        assert_eq!(bad_v.recover(&digest), None);
        assert_eq!(Signature::EMPTY.recover(&digest), None);
        assert!(Signer::from_bytes(&B256::ZERO).is_none());
    }

    #[test]
    fn address_matches_alloy() {
        // Anvil's first dev key.
        let secret: B256 = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80".parse().unwrap();
        let signer = Signer::from_bytes(&secret).unwrap();
        assert_eq!(signer.address(), "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266".parse::<Address>().unwrap());
    }
}
