//! The rollup state (accounts and their tree) and the state transition: applying an operation
//! checks it as the circuit will and records the slot's witness.

use std::collections::BTreeMap;

use alloy_primitives::Address;
use ark_ec::{AffineRepr, PrimeGroup};
use ark_ed_on_bn254::{EdwardsAffine, EdwardsProjective, Fr as Scalar};
use ark_ff::AdditiveGroup;

use crate::{
    F,
    account::{Account, TreeShape, address_to_field, empty_leaf},
    commitment::BlockCommitment,
    eddsa::{PublicKey, Signature},
    op::{Amount32, Chunk, OnchainOp, Op, OpKind, PriorityOp, SignedTx, field_to_u128, pubdata, tx_message},
    tree::{MerklePath, QuadTree},
};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpError {
    #[error("account {0} is outside the tree")]
    AccountOutOfRange(u32),
    #[error("token {0} is outside the balance tree")]
    TokenOutOfRange(u8),
    #[error("account {0} does not exist")]
    NoSuchAccount(u32),
    #[error("account {0} has no L2 key yet (set one with a change-key request on L1)")]
    NoKey(u32),
    #[error("the public key does not match account {0}'s key")]
    WrongKey(u32),
    #[error("bad signature")]
    BadSignature,
    #[error("nonce {got} does not match account nonce {expected}")]
    Nonce { expected: u32, got: u32 },
    #[error("balance {balance} is below {amount}")]
    Insufficient { balance: u128, amount: u128 },
    #[error("the balance would overflow 2^128")]
    Overflow,
    #[error("packed amount {0:#x} stands for no amount below 2^128")]
    BadAmount(u32),
    #[error("{0}")]
    Malformed(String),
    #[error("account {account} belongs to {owner}, not {address}")]
    WrongOwner { account: u32, owner: Address, address: Address },
    #[error("the operation kind does not fit: {0:?}")]
    WrongKind(OpKind),
    #[error("an operation L1 acts on must take one of a block's first {onchain_slots} slots")]
    NoOnchainSlot { onchain_slots: usize },
}

/// One account as the circuit sees it before a slot touches it, with both its proofs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountWitness {
    pub nonce: u32,
    pub pubkey_hash: F,
    pub address: F,
    /// The balance of the slot's token.
    pub balance: u128,
    pub balance_path: MerklePath,
    pub account_path: MerklePath,
}

/// Everything the circuit needs for one slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotWitness {
    pub chunk: Chunk,
    /// What the slot moves: the unpacked amount (transfer, withdrawal), the deposit, the exit.
    pub amount: u128,
    pub nonce: u32,
    /// The on-chain record's address and value (zero where the slot has none).
    pub address: F,
    pub value: F,
    /// The signer's key and signature (the generator and zero where the slot is unsigned).
    pub pubkey: (F, F),
    pub sig_r: (F, F),
    pub sig_s: Scalar,
    /// Account `a` against the root before the slot; account `b` against the root after `a`.
    pub a: AccountWitness,
    pub b: AccountWitness,
}

/// A block ready to prove.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockWitness {
    pub shape: TreeShape,
    pub domain: u64,
    pub old_root: F,
    pub new_root: F,
    pub slots: Vec<SlotWitness>,
    pub onchain: Vec<OnchainOp>,
    /// Slots (the first ones) that may hold an on-chain operation; each has a record in the
    /// commitment.
    pub onchain_slots: usize,
    /// The point its blob lane is proven at (zero: its pubdata is not in a blob).
    pub blob_z: crate::BlobFr,
}

impl BlockWitness {
    pub fn chunks(&self) -> Vec<Chunk> {
        self.slots.iter().map(|s| s.chunk).collect()
    }

    pub fn commitment(&self) -> BlockCommitment {
        BlockCommitment::in_blob(
            self.old_root,
            self.new_root,
            &pubdata(&self.chunks()),
            &self.onchain,
            self.onchain_slots,
            self.blob_z,
        )
    }
}

/// The rollup's accounts and their tree.
#[derive(Debug, Clone)]
pub struct ZkState {
    shape: TreeShape,
    domain: u64,
    tree: QuadTree,
    accounts: BTreeMap<u32, Account>,
}

impl ZkState {
    pub fn new(shape: TreeShape, domain: u64) -> Self {
        Self { shape, domain, tree: QuadTree::new(shape.account_levels, empty_leaf(shape)), accounts: BTreeMap::new() }
    }

    pub fn shape(&self) -> TreeShape {
        self.shape
    }

    pub fn domain(&self) -> u64 {
        self.domain
    }

    pub fn root(&self) -> F {
        self.tree.root()
    }

