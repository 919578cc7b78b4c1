//! What a watcher knows and decides, sans-IO: it replays every child block on its own ledger,
//! calls a block invalid (a transaction that breaks a rule) or withheld (its data never came),
//! and from then on says which exits its user must start and which exits on L1 must be
//! challenged, with everything each call needs (transactions, signatures, inclusion proofs).

use std::collections::{BTreeMap, HashMap};

use alloy::primitives::{Address, B256, U256};
use serde::{Deserialize, Serialize};

use crate::{
    ledger::{Ledger, LedgerError, Utxo},
    tree::BlockTree,
    tx::{Domain, Position, SignedTx},
};

/// Why the watcher stopped trusting the chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Alarm {
    /// Block `block`'s transaction `index` breaks a rule.
    Invalid { block: u64, index: usize, reason: String },
    /// Block `block`'s data was not served (or does not match its root on L1).
    Withheld { block: u64 },
}

impl Alarm {
    pub fn block(&self) -> u64 {
        match self {
            Self::Invalid { block, .. } | Self::Withheld { block } => *block,
        }
    }
}

/// A transaction with its signatures and where it is included, with the proof.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Included {
    pub tx: SignedTx,
    /// The position of its output 0.
    pub position: Position,
    pub proof: Vec<B256>,
}

/// A standard exit the user should start: its output, and the creating transaction's inclusion.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExitPlan {
    pub utxo: Utxo,
    pub creating: Included,
}

/// A challenge of a standard exit on L1.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Challenge {
    /// The exiting output was spent by `spend` (its input `input`), signed by its owner.
    Spent { exit_id: u64, spend: SignedTx, input: usize },
    /// The exiting output's transaction `exit_tx` spends its input `input` without the owner's
    /// signature; `creating` is the included transaction that created that input.
    InvalidSpend { exit_id: u64, exit_tx: SignedTx, input: usize, creating: Included },
}

/// An in-flight exit the user should start: its transaction, the inclusions of its inputs'
/// creating transactions, and which inputs and outputs the user owns (to piggyback).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InFlightPlan {
    pub tx: SignedTx,
    pub inputs: Vec<Included>,
    pub own_inputs: Vec<usize>,
    pub own_outputs: Vec<usize>,
}

/// A block the watcher has verified: its transactions (to prove inclusions).
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Verified {
    txs: Vec<SignedTx>,
}

/// The watcher's knowledge of the chain.
#[derive(Clone, Debug)]
pub struct WatchState {
    domain: Domain,
    ledger: Ledger,
    /// Verified child blocks and deposit blocks (a deposit block holds its one transaction).
    blocks: BTreeMap<u64, Verified>,
    /// The invalid block's transactions, kept to challenge exits of what they created.
    invalid: Option<(u64, Vec<SignedTx>)>,
    /// Which transaction (block, index) spent each output.
    spent_by: HashMap<Position, (u64, usize)>,
    alarm: Option<Alarm>,
    /// The user's payments not yet seen in a verified block.
    in_flight: Vec<SignedTx>,
    /// Every transaction a verified block holds, by hash.
    included: std::collections::HashSet<B256>,
}

impl WatchState {
    pub fn new(domain: Domain) -> Self {
        Self {
            domain,
            ledger: Ledger::new(),
            blocks: BTreeMap::new(),
            invalid: None,
            spent_by: HashMap::new(),
            alarm: None,
            in_flight: Vec::new(),
            included: std::collections::HashSet::new(),
        }
    }

    pub fn alarm(&self) -> Option<&Alarm> {
        self.alarm.as_ref()
    }

    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    /// The last child block verified (0: none).
    pub fn verified_to(&self) -> u64 {
        self.blocks.keys().rev().find(|b| b.is_multiple_of(crate::tx::BLOCK_INTERVAL)).copied().unwrap_or(0)
    }

    /// A deposit seen on L1.
    pub fn on_deposit(&mut self, block: u64, owner: Address, token: Address, amount: U256) -> Result<(), LedgerError> {
        self.ledger.deposit(block, owner, token, amount)?;
        self.blocks.insert(block, Verified { txs: vec![SignedTx::deposit(owner, token, amount)] });
        Ok(())
    }

    /// Child block `block` with root `root` on L1 and the data the operator served (`None`:
    /// withheld). Returns the alarm if the block raised one. After an alarm nothing more is
    /// applied: the watcher's ledger stays at the last good block.
    pub fn on_block(&mut self, block: u64, root: B256, data: Option<Vec<SignedTx>>) -> Option<&Alarm> {
        if self.alarm.is_some() {
            return None;
        }
        let Some(txs) = data else {
            self.alarm = Some(Alarm::Withheld { block });
            return self.alarm.as_ref();
        };
        if BlockTree::new(txs.iter().map(SignedTx::leaf).collect()).root() != root {
            self.alarm = Some(Alarm::Withheld { block });
            return self.alarm.as_ref();
        }
        let mut next = self.ledger.clone();
        if let Err((index, e)) = next.apply_block(&self.domain, block, &txs) {
            self.alarm = Some(Alarm::Invalid { block, index, reason: e.to_string() });
            self.invalid = Some((block, txs));
            return self.alarm.as_ref();
        }
        for (i, tx) in txs.iter().enumerate() {
            for p in &tx.tx.inputs {
                self.spent_by.insert(*p, (block, i));
            }
        }
        self.ledger = next;
        self.included.extend(txs.iter().map(|t| t.tx.hash()));
        self.in_flight.retain(|t| !self.included.contains(&t.tx.hash()));
        self.blocks.insert(block, Verified { txs });
        None
    }

