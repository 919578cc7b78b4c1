//! The fast bridge end to end on the embedded L1 with the optimistic rollup running in-process
//! (sequencer and batcher; verifier and proposer): a deposit on the rollup is paid on L1 by the
//! relayer within seconds; the relayer is repaid only after the challenge window and the
//! bundle's liveness; a relayer that fills the wrong recipient is not repaid and its forged
//! bundle is disputed; a deposit nobody fills is refunded on the rollup.

use std::time::{Duration, Instant};

use alloy::{
    primitives::{Address, U256},
    signers::local::PrivateKeySigner,
};
use aqueduct_bridge_node::{BridgeSpec, DeployParams, Hub, Relayer, RelayerConfig, Spoke, deploy};
use aqueduct_bridge_protocol::{Entry, FillState, outcome, relay_hash};
use aqueduct_l1::{Devnet, L1Config};
use aqueduct_rollup_node::{
    BatcherConfig, DeployParams as RollupParams, L1Client, ProposerRole, Rollup, RollupOptions, SequencerConfig,
    SequencerRole, deposit_eth, finalize, withdrawal_of_tx,
};
use aqueduct_rollup_protocol::RollupConfig;
use aqueduct_service::Service;
use aqueduct_testkit::{AsyncRpc, eventually};
use serde_json::json;

const ETH: u128 = 1_000_000_000_000_000_000;
const WINDOW: u64 = 60;
const LIVENESS: u64 = 30;

struct World {
    _dir: tempfile::TempDir,
    devnet: Devnet,
    l1: L1Client,
    l2: L1Client,
    verifier: L1Client,
    spec: BridgeSpec,
    _rollups: (Rollup, Rollup),
}

async fn world() -> World {
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
    let s = devnet.signers.clone();
    let l1 = L1Client::new(&devnet.url()).unwrap();
    let params = RollupParams { batcher: s[1].address(), bond: U256::from(ETH / 10), finalization_period: WINDOW };
    let dep = aqueduct_rollup_node::deploy(&l1, &s[0], &params).await.unwrap();
    let cfg = RollupConfig { seq_window: 20, channel_timeout: 40, ..dep.rollup_config(901, 250, s[1].address()) };
    let funded: Vec<Address> = s.iter().map(|x| x.address()).collect();
    let common = |data: &str| RollupOptions {
        l1_url: devnet.url(),
        rollup: cfg.clone(),
        data_dir: dir.path().join(data),
        gas_limit: 30_000_000,
        funded: funded.clone(),
        funded_balance: U256::from(1000 * ETH),
        sequencer: None,
        verifier_rpc: None,
        proposer: None,
        challengers: Vec::new(),
        poll: Duration::from_millis(200),
    };
    let seq = Rollup::start(RollupOptions {
        sequencer: Some(SequencerRole {
            rpc_addr: "127.0.0.1:0".parse().unwrap(),
            batcher: s[1].clone(),
            sequencer: SequencerConfig::default(),
            batcher_config: BatcherConfig {
                poll: Duration::from_millis(200),
                max_delay: Duration::ZERO,
                ..Default::default()
            },
            dev_signers: vec![],
        }),
        ..common("sequencer")
    })
    .await
    .unwrap();
    let ver = Rollup::start(RollupOptions {
        verifier_rpc: Some("127.0.0.1:0".parse().unwrap()),
        proposer: Some(ProposerRole { signer: s[2].clone(), interval: 8, bond: U256::from(ETH / 10) }),
        ..common("verifier")
    })
    .await
    .unwrap();
    let l2 = L1Client::new(&format!("http://{}", seq.sequencer_rpc.unwrap())).unwrap();
    let verifier = L1Client::new(&format!("http://{}", ver.verifier_rpc.unwrap())).unwrap();
    // The portal must hold the ETH the spoke sends back to L1: a user bridges some in.
    let h = deposit_eth(&l1, &s[7], dep.portal, s[7].address(), U256::from(20 * ETH)).await.unwrap();
    l1.wait(h).await.unwrap();
    let p = DeployParams {
        portal: dep.portal,
        oracle: dep.oracle,
        challenge_window: WINDOW,
        bond: U256::from(ETH),
        liveness: LIVENESS,
        max_fill_window: 600,
    };
    let spec = deploy(&l1, &l2, &s[0], &p).await.unwrap();
    World { _dir: dir, devnet, l1, l2, verifier, spec, _rollups: (seq, ver) }
}

