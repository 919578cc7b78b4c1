//! `aqueduct attack fraud`: malicious proposers post wrong output roots (seeded corruptions of
//! the real L2 state, an invented withdrawal) and malicious challengers dispute honest ones, on a
//! live rollup over the embedded L1. The honest challenger and the honest proposer are the node's
//! own `Challenger` actors; the liars are the same actors with lies in their truth. Every game
//! is played to its end on L1 and its consequences are checked: who won, the output deleted or
//! kept, the bonds credited, the invented withdrawal refused, the honest withdrawal paid when
//! its window closes.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use alloy::{
    primitives::{B256, U256},
    signers::local::PrivateKeySigner,
};
use aqueduct_contracts::rollup::DisputeGame;
use aqueduct_rollup_node::{
    Challenger, GameAction, WithdrawalProof, build_proof, deposit_eth, finalize_request, is_finalized, output_at,
    prove_request, seconds_left, withdraw_eth_call,
};
use indicatif::{ProgressBar, ProgressStyle};
use parking_lot::Mutex;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tokio_util::sync::CancellationToken;
use tracing::info;

use crate::{
    AttackError,
    corruption::{Corruption, Lie, false_belief, make_lie},
    report::{FraudReport, GameRecord, WithdrawalChecks},
    world::{ETH, RollupWorld, WorldOptions, revert_name, wait_for},
};

/// What to run.
#[derive(Clone, Debug)]
pub struct FraudOptions {
    /// Seeded runs per scenario.
    pub runs: u32,
    pub seed: u64,
    pub kinds: Vec<Corruption>,
    /// Also a malicious challenger against an honest output, each run.
    pub false_challenges: bool,
    /// Also one liar and one false challenger that stop moving mid-game, beaten by their clock
    /// (the L1 clock is moved forward; run last, as it leaves the L2 behind L1 time).
    pub stalls: bool,
    /// Kill the honest challenger (its task aborted) early in the first game and start a fresh one.
    pub restart: bool,
    pub world: WorldOptions,
    /// Show a progress bar.
    pub progress: bool,
}

impl Default for FraudOptions {
    fn default() -> Self {
        Self {
            runs: 3,
            seed: 1,
            kinds: Corruption::ALL.to_vec(),
            false_challenges: true,
            stalls: true,
            restart: true,
            world: WorldOptions::default(),
            progress: false,
        }
    }
}

const GAME_SECS: u64 = 300;

/// The players and their move logs.
struct Players {
    proposer: PrivateKeySigner,
    challenger: PrivateKeySigner,
    liar: PrivateKeySigner,
    false_challenger: PrivateKeySigner,
    user: PrivateKeySigner,
    honest_actions: Arc<Mutex<Vec<GameAction>>>,
    defender_actions: Arc<Mutex<Vec<GameAction>>>,
    /// The honest challenger's task (aborted, as by a crash, and replaced on a restart).
    honest_task: Mutex<Option<tokio::task::JoinHandle<()>>>,
    /// Stops every player when the run ends.
    cancel: CancellationToken,
}

struct Game<'a> {
    world: &'a RollupWorld,
    players: &'a Players,
}

/// A dishonest player's actor, running until cancelled or dropped.
struct Running {
    actions: Arc<Mutex<Vec<GameAction>>>,
    cancel: CancellationToken,
    _stop: tokio_util::sync::DropGuard,
}

impl Running {
    fn spawn(player: Challenger) -> Self {
        let cancel = CancellationToken::new();
        let actions = player.actions.clone();
        tokio::spawn(player.run(cancel.clone()));
        Self { actions, _stop: cancel.clone().drop_guard(), cancel }
    }
}

/// What a played game leaves for its record.
struct Played {
    id: u64,
    game: DisputeGame::Game,
    wall: f64,
    clock_advanced: u64,
}

