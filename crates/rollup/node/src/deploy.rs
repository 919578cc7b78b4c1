//! Deploys the rollup's L1 contracts through JSON-RPC, and writes down where they are.

use alloy::{
    primitives::{Address, Bytes, TxKind, U256},
    signers::local::PrivateKeySigner,
    sol_types::SolValue,
};
use aqueduct_contracts::rollup::{BatchInbox, OutputOracle, RollupPortal};
use aqueduct_rollup_protocol::{L1Origin, RollupConfig};
use serde::{Deserialize, Serialize};

use crate::l1::{L1Call, L1Client, L1Error, sign_1559};

/// Parameters of the L1 contracts.
#[derive(Clone, Debug)]
pub struct DeployParams {
    pub batcher: Address,
    /// May delete outputs (the dispute game, later).
    pub challenger: Address,
    pub bond: U256,
    /// Seconds before an output is final.
    pub finalization_period: u64,
}

/// Where the contracts are.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deployment {
    pub portal: Address,
    pub oracle: Address,
    pub inbox: Address,
    /// The L1 block holding the last deployment (the rollup's L1 genesis).
    pub l1_genesis: L1Origin,
}

impl Deployment {
    /// The config of a rollup on this deployment: L2 time starts at the anchor block's, the
    /// windows are mainnet's (3,600 and 300 L1 blocks) and the L1 fee parameters Ecotone-like.
    /// Callers change what their setting needs.
    pub fn rollup_config(&self, l2_chain_id: u64, block_time_ms: u64, batcher: Address) -> RollupConfig {
        RollupConfig {
            l2_chain_id,
            block_time_ms,
            seq_window: 3_600,
            channel_timeout: 300,
            max_channel_bytes: 16 << 20,
            portal: self.portal,
            inbox: self.inbox,
            oracle: self.oracle,
            batcher,
            l1_genesis: self.l1_genesis,
            l2_genesis_time: self.l1_genesis.timestamp,
            compression_ppm: 600_000,
            base_fee_scalar: 50_000,
            blob_base_fee_scalar: 1_000_000,
        }
    }
}

fn creation(code: &Bytes, args: Vec<u8>) -> L1Call {
    let input: Bytes = [code.as_ref(), &args].concat().into();
    L1Call { to: TxKind::Create, value: U256::ZERO, input, gas_limit: 5_000_000 }
}

/// Deploys the oracle, the portal and the inbox with `deployer`. The three creations go out
/// together (their addresses follow from the deployer's nonce), so they take one L1 block.
pub async fn deploy(l1: &L1Client, deployer: &PrivateKeySigner, p: &DeployParams) -> Result<Deployment, L1Error> {
    let chain_id = l1.chain_id().await?;
    let nonce = l1.nonce(deployer.address()).await?;
    let fees = l1.fees().await?;
    let oracle = deployer.address().create(nonce);
    let portal = deployer.address().create(nonce + 1);
    let inbox = deployer.address().create(nonce + 2);
    let calls = [
        creation(
            &OutputOracle::BYTECODE,
            (p.bond, U256::from(p.finalization_period), p.challenger).abi_encode_params(),
        ),
        creation(&RollupPortal::BYTECODE, oracle.abi_encode()),
        creation(&BatchInbox::BYTECODE, p.batcher.abi_encode()),
    ];
    let mut hashes = Vec::new();
    for (i, c) in calls.iter().enumerate() {
        hashes.push(l1.send_raw(&sign_1559(deployer, chain_id, nonce + i as u64, fees, c)).await?);
    }
    let mut last = 0;
    for (h, want) in hashes.into_iter().zip([oracle, portal, inbox]) {
        let r = l1.wait(h, 2_400).await?;
        if r.contract_address != Some(want) {
            return Err(L1Error::Rpc(format!("creation landed at {:?}, expected {want}", r.contract_address)));
        }
        last = last.max(r.block_number.unwrap_or_default());
    }
    let (l1_genesis, _) = l1.origin(last).await?;
    Ok(Deployment { portal, oracle, inbox, l1_genesis })
}
