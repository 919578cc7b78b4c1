//! `aqueduct bench interop`: flags for [`aqueduct_bench::bench_interop`] and its printout.

use std::time::Duration;

use aqueduct_bench::InteropBenchOptions;
use clap::Args;
use eyre::WrapErr;

use crate::format_ether as eth;

#[derive(Args, Debug)]
pub struct InteropBench {
    /// Messages sent and relayed one at a time (latency and cost of each).
    #[arg(long, default_value_t = 5)]
    single: usize,
    /// Seconds of continuous sending and relaying.
    #[arg(long, default_value_t = 30)]
    duration: u64,
    /// Messages sent on 901 each L2 block during the sustained run.
    #[arg(long, default_value_t = 50)]
    per_block: usize,
    /// L2 block time of both rollups, milliseconds.
    #[arg(long, default_value_t = 250)]
    l2_block_time_ms: u64,
    /// Write the figures as JSON here.
    #[arg(long)]
    json: Option<std::path::PathBuf>,
}

pub async fn run(b: InteropBench) -> eyre::Result<()> {
    let o = InteropBenchOptions {
        l2_block_time_ms: b.l2_block_time_ms,
        single: b.single,
        duration: Duration::from_secs(b.duration),
        per_block: b.per_block,
    };
    println!(
        "bench interop: embedded L1 (1 s blocks), rollups 901 and 902 ({} ms blocks; 902 derives 901 from L1), messages 901 -> 902, real time",
        b.l2_block_time_ms
    );
    let r = aqueduct_bench::bench_interop(&o).await.wrap_err("the interop bench")?;
    println!("\none message at a time (from the send's 901 block to the relay's 902 block):");
    println!(
        "  {:>8} {:>10} {:>10} {:>10} {:>22} {:>22}",
        "seconds", "L1 blocks", "send gas", "relay gas", "send fee (ETH)", "relay fee (ETH)"
    );
    for s in &r.singles {
        println!(
            "  {:>8.1} {:>10} {:>10} {:>10} {:>22} {:>22}",
            s.seconds,
            s.l1_blocks,
            s.send_gas,
            s.relay_gas,
            eth(s.send_fee),
            eth(s.relay_fee)
        );
    }
    println!(
        "\nsustained for {:.0} s ({} sends a block): {} sent, {} relayed; {:.1} messages relayed/s; latency p50 {:.1} s, p99 {:.1} s; {} relays dropped",
        r.duration_s, b.per_block, r.sent, r.relayed, r.relayed_per_s, r.latency_p50_s, r.latency_p99_s, r.dropped
    );
    println!("  (a message may run only once its source's batch is on L1 at or before the relay block's L1 origin)");
    if let Some(p) = &b.json {
        std::fs::write(p, serde_json::to_string_pretty(&r)?).wrap_err_with(|| format!("writing {}", p.display()))?;
        println!("\nfigures written to {}", p.display());
    }
    Ok(())
}
