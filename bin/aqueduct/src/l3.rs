//! The devnet's L3 (`aqueduct devnet --l3`): the same optimistic rollup stack settling on the
//! devnet's rollup (901) instead of L1. Its contracts are deployed on the L2, its batches posted
//! there as calldata, its outputs proposed and disputed there; everything reaches its settlement
//! layer by the L2 sequencer's URL (D2), as any rollup reaches its L1. Withdrawals go L3 → L2
//! through its portal on the L2, then L2 → L1 through the rollup's own.

use std::net::SocketAddr;

use alloy::signers::local::PrivateKeySigner;
use aqueduct_rollup_node::{DataMode, Rollup};
use clap::Args;

use crate::{devnet::Settings, devnet_rollup::Roles};

/// The L3's chain id.
pub const L3_CHAIN: u64 = 9901;

/// The devnet's L3: flags of `aqueduct devnet`.
#[derive(Args, Debug, Clone)]
pub struct DevnetL3Args {
    /// Also start an L3: a rollup (chain 9901) settling on the rollup 901 (contracts, batches and
    /// outputs on the L2).
    #[arg(long, env = "AQUEDUCT_L3", num_args = 0..=1, default_missing_value = "true", value_parser = clap::builder::BoolishValueParser::new())]
    pub l3: bool,
    /// The L3 sequencer's JSON-RPC.
    #[arg(long, env = "AQUEDUCT_L3_ADDR", default_value = "127.0.0.1:9745")]
    pub l3_addr: SocketAddr,
    /// The L3 verifier's JSON-RPC (the L3 derived from the L2 alone).
    #[arg(long, env = "AQUEDUCT_L3_VERIFIER_ADDR", default_value = "127.0.0.1:9747")]
    pub l3_verifier_addr: SocketAddr,
}

impl DevnetL3Args {
    pub fn addresses(&self) -> Vec<(&'static str, SocketAddr)> {
        if !self.l3 {
            return Vec::new();
        }
        vec![
            ("the L3's sequencer (--l3-addr)", self.l3_addr),
            ("the L3's verifier (--l3-verifier-addr)", self.l3_verifier_addr),
        ]
    }
}

/// The devnet's data directory for the L3 (beside `rollup/`).
const L3_DIR: &str = "l3";

/// Where the devnet keeps its L3.
pub fn l3_dir(s: &Settings) -> std::path::PathBuf {
    s.other_rollup(L3_DIR, s.rollup.clone()).rollup_dir
}

/// Deploys the L3 on the L2 at `l2_url` (or finds it from an earlier run) and starts it. On the
/// L2, dev account 0 deploys, 1 posts batches, 2 proposes and 3 challenges; each dev account
/// deposits a tenth of its L2 allowance into the L3 at the first start.
pub async fn start_devnet_l3(
    s: &Settings,
    args: &DevnetL3Args,
    l2_url: &str,
    signers: &[PrivateKeySigner],
) -> eyre::Result<Rollup> {
    let rollup = crate::devnet::RollupDevnetConfig {
        l2_chain_id: L3_CHAIN,
        // The L2 carries no blobs.
        data_mode: DataMode::Calldata,
        balance_ether: (s.rollup.balance_ether / 10).max(1),
        ..s.rollup.clone()
    };
    let settings = s.other_rollup(L3_DIR, rollup);
    let roles = Roles {
        batcher: signers[1].clone(),
        proposer: signers[2].clone(),
        challenger: signers[3].clone(),
        l2_addr: args.l3_addr,
        verifier_addr: args.l3_verifier_addr,
        dependencies: Vec::new(),
    };
    let (rollup, ..) = crate::devnet_rollup::start_rollup(&settings, roles, l2_url, &signers[0], signers).await?;
    println!(
        "  settles on          the rollup at {l2_url} (an L3; withdrawals: aqueduct bridge --l1-rpc {l2_url} --l2-rpc http://{} …)",
        args.l3_addr
    );
    Ok(rollup)
}
