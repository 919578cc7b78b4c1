//! The EXECUTE precompile, called through the embedded L1's EVM as a contract would: every step
//! of real L2 blocks (deposits, contract creation, transfers, storage writes) re-executes to the
//! root the L2 chain computed, and bad input (to `executeStep` and to `deriveBlock`) reverts with
//! the interface's custom errors.

use alloy::{
    consensus::{SignableTransaction, TxEip1559, TxEnvelope},
    network::TxSignerSync,
    primitives::{Address, B256, Bytes, TxKind, U256},
    signers::local::PrivateKeySigner,
    sol_types::{SolCall, SolError},
};
use aqueduct_chain::Witness;
use aqueduct_chain::{
    BlockAttributes, BlockRef, CallArgs, Chain, ChainConfig, ChainTx, DepositTx, Genesis, GenesisAccount, L2Rules,
    MiningMode,
};
use aqueduct_l1::{Devnet, L1Config};
use aqueduct_rollup_protocol::evidence::{DeriveEvidence, derive_rules};
use aqueduct_rollup_protocol::{EXECUTE_ADDRESS, IExecute, decode_step_return, encode_rules, execute_precompile};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use revm::context::result::ExecutionResult;

const L2_CHAIN: u64 = 901;

fn l2_rules() -> L2Rules {
    L2Rules {
        l1_fee_vault: Address::repeat_byte(0x1a),
        compression_ppm: 600_000,
        min_l1_bytes: 40,
        base_fee_scalar: 1_000_000,
        blob_base_fee_scalar: 0,
    }
}

fn tx(s: &PrivateKeySigner, nonce: u64, to: TxKind, input: Vec<u8>, value: u64) -> ChainTx {
    let mut t = TxEip1559 {
        chain_id: L2_CHAIN,
        nonce,
        gas_limit: 200_000,
        max_fee_per_gas: 10_000_000_000,
        max_priority_fee_per_gas: 1,
        to,
        value: U256::from(value),
        input: input.into(),
        access_list: Default::default(),
    };
    let sig = s.sign_transaction_sync(&mut t).unwrap();
    ChainTx::new(TxEnvelope::from(t.into_signed(sig)), s.address())
}

/// Stores CALLVALUE at slot NUMBER when called.
const STORE_VALUE: [u8; 16] =
    [0x60, 0x05, 0x60, 0x0b, 0x60, 0x00, 0x39, 0x60, 0x05, 0x60, 0x00, 0xf3, 0x34, 0x43, 0x55, 0x00];

fn l2_chain(dir: &std::path::Path, user: &PrivateKeySigner) -> std::sync::Arc<Chain> {
    let mut rules = aqueduct_rollup_protocol::l2_execution_rules(L2_CHAIN, 30_000_000, l2_rules());
    rules.mining = MiningMode::Manual;
    let genesis = Genesis {
        alloc: [(user.address(), GenesisAccount { balance: U256::from(10u128.pow(21)), ..Default::default() })].into(),
        ..Default::default()
    };
    let chain = Chain::open(ChainConfig {
        rules,
        genesis,
        data_dir: dir.to_path_buf(),
        beneficiary: Address::repeat_byte(0xfe),
        safe_depth: 0,
        finalized_depth: 0,
    })
    .unwrap();
    let deposit = |i: u8, to: TxKind, mint: u128| DepositTx {
        source_hash: B256::repeat_byte(i),
        from: Address::repeat_byte(0xd0),
        to,
        mint,
        value: U256::ZERO,
        gas_limit: 100_000,
        is_system_transaction: false,
        input: Bytes::new(),
    };
    let store = user.address().create(0);
    chain
        .build_block(BlockAttributes {
            deposits: vec![deposit(1, TxKind::Call(user.address()), 0)],
            transactions: vec![tx(user, 0, TxKind::Create, STORE_VALUE.to_vec(), 0)],
            ..Default::default()
        })
        .unwrap();
    let first = chain.head();
    assert_eq!(first.txs.len(), 2, "both steps of block 1 are valid");
    chain
        .build_block(BlockAttributes {
            deposits: vec![deposit(2, TxKind::Call(store), 0)],
            transactions: vec![
                tx(user, 1, TxKind::Call(store), vec![], 77),
                tx(user, 2, TxKind::Call(Address::repeat_byte(9)), vec![], 1_000),
            ],
            ..Default::default()
        })
        .unwrap();
    assert_eq!(chain.head().txs.len(), 3, "every step of block 2 is valid");
    chain
}

