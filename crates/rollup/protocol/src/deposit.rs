//! L1 events as L2 deposit transactions (OP's rules: source hashes, sender aliasing).

use alloy::{
    primitives::{Address, B256, Bytes, Log, TxKind, U160, U256, keccak256},
    sol_types::{SolCall, SolEvent},
};
use aqueduct_contracts::rollup::{L1Block, RollupPortal};
use aqueduct_evm::{DepositTx, L1Prices};
use serde::{Deserialize, Serialize};

use crate::config::Predeploys;

const ALIAS_OFFSET: U160 = U160::from_limbs([0x0000_0000_0000_1111, 0x0000_0000_0000_0000, 0x1111_0000]);
/// Gas of the system deposit that opens each L2 block.
const L1_INFO_GAS: u64 = 1_000_000;

/// An L1 block as an L2 block's origin (its "epoch").
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct L1Origin {
    pub number: u64,
    pub hash: B256,
    pub timestamp: u64,
    pub base_fee: u128,
    pub blob_base_fee: u128,
}

impl L1Origin {
    /// The L1 prices an L2 block with this origin charges its data fee at.
    pub fn prices(&self) -> L1Prices {
        L1Prices { base_fee: self.base_fee, blob_base_fee: self.blob_base_fee }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DepositError {
    #[error("not a TransactionDeposited log")]
    NotADeposit,
    #[error("unknown deposit version {0}")]
    Version(U256),
    #[error("opaque data is {0} bytes, shorter than the 73-byte header")]
    Short(usize),
    #[error("mint does not fit in 128 bits")]
    MintTooLarge,
}

/// The L2 address of an L1 contract (`l1 + 0x1111…1111`, wrapping).
pub fn apply_alias(l1: Address) -> Address {
    Address::from(U160::from_be_bytes(l1.into_array()).wrapping_add(ALIAS_OFFSET).to_be_bytes())
}

pub fn undo_alias(l2: Address) -> Address {
    Address::from(U160::from_be_bytes(l2.into_array()).wrapping_sub(ALIAS_OFFSET).to_be_bytes())
}

/// Source hash of a user deposit: domain 0, the L1 block hash and the deposit's index in the
/// portal (unlike OP's log index, a contract knows it, so an L1 fault proof can check it).
pub fn user_deposit_source(l1_block_hash: B256, deposit_index: u64) -> B256 {
    let inner = keccak256([l1_block_hash.as_slice(), &U256::from(deposit_index).to_be_bytes::<32>()].concat());
    keccak256([B256::ZERO.as_slice(), inner.as_slice()].concat())
}

fn l1_info_source(l1_block_hash: B256, seq: u64) -> B256 {
    let inner = keccak256([l1_block_hash.as_slice(), &U256::from(seq).to_be_bytes::<32>()].concat());
    keccak256([B256::with_last_byte(1).as_slice(), inner.as_slice()].concat())
}

/// A `TransactionDeposited` log of the portal as the deposit transaction it asks for.
pub fn deposit_from_log(log: &Log, l1_block_hash: B256) -> Result<DepositTx, DepositError> {
    let ev = RollupPortal::TransactionDeposited::decode_log(log).map_err(|_| DepositError::NotADeposit)?;
    deposit_from_event(ev.from, ev.to, ev.version, &ev.opaqueData, l1_block_hash)
}

/// A deposit from its event's fields: `version` is the deposit index (high 128 bits) and the
/// layout version (low 128 bits, 0).
pub fn deposit_from_event(
    from: Address,
    to: Address,
    version: U256,
    d: &[u8],
    l1_block_hash: B256,
) -> Result<DepositTx, DepositError> {
    let layout = version & U256::from(u128::MAX);
    if !layout.is_zero() {
        return Err(DepositError::Version(layout));
    }
    let index = u64::try_from(version >> 128).map_err(|_| DepositError::Version(version))?;
    if d.len() < 73 {
        return Err(DepositError::Short(d.len()));
    }
    let mint = U256::from_be_slice(&d[0..32]);
    let value = U256::from_be_slice(&d[32..64]);
    let gas_limit = u64::from_be_bytes(d[64..72].try_into().expect("8 bytes"));
    let is_creation = d[72] != 0;
    Ok(DepositTx {
        source_hash: user_deposit_source(l1_block_hash, index),
        from,
        to: if is_creation { TxKind::Create } else { TxKind::Call(to) },
        mint: u128::try_from(mint).map_err(|_| DepositError::MintTooLarge)?,
        value,
        gas_limit,
        is_system_transaction: false,
        input: Bytes::copy_from_slice(&d[73..]),
    })
}

/// The system deposit opening an L2 block: records its L1 origin in the L1Block predeploy.
pub fn l1_info_deposit(origin: &L1Origin, sequence_number: u64) -> DepositTx {
    let call = L1Block::setL1BlockValuesCall {
        number_: origin.number,
        timestamp_: origin.timestamp,
        basefee_: U256::from(origin.base_fee),
        blobBaseFee_: U256::from(origin.blob_base_fee),
        hash_: origin.hash,
        sequenceNumber_: sequence_number,
    };
    DepositTx {
        source_hash: l1_info_source(origin.hash, sequence_number),
        from: Predeploys::DEPOSITOR,
        to: TxKind::Call(Predeploys::L1_BLOCK),
        mint: 0,
        value: U256::ZERO,
        gas_limit: L1_INFO_GAS,
        is_system_transaction: true,
        input: call.abi_encode().into(),
    }
}

/// Reads the L1 origin and sequence number back from a block's system deposit.
pub fn l1_info_from_deposit(d: &DepositTx) -> Option<(u64, B256, u64)> {
    if !d.is_system_transaction {
        return None;
    }
    let c = L1Block::setL1BlockValuesCall::abi_decode(&d.input).ok()?;
    Some((c.number_, c.hash_, c.sequenceNumber_))
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::primitives::address;

    #[test]
    fn alias_matches_op() {
        // OP's AddressAliasHelper: 0x…0000 + 0x1111000000000000000000000000000000001111.
        assert_eq!(apply_alias(Address::ZERO), address!("0x1111000000000000000000000000000000001111"));
        let max = address!("0xffffffffffffffffffffffffffffffffffffffff");
        assert_eq!(apply_alias(max), address!("0x1111000000000000000000000000000000001110"), "wraps");
        for a in [Address::ZERO, max, Address::repeat_byte(0x42)] {
            assert_eq!(undo_alias(apply_alias(a)), a);
        }
    }

    #[test]
    fn deposit_log_roundtrip() {
        let opaque = [
            U256::from(7).to_be_bytes::<32>().as_slice(),
            U256::from(5).to_be_bytes::<32>().as_slice(),
            &50_000u64.to_be_bytes(),
            &[0u8],
            &[0xAB, 0xCD],
        ]
        .concat();
        let ev = RollupPortal::TransactionDeposited {
            from: Address::repeat_byte(1),
            to: Address::repeat_byte(2),
            version: U256::from(4) << 128,
            opaqueData: opaque.into(),
        };
        let log = Log { address: Address::repeat_byte(9), data: ev.encode_log_data() };
        let d = deposit_from_log(&log, B256::repeat_byte(3)).unwrap();
        assert_eq!(d.mint, 7);
        assert_eq!(d.value, U256::from(5));
        assert_eq!(d.gas_limit, 50_000);
        assert_eq!(d.to, TxKind::Call(Address::repeat_byte(2)));
        assert_eq!(d.input.as_ref(), &[0xAB, 0xCD]);
        assert_eq!(d.source_hash, user_deposit_source(B256::repeat_byte(3), 4), "deposit index in the source");
        let mut bad = ev.clone();
        bad.version = (U256::from(4) << 128) | U256::from(1);
        let log = Log { address: Address::repeat_byte(9), data: bad.encode_log_data() };
        assert_eq!(deposit_from_log(&log, B256::ZERO), Err(DepositError::Version(U256::from(1))));
    }

    #[test]
    fn short_or_foreign_logs_are_errors() {
        let ev = RollupPortal::TransactionDeposited {
            from: Address::ZERO,
            to: Address::ZERO,
            version: U256::ZERO,
            opaqueData: vec![0u8; 72].into(),
        };
        let log = Log { address: Address::ZERO, data: ev.encode_log_data() };
        assert_eq!(deposit_from_log(&log, B256::ZERO), Err(DepositError::Short(72)));
        let other = Log::new_unchecked(Address::ZERO, vec![B256::ZERO], Bytes::new());
        assert_eq!(deposit_from_log(&other, B256::ZERO), Err(DepositError::NotADeposit));
    }

    #[test]
    fn l1_info_roundtrip() {
        let o = L1Origin { number: 9, hash: B256::repeat_byte(7), timestamp: 100, base_fee: 3, blob_base_fee: 1 };
        let d = l1_info_deposit(&o, 2);
        assert!(d.is_system_transaction);
        assert_eq!(l1_info_from_deposit(&d), Some((9, B256::repeat_byte(7), 2)));
        assert_ne!(d.source_hash, l1_info_deposit(&o, 3).source_hash);
    }
}
