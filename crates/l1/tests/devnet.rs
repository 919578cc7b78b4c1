//! End-to-end: the embedded L1 devnet in-process, driven through its JSON-RPC as clients do.

use std::time::Duration;

use alloy::{
    consensus::{
        SignableTransaction, TxEip1559, TxEip4844, TxEip4844Variant, TxEip4844WithSidecar, TxEnvelope, TxLegacy,
    },
    eips::{
        eip2718::Encodable2718,
        eip4844::builder::{SidecarBuilder, SimpleCoder},
        eip7594::BlobTransactionSidecarVariant,
    },
    network::TxSignerSync,
    primitives::{Address, B256, Bytes, Signature, TxKind, U256, keccak256},
    signers::local::PrivateKeySigner,
    sol_types::{SolCall, SolConstructor},
};
use aqueduct_contracts::AqueductToken;
use aqueduct_l1::{Devnet, L1Config};
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};

struct Rpc {
    http: reqwest::Client,
    url: String,
}

impl Rpc {
    fn new(url: String) -> Self {
        Self { http: reqwest::Client::new(), url }
    }

    async fn raw(&self, body: Value) -> Value {
        self.http.post(&self.url).json(&body).send().await.unwrap().json().await.unwrap()
    }

    async fn try_call(&self, method: &str, params: Value) -> Result<Value, Value> {
        let v = self.raw(json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params})).await;
        match v.get("error") {
            Some(e) => Err(e.clone()),
            None => Ok(v["result"].clone()),
        }
    }

    async fn call(&self, method: &str, params: Value) -> Value {
        self.try_call(method, params).await.unwrap_or_else(|e| panic!("{method} failed: {e}"))
    }

    async fn num(&self, method: &str, params: Value) -> u128 {
        quantity(&self.call(method, params).await)
    }

    async fn send(&self, env: &TxEnvelope) -> Result<B256, String> {
        self.try_call("eth_sendRawTransaction", json!([Bytes::from(env.encoded_2718())]))
            .await
            .map(|v| v.as_str().unwrap().parse().unwrap())
            .map_err(|e| e["message"].as_str().unwrap_or_default().to_string())
    }

    async fn receipt(&self, h: B256) -> Value {
        for _ in 0..200 {
            let r = self.call("eth_getTransactionReceipt", json!([h])).await;
            if !r.is_null() {
                return r;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("no receipt for {h}");
    }
}

fn quantity(v: &Value) -> u128 {
    u128::from_str_radix(v.as_str().unwrap_or_else(|| panic!("not a quantity: {v}")).trim_start_matches("0x"), 16)
        .unwrap()
}

fn config(dir: &std::path::Path, block_time: f64) -> L1Config {
    L1Config { block_time, data_dir: dir.to_path_buf(), rpc_addr: ([127, 0, 0, 1], 0).into(), ..Default::default() }
}

/// A fresh devnet in its own directory, and a client for it.
async fn start(block_time: f64) -> (tempfile::TempDir, Devnet, Rpc) {
    let dir = tempfile::tempdir().unwrap();
    let devnet = Devnet::start(config(dir.path(), block_time), true).await.unwrap();
    let rpc = Rpc::new(devnet.url());
    (dir, devnet, rpc)
}

fn eip1559(chain_id: u64, nonce: u64, to: TxKind, value: U256, input: Bytes, gas: u64) -> TxEip1559 {
    TxEip1559 {
        chain_id,
        nonce,
        gas_limit: gas,
        max_fee_per_gas: 20_000_000_000,
        max_priority_fee_per_gas: 1_000_000_000,
        to,
        value,
        input,
        access_list: Default::default(),
    }
}

fn sign<T: SignableTransaction<Signature>>(s: &PrivateKeySigner, mut tx: T) -> TxEnvelope
where
    alloy::consensus::Signed<T>: Into<TxEnvelope>,
{
    let sig = s.sign_transaction_sync(&mut tx).unwrap();
    tx.into_signed(sig).into()
}

fn token_deploy(chain_id: u64, nonce: u64) -> TxEip1559 {
    let ctor = AqueductToken::constructorCall {
        name_: "T".into(),
        symbol_: "T".into(),
        decimals_: 18,
        initialSupply: U256::from(1_000_000u64),
    };
    let code = [AqueductToken::BYTECODE.as_ref(), &ctor.abi_encode()].concat();
    eip1559(chain_id, nonce, TxKind::Create, U256::ZERO, code.into(), 2_000_000)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transactions_receipts_logs_proofs_and_calls() {
    let (_dir, devnet, rpc) = start(0.0).await;
    let alice = devnet.signers[0].clone();
    let bob = devnet.signers[1].address();
    assert_eq!(rpc.num("eth_chainId", json!([])).await, 31337);
    assert_eq!(rpc.num("eth_blockNumber", json!([])).await, 0);
    assert_eq!(rpc.call("net_version", json!([])).await, "31337");
    assert_eq!(rpc.num("eth_getBalance", json!([alice.address(), "latest"])).await, 10_000 * 10u128.pow(18));
    assert_eq!(rpc.call("eth_accounts", json!([])).await.as_array().unwrap().len(), 10);

    // A value transfer is mined at once; receipt, block and balances agree.
    let tx = sign(&alice, eip1559(31337, 0, TxKind::Call(bob), U256::from(12345), Bytes::new(), 21_000));
    let h = rpc.send(&tx).await.unwrap();
    let r = rpc.receipt(h).await;
    assert_eq!(r["status"], "0x1");
    assert_eq!(quantity(&r["gasUsed"]), 21_000);
    assert_eq!(r["from"].as_str().unwrap().parse::<Address>().unwrap(), alice.address());
    let block = rpc.call("eth_getBlockByNumber", json!([r["blockNumber"], true])).await;
    assert_eq!(block["transactions"][0]["hash"].as_str().unwrap().parse::<B256>().unwrap(), h);
    assert_eq!(rpc.call("eth_getBlockByHash", json!([block["hash"], false])).await["number"], block["number"]);
    assert_eq!(rpc.num("eth_getBalance", json!([bob])).await, 10_000 * 10u128.pow(18) + 12345);
    assert_eq!(rpc.num("eth_getTransactionCount", json!([alice.address(), "latest"])).await, 1);
    let tx_by_hash = rpc.call("eth_getTransactionByHash", json!([h])).await;
    assert_eq!(tx_by_hash["blockHash"], block["hash"]);

    // The ERC-20: deploy, transfer, logs, balanceOf through eth_call.
    let deploy = sign(&alice, token_deploy(31337, 1));
    let r = rpc.receipt(rpc.send(&deploy).await.unwrap()).await;
    let token: Address = r["contractAddress"].as_str().unwrap().parse().unwrap();
    assert_eq!(token, alice.address().create(1));
    assert!(rpc.call("eth_getCode", json!([token, "latest"])).await.as_str().unwrap().len() > 1000);
    let data = AqueductToken::transferCall { to: bob, value: U256::from(77) }.abi_encode();
    let est = rpc
        .num("eth_estimateGas", json!([{"from": alice.address(), "to": token, "data": Bytes::from(data.clone())}]))
        .await;
    assert!((40_000..80_000).contains(&est), "estimate {est}");
    let t = sign(&alice, eip1559(31337, 2, TxKind::Call(token), U256::ZERO, data.into(), est as u64));
    let r = rpc.receipt(rpc.send(&t).await.unwrap()).await;
    assert_eq!(r["status"], "0x1", "{r}");
    assert_eq!(r["logs"][0]["address"].as_str().unwrap().parse::<Address>().unwrap(), token);
    let logs = rpc.call("eth_getLogs", json!([{"fromBlock": "0x0", "toBlock": "latest", "address": token}])).await;
    assert_eq!(logs.as_array().unwrap().len(), 3, "mint, minter change and transfer: {logs}");
    let transfer_topic = keccak256("Transfer(address,address,uint256)");
    let only_transfers = rpc.call("eth_getLogs", json!([{"fromBlock": "earliest", "topics": [transfer_topic]}])).await;
    assert_eq!(only_transfers.as_array().unwrap().len(), 2);
    let bal = AqueductToken::balanceOfCall::new((bob,)).abi_encode();
    let out = rpc.call("eth_call", json!([{"to": token, "data": Bytes::from(bal)}, "latest"])).await;
    assert_eq!(U256::from_str_radix(out.as_str().unwrap().trim_start_matches("0x"), 16).unwrap(), U256::from(77));
    let receipts = rpc.call("eth_getBlockReceipts", json!([r["blockNumber"]])).await;
    assert_eq!(receipts[0]["transactionHash"], r["transactionHash"]);

    // Reverts come back as code 3 with the revert data (ERC20InsufficientBalance).
    let too_much = AqueductToken::transferCall { to: alice.address(), value: U256::from(1) }.abi_encode();
    let err = rpc
        .try_call("eth_call", json!([{"from": Address::repeat_byte(9), "to": token, "data": Bytes::from(too_much)}]))
        .await
        .unwrap_err();
    assert_eq!(err["code"], 3);
    assert!(err["data"].as_str().unwrap().starts_with("0xe450d38c"), "{err}");

    // State overrides on eth_call: code that returns 42.
    let code = "0x602a60005260206000f3";
    let out = rpc
        .call(
            "eth_call",
            json!([{"to": Address::repeat_byte(7)}, "latest", {Address::repeat_byte(7).to_string(): {"code": code}}]),
        )
        .await;
    assert_eq!(U256::from_str_radix(out.as_str().unwrap().trim_start_matches("0x"), 16).unwrap(), U256::from(42));

    // eth_getProof verifies against the block's state root.
    let head = rpc.call("eth_getBlockByNumber", json!(["latest", false])).await;
    let root: B256 = head["stateRoot"].as_str().unwrap().parse().unwrap();
    let slot = B256::from(U256::from(5).to_be_bytes::<32>()); // some storage slot
    let proof = rpc.call("eth_getProof", json!([token, [slot], "latest"])).await;
    let nodes: Vec<Vec<u8>> = proof["accountProof"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| alloy::primitives::hex::decode(n.as_str().unwrap()).unwrap())
        .collect();
    let raw = aqueduct_trie::verify_proof(root, keccak256(token).as_slice(), nodes)
        .unwrap()
        .expect("token account is in the trie");
    let acc: aqueduct_primitives::StateAccount = alloy_rlp::Decodable::decode(&mut raw.as_slice()).unwrap();
    assert_eq!(acc.storage_root.to_string(), proof["storageHash"].as_str().unwrap());
    assert_eq!(acc.nonce, 1);

    // Fee market answers.
    assert!(rpc.num("eth_gasPrice", json!([])).await > 0);
    let fh = rpc.call("eth_feeHistory", json!(["0x4", "latest", [25.0, 75.0]])).await;
    assert_eq!(fh["baseFeePerGas"].as_array().unwrap().len(), 5);
    assert_eq!(fh["reward"].as_array().unwrap().len(), 4);
    assert!(quantity(&rpc.call("eth_blobBaseFee", json!([])).await) >= 1);

    // Filters.
    let bf = rpc.call("eth_newBlockFilter", json!([])).await;
    let lf = rpc.call("eth_newFilter", json!([{"address": token}])).await;
    let data = AqueductToken::transferCall { to: bob, value: U256::from(1) }.abi_encode();
    let t = sign(&alice, eip1559(31337, 3, TxKind::Call(token), U256::ZERO, data.into(), 80_000));
    rpc.receipt(rpc.send(&t).await.unwrap()).await;
    assert_eq!(rpc.call("eth_getFilterChanges", json!([bf])).await.as_array().unwrap().len(), 1);
    assert_eq!(rpc.call("eth_getFilterChanges", json!([lf])).await.as_array().unwrap().len(), 1);
    assert_eq!(rpc.call("eth_getFilterChanges", json!([lf])).await.as_array().unwrap().len(), 0);
    assert_eq!(rpc.call("eth_uninstallFilter", json!([lf])).await, true);

    // eth_sendTransaction from an unlocked dev account.
    let h = rpc
        .call("eth_sendTransaction", json!([{"from": devnet.signers[2].address(), "to": bob, "value": "0x10"}]))
        .await;
    assert_eq!(rpc.receipt(h.as_str().unwrap().parse().unwrap()).await["status"], "0x1");
    devnet.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_transactions_get_standard_errors() {
    // Long block time: blocks only when asked, so the pool can be inspected.
    let (_dir, devnet, rpc) = start(3600.0).await;
    let alice = devnet.signers[0].clone();
    let to = TxKind::Call(Address::repeat_byte(1));
    let ok = |nonce| eip1559(31337, nonce, to, U256::from(1), Bytes::new(), 21_000);

    let wrong_chain = sign(&alice, eip1559(1, 0, to, U256::ZERO, Bytes::new(), 21_000));
    assert!(rpc.send(&wrong_chain).await.unwrap_err().contains("invalid chain id"));
    let low_gas = sign(&alice, eip1559(31337, 0, to, U256::ZERO, Bytes::new(), 20_000));
    assert!(rpc.send(&low_gas).await.unwrap_err().starts_with("intrinsic gas too low"));
    let mut cheap = ok(0);
    cheap.max_fee_per_gas = 1;
    cheap.max_priority_fee_per_gas = 1;
    assert!(rpc.send(&sign(&alice, cheap)).await.unwrap_err().starts_with("max fee per gas less than block base fee"));
    let poor = PrivateKeySigner::random();
    assert!(rpc.send(&sign(&poor, ok(0))).await.unwrap_err().starts_with("insufficient funds for gas * price + value"));
    let sig = Signature::new(U256::ZERO, U256::from(1), false);
    let env: TxEnvelope = SignableTransaction::<Signature>::into_signed(ok(0), sig).into();
    assert!(rpc.send(&env).await.unwrap_err().starts_with("invalid sender"));

    // Replacement needs a 10% bump; the same hash twice is "already known".
    let first = sign(&alice, ok(0));
    rpc.send(&first).await.unwrap();
    assert_eq!(rpc.send(&first).await.unwrap_err(), "already known");
    let mut same_fee = ok(0);
    same_fee.value = U256::from(2);
    assert_eq!(rpc.send(&sign(&alice, same_fee.clone())).await.unwrap_err(), "replacement transaction underpriced");
    same_fee.max_fee_per_gas = 22_000_000_000;
    same_fee.max_priority_fee_per_gas = 1_100_000_000;
    let replacement = rpc.send(&sign(&alice, same_fee)).await.unwrap();
    rpc.call("evm_mine", json!([])).await;
    let r = rpc.receipt(replacement).await;
    assert_eq!(r["status"], "0x1");
    assert!(rpc.call("eth_getTransactionReceipt", json!([first.tx_hash()])).await.is_null());
    assert!(rpc.send(&sign(&alice, ok(0))).await.unwrap_err().starts_with("nonce too low"));

    // Legacy (EIP-155) transactions are accepted too.
    let legacy = TxLegacy {
        chain_id: Some(31337),
        nonce: 1,
        gas_price: 20_000_000_000,
        gas_limit: 21_000,
        to,
        value: U256::from(1),
        input: Bytes::new(),
    };
    let h = rpc.send(&sign(&alice, legacy)).await.unwrap();
    rpc.call("evm_mine", json!([])).await;
    assert_eq!(rpc.receipt(h).await["type"], "0x0");
    devnet.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blob_transactions_carry_kzg_checked_blobs_and_move_the_blob_fee() {
    let (_dir, devnet, rpc) = start(3600.0).await;
    let (a, b) = (devnet.signers[3].clone(), devnet.signers[4].clone());
    let six: alloy::eips::eip4844::BlobTransactionSidecar =
        SidecarBuilder::<SimpleCoder>::from_slice(&vec![7u8; 6 * 120 * 1024]).build().unwrap();
    let three: alloy::eips::eip4844::BlobTransactionSidecar =
        SidecarBuilder::<SimpleCoder>::from_slice(&vec![9u8; 3 * 120 * 1024]).build().unwrap();
    assert_eq!((six.blobs.len(), three.blobs.len()), (6, 3));
    let blob_tx = |s: &PrivateKeySigner, nonce: u64, sidecar: &alloy::eips::eip4844::BlobTransactionSidecar| {
        let tx = TxEip4844 {
            chain_id: 31337,
            nonce,
            gas_limit: 21_000,
            max_fee_per_gas: 20_000_000_000,
            max_priority_fee_per_gas: 1_000_000_000,
            to: Address::repeat_byte(0x42),
            value: U256::ZERO,
            access_list: Default::default(),
            blob_versioned_hashes: sidecar.versioned_hashes().collect(),
            max_fee_per_blob_gas: 1_000_000,
            input: Bytes::new(),
        };
        let mut v = TxEip4844Variant::TxEip4844WithSidecar(TxEip4844WithSidecar::from_tx_and_sidecar(
            tx,
            BlobTransactionSidecarVariant::Eip4844(sidecar.clone()),
        ));
        let sig = s.sign_transaction_sync(&mut v).unwrap();
        TxEnvelope::Eip4844(v.into_signed(sig))
    };

    // A wrong KZG proof is refused.
    let mut forged = three.clone();
    forged.proofs.swap(0, 1);
    let err = rpc.send(&blob_tx(&a, 0, &forged)).await.unwrap_err();
    assert!(err.contains("KZG"), "{err}");

    assert_eq!(rpc.num("eth_blobBaseFee", json!([])).await, 1);
    let mut first = None;
    for i in 0..12u64 {
        let h1 = rpc.send(&blob_tx(&a, i, &six)).await.unwrap();
        rpc.send(&blob_tx(&b, i, &three)).await.unwrap();
        first.get_or_insert(h1);
        rpc.call("evm_mine", json!([])).await;
    }
    let r = rpc.receipt(first.unwrap()).await;
    assert_eq!(quantity(&r["blobGasUsed"]), 6 * 131_072);
    assert_eq!(quantity(&r["blobGasPrice"]), 1);
    let block = rpc.call("eth_getBlockByNumber", json!([r["blockNumber"], true])).await;
    assert_eq!(quantity(&block["blobGasUsed"]), 9 * 131_072);
    let mut counts: Vec<usize> = block["transactions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["blobVersionedHashes"].as_array().unwrap().len())
        .collect();
    counts.sort();
    assert_eq!(counts, vec![3, 6]);
    // Nine blobs a block against a target of six: the excess grows and the fee with it.
    let fee = rpc.num("eth_blobBaseFee", json!([])).await;
    assert!(fee > 1, "blob base fee did not move: {fee}");
    let head = rpc.call("eth_getBlockByNumber", json!(["latest", false])).await;
    assert_eq!(quantity(&head["excessBlobGas"]), 11 * 3 * 131_072);
    // The blobs are kept, by versioned hash.
    let vh = six.versioned_hashes().next().unwrap();
    let blob = rpc.call("aqueduct_getBlob", json!([vh])).await;
    assert_eq!(blob.as_str().unwrap().len(), 2 + 2 * (131_072 + 48 + 48));
    devnet.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dev_methods_snapshots_and_reorgs() {
    let (_dir, devnet, rpc) = start(0.0).await;
    let alice = devnet.signers[0].clone();
    let who = Address::repeat_byte(0x55);

    rpc.call("anvil_setBalance", json!([who, "0x1234"])).await;
    assert_eq!(rpc.num("eth_getBalance", json!([who])).await, 0x1234);
    rpc.call("anvil_setCode", json!([who, "0x602a60005260206000f3"])).await;
    assert_eq!(rpc.call("eth_getCode", json!([who])).await, "0x602a60005260206000f3");
    rpc.call("anvil_setStorageAt", json!([who, "0x1", B256::repeat_byte(1)])).await;
    assert_eq!(rpc.call("eth_getStorageAt", json!([who, "0x1", "latest"])).await, B256::repeat_byte(1).to_string());
    rpc.call("anvil_mine", json!(["0x3"])).await;
    assert_eq!(rpc.num("eth_blockNumber", json!([])).await, 3);

    // Time control.
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as u128;
    rpc.call("evm_increaseTime", json!([3600])).await;
    rpc.call("evm_mine", json!([])).await;
    let t1 = quantity(&rpc.call("eth_getBlockByNumber", json!(["latest", false])).await["timestamp"]);
    assert!(t1 >= now + 3600, "{now} + 3600 -> {t1}");
    rpc.call("evm_setNextBlockTimestamp", json!([t1 + 100_000])).await;
    rpc.call("evm_mine", json!([])).await;
    assert_eq!(quantity(&rpc.call("eth_getBlockByNumber", json!(["latest", false])).await["timestamp"]), t1 + 100_000);

    // Snapshots.
    let snap = rpc.call("evm_snapshot", json!([])).await;
    let n = rpc.num("eth_blockNumber", json!([])).await;
    let h = rpc
        .send(&sign(&alice, eip1559(31337, 0, TxKind::Call(who), U256::from(1), Bytes::new(), 30_000)))
        .await
        .unwrap();
    rpc.receipt(h).await;
    assert_eq!(rpc.num("eth_getBalance", json!([who])).await, 0x1235);
    assert_eq!(rpc.call("evm_revert", json!([snap])).await, true);
    assert_eq!(rpc.num("eth_blockNumber", json!([])).await, n);
    assert_eq!(rpc.num("eth_getBalance", json!([who])).await, 0x1234);
    assert!(rpc.call("eth_getTransactionReceipt", json!([h])).await.is_null());

    // Impersonation.
    let whale = Address::repeat_byte(0x56);
    rpc.call("anvil_setBalance", json!([whale, "0xde0b6b3a7640000"])).await;
    rpc.call("anvil_impersonateAccount", json!([whale])).await;
    let h = rpc
        .call(
            "eth_sendTransaction",
            json!([{"from": whale, "to": alice.address(), "value": "0x1", "gas": "0x5208", "gasPrice": "0x3b9aca00"}]),
        )
        .await;
    let h: B256 = h.as_str().unwrap().parse().unwrap();
    assert!(
        rpc.try_call("eth_sendTransaction", json!([{"from": Address::repeat_byte(0x66), "to": who}])).await.is_err()
    );
    let r = rpc.receipt(h).await;
    assert_eq!(r["from"].as_str().unwrap().parse::<Address>().unwrap(), whale);

    // A reorg of depth 2 replaces the last two blocks (and drops their transactions).
    let head = rpc.num("eth_blockNumber", json!([])).await as u64;
    let old = rpc.call("eth_getBlockByNumber", json!([format!("{:#x}", head - 1), false])).await;
    let new_tx =
        sign(&alice, eip1559(31337, 0, TxKind::Call(Address::repeat_byte(0x77)), U256::from(5), Bytes::new(), 21_000));
    rpc.call("anvil_reorg", json!([2, [Bytes::from(new_tx.encoded_2718())]])).await;
    assert_eq!(rpc.num("eth_blockNumber", json!([])).await as u64, head + 1);
    let replaced = rpc.call("eth_getBlockByNumber", json!([format!("{:#x}", head - 1), false])).await;
    assert_ne!(replaced["hash"], old["hash"]);
    assert!(
        rpc.call("eth_getTransactionReceipt", json!([h])).await.is_null(),
        "the impersonated tx was in a reorged block"
    );
    assert_eq!(rpc.num("eth_getBalance", json!([Address::repeat_byte(0x77)])).await, 5);
    devnet.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_subscriptions() {
    let (_dir, devnet, rpc) = start(0.0).await;
    let (mut ws, _) = tokio_tungstenite::connect_async(devnet.ws_url()).await.unwrap();
    use tokio_tungstenite::tungstenite::Message;
    ws.send(Message::text(json!({"jsonrpc":"2.0","id":1,"method":"eth_subscribe","params":["newHeads"]}).to_string()))
        .await
        .unwrap();
    ws.send(Message::text(json!({"jsonrpc":"2.0","id":2,"method":"eth_subscribe","params":["logs", {}]}).to_string()))
        .await
        .unwrap();
    let mut ids = Vec::new();
    while ids.len() < 2 {
        let m: Value = serde_json::from_str(ws.next().await.unwrap().unwrap().to_text().unwrap()).unwrap();
        assert!(m["result"].as_str().unwrap().starts_with("0x"));
        ids.push(m["result"].clone());
    }
    let alice = devnet.signers[0].clone();
    rpc.receipt(rpc.send(&sign(&alice, token_deploy(31337, 0))).await.unwrap()).await;
    let (mut heads, mut logs) = (0, 0);
    while heads < 1 || logs < 2 {
        let m: Value = serde_json::from_str(
            tokio::time::timeout(Duration::from_secs(5), ws.next()).await.unwrap().unwrap().unwrap().to_text().unwrap(),
        )
        .unwrap();
        assert_eq!(m["method"], "eth_subscription");
        if m["params"]["subscription"] == ids[0] {
            assert_eq!(m["params"]["result"]["number"], "0x1");
            heads += 1;
        } else {
            assert_eq!(m["params"]["result"]["removed"], false);
            logs += 1;
        }
    }
    devnet.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_requests_get_json_rpc_errors_and_the_server_stays_up() {
    let (_dir, devnet, rpc) = start(0.0).await;
    let http = reqwest::Client::new();
    let post = |body: String| http.post(devnet.url()).header("content-type", "application/json").body(body).send();

    let v: Value = post("{not json".into()).await.unwrap().json().await.unwrap();
    assert_eq!(v["error"]["code"], -32700);
    let e = rpc.try_call("eth_getBalance", json!(["0xnothex"])).await.unwrap_err();
    assert_eq!(e["code"], -32602);
    let e = rpc.try_call("eth_getBalance", json!([Address::ZERO, "latest", 1, 2])).await.unwrap_err();
    assert_eq!(e["code"], -32602);
    let e = rpc.try_call("eth_noSuchMethod", json!([])).await.unwrap_err();
    assert_eq!(e["code"], -32601);
    let e = rpc.try_call("eth_sendRawTransaction", json!(["0x02deadbeef"])).await.unwrap_err();
    assert!(e["message"].as_str().unwrap().starts_with("failed to decode signed transaction"), "{e}");
    // Oversized body: refused with a JSON-RPC error.
    {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut s = tokio::net::TcpStream::connect(devnet.rpc_addr).await.unwrap();
        let head = format!(
            "POST / HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            17 * 1024 * 1024
        );
        s.write_all(head.as_bytes()).await.unwrap();
        s.write_all(&[b' '; 65_536]).await.unwrap();
        let mut buf = vec![0u8; 4096];
        let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf)).await.unwrap().unwrap();
        let text = String::from_utf8_lossy(&buf[..n]);
        assert!(text.starts_with("HTTP/1.1 413"), "{text}");
        let body: Value = serde_json::from_str(text.split("\r\n\r\n").nth(1).unwrap()).unwrap();
        assert!(body["error"]["code"].is_i64(), "{body}");
    }
    // A batch of 10,000 calls is over the limit: one error, no crash.
    let batch: Vec<Value> =
        (0..10_000).map(|i| json!({"jsonrpc":"2.0","id":i,"method":"eth_blockNumber","params":[]})).collect();
    let v: Value = post(serde_json::to_string(&batch).unwrap()).await.unwrap().json().await.unwrap();
    assert!(v["error"]["code"].is_i64(), "{}", v.to_string().chars().take(200).collect::<String>());
    // A batch within the limit is answered call by call.
    let batch: Vec<Value> =
        (0..100).map(|i| json!({"jsonrpc":"2.0","id":i,"method":"eth_chainId","params":[]})).collect();
    let v: Value = post(serde_json::to_string(&batch).unwrap()).await.unwrap().json().await.unwrap();
    assert_eq!(v.as_array().unwrap().len(), 100);
    // Still up.
    assert_eq!(rpc.num("eth_chainId", json!([])).await, 31337);
    devnet.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_resumes_the_chain() {
    let (dir, devnet, rpc) = start(0.0).await;
    let alice = devnet.signers[0].clone();
    let r = rpc.receipt(rpc.send(&sign(&alice, token_deploy(31337, 0))).await.unwrap()).await;
    rpc.call("anvil_setBalance", json!([Address::repeat_byte(3), "0x99"])).await;
    let head = rpc.call("eth_getBlockByNumber", json!(["latest", true])).await;
    devnet.stop().await;

    let devnet = Devnet::start(config(dir.path(), 0.0), false).await.unwrap();
    let rpc = Rpc::new(devnet.url());
    assert_eq!(rpc.call("eth_getBlockByNumber", json!(["latest", true])).await, head);
    assert_eq!(rpc.call("eth_getTransactionReceipt", json!([r["transactionHash"]])).await, r);
    assert_eq!(rpc.num("eth_getBalance", json!([Address::repeat_byte(3)])).await, 0x99);
    // And the chain continues from there, with the dev change in the next root.
    let h = rpc
        .send(&sign(
            &alice,
            eip1559(31337, 1, TxKind::Call(Address::repeat_byte(3)), U256::from(1), Bytes::new(), 21_000),
        ))
        .await
        .unwrap();
    let r2 = rpc.receipt(h).await;
    assert_eq!(quantity(&r2["blockNumber"]), quantity(&head["number"]) + 1);
    assert_eq!(rpc.num("eth_getBalance", json!([Address::repeat_byte(3)])).await, 0x9a);
    devnet.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instant_mining_waits_for_a_nonce_gap_without_empty_blocks() {
    let (_dir, devnet, rpc) = start(0.0).await;
    let alice = devnet.signers[0].clone();
    let to = TxKind::Call(Address::repeat_byte(2));
    let gapped = rpc.send(&sign(&alice, eip1559(31337, 2, to, U256::from(1), Bytes::new(), 21_000))).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(rpc.num("eth_blockNumber", json!([])).await, 0, "no block for a transaction that cannot be included");
    let status = rpc.call("txpool_status", json!([])).await;
    assert_eq!((quantity(&status["pending"]), quantity(&status["queued"])), (0, 1));
    for n in 0..2 {
        rpc.send(&sign(&alice, eip1559(31337, n, to, U256::from(1), Bytes::new(), 21_000))).await.unwrap();
    }
    assert_eq!(rpc.receipt(gapped).await["status"], "0x1");
    assert_eq!(rpc.num("eth_getTransactionCount", json!([alice.address(), "latest"])).await, 3);
    devnet.stop().await;
}

/// Issue 23, item 5: 200,000 reward percentiles aborted the node (the reward matrix), and
/// installed filters were unbounded in number and size. Percentiles are bounded as geth bounds
/// them, and so are filters.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fee_history_and_filters_are_bounded() {
    let (_dir, devnet, rpc) = start(0.0).await;
    let many: Vec<f64> = (0..200_000).map(|i| i as f64 / 2_000.0).collect();
    let e = rpc.try_call("eth_feeHistory", json!(["0x400", "latest", many])).await.unwrap_err();
    assert_eq!(e["code"], -32602, "{e}");
    assert!(e["message"].as_str().unwrap().contains("at most 100"), "{e}");
    let e = rpc.try_call("eth_feeHistory", json!(["0x4", "latest", [50.0, 10.0]])).await.unwrap_err();
    assert_eq!(e["code"], -32602, "{e}");
    let hundred: Vec<f64> = (0..100).map(f64::from).collect();
    let fh = rpc.call("eth_feeHistory", json!(["0x4", "latest", hundred])).await;
    assert_eq!(fh["reward"][0].as_array().map(Vec::len), Some(100), "{fh}");

    let addresses: Vec<String> = (0..1_001u32).map(|i| format!("{:#042x}", i + 1)).collect();
    let e = rpc.try_call("eth_newFilter", json!([{ "address": addresses }])).await.unwrap_err();
    assert!(e["message"].as_str().unwrap().contains("at most 1000"), "{e}");
    let e = rpc.try_call("eth_getLogs", json!([{ "address": addresses }])).await.unwrap_err();
    assert!(e["message"].as_str().unwrap().contains("at most 1000"), "{e}");
    for _ in 0..1_000 {
        rpc.call("eth_newBlockFilter", json!([])).await;
    }
    let e = rpc.try_call("eth_newBlockFilter", json!([])).await.unwrap_err();
    assert!(e["message"].as_str().unwrap().contains("too many filters"), "{e}");
    assert_eq!(rpc.call("eth_uninstallFilter", json!(["0x1"])).await, json!(true));
    rpc.call("eth_newBlockFilter", json!([])).await;
    devnet.stop().await;
}

/// Issue 23, item 8: ids that are objects, arrays or out-of-range numbers got HTTP 200 with the
/// body `null` (anvil: -32600), so did a member given twice; `"params":"x"` was ignored; and
/// `eth_subscribe` over HTTP got an "Internal error".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_ids_and_http_subscriptions_get_clear_errors() {
    let (_dir, devnet, rpc) = start(0.0).await;
    let post = |body: &'static str| {
        let (http, url) = (rpc.http.clone(), rpc.url.clone());
        async move {
            let r = http.post(url).header("content-type", "application/json").body(body).send().await.unwrap();
            r.json::<Value>().await.unwrap()
        }
    };
    for body in [
        r#"{"jsonrpc":"2.0","id":{},"method":"eth_blockNumber","params":[]}"#,
        r#"{"jsonrpc":"2.0","id":[1],"method":"eth_blockNumber","params":[]}"#,
        r#"{"jsonrpc":"2.0","id":1e999,"method":"eth_blockNumber","params":[]}"#,
        r#"[{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber","params":[]},{"jsonrpc":"2.0","id":{},"method":"eth_chainId","params":[]}]"#,
        r#"{"jsonrpc":"2.0","id":1,"id":2,"method":"eth_blockNumber","params":[]}"#,
        r#"{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber","method":"eth_chainId","params":[]}"#,
    ] {
        let v = post(body).await;
        assert_eq!(v["error"]["code"], -32600, "{body} -> {v}");
    }
    for params in [r#""x""#, "5", "true"] {
        let body = format!(r#"{{"jsonrpc":"2.0","id":3,"method":"eth_blockNumber","params":{params}}}"#);
        let v = post(Box::leak(body.into_boxed_str())).await;
        assert_eq!((v["error"]["code"].clone(), v["id"].clone()), (json!(-32602), json!(3)), "{params} -> {v}");
    }
    let v = post(r#"{"jsonrpc":"2.0","id":7,"method":"eth_subscribe","params":["newHeads"]}"#).await;
    assert!(v["error"]["message"].as_str().unwrap().contains("WebSocket"), "{v}");
    assert_eq!(v["id"], 7, "{v}");
    // Ordinary requests and batches are untouched.
    assert_eq!(post(r#"{"jsonrpc":"2.0","id":"a","method":"eth_chainId","params":[]}"#).await["result"], "0x7a69");
    let garbage = post("{not json").await;
    assert_eq!(garbage["error"]["code"], -32700, "{garbage}");
    devnet.stop().await;
}

/// Issue 23, item 4 through JSON-RPC: never-executable transactions (behind a nonce gap) could
/// fill the pool for good. An account queues at most 64; others' executable transactions are
/// still taken and mined; filling the gap makes the queued ones executable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gapped_transactions_are_bounded_per_account() {
    let (_dir, devnet, rpc) = start(0.0).await;
    let spammer = devnet.signers[3].clone();
    let to = TxKind::Call(Address::repeat_byte(3));
    let tx = |s: &PrivateKeySigner, n: u64| sign(s, eip1559(31337, n, to, U256::from(1), Bytes::new(), 21_000));
    for n in 1..=64 {
        rpc.send(&tx(&spammer, n)).await.unwrap();
    }
    let e = rpc.send(&tx(&spammer, 65)).await.unwrap_err();
    assert!(e.contains("too many queued"), "{e}");
    let status = rpc.call("txpool_status", json!([])).await;
    assert_eq!(quantity(&status["queued"]), 64);
    let alice = devnet.signers[0].clone();
    let h = rpc.send(&tx(&alice, 0)).await.unwrap();
    assert_eq!(rpc.receipt(h).await["status"], "0x1");
    let first = rpc.send(&tx(&spammer, 0)).await.unwrap();
    assert_eq!(rpc.receipt(first).await["status"], "0x1");
    for _ in 0..100 {
        if rpc.num("eth_getTransactionCount", json!([spammer.address(), "latest"])).await == 65 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(rpc.num("eth_getTransactionCount", json!([spammer.address(), "latest"])).await, 65);
    devnet.stop().await;
}

/// Issue 16, item 9: `OPTIONS` answered 405 and responses carried no
/// `Access-Control-Allow-Origin`, so a dapp served from another origin could not call the devnet.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browsers_from_other_origins_may_call() {
    let (_dir, devnet, rpc) = start(0.0).await;
    let pre = rpc
        .http
        .request(reqwest::Method::OPTIONS, &rpc.url)
        .header("Origin", "http://localhost:5173")
        .header("Access-Control-Request-Method", "POST")
        .header("Access-Control-Request-Headers", "content-type")
        .send()
        .await
        .unwrap();
    assert!(pre.status().is_success(), "preflight: {}", pre.status());
    assert_eq!(pre.headers()["access-control-allow-origin"], "*");
    let post = rpc
        .http
        .post(&rpc.url)
        .header("Origin", "http://localhost:5173")
        .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(post.headers()["access-control-allow-origin"], "*");
    assert_eq!(post.json::<Value>().await.unwrap()["result"], "0x7a69");
    devnet.stop().await;
}

/// Issue 16, item 11: an underfunded sender's `eth_estimateGas` said "lack of funds (0) for max
/// fee (1)", which clients read as a revert; and a revert reason read "execution reverted:
/// revert: …". geth's wording for both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn insufficient_funds_and_revert_reasons_read_as_geth_says() {
    let (_dir, devnet, rpc) = start(0.0).await;
    let poor = "0x0000000000000000000000000000000000001234";
    let call = json!([{ "from": poor, "to": Address::repeat_byte(1), "value": "0x1", "maxFeePerGas": "0x3b9aca00" }]);
    let e = rpc.try_call("eth_estimateGas", call).await.unwrap_err();
    assert_eq!(e["code"], -32000, "{e}");
    assert!(e["message"].as_str().unwrap().starts_with("insufficient funds for gas * price + value"), "{e}");
    // Init code that reverts with Error("no").
    let data = [
        "6064600c60003960646000fd".to_string(),
        "08c379a0".into(),
        format!("{:064x}", 32),
        format!("{:064x}", 2),
        format!("{:0<64}", "6e6f"),
    ]
    .concat();
    let e = rpc.try_call("eth_call", json!([{ "data": format!("0x{data}") }])).await.unwrap_err();
    assert_eq!(e["message"], "execution reverted: no", "{e}");
    devnet.stop().await;
}

/// Issue 16, item 13: viem's and alloy's `multicall` need Multicall3 at its usual address; the
/// devnet had none. Through alloy's own multicall builder, as a client would batch reads.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multicall3_batches_reads_at_its_usual_address() {
    use alloy::providers::{Provider, ProviderBuilder};
    let (_dir, devnet, rpc) = start(0.0).await;
    let alice = devnet.signers[0].address();
    rpc.send(&sign(&devnet.signers[1], eip1559(31337, 0, TxKind::Call(alice), U256::from(5), Bytes::new(), 21_000)))
        .await
        .unwrap();
    let provider = ProviderBuilder::new().connect_http(devnet.url().parse().unwrap());
    assert!(provider.get_code_at(aqueduct_contracts::multicall::MULTICALL3).await.unwrap().len() > 100);
    let (balance, number) = provider.multicall().get_eth_balance(alice).get_block_number().aggregate().await.unwrap();
    assert_eq!(balance, provider.get_balance(alice).await.unwrap());
    assert_eq!(number, U256::from(1));
    // A failing call is reported in place when it may fail, and fails the batch when it may not.
    let token = AqueductToken::new(Address::repeat_byte(0x99), &provider);
    let (b, supply) = provider.multicall().get_eth_balance(alice).add(token.totalSupply()).aggregate3().await.unwrap();
    assert_eq!(b.unwrap(), balance);
    assert!(supply.is_err(), "a call to an account without code returns nothing to decode: an error in place");
    devnet.stop().await;
}

/// Issue 16, item 12: methods cast, forge, viem and wallets use were missing — traces, access
/// lists, signing with the dev accounts, uncle counts — and `eth_getLogs` with `fromBlock`
/// after `toBlock` was an error where geth and anvil answer `[]`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn traces_access_lists_signatures_and_empty_ranges() {
    let (_dir, devnet, rpc) = start(1.0).await;
    let alice = devnet.signers[0].clone();
    let bob = devnet.signers[1].address();
    let r = rpc.receipt(rpc.send(&sign(&alice, token_deploy(31337, 0))).await.unwrap()).await;
    let token: Address = r["contractAddress"].as_str().unwrap().parse().unwrap();
    let transfer = |nonce: u64, value: u64| {
        let data = AqueductToken::transferCall { to: bob, value: U256::from(value) }.abi_encode();
        sign(&alice, eip1559(31337, nonce, TxKind::Call(token), U256::ZERO, data.into(), 100_000))
    };
    // Two transfers in one block: tracing the second replays the first before it.
    let mut nonce = 1;
    let (first, second) = loop {
        let (a, b) = (rpc.send(&transfer(nonce, 5)).await.unwrap(), rpc.send(&transfer(nonce + 1, 7)).await.unwrap());
        let (ra, rb) = (rpc.receipt(a).await, rpc.receipt(b).await);
        nonce += 2;
        if ra["blockNumber"] == rb["blockNumber"] {
            break (ra, rb);
        }
        assert!(nonce < 9, "two transactions sent together never shared a block");
    };
    let h2 = second["transactionHash"].clone();
    let calls = rpc.call("debug_traceTransaction", json!([h2, {"tracer": "callTracer"}])).await;
    assert_eq!(calls["type"], "CALL", "{calls}");
    assert_eq!(calls["to"].as_str().unwrap().parse::<Address>().unwrap(), token);
    assert_eq!(quantity(&calls["gasUsed"]), quantity(&second["gasUsed"]), "{calls}");
    let pre = rpc.call("debug_traceTransaction", json!([h2, {"tracer": "prestateTracer"}])).await;
    let sender = pre[format!("{:#x}", alice.address())].clone();
    assert_eq!(sender["nonce"].as_u64(), Some(nonce - 1), "the first transfer ran before the second: {pre}");
    let logs = rpc.call("debug_traceTransaction", json!([first["transactionHash"]])).await;
    let steps = logs["structLogs"].as_array().unwrap();
    assert!(steps.len() > 50 && !logs["failed"].as_bool().unwrap(), "{}", steps.len());
    assert_eq!(steps.last().unwrap()["op"], "RETURN");
    assert_eq!(logs["gas"].as_u64().map(u128::from), Some(quantity(&first["gasUsed"])), "geth gives it as a number");
    let e = rpc.try_call("debug_traceTransaction", json!([B256::repeat_byte(9)])).await.unwrap_err();
    assert!(e["message"].as_str().unwrap().contains("not found"), "{e}");

    // A call traced as eth_call runs it; an access list of what a transfer touches.
    let bal = Bytes::from(AqueductToken::balanceOfCall::new((bob,)).abi_encode());
    let out = rpc.call("eth_call", json!([{"to": token, "data": bal}])).await;
    let traced =
        rpc.call("debug_traceCall", json!([{"to": token, "data": bal}, "latest", {"tracer": "callTracer"}])).await;
    assert_eq!(traced["output"], out, "{traced}");
    let data = Bytes::from(AqueductToken::transferCall { to: bob, value: U256::from(1) }.abi_encode());
    let list = rpc.call("eth_createAccessList", json!([{"from": alice.address(), "to": token, "data": data}])).await;
    let items = list["accessList"].as_array().unwrap();
    let entry = items.iter().find(|i| i["address"].as_str().unwrap().parse::<Address>().unwrap() == token);
    assert_eq!(entry.map(|e| e["storageKeys"].as_array().unwrap().len()), Some(2), "both balances: {list}");
    assert!(quantity(&list["gasUsed"]) > 21_000 && list.get("error").is_none_or(Value::is_null), "{list}");

    // Signatures by the dev accounts recover to them.
    let msg = b"hello aqueduct";
    let sig: Signature = serde_json::from_value::<Bytes>(
        rpc.call("personal_sign", json!([Bytes::from(msg.to_vec()), alice.address()])).await,
    )
    .map(|b| Signature::try_from(b.as_ref()).unwrap())
    .unwrap();
    assert_eq!(sig.recover_address_from_msg(msg).unwrap(), alice.address());
    let same = rpc.call("eth_sign", json!([alice.address(), Bytes::from(msg.to_vec())])).await;
    assert_eq!(same.as_str().unwrap().parse::<Bytes>().unwrap().as_ref(), sig.as_bytes().as_slice());
    let typed = json!({
        "types": {
            "EIP712Domain": [{"name": "name", "type": "string"}, {"name": "chainId", "type": "uint256"}],
            "Mail": [{"name": "to", "type": "address"}, {"name": "contents", "type": "string"}]
        },
        "primaryType": "Mail",
        "domain": {"name": "Aqueduct", "chainId": 31337},
        "message": {"to": bob, "contents": "hi"}
    });
    let hash =
        serde_json::from_value::<alloy::dyn_abi::TypedData>(typed.clone()).unwrap().eip712_signing_hash().unwrap();
    for data in [typed.clone(), Value::String(typed.to_string())] {
        let raw = rpc.call("eth_signTypedData_v4", json!([alice.address(), data])).await;
        let sig = Signature::try_from(raw.as_str().unwrap().parse::<Bytes>().unwrap().as_ref()).unwrap();
        assert_eq!(sig.recover_address_from_prehash(&hash).unwrap(), alice.address());
    }
    let e = rpc.try_call("personal_sign", json!(["0x00", Address::repeat_byte(5)])).await.unwrap_err();
    assert!(e["message"].as_str().unwrap().contains("not an unlocked"), "{e}");

    // No uncles; an empty log range is no logs.
    assert_eq!(rpc.call("eth_getUncleCountByBlockNumber", json!(["0x0"])).await, "0x0");
    assert!(rpc.call("eth_getUncleCountByBlockNumber", json!(["0x9999"])).await.is_null());
    assert!(rpc.call("eth_getUncleByBlockNumberAndIndex", json!(["0x0", "0x0"])).await.is_null());
    let head = rpc.num("eth_blockNumber", json!([])).await;
    for range in [json!({"fromBlock": "0x2", "toBlock": "0x1"}), json!({"fromBlock": format!("{:#x}", head + 10)})] {
        assert_eq!(rpc.call("eth_getLogs", json!([range])).await, json!([]), "{range}");
    }
    devnet.stop().await;
}
