//! The ZK bench's block-size sweep: for each size its key, one block proven and landed in
//! rollup and in validium mode (time, memory, gas), and the commitment of a batch and of a full
//! blob measured on L1 ([`commit_shares`]).

use std::time::Instant;

use alloy::signers::local::PrivateKeySigner;
use aqueduct_eth::L1Client;
use aqueduct_zk_circuit::CircuitParams;
use aqueduct_zk_node::{DataAvailability, load_prover};
use aqueduct_zk_protocol::{CHUNK_BYTES, TreeShape, blob};

use crate::{
    zk::{ZkBenchError, ZkBenchOptions, run_mode, start_committee},
    zk_commit::{CommitShares, commit_shares},
};

/// One block size of the sweep.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SizeRow {
    pub slots: usize,
    pub onchain_slots: usize,
    pub constraints: usize,
    pub keygen_seconds: f64,
    pub keygen_peak_gib: f64,
    pub prove_seconds: f64,
    pub prove_cpu_seconds_per_transfer: f64,
    pub prove_peak_gib: f64,
    pub commit_gas: u64,
    pub verify_gas: u64,
    pub gas_per_transfer: f64,
    pub commit_gas_per_transfer: f64,
    pub verify_gas_per_transfer: f64,
    pub validium_commit_gas_per_transfer: f64,
    pub validium_verify_gas_per_transfer: f64,
    /// Committing `aggregate` blocks in one transaction, in calldata and in one blob.
    pub commit_batch: CommitShares,
    /// Committing as many blocks as one blob carries (at most 64), both ways.
    pub commit_full_blob: CommitShares,
}

/// Resets this process's peak resident memory (Linux `clear_refs`; nothing elsewhere).
fn reset_peak_memory() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// This process's peak resident memory since the last reset, in GiB (`VmHWM`; zero elsewhere).
fn peak_memory_gib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
        .unwrap_or(0.0);
    kib / (1024.0 * 1024.0)
}

/// Measures blocks of `slots`: the key (generated or loaded), then, in rollup and in validium
/// mode on `l1`, two users' deposits and key changes, one block of transfers and a withdrawal,
/// each proven and landed; the transfers' blocks give the figures.
pub(crate) async fn measure_size(
    l1: &L1Client,
    signers: &[PrivateKeySigner],
    b: &ZkBenchOptions,
    chain_id: u64,
    slots: usize,
    dir: &std::path::Path,
) -> Result<(SizeRow, Vec<jsonrpsee::server::ServerHandle>), ZkBenchError> {
    std::fs::create_dir_all(dir)?;
    let shape = TreeShape { account_levels: b.account_levels, balance_levels: b.balance_levels };
    let params = CircuitParams::new(shape, slots, chain_id);
    let constraints = tokio::task::spawn_blocking(move || params.constraints()).await?;
    eprintln!("size {slots}: {constraints} constraints ({} on-chain slots)", params.onchain_slots);
    reset_peak_memory();
    let started = Instant::now();
    let prover = load_prover(b.keys_dir.clone(), params).await?;
    // The matrices are built once per process: counted with the key, not with each proof.
    let p = prover.clone();
    tokio::task::spawn_blocking(move || p.build_matrices()).await??;
    let keygen_seconds = started.elapsed().as_secs_f64();
    let keygen_peak_gib = peak_memory_gib();
    reset_peak_memory();
    let one = ZkBenchOptions { slots, blocks: 1, users: 2, sizes: vec![], duration: 0, ..b.clone() };
    let m = run_mode(l1, signers, &prover, &one, DataAvailability::Rollup, vec![], dir.join("r.redb")).await?;
    let prove_peak_gib = peak_memory_gib();
    let r = m.blocks.first().ok_or(ZkBenchError::Missing("block"))?;
    let t = r.transfers.max(1) as f64;
    let (da, committee, handles) = start_committee(l1, signers, chain_id, &dir.join("dac")).await?;
    let v = run_mode(l1, signers, &prover, &one, da, committee, dir.join("v.redb")).await?;
    let vr = v.blocks.first().ok_or(ZkBenchError::Missing("block"))?;
    let vt = vr.transfers.max(1) as f64;
    let commit_batch = commit_shares(l1, signers, &prover, b.aggregate.max(1), dir).await?;
    let full = blob::max_lanes(slots * CHUNK_BYTES).min(64);
    let commit_full_blob = commit_shares(l1, signers, &prover, full, dir).await?;
    let row = SizeRow {
        slots,
        onchain_slots: params.onchain_slots,
        constraints,
        keygen_seconds,
        keygen_peak_gib,
        prove_seconds: r.prove_seconds,
        prove_cpu_seconds_per_transfer: r.prove_cpu_seconds / t,
        prove_peak_gib,
        commit_gas: r.commit_gas,
        verify_gas: r.verify_gas,
        gas_per_transfer: (r.commit_gas + r.verify_gas) as f64 / t,
        commit_gas_per_transfer: r.commit_gas as f64 / t,
        verify_gas_per_transfer: r.verify_gas as f64 / t,
        validium_commit_gas_per_transfer: vr.commit_gas as f64 / vt,
        validium_verify_gas_per_transfer: vr.verify_gas as f64 / vt,
        commit_batch,
        commit_full_blob,
    };
    Ok((row, handles))
}

