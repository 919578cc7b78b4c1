//! Plasma: the operator cheats and the users' watchers must leave in time. A theft included in
//! a block (every watcher exits the last good state, the thief's exit is challenged), a withheld
//! block with a payment in flight (in-flight exit, piggybacks, each coin paid once), and a mass
//! exit of N users after withholding, measured against L1 block space.

use std::{sync::Arc, time::Duration};

use alloy::{
    network::TransactionBuilder,
    primitives::{Address, U256},
    rpc::types::TransactionRequest,
    signers::local::PrivateKeySigner,
};
use aqueduct_eth::L1Client;
use aqueduct_l1::{Devnet, L1Config};
use aqueduct_plasma_node::{
    Operator, OperatorConfig, PlasmaApiClient, PlasmaL1, PlasmaParams, PlasmaService, WatchReport, Watcher,
    WatcherConfig, deploy_plasma, plasma_client, serve_operator,
};
use aqueduct_plasma_protocol::{Alarm, ExitPlan, Output, Payment, Position, SignedTx, WatchState};
use aqueduct_primitives::Signer;
use aqueduct_service::{CancellationToken, Halt};
use tokio::sync::Mutex;

use super::{Outcome, Promise, failed};
use crate::AttackError;

const ETH: u128 = 1_000_000_000_000_000_000;
/// The exit period on this L1, seconds (the clock is moved past it).
const PERIOD: u64 = 600;
/// An L1 block's gas and time on mainnet settings, for the mass exit's projection.
const MAINNET_BLOCK_GAS: u64 = 30_000_000;
const MAINNET_SLOT_S: u64 = 12;
const MAINNET_EXIT_PERIOD_S: u64 = 7 * 24 * 3600;

/// Moves L1's clock `secs` past its head block and mines there.
async fn advance(l1: &L1Client, secs: u64) -> Result<(), AttackError> {
    use alloy::providers::Provider;
    let head = l1.header(l1.head().await.map_err(|e| failed("L1 head", e))?).await.map_err(|e| failed("L1 head", e))?;
    let p = l1.provider();
    let _: serde_json::Value = p
        .raw_request("evm_setNextBlockTimestamp".into(), (head.timestamp + secs,))
        .await
        .map_err(|e| failed("moving L1 time", e))?;
    let _: serde_json::Value = p.raw_request("evm_mine".into(), ()).await.map_err(|e| failed("mining", e))?;
    Ok(())
}

/// [`crate::world::wait_for`] for a condition that cannot fail.
async fn until<F: Future<Output = bool>>(what: &str, secs: u64, mut f: impl FnMut() -> F) -> Result<(), AttackError> {
    crate::world::wait_for(what, secs, || {
        let ready = f();
        async move { Ok(ready.await) }
    })
    .await
}

/// A running watcher's report and knowledge.
type WatcherHandles = (Arc<Mutex<WatchReport>>, Arc<Mutex<WatchState>>);

struct User {
    key: PrivateKeySigner,
    signer: Signer,
    deposit: Position,
    watcher: Option<WatcherHandles>,
}

struct World {
    _dir: tempfile::TempDir,
    devnet: Option<Devnet>,
    l1: L1Client,
    contract: Address,
    params: PlasmaParams,
    funder: PrivateKeySigner,
    operator_key: PrivateKeySigner,
    svc: Option<PlasmaService>,
    users: Vec<User>,
    cancel: CancellationToken,
}

