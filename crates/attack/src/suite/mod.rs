//! `aqueduct attack all`: every family's trust assumption attacked once for real, each on its own
//! embedded L1, with what happened to the money. A row holds when the outcome is the one the
//! family's design promises — no loss where it promises safety, and exactly the loss it allows
//! where it does not (a validium whose committee withholds, a channel user offline without a
//! tower): those are reported, not hidden.

mod bridge;
mod channels;
mod optimistic;
mod plasma;
mod sidechain;
mod zk;

pub use bridge::BridgeFigures;
pub use plasma::{MassExit, mass_exit as plasma_mass_exit};

use std::time::Instant;

use serde::Serialize;

use crate::AttackError;

/// What the design promises the honest party in a scenario.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Promise {
    /// The honest party loses nothing.
    NoLoss,
    /// The design allows this loss (its trust assumption is broken on purpose).
    LossAllowed,
}

/// One attack, played to its end.
#[derive(Clone, Debug, Serialize)]
pub struct Outcome {
    pub family: &'static str,
    pub attack: &'static str,
    /// Who had to be honest or online for the honest party to keep its money.
    pub must_be: &'static str,
    /// How this run set that up (online, offline, withholding).
    pub setting: String,
    /// What happened, in a sentence, with its numbers.
    pub happened: String,
    /// What the honest party lost against what it was owed, wei.
    pub honest_loss_wei: u128,
    /// What the attacker gained over what it was owed (0 when it lost its bond instead), wei.
    pub attacker_gain_wei: u128,
    pub promise: Promise,
    /// The outcome is what the design promises.
    pub held: bool,
    pub wall_s: f64,
}

/// Which scenarios to play.
#[derive(Clone, Debug)]
pub struct SuiteOptions {
    pub seed: u64,
    /// Families to attack (optimistic, zk, validium, channels, plasma); empty: all.
    pub families: Vec<String>,
    /// Users in plasma's mass exit.
    pub mass_exit_users: usize,
}

#[derive(Clone, Debug, Serialize)]
pub struct SuiteReport {
    pub outcomes: Vec<Outcome>,
    /// Plasma's mass exit, measured (when plasma was attacked).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mass_exit: Option<MassExit>,
    /// Every outcome is what its design promises.
    pub all_held: bool,
}

impl SuiteReport {
    /// The matrix as text.
    pub fn table(&self) -> String {
        use std::fmt::Write;
        let mut s = String::new();
        let _ = writeln!(
            s,
            "{:<18} {:<40} {:<10} {:>20} {:>20}  {:<5} happened",
            "family", "attack", "promise", "honest loss (wei)", "attacker gain", "held"
        );
        for o in &self.outcomes {
            let _ = writeln!(
                s,
                "{:<18} {:<40} {:<10} {:>20} {:>20}  {:<5} {}",
                o.family,
                o.attack,
                match o.promise {
                    Promise::NoLoss => "no loss",
                    Promise::LossAllowed => "loss ok",
                },
                o.honest_loss_wei,
                o.attacker_gain_wei,
                if o.held { "yes" } else { "NO" },
                o.happened
            );
            let _ = writeln!(s, "{:<18} {:<40} who must behave: {}; here: {}", "", "", o.must_be, o.setting);
        }
        let _ = writeln!(
            s,
            "\n{}",
            if self.all_held {
                "every outcome is what its design promises"
            } else {
                "AN OUTCOME BROKE ITS DESIGN'S PROMISE (see held = NO)"
            }
        );
        s
    }
}

/// A step of a scenario that failed, with its cause.
fn failed(what: &str, e: impl std::fmt::Display) -> AttackError {
    AttackError::Failed(format!("{what}: {e}"))
}

/// Moves the L1 clock forward by `secs` and mines a block there.
async fn advance(l1: &aqueduct_eth::L1Client, secs: u64) -> Result<(), AttackError> {
    use alloy::providers::Provider;
    let p = l1.provider();
    let _: serde_json::Value =
        p.raw_request("evm_increaseTime".into(), (secs,)).await.map_err(|e| failed("moving L1 time", e))?;
    let _: serde_json::Value = p.raw_request("evm_mine".into(), ()).await.map_err(|e| failed("mining", e))?;
    Ok(())
}

