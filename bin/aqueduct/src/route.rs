//! `aqueduct route`: every way to move ETH between two chains of the devnet, priced now, with
//! the time to funds and whom each route trusts; `--execute` follows the preferred one.

use std::path::PathBuf;

use alloy::{primitives::Address, signers::local::PrivateKeySigner};
use aqueduct_bridge_node::{
    BridgeSpec,
    router::{L3Venue, Place, Prefer, Progress, Venues, execute, rank},
};
use aqueduct_rollup_node::{L1Client, RollupSpec};
use clap::Args;
use eyre::{WrapErr, bail};

use crate::format_ether as eth;

/// Account (0) of the standard test mnemonic: funded on the devnet's L1 and L2.
const DEV_KEY: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

#[derive(Args, Debug)]
pub struct RouteArgs {
    /// Where the money is: l1, rollup or l3 (`devnet --l3`).
    #[arg(long)]
    from: Place,
    /// Where it should go: l1, rollup or l3.
    #[arg(long)]
    to: Place,
    /// Amount in ether.
    #[arg(long, value_parser = crate::ether_arg)]
    amount: String,
    /// Order routes by fee, time to funds, or how few parties must be honest.
    #[arg(long, default_value = "cheapest")]
    prefer: Prefer,
    /// Take the first route and follow it to the funds on the destination.
    #[arg(long)]
    execute: bool,
    /// Who gets the money [default: the sender].
    #[arg(long)]
    recipient: Option<Address>,
    /// L1 JSON-RPC.
    #[arg(long, env = "AQUEDUCT_L1_RPC", default_value = "http://127.0.0.1:8545")]
    l1_rpc: String,
    /// The rollup sequencer's JSON-RPC.
    #[arg(long, env = "AQUEDUCT_L2_RPC", default_value = "http://127.0.0.1:9545")]
    l2_rpc: String,
    /// A rollup verifier's JSON-RPC (withdrawal proofs).
    #[arg(long, env = "AQUEDUCT_VERIFIER_RPC", default_value = "http://127.0.0.1:9547")]
    verifier_rpc: String,
    /// The L3 sequencer's JSON-RPC (when the devnet runs one).
    #[arg(long, env = "AQUEDUCT_L3_RPC", default_value = "http://127.0.0.1:9745")]
    l3_rpc: String,
    /// An L3 verifier's JSON-RPC (its withdrawal proofs).
    #[arg(long, env = "AQUEDUCT_L3_VERIFIER_RPC", default_value = "http://127.0.0.1:9747")]
    l3_verifier_rpc: String,
    /// The devnet's data directory (its specs: rollup/rollup.json, fastbridge/bridge.json,
    /// l3/rollup.json).
    #[arg(long, env = "AQUEDUCT_DATA_DIR", default_value = ".aqueduct")]
    data_dir: PathBuf,
    /// The private key that signs [default: dev account 0].
    #[arg(long, env = "AQUEDUCT_KEY", hide_env_values = true, value_parser = crate::l1_key, default_value = DEV_KEY, hide_default_value = true)]
    key: PrivateKeySigner,
}

struct Steps(Option<crate::progress::Step>);

impl Progress for Steps {
    fn step(&mut self, what: &str) {
        if let Some(s) = self.0.take() {
            s.done();
        }
        self.0 = Some(crate::progress::step(what));
    }
}

pub async fn run(a: RouteArgs) -> eyre::Result<()> {
    let amount = crate::ether_amount(&a.amount)?;
    if a.from == a.to {
        bail!("--from and --to are both {}: nothing to move", a.from);
    }
    let rollup = RollupSpec::load(&a.data_dir.join("rollup/rollup.json"))
        .wrap_err("reading the rollup's spec: start `aqueduct devnet`, or name its --data-dir")?;
    let fast = BridgeSpec::load(&a.data_dir.join("fastbridge/bridge.json")).ok();
    let l3 = match RollupSpec::load(&a.data_dir.join("l3/rollup.json")) {
        Ok(spec) => {
            Some(L3Venue { client: L1Client::new(&a.l3_rpc)?, verifier: L1Client::new(&a.l3_verifier_rpc)?, spec })
        }
        Err(_) => None,
    };
    let v = Venues {
        l1: L1Client::new(&a.l1_rpc)?,
        l2: L1Client::new(&a.l2_rpc)?,
        verifier: L1Client::new(&a.verifier_rpc)?,
        rollup,
        fast,
        l3,
    };
    let routes = rank(v.routes(a.key.address(), a.from, a.to, amount).await.wrap_err("pricing the routes")?, a.prefer);
    if routes.is_empty() {
        bail!("no route from {} to {} on this devnet", a.from, a.to);
    }
    println!("routes from {} to {} for {} ETH, {:?} first:", a.from, a.to, eth(amount), a.prefer);
    for (i, r) in routes.iter().enumerate() {
        let pct = r.fee.saturating_to::<u128>() as f64 / amount.saturating_to::<u128>() as f64 * 100.0;
        println!("{}. {:<36} fee {} ETH ({pct:.4} %)   funds in ~{:.0} s", i + 1, r.name, eth(r.fee), r.seconds);
        println!("     fee:   {}", r.fee_terms);
        println!("     time:  {}", r.time_terms);
        println!("     trust: {} (relies on {})", r.trust, r.relies_on);
    }
    if !a.execute {
        println!("add --execute to take route 1");
        return Ok(());
    }
    let r = &routes[0];
    let to = a.recipient.unwrap_or(a.key.address());
    let mut steps = Steps(None);
    let secs =
        execute(&v, r, &a.key, to, amount, &mut steps).await.wrap_err_with(|| format!("following {}", r.name))?;
    if let Some(s) = steps.0.take() {
        s.done();
    }
    println!("done: {} ETH to {to} on {} by the {} in {secs:.1} s", eth(amount), a.to, r.name);
    Ok(())
}
