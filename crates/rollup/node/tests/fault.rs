//! Fault proofs end to end on the embedded L1: a rollup with real L2 traffic, outputs posted by
//! an honest and a malicious proposer, the honest challenger disputing the wrong ones through
//! the dispute game down to one step re-executed by the EXECUTE precompile, and a malicious
//! challenger losing against an honest output. Every player is a `Challenger` actor on its own
//! key; the liars are the same strategy with lies in their truth.

mod common;

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use alloy::{
    primitives::{Address, B256, Bytes, TxKind, U256, keccak256},
    signers::local::PrivateKeySigner,
    sol_types::SolCall,
};
use aqueduct_chain::Chain;
use aqueduct_contracts::rollup::{DisputeGame, OutputOracle};
use aqueduct_l1::{Devnet, L1Config};
use aqueduct_rollup_node::{
    BatcherConfig, Challenger, DeployParams, DisputeParams, GameAction, L1Call, L1Client, Rollup, RollupOptions,
    SequencerConfig, deploy, deploy_dispute, l2_genesis, output_at, sign_1559,
};
use aqueduct_rollup_protocol::{MessageTree, OutputRoot, RollupConfig};
use common::until;
use tokio_util::sync::CancellationToken;

const ETH: u128 = 1_000_000_000_000_000_000;

struct World {
    _dir: tempfile::TempDir,
    devnet: Devnet,
    l1: L1Client,
    cfg: RollupConfig,
    rollup: Rollup,
    verifier: Arc<Chain>,
    /// The verifier's services, running for the test's length.
    _ver: Rollup,
}

