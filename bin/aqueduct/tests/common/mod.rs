//! Helpers shared by the process-level tests: the repository, the installed Foundry tools,
//! child processes that die with the test, free ports.

#![allow(dead_code)]

use alloy::primitives::U256;
use serde_json::{Value, json};
use std::{
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

pub const KEY0: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
pub const ADDR0: &str = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";
pub const ADDR1: &str = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).ancestors().nth(2).unwrap().to_path_buf()
}

pub fn tool(name: &str) -> PathBuf {
    let p = repo().join(".tools/bin").join(name);
    assert!(p.exists(), "{} is missing: run scripts/tools.sh (the test command does)", p.display());
    p
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

pub fn wait_port(port: u16, secs: u64, what: &str) {
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(start.elapsed() < Duration::from_secs(secs), "{what} did not come up on port {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
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
        let child = Command::new(bin)
            .args(args)
            .env("RUST_BACKTRACE", "0")
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .stdin(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", bin.display()));
        Self { child, name: format!("{} {}", bin.display(), args.join(" ")) }
    }

    pub fn aqueduct(args: &[&str], log: &Path) -> Self {
        Self::spawn(Path::new(env!("CARGO_BIN_EXE_aqueduct")), args, log)
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
    let out = Command::new(bin).args(args).env("RUST_BACKTRACE", "0").current_dir(cwd).output().unwrap();
    assert!(
        out.status.success(),
        "{} {args:?} failed:\n{}\n{}",
        bin.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Runs a Foundry tool (see `run_bin`).
pub fn run(bin: &str, args: &[&str], cwd: &Path) -> String {
    run_bin(&tool(bin), args, cwd)
}

/// Runs a command that may fail: (success, stdout, stderr).
pub fn try_run(bin: &Path, args: &[&str], cwd: &Path) -> (bool, String, String) {
    let out = Command::new(bin).args(args).env("RUST_BACKTRACE", "0").current_dir(cwd).output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).trim().to_string(),
        String::from_utf8_lossy(&out.stderr).trim().to_string(),
    )
}

pub fn field<'a>(text: &'a str, name: &str) -> &'a str {
    text.lines().find_map(|l| l.strip_prefix(name)).map(str::trim).unwrap_or_else(|| panic!("no {name} in:\n{text}"))
}

/// Polls `f` every 200 ms until it returns Some, for at most `secs`.
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

/// `forge create` of `AqueductToken` (name, symbol, 18 decimals, `supply` in smallest units,
/// minted to the deployer) through `rpc_url`; returns its address.
pub fn forge_create_token(rpc_url: &str, key: &str, name: &str, symbol: &str, supply: &str) -> String {
    let solc = tool("solc");
    let created = run(
        "forge",
        &[
            "create",
            "--use",
            solc.to_str().unwrap(),
            "--offline",
            "--broadcast",
            "src/AqueductToken.sol:AqueductToken",
            "--private-key",
            key,
            "--rpc-url",
            rpc_url,
            "--constructor-args",
            name,
            symbol,
            "18",
            supply,
        ],
        &repo().join("contracts"),
    );
    field(&created, "Deployed to:").to_string()
}

/// Blocking JSON-RPC over HTTP (a tiny client: the test has no async runtime of its own).
pub struct Rpc {
    url: String,
    rt: tokio::runtime::Runtime,
    http: reqwest::Client,
}

impl Rpc {
    pub fn new(port: u16) -> Self {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let http = reqwest::Client::builder().pool_max_idle_per_host(0).build().unwrap();
        Self { url: format!("http://127.0.0.1:{port}"), rt, http }
    }

    pub fn try_call(&self, method: &str, params: Value) -> Result<Value, String> {
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
        self.rt.block_on(async {
            let r = self.http.post(&self.url).json(&body).send().await.map_err(|e| e.to_string())?;
            let v: Value = r.json().await.map_err(|e| e.to_string())?;
            match v.get("error") {
                Some(e) => Err(e.to_string()),
                None => Ok(v["result"].clone()),
            }
        })
    }

    pub fn call(&self, method: &str, params: Value) -> Value {
        self.try_call(method, params).unwrap_or_else(|e| panic!("{method} on {}: {e}", self.url))
    }

    /// Many calls in one JSON-RPC batch.
    pub fn batch(&self, calls: &[(&str, Value)]) -> Result<Vec<Value>, String> {
        let body: Vec<Value> = calls
            .iter()
            .enumerate()
            .map(|(i, (m, p))| json!({"jsonrpc": "2.0", "id": i, "method": m, "params": p}))
            .collect();
        self.rt.block_on(async {
            let r = self.http.post(&self.url).json(&body).send().await.map_err(|e| e.to_string())?;
            let mut v: Vec<Value> = r.json().await.map_err(|e| e.to_string())?;
            v.sort_by_key(|x| x["id"].as_u64());
            Ok(v.into_iter().map(|x| x["result"].clone()).collect())
        })
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
