//! Re-execution methods: `debug_traceTransaction`, `debug_traceCall` (geth's tracers, so cast,
//! forge and block explorers show traces) and `eth_createAccessList`.

use alloy::{
    eips::BlockId,
    primitives::{B256, U256},
    rpc::types::{
        AccessListResult, TransactionRequest,
        trace::geth::{GethDebugTracingCallOptions, GethDebugTracingOptions, GethTrace},
    },
};
use jsonrpsee::{RpcModule, types::ErrorObjectOwned};

use super::{
    RpcContext,
    error::{SERVER_ERROR, chain_err, parse_params, rpc_err},
    eth::{block_ref, call_args},
};

type RpcResult<T> = Result<T, ErrorObjectOwned>;

pub fn register(m: &mut RpcModule<RpcContext>) {
    let r = |res: Result<(), jsonrpsee::core::RegisterMethodError>| res.expect("method names are unique");

    r(m.register_blocking_method("debug_traceTransaction", |p, c, _| -> RpcResult<GethTrace> {
        let (hash, opts): (B256, Option<GethDebugTracingOptions>) = parse_params(&p, 2)?;
        c.chain
            .trace_transaction(hash, opts.unwrap_or_default())
            .map_err(chain_err)?
            .ok_or_else(|| rpc_err(SERVER_ERROR, format!("transaction {hash} not found")))
    })
    .map(|_| ()));
    r(m.register_blocking_method("debug_traceCall", |p, c, _| -> RpcResult<GethTrace> {
        let (req, b, opts): (TransactionRequest, Option<BlockId>, Option<GethDebugTracingCallOptions>) =
            parse_params(&p, 3)?;
        let opts = opts.unwrap_or_default();
        if opts.block_overrides.is_some() {
            return Err(rpc_err(SERVER_ERROR, "debug_traceCall: block overrides are not supported"));
        }
        c.chain
            .trace_call(&call_args(&req, opts.state_overrides), block_ref(b), opts.tracing_options)
            .map_err(chain_err)
    })
    .map(|_| ()));
    r(m.register_blocking_method("eth_createAccessList", |p, c, _| -> RpcResult<AccessListResult> {
        let (req, b): (TransactionRequest, Option<BlockId>) = parse_params(&p, 2)?;
        let out = c.chain.create_access_list(&call_args(&req, None), block_ref(b)).map_err(chain_err)?;
        Ok(AccessListResult { access_list: out.access_list, gas_used: U256::from(out.gas_used), error: out.error })
    })
    .map(|_| ()));
}