impl World {
    /// L1, the contract, the operator and `n` users who each deposit `amount`; the first
    /// `watchers` of them run a watcher.
    async fn start(n: usize, watchers: usize, amount: u128) -> Result<Self, AttackError> {
        let dir = tempfile::tempdir().map_err(|e| failed("a temporary directory", e))?;
        let devnet = Devnet::start(L1Config::instant(&dir.path().join("l1")), true)
            .await
            .map_err(|e| failed("starting the L1", e))?;
        let l1 = L1Client::new(&devnet.url()).map_err(|e| failed("the L1 client", e))?;
        let (funder, operator_key) = (devnet.signers[0].clone(), devnet.signers[1].clone());
        let params = PlasmaParams::devnet(operator_key.address(), PERIOD);
        let contract = deploy_plasma(&l1, &funder, &params).await.map_err(|e| failed("deploying", e))?;
        let op = Operator::open(
            l1.clone(),
            operator_key.clone(),
            contract,
            OperatorConfig::default(),
            &dir.path().join("op.redb"),
        )
        .await
        .map_err(|e| failed("opening the operator", e))?;
        let svc = serve_operator(
            op,
            "127.0.0.1:0".parse().expect("an address"),
            Duration::from_millis(300),
            Duration::from_millis(50),
        )
        .await
        .map_err(|e| failed("serving the operator", e))?;
        let mut w = Self {
            _dir: dir,
            devnet: Some(devnet),
            l1,
            contract,
            params,
            funder,
            operator_key,
            svc: Some(svc),
            users: Vec::new(),
            cancel: CancellationToken::new(),
        };
        for i in 0..n {
            w.add_user(i, amount, i < watchers).await?;
        }
        let rpc = w.rpc();
        until("the operator sees every deposit", 120, || {
            let rpc = rpc.clone();
            async move { rpc.status().await.is_ok_and(|s| s.deposits as usize >= n) }
        })
        .await?;
        Ok(w)
    }

    fn svc(&self) -> &PlasmaService {
        self.svc.as_ref().expect("running")
    }

    fn rpc(&self) -> jsonrpsee::http_client::HttpClient {
        plasma_client(&format!("http://{}", self.svc().rpc_addr)).expect("a local URL")
    }

    async fn add_user(&mut self, i: usize, amount: u128, watch: bool) -> Result<(), AttackError> {
        let b = alloy::primitives::keccak256(format!("plasma attack user {i}"));
        let key = PrivateKeySigner::from_bytes(&b).map_err(|e| failed("a user key", e))?;
        let fund = TransactionRequest::default().with_to(key.address()).with_value(U256::from(amount + ETH / 10));
        self.l1.transact(&self.funder, fund).await.map_err(|e| failed("funding a user", e))?;
        let p = PlasmaL1::new(self.l1.clone(), self.contract, key.clone());
        let (block, _) = p.deposit(Address::ZERO, U256::from(amount)).await.map_err(|e| failed("a deposit", e))?;
        let watcher = if watch {
            let config = WatcherConfig { grace: Duration::from_secs(2), ..Default::default() };
            let w = Watcher::new(p, self.rpc(), config).await.map_err(|e| failed("a watcher", e))?;
            let handles = (w.report(), w.state());
            tokio::spawn(aqueduct_service::run(w, Duration::from_millis(200), self.cancel.clone(), Halt::new()));
            Some(handles)
        } else {
            None
        };
        let signer = Signer::from_bytes(&b).ok_or_else(|| failed("a user key", "not a secret"))?;
        let deposit = Position::new(block, 0, 0).map_err(|e| failed("a position", e))?;
        self.users.push(User { key, signer, deposit, watcher });
        Ok(())
    }

    /// User `from` pays `amount` of its deposit to user `to`, change back.
    async fn pay(&self, from: usize, to: usize, amount: u128, deposit: u128) -> Result<SignedTx, AttackError> {
        let domain = self.svc().operator.lock().await.domain();
        let u = &self.users[from];
        let tx = Payment {
            inputs: vec![u.deposit],
            outputs: vec![
                Output { owner: self.users[to].key.address(), token: Address::ZERO, amount: U256::from(amount) },
                Output { owner: u.key.address(), token: Address::ZERO, amount: U256::from(deposit - amount) },
            ],
        }
        .sign(&domain, &[&u.signer]);
        self.rpc().send_transaction(tx.tx.encode(), tx.sig_bytes()).await.map_err(|e| failed("a payment", e))?;
        Ok(tx)
    }

