//! The user's side of the bridge: deposits on L1, withdrawal proofs built from the L2 chain,
//! proving and finalizing on L1, and how long the challenge window still runs.

use alloy::{
    primitives::{Address, B256, Bytes, TxKind, U256},
    signers::local::PrivateKeySigner,
    sol_types::{SolCall, SolEvent},
};
use aqueduct_chain::Chain;
use aqueduct_contracts::rollup::{
    L2ToL1MessagePasser, OutputOracle,
    portal::{RollupLib, RollupPortal},
};
use aqueduct_rollup_protocol::{MessageTree, OutputRoot, Predeploys, TREE_DEPTH, Withdrawal};
use serde::{Deserialize, Serialize};

use crate::{
    l1::{L1Call, L1Client, L1Error},
    proposer::output_at,
};

#[derive(Debug, thiserror::Error)]
pub enum BridgeError {
    #[error(transparent)]
    L1(#[from] L1Error),
    #[error("transaction {0} sent no withdrawal on L2")]
    NoWithdrawal(B256),
    #[error("no output covers L2 block {0} yet: wait for the proposer")]
    NotProposed(u64),
    #[error("L2: {0}")]
    L2(String),
}

/// Everything `proveWithdrawal` takes.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct WithdrawalProof {
    pub withdrawal: Withdrawal,
    pub l2_block: u64,
    pub output_index: u64,
    pub output: OutputRoot,
    pub branch: Vec<B256>,
}

/// Every withdrawal recorded in L2 blocks `1..=upto`, in nonce order, with the block holding it.
pub fn withdrawals_upto(chain: &Chain, upto: u64) -> Vec<(Withdrawal, u64, B256)> {
    let mut out = Vec::new();
    for b in chain.blocks(1, upto) {
        for (i, r) in b.receipts.iter().enumerate() {
            for log in r.logs() {
                if log.address != Predeploys::MESSAGE_PASSER {
                    continue;
                }
                if let Ok(ev) = L2ToL1MessagePasser::MessagePassed::decode_log(log) {
                    let w = Withdrawal {
                        nonce: ev.nonce,
                        sender: ev.sender,
                        target: ev.target,
                        value: ev.value,
                        gas_limit: ev.gasLimit,
                        data: ev.data.data.clone(),
                    };
                    out.push((w, b.number(), b.txs[i].hash));
                }
            }
        }
    }
    out
}

/// The first proposed output at or after L2 block `n`: its index and block number.
pub async fn output_covering(l1: &L1Client, oracle: Address, n: u64) -> Result<Option<(u64, u64)>, L1Error> {
    let count: u64 = l1.read(oracle, OutputOracle::nextOutputIndexCall {}).await?.saturating_to();
    for i in 0..count {
        let o = l1.read(oracle, OutputOracle::getOutputCall { index: U256::from(i) }).await?;
        if o.l2BlockNumber >= n {
            return Ok(Some((i, o.l2BlockNumber)));
        }
    }
    Ok(None)
}

/// Builds the proof of the withdrawal sent by L2 transaction `tx` against the first output that
/// covers it. `chain` is a node's L2 chain (a verifier's: it must match the proposed roots).
pub async fn build_proof(
    chain: &Chain,
    l1: &L1Client,
    oracle: Address,
    tx: B256,
) -> Result<WithdrawalProof, BridgeError> {
    let (block, _) = chain.transaction(&tx).ok_or(BridgeError::NoWithdrawal(tx))?;
    let (index, out_block) =
        output_covering(l1, oracle, block.number()).await?.ok_or(BridgeError::NotProposed(block.number()))?;
    let all = withdrawals_upto(chain, out_block);
    let pos = all.iter().position(|(_, _, h)| *h == tx).ok_or(BridgeError::NoWithdrawal(tx))?;
    let tree = MessageTree::new(all.iter().map(|(w, _, _)| w.hash()).collect());
    let branch = tree.branch(pos).expect("leaf exists").to_vec();
    let output = output_at(chain, out_block).map_err(|e| BridgeError::L2(e.to_string()))?;
    if output.withdrawals_root != tree.root() {
        return Err(BridgeError::L2("the message tree rebuilt from logs disagrees with the L2 state".into()));
    }
    Ok(WithdrawalProof {
        withdrawal: all[pos].0.clone(),
        l2_block: block.number(),
        output_index: index,
        output,
        branch,
    })
}

