//! End to end on the embedded L1: deploy, deposit, L2 transfers through JSON-RPC, batches on L1,
//! a verifier deriving the same chain from L1 alone.

use std::{net::SocketAddr, time::Duration};

use alloy::{
    primitives::{Address, Bytes, TxKind, U256},
    signers::local::PrivateKeySigner,
    sol_types::{SolCall, SolError, SolEvent},
};
use aqueduct_chain::BlockRef;
use aqueduct_contracts::rollup::RollupPortal;
use aqueduct_l1::{Devnet, L1Config};
use aqueduct_rollup_node::interop::{SentMessage, relay_transaction, sent_in};
use aqueduct_rollup_node::{
    BatcherConfig, DataMode, DeployParams, L1Call, L1Client, L1Fees, Rollup, RollupOptions, SequencerConfig, deploy,
    sign_1559,
};
use aqueduct_rollup_protocol::{Compressor, Predeploys, RollupConfig};
use aqueduct_testkit::{AsyncRpc, eventually as until};
use serde_json::json;

const ETH: u128 = 1_000_000_000_000_000_000;
const L2_CHAIN: u64 = 901;

/// JSON-RPC for checks against a node listening on `addr`.
fn rpc_at(addr: SocketAddr) -> AsyncRpc {
    AsyncRpc::new(&format!("http://{addr}"))
}

fn transfer(s: &PrivateKeySigner, nonce: u64, to: Address, value: u64) -> Bytes {
    l2_call(s, nonce, to, U256::from(value), Vec::new())
}

struct Setup {
    _dir: tempfile::TempDir,
    devnet: Devnet,
    l1: L1Client,
    dep: aqueduct_rollup_node::Deployment,
    /// The sequencer and its batcher.
    rollup: Rollup,
    /// A verifier and its proposer (services of their own, as separate processes would be).
    ver: Rollup,
    /// What starts the sequencer again on its data.
    restart: RollupOptions,
}

#[derive(Default)]
struct Opts {
    /// Senders the sequencer ignores.
    censor: Vec<Address>,
    /// L1 blocks an origin must be buried under before the sequencer uses it.
    l1_confirmations: u64,
}

/// Embedded L1 (1 s blocks), contracts deployed, a sequencer, a verifier and a proposer.
async fn setup(o: Opts) -> Setup {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    let dir = tempfile::tempdir().unwrap();
    let l1_cfg = L1Config {
        block_time: 1.0,
        data_dir: dir.path().join("l1"),
        rpc_addr: "127.0.0.1:0".parse().unwrap(),
        extra_precompiles: vec![aqueduct_rollup_protocol::execute_precompile()],
        ..Default::default()
    };
    let devnet = Devnet::start(l1_cfg, true).await.unwrap();
    let signers = devnet.signers.clone();
    let (deployer, batcher, proposer) = (&signers[0], &signers[1], &signers[2]);
    let l1 = L1Client::new(&devnet.url()).unwrap();
    let params = DeployParams { batcher: batcher.address(), bond: U256::from(ETH / 10), finalization_period: 60 };
    let dep = deploy(&l1, deployer, &params).await.unwrap();

    let rollup_cfg =
        RollupConfig { seq_window: 20, channel_timeout: 40, ..dep.rollup_config(L2_CHAIN, 250, batcher.address()) };
    let funded: Vec<Address> = signers.iter().map(|s| s.address()).collect();
    let rollup =
        Rollup::start(sequencer_options(&devnet.url(), &rollup_cfg, dir.path(), &funded, batcher, &o)).await.unwrap();
    let restart = sequencer_options(&devnet.url(), &rollup_cfg, dir.path(), &funded, batcher, &o);
    let ver = Rollup::start(RollupOptions {
        l1_url: devnet.url(),
        rollup: rollup_cfg,
        data_dir: dir.path().join("l2"),
        gas_limit: 100_000_000,
        funded,
        funded_balance: U256::from(1000 * ETH),
        sequencer: None,
        verifier_rpc: Some("127.0.0.1:0".parse().unwrap()),
        proposer: Some(aqueduct_rollup_node::ProposerRole {
            signer: proposer.clone(),
            interval: 20,
            bond: U256::from(ETH / 10),
        }),
        challengers: Vec::new(),
        poll: Duration::from_millis(300),
        dependencies: Vec::new(),
    })
    .await
    .unwrap();
    Setup { _dir: dir, devnet, l1, dep, rollup, ver, restart }
}