    async fn included(&self, tx: &SignedTx) -> Result<(), AttackError> {
        let (rpc, hash) = (self.rpc(), tx.tx.hash());
        until("the payment's block", 60, || {
            let rpc = rpc.clone();
            async move { rpc.get_transaction(hash).await.is_ok_and(|p| p.is_some()) }
        })
        .await
    }

    fn chain(&self) -> PlasmaL1 {
        PlasmaL1::new(self.l1.clone(), self.contract, self.operator_key.clone())
    }

    async fn paid_out(&self) -> Result<u128, AttackError> {
        Ok(self.chain().paid_out(Address::ZERO).await.map_err(|e| failed("reading payouts", e))?.to())
    }

    async fn alarmed(&self, withheld: bool) -> Result<(), AttackError> {
        for u in &self.users {
            let Some((r, _)) = &u.watcher else { continue };
            let r = r.clone();
            until("a watcher's alarm", 60, || {
                let r = r.clone();
                async move {
                    match &r.lock().await.alarm {
                        Some(Alarm::Withheld { .. }) => withheld,
                        Some(Alarm::Invalid { .. }) => !withheld,
                        None => false,
                    }
                }
            })
            .await?;
        }
        Ok(())
    }

    /// Moves L1 past every exit period and waits until the queue is empty (watchers process).
    async fn settle(&self) -> Result<(), AttackError> {
        advance(&self.l1, 3 * PERIOD).await?;
        let chain = self.chain();
        until("every due exit processed", 180, || {
            let chain = chain.clone();
            async move { chain.next_exit(Address::ZERO).await.is_ok_and(|e| e.is_none()) }
        })
        .await
    }

    async fn stop(mut self) {
        self.cancel.cancel();
        if let Some(s) = self.svc.take() {
            s.stop().await;
        }
        if let Some(d) = self.devnet.take() {
            d.stop().await;
        }
    }
}

fn eth(wei: u128) -> String {
    format!("{:.4} ETH", wei as f64 / ETH as f64)
}

/// The operator includes a spend of a user's output signed by itself, then exits what it stole.
pub async fn theft() -> Result<Outcome, AttackError> {
    let w = World::start(3, 3, ETH).await?;
    let paid = w.pay(0, 1, ETH / 4, ETH).await?;
    w.included(&paid).await?;
    w.svc().operator.lock().await.config_mut().steal = true;
    let rpc = w.rpc();
    let op = w.operator_key.address();
    until("the theft in a block", 60, || {
        let rpc = rpc.clone();
        async move { rpc.get_utxos(op).await.is_ok_and(|u| !u.is_empty()) }
    })
    .await?;
    let stolen = rpc.get_utxos(op).await.map_err(|e| failed("the stolen output", e))?[0];
    w.alarmed(false).await?;
    let creating = w
        .svc()
        .operator
        .lock()
        .await
        .inclusion(stolen.position)
        .map_err(|e| failed("the theft's inclusion", e))?
        .ok_or_else(|| failed("the theft's inclusion", "missing"))?;
    let (theft_exit, _) = w
        .chain()
        .start_exit(&ExitPlan { utxo: stolen, creating }, w.params.standard_exit_bond)
        .await
        .map_err(|e| failed("the thief's exit", e))?;
    let chain = w.chain();
    until("the thief's exit challenged", 60, || {
        let chain = chain.clone();
        async move { chain.exit_status(theft_exit).await.is_ok_and(|s| s == 2) }
    })
    .await?;
    w.settle().await?;
    let paid = w.paid_out().await?;
    let loss = (3 * ETH).saturating_sub(paid);
    let stolen_amount: u128 = stolen.output.amount.to();
    let out = Outcome {
        family: "plasma",
        attack: "operator includes a theft",
        must_be: "one watcher online per user within the exit period (and anyone to challenge)",
        setting: "3 users, each with a watcher; the operator steals the largest output".into(),
        happened: format!(
            "every watcher exited its user's outputs of the last good block; the thief's exit of {} was challenged (bond {} to the challenger); {} of 3 ETH paid to the users",
            eth(stolen_amount),
            eth(w.params.standard_exit_bond.to()),
            eth(paid)
        ),
        honest_loss_wei: loss,
        attacker_gain_wei: 0,
        promise: Promise::NoLoss,
        held: loss == 0,
        wall_s: 0.0,
    };
    w.stop().await;
    Ok(out)
}

