//! The operator as a service: a loop that follows L1 and settles blocks, and the JSON-RPC on which
//! wallets and the CLI reach it (127.0.0.1:9546 in the devnet).
//!
//! Methods (amounts are decimal strings, field elements 0x-hex):
//! - `zk_config()` → `{ rollup, domain, slots, accountLevels, balanceLevels, validium }`
//! - `zk_status()` → `{ root, blocks, pending, accounts }`
//! - `zk_getAccount(index | address)` → `{ index, address, nonce, nextNonce, pubkeyHash,
//!   balances: { token: amount } }` or `null`
//! - `zk_sendTransaction(tx)` → `{ seq }` once the transaction is on disk; a transaction that does
//!   not apply is refused with code -32602 and the reason
//! - `zk_getBlock(n)` → the verified block's record (root, gas, L1 transactions) or `null`

use std::{collections::BTreeMap, net::SocketAddr, sync::Arc, time::Duration};

use alloy::primitives::Address;
use aqueduct_zk_protocol::{SignedTx, fe};
use jsonrpsee::{
    RpcModule,
    server::{Server, ServerHandle},
    types::ErrorObjectOwned,
};
use serde_json::{Value, json};
use tokio::{sync::Mutex, task::JoinHandle};
use tracing::{error, warn};

use crate::operator::{Operator, SubmitError};

/// A running operator: its settlement loop and its JSON-RPC.
pub struct ZkService {
    pub operator: Arc<Mutex<Operator>>,
    pub rpc_addr: SocketAddr,
    server: ServerHandle,
    task: JoinHandle<()>,
}

impl ZkService {
    pub async fn stop(self) {
        self.task.abort();
        let _ = self.server.stop();
        self.server.stopped().await;
    }
}

/// Runs `operator`: settles a block whenever something waits (priority requests first), polling
/// L1 every `poll`; serves JSON-RPC on `addr`.
pub async fn serve_rpc(operator: Operator, addr: SocketAddr, poll: Duration) -> Result<ZkService, std::io::Error> {
    let config = {
        let settler = operator.settler();
        let p = settler.prover().params;
        json!({
            "rollup": operator.rollup(),
            "domain": p.domain,
            "slots": p.slots,
            "accountLevels": p.shape.account_levels,
            "balanceLevels": p.shape.balance_levels,
            "validium": settler.validium(),
        })
    };
    let operator = Arc::new(Mutex::new(operator));
    let mut m = RpcModule::new((operator.clone(), config));
    let bad = |e: String| ErrorObjectOwned::owned(-32602, e, None::<()>);
    let internal = |e: String| ErrorObjectOwned::owned(-32603, e, None::<()>);
    let r = |res: Result<(), jsonrpsee::core::RegisterMethodError>| res.expect("method names are unique");
    r(m.register_method("zk_config", |_, c, _| Ok::<_, ErrorObjectOwned>(c.1.clone())).map(|_| ()));
    r(m.register_async_method("zk_status", |_, c, _| async move {
        let op = c.0.lock().await;
        Ok::<_, ErrorObjectOwned>(json!({
            "root": fe::to_hex(&op.state().root()),
            "blocks": op.blocks(),
            "pending": op.pending(),
            "accounts": op.state().accounts().len(),
        }))
    })
    .map(|_| ()));
    r(m.register_async_method("zk_getAccount", move |p, c, _| async move {
        let (who,): (Value,) = p.parse().map_err(|e| bad(e.to_string()))?;
        let op = c.0.lock().await;
        let index = match &who {
            Value::Number(n) => {
                n.as_u64().and_then(|n| u32::try_from(n).ok()).ok_or_else(|| bad("bad index".into()))?
            }
            Value::String(s) => {
                let a: Address = s.parse().map_err(|_| bad(format!("{s} is not an address")))?;
                match op.state().index_of(a) {
                    Some(i) => i,
                    None => return Ok(Value::Null),
                }
            }
            _ => return Err(bad("an account index or an L1 address".into())),
        };
        let Some(acc) = op.state().account(index) else { return Ok(Value::Null) };
        let balances: BTreeMap<String, String> =
            acc.balances.iter().map(|(t, a)| (t.to_string(), a.to_string())).collect();
        Ok(json!({
            "index": index,
            "address": acc.address,
            "nonce": acc.nonce,
            "nextNonce": op.next_nonce(index),
            "pubkeyHash": fe::to_hex(&acc.pubkey_hash),
            "balances": balances,
        }))
    })
    .map(|_| ()));
    r(m.register_async_method("zk_sendTransaction", move |p, c, _| async move {
        let (tx,): (SignedTx,) = p.parse().map_err(|e| bad(e.to_string()))?;
        let mut op = c.0.lock().await;
        match op.submit(tx) {
            Ok(seq) => Ok(json!({ "seq": seq })),
            Err(e @ (SubmitError::Invalid(_) | SubmitError::TooMany { .. })) => Err(bad(e.to_string())),
            Err(e @ SubmitError::Store(_)) => Err(internal(e.to_string())),
        }
    })
    .map(|_| ()));
    r(m.register_async_method("zk_getBlock", move |p, c, _| async move {
        let (n,): (u64,) = p.parse().map_err(|e| bad(e.to_string()))?;
        let op = c.0.lock().await;
        let b = op.block(n).map_err(|e| internal(e.to_string()))?;
        Ok::<_, ErrorObjectOwned>(serde_json::to_value(b).unwrap_or(Value::Null))
    })
    .map(|_| ()));
    // As the chains' JSON-RPC: browsers on any origin may call it (CORS), and requests with
    // malformed ids get -32600 instead of a `null` body.
    let middleware = tower::ServiceBuilder::new()
        .layer(aqueduct_chain::rpc::cors_any_origin())
        .layer(aqueduct_chain::rpc::GuardLayer { max_body: MAX_REQUEST_BYTES });
    let server = Server::builder()
        .set_config(jsonrpsee::server::ServerConfig::builder().max_request_body_size(MAX_REQUEST_BYTES).build())
        .set_http_middleware(middleware)
        .build(addr)
        .await?;
    let rpc_addr = server.local_addr()?;
    let server = server.start(m);
    let task = tokio::spawn(run(operator.clone(), poll));
    Ok(ZkService { operator, rpc_addr, server, task })
}

/// Largest request the operator's JSON-RPC reads (jsonrpsee's default).
const MAX_REQUEST_BYTES: u32 = 10 * 1024 * 1024;

async fn run(operator: Arc<Mutex<Operator>>, poll: Duration) {
    loop {
        let (prepared, settler) = {
            let mut op = operator.lock().await;
            if let Err(e) = op.sync().await {
                warn!(target: "zk::operator", error = %e, "reading L1's priority queue");
            }
            (op.prepare(), op.settler())
        };
        let p = match prepared {
            Ok(Some(p)) => p,
            Ok(None) => {
                tokio::time::sleep(poll).await;
                continue;
            }
            Err(e) => {
                error!(target: "zk::operator", error = %e, "cannot build the next block");
                tokio::time::sleep(poll * 10).await;
                continue;
            }
        };
        match settler.settle(&p).await {
            Ok(s) => {
                if let Err(e) = operator.lock().await.finish(p, &s) {
                    error!(target: "zk::operator", error = %e, "recording a verified block");
                }
            }
            Err(e) => {
                warn!(target: "zk::operator", block = p.number, error = %e, "settling the block failed; retrying");
                tokio::time::sleep(poll * 4).await;
            }
        }
    }
}
