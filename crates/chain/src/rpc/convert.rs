//! Our types as alloy's JSON-RPC types.

use alloy::{
    consensus::{Transaction as _, transaction::Recovered},
    primitives::{Address, B256, U256},
    rpc::types::{
        Block, BlockTransactions, Header as RpcHeader, Log as RpcLog, Transaction as RpcTx, TransactionReceipt,
        Withdrawals,
    },
};

use crate::block::SealedBlock;

pub fn header(b: &SealedBlock) -> RpcHeader {
    RpcHeader {
        hash: b.hash,
        inner: b.header.clone(),
        total_difficulty: Some(U256::ZERO),
        size: Some(U256::from(b.size)),
    }
}

pub fn transaction(b: &SealedBlock, i: usize) -> RpcTx {
    let tx = &b.txs[i];
    let base = b.header.base_fee_per_gas.unwrap_or_default();
    RpcTx {
        inner: Recovered::new_unchecked(tx.envelope.clone(), tx.sender),
        block_hash: Some(b.hash),
        block_number: Some(b.number()),
        transaction_index: Some(i as u64),
        effective_gas_price: Some(tx.envelope.effective_gas_price(Some(base))),
        block_timestamp: Some(b.header.timestamp),
    }
}

pub fn pending_transaction(tx: &crate::block::ChainTx) -> RpcTx {
    RpcTx {
        inner: Recovered::new_unchecked(tx.envelope.clone(), tx.sender),
        block_hash: None,
        block_number: None,
        transaction_index: None,
        effective_gas_price: None,
        block_timestamp: None,
    }
}

pub fn block(b: &SealedBlock, full: bool) -> Block<RpcTx, RpcHeader> {
    let transactions = if full {
        BlockTransactions::Full((0..b.txs.len()).map(|i| transaction(b, i)).collect())
    } else {
        BlockTransactions::Hashes(b.txs.iter().map(|t| t.hash).collect())
    };
    Block { header: header(b), uncles: vec![], transactions, withdrawals: Some(Withdrawals::default()) }
}

/// Index of the first log of transaction `i` within the block.
fn first_log_index(b: &SealedBlock, i: usize) -> u64 {
    b.receipts[..i].iter().map(|r| r.logs().len() as u64).sum()
}

pub fn logs_of(b: &SealedBlock, i: usize, removed: bool) -> Vec<RpcLog> {
    let mut idx = first_log_index(b, i);
    b.receipts[i]
        .logs()
        .iter()
        .map(|l| {
            let log = RpcLog {
                inner: l.clone(),
                block_hash: Some(b.hash),
                block_number: Some(b.number()),
                block_timestamp: Some(b.header.timestamp),
                transaction_hash: Some(b.txs[i].hash),
                transaction_index: Some(i as u64),
                log_index: Some(idx),
                removed,
            };
            idx += 1;
            log
        })
        .collect()
}

/// `blob_fee`: the block's blob base fee.
pub fn receipt(b: &SealedBlock, i: usize, blob_fee: u128) -> TransactionReceipt {
    let tx = &b.txs[i];
    let r = &b.receipts[i];
    let prev = if i == 0 { 0 } else { b.receipts[i - 1].cumulative_gas_used() };
    let base = b.header.base_fee_per_gas.unwrap_or_default();
    let mut logs = logs_of(b, i, false).into_iter();
    let inner = r.clone().map_logs(|_| logs.next().expect("one rpc log per log"));
    let blob_gas = tx.blob_count() * 131_072;
    let contract_address: Option<Address> =
        tx.envelope.kind().is_create().then(|| tx.sender.create(tx.envelope.nonce()));
    TransactionReceipt {
        inner,
        transaction_hash: tx.hash,
        transaction_index: Some(i as u64),
        block_hash: Some(b.hash),
        block_number: Some(b.number()),
        gas_used: r.cumulative_gas_used() - prev,
        effective_gas_price: tx.envelope.effective_gas_price(Some(base)),
        blob_gas_used: (blob_gas > 0).then_some(blob_gas),
        blob_gas_price: (blob_gas > 0).then_some(blob_fee),
        from: tx.sender,
        to: tx.envelope.to(),
        contract_address,
    }
}

pub fn hash_list(blocks: &[std::sync::Arc<SealedBlock>]) -> Vec<B256> {
    blocks.iter().map(|b| b.hash).collect()
}
