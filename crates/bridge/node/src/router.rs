//! The router's view of the venues on a running devnet (or any deployment named by its specs):
//! every way to move ETH between two chains, each with its fee now, the time to funds it
//! expects and whom it asks the user to trust — and the steps that take a chosen route to its
//! end. So far the venues between L1 and the optimistic rollup: the rollup's canonical bridge
//! (deposit and withdrawal) and the fast bridge.

use std::{fmt, str::FromStr, time::Duration};

use alloy::{
    primitives::{Address, Bytes, U256},
    providers::Provider,
    signers::local::PrivateKeySigner,
};
use aqueduct_bridge_protocol::{FillState, Quote, relay_hash};
use aqueduct_contracts::rollup::RollupPortal;
use aqueduct_eth::{L1Client, L1Error};
use aqueduct_rollup_node::{
    BridgeError, RollupSpec, build_proof, deposit_eth, finalize, output_eta, prove, seconds_left, withdraw_eth_call,
};
use serde::Serialize;

use crate::{BridgeSpec, FastBridgeError, Hub, RelayerConfig, Spoke};

/// L1 gas of proving and of finalizing a withdrawal on the rollup's portal (`bench bridge`).
pub const PROVE_GAS: u64 = 118_400;
pub const FINALIZE_GAS: u64 = 156_600;
/// Utilisation a user's fast quote assumes of the relayer's capital (the curve's kink).
pub const QUOTE_UTILISATION_PPM: u64 = 650_000;

/// A chain the router knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Place {
    L1,
    Rollup,
}

impl FromStr for Place {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "l1" | "ethereum" => Ok(Self::L1),
            "rollup" | "optimistic" | "op" | "901" => Ok(Self::Rollup),
            other => Err(format!("unknown chain {other:?}: the router knows l1 and rollup (the optimistic rollup)")),
        }
    }
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::L1 => "l1",
            Self::Rollup => "rollup",
        })
    }
}

/// How a route moves the money.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum RouteKind {
    /// L1 → rollup through the portal.
    CanonicalDeposit,
    /// Rollup → L1 through the message passer, an output, the challenge window and the portal.
    CanonicalWithdrawal,
    /// Rollup → L1 through a relayer of the fast bridge.
    FastBridge,
}

/// What the user prefers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Prefer {
    Cheapest,
    Fastest,
    Safest,
}

impl FromStr for Prefer {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "cheapest" => Ok(Self::Cheapest),
            "fastest" => Ok(Self::Fastest),
            "safest" => Ok(Self::Safest),
            other => Err(format!("--prefer takes cheapest, fastest or safest, not {other:?}")),
        }
    }
}

/// One way to move the amount, priced now.
#[derive(Clone, Debug, Serialize)]
pub struct Route {
    pub kind: RouteKind,
    pub name: &'static str,
    pub from: Place,
    pub to: Place,
    /// What the user pays beyond the amount (fees and gas), wei.
    pub fee: U256,
    /// How the fee is made up.
    pub fee_terms: String,
    /// Seconds until the funds are usable on the destination.
    pub seconds: f64,
    pub time_terms: String,
    /// Who must be honest (or online) for the user to get the money.
    pub trust: &'static str,
    /// What the route leans on: a challenge window, a proof, a committee, a validator majority.
    pub relies_on: &'static str,
    /// How many parties the user's safety rests on, fewer is safer (for `--prefer safest`).
    pub trust_rank: u8,
}

/// The venues of one deployment.
#[derive(Clone, Debug)]
pub struct Venues {
    pub l1: L1Client,
    pub l2: L1Client,
    pub verifier: L1Client,
    pub rollup: RollupSpec,
    pub fast: Option<BridgeSpec>,
}

