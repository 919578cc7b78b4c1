//! Payment channels as a user runs them, process by process: `aqueduct devnet` (the L1), an
//! adjudicator deployed with `aqueduct channel deploy`, two `aqueduct channel serve` nodes, and
//! the CLI connecting, opening, paying and closing. The payee's node is killed with SIGKILL in
//! the middle of a stream of payments and restarted: every payment the CLI saw succeed is there
//! exactly once. Then the payer's node is killed the same way: what it had confirmed is kept, at
//! most the one payment in flight completes after the restart, both nodes agree, and the
//! cooperative close pays exactly those balances on L1.

mod common;

use std::{
    path::{Path, PathBuf},
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::Duration,
};

use common::{ADDR0, ADDR1, KEY0, Proc, aqueduct_proc, free_port, run_bin, try_run, until, wait_port};

const KEY1: &str = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
const GWEI: u128 = 1_000_000_000;

fn aqueduct() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_aqueduct"))
}

struct Party {
    key: &'static str,
    listen: u16,
    control: u16,
    data: PathBuf,
    log: PathBuf,
}

impl Party {
    fn start(&self, l1: &str, adj: &str) -> Proc {
        let p = aqueduct_proc(
            &[
                "channel",
                "--l1-rpc",
                l1,
                "serve",
                "--key",
                self.key,
                "--adjudicator",
                adj,
                "--listen",
                &format!("127.0.0.1:{}", self.listen),
                "--control",
                &format!("127.0.0.1:{}", self.control),
                "--data",
                self.data.to_str().unwrap(),
                "--poll-ms",
                "100",
            ],
            &self.log,
        );
        wait_port(self.control, 60, "a channel node");
        p
    }

    fn rpc(&self) -> String {
        format!("http://127.0.0.1:{}", self.control)
    }

    fn cli(&self, args: &[&str]) -> String {
        let rpc = self.rpc();
        let mut all = vec!["channel", "--rpc", &rpc];
        all.extend_from_slice(args);
        run_bin(&aqueduct(), &all, Path::new("."))
    }

    fn try_cli(&self, args: &[&str]) -> bool {
        let rpc = self.rpc();
        let mut all = vec!["channel", "--rpc", &rpc];
        all.extend_from_slice(args);
        try_run(&aqueduct(), &all, Path::new(".")).0
    }

    /// (version, local, remote) of its first channel, from `status`.
    fn channel(&self) -> Option<(u64, u128, u128)> {
        let rpc = self.rpc();
        let (ok, out, _) = try_run(&aqueduct(), &["channel", "--rpc", &rpc, "status"], Path::new("."));
        if !ok {
            return None;
        }
        let line = out.lines().find(|l| l.starts_with("channel "))?;
        let word = |after: &str| -> Option<String> {
            let i = line.find(after)? + after.len();
            Some(line[i..].split_whitespace().next()?.to_string())
        };
        Some((word(" v")?.parse().ok()?, word("local ")?.parse().ok()?, word("remote ")?.parse().ok()?))
    }
}

