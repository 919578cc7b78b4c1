//! `aqueduct bench channel`: flags for [`aqueduct_bench::bench_channel`].

use aqueduct_bench::ChannelBenchOptions;
use aqueduct_channel_node::SyncMode;
use clap::Args;

#[derive(Args, Debug)]
pub struct ChannelBench {
    /// Payments made one at a time (each waits for the countersigned, persisted state).
    #[arg(long, default_value_t = 10_000)]
    payments: usize,
    /// Payments in flight at once in the pipelined run.
    #[arg(long, default_value_t = 256)]
    window: usize,
    /// Journal sync: `full` (fdatasync before every answer) or `os` (survives kill -9 only).
    #[arg(long, default_value = "full", value_parser = ["full", "os"])]
    sync: String,
    /// Write the figures as JSON here.
    #[arg(long)]
    json: Option<std::path::PathBuf>,
}

pub async fn run(b: ChannelBench) -> eyre::Result<()> {
    let sync = if b.sync == "os" { SyncMode::Os } else { SyncMode::Full };
    let figures =
        aqueduct_bench::bench_channel(ChannelBenchOptions { payments: b.payments, window: b.window, sync }).await?;
    if let Some(p) = b.json {
        std::fs::write(&p, serde_json::to_string_pretty(&figures)?)?;
    }
    Ok(())
}