/// The sequencer's services (with its batcher), as `setup` starts them.
fn sequencer_options(
    l1_url: &str,
    cfg: &RollupConfig,
    dir: &std::path::Path,
    funded: &[Address],
    batcher: &PrivateKeySigner,
    o: &Opts,
) -> RollupOptions {
    RollupOptions {
        l1_url: l1_url.to_string(),
        rollup: cfg.clone(),
        data_dir: dir.join("l2"),
        gas_limit: 100_000_000,
        funded: funded.to_vec(),
        funded_balance: U256::from(1000 * ETH),
        sequencer: Some(aqueduct_rollup_node::SequencerRole {
            rpc_addr: "127.0.0.1:0".parse().unwrap(),
            batcher: batcher.clone(),
            sequencer: SequencerConfig { censor: o.censor.clone(), l1_confirmations: o.l1_confirmations },
            batcher_config: BatcherConfig {
                compressor: Compressor::Brotli(9),
                mode: DataMode::Auto,
                poll: Duration::from_millis(300),
                // Post every round: the reorg test needs batches in every L1 block.
                max_delay: Duration::ZERO,
                ..Default::default()
            },
            dev_signers: vec![],
        }),
        verifier_rpc: None,
        proposer: None,
        challengers: Vec::new(),
        poll: Duration::from_millis(300),
        dependencies: Vec::new(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deposit_transfer_batch_and_derive() {
    let Setup { _dir, devnet, l1, dep, rollup, ver: verifier, .. } = setup(Opts::default()).await;
    let signers = devnet.signers.clone();
    let user = &signers[5];
    let seq = rpc_at(rollup.sequencer_rpc.unwrap());
    let ver = rpc_at(verifier.verifier_rpc.unwrap());

    // Deposit 10 ETH on L1; it is credited on L2.
    let before = seq.balance(user.address()).await;
    let input = RollupPortal::depositTransactionCall {
        to: user.address(),
        value: U256::from(10 * ETH),
        gasLimit: 100_000,
        isCreation: false,
        data: Bytes::new(),
    }
    .abi_encode();
    let fees = l1.fees().await.unwrap();
    let nonce = l1.nonce(user.address()).await.unwrap();
    let call =
        L1Call { to: TxKind::Call(dep.portal), value: U256::from(10 * ETH), input: input.into(), gas_limit: 200_000 };
    let h = l1.send_raw(&sign_1559(user, 31337, nonce, fees, &call)).await.unwrap();
    l1.wait(h).await.unwrap();
    until("the deposit on L2", 60, || async { seq.balance(user.address()).await == before + U256::from(10 * ETH) })
        .await;

    // 1,000 transfers from four senders through the sequencer's JSON-RPC.
    let senders = &signers[6..10];
    let to = Address::repeat_byte(0x77);
    let mut hashes = Vec::new();
    for i in 0..250u64 {
        for s in senders {
            let raw = transfer(s, i, to, 1 + i);
            hashes.push(seq.call("eth_sendRawTransaction", json!([raw])).await.unwrap());
        }
    }
    let last = hashes.last().unwrap().clone();
    until("the last transfer's receipt", 60, || async {
        !seq.call("eth_getTransactionReceipt", json!([last])).await.unwrap().is_null()
    })
    .await;
    let r = seq.call("eth_getTransactionReceipt", json!([last])).await.unwrap();
    assert_eq!(r["status"], "0x1");
    assert!(r["l1Fee"].as_str().is_some_and(|f| f != "0x0"), "L2 receipts carry the L1 fee: {r}");
    // Issue 16, item 12: traces on L2, of a user transaction after the block's others (each
    // charged its L1 fee first) and of the block's system deposit.
    let trace = seq.call("debug_traceTransaction", json!([last, {"tracer": "callTracer"}])).await.unwrap();
    assert_eq!((trace["type"].as_str(), trace["gasUsed"].as_str()), (Some("CALL"), Some("0x5208")), "{trace}");
    let block = seq.call("eth_getBlockByNumber", json!([r["blockNumber"], false])).await.unwrap();
    let system = seq.call("debug_traceTransaction", json!([block["transactions"][0], {"tracer": "callTracer"}])).await;
    assert!(system.as_ref().is_ok_and(|t| t["error"].is_null()), "{system:?}");
    let expected: u64 = (0..250u64).map(|i| 4 * (1 + i)).sum();
    assert_eq!(seq.balance(to).await, U256::from(expected));

    // The verifier derives the same chain from L1 alone.
    let seq_chain = rollup.sequencer.clone().unwrap();
    let ver_chain = verifier.verifier.clone().unwrap();
    let target = seq_chain.head().number();
    until("the verifier to derive the sequencer's blocks", 120, || async { ver_chain.head().number() >= target }).await;
    for n in [1, target / 2, target] {
        let a = seq_chain.block(BlockRef::Number(n)).unwrap();
        let b = ver_chain.block(BlockRef::Number(n)).unwrap();
        assert_eq!(a.hash, b.hash, "L2 block {n} differs between sequencer and verifier");
        // Issue 16, item 10: web3.py refuses a block whose extraData is over 32 bytes (geth's
        // bound); it was 56.
        let rpc_block = seq.call("eth_getBlockByNumber", json!([format!("{n:#x}"), false])).await.unwrap();
        let extra = rpc_block["extraData"].as_str().unwrap();
        assert!(extra.len() <= 2 + 64, "L2 block {n}'s extraData is over 32 bytes: {extra}");
    }
    assert_eq!(ver.balance(to).await, U256::from(expected));
    // Issue 16, item 13: Multicall3 is predeployed on L2, as on OP Stack chains.
    let provider = alloy::providers::ProviderBuilder::new().connect_http(seq.url.parse().unwrap());
    let (batched,) = alloy::providers::Provider::multicall(&provider).get_eth_balance(to).aggregate().await.unwrap();
    assert_eq!(batched, U256::from(expected));
    let err = ver.call("eth_sendRawTransaction", json!([transfer(user, 0, to, 1)])).await.unwrap_err();
    assert!(err.contains("read-only"), "{err}");
    let stats = rollup.batcher_stats.clone().unwrap();
    assert!(!stats.lock().is_empty(), "batches were posted");

    withdrawals(&devnet, &l1, &verifier, &seq, &dep, user).await;

    rollup.stop().await;
    verifier.stop().await;
    devnet.stop().await;
}

/// An L2 transaction (1 gwei fee cap): a plain transfer costs 21,000 gas, a call gets 3,000,000.
fn l2_call(s: &PrivateKeySigner, nonce: u64, to: Address, value: U256, input: Vec<u8>) -> Bytes {
    let gas_limit = if input.is_empty() { 21_000 } else { 3_000_000 };
    let call = L1Call { to: TxKind::Call(to), value, input: input.into(), gas_limit };
    sign_1559(s, L2_CHAIN, nonce, L1Fees { base_fee: 499_999_500, blob_base_fee: 1, tip: 1_000 }, &call)
}

/// The revert data of an L1 call (it must revert).
async fn l1_revert(l1: &AsyncRpc, from: Address, to: Address, data: Vec<u8>) -> String {
    l1.call("eth_call", json!([{"from": from, "to": to, "data": Bytes::from(data)}, "latest"])).await.unwrap_err()
}

fn selector_hex(sel: [u8; 4]) -> String {
    format!("0x{}", alloy::primitives::hex::encode(sel))
}

/// ETH and ERC-20 withdrawals: proven against a proposed output, refused early, twice or with a
/// forged proof, paid after the window.
async fn withdrawals(
    devnet: &Devnet,
    l1: &L1Client,
    rollup: &Rollup,
    seq: &AsyncRpc,
    dep: &aqueduct_rollup_node::Deployment,
    user: &PrivateKeySigner,
) {
    use aqueduct_contracts::{
        AqueductToken,
        rollup::{L2Bridge, L2ToL1MessagePasser, portal::RollupPortal as P},
    };
    use aqueduct_rollup_protocol::Predeploys;
    let l1_rpc = AsyncRpc::new(&devnet.url());

    // An ERC-20 on L1, 500 of it deposited to L2.
    let fees = l1.fees().await.unwrap();
    let nonce = l1.nonce(user.address()).await.unwrap();
    let args = alloy::sol_types::SolValue::abi_encode_params(&(
        "Test".to_string(),
        "TST".to_string(),
        U256::from(18),
        U256::from(1000 * ETH),
    ));
    let create = L1Call {
        to: TxKind::Create,
        value: U256::ZERO,
        input: [AqueductToken::BYTECODE.to_vec(), args].concat().into(),
        gas_limit: 3_000_000,
    };
    let h = l1.send_raw(&sign_1559(user, 31337, nonce, fees, &create)).await.unwrap();
    let token = l1.wait(h).await.unwrap().contract_address.unwrap();
    let h = aqueduct_rollup_node::deposit_erc20(l1, user, dep.portal, token, user.address(), U256::from(500 * ETH))
        .await
        .unwrap();
    l1.wait(h).await.unwrap();
    let l2_token_of = || async {
        let data = L2Bridge::l2TokenOfCall(token).abi_encode();
        let v = seq
            .call("eth_call", json!([{"to": Predeploys::L2_BRIDGE, "data": Bytes::from(data)}, "latest"]))
            .await
            .unwrap();
        Address::from_word(v.as_str().unwrap().parse().unwrap())
    };
    until("the ERC-20 deposit on L2", 60, || async { l2_token_of().await != Address::ZERO }).await;
    let l2_token = l2_token_of().await;
    let bal = |a: Address| {
        let data = AqueductToken::balanceOfCall(a).abi_encode();
        async move {
            let v = seq.call("eth_call", json!([{"to": l2_token, "data": Bytes::from(data)}, "latest"])).await.unwrap();
            U256::from_str_radix(v.as_str().unwrap().trim_start_matches("0x"), 16).unwrap()
        }
    };
    assert_eq!(bal(user.address()).await, U256::from(500 * ETH));

    // Withdraw 2 ETH and 200 tokens on L2.
    let n: u64 = u64::from_str_radix(
        seq.call("eth_getTransactionCount", json!([user.address(), "pending"]))
            .await
            .unwrap()
            .as_str()
            .unwrap()
            .trim_start_matches("0x"),
        16,
    )
    .unwrap();
    let eth_w = L2ToL1MessagePasser::initiateWithdrawalCall {
        target: user.address(),
        gasLimit: U256::from(100_000),
        data: Bytes::new(),
    };
    let h_eth = seq
        .call(
            "eth_sendRawTransaction",
            json!([l2_call(user, n, Predeploys::MESSAGE_PASSER, U256::from(2 * ETH), eth_w.abi_encode())]),
        )
        .await
        .unwrap();
    let tok_w = L2Bridge::withdrawCall { l2Token: l2_token, to: user.address(), amount: U256::from(200 * ETH) };
    let h_tok = seq
        .call(
            "eth_sendRawTransaction",
            json!([l2_call(user, n + 1, Predeploys::L2_BRIDGE, U256::ZERO, tok_w.abi_encode())]),
        )
        .await
        .unwrap();
    let h_tok: alloy::primitives::B256 = serde_json::from_value(h_tok).unwrap();
    let h_eth: alloy::primitives::B256 = serde_json::from_value(h_eth).unwrap();
    until("both withdrawals on L2", 60, || async {
        let r = seq.call("eth_getTransactionReceipt", json!([h_tok])).await.unwrap();
        !r.is_null() && r["status"] == "0x1"
    })
    .await;
    assert_eq!(bal(user.address()).await, U256::from(300 * ETH), "burned on L2");

    // Proofs come from the verifier's chain once the proposer covered the blocks.
    let ver = rollup.verifier.clone().unwrap();
    let mut proofs = Vec::new();
    for h in [h_eth, h_tok] {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
        let p = loop {
            match aqueduct_rollup_node::build_proof(ver.as_ref(), l1, dep.oracle, h).await {
                Ok(p) => break p,
                Err(_) if tokio::time::Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(500)).await
                }
                Err(e) => panic!("no proof for {h}: {e}"),
            }
        };
        proofs.push(p);
    }

    // A forged proof is refused.
    let mut forged = proofs[0].clone();
    forged.withdrawal.value = U256::from(50 * ETH);
    let err =
        l1_revert(&l1_rpc, user.address(), dep.portal, aqueduct_rollup_node::prove_call(&forged).abi_encode()).await;
    assert!(err.contains(&selector_hex(P::InvalidWithdrawalProof::SELECTOR)), "forged proof: {err}");

    // Finalizing before proving, then before the window ends, is refused.
    let fin = |w: &aqueduct_rollup_protocol::Withdrawal| {
        P::finalizeWithdrawalCall { w: aqueduct_rollup_node::sol_withdrawal(w) }.abi_encode()
    };
    let err = l1_revert(&l1_rpc, user.address(), dep.portal, fin(&proofs[0].withdrawal)).await;
    assert!(err.contains(&selector_hex(P::WithdrawalNotProven::SELECTOR)), "unproven: {err}");
    for p in &proofs {
        let h = aqueduct_rollup_node::prove(l1, user, dep.portal, p).await.unwrap();
        l1.wait(h).await.unwrap();
    }
    let left = aqueduct_rollup_node::seconds_left(l1, dep.portal, &proofs[0].withdrawal).await.unwrap().unwrap();
    assert!(left > 0 && left <= 60, "window left: {left}");
    let err = l1_revert(&l1_rpc, user.address(), dep.portal, fin(&proofs[0].withdrawal)).await;
    assert!(err.contains(&selector_hex(P::ChallengeWindowOpen::SELECTOR)), "early: {err}");

    // After the window (time advanced on L1), both are paid, once.
    l1_rpc.call("evm_increaseTime", json!([120])).await.unwrap();
    l1_rpc.call("evm_mine", json!([])).await.unwrap();
    let eth_before = l1.balance(user.address()).await.unwrap();
    for p in &proofs {
        let h = aqueduct_rollup_node::finalize(l1, user, dep.portal, &p.withdrawal).await.unwrap();
        l1.wait(h).await.unwrap();
        assert!(aqueduct_rollup_node::is_finalized(l1, dep.portal, &p.withdrawal).await.unwrap());
    }
    let eth_after = l1.balance(user.address()).await.unwrap();
    assert!(eth_after > eth_before + U256::from(2 * ETH) - U256::from(ETH / 100), "2 ETH paid (less gas)");
    let tok = AqueductToken::balanceOfCall(user.address()).abi_encode();
    let v = l1_rpc.call("eth_call", json!([{"to": token, "data": Bytes::from(tok)}, "latest"])).await.unwrap();
    let l1_tokens = U256::from_str_radix(v.as_str().unwrap().trim_start_matches("0x"), 16).unwrap();
    assert_eq!(l1_tokens, U256::from(700 * ETH), "200 tokens back on L1");
    let err = l1_revert(&l1_rpc, user.address(), dep.portal, fin(&proofs[0].withdrawal)).await;
    assert!(err.contains(&selector_hex(P::AlreadyFinalized::SELECTOR)), "twice: {err}");
}

/// The sequencer ignores one user; the user's transaction, queued on L1, is in the L2 chain once
/// the sequencing window has passed, identically on the sequencer and the verifier.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn censored_user_gets_in_through_the_forced_queue() {
    let signers = aqueduct_l1::dev_signers(10).unwrap();
    let victim = signers[7].clone();
    let Setup { _dir, devnet, l1, dep, rollup, ver, .. } =
        setup(Opts { censor: vec![victim.address()], ..Default::default() }).await;
    let seq = rpc_at(rollup.sequencer_rpc.unwrap());
    let to = Address::repeat_byte(0x99);

    // Through the sequencer's RPC the transaction is accepted but never included.
    let raw = transfer(&victim, 0, to, 12_345);
    seq.call("eth_sendRawTransaction", json!([raw.clone()])).await.unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(seq.balance(to).await, U256::ZERO, "censored");

    // Queued on L1, it must be included within the window (20 L1 blocks).
    let forced =
        aqueduct_contracts::rollup::BatchInbox::forceIncludeCall { signedTransaction: raw.clone() }.abi_encode();
    let fees = l1.fees().await.unwrap();
    let nonce = l1.nonce(victim.address()).await.unwrap();
    let call = L1Call { to: TxKind::Call(dep.inbox), value: U256::ZERO, input: forced.into(), gas_limit: 300_000 };
    let h = l1.send_raw(&sign_1559(&victim, 31337, nonce, fees, &call)).await.unwrap();
    let queued_at = l1.wait(h).await.unwrap().block_number.unwrap();
    until("the forced transaction on L2", 90, || async { seq.balance(to).await == U256::from(12_345) }).await;
    let seq_chain = rollup.sequencer.clone().unwrap();
    let hash = alloy::primitives::keccak256(&raw);
    let (block, _) = seq_chain.transaction(&hash).expect("in the sequencer's chain");
    let epoch = aqueduct_rollup_protocol::SafeHead::of_block(&block, dep.l1_genesis.number).epoch.0;
    assert!(epoch >= queued_at + 20, "included only when due: origin {epoch}, queued at {queued_at}");

    let ver_chain = ver.verifier.clone().unwrap();
    let n = block.number();
    until("the verifier to reach the forced block", 90, || async { ver_chain.head().number() >= n }).await;
    assert_eq!(ver_chain.block(BlockRef::Number(n)).unwrap().hash, block.hash, "same block on the verifier");
    rollup.stop().await;
    ver.stop().await;
    devnet.stop().await;
}