#[test]
fn channel_nodes_survive_kill_9_mid_payment() {
    let dir = tempfile::tempdir().unwrap();
    let l1_port = free_port();
    let l1 = format!("http://127.0.0.1:{l1_port}");
    let _devnet = aqueduct_proc(
        &[
            "devnet",
            "--no-optimistic",
            "--no-zk",
            "--block-time",
            "0",
            "--port",
            &l1_port.to_string(),
            "--data-dir",
            dir.path().join("l1").to_str().unwrap(),
        ],
        &dir.path().join("devnet.log"),
    );
    wait_port(l1_port, 120, "the devnet");
    let adj = run_bin(&aqueduct(), &["channel", "--l1-rpc", &l1, "deploy", "--key", KEY0], Path::new("."));
    let adj = adj.lines().last().unwrap().trim().to_string();

    let party = |key, name: &str| Party {
        key,
        listen: free_port(),
        control: free_port(),
        data: dir.path().join(name),
        log: dir.path().join(format!("{name}.log")),
    };
    let (a, b) = (party(KEY0, "a"), party(KEY1, "b"));
    let mut proc_a = Some(a.start(&l1, &adj));
    let mut proc_b = Some(b.start(&l1, &adj));
    a.cli(&["connect", &format!("127.0.0.1:{}", b.listen)]);
    let opened = a.cli(&["open", "--peer", ADDR1, "--amount", "1", "--peer-amount", "1", "--challenge-period", "600"]);
    assert!(opened.contains("open"), "{opened}");
    until("B sees the channel open", 60, || b.channel().filter(|c| c.1 == 1_000_000_000_000_000_000).map(|_| ()));

    // A stream of payments from A; B is killed and restarted in the middle of it.
    let done = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let payer = {
        let (done, stop) = (done.clone(), stop.clone());
        let rpc = a.rpc();
        std::thread::spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                let ok = try_run(
                    &aqueduct(),
                    &["channel", "--rpc", &rpc, "pay", "--to", ADDR1, "--amount", "0.000000001"],
                    Path::new("."),
                )
                .0;
                if ok {
                    done.fetch_add(1, Ordering::SeqCst);
                }
            }
        })
    };
    until("some payments", 60, || (done.load(Ordering::SeqCst) >= 10).then_some(()));
    proc_b.take().unwrap().kill9();
    std::thread::sleep(Duration::from_millis(500));
    proc_b = Some(b.start(&l1, &adj));
    let after_restart = done.load(Ordering::SeqCst);
    until("payments after B's restart", 60, || (done.load(Ordering::SeqCst) >= after_restart + 10).then_some(()));
    stop.store(true, Ordering::SeqCst);
    payer.join().unwrap();
    let confirmed = done.load(Ordering::SeqCst) as u128;
    let (va, local_a, remote_a) = until("A settles down", 30, || a.channel().filter(|c| c.0 > 0));
    let eth = 1_000_000_000_000_000_000u128;
    assert_eq!(remote_a, eth + confirmed * GWEI, "every confirmed payment, once");
    assert_eq!(local_a, eth - confirmed * GWEI);
    until("B agrees", 30, || b.channel().filter(|c| c.0 == va && c.1 == remote_a).map(|_| ()));

    // Now the payer dies mid-stream.
    let stop = Arc::new(AtomicBool::new(false));
    let before = done.load(Ordering::SeqCst);
    let payer = {
        let (done, stop) = (done.clone(), stop.clone());
        let rpc = a.rpc();
        std::thread::spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                if try_run(
                    &aqueduct(),
                    &["channel", "--rpc", &rpc, "pay", "--to", ADDR1, "--amount", "0.000000001"],
                    Path::new("."),
                )
                .0
                {
                    done.fetch_add(1, Ordering::SeqCst);
                }
            }
        })
    };
    until("more payments", 60, || (done.load(Ordering::SeqCst) >= before + 10).then_some(()));
    proc_a.take().unwrap().kill9();
    stop.store(true, Ordering::SeqCst);
    payer.join().unwrap();
    let confirmed = done.load(Ordering::SeqCst) as u128;
    proc_a = Some(a.start(&l1, &adj));
    // A redials B after its restart and both resync.
    until("A and B agree", 60, || {
        let (x, y) = (a.channel()?, b.channel()?);
        (x.0 == y.0 && x.1 == y.2 && x.2 == y.1).then_some(())
    });
    let (_, local_a, remote_a) = a.channel().unwrap();
    assert_eq!(local_a + remote_a, 2 * eth, "nothing created or lost");
    let paid = (remote_a - eth) / GWEI;
    assert!(
        paid == confirmed || paid == confirmed + 1,
        "{paid} payments landed, {confirmed} were confirmed (at most the one in flight may complete after the restart)"
    );

    // The cooperative close pays exactly these balances on L1.
    eprintln!("payments confirmed {confirmed}, landed {paid}");
    let id = a
        .cli(&["status"])
        .lines()
        .find(|l| l.starts_with("channel "))
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .to_string();
    let closed = a.cli(&["close", "--channel", &id]);
    assert!(closed.contains("close sent"), "{closed}");
    until("both see it closed", 60, || {
        let sa = a.cli(&["status"]);
        let sb = b.cli(&["status"]);
        (sa.contains(": closed") && sb.contains(": closed")).then_some(())
    });
    assert!(a.try_cli(&["status"]));
    let _ = (ADDR0, proc_a, proc_b);
}
