//! The relayer (an Across relayer and dataworker in one service): it fills deposits from its own
//! ETH when their fee pays its fee model, sends the spoke's deposits to L1 through the rollup's
//! canonical bridge (proving and finalizing the withdrawal once the challenge window has
//! passed), proposes the honest refund bundle, disputes any bundle with a wrong entry, and
//! executes accepted bundles. Everything it knows is read back from the two chains, so a
//! restart needs no state of its own.

use std::{
    collections::{BTreeMap, BTreeSet, HashMap},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use alloy::{
    network::TransactionBuilder,
    primitives::{Address, B256, U256},
    signers::local::PrivateKeySigner,
};
use aqueduct_bridge_protocol::{
    BundleTree, FeeModel, FillState, RateCurve, RelayData, deposit_tree, first_wrong, next_bundle, relay_hash,
};
use aqueduct_contracts::bridge::HubPool;
use aqueduct_eth::{L1Client, L1Error};
use aqueduct_rollup_node::{BridgeError, build_proof, finalize, is_finalized, prove, seconds_left, withdrawal_of_tx};
use aqueduct_service::{Progress, Service};
use serde::{Deserialize, Serialize};
use tracing::{debug, info, warn};

use crate::{BridgeSpec, Delivery, FastBridgeError, Hub, ProposedBundle, Spoke};

/// What the relayer does and charges.
#[derive(Clone, Debug)]
pub struct RelayerConfig {
    pub signer: PrivateKeySigner,
    /// Fill deposits (off: only bridge, propose, dispute and execute — a dataworker).
    pub fill: bool,
    /// Propose refund bundles (off, with `fill` off: a watcher that only disputes).
    pub propose: bool,
    /// Gas of a fill and the share of repayment gas per deposit, and the rate curve (the gas
    /// price and the window are read live).
    pub fill_gas: u64,
    pub repay_gas: u64,
    pub curve: RateCurve,
    /// Send the spoke's deposits to L1 once the oldest one not yet sent has waited this long.
    pub bridge_after: Duration,
    /// The most deposits one bundle covers.
    pub max_bundle: usize,
}

impl RelayerConfig {
    pub fn new(signer: PrivateKeySigner) -> Self {
        Self {
            signer,
            fill: true,
            propose: true,
            fill_gas: 80_000,
            repay_gas: 60_000,
            curve: RateCurve::default(),
            bridge_after: Duration::from_secs(5),
            max_bundle: 64,
        }
    }

    /// The fee model a user's quote should use at L1 fees `fees`: the gas price of two blocks
    /// ahead at most (the base fee rises at most 12.5 % a block), so that the quote still pays
    /// the relayer when its fill lands.
    pub fn quote_model(&self, spec: &BridgeSpec, fees: aqueduct_eth::L1Fees) -> FeeModel {
        self.fee_model(spec, fees.base_fee * 81 / 64 + fees.tip)
    }

    /// The fee model at the destination's gas price `gas_price`, for the window from a fill to
    /// its repayment under `spec` (challenge window, liveness, and the wait before bridging).
    pub fn fee_model(&self, spec: &BridgeSpec, gas_price: u128) -> FeeModel {
        FeeModel {
            fill_gas: self.fill_gas,
            repay_gas: self.repay_gas,
            gas_price,
            window_secs: spec.challenge_window + spec.liveness + self.bridge_after.as_secs(),
            curve: self.curve,
        }
    }
}

/// What the relayer has done, for status and benches.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct RelayerStats {
    /// Deposits it filled: id, L2 block of the deposit, L1 block and gas of the fill.
    pub fills: Vec<(u64, u64, u64, u64)>,
    /// Deposits it left to others or to the slow path, and why.
    pub skipped: Vec<(u64, String)>,
    /// Spoke deliveries it sent on L2, proved and finalized on L1: (L2 tx, prove gas, finalize gas).
    pub deliveries: Vec<(B256, u64, u64)>,
    /// Bundles it proposed: (id, entries, gas).
    pub proposals: Vec<(u64, usize, u64)>,
    /// Disputes it won: (bundle id, entry, gas).
    pub disputes: Vec<(u64, u64, u64)>,
    /// Entries it executed: (deposit id, outcome, amount, gas).
    pub executions: Vec<(u64, u8, U256, u64)>,
    /// Wei repaid to it.
    pub repaid: U256,
}