    pub fn account(&self, index: u32) -> Option<&Account> {
        self.accounts.get(&index)
    }

    pub fn accounts(&self) -> &BTreeMap<u32, Account> {
        &self.accounts
    }

    pub fn index_of(&self, address: Address) -> Option<u32> {
        self.accounts.iter().find(|(_, a)| a.address == address).map(|(i, _)| *i)
    }

    pub fn account_path(&self, index: u32) -> MerklePath {
        self.tree.path(index as u64)
    }

    pub fn tree_mut(&mut self) -> &mut QuadTree {
        &mut self.tree
    }

    /// Puts an account back as it was stored (reopening a persisted state); the tree must be
    /// loaded with the matching nodes.
    pub fn load_account(&mut self, index: u32, account: Account) {
        self.accounts.insert(index, account);
    }

    /// Applies a block: each operation in order, a failing one skipped (and returned with its
    /// error), then no-ops up to `slots`. Returns the witness and the skipped operations.
    /// An operation L1 acts on may take only one of the first `onchain_slots` slots: one that
    /// would come later is skipped (the operator orders blocks so that none does).
    pub fn apply_block(
        &mut self,
        ops: &[Op],
        slots: usize,
        onchain_slots: usize,
    ) -> (BlockWitness, Vec<(usize, OpError)>) {
        let old_root = self.root();
        let mut out = Vec::with_capacity(slots);
        let mut onchain = Vec::new();
        let mut skipped = Vec::new();
        for (i, op) in ops.iter().enumerate() {
            if out.len() == slots {
                break;
            }
            if op.is_onchain() && out.len() >= onchain_slots {
                skipped.push((i, OpError::NoOnchainSlot { onchain_slots }));
                continue;
            }
            match self.apply(op) {
                Ok((w, rec)) => {
                    let slot = out.len() as u16;
                    out.push(w);
                    onchain.extend(rec.map(|r| OnchainOp { slot, ..r }));
                }
                Err(e) => skipped.push((i, e)),
            }
        }
        while out.len() < slots {
            out.push(self.apply(&Op::Noop).expect("a no-op always applies").0);
        }
        let w = BlockWitness {
            shape: self.shape,
            domain: self.domain,
            old_root,
            new_root: self.root(),
            slots: out,
            onchain,
            onchain_slots,
            blob_z: <crate::BlobFr as ark_ff::Zero>::zero(),
        };
        (w, skipped)
    }

    /// Checks an operation against the current state without changing it.
    pub fn check(&self, op: &Op) -> Result<(), OpError> {
        self.plan(op).map(|_| ())
    }

    /// Applies one operation, all or nothing.
    pub fn apply(&mut self, op: &Op) -> Result<(SlotWitness, Option<OnchainOp>), OpError> {
        let plan = self.plan(op)?;
        let Plan { chunk, amount, nonce, address, value, pubkey, sig, a, b, a_after, b_after, onchain } = plan;
        let a_w = self.witness(a, chunk.token);
        self.put(a, a_after);
        let b_w = self.witness(b, chunk.token);
        let b_after = match b_after {
            // `b` is `a` again (a slot touching one account): its update starts from `a`'s result.
            Some(f) => f(self.accounts.get(&b).cloned().unwrap_or_default()),
            None => self.accounts.get(&b).cloned().unwrap_or_default(),
        };
        self.put(b, b_after);
        let slot = SlotWitness {
            chunk,
            amount,
            nonce,
            address,
            value,
            pubkey: (pubkey.x, pubkey.y),
            sig_r: (sig.r.x, sig.r.y),
            sig_s: sig.s,
            a: a_w,
            b: b_w,
        };
        Ok((slot, onchain))
    }

    fn witness(&self, index: u32, token: u8) -> AccountWitness {
        let acc = self.accounts.get(&index).cloned().unwrap_or_default();
        AccountWitness {
            nonce: acc.nonce,
            pubkey_hash: acc.pubkey_hash,
            address: address_to_field(acc.address),
            balance: acc.balance(token),
            balance_path: acc.balance_path(self.shape, token),
            account_path: self.tree.path(index as u64),
        }
    }

    pub(crate) fn put(&mut self, index: u32, acc: Account) {
        let leaf = acc.leaf(self.shape);
        if acc == Account::default() {
            self.accounts.remove(&index);
        } else {
            self.accounts.insert(index, acc);
        }
        self.tree.set(index as u64, leaf);
    }

    pub(crate) fn get(&self, index: u32) -> Result<Account, OpError> {
        if index as u64 >= self.shape.max_accounts() {
            return Err(OpError::AccountOutOfRange(index));
        }
        Ok(self.accounts.get(&index).cloned().unwrap_or_default())
    }

