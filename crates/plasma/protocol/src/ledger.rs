//! The UTXO set and the validity rules a block's transactions must keep: every input exists and
//! is unspent, is signed by its owner, and no token's outputs exceed its inputs. The operator
//! checks payments against it before it acknowledges them; a watcher replays every block on it
//! and calls the first transaction that breaks a rule invalid.

use std::collections::BTreeMap;

use alloy::primitives::{Address, B256, U256};
use serde::{Deserialize, Serialize};

use crate::tx::{Domain, Output, Position, PositionError, SignedTx, TxError};

/// An unspent output and the transaction that created it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Utxo {
    pub position: Position,
    pub output: Output,
    pub tx_hash: B256,
}

/// Why a payment does not apply.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LedgerError {
    #[error(transparent)]
    Tx(#[from] TxError),
    #[error(transparent)]
    Position(#[from] PositionError),
    #[error("input {index} ({position}) is not an unspent output")]
    UnknownInput { index: usize, position: Position },
    #[error("input {index} ({position}) is not signed by its owner {owner}")]
    NotSigned { index: usize, position: Position, owner: Address },
    #[error("the outputs of token {token} exceed its inputs")]
    Minted { token: Address },
    #[error("a payment without inputs is a deposit: deposits come from L1")]
    NoInputs,
}

/// The unspent outputs of the chain, by position.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Ledger {
    utxos: BTreeMap<Position, Utxo>,
}

impl Ledger {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn get(&self, p: Position) -> Option<&Utxo> {
        self.utxos.get(&p)
    }

    pub fn len(&self) -> usize {
        self.utxos.len()
    }

    pub fn is_empty(&self) -> bool {
        self.utxos.is_empty()
    }