/// A withdrawal as the portal's ABI takes it.
pub fn sol_withdrawal(w: &Withdrawal) -> RollupLib::WithdrawalTransaction {
    RollupLib::WithdrawalTransaction {
        nonce: w.nonce,
        sender: w.sender,
        target: w.target,
        value: w.value,
        gasLimit: w.gas_limit,
        data: w.data.clone(),
    }
}

async fn send(
    l1: &L1Client,
    s: &PrivateKeySigner,
    to: Address,
    value: U256,
    input: Vec<u8>,
    gas: u64,
) -> Result<B256, L1Error> {
    l1.send_call(s, &L1Call { to: TxKind::Call(to), value, input: input.into(), gas_limit: gas }).await
}

/// The `proveWithdrawal` call for a proof.
pub fn prove_call(p: &WithdrawalProof) -> RollupPortal::proveWithdrawalCall {
    let mut branch = [B256::ZERO; TREE_DEPTH];
    for (slot, b) in branch.iter_mut().zip(&p.branch) {
        *slot = *b;
    }
    RollupPortal::proveWithdrawalCall {
        w: sol_withdrawal(&p.withdrawal),
        outputIndex: U256::from(p.output_index),
        outputProof: RollupLib::OutputRootProof {
            version: p.output.version,
            stateRoot: p.output.state_root,
            withdrawalsRoot: p.output.withdrawals_root,
            latestBlockhash: p.output.block_hash,
        },
        leafIndex: p.withdrawal.nonce,
        branch,
    }
}

/// Sends `proveWithdrawal` on L1.
pub async fn prove(l1: &L1Client, s: &PrivateKeySigner, portal: Address, p: &WithdrawalProof) -> Result<B256, L1Error> {
    send(l1, s, portal, U256::ZERO, prove_call(p).abi_encode(), 500_000).await
}

/// Sends `finalizeWithdrawal` on L1.
pub async fn finalize(l1: &L1Client, s: &PrivateKeySigner, portal: Address, w: &Withdrawal) -> Result<B256, L1Error> {
    let call = RollupPortal::finalizeWithdrawalCall { w: sol_withdrawal(w) };
    let gas = 200_000 + w.gas_limit.saturating_to::<u64>() * 65 / 63;
    send(l1, s, portal, U256::ZERO, call.abi_encode(), gas).await
}

/// Seconds left in a proven withdrawal's challenge window (None: not proven).
pub async fn seconds_left(l1: &L1Client, portal: Address, w: &Withdrawal) -> Result<Option<u64>, L1Error> {
    match l1.read(portal, RollupPortal::secondsLeftCall { withdrawalHash: w.hash() }).await {
        Ok(s) => Ok(Some(s.saturating_to())),
        Err(_) => Ok(None),
    }
}

/// Whether a withdrawal was paid out.
pub async fn is_finalized(l1: &L1Client, portal: Address, w: &Withdrawal) -> Result<bool, L1Error> {
    l1.read(portal, RollupPortal::finalizedWithdrawalsCall(w.hash())).await
}

/// Sends ETH to `to` on L2 (portal `depositTransaction`).
pub async fn deposit_eth(
    l1: &L1Client,
    s: &PrivateKeySigner,
    portal: Address,
    to: Address,
    amount: U256,
) -> Result<B256, L1Error> {
    let call = RollupPortal::depositTransactionCall {
        to,
        value: amount,
        gasLimit: 100_000,
        isCreation: false,
        data: Bytes::new(),
    };
    send(l1, s, portal, amount, call.abi_encode(), 200_000).await
}

/// Approves and deposits `amount` of `token` to `to` on L2.
pub async fn deposit_erc20(
    l1: &L1Client,
    s: &PrivateKeySigner,
    portal: Address,
    token: Address,
    to: Address,
    amount: U256,
) -> Result<B256, L1Error> {
    let approve = aqueduct_contracts::AqueductToken::approveCall { spender: portal, value: amount };
    let h = send(l1, s, token, U256::ZERO, approve.abi_encode(), 100_000).await?;
    l1.wait(h, 2_000).await?;
    let call = RollupPortal::depositERC20Call { token, to, amount };
    send(l1, s, portal, U256::ZERO, call.abi_encode(), 300_000).await
}
