//! Deploys the rollup's L1 contracts through JSON-RPC, and writes down where they are.

use alloy::{
    primitives::{Address, Bytes, TxKind, U256},
    signers::local::PrivateKeySigner,
    sol_types::{SolConstructor, SolValue},
};
use aqueduct_chain::Genesis;
use aqueduct_contracts::rollup::{BatchInbox, DisputeGame, ExecuteStepVerifier, OutputOracle, RollupPortal};
use aqueduct_rollup_protocol::{L1Origin, RollupConfig};
use serde::{Deserialize, Serialize};

use crate::l1::{L1Call, L1Client, L1Error, RollupL1, create_all};

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

fn creation(code: &Bytes, args: Vec<u8>) -> L1Call {
    let input: Bytes = [code.as_ref(), &args].concat().into();
    L1Call { to: TxKind::Create, value: U256::ZERO, input, gas_limit: 5_000_000 }
}

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
    let calls = [
        creation(&OutputOracle::BYTECODE, (p.bond, U256::from(p.finalization_period), game).abi_encode_params()),
        creation(&RollupPortal::BYTECODE, oracle.abi_encode()),
        creation(&BatchInbox::BYTECODE, p.batcher.abi_encode()),
    ];
    let last = create_all(l1, deployer, nonce, &calls, &[oracle, portal, inbox]).await?;
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
) -> Result<(), L1Error> {
    let rules = crate::rollup::l2_chain_config(cfg, gas_limit, std::path::PathBuf::new(), genesis.clone()).rules;
    let genesis_output = crate::genesis::genesis_output(cfg, gas_limit, genesis)
        .map_err(|e| L1Error::Rpc(format!("computing the L2 genesis output: {e}")))?
        .hash();
    let nonce = l1.nonce(deployer.address()).await?;
    if deployer.address().create(nonce) != dep.game {
        return Err(L1Error::Rpc(format!(
            "the deployer's nonce moved on ({nonce}): the dispute game can no longer land at {}",
            dep.game
        )));
    }
    let l2 = rules.l2.clone().ok_or_else(|| L1Error::Rpc("the step verifier needs L2 rules".into()))?;
    let l2_rules = aqueduct_contracts::rollup::step_verifier::IExecute::L2Rules {
        chainId: rules.chain_id,
        gasLimit: rules.gas_limit,
        l1FeeVault: l2.l1_fee_vault,
        compressionPpm: l2.compression_ppm,
        minL1Bytes: l2.min_l1_bytes,
        baseFeeScalar: l2.base_fee_scalar,
        blobBaseFeeScalar: l2.blob_base_fee_scalar,
    };
    let game_args = DisputeGame::constructorCall {
        oracle_: dep.oracle,
        verifier_: dep.step_verifier,
        clock_: p.clock,
        baseBond_: p.base_bond,
        genesisOutputRoot_: genesis_output,
    }
    .abi_encode();
    let verifier_args = ExecuteStepVerifier::constructorCall {
        rules_: l2_rules,
        derive_: aqueduct_rollup_protocol::evidence::derive_rules(cfg, crate::rollup::SEQUENCER_FEE_VAULT),
        inbox_: dep.inbox,
        portal_: dep.portal,
    }
    .abi_encode();
    let calls = [creation(&DisputeGame::BYTECODE, game_args), creation(&ExecuteStepVerifier::BYTECODE, verifier_args)];
    create_all(l1, deployer, nonce, &calls, &[dep.game, dep.step_verifier]).await?;
    Ok(())
}
