//! D4: re-executing a block from its pre-state root and a witness gives exactly what the chain
//! computed with its whole state — on seeded random blocks with contract creation, storage writes
//! and deletions, self-destruct, reverts and BLOCKHASH — and a witness with a node missing or
//! forged is refused with an error.

mod common;

use alloy::{
    primitives::{Address, B256, TxKind, U256},
    signers::local::PrivateKeySigner,
};
use aqueduct_chain::{
    BlockAttributes, BlockRef, Chain, ChainTx, StatelessError, StepBlock, Witness, build_stateless, execute_stateless,
};
use common::{open, rules};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn tx(s: &PrivateKeySigner, nonce: u64, to: TxKind, input: Vec<u8>, value: u64, gas: u64) -> ChainTx {
    ChainTx::new(common::tx(s, nonce, to, input, value, gas), s.address())
}

/// Init code of a contract that stores calldata[32..64] at slot calldata[0..32] when called with
/// 64 bytes and reverts otherwise.
fn store_contract() -> Vec<u8> {
    let runtime: Vec<u8> = vec![
        0x36, 0x60, 0x40, 0x14, 0x60, 0x0c, 0x57, // CALLDATASIZE PUSH1 64 EQ PUSH1 12 JUMPI
        0x60, 0x00, 0x60, 0x00, 0xfd, // REVERT(0, 0)
        0x5b, 0x60, 0x20, 0x35, 0x60, 0x00, 0x35, 0x55, 0x00, // JUMPDEST; SSTORE(cd[0], cd[32]); STOP
    ];
    let mut init =
        vec![0x60, runtime.len() as u8, 0x60, 0x0c, 0x60, 0x00, 0x39, 0x60, runtime.len() as u8, 0x60, 0x00, 0xf3];
    init.extend(runtime);
    init
}

/// Writes a slot, then self-destructs during its own creation (EIP-6780: really deleted).
const BORN_AND_GONE: [u8; 7] = [0x60, 0x01, 0x60, 0x00, 0x55, 0x33, 0xff];
/// Stores BLOCKHASH(number - 1) at slot 5 during creation.
const BLOCKHASH_WRITER: [u8; 10] = [0x43, 0x60, 0x01, 0x90, 0x03, 0x40, 0x60, 0x05, 0x55, 0x00];

fn call(slot: u64, value: u64) -> Vec<u8> {
    [U256::from(slot).to_be_bytes::<32>(), U256::from(value).to_be_bytes::<32>()].concat()
}

fn random_chain(seed: u64, dir: &std::path::Path) -> std::sync::Arc<Chain> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let signers: Vec<PrivateKeySigner> = (0..4)
        .map(|_| {
            let key: [u8; 32] = rng.random();
            PrivateKeySigner::from_slice(&key).unwrap()
        })
        .collect();
    let chain = open(dir, &signers.iter().map(|s| s.address()).collect::<Vec<_>>());
    let mut nonces = [0u64; 4];
    let mut next = |i: usize| {
        nonces[i] += 1;
        nonces[i] - 1
    };
    let store = signers[0].address().create(0);
    let first = vec![
        tx(&signers[0], next(0), TxKind::Create, store_contract(), 0, 300_000),
        tx(&signers[1], next(1), TxKind::Create, BLOCKHASH_WRITER.to_vec(), 0, 100_000),
    ];
    chain.build_block(BlockAttributes { transactions: first, ..Default::default() }).unwrap();
    for _ in 0..6 {
        let mut txs = Vec::new();
        for _ in 0..rng.random_range(3..10) {
            let i = rng.random_range(0..4);
            let s = &signers[i];
            let t = match rng.random_range(0..6) {
                0 => tx(
                    s,
                    next(i),
                    TxKind::Call(Address::from(rng.random::<[u8; 20]>())),
                    vec![],
                    rng.random_range(1..1000),
                    21_000,
                ),
                1 | 2 => {
                    // Values of zero delete the slot.
                    let v = if rng.random_bool(0.3) { 0 } else { rng.random_range(1..1_000_000) };
                    tx(s, next(i), TxKind::Call(store), call(rng.random_range(0..8), v), 0, 100_000)
                }
                3 => tx(s, next(i), TxKind::Call(store), vec![1, 2, 3], 0, 100_000), // reverts
                4 => tx(s, next(i), TxKind::Create, BORN_AND_GONE.to_vec(), 7, 100_000),
                _ => tx(s, next(i), TxKind::Create, BLOCKHASH_WRITER.to_vec(), 0, 100_000),
            };
            txs.push(t);
        }
        let b = chain.build_block(BlockAttributes { transactions: txs.clone(), ..Default::default() }).unwrap();
        assert_eq!(b.txs.len(), txs.len(), "every generated transaction is valid");
    }
    chain
}

