//! `aqueduct bench sidechain`: flags for [`aqueduct_bench::bench_sidechain`] and its printout.

use aqueduct_bench::{LoadFigures, SidechainBenchOptions};
use clap::Args;
use eyre::WrapErr;

#[derive(Args, Debug)]
pub struct SidechainBench {
    /// Validators (each on its own consensus thread, over TCP on localhost).
    #[arg(long, default_value_t = 4)]
    validators: usize,
    /// Senders, each through one validator.
    #[arg(long, default_value_t = 32)]
    users: usize,
    /// Seconds of load (the same on anvil).
    #[arg(long, default_value_t = 40)]
    duration: u64,
    /// Least milliseconds between sidechain blocks.
    #[arg(long, default_value_t = 1000)]
    block_time_ms: u64,
    /// Blocks per checkpoint.
    #[arg(long, default_value_t = 16)]
    checkpoint_interval: u64,
    /// Transfers a sender may have unconfirmed.
    #[arg(long, default_value_t = 128)]
    in_flight: usize,
    /// Validator-set sizes to measure a checkpoint's L1 gas at, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "4,10,30")]
    checkpoint_sizes: Vec<usize>,
    /// Skip the same load on anvil.
    #[arg(long)]
    no_anvil: bool,
    /// Write the figures as JSON here.
    #[arg(long)]
    json: Option<std::path::PathBuf>,
}

fn print_load(name: &str, f: &LoadFigures) {
    println!(
        "  {name}: {} sent, {} final; {:.1} transfers/s over {:.0} s; send → final p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms; {} blocks, at most {} transfers in one",
        f.sent,
        f.finalized,
        f.per_sec,
        f.seconds,
        f.finality_ms_p50,
        f.finality_ms_p99,
        f.finality_ms_max,
        f.blocks,
        f.most_in_a_block
    );
    let w: Vec<String> = f.windows.iter().map(|x| format!("{x:.0}")).collect();
    println!("    per 5 s window: {}", w.join(" "));
}

pub async fn run(b: SidechainBench) -> eyre::Result<()> {
    let o = SidechainBenchOptions {
        validators: b.validators,
        users: b.users,
        duration: b.duration,
        block_time_ms: b.block_time_ms,
        checkpoint_interval: b.checkpoint_interval,
        in_flight: b.in_flight,
        checkpoint_sizes: b.checkpoint_sizes,
        anvil: !b.no_anvil,
    };
    let r = aqueduct_bench::bench_sidechain(o).await.map_err(|e| eyre::eyre!("the sidechain bench: {e}"))?;
    println!(
        "sidechain: {} validators, blocks every {} ms at least, checkpoints every {} blocks",
        r.validators, r.block_time_ms, r.checkpoint_interval
    );
    print_load("sidechain (through the validators' JSON-RPC)", &r.sidechain);
    if let Some(a) = &r.anvil {
        print_load("anvil (one node, same load, same block time)", a);
    }
    for c in &r.checkpoints {
        println!(
            "  checkpoint on L1 with {:>2} validators, {:>2} signing: {:>7} gas as secp256k1 signatures over EIP-712 (used), {:>7} gas as one aggregate BLS12-381 signature (EIP-2537)",
            c.validators, c.signatures, c.gas, c.bls_gas
        );
    }
    println!("  deposit: L1 receipt → minted on the sidechain in {:.2} s (0 confirmations, instant L1)", r.deposit_s);
    println!(
        "  withdrawal: burn → paid on L1 in {:.2} s (waits for its checkpoint: up to {} blocks); payout {} gas",
        r.withdrawal_s, r.checkpoint_interval, r.withdraw_gas
    );
    if let Some(path) = b.json {
        std::fs::write(&path, serde_json::to_string_pretty(&r)?)
            .wrap_err_with(|| format!("writing {}", path.display()))?;
        eprintln!("figures written to {}", path.display());
    }
    Ok(())
}
