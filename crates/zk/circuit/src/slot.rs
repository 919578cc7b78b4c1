//! One slot of a block: the same constraints for every operation kind, switched by one-hot kind
//! flags. Account `a` is updated first (debits, nonce, key), then account `b` (credits, owner) over
//! the root `a`'s update left.

use aqueduct_zk_protocol::{F, OpKind, SlotWitness, TreeShape};
use ark_ff::{AdditiveGroup, BigInteger, Field, PrimeField};
use ark_r1cs_std::{fields::fp::FpVar, prelude::*};
use ark_relations::gr1cs::{ConstraintSystemRef, SynthesisError};

use crate::{
    bits::{boolean, from_bits, to_bits, to_bits_be, witness},
    curve::PointVar,
    path::PathVar,
    poseidon::{hash2, hash4},
    sha256::{Bit, constant_bit},
};

/// Bits of a balance: every balance stays below 2¹²⁸.
pub const BALANCE_BITS: usize = 128;

pub struct SlotOut {
    pub root: FpVar<F>,
    /// The slot's 12-byte pubdata chunk, most significant bit first.
    pub chunk: Vec<Bit>,
    /// The slot's on-chain record (`RECORD_BYTES`, zero unless the slot holds an operation L1
    /// acts on), for the slots that may hold one.
    pub record: Option<Vec<Bit>>,
}

/// `bits` (least significant first, at most `n`) as `n` bits, most significant first.
fn be(bits: &[Boolean<F>], n: usize) -> Vec<Bit> {
    assert!(bits.len() <= n, "{} bits do not fit {n}", bits.len());
    let mut out: Vec<Bit> = (bits.len()..n).map(|_| constant_bit(false)).collect();
    out.extend(bits.iter().rev().map(boolean));
    out
}

/// A byte whose low three bits are `k2 k1 k0`.
fn kind_byte(k2: FpVar<F>, k1: FpVar<F>, k0: FpVar<F>) -> Vec<Bit> {
    let mut out: Vec<Bit> = (0..5).map(|_| constant_bit(false)).collect();
    out.extend([k2, k1, k0]);
    out
}

fn pow2(n: u32) -> FpVar<F> {
    FpVar::constant(F::from(2u64).pow([n as u64]))
}

/// `flag · x = 0` (one constraint).
fn zero_when(flag: &FpVar<F>, x: &FpVar<F>) -> Result<(), SynthesisError> {
    flag.mul_equals(x, &FpVar::zero())
}

struct AccountVars {
    nonce: FpVar<F>,
    pubkey_hash: FpVar<F>,
    address: FpVar<F>,
    balance: FpVar<F>,
    balance_path: PathVar,
    account_path: PathVar,
}

impl AccountVars {
    fn new(cs: &ConstraintSystemRef<F>, w: &aqueduct_zk_protocol::AccountWitness) -> Result<Self, SynthesisError> {
        Ok(Self {
            nonce: witness(cs, F::from(w.nonce as u64))?,
            pubkey_hash: witness(cs, w.pubkey_hash)?,
            address: witness(cs, w.address)?,
            balance: witness(cs, F::from(w.balance))?,
            balance_path: PathVar::new(cs, &w.balance_path)?,
            account_path: PathVar::new(cs, &w.account_path)?,
        })
    }

    /// Proves the account against `root` and returns the root with the new fields.
    fn update(
        &self,
        root: &FpVar<F>,
        index_bits: &[Boolean<F>],
        token_bits: &[Boolean<F>],
        new: (&FpVar<F>, &FpVar<F>, &FpVar<F>, &FpVar<F>),
    ) -> Result<FpVar<F>, SynthesisError> {
        let (nonce, pubkey_hash, address, balance) = new;
        let (bal_old, bal_new) = self.balance_path.roots(token_bits, &self.balance, balance)?;
        let leaf_old = hash4(&self.nonce, &self.pubkey_hash, &self.address, &bal_old)?;
        let leaf_new = hash4(nonce, pubkey_hash, address, &bal_new)?;
        let (old, new) = self.account_path.roots(index_bits, &leaf_old, &leaf_new)?;
        old.enforce_equal(root)?;
        Ok(new)
    }
}

