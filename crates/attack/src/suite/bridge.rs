//! The fast bridge attacked (`aqueduct attack bridge`): on one world (the embedded L1, the
//! optimistic rollup in-process, the bridge deployed), an honest relayer and a watcher that only
//! checks bundles. A malicious relayer "fills" a deposit with the wrong recipient and proposes a
//! bundle repaying itself; a malicious proposer redirects the honest relayer's repayment to
//! itself. The watcher disputes both by proof during their liveness (each loses its bond); the
//! honest bundle then repays the relayer and refunds the unfilled deposit on the rollup.

use std::time::{Duration, Instant};

use alloy::{
    primitives::{Address, U256},
    signers::local::PrivateKeySigner,
};
use aqueduct_bench::{BridgeWorld, BridgeWorldOptions};
use aqueduct_bridge_node::{Hub, Relayer, RelayerConfig, RelayerStats, Spoke};
use aqueduct_bridge_protocol::{Entry, FillState, outcome, relay_hash};
use aqueduct_rollup_node::{finalize, withdrawal_of_tx};
use aqueduct_service::Service;

use super::{Outcome, Promise, advance, failed};
use crate::AttackError;

const ETH: u128 = 1_000_000_000_000_000_000;
const WINDOW: u64 = 60;
const LIVENESS: u64 = 30;

/// What the bridge scenarios measured, beside their outcomes (the tests check these).
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct BridgeFigures {
    /// Seconds from the deposit's L2 receipt to the recipient paid on L1.
    pub fill_seconds: f64,
    /// The honest relayer's and the watcher's records.
    pub relayer: RelayerStats,
    pub watcher: RelayerStats,
    /// The depositor's refund arrived on the rollup.
    pub refunded_on_l2: bool,
}

fn stats(r: &Relayer) -> RelayerStats {
    r.stats().lock().unwrap_or_else(|p| p.into_inner()).clone()
}

