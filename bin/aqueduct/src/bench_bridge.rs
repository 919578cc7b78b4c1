//! `aqueduct bench bridge`: flags for [`aqueduct_bench::bench_bridge`] and its printout.

use aqueduct_bench::{BridgeBenchOptions, BridgeWorldOptions};
use clap::Args;
use eyre::WrapErr;

use crate::format_ether as eth;

#[derive(Args, Debug)]
pub struct BridgeBench {
    /// Amounts moved each way, in ether, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "0.01,1,100")]
    amounts: Vec<String>,
    /// The rollup's challenge window, seconds (waited out for real).
    #[arg(long, default_value_t = 60)]
    challenge_window: u64,
    /// A refund bundle's liveness, seconds.
    #[arg(long, default_value_t = 30)]
    liveness: u64,
    /// L1 gas price of the mainnet projection, gwei.
    #[arg(long, default_value_t = 10.0)]
    mainnet_gwei: f64,
    /// Write the figures as JSON here.
    #[arg(long)]
    json: Option<std::path::PathBuf>,
}

pub async fn run(b: BridgeBench) -> eyre::Result<()> {
    let amounts = b.amounts.iter().map(|a| crate::ether_amount(a)).collect::<eyre::Result<Vec<_>>>()?;
    let o = BridgeBenchOptions {
        amounts,
        world: BridgeWorldOptions { challenge_window: b.challenge_window, liveness: b.liveness, ..Default::default() },
        mainnet_gas_price: (b.mainnet_gwei * 1e9) as u128,
    };
    println!(
        "bench bridge: embedded L1 (1 s blocks), optimistic rollup (250 ms blocks, {} s challenge window), fast bridge (liveness {} s), real time",
        b.challenge_window, b.liveness
    );
    let r = aqueduct_bench::bench_bridge(&o).await.wrap_err("the bridge bench")?;
    println!("\nrollup -> L1, time to funds and fee:");
    println!("  {:<30} {:>10} {:>12} {:>22} {:>10}", "route", "amount", "to funds", "fee (ETH)", "fee %");
    for run in &r.runs {
        let blocks = run.l1_blocks.map(|n| format!(" ({n} L1 blocks)")).unwrap_or_default();
        println!(
            "  {:<30} {:>10} {:>10.1} s {:>22} {:>9.4}%{blocks}",
            run.route,
            eth(run.amount),
            run.seconds_to_funds,
            eth(run.fee),
            run.fee_percent
        );
    }
    println!(
        "  the relayer was repaid {:.0} s after its first fill (challenge window {} s + bundle liveness {} s + proving lag)",
        r.relayer_repaid_after, r.challenge_window, r.liveness
    );
    println!("\nL1 gas:");
    println!("  fill                      {:>9}", r.gas_fill);
    println!("  refund bundle (proposal)  {:>9}  ({} entries)", r.gas_propose, r.bundle_entries);
    println!("  execute one entry         {:>9}  (the relayer's repayment, a slow fill or a refund)", r.gas_execute);
    println!(
        "  delivery: prove           {:>9}  (the spoke's withdrawal, once per batch of deposits)",
        r.gas_deliver_prove
    );
    println!("  delivery: finalize        {:>9}", r.gas_deliver_finalize);
    println!(
        "\nfee model at mainnet settings ({} days of challenge + 2 h of liveness, {} gwei, measured gas, bundles of 50, 65 % utilisation):",
        r.mainnet_window_secs / 86_400,
        b.mainnet_gwei
    );
    for q in &r.mainnet {
        println!(
            "  {:>8} ETH: gas {} + capital {} + utilisation {} = {:.3} % ({:.3} % with the relayer's capital idle)",
            eth(q.amount),
            eth(q.gas_fee),
            eth(q.capital_fee),
            eth(q.utilisation_fee),
            q.fee_percent,
            q.idle_fee_percent
        );
    }
    println!("  here the relayer's own ETH is out for the whole window (Across repays relayers from LPs' pool after");
    println!("  ~2 h and the LPs carry the canonical week), so the capital term is the week's");
    println!("  published: Across fills in 1-4 min for an LP fee of 0.06-0.12 % (small transfers pay mostly gas);");
    println!("             Hop's bonder charges 0.05-0.30 % (at least ~$0.25)");
    if let Some(path) = b.json {
        std::fs::write(&path, serde_json::to_string_pretty(&r)?)
            .wrap_err_with(|| format!("writing {}", path.display()))?;
        println!("\nfigures written to {}", path.display());
    }
    Ok(())
}
