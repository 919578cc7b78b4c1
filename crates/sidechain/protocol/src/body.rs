//! A sidechain block as consensus orders it, and how L1 deposits become deposit transactions.

use alloy::{
    primitives::{Address, B256, Bytes, TxKind, U256, keccak256},
    sol_types::SolCall,
};
use alloy_rlp::{Decodable, Encodable, RlpDecodable, RlpEncodable};
use aqueduct_contracts::sidechain::{CHILD_BRIDGE, ChildBridge, SYSTEM};
use aqueduct_evm::DepositTx;
use serde::{Deserialize, Serialize};

use crate::SetChange;

/// Largest encoded body a validator accepts (a 30M-gas block of 21k-gas transfers is ~160 KB).
pub const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;
/// Most transactions in one body.
pub const MAX_TXS: usize = 20_000;
/// Most L1 deposits minted in one body.
pub const MAX_DEPOSITS: usize = 256;
/// Gas each deposit transaction gets (enough to create a child token on first use).
pub const DEPOSIT_GAS: u64 = 2_000_000;

/// An L1 `SidechainBridge.Deposited` event, as the validators mint it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, RlpEncodable, RlpDecodable, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct L1Deposit {
    pub nonce: u64,
    /// The L1 block that holds it (for the record; validators agree on it too).
    pub l1_block: u64,
    pub depositor: Address,
    pub recipient: Address,
    /// `Address::ZERO` for ETH.
    pub token: Address,
    pub amount: U256,
}

impl L1Deposit {
    /// The sidechain transaction that mints it: `SYSTEM` calls `ChildBridge.finalizeDeposit`,
    /// with the ETH minted and sent along (nothing minted for a token).
    pub fn to_deposit_tx(&self) -> DepositTx {
        let eth = self.token == Address::ZERO;
        let mint: u128 = if eth { self.amount.try_into().unwrap_or(u128::MAX) } else { 0 };
        let input = ChildBridge::finalizeDepositCall {
            nonce: self.nonce,
            l1Token: self.token,
            recipient: self.recipient,
            amount: self.amount,
        }
        .abi_encode();
        DepositTx {
            source_hash: keccak256([b"aqueduct-sidechain-deposit".as_slice(), &self.nonce.to_be_bytes()].concat()),
            from: SYSTEM,
            to: TxKind::Call(CHILD_BRIDGE),
            mint,
            value: U256::from(mint),
            gas_limit: DEPOSIT_GAS,
            is_system_transaction: false,
            input: input.into(),
        }
    }
}

/// What a body may not be.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BodyError {
    #[error("body of {0} bytes is over the {MAX_BODY_BYTES}-byte limit")]
    TooLarge(usize),
    #[error("body does not decode: {0}")]
    Decode(String),
    #[error("body has {0} bytes after its encoding")]
    Trailing(usize),
    #[error("body has {0} transactions, over {MAX_TXS}")]
    TooManyTxs(usize),
    #[error("body has {0} deposits, over {MAX_DEPOSITS}")]
    TooManyDeposits(usize),
    #[error("body carries {0} validator-set changes (at most one)")]
    TooManySetChanges(usize),
    #[error("body's validator-set change for epoch {0} is empty, too large or not ascending")]
    BadSetChange(u64),
    #[error("body's deposits are not consecutive from {expected} (found {found})")]
    DepositOrder { expected: u64, found: u64 },
}

/// A sidechain block as the validators agree on it (its digest is consensus' payload).
#[derive(Clone, Debug, PartialEq, Eq, RlpEncodable, RlpDecodable)]
pub struct Body {
    /// Digest of the parent body (the genesis digest at height 1).
    pub parent: B256,
    pub height: u64,
    /// Consensus view it was proposed in.
    pub view: u64,
    /// Milliseconds since the Unix epoch; strictly above the parent's. The EVM block carries
    /// whole seconds (`timestamp_ms / 1000`; blocks within one second share it).
    pub timestamp_ms: u64,
    pub deposits: Vec<L1Deposit>,
    /// EIP-2718 encoded signed transactions, executed in order (invalid ones skipped, the same on
    /// every validator).
    pub txs: Vec<Bytes>,
    /// The validator-set change that ends this body's epoch (none, or one).
    pub set_change: Vec<SetChange>,
}