impl Venues {
    /// Every route from `from` to `to` for `amount` sent by `sender`, priced at L1's and L2's
    /// fees now (the first transaction of each route's gas estimated by the chain).
    pub async fn routes(
        &self,
        sender: Address,
        from: Place,
        to: Place,
        amount: U256,
    ) -> Result<Vec<Route>, FastBridgeError> {
        let fees = self.l1.fees().await?;
        let l1_gas = fees.base_fee + fees.tip;
        let l1_block = self.l1_block_secs().await?;
        let mut out = Vec::new();
        match (from, to) {
            (Place::L1, Place::Rollup) => {
                let call = RollupPortal::new(self.rollup.rollup.portal, self.l1.provider())
                    .depositTransaction(sender, amount, 100_000, false, Bytes::new())
                    .value(amount)
                    .from(sender)
                    .into_transaction_request();
                let gas = u128::from(self.l1.provider().estimate_gas(call).await.map_err(L1Error::Rpc)?);
                let l2_block = self.rollup.rollup.block_time_ms as f64 / 1000.0;
                out.push(Route {
                    kind: RouteKind::CanonicalDeposit,
                    name: "canonical deposit (portal)",
                    from,
                    to,
                    fee: U256::from(gas * l1_gas),
                    fee_terms: format!("L1 gas {gas} (estimated) × {l1_gas} wei"),
                    seconds: l1_block + l2_block,
                    time_terms: format!("one L1 block ({l1_block:.0} s) and the next L2 block"),
                    trust: "no one: L1 orders the deposit; a censoring sequencer is overridden after the sequencing window",
                    relies_on: "L1 alone",
                    trust_rank: 0,
                });
            }
            (Place::Rollup, Place::L1) => {
                let l2_fees = self.l2.fees().await?;
                let req = withdraw_eth_call(sender, amount).request(l2_fees).from(sender);
                let l2_units = self.l2.provider().estimate_gas(req).await.map_err(L1Error::Rpc)?;
                let l2_gas = u128::from(l2_units) * (l2_fees.base_fee + l2_fees.tip);
                let l1_cost = u128::from(PROVE_GAS + FINALIZE_GAS) * l1_gas;
                let head = self.l2.head().await?;
                let pace = match output_eta(&self.l1, self.rollup.rollup.oracle, head + 1).await? {
                    Some(e) => e.secs_per_output as f64,
                    None => 0.0,
                };
                let window = self.rollup.finalization_period;
                out.push(Route {
                    kind: RouteKind::CanonicalWithdrawal,
                    name: "canonical withdrawal (fault proofs)",
                    from,
                    to,
                    fee: U256::from(l2_gas + l1_cost),
                    fee_terms: format!(
                        "L2 gas {l2_units} (estimated; {l2_gas} wei) + L1 gas of prove and finalize {} × {l1_gas} wei",
                        PROVE_GAS + FINALIZE_GAS
                    ),
                    seconds: window as f64 + pace + l1_block,
                    time_terms: format!("an output (~{pace:.0} s) + the challenge window ({window} s) + finalizing"),
                    trust: "one honest challenger online during the challenge window",
                    relies_on: "a challenge window (fault proofs)",
                    trust_rank: 1,
                });
                if let Some(spec) = &self.fast {
                    let q = fast_quote(spec, &self.l1, amount).await?;
                    out.push(Route {
                        kind: RouteKind::FastBridge,
                        name: "fast bridge (relayer)",
                        from,
                        to,
                        fee: q.total,
                        fee_terms: format!(
                            "destination gas {} + capital {} + utilisation {} wei",
                            q.gas_fee, q.capital_fee, q.utilisation_fee
                        ),
                        seconds: 2.0 * l1_block,
                        time_terms: format!("a relayer's fill within ~2 L1 blocks ({l1_block:.0} s each)"),
                        trust: "no one for your funds (unfilled deposits are refunded after their deadline); the relayer trusts one watcher during each bundle's liveness and the rollup's fault proofs",
                        relies_on: "a relayer's liquidity (refund after the deadline if none fills)",
                        trust_rank: 2,
                    });
                }
            }
            _ => {}
        }
        Ok(out)
    }

    async fn l1_block_secs(&self) -> Result<f64, FastBridgeError> {
        let head = self.l1.head().await?;
        if head < 2 {
            return Ok(12.0);
        }
        let (a, b) = (self.l1.header(head - 1).await?, self.l1.header(head).await?);
        Ok(b.timestamp.saturating_sub(a.timestamp).max(1) as f64)
    }
}