/// Prints the sweep's tables: what was measured at each size, then L1 gas per transfer with
/// `aggregate` proofs a verification (derived from the measured marginal `further`) and the
/// commitment measured for a batch and a full blob.
pub(crate) fn print_sweep(sweep: &[SizeRow], aggregate: usize, further: Option<f64>) {
    let b_aggregate = aggregate;
    if !sweep.is_empty() {
        println!(
            "\nBlock sizes (one block of transfers each in rollup and in validium mode; prove figures: the rollup's; peak = this process's resident memory; keygen: key generated or loaded plus the constraint matrices built, once a process)"
        );
        println!(
            "  {:>6} {:>8} {:>11} {:>9} {:>9} {:>9} {:>11} {:>9} {:>10} {:>10} {:>10} {:>11}",
            "slots",
            "onchain",
            "constraints",
            "keygen s",
            "keygen GiB",
            "prove s",
            "CPU-s/tx",
            "prove GiB",
            "gas/tx",
            "commit/tx",
            "verify/tx",
            "validium/tx"
        );
        let k = b_aggregate.max(1) as f64;
        for r in sweep {
            println!(
                "  {:>6} {:>8} {:>11} {:>9.1} {:>9.2} {:>9.1} {:>11.2} {:>9.2} {:>10.0} {:>10.0} {:>10.0} {:>11}",
                r.slots,
                r.onchain_slots,
                r.constraints,
                r.keygen_seconds,
                r.keygen_peak_gib,
                r.prove_seconds,
                r.prove_cpu_seconds_per_transfer,
                r.prove_peak_gib,
                r.gas_per_transfer,
                r.commit_gas_per_transfer,
                r.verify_gas_per_transfer,
                format!(
                    "{:.0} ({:.0}+{:.0})",
                    r.validium_commit_gas_per_transfer + r.validium_verify_gas_per_transfer,
                    r.validium_commit_gas_per_transfer,
                    r.validium_verify_gas_per_transfer
                )
            );
        }
        if let Some(g) = further {
            // Derived, not measured at these sizes: the size's measured commitment per transfer
            // plus its proof's check shared with k - 1 further proofs at the measured marginal.
            println!(
                "  with {k:.0} proofs an L1 verification (derived from the measured marginal {g:.0} gas a further proof):"
            );
            for r in sweep {
                let t = r.slots as f64;
                let verify = (r.verify_gas as f64 + (k - 1.0) * g) / (k * t);
                let vverify = (r.validium_verify_gas_per_transfer * t + (k - 1.0) * g) / (k * t);
                println!(
                    "  {:>6} slots: rollup {:>6.0} gas/tx ({:.0} commitment + {:.0} verification), validium {:>6.0} ({:.0} + {:.0})",
                    r.slots,
                    r.commit_gas_per_transfer + verify,
                    r.commit_gas_per_transfer,
                    verify,
                    r.validium_commit_gas_per_transfer + vverify,
                    r.validium_commit_gas_per_transfer,
                    vverify
                );
            }
        }
    }
    if sweep.is_empty() {
        return;
    }
    println!(
        "\nCommitment measured for a batch (commitBlocks / commitBlocksBlob, no proof needed to commit), per transfer; verification: {aggregate} proofs a proveBlocks{}",
        if further.is_some() { " (derived as above)" } else { " (one proof alone: no sustained run)" }
    );
    println!(
        "  {:>6} {:>7} {:>12} {:>12} {:>12} {:>11} {:>12} {:>14} {:>14}",
        "slots", "blocks", "calldata", "blob", "blob gas", "verify", "total cd", "total blob", "blob fill"
    );
    let k = aggregate.max(1) as f64;
    for r in sweep {
        let t = r.slots as f64;
        let verify = match further {
            Some(g) => (r.verify_gas as f64 + (k - 1.0) * g) / (k * t),
            None => r.verify_gas_per_transfer,
        };
        for c in [&r.commit_batch, &r.commit_full_blob] {
            println!(
                "  {:>6} {:>7} {:>12.0} {:>12.0} {:>12.1} {:>11.0} {:>12.0} {:>14} {:>13.1}%",
                r.slots,
                c.blocks,
                c.calldata_gas_per_transfer,
                c.blob_gas_per_transfer,
                c.blob_blob_gas_per_transfer,
                verify,
                c.calldata_gas_per_transfer + verify,
                format!("{:.0} + {:.1} blob", c.blob_gas_per_transfer + verify, c.blob_blob_gas_per_transfer),
                100.0 * c.blob_bytes as f64 / 126_976.0
            );
        }
    }
}
