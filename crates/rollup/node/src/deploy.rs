//! Deploys the rollup's L1 contracts through JSON-RPC, and writes down where they are.

use alloy::{
    primitives::{Address, U256},
    signers::local::PrivateKeySigner,
};
use aqueduct_chain::Genesis;
use aqueduct_contracts::rollup::{BatchInbox, DisputeGame, ExecuteStepVerifier, OutputOracle, RollupPortal};
use aqueduct_rollup_protocol::{L1Origin, RollupConfig};
use serde::{Deserialize, Serialize};

use crate::l1::{L1Client, L1Error, RollupL1, create_all};

/// Parameters of the L1 contracts.
#[derive(Clone, Debug)]
pub struct DeployParams {
    pub batcher: Address,
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
    /// The dispute game (the oracle's only deleter) and its step verifier: their addresses are
    /// reserved by [`deploy`] and filled by [`deploy_dispute`] once the L2 genesis is known.
    pub game: Address,
    pub step_verifier: Address,
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
            dispute_game: self.game,
            batcher,
            l1_genesis: self.l1_genesis,
            l2_genesis_time: self.l1_genesis.timestamp,
            compression_ppm: 600_000,
            base_fee_scalar: 50_000,
            blob_base_fee_scalar: 1_000_000,
        }
    }
}

/// Why the rollup's contracts could not be deployed.
#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    #[error(transparent)]
    L1(#[from] L1Error),
    /// The L2 genesis block could not be built (its allocations or rules are wrong).
    #[error("computing the L2 genesis output: {0}")]
    Genesis(#[from] aqueduct_chain::ChainError),
    /// Another transaction from the deployer took the nonce [`deploy`] reserved for the game.
    #[error("the deployer's nonce moved on ({nonce}): the dispute game can no longer land at {game}; deploy again")]
    NonceMoved { nonce: u64, game: Address },
    /// The rollup's rules lack the L2 parameters the step verifier takes.
    #[error("the step verifier needs L2 rules")]
    NoL2Rules,
}

/// Gas for one of the rollup's creations.
const CREATION_GAS: u64 = 5_000_000;

/// Parameters of the dispute game.
#[derive(Clone, Debug)]
pub struct DisputeParams {
    /// Seconds each side's chess clock holds (3.5 days on mainnet settings).
    pub clock: u64,
    /// Bond of the opening challenge; later moves grow ×1.09493 per depth.
    pub base_bond: U256,
}

/// Deploys the oracle, the portal and the inbox with `deployer`, and reserves the next two of
/// its addresses for the dispute game (the oracle's deleter) and its step verifier. The three
/// creations go out together (their addresses follow from the deployer's nonce), so they take
/// one L1 block.
pub async fn deploy(l1: &L1Client, deployer: &PrivateKeySigner, p: &DeployParams) -> Result<Deployment, L1Error> {
    let nonce = l1.nonce(deployer.address()).await?;
    let oracle = deployer.address().create(nonce);
    let portal = deployer.address().create(nonce + 1);
    let inbox = deployer.address().create(nonce + 2);
    let game = deployer.address().create(nonce + 3);
    let step_verifier = deployer.address().create(nonce + 4);
    let provider = l1.provider();
    let creations = vec![
        OutputOracle::deploy_builder(provider, p.bond, U256::from(p.finalization_period), game)
            .gas(CREATION_GAS)
            .into_transaction_request(),
        RollupPortal::deploy_builder(provider, oracle).gas(CREATION_GAS).into_transaction_request(),
        BatchInbox::deploy_builder(provider, p.batcher).gas(CREATION_GAS).into_transaction_request(),
    ];
    let last = create_all(l1, deployer, nonce, creations, &[oracle, portal, inbox]).await?;
    let (l1_genesis, _) = l1.origin(last).await?;
    Ok(Deployment { portal, oracle, inbox, game, step_verifier, l1_genesis })
}

/// Deploys the dispute game and its step verifier at the addresses [`deploy`] reserved, for the
/// rollup `cfg` with L2 block gas limit `gas_limit` and L2 genesis `genesis` (the verifier takes
/// the L2's execution rules, the game its genesis output root).
pub async fn deploy_dispute(
    l1: &L1Client,
    deployer: &PrivateKeySigner,
    dep: &Deployment,
    cfg: &RollupConfig,
    gas_limit: u64,
    genesis: &Genesis,
    p: &DisputeParams,
) -> Result<(), DeployError> {
    let rules = crate::rollup::l2_chain_config(cfg, gas_limit, std::path::PathBuf::new(), genesis.clone()).rules;
    let genesis_output = crate::genesis::genesis_output(cfg, gas_limit, genesis)?.hash();
    let nonce = l1.nonce(deployer.address()).await?;
    if deployer.address().create(nonce) != dep.game {
        return Err(DeployError::NonceMoved { nonce, game: dep.game });
    }
    let l2 = rules.l2.clone().ok_or(DeployError::NoL2Rules)?;
    let l2_rules = aqueduct_contracts::rollup::step_verifier::IExecute::L2Rules {
        chainId: rules.chain_id,
        gasLimit: rules.gas_limit,
        l1FeeVault: l2.l1_fee_vault,
        compressionPpm: l2.compression_ppm,
        minL1Bytes: l2.min_l1_bytes,
        baseFeeScalar: l2.base_fee_scalar,
        blobBaseFeeScalar: l2.blob_base_fee_scalar,
    };
    let provider = l1.provider();
    let derive = aqueduct_rollup_protocol::evidence::derive_rules(cfg, crate::rollup::SEQUENCER_FEE_VAULT);
    let creations = vec![
        DisputeGame::deploy_builder(provider, dep.oracle, dep.step_verifier, p.clock, p.base_bond, genesis_output)
            .gas(CREATION_GAS)
            .into_transaction_request(),
        ExecuteStepVerifier::deploy_builder(provider, l2_rules, derive, dep.inbox, dep.portal)
            .gas(CREATION_GAS)
            .into_transaction_request(),
    ];
    create_all(l1, deployer, nonce, creations, &[dep.game, dep.step_verifier]).await?;
    Ok(())
}
