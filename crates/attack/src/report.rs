//! What `aqueduct attack fraud` reports: one record per game, a summary per scenario, and the
//! withdrawal checks, as a table and as JSON.

use std::fmt::Write as _;

use serde::Serialize;

/// One dispute game, start to end.
#[derive(Clone, Debug, Serialize)]
pub struct GameRecord {
    /// The corruption's name, or "false challenge", or a stalling variant.
    pub scenario: String,
    pub run: u32,
    /// What the liar changed or believed.
    pub what: String,
    pub game: u64,
    pub output_index: u64,
    /// The L2 block of the disputed output.
    pub l2_block: u64,
    /// The L2 block the bisection narrowed to (0 when the game ended before).
    pub leaf_block: u64,
    pub expected_winner: &'static str,
    pub winner: &'static str,
    /// The winner was the expected one and every consequence checked out (output deleted or
    /// kept, bonds credited, invented withdrawal refused).
    pub held: bool,
    /// The move that ended the game.
    pub ended_by: String,
    /// Moves in the game (the opening challenge included).
    pub moves: u32,
    /// L1 gas of every move, the opening challenge included.
    pub total_gas: u64,
    /// Every move's gas is in `total_gas` (false: a player killed mid-move sent one whose
    /// receipt it never read, and `total_gas` is a lower bound).
    pub gas_complete: bool,
    /// Gas of the move that ended it (the one-step verification when it is `step`).
    pub deciding_gas: u64,
    pub wall_seconds: f64,
    /// L1 blocks from the output landing to the first challenge move (None: the false
    /// challenger's own challenge is the attack).
    pub detection_l1_blocks: Option<u64>,
    /// L1 clock moved forward to end the game by timeout (0: both sides moved promptly).
    pub clock_advanced_s: u64,
    /// What the winner gained in the game contract's credit, in wei.
    pub winner_credit_wei: String,
    pub checks: Vec<String>,
}

/// Aggregates per scenario.
#[derive(Clone, Debug, Serialize)]
pub struct ScenarioSummary {
    pub scenario: String,
    pub games: u32,
    pub held: u32,
    pub max_moves: u32,
    pub max_total_gas: u64,
    pub max_step_gas: Option<u64>,
    /// Gas of the largest derivation proof (`disproveBlock`: the block re-derived from L1 data
    /// and rebuilt) that ended a game.
    pub max_derivation_proof_gas: Option<u64>,
    pub mean_wall_seconds: f64,
    pub max_detection_l1_blocks: Option<u64>,
}

/// Withdrawals through the whole run.
#[derive(Clone, Debug, Default, Serialize)]
pub struct WithdrawalChecks {
    /// The honest withdrawal's finalization before the window closed: the refusal.
    pub honest_refused_early: String,
    /// Seconds the window still had when the honest withdrawal was proven.
    pub honest_window_s: u64,
    pub honest_paid_when_window_closed: bool,
    /// Each invented withdrawal: proven against the liar's output, then its finalization after
    /// the window: the refusal.
    pub invented: Vec<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct FraudReport {
    pub seed: u64,
    pub runs: u32,
    pub l1_block_time_s: f64,
    pub dispute_clock_s: u64,
    pub finalization_period_s: u64,
    pub games: Vec<GameRecord>,
    pub summary: Vec<ScenarioSummary>,
    pub withdrawals: WithdrawalChecks,
    /// The honest challenger killed mid-game and restarted: what happened.
    pub restart: Option<String>,
    /// Every check held.
    pub all_held: bool,
    /// The checks that did not hold (see [`FraudReport::failures`]).
    pub failures: Vec<String>,
}

impl FraudReport {
    /// Every printed check that failed, by name; the run held when there is none. Each check the
    /// table prints enters it: every game, the honest withdrawal refused while its window is
    /// open and paid when it closes, every invented withdrawal refused, the restarted challenger.
    pub fn failures(games: &[GameRecord], w: &WithdrawalChecks, restart: Option<&str>) -> Vec<String> {
        let mut out: Vec<String> = games
            .iter()
            .filter(|g| !g.held)
            .map(|g| format!("game {} ({}, run {}) did not hold", g.game, g.scenario, g.run))
            .collect();
        if w.honest_refused_early.is_empty() || w.honest_refused_early.starts_with("NOT") {
            out.push(format!("the honest withdrawal was not refused before its window: {}", w.honest_refused_early));
        }
        if !w.honest_paid_when_window_closed {
            out.push("the honest withdrawal was not paid when its window closed".into());
        }
        out.extend(
            w.invented.iter().filter(|i| !i.contains("OutputDeleted")).map(|i| format!("invented withdrawal: {i}")),
        );
        if let Some(r) = restart.filter(|r| !r.starts_with("resumed")) {
            out.push(format!("the restarted challenger: {r}"));
        }
        out
    }

    pub fn summarize(games: &[GameRecord]) -> Vec<ScenarioSummary> {
        let mut names: Vec<&str> = games.iter().map(|g| g.scenario.as_str()).collect();
        let mut seen = std::collections::HashSet::new();
        names.retain(|n| seen.insert(*n));
        names
            .into_iter()
            .map(|name| {
                let gs: Vec<&GameRecord> = games.iter().filter(|g| g.scenario == name).collect();
                let ended = |how: &str| gs.iter().filter(|g| g.ended_by == how).map(|g| g.deciding_gas).max();
                ScenarioSummary {
                    scenario: name.to_string(),
                    games: gs.len() as u32,
                    held: gs.iter().filter(|g| g.held).count() as u32,
                    max_moves: gs.iter().map(|g| g.moves).max().unwrap_or(0),
                    max_total_gas: gs.iter().map(|g| g.total_gas).max().unwrap_or(0),
                    max_step_gas: ended("step"),
                    max_derivation_proof_gas: ended("disprove block"),
                    mean_wall_seconds: gs.iter().map(|g| g.wall_seconds).sum::<f64>() / gs.len().max(1) as f64,
                    max_detection_l1_blocks: gs.iter().filter_map(|g| g.detection_l1_blocks).max(),
                }
            })
            .collect()
    }