pub async fn run_fraud(o: FraudOptions) -> Result<FraudReport, AttackError> {
    let world = RollupWorld::start(o.world.clone()).await?;
    let s = world.signers.clone();
    let cancel = CancellationToken::new();
    let _stop = cancel.clone().drop_guard();
    let honest = world.player(&s[3], true);
    let defender = world.player(&s[2], false);
    let players = Players {
        proposer: s[2].clone(),
        challenger: s[3].clone(),
        liar: s[4].clone(),
        false_challenger: s[5].clone(),
        user: s[9].clone(),
        honest_actions: honest.actions.clone(),
        defender_actions: defender.actions.clone(),
        honest_task: Mutex::new(None),
        cancel: cancel.clone(),
    };
    *players.honest_task.lock() = Some(tokio::spawn(honest.run(cancel.child_token())));
    tokio::spawn(defender.run(cancel.child_token()));
    let g = Game { world: &world, players: &players };

    // An honest user bridges ETH in (the portal holds what withdrawals pay) and starts a
    // withdrawal on L2 right away; it must be paid exactly when its window closes.
    let portal = world.cfg.portal;
    let nonce_before = world.sequencer.next_nonce(players.user.address());
    let dep = deposit_eth(&world.l1, &players.user, portal, players.user.address(), U256::from(20 * ETH)).await?;
    world.l1.wait(dep).await.map_err(|source| AttackError::L1During { what: "the user's deposit".into(), source })?;
    // A deposit takes the sender's next L2 nonce (as OP's do) once the sequencer includes it: a
    // withdrawal signed before that would carry a nonce the deposit then uses. (The user sends
    // nothing else, so its next nonce moves only with the deposit.)
    crate::world::wait_for("the user's deposit on L2", 240, || async {
        Ok(world.sequencer.next_nonce(players.user.address()) > nonce_before)
    })
    .await?;
    let withdrawal_tx = world.send_l2(&players.user, &withdraw_eth_call(players.user.address(), U256::from(ETH)))?;
    // It is proven at the end against the verifier's chain: it must be derived before the games
    // (whose L1 time jumps leave the L2 behind L1 and its later blocks to default ones).
    crate::world::wait_for("the honest withdrawal on the verifier's chain", 240, || async {
        Ok(world.verifier.transaction(&withdrawal_tx).is_some())
    })
    .await?;

    let mut rng = ChaCha8Rng::seed_from_u64(o.seed);
    let total = o.runs as u64 * (o.kinds.len() as u64 + o.false_challenges as u64) + 2 * o.stalls as u64;
    let bar = if o.progress { ProgressBar::new(total) } else { ProgressBar::hidden() };
    bar.set_style(
        ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {pos}/{len} games  {msg}")
            .expect("a valid template")
            .progress_chars("=> "),
    );

    let mut games = Vec::new();
    let mut agreed = 0u64;
    let mut invented = Vec::new();
    let mut restart = None;
    for run in 0..o.runs {
        for kind in &o.kinds {
            bar.set_message(kind.name());
            let b = agreed + rng.random_range(3..=8u64);
            world.derived(b).await?;
            let lie = make_lie(&world.verifier, *kind, agreed, b, &players.liar, &mut rng)?;
            let restart_now = o.restart && restart.is_none();
            let (record, proof) =
                g.lying_proposer(kind.name(), &lie, run, None, restart_now.then_some(&mut restart)).await?;
            games.push(record);
            invented.extend(proof);
            g.post_honest(b).await?;
            agreed = b;
            bar.inc(1);
        }
        if o.false_challenges {
            bar.set_message("false challenge");
            let b = agreed + rng.random_range(3..=8u64);
            world.derived(b).await?;
            games.push(g.false_challenger(b, run, None, &mut rng).await?);
            agreed = b;
            bar.inc(1);
        }
    }
    if o.stalls {
        bar.set_message("stalling liar");
        let b = agreed + rng.random_range(6..=8u64);
        world.derived(b).await?;
        let lie = make_lie(&world.verifier, Corruption::BalanceChanged, agreed, b, &players.liar, &mut rng)?;
        // It claims once or twice, then leaves a block claim or its block unanswered.
        let stop_after = rng.random_range(1..=2u32);
        games.push(g.lying_proposer("stalling liar", &lie, 0, Some(stop_after), None).await?.0);
        g.post_honest(b).await?;
        agreed = b;
        bar.inc(1);
        bar.set_message("stalling false challenger");
        let b = agreed + rng.random_range(3..=8u64);
        world.derived(b).await?;
        let stop_after = rng.random_range(2..=4u32);
        games.push(g.false_challenger(b, 0, Some(stop_after), &mut rng).await?);
        bar.inc(1);
    }
    bar.finish_and_clear();

    // The honest withdrawal is proven against an honest output: one must cover its block (a
    // short run's outputs may all lie before it).
    let withdrawal_block = world.verifier.transaction(&withdrawal_tx).map_or(0, |(b, _)| b.number());
    if withdrawal_block > agreed {
        world.derived(withdrawal_block).await?;
        g.post_honest(withdrawal_block).await?;
    }
    let withdrawals = g.withdrawals(withdrawal_tx, &invented).await?;
    let summary = FraudReport::summarize(&games);
    let failures = FraudReport::failures(&games, &withdrawals, restart.as_deref());
    let all_held = failures.is_empty();
    Ok(FraudReport {
        seed: o.seed,
        runs: o.runs,
        l1_block_time_s: o.world.l1_block_time,
        dispute_clock_s: o.world.dispute_clock,
        finalization_period_s: o.world.finalization_period,
        games,
        summary,
        withdrawals,
        restart,
        all_held,
        failures,
    })
}

