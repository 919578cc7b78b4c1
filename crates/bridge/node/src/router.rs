//! The router's view of the venues on a running devnet (or any deployment named by its specs):
//! every way to move ETH between two chains, each with its fee now, the time to funds it
//! expects and whom it asks the user to trust — and the steps that take a chosen route to its
//! end. The venues: the optimistic rollup's canonical bridge (deposit and withdrawal) and the
//! fast bridge between L1 and the rollup, and an L3's canonical bridge between the rollup and the
//! L3; routes between L1 and the L3 go through the rollup, one leg after the other.

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
    /// A rollup settling on the rollup.
    L3,
}

impl FromStr for Place {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "l1" | "ethereum" => Ok(Self::L1),
            "rollup" | "optimistic" | "op" | "901" => Ok(Self::Rollup),
            "l3" | "9901" => Ok(Self::L3),
            other => Err(format!(
                "unknown chain {other:?}: the router knows l1, rollup (the optimistic rollup) and l3 (the rollup's L3)"
            )),
        }
    }
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::L1 => "l1",
            Self::Rollup => "rollup",
            Self::L3 => "l3",
        })
    }
}

/// How a leg of a route moves the money.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum RouteKind {
    /// Settlement layer → rollup through the rollup's portal.
    CanonicalDeposit,
    /// Rollup → settlement layer through the message passer, an output, the challenge window and
    /// the portal.
    CanonicalWithdrawal,
    /// Rollup → L1 through a relayer of the fast bridge.
    FastBridge,
}

/// One leg of a route: how, and between which two chains.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Leg {
    pub kind: RouteKind,
    pub from: Place,
    pub to: Place,
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
    /// Its legs, in order (one, or two through the rollup).
    pub legs: Vec<Leg>,
    pub name: String,
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
    pub trust: String,
    /// What the route leans on: a challenge window, a proof, a committee, a validator majority.
    pub relies_on: String,
    /// How many parties the user's safety rests on, fewer is safer (for `--prefer safest`).
    pub trust_rank: u8,
}

impl Route {
    /// This route, then `next` from where it ends (fees, times and trust add up).
    fn then(self, next: Route) -> Route {
        Route {
            name: format!("{}, then {}", self.name, next.name),
            from: self.from,
            to: next.to,
            fee: self.fee + next.fee,
            fee_terms: format!("{}; then {}", self.fee_terms, next.fee_terms),
            seconds: self.seconds + next.seconds,
            time_terms: format!("{}; then {}", self.time_terms, next.time_terms),
            trust: format!("{}; and {}", self.trust, next.trust),
            relies_on: format!("{} and {}", self.relies_on, next.relies_on),
            trust_rank: self.trust_rank.max(next.trust_rank) + 1,
            legs: [self.legs, next.legs].concat(),
        }
    }
}

/// A rollup and its settlement layer, as a leg of a route sees them.
struct Pair<'a> {
    parent: &'a L1Client,
    child: &'a L1Client,
    verifier: &'a L1Client,
    spec: &'a RollupSpec,
    /// The child's name in route descriptions.
    child_name: &'static str,
}

/// An L3 settling on the rollup.
#[derive(Clone, Debug)]
pub struct L3Venue {
    /// Its sequencer.
    pub client: L1Client,
    pub verifier: L1Client,
    pub spec: RollupSpec,
}

/// The venues of one deployment.
#[derive(Clone, Debug)]
pub struct Venues {
    pub l1: L1Client,
    pub l2: L1Client,
    pub verifier: L1Client,
    pub rollup: RollupSpec,
    pub fast: Option<BridgeSpec>,
    pub l3: Option<L3Venue>,
}