/// The sequencer stops for good; a user's transaction queued on L1 still lands in the L2 chain
/// once the sequencing window has passed, derived by the verifier alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forced_transaction_lands_with_the_sequencer_stopped() {
    let Setup { _dir, devnet, l1, dep, rollup, ver, restart } = setup(Opts::default()).await;
    let user = devnet.signers[8].clone();
    let to = Address::repeat_byte(0x98);
    let seq_chain = rollup.sequencer.clone().unwrap();
    let stats = rollup.batcher_stats.clone().unwrap();
    until("a few posts", 30, || async { stats.lock().len() >= 3 }).await;
    rollup.stop().await;
    let last_sequenced = seq_chain.head().number();
    // Posts before the last one were on L1 when it went out (the batcher waits for each).
    let landed = stats.lock().last().unwrap().first_block - 1;

    let raw = transfer(&user, 0, to, 4_242);
    let forced = aqueduct_contracts::rollup::BatchInbox::forceIncludeCall { signedTransaction: raw }.abi_encode();
    let fees = l1.fees().await.unwrap();
    let nonce = l1.nonce(user.address()).await.unwrap();
    let call = L1Call { to: TxKind::Call(dep.inbox), value: U256::ZERO, input: forced.into(), gas_limit: 300_000 };
    let h = l1.send_raw(&sign_1559(&user, 31337, nonce, fees, &call)).await.unwrap();
    let queued_at = l1.wait(h).await.unwrap().block_number.unwrap();

    let v = rpc_at(ver.verifier_rpc.unwrap());
    until("the forced transaction in the derived chain", 120, || async { v.balance(to).await == U256::from(4_242) })
        .await;
    let ver_chain = ver.verifier.clone().unwrap();
    let hash = alloy::primitives::keccak256(transfer(&user, 0, to, 4_242));
    let (block, _) = ver_chain.transaction(&hash).expect("in the verifier's chain");
    assert!(block.number() > last_sequenced, "in a block the verifier derived without the sequencer");
    let epoch = aqueduct_rollup_protocol::SafeHead::of_block(&block, dep.l1_genesis.number).epoch.0;
    assert!(epoch >= queued_at + 20, "after the window: origin {epoch}, queued at {queued_at}");
    // Every block the sequencer did post is kept as it was.
    for n in 1..=landed {
        let derived = ver_chain.block(BlockRef::Number(n)).unwrap().hash;
        assert_eq!(Some(derived), seq_chain.block(BlockRef::Number(n)).map(|b| b.hash), "block {n}");
    }
    drop(seq_chain);

    // Issue 16, item 5: the sequencer comes back after the window. Its unposted blocks lost to
    // the default blocks L1 decided; it must rebuild on the derived chain, not go on with its
    // own (whose batches derivation would skip forever).
    let back = Rollup::start(restart).await.unwrap();
    let seq_chain = back.sequencer.clone().unwrap();
    let (forced_block, _) = ver_chain.transaction(&hash).unwrap();
    until("the restarted sequencer on the derived chain", 120, || async {
        seq_chain.block(BlockRef::Number(forced_block.number())).is_some_and(|b| b.hash == forced_block.hash)
    })
    .await;
    // Later blocks too: wherever the verifier's head is, the sequencer has the same block.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let v = ver_chain.head();
    until("the sequencer to hold the verifier's head block", 60, || async {
        seq_chain.block(BlockRef::Number(v.number())).is_some_and(|b| b.hash == v.hash)
    })
    .await;
    back.stop().await;
    ver.stop().await;
    devnet.stop().await;
}