    fn plan(&self, op: &Op) -> Result<Plan, OpError> {
        let dummy_key = PublicKey(EdwardsProjective::generator().into());
        let dummy_sig = Signature { r: EdwardsAffine::generator(), s: Scalar::ZERO };
        let unsigned = |chunk: Chunk, amount, address, value, a, a_after, b_after, onchain| Plan {
            chunk,
            amount,
            nonce: 0,
            address,
            value,
            pubkey: dummy_key.0,
            sig: dummy_sig,
            a,
            b: a,
            a_after,
            b_after,
            onchain,
        };
        match op {
            Op::Noop => {
                let acc = self.get(0)?;
                Ok(unsigned(Chunk::default(), 0, F::ZERO, F::ZERO, 0, acc, None, None))
            }
            Op::Priority(p) => {
                let acc = self.get(p.account)?;
                if p.token as u64 >= self.shape.max_tokens() {
                    return Err(OpError::TokenOutOfRange(p.token));
                }
                let chunk = Chunk { kind: p.kind as u8, a: p.account, b: p.account, token: p.token, amount: 0 };
                let addr = address_to_field(p.address);
                let record = |value| {
                    Some(OnchainOp {
                        kind: p.kind,
                        account: p.account,
                        token: p.token,
                        address: p.address,
                        value,
                        slot: 0,
                    })
                };
                match p.kind {
                    OpKind::Deposit => {
                        let amount = field_to_u128(p.value).ok_or(OpError::Overflow)?;
                        if acc.address != Address::ZERO && acc.address != p.address {
                            return Err(OpError::WrongOwner {
                                account: p.account,
                                owner: acc.address,
                                address: p.address,
                            });
                        }
                        acc.balance(p.token).checked_add(amount).ok_or(OpError::Overflow)?;
                        let (token, to) = (p.token, p.address);
                        let credit = move |mut b: Account| {
                            b.address = to;
                            *b.balances.entry(token).or_default() += amount;
                            b
                        };
                        Ok(unsigned(
                            chunk,
                            amount,
                            addr,
                            p.value,
                            p.account,
                            acc,
                            Some(Box::new(credit)),
                            record(p.value),
                        ))
                    }
                    OpKind::FullExit => {
                        // As the circuit: the address matches (L1 queues requests only from a nonzero sender).
                        let owner = acc.address == p.address;
                        let amount = if owner { acc.balance(p.token) } else { 0 };
                        let mut after = acc.clone();
                        if owner {
                            after.balances.remove(&p.token);
                        }
                        Ok(unsigned(
                            chunk,
                            amount,
                            addr,
                            F::from(amount),
                            p.account,
                            after,
                            None,
                            record(F::from(amount)),
                        ))
                    }
                    OpKind::ChangeKey => {
                        let chunk = Chunk { token: 0, ..chunk };
                        // As the circuit: the address matches (L1 queues requests only from a nonzero sender).
                        let owner = acc.address == p.address;
                        let mut after = acc.clone();
                        if owner {
                            after.pubkey_hash = p.value;
                        }
                        let rec = Some(OnchainOp { token: 0, ..record(p.value).expect("some") });
                        Ok(unsigned(chunk, 0, addr, p.value, p.account, after, None, rec))
                    }
                    k => Err(OpError::WrongKind(k)),
                }
            }
            Op::Tx(tx) => self.plan_tx(tx),
        }
    }

    /// Checks who signed `tx`: the sender exists, has this key, and the signature is good. Nonce
    /// and balance are not checked (they depend on the transactions before it).
    pub fn authorize(&self, tx: &SignedTx) -> Result<(PublicKey, Signature), OpError> {
        if !tx.kind.is_signed() {
            return Err(OpError::WrongKind(tx.kind));
        }
        let from = self.get(tx.from)?;
        self.get(tx.to)?;
        if tx.token as u64 >= self.shape.max_tokens() {
            return Err(OpError::TokenOutOfRange(tx.token));
        }
        if from.address == Address::ZERO {
            return Err(OpError::NoSuchAccount(tx.from));
        }
        if from.pubkey_hash == F::ZERO {
            return Err(OpError::NoKey(tx.from));
        }
        let key = PublicKey::from_bytes(&tx.pubkey.0).map_err(OpError::Malformed)?;
        if key.hash() != from.pubkey_hash {
            return Err(OpError::WrongKey(tx.from));
        }
        let sig = Signature::from_bytes(&tx.signature).map_err(OpError::Malformed)?;
        let m = tx_message(self.domain, tx.kind, tx.from, tx.to, tx.token, tx.amount, tx.nonce);
        if !key.verify(m, &sig) {
            return Err(OpError::BadSignature);
        }
        Ok((key, sig))
    }