/// The operator withholds the block holding a user's payment.
pub async fn withholding() -> Result<Outcome, AttackError> {
    let w = World::start(3, 3, ETH).await?;
    w.svc().operator.lock().await.config_mut().withhold_from = Some(1000);
    let tx = w.pay(0, 1, ETH / 4, ETH).await?;
    if let Some((_, st)) = &w.users[0].watcher {
        st.lock().await.track(tx.clone());
    }
    w.included(&tx).await?;
    w.alarmed(true).await?;
    let (s, r) = (w.users[0].watcher.clone().expect("watched").0, w.users[1].watcher.clone().expect("watched").0);
    until("the in-flight exit and its piggybacks", 60, || {
        let (s, r) = (s.clone(), r.clone());
        async move {
            let s = s.lock().await;
            s.in_flight_exits_started.len() == 1 && s.piggybacks == 2 && r.lock().await.piggybacks == 1
        }
    })
    .await?;
    w.settle().await?;
    let paid = w.paid_out().await?;
    let loss = (3 * ETH).saturating_sub(paid);
    let out = Outcome {
        family: "plasma",
        attack: "operator withholds a block",
        must_be: "one watcher online per user within the first half of the exit period",
        setting: "3 users with watchers; a payment of 0.25 ETH caught in the withheld block".into(),
        happened: format!(
            "the sender's in-flight exit (input and change piggybacked) and the recipient's piggyback paid the payment's outputs once; the others left by standard exits; {} of 3 ETH paid, the input not paid twice",
            eth(paid)
        ),
        honest_loss_wei: loss,
        attacker_gain_wei: 0,
        promise: Promise::NoLoss,
        held: loss == 0,
        wall_s: 0.0,
    };
    w.stop().await;
    Ok(out)
}

/// What a mass exit cost on L1.
#[derive(Clone, Copy, Debug, Default, serde::Serialize)]
pub struct MassExit {
    pub users: usize,
    pub start_gas_per_exit: u64,
    pub process_gas_per_exit: u64,
    /// L1 blocks of 30M gas the starts and the processing fill.
    pub l1_blocks_30m: u64,
    /// Seconds of wall time the exits took on this devnet (starts and processing).
    pub devnet_wall_s: f64,
    /// For 1,000,000 users on mainnet settings: 30M-gas blocks and days (12 s slots, every block
    /// full of exits) against the 7-day exit period.
    pub mainnet_million_blocks: u64,
    pub mainnet_million_days: f64,
}

