//! Payments: up to 4 inputs (positions of outputs being spent) and 1 to 4 outputs (owner, token,
//! amount), ABI-encoded as the contract's `PlasmaTx.Transaction` (canonical encoding only), each
//! input signed by its owner over the EIP-712 digest under the contract's domain.

use alloy::{
    primitives::{Address, B256, Bytes, U256, keccak256},
    sol,
    sol_types::{Eip712Domain, SolStruct, SolValue},
};
use aqueduct_primitives::{Signature, Signer};
use serde::{Deserialize, Serialize};

mod abi {
    alloy::sol! {
        struct Output {
            address owner;
            address token;
            uint256 amount;
        }

        struct Transaction {
            uint256[] inputs;
            Output[] outputs;
        }
    }
}

sol! {
    /// The EIP-712 domain's fields, hashed as the contract does.
    struct EIP712Domain {
        string name;
        string version;
        uint256 chainId;
        address verifyingContract;
    }
}

pub const MAX_INPUTS: usize = 4;
pub const MAX_OUTPUTS: usize = 4;
/// Child blocks are 1000, 2000, …; deposit blocks take the numbers in between.
pub const BLOCK_INTERVAL: u64 = 1000;
const BLOCK_OFFSET: u64 = 1_000_000_000;
const TX_OFFSET: u64 = 10_000;

/// Where an output is: block × 10^9 + transaction index × 10^4 + output index.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Position(pub u64);

/// A position that cannot name an output.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PositionError {
    #[error("transaction index {0} is beyond a block's 65,536")]
    TxIndex(u64),
    #[error("output index {0} is beyond a transaction's 4")]
    OutputIndex(u64),
    #[error("block {0} is too large for a position")]
    Block(u64),
}

impl Position {
    pub fn new(block: u64, tx_index: u64, output: u64) -> Result<Self, PositionError> {
        if tx_index >= crate::tree::MAX_TXS as u64 {
            return Err(PositionError::TxIndex(tx_index));
        }
        if output >= MAX_OUTPUTS as u64 {
            return Err(PositionError::OutputIndex(output));
        }
        let base = block.checked_mul(BLOCK_OFFSET).ok_or(PositionError::Block(block))?;
        Ok(Self(base + tx_index * TX_OFFSET + output))
    }

    pub fn block(self) -> u64 {
        self.0 / BLOCK_OFFSET
    }

    pub fn tx_index(self) -> u64 {
        (self.0 % BLOCK_OFFSET) / TX_OFFSET
    }

    pub fn output(self) -> u64 {
        self.0 % TX_OFFSET
    }

    pub fn is_deposit(self) -> bool {
        !self.block().is_multiple_of(BLOCK_INTERVAL)
    }

    /// The position of output `output` of the same transaction.
    pub fn with_output(self, output: u64) -> Self {
        Self(self.0 - self.output() + output)
    }
}

impl std::fmt::Display for Position {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}/{}", self.block(), self.tx_index(), self.output())
    }
}

/// One output: who may spend it, which token (zero: ETH) and how much.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Output {
    pub owner: Address,
    pub token: Address,
    pub amount: U256,
}

/// Why bytes are not a payment, or a payment breaks a shape rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TxError {
    #[error("does not decode as a payment: {0}")]
    Decode(String),
    #[error("not the canonical encoding")]
    NotCanonical,
    #[error("a payment has 1 to 4 outputs, not {0}")]
    Outputs(usize),
    #[error("a payment has at most 4 inputs, not {0}")]
    Inputs(usize),
    #[error("input {0} is spent twice")]
    InputTwice(Position),
    #[error("output {0} is empty (no owner or no amount)")]
    EmptyOutput(usize),
    #[error("input {0} is not a position (above 2^64)")]
    BadInput(usize),
    #[error("{0}")]
    Position(#[from] PositionError),
    #[error("{got} signatures for {want} inputs")]
    Signatures { got: usize, want: usize },
}

/// A payment: the inputs it spends and the outputs it creates.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Payment {
    pub inputs: Vec<Position>,
    pub outputs: Vec<Output>,
}

impl Payment {
    /// A deposit's transaction: no inputs, one output (what the contract emits).
    pub fn deposit(owner: Address, token: Address, amount: U256) -> Self {
        Self { inputs: vec![], outputs: vec![Output { owner, token, amount }] }
    }

    /// Checks the shape rules the contract enforces.
    pub fn check(&self) -> Result<(), TxError> {
        if self.outputs.is_empty() || self.outputs.len() > MAX_OUTPUTS {
            return Err(TxError::Outputs(self.outputs.len()));
        }
        if self.inputs.len() > MAX_INPUTS {
            return Err(TxError::Inputs(self.inputs.len()));
        }
        for (i, p) in self.inputs.iter().enumerate() {
            if self.inputs[..i].contains(p) {
                return Err(TxError::InputTwice(*p));
            }
        }
        for (i, o) in self.outputs.iter().enumerate() {
            if o.owner == Address::ZERO || o.amount.is_zero() {
                return Err(TxError::EmptyOutput(i));
            }
        }
        Ok(())
    }

