//! Setting the fast bridge up: the hub on L1 (it knows the rollup's portal), the spoke on the
//! rollup (it knows the hub), and the hub told the spoke's address.

use alloy::{primitives::U256, signers::local::PrivateKeySigner};
use aqueduct_contracts::bridge::{HubPool, SpokePool};
use aqueduct_eth::{L1Client, L1Error};

use crate::{BridgeSpec, FastBridgeError};

/// The settings a deployment fixes.
#[derive(Clone, Debug)]
pub struct DeployParams {
    /// The rollup's portal and output oracle on L1.
    pub portal: alloy::primitives::Address,
    pub oracle: alloy::primitives::Address,
    pub challenge_window: u64,
    pub bond: U256,
    pub liveness: u64,
    pub max_fill_window: u32,
}

/// Deploys the hub on `l1` and the spoke on `l2` from `deployer` (funded on both).
pub async fn deploy(
    l1: &L1Client,
    l2: &L1Client,
    deployer: &PrivateKeySigner,
    p: &DeployParams,
) -> Result<BridgeSpec, FastBridgeError> {
    let (l1_chain_id, l2_chain_id) = (l1.chain_id().await?, l2.chain_id().await?);
    let tx = HubPool::deploy_builder(l1.provider(), p.portal, l2_chain_id, p.bond, p.liveness)
        .gas(4_000_000)
        .into_transaction_request();
    let r = l1.transact(deployer, tx).await?;
    let hub = r.contract_address.ok_or(L1Error::NoAddress(r.transaction_hash))?;
    let hub_block = r.block_number.unwrap_or_default();
    let tx = SpokePool::deploy_builder(l2.provider(), hub, l1_chain_id, p.max_fill_window)
        .gas(2_000_000)
        .into_transaction_request();
    let r = l2.transact(deployer, tx).await?;
    let spoke = r.contract_address.ok_or(L1Error::NoAddress(r.transaction_hash))?;
    let spoke_block = r.block_number.unwrap_or_default();
    let set = HubPool::new(hub, l1.provider()).setSpoke(spoke).gas(60_000).into_transaction_request();
    l1.transact(deployer, set).await?;
    Ok(BridgeSpec {
        hub,
        spoke,
        l1_chain_id,
        l2_chain_id,
        portal: p.portal,
        oracle: p.oracle,
        bond: p.bond,
        liveness: p.liveness,
        challenge_window: p.challenge_window,
        max_fill_window: p.max_fill_window,
        hub_block,
        spoke_block,
    })
}
