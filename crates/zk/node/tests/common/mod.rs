//! What the ZK node's end-to-end tests share: L1 calls, the clock, and an embedded L1.

use alloy::{
    primitives::{Address, TxKind, U256},
    providers::Provider,
    signers::local::PrivateKeySigner,
};
use aqueduct_eth::{L1Call, L1Client, L1Error};
use aqueduct_l1::Devnet;

/// Sends a call and waits for it to succeed; returns its gas.
pub async fn send(l1: &L1Client, who: &PrivateKeySigner, to: Address, value: u128, input: Vec<u8>) -> u64 {
    let call = L1Call { to: TxKind::Call(to), value: U256::from(value), input: input.into(), gas_limit: 3_000_000 };
    let h = l1.send_call(who, &call).await.unwrap();
    l1.wait(h).await.unwrap().gas_used
}

/// Whether L1 refuses the call (simulated: it reverts).
pub async fn refused(l1: &L1Client, who: &PrivateKeySigner, to: Address, input: Vec<u8>) -> bool {
    let call = L1Call { to: TxKind::Call(to), value: U256::ZERO, input: input.into(), gas_limit: 3_000_000 };
    matches!(l1.simulate(who.address(), &call).await, Err(L1Error::WouldRevert { .. }))
}

/// Moves L1's clock forward by `secs` and mines a block there.
pub async fn advance(l1: &L1Client, secs: u64) {
    let _: serde_json::Value = l1.provider().raw_request("evm_increaseTime".into(), (secs,)).await.unwrap();
    let _: serde_json::Value = l1.provider().raw_request("evm_mine".into(), ()).await.unwrap();
}

/// The embedded L1, mining on each transaction, data in `dir`.
pub async fn devnet(dir: &std::path::Path) -> Devnet {
    aqueduct_testkit::embedded_l1(dir, false).await
}

/// A ZK rollup for `circuit` deployed by `operator` with `prover`'s key, then three priority
/// requests: 1 ETH deposited for each of `alice` and `bob`, and `alice`'s L2 key set to `ka`.
#[allow(dead_code)] // faults.rs and pipeline.rs use it
pub async fn rollup_with_two_users(
    l1: &L1Client,
    operator: &PrivateKeySigner,
    prover: &aqueduct_zk_circuit::Prover,
    circuit: aqueduct_zk_circuit::CircuitParams,
    alice: &PrivateKeySigner,
    bob: &PrivateKeySigner,
    ka: &aqueduct_zk_protocol::SecretKey,
) -> Address {
    use alloy::sol_types::SolCall;
    use aqueduct_contracts::zk::ZkRollup;
    const ETH: u128 = 1_000_000_000_000_000_000;
    let params = aqueduct_zk_node::ZkDeployParams {
        circuit,
        operator: operator.address(),
        priority_expiry: 3_600,
        committee: vec![],
        threshold: 0,
    };
    let rollup = aqueduct_zk_node::deploy_zk(l1, operator, prover.vk(), &params).await.unwrap().rollup;
    send(l1, alice, rollup, ETH, ZkRollup::depositETHCall { to: alice.address() }.abi_encode()).await;
    send(l1, bob, rollup, ETH, ZkRollup::depositETHCall { to: bob.address() }.abi_encode()).await;
    let key = ZkRollup::changeKeyCall { pubkeyHash: aqueduct_zk_node::field_to_u256(&ka.public().hash()) };
    send(l1, alice, rollup, 0, key.abi_encode()).await;
    rollup
}
