//! Any transaction a block may hold: a signed Ethereum transaction, or a deposit where the rule set
//! accepts them (an L2).

use alloy::{
    consensus::{Transaction, TxEnvelope},
    eips::{
        Typed2718,
        eip2718::{Decodable2718, Eip2718Result, Encodable2718},
        eip2930::AccessList,
        eip7702::SignedAuthorization,
    },
    primitives::{Address, B256, Bytes, ChainId, TxKind, U256},
};

use crate::deposit::{DEPOSIT_TX_TYPE, DepositTx};

// Nearly every transaction is an Ethereum one: boxing it would cost an allocation per transaction.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TxBody {
    Ethereum(TxEnvelope),
    Deposit(DepositTx),
}

impl TxBody {
    pub fn as_ethereum(&self) -> Option<&TxEnvelope> {
        match self {
            Self::Ethereum(e) => Some(e),
            Self::Deposit(_) => None,
        }
    }

    pub fn as_deposit(&self) -> Option<&DepositTx> {
        match self {
            Self::Deposit(d) => Some(d),
            Self::Ethereum(_) => None,
        }
    }

    pub fn is_deposit(&self) -> bool {
        matches!(self, Self::Deposit(_))
    }

    pub fn hash(&self) -> B256 {
        match self {
            Self::Ethereum(e) => *e.tx_hash(),
            Self::Deposit(d) => d.hash(),
        }
    }
}

impl From<TxEnvelope> for TxBody {
    fn from(e: TxEnvelope) -> Self {
        Self::Ethereum(e)
    }
}

impl From<DepositTx> for TxBody {
    fn from(d: DepositTx) -> Self {
        Self::Deposit(d)
    }
}

macro_rules! delegate {
    ($self:ident, $t:ident => $e:expr) => {
        match $self {
            TxBody::Ethereum($t) => $e,
            TxBody::Deposit($t) => $e,
        }
    };
}

impl Typed2718 for TxBody {
    fn ty(&self) -> u8 {
        delegate!(self, t => t.ty())
    }
}

impl Encodable2718 for TxBody {
    fn encode_2718_len(&self) -> usize {
        delegate!(self, t => t.encode_2718_len())
    }

    fn encode_2718(&self, out: &mut dyn alloy_rlp::BufMut) {
        delegate!(self, t => t.encode_2718(out))
    }
}

impl Decodable2718 for TxBody {
    fn typed_decode(ty: u8, buf: &mut &[u8]) -> Eip2718Result<Self> {
        if ty == DEPOSIT_TX_TYPE {
            return Ok(Self::Deposit(DepositTx::typed_decode(ty, buf)?));
        }
        Ok(Self::Ethereum(TxEnvelope::typed_decode(ty, buf)?))
    }

    fn fallback_decode(buf: &mut &[u8]) -> Eip2718Result<Self> {
        Ok(Self::Ethereum(TxEnvelope::fallback_decode(buf)?))
    }
}

impl Transaction for TxBody {
    fn chain_id(&self) -> Option<ChainId> {
        delegate!(self, t => t.chain_id())
    }
    fn nonce(&self) -> u64 {
        delegate!(self, t => t.nonce())
    }
    fn gas_limit(&self) -> u64 {
        delegate!(self, t => t.gas_limit())
    }
    fn gas_price(&self) -> Option<u128> {
        delegate!(self, t => t.gas_price())
    }
    fn max_fee_per_gas(&self) -> u128 {
        delegate!(self, t => t.max_fee_per_gas())
    }
    fn max_priority_fee_per_gas(&self) -> Option<u128> {
        delegate!(self, t => t.max_priority_fee_per_gas())
    }
    fn max_fee_per_blob_gas(&self) -> Option<u128> {
        delegate!(self, t => t.max_fee_per_blob_gas())
    }
    fn priority_fee_or_price(&self) -> u128 {
        delegate!(self, t => t.priority_fee_or_price())
    }
    fn effective_gas_price(&self, base_fee: Option<u64>) -> u128 {
        delegate!(self, t => t.effective_gas_price(base_fee))
    }
    fn effective_tip_per_gas(&self, base_fee: u64) -> Option<u128> {
        delegate!(self, t => t.effective_tip_per_gas(base_fee))
    }
    fn is_dynamic_fee(&self) -> bool {
        delegate!(self, t => t.is_dynamic_fee())
    }
    fn kind(&self) -> TxKind {
        delegate!(self, t => t.kind())
    }
    fn is_create(&self) -> bool {
        delegate!(self, t => t.is_create())
    }
    fn value(&self) -> U256 {
        delegate!(self, t => t.value())
    }
    fn input(&self) -> &Bytes {
        delegate!(self, t => t.input())
    }
    fn access_list(&self) -> Option<&AccessList> {
        delegate!(self, t => t.access_list())
    }
    fn blob_versioned_hashes(&self) -> Option<&[B256]> {
        delegate!(self, t => t.blob_versioned_hashes())
    }
    fn authorization_list(&self) -> Option<&[SignedAuthorization]> {
        delegate!(self, t => t.authorization_list())
    }
    fn to(&self) -> Option<Address> {
        delegate!(self, t => t.to())
    }
}

/// Decodes a signed Ethereum transaction (EIP-2718 bytes) under `rules` and recovers its sender;
/// no state checks. A blob transaction may carry its sidecar, so the size limit leaves room for
/// six blobs beside `rules.pool.max_tx_bytes`.
pub fn decode_raw_tx(
    rules: &crate::rules::ChainRules,
    raw: &[u8],
) -> Result<(TxEnvelope, Address), crate::error::TxError> {
    use crate::error::TxError;
    use alloy::consensus::transaction::SignerRecoverable;
    if raw.len() > rules.pool.max_tx_bytes + 6 * 131_072 * 2 {
        return Err(TxError::Oversized { size: raw.len(), limit: rules.pool.max_tx_bytes });
    }
    let mut buf = raw;
    let env = TxEnvelope::decode_2718(&mut buf)?;
    if !buf.is_empty() {
        return Err(TxError::Trailing);
    }
    let sender = env.recover_signer()?;
    Ok((env, sender))
}