impl Venues {
    /// Every route from `from` to `to` for `amount` sent by `sender`, priced at each chain's
    /// fees now (the first transaction of each leg's gas estimated by its chain).
    pub async fn routes(
        &self,
        sender: Address,
        from: Place,
        to: Place,
        amount: U256,
    ) -> Result<Vec<Route>, FastBridgeError> {
        use Place::*;
        Ok(match (from, to) {
            (L1, Rollup) | (Rollup, L3) => vec![self.deposit(sender, from, to, amount).await?],
            (Rollup, L1) => {
                let mut out = vec![self.withdrawal(sender, from, to, amount).await?];
                out.extend(self.fast_route(amount).await?);
                out
            }
            (L3, Rollup) => vec![self.withdrawal(sender, from, to, amount).await?],
            (L1, L3) => {
                let first = self.deposit(sender, L1, Rollup, amount).await?;
                vec![first.then(self.deposit(sender, Rollup, L3, amount).await?)]
            }
            (L3, L1) => {
                let out = self.withdrawal(sender, L3, Rollup, amount).await?;
                let mut routes = vec![out.clone().then(self.withdrawal(sender, Rollup, L1, amount).await?)];
                if let Some(fast) = self.fast_route(amount).await? {
                    routes.push(out.then(fast));
                }
                routes
            }
            _ => Vec::new(),
        })
    }

