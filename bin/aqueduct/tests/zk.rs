//! The ZK rollup as a user meets it, process by process: `aqueduct devnet` (embedded L1 and the
//! ZK operator, a small circuit), the `aqueduct zk` CLI creating L2 keys, depositing, registering
//! keys, transferring and withdrawing; a transaction signed with the wrong key is refused with a
//! clear error; the devnet is killed with SIGKILL and restarts into the same state.

mod common;

use common::{ADDR0, ADDR1, KEY0, Proc, aqueduct_proc, field, free_port, run_bin, try_run, until, wait_port};
use serde_json::Value;

const KEY1: &str = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";

fn aqueduct() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_BIN_EXE_aqueduct"))
}

struct Devnet {
    l1: String,
    zk: String,
    args: Vec<String>,
    log: std::path::PathBuf,
}

impl Devnet {
    fn start(&self) -> Proc {
        let args: Vec<&str> = self.args.iter().map(String::as_str).collect();
        let p = aqueduct_proc(&args, &self.log);
        wait_port(self.zk.rsplit(':').next().unwrap().parse().unwrap(), 300, "the ZK operator");
        p
    }

    fn zk(&self, args: &[&str]) -> String {
        let mut all = vec!["zk", "--l1-rpc", &self.l1, "--zk-rpc", &self.zk];
        all.extend_from_slice(args);
        run_bin(&aqueduct(), &all, std::path::Path::new("."))
    }

    fn account(&self, who: &str) -> Option<Value> {
        let all = ["zk", "--l1-rpc", &self.l1, "--zk-rpc", &self.zk, "status", who];
        let (ok, out, _) = try_run(&aqueduct(), &all, std::path::Path::new("."));
        if !ok {
            return None;
        }
        let json: String = out.lines().take_while(|l| !l.starts_with("ETH balance")).collect::<Vec<_>>().join("\n");
        serde_json::from_str(&json).ok()
    }

    fn balance(&self, who: &str) -> Option<u128> {
        self.account(who)?["balances"]["0"].as_str()?.parse().ok()
    }
}

#[test]
fn zk_cli_against_the_devnet_survives_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let (l1_port, zk_port) = (free_port(), free_port());
    let d = Devnet {
        l1: format!("http://127.0.0.1:{l1_port}"),
        zk: format!("http://127.0.0.1:{zk_port}"),
        args: [
            "devnet",
            "--no-optimistic",
            "--block-time",
            "0",
            "--port",
            &l1_port.to_string(),
            "--data-dir",
            dir.path().to_str().unwrap(),
            "--zk-addr",
            &format!("127.0.0.1:{zk_port}"),
            "--zk-slots",
            "2",
            "--zk-account-levels",
            "2",
        ]
        .map(str::to_string)
        .to_vec(),
        log: dir.path().join("devnet.log"),
    };
    let proc = d.start();

    // Issue 16, item 9: the operator's JSON-RPC answers a browser's preflight like the chains'.
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let pre = rt
        .block_on(
            reqwest::Client::new()
                .request(reqwest::Method::OPTIONS, &d.zk)
                .header("Origin", "http://dapp.example")
                .header("Access-Control-Request-Method", "POST")
                .header("Access-Control-Request-Headers", "content-type")
                .send(),
        )
        .unwrap();
    assert!(pre.status().is_success(), "preflight: {}", pre.status());
    assert_eq!(pre.headers()["access-control-allow-origin"], "*");

    let key_a = d.zk(&["key", "--seed", &format!("0x{}", "0a".repeat(32))]);
    let seed_a = field(&key_a, "L2 key seed (secret)").to_string();
    let seed_b = field(&d.zk(&["key"]), "L2 key seed (secret)").to_string();
    assert_ne!(seed_a, seed_b);
    d.zk(&["deposit", "--key", KEY0, "--amount", "1"]);
    d.zk(&["deposit", "--key", KEY1, "--amount", "0.5"]);
    d.zk(&["set-key", "--key", KEY0, "--zk-key", &seed_a]);
    d.zk(&["set-key", "--key", KEY1, "--zk-key", &seed_b]);
    until("the deposits and keys on L2", 300, || {
        let a = d.account(ADDR1)?;
        (a["pubkeyHash"].as_str()? != format!("0x{}", "00".repeat(32))).then_some(())
    });
    assert_eq!(d.balance(ADDR0), Some(10u128.pow(18)));

    // A transfer signed with someone else's key is refused, with the reason.
    let bad = try_run(
        &aqueduct(),
        &["zk", "--zk-rpc", &d.zk, "transfer", "--zk-key", &seed_b, "--from", ADDR0, "--to", ADDR1, "--amount", "0.1"],
        std::path::Path::new("."),
    );
    assert!(!bad.0 && bad.2.contains("does not match"), "{bad:?}");
    // Issue 16, item 14: a transfer to oneself and a deposit above the L1 balance are refused by
    // name, before anything is sent (the deposit got the node's raw RPC error before).
    let zk_args = |rest: &[&str]| {
        let mut all = vec!["zk", "--l1-rpc", d.l1.as_str(), "--zk-rpc", d.zk.as_str()];
        all.extend_from_slice(rest);
        try_run(&aqueduct(), &all, std::path::Path::new("."))
    };
    let own = zk_args(&["transfer", "--zk-key", &seed_a, "--from", ADDR0, "--to", ADDR0, "--amount", "0.1"]);
    assert!(!own.0 && own.2.contains("moves nothing"), "{own:?}");
    let rich = zk_args(&["deposit", "--key", KEY1, "--amount", "100000000"]);
    assert!(!rich.0 && rich.2.contains("less than the 100000000 to deposit"), "{rich:?}");
    d.zk(&["transfer", "--zk-key", &seed_a, "--from", ADDR0, "--to", ADDR1, "--amount", "0.25"]);
    d.zk(&["withdraw", "--zk-key", &seed_b, "--from", ADDR1, "--amount", "0.1"]);
    let expected = 650_000_000_000_000_000u128;
    until("the transfer and the withdrawal proven", 300, || (d.balance(ADDR1)? == expected).then_some(()));
    let status = d.zk(&["status"]);
    assert!(status.contains("\"blocks\""), "{status}");

    // SIGKILL, restart on the same data: the same state, and the operator goes on.
    proc.kill9();
    let _proc = d.start();
    assert_eq!(d.balance(ADDR1), Some(expected));
    assert_eq!(d.balance(ADDR0), Some(750_000_000_000_000_000));
    d.zk(&["transfer", "--zk-key", &seed_b, "--from", ADDR1, "--to", ADDR0, "--amount", "0.05"]);
    until("a transfer after the restart", 300, || (d.balance(ADDR0)? == 800_000_000_000_000_000).then_some(()));
}
