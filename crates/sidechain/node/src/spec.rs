//! What every validator of one sidechain agrees on before it starts: its chain, its L1 bridge,
//! its validators and how they reach each other (`sidechain.json`, written by `deploy`).

use std::{net::SocketAddr, path::Path, time::Duration};

use alloy::primitives::{Address, B256, U256, keccak256};
use aqueduct_chain::{ChainConfig, ChainRules, Genesis, GenesisAccount, L2Rules, MiningMode};
use aqueduct_contracts::sidechain::CHILD_BRIDGE;
use aqueduct_primitives::Signer;
use aqueduct_sidechain_protocol::Domain;
use commonware_codec::{DecodeExt, Encode};
use commonware_cryptography::{Signer as _, ed25519};
use serde::{Deserialize, Serialize};

use crate::NodeError;

/// One validator as the others know it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ValidatorInfo {
    /// Its secp256k1 checkpoint signer (the address `SidechainBridge` holds).
    pub signer: Address,
    /// Its ed25519 consensus key, hex (32 bytes).
    pub consensus_key: String,
    /// Where its consensus p2p listens.
    pub p2p: SocketAddr,
    /// Its Ethereum JSON-RPC.
    pub rpc: String,
}

/// A sidechain's shared configuration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SidechainSpec {
    pub chain_id: u64,
    pub l1_chain_id: u64,
    /// `SidechainBridge` on L1.
    pub bridge: Address,
    /// L1 block the bridge was deployed in (deposits are read from there).
    pub deployed_at: u64,
    /// L1 blocks a deposit waits behind the L1 head before it is minted.
    pub l1_confirmations: u64,
    /// Blocks per checkpoint.
    pub checkpoint_interval: u64,
    /// Least time between blocks, milliseconds.
    pub block_time_ms: u64,
    pub gas_limit: u64,
    pub genesis_time: u64,
    pub validators: Vec<ValidatorInfo>,
}

impl SidechainSpec {
    pub fn load(path: &Path) -> Result<Self, NodeError> {
        let text = std::fs::read_to_string(path).map_err(|e| NodeError::Config(format!("{}: {e}", path.display())))?;
        let spec: Self =
            serde_json::from_str(&text).map_err(|e| NodeError::Config(format!("{}: {e}", path.display())))?;
        spec.check()?;
        Ok(spec)
    }

    pub fn save(&self, path: &Path) -> Result<(), NodeError> {
        let text = serde_json::to_string_pretty(self).expect("a spec serializes");
        std::fs::write(path, text).map_err(|e| NodeError::Config(format!("{}: {e}", path.display())))
    }

    pub fn check(&self) -> Result<(), NodeError> {
        if self.validators.is_empty() {
            return Err(NodeError::Config("a sidechain needs at least one validator".into()));
        }
        if self.genesis_time == 0 {
            return Err(NodeError::Config("genesisTime must be set (seconds since the Unix epoch)".into()));
        }
        if self.checkpoint_interval == 0 {
            return Err(NodeError::Config("checkpointInterval must be at least 1".into()));
        }
        if self.block_time_ms < 50 {
            return Err(NodeError::Config("blockTimeMs must be at least 50".into()));
        }
        for v in &self.validators {
            consensus_key(&v.consensus_key)?;
        }
        Ok(())
    }

    pub fn domain(&self) -> Domain {
        Domain { l1_chain_id: self.l1_chain_id, bridge: self.bridge }
    }

    pub fn block_time(&self) -> Duration {
        Duration::from_millis(self.block_time_ms)
    }

    /// The sidechain's rules (DESIGN D1): Prague EVM, its own chain id, EIP-1559 at Ethereum's
    /// parameters, no blob transactions, deposit transactions for the bridge's mints and no L1
    /// data fee (the sidechain posts no data to L1), blocks built only by consensus.
    pub fn rules(&self) -> ChainRules {
        let zero_fee = L2Rules {
            l1_fee_vault: Address::ZERO,
            compression_ppm: 0,
            min_l1_bytes: 0,
            base_fee_scalar: 0,
            blob_base_fee_scalar: 0,
        };
        let mut r = ChainRules::l2_execution(self.chain_id, self.gas_limit, zero_fee);
        r.base_fee_params = alloy::eips::eip1559::BaseFeeParams::ethereum();
        r.min_base_fee = 7;
        r.mining = MiningMode::Manual;
        r.client_version = format!("aqueduct-sidechain/v{}", env!("CARGO_PKG_VERSION"));
        r
    }