fn wanted(o: &SuiteOptions, family: &str) -> bool {
    o.families.is_empty() || o.families.iter().any(|f| f == family)
}

/// Plays one scenario and keeps its outcome, timed.
async fn play(
    outcomes: &mut Vec<Outcome>,
    name: &str,
    scenario: impl Future<Output = Result<Outcome, AttackError>>,
) -> Result<(), AttackError> {
    eprintln!("attack: {name}");
    let t = Instant::now();
    let mut out = scenario.await?;
    out.wall_s = t.elapsed().as_secs_f64();
    eprintln!("attack: {name}: {} ({:.0} s)", if out.held { "held" } else { "DID NOT HOLD" }, out.wall_s);
    outcomes.push(out);
    Ok(())
}

/// Plays every scenario of the families `o` names, one after another.
pub async fn run_all(o: &SuiteOptions) -> Result<SuiteReport, AttackError> {
    let mut outcomes = Vec::new();
    if wanted(o, "optimistic") {
        play(&mut outcomes, "optimistic: wrong output root", optimistic::wrong_output(o.seed)).await?;
        play(&mut outcomes, "optimistic: censoring sequencer", optimistic::censorship()).await?;
    }
    if wanted(o, "zk") {
        play(&mut outcomes, "zk: a root without a valid proof", zk::invalid_proof()).await?;
        play(&mut outcomes, "zk: operator stops", zk::operator_stops(false)).await?;
    }
    if wanted(o, "validium") {
        play(&mut outcomes, "validium: committee withholds", zk::operator_stops(true)).await?;
    }
    if wanted(o, "channels") {
        for who in [channels::Answer::Peer, channels::Answer::Tower, channels::Answer::Nobody] {
            play(&mut outcomes, who.name(), channels::stale_close(who)).await?;
        }
    }
    let mut mass_exit = None;
    if wanted(o, "plasma") {
        play(&mut outcomes, "plasma: the operator includes a theft", plasma::theft()).await?;
        play(&mut outcomes, "plasma: the operator withholds a block", plasma::withholding()).await?;
        let mut m = None;
        play(&mut outcomes, "plasma: mass exit", async {
            let (out, figures) = plasma::mass_exit(o.mass_exit_users).await?;
            m = Some(figures);
            Ok(out)
        })
        .await?;
        mass_exit = m;
    }
    if wanted(o, "sidechain") {
        play(&mut outcomes, "sidechain: 3 of 4 validators collude", sidechain::collusion()).await?;
    }
    let all_held = outcomes.iter().all(|x| x.held);
    Ok(SuiteReport { outcomes, mass_exit, all_held })
}

/// The same forged root against three families: a sidechain whose 2/3 collude (the bridge is
/// drained — its trust model), an optimistic rollup (the fault-proof game deletes the output),
/// a ZK rollup (the verifier refuses the root).
pub async fn run_collusion(seed: u64) -> Result<SuiteReport, AttackError> {
    let mut outcomes = Vec::new();
    play(&mut outcomes, "sidechain: 3 of 4 validators collude", sidechain::collusion()).await?;
    play(&mut outcomes, "optimistic: wrong output root", optimistic::wrong_output(seed)).await?;
    play(&mut outcomes, "zk: a root without a valid proof", zk::invalid_proof()).await?;
    let all_held = outcomes.iter().all(|x| x.held);
    Ok(SuiteReport { outcomes, mass_exit: None, all_held })
}

/// The fast bridge's attacks (a relayer claiming for a fill it did not make, a proposer
/// redirecting a repayment) against one watcher; the matrix and what the run measured.
pub async fn run_bridge() -> Result<(SuiteReport, BridgeFigures), AttackError> {
    eprintln!("attack: fast bridge: a thief relayer and a thief proposer against one watcher");
    let t = Instant::now();
    let (mut outcomes, figures) = bridge::bridge_attacks().await?;
    let wall = t.elapsed().as_secs_f64();
    for o in &mut outcomes {
        o.wall_s = wall;
    }
    let all_held = outcomes.iter().all(|x| x.held);
    Ok((SuiteReport { outcomes, mass_exit: None, all_held }, figures))
}
