//! The L2 genesis: predeploys at their fixed addresses (Multicall3 among them, as on OP Stack
//! chains), and optionally funded dev accounts.

use std::collections::BTreeMap;

use alloy::primitives::{Address, B256, U256};
use aqueduct_chain::{Chain, ChainError, Genesis, GenesisAccount};
use aqueduct_contracts::{
    interop::{CrossL2Inbox, L2ToL2Messenger},
    multicall::{MULTICALL3, Multicall3},
    rollup::{L1Block, L2Bridge, L2ToL1MessagePasser},
};
use aqueduct_rollup_protocol::{MessageTree, OutputRoot, Predeploys, RollupConfig};

/// L2 genesis for `cfg`, with `funded` accounts holding `balance` wei each.
pub fn l2_genesis(cfg: &RollupConfig, funded: &[Address], balance: U256) -> Genesis {
    let mut alloc: BTreeMap<Address, GenesisAccount> =
        funded.iter().map(|a| (*a, GenesisAccount { balance, ..Default::default() })).collect();
    let code = |c: &alloy::primitives::Bytes| GenesisAccount { code: c.clone(), ..Default::default() };
    alloc.insert(Predeploys::L1_BLOCK, code(&L1Block::DEPLOYED_BYTECODE));
    alloc.insert(Predeploys::MESSAGE_PASSER, code(&L2ToL1MessagePasser::DEPLOYED_BYTECODE));
    let mut bridge = code(&L2Bridge::DEPLOYED_BYTECODE);
    // Slot 0: the L1 portal (deposits come from its alias; withdrawals go to it).
    bridge.storage.insert(B256::ZERO, cfg.portal.into_word());
    alloc.insert(Predeploys::L2_BRIDGE, bridge);
    alloc.insert(Predeploys::L1_FEE_VAULT, GenesisAccount::default());
    alloc.insert(MULTICALL3, code(&Multicall3::DEPLOYED_BYTECODE));
    alloc.insert(Predeploys::CROSS_L2_INBOX, code(&CrossL2Inbox::DEPLOYED_BYTECODE));
    alloc.insert(Predeploys::L2_TO_L2_MESSENGER, code(&L2ToL2Messenger::DEPLOYED_BYTECODE));
    Genesis { timestamp: cfg.l2_genesis_time, base_fee: 1_000_000, alloc, ..Default::default() }
}

/// The output root of the L2 genesis block (what the dispute game disputes the first output
/// from): its state root, the empty message tree, its hash.
pub fn genesis_output(cfg: &RollupConfig, gas_limit: u64, genesis: &Genesis) -> Result<OutputRoot, ChainError> {
    let rules = crate::rollup::l2_chain_config(cfg, gas_limit, std::path::PathBuf::new(), genesis.clone()).rules;
    let block = Chain::genesis_of(&rules, genesis)?;
    Ok(OutputRoot {
        version: B256::ZERO,
        state_root: block.header.state_root,
        withdrawals_root: MessageTree::default().root(),
        block_hash: block.hash,
    })
}
