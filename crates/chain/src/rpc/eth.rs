//! `eth_*`, `net_*` and `web3_*` methods.

use std::sync::Arc;

use alloy::{
    consensus::{SignableTransaction, TxEnvelope},
    eips::{BlockId, BlockNumberOrTag},
    network::TxSignerSync,
    primitives::{Address, B256, Bytes, Signature, TxKind, U64, U256},
    rpc::types::{
        EIP1186AccountProofResponse, EIP1186StorageProof, FeeHistory, TransactionRequest, state::StateOverride,
    },
    serde::JsonStorageKey,
};
use jsonrpsee::{RpcModule, types::ErrorObjectOwned};
use revm::context::{TxEnv, result::ExecutionResult};

use super::{
    RpcContext, convert,
    error::parse_params,
    error::{SERVER_ERROR, chain_err, invalid_params, rpc_err, tx_err},
};
use crate::{
    chain::{BlockRef, CallArgs, Chain, OverrideTarget, revert_error},
    error::{ChainError, TxError},
};

type RpcResult<T> = Result<T, ErrorObjectOwned>;

pub fn block_ref(id: Option<BlockId>) -> BlockRef {
    match id {
        None => BlockRef::Latest,
        Some(BlockId::Hash(h)) => BlockRef::Hash(h.block_hash),
        Some(BlockId::Number(n)) => tag_ref(n),
    }
}

pub fn tag_ref(n: BlockNumberOrTag) -> BlockRef {
    match n {
        BlockNumberOrTag::Latest => BlockRef::Latest,
        BlockNumberOrTag::Pending => BlockRef::Pending,
        BlockNumberOrTag::Safe => BlockRef::Safe,
        BlockNumberOrTag::Finalized => BlockRef::Finalized,
        BlockNumberOrTag::Earliest => BlockRef::Earliest,
        BlockNumberOrTag::Number(n) => BlockRef::Number(n),
    }
}

/// revm's call environment for a JSON-RPC transaction request.
pub fn call_env(req: &TransactionRequest) -> TxEnv {
    let blob_hashes = req.blob_versioned_hashes.clone().unwrap_or_default();
    let dynamic = req.max_fee_per_gas.is_some() || req.max_priority_fee_per_gas.is_some();
    let tx_type = if !blob_hashes.is_empty() {
        3
    } else if dynamic {
        2
    } else if req.access_list.is_some() && req.gas_price.is_some() {
        1
    } else {
        0
    };
    let gas_price = req.gas_price.or(req.max_fee_per_gas).or(req.max_priority_fee_per_gas).unwrap_or(0);
    TxEnv {
        tx_type,
        caller: req.from.unwrap_or_default(),
        gas_limit: req.gas.unwrap_or(0),
        gas_price,
        kind: req.to.unwrap_or(TxKind::Create),
        value: req.value.unwrap_or_default(),
        data: req.input.input().cloned().unwrap_or_default(),
        nonce: req.nonce.unwrap_or(0),
        chain_id: None,
        access_list: req.access_list.clone().unwrap_or_default(),
        gas_priority_fee: if tx_type >= 2 {
            Some(req.max_priority_fee_per_gas.unwrap_or(0).min(gas_price))
        } else {
            None
        },
        blob_hashes,
        max_fee_per_blob_gas: req.max_fee_per_blob_gas.unwrap_or(0),
        ..Default::default()
    }
}

pub fn call_args(req: &TransactionRequest, overrides: Option<StateOverride>) -> CallArgs {
    let overrides = overrides.unwrap_or_default();
    CallArgs {
        tx: call_env(req),
        overrides: Arc::new(move |t: &mut dyn OverrideTarget| {
            for (addr, o) in &overrides {
                if o.balance.is_some() || o.nonce.is_some() {
                    let (b, n) = (o.balance, o.nonce);
                    t.set_account(*addr, &mut |a| {
                        if let Some(b) = b {
                            a.balance = b;
                        }
                        if let Some(n) = n {
                            a.nonce = n;
                        }
                    })?;
                }
                if let Some(code) = &o.code {
                    t.set_code(*addr, code.clone())?;
                }
                if o.state.is_some() && o.state_diff.is_some() {
                    return Err(ChainError::InvalidParams("both state and stateDiff given for one account".into()));
                }
                if let Some(state) = &o.state {
                    t.replace_storage(
                        *addr,
                        state.iter().map(|(k, v)| (U256::from_be_bytes(k.0), U256::from_be_bytes(v.0))).collect(),
                    );
                }
                if let Some(diff) = &o.state_diff {
                    for (k, v) in diff {
                        t.set_storage(*addr, U256::from_be_bytes(k.0), U256::from_be_bytes(v.0));
                    }
                }
            }
            Ok(())
        }),
    }
}

