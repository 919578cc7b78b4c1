//! `aqueduct bench zk`: flags for [`aqueduct_bench::bench_zk`].

use std::path::PathBuf;

use aqueduct_bench::ZkBenchOptions;
use aqueduct_zk_node::ZkDataMode;
use clap::Args;

#[derive(Args, Debug)]
pub struct ZkBench {
    /// Transaction slots a block.
    #[arg(long, default_value_t = 8)]
    slots: usize,
    /// Blocks of transfers to prove in each mode.
    #[arg(long, default_value_t = 2)]
    blocks: usize,
    /// Levels of the 4-ary account tree (12: 2^24 accounts, as deployed).
    #[arg(long, default_value_t = 12)]
    account_levels: usize,
    /// Levels of each account's 4-ary balance tree (2: 16 tokens).
    #[arg(long, default_value_t = 2)]
    balance_levels: usize,
    /// Users sending transfers.
    #[arg(long, default_value_t = 8)]
    users: usize,
    /// Where proving keys are cached (generated on the first run).
    #[arg(long, default_value = ".aqueduct/zk/keys")]
    keys_dir: PathBuf,
    /// Further block sizes to measure, comma-separated (a proving key each; one block of
    /// transfers each, landed on L1 in rollup mode): proving time, peak memory, L1 gas.
    #[arg(long, value_delimiter = ',')]
    sizes: Vec<usize>,
    /// Seconds of sustained load in each mode through the operator's pipeline (0: skip): proven
    /// transfers/s, submission → verified latency, L1 gas with batched verification.
    #[arg(long, default_value_t = 60)]
    duration: u64,
    /// Most proofs one L1 transaction verifies in the sustained run (a batched pairing check).
    #[arg(long, default_value_t = 4)]
    aggregate: usize,
    /// Where the rollup's pubdata goes in the sustained run: calldata, blob (one blob a group of
    /// `--aggregate` blocks) or auto (whichever costs less at the L1's prices).
    #[arg(long, default_value = "auto")]
    data: ZkDataMode,
    /// Also write the report as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
}

pub async fn run(b: ZkBench) -> eyre::Result<()> {
    let o = ZkBenchOptions {
        slots: b.slots,
        blocks: b.blocks,
        account_levels: b.account_levels,
        balance_levels: b.balance_levels,
        users: b.users,
        keys_dir: b.keys_dir,
        sizes: b.sizes,
        duration: b.duration,
        aggregate: b.aggregate,
        data: b.data,
    };
    let figures = aqueduct_bench::bench_zk(o).await?;
    if let Some(path) = &b.json {
        std::fs::write(path, serde_json::to_string_pretty(&figures)?)?;
    }
    Ok(())
}