    /// Every unspent output `owner` holds.
    pub fn owned_by(&self, owner: Address) -> impl Iterator<Item = &Utxo> {
        self.utxos.values().filter(move |u| u.output.owner == owner)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Utxo> {
        self.utxos.values()
    }

    /// Per token, what every unspent output holds together.
    pub fn totals(&self) -> BTreeMap<Address, U256> {
        let mut t = BTreeMap::new();
        for u in self.utxos.values() {
            *t.entry(u.output.token).or_insert(U256::ZERO) += u.output.amount;
        }
        t
    }

    /// Adds deposit block `block`'s output (the contract's `DepositCreated`).
    pub fn deposit(
        &mut self,
        block: u64,
        owner: Address,
        token: Address,
        amount: U256,
    ) -> Result<Position, LedgerError> {
        let position = Position::new(block, 0, 0)?;
        let tx = SignedTx::deposit(owner, token, amount);
        self.utxos.insert(position, Utxo { position, output: tx.tx.outputs[0], tx_hash: tx.tx.hash() });
        Ok(position)
    }

    /// Whether `tx` may be included now.
    pub fn check(&self, domain: &Domain, tx: &SignedTx) -> Result<(), LedgerError> {
        tx.tx.check()?;
        if tx.tx.inputs.is_empty() {
            return Err(LedgerError::NoInputs);
        }
        if tx.sigs.len() != tx.tx.inputs.len() {
            return Err(TxError::Signatures { got: tx.sigs.len(), want: tx.tx.inputs.len() }.into());
        }
        let digest = tx.tx.digest(domain);
        let mut sums: BTreeMap<Address, (U256, U256)> = BTreeMap::new();
        for (index, &position) in tx.tx.inputs.iter().enumerate() {
            let u = self.utxos.get(&position).ok_or(LedgerError::UnknownInput { index, position })?;
            if tx.sigs[index].recover(&digest) != Some(u.output.owner) {
                return Err(LedgerError::NotSigned { index, position, owner: u.output.owner });
            }
            let s = sums.entry(u.output.token).or_default();
            s.0 = s.0.saturating_add(u.output.amount);
        }
        for o in &tx.tx.outputs {
            let s = sums.entry(o.token).or_default();
            s.1 = s.1.saturating_add(o.amount);
        }
        for (token, (inp, out)) in sums {
            if out > inp {
                return Err(LedgerError::Minted { token });
            }
        }
        Ok(())
    }

    /// Spends `tx`'s inputs and adds its outputs at `block`/`tx_index`, without checking it
    /// (a block as the operator built it; [`Ledger::check`] says whether it was valid).
    pub fn apply(&mut self, block: u64, tx_index: u64, tx: &SignedTx) -> Result<(), LedgerError> {
        let hash = tx.tx.hash();
        for p in &tx.tx.inputs {
            self.utxos.remove(p);
        }
        for (i, o) in tx.tx.outputs.iter().enumerate() {
            let position = Position::new(block, tx_index, i as u64)?;
            self.utxos.insert(position, Utxo { position, output: *o, tx_hash: hash });
        }
        Ok(())
    }

    /// Checks and applies a whole child block; on the first invalid transaction returns its index
    /// and why (the ledger is then left with the transactions before it applied).
    pub fn apply_block(&mut self, domain: &Domain, block: u64, txs: &[SignedTx]) -> Result<(), (usize, LedgerError)> {
        for (i, tx) in txs.iter().enumerate() {
            self.check(domain, tx).map_err(|e| (i, e))?;
            self.apply(block, i as u64, tx).map_err(|e| (i, e))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tx::Payment;
    use aqueduct_primitives::Signer;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn domain() -> Domain {
        Domain { chain_id: 31337, contract: Address::repeat_byte(0x99) }
    }

    fn signer(n: u8) -> Signer {
        Signer::from_bytes(&alloy::primitives::B256::repeat_byte(n)).unwrap()
    }

    fn pay(from: &Signer, input: Position, to: Address, amount: u64, change: u64) -> SignedTx {
        let mut outputs = vec![Output { owner: to, token: Address::ZERO, amount: U256::from(amount) }];
        if change > 0 {
            outputs.push(Output { owner: from.address(), token: Address::ZERO, amount: U256::from(change) });
        }
        Payment { inputs: vec![input], outputs }.sign(&domain(), &[from])
    }

    #[test]
    fn a_valid_payment_applies_and_the_rules_refuse_the_rest() {
        let (a, b, m) = (signer(1), signer(2), signer(3));
        let mut l = Ledger::new();
        let d = l.deposit(1, a.address(), Address::ZERO, U256::from(100)).unwrap();
        let ok = pay(&a, d, b.address(), 60, 40);
        l.check(&domain(), &ok).unwrap();
        let forged = pay(&m, d, m.address(), 100, 0);
        assert_eq!(
            l.check(&domain(), &forged),
            Err(LedgerError::NotSigned { index: 0, position: d, owner: a.address() })
        );
        let minted = pay(&a, d, b.address(), 100, 1);
        assert_eq!(l.check(&domain(), &minted), Err(LedgerError::Minted { token: Address::ZERO }));
        l.apply_block(&domain(), 1000, std::slice::from_ref(&ok)).unwrap();
        assert_eq!(l.check(&domain(), &ok), Err(LedgerError::UnknownInput { index: 0, position: d }));
        let to_b = Position::new(1000, 0, 0).unwrap();
        assert_eq!(l.get(to_b).unwrap().output.owner, b.address());
        assert_eq!(l.owned_by(a.address()).count(), 1, "a's change");
        // A block with an invalid transaction reports it by index.
        let bad = pay(&m, to_b, m.address(), 60, 0);
        assert_eq!(
            l.apply_block(&domain(), 2000, &[bad]).unwrap_err().0,
            0,
            "the forged spend of b's output is the block's first invalid transaction"
        );
    }

    /// Random valid payments among 5 users never change what the chain holds.
    #[test]
    fn random_valid_payments_conserve_every_token() {
        let users: Vec<Signer> = (1..=5).map(signer).collect();
        let mut rng = ChaCha8Rng::seed_from_u64(19);
        let mut l = Ledger::new();
        for (i, u) in users.iter().enumerate() {
            l.deposit(i as u64 + 1, u.address(), Address::ZERO, U256::from(1_000)).unwrap();
        }
        let before = l.totals();
        for block in 1..=20u64 {
            let mut txs = Vec::new();
            let mut pending = l.clone();
            for _ in 0..10 {
                let from = &users[rng.random_range(0..users.len())];
                let Some(u) = pending.owned_by(from.address()).next().copied() else { continue };
                let amount: u64 = u.output.amount.to();
                let send = rng.random_range(1..=amount);
                let to = users[rng.random_range(0..users.len())].address();
                let tx = pay(from, u.position, to, send, amount - send);
                pending.check(&domain(), &tx).unwrap();
                pending.apply(block * 1000, txs.len() as u64, &tx).unwrap();
                txs.push(tx);
            }
            l.apply_block(&domain(), block * 1000, &txs).unwrap();
        }
        assert_eq!(l.totals(), before);
    }
}
