//! Ethereum JSON-RPC over HTTP and WebSocket on one port (jsonrpsee).

mod convert;
mod debug;
mod dev;
mod error;
mod eth;
mod filters;
mod guard;
mod sign;

use std::{net::SocketAddr, sync::Arc};

use alloy::signers::local::PrivateKeySigner;
use jsonrpsee::{
    RpcModule,
    server::{BatchRequestConfig, IdProvider, Server, ServerConfig, ServerHandle},
    types::SubscriptionId,
};

pub use convert::{
    block as rpc_block, header as rpc_header, logs_of, receipt as rpc_receipt, transaction as rpc_transaction,
};
pub use error::{INVALID_PARAMS, REVERT_CODE, SERVER_ERROR};
pub use guard::{GuardLayer, refusal};

use crate::chain::Chain;

/// Limits and options of the JSON-RPC server.
#[derive(Clone, Debug)]
pub struct RpcConfig {
    pub addr: SocketAddr,
    pub max_request_bytes: u32,
    pub max_response_bytes: u32,
    pub max_batch: u32,
    pub max_connections: u32,
    /// Most blocks one `eth_getLogs` may scan.
    pub max_log_range: u64,
    /// Refuse transactions (a verifier node): where to send them instead, for the error message.
    pub read_only: Option<String>,
    /// Answer CORS preflights and let browser pages from any origin call (as anvil does): a dapp
    /// served from another origin can use the devnet.
    pub cors_any_origin: bool,
}

impl Default for RpcConfig {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 8545)),
            max_request_bytes: 16 * 1024 * 1024,
            max_response_bytes: 128 * 1024 * 1024,
            max_batch: 1_000,
            max_connections: 1_000,
            max_log_range: 10_000,
            read_only: None,
            cors_any_origin: true,
        }
    }
}

/// Subscription ids as Ethereum clients expect them: 0x-prefixed hex strings, unique within the
/// process (a counter) and not guessable across restarts (a random prefix).
#[derive(Debug)]
struct HexIds {
    prefix: u64,
    next: std::sync::atomic::AtomicU64,
}

impl HexIds {
    fn new() -> Self {
        use std::hash::{BuildHasher, Hasher};
        // RandomState is seeded from the OS's randomness.
        let prefix = std::collections::hash_map::RandomState::new().build_hasher().finish();
        Self { prefix, next: std::sync::atomic::AtomicU64::new(1) }
    }
}

impl IdProvider for HexIds {
    fn next_id(&self) -> SubscriptionId<'static> {
        let n = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        SubscriptionId::Str(format!("0x{:016x}{n:016x}", self.prefix).into())
    }
}

/// Everything the RPC handlers share.
pub struct RpcContext {
    pub chain: Arc<Chain>,
    /// Unlocked dev accounts for `eth_sendTransaction` and `eth_accounts`.
    pub signers: Vec<PrivateKeySigner>,
    pub config: RpcConfig,
    filters: filters::Filters,
}

/// Builds the module with every method this chain serves.
pub fn module(chain: Arc<Chain>, signers: Vec<PrivateKeySigner>, config: RpcConfig) -> RpcModule<RpcContext> {
    let dev = chain.rules().dev_methods;
    let mut m = RpcModule::new(RpcContext { chain, signers, config, filters: filters::Filters::default() });
    eth::register(&mut m);
    debug::register(&mut m);
    sign::register(&mut m);
    filters::register(&mut m);
    if dev {
        dev::register(&mut m);
    }
    m
}

/// Serves a service's own JSON-RPC `module` on `addr` the way the chains serve theirs: browsers
/// on any origin may call it (CORS), requests over `max_body` bytes are refused and malformed ids
/// get -32600. Returns the handle and the bound address.
pub async fn serve_module<Ctx: Send + Sync + 'static>(
    addr: SocketAddr,
    module: jsonrpsee::RpcModule<Ctx>,
    max_body: u32,
) -> std::io::Result<(ServerHandle, SocketAddr)> {
    let middleware = tower::ServiceBuilder::new().layer(cors_any_origin()).layer(GuardLayer { max_body });
    let server = Server::builder()
        .set_config(ServerConfig::builder().max_request_body_size(max_body).build())
        .set_http_middleware(middleware)
        .build(addr)
        .await?;
    let bound = server.local_addr()?;
    Ok((server.start(module), bound))
}

/// CORS for a devnet, as anvil answers: preflights answered, any origin may call (browser dapps
/// served from elsewhere). Every Aqueduct JSON-RPC a browser may reach uses it.
pub fn cors_any_origin() -> tower_http::cors::CorsLayer {
    tower_http::cors::CorsLayer::new()
        .allow_origin(tower_http::cors::Any)
        .allow_methods([http::Method::POST, http::Method::GET, http::Method::OPTIONS])
        .allow_headers(tower_http::cors::Any)
}

/// Starts the server; it runs until the handle is stopped.
pub async fn serve(
    chain: Arc<Chain>,
    signers: Vec<PrivateKeySigner>,
    config: RpcConfig,
) -> std::io::Result<(SocketAddr, ServerHandle)> {
    serve_extended(chain, signers, config, jsonrpsee::Methods::new()).await
}

/// [`serve`] with a service's own methods on the same port (a sidechain validator's
/// `sidechain_*` next to its Ethereum JSON-RPC). A name the chain already serves is refused.
pub async fn serve_extended(
    chain: Arc<Chain>,
    signers: Vec<PrivateKeySigner>,
    config: RpcConfig,
    extra: jsonrpsee::Methods,
) -> std::io::Result<(SocketAddr, ServerHandle)> {
    let server_config = ServerConfig::builder()
        .max_request_body_size(config.max_request_bytes)
        .max_response_body_size(config.max_response_bytes)
        .max_connections(config.max_connections)
        .set_batch_request_config(BatchRequestConfig::Limit(config.max_batch))
        .set_id_provider(HexIds::new())
        .build();
    let cors = config.cors_any_origin.then(cors_any_origin);
    let guard =
        tower::ServiceBuilder::new().option_layer(cors).layer(GuardLayer { max_body: config.max_request_bytes });
    let server = Server::builder().set_config(server_config).set_http_middleware(guard).build(config.addr).await?;
    let addr = server.local_addr()?;
    let stopped = chain.stopped();
    let mut methods = module(chain, signers, config);
    methods.merge(extra).map_err(std::io::Error::other)?;
    let handle = server.start(methods);
    // A chain that stopped (its store failed) serves nothing more: no client may read state that
    // no stored block holds, and a health check sees the port close.
    let h = handle.clone();
    tokio::spawn(async move {
        tokio::select! {
            _ = stopped.cancelled() => { let _ = h.stop(); }
            _ = h.clone().stopped() => {}
        }
    });
    Ok((addr, handle))
}
