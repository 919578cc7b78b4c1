//! The watcher (any user can run one): follows L1's roots, deposits and exits, fetches every
//! child block from the operator and replays it (the sans-IO [`WatchState`]). When a block is
//! invalid or its data does not come within the grace period, it leaves with its user's money
//! at once — standard exits of every output of the last good state, in-flight exits (with
//! piggybacks) of its user's payments in flight — and it piggybacks its user's outputs on
//! others' in-flight exits, challenges every exit its knowledge can refute, and processes exits
//! that are due.

use std::{
    collections::{BTreeMap, HashSet},
    sync::Arc,
    time::{Duration, Instant},
};

use alloy::primitives::{Address, B256};
use aqueduct_plasma_protocol::{Alarm, Position, SignedTx, WatchState};
use aqueduct_service::{Progress, Service};
use jsonrpsee::http_client::HttpClient;
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;
use tracing::{info, warn};

use crate::{
    error::PlasmaError,
    l1::{ExitEvent, InputInfo, PlasmaL1, PlasmaParams},
    rpc::PlasmaApiClient,
};

/// What the watcher has seen and done (its JSON-RPC and tests read it).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WatchReport {
    pub alarm: Option<Alarm>,
    /// The last child block verified.
    pub verified_to: u64,
    pub exits_started: Vec<u64>,
    pub in_flight_exits_started: Vec<u64>,
    pub piggybacks: usize,
    pub challenges: Vec<u64>,
    /// Exits this watcher processed (paid) on L1.
    pub processed: usize,
}

/// How the watcher behaves.
#[derive(Clone, Debug)]
pub struct WatcherConfig {
    /// How long a block's data may be missing before the block counts as withheld.
    pub grace: Duration,
    /// Challenge refutable exits (anyone's).
    pub challenge: bool,
    /// Process due exits (and earn the bounty).
    pub process: bool,
}

impl Default for WatcherConfig {
    fn default() -> Self {
        Self { grace: Duration::from_secs(10), challenge: true, process: true }
    }
}

/// A user's watcher.
pub struct Watcher {
    chain: PlasmaL1,
    operator: HttpClient,
    params: PlasmaParams,
    config: WatcherConfig,
    state: Arc<Mutex<WatchState>>,
    report: Arc<Mutex<WatchReport>>,
    scanned: u64,
    /// Child blocks on L1 not yet verified: root, and when first seen.
    waiting: BTreeMap<u64, (B256, Instant)>,
    exits: Vec<ExitEvent>,
    others_in_flight: Vec<(u64, SignedTx)>,
    exited: HashSet<Position>,
    in_flight_started: HashSet<B256>,
    piggybacked: HashSet<(u64, usize)>,
    challenged: HashSet<u64>,
    tokens: HashSet<Address>,
    /// The user's wallet directory: payments it sent, tracked until a verified block holds them.
    wallet: Option<std::path::PathBuf>,
}

impl Watcher {
    pub async fn new(chain: PlasmaL1, operator: HttpClient, config: WatcherConfig) -> Result<Self, PlasmaError> {
        let params = chain.params().await?;
        let domain = chain.domain().await?;
        Ok(Self {
            chain,
            operator,
            params,
            config,
            state: Arc::new(Mutex::new(WatchState::new(domain))),
            report: Arc::new(Mutex::new(WatchReport::default())),
            scanned: 0,
            waiting: BTreeMap::new(),
            exits: Vec::new(),
            others_in_flight: Vec::new(),
            exited: HashSet::new(),
            in_flight_started: HashSet::new(),
            piggybacked: HashSet::new(),
            challenged: HashSet::new(),
            tokens: HashSet::new(),
            wallet: None,
        })
    }

    /// Tracks the payments kept in `dir` (what `Wallet::transfer` writes).
    pub fn with_wallet(mut self, dir: std::path::PathBuf) -> Self {
        self.wallet = Some(dir);
        self
    }

    /// The watcher's knowledge (to track the user's payments in flight).
    pub fn state(&self) -> Arc<Mutex<WatchState>> {
        self.state.clone()
    }

    pub fn report(&self) -> Arc<Mutex<WatchReport>> {
        self.report.clone()
    }

    fn user(&self) -> Address {
        self.chain.signer.address()
    }

    async fn scan(&mut self) -> Result<(), PlasmaError> {
        let head = self.chain.l1.head().await?;
        if head < self.scanned {
            return Ok(());
        }
        let (from, c) = (self.scanned, &self.chain);
        let deposits = c.deposits(from, head).await?;
        let blocks = c.blocks(from, head).await?;
        let exits = c.exits(from, head).await?;
        let ifes = c.in_flight_exits(from, head).await?;
        {
            let mut st = self.state.lock().await;
            for d in deposits {
                self.tokens.insert(d.token);
                st.on_deposit(d.block, d.owner, d.token, d.amount)?;
            }
        }
        let now = Instant::now();
        for (n, root) in blocks {
            self.waiting.insert(n, (root, now));
        }
        self.exits.extend(exits);
        self.others_in_flight.extend(ifes);
        self.scanned = head + 1;
        Ok(())
    }

