//! The comparison as one self-contained HTML page: no network, charts as inline SVG, the
//! system's fonts, every number of the JSON in its tables.

use std::fmt::Write;

use super::{
    CompareReport, human_s,
    svg::{Track, bars, esc, timeline},
    usd,
};

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}\
table{border-collapse:collapse;font-size:13px;margin:1em 0}th,td{border:1px solid #ccc;padding:4px 8px;text-align:right}\
th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}.left{text-align:left}\
.supported{color:#2a7d2a}.partly{color:#a66d00}.contradicted{color:#b22}.muted{color:#666;font-size:12px}\
svg.chart{display:block;margin:1.5em 0;font-family:system-ui,sans-serif}code{background:#f3f3f3;padding:1px 4px}";

pub fn render(r: &CompareReport) -> String {
    let mut s = String::new();
    let _ = write!(
        s,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Aqueduct compare</title><style>{STYLE}</style></head><body>"
    );
    let _ = write!(
        s,
        "<h1>Aqueduct: one workload on every family</h1><p>{} transfers among {} users ({} ERC-20), seed {}; each family on its own embedded L1 with blocks every {} s; money at <b>{}</b> prices: {} gwei gas, {} gwei blob gas, ETH ${} <span class=\"muted\">({})</span>.</p>",
        r.transfers,
        r.users,
        r.erc20_transfers,
        r.seed,
        r.l1_block_time,
        esc(&r.prices.name),
        r.prices.gas_gwei,
        r.prices.blob_gwei,
        r.prices.eth_usd,
        esc(&r.prices.source)
    );

    // The table.
    s.push_str("<h2>Measured</h2><table id=\"results\"><tr><th>family</th><th>transfers</th><th>transfers/s</th><th>soft p50</th><th>soft p99</th><th>on L1 p50</th><th>funds here</th><th>funds mainnet</th><th>L1 bytes</th><th>L1 gas</th><th>blob gas</th><th>prove CPU-s</th><th>L1 cost</th><th>vs L1</th><th>fee charged (wei)</th><th>operator's L1 cost (wei)</th></tr>");
    for row in &r.rows {
        let _ = write!(
            s,
            "<tr data-family=\"{}\"><td>{}</td><td>{}</td><td>{:.1}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.1}</td><td>{:.0}</td><td>{:.1}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.3e}</td><td>{:.3e}</td></tr>",
            row.family.name(),
            esc(&row.label),
            row.transfers,
            row.transfers_per_sec,
            human_s(row.soft_p50_ms / 1000.0),
            human_s(row.soft_p99_ms / 1000.0),
            row.l1_p50_s.map_or("-".into(), human_s),
            row.funds_s.map_or("-".into(), human_s),
            human_s(row.funds_mainnet_s),
            row.l1_bytes_per_transfer,
            row.l1_gas_per_transfer,
            row.blob_gas_per_transfer,
            row.prove_cpu_s_per_transfer.map_or("-".into(), |c| format!("{c:.2}")),
            usd(r.cost_usd(row)),
            r.ratio_to_l1(row).map_or("-".into(), |x| format!("{x:.4}")),
            row.fee_wei,
            row.operator_l1_wei,
        );
    }
    s.push_str("</table><p class=\"muted\">Per transfer. Soft: from sending to the family's first promise (receipt, acknowledgement, countersignature). Funds: until the money is the recipient's on L1. L1 cost: the measured L1 gas and blob gas at the prices above.</p>");

    // Charts.
    for (_, svg) in charts(r) {
        s.push_str(&svg);
    }

    // Trust.
    s.push_str("<h2>Whom you trust</h2><table id=\"trust\"><tr><th>family</th><th class=\"left\">who must behave</th><th class=\"left\">if they don't</th><th class=\"left\">funds on mainnet settings</th></tr>");
    for row in &r.rows {
        let _ = write!(
            s,
            "<tr><td>{}</td><td class=\"left\">{}</td><td class=\"left\">{}</td><td class=\"left\">{}: {}</td></tr>",
            esc(&row.label),
            esc(&row.trust.who),
            esc(&row.trust.if_not),
            human_s(row.funds_mainnet_s),
            esc(&row.funds_mainnet_why)
        );
    }
    s.push_str("</table>");

    // The attack matrix, when the suite's outcomes were given.
    if !r.attacks.is_empty() {
        s.push_str("<h2>Attacked</h2><p class=\"muted\">From <code>aqueduct attack all --json</code>: each family's trust assumption attacked once for real.</p><table id=\"attacks\"><tr><th>family</th><th class=\"left\">attack</th><th class=\"left\">who must behave</th><th class=\"left\">here</th><th>promise</th><th>honest loss (ETH)</th><th>attacker gain (ETH)</th><th class=\"left\">what happened</th><th>as designed</th></tr>");
        for a in &r.attacks {
            let _ = write!(
                s,
                "<tr><td>{}</td><td class=\"left\">{}</td><td class=\"left\">{}</td><td class=\"left\">{}</td><td>{}</td><td>{:.4}</td><td>{:.4}</td><td class=\"left\">{}</td><td class=\"{}\">{}</td></tr>",
                esc(&a.family),
                esc(&a.attack),
                esc(&a.must_be),
                esc(&a.setting),
                esc(&a.promise),
                a.honest_loss_wei as f64 / 1e18,
                a.attacker_gain_wei as f64 / 1e18,
                esc(&a.happened),
                if a.held { "supported" } else { "contradicted" },
                if a.held { "yes" } else { "NO" }
            );
        }
        s.push_str("</table>");
    }

    // Claims.
    s.push_str("<h2>The seeds' claims</h2><table id=\"claims\"><tr><th>claim</th><th class=\"left\">measured</th><th>verdict</th></tr>");
    for c in r.claims() {
        let _ = write!(
            s,
            "<tr><td>{}</td><td class=\"left\">{}</td><td class=\"{}\">{}</td></tr>",
            esc(&c.claim),
            esc(&c.measured),
            c.verdict.tag().replace(' ', "-"),
            c.verdict.tag()
        );
    }
    s.push_str("</table><h2>Notes</h2><ul>");
    for row in &r.rows {
        for n in &row.notes {
            let _ = write!(s, "<li><b>{}</b>: {}</li>", esc(&row.label), esc(n));
        }
    }
    let _ = write!(
        s,
        "</ul><h2>Run</h2><p><code>{}</code></p><p class=\"muted\">commit {} · {} · {:.0} s in all</p></body></html>",
        esc(&r.command),
        esc(&r.commit),
        esc(&r.machine),
        r.wall_s
    );
    s
}

/// The report's charts, each a standalone SVG with a file-friendly name.
pub fn charts(r: &CompareReport) -> Vec<(&'static str, String)> {
    let label = |f: &super::Row| f.label.clone();
    let cost: Vec<(String, f64)> = r.rows.iter().map(|x| (label(x), r.cost_usd(x))).collect();
    let tps: Vec<(String, f64)> = r.rows.iter().map(|x| (label(x), x.transfers_per_sec)).collect();
    let tracks: Vec<Track> = r
        .rows
        .iter()
        .map(|x| {
            let mut stages = vec![("soft", x.soft_p50_ms / 1000.0)];
            if let Some(l) = x.l1_p50_s {
                stages.push(("on L1", l));
            }
            if let Some(f) = x.funds_s {
                stages.push(("funds (here)", f));
            }
            stages.push(("funds (mainnet)", x.funds_mainnet_s));
            Track { label: label(x), stages }
        })
        .collect();
    let gas: Vec<(String, f64)> = r.rows.iter().map(|x| (label(x), x.l1_gas_per_transfer)).collect();
    let bytes: Vec<(String, f64)> = r.rows.iter().map(|x| (label(x), x.l1_bytes_per_transfer)).collect();
    let blob: Vec<(String, f64)> = r.rows.iter().map(|x| (label(x), x.blob_gas_per_transfer)).collect();
    vec![
        ("cost", bars(&format!("L1 cost per transfer, USD at {} prices (log scale)", r.prices.name), &cost, true, usd)),
        ("throughput", bars("Throughput, transfers/s (log scale)", &tps, true, |v| format!("{v:.1}/s"))),
        ("time-to-funds", timeline("From sending to money on L1 (p50, log time)", &tracks)),
        ("l1-gas", bars("L1 gas per transfer (log scale)", &gas, true, |v| format!("{v:.0}"))),
        ("l1-bytes", bars("L1 bytes per transfer (log scale)", &bytes, true, |v| format!("{v:.1} B"))),
        ("blob-gas", bars("Blob gas per transfer", &blob, false, |v| format!("{v:.1}"))),
    ]
}

#[cfg(test)]
mod tests {
    use super::super::{CompareReport, FamilyId, L1Prices, Row, Trust};

    fn row(f: FamilyId, gas: f64, blob: f64, tps: f64) -> Row {
        Row {
            family: f,
            label: f.name().into(),
            transfers: 10,
            transfers_per_sec: tps,
            soft_p50_ms: 5.0,
            soft_p99_ms: 9.0,
            l1_p50_s: Some(4.0),
            funds_s: Some(4.0),
            funds_mainnet_s: 604_800.0,
            l1_gas_per_transfer: gas,
            blob_gas_per_transfer: blob,
            trust: Trust { who: "w<ho".into(), if_not: "x".into() },
            l1_txs_during_transfers: Some(0),
            ..Default::default()
        }
    }

    #[test]
    fn the_page_holds_every_row_chart_and_claim() {
        let r = CompareReport {
            seed: 1,
            users: 4,
            transfers: 10,
            erc20_share: 0.0,
            erc20_transfers: 0,
            l1_block_time: 2.0,
            zk_slots: 8,
            prices: L1Prices::default_preset(),
            attacks: vec![super::super::AttackCell {
                family: "validium".into(),
                attack: "committee withholds".into(),
                must_be: "a member".into(),
                setting: "all withhold".into(),
                happened: "frozen".into(),
                honest_loss_wei: 2_000_000_000_000_000_000,
                attacker_gain_wei: 0,
                promise: "loss-allowed".into(),
                held: true,
            }],
            rows: vec![
                row(FamilyId::L1, 21_000.0, 0.0, 20.0),
                row(FamilyId::OptimisticCalldata, 900.0, 0.0, 3000.0),
                row(FamilyId::OptimisticBlobs, 30.0, 120.0, 3100.0),
                row(FamilyId::Channels, 500.0, 0.0, 400.0),
            ],
            wall_s: 1.0,
            command: "aqueduct compare".into(),
            commit: "abc".into(),
            machine: "m".into(),
        };
        let html = r.html();
        assert!(html.starts_with("<!doctype html>") && html.ends_with("</html>"));
        // No network: the only URL is the SVG namespace, once a chart.
        assert!(!html.contains("https://") && !html.contains("<script"));
        assert_eq!(html.matches("http://").count(), html.matches("xmlns=\"http://www.w3.org/2000/svg\"").count());
        assert_eq!(html.matches("<svg").count(), 6);
        assert_eq!(html.matches("<tr data-family=").count(), 4);
        assert!(html.contains("w&lt;ho"));
        assert!(html.contains("<table id=\"attacks\">") && html.contains("<td>2.0000</td>"));
        // 21,000 gas at 15 gwei and $3,000 is $0.945; calldata at 900 gas is 23x cheaper.
        assert!(html.contains("$0.945"));
        let claims = r.claims();
        assert_eq!(claims.len(), 6);
        let cheaper = claims.iter().find(|c| c.claim.contains("cheaper")).unwrap();
        // Calldata 23x, blobs 700x cheaper; channels are not a rollup.
        assert_eq!(cheaper.verdict, super::super::claims::Verdict::Supported, "{}", cheaper.measured);
        let only = claims.iter().find(|c| c.claim.contains("open and close")).unwrap();
        assert_eq!(only.verdict, super::super::claims::Verdict::Supported);
        assert!(r.table().contains("optimistic-blobs"));
    }
}