/// An L1 reorg of depth 3 drops posted batches: the verifier unwinds and derives again, the
/// batcher posts again, and both end on the same chain.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "long scenario (over a minute): scripts/test.sh and CI run it (cargo test -- --include-ignored)"]
async fn l1_reorg_of_depth_3_under_posted_batches() {
    let Setup { _dir, devnet, l1: _, dep, rollup, ver, .. } =
        setup(Opts { l1_confirmations: 4, ..Default::default() }).await;
    let seq = rpc_at(rollup.sequencer_rpc.unwrap());
    let l1_rpc = AsyncRpc::new(&devnet.url());
    let seq_chain = rollup.sequencer.clone().unwrap();
    let ver_chain = ver.verifier.clone().unwrap();
    let stats = rollup.batcher_stats.clone().unwrap();
    let to = Address::repeat_byte(0x55);
    let senders = &devnet.signers[6..10];
    for i in 0..50u64 {
        for s in senders {
            seq.call("eth_sendRawTransaction", json!([transfer(s, i, to, 1)])).await.unwrap();
        }
    }
    until("the transfers on L2", 60, || async { seq.balance(to).await == U256::from(200) }).await;
    let target = seq_chain.head().number();
    until("the verifier to derive them", 90, || async { ver_chain.head().number() >= target }).await;
    let l1_head = || async {
        let v = l1_rpc.call("eth_blockNumber", json!([])).await.unwrap();
        u64::from_str_radix(v.as_str().unwrap().trim_start_matches("0x"), 16).unwrap()
    };
    // The reorg must not reach the deployment (the rollup's anchor).
    until("L1 well past the deployment", 30, || async { l1_head().await > dep.l1_genesis.number + 6 }).await;
    let posts_before = stats.lock().len();
    let derived_before = ver_chain.head().number();

    // Batches land every L1 block: the last three hold some. Replace them with empty blocks.
    let head_before = l1_head().await;
    l1_rpc.call("anvil_reorg", json!([3, []])).await.unwrap();

    // The verifier unwinds what those blocks carried, the batcher posts it again.
    until("the batcher to post the lost blocks again", 60, || async {
        stats.lock()[posts_before..].iter().any(|p| p.first_block <= derived_before)
    })
    .await;
    let target = seq_chain.head().number();
    until("the verifier to catch up again", 120, || async { ver_chain.head().number() >= target }).await;
    for n in [1, derived_before, target] {
        let a = seq_chain.block(BlockRef::Number(n)).unwrap().hash;
        assert_eq!(ver_chain.block(BlockRef::Number(n)).map(|b| b.hash), Some(a), "L2 block {n} after the reorg");
    }
    assert_eq!(rpc_at(ver.verifier_rpc.unwrap()).balance(to).await, U256::from(200));
    assert!(l1_head().await > head_before, "L1 went on past the reorg");
    rollup.stop().await;
    ver.stop().await;
    devnet.stop().await;
}

