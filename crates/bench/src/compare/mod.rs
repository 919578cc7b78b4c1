//! `aqueduct compare`: one seeded workload ([`Plan`]) on every family, each through its own
//! user interface on its own embedded L1, measured the same way; the results as one table, one
//! JSON and one self-contained HTML report.
//!
//! A family plugs in through [`Family`]: one file that starts the family, sends the plan's
//! transfers as its users would, and fills a [`Row`] with what it measured. [`family`] names
//! them all.

mod channel;
mod claims;
mod html;
mod l1;
mod optimistic;
mod plasma;
mod prices;
mod svg;
mod zk;

use std::{path::PathBuf, sync::Arc, time::Instant};

use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};

pub use claims::{Claim, Verdict};
pub use prices::{L1Prices, presets};

use crate::{BenchError, ChannelBenchError, ZkBenchError, plan::Plan};

/// The families `compare` knows, in the order it runs them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FamilyId {
    #[default]
    L1,
    OptimisticCalldata,
    OptimisticBlobs,
    ZkRollup,
    Validium,
    Channels,
    Plasma,
}

impl FamilyId {
    pub const ALL: [Self; 7] = [
        Self::L1,
        Self::OptimisticCalldata,
        Self::OptimisticBlobs,
        Self::ZkRollup,
        Self::Validium,
        Self::Channels,
        Self::Plasma,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::L1 => "l1",
            Self::OptimisticCalldata => "optimistic-calldata",
            Self::OptimisticBlobs => "optimistic-blobs",
            Self::ZkRollup => "zk-rollup",
            Self::Validium => "validium",
            Self::Channels => "channels",
            Self::Plasma => "plasma",
        }
    }
}

impl std::str::FromStr for FamilyId {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|f| f.name() == s)
            .ok_or_else(|| format!("unknown family {s}; one of {}", Self::ALL.map(Self::name).join(", ")))
    }
}

/// The family behind an id.
pub fn family(id: FamilyId) -> Box<dyn Family> {
    match id {
        FamilyId::L1 => Box::new(l1::L1),
        FamilyId::OptimisticCalldata => Box::new(optimistic::Optimistic { blobs: false }),
        FamilyId::OptimisticBlobs => Box::new(optimistic::Optimistic { blobs: true }),
        FamilyId::ZkRollup => Box::new(zk::Zk { validium: false }),
        FamilyId::Validium => Box::new(zk::Zk { validium: true }),
        FamilyId::Channels => Box::new(channel::Channels),
        FamilyId::Plasma => Box::new(plasma::Plasma),
    }
}

/// One family of the comparison.
pub trait Family: Send + Sync {
    /// Starts the family on a fresh embedded L1, sends `plan`'s transfers through its user
    /// interface, waits until they are final where the family has an L1 step, and reports.
    fn run<'a>(&'a self, plan: &'a Arc<Plan>, o: &'a CompareOptions) -> BoxFuture<'a, Result<Row, CompareError>>;
}

/// What `compare` runs.
#[derive(Clone, Debug)]
pub struct CompareOptions {
    pub seed: u64,
    pub users: usize,
    pub transfers: usize,
    pub erc20_share: f64,
    pub families: Vec<FamilyId>,
    /// Seconds between blocks of every family's embedded L1.
    pub l1_block_time: f64,
    /// Transaction slots of a ZK block.
    pub zk_slots: usize,
    /// Levels of the ZK account tree (12 as deployed: 4^12 accounts; tests use fewer).
    pub zk_account_levels: usize,
    /// Where ZK proving keys are cached.
    pub keys_dir: PathBuf,
    pub prices: L1Prices,
    pub progress: bool,
}

/// Who must behave for a family's users to keep their money, and what happens when they don't.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Trust {
    /// Whom users trust (or must be): "L1 validators", "one honest challenger", …
    pub who: String,
    /// What a failure of theirs costs.
    pub if_not: String,
}

/// What one family measured on the plan.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Row {
    pub family: FamilyId,
    /// How it appears in the table.
    pub label: String,
    /// The transfers it completed (all of the plan's, or it failed).
    pub transfers: usize,
    /// From the first transfer sent to the last one soft-confirmed.
    pub transfers_per_sec: f64,
    /// A transfer's time from sending to the family's first answer that it will happen (a
    /// receipt, the operator's acknowledgement, the peer's countersignature).
    pub soft_p50_ms: f64,
    pub soft_p99_ms: f64,
    /// From sending to the transfer's data (and proof, where there is one) on L1, p50; `None`
    /// where transfers never touch L1.
    pub l1_p50_s: Option<f64>,
    /// From sending to the money being the recipient's on L1, as this devnet measured it.
    pub funds_s: Option<f64>,
    /// The same under the family's mainnet settings (a challenge period, Ethereum finality), and
    /// what that figure is.
    pub funds_mainnet_s: f64,
    pub funds_mainnet_why: String,
    pub l1_bytes_per_transfer: f64,
    pub l1_gas_per_transfer: f64,
    pub blob_gas_per_transfer: f64,
    /// L1 transactions the family sent while the transfers ran (channels: none).
    pub l1_txs_during_transfers: Option<u64>,
    pub prove_cpu_s_per_transfer: Option<f64>,
    /// What a user paid per transfer on this devnet, wei (at the devnet's own prices).
    pub fee_wei: f64,
    /// What the operator paid L1 per transfer on this devnet, wei.
    pub operator_l1_wei: f64,
    pub trust: Trust,
    /// What the row does not show or does differently.
    pub notes: Vec<String>,
    /// Wall time of the family's whole run, setup included.
    pub wall_s: f64,
}

