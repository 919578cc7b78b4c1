//! The sidechain bench (`aqueduct bench sidechain`): validators on this machine (each on its own
//! consensus thread, over TCP on localhost) under a sustained load of signed transfers through
//! their JSON-RPC, and anvil under the same load in the same run as the peer. Reports transfers
//! per second (overall and per 5-second window), time from a transfer's send to the finalized
//! block that holds it (p50/p99), the L1 gas of a checkpoint at several validator-set sizes,
//! and how long a deposit and a withdrawal take on these settings.

use std::{
    collections::HashMap,
    sync::Arc,
    time::{Duration, Instant},
};

use alloy::{
    consensus::{SignableTransaction, TxEip1559, TxEnvelope},
    eips::eip2718::Encodable2718,
    network::TxSignerSync,
    primitives::{Address, B256, TxKind, U256, hex},
    signers::local::PrivateKeySigner,
};
use aqueduct_contracts::sidechain::{CHILD_BRIDGE, ChildBridge};
use aqueduct_eth::L1Client;
use aqueduct_l1::{Devnet, L1Config};
use aqueduct_primitives::Signer;
use aqueduct_sidechain_node::{
    ValidatorKeys,
    l1::{BridgeL1, deploy_bridge},
    rpc::{SidechainApiClient, sidechain_client},
    start_local_sidechain,
};
use aqueduct_sidechain_protocol::{BlsKey, Checkpoint, SignedCheckpoint, bls_aggregate};
use parking_lot::Mutex;
use serde::Serialize;
use serde_json::json;

use crate::client::RpcClient;

const ETH: u128 = 1_000_000_000_000_000_000;

#[derive(Clone, Debug)]
pub struct SidechainBenchOptions {
    pub validators: usize,
    /// Senders (each sends through one validator, in nonce order).
    pub users: usize,
    /// Seconds of load.
    pub duration: u64,
    pub block_time_ms: u64,
    pub checkpoint_interval: u64,
    /// Transfers a sender may have sent and not yet seen final.
    pub in_flight: usize,
    /// Validator-set sizes to measure a checkpoint's L1 gas at.
    pub checkpoint_sizes: Vec<usize>,
    /// Run the same load on anvil (1 s blocks) as the peer.
    pub anvil: bool,
}

impl Default for SidechainBenchOptions {
    fn default() -> Self {
        Self {
            validators: 4,
            users: 32,
            duration: 40,
            block_time_ms: 1_000,
            checkpoint_interval: 16,
            in_flight: 128,
            checkpoint_sizes: vec![4, 10, 30],
            anvil: true,
        }
    }
}

/// One chain's figures under the load.
#[derive(Clone, Debug, Default, Serialize)]
pub struct LoadFigures {
    pub sent: usize,
    pub finalized: usize,
    pub seconds: f64,
    pub per_sec: f64,
    pub windows: Vec<f64>,
    /// From the send to the block that holds it, as read over JSON-RPC every 20 ms.
    pub finality_ms_p50: f64,
    pub finality_ms_p99: f64,
    pub finality_ms_max: f64,
    pub blocks: u64,
    pub most_in_a_block: usize,
}

