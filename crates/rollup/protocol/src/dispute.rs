//! The dispute game's strategy (DESIGN D6, D10): given a game as L1 holds it and what this node
//! knows to be true, the next move of one side. Sans-IO: the driver reads the game, asks, sends.
//! The same code plays the honest challenger and the honest defender (a proposer of correct
//! outputs); the attack suite's dishonest players are this strategy with a lying `Truth`.

use alloy::primitives::B256;

/// Which part of the game is being played.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Over L2 blocks: claims are output roots.
    Blocks,
    /// Over the steps of one block: claims are state roots.
    Steps,
}

/// A game as L1 holds it (the fields the strategy reads).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GameView {
    pub phase: Phase,
    pub defender_to_move: bool,
    pub lo: u64,
    pub hi: u64,
    pub lo_claim: B256,
    pub hi_claim: B256,
    /// The defender's pending claim at the middle (zero: none).
    pub mid_claim: B256,
    /// The disputed block, once the steps are open.
    pub l2_block: u64,
    pub claimed_post_state: B256,
    pub claimed_withdrawals_root: B256,
    /// The disputed block's hash as the defender's output names it.
    pub claimed_block_hash: B256,
    /// Seconds the side to move has left.
    pub clock_left: u64,
}

impl GameView {
    /// The position a middle claim is for.
    pub fn middle(&self) -> u64 {
        self.lo + (self.hi - self.lo) / 2
    }

    fn at_leaf(&self) -> bool {
        self.hi - self.lo == 1
    }
}

/// What a side believes: output roots of blocks, the state roots between the steps of a block,
/// and the state root and message tree root after a block.
pub trait Truth {
    fn output(&self, block: u64) -> Option<B256>;
    /// `roots[k]` is the state root before step `k` of `block` (the last, after all of them).
    fn step_roots(&self, block: u64) -> Option<Vec<B256>>;
    /// The state root and withdrawals root after `block`.
    fn state_and_withdrawals(&self, block: u64) -> Option<(B256, B256)>;
    /// The hash of `block`.
    fn block_hash(&self, block: u64) -> Option<B256>;
}

/// The next move of one side.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Move {
    /// Defender: the claim at the middle.
    ClaimMiddle(B256),
    /// Challenger: agree or disagree with the pending claim.
    Answer(bool),
    /// Defender at the block leaf: reveal both outputs and publish block `block`.
    OpenSteps { block: u64 },
    /// Challenger (anyone) at a step leaf: re-execute step `step` of `block`.
    Step { block: u64, step: u64 },
    /// Challenger (anyone), once the steps are open: the disputed block is not the one L1's data
    /// and the agreed block make (a transaction skipped, added or changed; a wrong header).
    DisproveBlock { block: u64 },
    /// Challenger: the disputed output's withdrawals root is not its state's.
    DisproveWithdrawals { block: u64 },
    /// The other side's clock has run out.
    ClaimTimeout,
    /// Nothing to do now (the other side is to move, or this side does not know enough yet).
    Wait,
}

/// The move `defender` (or the challenger) makes next in `g`, by `truth`.
pub fn next_move(g: &GameView, defender: bool, truth: &impl Truth) -> Move {
    // A block that is not the one derivation makes is disproved at once, whoever is to move:
    // its steps may all hold (the wrong transactions, faithfully executed).
    if !defender && g.phase == Phase::Steps && truth.block_hash(g.l2_block).is_some_and(|h| h != g.claimed_block_hash) {
        return Move::DisproveBlock { block: g.l2_block };
    }
    let my_turn = g.defender_to_move == defender;
    if !my_turn {
        return if g.clock_left == 0 { Move::ClaimTimeout } else { Move::Wait };
    }
    if defender { defend(g, truth) } else { challenge(g, truth) }
}

fn defend(g: &GameView, truth: &impl Truth) -> Move {
    match g.phase {
        Phase::Blocks if g.at_leaf() => Move::OpenSteps { block: g.hi },
        Phase::Blocks => truth.output(g.middle()).map(Move::ClaimMiddle).unwrap_or(Move::Wait),
        Phase::Steps => {
            let Some(roots) = truth.step_roots(g.l2_block) else { return Move::Wait };
            roots.get(g.middle() as usize).copied().map(Move::ClaimMiddle).unwrap_or(Move::Wait)
        }
    }
}

