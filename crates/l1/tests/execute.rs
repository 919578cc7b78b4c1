//! The EXECUTE precompile, called through the embedded L1's EVM as a contract would: every step
//! of real L2 blocks (deposits, contract creation, transfers, storage writes) re-executes to the
//! root the L2 chain computed, and bad input reverts with the interface's custom errors.

use alloy::{
    consensus::{SignableTransaction, TxEip1559, TxEnvelope},
    network::TxSignerSync,
    primitives::{Address, B256, Bytes, TxKind, U256},
    signers::local::PrivateKeySigner,
    sol_types::{SolCall, SolError},
};
use aqueduct_chain::{
    BlockAttributes, BlockRef, CallArgs, Chain, ChainConfig, ChainRules, ChainTx, DepositTx, Genesis, GenesisAccount,
    L2Rules, MiningMode,
};
use aqueduct_l1::{Devnet, EXECUTE_ADDRESS, IExecute, L1Config, decode_step_return, encode_rules};
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
    let mut rules = ChainRules::l2_execution(L2_CHAIN, 30_000_000, l2_rules());
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
    let l1_config = L1Config {
        block_time: 0.0,
        data_dir: dir.path().join("l1"),
        rpc_addr: ([127, 0, 0, 1], 0).into(),
        ..Default::default()
    };
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
    let mut rng = ChaCha8Rng::seed_from_u64(8079);
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
        match call(&devnet, m) {
            ExecutionResult::Success { .. } | ExecutionResult::Revert { .. } => {}
            other => panic!("a mutated call must succeed or revert, got {other:?}"),
        }
    }
    devnet.stop().await;
}
