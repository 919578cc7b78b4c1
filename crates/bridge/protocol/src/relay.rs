//! A deposit as relayers fill it, and its hash (`BridgeLib.relayHash`).

use alloy::{
    primitives::{B256, keccak256},
    sol_types::SolValue,
};
pub use aqueduct_contracts::bridge::hub::BridgeLib::{Entry, RelayData};
use aqueduct_contracts::bridge::spoke::BridgeLib as Spoke;

/// `keccak256(abi.encode(d))`: the deposit's leaf in the spoke's tree and the key of its fill.
pub fn relay_hash(d: &RelayData) -> B256 {
    keccak256(d.abi_encode())
}

/// What a bundle pays for one deposit (`BridgeLib.Outcome`, an `Entry`'s `uint8`).
pub mod outcome {
    /// The relayer that filled it gets `inputAmount`.
    pub const REPAY: u8 = 0;
    /// The recipient gets `outputAmount` from the deposit itself.
    pub const SLOW_FILL: u8 = 1;
    /// The depositor gets `inputAmount` back on the origin chain.
    pub const REFUND: u8 = 2;

    /// Its name, for people.
    pub fn name(o: u8) -> &'static str {
        match o {
            0 => "repay",
            1 => "slow fill",
            2 => "refund",
            _ => "unknown",
        }
    }
}

/// A bundle tree's leaf (`BridgeLib.entryLeaf`): hashed twice so that no leaf is an inner node.
pub fn entry_leaf(e: &Entry) -> B256 {
    keccak256(keccak256(e.abi_encode()))
}

/// The relay data of a `FundsDeposited` event (the spoke's copy of the same struct).
pub fn from_spoke(d: Spoke::RelayData) -> RelayData {
    RelayData {
        depositor: d.depositor,
        recipient: d.recipient,
        exclusiveRelayer: d.exclusiveRelayer,
        inputAmount: d.inputAmount,
        outputAmount: d.outputAmount,
        originChainId: d.originChainId,
        destinationChainId: d.destinationChainId,
        depositId: d.depositId,
        fillDeadline: d.fillDeadline,
        exclusivityDeadline: d.exclusivityDeadline,
    }
}

#[cfg(test)]
mod tests {
    use alloy::primitives::{Address, U256, address};

    use super::*;

    pub(crate) fn sample() -> RelayData {
        RelayData {
            depositor: address!("00000000000000000000000000000000000A11CE"),
            recipient: address!("0000000000000000000000000000000000000B0B"),
            exclusiveRelayer: Address::ZERO,
            inputAmount: U256::from(10u64).pow(U256::from(18)),
            outputAmount: U256::from(999u64) * U256::from(10u64).pow(U256::from(15)),
            originChainId: 901,
            destinationChainId: 31337,
            depositId: 7,
            fillDeadline: 1_000_060,
            exclusivityDeadline: 0,
        }
    }

    /// The encoding is the ten static words Solidity's `abi.encode(d)` gives, in field order.
    #[test]
    fn relay_hash_is_abi_encode_of_the_ten_fields() {
        let d = sample();
        let words = (
            d.depositor,
            d.recipient,
            d.exclusiveRelayer,
            d.inputAmount,
            d.outputAmount,
            d.originChainId,
            d.destinationChainId,
            d.depositId,
            d.fillDeadline,
            d.exclusivityDeadline,
        )
            .abi_encode();
        assert_eq!(words.len(), 320);
        assert_eq!(relay_hash(&d), keccak256(&words));
        let mut other = d.clone();
        other.outputAmount += U256::from(1);
        assert_ne!(relay_hash(&other), relay_hash(&d), "any field changes the hash");
    }
}