    fn abi(&self) -> abi::Transaction {
        abi::Transaction {
            inputs: self.inputs.iter().map(|p| U256::from(p.0)).collect(),
            outputs: self
                .outputs
                .iter()
                .map(|o| abi::Output { owner: o.owner, token: o.token, amount: o.amount })
                .collect(),
        }
    }

    /// The transaction's bytes (the ABI encoding of the contract's `PlasmaTx.Transaction`).
    pub fn encode(&self) -> Bytes {
        self.abi().abi_encode().into()
    }

    /// Decodes bytes as the contract does: canonical encoding and shape rules.
    pub fn decode(bytes: &[u8]) -> Result<Self, TxError> {
        let t = abi::Transaction::abi_decode(bytes).map_err(|e| TxError::Decode(e.to_string()))?;
        if t.abi_encode() != bytes {
            return Err(TxError::NotCanonical);
        }
        let mut inputs = Vec::with_capacity(t.inputs.len());
        for (i, p) in t.inputs.iter().enumerate() {
            inputs.push(Position(u64::try_from(*p).map_err(|_| TxError::BadInput(i))?));
        }
        let outputs =
            t.outputs.into_iter().map(|o| Output { owner: o.owner, token: o.token, amount: o.amount }).collect();
        let p = Self { inputs, outputs };
        p.check()?;
        Ok(p)
    }

    pub fn hash(&self) -> B256 {
        keccak256(self.encode())
    }

    /// What each input's owner signs.
    pub fn digest(&self, domain: &Domain) -> B256 {
        self.abi().eip712_signing_hash(&domain.eip712())
    }

    /// Signs every input with `signers` (in input order).
    pub fn sign(self, domain: &Domain, signers: &[&Signer]) -> SignedTx {
        let d = self.digest(domain);
        let sigs = signers.iter().map(|s| s.sign(&d)).collect();
        SignedTx { tx: self, sigs }
    }
}

/// The contract's EIP-712 domain: its chain and address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Domain {
    pub chain_id: u64,
    pub contract: Address,
}

impl Domain {
    pub fn eip712(&self) -> Eip712Domain {
        Eip712Domain::new(
            Some("Aqueduct Plasma".into()),
            Some("1".into()),
            Some(U256::from(self.chain_id)),
            Some(self.contract),
            None,
        )
    }

    /// The domain separator, as the contract's `domainSeparator()`.
    pub fn separator(&self) -> B256 {
        EIP712Domain {
            name: "Aqueduct Plasma".into(),
            version: "1".into(),
            chainId: U256::from(self.chain_id),
            verifyingContract: self.contract,
        }
        .eip712_hash_struct()
    }
}

/// A payment with one signature per input.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedTx {
    pub tx: Payment,
    pub sigs: Vec<Signature>,
}

impl SignedTx {
    /// A deposit's transaction (no signatures).
    pub fn deposit(owner: Address, token: Address, amount: U256) -> Self {
        Self { tx: Payment::deposit(owner, token, amount), sigs: vec![] }
    }

    /// The signatures as the contract takes them: 65 bytes each, concatenated in input order.
    pub fn sig_bytes(&self) -> Bytes {
        self.sigs.iter().flat_map(|s| s.0).collect::<Vec<u8>>().into()
    }

    /// The block-tree leaf: `keccak256(0x00 ‖ keccak256(tx) ‖ keccak256(sigs))`.
    pub fn leaf(&self) -> B256 {
        let mut pre = [0u8; 65];
        pre[1..33].copy_from_slice(self.tx.hash().as_slice());
        pre[33..].copy_from_slice(keccak256(self.sig_bytes()).as_slice());
        keccak256(pre)
    }

    /// Decodes a transaction and its concatenated signatures (one per input).
    pub fn decode(tx: &[u8], sigs: &[u8]) -> Result<Self, TxError> {
        let tx = Payment::decode(tx)?;
        if sigs.len() != tx.inputs.len() * 65 {
            return Err(TxError::Signatures { got: sigs.len() / 65, want: tx.inputs.len() });
        }
        let sigs = sigs.chunks(65).map(|c| Signature(c.try_into().expect("65-byte chunks"))).collect();
        Ok(Self { tx, sigs })
    }

    /// The signer of input `i`, if its signature recovers.
    pub fn signer(&self, domain: &Domain, i: usize) -> Option<Address> {
        self.sigs.get(i)?.recover(&self.tx.digest(domain))
    }
}

