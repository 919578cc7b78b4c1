//! `aqueduct compare`: flags for [`aqueduct_bench::compare`].

use std::path::PathBuf;

use aqueduct_bench::{CompareOptions, FamilyId, L1Prices, presets};
use clap::Args;
use eyre::WrapErr;

#[derive(Args, Debug)]
pub struct CompareArgs {
    /// Transfers in the workload.
    #[arg(long, default_value_t = 192)]
    transfers: usize,
    /// Users sending and receiving them.
    #[arg(long, default_value_t = 8)]
    users: usize,
    /// Share of the transfers that move the ERC-20 rather than ETH.
    #[arg(long, default_value_t = 0.25)]
    erc20_share: f64,
    /// Seed of the workload (keys, who pays whom, amounts).
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Families to run, comma-separated (l1, optimistic-calldata, optimistic-blobs, zk-rollup,
    /// validium, channels); default all.
    #[arg(long, value_delimiter = ',')]
    families: Vec<FamilyId>,
    /// Seconds between blocks of each family's embedded L1 (mainnet: 12).
    #[arg(long, default_value_t = 2.0)]
    l1_block_time: f64,
    /// Transaction slots of a ZK block.
    #[arg(long, default_value_t = 32)]
    zk_slots: usize,
    /// Levels of the ZK account tree (4^levels accounts).
    #[arg(long, default_value_t = 12)]
    zk_account_levels: usize,
    /// Where ZK proving keys are cached (generated on first use).
    #[arg(long, default_value = ".aqueduct/zk/keys")]
    keys_dir: PathBuf,
    /// L1 prices to turn gas into money: mainnet-2021, mainnet-2024, mainnet-2025,
    /// blob-congestion.
    #[arg(long, default_value = "mainnet-2024")]
    l1_prices: String,
    /// Override the preset's gas price, gwei.
    #[arg(long)]
    gas_gwei: Option<f64>,
    /// Override the preset's blob base fee, gwei.
    #[arg(long)]
    blob_gwei: Option<f64>,
    /// Override the preset's ETH price, USD.
    #[arg(long)]
    eth_usd: Option<f64>,
    /// Write the self-contained HTML report here (and its JSON beside it, .json).
    #[arg(long)]
    html: Option<PathBuf>,
    /// Write the JSON here (default: beside the HTML).
    #[arg(long)]
    json: Option<PathBuf>,
    /// Also write each chart as its own SVG file in this directory (cost.svg, throughput.svg, …).
    #[arg(long)]
    charts: Option<PathBuf>,
    /// Render a saved run (its JSON) instead of running anything.
    #[arg(long)]
    from_json: Option<PathBuf>,
    /// The attack suite's outcomes (`aqueduct attack all --json FILE`) for the report's attack
    /// matrix.
    #[arg(long)]
    attacks: Option<PathBuf>,
}

fn prices(a: &CompareArgs) -> eyre::Result<L1Prices> {
    let mut p = L1Prices::preset(&a.l1_prices).ok_or_else(|| {
        let names: Vec<String> = presets().into_iter().map(|p| p.name).collect();
        eyre::eyre!("unknown --l1-prices {}; one of {}", a.l1_prices, names.join(", "))
    })?;
    let custom = a.gas_gwei.is_some() || a.blob_gwei.is_some() || a.eth_usd.is_some();
    p.gas_gwei = a.gas_gwei.unwrap_or(p.gas_gwei);
    p.blob_gwei = a.blob_gwei.unwrap_or(p.blob_gwei);
    p.eth_usd = a.eth_usd.unwrap_or(p.eth_usd);
    if custom {
        p.name = format!("{} (overridden)", p.name);
    }
    Ok(p)
}

/// This machine in a line: CPU model, cores, memory.
fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| m.lines().next().and_then(|l| l.split_whitespace().nth(1)).and_then(|k| k.parse::<f64>().ok()))
        .map_or("? GiB".into(), |k| format!("{:.0} GiB", k / 1_048_576.0));
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("{cpu}, {cores} cores, {mem}")
}

fn commit() -> String {
    std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| format!("unknown (aqueduct {})", env!("CARGO_PKG_VERSION")))
}

pub async fn run(a: CompareArgs) -> eyre::Result<()> {
    let o = CompareOptions {
        seed: a.seed,
        users: a.users,
        transfers: a.transfers,
        erc20_share: a.erc20_share,
        families: if a.families.is_empty() { FamilyId::ALL.to_vec() } else { a.families.clone() },
        l1_block_time: a.l1_block_time,
        zk_slots: a.zk_slots,
        zk_account_levels: a.zk_account_levels,
        keys_dir: a.keys_dir.clone(),
        prices: prices(&a)?,
        progress: std::io::IsTerminal::is_terminal(&std::io::stderr()),
    };
    let attacks = match &a.attacks {
        Some(path) => {
            #[derive(serde::Deserialize)]
            struct Suite {
                outcomes: Vec<aqueduct_bench::AttackCell>,
            }
            let text = std::fs::read_to_string(path).wrap_err_with(|| format!("reading {}", path.display()))?;
            serde_json::from_str::<Suite>(&text)
                .wrap_err_with(|| format!("{} is not `aqueduct attack all --json` output", path.display()))?
                .outcomes
        }
        None => Vec::new(),
    };
    let report = match &a.from_json {
        Some(path) => {
            let text = std::fs::read_to_string(path).wrap_err_with(|| format!("reading {}", path.display()))?;
            let mut r: aqueduct_bench::CompareReport = serde_json::from_str(&text)
                .wrap_err_with(|| format!("{} is not `aqueduct compare` JSON", path.display()))?;
            if !attacks.is_empty() {
                r.attacks = attacks;
            }
            r
        }
        None => {
            let mut r = aqueduct_bench::compare(&o).await.wrap_err("the comparison")?;
            r.attacks = attacks;
            r.command = std::env::args().collect::<Vec<_>>().join(" ");
            r.commit = commit();
            r.machine = machine();
            r
        }
    };
    println!("{}", report.table());
    let json = a.json.clone().or_else(|| a.html.as_ref().map(|h| h.with_extension("json")));
    if let Some(path) = &a.html {
        std::fs::write(path, report.html()).wrap_err_with(|| format!("writing {}", path.display()))?;
        eprintln!("report written to {}", path.display());
    }
    if let Some(dir) = &a.charts {
        std::fs::create_dir_all(dir).wrap_err_with(|| format!("creating {}", dir.display()))?;
        for (name, svg) in report.charts() {
            let path = dir.join(format!("{name}.svg"));
            std::fs::write(&path, svg).wrap_err_with(|| format!("writing {}", path.display()))?;
        }
        eprintln!("charts written to {}", dir.display());
    }
    if let Some(path) = json.filter(|_| a.from_json.is_none()) {
        std::fs::write(&path, serde_json::to_string_pretty(&report)?)
            .wrap_err_with(|| format!("writing {}", path.display()))?;
        eprintln!("figures written to {}", path.display());
    }
    Ok(())
}
