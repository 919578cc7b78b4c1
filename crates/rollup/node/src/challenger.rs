//! The challenger (DESIGN D6): watches every output root on L1, recomputes it from the chain it
//! derived itself, disputes the wrong ones, and plays every game it is a party to — as the
//! challenger, or as the defender of its own outputs — move by move until resolution. All game
//! state lives on L1, so a restarted challenger picks its games up where they stand.

use std::{
    collections::{HashMap, HashSet},
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use alloy::{
    primitives::{Address, B256, Bytes, U256},
    providers::DynProvider,
    rpc::types::TransactionRequest,
    signers::local::PrivateKeySigner,
    sol_types::SolCall,
};
use aqueduct_chain::{BlockRef, Chain};
use aqueduct_contracts::rollup::{DisputeGame, L2ToL1MessagePasser, OutputOracle};
use aqueduct_rollup_protocol::{
    OutputRoot, Predeploys, RollupConfig,
    dispute::{GameView, Move, Phase, Truth, next_move},
};
use aqueduct_service::{CancellationToken, Halt, Progress, Service};
use parking_lot::Mutex;
use tracing::{info, warn};

use crate::{
    error::ServiceError,
    l1::{L1Client, L1Error},
    proposer::output_at,
};

/// One transaction the challenger sent in a game.
#[derive(Clone, Debug)]
pub struct GameAction {
    pub game: Option<u64>,
    pub output_index: u64,
    pub action: &'static str,
    pub gas_used: u64,
    pub l1_block: u64,
    /// Position in its L1 block: two moves in one block landed in this order.
    pub tx_index: u64,
    pub at: Instant,
}

pub struct Challenger {
    chain: Arc<Chain>,
    l1: L1Client,
    rollup: RollupConfig,
    game: Address,
    oracle: Address,
    signer: PrivateKeySigner,
    /// Dispute wrong outputs (off: only play games this key is already in, e.g. a proposer
    /// defending its outputs).
    pub challenge: bool,
    poll: Duration,
    /// Everything sent, for measurement.
    pub actions: Arc<Mutex<Vec<GameAction>>>,
    /// Outputs this player claims instead of the chain's (the attack suite's liars; empty for an
    /// honest node).
    pub lies: HashMap<u64, OutputRoot>,
    /// Step roots this player claims for a block instead of the chain's (without them, a lie
    /// about a block's state is a lie about its last step only).
    pub lie_steps: HashMap<u64, Vec<B256>>,
    /// Blocks this player publishes instead of the chain's when it opens their steps (a liar
    /// that made a block of other transactions).
    pub lie_blocks: HashMap<u64, aqueduct_chain::StepBlock>,
    /// The first output index that may not be final yet.
    first_open: AtomicU64,
    step_roots: Mutex<HashMap<B256, Arc<Vec<B256>>>>,
}

/// What this node knows: its own derived chain (and, for a liar, what it pretends).
struct ChainTruth<'a> {
    chain: &'a Chain,
    lies: &'a HashMap<u64, OutputRoot>,
    lie_steps: &'a HashMap<u64, Vec<B256>>,
    /// Step roots by block hash: a game asks for the same block's every round, and running a
    /// block step by step is the costly part (a reorged block has another hash).
    step_roots: &'a Mutex<HashMap<B256, Arc<Vec<B256>>>>,
}

impl ChainTruth<'_> {
    fn output_root(&self, block: u64) -> Option<OutputRoot> {
        if let Some(lie) = self.lies.get(&block) {
            return Some(*lie);
        }
        (block <= self.chain.head().number()).then(|| output_at(self.chain, block).ok()).flatten()
    }
}

impl Truth for ChainTruth<'_> {
    fn output(&self, block: u64) -> Option<B256> {
        self.output_root(block).map(|o| o.hash())
    }
    fn step_roots(&self, block: u64) -> Option<Vec<B256>> {
        if let Some(lie) = self.lie_steps.get(&block) {
            return Some(lie.clone());
        }
        let hash = self.chain.block(BlockRef::Number(block))?.hash;
        let cached = self.step_roots.lock().get(&hash).cloned();
        let roots = match cached {
            Some(r) => r,
            None => {
                let r = Arc::new(self.chain.step_roots(block).ok()?);
                self.step_roots.lock().insert(hash, r.clone());
                r
            }
        };
        let mut roots = roots.as_ref().clone();
        // A lie about a block's state is a lie about its last step.
        if let (Some(lie), Some(last)) = (self.lies.get(&block), roots.last_mut()) {
            *last = lie.state_root;
        }
        Some(roots)
    }
    fn state_and_withdrawals(&self, block: u64) -> Option<(B256, B256)> {
        self.output_root(block).map(|o| (o.state_root, o.withdrawals_root))
    }
    fn block_hash(&self, block: u64) -> Option<B256> {
        self.output_root(block).map(|o| o.block_hash)
    }
}