async fn world() -> World {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    let dir = tempfile::tempdir().unwrap();
    let l1_cfg = L1Config {
        block_time: 0.5,
        data_dir: dir.path().join("l1"),
        rpc_addr: "127.0.0.1:0".parse().unwrap(),
        ..Default::default()
    };
    let devnet = Devnet::start(l1_cfg, true).await.unwrap();
    let s = devnet.signers.clone();
    let l1 = L1Client::new(&devnet.url()).unwrap();
    let params = DeployParams { batcher: s[1].address(), bond: U256::from(ETH / 10), finalization_period: 600 };
    let dep = deploy(&l1, &s[0], &params).await.unwrap();
    let cfg = RollupConfig { seq_window: 20, channel_timeout: 40, ..dep.rollup_config(901, 500, s[1].address()) };
    let funded: Vec<Address> = s.iter().map(|x| x.address()).collect();
    let balance = U256::from(1000 * ETH);
    let genesis = l2_genesis(&cfg, &funded, balance);
    let dispute = DisputeParams { clock: 3_600, base_bond: U256::from(ETH / 100) };
    deploy_dispute(&l1, &s[0], &dep, &cfg, 30_000_000, &genesis, &dispute).await.unwrap();
    let common = |data: &str| RollupOptions {
        l1_url: devnet.url(),
        rollup: cfg.clone(),
        data_dir: dir.path().join(data),
        gas_limit: 30_000_000,
        funded: funded.clone(),
        funded_balance: balance,
        sequencer: None,
        verifier_rpc: None,
        proposer: None,
        challengers: Vec::new(),
        poll: Duration::from_millis(200),
    };
    let rollup = Rollup::start(RollupOptions {
        sequencer: Some(aqueduct_rollup_node::SequencerRole {
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
    let ver = Rollup::start(RollupOptions { verifier_rpc: Some("127.0.0.1:0".parse().unwrap()), ..common("verifier") })
        .await
        .unwrap();
    let verifier = ver.verifier.clone().unwrap();
    World { _dir: dir, devnet, l1, cfg, rollup, verifier, _ver: ver }
}

/// Signed L2 transfers, straight into the sequencer's chain.
fn traffic(w: &World, from: &PrivateKeySigner, first_nonce: u64, n: u64) {
    use alloy::{
        consensus::{SignableTransaction, TxEip1559, TxEnvelope},
        network::TxSignerSync,
    };
    let seq = w.rollup.sequencer.clone().unwrap();
    for i in 0..n {
        let mut t = TxEip1559 {
            chain_id: 901,
            nonce: first_nonce + i,
            gas_limit: 21_000,
            max_fee_per_gas: 1_000_000_000,
            max_priority_fee_per_gas: 1_000_000,
            to: TxKind::Call(Address::repeat_byte(0x70 + (i % 5) as u8)),
            value: U256::from(1_000 + i),
            input: Bytes::new(),
            access_list: Default::default(),
        };
        let sig = from.sign_transaction_sync(&mut t).unwrap();
        seq.submit(TxEnvelope::from(t.into_signed(sig)), from.address()).unwrap();
    }
}

/// Posts an output; returns the L1 block it landed in.
async fn propose(w: &World, by: &PrivateKeySigner, root: B256, block: u64) -> u64 {
    let input = OutputOracle::proposeOutputCall { outputRoot: root, l2BlockNumber: U256::from(block) }.abi_encode();
    let call =
        L1Call { to: TxKind::Call(w.cfg.oracle), value: U256::from(ETH / 10), input: input.into(), gas_limit: 300_000 };
    let fees = w.l1.fees().await.unwrap();
    let nonce = w.l1.nonce(by.address()).await.unwrap();
    let h = w.l1.send_raw(&sign_1559(by, 31337, nonce, fees, &call)).await.unwrap();
    let r = w.l1.wait(h, 400).await.unwrap();
    assert!(r.status());
    r.block_number.unwrap()
}

/// Prints a game's figures (quoted in the closing note): moves (with what they were),
/// L1 gas of every move including the opening challenge, the deciding move, wall time, and the
/// detection latency when the challenger was already watching as the output landed.
fn figures(
    name: &str,
    id: u64,
    moves: u32,
    players: &[&Arc<parking_lot::Mutex<Vec<GameAction>>>],
    watched_from: u64,
    output_landed: Option<u64>,
    started: Instant,
) {
    let all: Vec<GameAction> = players.iter().flat_map(|p| p.lock().clone()).collect();
    let opening = all.iter().filter(|a| a.game.is_none() && a.l1_block >= watched_from).min_by_key(|a| a.l1_block);
    let in_game: Vec<&GameAction> = all.iter().filter(|a| a.game == Some(id)).collect();
    let total: u64 = in_game.iter().map(|a| a.gas_used).sum::<u64>() + opening.map(|a| a.gas_used).unwrap_or(0);
    let last = in_game.iter().max_by_key(|a| a.l1_block).map(|a| (a.action, a.gas_used));
    let mut kinds = std::collections::BTreeMap::<&str, u32>::new();
    for a in &in_game {
        *kinds.entry(a.action).or_default() += 1;
    }
    let detection = match (output_landed, opening) {
        (Some(landed), Some(o)) => format!("detected {} L1 blocks after the output landed", o.l1_block - landed),
        _ => "detection n/a (the challenger started after the output)".into(),
    };
    println!(
        "fault figures | {name} | game {id} | {moves} moves: challenge + {kinds:?} | {total} L1 gas in all | deciding move {last:?} | {:.1} s to resolution | {detection}",
        started.elapsed().as_secs_f64(),
    );
}

/// Whether game `id` exists and has ended.
async fn ended(w: &World, id: u64) -> bool {
    let n: U256 = w.l1.read(w.cfg.dispute_game, DisputeGame::gameCountCall {}).await.unwrap();
    n > U256::from(id) && game(w, id).await.status != 1
}

async fn game(w: &World, id: u64) -> DisputeGame::Game {
    w.l1.read(w.cfg.dispute_game, DisputeGame::getGameCall { gameId: U256::from(id) }).await.unwrap()
}

fn player(w: &World, key: &PrivateKeySigner, challenge: bool, lies: Vec<(u64, OutputRoot)>) -> Challenger {
    let mut c = Challenger::new(
        w.verifier.clone(),
        w.l1.clone(),
        w.cfg.dispute_game,
        w.cfg.oracle,
        key.clone(),
        Duration::from_millis(200),
    );
    c.challenge = challenge;
    c.lies = lies.into_iter().collect();
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_outputs_lose_to_the_challenger_and_a_false_challenge_loses() {
    let w = world().await;
    let s = w.devnet.signers.clone();
    let (honest_proposer, challenger_key, liar) = (&s[2], &s[3], &s[4]);
    traffic(&w, &s[6], 0, 40);
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    traffic(&w, &s[7], 0, 40);
    until("the verifier to derive block 12", 120, || async { w.verifier.head().number() >= 12 }).await;

    // 1. A malicious proposer posts the output of the busiest block B with a balance changed (its
    // state root differs), so the game bisects the block's transactions too.
    let b =
        (1..=10u64).max_by_key(|n| w.verifier.block(aqueduct_chain::BlockRef::Number(*n)).unwrap().txs.len()).unwrap();
    let steps = w.verifier.block(aqueduct_chain::BlockRef::Number(b)).unwrap().txs.len();
    assert!(steps > 4, "block {b} has {steps} steps");
    let truth6 = output_at(&w.verifier, b).unwrap();
    let corrupt = OutputRoot { state_root: keccak256([truth6.state_root.as_slice(), b"+1 ETH"].concat()), ..truth6 };
    let started = Instant::now();
    let posted_at = propose(&w, liar, corrupt.hash(), b).await;
    // 2. Then an output with an invented withdrawal at block 12 would build on it; first settle 6.
    let cancel = CancellationToken::new();
    let honest = player(&w, challenger_key, true, vec![]);
    let actions = honest.actions.clone();
    let lying_defender = player(&w, liar, false, vec![(b, corrupt)]);
    let liar_actions = lying_defender.actions.clone();
    tokio::spawn(honest.run(cancel.clone()));
    // Its own token: it stops after game 0, so that each later game has one player per key.
    let liar0 = CancellationToken::new();
    tokio::spawn(lying_defender.run(liar0.clone()));
    until("game 0 to end", 240, || ended(&w, 0)).await;
    let g = game(&w, 0).await;
    assert_eq!(g.status, 2, "the challenger wins: {g:?}");
    assert!(g.moves <= 64, "{} moves", g.moves);
    let next: U256 = w.l1.read(w.cfg.oracle, OutputOracle::nextOutputIndexCall {}).await.unwrap();
    assert_eq!(next, U256::ZERO, "the wrong output is deleted");
    until("the challenger to record its last move", 30, || async { actions.lock().iter().any(|a| a.action == "step") })
        .await;
    let sent: Vec<&str> = actions.lock().iter().map(|a| a.action).collect();
    assert!(sent.iter().filter(|a| **a == "answer").count() >= 4, "blocks then steps were bisected: {sent:?}");
    let step =
        actions.lock().iter().find(|a| a.action == "step").cloned().unwrap_or_else(|| panic!("no step: {sent:?}"));
    assert!(step.gas_used > 50_000, "the step ran the precompile: {step:?}");
    figures("state root corrupted", 0, g.moves, &[&actions, &liar_actions], posted_at, Some(posted_at), started);
    liar0.cancel();
    let credit: U256 = w.l1.read(w.cfg.dispute_game, DisputeGame::creditCall(challenger_key.address())).await.unwrap();
    assert!(credit > U256::from(ETH / 10), "the challenger holds the liar's bonds and output bond: {credit}");

    // 3. An honest output at block B, then one at block 12 with an invented withdrawal.
    propose(&w, honest_proposer, output_at(&w.verifier, b).unwrap().hash(), b).await;
    let truth12 = output_at(&w.verifier, 12).unwrap();
    let mut tree = MessageTree::default();
    tree.push(keccak256("an invented withdrawal to the liar"));
    let invented = OutputRoot { withdrawals_root: tree.root(), ..truth12 };
    assert_ne!(invented.withdrawals_root, truth12.withdrawals_root);
    let liar12 = player(&w, liar, false, vec![(12, invented)]);
    let liar12_actions = liar12.actions.clone();
    tokio::spawn(liar12.run(cancel.clone()));
    let started = Instant::now();
    let posted_at = propose(&w, liar, invented.hash(), 12).await;
    until("game 1 to end", 240, || ended(&w, 1)).await;
    let g = game(&w, 1).await;
    assert_eq!(g.status, 2, "the invented withdrawal is caught: {g:?}");
    until("the disproof recorded", 30, || async { actions.lock().iter().any(|a| a.action == "disprove withdrawals") })
        .await;
    let next: U256 = w.l1.read(w.cfg.oracle, OutputOracle::nextOutputIndexCall {}).await.unwrap();
    assert_eq!(next, U256::from(1), "only the honest output is left");
    figures("withdrawal invented", 1, g.moves, &[&actions, &liar12_actions], posted_at, Some(posted_at), started);

    // 4. A malicious challenger disputes the honest output at block B; the proposer defends it.
    let false_challenger = player(&w, &s[5], true, vec![(b, corrupt)]);
    let defender = player(&w, honest_proposer, false, vec![]);
    let (fc_actions, def_actions) = (false_challenger.actions.clone(), defender.actions.clone());
    let started = Instant::now();
    let posted_at = w.l1.head().await.unwrap(); // the false challenger starts watching here
    tokio::spawn(false_challenger.run(cancel.clone()));
    tokio::spawn(defender.run(cancel.clone()));
    until("game 2 to end", 240, || ended(&w, 2)).await;
    let g = game(&w, 2).await;
    assert_eq!(g.status, 3, "the defender wins: {g:?}");
    assert_eq!(g.challenger, s[5].address());
    let next: U256 = w.l1.read(w.cfg.oracle, OutputOracle::nextOutputIndexCall {}).await.unwrap();
    assert_eq!(next, U256::from(1), "the honest output stands");
    let credit: U256 = w.l1.read(w.cfg.dispute_game, DisputeGame::creditCall(honest_proposer.address())).await.unwrap();
    assert!(credit >= U256::from(ETH / 100), "the defender takes the false challenger's bonds: {credit}");
    until("the last move recorded", 30, || async { fc_actions.lock().iter().any(|a| a.action == "step") }).await;
    figures("false challenge of an honest output", 2, g.moves, &[&fc_actions, &def_actions], posted_at, None, started);
    cancel.cancel();
}