/// Runs `r`'s rounds until `done` holds of its records (at most `secs`).
async fn step_until(
    r: &mut Relayer,
    what: &str,
    secs: u64,
    done: impl Fn(&RelayerStats) -> bool,
) -> Result<(), AttackError> {
    let end = Instant::now() + Duration::from_secs(secs);
    while !done(&stats(r)) {
        if Instant::now() > end {
            return Err(AttackError::Timeout { what: what.to_string(), secs });
        }
        if let Err(e) = r.step().await {
            tracing::debug!("{} round: {e}", r.name());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Ok(())
}

fn gain(before: U256, after: U256) -> u128 {
    after.saturating_sub(before).saturating_to()
}

/// Both attacks on one world; returns their two outcomes and the figures.
pub async fn bridge_attacks() -> Result<(Vec<Outcome>, BridgeFigures), AttackError> {
    let o = BridgeWorldOptions { challenge_window: WINDOW, liveness: LIVENESS, ..Default::default() };
    let w = BridgeWorld::start(o).await.map_err(|e| failed("starting the bridge world", e))?;
    let s = w.signers.clone();
    let (relayer_key, watcher_key, thief, proposer, user): (&PrivateKeySigner, _, _, _, _) =
        (&s[4], &s[3], &s[6], &s[8], &s[5]);
    let hub = Hub::new(w.l1.clone(), w.spec.hub);
    let spoke = Spoke::new(w.l2.clone(), w.spec.spoke);
    let mut cfg = RelayerConfig::new(relayer_key.clone());
    cfg.bridge_after = Duration::ZERO;
    let mut relayer = w.relayer(cfg);
    let mut wcfg = RelayerConfig::new(watcher_key.clone());
    (wcfg.fill, wcfg.propose) = (false, false);
    let mut watcher = w.relayer(wcfg);
    let l1_err = |what: &'static str| move |e| AttackError::L1During { what: what.to_string(), source: e };

    // A deposit paying 1 % (the relayer fills it) and one paying nothing (nobody honest does).
    let recipient = Address::repeat_byte(0x42);
    let l2_now = w.l2.header(w.l2.head().await?).await?.timestamp as u32;
    let (a, ra) = spoke
        .deposit(user, recipient, U256::from(ETH), U256::from(ETH / 100 * 99), w.spec.l1_chain_id, l2_now + 300)
        .await
        .map_err(l1_err("depositing on the rollup"))?;
    let deposited = Instant::now();
    let (b, _) = spoke
        .deposit(user, user.address(), U256::from(ETH / 2), U256::from(ETH / 2), w.spec.l1_chain_id, l2_now + 20)
        .await
        .map_err(l1_err("depositing on the rollup"))?;
    step_until(&mut relayer, "the relayer's fill", 30, |s| !s.fills.is_empty()).await?;
    let fill_seconds = deposited.elapsed().as_secs_f64();
    let _ = ra;

    // The thief "fills" the unpaid deposit to itself: another relay hash, so nothing is filled.
    let mut wrong = b.clone();
    wrong.recipient = thief.address();
    hub.fill(thief, &wrong, thief.address()).await.map_err(l1_err("the thief's fill"))?;
    let b_state = hub.fill_state(relay_hash(&b)).await?;

    // The unpaid deposit expires; the relayer sends both to L1 and proves the withdrawal; after
    // the window the thief finalizes it so that it can propose first.
    advance(&w.l1, 30).await?;
    step_until(&mut relayer, "the delivery's proof", 120, |s| !s.deliveries.is_empty()).await?;
    let delivery = spoke.deliveries(w.spec.spoke_block, w.l2.head().await?).await?;
    let delivery = delivery.first().ok_or_else(|| failed("the delivery", "no DepositsBridged event"))?;
    advance(&w.l1, WINDOW + 1).await?;
    let (wd, _) = withdrawal_of_tx(&w.verifier, delivery.tx).await?;
    w.l1.wait(finalize(&w.l1, thief, w.spec.portal, &wd).await?).await?;

    let entry = |d: &aqueduct_bridge_protocol::RelayData, o: u8, payee: Address, amount: U256| Entry {
        relayHash: relay_hash(d),
        outcome: o,
        payee,
        amount,
    };
    let balance = |a: Address| {
        let l1 = w.l1.clone();
        async move { l1.balance(a).await }
    };

    // Attack 1: the thief's bundle repays it for the deposit it did not fill.
    let thief_before = balance(thief.address()).await?;
    let forged = vec![
        entry(&a, outcome::REPAY, relayer_key.address(), a.inputAmount),
        entry(&b, outcome::REPAY, thief.address(), b.inputAmount),
    ];
    hub.propose(thief, forged, w.spec.bond).await.map_err(l1_err("the thief's bundle"))?;
    step_until(&mut watcher, "the watcher's first dispute", 30, |s| !s.disputes.is_empty()).await?;
    let thief_after = balance(thief.address()).await?;

    // Attack 2: a proposer's bundle sends the honest relayer's repayment to itself.
    let proposer_before = balance(proposer.address()).await?;
    let forged = vec![
        entry(&a, outcome::REPAY, proposer.address(), a.inputAmount),
        entry(&b, outcome::REFUND, user.address(), b.inputAmount),
    ];
    hub.propose(proposer, forged, w.spec.bond).await.map_err(l1_err("the proposer's bundle"))?;
    step_until(&mut watcher, "the watcher's second dispute", 30, |s| s.disputes.len() == 2).await?;
    let proposer_after = balance(proposer.address()).await?;

    // The honest bundle, its liveness, its execution: the relayer repaid, the user refunded on L2.
    let l2_user = w.l2.balance(user.address()).await?;
    step_until(&mut relayer, "the honest bundle", 30, |s| !s.proposals.is_empty()).await?;
    advance(&w.l1, LIVENESS + 1).await?;
    step_until(&mut relayer, "the executions", 30, |s| s.executions.len() == 2).await?;
    let end = Instant::now() + Duration::from_secs(60);
    let refunded_on_l2 = loop {
        if w.l2.balance(user.address()).await? >= l2_user + b.inputAmount {
            break true;
        }
        if Instant::now() > end {
            break false;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    let rs = stats(&relayer);
    let ws = stats(&watcher);
    let (delivered, paid) = hub.books().await?;
    let recipient_paid = w.l1.balance(recipient).await?;
    // What honest parties were owed and did not get: the recipient's output, the relayer's input
    // back, the depositor's refund.
    let honest_loss = a.outputAmount.saturating_sub(recipient_paid)
        + a.inputAmount.saturating_sub(rs.repaid)
        + if refunded_on_l2 { U256::ZERO } else { b.inputAmount };
    let bond = w.spec.bond;
    let disputed = |i: usize| ws.disputes.get(i).map(|d| (d.0, d.1));
    let entry_of = |i: usize| disputed(i).map_or("none".to_string(), |d| d.1.to_string());
    let common = format!(
        "hub books {delivered} delivered, {paid} paid; the relayer repaid {} wei; the refund {} on L2",
        rs.repaid,
        if refunded_on_l2 { "arrived" } else { "did NOT arrive" }
    );
    let held1 = b_state == FillState::Unfilled
        && disputed(0) == Some((0, 1))
        && thief_after + bond <= thief_before
        && honest_loss.is_zero();
    let held2 = disputed(1) == Some((1, 0)) && proposer_after + bond <= proposer_before && honest_loss.is_zero();
    let outcomes = vec![
        Outcome {
            family: "fast bridge",
            attack: "relayer fills the wrong recipient, claims repayment",
            must_be: "one watcher online during each bundle's liveness",
            setting: "a watcher online; the thief proposes first".into(),
            happened: format!(
                "its fill filled nothing (deposit {b_state:?}); its bundle was disputed at entry {} and its {bond} wei bond lost; {common}",
                entry_of(0)
            ),
            honest_loss_wei: honest_loss.saturating_to(),
            attacker_gain_wei: gain(thief_before, thief_after),
            promise: Promise::NoLoss,
            held: held1,
            wall_s: 0.0,
        },
        Outcome {
            family: "fast bridge",
            attack: "refund proposer redirects a relayer's repayment",
            must_be: "one watcher online during each bundle's liveness",
            setting: "a watcher online".into(),
            happened: format!(
                "disputed at entry {}, its {bond} wei bond lost; the honest bundle repaid the relayer; {common}",
                entry_of(1)
            ),
            honest_loss_wei: honest_loss.saturating_to(),
            attacker_gain_wei: gain(proposer_before, proposer_after),
            promise: Promise::NoLoss,
            held: held2,
            wall_s: 0.0,
        },
    ];
    Ok((outcomes, BridgeFigures { fill_seconds, relayer: rs, watcher: ws, refunded_on_l2 }))
}