    /// The inclusion of transaction `index` of verified (or the invalid) block `block`.
    pub fn inclusion(&self, block: u64, index: usize) -> Option<Included> {
        let txs = match self.blocks.get(&block) {
            Some(v) => &v.txs,
            None => match &self.invalid {
                Some((b, txs)) if *b == block => txs,
                _ => return None,
            },
        };
        let tree = BlockTree::new(txs.iter().map(SignedTx::leaf).collect());
        Some(Included {
            tx: txs.get(index)?.clone(),
            position: Position::new(block, index as u64, 0).ok()?,
            proof: tree.proof(index)?,
        })
    }

    /// Remembers a payment the user sent, until a verified block holds it.
    pub fn track(&mut self, tx: SignedTx) {
        let h = tx.tx.hash();
        if !self.included.contains(&h) && !self.in_flight.iter().any(|t| t.tx.hash() == h) {
            self.in_flight.push(tx);
        }
    }

    pub fn in_flight(&self) -> &[SignedTx] {
        &self.in_flight
    }

    /// The standard exits `owner` should start: every output it holds in the last good state,
    /// except those its payments in flight spend (they leave through in-flight exits).
    pub fn exits_for(&self, owner: Address) -> Vec<ExitPlan> {
        let spending: std::collections::HashSet<Position> =
            self.in_flight.iter().flat_map(|t| t.tx.inputs.iter().copied()).collect();
        self.ledger
            .owned_by(owner)
            .filter(|u| !spending.contains(&u.position))
            .filter_map(|u| {
                let creating = self.inclusion(u.position.block(), u.position.tx_index() as usize)?;
                Some(ExitPlan { utxo: *u, creating })
            })
            .collect()
    }

    /// The in-flight exits `owner` should start: each of its payments in flight whose inputs
    /// the watcher saw created.
    pub fn in_flight_exits_for(&self, owner: Address) -> Vec<InFlightPlan> {
        self.in_flight
            .iter()
            .filter_map(|t| {
                let inputs =
                    t.tx.inputs
                        .iter()
                        .map(|p| self.inclusion(p.block(), p.tx_index() as usize))
                        .collect::<Option<Vec<_>>>()?;
                let own_inputs =
                    t.tx.inputs
                        .iter()
                        .enumerate()
                        .filter(|(i, p)| {
                            inputs[*i].tx.tx.outputs.get(p.output() as usize).is_some_and(|o| o.owner == owner)
                        })
                        .map(|(i, _)| i)
                        .collect();
                Some(InFlightPlan { tx: t.clone(), inputs, own_inputs, own_outputs: self.own_outputs(owner, t) })
            })
            .collect()
    }

    /// Which outputs of `tx` `owner` holds (to piggyback on someone else's in-flight exit).
    pub fn own_outputs(&self, owner: Address, tx: &SignedTx) -> Vec<usize> {
        tx.tx.outputs.iter().enumerate().filter(|(_, o)| o.owner == owner).map(|(i, _)| i).collect()
    }

