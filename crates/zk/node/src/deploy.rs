//! Deploys the ZK rollup's L1 contracts through JSON-RPC.

use alloy::{
    primitives::{Address, Bytes, TxKind, U256},
    signers::local::PrivateKeySigner,
    sol_types::SolConstructor,
};
use aqueduct_contracts::zk::{Groth16Verifier, Poseidon, ZkRollup};
use aqueduct_eth::{L1Call, L1Client, L1Error, create_all};
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

fn creation(code: &Bytes, args: Vec<u8>, gas_limit: u64) -> L1Call {
    L1Call { to: TxKind::Create, value: U256::ZERO, input: [code.as_ref(), &args].concat().into(), gas_limit }
}

pub async fn deploy_zk(
    l1: &L1Client,
    deployer: &PrivateKeySigner,
    vk: &VerifyingKey<Bn254>,
    p: &ZkDeployParams,
) -> Result<ZkDeployment, L1Error> {
    let words = evm::vk_words(vk).map_err(L1Error::Rpc)?;
    let vk_args: [U256; 18] = words.map(U256::from_be_bytes);
    let nonce = l1.nonce(deployer.address()).await?;
    let poseidon = deployer.address().create(nonce);
    let verifier = deployer.address().create(nonce + 1);
    let rollup = deployer.address().create(nonce + 2);
    let mut committee = p.committee.clone();
    committee.sort();
    let rollup_args = ZkRollup::constructorCall {
        poseidon_: poseidon,
        verifier_: verifier,
        operator_: p.operator,
        domain_: p.circuit.domain,
        shape: [
            U256::from(p.circuit.slots),
            U256::from(p.circuit.shape.account_levels),
            U256::from(p.circuit.shape.balance_levels),
        ],
        genesisRoot: field_to_u256(&genesis_root(&p.circuit)),
        priorityExpiry_: p.priority_expiry,
        committee,
        threshold_: U256::from(p.threshold),
    }
    .abi_encode();
    let calls = [
        creation(&Poseidon::BYTECODE, Vec::new(), 8_000_000),
        creation(&Groth16Verifier::BYTECODE, Groth16Verifier::constructorCall { vk: vk_args }.abi_encode(), 3_000_000),
        creation(&ZkRollup::BYTECODE, rollup_args, 8_000_000),
    ];
    create_all(l1, deployer, nonce, &calls, &[poseidon, verifier, rollup]).await?;
    Ok(ZkDeployment { poseidon, verifier, rollup })
}
