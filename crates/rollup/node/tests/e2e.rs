//! End to end on the embedded L1: deploy, deposit, L2 transfers through JSON-RPC, batches on L1,
//! a verifier deriving the same chain from L1 alone.

use std::{net::SocketAddr, time::Duration};

use alloy::{
    consensus::{SignableTransaction, TxEip1559, TxEnvelope},
    eips::eip2718::Encodable2718,
    network::TxSignerSync,
    primitives::{Address, Bytes, TxKind, U256},
    signers::local::PrivateKeySigner,
    sol_types::SolCall,
};
use aqueduct_chain::BlockRef;
use aqueduct_contracts::rollup::RollupPortal;
use aqueduct_l1::{Devnet, L1Config};
use aqueduct_rollup_node::{
    BatcherConfig, DataMode, DeployParams, L1Call, L1Client, Rollup, RollupOptions, SequencerConfig, deploy, sign_1559,
};
use aqueduct_rollup_protocol::{Compressor, RollupConfig};
use serde_json::{Value, json};

const ETH: u128 = 1_000_000_000_000_000_000;
const L2_CHAIN: u64 = 901;

struct Rpc {
    http: reqwest::Client,
    url: String,
}

impl Rpc {
    fn new(addr: SocketAddr) -> Self {
        Self { http: reqwest::Client::new(), url: format!("http://{addr}") }
    }
    async fn call(&self, method: &str, params: Value) -> Result<Value, String> {
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
        let v: Value = self.http.post(&self.url).json(&body).send().await.unwrap().json().await.unwrap();
        match v.get("error") {
            Some(e) => Err(e.to_string()),
            None => Ok(v["result"].clone()),
        }
    }
    async fn balance(&self, a: Address) -> U256 {
        let v = self.call("eth_getBalance", json!([a, "latest"])).await.unwrap();
        v.as_str().unwrap().parse().unwrap()
    }
}

fn transfer(s: &PrivateKeySigner, nonce: u64, to: Address, value: u64) -> Bytes {
    let mut tx = TxEip1559 {
        chain_id: L2_CHAIN,
        nonce,
        gas_limit: 21_000,
        max_fee_per_gas: 1_000_000_000,
        max_priority_fee_per_gas: 1_000,
        to: TxKind::Call(to),
        value: U256::from(value),
        ..Default::default()
    };
    let sig = s.sign_transaction_sync(&mut tx).unwrap();
    TxEnvelope::Eip1559(tx.into_signed(sig)).encoded_2718().into()
}

async fn until<F: Fn() -> Fut, Fut: std::future::Future<Output = bool>>(what: &str, secs: u64, f: F) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    while tokio::time::Instant::now() < deadline {
        if f().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for {what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deposit_transfer_batch_and_derive() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    let dir = tempfile::tempdir().unwrap();
    let l1_cfg = L1Config {
        block_time: 1.0,
        data_dir: dir.path().join("l1"),
        rpc_addr: "127.0.0.1:0".parse().unwrap(),
        ..Default::default()
    };
    let devnet = Devnet::start(l1_cfg, true).await.unwrap();
    let signers = devnet.signers.clone();
    let (deployer, batcher, proposer, user) = (&signers[0], &signers[1], &signers[2], &signers[5]);
    let l1 = L1Client::new(&devnet.url()).unwrap();
    let params = DeployParams {
        batcher: batcher.address(),
        challenger: signers[3].address(),
        bond: U256::from(ETH / 10),
        finalization_period: 60,
    };
    let dep = deploy(&l1, deployer, &params).await.unwrap();

    let rollup_cfg = RollupConfig {
        l2_chain_id: L2_CHAIN,
        block_time_ms: 250,
        seq_window: 20,
        channel_timeout: 40,
        max_channel_bytes: 16 << 20,
        portal: dep.portal,
        inbox: dep.inbox,
        oracle: dep.oracle,
        batcher: batcher.address(),
        l1_genesis: dep.l1_genesis,
        l2_genesis_time: dep.l1_genesis.timestamp,
        compression_ppm: 600_000,
        base_fee_scalar: 50_000,
        blob_base_fee_scalar: 1_000_000,
    };
    let funded: Vec<Address> = signers.iter().map(|s| s.address()).collect();
    let rollup = Rollup::start(RollupOptions {
        l1_url: devnet.url(),
        rollup: rollup_cfg,
        data_dir: dir.path().join("l2"),
        gas_limit: 100_000_000,
        funded,
        funded_balance: U256::from(1000 * ETH),
        sequencer: Some(aqueduct_rollup_node::SequencerRole {
            rpc_addr: "127.0.0.1:0".parse().unwrap(),
            batcher: batcher.clone(),
            sequencer: SequencerConfig::default(),
            batcher_config: BatcherConfig {
                compressor: Compressor::Brotli(9),
                mode: DataMode::Auto,
                poll: Duration::from_millis(300),
                ..Default::default()
            },
            dev_signers: vec![],
        }),
        verifier_rpc: Some("127.0.0.1:0".parse().unwrap()),
        proposer: Some(aqueduct_rollup_node::ProposerRole {
            signer: proposer.clone(),
            interval: 20,
            bond: U256::from(ETH / 10),
        }),
        poll: Duration::from_millis(300),
    })
    .await
    .unwrap();
    let seq = Rpc::new(rollup.sequencer_rpc.unwrap());
    let ver = Rpc::new(rollup.verifier_rpc.unwrap());

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
    l1.wait(h, 400).await.unwrap();
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
    let expected: u64 = (0..250u64).map(|i| 4 * (1 + i)).sum();
    assert_eq!(seq.balance(to).await, U256::from(expected));

    // The verifier derives the same chain from L1 alone.
    let seq_chain = rollup.sequencer.clone().unwrap();
    let ver_chain = rollup.verifier.clone().unwrap();
    let target = seq_chain.head().number();
    until("the verifier to derive the sequencer's blocks", 120, || async { ver_chain.head().number() >= target }).await;
    for n in [1, target / 2, target] {
        let a = seq_chain.block(BlockRef::Number(n)).unwrap();
        let b = ver_chain.block(BlockRef::Number(n)).unwrap();
        assert_eq!(a.hash, b.hash, "L2 block {n} differs between sequencer and verifier");
    }
    assert_eq!(ver.balance(to).await, U256::from(expected));
    let err = ver.call("eth_sendRawTransaction", json!([transfer(user, 0, to, 1)])).await.unwrap_err();
    assert!(err.contains("read-only"), "{err}");
    let stats = rollup.batcher_stats.clone().unwrap();
    assert!(!stats.lock().is_empty(), "batches were posted");

    rollup.stop().await;
    devnet.stop().await;
}