    /// The rollup and its settlement layer between `a` and `b`, either way.
    fn pair(&self, a: Place, b: Place) -> Result<Pair<'_>, FastBridgeError> {
        use Place::*;
        match (a, b) {
            (L1, Rollup) | (Rollup, L1) => Ok(Pair {
                parent: &self.l1,
                child: &self.l2,
                verifier: &self.verifier,
                spec: &self.rollup,
                child_name: "the rollup",
            }),
            (Rollup, L3) | (L3, Rollup) => match &self.l3 {
                Some(l3) => Ok(Pair {
                    parent: &self.l2,
                    child: &l3.client,
                    verifier: &l3.verifier,
                    spec: &l3.spec,
                    child_name: "the L3",
                }),
                None => Err(FastBridgeError::NoVenue("no L3 on this devnet (start it with `aqueduct devnet --l3`)")),
            },
            _ => Err(FastBridgeError::NoVenue("no bridge joins these two chains directly")),
        }
    }

    /// Into a rollup through its portal on its settlement layer.
    async fn deposit(&self, sender: Address, from: Place, to: Place, amount: U256) -> Result<Route, FastBridgeError> {
        let p = self.pair(from, to)?;
        let fees = p.parent.fees().await?;
        let price = fees.base_fee + fees.tip;
        let call = RollupPortal::new(p.spec.rollup.portal, p.parent.provider())
            .depositTransaction(sender, amount, 100_000, false, Bytes::new())
            .value(amount)
            .from(sender)
            .into_transaction_request();
        let gas = u128::from(p.parent.provider().estimate_gas(call).await.map_err(L1Error::Rpc)?);
        let parent_block = block_secs(p.parent).await?;
        let child_block = p.spec.rollup.block_time_ms as f64 / 1000.0;
        let l1 = from == Place::L1;
        Ok(Route {
            legs: vec![Leg { kind: RouteKind::CanonicalDeposit, from, to }],
            name: format!("canonical deposit ({}'s portal)", p.child_name.trim_start_matches("the ")),
            from,
            to,
            fee: U256::from(gas * price),
            fee_terms: format!("{from} gas {gas} (estimated) × {price} wei"),
            seconds: parent_block + child_block,
            time_terms: format!("one {from} block ({parent_block:.0} s) and the next {to} block"),
            trust: if l1 {
                "no one: L1 orders the deposit; a censoring sequencer is overridden after the sequencing window".into()
            } else {
                format!(
                    "the rollup orders the deposit into {} (its own safety rests on its fault proofs)",
                    p.child_name
                )
            },
            relies_on: if l1 { "L1 alone".into() } else { "the rollup's ordering".into() },
            trust_rank: if l1 { 0 } else { 1 },
        })
    }

    /// Out of a rollup through its message passer, an output on its settlement layer, the
    /// challenge window and the portal.
    async fn withdrawal(
        &self,
        sender: Address,
        from: Place,
        to: Place,
        amount: U256,
    ) -> Result<Route, FastBridgeError> {
        let p = self.pair(from, to)?;
        let fees = p.parent.fees().await?;
        let price = fees.base_fee + fees.tip;
        let child_fees = p.child.fees().await?;
        let req = withdraw_eth_call(sender, amount).request(child_fees).from(sender);
        let child_units = p.child.provider().estimate_gas(req).await.map_err(L1Error::Rpc)?;
        let child_gas = u128::from(child_units) * (child_fees.base_fee + child_fees.tip);
        let parent_cost = u128::from(PROVE_GAS + FINALIZE_GAS) * price;
        let head = p.child.head().await?;
        let pace = match output_eta(p.parent, p.spec.rollup.oracle, head + 1).await? {
            Some(e) => e.secs_per_output as f64,
            None => 0.0,
        };
        let window = p.spec.finalization_period;
        let parent_block = block_secs(p.parent).await?;
        Ok(Route {
            legs: vec![Leg { kind: RouteKind::CanonicalWithdrawal, from, to }],
            name: format!("canonical withdrawal from {} (fault proofs)", p.child_name.trim_start_matches("the ")),
            from,
            to,
            fee: U256::from(child_gas + parent_cost),
            fee_terms: format!(
                "{from} gas {child_units} (estimated; {child_gas} wei) + {to} gas of prove and finalize {} × {price} wei",
                PROVE_GAS + FINALIZE_GAS
            ),
            seconds: window as f64 + pace + parent_block,
            time_terms: format!("an output (~{pace:.0} s) + the challenge window ({window} s) + finalizing"),
            trust: format!("one honest challenger of {} online during its challenge window", p.child_name),
            relies_on: "a challenge window (fault proofs)".into(),
            trust_rank: 1,
        })
    }

    /// Rollup → L1 through a relayer, when the fast bridge is deployed.
    async fn fast_route(&self, amount: U256) -> Result<Option<Route>, FastBridgeError> {
        let Some(spec) = &self.fast else { return Ok(None) };
        let q = fast_quote(spec, &self.l1, amount).await?;
        let l1_block = block_secs(&self.l1).await?;
        Ok(Some(Route {
            legs: vec![Leg { kind: RouteKind::FastBridge, from: Place::Rollup, to: Place::L1 }],
            name: "fast bridge (relayer)".into(),
            from: Place::Rollup,
            to: Place::L1,
            fee: q.total,
            fee_terms: format!(
                "destination gas {} + capital {} + utilisation {} wei",
                q.gas_fee, q.capital_fee, q.utilisation_fee
            ),
            seconds: 2.0 * l1_block,
            time_terms: format!("a relayer's fill within ~2 L1 blocks ({l1_block:.0} s each)"),
            trust: "no one for your funds (unfilled deposits are refunded after their deadline); the relayer trusts one watcher during each bundle's liveness and the rollup's fault proofs".into(),
            relies_on: "a relayer's liquidity (refund after the deadline if none fills)".into(),
            trust_rank: 2,
        }))
    }
}