/// An output's identity wherever its transaction is included (the contract's `outputId`): the
/// transaction and index, and a deposit's position (two deposits can be equal).
pub fn output_id(tx_hash: B256, index: u64, position: Position) -> B256 {
    let deposit = if position.is_deposit() { U256::from(position.0) } else { U256::ZERO };
    keccak256((tx_hash, U256::from(index), deposit).abi_encode())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn signer(n: u8) -> Signer {
        Signer::from_bytes(&B256::repeat_byte(n)).unwrap()
    }

    fn payment() -> impl Strategy<Value = Payment> {
        let output = (any::<[u8; 20]>(), any::<bool>(), 1u64..u64::MAX).prop_map(|(o, eth, a)| Output {
            owner: Address::from(o),
            token: if eth { Address::ZERO } else { Address::repeat_byte(7) },
            amount: U256::from(a),
        });
        (proptest::collection::btree_set(0u64..1_000_000_000_000_000, 0..=4), proptest::collection::vec(output, 1..=4))
            .prop_map(|(inputs, outputs)| Payment { inputs: inputs.into_iter().map(Position).collect(), outputs })
    }

    proptest! {
        #[test]
        fn encode_decode_round_trips(p in payment()) {
            prop_assume!(p.outputs.iter().all(|o| o.owner != Address::ZERO));
            let bytes = p.encode();
            prop_assert_eq!(Payment::decode(&bytes).unwrap(), p);
        }

        #[test]
        fn decoding_any_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            let _ = Payment::decode(&bytes);
            let _ = SignedTx::decode(&bytes, &bytes);
        }

        /// Seeded mutations of a valid payment: each decodes to a valid payment (then re-encodes
        /// to the same bytes) or is refused; none panics.
        #[test]
        fn mutated_payments_decode_canonically_or_are_refused(p in payment(), flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..6)) {
            prop_assume!(p.outputs.iter().all(|o| o.owner != Address::ZERO));
            let mut bytes = p.encode().to_vec();
            for (at, v) in flips {
                let i = at % bytes.len();
                bytes[i] ^= v;
            }
            if let Ok(q) = Payment::decode(&bytes) {
                prop_assert_eq!(q.encode().to_vec(), bytes);
            }
        }
    }

    #[test]
    fn positions_split_into_block_tx_and_output() {
        let p = Position::new(3000, 17, 2).unwrap();
        assert_eq!((p.block(), p.tx_index(), p.output()), (3000, 17, 2));
        assert!(!p.is_deposit());
        assert!(Position::new(3001, 0, 0).unwrap().is_deposit());
        assert_eq!(p.with_output(1), Position::new(3000, 17, 1).unwrap());
        assert_eq!(Position::new(1, 70_000, 0), Err(PositionError::TxIndex(70_000)));
        assert_eq!(Position::new(1, 0, 4), Err(PositionError::OutputIndex(4)));
        assert!(Position::new(u64::MAX, 0, 0).is_err());
    }

    #[test]
    fn signatures_recover_their_signers_and_only_under_their_domain() {
        let (a, b) = (signer(1), signer(2));
        let d = Domain { chain_id: 31337, contract: Address::repeat_byte(9) };
        let p = Payment {
            inputs: vec![Position(1_000_000_000), Position(2_000_000_000)],
            outputs: vec![Output { owner: b.address(), token: Address::ZERO, amount: U256::from(5) }],
        };
        let s = p.sign(&d, &[&a, &b]);
        assert_eq!(s.signer(&d, 0), Some(a.address()));
        assert_eq!(s.signer(&d, 1), Some(b.address()));
        let other = Domain { chain_id: 1, ..d };
        assert_ne!(s.signer(&other, 0), Some(a.address()));
        let back = SignedTx::decode(&s.tx.encode(), &s.sig_bytes()).unwrap();
        assert_eq!(back, s);
        assert_eq!(
            SignedTx::decode(&s.tx.encode(), &s.sig_bytes()[..65]),
            Err(TxError::Signatures { got: 1, want: 2 })
        );
    }

    #[test]
    fn shape_rules_match_the_contract() {
        let o = Output { owner: Address::repeat_byte(1), token: Address::ZERO, amount: U256::from(1) };
        let bad = |p: Payment| Payment::decode(&p.encode()).unwrap_err();
        assert_eq!(bad(Payment { inputs: vec![], outputs: vec![] }), TxError::Outputs(0));
        assert_eq!(bad(Payment { inputs: vec![], outputs: vec![o; 5] }), TxError::Outputs(5));
        assert_eq!(bad(Payment { inputs: vec![Position(1); 2], outputs: vec![o] }), TxError::InputTwice(Position(1)));
        assert_eq!(
            bad(Payment { inputs: vec![], outputs: vec![Output { amount: U256::ZERO, ..o }] }),
            TxError::EmptyOutput(0)
        );
        let mut trailing = Payment { inputs: vec![], outputs: vec![o] }.encode().to_vec();
        trailing.extend([0u8; 32]);
        assert_eq!(Payment::decode(&trailing), Err(TxError::NotCanonical));
        assert!(matches!(Payment::decode(&[0xde, 0xad]), Err(TxError::Decode(_))));
    }
}