/// The default relayer's quote for `amount` now (gas priced two blocks ahead).
pub async fn fast_quote(spec: &BridgeSpec, l1: &L1Client, amount: U256) -> Result<Quote, FastBridgeError> {
    let fees = l1.fees().await?;
    let model = RelayerConfig::new(PrivateKeySigner::random()).quote_model(spec, fees);
    Ok(model.quote(amount, QUOTE_UTILISATION_PPM))
}

/// `routes` in the order `prefer` asks for (ties broken by the other figures).
pub fn rank(mut routes: Vec<Route>, prefer: Prefer) -> Vec<Route> {
    let key = |r: &Route| match prefer {
        Prefer::Cheapest => (r.fee, r.seconds as u64, r.trust_rank),
        Prefer::Fastest => (U256::from(r.seconds as u64), r.fee.saturating_to::<u64>(), r.trust_rank),
        Prefer::Safest => (U256::from(r.trust_rank), r.seconds as u64, 0),
    };
    routes.sort_by_key(key);
    routes
}

/// A step of a route being followed, for progress.
pub trait Progress {
    fn step(&mut self, what: &str);
}

/// Follows `route` for `amount` from `key` to `to`, to the funds on the destination. Returns the
/// seconds it took.
pub async fn execute(
    v: &Venues,
    route: &Route,
    key: &PrivateKeySigner,
    to: Address,
    amount: U256,
    progress: &mut impl Progress,
) -> Result<f64, FastBridgeError> {
    let started = std::time::Instant::now();
    let tick = Duration::from_millis(250);
    match route.kind {
        RouteKind::CanonicalDeposit => {
            let before = v.l2.balance(to).await?;
            progress.step("depositing on L1 through the portal");
            let h = deposit_eth(&v.l1, key, v.rollup.rollup.portal, to, amount).await?;
            v.l1.wait(h).await?;
            progress.step("waiting for the deposit on the rollup");
            while v.l2.balance(to).await? < before + amount {
                tokio::time::sleep(tick).await;
            }
        }
        RouteKind::FastBridge => {
            let spec = v.fast.as_ref().expect("a fast route comes from a fast bridge");
            let q = fast_quote(spec, &v.l1, amount).await?;
            let l2_now = v.l2.header(v.l2.head().await?).await?.timestamp as u32;
            progress.step("depositing on the rollup's spoke");
            let (d, _) = Spoke::new(v.l2.clone(), spec.spoke)
                .deposit(key, to, amount, q.output, spec.l1_chain_id, l2_now + 300)
                .await?;
            progress.step("waiting for a relayer's fill on L1");
            let hub = Hub::new(v.l1.clone(), spec.hub);
            while hub.fill_state(relay_hash(&d)).await? == FillState::Unfilled {
                tokio::time::sleep(tick).await;
            }
        }
        RouteKind::CanonicalWithdrawal => {
            progress.step("starting the withdrawal on the rollup");
            let call = withdraw_eth_call(to, amount);
            let tx = v.l2.send_call(key, &call).await?;
            v.l2.wait(tx).await?;
            progress.step("waiting for an output that covers it");
            let oracle = v.rollup.rollup.oracle;
            let proof = loop {
                match build_proof(&v.verifier, &v.l1, oracle, tx).await {
                    Ok(p) => break p,
                    Err(BridgeError::NotProposed(_) | BridgeError::NotDerived(_) | BridgeError::BlockNotDerived(_)) => {
                        tokio::time::sleep(tick).await
                    }
                    Err(e) => return Err(e.into()),
                }
            };
            let portal = v.rollup.rollup.portal;
            v.l1.wait(prove(&v.l1, key, portal, &proof).await?).await?;
            progress.step("proven; waiting out the challenge window");
            while seconds_left(&v.l1, portal, &proof.withdrawal).await? != Some(0) {
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            progress.step("finalizing on L1");
            v.l1.wait(finalize(&v.l1, key, portal, &proof.withdrawal).await?).await?;
        }
    }
    Ok(started.elapsed().as_secs_f64())
}