fn call(devnet: &Devnet, data: Vec<u8>) -> ExecutionResult {
    devnet.chain.call(&CallArgs::simple(EXECUTE_ADDRESS, data.into()), BlockRef::Latest).unwrap()
}

fn step_call(rules: &Bytes, pre: B256, k: u64, block: Vec<u8>, witness: Vec<u8>) -> Vec<u8> {
    IExecute::executeStepCall {
        rules: rules.clone(),
        preRoot: pre,
        step: U256::from(k),
        blockData: block.into(),
        witness: witness.into(),
    }
    .abi_encode()
}

#[tokio::test]
async fn steps_of_l2_blocks_re_execute_on_l1_and_bad_input_reverts_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let user = PrivateKeySigner::from_slice(&[7; 32]).unwrap();
    let l2 = l2_chain(&dir.path().join("l2"), &user);
    let l1_config =
        L1Config { extra_precompiles: vec![execute_precompile()], ..L1Config::instant(&dir.path().join("l1")) };
    let devnet = Devnet::start(l1_config, true).await.unwrap();
    let rules = encode_rules(L2_CHAIN, 30_000_000, &l2_rules());

    for n in 1..=2 {
        let block = l2.block(BlockRef::Number(n)).unwrap();
        for k in 0..block.txs.len() as u64 {
            let p = l2.step_proof(n, k).unwrap();
            let out = call(&devnet, step_call(&rules, p.pre_root, k, p.block.encode(), p.witness.encode()));
            let ExecutionResult::Success { output, gas, .. } = out else { panic!("block {n} step {k}: {out:?}") };
            let (post, hash, steps) = decode_step_return(output.data()).unwrap();
            assert_eq!(post, p.post_root, "block {n} step {k}");
            assert_eq!(hash, block.hash);
            assert_eq!(steps, U256::from(block.txs.len()));
            assert!(gas.tx_gas_used() > 50_000);
        }
    }

    let p = l2.step_proof(2, 1).unwrap();
    let revert_of = |out: ExecutionResult| match out {
        ExecutionResult::Revert { output, .. } => output,
        other => panic!("expected a revert, got {other:?}"),
    };
    // Garbage in any field is MalformedInput.
    let out = revert_of(call(&devnet, vec![1, 2, 3, 4, 5]));
    assert!(IExecute::MalformedInput::abi_decode(&out).is_ok());
    let out = revert_of(call(&devnet, step_call(&rules, p.pre_root, 1, vec![0xc1, 0x80], p.witness.encode())));
    assert!(IExecute::MalformedInput::abi_decode(&out).unwrap().reason.contains("block"));
    // A witness with a node left out is BadWitness.
    let mut thin = p.witness.clone();
    let gone = *thin.nodes.keys().next().unwrap();
    thin.nodes.remove(&gone);
    let out = revert_of(call(&devnet, step_call(&rules, p.pre_root, 1, p.block.encode(), thin.encode())));
    assert!(IExecute::BadWitness::abi_decode(&out).is_ok() || IExecute::BadBlock::abi_decode(&out).is_ok(), "{out}");
    // A block whose transactions were swapped is BadBlock; so is a step past its end.
    let mut doctored = p.block.clone();
    doctored.txs.swap(1, 2);
    let out = revert_of(call(&devnet, step_call(&rules, p.pre_root, 1, doctored.encode(), p.witness.encode())));
    assert!(IExecute::BadBlock::abi_decode(&out).is_ok());
    let out = revert_of(call(&devnet, step_call(&rules, p.pre_root, 9, p.block.encode(), p.witness.encode())));
    assert!(IExecute::BadBlock::abi_decode(&out).is_ok());

    // Mutation fuzzing (seeded): bit flips, truncation and splices of a valid call never panic
    // or halt the L1; they succeed or revert.
    let valid = step_call(&rules, p.pre_root, 1, p.block.encode(), p.witness.encode());
    mutations_succeed_or_revert(&devnet, valid, 8079);

    // deriveBlock: evidence that does not decide the block, or does not check out, is
    // BadEvidence by name; garbage is MalformedInput; mutations never panic.
    let parent = l2.block(BlockRef::Number(1)).unwrap().header.clone();
    let mut l1_headers: Vec<alloy::consensus::Header> = Vec::new();
    for n in 0..=5u64 {
        let parent_hash = l1_headers.last().map(|h| h.hash_slow()).unwrap_or_default();
        l1_headers.push(alloy::consensus::Header { number: n, parent_hash, ..Default::default() });
    }
    let derive_call = |anchor_hash: B256, headers: &[alloy::consensus::Header], parent: Vec<u8>| {
        let empty = IExecute::Records { from: U256::ZERO, to: U256::ZERO, total: U256::ZERO, records: vec![] };
        let evidence = DeriveEvidence {
            headers: headers.iter().map(|h| alloy::rlp::encode(h).into()).collect(),
            ..Default::default()
        };
        let cfg = aqueduct_rollup_protocol::RollupConfig {
            l2_chain_id: L2_CHAIN,
            block_time_ms: 1000,
            seq_window: 4,
            channel_timeout: 4,
            max_channel_bytes: 1 << 20,
            portal: Address::ZERO,
            inbox: Address::ZERO,
            oracle: Address::ZERO,
            dispute_game: Address::ZERO,
            batcher: Address::ZERO,
            l1_genesis: Default::default(),
            l2_genesis_time: 0,
            compression_ppm: 0,
            base_fee_scalar: 0,
            blob_base_fee_scalar: 0,
        };
        IExecute::deriveBlockCall {
            rules: rules.clone(),
            deriveRules: alloy::sol_types::SolValue::abi_encode(&derive_rules(&cfg, Address::ZERO)).into(),
            input: IExecute::DeriveInput {
                parentHeader: parent.into(),
                anchor: headers.last().map(|h| h.number).unwrap_or_default(),
                anchorHash: anchor_hash,
                batches: empty.clone(),
                forced: empty.clone(),
                deposits: empty,
                evidence: evidence.encode().into(),
                witness: Witness::default().encode().into(),
            },
        }
        .abi_encode()
    };
    let parent_rlp = alloy::rlp::encode(&parent);
    // L1 blocks 1..=4 carry nothing, and a batch could still land: undecided.
    let undecided = derive_call(l1_headers[4].hash_slow(), &l1_headers[..5], parent_rlp.clone());
    let out = revert_of(call(&devnet, undecided.clone()));
    let reason = IExecute::BadEvidence::abi_decode(&out).unwrap().reason;
    assert!(reason.contains("does not decide"), "{reason}");
    // Block 5 closes the window: a default block, which an empty witness cannot build.
    let out = revert_of(call(&devnet, derive_call(l1_headers[5].hash_slow(), &l1_headers, parent_rlp.clone())));
    assert!(IExecute::BadWitness::abi_decode(&out).is_ok() || IExecute::BadBlock::abi_decode(&out).is_ok(), "{out}");
    let out = revert_of(call(&devnet, derive_call(B256::repeat_byte(1), &l1_headers, parent_rlp.clone())));
    assert!(IExecute::BadEvidence::abi_decode(&out).unwrap().reason.contains("anchor"));
    let out = revert_of(call(&devnet, derive_call(l1_headers[5].hash_slow(), &l1_headers[3..], parent_rlp)));
    assert!(IExecute::BadEvidence::abi_decode(&out).unwrap().reason.contains("after the parent's origin"));
    let out = revert_of(call(&devnet, derive_call(l1_headers[5].hash_slow(), &l1_headers, vec![0xc0])));
    assert!(IExecute::MalformedInput::abi_decode(&out).unwrap().reason.contains("parent header"));
    mutations_succeed_or_revert(&devnet, undecided, 4844);
    devnet.stop().await;
}

/// Seeded bit flips, truncations and splices of `valid`: each call succeeds or reverts.
fn mutations_succeed_or_revert(devnet: &Devnet, valid: Vec<u8>, seed: u64) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    for _ in 0..300 {
        let mut m = valid.clone();
        for _ in 0..rng.random_range(1..4) {
            match rng.random_range(0..3) {
                0 if !m.is_empty() => {
                    let i = rng.random_range(0..m.len());
                    m[i] ^= 1 << rng.random_range(0..8);
                }
                1 => m.truncate(rng.random_range(0..=m.len())),
                _ => {
                    let i = rng.random_range(0..=m.len());
                    m.splice(i..i, (0..rng.random_range(1..40)).map(|_| rng.random::<u8>()));
                }
            }
        }
        match call(devnet, m) {
            ExecutionResult::Success { .. } | ExecutionResult::Revert { .. } => {}
            other => panic!("a mutated call must succeed or revert, got {other:?}"),
        }
    }
}