/// N users deposit; the operator withholds; every user exits (as its watcher would); exits are
/// processed in batches. Measured: gas, L1 blocks, wall time; projected to a million users.
pub async fn mass_exit(n: usize) -> Result<(Outcome, MassExit), AttackError> {
    let amount = ETH / 100;
    let w = World::start(n, 1, amount).await?;
    w.svc().operator.lock().await.config_mut().withhold_from = Some(0);
    let tx = w.pay(0, 1, amount / 2, amount).await?;
    w.included(&tx).await?;
    w.alarmed(true).await?;
    let t = std::time::Instant::now();
    let mut start_gas = 0u64;
    let watcher_exits = w.users[0].watcher.as_ref().map(|(r, _)| r.clone());
    // User 0's watcher exits user 0; every other user exits its deposit as its watcher would.
    for (i, u) in w.users.iter().enumerate().skip(1) {
        let p = PlasmaL1::new(w.l1.clone(), w.contract, u.key.clone());
        let creating = aqueduct_plasma_protocol::Included {
            tx: SignedTx::deposit(u.key.address(), Address::ZERO, U256::from(amount)),
            position: u.deposit,
            proof: aqueduct_plasma_protocol::BlockTree::new(vec![
                SignedTx::deposit(u.key.address(), Address::ZERO, U256::from(amount)).leaf(),
            ])
            .proof(0)
            .unwrap_or_default(),
        };
        let utxo = aqueduct_plasma_protocol::Utxo {
            position: u.deposit,
            output: Output { owner: u.key.address(), token: Address::ZERO, amount: U256::from(amount) },
            tx_hash: creating.tx.tx.hash(),
        };
        let (_, s) = p
            .start_exit(&ExitPlan { utxo, creating }, w.params.standard_exit_bond)
            .await
            .map_err(|e| failed(&format!("user {i}'s exit"), e))?;
        start_gas += s.gas;
    }
    if let Some(r) = watcher_exits {
        until("user 0's watcher exits", 60, || {
            let r = r.clone();
            async move { !r.lock().await.in_flight_exits_started.is_empty() || !r.lock().await.exits_started.is_empty() }
        })
        .await?;
    }
    w.cancel.cancel();
    advance(&w.l1, 3 * PERIOD).await?;
    let chain = w.chain();
    let mut process_gas = 0u64;
    let mut processed = 0u64;
    let batch = 100;
    while chain.next_exit(Address::ZERO).await.map_err(|e| failed("the queue", e))?.is_some() {
        let before = chain.next_exit(Address::ZERO).await.map_err(|e| failed("the queue", e))?;
        let s = chain.process(Address::ZERO, batch).await.map_err(|e| failed("processing", e))?;
        process_gas += s.gas;
        processed += batch;
        if chain.next_exit(Address::ZERO).await.map_err(|e| failed("the queue", e))? == before {
            return Err(failed("processing", "the queue did not move"));
        }
    }
    let wall = t.elapsed().as_secs_f64();
    let paid = w.paid_out().await?;
    let exits = (n as u64).max(1);
    let per_start = start_gas / (exits - 1).max(1);
    let per_process = process_gas / processed.min(exits + 1).max(1);
    let per_exit = per_start + per_process;
    let blocks = (per_exit * exits).div_ceil(MAINNET_BLOCK_GAS);
    let million_blocks = (per_exit * 1_000_000).div_ceil(MAINNET_BLOCK_GAS);
    let million_days = (million_blocks * MAINNET_SLOT_S) as f64 / 86_400.0;
    let m = MassExit {
        users: n,
        start_gas_per_exit: per_start,
        process_gas_per_exit: per_process,
        l1_blocks_30m: blocks,
        devnet_wall_s: wall,
        mainnet_million_blocks: million_blocks,
        mainnet_million_days: million_days,
    };
    let total = amount * n as u128;
    let loss = total.saturating_sub(paid);
    let fits = million_days * 86_400.0 <= MAINNET_EXIT_PERIOD_S as f64;
    let out = Outcome {
        family: "plasma",
        attack: "mass exit after withholding",
        must_be: "every user (or its watcher) online, and L1 space for every exit within the period",
        setting: format!("{n} users, 0.01 ETH each; the operator withholds every block"),
        happened: format!(
            "{n} exits: {per_start} gas to start and {per_process} to process each, {blocks} full 30M-gas L1 blocks, {wall:.0} s on this devnet; {} of {} paid. 1,000,000 users would fill {million_blocks} mainnet blocks = {million_days:.1} days of every block, against a 7-day exit period ({})",
            eth(paid),
            eth(total),
            if fits { "fits, with no other L1 traffic" } else { "DOES NOT FIT" }
        ),
        honest_loss_wei: loss,
        attacker_gain_wei: 0,
        promise: Promise::NoLoss,
        held: loss == 0,
        wall_s: 0.0,
    };
    w.stop().await;
    Ok((out, m))
}
