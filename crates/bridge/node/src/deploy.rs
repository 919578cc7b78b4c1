//! Setting the fast bridge up: the hub on L1 and the spoke on the rollup, each naming the other
//! at construction (both addresses follow from the deployer's nonces), sent at once.

use alloy::{
    network::TransactionBuilder,
    primitives::{Address, U256},
    signers::local::PrivateKeySigner,
};
use aqueduct_contracts::bridge::{HubPool, SpokePool};
use aqueduct_eth::{L1Client, L1Error};

use crate::{BridgeSpec, FastBridgeError};

/// The settings a deployment fixes.
#[derive(Clone, Debug)]
pub struct DeployParams {
    /// The rollup's portal and output oracle on L1.
    pub portal: Address,
    pub oracle: Address,
    pub challenge_window: u64,
    pub bond: U256,
    pub liveness: u64,
    pub max_fill_window: u32,
}

/// Deploys the hub on `l1` and the spoke on `l2` from `deployer` (funded on both). Fails with
/// `L1Error::Creation` when another transaction of the deployer's took a nonce meanwhile.
pub async fn deploy(
    l1: &L1Client,
    l2: &L1Client,
    deployer: &PrivateKeySigner,
    p: &DeployParams,
) -> Result<BridgeSpec, FastBridgeError> {
    let (l1_chain_id, l2_chain_id) = (l1.chain_id().await?, l2.chain_id().await?);
    let (l1_nonce, l2_nonce) = (l1.nonce(deployer.address()).await?, l2.nonce(deployer.address()).await?);
    let hub = deployer.address().create(l1_nonce);
    let spoke = deployer.address().create(l2_nonce);
    let hub_tx = HubPool::deploy_builder(l1.provider(), p.portal, spoke, l2_chain_id, p.bond, p.liveness)
        .gas(4_000_000)
        .into_transaction_request()
        .with_nonce(l1_nonce);
    let spoke_tx = SpokePool::deploy_builder(l2.provider(), hub, l1_chain_id, p.max_fill_window)
        .gas(2_000_000)
        .into_transaction_request()
        .with_nonce(l2_nonce);
    let (h1, h2) = (l1.send_request(deployer, hub_tx).await?, l2.send_request(deployer, spoke_tx).await?);
    let (r1, r2) = tokio::try_join!(l1.wait(h1), l2.wait(h2))?;
    if r1.contract_address != Some(hub) {
        return Err(L1Error::Creation { want: hub, got: r1.contract_address }.into());
    }
    if r2.contract_address != Some(spoke) {
        return Err(L1Error::Creation { want: spoke, got: r2.contract_address }.into());
    }
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
        hub_block: r1.block_number.unwrap_or_default(),
        spoke_block: r2.block_number.unwrap_or_default(),
    })
}