#[test]
fn stateless_execution_equals_the_chain_on_random_blocks() {
    for seed in 0..8 {
        let dir = tempfile::tempdir().unwrap();
        let chain = random_chain(seed, dir.path());
        let head = chain.head().number();
        for n in 1..=head {
            let block = chain.block(BlockRef::Number(n)).unwrap();
            let (witness, input, pre_root) = chain.witness(n).unwrap();
            assert_eq!(pre_root, chain.block(BlockRef::Number(n - 1)).unwrap().header.state_root);
            let out = execute_stateless(&rules(), pre_root, &witness, input).unwrap();
            assert_eq!(out.post_root, block.header.state_root, "seed {seed} block {n}");
            assert_eq!(out.gas_used, block.header.gas_used, "seed {seed} block {n}");
            let statuses: Vec<(bool, u64)> =
                out.receipts.iter().map(|r| (r.status(), r.cumulative_gas_used())).collect();
            let expected: Vec<(bool, u64)> =
                block.receipts.iter().map(|r| (r.status(), r.cumulative_gas_used())).collect();
            assert_eq!(statuses, expected, "seed {seed} block {n}");
            assert!(witness.size() > 0);
        }
        let reverted =
            (1..=head).flat_map(|n| chain.block(BlockRef::Number(n)).unwrap().receipts.clone()).any(|r| !r.status());
        assert!(reverted, "seed {seed}: the blocks include reverts");
    }
}

/// Step by step (one transaction at a time, as a fault proof's last move re-executes them), the
/// roots chain from the parent's state root to the block's, and each step re-executes statelessly
/// from its encoded block and witness — what the L1 precompile receives.
#[test]
fn every_step_of_random_blocks_re_executes_from_its_proof() {
    for seed in 0..4 {
        let dir = tempfile::tempdir().unwrap();
        let chain = random_chain(seed, dir.path());
        for n in 1..=chain.head().number() {
            let block = chain.block(BlockRef::Number(n)).unwrap();
            let roots = chain.step_roots(n).unwrap();
            assert_eq!(roots.len(), block.txs.len() + 1);
            assert_eq!(roots[0], chain.block(BlockRef::Number(n - 1)).unwrap().header.state_root);
            assert_eq!(*roots.last().unwrap(), block.header.state_root);
            for k in 0..block.txs.len() as u64 {
                let proof = chain.step_proof(n, k).unwrap();
                assert_eq!((proof.pre_root, proof.post_root), (roots[k as usize], roots[k as usize + 1]));
                let decoded = StepBlock::decode(&proof.block.encode()).unwrap();
                let witness = Witness::decode(&proof.witness.encode()).unwrap();
                assert_eq!(witness, proof.witness);
                let out = decoded.execute_step(&rules(), proof.pre_root, &witness, k).unwrap();
                assert_eq!(out.post_root, proof.post_root, "seed {seed} block {n} step {k}");
                assert_eq!(out.block_hash, block.hash);
                assert_eq!(out.steps, block.txs.len() as u64);
            }
            assert!(chain.step_proof(n, block.txs.len() as u64).is_err());
        }
    }
}

/// A lying node's roots (the attack suite's): rewriting a balance with the value it already has
/// goes through the real trie update and leaves every root as it is; a real change moves every
/// root from the chosen one on and none before; the block's changed post-state root agrees.
#[test]
fn changed_step_roots_are_real_trie_updates() {
    let dir = tempfile::tempdir().unwrap();
    let chain = random_chain(7, dir.path());
    let n = (1..=chain.head().number()).max_by_key(|n| chain.block(BlockRef::Number(*n)).unwrap().txs.len()).unwrap();
    let roots = chain.step_roots(n).unwrap();
    assert!(roots.len() >= 3, "block {n} has {} steps", roots.len() - 1);
    let who = chain.block(BlockRef::Number(n)).unwrap().txs[0].sender;
    let set_balance = |extra: u64| {
        move |state: &dyn aqueduct_chain::StateView| {
            let mut acc = state.account(&who)?.expect("the sender exists");
            acc.balance += U256::from(extra);
            let mut diff = aqueduct_chain::StateDiff::default();
            diff.accounts.insert(who, Some(acc));
            Ok(diff)
        }
    };
    assert_eq!(chain.step_roots_changed(n, 0, set_balance(0)).unwrap(), roots);
    let from = roots.len() / 2;
    let changed = chain.step_roots_changed(n, from, set_balance(1)).unwrap();
    for (k, (a, b)) in roots.iter().zip(&changed).enumerate() {
        assert_eq!(a == b, k < from, "root {k} of {}, changed from {from}", roots.len());
    }
    assert_eq!(chain.state_root_changed(n, set_balance(1)).unwrap(), *changed.last().unwrap());
    assert_eq!(chain.state_root_changed(n, set_balance(0)).unwrap(), *roots.last().unwrap());
}

