//! The seeds' claims, checked against one comparison's numbers.

use serde::{Deserialize, Serialize};

use super::{CompareReport, FamilyId, human_s};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    Supported,
    Partly,
    Contradicted,
    /// A family the claim needs did not run.
    NotMeasured,
}

impl Verdict {
    pub fn tag(self) -> &'static str {
        match self {
            Self::Supported => "supported",
            Self::Partly => "partly",
            Self::Contradicted => "contradicted",
            Self::NotMeasured => "not measured",
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Claim {
    pub claim: String,
    pub measured: String,
    pub verdict: Verdict,
}

fn claim(claim: &str, measured: String, verdict: Verdict) -> Claim {
    Claim { claim: claim.into(), measured, verdict }
}

impl CompareReport {
    fn row(&self, f: FamilyId) -> Option<&super::Row> {
        self.rows.iter().find(|r| r.family == f)
    }

    /// Each seed claim with what this run measured and whether that supports it.
    pub fn claims(&self) -> Vec<Claim> {
        let mut out = Vec::new();
        let p = &self.prices;

        const TPS: &str = "L1 ~15-30 TPS";
        out.push(match self.row(FamilyId::L1) {
            Some(l1) => {
                let cap = p.l1_capacity(l1.l1_gas_per_transfer);
                let v = if (10.0..=40.0).contains(&cap) { Verdict::Supported } else { Verdict::Partly };
                claim(
                    TPS,
                    format!(
                        "{cap:.0} transfers/s fit L1 ({} gas every {} s at {:.0} gas a transfer of this mix); heavier mainnet transactions bring it to the claim's range",
                        p.block_gas_limit, p.block_seconds, l1.l1_gas_per_transfer
                    ),
                    v,
                )
            }
            None => claim(TPS, "L1 did not run".into(), Verdict::NotMeasured),
        });

        const THOUSANDS: &str = "L2 thousands of TPS";
        let l2 = self
            .rows
            .iter()
            .filter(|r| matches!(r.family, FamilyId::OptimisticCalldata | FamilyId::OptimisticBlobs))
            .map(|r| r.transfers_per_sec)
            .fold(None, |m: Option<f64>, x| Some(m.map_or(x, |m| m.max(x))));
        out.push(match l2 {
            Some(best) => claim(
                THOUSANDS,
                format!(
                    "the optimistic sequencer took {best:.0} transfers/s over {} transfers from {} users (a short run; `aqueduct bench rollup` measures sustained load)",
                    self.transfers, self.users
                ),
                if best >= 1000.0 { Verdict::Supported } else { Verdict::Contradicted },
            ),
            None => claim(THOUSANDS, "no optimistic rollup ran".into(), Verdict::NotMeasured),
        });

        const CHEAPER: &str = "rollups 20-100x cheaper than L1";
        let rollups: Vec<(String, f64)> = self
            .rows
            .iter()
            .filter(|r| {
                matches!(
                    r.family,
                    FamilyId::OptimisticCalldata | FamilyId::OptimisticBlobs | FamilyId::ZkRollup | FamilyId::Validium
                )
            })
            .filter_map(|r| self.ratio_to_l1(r).map(|x| (r.label.clone(), x)))
            .collect();
        out.push(if rollups.is_empty() {
            claim(CHEAPER, "needs L1 and a rollup".into(), Verdict::NotMeasured)
        } else {
            let factors: Vec<f64> = rollups.iter().map(|r| 1.0 / r.1.max(1e-30)).collect();
            let verdict = if factors.iter().all(|x| *x >= 20.0) {
                Verdict::Supported
            } else if factors.iter().any(|x| *x >= 20.0) {
                Verdict::Partly
            } else {
                Verdict::Contradicted
            };
            let text =
                rollups.iter().map(|(l, x)| format!("{l} {:.0}x", 1.0 / x.max(1e-30))).collect::<Vec<_>>().join(", ");
            claim(CHEAPER, format!("L1 cost of a transfer at {} prices, L1 ÷ family: {text}", p.name), verdict)
        });

        const BLOBS: &str = "blobs cut cost 5-10x";
        out.push(match (self.row(FamilyId::OptimisticCalldata), self.row(FamilyId::OptimisticBlobs)) {
            (Some(c), Some(b)) => {
                let (cc, bc) = (self.cost_usd(c), self.cost_usd(b));
                let x = cc / bc.max(1e-30);
                claim(
                    BLOBS,
                    format!(
                        "calldata {} vs blobs {} a transfer at {} prices: {x:.1}x ({:.0} vs {:.0} L1 gas, {:.0} blob gas)",
                        super::usd(cc),
                        super::usd(bc),
                        p.name,
                        c.l1_gas_per_transfer,
                        b.l1_gas_per_transfer,
                        b.blob_gas_per_transfer
                    ),
                    if x >= 5.0 { Verdict::Supported } else { Verdict::Contradicted },
                )
            }
            _ => claim(BLOBS, "needs the optimistic rollup in both modes".into(), Verdict::NotMeasured),
        });

        const WITHDRAW: &str = "withdrawals instant (channels) / hours (ZK) / 7 days (optimistic)";
        let ch = self.row(FamilyId::Channels).map(|r| r.funds_mainnet_s);
        let zk = self.row(FamilyId::ZkRollup).or(self.row(FamilyId::Validium)).and_then(|r| r.funds_s);
        let op =
            self.row(FamilyId::OptimisticCalldata).or(self.row(FamilyId::OptimisticBlobs)).map(|r| r.funds_mainnet_s);
        out.push(match (ch, zk, op) {
            (Some(ch), Some(zk), Some(op)) => claim(
                WITHDRAW,
                format!(
                    "channels {} (cooperative close), ZK {} (proof verified on L1, this machine), optimistic {} (challenge period)",
                    human_s(ch),
                    human_s(zk),
                    human_s(op)
                ),
                if ch < 60.0 && zk < 86_400.0 && op >= 604_800.0 { Verdict::Supported } else { Verdict::Partly },
            ),
            _ => claim(WITHDRAW, "needs channels, a ZK family and an optimistic one".into(), Verdict::NotMeasured),
        });

        const CHANNELS: &str = "only open and close touch L1 for channels";
        out.push(match self.row(FamilyId::Channels) {
            Some(r) => {
                let during = r.l1_txs_during_transfers.unwrap_or(u64::MAX);
                claim(
                    CHANNELS,
                    format!("{during} L1 transactions while {} transfers were paid", r.transfers),
                    if during == 0 { Verdict::Supported } else { Verdict::Contradicted },
                )
            }
            None => claim(CHANNELS, "channels did not run".into(), Verdict::NotMeasured),
        });
        out
    }
}