fn challenge(g: &GameView, truth: &impl Truth) -> Move {
    if g.phase == Phase::Steps {
        // An output whose state root is right but whose withdrawals root is not is disproved
        // directly; anything else about the block is settled by bisecting its steps.
        if let Some((state, withdrawals)) = truth.state_and_withdrawals(g.l2_block)
            && g.claimed_post_state == state
            && g.claimed_withdrawals_root != withdrawals
        {
            return Move::DisproveWithdrawals { block: g.l2_block };
        }
        if g.mid_claim.is_zero() && g.at_leaf() {
            return Move::Step { block: g.l2_block, step: g.lo };
        }
    }
    if g.mid_claim.is_zero() {
        return Move::Wait;
    }
    let mid = g.middle();
    let known = match g.phase {
        Phase::Blocks => truth.output(mid),
        Phase::Steps => truth.step_roots(g.l2_block).and_then(|r| r.get(mid as usize).copied()),
    };
    match known {
        Some(root) => Move::Answer(root == g.mid_claim),
        None => Move::Wait,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::primitives::keccak256;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// A toy chain: block `b` has `1 + b % 4` steps; roots are hashes of positions, and a liar's
    /// roots differ from some position on.
    struct Toy {
        lie_from: Option<(u64, u64)>,
        /// From this block on, the blocks themselves differ (other transactions).
        block_lie_from: Option<u64>,
    }

    impl Toy {
        fn steps(b: u64) -> u64 {
            1 + b % 4
        }
        fn state(&self, b: u64, k: u64) -> B256 {
            let lie = self.lie_from.is_some_and(|(lb, lk)| (b, k) >= (lb, lk));
            keccak256([b.to_be_bytes(), k.to_be_bytes(), [lie as u8; 8]].concat())
        }
    }

    impl Truth for Toy {
        fn output(&self, b: u64) -> Option<B256> {
            let (s, w) = self.state_and_withdrawals(b)?;
            Some(keccak256([s, w, self.block_hash(b)?].concat()))
        }
        fn block_hash(&self, b: u64) -> Option<B256> {
            let lie = self.block_lie_from.is_some_and(|lb| b >= lb);
            Some(keccak256([b.to_be_bytes(), [lie as u8; 8]].concat()))
        }
        fn step_roots(&self, b: u64) -> Option<Vec<B256>> {
            let mut roots = vec![if b == 0 { self.state(0, 0) } else { self.state(b - 1, Self::steps(b - 1)) }];
            roots.extend((1..=Self::steps(b)).map(|k| self.state(b, k)));
            Some(roots)
        }
        fn state_and_withdrawals(&self, b: u64) -> Option<(B256, B256)> {
            let s = if b == 0 { self.state(0, 0) } else { self.state(b, Self::steps(b)) };
            Some((s, keccak256(s)))
        }
    }

    /// Plays a game the way the contract runs it, between a defender and a challenger with
    /// their own truths; returns whether the challenger won and how many moves it took.
    fn play(defender: &Toy, challenger: &Toy, judge: &Toy, lo: u64, hi: u64) -> (bool, u32) {
        let mut g = GameView {
            phase: Phase::Blocks,
            defender_to_move: true,
            lo,
            hi,
            lo_claim: judge.output(lo).unwrap(),
            hi_claim: defender.output(hi).unwrap(),
            mid_claim: B256::ZERO,
            l2_block: 0,
            claimed_post_state: B256::ZERO,
            claimed_withdrawals_root: B256::ZERO,
            claimed_block_hash: B256::ZERO,
            clock_left: 100,
        };
        let mut moves = 1;
        loop {
            moves += 1;
            // The challenger may disprove a block whoever is to move.
            if let mv @ Move::DisproveBlock { block } = next_move(&g, false, challenger) {
                assert_eq!(g.phase, Phase::Steps, "{mv:?}");
                // L1 re-derives the block: the judge's.
                return (judge.block_hash(block) != Some(g.claimed_block_hash), moves);
            }
            let me_defender = g.defender_to_move;
            let mv = next_move(&g, me_defender, if me_defender { defender } else { challenger });
            match mv {
                Move::ClaimMiddle(c) => {
                    g.mid_claim = c;
                    g.defender_to_move = false;
                }
                Move::Answer(agree) => {
                    let mid = g.middle();
                    if agree {
                        (g.lo, g.lo_claim) = (mid, g.mid_claim);
                    } else {
                        (g.hi, g.hi_claim) = (mid, g.mid_claim);
                    }
                    g.mid_claim = B256::ZERO;
                    g.defender_to_move = !(g.phase == Phase::Steps && g.at_leaf());
                }
                Move::OpenSteps { block } => {
                    let roots = defender.step_roots(block).unwrap();
                    let (s, w) = defender.state_and_withdrawals(block).unwrap();
                    g.phase = Phase::Steps;
                    g.l2_block = block;
                    (g.claimed_post_state, g.claimed_withdrawals_root) = (s, w);
                    g.claimed_block_hash = defender.block_hash(block).unwrap();
                    (g.lo, g.hi) = (0, roots.len() as u64 - 1);
                    (g.lo_claim, g.hi_claim) = (roots[0], *roots.last().unwrap());
                    g.defender_to_move = !g.at_leaf();
                }
                Move::Step { block, step } => {
                    // The L1 re-executes from the agreed root: the judge's next root.
                    let truth = judge.step_roots(block).unwrap();
                    assert_eq!(truth[step as usize], g.lo_claim, "the agreed root is true");
                    return (truth[step as usize + 1] != g.hi_claim, moves);
                }
                Move::DisproveWithdrawals { .. } => return (true, moves),
                Move::DisproveBlock { .. } => unreachable!("taken above"),
                Move::ClaimTimeout | Move::Wait => panic!("a live game stalled: {mv:?} in {g:?}"),
            }
        }
    }

    #[test]
    fn the_honest_side_wins_every_seeded_game() {
        let honest = Toy { lie_from: None, block_lie_from: None };
        let mut rng = ChaCha8Rng::seed_from_u64(6);
        for i in 0..500 {
            let lo = rng.random_range(0..50u64);
            let hi = lo + rng.random_range(1..40u64);
            let lb = rng.random_range(lo + 1..=hi);
            // Every third liar makes other blocks (a transaction skipped or added), half of those
            // with the states those blocks really give.
            let block_lie_from = (i % 3 == 0).then_some(lb);
            let lie_from = if i % 6 == 0 { None } else { Some((lb, rng.random_range(0..=Toy::steps(lb)))) };
            let liar = Toy { lie_from, block_lie_from };
            // A liar's output at `hi` only differs if its lie starts before the block's end.
            if liar.output(hi) == honest.output(hi) {
                continue;
            }
            let (challenger_won, moves) = play(&liar, &honest, &honest, lo, hi);
            assert!(challenger_won, "an honest challenger beats a lying defender");
            assert!(moves <= 64, "{moves} moves");
            // A lying challenger against an honest defender: the defender's claims all hold.
            let (challenger_won, _) = play(&honest, &liar, &honest, lo, hi);
            assert!(!challenger_won, "a lying challenger loses");
        }
    }

    #[test]
    fn the_waiting_side_claims_a_timeout_only_when_the_clock_is_out() {
        let g = GameView {
            phase: Phase::Blocks,
            defender_to_move: true,
            lo: 0,
            hi: 8,
            lo_claim: B256::ZERO,
            hi_claim: B256::ZERO,
            mid_claim: B256::ZERO,
            l2_block: 0,
            claimed_post_state: B256::ZERO,
            claimed_withdrawals_root: B256::ZERO,
            claimed_block_hash: B256::ZERO,
            clock_left: 5,
        };
        let t = Toy { lie_from: None, block_lie_from: None };
        assert_eq!(next_move(&g, false, &t), Move::Wait);
        assert_eq!(next_move(&GameView { clock_left: 0, ..g.clone() }, false, &t), Move::ClaimTimeout);
        assert_eq!(next_move(&g, true, &t), Move::ClaimMiddle(t.output(4).unwrap()));
    }
}