    /// Genesis: the child bridge (its runtime code), Multicall3, nothing else — every wei on the
    /// sidechain is minted against ETH locked on L1.
    pub fn genesis(&self) -> Genesis {
        let mut alloc = std::collections::BTreeMap::new();
        alloc.insert(
            CHILD_BRIDGE,
            GenesisAccount {
                balance: U256::ZERO,
                nonce: 1,
                code: aqueduct_contracts::sidechain::ChildBridge::DEPLOYED_BYTECODE.clone(),
                storage: Default::default(),
            },
        );
        alloc.insert(
            aqueduct_contracts::multicall::MULTICALL3,
            GenesisAccount {
                balance: U256::ZERO,
                nonce: 1,
                code: aqueduct_contracts::multicall::Multicall3::DEPLOYED_BYTECODE.clone(),
                storage: Default::default(),
            },
        );
        Genesis { timestamp: self.genesis_time, base_fee: 1_000_000_000, alloc, ..Default::default() }
    }

    pub fn chain_config(&self, data_dir: &Path) -> ChainConfig {
        ChainConfig {
            rules: self.rules(),
            genesis: self.genesis(),
            data_dir: data_dir.join("chain"),
            beneficiary: FEE_VAULT,
            safe_depth: 0,
            finalized_depth: 0,
        }
    }

    /// Consensus keys in the spec's order.
    pub fn consensus_keys(&self) -> Result<Vec<ed25519::PublicKey>, NodeError> {
        self.validators.iter().map(|v| consensus_key(&v.consensus_key)).collect()
    }

    /// The first validator set (epoch 0), ascending as L1 holds it.
    pub fn genesis_validators(&self) -> Vec<Address> {
        let mut v: Vec<Address> = self.validators.iter().map(|v| v.signer).collect();
        v.sort();
        v
    }

    /// This validator's index in the spec, by its checkpoint signer.
    pub fn index_of(&self, signer: Address) -> Option<usize> {
        self.validators.iter().position(|v| v.signer == signer)
    }
}

/// Where priority fees go (burned base fees are not paid to anyone).
pub const FEE_VAULT: Address = alloy::primitives::address!("5100000000000000000000000000000000000002");

/// A validator's keys: the secp256k1 key signs checkpoints (and pays their L1 gas); the ed25519
/// consensus key is derived from it, so one secret names a validator.
#[derive(Clone)]
pub struct ValidatorKeys {
    pub signer: Signer,
    pub consensus: ed25519::PrivateKey,
}

impl ValidatorKeys {
    pub fn from_secret(secret: &B256) -> Result<Self, NodeError> {
        let signer =
            Signer::from_bytes(secret).ok_or_else(|| NodeError::Config("not a secp256k1 secret key".into()))?;
        let seed = keccak256([b"aqueduct-sidechain-consensus".as_slice(), secret.as_slice()].concat());
        let consensus =
            ed25519::PrivateKey::decode(seed.to_vec()).map_err(|e| NodeError::Config(format!("consensus key: {e}")))?;
        Ok(Self { signer, consensus })
    }

    /// The `n` dev validators' secrets (deterministic, for devnets and tests only).
    pub fn dev_secret(index: usize) -> B256 {
        keccak256(format!("aqueduct sidechain dev validator {index}"))
    }

    pub fn consensus_key_hex(&self) -> String {
        alloy::primitives::hex::encode(self.consensus.public_key().encode())
    }
}

pub fn consensus_key(hex: &str) -> Result<ed25519::PublicKey, NodeError> {
    let bytes = alloy::primitives::hex::decode(hex.trim_start_matches("0x"))
        .map_err(|e| NodeError::Config(format!("consensus key {hex}: {e}")))?;
    ed25519::PublicKey::decode(bytes).map_err(|e| NodeError::Config(format!("consensus key {hex}: {e}")))
}