    fn plan_tx(&self, tx: &SignedTx) -> Result<Plan, OpError> {
        let (key, sig) = self.authorize(tx)?;
        let from = self.get(tx.from)?;
        let to = self.get(tx.to)?;
        if tx.nonce != from.nonce {
            return Err(OpError::Nonce { expected: from.nonce, got: tx.nonce });
        }
        let amount = Amount32::unpack(tx.amount).ok_or(OpError::BadAmount(tx.amount))?;
        let balance = from.balance(tx.token);
        if balance < amount {
            return Err(OpError::Insufficient { balance, amount });
        }
        let mut after = from.clone();
        after.nonce = after.nonce.checked_add(1).ok_or(OpError::Overflow)?;
        *after.balances.entry(tx.token).or_default() -= amount;
        let token = tx.token;
        let (b_after, onchain, address, value, b): (Option<Credit>, _, _, _, _) = match tx.kind {
            OpKind::Transfer => {
                if to.address == Address::ZERO {
                    return Err(OpError::NoSuchAccount(tx.to));
                }
                let to_balance = if tx.to == tx.from { balance - amount } else { to.balance(token) };
                to_balance.checked_add(amount).ok_or(OpError::Overflow)?;
                let credit = move |mut b: Account| {
                    *b.balances.entry(token).or_default() += amount;
                    b
                };
                (Some(Box::new(credit)), None, F::ZERO, F::ZERO, tx.to)
            }
            _ => {
                if tx.to != tx.from {
                    return Err(OpError::Malformed("a withdrawal names its own account twice".into()));
                }
                let rec = OnchainOp {
                    kind: OpKind::Withdraw,
                    account: tx.from,
                    token,
                    address: from.address,
                    value: F::from(amount),
                    slot: 0,
                };
                (None, Some(rec), address_to_field(from.address), F::from(amount), tx.from)
            }
        };
        Ok(Plan {
            chunk: Chunk { kind: tx.kind as u8, a: tx.from, b, token, amount: tx.amount },
            amount,
            nonce: tx.nonce,
            address,
            value,
            pubkey: key.0,
            sig,
            a: tx.from,
            b,
            a_after: after,
            b_after,
            onchain,
        })
    }
}

type Credit = Box<dyn FnOnce(Account) -> Account>;

struct Plan {
    chunk: Chunk,
    amount: u128,
    nonce: u32,
    address: F,
    value: F,
    pubkey: EdwardsAffine,
    sig: Signature,
    a: u32,
    b: u32,
    a_after: Account,
    b_after: Option<Credit>,
    onchain: Option<OnchainOp>,
}

/// A transaction before signing (what wallets fill in).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnsignedTx {
    pub kind: OpKind,
    pub from: u32,
    pub to: u32,
    pub token: u8,
    /// Packed (`Amount32`).
    pub amount: u32,
    pub nonce: u32,
}

impl UnsignedTx {
    pub fn message(&self, domain: u64) -> F {
        tx_message(domain, self.kind, self.from, self.to, self.token, self.amount, self.nonce)
    }

    pub fn sign(self, domain: u64, key: &crate::eddsa::SecretKey) -> SignedTx {
        SignedTx {
            kind: self.kind,
            from: self.from,
            to: self.to,
            token: self.token,
            amount: self.amount,
            nonce: self.nonce,
            pubkey: crate::eddsa::PubkeyBytes(key.public().to_bytes().to_vec()),
            signature: key.sign(self.message(domain)).to_bytes(),
        }
    }
}

/// A deposit request as L1 queues it.
pub fn deposit(account: u32, address: Address, token: u8, amount: u128) -> Op {
    Op::Priority(PriorityOp { kind: OpKind::Deposit, account, address, token, value: F::from(amount) })
}

/// A change-key request as L1 queues it.
pub fn change_key(account: u32, address: Address, pubkey_hash: F) -> Op {
    Op::Priority(PriorityOp { kind: OpKind::ChangeKey, account, address, token: 0, value: pubkey_hash })
}

/// A full-exit request as L1 queues it.
pub fn full_exit(account: u32, address: Address, token: u8) -> Op {
    Op::Priority(PriorityOp { kind: OpKind::FullExit, account, address, token, value: F::ZERO })
}

