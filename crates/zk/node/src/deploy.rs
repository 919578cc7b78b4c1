//! Deploys the ZK rollup's L1 contracts through JSON-RPC.

use alloy::{
    primitives::{Address, U256},
    signers::local::PrivateKeySigner,
};
use aqueduct_contracts::zk::{Groth16Verifier, Poseidon, ZkRollup};
use aqueduct_eth::{L1Client, L1Error, create_all};
use aqueduct_zk_circuit::{Bn254, CircuitParams, VerifyingKey, evm};
use aqueduct_zk_protocol::{F, QuadTree, empty_leaf};

/// What the contracts are deployed for.
#[derive(Debug, Clone)]
pub struct ZkDeployParams {
    pub circuit: CircuitParams,
    pub operator: Address,
    /// Seconds the operator has to serve a priority request before exodus may start.
    pub priority_expiry: u64,
    /// Validium committee (empty: a rollup) and how many of it must sign.
    pub committee: Vec<Address>,
    pub threshold: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ZkDeployment {
    pub poseidon: Address,
    pub verifier: Address,
    pub rollup: Address,
}

/// The root of an empty account tree of `params`' shape (the rollup's genesis).
pub fn genesis_root(params: &CircuitParams) -> F {
    QuadTree::new(params.shape.account_levels, empty_leaf(params.shape)).root()
}

pub fn field_to_u256(f: &F) -> U256 {
    U256::from_be_bytes(evm::word(f))
}

/// Why the ZK rollup's contracts could not be deployed.
#[derive(Debug, thiserror::Error)]
pub enum ZkDeployError {
    #[error(transparent)]
    L1(#[from] L1Error),
    /// The proving key's verifying key does not fit the L1 verifier.
    #[error(transparent)]
    Key(#[from] evm::PublicInputs),
}

pub async fn deploy_zk(
    l1: &L1Client,
    deployer: &PrivateKeySigner,
    vk: &VerifyingKey<Bn254>,
    p: &ZkDeployParams,
) -> Result<ZkDeployment, ZkDeployError> {
    let words = evm::vk_words(vk)?;
    let vk_args: [U256; 18] = words.map(U256::from_be_bytes);
    let nonce = l1.nonce(deployer.address()).await?;
    let poseidon = deployer.address().create(nonce);
    let verifier = deployer.address().create(nonce + 1);
    let rollup = deployer.address().create(nonce + 2);
    let mut committee = p.committee.clone();
    committee.sort();
    let shape = [
        U256::from(p.circuit.slots),
        U256::from(p.circuit.shape.account_levels),
        U256::from(p.circuit.shape.balance_levels),
        U256::from(p.circuit.onchain_slots),
    ];
    let genesis = field_to_u256(&genesis_root(&p.circuit));
    let provider = l1.provider();
    let creations = vec![
        Poseidon::deploy_builder(provider).gas(8_000_000).into_transaction_request(),
        Groth16Verifier::deploy_builder(provider, vk_args).gas(3_000_000).into_transaction_request(),
        ZkRollup::deploy_builder(
            provider,
            poseidon,
            verifier,
            p.operator,
            p.circuit.domain,
            shape,
            genesis,
            p.priority_expiry,
            committee,
            U256::from(p.threshold),
        )
        .gas(8_000_000)
        .into_transaction_request(),
    ];
    create_all(l1, deployer, nonce, creations, &[poseidon, verifier, rollup]).await?;
    Ok(ZkDeployment { poseidon, verifier, rollup })
}