/// A checkpoint's L1 gas with `validators` in the set and `signatures` signing: one secp256k1
/// signature each over EIP-712 (`SidechainBridge`, what the sidechain uses), and one aggregate
/// BLS12-381 signature of as many (`BlsCheckpoints`, EIP-2537's precompiles).
#[derive(Clone, Debug, Serialize)]
pub struct CheckpointGas {
    pub validators: usize,
    pub signatures: usize,
    pub gas: u64,
    pub bls_gas: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct SidechainBenchReport {
    pub validators: usize,
    pub block_time_ms: u64,
    pub checkpoint_interval: u64,
    pub sidechain: LoadFigures,
    pub anvil: Option<LoadFigures>,
    pub checkpoints: Vec<CheckpointGas>,
    /// From the L1 deposit's receipt to the mint, seconds (0 confirmations, instant L1).
    pub deposit_s: f64,
    /// From the burn's receipt to the L1 payout, seconds.
    pub withdrawal_s: f64,
    pub withdraw_gas: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum SidechainBenchError {
    #[error("{0}")]
    Failed(String),
}

fn failed(what: &str, e: impl std::fmt::Display) -> SidechainBenchError {
    SidechainBenchError::Failed(format!("{what}: {e}"))
}

fn transfer(user: &PrivateKeySigner, chain_id: u64, nonce: u64, to: Address, value: U256) -> (String, B256) {
    let mut tx = TxEip1559 {
        chain_id,
        nonce,
        gas_limit: 21_000,
        max_fee_per_gas: 100_000_000_000,
        max_priority_fee_per_gas: 1_000_000_000,
        to: TxKind::Call(to),
        value,
        ..Default::default()
    };
    let sig = user.sign_transaction_sync(&mut tx).expect("a local key signs");
    let env = TxEnvelope::from(tx.into_signed(sig));
    (format!("0x{}", hex::encode(env.encoded_2718())), *env.tx_hash())
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// Sends transfers from `users` (user k through `urls[k % n]`) for `duration`, each keeping at
/// most `in_flight` unconfirmed; watches `watch` for the blocks that hold them.
async fn load(
    urls: &[String],
    watch: &str,
    chain_id: u64,
    users: &[PrivateKeySigner],
    duration: Duration,
    in_flight: usize,
) -> Result<LoadFigures, SidechainBenchError> {
    let sent_at: Arc<Mutex<HashMap<B256, Instant>>> = Arc::default();
    let done: Arc<Mutex<Vec<(Instant, f64)>>> = Arc::default();
    let confirmed: Arc<Vec<std::sync::atomic::AtomicU64>> =
        Arc::new((0..users.len()).map(|_| std::sync::atomic::AtomicU64::new(0)).collect());
    let owner: Arc<Mutex<HashMap<B256, usize>>> = Arc::default();
    let watcher = RpcClient::new(watch);
    let start_block = watcher.u64("eth_blockNumber", json!([])).await.map_err(|e| failed("the head", e))?;
    let start = Instant::now();
    let stop_at = start + duration;
    let sent_total = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut senders = Vec::new();
    for (k, u) in users.iter().enumerate() {
        let (rpc, u, sent_at, owner, confirmed, sent_total) = (
            RpcClient::new(&urls[k % urls.len()]),
            u.clone(),
            sent_at.clone(),
            owner.clone(),
            confirmed.clone(),
            sent_total.clone(),
        );
        senders.push(tokio::spawn(async move {
            let mut nonce =
                rpc.u64("eth_getTransactionCount", json!([u.address(), "latest"])).await.unwrap_or_default();
            let first = nonce;
            let sink = Address::repeat_byte(0x5e);
            while Instant::now() < stop_at {
                let done_here = confirmed[k].load(std::sync::atomic::Ordering::Relaxed);
                if nonce - first >= done_here + in_flight as u64 {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    continue;
                }
                let (raw, hash) = transfer(&u, chain_id, nonce, sink, U256::from(1u64));
                sent_at.lock().insert(hash, Instant::now());
                owner.lock().insert(hash, k);
                if rpc.call("eth_sendRawTransaction", json!([raw])).await.is_err() {
                    sent_at.lock().remove(&hash);
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
                sent_total.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                nonce += 1;
            }
        }));
    }
    // Watch blocks until the load is over and what was sent is final (or 30 s more).
    let mut next = start_block + 1;
    let (mut blocks, mut most) = (0u64, 0usize);
    let settle_until = stop_at + Duration::from_secs(30);
    loop {
        let head = watcher.u64("eth_blockNumber", json!([])).await.map_err(|e| failed("the head", e))?;
        while next <= head {
            let b = watcher
                .call("eth_getBlockByNumber", json!([format!("0x{next:x}"), false]))
                .await
                .map_err(|e| failed("a block", e))?;
            let now = Instant::now();
            let txs = b["transactions"].as_array().cloned().unwrap_or_default();
            blocks += 1;
            most = most.max(txs.len());
            for t in txs {
                let Some(h) = t.as_str().and_then(|s| s.parse::<B256>().ok()) else { continue };
                if let Some(at) = sent_at.lock().remove(&h) {
                    done.lock().push((now, (now - at).as_secs_f64() * 1000.0));
                    if let Some(k) = owner.lock().remove(&h) {
                        confirmed[k].fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                }
            }
            next += 1;
        }
        let now = Instant::now();
        if now > stop_at && (sent_at.lock().is_empty() || now > settle_until) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for s in senders {
        let _ = s.await;
    }
    let done = done.lock().clone();
    let mut lat: Vec<f64> = done.iter().map(|(_, l)| *l).collect();
    lat.sort_by(|a, b| a.partial_cmp(b).expect("finite"));
    let seconds = duration.as_secs_f64();
    let in_window = done.iter().filter(|(t, _)| *t <= stop_at).count();
    let windows = (0..(duration.as_secs() / 5))
        .map(|w| {
            let (a, b) = (start + Duration::from_secs(w * 5), start + Duration::from_secs(w * 5 + 5));
            done.iter().filter(|(t, _)| *t > a && *t <= b).count() as f64 / 5.0
        })
        .collect();
    Ok(LoadFigures {
        sent: sent_total.load(std::sync::atomic::Ordering::Relaxed),
        finalized: done.len(),
        seconds,
        per_sec: in_window as f64 / seconds,
        windows,
        finality_ms_p50: percentile(&lat, 0.5),
        finality_ms_p99: percentile(&lat, 0.99),
        finality_ms_max: lat.last().copied().unwrap_or_default(),
        blocks,
        most_in_a_block: most,
    })
}

/// A checkpoint's L1 gas with `n` validators in the set, signed by the least quorum.
async fn checkpoint_gas(
    l1: &L1Client,
    deployer: &PrivateKeySigner,
    n: usize,
) -> Result<CheckpointGas, SidechainBenchError> {
    let keys: Vec<Signer> =
        (0..n).map(|i| Signer::from_bytes(&ValidatorKeys::dev_secret(1_000 + i)).expect("a key")).collect();
    let addrs: Vec<Address> = keys.iter().map(|k| k.address()).collect();
    let (bridge, _) = deploy_bridge(l1, deployer, 909, &addrs).await.map_err(|e| failed("a bridge", e))?;
    let b = BridgeL1::new(l1.clone(), bridge);
    let domain = aqueduct_sidechain_protocol::Domain {
        l1_chain_id: l1.chain_id().await.map_err(|e| failed("chain id", e))?,
        bridge,
    };
    let cp = Checkpoint {
        number: 0,
        start_block: 1,
        end_block: 256,
        block_hash: B256::repeat_byte(1),
        state_root: B256::repeat_byte(2),
        withdrawals_root: B256::repeat_byte(3),
    };
    let quorum = b.quorum().await.map_err(|e| failed("the set", e))?;
    let mut signed = SignedCheckpoint::new(cp);
    for k in &keys {
        if quorum.reached(signed.signed_stake(&quorum)) {
            break;
        }
        signed.add(&domain, &quorum, cp.sign(&domain, k)).map_err(|e| failed("a signature", e))?;
    }
    let sent = b.submit_checkpoint(deployer, &signed).await.map_err(|e| failed("a checkpoint", e))?;
    let signatures = signed.signatures.len();
    let bls_gas = bls_checkpoint_gas(l1, deployer, n, signatures, &cp).await?;
    Ok(CheckpointGas { validators: n, signatures, gas: sent.gas, bls_gas })
}

/// The same checkpoint through `BlsCheckpoints`: `n` BLS keys, the first `signers` aggregated.
async fn bls_checkpoint_gas(
    l1: &L1Client,
    deployer: &PrivateKeySigner,
    n: usize,
    signers: usize,
    cp: &Checkpoint,
) -> Result<u64, SidechainBenchError> {
    use aqueduct_sidechain_node::l1::bls;
    let keys: Vec<BlsKey> = (0..n).map(|i| BlsKey::from_seed(&ValidatorKeys::dev_secret(2_000 + i))).collect();
    let pks: Vec<[u8; 128]> = keys.iter().map(|k| k.public_key()).collect();
    let at = bls::deploy(l1, deployer, &pks).await.map_err(|e| failed("the BLS checkpoint contract", e))?;
    let m = bls::message(l1, at, cp).await.map_err(|e| failed("the BLS message", e))?;
    let sig = bls_aggregate(&keys[..signers].iter().map(|k| k.sign(&m)).collect::<Vec<_>>())
        .ok_or_else(|| failed("aggregating", "no signature"))?;
    let bits = (0..signers).fold(U256::ZERO, |acc, i| acc | (U256::from(1) << i));
    let sent = bls::submit(l1, deployer, at, cp, &pks, bits, &sig).await.map_err(|e| failed("a BLS checkpoint", e))?;
    Ok(sent.gas)
}

pub async fn bench_sidechain(o: SidechainBenchOptions) -> Result<SidechainBenchReport, SidechainBenchError> {
    let dir = tempfile::tempdir().map_err(|e| failed("a directory", e))?;
    let devnet = Devnet::start(L1Config::instant(&dir.path().join("l1")), true)
        .await
        .map_err(|e| failed("starting the L1", e))?;
    let funder = devnet.signers[0].clone();
    let l1 = L1Client::new(&devnet.url()).map_err(|e| failed("the L1 client", e))?;

    let mut checkpoints = Vec::new();
    for n in &o.checkpoint_sizes {
        checkpoints.push(checkpoint_gas(&l1, &funder, *n).await?);
    }

    let side = start_local_sidechain(&devnet.url(), &funder, o.validators, o.checkpoint_interval, o.block_time_ms)
        .await
        .map_err(|e| failed("starting the sidechain", e))?;
    let bridge = BridgeL1::new(l1.clone(), side.spec.bridge);
    let urls: Vec<String> = (0..o.validators).map(|i| side.url(i)).collect();
    let rpc = sidechain_client(&urls[0]).map_err(|e| failed("a client", e))?;

    // A deposit, timed from its L1 receipt to the mint.
    let (nonce, _) = bridge
        .deposit(&funder, Address::ZERO, funder.address(), U256::from(1_000 * ETH))
        .await
        .map_err(|e| failed("the deposit", e))?;
    let t = Instant::now();
    while rpc.status().await.map_err(|e| failed("status", e))?.progress.deposits_minted <= nonce {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let deposit_s = t.elapsed().as_secs_f64();

    // Senders funded on the sidechain.
    let users: Vec<PrivateKeySigner> = (0..o.users)
        .map(|i| {
            PrivateKeySigner::from_bytes(&alloy::primitives::keccak256(format!("bench sidechain user {i}")))
                .expect("a key")
        })
        .collect();
    let side_rpc = RpcClient::new(&urls[0]);
    let mut n0 = side_rpc
        .u64("eth_getTransactionCount", json!([funder.address(), "latest"]))
        .await
        .map_err(|e| failed("nonce", e))?;
    for u in &users {
        let (raw, _) = transfer(&funder, side.spec.chain_id, n0, u.address(), U256::from(10 * ETH));
        side_rpc.call("eth_sendRawTransaction", json!([raw])).await.map_err(|e| failed("funding", e))?;
        n0 += 1;
    }
    let last = users.last().expect("users").address();
    while RpcClient::new(&urls[o.validators - 1])
        .call("eth_getBalance", json!([last, "latest"]))
        .await
        .map_err(|e| failed("balance", e))?
        .as_str()
        .is_none_or(|b| b == "0x0")
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let sidechain =
        load(&urls, &urls[0], side.spec.chain_id, &users, Duration::from_secs(o.duration), o.in_flight).await?;

    // A withdrawal, timed from the burn's receipt to the L1 payout.
    let side_l1 = L1Client::new(&urls[1]).map_err(|e| failed("a client", e))?;
    let child = ChildBridge::new(CHILD_BRIDGE, side_l1.provider());
    let burn = side_l1
        .transact(
            &funder,
            child.withdraw(funder.address()).value(U256::from(ETH)).gas(100_000).into_transaction_request(),
        )
        .await
        .map_err(|e| failed("the burn", e))?;
    let t = Instant::now();
    let p = loop {
        if let Ok(Some(p)) = rpc.withdrawal_proof(burn.transaction_hash).await
            && p.on_l1
        {
            break p;
        }
        if t.elapsed() > Duration::from_secs(300) {
            return Err(failed("the withdrawal", "its checkpoint is not on L1 after 300 s"));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let paid = bridge
        .withdraw(&funder, p.checkpoint, &p.withdrawal, p.index, p.proof)
        .await
        .map_err(|e| failed("the payout", e))?;
    let withdrawal_s = t.elapsed().as_secs_f64();
    side.stop().await;
    devnet.stop().await;

    let anvil = if o.anvil {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| failed("a port", e))?
            .port();
        let a = crate::Anvil::spawn(port, 909, 30_000_000, Some(o.block_time_ms.div_ceil(1000)))
            .await
            .map_err(|e| failed("anvil", e))?;
        let c = RpcClient::new(&a.url);
        for u in &users {
            c.call("anvil_setBalance", json!([u.address(), format!("0x{:x}", 10 * ETH)]))
                .await
                .map_err(|e| failed("anvil funding", e))?;
        }
        let urls = vec![a.url.clone()];
        Some(load(&urls, &a.url, 909, &users, Duration::from_secs(o.duration), o.in_flight).await?)
    } else {
        None
    };
    Ok(SidechainBenchReport {
        validators: o.validators,
        block_time_ms: o.block_time_ms,
        checkpoint_interval: o.checkpoint_interval,
        sidechain,
        anvil,
        checkpoints,
        deposit_s,
        withdrawal_s,
        withdraw_gas: paid.gas,
    })
}
