//! The optimistic rollup: a proposer lies about the L2 state to pay itself a withdrawal that
//! never happened (one honest challenger disputes it); a sequencer censors a user (the user
//! goes through L1's forced-inclusion queue).

use std::time::{Duration, Instant};

use alloy::primitives::{Address, TxKind, U256};
use aqueduct_contracts::rollup::BatchInbox;
use aqueduct_l1::{Devnet, L1Config};
use aqueduct_rollup_node::{
    BatcherConfig, DeployParams, L1Call, L1Client, Rollup, RollupOptions, SequencerConfig, SequencerRole, deploy,
    sign_1559,
};
use aqueduct_rollup_protocol::RollupConfig;

use super::{Outcome, Promise};
use crate::{AttackError, Corruption, FraudOptions, WorldOptions, run_fraud, world::ETH};

/// A wrong output root inventing a withdrawal, played to the end of its game.
pub async fn wrong_output(seed: u64) -> Result<Outcome, AttackError> {
    let report = run_fraud(FraudOptions {
        runs: 1,
        seed,
        kinds: vec![Corruption::WithdrawalInvented],
        false_challenges: false,
        stalls: false,
        restart: false,
        world: WorldOptions::default(),
        progress: false,
    })
    .await?;
    let game = report.games.first().ok_or_else(|| AttackError::Failed("no game was played".into()))?;
    let refused = report.withdrawals.invented.first().cloned().unwrap_or_default();
    let credit: u128 = game.winner_credit_wei.parse().unwrap_or(0);
    let held = report.all_held && game.winner == "challenger";
    Ok(Outcome {
        family: "optimistic rollup",
        attack: "wrong output root (invented withdrawal)",
        must_be: "one honest challenger online within the challenge period",
        setting: "one honest challenger online".into(),
        happened: format!(
            "the challenger won in {} moves ({} gas, ended by {}), the output was deleted and the liar's bonds ({} wei) went to the challenger; the invented withdrawal: {}",
            game.moves, game.total_gas, game.ended_by, credit, refused
        ),
        honest_loss_wei: if held { 0 } else { u128::MAX },
        attacker_gain_wei: 0,
        promise: Promise::NoLoss,
        held,
        wall_s: 0.0,
    })
}

/// The sequencer drops every transaction of one user; the user queues it on L1.
pub async fn censorship() -> Result<Outcome, AttackError> {
    let dir = tempfile::tempdir().map_err(AttackError::TempDir)?;
    let devnet = Devnet::start(
        L1Config {
            block_time: 1.0,
            data_dir: dir.path().join("l1"),
            rpc_addr: "127.0.0.1:0".parse().expect("a socket address"),
            extra_precompiles: vec![aqueduct_rollup_protocol::execute_precompile()],
            ..Default::default()
        },
        true,
    )
    .await?;
    let s = devnet.signers.clone();
    let l1 = L1Client::new(&devnet.url())?;
    let dep = deploy(
        &l1,
        &s[0],
        &DeployParams { batcher: s[1].address(), bond: U256::from(ETH / 10), finalization_period: 60 },
    )
    .await?;
    let window = 20;
    let cfg = RollupConfig { seq_window: window, channel_timeout: 40, ..dep.rollup_config(901, 250, s[1].address()) };
    let victim = s[7].clone();
    let rollup = Rollup::start(RollupOptions {
        l1_url: devnet.url(),
        rollup: cfg,
        data_dir: dir.path().join("l2"),
        gas_limit: 30_000_000,
        funded: s.iter().map(|x| x.address()).collect(),
        funded_balance: U256::from(1000 * ETH),
        sequencer: Some(SequencerRole {
            rpc_addr: "127.0.0.1:0".parse().expect("a socket address"),
            batcher: s[1].clone(),
            sequencer: SequencerConfig { censor: vec![victim.address()], ..Default::default() },
            batcher_config: BatcherConfig { poll: Duration::from_millis(300), ..Default::default() },
            dev_signers: vec![],
        }),
        verifier_rpc: None,
        proposer: None,
        challengers: Vec::new(),
        poll: Duration::from_millis(300),
        dependencies: Vec::new(),
    })
    .await?;
    let l2_url = format!("http://{}", rollup.sequencer_rpc.ok_or(AttackError::NoChain("sequencer RPC"))?);
    let l2 = L1Client::new(&l2_url)?;
    let to = Address::repeat_byte(0x99);
    let amount = U256::from(ETH / 10);
    let call = L1Call { to: TxKind::Call(to), value: amount, input: Default::default(), gas_limit: 21_000 };
    let raw = sign_1559(&victim, 901, 0, l2.fees().await?, &call);

    // Through the sequencer the transfer is accepted and never included.
    let started = Instant::now();
    l2.send_raw(&raw).await?;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let censored = l2.balance(to).await? == U256::ZERO;

    // Queued on L1, it must be in the L2 chain within the sequencing window.
    let inbox = BatchInbox::new(dep.inbox, l1.provider());
    let forced = inbox.forceInclude(raw.clone()).gas(300_000).into_transaction_request();
    let receipt = l1.transact(&victim, forced).await?;
    let queued_at = receipt.block_number.unwrap_or_default();
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut landed = false;
    while Instant::now() < deadline {
        if l2.balance(to).await? == amount {
            landed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let in_l1_blocks = l1.head().await?.saturating_sub(queued_at);
    let waited = started.elapsed().as_secs_f64();
    rollup.stop().await;
    devnet.stop().await;
    let held = censored && landed;
    Ok(Outcome {
        family: "optimistic rollup",
        attack: "sequencer censors a user",
        must_be: "no one: L1's forced-inclusion queue (the sequencer only orders)",
        setting: "the sequencer drops every transaction of the victim".into(),
        happened: format!(
            "{}; queued on L1 ({} gas), it was in the L2 chain after {:.0} s, ~{} L1 blocks after queuing (window {})",
            if censored { "the sequencer left the transfer out" } else { "the sequencer included it anyway" },
            receipt.gas_used,
            waited,
            in_l1_blocks,
            window
        ),
        honest_loss_wei: if landed { 0 } else { amount.saturating_to() },
        attacker_gain_wei: 0,
        promise: Promise::NoLoss,
        held,
        wall_s: 0.0,
    })
}