impl Game<'_> {
    /// Posts the honest output at `b` (the proposer's), so the next game starts after it.
    async fn post_honest(&self, b: u64) -> Result<(), AttackError> {
        let root = output_at(&self.world.verifier, b)?.hash();
        self.world.propose(&self.players.proposer, root, b).await?;
        Ok(())
    }

    /// A liar posts `lie` and defends it; the honest challenger must win. With `stop_after`, the
    /// liar goes silent after that many moves of its own and loses on time. With `restart`, the
    /// honest challenger is killed mid-game and a fresh one finishes it.
    async fn lying_proposer(
        &self,
        scenario: &str,
        lie: &Lie,
        run: u32,
        stop_after: Option<u32>,
        restart: Option<&mut Option<String>>,
    ) -> Result<(GameRecord, Option<(WithdrawalProof, u64)>), AttackError> {
        let w = self.world;
        let p = self.players;
        let mut liar = w.player(&p.liar, false);
        lie.teach(&mut liar);
        let liar = Running::spawn(liar);
        let games_before = w.game_count().await?;
        let credit_before = w.credit(p.challenger.address()).await?;
        let started = Instant::now();
        let root = lie.output().hash();
        let (index, landed) = w.propose(&p.liar, root, lie.block).await?;
        info!(target: "attack", kind = lie.kind.name(), index, l2_block = lie.block, what = %lie.what, "wrong output posted");
        let mut proof = None;
        if let Some((wd, branch)) = &lie.invented {
            let pr = WithdrawalProof {
                withdrawal: wd.clone(),
                l2_block: lie.block,
                output_index: index,
                output: lie.output(),
                branch: branch.clone(),
            };
            let at = match w
                .send_l1(&p.liar, prove_request(&w.l1, w.cfg.portal, &pr), "proving the invented withdrawal")
                .await
            {
                Ok((at, _)) => at,
                Err(e) => {
                    info!(target: "attack", error = %e, "the liar could not prove its withdrawal");
                    0
                }
            };
            proof = Some((pr, at));
        }
        let id = self.game_on(index, root, games_before).await?;
        if let Some(restart) = restart {
            *restart = Some(self.restart_challenger(id).await?);
        }
        let clock_advanced = self.silence_after(stop_after, &liar, id, true).await?;
        let played = self.until_over(id, started, clock_advanced).await?;
        liar.cancel.cancel();
        let mut checks = Vec::new();
        let challenger_won = played.game.status == 2;
        checks.push(format!("winner: {}", if challenger_won { "challenger" } else { "defender" }));
        let next = w.next_output_index().await?;
        let deleted = next == index;
        checks.push(format!("output {index} deleted: {deleted}"));
        let gained = w.credit(p.challenger.address()).await?.saturating_sub(credit_before);
        let bond_taken = gained >= w.options.output_bond;
        checks.push(format!("challenger credited {gained} wei (≥ the liar's output bond: {bond_taken})"));
        let mut proven = true;
        if let Some((_, at)) = &proof {
            proven = *at > 0;
            checks.push(format!("invented withdrawal proven against the wrong output: {proven}"));
        }
        let held = challenger_won && deleted && bond_taken && proven;
        let logs = [&p.honest_actions, &liar.actions];
        let record = self.record(scenario, run, &lie.what, index, lie.block, &played, &logs, Some(landed), held);
        Ok((GameRecord { checks, winner_credit_wei: gained.to_string(), ..record }, proof.map(|(p, _)| (p, index))))
    }

    /// A malicious challenger disputes the honest output at `b`; the proposer must win. With
    /// `stop_after`, the challenger goes silent after that many moves and loses on time.
    async fn false_challenger(
        &self,
        b: u64,
        run: u32,
        stop_after: Option<u32>,
        rng: &mut impl Rng,
    ) -> Result<GameRecord, AttackError> {
        let w = self.world;
        let p = self.players;
        let belief = false_belief(&w.verifier, b, rng)?;
        let mut fc = w.player(&p.false_challenger, true);
        belief.teach(&mut fc);
        let fc = Running::spawn(fc);
        let games_before = w.game_count().await?;
        let credit_before = w.credit(p.proposer.address()).await?;
        let started = Instant::now();
        let root = output_at(&w.verifier, b)?.hash();
        let (index, _) = w.propose(&p.proposer, root, b).await?;
        let id = self.game_on(index, root, games_before).await?;
        let clock_advanced = self.silence_after(stop_after, &fc, id, false).await?;
        let played = self.until_over(id, started, clock_advanced).await?;
        fc.cancel.cancel();
        let defender_won = played.game.status == 3;
        let kept = w.next_output_index().await? == index + 1;
        let gained = w.credit(p.proposer.address()).await?.saturating_sub(credit_before);
        let bond_taken = gained >= w.options.base_bond;
        let checks = vec![
            format!("winner: {}", if defender_won { "defender" } else { "challenger" }),
            format!("honest output {index} kept: {kept}"),
            format!("proposer credited {gained} wei (≥ the challenger's first bond: {bond_taken})"),
        ];
        let scenario = if stop_after.is_some() { "stalling false challenger" } else { "false challenge" };
        let logs = [&fc.actions, &p.defender_actions];
        let record = self.record(
            scenario,
            run,
            &belief.what,
            index,
            b,
            &played,
            &logs,
            None,
            defender_won && kept && bond_taken,
        );
        Ok(GameRecord { checks, winner_credit_wei: gained.to_string(), expected_winner: "defender", ..record })
    }

    async fn game_on(&self, index: u64, root: B256, from: u64) -> Result<u64, AttackError> {
        let w = self.world;
        wait_for(&format!("a game on output {index}"), GAME_SECS, || async {
            Ok(w.game_on(index, root, from).await?.is_some())
        })
        .await?;
        w.game_on(index, root, from).await?.ok_or_else(|| AttackError::Failed(format!("game on output {index} gone")))
    }

    /// Kills the honest challenger once game `id` is a few moves in, starts a fresh one (nothing
    /// carried over but its key), and says whether the fresh one moved in the game.
    async fn restart_challenger(&self, id: u64) -> Result<String, AttackError> {
        let w = self.world;
        // Killed when the defender has made its first claim: the challenger still has its answer
        // and, at least, its last move to make, even if one move was in flight at the crash.
        wait_for("game moves before the restart", GAME_SECS, || async { Ok(w.game(id).await?.moves >= 2) }).await?;
        let old = self.players.honest_task.lock().take();
        if let Some(task) = old {
            task.abort();
            let _ = task.await;
        }
        let at = w.game(id).await?.moves;
        let killed_at = Instant::now();
        let mut fresh: Challenger = w.player(&self.players.challenger, true);
        // Its moves count with the honest challenger's.
        fresh.actions = self.players.honest_actions.clone();
        *self.players.honest_task.lock() = Some(tokio::spawn(fresh.run(self.players.cancel.child_token())));
        let log = self.players.honest_actions.clone();
        let moved = || log.lock().iter().any(|a| a.game == Some(id) && a.at > killed_at);
        wait_for("the restarted challenger to move", GAME_SECS, || async {
            Ok(moved() || w.game(id).await?.status != 1)
        })
        .await?;
        let resumed = moved();
        Ok(if resumed {
            format!(
                "resumed: killed at move {at} of game {id}; a fresh challenger (no local state) read the game from L1 and played on"
            )
        } else {
            format!("did not resume game {id} (killed at move {at})")
        })
    }

    /// With `stop_after`, silences `player` once it has made that many moves, then outwaits it
    /// (`defender`: it is the defender). Returns the seconds the L1 clock was moved.
    async fn silence_after(
        &self,
        stop_after: Option<u32>,
        player: &Running,
        id: u64,
        defender: bool,
    ) -> Result<u64, AttackError> {
        let Some(k) = stop_after else { return Ok(0) };
        wait_for("the silent player's moves", GAME_SECS, || async { Ok(player.actions.lock().len() as u32 >= k) })
            .await?;
        player.cancel.cancel();
        self.outwait(id, defender).await
    }

    /// Waits until the silent side is to move, then moves the L1 clock to where its time is up.
    /// Returns the seconds moved.
    async fn outwait(&self, id: u64, defender_silent: bool) -> Result<u64, AttackError> {
        let w = self.world;
        wait_for("the silent side to be on move", GAME_SECS, || async {
            let g = w.game(id).await?;
            Ok(g.status != 1 || g.defenderToMove == defender_silent)
        })
        .await?;
        // Let any move already sent land first.
        tokio::time::sleep(Duration::from_secs_f64(w.options.l1_block_time * 3.0)).await;
        let g = w.game(id).await?;
        if g.status != 1 || g.defenderToMove != defender_silent {
            return Ok(0);
        }
        let left: u64 =
            w.l1.read(w.cfg.dispute_game, DisputeGame::clockLeftCall { gameId: U256::from(id) })
                .await?
                .left
                .saturating_to();
        w.advance_l1_time(left).await?;
        Ok(left)
    }

    async fn until_over(&self, id: u64, started: Instant, clock_advanced: u64) -> Result<Played, AttackError> {
        let w = self.world;
        wait_for(&format!("game {id} to end"), GAME_SECS, || async { Ok(w.game(id).await?.status != 1) }).await?;
        let wall = started.elapsed().as_secs_f64();
        // The winner records its last move once the receipt is in; give it a moment.
        tokio::time::sleep(Duration::from_millis(600)).await;
        Ok(Played { id, game: w.game(id).await?, wall, clock_advanced })
    }

    #[allow(clippy::too_many_arguments)]
    fn record(
        &self,
        scenario: &str,
        run: u32,
        what: &str,
        index: u64,
        l2_block: u64,
        played: &Played,
        logs: &[&Arc<Mutex<Vec<GameAction>>>],
        landed: Option<u64>,
        held: bool,
    ) -> GameRecord {
        let all: Vec<GameAction> = logs.iter().flat_map(|l| l.lock().clone()).collect();
        let in_game: Vec<&GameAction> = all.iter().filter(|a| a.game == Some(played.id)).collect();
        let opening = all
            .iter()
            .filter(|a| a.game.is_none() && a.output_index == index && a.action == "challenge")
            .filter(|a| landed.is_none_or(|l| a.l1_block >= l))
            .min_by_key(|a| a.l1_block);
        let total = in_game.iter().map(|a| a.gas_used).sum::<u64>() + opening.map(|a| a.gas_used).unwrap_or(0);
        // Every recorded action but a timeout claim is a move on L1.
        let recorded = opening.is_some() as usize + in_game.iter().filter(|a| a.action != "timeout").count();
        // Order of landing on L1 (two moves may share a block: the loser's last one, then the deciding one).
        let last = in_game.iter().max_by_key(|a| (a.l1_block, a.tx_index, a.at));
        let winner = match played.game.status {
            2 => "challenger",
            3 => "defender",
            _ => "none",
        };
        GameRecord {
            scenario: scenario.to_string(),
            run,
            what: what.to_string(),
            game: played.id,
            output_index: index,
            l2_block,
            leaf_block: played.game.l2Block,
            expected_winner: "challenger",
            winner,
            held,
            ended_by: last.map(|a| a.action.to_string()).unwrap_or_else(|| "-".into()),
            moves: played.game.moves,
            total_gas: total,
            gas_complete: recorded == played.game.moves as usize,
            deciding_gas: last.map(|a| a.gas_used).unwrap_or(0),
            wall_seconds: played.wall,
            detection_l1_blocks: match (landed, opening) {
                (Some(l), Some(o)) => Some(o.l1_block.saturating_sub(l)),
                _ => None,
            },
            clock_advanced_s: played.clock_advanced,
            winner_credit_wei: String::new(),
            checks: Vec::new(),
        }
    }

    /// The honest withdrawal, proven against the honest output, is refused while its window is
    /// open and paid the moment it closes; every invented one stays refused after its window.
    async fn withdrawals(
        &self,
        tx: B256,
        invented: &[(WithdrawalProof, u64)],
    ) -> Result<WithdrawalChecks, AttackError> {
        let w = self.world;
        let p = self.players;
        let portal = w.cfg.portal;
        let proof = build_proof(&*w.verifier, &w.l1, w.cfg.oracle, tx).await?;
        w.send_l1(&p.user, prove_request(&w.l1, portal, &proof), "proving the honest withdrawal").await?;
        let call = finalize_request(&w.l1, portal, &proof.withdrawal);
        let early = match w.l1.simulate_request(p.user.address(), call.clone()).await {
            Ok(()) => "NOT refused".to_string(),
            Err(e) => revert_name(&e),
        };
        let left = seconds_left(&w.l1, portal, &proof.withdrawal).await?.unwrap_or(0);
        w.advance_l1_time(left).await?;
        w.send_l1(&p.user, call, "finalizing the honest withdrawal").await?;
        let paid = is_finalized(&w.l1, portal, &proof.withdrawal).await?;
        let mut refused = Vec::new();
        for (pr, index) in invented {
            let call = finalize_request(&w.l1, portal, &pr.withdrawal);
            let why = match w.l1.simulate_request(p.liar.address(), call).await {
                Ok(()) => "NOT refused: it would be paid".to_string(),
                Err(e) => revert_name(&e),
            };
            refused.push(format!(
                "{} wei to {} proven against output {index}, finalization after the window: {why}",
                pr.withdrawal.value, pr.withdrawal.target
            ));
        }
        Ok(WithdrawalChecks {
            honest_refused_early: early,
            honest_window_s: left,
            honest_paid_when_window_closed: paid && left > 0,
            invented: refused,
        })
    }
}