    /// Verifies waiting blocks in order, as far as their data has come.
    async fn verify(&mut self) -> Result<(), PlasmaError> {
        while let Some((&n, &(root, seen))) = self.waiting.iter().next() {
            let data = match self.operator.get_block(n).await {
                Ok(Some(b)) => {
                    b.txs.iter().map(|t| SignedTx::decode(&t.tx, &t.sigs)).collect::<Result<Vec<_>, _>>().ok()
                }
                Ok(None) | Err(_) => None,
            };
            if data.is_none() && seen.elapsed() < self.config.grace {
                return Ok(());
            }
            self.waiting.remove(&n);
            let mut st = self.state.lock().await;
            if let Some(alarm) = st.on_block(n, root, data).cloned() {
                warn!(target: "plasma::watcher", ?alarm, "the chain is no longer safe: leaving");
                self.report.lock().await.alarm = Some(alarm);
            }
            self.report.lock().await.verified_to = st.verified_to();
        }
        Ok(())
    }

    /// After an alarm: every exit the user needs.
    async fn leave(&mut self) -> Result<(), PlasmaError> {
        let user = self.user();
        let (plans, ifes) = {
            let st = self.state.lock().await;
            (st.exits_for(user), st.in_flight_exits_for(user))
        };
        for plan in plans {
            if self.exited.insert(plan.utxo.position) {
                match self.chain.start_exit(&plan, self.params.standard_exit_bond).await {
                    Ok((id, _)) => {
                        info!(target: "plasma::watcher", id, position = %plan.utxo.position, "standard exit started");
                        self.report.lock().await.exits_started.push(id);
                    }
                    Err(e) => {
                        self.exited.remove(&plan.utxo.position);
                        return Err(e);
                    }
                }
            }
        }
        for plan in ifes {
            let hash = plan.tx.tx.hash();
            if self.in_flight_started.contains(&hash) {
                continue;
            }
            let (id, _) =
                self.chain.start_in_flight_exit(&plan.tx, &plan.inputs, self.params.in_flight_exit_bond).await?;
            self.in_flight_started.insert(hash);
            info!(target: "plasma::watcher", id, "in-flight exit started");
            self.report.lock().await.in_flight_exits_started.push(id);
            let infos: Vec<InputInfo> =
                plan.tx.tx.inputs.iter().zip(&plan.inputs).filter_map(|(p, inc)| InputInfo::of(*p, inc)).collect();
            for i in plan.own_inputs {
                if self.piggybacked.insert((id, i)) {
                    self.chain.piggyback_input(id, i, &infos, self.params.piggyback_bond).await?;
                    self.report.lock().await.piggybacks += 1;
                }
            }
        }
        Ok(())
    }

    /// Piggybacks the user's outputs on every in-flight exit (its own or others').
    async fn piggyback_outputs(&mut self) -> Result<(), PlasmaError> {
        let user = self.user();
        let ifes = self.others_in_flight.clone();
        for (id, tx) in ifes {
            let own = self.state.lock().await.own_outputs(user, &tx);
            for o in own {
                if self.piggybacked.insert((id, 4 + o)) {
                    if let Err(e) = self.chain.piggyback_output(id, o, &tx, self.params.piggyback_bond).await {
                        warn!(target: "plasma::watcher", id, output = o, error = %e, "piggyback refused");
                        continue;
                    }
                    self.report.lock().await.piggybacks += 1;
                }
            }
        }
        Ok(())
    }

    async fn challenge(&mut self) -> Result<(), PlasmaError> {
        let exits = self.exits.clone();
        for e in exits {
            if self.challenged.contains(&e.exit_id) || e.owner == self.user() {
                continue;
            }
            let Some(c) = self.state.lock().await.challenge_for(e.exit_id, Position(e.position)) else { continue };
            if self.chain.exit_status(e.exit_id).await? != 1 {
                self.challenged.insert(e.exit_id);
                continue;
            }
            self.chain.challenge(&c).await?;
            self.challenged.insert(e.exit_id);
            info!(target: "plasma::watcher", exit = e.exit_id, position = %Position(e.position), "exit challenged");
            self.report.lock().await.challenges.push(e.exit_id);
        }
        Ok(())
    }

    async fn process(&mut self) -> Result<(), PlasmaError> {
        let now = self.chain.now().await?;
        let tokens: Vec<Address> = self.tokens.iter().copied().collect();
        for token in tokens {
            if let Some((at, _, _)) = self.chain.next_exit(token).await?
                && at <= now
            {
                self.chain.process(token, 20).await?;
                self.report.lock().await.processed += 1;
            }
        }
        Ok(())
    }
}

impl Service for Watcher {
    type Error = PlasmaError;

    fn name(&self) -> &'static str {
        "plasma watcher"
    }

    async fn step(&mut self) -> Result<Progress, PlasmaError> {
        if let Some(dir) = &self.wallet {
            let sent = crate::wallet::Wallet::sent(dir);
            let mut st = self.state.lock().await;
            for tx in sent {
                st.track(tx);
            }
        }
        self.scan().await?;
        self.verify().await?;
        let alarmed = self.state.lock().await.alarm().is_some();
        if alarmed {
            self.leave().await?;
        }
        self.piggyback_outputs().await?;
        if self.config.challenge {
            self.challenge().await?;
        }
        if self.config.process && (alarmed || !self.exits.is_empty()) {
            self.process().await?;
        }
        Ok(Progress::Idle)
    }
}
