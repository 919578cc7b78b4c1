//! Results as a table and as JSON.

/// One benchmark run against one target.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct BenchReport {
    pub target: String,
    pub mode: String,
    pub sent: usize,
    pub included: usize,
    pub failed: usize,
    pub wall_secs: f64,
    pub transfers_per_sec: f64,
    pub gas_per_sec: f64,
    pub p50_latency_ms: f64,
    pub p99_latency_ms: f64,
    pub blocks: u64,
    pub gas_used: u64,
}

/// Prints reports side by side, and the ratio of the first two when there are two.
pub fn print_table(reports: &[BenchReport]) {
    println!(
        "{:<28} {:>8} {:>9} {:>7} {:>9} {:>12} {:>14} {:>10} {:>10} {:>7}",
        "target", "sent", "included", "failed", "wall s", "transfers/s", "gas/s", "p50 ms", "p99 ms", "blocks"
    );
    for r in reports {
        println!(
            "{:<28} {:>8} {:>9} {:>7} {:>9.2} {:>12.1} {:>14.0} {:>10.1} {:>10.1} {:>7}",
            format!("{} ({})", r.target, r.mode),
            r.sent,
            r.included,
            r.failed,
            r.wall_secs,
            r.transfers_per_sec,
            r.gas_per_sec,
            r.p50_latency_ms,
            r.p99_latency_ms,
            r.blocks
        );
    }
    if let [a, b, ..] = reports
        && b.transfers_per_sec > 0.0
    {
        println!("ratio {} / {}: {:.2}x transfers/s", a.target, b.target, a.transfers_per_sec / b.transfers_per_sec);
    }
}

pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p / 100.0).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

#[cfg(test)]
mod tests {
    use super::percentile;

    #[test]
    fn percentiles() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 50.0), 51.0);
        assert_eq!(percentile(&v, 99.0), 99.0);
        assert_eq!(percentile(&[], 50.0), 0.0);
    }
}