/// A block whose transactions do not match its header, or bytes that are no block or witness,
/// are refused by name.
#[test]
fn a_step_over_a_doctored_block_or_garbage_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let chain = random_chain(7, dir.path());
    let proof = chain.step_proof(2, 0).unwrap();
    let mut doctored = proof.block.clone();
    doctored.txs.pop();
    assert!(matches!(StepBlock::decode(&doctored.encode()), Err(StatelessError::Block(_))));
    assert!(matches!(StepBlock::decode(&[0xc0]), Err(StatelessError::Malformed(_))));
    assert!(matches!(StepBlock::decode(&[0xff, 0x00]), Err(StatelessError::Malformed(_))));
    assert!(matches!(Witness::decode(&[0x12, 0x34]), Err(StatelessError::Malformed(_))));
    let mut trailing = proof.witness.encode();
    trailing.push(0);
    assert!(matches!(Witness::decode(&trailing), Err(StatelessError::Malformed(_))));
    let step_count = proof.block.txs.len() as u64;
    assert!(matches!(
        proof.block.execute_step(&rules(), proof.pre_root, &proof.witness, step_count),
        Err(StatelessError::Block(_))
    ));
    // A step from the wrong pre-state root finds nothing in the witness.
    assert!(proof.block.execute_step(&rules(), proof.post_root, &proof.witness, 0).is_err());
}

#[test]
fn an_incomplete_or_forged_witness_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let chain = random_chain(99, dir.path());
    let (witness, input, pre_root) = chain.witness(3).unwrap();

    // A node missing: the run stops with the node's hash.
    let mut missing = witness.clone();
    let gone = *missing.nodes.keys().next().unwrap();
    missing.nodes.remove(&gone);
    match execute_stateless(&rules(), pre_root, &missing, input.clone()) {
        Err(StatelessError::Chain(_)) | Err(StatelessError::Trie(_)) => {}
        other => panic!("expected a missing-node error, got {other:?}"),
    }

    // A node's bytes swapped for others under the same hash.
    let mut forged = witness.clone();
    let key = *forged.nodes.keys().next().unwrap();
    forged.nodes.get_mut(&key).unwrap().push(0);
    assert!(
        matches!(execute_stateless(&rules(), pre_root, &forged, input.clone()), Err(StatelessError::BadWitness(h)) if h == key)
    );

    // The wrong pre-state root: nothing under it is in the witness.
    assert!(execute_stateless(&rules(), B256::repeat_byte(1), &witness, input.clone()).is_err());

    // The right witness still works.
    let out = execute_stateless(&rules(), pre_root, &witness, input).unwrap();
    assert_eq!(out.post_root, chain.block(BlockRef::Number(3)).unwrap().header.state_root);
}

/// A block rebuilt from its parent header and its attributes over a witness alone (what an L1
/// derivation proof runs) is the very block the chain built: same header, same transactions, an
/// invalid transaction in the attributes skipped the same way. Attributes that differ give
/// another block, and a witness with a node missing is an error.
#[test]
fn blocks_rebuilt_statelessly_from_their_attributes_are_the_chains() {
    let dir = tempfile::tempdir().unwrap();
    let chain = random_chain(3, dir.path());
    let stranger = PrivateKeySigner::from_slice(&[7u8; 32]).unwrap();
    for n in 1..=chain.head().number() {
        let block = chain.block(BlockRef::Number(n)).unwrap();
        let parent = chain.block(BlockRef::Number(n - 1)).unwrap();
        let mut txs = block.txs.clone();
        // Unfunded: skipped by every builder.
        txs.insert(txs.len() / 2, tx(&stranger, 0, TxKind::Call(Address::ZERO), vec![], 1, 21_000));
        let attrs =
            BlockAttributes { timestamp: Some(block.header.timestamp), transactions: txs, ..Default::default() };
        let (witness, rebuilt, _) = chain.rebuild_witness(n, &attrs).unwrap();
        assert_eq!(rebuilt, block.header, "block {n}");
        let beneficiary = chain.config().beneficiary;
        let (header, included) = build_stateless(&rules(), &parent.header, beneficiary, &witness, &attrs).unwrap();
        assert_eq!(header, block.header, "block {n}");
        assert_eq!(
            included.iter().map(|t| t.hash).collect::<Vec<_>>(),
            block.txs.iter().map(|t| t.hash).collect::<Vec<_>>()
        );

        let mut fewer = attrs.clone();
        fewer.transactions.remove(0);
        let (w, _, _) = chain.rebuild_witness(n, &fewer).unwrap();
        let (other, _) = build_stateless(&rules(), &parent.header, beneficiary, &w, &fewer).unwrap();
        assert_ne!(other.hash_slow(), block.hash, "block {n} without its first transaction");

        let mut missing = witness.clone();
        let key = *missing.nodes.keys().next().unwrap();
        missing.nodes.remove(&key);
        assert!(build_stateless(&rules(), &parent.header, beneficiary, &missing, &attrs).is_err(), "block {n}");
    }
}
