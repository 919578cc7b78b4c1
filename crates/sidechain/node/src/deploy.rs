//! Setting a sidechain up: its validators' keys and addresses, the bridge on L1, gas for the
//! validators' checkpoints, and the spec every validator starts from.

use std::net::{IpAddr, SocketAddr};

use alloy::{
    primitives::{B256, U256},
    rpc::types::TransactionRequest,
    signers::local::PrivateKeySigner,
};
use aqueduct_eth::L1Client;

use crate::{NodeError, SidechainSpec, ValidatorInfo, ValidatorKeys, l1::deploy_bridge};

/// How to lay a sidechain out.
#[derive(Clone, Debug)]
pub struct Layout {
    pub chain_id: u64,
    /// Each validator's secp256k1 secret.
    pub secrets: Vec<B256>,
    pub host: IpAddr,
    /// Validator `i` serves JSON-RPC on `rpc_base + i` and consensus on `p2p_base + i`.
    pub rpc_base: u16,
    pub p2p_base: u16,
    pub checkpoint_interval: u64,
    pub block_time_ms: u64,
    pub l1_confirmations: u64,
    pub gas_limit: u64,
    /// Wei sent to each validator's L1 address for checkpoint gas.
    pub fund: U256,
}

impl Layout {
    /// `n` dev validators (deterministic keys) on localhost.
    pub fn dev(n: usize, rpc_base: u16, p2p_base: u16) -> Self {
        Self {
            chain_id: 909,
            secrets: (0..n).map(ValidatorKeys::dev_secret).collect(),
            host: IpAddr::from([127, 0, 0, 1]),
            rpc_base,
            p2p_base,
            checkpoint_interval: 8,
            block_time_ms: 1_000,
            l1_confirmations: 1,
            gas_limit: 30_000_000,
            fund: U256::from(10u64) * U256::from(10u64).pow(U256::from(18)),
        }
    }
}

/// Deploys the bridge from `deployer`, funds the validators' L1 addresses and returns the spec.
pub async fn deploy_sidechain(
    l1: &L1Client,
    deployer: &PrivateKeySigner,
    layout: &Layout,
) -> Result<SidechainSpec, NodeError> {
    let keys: Vec<ValidatorKeys> = layout.secrets.iter().map(ValidatorKeys::from_secret).collect::<Result<_, _>>()?;
    let signers: Vec<_> = keys.iter().map(|k| k.signer.address()).collect();
    let l1_err = |e: aqueduct_eth::L1Error| NodeError::L1(e.to_string());
    // The validators' checkpoint gas is sent alongside the deployment (one L1 block, not five).
    let mut sent = Vec::new();
    for a in &signers {
        let tx = TransactionRequest::default().to(*a).value(layout.fund).gas_limit(21_000);
        sent.push(l1.send_request(deployer, tx).await.map_err(l1_err)?);
    }
    let (bridge, deployed_at) = deploy_bridge(l1, deployer, layout.chain_id, &signers).await.map_err(l1_err)?;
    for h in sent {
        l1.wait(h).await.map_err(l1_err)?;
    }
    let genesis_time = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_secs();
    let spec = SidechainSpec {
        chain_id: layout.chain_id,
        l1_chain_id: l1.chain_id().await.map_err(l1_err)?,
        bridge,
        deployed_at,
        l1_confirmations: layout.l1_confirmations,
        checkpoint_interval: layout.checkpoint_interval,
        block_time_ms: layout.block_time_ms,
        gas_limit: layout.gas_limit,
        genesis_time,
        validators: keys
            .iter()
            .enumerate()
            .map(|(i, k)| ValidatorInfo {
                signer: k.signer.address(),
                consensus_key: k.consensus_key_hex(),
                p2p: SocketAddr::new(layout.host, layout.p2p_base + i as u16),
                rpc: format!("http://{}:{}", layout.host, layout.rpc_base + i as u16),
            })
            .collect(),
    };
    spec.check()?;
    Ok(spec)
}
