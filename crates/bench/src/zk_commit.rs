//! The commitment's share of L1 gas for a batch of blocks, in calldata (`commitBlocks`) and in
//! one blob (`commitBlocksBlob`: the real blob transaction and point evaluation), measured on
//! the embedded L1 without proving: committing needs no proof, and verification costs the same
//! in both modes (`proveBlocks` takes the same inputs), so the bench pairs these with the
//! verification it measured.

use std::sync::Arc;

use alloy::signers::local::PrivateKeySigner;
use aqueduct_eth::L1Client;
use aqueduct_zk_circuit::Prover;
use aqueduct_zk_node::{DataAvailability, Operator, Prepared};
use aqueduct_zk_protocol::{Amount32, OpKind, UnsignedTx};

use crate::zk::{ZkBenchError, deploy_with_users};

/// What committing `blocks` blocks of transfers cost L1.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct CommitShares {
    pub blocks: usize,
    pub transfers: usize,
    /// `commitBlocks` gas per transfer.
    pub calldata_gas_per_transfer: f64,
    /// `commitBlocksBlob` gas per transfer (the point evaluation included) and blob gas per
    /// transfer (a whole blob, 131,072, however full).
    pub blob_gas_per_transfer: f64,
    pub blob_blob_gas_per_transfer: f64,
    /// Pubdata bytes the blob carries, of 126,976 it could.
    pub blob_bytes: usize,
}

/// Commits `blocks` full blocks of transfers after the deposits' block, once in calldata and
/// once in one blob, each on a fresh deployment; returns the gas per transfer of each.
pub async fn commit_shares(
    l1: &L1Client,
    signers: &[PrivateKeySigner],
    prover: &Arc<Prover>,
    blocks: usize,
    dir: &std::path::Path,
) -> Result<CommitShares, ZkBenchError> {
    let mut out = CommitShares { blocks, ..Default::default() };
    for blob in [false, true] {
        let (dep, users) = deploy_with_users(l1, signers, prover, 2, vec![]).await?;
        let store = dir.join(if blob { "commit-blob.redb" } else { "commit-calldata.redb" });
        let mut op = Operator::open(
            l1.clone(),
            signers[0].clone(),
            dep.rollup,
            prover.clone(),
            DataAvailability::Rollup,
            &store,
        )
        .await?;
        op.sync().await?;
        let settler = op.settler();
        // The deposits' and key changes' blocks, committed (not proven: committing needs no proof).
        while op.waiting() > 0 {
            op.prepare_next()?.ok_or(ZkBenchError::Missing("deposits block"))?;
        }
        let before: Vec<Prepared> = op.inflight().iter().cloned().collect();
        settler.commit_batch(&before).await?;
        let idx: Vec<u32> = users
            .iter()
            .map(|(k, _)| op.state().index_of(k.address()).ok_or(ZkBenchError::Missing("account")))
            .collect::<Result<_, _>>()?;
        let (slots, domain) = (prover.params.slots, prover.params.domain);
        // A block's worth of transfers at a time (the operator takes at most 128 waiting a sender).
        for blk in 0..blocks {
            for n in blk * slots..(blk + 1) * slots {
                let i = n % users.len();
                let (from, to) = (idx[i], idx[(i + 1) % idx.len()]);
                // Both users send the same amounts in turn: balances do not drift however many blocks.
                let amount = Amount32::pack(10u128.pow(15) * (1 + (n / 2 % 8) as u128)).expect("exact");
                let nonce = op.next_nonce(from);
                let tx = UnsignedTx { kind: OpKind::Transfer, from, to, token: 0, amount, nonce };
                op.submit(tx.sign(domain, &users[i].1))?;
            }
            op.prepare_next()?.ok_or(ZkBenchError::Missing("block"))?;
        }
        let first = before.len() as u64 + 1;
        if blob {
            op.place_in_blob(first, blocks as u16)?;
        }
        let batch: Vec<Prepared> = op.inflight().iter().skip(before.len()).cloned().collect();
        let transfers: usize = batch.iter().map(|p| p.witness.slots.len()).sum();
        let sent = if blob { settler.commit_blob(&batch).await? } else { settler.commit_batch(&batch).await? };
        let gas: u64 = sent.iter().map(|(_, g)| g).sum();
        let t = transfers as f64;
        out.transfers = transfers;
        if blob {
            out.blob_gas_per_transfer = gas as f64 / t;
            out.blob_blob_gas_per_transfer = 131_072.0 / t;
            out.blob_bytes = batch.len() * slots * aqueduct_zk_protocol::CHUNK_BYTES;
        } else {
            out.calldata_gas_per_transfer = gas as f64 / t;
        }
    }
    Ok(out)
}
