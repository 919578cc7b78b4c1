//! Our types as alloy's JSON-RPC types.

use alloy::{
    consensus::{Transaction as _, transaction::Recovered},
    primitives::{Address, B256, U256},
    rpc::types::{
        Block, BlockTransactions, Header as RpcHeader, Log as RpcLog, Transaction as RpcTx, TransactionReceipt,
        Withdrawals,
    },
};

use alloy::eips::eip2718::Encodable2718;
use alloy::primitives::{U64, U128};
use serde_json::{Value, json};

use crate::{
    block::{ChainTx, SealedBlock},
    rules::{L1Prices, L2Rules},
    tx::TxBody,
};

pub fn header(b: &SealedBlock) -> RpcHeader {
    RpcHeader {
        hash: b.hash,
        inner: b.header.clone(),
        total_difficulty: Some(U256::ZERO),
        size: Some(U256::from(b.size)),
    }
}

/// A transaction as JSON. Ethereum transactions in alloy's form; deposits in OP's (`type` 0x7e,
/// `sourceHash`, `mint`, `isSystemTx`, no signature).
pub fn transaction(b: &SealedBlock, i: usize) -> Value {
    let tx = &b.txs[i];
    let base = b.header.base_fee_per_gas.unwrap_or_default();
    let mut v = tx_json(tx);
    if let Some(o) = v.as_object_mut() {
        o.insert("blockHash".into(), json!(b.hash));
        o.insert("blockNumber".into(), json!(U64::from(b.number())));
        o.insert("transactionIndex".into(), json!(U64::from(i as u64)));
        o.insert("blockTimestamp".into(), json!(U64::from(b.header.timestamp)));
        o.insert("gasPrice".into(), json!(U128::from(tx.envelope.effective_gas_price(Some(base)))));
    }
    v
}

pub fn pending_transaction(tx: &ChainTx) -> Value {
    let mut v = tx_json(tx);
    if let Some(o) = v.as_object_mut() {
        for k in ["blockHash", "blockNumber", "transactionIndex", "blockTimestamp"] {
            o.insert(k.into(), Value::Null);
        }
    }
    v
}

fn tx_json(tx: &ChainTx) -> Value {
    match &tx.envelope {
        TxBody::Ethereum(e) => {
            let rpc = RpcTx {
                inner: Recovered::new_unchecked(e.clone(), tx.sender),
                block_hash: None,
                block_number: None,
                transaction_index: None,
                effective_gas_price: None,
                block_timestamp: None,
            };
            serde_json::to_value(rpc).unwrap_or(Value::Null)
        }
        TxBody::Deposit(d) => json!({
            "type": "0x7e",
            "hash": tx.hash,
            "sourceHash": d.source_hash,
            "from": d.from,
            "to": d.to.to(),
            "mint": U128::from(d.mint),
            "value": d.value,
            "gas": U64::from(d.gas_limit),
            "isSystemTx": d.is_system_transaction,
            "input": d.input,
            "nonce": "0x0",
            "gasPrice": "0x0",
            "v": "0x0", "r": "0x0", "s": "0x0",
        }),
    }
}

pub fn block(b: &SealedBlock, full: bool) -> Value {
    let rpc: Block<RpcTx, RpcHeader> = Block {
        header: header(b),
        uncles: vec![],
        transactions: BlockTransactions::Hashes(b.txs.iter().map(|t| t.hash).collect()),
        withdrawals: Some(Withdrawals::default()),
    };
    let mut v = serde_json::to_value(rpc).unwrap_or(Value::Null);
    if full && let Some(o) = v.as_object_mut() {
        o.insert("transactions".into(), Value::Array((0..b.txs.len()).map(|i| transaction(b, i)).collect()));
    }
    v
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

/// `blob_fee`: the block's blob base fee. L2 user transactions carry OP's L1 fee fields;
/// deposits their `depositNonce`.
pub fn receipt(b: &SealedBlock, i: usize, blob_fee: u128, l2: Option<&L2Rules>) -> Value {
    let tx = &b.txs[i];
    let r = &b.receipts[i];
    let prev = if i == 0 { 0 } else { b.receipts[i - 1].cumulative_gas_used() };
    let base = b.header.base_fee_per_gas.unwrap_or_default();
    let mut logs = logs_of(b, i, false).into_iter();
    let inner = r.to_envelope().map_logs(|_| logs.next().expect("one rpc log per log"));
    let blob_gas = tx.blob_count() * 131_072;
    let contract_address: Option<Address> = tx.envelope.kind().is_create().then(|| match r.deposit_nonce {
        Some(n) => tx.sender.create(n),
        None => tx.sender.create(tx.envelope.nonce()),
    });
    let rpc = TransactionReceipt {
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
    };
    let mut v = serde_json::to_value(rpc).unwrap_or(Value::Null);
    if let Some(o) = v.as_object_mut() {
        if let Some(n) = r.deposit_nonce {
            o.insert("type".into(), json!("0x7e"));
            o.insert("depositNonce".into(), json!(U64::from(n)));
            o.insert("depositReceiptVersion".into(), json!("0x1"));
        }
        if let (Some(fee), Some(l2)) = (r.l1_fee, l2) {
            let prices = L1Prices::from_extra_data(&b.header.extra_data).unwrap_or_default();
            let bytes = l2.l1_bytes(tx.envelope.encode_2718_len());
            o.insert("l1Fee".into(), json!(U128::from(fee)));
            o.insert("l1GasUsed".into(), json!(U64::from(bytes * 16)));
            o.insert("l1GasPrice".into(), json!(U128::from(prices.base_fee)));
            o.insert("l1BlobBaseFee".into(), json!(U128::from(prices.blob_base_fee)));
            o.insert("l1BaseFeeScalar".into(), json!(U64::from(l2.base_fee_scalar)));
            o.insert("l1BlobBaseFeeScalar".into(), json!(U64::from(l2.blob_base_fee_scalar)));
        }
    }
    v
}

pub fn hash_list(blocks: &[std::sync::Arc<SealedBlock>]) -> Vec<B256> {
    blocks.iter().map(|b| b.hash).collect()
}
