//! A JSON-RPC client for the load generators: jsonrpsee's HTTP client (keep-alive, many requests
//! in flight), calling any method by name with JSON params, as a benchmark replays a workload.

use jsonrpsee::{
    core::{client::ClientT, traits::ToRpcParams},
    http_client::{HttpClient, HttpClientBuilder},
};
use serde_json::{Value, value::RawValue};

#[derive(Debug, thiserror::Error)]
pub enum RpcError {
    #[error("transport: {0}")]
    Transport(jsonrpsee::core::ClientError),
    #[error("JSON-RPC error {code}: {message}")]
    Rpc { code: i64, message: String },
    #[error("bad response to {method}: expected a quantity, got {got}")]
    Bad { method: String, got: Value },
}

impl From<jsonrpsee::core::ClientError> for RpcError {
    fn from(e: jsonrpsee::core::ClientError) -> Self {
        match e {
            jsonrpsee::core::ClientError::Call(e) => Self::Rpc { code: e.code().into(), message: e.message().into() },
            e => Self::Transport(e),
        }
    }
}

/// Requests a benchmark keeps in flight on one client at most.
const MAX_IN_FLIGHT: usize = 4096;

/// Talks to one endpoint.
pub struct RpcClient {
    http: HttpClient,
    url: String,
}

/// Params as given: an array (positional) or an object (named).
struct Params(Value);

impl ToRpcParams for Params {
    fn to_rpc_params(self) -> Result<Option<Box<RawValue>>, serde_json::Error> {
        match self.0 {
            Value::Null => Ok(None),
            v => serde_json::value::to_raw_value(&v).map(Some),
        }
    }
}

impl RpcClient {
    pub fn new(url: &str) -> Self {
        let http = HttpClientBuilder::default()
            .max_concurrent_requests(MAX_IN_FLIGHT)
            .max_response_size(u32::MAX)
            .build(url)
            .unwrap_or_else(|e| panic!("{url} is not an HTTP URL: {e}"));
        Self { http, url: url.to_string() }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub async fn call(&self, method: &str, params: Value) -> Result<Value, RpcError> {
        Ok(self.http.request::<Value, _>(method, Params(params)).await?)
    }

    pub async fn u64(&self, method: &str, params: Value) -> Result<u64, RpcError> {
        let v = self.call(method, params).await?;
        let bad = || RpcError::Bad { method: method.to_string(), got: v.clone() };
        let s = v.as_str().ok_or_else(bad)?;
        u64::from_str_radix(s.trim_start_matches("0x"), 16).map_err(|_| bad())
    }
}
