//! The block circuit against the native state transition: honest blocks of every operation kind
//! satisfy it and prove; invalid transactions (bad signature, overspend, wrong nonce, spending
//! from someone else's account) leave it unsatisfiable even when the witness is built for them;
//! a proof does not verify for any other public input.

use alloy_primitives::Address;
use aqueduct_zk_circuit::{CircuitParams, Prover, check_satisfied};
use aqueduct_zk_protocol::{
    Amount32, BlockWitness, F, Op, OpKind, SecretKey, TreeShape, UnsignedTx, ZkState, change_key, deposit, full_exit,
};

const SHAPE: TreeShape = TreeShape { account_levels: 2, balance_levels: 1 };
const DOMAIN: u64 = 7;
const SLOTS: usize = 4;

fn keys() -> (SecretKey, SecretKey) {
    (SecretKey::from_seed([1; 32]), SecretKey::from_seed([2; 32]))
}

fn funded() -> (ZkState, BlockWitness) {
    let (ka, kb) = keys();
    let mut s = ZkState::new(SHAPE, DOMAIN);
    let (a, b) = (Address::repeat_byte(0xa), Address::repeat_byte(0xb));
    let ops = [
        deposit(1, a, 0, 1_000),
        deposit(2, b, 1, 50),
        change_key(1, a, ka.public().hash()),
        change_key(2, b, kb.public().hash()),
    ];
    let (w, skipped) = s.apply_block(&ops, SLOTS);
    assert!(skipped.is_empty());
    (s, w)
}

fn tx(key: &SecretKey, kind: OpKind, from: u32, to: u32, token: u8, amount: u128, nonce: u32) -> Op {
    Op::Tx(UnsignedTx { kind, from, to, token, amount: Amount32::pack(amount).unwrap(), nonce }.sign(DOMAIN, key))
}

fn transfer_block() -> (ZkState, BlockWitness) {
    let (mut s, _) = funded();
    let (ka, _) = keys();
    let (w, skipped) = s.apply_block(&[tx(&ka, OpKind::Transfer, 1, 2, 0, 300, 0)], SLOTS);
    assert!(skipped.is_empty());
    (s, w)
}

/// Re-signs slot 0 of `w` with `key` for the slot's current fields.
fn resign(w: &mut BlockWitness, key: &SecretKey) {
    let s = &mut w.slots[0];
    let kind = OpKind::from_u8(s.chunk.kind).unwrap();
    let m = UnsignedTx {
        kind,
        from: s.chunk.a,
        to: s.chunk.b,
        token: s.chunk.token,
        amount: s.chunk.amount,
        nonce: s.nonce,
    }
    .message(DOMAIN);
    let sig = key.sign(m);
    s.sig_r = (sig.r.x, sig.r.y);
    s.sig_s = sig.s;
    s.pubkey = (key.public().0.x, key.public().0.y);
}

#[test]
fn honest_blocks_of_every_kind_satisfy_the_circuit() {
    let (mut s, w) = funded();
    check_satisfied(&w).unwrap();
    let (ka, kb) = keys();
    let ops = [
        tx(&ka, OpKind::Transfer, 1, 2, 0, 300, 0),
        tx(&kb, OpKind::Transfer, 2, 2, 1, 20, 0),
        tx(&kb, OpKind::Withdraw, 2, 2, 0, 100, 1),
        full_exit(1, Address::repeat_byte(0xa), 0),
    ];
    let (w, skipped) = s.apply_block(&ops, SLOTS);
    assert!(skipped.is_empty(), "{skipped:?}");
    assert_eq!(w.onchain.len(), 2);
    check_satisfied(&w).unwrap();
    // A full exit by someone else, a key change by someone else, no-ops.
    let (w, _) = s.apply_block(
        &[full_exit(2, Address::repeat_byte(0xa), 0), change_key(1, Address::repeat_byte(0xb), F::from(5u64))],
        SLOTS,
    );
    check_satisfied(&w).unwrap();
}

#[test]
fn invalid_transactions_leave_the_circuit_unsatisfiable() {
    let (_, honest) = transfer_block();
    check_satisfied(&honest).unwrap();
    let (ka, kb) = keys();

    let mut bad_sig = honest.clone();
    bad_sig.slots[0].sig_s += ark_ed_on_bn254::Fr::from(1u64);
    assert!(check_satisfied(&bad_sig).is_err(), "a bad signature");

    let mut wrong_nonce = honest.clone();
    wrong_nonce.slots[0].nonce = 1;
    resign(&mut wrong_nonce, &ka);
    assert!(check_satisfied(&wrong_nonce).is_err(), "a wrong nonce");

    let mut overspend = honest.clone();
    overspend.slots[0].chunk.amount = Amount32::pack(5_000).unwrap();
    overspend.slots[0].amount = 5_000;
    resign(&mut overspend, &ka);
    assert!(check_satisfied(&overspend).is_err(), "an overspend");

    let mut foreign = honest.clone();
    resign(&mut foreign, &kb);
    assert!(check_satisfied(&foreign).is_err(), "spending from someone else's account with one's own key");

    let mut minted = honest.clone();
    minted.slots[0].chunk.kind = OpKind::Deposit as u8;
    assert!(check_satisfied(&minted).is_err(), "a transfer relabelled as a deposit");
}

#[test]
fn a_proof_verifies_for_its_block_only() {
    let params = CircuitParams { shape: SHAPE, slots: SLOTS, domain: DOMAIN };
    let constraints = params.constraints();
    println!("{constraints} constraints for {SLOTS} slots ({} a slot)", constraints / SLOTS);
    let prover = Prover::setup(params).unwrap();
    let (_, w) = transfer_block();
    let proof = prover.prove(&w).unwrap();
    let input = w.commitment().public_input();
    assert!(prover.verify(input, &proof));
    assert!(!prover.verify(input + F::from(1u64), &proof));
    let (_, other) = funded();
    assert!(!prover.verify(other.commitment().public_input(), &proof));
    // An unprovable block is refused before proving.
    let mut bad = w.clone();
    bad.slots[0].sig_s += ark_ed_on_bn254::Fr::from(1u64);
    assert!(prover.prove(&bad).is_err());
}

#[test]
fn the_full_size_slot_stays_within_its_constraint_budget() {
    // 2²⁴ accounts, 16 tokens: the goal is ≤ 30,000 constraints a transfer.
    let one = CircuitParams { shape: TreeShape::FULL, slots: 1, domain: DOMAIN }.constraints();
    let two = CircuitParams { shape: TreeShape::FULL, slots: 2, domain: DOMAIN }.constraints();
    println!("full size: {} constraints a slot ({one} for one slot, {two} for two)", two - one);
    assert!(two - one <= 30_000);
}