    /// The human-readable report.
    pub fn table(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "aqueduct attack fraud — seed {}, {} run(s) per scenario, embedded L1 {} s blocks, dispute clock {} s, finalization period {} s",
            self.seed, self.runs, self.l1_block_time_s, self.dispute_clock_s, self.finalization_period_s
        );
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "{:<34} {:>4} {:>6} {:>6} {:>10} {:>11} {:>22} {:>8} {:>9} {:>7}  held",
            "scenario", "run", "game", "moves", "total gas", "winner", "ended by (gas)", "wall s", "detect", "clock+",
        );
        for g in &self.games {
            let detect = g.detection_l1_blocks.map(|d| format!("{d} blk")).unwrap_or_else(|| "-".into());
            let _ = writeln!(
                out,
                "{:<34} {:>4} {:>6} {:>6} {:>10} {:>11} {:>22} {:>8.1} {:>9} {:>7}  {}",
                g.scenario,
                g.run,
                g.game,
                g.moves,
                format!("{}{}", if g.gas_complete { "" } else { "≥" }, g.total_gas),
                g.winner,
                format!("{} ({})", g.ended_by, g.deciding_gas),
                g.wall_seconds,
                detect,
                g.clock_advanced_s,
                if g.held { "yes" } else { "NO" },
            );
        }
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "{:<34} {:>6} {:>6} {:>9} {:>13} {:>13} {:>13} {:>10} {:>12}",
            "summary",
            "games",
            "held",
            "max moves",
            "max total gas",
            "max step gas",
            "max derive gas",
            "mean wall",
            "max detect"
        );
        for s in &self.summary {
            let _ = writeln!(
                out,
                "{:<34} {:>6} {:>6} {:>9} {:>13} {:>13} {:>13} {:>9.1}s {:>12}",
                s.scenario,
                s.games,
                s.held,
                s.max_moves,
                s.max_total_gas,
                s.max_step_gas.map(|g| g.to_string()).unwrap_or_else(|| "-".into()),
                s.max_derivation_proof_gas.map(|g| g.to_string()).unwrap_or_else(|| "-".into()),
                s.mean_wall_seconds,
                s.max_detection_l1_blocks.map(|d| format!("{d} blk")).unwrap_or_else(|| "-".into()),
            );
        }
        let _ = writeln!(out);
        let w = &self.withdrawals;
        let _ = writeln!(
            out,
            "honest withdrawal: refused before its window closed ({}); window {} s; paid when it closed: {}",
            w.honest_refused_early, w.honest_window_s, w.honest_paid_when_window_closed
        );
        for i in &w.invented {
            let _ = writeln!(out, "invented withdrawal: {i}");
        }
        if let Some(r) = &self.restart {
            let _ = writeln!(out, "challenger restart: {r}");
        }
        let _ = writeln!(out, "every check held: {}", if self.all_held { "yes" } else { "NO" });
        for f in &self.failures {
            let _ = writeln!(out, "  failed: {f}");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn game(held: bool) -> GameRecord {
        GameRecord {
            scenario: "state root".into(),
            run: 0,
            what: String::new(),
            game: 1,
            output_index: 1,
            l2_block: 1,
            leaf_block: 0,
            expected_winner: "challenger",
            winner: "challenger",
            held,
            ended_by: "step".into(),
            moves: 1,
            total_gas: 0,
            gas_complete: true,
            deciding_gas: 0,
            wall_seconds: 0.0,
            detection_l1_blocks: None,
            clock_advanced_s: 0,
            winner_credit_wei: "0".into(),
            checks: Vec::new(),
        }
    }

    fn withdrawals() -> WithdrawalChecks {
        WithdrawalChecks {
            honest_refused_early: "ChallengeWindowOpen".into(),
            honest_window_s: 5,
            honest_paid_when_window_closed: true,
            invented: vec!["1 wei to 0x… proven against output 2, finalization after the window: OutputDeleted".into()],
        }
    }

    /// Issue 23, item 9: the verdict ignored the early-refusal check. Each printed check, made
    /// to fail on its own, fails the run (the CLI exits non-zero when any does).
    #[test]
    fn every_printed_check_can_fail_the_run() {
        let games = vec![game(true)];
        assert!(FraudReport::failures(&games, &withdrawals(), Some("resumed: …")).is_empty());
        let early = WithdrawalChecks { honest_refused_early: "NOT refused".into(), ..withdrawals() };
        let unpaid = WithdrawalChecks { honest_paid_when_window_closed: false, ..withdrawals() };
        let invented = WithdrawalChecks { invented: vec!["NOT refused: it would be paid".into()], ..withdrawals() };
        let cases: [(Vec<GameRecord>, WithdrawalChecks, Option<&str>); 5] = [
            (vec![game(true), game(false)], withdrawals(), None),
            (games.clone(), early, None),
            (games.clone(), unpaid, None),
            (games.clone(), invented, None),
            (games.clone(), withdrawals(), Some("lost its game")),
        ];
        for (g, w, r) in &cases {
            assert_eq!(FraudReport::failures(g, w, *r).len(), 1, "{w:?} {r:?}");
        }
    }
}