/// The relayer service.
pub struct Relayer {
    spec: BridgeSpec,
    hub: Hub,
    spoke: Spoke,
    /// A rollup verifier's JSON-RPC: withdrawal proofs are built from the chain derived from L1.
    verifier: L1Client,
    cfg: RelayerConfig,
    /// Every deposit on the spoke, by id, with its L2 block.
    deposits: Vec<(RelayData, u64)>,
    l2_next: u64,
    l1_next: u64,
    /// Deposits it decided on (filled, or left).
    decided: BTreeSet<u64>,
    first_seen: HashMap<u64, Instant>,
    /// Deliveries not yet finalized on L1.
    pending: Vec<Delivery>,
    bundles: BTreeMap<u64, ProposedBundle>,
    /// Bundles it has nothing more to do with (checked, executed or disputed).
    watched: BTreeSet<u64>,
    done: BTreeSet<u64>,
    /// Delivered deposit roots and the deposit counts they cover.
    roots: HashMap<B256, u64>,
    stats: Arc<Mutex<RelayerStats>>,
}

impl Relayer {
    pub fn new(spec: BridgeSpec, l1: L1Client, l2: L1Client, verifier: L1Client, cfg: RelayerConfig) -> Self {
        Self {
            hub: Hub::new(l1, spec.hub),
            spoke: Spoke::new(l2, spec.spoke),
            verifier,
            cfg,
            deposits: Vec::new(),
            l2_next: spec.spoke_block,
            l1_next: spec.hub_block,
            decided: BTreeSet::new(),
            first_seen: HashMap::new(),
            pending: Vec::new(),
            bundles: BTreeMap::new(),
            watched: BTreeSet::new(),
            done: BTreeSet::new(),
            roots: HashMap::new(),
            stats: Arc::default(),
            spec,
        }
    }

    /// What it has done so far (shared: read it while the service runs).
    pub fn stats(&self) -> Arc<Mutex<RelayerStats>> {
        self.stats.clone()
    }

    fn me(&self) -> Address {
        self.cfg.signer.address()
    }