fn call_output(r: ExecutionResult) -> Result<Bytes, ChainError> {
    match r {
        ExecutionResult::Success { output, .. } => Ok(output.into_data()),
        ExecutionResult::Revert { output, .. } => Err(revert_error(output)),
        ExecutionResult::Halt { reason, .. } => Err(ChainError::Halted(reason)),
    }
}

fn refuse_if_read_only(c: &RpcContext) -> RpcResult<()> {
    match &c.config.read_only {
        Some(to) => Err(ErrorObjectOwned::owned(
            super::error::SERVER_ERROR,
            format!("read-only node: send transactions to {to}"),
            None::<()>,
        )),
        None => Ok(()),
    }
}

fn block_or_null(chain: &Chain, r: BlockRef, full: bool) -> Option<serde_json::Value> {
    chain.block(r).map(|b| convert::block(&b, full))
}

/// Fills nonce, gas, fees and chain id of a request as a wallet would.
fn fill_request(chain: &Chain, mut req: TransactionRequest) -> RpcResult<TransactionRequest> {
    let from = req.from.ok_or_else(|| invalid_params("missing `from`"))?;
    req.chain_id.get_or_insert(chain.rules().chain_id);
    if req.nonce.is_none() {
        req.nonce = Some(chain.next_nonce(from));
    }
    let (base_fee, blob_fee) = chain.next_fees();
    if req.gas_price.is_none() {
        let tip = req.max_priority_fee_per_gas.unwrap_or(chain.rules().suggested_tip);
        req.max_priority_fee_per_gas = Some(tip);
        req.max_fee_per_gas.get_or_insert(2 * base_fee as u128 + tip);
    }
    if req.blob_versioned_hashes.is_some() {
        req.max_fee_per_blob_gas.get_or_insert(2 * blob_fee.max(1));
    }
    if req.gas.is_none() {
        let gas = chain.estimate_gas(&call_args(&req, None), BlockRef::Pending).map_err(chain_err)?;
        req.gas = Some(gas);
    }
    if req.to.is_none() {
        req.to = Some(TxKind::Create);
    }
    Ok(req)
}

fn send_transaction(ctx: &RpcContext, req: TransactionRequest) -> RpcResult<B256> {
    let chain = &ctx.chain;
    let req = fill_request(chain, req)?;
    let from = req.from.expect("checked by fill_request");
    let mut typed = req.build_typed_tx().map_err(|_| invalid_params("incomplete transaction request"))?;
    let env: TxEnvelope = if let Some(signer) = ctx.signers.iter().find(|s| s.address() == from) {
        let sig = signer.sign_transaction_sync(&mut typed).map_err(|e| rpc_err(SERVER_ERROR, e.to_string()))?;
        typed.into_signed(sig).into()
    } else if chain.is_impersonated(&from) {
        // A placeholder signature unique to the sender; the sender is taken as given.
        let sig = Signature::new(U256::from_be_slice(from.as_slice()), U256::from(1), false);
        typed.into_signed(sig).into()
    } else {
        return Err(tx_err(TxError::UnknownAccount(from)));
    };
    chain.submit(env, from).map_err(tx_err)
}

/// Most reward percentiles one `eth_feeHistory` may ask for (geth's bound).
pub const MAX_REWARD_PERCENTILES: usize = 100;