/// The L1 origin (number, hash) an L2 block names in its L1-info deposit.
fn origin_of(b: &aqueduct_chain::SealedBlock) -> (u64, alloy::primitives::B256) {
    let info = b.txs.first().and_then(|t| t.envelope.as_deposit()).expect("an L2 block opens with its L1-info deposit");
    let (number, hash, _) = aqueduct_rollup_protocol::l1_info_from_deposit(info).expect("an L1-info deposit");
    (number, hash)
}

/// Issue 15 (acceptance): an L1 reorg replaces the L1 origins of the sequencer's newest blocks
/// (not yet confirmed by a batch). The sequencer builds them again on the new canonical origins,
/// their transactions back in its pool, and the verifier derives the same chain hash for hash.
/// Before, the sequencer kept the blocks naming the vanished origins and verifiers derived other
/// ones from the same batches.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reorg_of_the_newest_origins_rebuilds_the_unsafe_blocks() {
    let Setup { _dir, devnet, l1, dep, rollup, ver, .. } = setup(Opts::default()).await;
    let seq = rpc_at(rollup.sequencer_rpc.unwrap());
    let l1_rpc = AsyncRpc::new(&devnet.url());
    let seq_chain = rollup.sequencer.clone().unwrap();
    let ver_chain = ver.verifier.clone().unwrap();
    let to = Address::repeat_byte(0x56);
    let senders = &devnet.signers[6..10];
    for i in 0..10u64 {
        for s in senders {
            seq.call("eth_sendRawTransaction", json!([transfer(s, i, to, 1)])).await.unwrap();
        }
    }
    until("the transfers on L2", 60, || async { seq.balance(to).await == U256::from(40) }).await;
    until("L1 well past the deployment", 30, || async { l1.head().await.unwrap() > dep.l1_genesis.number + 6 }).await;
    // More transfers, in blocks on the newest L1 origins (no confirmations asked), then the
    // reorg replaces the last three L1 blocks at once.
    for i in 10..15u64 {
        for s in senders {
            seq.call("eth_sendRawTransaction", json!([transfer(s, i, to, 1)])).await.unwrap();
        }
    }
    until("the new transfers on L2", 30, || async { seq.balance(to).await == U256::from(60) }).await;
    let l1_head = l1.head().await.unwrap();
    let (epoch, stale_hash) = origin_of(&seq_chain.head());
    assert!(
        epoch + 2 >= l1_head,
        "the sequencer's head stands on L1 block {epoch}, the reorg replaces from {}",
        l1_head - 2
    );
    l1_rpc.call("anvil_reorg", json!([3, []])).await.unwrap();
    assert_ne!(l1.header(epoch).await.unwrap().hash, stale_hash, "the reorg replaced the head's origin");

    // Every sequencer block stands on a canonical L1 origin again, and the verifier derived the
    // same blocks.
    let canonical = || async {
        let head = seq_chain.head().number();
        let mut hashes = std::collections::HashMap::new();
        for n in 1..=head {
            let Some(b) = seq_chain.block(BlockRef::Number(n)) else { return false };
            let (number, hash) = origin_of(&b);
            if let std::collections::hash_map::Entry::Vacant(e) = hashes.entry(number) {
                e.insert(l1.header(number).await.map(|h| h.hash).ok());
            }
            if hashes[&number] != Some(hash) {
                return false;
            }
        }
        head > 0
    };
    until("the sequencer's blocks on canonical L1 origins", 60, canonical).await;
    let target = seq_chain.head().number();
    until("the verifier to derive them", 120, || async { ver_chain.head().number() >= target }).await;
    for n in 1..=target {
        let a = seq_chain.block(BlockRef::Number(n)).unwrap().hash;
        assert_eq!(ver_chain.block(BlockRef::Number(n)).map(|b| b.hash), Some(a), "L2 block {n} after the reorg");
    }
    assert!(seq_chain.head().number() >= target, "the sequencer went on");
    assert!(canonical().await, "the sequencer's chain stands on canonical L1 origins");
    // Nothing lost: the rebuilt blocks took the transactions again.
    let ver_rpc = rpc_at(ver.verifier_rpc.unwrap());
    until("every transfer derived", 60, || async { ver_rpc.balance(to).await == U256::from(60) }).await;
    rollup.stop().await;
    ver.stop().await;
    devnet.stop().await;
}