    fn record(&self, f: impl FnOnce(&mut RelayerStats)) {
        f(&mut self.stats.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// The fee model at L1's gas price now, for the window from a fill to its repayment.
    pub fn fee_model(&self, gas_price: u128) -> FeeModel {
        self.cfg.fee_model(&self.spec, gas_price)
    }

    /// Reads new deposits and deliveries on L2, and new proposals and delivered roots on L1.
    async fn sync(&mut self) -> Result<(), FastBridgeError> {
        let l2_head = self.spoke.l2.head().await?;
        if l2_head >= self.l2_next {
            let new = self.spoke.deposits(self.l2_next, l2_head).await?;
            for (d, block) in &new {
                let have = self.deposits.len() as u64;
                if d.depositId < have {
                    continue;
                }
                if d.depositId != have {
                    return Err(FastBridgeError::DepositGap { have, got: d.depositId });
                }
                self.first_seen.insert(d.depositId, Instant::now());
                self.deposits.push((d.clone(), *block));
            }
            for dl in self.spoke.deliveries(self.l2_next, l2_head).await? {
                self.pending.push(dl);
            }
            self.l2_next = l2_head + 1;
        }
        let l1_head = self.hub.l1.head().await?;
        if l1_head >= self.l1_next {
            for b in self.hub.proposals(self.l1_next, l1_head).await? {
                self.bundles.insert(b.id, b);
            }
            for (count, root) in self.hub.delivered_roots(self.l1_next, l1_head).await? {
                self.roots.insert(root, count);
            }
            self.l1_next = l1_head + 1;
        }
        Ok(())
    }

    /// L1's latest block timestamp (what the hub's `block.timestamp` is at least).
    async fn l1_now(&self) -> Result<u64, FastBridgeError> {
        let head = self.hub.l1.head().await?;
        Ok(self.hub.l1.header(head).await?.timestamp)
    }

    /// Fills every new deposit whose fee pays the model, while its ETH lasts.
    async fn fill_new(&mut self) -> Result<bool, FastBridgeError> {
        if !self.cfg.fill {
            return Ok(false);
        }
        let todo: Vec<RelayData> =
            self.deposits.iter().map(|(d, _)| d).filter(|d| !self.decided.contains(&d.depositId)).cloned().collect();
        if todo.is_empty() {
            return Ok(false);
        }
        let now = self.l1_now().await?;
        let fees = self.hub.l1.fees().await?;
        let mut balance = self.hub.l1.balance(self.me()).await?;
        let outstanding = self.outstanding();
        // Counted once: the pending nonce already counts what this round sends only after it is
        // sent, and some nodes count their pool and some do not.
        let base_nonce = self.hub.l1.nonce(self.me()).await?;
        let mut sent = Vec::new();
        for d in todo {
            let id = d.depositId;
            let skip = |why: String| (id, why);
            if d.destinationChainId != self.spec.l1_chain_id {
                self.leave(skip(format!("destination chain {}", d.destinationChainId)));
                continue;
            }
            if now > u64::from(d.fillDeadline) {
                self.leave(skip("past its fill deadline".into()));
                continue;
            }
            if d.exclusiveRelayer != Address::ZERO
                && d.exclusiveRelayer != self.me()
                && now <= u64::from(d.exclusivityDeadline)
            {
                continue; // another relayer's, for now
            }
            let capital = balance + outstanding;
            let util = if capital.is_zero() {
                1_000_000
            } else {
                ((outstanding + d.inputAmount) * U256::from(1_000_000u64) / capital).saturating_to::<u64>()
            };
            let model = self.fee_model(fees.base_fee + fees.tip);
            if !model.pays(d.inputAmount, d.outputAmount, util) {
                // Not for now: gas may get cheaper or capital freer before the deadline.
                let q = model.quote(d.inputAmount, util);
                let why = format!("fee {} wei below the quote {}", d.inputAmount - d.outputAmount, q.total);
                self.record(|s| {
                    if !s.skipped.iter().any(|x| x.0 == id) {
                        s.skipped.push((id, why));
                    }
                });
                continue;
            }
            let gas_cost = U256::from(u128::from(self.cfg.fill_gas) * (fees.base_fee * 2 + fees.tip));
            if balance < d.outputAmount + gas_cost {
                continue; // not enough ETH now; a repayment may bring more
            }
            if self.hub.fill_state(relay_hash(&d)).await? != FillState::Unfilled {
                self.leave(skip("already filled or sent the slow way".into()));
                continue;
            }
            let call = HubPool::new(self.spec.hub, self.hub.l1.provider())
                .fillRelay(d.clone(), self.me())
                .value(d.outputAmount)
                .gas(150_000)
                .into_transaction_request();
            if let Err(e) = self.hub.l1.simulate_request(self.me(), call.clone()).await {
                self.leave(skip(format!("the hub refuses the fill: {e}")));
                continue;
            }
            let nonce = base_nonce + sent.len() as u64;
            let hash = self.hub.l1.send_request(&self.cfg.signer, fees.price(call).with_nonce(nonce)).await?;
            balance = balance.saturating_sub(d.outputAmount + gas_cost);
            sent.push((id, hash));
        }
        let busy = !sent.is_empty();
        for (id, hash) in sent {
            self.decided.insert(id);
            match self.hub.l1.wait(hash).await {
                Ok(r) => {
                    let l2_block = self.deposits[id as usize].1;
                    info!(deposit = id, l1_block = r.block_number, gas = r.gas_used, "filled");
                    self.record(|s| s.fills.push((id, l2_block, r.block_number.unwrap_or_default(), r.gas_used)));
                }
                Err(L1Error::Reverted(_)) => warn!(deposit = id, "fill reverted: another relayer was first"),
                Err(e) => return Err(e.into()),
            }
        }
        Ok(busy)
    }

    fn leave(&mut self, (id, why): (u64, String)) {
        debug!(deposit = id, why, "not filling");
        self.decided.insert(id);
        self.record(|s| s.skipped.push((id, why)));
    }

    /// Input amounts of its fills not yet repaid (its capital out).
    fn outstanding(&self) -> U256 {
        let s = self.stats.lock().unwrap_or_else(|p| p.into_inner());
        let filled: U256 = s.fills.iter().map(|(id, ..)| self.deposits[*id as usize].0.inputAmount).sum();
        filled.saturating_sub(s.repaid)
    }

    /// Sends the spoke's deposits to L1 once one has waited `bridge_after`.
    async fn bridge(&mut self) -> Result<bool, FastBridgeError> {
        let (made, bridged) = self.spoke.counts().await?;
        if made == bridged {
            return Ok(false);
        }
        // Any deposit (whoever filled it: after a restart this relayer's own fills are known only
        // on L1) that has waited `bridge_after` since this relayer first saw it.
        let due =
            (bridged..made).any(|id| self.first_seen.get(&id).is_some_and(|t| t.elapsed() >= self.cfg.bridge_after));
        // Deposits nobody fills are sent too, once past their deadline: they are refunded.
        let expired = self.l1_now().await?;
        let stale = (bridged..made)
            .any(|id| self.deposits.get(id as usize).is_some_and(|(d, _)| u64::from(d.fillDeadline) < expired));
        if !due && !stale {
            return Ok(false);
        }
        let r = self.spoke.bridge(&self.cfg.signer).await?;
        info!(deposits = made - bridged, l2_tx = %r.transaction_hash, "sent the spoke's deposits to L1");
        Ok(true)
    }

    /// Proves and finalizes the spoke's withdrawals to the hub (anyone's).
    async fn deliver(&mut self) -> Result<bool, FastBridgeError> {
        let mut busy = false;
        let mut left = Vec::new();
        for dl in std::mem::take(&mut self.pending) {
            match self.advance(&dl).await {
                Ok(true) => busy = true,
                Ok(false) => left.push(dl),
                Err(e) => {
                    left.push(dl);
                    self.pending.extend(left);
                    return Err(e);
                }
            }
        }
        self.pending = left;
        Ok(busy)
    }

    /// One step of a delivery's withdrawal; `true` once it is paid on L1.
    async fn advance(&mut self, dl: &Delivery) -> Result<bool, FastBridgeError> {
        let (portal, oracle) = (self.spec.portal, self.spec.oracle);
        let (w, _) = match withdrawal_of_tx(&self.verifier, dl.tx).await {
            Ok(x) => x,
            Err(BridgeError::NotDerived(_)) => return Ok(false),
            Err(e) => return Err(e.into()),
        };
        let l1 = &self.hub.l1;
        if is_finalized(l1, portal, &w).await? {
            return Ok(true);
        }
        match seconds_left(l1, portal, &w).await? {
            None => {
                let proof = match build_proof(&self.verifier, l1, oracle, dl.tx).await {
                    Ok(p) => p,
                    Err(BridgeError::NotProposed(_) | BridgeError::NotDerived(_) | BridgeError::BlockNotDerived(_)) => {
                        return Ok(false);
                    }
                    Err(e) => return Err(e.into()),
                };
                let r = l1.wait(prove(l1, &self.cfg.signer, portal, &proof).await?).await?;
                info!(count = dl.count, gas = r.gas_used, "proved the spoke's delivery on L1");
                self.record(|s| s.deliveries.push((dl.tx, r.gas_used, 0)));
                Ok(false)
            }
            Some(0) => {
                let r = l1.wait(finalize(l1, &self.cfg.signer, portal, &w).await?).await?;
                info!(count = dl.count, value = %dl.value, gas = r.gas_used, "finalized the spoke's delivery");
                self.record(|s| match s.deliveries.iter_mut().find(|x| x.0 == dl.tx) {
                    Some(x) => x.2 = r.gas_used,
                    None => s.deliveries.push((dl.tx, 0, r.gas_used)),
                });
                Ok(true)
            }
            Some(_) => Ok(false),
        }
    }

    /// Fill states of deposits `[from, to)` on the hub.
    async fn fill_states(&self, from: u64, to: u64) -> Result<HashMap<u64, FillState>, FastBridgeError> {
        let mut out = HashMap::new();
        for id in from..to {
            let d = &self.deposits[id as usize].0;
            out.insert(id, self.hub.fill_state(relay_hash(d)).await?);
        }
        Ok(out)
    }

    fn slice(&self, from: u64, to: u64) -> Vec<RelayData> {
        self.deposits[from as usize..to as usize].iter().map(|(d, _)| d.clone()).collect()
    }

    /// Proposes the honest bundle over the delivered deposits no bundle covers, when none is
    /// pending.
    async fn propose(&mut self) -> Result<bool, FastBridgeError> {
        if !self.cfg.propose {
            return Ok(false);
        }
        let (delivered, _) = self.hub.delivered().await?;
        let covered = self.hub.covered_end().await?;
        if covered >= delivered || (self.deposits.len() as u64) < delivered {
            return Ok(false);
        }
        let n = self.hub.bundle_count().await?;
        if n > 0 && !self.hub.bundle(n - 1).await?.disputed && self.hub.liveness_left(n - 1).await? > 0 {
            return Ok(false);
        }
        let to = delivered.min(covered + self.cfg.max_bundle as u64);
        let states = self.fill_states(covered, to).await?;
        let now = self.l1_now().await?;
        let entries = next_bundle(&self.slice(covered, to), |d| states[&d.depositId], now, self.cfg.max_bundle);
        if entries.is_empty() {
            return Ok(false);
        }
        let count = entries.len();
        let r = self.hub.propose(&self.cfg.signer, entries, self.spec.bond).await?;
        info!(from = covered, entries = count, gas = r.gas_used, "proposed a refund bundle");
        self.record(|s| s.proposals.push((n, count, r.gas_used)));
        Ok(true)
    }

    /// Checks every bundle in its liveness and disputes the first wrong entry.
    async fn watch(&mut self) -> Result<bool, FastBridgeError> {
        let open: Vec<u64> = self.bundles.keys().filter(|id| !self.watched.contains(id)).copied().collect();
        let mut busy = false;
        for id in open {
            let b = self.bundles[&id].clone();
            let rec = self.hub.bundle(id).await?;
            if rec.disputed || self.hub.liveness_left(id).await? == 0 {
                self.watched.insert(id);
                continue;
            }
            if (self.deposits.len() as u64) < b.end {
                continue; // not all its deposits read yet
            }
            let states = self.fill_states(b.start, b.end).await?;
            let slice = self.slice(b.start, b.end);
            let wrong = if b.entries.len() as u64 != b.end - b.start {
                Some(0)
            } else {
                first_wrong(&b.entries, &slice, |d| states[&d.depositId], rec.proposedAt)
            };
            self.watched.insert(id);
            let Some(i) = wrong else { continue };
            let count = *self.roots.get(&rec.depositRoot).ok_or(FastBridgeError::UnknownRoot(rec.depositRoot))?;
            let tree = deposit_tree(self.deposits[..count as usize].iter().map(|(d, _)| relay_hash(d)).collect());
            let branch: [B256; 32] = tree
                .proof((b.start + i as u64) as usize)
                .and_then(|p| p.try_into().ok())
                .ok_or(FastBridgeError::UnknownRoot(rec.depositRoot))?;
            let proof = BundleTree::new(&b.entries).proof(i).unwrap_or_default();
            warn!(bundle = id, entry = i, proposer = %b.proposer, "disputing a wrong refund bundle");
            let r = self
                .hub
                .dispute(&self.cfg.signer, id, i as u64, b.entries[i].clone(), proof, slice[i].clone(), branch)
                .await?;
            self.record(|s| s.disputes.push((id, i as u64, r.gas_used)));
            busy = true;
        }
        Ok(busy)
    }

    /// Executes the entries of accepted bundles (anyone's: relayers' repayments, users' slow
    /// fills and refunds), and takes back its own bonds.
    async fn execute(&mut self) -> Result<bool, FastBridgeError> {
        let todo: Vec<u64> = self.bundles.keys().filter(|id| !self.done.contains(id)).copied().collect();
        let mut busy = false;
        for id in todo {
            let b = self.bundles[&id].clone();
            let rec = self.hub.bundle(id).await?;
            if rec.disputed {
                self.done.insert(id);
                continue;
            }
            if self.hub.liveness_left(id).await? > 0 {
                continue;
            }
            let tree = BundleTree::new(&b.entries);
            let (delivered, mut paid) = self.hub.books().await?;
            let mut complete = true;
            for (i, e) in b.entries.iter().enumerate() {
                let deposit = b.start + i as u64;
                if self.hub.executed(deposit).await? {
                    continue;
                }
                if paid + e.amount > delivered {
                    complete = false; // an earlier delivery is still in the canonical bridge
                    break;
                }
                let proof = tree.proof(i).unwrap_or_default();
                let r = self.hub.execute(&self.cfg.signer, id, i as u64, e.clone(), proof).await?;
                paid += e.amount;
                let mine = e.payee == self.me();
                self.record(|s| {
                    s.executions.push((deposit, e.outcome, e.amount, r.gas_used));
                    if mine {
                        s.repaid += e.amount;
                    }
                });
                busy = true;
            }
            if complete && rec.proposer == self.me() && !rec.bondReturned {
                self.hub.return_bond(&self.cfg.signer, id).await?;
            }
            if complete {
                info!(bundle = id, entries = b.entries.len(), "bundle executed");
                self.done.insert(id);
            }
        }
        Ok(busy)
    }
}

impl Service for Relayer {
    type Error = FastBridgeError;

    fn name(&self) -> &'static str {
        "relayer"
    }

    async fn step(&mut self) -> Result<Progress, FastBridgeError> {
        self.sync().await?;
        let mut busy = self.fill_new().await?;
        busy |= self.watch().await?;
        busy |= self.bridge().await?;
        busy |= self.deliver().await?;
        busy |= self.propose().await?;
        busy |= self.execute().await?;
        Ok(if busy { Progress::Busy } else { Progress::Idle })
    }
}
