//! Chain errors as JSON-RPC errors, with the codes and messages Ethereum clients expect.

use alloy::primitives::hex;
use jsonrpsee::types::ErrorObjectOwned;

use crate::error::{ChainError, TxError};

/// JSON-RPC code for an EVM revert (geth's).
pub const REVERT_CODE: i32 = 3;
/// Server error for refused transactions and failed calls (geth's).
pub const SERVER_ERROR: i32 = -32000;
pub const INVALID_PARAMS: i32 = -32602;
pub const INTERNAL_ERROR: i32 = -32603;

pub fn rpc_err(code: i32, msg: impl Into<String>) -> ErrorObjectOwned {
    ErrorObjectOwned::owned(code, msg.into(), None::<()>)
}

pub fn invalid_params(msg: impl Into<String>) -> ErrorObjectOwned {
    rpc_err(INVALID_PARAMS, msg)
}

/// A refused transaction as geth answers it.
pub fn tx_err(e: TxError) -> ErrorObjectOwned {
    rpc_err(SERVER_ERROR, e.to_string())
}

/// A chain error with geth's code: reverts carry their data, refusals are server errors.
pub fn chain_err(e: ChainError) -> ErrorObjectOwned {
    match &e {
        ChainError::Reverted { data, .. } => {
            ErrorObjectOwned::owned(REVERT_CODE, e.to_string(), Some(hex::encode_prefixed(data)))
        }
        ChainError::Tx(t) => rpc_err(SERVER_ERROR, t.to_string()),
        ChainError::InvalidParams(m) => invalid_params(m.clone()),
        ChainError::Internal(m) => rpc_err(INTERNAL_ERROR, m.clone()),
        ChainError::State(_)
        | ChainError::Trie(_)
        | ChainError::Rlp { .. }
        | ChainError::Execution(_)
        | ChainError::Witness { .. }
        | ChainError::ChangedState { .. } => rpc_err(INTERNAL_ERROR, e.to_string()),
        ChainError::Stopped(_) | ChainError::Corrupt { .. } | ChainError::Unopenable { .. } | ChainError::Store(_) => {
            rpc_err(INTERNAL_ERROR, e.to_string())
        }
        ChainError::Halted(_) | ChainError::UnknownBlock => rpc_err(SERVER_ERROR, e.to_string()),
    }
}

/// Parses positional params into a tuple of `n` items, missing trailing items as null (so
/// `Option` params may be left out, as clients do).
pub fn parse_params<T: serde::de::DeserializeOwned>(
    p: &jsonrpsee::types::Params<'_>,
    n: usize,
) -> Result<T, ErrorObjectOwned> {
    let mut v: Vec<serde_json::Value> = if p.is_object() {
        return Err(invalid_params("positional params (an array) expected"));
    } else {
        p.parse::<Option<Vec<serde_json::Value>>>()?.unwrap_or_default()
    };
    if v.len() > n {
        return Err(invalid_params(format!("expected at most {n} params, got {}", v.len())));
    }
    v.resize(n, serde_json::Value::Null);
    serde_json::from_value(serde_json::Value::Array(v)).map_err(|e| invalid_params(format!("invalid params: {e}")))
}
