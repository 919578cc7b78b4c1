//! The incremental trie against alloy-trie's from-scratch HashBuilder.

use std::collections::BTreeMap;

use alloy_primitives::{B256, keccak256};
use alloy_trie::{HashBuilder, Nibbles as ANibbles};
use aqueduct_trie::{EMPTY_ROOT, MemoryNodes, ProofNodes, RecordingStore, get, prove, update, verify_proof};
use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn reference_root(map: &BTreeMap<B256, Vec<u8>>) -> B256 {
    let mut hb = HashBuilder::default();
    for (k, v) in map {
        hb.add_leaf(ANibbles::unpack(k), v);
    }
    hb.root()
}

fn apply(store: &mut MemoryNodes, root: B256, changes: Vec<(Vec<u8>, Option<Vec<u8>>)>) -> B256 {
    let up = update(&*store, root, changes).unwrap();
    store.extend(up.nodes);
    up.root
}

#[test]
fn empty_trie_has_the_empty_root() {
    let store = MemoryNodes::new();
    assert_eq!(update(&store, EMPTY_ROOT, vec![]).unwrap().root, EMPTY_ROOT);
    assert_eq!(reference_root(&BTreeMap::new()), EMPTY_ROOT);
}

#[test]
fn random_batches_match_reference_and_prove() {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let mut store = MemoryNodes::new();
    let mut root = EMPTY_ROOT;
    let mut model = BTreeMap::new();
    let mut keys: Vec<B256> = Vec::new();
    for round in 0..60 {
        let mut changes = Vec::new();
        for _ in 0..rng.random_range(1..40) {
            let reuse = !keys.is_empty() && rng.random_bool(0.5);
            let key = if reuse { keys[rng.random_range(0..keys.len())] } else { keccak256(rng.random::<[u8; 8]>()) };
            if !reuse {
                keys.push(key);
            }
            // Short values produce inline nodes deep down; long ones hashed nodes.
            let value = if rng.random_bool(0.25) {
                None
            } else {
                let len = if rng.random_bool(0.5) { rng.random_range(1..4) } else { rng.random_range(20..90) };
                Some((0..len).map(|_| rng.random_range(1..=255u8)).collect::<Vec<u8>>())
            };
            match &value {
                Some(v) => model.insert(key, v.clone()),
                None => model.remove(&key),
            };
            changes.push((key.to_vec(), value));
        }
        root = apply(&mut store, root, changes);
        assert_eq!(root, reference_root(&model), "round {round}");
    }
    for key in keys.iter().take(200) {
        let (value, proof) = prove(&store, root, key.as_slice()).unwrap();
        assert_eq!(value.as_ref(), model.get(key));
        assert_eq!(verify_proof(root, key.as_slice(), proof).unwrap(), value);
        assert_eq!(get(&store, root, key.as_slice()).unwrap(), value);
    }
}

#[test]
fn update_from_witness_alone_gives_the_same_root() {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let mut store = MemoryNodes::new();
    let keys: Vec<B256> = (0..2000u32).map(|i| keccak256(i.to_be_bytes())).collect();
    let root = apply(&mut store, EMPTY_ROOT, keys.iter().map(|k| (k.to_vec(), Some(vec![7u8; 40]))).collect());
    for _ in 0..20 {
        let changes: Vec<_> = (0..10)
            .map(|_| {
                let k = keys[rng.random_range(0..keys.len())];
                let v = if rng.random_bool(0.5) { None } else { Some(vec![rng.random_range(1..=255u8); 33]) };
                (k.to_vec(), v)
            })
            .collect();
        let recorder = RecordingStore::new(&store);
        let full = update(&recorder, root, changes.clone()).unwrap();
        let mut witness = ProofNodes::new();
        witness.extend(recorder.into_witness().into_values());
        let stateless = update(&witness, root, changes).unwrap();
        assert_eq!(full.root, stateless.root);
        assert!(witness.len() < 200, "witness must be proportional to the change, got {}", witness.len());
    }
}

#[test]
fn missing_node_is_an_error_not_a_wrong_root() {
    let mut store = MemoryNodes::new();
    let root = apply(
        &mut store,
        EMPTY_ROOT,
        (0..100u32).map(|i| (keccak256(i.to_be_bytes()).to_vec(), Some(vec![1u8; 40]))).collect(),
    );
    let empty = ProofNodes::new();
    let err = update(&empty, root, vec![(keccak256([1u8]).to_vec(), Some(vec![2u8]))]).unwrap_err();
    assert!(matches!(err, aqueduct_trie::TrieError::MissingNode(h) if h == root));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn any_sequence_matches_reference(ops in proptest::collection::vec((0u8..64, proptest::option::of(proptest::collection::vec(1u8..=255, 1..50))), 1..120), split in 1usize..10) {
        let mut store = MemoryNodes::new();
        let mut root = EMPTY_ROOT;
        let mut model = BTreeMap::new();
        for chunk in ops.chunks(split) {
            let mut changes = Vec::new();
            for (k, v) in chunk {
                let key = keccak256([*k]);
                match v { Some(v) => model.insert(key, v.clone()), None => model.remove(&key) };
                changes.push((key.to_vec(), v.clone()));
            }
            root = apply(&mut store, root, changes);
            prop_assert_eq!(root, reference_root(&model));
        }
    }
}
