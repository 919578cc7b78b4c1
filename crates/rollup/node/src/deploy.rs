//! Deploys the rollup's L1 contracts through JSON-RPC, and writes down where they are.

use alloy::{
    primitives::{Address, Bytes, TxKind, U256},
    signers::local::PrivateKeySigner,
    sol_types::SolValue,
};
use aqueduct_contracts::rollup::{BatchInbox, OutputOracle, RollupPortal};
use aqueduct_rollup_protocol::L1Origin;
use serde::{Deserialize, Serialize};

use crate::l1::{L1Call, L1Client, L1Error};

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

async fn create(l1: &L1Client, s: &PrivateKeySigner, code: &Bytes, args: Vec<u8>) -> Result<Address, L1Error> {
    let input: Bytes = [code.as_ref(), &args].concat().into();
    let call = L1Call { to: TxKind::Create, value: U256::ZERO, input, gas_limit: 5_000_000 };
    let hash = l1.send_call(s, &call).await?;
    let r = l1.wait(hash, 2_000).await?;
    r.contract_address.ok_or_else(|| L1Error::Rpc("creation receipt without address".into()))
}

/// Deploys the oracle, the portal and the inbox with `deployer`.
pub async fn deploy(l1: &L1Client, deployer: &PrivateKeySigner, p: &DeployParams) -> Result<Deployment, L1Error> {
    let oracle_args = (p.bond, U256::from(p.finalization_period), p.challenger).abi_encode_params();
    let oracle = create(l1, deployer, &OutputOracle::BYTECODE, oracle_args).await?;
    let portal = create(l1, deployer, &RollupPortal::BYTECODE, oracle.abi_encode()).await?;
    let inbox = create(l1, deployer, &BatchInbox::BYTECODE, p.batcher.abi_encode()).await?;
    let receipt_block = l1.head().await?;
    let (l1_genesis, _) = l1.origin(receipt_block).await?;
    Ok(Deployment { portal, oracle, inbox, l1_genesis })
}
