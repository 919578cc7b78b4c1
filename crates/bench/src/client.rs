//! A minimal JSON-RPC client over HTTP (keep-alive, many requests in flight).

use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{Value, json};

#[derive(Debug, thiserror::Error)]
pub enum RpcError {
    #[error("transport: {0}")]
    Transport(String),
    #[error("JSON-RPC error {code}: {message}")]
    Rpc { code: i64, message: String },
    #[error("bad response: {0}")]
    Bad(String),
}

/// Talks to one endpoint.
pub struct RpcClient {
    http: reqwest::Client,
    url: String,
    id: AtomicU64,
}

impl RpcClient {
    pub fn new(url: &str) -> Self {
        let http = reqwest::Client::builder().pool_max_idle_per_host(512).build().expect("a client without TLS builds");
        Self { http, url: url.to_string(), id: AtomicU64::new(1) }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub async fn call(&self, method: &str, params: Value) -> Result<Value, RpcError> {
        let id = self.id.fetch_add(1, Ordering::Relaxed);
        let body = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        let resp =
            self.http.post(&self.url).json(&body).send().await.map_err(|e| RpcError::Transport(e.to_string()))?;
        let v: Value = resp.json().await.map_err(|e| RpcError::Transport(e.to_string()))?;
        if let Some(err) = v.get("error") {
            return Err(RpcError::Rpc {
                code: err.get("code").and_then(Value::as_i64).unwrap_or(0),
                message: err.get("message").and_then(Value::as_str).unwrap_or("").to_string(),
            });
        }
        v.get("result").cloned().ok_or_else(|| RpcError::Bad(format!("no result in {v}")))
    }

    pub async fn u64(&self, method: &str, params: Value) -> Result<u64, RpcError> {
        let v = self.call(method, params).await?;
        let s = v.as_str().ok_or_else(|| RpcError::Bad(format!("{method}: expected a quantity, got {v}")))?;
        u64::from_str_radix(s.trim_start_matches("0x"), 16).map_err(|e| RpcError::Bad(e.to_string()))
    }
}
