//! The engine directly: garbage input never panics it, and its state roots match a
//! from-scratch computation after storage churn, contract creation, self-destruct and unwinds.

mod common;

use std::collections::BTreeMap;

use alloy::{
    eips::eip2718::Encodable2718,
    primitives::{Address, B256, TxKind, U256, keccak256},
    signers::local::PrivateKeySigner,
};
use alloy_rlp::Encodable;
use alloy_trie::{HashBuilder, Nibbles};
use aqueduct_chain::{BlockRef, Chain};
use common::{open, tx};
use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Init code of a contract that, called with 64 bytes (slot, value), stores value at slot; called
/// with 1 byte, self-destructs to the caller.
fn store_contract() -> Vec<u8> {
    // runtime: if calldatasize == 1 { selfdestruct(caller) } else { sstore(calldataload(0), calldataload(32)) }
    let runtime: Vec<u8> = vec![
        0x36, 0x60, 0x01, 0x14, 0x60, 0x0e, 0x57, // CALLDATASIZE PUSH1 1 EQ PUSH1 0x0e JUMPI
        0x60, 0x20, 0x35, 0x60, 0x00, 0x35, 0x55, // PUSH1 32 CALLDATALOAD PUSH1 0 CALLDATALOAD SSTORE
        0x00, 0x5b, 0x33, 0xff, // STOP JUMPDEST CALLER SELFDESTRUCT
    ];
    // Fix the jump target: JUMPDEST is at offset 15.
    let mut runtime = runtime;
    runtime[5] = 0x0f;
    let mut init =
        vec![0x60, runtime.len() as u8, 0x60, 0x0c, 0x60, 0x00, 0x39, 0x60, runtime.len() as u8, 0x60, 0x00, 0xf3];
    init.extend(runtime);
    init
}

/// The state root computed from scratch from everything the chain says is in its state.
fn reference_root(chain: &Chain, addrs: &[Address]) -> B256 {
    chain
        .with_state(BlockRef::Latest, |s| {
            let mut leaves = BTreeMap::new();
            for a in addrs {
                if let Some(acc) = s.account(a).unwrap() {
                    let mut v = Vec::new();
                    acc.encode(&mut v);
                    leaves.insert(keccak256(a), v);
                }
            }
            let mut hb = HashBuilder::default();
            for (k, v) in leaves {
                hb.add_leaf(Nibbles::unpack(k), &v);
            }
            hb.root()
        })
        .unwrap()
}

#[test]
fn roots_match_reference_through_storage_churn_selfdestruct_and_unwind() {
    let dir = tempfile::tempdir().unwrap();
    let signers: Vec<PrivateKeySigner> = (0..3).map(|_| PrivateKeySigner::random()).collect();
    let addrs: Vec<Address> = signers.iter().map(|s| s.address()).collect();
    let chain = open(dir.path(), &addrs);
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let mut nonces = [0u64; 3];
    let mut contracts = Vec::new();
    let mut all = addrs.clone();
    all.push(Address::repeat_byte(0xbe));
    let mut roots = vec![chain.head().header.state_root];
    for block in 0..12 {
        for _ in 0..6 {
            let i = rng.random_range(0..3);
            let s = &signers[i];
            let t = if contracts.is_empty() || rng.random_bool(0.15) {
                contracts.push(addrs[i].create(nonces[i]));
                all.push(*contracts.last().unwrap());
                tx(s, nonces[i], TxKind::Create, store_contract(), 0, 500_000)
            } else if rng.random_bool(0.1) {
                let c = contracts[rng.random_range(0..contracts.len())];
                tx(s, nonces[i], TxKind::Call(c), vec![1], 0, 500_000)
            } else {
                let c = contracts[rng.random_range(0..contracts.len())];
                let mut data = [0u8; 64];
                data[31] = rng.random_range(0..4);
                // Zero values delete slots.
                data[63] = if rng.random_bool(0.3) { 0 } else { rng.random() };
                tx(s, nonces[i], TxKind::Call(c), data.to_vec(), rng.random_range(0..3), 500_000)
            };
            nonces[i] += 1;
            chain.send_raw(&t.encoded_2718()).unwrap();
        }
        let b = chain.mine().unwrap();
        assert_eq!(b.txs.len(), 6, "block {block}");
        assert_eq!(b.header.state_root, reference_root(&chain, &all), "block {block}");
        roots.push(b.header.state_root);
    }
    // Storage roots committed in accounts match each contract's slots, recomputed from scratch.
    chain
        .with_state(BlockRef::Latest, |s| {
            let mut with_storage = 0;
            for c in &contracts {
                let Some(acc) = s.account(c).unwrap() else { continue };
                let mut hb = HashBuilder::default();
                let mut slots = BTreeMap::new();
                for k in 0..4u64 {
                    let v = s.storage(c, &U256::from(k)).unwrap();
                    if !v.is_zero() {
                        let mut enc = Vec::new();
                        v.encode(&mut enc);
                        slots.insert(keccak256(U256::from(k).to_be_bytes::<32>()), enc);
                    }
                }
                for (k, v) in slots {
                    hb.add_leaf(Nibbles::unpack(k), &v);
                }
                assert_eq!(acc.storage_root, hb.root(), "storage root of {c}");
                if acc.storage_root != aqueduct_trie::EMPTY_ROOT {
                    with_storage += 1;
                }
            }
            assert!(
                with_storage >= 2,
                "the workload must leave storage behind, got {with_storage} contracts with storage"
            );
        })
        .unwrap();
    // Unwind 5 blocks: the root and the flat state are the older ones again.
    let head = chain.head().number();
    chain.unwind_to(head - 5).unwrap();
    assert_eq!(chain.head().header.state_root, roots[(head - 5) as usize]);
    assert_eq!(reference_root(&chain, &all), roots[(head - 5) as usize]);
    // Reopening from disk gives the same state.
    drop(chain);
    let chain = open(dir.path(), &addrs);
    assert_eq!(chain.head().number(), head - 5);
    assert_eq!(reference_root(&chain, &all), roots[(head - 5) as usize]);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    #[test]
    fn garbage_raw_transactions_are_refused_without_panicking(bytes in proptest::collection::vec(any::<u8>(), 0..400), ty in 0u8..5) {
        let dir = tempfile::tempdir().unwrap();
        let chain = open(dir.path(), &[]);
        let mut raw = bytes;
        if ty > 0 { raw.insert(0, ty); }
        prop_assert!(chain.send_raw(&raw).is_err());
    }
}

