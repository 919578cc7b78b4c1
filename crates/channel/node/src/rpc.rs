//! The node's control JSON-RPC (the `aqueduct channel` CLI talks to it; bind it to loopback).
//!
//! Amounts are decimal strings in the token's smallest unit (wei for ETH).
//! - `channel_info()` → `{ address, listen, adjudicator, chainId }`
//! - `channel_connect(hostPort)` → the peer's address
//! - `channel_open(peer, amount, peerAmount, token?, challengePeriod?)` → the channel id, once
//!   both deposits are on L1
//! - `channel_pay(peerOrChannelId, amount)` → `{ channel, version }` once the counterparty has
//!   countersigned and the state is on disk
//! - `channel_invoice(amount)` → `{ hash, payee }`
//! - `channel_payInvoice(payee, hash, amount)` → `{ hash, preimage, hops, fee }` (multi-hop)
//! - `channel_close(channelId, force?)` → `{ tx, gas, block }`: cooperative, or on L1 alone
//! - `channel_list()` → every channel with its balances and state

use std::{net::SocketAddr, sync::Arc};

use alloy::primitives::{Address, B256, U256};
use jsonrpsee::{
    RpcModule,
    server::{Server, ServerHandle},
    types::ErrorObjectOwned,
};
use serde_json::{Value, json};

use crate::node::{Node, NodeError};

fn bad(e: impl ToString) -> ErrorObjectOwned {
    ErrorObjectOwned::owned(-32602, e.to_string(), None::<()>)
}

fn failed(e: NodeError) -> ErrorObjectOwned {
    match e {
        NodeError::Refused(m) => ErrorObjectOwned::owned(-32000, m, None::<()>),
        e => ErrorObjectOwned::owned(-32603, e.to_string(), None::<()>),
    }
}

fn amount(v: &Value) -> Result<u128, ErrorObjectOwned> {
    let s = match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => return Err(bad("an amount is a decimal string")),
    };
    s.parse::<u128>().map_err(|_| bad(format!("invalid amount {s:?}")))
}

/// Serves the control API for `node` on `addr`.
pub async fn serve_control(node: Arc<Node>, addr: SocketAddr) -> Result<(ServerHandle, SocketAddr), std::io::Error> {
    let mut m = RpcModule::new(node);
    let r = |res: Result<(), jsonrpsee::core::RegisterMethodError>| res.expect("method names are unique");
    r(m.register_method("channel_info", |_, n, _| {
        Ok::<_, ErrorObjectOwned>(json!({
            "address": n.address(),
            "listen": n.listen_addr().to_string(),
            "adjudicator": n.domain.adjudicator,
            "chainId": n.domain.chain_id,
        }))
    })
    .map(|_| ()));
    r(m.register_async_method("channel_connect", |p, n, _| async move {
        let (addr,): (String,) = p.parse().map_err(bad)?;
        let peer = n.connect(&addr).await.map_err(failed)?;
        Ok::<_, ErrorObjectOwned>(json!(peer))
    })
    .map(|_| ()));
    r(m.register_async_method("channel_open", |p, n, _| async move {
        let v: Vec<Value> = p.parse().map_err(bad)?;
        let peer: Address = serde_json::from_value(v.first().cloned().unwrap_or_default()).map_err(bad)?;
        let ours = amount(v.get(1).unwrap_or(&Value::Null))?;
        let theirs = match v.get(2) {
            Some(x) => amount(x)?,
            None => 0,
        };
        let token: Address = match v.get(3) {
            Some(Value::Null) | None => Address::ZERO,
            Some(x) => serde_json::from_value(x.clone()).map_err(bad)?,
        };
        let period = match v.get(4) {
            None | Some(Value::Null) => 3600,
            Some(x) => x
                .as_u64()
                .and_then(|p| u32::try_from(p).ok())
                .ok_or_else(|| bad(format!("challenge period {x} is not a whole number of seconds below 2^32")))?,
        };
        let id = n.open(peer, token, ours, theirs, period).await.map_err(failed)?;
        Ok::<_, ErrorObjectOwned>(json!(id))
    })
    .map(|_| ()));
    r(m.register_async_method("channel_pay", |p, n, _| async move {
        let v: Vec<Value> = p.parse().map_err(bad)?;
        let target = v.first().and_then(Value::as_str).ok_or_else(|| bad("a peer address or channel id"))?;
        let id = if let Ok(peer) = target.parse::<Address>() {
            n.channel_with(peer).ok_or_else(|| bad(format!("no open channel with {peer}")))?
        } else {
            target.parse::<U256>().map_err(bad)?
        };
        n.pay(id, amount(v.get(1).unwrap_or(&Value::Null))?).await.map_err(failed)?;
        let version = n.latest_state(id).map(|s| s.state.version);
        Ok::<_, ErrorObjectOwned>(json!({ "channel": id, "version": version }))
    })
    .map(|_| ()));
    r(m.register_method("channel_invoice", |p, n, _| {
        let v: Vec<Value> = p.parse().map_err(bad)?;
        let hash = n.invoice(amount(v.first().unwrap_or(&Value::Null))?);
        Ok::<_, ErrorObjectOwned>(json!({ "hash": hash, "payee": n.address() }))
    })
    .map(|_| ()));
    r(m.register_async_method("channel_payInvoice", |p, n, _| async move {
        let v: Vec<Value> = p.parse().map_err(bad)?;
        let payee: Address = serde_json::from_value(v.first().cloned().unwrap_or_default()).map_err(bad)?;
        let hash: B256 = serde_json::from_value(v.get(1).cloned().unwrap_or_default()).map_err(bad)?;
        let r = n.pay_invoice(payee, hash, amount(v.get(2).unwrap_or(&Value::Null))?).await.map_err(failed)?;
        Ok::<_, ErrorObjectOwned>(json!(r))
    })
    .map(|_| ()));
    r(m.register_async_method("channel_close", |p, n, _| async move {
        let v: Vec<Value> = p.parse().map_err(bad)?;
        let id: U256 = serde_json::from_value(v.first().cloned().unwrap_or_default()).map_err(bad)?;
        let force = v.get(1).and_then(Value::as_bool).unwrap_or(false);
        let sent = if force { n.force_close(id).await } else { n.close(id).await }.map_err(failed)?;
        Ok::<_, ErrorObjectOwned>(json!(sent))
    })
    .map(|_| ()));
    r(m.register_method("channel_list", |_, n, _| Ok::<_, ErrorObjectOwned>(json!(n.channels()))).map(|_| ()));
    let server = Server::builder().build(addr).await?;
    let local = server.local_addr()?;
    Ok((server.start(m), local))
}