fn proof_of(o: &OutputRoot) -> aqueduct_contracts::rollup::game::RollupLib::OutputRootProof {
    aqueduct_contracts::rollup::game::RollupLib::OutputRootProof {
        version: o.version,
        stateRoot: o.state_root,
        withdrawalsRoot: o.withdrawals_root,
        latestBlockhash: o.block_hash,
    }
}

impl Challenger {
    /// A player for the rollup `rollup` (its dispute game, oracle and L1 contracts) on `chain`.
    pub fn new(
        chain: Arc<Chain>,
        l1: L1Client,
        rollup: RollupConfig,
        signer: PrivateKeySigner,
        poll: Duration,
    ) -> Self {
        Self {
            chain,
            l1,
            game: rollup.dispute_game,
            oracle: rollup.oracle,
            rollup,
            signer,
            challenge: true,
            poll,
            actions: Default::default(),
            lies: HashMap::new(),
            lie_steps: HashMap::new(),
            lie_blocks: HashMap::new(),
            first_open: AtomicU64::new(0),
            step_roots: Mutex::default(),
        }
    }

    fn truth(&self) -> ChainTruth<'_> {
        ChainTruth { chain: &self.chain, lies: &self.lies, lie_steps: &self.lie_steps, step_roots: &self.step_roots }
    }

    pub fn address(&self) -> Address {
        self.signer.address()
    }

    /// Checks the outputs and makes every move that is due. Returns how many transactions went out.
    pub async fn tick(&self) -> Result<usize, ServiceError> {
        let mut sent = 0;
        let games = self.games().await?;
        if self.challenge {
            sent += self.watch_outputs(&games).await?;
        }
        for (id, g) in games {
            if g.status != 1 || (g.challenger != self.address() && g.defender != self.address()) {
                continue;
            }
            sent += self.play(id, &g).await? as usize;
        }
        Ok(sent)
    }

    /// Every game on L1 (the contract is the state; nothing is kept here across restarts).
    async fn games(&self) -> Result<Vec<(u64, DisputeGame::Game)>, L1Error> {
        let n: u64 = self.l1.read(self.game, DisputeGame::gameCountCall {}).await?.saturating_to();
        let mut out = Vec::with_capacity(n as usize);
        for id in 0..n {
            out.push((id, self.l1.read(self.game, DisputeGame::getGameCall { gameId: U256::from(id) }).await?));
        }
        Ok(out)
    }

    /// Disputes every output that is not final, that this node has derived, and whose root is
    /// not the one this node computes — unless it has already challenged it.
    async fn watch_outputs(&self, games: &[(u64, DisputeGame::Game)]) -> Result<usize, ServiceError> {
        // One challenge per output: a lost game is not played again (an output that lost is gone).
        let disputed: HashSet<(u64, B256)> = games
            .iter()
            .filter(|(_, g)| g.challenger == self.address())
            .map(|(_, g)| (g.outputIndex, g.outputRoot))
            .collect();
        let n: u64 = self.l1.read(self.oracle, OutputOracle::nextOutputIndexCall {}).await?.saturating_to();
        let mut sent = 0;
        // Outputs before the first one not yet final need no more looks (final is for good).
        let start = self.first_open.load(Ordering::Relaxed).min(n);
        for i in start..n {
            let idx = U256::from(i);
            if self.l1.read(self.oracle, OutputOracle::isFinalizedCall { index: idx }).await? {
                if self.first_open.load(Ordering::Relaxed) == i {
                    self.first_open.store(i + 1, Ordering::Relaxed);
                }
                continue;
            }
            let out = self.l1.read(self.oracle, OutputOracle::getOutputCall { index: idx }).await?;
            let Some(mine) = self.truth().output(out.l2BlockNumber) else { break };
            if mine == out.outputRoot || disputed.contains(&(i, out.outputRoot)) {
                continue;
            }
            warn!(target: "challenger", index = i, l2_block = out.l2BlockNumber, posted = %out.outputRoot, computed = %mine, "wrong output root: disputing");
            let bond = self.l1.read(self.game, DisputeGame::moveBondCall { depth: U256::ZERO }).await?;
            let game = self.dispute();
            let tx = game.challenge(idx, out.outputRoot).value(bond).gas(600_000).into_transaction_request();
            self.send(None, i, "challenge", tx).await?;
            sent += 1;
        }
        Ok(sent)
    }

    /// Makes this side's next move in game `id`, if one is due. Returns whether one was sent.
    async fn play(&self, id: u64, g: &DisputeGame::Game) -> Result<bool, ServiceError> {
        let gid = U256::from(id);
        let clock = self.l1.read(self.game, DisputeGame::clockLeftCall { gameId: gid }).await?;
        let view = GameView {
            phase: if g.phase == 0 { Phase::Blocks } else { Phase::Steps },
            defender_to_move: g.defenderToMove,
            lo: g.lo,
            hi: g.hi,
            lo_claim: g.loClaim,
            hi_claim: g.hiClaim,
            mid_claim: g.midClaim,
            l2_block: g.l2Block,
            claimed_post_state: g.claimedPostState,
            claimed_withdrawals_root: g.claimedWithdrawalsRoot,
            claimed_block_hash: g.claimedBlockHash,
            clock_left: clock.left.saturating_to(),
        };
        let defender = g.defender == self.address();
        let truth = self.truth();
        let mv = next_move(&view, defender, &truth);
        let game = self.dispute();
        let bond = || async { self.l1.read(self.game, DisputeGame::moveBondCall { depth: U256::from(g.moves) }).await };
        let idx = g.outputIndex;
        match mv {
            Move::Wait => return Ok(false),
            Move::ClaimMiddle(claim) => {
                let tx = game.claimMiddle(gid, claim).value(bond().await?).gas(300_000);
                self.send(Some(id), idx, "claim", tx.into_transaction_request()).await?;
            }
            Move::Answer(agree) => {
                let tx = game.answer(gid, agree).value(bond().await?).gas(300_000);
                self.send(Some(id), idx, "answer", tx.into_transaction_request()).await?;
            }
            Move::OpenSteps { block } => {
                let agreed = truth.output_root(block - 1).ok_or(ServiceError::NoL2Block(block - 1))?;
                let disputed = truth.output_root(block).ok_or(ServiceError::NoL2Block(block))?;
                let data = match self.lie_blocks.get(&block) {
                    Some(b) => b.encode(),
                    None => {
                        let b = self.chain.block(BlockRef::Number(block)).ok_or(ServiceError::NoL2Block(block))?;
                        aqueduct_chain::StepBlock::new(b.header.clone(), b.txs.clone()).encode()
                    }
                };
                let tx = game
                    .openSteps(gid, proof_of(&agreed), proof_of(&disputed), data.into())
                    .value(bond().await?)
                    .gas(3_000_000);
                self.send(Some(id), idx, "open steps", tx.into_transaction_request()).await?;
            }
            Move::Step { block, step } => {
                let p = self.chain.step_proof(block, step)?;
                let tx = game.step(gid, p.block.encode().into(), p.witness.encode().into()).gas(25_000_000);
                self.send(Some(id), idx, "step", tx.into_transaction_request()).await?;
            }
            Move::DisproveBlock { block } => {
                let p = crate::derivation_proof(&self.l1, &self.rollup, &self.chain, block).await?;
                let tx =
                    game.disproveBlock(gid, p.parent_header, p.anchor, p.ranges, p.evidence, p.witness).gas(25_000_000);
                self.send(Some(id), idx, "disprove block", tx.into_transaction_request()).await?;
            }
            Move::DisproveWithdrawals { block } => {
                let data: Bytes = L2ToL1MessagePasser::rootCall {}.abi_encode().into();
                let (w, _) = self.chain.call_witness(block, Predeploys::MESSAGE_PASSER, data)?;
                let tx = game.disproveWithdrawalsRoot(gid, w.encode().into()).gas(25_000_000);
                self.send(Some(id), idx, "disprove withdrawals", tx.into_transaction_request()).await?;
            }
            Move::ClaimTimeout => {
                let tx = game.claimTimeout(gid).gas(500_000);
                self.send(Some(id), idx, "timeout", tx.into_transaction_request()).await?;
            }
        }
        Ok(true)
    }

    /// The dispute game's `sol!` instance on the shared connection.
    fn dispute(&self) -> DisputeGame::DisputeGameInstance<&DynProvider> {
        DisputeGame::new(self.game, self.l1.provider())
    }

    async fn send(
        &self,
        game: Option<u64>,
        output_index: u64,
        action: &'static str,
        tx: TransactionRequest,
    ) -> Result<(), L1Error> {
        // Simulate first: a refusal comes back by name instead of as a wasted transaction.
        self.l1.simulate_request(self.address(), tx.clone()).await?;
        let hash = self.l1.send_request(&self.signer, tx).await?;
        let r = self.l1.wait(hash).await?;
        info!(target: "challenger", ?game, output_index, action, gas = r.gas_used, "move sent");
        self.actions.lock().push(GameAction {
            game,
            output_index,
            action,
            gas_used: r.gas_used,
            l1_block: r.block_number.unwrap_or_default(),
            tx_index: r.transaction_index.unwrap_or_default(),
            at: Instant::now(),
        });
        Ok(())
    }

    /// Plays on the service loop until cancelled (a rollup's own services pass its shared halt
    /// to [`aqueduct_service::run`] instead).
    pub async fn run(self, cancel: CancellationToken) {
        let poll = self.poll;
        aqueduct_service::run(self, poll, cancel, Halt::new()).await;
    }
}

/// The challenger as a service: L1 trouble is retried with a growing pause, the anchor gone
/// stops it.
impl Service for Challenger {
    type Error = ServiceError;

    fn name(&self) -> &'static str {
        "challenger"
    }

    async fn step(&mut self) -> Result<Progress, ServiceError> {
        self.tick().await.map(|_| Progress::Idle)
    }
}
