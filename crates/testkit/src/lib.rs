//! What Aqueduct's tests share (one kit instead of a copy per test folder): the embedded L1 in a
//! test with funded signers, waiting until something holds, child processes that die with the
//! test, free ports, the repository's installed tools, and a JSON-RPC client for checks
//! (jsonrpsee's: no hand-built envelopes).

use std::{
    future::Future,
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use alloy::primitives::U256;
pub mod browser;

pub use aqueduct_l1::{DEV_MNEMONIC, Devnet, L1Config, dev_signers};
use jsonrpsee::{
    core::{
        ClientError,
        client::{BatchResponse, ClientT},
        params::BatchRequestBuilder,
        traits::ToRpcParams,
    },
    http_client::{HttpClient, HttpClientBuilder},
};
use serde_json::{Value, json, value::RawValue};

/// The repository's root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).ancestors().nth(2).expect("crates/testkit sits two levels down").to_path_buf()
}

/// A tool `scripts/tools.sh` installed (anvil, forge, cast, solc, node, …).
pub fn tool(name: &str) -> PathBuf {
    let p = repo().join(".tools/bin").join(name);
    assert!(p.exists(), "{} is missing: run scripts/tools.sh (the test command does)", p.display());
    p
}

/// A loopback port nothing listens on now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Blocks until something accepts connections on `port`; fails the test after `secs`.
pub fn wait_port(port: u16, secs: u64, what: &str) {
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(start.elapsed() < Duration::from_secs(secs), "{what} did not come up on port {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Blocks, polling `f` every 200 ms until it returns `Some`; fails the test after `secs`.
pub fn until<T>(what: &str, secs: u64, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(start.elapsed() < Duration::from_secs(secs), "timed out after {secs} s waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Waits, polling the future `f` makes every 100 ms until it gives true; fails the test after
/// `secs`.
pub async fn eventually<Fut: Future<Output = bool>>(what: &str, secs: u64, mut f: impl FnMut() -> Fut) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        if f().await {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "timed out after {secs} s waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// As [`eventually`], for a check that needs no waiting of its own.
pub async fn eventually_holds(what: &str, secs: u64, mut f: impl FnMut() -> bool) {
    eventually(what, secs, || std::future::ready(f())).await
}

/// The embedded L1 for a test: mines on each transaction, data in `dir/l1`, JSON-RPC on a free
/// port, the mnemonic's accounts funded (`devnet.signers`). With `execute`, the optimistic
/// rollup's EXECUTE precompile is installed (fault proofs end in it).
pub async fn embedded_l1(dir: &Path, execute: bool) -> Devnet {
    let mut cfg = L1Config::instant(&dir.join("l1"));
    if execute {
        cfg.extra_precompiles = vec![aqueduct_rollup_protocol::execute_precompile()];
    }
    Devnet::start(cfg, true).await.expect("the embedded L1 starts")
}

/// Test devnets run side by side: each one's dashboard takes a free port unless the test names
/// one with `--dashboard-addr`, and the plasma chain, the sidechain and the fast bridge are left
/// out unless the test asks for them (`--no-plasma=false`, …: their deployments would race the
/// test's own transactions from the deployer's account, and cost every test their start-up; a
/// flag overrides the environment).
const DASHBOARD_ENV: (&str, &str) = ("AQUEDUCT_DASHBOARD_ADDR", "127.0.0.1:0");
const PLASMA_ENV: (&str, &str) = ("AQUEDUCT_NO_PLASMA", "true");
const SIDECHAIN_ENV: (&str, &str) = ("AQUEDUCT_NO_SIDECHAIN", "true");
const FASTBRIDGE_ENV: (&str, &str) = ("AQUEDUCT_NO_FASTBRIDGE", "true");

/// `bin args…` in `cwd` with the test environment (no backtraces, the devnet settings above).
fn command(bin: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(bin);
    c.args(args)
        .env("RUST_BACKTRACE", "0")
        .env(DASHBOARD_ENV.0, DASHBOARD_ENV.1)
        .env(PLASMA_ENV.0, PLASMA_ENV.1)
        .env(SIDECHAIN_ENV.0, SIDECHAIN_ENV.1)
        .env(FASTBRIDGE_ENV.0, FASTBRIDGE_ENV.1);
    c
}

/// A child process, killed (SIGKILL) when dropped.
pub struct Proc {
    pub child: Child,
    pub name: String,
}

impl Proc {
    /// Starts `bin args…` with its output in `log` (a file, so a failing test can show it).
    pub fn spawn(bin: &Path, args: &[&str], log: &Path) -> Self {
        let out = std::fs::File::create(log).unwrap();
        let child = command(bin, args)
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .stdin(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", bin.display()));
        Self { child, name: format!("{} {}", bin.display(), args.join(" ")) }
    }

    /// SIGINT (Ctrl-C), then waits for the process to exit.
    pub fn interrupt(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-INT", &pid]).status().unwrap();
        self.child.wait().unwrap()
    }

    /// Waits up to `secs` for the process to exit by itself.
    pub fn exited_within(&mut self, secs: u64) -> Option<std::process::ExitStatus> {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(secs) {
            if let Some(s) = self.child.try_wait().unwrap() {
                return Some(s);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        None
    }

    /// SIGKILL: no shutdown path runs.
    pub fn kill9(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs a command and returns its trimmed stdout; fails the test on a non-zero exit.
pub fn run_bin(bin: &Path, args: &[&str], cwd: &Path) -> String {
    let out = command(bin, args).current_dir(cwd).output().unwrap();
    assert!(
        out.status.success(),
        "{} {args:?} failed:\n{}\n{}",
        bin.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Runs a command that may fail: (success, stdout, stderr).
pub fn try_run(bin: &Path, args: &[&str], cwd: &Path) -> (bool, String, String) {
    let out = command(bin, args).current_dir(cwd).output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).trim().to_string(),
        String::from_utf8_lossy(&out.stderr).trim().to_string(),
    )
}

/// Params as given: a JSON array (positional) or object (named).
struct Params(Value);

impl ToRpcParams for Params {
    fn to_rpc_params(self) -> Result<Option<Box<RawValue>>, serde_json::Error> {
        serde_json::value::to_raw_value(&self.0).map(Some)
    }
}

/// An error as the test reads it: the error object's JSON (`{"code":…,"message":…}`) when the
/// node answered one, else why it could not be reached.
fn describe(e: ClientError) -> String {
    match e {
        ClientError::Call(e) => serde_json::to_string(&e).unwrap_or_else(|_| e.to_string()),
        e => e.to_string(),
    }
}

/// A client that opens a connection per request (`Connection: close`): the processes tests talk
/// to are killed and restarted, and a pooled connection to a dead one fails the next request.
fn http_client(url: &str) -> HttpClient {
    let mut headers = jsonrpsee::http_client::HeaderMap::new();
    headers.insert("connection", jsonrpsee::http_client::HeaderValue::from_static("close"));
    HttpClientBuilder::default()
        .set_headers(headers)
        .max_response_size(u32::MAX)
        .request_timeout(Duration::from_secs(120))
        .build(url)
        .unwrap_or_else(|e| panic!("{url}: {e}"))
}

/// JSON-RPC for checks from async tests.
pub struct AsyncRpc {
    http: HttpClient,
    pub url: String,
}

impl AsyncRpc {
    pub fn new(url: &str) -> Self {
        Self { http: http_client(url), url: url.to_string() }
    }

    pub async fn call(&self, method: &str, params: Value) -> Result<Value, String> {
        self.http.request::<Value, _>(method, Params(params)).await.map_err(describe)
    }

    pub async fn balance(&self, a: alloy::primitives::Address) -> U256 {
        let v = self.call("eth_getBalance", json!([a, "latest"])).await.unwrap();
        serde_json::from_value(v).unwrap()
    }
}

/// JSON-RPC for checks from tests without an async runtime of their own (process tests).
pub struct Rpc {
    http: HttpClient,
    url: String,
    rt: tokio::runtime::Runtime,
}

impl Rpc {
    pub fn new(port: u16) -> Self {
        Self::at(&format!("http://127.0.0.1:{port}"))
    }

    pub fn at(url: &str) -> Self {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        // The client's connection pool lives on this runtime.
        let http = rt.block_on(async { http_client(url) });
        Self { http, url: url.to_string(), rt }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn try_call(&self, method: &str, params: Value) -> Result<Value, String> {
        self.rt.block_on(self.http.request::<Value, _>(method, Params(params))).map_err(describe)
    }

    pub fn call(&self, method: &str, params: Value) -> Value {
        self.try_call(method, params).unwrap_or_else(|e| panic!("{method} on {}: {e}", self.url))
    }

    /// Many calls in one JSON-RPC batch; an entry that failed reads as null.
    pub fn batch(&self, calls: &[(&str, Value)]) -> Result<Vec<Value>, String> {
        let mut b = BatchRequestBuilder::new();
        for (m, p) in calls {
            let p = match p {
                Value::Array(items) => {
                    let mut a = jsonrpsee::core::params::ArrayParams::new();
                    for i in items {
                        a.insert(i).map_err(|e| e.to_string())?;
                    }
                    a
                }
                other => return Err(format!("batch params must be arrays, got {other}")),
            };
            b.insert(m, p).map_err(|e| e.to_string())?;
        }
        let r: BatchResponse<'_, Value> = self.rt.block_on(self.http.batch_request(b)).map_err(describe)?;
        Ok(r.into_iter().map(|x| x.unwrap_or(Value::Null)).collect())
    }

    pub fn u64(&self, method: &str, params: Value) -> u64 {
        let v = self.call(method, params);
        u64::from_str_radix(v.as_str().unwrap().trim_start_matches("0x"), 16).unwrap()
    }

    pub fn head(&self) -> u64 {
        self.u64("eth_blockNumber", json!([]))
    }

    pub fn block_hash(&self, n: u64) -> Option<String> {
        let b = self.try_call("eth_getBlockByNumber", json!([format!("0x{n:x}"), false])).ok()?;
        b["hash"].as_str().map(str::to_string)
    }

    pub fn balance(&self, a: &str) -> U256 {
        self.call("eth_getBalance", json!([a, "latest"])).as_str().unwrap().parse().unwrap()
    }
}