    /// Whether a standard exit of output `position` must be challenged, and with what.
    pub fn challenge_for(&self, exit_id: u64, position: Position) -> Option<Challenge> {
        if let Some(&(block, index)) = self.spent_by.get(&position) {
            let spend = self.blocks.get(&block)?.txs.get(index)?.clone();
            let input = spend.tx.inputs.iter().position(|p| *p == position)?;
            return Some(Challenge::Spent { exit_id, spend, input });
        }
        // An output of the invalid block's transaction that spends an input without its
        // owner's signature.
        let (block, txs) = self.invalid.as_ref()?;
        if position.block() != *block {
            return None;
        }
        let exit_tx = txs.get(position.tx_index() as usize)?.clone();
        let digest = exit_tx.tx.digest(&self.domain);
        for (input, p) in exit_tx.tx.inputs.iter().enumerate() {
            let creating = self.inclusion(p.block(), p.tx_index() as usize)?;
            let owner = creating.tx.tx.outputs.get(p.output() as usize).map(|o| o.owner);
            let signer = exit_tx.sigs.get(input).and_then(|s| s.recover(&digest));
            if owner.is_none() || signer != owner {
                return Some(Challenge::InvalidSpend { exit_id, exit_tx, input, creating });
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tx::{Output, Payment};
    use aqueduct_primitives::Signer;

    fn domain() -> Domain {
        Domain { chain_id: 31337, contract: Address::repeat_byte(0x99) }
    }

    fn signer(n: u8) -> Signer {
        Signer::from_bytes(&B256::repeat_byte(n)).unwrap()
    }

    fn pay(from: &Signer, input: Position, to: Address, amount: u64) -> SignedTx {
        Payment {
            inputs: vec![input],
            outputs: vec![Output { owner: to, token: Address::ZERO, amount: U256::from(amount) }],
        }
        .sign(&domain(), &[from])
    }

    fn root(txs: &[SignedTx]) -> B256 {
        BlockTree::new(txs.iter().map(SignedTx::leaf).collect()).root()
    }

    #[test]
    fn an_invalid_block_raises_the_alarm_and_the_theft_is_challenged() {
        let (a, b, m) = (signer(1), signer(2), signer(3));
        let mut w = WatchState::new(domain());
        w.on_deposit(1, a.address(), Address::ZERO, U256::from(100)).unwrap();
        w.on_deposit(2, b.address(), Address::ZERO, U256::from(50)).unwrap();
        let d1 = Position::new(1, 0, 0).unwrap();
        let good = vec![pay(&a, d1, b.address(), 100)];
        assert!(w.on_block(1000, root(&good), Some(good.clone())).is_none());
        // Block 2000 steals b's deposit with m's signature.
        let d2 = Position::new(2, 0, 0).unwrap();
        let theft = vec![pay(&m, d2, m.address(), 50)];
        let alarm = w.on_block(2000, root(&theft), Some(theft.clone())).cloned().unwrap();
        assert!(matches!(alarm, Alarm::Invalid { block: 2000, index: 0, .. }), "{alarm:?}");
        // b leaves with both of its outputs, from the last good state.
        let plans = w.exits_for(b.address());
        assert_eq!(plans.len(), 2);
        for p in &plans {
            assert!(crate::tree::verify_inclusion(
                p.creating.tx.leaf(),
                p.utxo.position.tx_index() as usize,
                if p.utxo.position.is_deposit() {
                    BlockTree::new(vec![p.creating.tx.leaf()]).root()
                } else {
                    root(&good)
                },
                &p.creating.proof
            ));
        }
        // m's exit of the stolen output is an invalid spend; a's exit of its spent deposit is a spend.
        let stolen = Position::new(2000, 0, 0).unwrap();
        match w.challenge_for(7, stolen).unwrap() {
            Challenge::InvalidSpend { exit_id: 7, input: 0, creating, .. } => assert_eq!(creating.position, d2),
            c => panic!("{c:?}"),
        }
        assert!(matches!(w.challenge_for(8, d1), Some(Challenge::Spent { exit_id: 8, input: 0, .. })));
        assert_eq!(w.challenge_for(9, Position::new(1000, 0, 0).unwrap()), None, "b's honest output");
    }

    #[test]
    fn payments_in_flight_leave_by_in_flight_exits_and_the_rest_by_standard_exits() {
        let (a, b) = (signer(1), signer(2));
        let mut w = WatchState::new(domain());
        w.on_deposit(1, a.address(), Address::ZERO, U256::from(100)).unwrap();
        w.on_deposit(2, a.address(), Address::ZERO, U256::from(7)).unwrap();
        let d1 = Position::new(1, 0, 0).unwrap();
        let sent = pay(&a, d1, b.address(), 100);
        w.track(sent.clone());
        assert!(w.on_block(1000, B256::repeat_byte(5), None).is_some(), "withheld");
        let ifes = w.in_flight_exits_for(a.address());
        assert_eq!(ifes.len(), 1);
        assert_eq!((ifes[0].own_inputs.clone(), ifes[0].own_outputs.clone()), (vec![0], vec![]));
        assert_eq!(ifes[0].inputs[0].position, d1);
        let exits = w.exits_for(a.address());
        assert_eq!(exits.len(), 1, "only the deposit the payment does not spend");
        assert_eq!(exits[0].utxo.position, Position::new(2, 0, 0).unwrap());
        assert_eq!(w.own_outputs(b.address(), &sent), vec![0], "b piggybacks its output");
        // Once a verified block holds a tracked payment, it is no longer in flight.
        let mut w = WatchState::new(domain());
        w.on_deposit(1, a.address(), Address::ZERO, U256::from(100)).unwrap();
        w.track(sent.clone());
        let block = vec![sent];
        w.on_block(1000, root(&block), Some(block.clone()));
        assert!(w.in_flight().is_empty());
        w.track(block[0].clone());
        assert!(w.in_flight().is_empty(), "a payment already included is not tracked again");
    }

    #[test]
    fn withheld_or_mismatching_data_raises_the_alarm() {
        let a = signer(1);
        let mut w = WatchState::new(domain());
        w.on_deposit(1, a.address(), Address::ZERO, U256::from(100)).unwrap();
        assert_eq!(w.on_block(1000, B256::repeat_byte(1), None), Some(&Alarm::Withheld { block: 1000 }));
        let mut w = WatchState::new(domain());
        let txs = vec![pay(&a, Position::new(1, 0, 0).unwrap(), a.address(), 1)];
        assert_eq!(w.on_block(1000, B256::repeat_byte(1), Some(txs)), Some(&Alarm::Withheld { block: 1000 }));
    }
}