impl PartialEq for ZkState {
    fn eq(&self, other: &Self) -> bool {
        self.root() == other.root() && self.accounts == other.accounts
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eddsa::SecretKey;

    #[allow(clippy::too_many_arguments)]
    fn sign_tx(
        domain: u64,
        key: &SecretKey,
        kind: OpKind,
        from: u32,
        to: u32,
        token: u8,
        amount: u32,
        nonce: u32,
    ) -> SignedTx {
        UnsignedTx { kind, from, to, token, amount, nonce }.sign(domain, key)
    }

    const SHAPE: TreeShape = TreeShape { account_levels: 2, balance_levels: 1 };
    const DOMAIN: u64 = 99;

    fn funded() -> (ZkState, SecretKey, SecretKey) {
        let mut s = ZkState::new(SHAPE, DOMAIN);
        let (ka, kb) = (SecretKey::from_seed([1; 32]), SecretKey::from_seed([2; 32]));
        let (a, b) = (Address::repeat_byte(0xa), Address::repeat_byte(0xb));
        let ops = [
            deposit(1, a, 0, 1_000),
            deposit(2, b, 0, 50),
            change_key(1, a, ka.public().hash()),
            change_key(2, b, kb.public().hash()),
        ];
        let (w, skipped) = s.apply_block(&ops, 4, 4);
        assert!(skipped.is_empty(), "{skipped:?}");
        assert_eq!(w.onchain.len(), 4);
        assert_eq!(w.new_root, s.root());
        (s, ka, kb)
    }

    #[test]
    fn transfers_withdrawals_and_exits_move_exact_balances() {
        let (mut s, ka, kb) = funded();
        let t = sign_tx(DOMAIN, &ka, OpKind::Transfer, 1, 2, 0, 300, 0);
        let w = sign_tx(DOMAIN, &kb, OpKind::Withdraw, 2, 2, 0, 100, 0);
        let (block, skipped) = s.apply_block(&[Op::Tx(t), Op::Tx(w), full_exit(1, Address::repeat_byte(0xa), 0)], 4, 4);
        assert!(skipped.is_empty(), "{skipped:?}");
        assert_eq!(s.account(1).unwrap().balance(0), 0);
        assert_eq!(s.account(1).unwrap().nonce, 1);
        assert_eq!(s.account(2).unwrap().balance(0), 250);
        let paid: Vec<_> = block.onchain.iter().map(|o| (o.kind, field_to_u128(o.value).unwrap())).collect();
        assert_eq!(paid, vec![(OpKind::Withdraw, 100), (OpKind::FullExit, 700)]);
        assert_eq!(block.slots[3].chunk, Chunk::default());
        // The first slot's proof holds against the block's old root (the circuit checks the rest).
        let a = &block.slots[0].a;
        let bal_root = a.balance_path.root_of(F::from(a.balance), 0);
        let leaf = crate::account::leaf(a.nonce, a.pubkey_hash, a.address, bal_root);
        assert_eq!(a.account_path.root_of(leaf, 1), block.old_root);
    }

    #[test]
    fn bad_operations_are_refused_and_change_nothing() {
        let (mut s, ka, kb) = funded();
        let root = s.root();
        let cases = [
            (sign_tx(DOMAIN, &kb, OpKind::Transfer, 1, 2, 0, 1, 0), OpError::WrongKey(1)),
            (sign_tx(DOMAIN, &ka, OpKind::Transfer, 1, 2, 0, 1, 5), OpError::Nonce { expected: 0, got: 5 }),
            (
                sign_tx(DOMAIN, &ka, OpKind::Transfer, 1, 2, 0, 5_000, 0),
                OpError::Insufficient { balance: 1_000, amount: 5_000 },
            ),
            (sign_tx(DOMAIN, &ka, OpKind::Transfer, 1, 3, 0, 1, 0), OpError::NoSuchAccount(3)),
            (sign_tx(DOMAIN + 1, &ka, OpKind::Transfer, 1, 2, 0, 1, 0), OpError::BadSignature),
            (sign_tx(DOMAIN, &ka, OpKind::Transfer, 1, 99, 0, 1, 0), OpError::AccountOutOfRange(99)),
        ];
        for (tx, err) in cases {
            assert_eq!(s.check(&Op::Tx(tx.clone())), Err(err.clone()));
            assert_eq!(s.apply(&Op::Tx(tx)).unwrap_err(), err);
            assert_eq!(s.root(), root);
        }
        // A full exit asked by someone else pays nothing and changes nothing.
        let (w, _) = s.apply(&full_exit(1, Address::repeat_byte(0xb), 0)).unwrap();
        assert_eq!(w.amount, 0);
        assert_eq!(s.account(1).unwrap().balance(0), 1_000);
        assert!(matches!(s.apply(&deposit(1, Address::repeat_byte(0xc), 0, 1)), Err(OpError::WrongOwner { .. })));
    }
}