/// Seconds between a chain's last two blocks (12 before it has two).
async fn block_secs(c: &L1Client) -> Result<f64, FastBridgeError> {
    let head = c.head().await?;
    if head < 2 {
        return Ok(12.0);
    }
    let (a, b) = (c.header(head - 1).await?, c.header(head).await?);
    Ok(b.timestamp.saturating_sub(a.timestamp).max(1) as f64)
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

/// Follows `route` for `amount` from `key` to `to`, to the funds on the destination (through
/// the key's own account on the chains between legs). Returns the seconds it took.
pub async fn execute(
    v: &Venues,
    route: &Route,
    key: &PrivateKeySigner,
    to: Address,
    amount: U256,
    progress: &mut impl Progress,
) -> Result<f64, FastBridgeError> {
    let started = std::time::Instant::now();
    for (i, leg) in route.legs.iter().enumerate() {
        let recipient = if i + 1 == route.legs.len() { to } else { key.address() };
        execute_leg(v, leg, key, recipient, amount, progress).await?;
    }
    Ok(started.elapsed().as_secs_f64())
}

async fn execute_leg(
    v: &Venues,
    leg: &Leg,
    key: &PrivateKeySigner,
    to: Address,
    amount: U256,
    progress: &mut impl Progress,
) -> Result<(), FastBridgeError> {
    let tick = Duration::from_millis(250);
    match leg.kind {
        RouteKind::CanonicalDeposit => {
            let p = v.pair(leg.from, leg.to)?;
            let before = p.child.balance(to).await?;
            progress.step(&format!("depositing on {} through {}'s portal", leg.from, p.child_name));
            let h = deposit_eth(p.parent, key, p.spec.rollup.portal, to, amount).await?;
            p.parent.wait(h).await?;
            progress.step(&format!("waiting for the deposit on {}", p.child_name));
            while p.child.balance(to).await? < before + amount {
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
            let p = v.pair(leg.from, leg.to)?;
            progress.step(&format!("starting the withdrawal on {}", p.child_name));
            let call = withdraw_eth_call(to, amount);
            let tx = p.child.send_call(key, &call).await?;
            p.child.wait(tx).await?;
            progress.step("waiting for an output that covers it");
            let oracle = p.spec.rollup.oracle;
            let proof = loop {
                match build_proof(p.verifier, p.parent, oracle, tx).await {
                    Ok(p) => break p,
                    Err(BridgeError::NotProposed(_) | BridgeError::NotDerived(_) | BridgeError::BlockNotDerived(_)) => {
                        tokio::time::sleep(tick).await
                    }
                    Err(e) => return Err(e.into()),
                }
            };
            let portal = p.spec.rollup.portal;
            p.parent.wait(prove(p.parent, key, portal, &proof).await?).await?;
            progress.step("proven; waiting out the challenge window");
            while seconds_left(p.parent, portal, &proof.withdrawal).await? != Some(0) {
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            progress.step(&format!("finalizing on {}", leg.to));
            p.parent.wait(finalize(p.parent, key, portal, &proof.withdrawal).await?).await?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(kind: RouteKind, from: Place, to: Place, fee: u64, seconds: f64, rank: u8) -> Route {
        Route {
            legs: vec![Leg { kind, from, to }],
            name: format!("{kind:?}"),
            from,
            to,
            fee: U256::from(fee),
            fee_terms: "f".into(),
            seconds,
            time_terms: "t".into(),
            trust: "x".into(),
            relies_on: "y".into(),
            trust_rank: rank,
        }
    }

    #[test]
    fn two_legs_add_up_and_rank_below_either() {
        let out = route(RouteKind::CanonicalWithdrawal, Place::L3, Place::Rollup, 10, 70.0, 1);
        let slow = route(RouteKind::CanonicalWithdrawal, Place::Rollup, Place::L1, 20, 70.0, 1);
        let fast = route(RouteKind::FastBridge, Place::Rollup, Place::L1, 30, 2.0, 2);
        let (a, b) = (out.clone().then(slow), out.then(fast));
        assert_eq!((a.from, a.to, a.fee, a.seconds, a.trust_rank), (Place::L3, Place::L1, U256::from(30), 140.0, 2));
        assert_eq!(
            b.legs.iter().map(|l| l.kind).collect::<Vec<_>>(),
            [RouteKind::CanonicalWithdrawal, RouteKind::FastBridge]
        );
        assert_eq!(b.trust_rank, 3);
        let ranked = rank(vec![a.clone(), b.clone()], Prefer::Fastest);
        assert_eq!(ranked[0].legs, b.legs);
        let ranked = rank(vec![b, a.clone()], Prefer::Safest);
        assert_eq!(ranked[0].legs, a.legs);
        assert_eq!("9901".parse::<Place>(), Ok(Place::L3));
        assert!("zk".parse::<Place>().unwrap_err().contains("l3"));
    }
}
