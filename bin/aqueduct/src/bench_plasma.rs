//! `aqueduct bench plasma`: flags for [`aqueduct_bench::bench_plasma`] and the mass exit of
//! [`aqueduct_attack::plasma_mass_exit`].

use aqueduct_bench::PlasmaBenchOptions;
use clap::Args;
use eyre::WrapErr;

#[derive(Args, Debug)]
pub struct PlasmaBench {
    /// Users who deposit (1 ETH each).
    #[arg(long, default_value_t = 200)]
    users: usize,
    /// Rounds in which every output is split in four before the load (outputs = users × 4^fanout).
    #[arg(long, default_value_t = 3)]
    fanout: u32,
    /// Seconds of load (every output spent once a round until then).
    #[arg(long, default_value_t = 30)]
    duration: u64,
    /// Milliseconds between the operator's blocks.
    #[arg(long, default_value_t = 1000)]
    block_ms: u64,
    /// Most payments in a block (at most 65,536).
    #[arg(long, default_value_t = 65_536)]
    max_block_txs: usize,
    /// Payments in flight at once.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Mass exits to measure (users each), comma-separated; none with --mass-exit 0.
    #[arg(long, value_delimiter = ',', default_value = "1000")]
    mass_exit: Vec<usize>,
    /// Write the figures as JSON here.
    #[arg(long)]
    json: Option<std::path::PathBuf>,
}

pub async fn run(b: PlasmaBench) -> eyre::Result<()> {
    let o = PlasmaBenchOptions {
        users: b.users,
        fanout: b.fanout,
        duration: b.duration,
        block_ms: b.block_ms,
        max_block_txs: b.max_block_txs,
        concurrency: b.concurrency,
        seed: 42,
    };
    let r = aqueduct_bench::bench_plasma(o).await.map_err(|e| eyre::eyre!("the plasma bench: {e}"))?;
    println!("plasma: {} users, {} outputs", r.users, r.outputs);
    println!(
        "  payments through the operator's JSON-RPC: {} in {:.1} s = {:.0}/s (client signing {:.0} µs a payment, outside the clock)",
        r.load_payments, r.load_seconds, r.payments_per_sec, r.sign_us_per_payment
    );
    let w: Vec<String> = r.windows.iter().map(|x| format!("{x:.0}")).collect();
    println!("  per 5 s window: {}", w.join(" "));
    for b in &r.blocks {
        println!(
            "  block {:>6}: {:>6} payments, root {:>6} gas = {:.2} gas a payment",
            b.block,
            b.payments,
            b.root_gas,
            b.root_gas as f64 / b.payments.max(1) as f64
        );
    }
    println!(
        "  L1 gas a payment: {:.2} over the load's blocks, {:.2} in the largest",
        r.l1_gas_per_payment, r.l1_gas_per_payment_largest_block
    );
    println!(
        "  L1 gas: deposit {}, exit start {}, challenge {}, processExits (a challenged and a paid exit) {}",
        r.deposit_gas, r.exit_start_gas, r.exit_challenge_gas, r.exit_process_gas
    );
    println!(
        "  withdrawable after the exit period: 7 days on mainnet settings (two from the block for a child-block output)"
    );
    let mut masses = Vec::new();
    for n in b.mass_exit.into_iter().filter(|n| *n > 0) {
        let (out, m) = aqueduct_attack::plasma_mass_exit(n).await.wrap_err("the mass exit")?;
        println!("  mass exit: {}", out.happened);
        masses.push(m);
    }
    if let Some(p) = b.json {
        let all = serde_json::json!({ "bench": r, "mass_exits": masses });
        std::fs::write(&p, serde_json::to_string_pretty(&all)?)?;
    }
    Ok(())
}
