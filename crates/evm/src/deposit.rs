//! The deposit transaction (type `0x7E`, OP Stack's layout): created by L2 nodes from L1 events,
//! never signed and never sent by users. `from` is taken as given (the L1 sender, aliased when it
//! was a contract); `mint` is credited before execution; gas is bought on L1, so none is charged.

use alloy::{
    consensus::Transaction,
    eips::{
        Typed2718,
        eip2718::{Decodable2718, Eip2718Error, Eip2718Result, Encodable2718},
        eip2930::AccessList,
        eip7702::SignedAuthorization,
    },
    primitives::{Address, B256, Bytes, ChainId, TxKind, U256, keccak256},
};
use alloy_rlp::{Decodable, Encodable, RlpDecodable, RlpEncodable};

/// EIP-2718 type byte of deposits.
pub const DEPOSIT_TX_TYPE: u8 = 0x7E;

/// A deposit: an L2 transaction forced by L1.
#[derive(Clone, Debug, PartialEq, Eq, Hash, RlpEncodable, RlpDecodable, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DepositTx {
    /// Unique per deposit: binds the L1 block and log it came from (or the L2 block it opens).
    pub source_hash: B256,
    pub from: Address,
    pub to: TxKind,
    /// Wei credited to `from` before execution (ETH locked on L1).
    pub mint: u128,
    pub value: U256,
    pub gas_limit: u64,
    /// The block-opening system deposit (L1 origin info).
    pub is_system_transaction: bool,
    pub input: Bytes,
}

impl DepositTx {
    pub fn hash(&self) -> B256 {
        keccak256(self.encoded_2718())
    }
}

impl Typed2718 for DepositTx {
    fn ty(&self) -> u8 {
        DEPOSIT_TX_TYPE
    }
}

impl Encodable2718 for DepositTx {
    fn encode_2718_len(&self) -> usize {
        1 + self.length()
    }

    fn encode_2718(&self, out: &mut dyn alloy_rlp::BufMut) {
        out.put_u8(DEPOSIT_TX_TYPE);
        self.encode(out);
    }
}

impl Decodable2718 for DepositTx {
    fn typed_decode(ty: u8, buf: &mut &[u8]) -> Eip2718Result<Self> {
        if ty != DEPOSIT_TX_TYPE {
            return Err(Eip2718Error::UnexpectedType(ty));
        }
        Ok(Self::decode(buf)?)
    }

    fn fallback_decode(_: &mut &[u8]) -> Eip2718Result<Self> {
        Err(Eip2718Error::UnexpectedType(0))
    }
}

impl Transaction for DepositTx {
    fn chain_id(&self) -> Option<ChainId> {
        None
    }
    fn nonce(&self) -> u64 {
        0
    }
    fn gas_limit(&self) -> u64 {
        self.gas_limit
    }
    fn gas_price(&self) -> Option<u128> {
        None
    }
    fn max_fee_per_gas(&self) -> u128 {
        0
    }
    fn max_priority_fee_per_gas(&self) -> Option<u128> {
        None
    }
    fn max_fee_per_blob_gas(&self) -> Option<u128> {
        None
    }
    fn priority_fee_or_price(&self) -> u128 {
        0
    }
    fn effective_gas_price(&self, _: Option<u64>) -> u128 {
        0
    }
    fn is_dynamic_fee(&self) -> bool {
        false
    }
    fn kind(&self) -> TxKind {
        self.to
    }
    fn is_create(&self) -> bool {
        self.to.is_create()
    }
    fn value(&self) -> U256 {
        self.value
    }
    fn input(&self) -> &Bytes {
        &self.input
    }
    fn access_list(&self) -> Option<&AccessList> {
        None
    }
    fn blob_versioned_hashes(&self) -> Option<&[B256]> {
        None
    }
    fn authorization_list(&self) -> Option<&[SignedAuthorization]> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn arb_deposit() -> impl Strategy<Value = DepositTx> {
        (
            any::<[u8; 32]>(),
            any::<[u8; 20]>(),
            proptest::option::of(any::<[u8; 20]>()),
            any::<u128>(),
            any::<[u8; 32]>(),
            any::<u64>(),
            any::<bool>(),
            proptest::collection::vec(any::<u8>(), 0..200),
        )
            .prop_map(|(s, f, t, mint, v, gas, sys, input)| DepositTx {
                source_hash: B256::from(s),
                from: Address::from(f),
                to: t.map(|a| TxKind::Call(Address::from(a))).unwrap_or(TxKind::Create),
                mint,
                value: U256::from_be_bytes(v),
                gas_limit: gas,
                is_system_transaction: sys,
                input: input.into(),
            })
    }

    proptest! {
        #[test]
        fn roundtrip(d in arb_deposit()) {
            let raw = d.encoded_2718();
            prop_assert_eq!(raw[0], DEPOSIT_TX_TYPE);
            prop_assert_eq!(raw.len(), d.encode_2718_len());
            let back = DepositTx::decode_2718(&mut raw.as_slice()).unwrap();
            prop_assert_eq!(back, d);
        }

        #[test]
        fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = DepositTx::decode_2718(&mut bytes.as_slice());
        }
    }

    /// The deposit hash is keccak256(0x7E ‖ rlp(fields)).
    #[test]
    fn hash_is_keccak_of_typed_encoding() {
        let d = DepositTx {
            source_hash: B256::repeat_byte(1),
            from: Address::repeat_byte(2),
            to: TxKind::Call(Address::repeat_byte(3)),
            mint: 5,
            value: U256::from(6),
            gas_limit: 21_000,
            is_system_transaction: false,
            input: Bytes::new(),
        };
        let mut raw = vec![0x7E];
        d.encode(&mut raw);
        assert_eq!(d.hash(), keccak256(&raw));
        assert_eq!(raw[1], 0xf8, "a list longer than 55 bytes");
    }
}
