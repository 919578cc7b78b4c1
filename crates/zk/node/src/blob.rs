//! Rollup blocks whose pubdata goes to L1 in an EIP-4844 blob: several consecutive blocks share
//! one blob, one lane each (`aqueduct_zk_protocol::blob`). A group is fixed *before* its blocks
//! are proven, because each proof binds the point L1 will draw from the blob's versioned hash;
//! it is then committed whole by one `ZkRollup.commitBlocksBlob` and verified by one
//! `proveBlocks`.
//!
//! Whether a group goes in a blob or in calldata is chosen by price when it closes
//! ([`blob_cheaper`]): a blob costs the point evaluation (50,000 gas) and a whole blob's blob gas
//! (131,072) however little it holds, calldata 16 gas a non-zero byte, so at equal prices a blob
//! pays only past about 3 kB of pubdata.

use alloy::{
    eips::eip4844::{BlobTransactionSidecar, c_kzg, env_settings::EnvKzgSettings, kzg_to_versioned_hash},
    network::TransactionBuilder4844,
    primitives::{B256, Bytes, U256},
};
use aqueduct_contracts::zk::ZkRollup;
use aqueduct_eth::L1Fees;
use aqueduct_zk_protocol::{BlobFr, BlockWitness, blob, data_hash, pubdata};
use serde::{Deserialize, Serialize};

use crate::{
    Operator, OperatorError, Prepared, Settler,
    deploy::field_to_u256,
    operator::{commit_gas_limit, to_sol},
};

/// Blocks sharing one blob: `first` to `first + lanes − 1`, block `first + i` in lane `i`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlobGroup {
    pub first: u64,
    pub lanes: u16,
}

/// Where a rollup's pubdata goes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ZkDataMode {
    /// Calldata (`commitBlocks`).
    Calldata,
    /// A blob shared by each group of blocks (`commitBlocksBlob`).
    Blob,
    /// Whichever costs less at the L1 prices when a group closes.
    #[default]
    Auto,
}

impl std::str::FromStr for ZkDataMode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "calldata" => Ok(Self::Calldata),
            "blob" | "blobs" => Ok(Self::Blob),
            "auto" => Ok(Self::Auto),
            _ => Err(format!("data mode `{s}`: expected calldata, blob or auto")),
        }
    }
}

/// A group's blob, its KZG sidecar, L1's point `z` and each block's point `z / c_lane`.
pub struct BlobPlan {
    pub sidecar: BlobTransactionSidecar,
    pub versioned_hash: B256,
    pub z: BlobFr,
    pub points: Vec<BlobFr>,
}

/// The blob of blocks with these pubdatas (in lane order) and the points L1 will draw.
pub fn plan(pubdatas: &[Vec<u8>]) -> Result<BlobPlan, c_kzg::Error> {
    let k = blob::lane_elements(pubdatas.first().map_or(0, Vec::len));
    let bytes = blob::blob(pubdatas, k);
    let blob = alloy::eips::eip4844::Blob::try_from(bytes.as_slice()).expect("a blob's size");
    let sidecar = BlobTransactionSidecar::try_from_blobs_with_settings(vec![blob], EnvKzgSettings::Default.get())?;
    let versioned_hash = kzg_to_versioned_hash(sidecar.commitments[0].as_slice());
    let hashes: Vec<B256> = pubdatas.iter().map(|d| data_hash(d)).collect();
    let z = blob::challenge(versioned_hash, &hashes);
    let points = (0..pubdatas.len()).map(|l| blob::lane_point(z, l, k)).collect();
    Ok(BlobPlan { sidecar, versioned_hash, z, points })
}

/// `commitment ‖ proof of the blob's value at z`: what `commitBlocksBlob` hands the precompile.
pub fn point_proof(plan: &BlobPlan) -> Result<Bytes, c_kzg::Error> {
    let settings = EnvKzgSettings::Default.get();
    let kb = c_kzg::Blob::new(plan.sidecar.blobs[0].0);
    let (proof, _) = settings.compute_kzg_proof(&kb, &c_kzg::Bytes32::new(blob::to_bytes(&plan.z)))?;
    let mut out = plan.sidecar.commitments[0].to_vec();
    out.extend_from_slice(proof.to_bytes().as_slice());
    Ok(out.into())
}

/// Whether one blob costs less than calldata for `data` (the group's pubdata, all of it) at
/// these prices.
pub fn blob_cheaper(data: &[u8], fees: L1Fees) -> bool {
    let zeros = data.iter().filter(|b| **b == 0).count() as u128;
    let calldata = (16 * (data.len() as u128 - zeros) + 4 * zeros) * fees.base_fee;
    let blob = 50_000 * fees.base_fee + 131_072 * fees.blob_base_fee;
    blob < calldata
}