/// Issue 15 (errors with a next action): an L1 reorg that replaces the block the rollup is
/// anchored to (its deployment) leaves nothing to derive from; the verifier used to retry that
/// forever. It stops, and the rollup's halt says why (the devnet exits non-zero with it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reorg_below_the_anchor_stops_the_verifier_with_the_reason() {
    let Setup { _dir, devnet, l1: _, dep, rollup, ver, .. } = setup(Opts::default()).await;
    let l1_rpc = AsyncRpc::new(&devnet.url());
    let ver_chain = ver.verifier.clone().unwrap();
    until("the verifier to derive", 60, || async { ver_chain.head().number() > 0 }).await;
    assert!(!ver.halt.is_halted(), "{:?}", ver.halt.why());
    let head = l1_rpc.call("eth_blockNumber", json!([])).await.unwrap();
    let head = u64::from_str_radix(head.as_str().unwrap().trim_start_matches("0x"), 16).unwrap();
    // Replace every block from the deployment on by empty ones.
    l1_rpc.call("anvil_reorg", json!([head - dep.l1_genesis.number + 1, []])).await.unwrap();
    until("the verifier to stop", 60, || async { ver.halt.is_halted() }).await;
    let why = ver.halt.why().unwrap();
    assert!(why.starts_with("verifier stopped:") && why.contains("anchor block"), "{why}");
    rollup.stop().await;
    ver.stop().await;
    devnet.stop().await;
}

/// Sends `calldata` to the messenger on `chain_id` from `s` and waits for it on `seq`.
async fn send_message(
    seq: &AsyncRpc,
    chain: &aqueduct_chain::Chain,
    s: &PrivateKeySigner,
    nonce: u64,
    destination: u64,
    target: Address,
    data: &[u8],
) -> SentMessage {
    use aqueduct_contracts::interop::L2ToL2Messenger;
    let call = L2ToL2Messenger::sendMessageCall {
        destination: U256::from(destination),
        target,
        message: Bytes::copy_from_slice(data),
    };
    let raw = l2_call(s, nonce, Predeploys::L2_TO_L2_MESSENGER, U256::ZERO, call.abi_encode());
    let hash = alloy::primitives::keccak256(&raw);
    seq.call("eth_sendRawTransaction", json!([raw])).await.unwrap();
    until("the message sent on 901", 30, || async { chain.transaction(&hash).is_some() }).await;
    let mut m = sent_in(chain, &hash, L2_CHAIN).unwrap();
    assert_eq!(m.len(), 1, "one SentMessage log");
    m.remove(0)
}