fn fee_history(
    chain: &Chain,
    count: u64,
    newest: BlockNumberOrTag,
    percentiles: Option<Vec<f64>>,
) -> RpcResult<FeeHistory> {
    let count = count.clamp(1, 1024);
    if let Some(ps) = &percentiles {
        if ps.len() > MAX_REWARD_PERCENTILES {
            return Err(invalid_params(format!(
                "{} reward percentiles asked; at most {MAX_REWARD_PERCENTILES} are allowed",
                ps.len()
            )));
        }
        if ps.iter().any(|p| !(0.0..=100.0).contains(p)) || ps.windows(2).any(|w| w[0] > w[1]) {
            return Err(invalid_params("reward percentiles must rise monotonically within 0 to 100"));
        }
    }
    let newest = chain.block_number(tag_ref(newest)).ok_or_else(|| rpc_err(SERVER_ERROR, "header not found"))?;
    let oldest = newest.saturating_sub(count - 1);
    let blocks = chain.blocks(oldest, newest);
    let rules = chain.rules();
    let mut fh = FeeHistory { oldest_block: oldest, ..Default::default() };
    for b in &blocks {
        let h = &b.header;
        let base = h.base_fee_per_gas.unwrap_or_default();
        fh.base_fee_per_gas.push(base as u128);
        fh.gas_used_ratio.push(h.gas_used as f64 / h.gas_limit.max(1) as f64);
        fh.base_fee_per_blob_gas.push(rules.blob_base_fee(h.excess_blob_gas.unwrap_or(0)));
        let max_blob = rules.blob_params.map(|p| p.max_blob_gas_per_block()).unwrap_or(0);
        fh.blob_gas_used_ratio.push(if max_blob == 0 {
            0.0
        } else {
            h.blob_gas_used.unwrap_or(0) as f64 / max_blob as f64
        });
        if let Some(ps) = &percentiles {
            let mut tips: Vec<(u128, u64)> = b
                .txs
                .iter()
                .enumerate()
                .map(|(i, t)| {
                    let prev = if i == 0 { 0 } else { b.receipts[i - 1].cumulative_gas_used() };
                    let used = b.receipts[i].cumulative_gas_used() - prev;
                    (t.effective_tip(base).unwrap_or(0), used)
                })
                .collect();
            tips.sort_unstable();
            let total: u64 = tips.iter().map(|t| t.1).sum();
            let reward = ps
                .iter()
                .map(|p| {
                    if tips.is_empty() {
                        return 0;
                    }
                    let threshold = (total as f64 * p / 100.0) as u64;
                    let mut acc = 0;
                    for (tip, used) in &tips {
                        acc += used;
                        if acc >= threshold {
                            return *tip;
                        }
                    }
                    tips.last().map(|t| t.0).unwrap_or(0)
                })
                .collect();
            fh.reward.get_or_insert_with(Vec::new).push(reward);
        }
    }
    if let Some(last) = blocks.last() {
        let h = &last.header;
        fh.base_fee_per_gas
            .push(rules.next_base_fee(h.gas_used, h.gas_limit, h.base_fee_per_gas.unwrap_or_default()) as u128);
        fh.base_fee_per_blob_gas.push(
            rules.blob_base_fee(
                rules.next_excess_blob_gas(h.excess_blob_gas.unwrap_or(0), h.blob_gas_used.unwrap_or(0)),
            ),
        );
    }
    Ok(fh)
}

