//! An HTTP layer in front of jsonrpsee for what it answers badly: a request whose `id` is an
//! object, an array or a number out of range got HTTP 200 with the body `null`; it gets
//! JSON-RPC's -32600, as geth and anvil answer. A subscription asked over plain HTTP gets a
//! message that says to use a WebSocket instead of "Internal error". A member given twice
//! (`"id":1,"id":2`) is an invalid request, and params that are neither an array nor an object
//! (`"params":"x"`) are invalid params, as geth answers, instead of being ignored.

use std::{
    future::Future,
    pin::Pin,
    task::{Context, Poll},
};

use bytes::Bytes;
use http_body_util::BodyExt;
use jsonrpsee::types::{ErrorObjectOwned, Id, Response, ResponsePayload};
use jsonrpsee::{
    core::BoxError,
    server::{HttpBody, HttpRequest, HttpResponse, ws::is_upgrade_request},
};
use serde::Deserialize;
use serde_json::{Value, value::RawValue};

const INVALID_REQUEST: i32 = -32600;
const METHOD_NOT_FOUND: i32 = -32601;
const INVALID_PARAMS: i32 = -32602;

/// Wraps the JSON-RPC service; `max_body` bounds what it reads (jsonrpsee's own limit).
#[derive(Clone, Copy, Debug)]
pub struct GuardLayer {
    pub max_body: u32,
}

impl<S> tower::Layer<S> for GuardLayer {
    type Service = Guard<S>;

    fn layer(&self, inner: S) -> Guard<S> {
        Guard { inner, max_body: self.max_body }
    }
}

#[derive(Clone, Debug)]
pub struct Guard<S> {
    inner: S,
    max_body: u32,
}

/// A JSON-RPC error response (jsonrpsee's own types, serialized).
fn error_response(id: Id<'static>, code: i32, message: String) -> String {
    let payload = ResponsePayload::<()>::error(ErrorObjectOwned::owned(code, message, None::<()>));
    serde_json::to_string(&Response::new(payload, id)).expect("a response serializes")
}

/// One call's envelope, read strictly: serde refuses a member given twice (`"id":1,"id":2`),
/// which `serde_json::Value` would silently collapse and jsonrpsee answers with `null`.
#[derive(Deserialize)]
struct Envelope {
    id: Option<Value>,
    method: Option<Value>,
    params: Option<Value>,
}

/// Why a request body is refused before jsonrpsee sees it, as a JSON-RPC error response.
pub fn refusal(body: &[u8]) -> Option<String> {
    let invalid = |why: String| Some(error_response(Id::Null, INVALID_REQUEST, format!("invalid request: {why}")));
    // Not JSON at all: jsonrpsee answers with a parse error.
    let raw: &RawValue = serde_json::from_slice(body).ok()?;
    let calls: Vec<&RawValue> = match serde_json::from_str(raw.get()) {
        Ok(batch) => batch,
        Err(_) => vec![raw],
    };
    for c in calls {
        let call: Envelope = match serde_json::from_str(c.get()) {
            Ok(call) => call,
            Err(e) if e.to_string().contains("duplicate field") || e.to_string().contains("out of range") => {
                return invalid(e.to_string());
            }
            // Not an object: jsonrpsee answers with its own invalid-request error.
            Err(_) => continue,
        };
        let id = match call.id {
            Some(Value::String(s)) => Id::Str(s.into()),
            Some(Value::Number(n)) => n.as_u64().map_or(Id::Null, Id::Number),
            None | Some(Value::Null) => Id::Null,
            Some(_) => return invalid("an id is a string, a number or null".into()),
        };
        if !matches!(call.params, None | Some(Value::Null | Value::Array(_) | Value::Object(_))) {
            let why = "invalid params: params are an array or an object";
            return Some(error_response(id, INVALID_PARAMS, why.into()));
        }
        if let Some(Value::String(m)) = call.method
            && matches!(m.as_str(), "eth_subscribe" | "eth_unsubscribe")
        {
            let why = format!(
                "{m} needs a WebSocket connection (ws:// on this same port); over HTTP, poll with eth_newFilter and eth_getFilterChanges"
            );
            return Some(error_response(id, METHOD_NOT_FOUND, why));
        }
    }
    None
}

fn json_response(status: u16, body: String) -> HttpResponse {
    http::Response::builder()
        .status(status)
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(HttpBody::from(body))
        .expect("a valid response")
}

impl<S, B> tower::Service<HttpRequest<B>> for Guard<S>
where
    S: tower::Service<HttpRequest<HttpBody>, Response = HttpResponse, Error = BoxError> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Response = HttpResponse;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: HttpRequest<B>) -> Self::Future {
        // The clone serves this request; the one polled ready stays for the next (tower's rule).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let max = self.max_body as usize;
        Box::pin(async move {
            if is_upgrade_request(&req) || req.method() != http::Method::POST {
                return inner.call(req.map(HttpBody::new)).await;
            }
            let too_large = || {
                Ok(json_response(
                    413,
                    error_response(Id::Null, INVALID_REQUEST, format!("request body over {max} bytes")),
                ))
            };
            let declared =
                req.headers().get(http::header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
            if declared.is_some_and(|n| n > max as u64) {
                return too_large();
            }
            let (parts, body) = req.into_parts();
            let bytes = match http_body_util::Limited::new(body, max).collect().await {
                Ok(c) => c.to_bytes(),
                Err(_) => return too_large(),
            };
            if let Some(e) = refusal(&bytes) {
                return Ok(json_response(200, e));
            }
            inner.call(HttpRequest::from_parts(parts, HttpBody::from(bytes.to_vec()))).await
        })
    }
}