/// Messages from rollup 901 to rollup 902 on the same L1 (OP Stack interop's rules): a message
/// runs once on 902, and only in a block whose L1 origin is at or after the L1 block that
/// carried its source's batch; a replay reverts; a forged or undeclared message never runs; an
/// L1 reorg that removes the source's batch before it is safe (the source's sequencer gone, so
/// the source block is made again without it) means it never runs. 902's verifier, deriving both
/// rollups from L1, ends on 902's sequencer's chain.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "long scenario (over a minute): scripts/test.sh and CI run it (cargo test -- --include-ignored)"]
async fn messages_between_two_rollups_run_once_and_only_from_safe_sources() {
    use aqueduct_contracts::interop::L2ToL2Messenger;
    let Setup { _dir, devnet, l1, dep: _, rollup, ver, restart } = setup(Opts::default()).await;
    let signers = devnet.signers.clone();
    let (deployer, batcher_b) = (&signers[0], &signers[3]);
    // Rollup 902 on the same L1, accepting 901's messages.
    let spec_a = aqueduct_rollup_node::RollupSpec {
        l1_chain_id: 1337,
        rollup: restart.rollup.clone(),
        gas_limit: restart.gas_limit,
        funded: restart.funded.clone(),
        funded_balance: restart.funded_balance,
        bond: U256::from(ETH / 10),
        finalization_period: 60,
    };
    let params = DeployParams { batcher: batcher_b.address(), bond: U256::from(ETH / 10), finalization_period: 60 };
    let dep_b = deploy(&l1, deployer, &params).await.unwrap();
    // A wide sequencing window for 902: catching up from its genesis under a loaded CI machine,
    // its first batches may land late, and blocks made by default instead would only slow the
    // test (the window that matters here is 901's).
    let cfg_b =
        RollupConfig { seq_window: 200, channel_timeout: 40, ..dep_b.rollup_config(902, 250, batcher_b.address()) };
    let dir_b = tempfile::tempdir().unwrap();
    // 902 takes L1 blocks as origins 6 deep: the reorg below must land before it reaches the batch.
    let o = Opts { l1_confirmations: 6, ..Default::default() };
    let mut seq_b_opts = sequencer_options(&devnet.url(), &cfg_b, dir_b.path(), &restart.funded, batcher_b, &o);
    seq_b_opts.dependencies = vec![spec_a.clone()];
    let rollup_b = Rollup::start(seq_b_opts).await.unwrap();
    let mut ver_b_opts =
        sequencer_options(&devnet.url(), &cfg_b, &dir_b.path().join("verifier"), &restart.funded, batcher_b, &o);
    (ver_b_opts.sequencer, ver_b_opts.verifier_rpc, ver_b_opts.dependencies) =
        (None, Some("127.0.0.1:0".parse().unwrap()), vec![spec_a]);
    let ver_b = Rollup::start(ver_b_opts).await.unwrap();

    let seq_a = rpc_at(rollup.sequencer_rpc.unwrap());
    let chain_a = rollup.sequencer.clone().unwrap();
    let seq_b = rpc_at(rollup_b.sequencer_rpc.unwrap());
    let chain_b = rollup_b.sequencer.clone().unwrap();
    let (alice, relayer) = (&signers[6], &signers[7]);
    let target = Address::repeat_byte(0x77);
    let messenger = Predeploys::L2_TO_L2_MESSENGER;
    let relayed_on_b = || {
        chain_b
            .blocks(0, chain_b.head().number())
            .iter()
            .flat_map(|b| b.receipts.iter().flat_map(|r| r.logs().to_vec()))
            .filter(|l| {
                l.address == messenger && l.topics().first() == Some(&L2ToL2Messenger::RelayedMessage::SIGNATURE_HASH)
            })
            .count()
    };
    let l1_block_of = |tx: alloy::primitives::B256| {
        let l1 = AsyncRpc::new(&devnet.url());
        async move {
            until("the batch's L1 transaction to be mined", 30, || async {
                l1.call("eth_getTransactionReceipt", json!([tx])).await.is_ok_and(|r| r["blockNumber"].is_string())
            })
            .await;
            let r = l1.call("eth_getTransactionReceipt", json!([tx])).await.unwrap();
            u64::from_str_radix(r["blockNumber"].as_str().unwrap().trim_start_matches("0x"), 16).unwrap()
        }
    };

    // 1. Sent on 901; the relay goes to 902 at once, while the source is not even batched.
    let m = send_message(&seq_a, &chain_a, alice, 0, 902, target, b"hello 902").await;
    let relay = relay_transaction(relayer, 902, 0, 1_000_000_000, 3_000_000, &m);
    let relay_hash = alloy::primitives::keccak256(&relay);
    seq_b.call("eth_sendRawTransaction", json!([relay])).await.unwrap();
    eprintln!("relay {relay_hash} of {:?}", m.id);
    until("the relay to run on 902", 60, || async { chain_b.transaction(&relay_hash).is_some() }).await;
    let (block, i) = chain_b.transaction(&relay_hash).unwrap();
    assert!(block.receipts[i].status(), "the relay succeeded");
    // It waited for the source to be safe: its block's L1 origin is at or after the L1 block that
    // carried the source block's batch.
    let stats = rollup.batcher_stats.clone().unwrap();
    let post = stats
        .lock()
        .iter()
        .find(|p| p.first_block <= m.id.block_number && m.id.block_number < p.first_block + p.blocks)
        .cloned();
    let post = post.expect("901's batcher posted the source block");
    let batch_l1 = l1_block_of(post.l1_txs[0]).await;
    let (origin, _) = origin_of(&block);
    assert!(origin >= batch_l1, "relay in a 902 block with origin {origin}, source batch in L1 block {batch_l1}");
    assert_eq!(relayed_on_b(), 1);
    let h = m.message_hash().unwrap();
    let done = L2ToL2Messenger::successfulMessagesCall(h).abi_encode();
    let got =
        seq_b.call("eth_call", json!([{"to": messenger, "data": Bytes::from(done.clone())}, "latest"])).await.unwrap();
    assert!(got.as_str().unwrap().ends_with('1'), "the message is marked relayed: {got}");

    // 2. A replay is mined and reverts (MessageAlreadyRelayed); a forged payload (declared with
    // its own checksum, so the inbox would accept it) is left out by the sequencer; an undeclared
    // relay reverts in the inbox.
    let replay = relay_transaction(relayer, 902, 1, 1_000_000_000, 3_000_000, &m);
    let replay_hash = alloy::primitives::keccak256(&replay);
    seq_b.call("eth_sendRawTransaction", json!([replay])).await.unwrap();
    until("the replay to be mined", 30, || async { chain_b.transaction(&replay_hash).is_some() }).await;
    let (b, i) = chain_b.transaction(&replay_hash).unwrap();
    assert!(!b.receipts[i].status(), "the replay reverted");
    let mut forged = m.clone();
    let mut p = forged.payload.to_vec();
    *p.last_mut().unwrap() ^= 1;
    forged.payload = p.into();
    let forged_tx = relay_transaction(&signers[8], 902, 0, 1_000_000_000, 3_000_000, &forged);
    let forged_hash = alloy::primitives::keccak256(&forged_tx);
    seq_b.call("eth_sendRawTransaction", json!([forged_tx])).await.unwrap();
    let call =
        L1Call { to: TxKind::Call(messenger), value: U256::ZERO, input: m.relay_calldata(), gas_limit: 3_000_000 };
    let fees = L1Fees { base_fee: 499_999_500, blob_base_fee: 1, tip: 1_000 };
    let undeclared = sign_1559(&signers[9], 902, 0, fees, &call);
    let undeclared_hash = alloy::primitives::keccak256(&undeclared);
    seq_b.call("eth_sendRawTransaction", json!([undeclared])).await.unwrap();
    until("the undeclared relay to be mined", 30, || async { chain_b.transaction(&undeclared_hash).is_some() }).await;
    let (b, i) = chain_b.transaction(&undeclared_hash).unwrap();
    assert!(!b.receipts[i].status(), "the undeclared relay reverted in the inbox");
    until("the forged relay to leave 902's pool", 30, || async { chain_b.pending_transaction(&forged_hash).is_none() })
        .await;
    assert!(chain_b.transaction(&forged_hash).is_none(), "a forged message never runs");
    assert_eq!(relayed_on_b(), 1, "the message ran once");

    // 3. A second message whose batch an L1 reorg removes before 902 reaches it, with 901's
    // sequencer gone so nobody posts it again: 901 makes that block again by default (without the
    // message) once the sequencing window passes, and the relay never runs.
    let m2 = send_message(&seq_a, &chain_a, alice, 1, 902, target, b"lost").await;
    let relay2 = relay_transaction(relayer, 902, 2, 1_000_000_000, 3_000_000, &m2);
    let relay2_hash = alloy::primitives::keccak256(&relay2);
    seq_b.call("eth_sendRawTransaction", json!([relay2])).await.unwrap();
    let covers = |p: &aqueduct_rollup_node::PostStats| {
        p.first_block <= m2.id.block_number && m2.id.block_number < p.first_block + p.blocks
    };
    until("901's batcher to post the second message's block", 30, || async { stats.lock().iter().any(covers) }).await;
    let post = stats.lock().iter().find(|p| covers(p)).cloned().unwrap();
    rollup.stop().await;
    let l1_rpc = AsyncRpc::new(&devnet.url());
    let batch_l1 = l1_block_of(post.l1_txs[0]).await;
    let head = u64::from_str_radix(
        l1_rpc.call("eth_blockNumber", json!([])).await.unwrap().as_str().unwrap().trim_start_matches("0x"),
        16,
    )
    .unwrap();
    let (origin_b, _) = origin_of(&chain_b.head());
    assert!(origin_b < batch_l1, "902 reached the batch's L1 block ({origin_b} >= {batch_l1}) before the reorg");
    l1_rpc.call("anvil_reorg", json!([head - batch_l1 + 1, []])).await.unwrap();
    let ver_a = ver.verifier.clone().unwrap();
    until("901's verifier to make the lost block by default", 90, || async {
        ver_a.block(BlockRef::Number(m2.id.block_number)).is_some_and(|b| {
            let logs: Vec<_> = b.receipts.iter().flat_map(|r| r.logs().to_vec()).collect();
            SentMessage::from_logs(L2_CHAIN, b.number(), b.header.timestamp, 0, &logs).is_empty()
        }) && ver_a.head().number() > m2.id.block_number
    })
    .await;
    until("the relay of the lost message to leave 902's pool", 60, || async {
        chain_b.pending_transaction(&relay2_hash).is_none()
    })
    .await;
    assert!(chain_b.transaction(&relay2_hash).is_none(), "a message whose source was reorged out never runs");
    assert_eq!(relayed_on_b(), 1);

    // 902's verifier derived the same chain, both rollups from L1 alone.
    let ver_chain_b = ver_b.verifier.clone().unwrap();
    let target_n = chain_b.head().number().saturating_sub(8);
    until("902's verifier to derive 902", 120, || async { ver_chain_b.head().number() >= target_n }).await;
    // The sequencer's unsafe blocks become the derived ones once their batches land (it replaces
    // any that L1 decided otherwise): wait for the two to agree, hash for hash.
    let same = |n: u64| {
        chain_b.block(BlockRef::Number(n)).map(|b| b.hash) == ver_chain_b.block(BlockRef::Number(n)).map(|b| b.hash)
    };
    until("902's sequencer and verifier to agree", 120, || async { same(target_n) && same(1) }).await;
    let got = rpc_at(ver_b.verifier_rpc.unwrap())
        .call("eth_call", json!([{"to": messenger, "data": Bytes::from(done)}, "latest"]))
        .await
        .unwrap();
    assert!(got.as_str().unwrap().ends_with('1'), "902's verifier has the message relayed");
    rollup_b.stop().await;
    ver_b.stop().await;
    ver.stop().await;
    devnet.stop().await;
}
