//! The user's side of the bridge: deposits on L1, withdrawal proofs built from the L2 chain,
//! proving and finalizing on L1, and how long the challenge window still runs.

use alloy::{
    eips::{BlockId, BlockNumberOrTag},
    primitives::{Address, B256, Bytes, TxKind, U256},
    providers::Provider,
    rpc::types::{Filter, TransactionRequest},
    signers::local::PrivateKeySigner,
    sol_types::{SolCall, SolEvent},
};
use aqueduct_chain::Chain;
use aqueduct_contracts::rollup::{
    L2Bridge, L2ToL1MessagePasser, OutputOracle,
    portal::{RollupLib, RollupPortal},
};
use aqueduct_rollup_protocol::{MessageTree, OutputRoot, Predeploys, TREE_DEPTH, Withdrawal};
use serde::{Deserialize, Serialize};

use crate::{
    l1::{L1Call, L1Client, L1Error, RollupL1},
    proposer::output_at,
};

#[derive(Debug, thiserror::Error)]
pub enum BridgeError {
    #[error(transparent)]
    L1(#[from] L1Error),
    #[error("transaction {0} sent no withdrawal on L2")]
    NoWithdrawal(B256),
    #[error("L2 transaction {0} is not on this node's chain (yet): a verifier has it once its batch is on L1")]
    NotDerived(B256),
    #[error("L2 block {0} is not on this node's chain (yet): this verifier is behind the output's proposer")]
    BlockNotDerived(u64),
    #[error("no output covers L2 block {0} yet: wait for the proposer")]
    NotProposed(u64),
    /// The L2 node's JSON-RPC failed (it is reached with the same client as L1).
    #[error("L2: {0}")]
    L2(#[source] L1Error),
    /// The L2 chain in this process could not compute an output.
    #[error("L2: {0}")]
    Chain(#[from] aqueduct_chain::ChainError),
    /// The L2 node answered something that is not the message passer's (another chain).
    #[error("L2: undecodable {what}: {source}")]
    Undecodable { what: &'static str, source: alloy::sol_types::Error },
    /// Reading the message passer's root failed (transport or an answer that does not decode).
    #[error("L2: reading the message passer's root: {0}")]
    Root(#[from] alloy::contract::Error),
    /// A withdrawal log lacks its block or transaction (a pending log from the node).
    #[error("L2: a MessagePassed log without block or transaction")]
    IncompleteLog,
    /// The withdrawals read from L2's logs are not the message passer's tree.
    #[error("L2: {0}")]
    TreeMismatch(&'static str),
    /// The output proposed on L1 is not this node's: it is not a verifier of the proposed chain.
    #[error("output {index} on L1 does not match this L2 node's block {block}: read from a verifier")]
    OtherOutput { index: u64, block: u64 },
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

/// Where withdrawal proofs read the L2 chain: a chain in this process, or a node's JSON-RPC
/// (a verifier's: its roots are the ones proposed from L1 data).
#[allow(async_fn_in_trait)]
pub trait L2View {
    /// The L2 block holding transaction `tx`.
    async fn block_of(&self, tx: B256) -> Result<Option<u64>, BridgeError>;
    /// Every withdrawal recorded in L2 blocks `1..=upto`, in nonce order, with its block and transaction.
    async fn withdrawals_upto(&self, upto: u64) -> Result<Vec<(Withdrawal, u64, B256)>, BridgeError>;
    /// The output root of L2 block `n`.
    async fn output_at(&self, n: u64) -> Result<OutputRoot, BridgeError>;
}

fn withdrawal_of(ev: &L2ToL1MessagePasser::MessagePassed) -> Withdrawal {
    Withdrawal {
        nonce: ev.nonce,
        sender: ev.sender,
        target: ev.target,
        value: ev.value,
        gas_limit: ev.gasLimit,
        data: ev.data.clone(),
    }
}

/// Every withdrawal recorded in L2 blocks `1..=upto` of `chain`.
pub fn withdrawals_upto(chain: &Chain, upto: u64) -> Vec<(Withdrawal, u64, B256)> {
    let mut out = Vec::new();
    for b in chain.blocks(1, upto) {
        for (i, r) in b.receipts.iter().enumerate() {
            for log in r.logs() {
                if log.address != Predeploys::MESSAGE_PASSER {
                    continue;
                }
                if let Ok(ev) = L2ToL1MessagePasser::MessagePassed::decode_log(log) {
                    out.push((withdrawal_of(&ev.data), b.number(), b.txs[i].hash));
                }
            }
        }
    }
    out
}

impl L2View for Chain {
    async fn block_of(&self, tx: B256) -> Result<Option<u64>, BridgeError> {
        Ok(self.transaction(&tx).map(|(b, _)| b.number()))
    }
    async fn withdrawals_upto(&self, upto: u64) -> Result<Vec<(Withdrawal, u64, B256)>, BridgeError> {
        Ok(withdrawals_upto(self, upto))
    }
    async fn output_at(&self, n: u64) -> Result<OutputRoot, BridgeError> {
        Ok(output_at(self, n)?)
    }
}

/// An L2 node's JSON-RPC (the client speaks plain Ethereum JSON-RPC, so it reads L2 as well).
impl L2View for L1Client {
    async fn block_of(&self, tx: B256) -> Result<Option<u64>, BridgeError> {
        let r = self.receipt(tx).await.map_err(BridgeError::L2)?;
        Ok(r.and_then(|r| r.block_number))
    }
    async fn withdrawals_upto(&self, upto: u64) -> Result<Vec<(Withdrawal, u64, B256)>, BridgeError> {
        let filter = Filter::new()
            .address(Predeploys::MESSAGE_PASSER)
            .event_signature(L2ToL1MessagePasser::MessagePassed::SIGNATURE_HASH)
            .from_block(0)
            .to_block(upto);
        let logs = self.provider().get_logs(&filter).await.map_err(|e| BridgeError::L2(L1Error::Rpc(e)))?;
        let mut out = Vec::with_capacity(logs.len());
        for log in logs {
            let ev = L2ToL1MessagePasser::MessagePassed::decode_log(&log.inner)
                .map_err(|source| BridgeError::Undecodable { what: "MessagePassed log", source })?;
            let (Some(n), Some(tx)) = (log.block_number, log.transaction_hash) else {
                return Err(BridgeError::IncompleteLog);
            };
            out.push((withdrawal_of(&ev.data), n, tx));
        }
        out.sort_by_key(|(w, _, _)| w.nonce);
        Ok(out)
    }
    async fn output_at(&self, n: u64) -> Result<OutputRoot, BridgeError> {
        let block = self
            .provider()
            .get_block_by_number(BlockNumberOrTag::Number(n))
            .await
            .map_err(|e| BridgeError::L2(L1Error::Rpc(e)))?
            .ok_or(BridgeError::BlockNotDerived(n))?;
        let root = L2ToL1MessagePasser::new(Predeploys::MESSAGE_PASSER, self.provider())
            .root()
            .block(BlockId::number(n))
            .call()
            .await?;
        Ok(OutputRoot {
            version: B256::ZERO,
            state_root: block.header.state_root,
            withdrawals_root: root,
            block_hash: block.header.hash,
        })
    }
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

/// When an output covering an L2 block should appear, judged from the proposer's pace so far.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutputEta {
    /// The L2 block of the latest output.
    pub latest_block: u64,
    /// L2 blocks, and L1 seconds, between the last two outputs.
    pub blocks_per_output: u64,
    pub secs_per_output: u64,
    /// Seconds from L1's latest block until an output covers the block asked about (0 if late).
    pub secs: u64,
}

/// The [`OutputEta`] of L2 block `n`; `None` before two outputs give the proposer's pace, or
/// when `n` is covered already.
pub async fn output_eta(l1: &L1Client, oracle: Address, n: u64) -> Result<Option<OutputEta>, L1Error> {
    let count: u64 = l1.read(oracle, OutputOracle::nextOutputIndexCall {}).await?.saturating_to();
    if count < 2 {
        return Ok(None);
    }
    let last = l1.read(oracle, OutputOracle::getOutputCall { index: U256::from(count - 1) }).await?;
    let before = l1.read(oracle, OutputOracle::getOutputCall { index: U256::from(count - 2) }).await?;
    if last.l2BlockNumber >= n {
        return Ok(None);
    }
    let now = l1.origin(l1.head().await?).await?.0.timestamp;
    Ok(Some(OutputEta::from_pace(
        (before.l2BlockNumber, before.timestamp),
        (last.l2BlockNumber, last.timestamp),
        n,
        now,
    )))
}

impl OutputEta {
    /// From the last two outputs' (L2 block, L1 time), for L2 block `n` past the last, at `now`.
    pub fn from_pace(before: (u64, u64), last: (u64, u64), n: u64, now: u64) -> Self {
        let blocks_per_output = last.0.saturating_sub(before.0).max(1);
        let secs_per_output = last.1.saturating_sub(before.1);
        let outputs_needed = n.saturating_sub(last.0).div_ceil(blocks_per_output);
        let due = last.1.saturating_add(outputs_needed.saturating_mul(secs_per_output));
        Self { latest_block: last.0, blocks_per_output, secs_per_output, secs: due.saturating_sub(now) }
    }
}

/// Builds the proof of the withdrawal sent by L2 transaction `tx` against the first output that
/// covers it, reading L2 from `l2` (it must match the proposed roots: a verifier's view).
pub async fn build_proof(
    l2: &impl L2View,
    l1: &L1Client,
    oracle: Address,
    tx: B256,
) -> Result<WithdrawalProof, BridgeError> {
    let block = l2.block_of(tx).await?.ok_or(BridgeError::NotDerived(tx))?;
    let (index, out_block) = output_covering(l1, oracle, block).await?.ok_or(BridgeError::NotProposed(block))?;
    let all = l2.withdrawals_upto(out_block).await?;
    let pos = all.iter().position(|(_, _, h)| *h == tx).ok_or(BridgeError::NoWithdrawal(tx))?;
    let tree = MessageTree::new(all.iter().map(|(w, _, _)| w.hash()).collect());
    let branch = tree.branch(pos).ok_or(BridgeError::TreeMismatch("withdrawal nonces are not contiguous"))?.to_vec();
    let output = l2.output_at(out_block).await?;
    if output.withdrawals_root != tree.root() {
        return Err(BridgeError::TreeMismatch("the message tree rebuilt from logs disagrees with the L2 state"));
    }
    let proposed = l1.read(oracle, OutputOracle::getOutputCall { index: U256::from(index) }).await?;
    if proposed.outputRoot != output.hash() {
        return Err(BridgeError::OtherOutput { index, block: out_block });
    }
    Ok(WithdrawalProof { withdrawal: all[pos].0.clone(), l2_block: block, output_index: index, output, branch })
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

/// The L1 transaction proving a withdrawal at `portal`.
pub fn prove_request(l1: &L1Client, portal: Address, p: &WithdrawalProof) -> TransactionRequest {
    RollupPortal::new(portal, l1.provider()).call_builder(&prove_call(p)).gas(500_000).into_transaction_request()
}

/// The L1 transaction paying out a proven withdrawal (its own gas limit is forwarded, plus 1/63).
pub fn finalize_request(l1: &L1Client, portal: Address, w: &Withdrawal) -> TransactionRequest {
    let gas_limit = 200_000 + w.gas_limit.saturating_to::<u64>() * 65 / 63;
    RollupPortal::new(portal, l1.provider())
        .finalizeWithdrawal(sol_withdrawal(w))
        .gas(gas_limit)
        .into_transaction_request()
}

/// Sends `proveWithdrawal` on L1.
pub async fn prove(l1: &L1Client, s: &PrivateKeySigner, portal: Address, p: &WithdrawalProof) -> Result<B256, L1Error> {
    l1.send_request(s, prove_request(l1, portal, p)).await
}

/// Sends `finalizeWithdrawal` on L1.
pub async fn finalize(l1: &L1Client, s: &PrivateKeySigner, portal: Address, w: &Withdrawal) -> Result<B256, L1Error> {
    l1.send_request(s, finalize_request(l1, portal, w)).await
}

/// The withdrawal L2 transaction `tx` started, from its receipt on `l2` (a node's JSON-RPC), and
/// the L2 block holding it.
pub async fn withdrawal_of_tx(l2: &L1Client, tx: B256) -> Result<(Withdrawal, u64), BridgeError> {
    let r = l2.receipt(tx).await?.ok_or(BridgeError::NotDerived(tx))?;
    let ev = r
        .inner
        .logs()
        .iter()
        .filter(|l| l.address() == Predeploys::MESSAGE_PASSER)
        .find_map(|l| L2ToL1MessagePasser::MessagePassed::decode_log(&l.inner).ok())
        .ok_or(BridgeError::NoWithdrawal(tx))?;
    Ok((withdrawal_of(&ev.data), r.block_number.unwrap_or_default()))
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
    let portal = RollupPortal::new(portal, l1.provider());
    let call = portal.depositTransaction(to, amount, 100_000, false, Bytes::new()).value(amount).gas(200_000);
    l1.send_request(s, call.into_transaction_request()).await
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
    let erc20 = aqueduct_contracts::AqueductToken::new(token, l1.provider());
    let h = l1.send_request(s, erc20.approve(portal, amount).gas(100_000).into_transaction_request()).await?;
    l1.wait(h).await?;
    let portal = RollupPortal::new(portal, l1.provider());
    l1.send_request(s, portal.depositERC20(token, to, amount).gas(300_000).into_transaction_request()).await
}

/// The L2 call that starts an ETH withdrawal of `amount` to `to` on L1 (the message passer).
pub fn withdraw_eth_call(to: Address, amount: U256) -> L1Call {
    let input =
        L2ToL1MessagePasser::initiateWithdrawalCall { target: to, gasLimit: U256::from(100_000), data: Bytes::new() };
    L1Call {
        to: TxKind::Call(Predeploys::MESSAGE_PASSER),
        value: amount,
        input: input.abi_encode().into(),
        gas_limit: 200_000,
    }
}

/// The L2 call that burns `amount` of the bridged token `l2_token` and withdraws it to `to` on L1.
pub fn withdraw_erc20_call(l2_token: Address, to: Address, amount: U256) -> L1Call {
    let input = L2Bridge::withdrawCall { l2Token: l2_token, to, amount };
    L1Call {
        to: TxKind::Call(Predeploys::L2_BRIDGE),
        value: U256::ZERO,
        input: input.abi_encode().into(),
        gas_limit: 300_000,
    }
}

/// The L2 twin of L1 token `l1_token` (zero before its first deposit).
pub async fn l2_token_of(l2: &L1Client, l1_token: Address) -> Result<Address, L1Error> {
    l2.read(Predeploys::L2_BRIDGE, L2Bridge::l2TokenOfCall(l1_token)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_eta_follows_the_proposers_pace() {
        // Outputs at L2 blocks 10 and 20, 12 s apart; block 35 needs two more: due at 100 + 24.
        let e = OutputEta::from_pace((10, 88), (20, 100), 35, 110);
        assert_eq!((e.latest_block, e.blocks_per_output, e.secs_per_output, e.secs), (20, 10, 12, 14));
        // Late, or a proposer that posted twice for one block: no negative time, no division by 0.
        assert_eq!(OutputEta::from_pace((10, 88), (20, 100), 21, 500).secs, 0);
        assert_eq!(OutputEta::from_pace((20, 88), (20, 100), 25, 100).blocks_per_output, 1);
    }
}