/// Runs the relayer's rounds until `done` holds (at most `secs`).
async fn step_until(r: &mut Relayer, what: &str, secs: u64, mut done: impl FnMut(&Relayer) -> bool) {
    let end = Instant::now() + Duration::from_secs(secs);
    while !done(r) {
        assert!(Instant::now() < end, "timed out waiting for {what}");
        if let Err(e) = r.step().await {
            eprintln!("relayer round: {e}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn skip(l1: &AsyncRpc, secs: u64) {
    l1.call("evm_increaseTime", json!([secs])).await.unwrap();
    l1.call("evm_mine", json!([])).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fast_fill_repaid_after_the_window_wrong_claims_disputed_expired_refunded() {
    let w = world().await;
    let s = w.devnet.signers.clone();
    let (relayer_key, attacker, user): (&PrivateKeySigner, _, _) = (&s[4], &s[6], &s[5]);
    let l1_rpc = AsyncRpc::new(&w.devnet.url());
    let hub = Hub::new(w.l1.clone(), w.spec.hub);
    let spoke = Spoke::new(w.l2.clone(), w.spec.spoke);
    let mut cfg = RelayerConfig::new(relayer_key.clone());
    cfg.bridge_after = Duration::ZERO;
    let mut relayer = Relayer::new(w.spec.clone(), w.l1.clone(), w.l2.clone(), w.verifier.clone(), cfg);
    let stats = relayer.stats();

    // Two deposits on the rollup: 1 ETH paying a 1 % fee, 0.5 ETH paying none.
    let recipient = Address::repeat_byte(0x42);
    let l2_now = w.l2.header(w.l2.head().await.unwrap()).await.unwrap().timestamp as u32;
    let started = Instant::now();
    let (a, _) = spoke
        .deposit(user, recipient, U256::from(ETH), U256::from(ETH / 100 * 99), w.spec.l1_chain_id, l2_now + 300)
        .await
        .unwrap();
    let (b, _) = spoke
        .deposit(user, user.address(), U256::from(ETH / 2), U256::from(ETH / 2), w.spec.l1_chain_id, l2_now + 20)
        .await
        .unwrap();
    assert_eq!((a.depositId, b.depositId), (0, 1));

    // The relayer pays the first on L1 within seconds and leaves the second (its fee is zero).
    step_until(&mut relayer, "the fill", 30, |_| !stats.lock().unwrap().fills.is_empty()).await;
    let fill_secs = started.elapsed().as_secs_f64();
    assert_eq!(w.l1.balance(recipient).await.unwrap(), U256::from(ETH / 100 * 99), "paid on L1");
    assert!(fill_secs < 10.0, "filled {fill_secs:.1} s after the deposit");
    eprintln!("filled {fill_secs:.2} s after the deposit");
    let skipped = stats.lock().unwrap().skipped.clone();
    assert!(skipped.iter().any(|(id, why)| *id == 1 && why.contains("below the quote")), "{skipped:?}");
    assert!(
        matches!(hub.fill_state(relay_hash(&a)).await.unwrap(), FillState::Filled { repay_to, .. } if repay_to == relayer_key.address())
    );

    // An attacker "fills" the second to itself: another relay hash, so the deposit stays unfilled.
    let mut wrong = b.clone();
    wrong.recipient = attacker.address();
    hub.fill(attacker, &wrong, attacker.address()).await.unwrap();
    assert_eq!(hub.fill_state(relay_hash(&b)).await.unwrap(), FillState::Unfilled);

    // The second expires; the relayer sends both to L1 and proves the withdrawal.
    skip(&l1_rpc, 30).await;
    step_until(&mut relayer, "the delivery's proof", 120, |_| !stats.lock().unwrap().deliveries.is_empty()).await;
    let delivery = spoke.deliveries(w.spec.spoke_block, w.l2.head().await.unwrap()).await.unwrap()[0];
    assert_eq!(delivery.count, 2);
    assert_eq!(delivery.value, U256::from(ETH + ETH / 2));
    // Not repaid before the challenge window ends.
    assert_eq!(hub.delivered().await.unwrap().0, 0);

    // After the window the attacker finalizes the delivery and proposes a bundle that also pays
    // it for the deposit it did not fill.
    skip(&l1_rpc, WINDOW + 1).await;
    let (wd, _) = withdrawal_of_tx(&w.verifier, delivery.tx).await.unwrap();
    w.l1.wait(finalize(&w.l1, attacker, w.spec.portal, &wd).await.unwrap()).await.unwrap();
    assert_eq!(hub.delivered().await.unwrap().0, 2, "delivered after the window");
    let forged = vec![
        Entry {
            relayHash: relay_hash(&a),
            outcome: outcome::REPAY,
            payee: relayer_key.address(),
            amount: a.inputAmount,
        },
        Entry { relayHash: relay_hash(&b), outcome: outcome::REPAY, payee: attacker.address(), amount: b.inputAmount },
    ];
    let attacker_before = w.l1.balance(attacker.address()).await.unwrap();
    hub.propose(attacker, forged, w.spec.bond).await.unwrap();

    // The relayer disputes it (taking the bond), then proposes the honest bundle.
    let before = w.l1.balance(relayer_key.address()).await.unwrap();
    step_until(&mut relayer, "the dispute", 30, |_| !stats.lock().unwrap().disputes.is_empty()).await;
    assert_eq!(stats.lock().unwrap().disputes[0].0, 0, "bundle 0 disputed");
    assert_eq!(stats.lock().unwrap().disputes[0].1, 1, "at its second entry");
    assert!(hub.bundle(0).await.unwrap().disputed);
    step_until(&mut relayer, "the honest bundle", 30, |_| !stats.lock().unwrap().proposals.is_empty()).await;
    let honest = hub.bundle(1).await.unwrap();
    assert_eq!((honest.start, honest.end, honest.disputed), (0, 2, false));

    // After the liveness, the relayer is repaid the input and the depositor refunded on L2.
    let l2_user = w.l2.balance(user.address()).await.unwrap();
    skip(&l1_rpc, LIVENESS + 1).await;
    step_until(&mut relayer, "the executions", 30, |_| stats.lock().unwrap().executions.len() == 2).await;
    assert_eq!(stats.lock().unwrap().repaid, U256::from(ETH), "repaid the input amount");
    let after = w.l1.balance(relayer_key.address()).await.unwrap();
    // +1 ETH repaid, +1 ETH of the attacker's bond, bond posted and returned, less gas.
    assert!(after > before + U256::from(2 * ETH) - U256::from(ETH / 100), "{before} -> {after}");
    assert_eq!(hub.books().await.unwrap(), (U256::from(ETH + ETH / 2), U256::from(ETH + ETH / 2)));
    let attacker_after = w.l1.balance(attacker.address()).await.unwrap();
    assert!(attacker_after < attacker_before - w.spec.bond, "the attacker lost its bond");
    eventually("the refund on L2", 60, || async {
        w.l2.balance(user.address()).await.unwrap() == l2_user + U256::from(ETH / 2)
    })
    .await;
}