impl Body {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.length());
        Encodable::encode(self, &mut out);
        out
    }

    /// The digest consensus agrees on.
    pub fn digest(&self) -> B256 {
        keccak256(self.encode())
    }

    /// Decodes a body from a peer, refusing anything over the limits or not exactly one body.
    pub fn decode(bytes: &[u8]) -> Result<Self, BodyError> {
        if bytes.len() > MAX_BODY_BYTES {
            return Err(BodyError::TooLarge(bytes.len()));
        }
        let mut buf = bytes;
        let body = <Self as Decodable>::decode(&mut buf).map_err(|e| BodyError::Decode(e.to_string()))?;
        if !buf.is_empty() {
            return Err(BodyError::Trailing(buf.len()));
        }
        body.check_shape()?;
        Ok(body)
    }

    /// Limits every body meets, and deposits numbered consecutively.
    pub fn check_shape(&self) -> Result<(), BodyError> {
        if self.txs.len() > MAX_TXS {
            return Err(BodyError::TooManyTxs(self.txs.len()));
        }
        if self.deposits.len() > MAX_DEPOSITS {
            return Err(BodyError::TooManyDeposits(self.deposits.len()));
        }
        if self.set_change.len() > 1 {
            return Err(BodyError::TooManySetChanges(self.set_change.len()));
        }
        if let Some(c) = self.set_change.first()
            && !c.well_formed()
        {
            return Err(BodyError::BadSetChange(c.epoch));
        }
        for w in self.deposits.windows(2) {
            if w[1].nonce != w[0].nonce + 1 {
                return Err(BodyError::DepositOrder { expected: w[0].nonce + 1, found: w[1].nonce });
            }
        }
        Ok(())
    }

    /// The EVM block's timestamp.
    pub fn timestamp_secs(&self) -> u64 {
        self.timestamp_ms / 1000
    }

    /// The deposit transactions this body's EVM block runs first.
    pub fn deposit_txs(&self) -> Vec<DepositTx> {
        self.deposits.iter().map(L1Deposit::to_deposit_tx).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand::{Rng, SeedableRng};

    fn body(txs: Vec<Vec<u8>>, deposits: u64) -> Body {
        Body {
            parent: B256::repeat_byte(1),
            height: 7,
            view: 9,
            timestamp_ms: 1_700_000_000_000,
            deposits: (0..deposits)
                .map(|n| L1Deposit {
                    nonce: 3 + n,
                    l1_block: 10,
                    depositor: Address::repeat_byte(2),
                    recipient: Address::repeat_byte(3),
                    token: Address::ZERO,
                    amount: U256::from(n + 1),
                })
                .collect(),
            txs: txs.into_iter().map(Bytes::from).collect(),
            set_change: if deposits % 2 == 1 {
                vec![SetChange {
                    epoch: 1,
                    at_checkpoint: 4,
                    validators: vec![Address::repeat_byte(1), Address::repeat_byte(5)],
                }]
            } else {
                vec![]
            },
        }
    }

    proptest! {
        #[test]
        fn round_trip(txs in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..200), 0..20), deposits in 0u64..5) {
            let b = body(txs, deposits);
            let enc = b.encode();
            prop_assert_eq!(Body::decode(&enc).unwrap(), b.clone());
            prop_assert_eq!(keccak256(&enc), b.digest());
        }

        #[test]
        fn any_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2000)) {
            let _ = Body::decode(&bytes);
        }
    }

    /// Seeded mutations of a valid body decode to a body that re-encodes the same, or are refused.
    #[test]
    fn mutations_decode_canonically_or_are_refused() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0x51de);
        let enc = body(vec![vec![0x02, 1, 2, 3]; 4], 3).encode();
        let mut refused = 0;
        for _ in 0..5_000 {
            let mut m = enc.clone();
            for _ in 0..rng.random_range(1..4) {
                let i = rng.random_range(0..m.len());
                match rng.random_range(0..3) {
                    0 => m[i] = rng.random(),
                    1 => {
                        m.remove(i);
                    }
                    _ => m.insert(i, rng.random()),
                }
            }
            match Body::decode(&m) {
                Ok(b) => assert_eq!(Body::decode(&b.encode()).unwrap(), b),
                Err(_) => refused += 1,
            }
        }
        assert!(refused > 1_000, "most mutations are refused ({refused})");
    }

    #[test]
    fn limits_and_deposit_order() {
        assert_eq!(Body::decode(&vec![0u8; MAX_BODY_BYTES + 1]), Err(BodyError::TooLarge(MAX_BODY_BYTES + 1)));
        let mut b = body(vec![], 3);
        b.deposits[2].nonce = 9;
        assert_eq!(Body::decode(&b.encode()), Err(BodyError::DepositOrder { expected: 5, found: 9 }));
        let mut enc = body(vec![], 0).encode();
        enc.push(0);
        assert_eq!(Body::decode(&enc), Err(BodyError::Trailing(1)));
        let mut b = body(vec![], 1);
        b.set_change[0].validators.reverse();
        assert_eq!(Body::decode(&b.encode()), Err(BodyError::BadSetChange(1)));
        b.set_change[0].validators.clear();
        assert_eq!(Body::decode(&b.encode()), Err(BodyError::BadSetChange(1)));
        let mut b = body(vec![], 1);
        b.set_change.push(b.set_change[0].clone());
        assert_eq!(Body::decode(&b.encode()), Err(BodyError::TooManySetChanges(2)));
    }

    #[test]
    fn eth_deposit_mints_and_token_deposit_does_not() {
        let mut d = body(vec![], 1).deposits.remove(0);
        let tx = d.to_deposit_tx();
        assert_eq!((tx.from, tx.to, tx.mint), (SYSTEM, TxKind::Call(CHILD_BRIDGE), 1));
        let call = ChildBridge::finalizeDepositCall::abi_decode(&tx.input).unwrap();
        assert_eq!((call.nonce, call.recipient), (3, d.recipient));
        d.token = Address::repeat_byte(9);
        assert_eq!(d.to_deposit_tx().mint, 0);
        assert_ne!(d.to_deposit_tx().source_hash, body(vec![], 2).deposits[1].to_deposit_tx().source_hash);
    }
}