pub fn register(m: &mut RpcModule<RpcContext>) {
    let r = |res: Result<(), jsonrpsee::core::RegisterMethodError>| res.expect("method names are unique");

    r(m.register_method("web3_clientVersion", |_, c, _| {
        Ok::<_, ErrorObjectOwned>(c.chain.rules().client_version.clone())
    })
    .map(|_| ()));
    r(m.register_method("web3_sha3", |p, _, _| -> RpcResult<B256> {
        let (data,): (Bytes,) = parse_params(&p, 1)?;
        Ok(alloy::primitives::keccak256(data))
    })
    .map(|_| ()));
    r(m.register_method("net_version", |_, c, _| Ok::<_, ErrorObjectOwned>(c.chain.rules().chain_id.to_string()))
        .map(|_| ()));
    r(m.register_method("net_listening", |_, _, _| Ok::<_, ErrorObjectOwned>(true)).map(|_| ()));
    r(m.register_method("net_peerCount", |_, _, _| Ok::<_, ErrorObjectOwned>(U64::ZERO)).map(|_| ()));
    r(m.register_method("eth_chainId", |_, c, _| Ok::<_, ErrorObjectOwned>(U64::from(c.chain.rules().chain_id)))
        .map(|_| ()));
    r(m.register_method("eth_blockNumber", |_, c, _| Ok::<_, ErrorObjectOwned>(U64::from(c.chain.head().number())))
        .map(|_| ()));
    r(m.register_method("eth_syncing", |_, _, _| Ok::<_, ErrorObjectOwned>(false)).map(|_| ()));
    r(m.register_method("eth_mining", |_, _, _| Ok::<_, ErrorObjectOwned>(true)).map(|_| ()));
    r(m.register_method("eth_coinbase", |_, c, _| Ok::<_, ErrorObjectOwned>(c.chain.config().beneficiary)).map(|_| ()));
    r(m.register_method("eth_accounts", |_, c, _| {
        Ok::<_, ErrorObjectOwned>(c.signers.iter().map(|s| s.address()).collect::<Vec<Address>>())
    })
    .map(|_| ()));

    r(m.register_method("eth_getBalance", |p, c, _| -> RpcResult<U256> {
        let (a, b): (Address, Option<BlockId>) = parse_params(&p, 2)?;
        Ok(c.chain.account(a, block_ref(b)).map_err(chain_err)?.map(|a| a.balance).unwrap_or_default())
    })
    .map(|_| ()));
    r(m.register_method("eth_getTransactionCount", |p, c, _| -> RpcResult<U64> {
        let (a, b): (Address, Option<BlockId>) = parse_params(&p, 2)?;
        let r = block_ref(b);
        if r == BlockRef::Pending {
            return Ok(U64::from(c.chain.next_nonce(a)));
        }
        Ok(U64::from(c.chain.account(a, r).map_err(chain_err)?.map(|a| a.nonce).unwrap_or_default()))
    })
    .map(|_| ()));
    r(m.register_method("eth_getCode", |p, c, _| -> RpcResult<Bytes> {
        let (a, b): (Address, Option<BlockId>) = parse_params(&p, 2)?;
        c.chain
            .with_state(block_ref(b), |s| -> Result<Bytes, ChainError> {
                let Some(acc) = s.account(&a)? else {
                    return Ok(Bytes::new());
                };
                Ok(s.code(&acc.code_hash).unwrap_or_default())
            })
            .map_err(chain_err)?
            .map_err(chain_err)
    })
    .map(|_| ()));
    r(m.register_method("eth_getStorageAt", |p, c, _| -> RpcResult<B256> {
        let (a, slot, b): (Address, JsonStorageKey, Option<BlockId>) = parse_params(&p, 3)?;
        let slot = U256::from_be_bytes(slot.as_b256().0);
        let v = c
            .chain
            .with_state(block_ref(b), |s| s.storage(&a, &slot))
            .map_err(chain_err)?
            .map_err(ChainError::from)
            .map_err(chain_err)?;
        Ok(B256::from(v.to_be_bytes::<32>()))
    })
    .map(|_| ()));
    r(m.register_blocking_method("eth_call", |p, c, _| -> RpcResult<Bytes> {
        let (req, b, o): (TransactionRequest, Option<BlockId>, Option<StateOverride>) = parse_params(&p, 3)?;
        let res = c.chain.call(&call_args(&req, o), block_ref(b)).map_err(chain_err)?;
        call_output(res).map_err(chain_err)
    })
    .map(|_| ()));
    r(m.register_blocking_method("eth_estimateGas", |p, c, _| -> RpcResult<U64> {
        let (req, b, o): (TransactionRequest, Option<BlockId>, Option<StateOverride>) = parse_params(&p, 3)?;
        Ok(U64::from(c.chain.estimate_gas(&call_args(&req, o), block_ref(b)).map_err(chain_err)?))
    })
    .map(|_| ()));
    r(m.register_method("eth_gasPrice", |_, c, _| {
        let (base, _) = c.chain.next_fees();
        Ok::<_, ErrorObjectOwned>(U256::from(base as u128 + c.chain.rules().suggested_tip))
    })
    .map(|_| ()));
    r(m.register_method("eth_maxPriorityFeePerGas", |_, c, _| {
        Ok::<_, ErrorObjectOwned>(U256::from(c.chain.rules().suggested_tip))
    })
    .map(|_| ()));
    r(m.register_method("eth_blobBaseFee", |_, c, _| Ok::<_, ErrorObjectOwned>(U256::from(c.chain.next_fees().1)))
        .map(|_| ()));
    r(m.register_method("eth_feeHistory", |p, c, _| -> RpcResult<FeeHistory> {
        let (count, newest, ps): (U64, BlockNumberOrTag, Option<Vec<f64>>) = parse_params(&p, 3)?;
        fee_history(&c.chain, count.to(), newest, ps)
    })
    .map(|_| ()));
    r(m.register_blocking_method("eth_sendRawTransaction", |p, c, _| -> RpcResult<B256> {
        let (raw,): (Bytes,) = parse_params(&p, 1)?;
        refuse_if_read_only(&c)?;
        c.chain.send_raw(&raw).map_err(tx_err)
    })
    .map(|_| ()));
    r(m.register_blocking_method("eth_sendTransaction", |p, c, _| -> RpcResult<B256> {
        let (req,): (TransactionRequest,) = parse_params(&p, 1)?;
        refuse_if_read_only(&c)?;
        send_transaction(&c, req)
    })
    .map(|_| ()));
    r(m.register_method("eth_getTransactionByHash", |p, c, _| -> RpcResult<Option<serde_json::Value>> {
        let (h,): (B256,) = parse_params(&p, 1)?;
        if let Some((b, i)) = c.chain.transaction(&h) {
            return Ok(Some(convert::transaction(&b, i)));
        }
        Ok(c.chain.pending_transaction(&h).map(|t| convert::pending_transaction(&t)))
    })
    .map(|_| ()));
    r(m.register_method("eth_getTransactionReceipt", |p, c, _| -> RpcResult<Option<serde_json::Value>> {
        let (h,): (B256,) = parse_params(&p, 1)?;
        Ok(c.chain
            .transaction(&h)
            .map(|(b, i)| convert::receipt(&b, i, blob_fee(&c.chain, &b), c.chain.rules().l2.as_ref())))
    })
    .map(|_| ()));
    r(m.register_method("eth_getBlockByNumber", |p, c, _| -> RpcResult<Option<serde_json::Value>> {
        let (n, full): (BlockNumberOrTag, Option<bool>) = parse_params(&p, 2)?;
        Ok(block_or_null(&c.chain, tag_ref(n), full.unwrap_or(false)))
    })
    .map(|_| ()));
    r(m.register_method("eth_getBlockByHash", |p, c, _| -> RpcResult<Option<serde_json::Value>> {
        let (h, full): (B256, Option<bool>) = parse_params(&p, 2)?;
        Ok(block_or_null(&c.chain, BlockRef::Hash(h), full.unwrap_or(false)))
    })
    .map(|_| ()));
    r(m.register_method("eth_getBlockReceipts", |p, c, _| -> RpcResult<Option<Vec<serde_json::Value>>> {
        let (b,): (BlockId,) = parse_params(&p, 1)?;
        Ok(c.chain.block(block_ref(Some(b))).map(|b| {
            let fee = blob_fee(&c.chain, &b);
            (0..b.txs.len()).map(|i| convert::receipt(&b, i, fee, c.chain.rules().l2.as_ref())).collect()
        }))
    })
    .map(|_| ()));
    r(m.register_method("eth_getBlockTransactionCountByNumber", |p, c, _| -> RpcResult<Option<U64>> {
        let (n,): (BlockNumberOrTag,) = parse_params(&p, 1)?;
        Ok(c.chain.block(tag_ref(n)).map(|b| U64::from(b.txs.len())))
    })
    .map(|_| ()));
    r(m.register_method("eth_getBlockTransactionCountByHash", |p, c, _| -> RpcResult<Option<U64>> {
        let (h,): (B256,) = parse_params(&p, 1)?;
        Ok(c.chain.block(BlockRef::Hash(h)).map(|b| U64::from(b.txs.len())))
    })
    .map(|_| ()));
    // No uncles since the merge: a known block has none, an unknown one is null (as geth).
    r(m.register_method("eth_getUncleCountByBlockNumber", |p, c, _| -> RpcResult<Option<U64>> {
        let (n,): (BlockNumberOrTag,) = parse_params(&p, 1)?;
        Ok(c.chain.block(tag_ref(n)).map(|_| U64::ZERO))
    })
    .map(|_| ()));
    r(m.register_method("eth_getUncleCountByBlockHash", |p, c, _| -> RpcResult<Option<U64>> {
        let (h,): (B256,) = parse_params(&p, 1)?;
        Ok(c.chain.block(BlockRef::Hash(h)).map(|_| U64::ZERO))
    })
    .map(|_| ()));
    for name in ["eth_getUncleByBlockNumberAndIndex", "eth_getUncleByBlockHashAndIndex"] {
        r(m.register_method(name, |_, _, _| Ok::<_, ErrorObjectOwned>(serde_json::Value::Null)).map(|_| ()));
    }
    r(m.register_method(
        "eth_getTransactionByBlockNumberAndIndex",
        |p, c, _| -> RpcResult<Option<serde_json::Value>> {
            let (n, i): (BlockNumberOrTag, U64) = parse_params(&p, 2)?;
            let i = i.to::<usize>();
            Ok(c.chain.block(tag_ref(n)).filter(|b| i < b.txs.len()).map(|b| convert::transaction(&b, i)))
        },
    )
    .map(|_| ()));
    r(m.register_method("eth_getTransactionByBlockHashAndIndex", |p, c, _| -> RpcResult<Option<serde_json::Value>> {
        let (h, i): (B256, U64) = parse_params(&p, 2)?;
        let i = i.to::<usize>();
        Ok(c.chain.block(BlockRef::Hash(h)).filter(|b| i < b.txs.len()).map(|b| convert::transaction(&b, i)))
    })
    .map(|_| ()));
    r(m.register_method("eth_getProof", |p, c, _| -> RpcResult<EIP1186AccountProofResponse> {
        let (address, keys, b): (Address, Vec<JsonStorageKey>, Option<BlockId>) = parse_params(&p, 3)?;
        let slots: Vec<B256> = keys.iter().map(|k| k.as_b256()).collect();
        let pr = c.chain.proof(address, &slots, block_ref(b)).map_err(chain_err)?;
        Ok(EIP1186AccountProofResponse {
            address,
            balance: pr.account.balance,
            code_hash: pr.account.code_hash,
            nonce: pr.account.nonce,
            storage_hash: pr.account.storage_root,
            account_proof: pr.account_proof,
            storage_proof: keys
                .into_iter()
                .zip(pr.storage)
                .map(|(key, (_, value, proof))| EIP1186StorageProof { key, value, proof })
                .collect(),
        })
    })
    .map(|_| ()));
    r(m.register_method("txpool_status", |_, c, _| {
        let (pending, queued) = c.chain.pool_counts();
        Ok::<_, ErrorObjectOwned>(serde_json::json!({"pending": U64::from(pending), "queued": U64::from(queued)}))
    })
    .map(|_| ()));
    r(m.register_method("aqueduct_getBlob", |p, c, _| -> RpcResult<Option<Bytes>> {
        let (h,): (B256,) = parse_params(&p, 1)?;
        Ok(c.chain.blob(&h).map_err(chain_err)?.map(Bytes::from))
    })
    .map(|_| ()));
}

/// Blob base fee of a block.
pub fn blob_fee(chain: &Chain, b: &crate::block::SealedBlock) -> u128 {
    chain.rules().blob_base_fee(b.header.excess_blob_gas.unwrap_or(0))
}