pub fn slot(
    cs: &ConstraintSystemRef<F>,
    w: &SlotWitness,
    shape: TreeShape,
    domain: u64,
    root: &FpVar<F>,
    onchain_capable: bool,
) -> Result<SlotOut, SynthesisError> {
    // Kind: one-hot flags.
    let kinds =
        [OpKind::Noop, OpKind::Deposit, OpKind::Transfer, OpKind::Withdraw, OpKind::FullExit, OpKind::ChangeKey];
    let flags = kinds
        .iter()
        .map(|k| Boolean::new_witness(cs.clone(), || Ok(w.chunk.kind == *k as u8)))
        .collect::<Result<Vec<_>, _>>()?;
    let f: Vec<FpVar<F>> = flags.iter().map(boolean).collect();
    f.iter().fold(FpVar::zero(), |acc, x| acc + x).enforce_equal(&FpVar::one())?;
    let [f_noop, f_dep, f_tr, f_wd, f_fe, f_ck] = [&f[0], &f[1], &f[2], &f[3], &f[4], &f[5]];
    let kind = kinds.iter().zip(&f).fold(FpVar::zero(), |acc, (k, x)| acc + x * FpVar::constant(F::from(*k as u64)));

    // Chunk fields, each range-checked by its bits.
    let a_bits = to_bits(&witness(cs, F::from(w.chunk.a))?, shape.account_bits())?;
    let b_bits = to_bits(&witness(cs, F::from(w.chunk.b))?, shape.account_bits())?;
    let token_bits = to_bits(&witness(cs, F::from(w.chunk.token))?, 2 * shape.balance_levels)?;
    let amount_bits = to_bits(&witness(cs, F::from(w.chunk.amount))?, 32)?;
    let nonce_bits = to_bits(&witness(cs, F::from(w.nonce))?, 32)?;
    let (a, b, token, amount32, nonce_tx) = (
        from_bits(&a_bits),
        from_bits(&b_bits),
        from_bits(&token_bits),
        from_bits(&amount_bits),
        from_bits(&nonce_bits),
    );

    // The packed amount: mantissa · 10^exponent.
    let mantissa = from_bits(&amount_bits[..27]);
    let mut pow10 = FpVar::one();
    for (i, e) in amount_bits[27..].iter().enumerate() {
        let factor = F::from(10u64).pow([1u64 << i]) - F::ONE;
        pow10 = if i == 0 {
            FpVar::one() + boolean(e) * FpVar::constant(factor)
        } else {
            pow10 * (FpVar::one() + boolean(e) * FpVar::constant(factor))
        };
    }
    let amount_tx = mantissa * pow10;

    let amount = witness(cs, F::from(w.amount))?;
    let value = witness(cs, w.value)?;
    let address = witness(cs, w.address)?;
    let acc_a = AccountVars::new(cs, &w.a)?;
    let acc_b = AccountVars::new(cs, &w.b)?;

    let signed = f_tr + f_wd;
    let owner = boolean(&acc_a.address.is_eq(&address)?);
    // What moves, by kind.
    zero_when(&signed, &(&amount - &amount_tx))?;
    zero_when(f_dep, &(&amount - &value))?;
    let owned_balance = &owner * &acc_a.balance;
    zero_when(f_fe, &(&amount - owned_balance))?;
    zero_when(&(f_noop + f_ck), &amount)?;
    zero_when(&(f_fe + f_wd), &(&value - &amount))?;
    zero_when(f_wd, &(&address - &acc_a.address))?;
    zero_when(&(FpVar::one() - f_tr), &(&b - &a))?;

    // Account a: debit, nonce, key.
    zero_when(&signed, &(&nonce_tx - &acc_a.nonce))?;
    let nonce_a = &acc_a.nonce + &signed;
    let debit = (&signed + f_fe) * &amount;
    let bal_a = &acc_a.balance - debit;
    to_bits(&bal_a, BALANCE_BITS)?;
    let rekey = f_ck * &owner;
    let pkh_a = &acc_a.pubkey_hash + rekey * (&value - &acc_a.pubkey_hash);
    let mid = acc_a.update(root, &a_bits, &token_bits, (&nonce_a, &pkh_a, &acc_a.address, &bal_a))?;

    // Account b: credit, owner.
    let credit = (f_tr + f_dep) * &amount;
    let bal_b = &acc_b.balance + credit;
    to_bits(&bal_b, BALANCE_BITS)?;
    let taken = &acc_b.address * (&acc_b.address - &address);
    zero_when(f_dep, &taken)?;
    let addr_b = &acc_b.address + f_dep * (&address - &acc_b.address);
    let inv = FpVar::new_witness(cs.clone(), || Ok(acc_b.address.value()?.inverse().unwrap_or(F::ZERO)))?;
    zero_when(f_tr, &(&acc_b.address * inv - FpVar::one()))?;
    let out = acc_b.update(&mid, &b_bits, &token_bits, (&acc_b.nonce, &acc_b.pubkey_hash, &addr_b, &bal_b))?;

    // The signature, enforced for signed kinds.
    let key = PointVar::witness(cs, w.pubkey.0, w.pubkey.1)?;
    key.enforce_on_curve()?;
    zero_when(&signed, &(hash2(&key.x, &key.y)? - &acc_a.pubkey_hash))?;
    let r = PointVar::witness(cs, w.sig_r.0, w.sig_r.1)?;
    r.enforce_on_curve()?;
    let m = &kind
        + &a * pow2(8)
        + &b * pow2(32)
        + &token * pow2(56)
        + &amount32 * pow2(64)
        + &nonce_tx * pow2(96)
        + FpVar::constant(F::from(domain)) * pow2(128);
    let c = hash4(&r.x, &r.y, &acc_a.pubkey_hash, &m)?;
    let c_bits = to_bits(&c, 254)?;
    let s = witness(cs, F::from_le_bytes_mod_order(&w.sig_s.into_bigint().to_bytes_le()))?;
    let s_bits = to_bits(&s, 251)?;
    let lhs = PointVar::mul_generator(&s_bits)?;
    let rhs = r.add(&key.mul_bits(&c_bits)?)?;
    zero_when(&signed, &(&lhs.x - &rhs.x))?;
    zero_when(&signed, &(&lhs.y - &rhs.y))?;

    // The pubdata chunk: kind ‖ a (3) ‖ b (3) ‖ token ‖ amount (4), big-endian. The kind's bits
    // are sums of exclusive flags (kinds 1, 3, 5 / 2, 3 / 4, 5).
    let mut chunk = kind_byte(f_fe + f_ck, f_tr + f_wd, f_dep + f_wd + f_ck);
    chunk.extend(be(&a_bits, 24));
    chunk.extend(be(&b_bits, 24));
    chunk.extend(be(&token_bits, 8));
    chunk.extend(be(&amount_bits, 32));

    // The on-chain record: kind ‖ account (3) ‖ token ‖ address (20) ‖ value (32), all zero
    // unless the slot holds an operation L1 acts on; only the first slots may hold one.
    let is_onchain = f_dep + f_wd + f_fe + f_ck;
    let record = if onchain_capable {
        let off = FpVar::one() - &is_onchain;
        zero_when(&off, &address)?;
        zero_when(&off, &value)?;
        let mut r = kind_byte(f_fe + f_ck, f_wd.clone(), f_dep + f_wd + f_ck);
        for bit in be(&a_bits, 24).into_iter().chain(be(&token_bits, 8)) {
            r.push(bit * &is_onchain);
        }
        r.extend(to_bits_be(&address, 160)?);
        r.extend(to_bits_be(&value, 256)?);
        Some(r)
    } else {
        is_onchain.enforce_equal(&FpVar::zero())?;
        None
    };
    Ok(SlotOut { root: out, chunk, record })
}