/// Why `compare` stopped.
#[derive(Debug, thiserror::Error)]
pub enum CompareError {
    #[error("bad options: {0}")]
    Options(String),
    #[error("{family}: {source}")]
    Bench { family: &'static str, source: BenchError },
    #[error("{family}: {source}")]
    Zk { family: &'static str, source: ZkBenchError },
    #[error("{family}: {source}")]
    Channel { family: &'static str, source: ChannelBenchError },
    #[error("{family}: {source}")]
    Plasma { family: &'static str, source: crate::PlasmaBenchError },
}

/// One cell of the attack matrix, as `aqueduct attack all --json` writes it (read with
/// `compare --attacks FILE`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AttackCell {
    pub family: String,
    pub attack: String,
    /// Who had to be honest or online.
    pub must_be: String,
    pub setting: String,
    pub happened: String,
    pub honest_loss_wei: u128,
    pub attacker_gain_wei: u128,
    /// `no-loss` or `loss-allowed`.
    pub promise: String,
    pub held: bool,
}

/// The comparison: its settings, a row per family, and where it ran.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CompareReport {
    pub seed: u64,
    pub users: usize,
    pub transfers: usize,
    pub erc20_share: f64,
    pub erc20_transfers: usize,
    pub l1_block_time: f64,
    pub zk_slots: usize,
    pub prices: L1Prices,
    pub rows: Vec<Row>,
    /// The attack suite's outcomes, when given (`--attacks`).
    #[serde(default)]
    pub attacks: Vec<AttackCell>,
    pub wall_s: f64,
    /// Filled by the caller: the command line, the commit and the machine.
    pub command: String,
    pub commit: String,
    pub machine: String,
}

/// Runs every family of `o` on the plan of `o`, one after another.
pub async fn compare(o: &CompareOptions) -> Result<CompareReport, CompareError> {
    if o.transfers == 0 || o.users < 2 {
        return Err(CompareError::Options("at least one transfer and two users".into()));
    }
    if !(0.0..=1.0).contains(&o.erc20_share) {
        return Err(CompareError::Options(format!("--erc20-share {} is not in 0..=1", o.erc20_share)));
    }
    let plan = Arc::new(Plan::generate(o.seed, o.users, o.transfers, o.erc20_share));
    let started = Instant::now();
    let mut rows = Vec::new();
    for id in &o.families {
        eprintln!("compare: {} ({} transfers among {} users)", id.name(), o.transfers, o.users);
        let t = Instant::now();
        let mut row = family(*id).run(&plan, o).await?;
        row.wall_s = t.elapsed().as_secs_f64();
        eprintln!(
            "compare: {} done in {:.0} s: {:.1} transfers/s, {:.0} L1 gas a transfer",
            id.name(),
            row.wall_s,
            row.transfers_per_sec,
            row.l1_gas_per_transfer
        );
        rows.push(row);
    }
    Ok(CompareReport {
        seed: o.seed,
        users: plan.users,
        transfers: plan.transfers.len(),
        erc20_share: plan.erc20_share,
        erc20_transfers: plan.erc20_transfers(),
        l1_block_time: o.l1_block_time,
        zk_slots: o.zk_slots,
        prices: o.prices.clone(),
        rows,
        attacks: Vec::new(),
        wall_s: started.elapsed().as_secs_f64(),
        command: String::new(),
        commit: String::new(),
        machine: String::new(),
    })
}

impl CompareReport {
    /// What a transfer costs on L1 at the report's prices, in USD.
    pub fn cost_usd(&self, r: &Row) -> f64 {
        self.prices.usd(r.l1_gas_per_transfer, r.blob_gas_per_transfer)
    }

    /// The L1 row's cost of a transfer, when L1 ran.
    pub fn l1_cost_usd(&self) -> Option<f64> {
        self.rows.iter().find(|r| r.family == FamilyId::L1).map(|r| self.cost_usd(r))
    }

    /// A row's cost as a share of the same transfer on L1.
    pub fn ratio_to_l1(&self, r: &Row) -> Option<f64> {
        self.l1_cost_usd().filter(|c| *c > 0.0).map(|c| self.cost_usd(r) / c)
    }

    /// The table the command prints.
    pub fn table(&self) -> String {
        use std::fmt::Write;
        let mut s = String::new();
        let _ = writeln!(
            s,
            "{} transfers among {} users ({} ERC-20), seed {}; L1 blocks every {} s; prices {} ({} gwei gas, {} gwei blob gas, ETH ${})",
            self.transfers,
            self.users,
            self.erc20_transfers,
            self.seed,
            self.l1_block_time,
            self.prices.name,
            self.prices.gas_gwei,
            self.prices.blob_gwei,
            self.prices.eth_usd
        );
        let _ = writeln!(
            s,
            "{:<22} {:>10} {:>9} {:>9} {:>10} {:>12} {:>9} {:>9} {:>8} {:>9} {:>11} {:>9}",
            "family",
            "transfers/s",
            "soft p50",
            "L1 p50",
            "funds",
            "funds mainnet",
            "L1 bytes",
            "L1 gas",
            "blob gas",
            "prove CPU",
            "L1 cost USD",
            "vs L1"
        );
        for r in &self.rows {
            let _ = writeln!(
                s,
                "{:<22} {:>10.1} {:>9} {:>9} {:>10} {:>12} {:>9.1} {:>9.0} {:>8.1} {:>9} {:>11} {:>9}",
                r.label,
                r.transfers_per_sec,
                human_s(r.soft_p50_ms / 1000.0),
                r.l1_p50_s.map_or("-".into(), human_s),
                r.funds_s.map_or("-".into(), human_s),
                human_s(r.funds_mainnet_s),
                r.l1_bytes_per_transfer,
                r.l1_gas_per_transfer,
                r.blob_gas_per_transfer,
                r.prove_cpu_s_per_transfer.map_or("-".into(), |c| format!("{c:.2} s")),
                usd(self.cost_usd(r)),
                self.ratio_to_l1(r).map_or("-".into(), |x| format!("{x:.4}")),
            );
        }
        let _ = writeln!(s, "\nwho must behave:");
        for r in &self.rows {
            let _ = writeln!(s, "  {:<22} {} — otherwise: {}", r.label, r.trust.who, r.trust.if_not);
        }
        if !self.attacks.is_empty() {
            let _ = writeln!(s, "\nattacked (aqueduct attack all):");
            for a in &self.attacks {
                let _ = writeln!(
                    s,
                    "  {:<18} {:<40} honest loss {:>22} wei  {}",
                    a.family,
                    a.attack,
                    a.honest_loss_wei,
                    if a.held { "as designed" } else { "BROKE ITS PROMISE" }
                );
            }
        }
        let _ = writeln!(s, "\nfees on this devnet (wei a transfer): charged vs paid to L1 by the operator:");
        for r in &self.rows {
            let _ = writeln!(s, "  {:<22} {:>14.0} {:>14.0}", r.label, r.fee_wei, r.operator_l1_wei);
        }
        let _ = writeln!(s, "\nthe seeds' claims against these numbers:");
        for c in self.claims() {
            let _ = writeln!(s, "  [{}] {}: {}", c.verdict.tag(), c.claim, c.measured);
        }
        s
    }

    /// The report as one self-contained HTML page.
    pub fn html(&self) -> String {
        html::render(self)
    }

    /// Each of the report's charts as a standalone SVG: (name, SVG).
    pub fn charts(&self) -> Vec<(&'static str, String)> {
        html::charts(self)
    }
}

/// Seconds as a human reads them: ms, s, min, h, d.
pub fn human_s(s: f64) -> String {
    if s < 1.0 {
        format!("{:.0} ms", s * 1000.0)
    } else if s < 120.0 {
        format!("{s:.1} s")
    } else if s < 7_200.0 {
        format!("{:.1} min", s / 60.0)
    } else if s < 172_800.0 {
        format!("{:.1} h", s / 3600.0)
    } else {
        format!("{:.1} d", s / 86_400.0)
    }
}

/// Dollars with as many digits as a small amount needs.
pub fn usd(x: f64) -> String {
    if x >= 1.0 {
        format!("${x:.2}")
    } else if x >= 0.01 {
        format!("${x:.3}")
    } else if x > 0.0 {
        format!("${x:.2e}")
    } else {
        "$0".into()
    }
}

/// A fresh embedded L1 for one family's run: blocks every `o.l1_block_time` seconds, its data
/// in `dir/l1`, JSON-RPC on a free loopback port.
pub(crate) async fn start_l1<E>(o: &CompareOptions, dir: &std::path::Path) -> Result<aqueduct_l1::Devnet, E>
where
    E: From<aqueduct_l1::DevnetError> + From<std::io::Error>,
{
    let cfg = aqueduct_l1::L1Config {
        block_time: o.l1_block_time,
        data_dir: dir.join("l1"),
        rpc_addr: free_addr()?,
        ..Default::default()
    };
    Ok(aqueduct_l1::Devnet::start(cfg, true).await?)
}

/// A free port on loopback.
pub(crate) fn free_addr() -> std::io::Result<std::net::SocketAddr> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    l.local_addr()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_units_read() {
        for f in FamilyId::ALL {
            assert_eq!(f.name().parse::<FamilyId>(), Ok(f));
        }
        assert!("sidechain".parse::<FamilyId>().unwrap_err().contains("plasma"));
        assert_eq!(human_s(0.012), "12 ms");
        assert_eq!(human_s(604_800.0), "7.0 d");
        assert_eq!(human_s(5_400.0), "90.0 min");
        assert_eq!(usd(0.945), "$0.945");
        assert_eq!(usd(0.0012), "$1.20e-3");
    }
}