/// Issue 23, item 8: every state's trie nodes stayed in memory, a few KB per block even on an
/// idle chain, and all of them were loaded again at start. Only recent states' nodes stay in
/// memory; older states read through the store: proofs, reads and witnesses of old blocks, a
/// reopen, and an unwind deeper than the window all still work.
#[test]
fn old_trie_nodes_leave_memory_and_old_states_stay_readable() {
    use aqueduct_chain::{NODE_PRUNE_INTERVAL, RECENT_STATES_IN_MEMORY};
    let dir = tempfile::tempdir().unwrap();
    let signer = PrivateKeySigner::random();
    let chain = open(dir.path(), &[signer.address()]);
    let contract = signer.address().create(0);
    // roots[n]: block n's state root.
    let mut roots = vec![chain.head().header.state_root];
    chain.send_raw(&tx(&signer, 0, TxKind::Create, store_contract(), 0, 500_000).encoded_2718()).unwrap();
    roots.push(chain.mine().unwrap().header.state_root);
    let all = [signer.address(), contract, Address::repeat_byte(0xbe)];
    // One slot rewritten a block, as an L2's system deposit does on an otherwise idle chain.
    let blocks = NODE_PRUNE_INTERVAL + 100;
    let mut before_prune = 0;
    for n in 1..blocks {
        assert_eq!(roots.len() as u64, n + 1);
        let mut data = [0u8; 64];
        data[31] = (n % 3) as u8;
        data[32..40].copy_from_slice(&n.to_be_bytes());
        chain.send_raw(&tx(&signer, n, TxKind::Call(contract), data.to_vec(), 1, 100_000).encoded_2718()).unwrap();
        let b = chain.mine().unwrap();
        roots.push(b.header.state_root);
        if b.number() == NODE_PRUNE_INTERVAL - 1 {
            before_prune = chain.nodes_in_memory();
        }
    }
    let after = chain.nodes_in_memory();
    assert!(before_prune > 3_000, "the workload makes nodes: {before_prune}");
    assert!(after * 2 < before_prune, "old nodes left memory: {after} kept of {before_prune}");
    assert_eq!(chain.head().header.state_root, reference_root(&chain, &all));

    // Old states through the store: a read, a proof, a witness.
    let old = 5u64;
    let slot_of = |n: u64| U256::from(n % 3);
    let value_at = |n: u64| chain.with_state(BlockRef::Number(n), |s| s.storage(&contract, &slot_of(4)).unwrap());
    assert_eq!(value_at(old).unwrap(), U256::from(4u64) << 192, "block 4's write, read at block {old}");
    let proof = chain.proof(contract, &[B256::from(slot_of(4))], BlockRef::Number(old)).unwrap();
    assert_eq!(proof.storage[0].1, U256::from(4u64) << 192);
    chain.witness(old + 1).unwrap();

    // Reopened: only recent nodes are loaded into memory, and old states still read.
    let head = chain.head().number();
    drop(chain);
    let chain = open(dir.path(), &[signer.address()]);
    assert!(
        chain.nodes_in_memory() <= after + 2 * RECENT_STATES_IN_MEMORY as usize * 16,
        "{}",
        chain.nodes_in_memory()
    );
    assert_eq!(
        chain.with_state(BlockRef::Number(old), |s| s.storage(&contract, &slot_of(4)).unwrap()).unwrap(),
        U256::from(4u64) << 192
    );

    // An unwind deeper than the window, then a new block on the old state.
    let to = head - RECENT_STATES_IN_MEMORY - 44;
    chain.unwind_to(to).unwrap();
    assert_eq!(chain.head().header.state_root, roots[to as usize]);
    assert_eq!(reference_root(&chain, &all), roots[to as usize], "flat state after the unwind");
    chain.send_raw(&tx(&signer, to + 1, TxKind::Call(contract), vec![0; 64], 0, 100_000).encoded_2718()).unwrap();
    chain.mine().unwrap();
    assert_eq!(chain.head().header.state_root, reference_root(&chain, &all));
}