fn witness_at(w: &BlockWitness, z: BlobFr) -> BlockWitness {
    BlockWitness { blob_z: z, ..w.clone() }
}

impl Operator {
    /// Puts blocks `first..first + lanes` (in flight, not yet committed) in one blob: each
    /// block's witness gets its lane's point, and the group is written with the blocks in flight
    /// (so a restart commits the same blob).
    pub fn place_in_blob(&mut self, first: u64, lanes: u16) -> Result<(), OperatorError> {
        let group = BlobGroup { first, lanes };
        self.apply_group(group)?;
        if let Some(s) = self.store() {
            for p in self.inflight().iter().filter(|p| p.blob == Some(group)) {
                s.put_inflight(&p.inflight_record())?;
            }
        }
        Ok(())
    }

    /// Gives the blocks of `group` their points (again, after a restart).
    pub(crate) fn apply_group(&mut self, group: BlobGroup) -> Result<(), OperatorError> {
        let range = group.first..group.first + group.lanes as u64;
        let blocks: Vec<&mut Prepared> = self.inflight_mut().iter_mut().filter(|p| range.contains(&p.number)).collect();
        if blocks.len() != group.lanes as usize {
            return Err(OperatorError::Diverged(format!("blob group {group:?} is not all in flight")));
        }
        let pubdatas: Vec<Vec<u8>> = blocks.iter().map(|p| pubdata(&p.witness.chunks())).collect();
        let plan = plan(&pubdatas).map_err(OperatorError::Kzg)?;
        for (p, z) in blocks.into_iter().zip(plan.points) {
            p.witness = std::sync::Arc::new(witness_at(&p.witness, z));
            p.blob = Some(group);
        }
        Ok(())
    }
}

impl Settler {
    /// Commits `ps` (one whole blob group, the first the next L1 lacks) with their blob.
    /// Returns each block's share of the gas.
    pub async fn commit_blob(&self, ps: &[Prepared]) -> Result<Vec<(B256, u64)>, OperatorError> {
        let pubdatas: Vec<Vec<u8>> = ps.iter().map(|p| pubdata(&p.witness.chunks())).collect();
        let plan = plan(&pubdatas).map_err(OperatorError::Kzg)?;
        if ps.iter().zip(&plan.points).any(|(p, z)| p.witness.blob_z != *z) {
            return Err(OperatorError::Diverged("a blob group's blocks were proven at other points".into()));
        }
        let kzg = point_proof(&plan).map_err(OperatorError::Kzg)?;
        let blocks = ps
            .iter()
            .map(|p| {
                let c = p.witness.commitment();
                ZkRollup::BlobBlock {
                    newRoot: field_to_u256(&p.witness.new_root),
                    dataHash: c.data_hash,
                    y: U256::from_be_bytes(blob::to_bytes(&c.y)),
                    ops: p.witness.onchain.iter().map(to_sol).collect(),
                }
            })
            .collect();
        let rollup = ZkRollup::new(self.rollup(), self.l1().provider());
        let gas = commit_gas_limit(ps.len());
        let mut tx = rollup.commitBlocksBlob(blocks, kzg).gas(gas).into_transaction_request();
        tx.set_blob_sidecar_4844(plan.sidecar);
        // The versioned hash (and a blob fee) let the simulation see `blobhash(0)`.
        tx.blob_versioned_hashes = Some(vec![plan.versioned_hash]);
        let tx = self.l1().fees().await?.price(tx);
        let (tx, gas, _) = self.send("commitBlocksBlob", tx).await?;
        Ok(vec![(tx, gas / ps.len() as u64); ps.len()])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blobs_win_only_past_a_few_kilobytes_at_equal_prices() {
        let fees = |base: u128, blob: u128| L1Fees { base_fee: base, blob_base_fee: blob, tip: 0 };
        let gwei = 1_000_000_000;
        // 4 blocks of 8 slots (384 bytes): calldata; of 128 slots (6,144 bytes): the blob.
        assert!(!blob_cheaper(&[1u8; 384], fees(gwei, 1)));
        assert!(blob_cheaper(&[1u8; 6144], fees(gwei, 1)));
        // A dear blob market turns it back.
        assert!(!blob_cheaper(&[1u8; 6144], fees(gwei, 10 * gwei)));
    }
}
