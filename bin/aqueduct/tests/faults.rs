//! Faults met through the real binary: restarts at several uptimes, a disk that fills up, a
//! store corrupted on disk. Each test fails on the defect it names (issue 23).

mod common;

use std::path::Path;

use alloy::primitives::U256;
use common::{ADDR0, Proc, Rpc, aqueduct_proc, free_port, until, wait_port};
use serde_json::{Value, json};

/// `aqueduct devnet` (embedded L1 with 1 s blocks, the optimistic rollup, no ZK) on fixed ports
/// and a data directory, so that it can be killed and started again on the same state.
struct Devnet {
    dir: std::path::PathBuf,
    l1: u16,
    l2: u16,
    ver: u16,
}

impl Devnet {
    fn new(dir: &Path) -> Self {
        Self { dir: dir.to_path_buf(), l1: free_port(), l2: free_port(), ver: free_port() }
    }

    /// `aqueduct devnet` (embedded L1, 1 s blocks, the optimistic rollup) on these ports, started
    /// without waiting for it.
    fn spawn(&self, log: &str) -> Proc {
        let (l1, l2, ver) = (self.l1.to_string(), format!("127.0.0.1:{}", self.l2), format!("127.0.0.1:{}", self.ver));
        let data = self.dir.join("data");
        let args = [
            "devnet",
            "--no-zk",
            "--block-time",
            "1",
            "--port",
            &l1,
            "--l2-addr",
            &l2,
            "--verifier-addr",
            &ver,
            "--data-dir",
            data.to_str().unwrap(),
        ];
        aqueduct_proc(&args, &self.dir.join(log))
    }

    fn start(&self, log: &str) -> Proc {
        let p = self.spawn(log);
        wait_port(self.l2, 120, "the devnet's sequencer");
        // As long as the sequencer's wait: on a loaded 2-core CI machine the verifier's port once
        // took over 30 s after the sequencer's.
        wait_port(self.ver, 120, "the devnet's verifier");
        p
    }

    fn log(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.join(name)).unwrap_or_default()
    }

    /// The rollup's L1 anchor block, from the spec the devnet wrote.
    fn anchor(&self) -> u64 {
        let spec = std::fs::read_to_string(self.dir.join("data/rollup/rollup.json")).unwrap();
        let spec: Value = serde_json::from_str(&spec).unwrap();
        spec["rollup"]["l1_genesis"]["number"].as_u64().unwrap_or_else(|| panic!("no anchor in {spec}"))
    }
}

fn tail(log: &str, n: usize) -> String {
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Issue 23, item 1: a sequencer restarted after its head's L1 origin is more than one L1 read
/// (64 blocks) past the anchor took the anchor as origin; derivation skipped its batches and the
/// verifier stopped for good. Killed (-9) at a short uptime and at one past 64 L1 blocks, drawn
/// from a seed, and restarted a few seconds later, the sequencer stays on the chain the verifier
/// derives, hash for hash, and outputs keep coming.
#[test]
#[ignore = "long scenario (over a minute): scripts/test.sh and CI run it (cargo test -- --include-ignored)"]
fn sequencer_restarted_at_several_uptimes_stays_on_the_derived_chain() {
    let tmp = tempfile::tempdir().unwrap();
    let d = Devnet::new(tmp.path());
    let (l1, l2, ver) = (Rpc::new(d.l1), Rpc::new(d.l2), Rpc::new(d.ver));

    let mut proc = d.start("run0.log");
    let anchor = d.anchor();
    // Issue 23, item 10: every L2 wei of the dev accounts is backed by ETH the portal holds (the
    // L2 genesis funded them while the portal held nothing, so their withdrawals failed).
    let spec: Value =
        serde_json::from_str(&std::fs::read_to_string(d.dir.join("data/rollup/rollup.json")).unwrap()).unwrap();
    let portal = spec["rollup"]["portal"].as_str().unwrap().to_string();
    let accounts = l2.call("eth_accounts", json!([]));
    let accounts: Vec<&str> = accounts.as_array().unwrap().iter().filter_map(Value::as_str).collect();
    assert_eq!(accounts.len(), 10, "{accounts:?}");
    let on_l2 = accounts.iter().fold(U256::ZERO, |sum, a| sum + l2.balance(a));
    assert!(on_l2 > U256::ZERO, "the dev accounts are funded on L2");
    assert!(l1.balance(&portal) >= on_l2, "the portal holds {} wei behind {on_l2} wei on L2", l1.balance(&portal));
    let mut restarts = Vec::new();
    // Uptimes, drawn from a seed (AQUEDUCT_SOAK_SEED to replay one): a few L1 blocks past the
    // anchor, then past one full L1 read (64 blocks).
    let seed: u64 = std::env::var("AQUEDUCT_SOAK_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64
    });
    let mut x = seed | 1;
    let mut draw = |lo: u64, hi: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        lo + x % (hi - lo + 1)
    };
    let uptimes = [draw(5, 15), draw(66, 85)];
    eprintln!("restart uptimes {uptimes:?} L1 blocks past the anchor (AQUEDUCT_SOAK_SEED={seed})");
    for (i, past_anchor) in uptimes.into_iter().enumerate() {
        until("L1 to pass the restart point", 150, || (l1.head() > anchor + past_anchor).then_some(()));
        let head = l2.head();
        proc.kill9();
        // Down for a few seconds, as a user's restart is: blocks are due the moment it is back.
        std::thread::sleep(std::time::Duration::from_secs(3));
        proc = d.start(&format!("run{}.log", i + 1));
        restarts.push(head);
    }
    let log = || d.log("run2.log");
    let resumed = l2.head();
    until("the restarted sequencer to make blocks", 60, || (l2.head() > resumed + 3).then_some(()));
    let target = l2.head();
    let start = std::time::Instant::now();
    while ver.head() < target {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(120),
            "verifier stuck at {} (sequencer {target}); log:\n{}",
            ver.head(),
            tail(&log(), 40)
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    assert!(!log().contains("invalid batch skipped"), "derivation skipped a batch:\n{}", tail(&log(), 40));
    for n in restarts.iter().flat_map(|r| [*r, r + 1, r + 2]).chain([1, target]) {
        assert_eq!(ver.block_hash(n), l2.block_hash(n), "verifier and sequencer differ at L2 block {n}");
    }
    // Outputs keep coming past the last restart (the proposer works from the derived chain).
    let oracle = spec["rollup"]["oracle"].as_str().unwrap().to_string();
    let selector =
        format!("0x{}", alloy::primitives::hex::encode(&alloy::primitives::keccak256("latestBlockNumber()")[..4]));
    let latest_output = || {
        let v = l1.call("eth_call", json!([{ "to": oracle, "data": selector }, "latest"]));
        U256::from_str_radix(v.as_str().unwrap().trim_start_matches("0x"), 16).unwrap()
    };
    let last = U256::from(*restarts.last().unwrap());
    until("an output past the last restart", 90, || (latest_output() > last).then_some(()));
    drop(proc);
}

/// An embedded L1 alone (`devnet --no-rollup`), mining on each transaction, in `data`.
fn l1_args(port: u16, data: &Path) -> Vec<String> {
    ["devnet", "--no-rollup", "--no-zk", "--block-time", "0", "--port", &port.to_string(), "--data-dir"]
        .iter()
        .map(|s| s.to_string())
        .chain([data.to_str().unwrap().to_string()])
        .collect()
}

fn start_l1(port: u16, data: &Path, log: &Path) -> Proc {
    let args = l1_args(port, data);
    let p = aqueduct_proc(&args.iter().map(String::as_str).collect::<Vec<_>>(), log);
    wait_port(port, 60, "the L1 devnet");
    p
}

/// Sends `value` wei from dev account 0 to `to`; the hash once a receipt holds it.
fn send_and_wait(rpc: &Rpc, to: &str, value: u64) -> Option<(String, String)> {
    let tx = json!([{ "from": ADDR0, "to": to, "value": format!("0x{value:x}") }]);
    let hash = rpc.try_call("eth_sendTransaction", tx).ok()?.as_str()?.to_string();
    for _ in 0..40 {
        match rpc.try_call("eth_getTransactionReceipt", json!([hash])) {
            Ok(r) if r["blockHash"].is_string() => return Some((hash, r["blockHash"].as_str()?.to_string())),
            Ok(_) => std::thread::sleep(std::time::Duration::from_millis(50)),
            Err(_) => return None,
        }
    }
    None
}

fn proof_balance(rpc: &Rpc, a: &str) -> U256 {
    rpc.call("eth_getProof", json!([a, [], "latest"]))["balance"].as_str().unwrap().parse().unwrap()
}

/// Issue 23, item 2: with the disk full, transactions were accepted, no block was stored, yet
/// reads showed their effects, and the node went on answering. A failed write must leave memory
/// as the store is, stop the node with a message that names the store, and lose nothing that had
/// a receipt. The disk fills for real: the node runs under a file-size limit (`ulimit -f`).
#[test]
fn a_full_disk_stops_the_node_and_keeps_every_receipted_transaction() {
    let tmp = tempfile::tempdir().unwrap();
    let (port, data) = (free_port(), tmp.path().join("l1"));
    start_l1(port, &data, &tmp.path().join("genesis.log")).interrupt();
    let size = std::fs::metadata(data.join("l1/chain.redb")).unwrap().len();
    // Room for some blocks beyond the size the store has now; then a write fails.
    let script = format!("ulimit -f {}; trap '' XFSZ; exec \"$0\" \"$@\"", size.div_ceil(1024) + 256);
    let bin = env!("CARGO_BIN_EXE_aqueduct");
    let mut args = vec!["-c", &script, bin];
    let l1a = l1_args(port, &data);
    args.extend(l1a.iter().map(String::as_str));
    let log = tmp.path().join("full.log");
    let mut full = Proc::spawn(Path::new("/bin/bash"), &args, &log);
    wait_port(port, 60, "the L1 devnet under a file-size limit");
    let rpc = Rpc::new(port);
    let to = "0x00000000000000000000000000000000000c0ffe";
    let mut receipted = Vec::new();
    for i in 0..20_000u64 {
        match send_and_wait(&rpc, to, 1_000 + i) {
            Some(r) => receipted.push((r, 1_000 + i)),
            None => break,
        }
    }
    eprintln!("{} transfers receipted before the disk filled", receipted.len());
    let log_text = || std::fs::read_to_string(&log).unwrap_or_default();
    assert!(!receipted.is_empty(), "no block was stored before the disk filled:\n{}", log_text());
    let status = full.exited_within(30);
    assert!(
        status.is_some_and(|s| !s.success()),
        "the node did not stop after a failed write ({} blocks stored; head {:?}):\n{}",
        receipted.len(),
        rpc.try_call("eth_blockNumber", json!([])),
        tail(&log_text(), 20)
    );
    let text = log_text();
    assert!(
        text.contains("node stopped") && text.contains(&data.join("l1/chain.redb").display().to_string()),
        "the stop names the store:\n{}",
        tail(&text, 20)
    );

    // Restarted with room: every receipted transfer is there, once, and reads agree with proofs.
    let _l1 = start_l1(port, &data, &tmp.path().join("after.log"));
    for ((hash, block), _) in &receipted {
        let r = rpc.call("eth_getTransactionReceipt", json!([hash]));
        assert_eq!(r["blockHash"].as_str(), Some(block.as_str()), "receipted {hash} lost or moved");
    }
    let paid: u64 = receipted.iter().map(|(_, v)| v).sum();
    let balance: U256 = rpc.call("eth_getBalance", json!([to, "latest"])).as_str().unwrap().parse().unwrap();
    assert_eq!(balance, proof_balance(&rpc, to), "eth_getBalance and eth_getProof agree");
    assert!(balance >= U256::from(paid), "every receipted transfer arrived: {balance} < {paid}");
    let nonce = rpc.u64("eth_getTransactionCount", json!([ADDR0, "latest"]));
    assert!(nonce >= receipted.len() as u64 && nonce <= receipted.len() as u64 + 1, "nonce {nonce}");
    assert!(send_and_wait(&rpc, to, 1).is_some(), "the restarted node mines again");
}

/// Every place `pattern` occurs in `bytes`.
fn find_all(bytes: &[u8], pattern: &[u8]) -> Vec<usize> {
    bytes.windows(pattern.len()).enumerate().filter(|(_, w)| *w == pattern).map(|(i, _)| i).collect()
}

/// An L1 store with one transfer made and the node stopped cleanly; the offsets of the flat
/// account record of dev account 9 (untouched: 10,000 ETH) in it.
fn stopped_l1(tmp: &Path) -> (u16, std::path::PathBuf, Vec<usize>) {
    let (port, data) = (free_port(), tmp.join("l1"));
    let l1 = start_l1(port, &data, &tmp.join("first.log"));
    assert!(send_and_wait(&Rpc::new(port), "0x00000000000000000000000000000000000c0ffe", 7).is_some());
    l1.interrupt();
    let bytes = std::fs::read(data.join("l1/chain.redb")).unwrap();
    // rlp([nonce 0, balance 10,000 ETH, …]); inside a trie leaf the same bytes follow b8 4e.
    let record = alloy::primitives::hex::decode("f84e808a021e19e0c9bab2400000").unwrap();
    let flat: Vec<usize> =
        find_all(&bytes, &record).into_iter().filter(|&i| i < 2 || bytes[i - 2..i] != [0xb8, 0x4e]).collect();
    assert!(!flat.is_empty(), "the dev accounts' records are in the store");
    (port, data, flat)
}

fn refused_to_start(port: u16, data: &Path, log: &Path) -> String {
    let args = l1_args(port, data);
    let mut p = aqueduct_proc(&args.iter().map(String::as_str).collect::<Vec<_>>(), log);
    let status = p.exited_within(60);
    let text = std::fs::read_to_string(log).unwrap_or_default();
    assert!(status.is_some_and(|s| !s.success()), "a corrupt store was opened and served:\n{}", tail(&text, 20));
    text
}

/// Issue 23, item 3: one flipped bit in a cleanly closed store started without error and served
/// a balance no state root holds (money created). The store is checked against the head's state
/// root on open and refused with a message that names the file and what to do.
#[test]
fn a_flipped_bit_in_the_store_is_refused_on_open() {
    let tmp = tempfile::tempdir().unwrap();
    let (port, data, flat) = stopped_l1(tmp.path());
    let path = data.join("l1/chain.redb");
    let mut bytes = std::fs::read(&path).unwrap();
    for i in &flat {
        // One bit of the balance's second byte: 10,000 ETH becomes 10,018.4 ETH (2^64 wei more).
        bytes[i + 5] ^= 0x01;
    }
    std::fs::write(&path, &bytes).unwrap();
    let text = refused_to_start(port, &data, &tmp.path().join("flipped.log"));
    assert!(
        text.contains(&format!("{} is corrupt", path.display())) && text.contains("restore it from a backup"),
        "the refusal names the file and what to do:\n{}",
        tail(&text, 20)
    );
}

/// Issue 23, item 3: a random 4 KB overwrite made the database engine panic, reported as "chain
/// open task failed". It is a corrupt store, named as such.
#[test]
fn a_damaged_page_in_the_store_is_refused_on_open() {
    let tmp = tempfile::tempdir().unwrap();
    let (port, data, flat) = stopped_l1(tmp.path());
    let path = data.join("l1/chain.redb");
    let mut bytes = std::fs::read(&path).unwrap();
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    for i in &flat {
        let page = i / 4096 * 4096;
        let end = (page + 4096).min(bytes.len());
        for b in &mut bytes[page..end] {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            *b = x as u8;
        }
    }
    std::fs::write(&path, &bytes).unwrap();
    let text = refused_to_start(port, &data, &tmp.path().join("damaged.log"));
    assert!(
        text.contains(&path.display().to_string()) && !text.contains("task failed"),
        "the refusal names the file:\n{}",
        tail(&text, 20)
    );
}

/// Issue 16, item 1: a second `devnet --fresh` on the directory a running devnet uses wiped the
/// running devnet's chain (chain.redb shrank to 64 KB, the first devnet restarted at head 0).
/// The directory's lock is taken before anything is deleted: the second is refused, and the
/// first goes on with its chain.
#[test]
fn a_data_dir_in_use_is_refused_and_left_untouched() {
    let tmp = tempfile::tempdir().unwrap();
    let (port, data) = (free_port(), tmp.path().join("d"));
    let _first = start_l1(port, &data, &tmp.path().join("first.log"));
    let rpc = Rpc::new(port);
    for v in 1..=3 {
        assert!(send_and_wait(&rpc, "0x00000000000000000000000000000000000c0ffe", v).is_some());
    }
    let store = data.join("l1/chain.redb");
    let size = std::fs::metadata(&store).unwrap().len();
    let mut args = l1_args(free_port(), &data);
    args.push("--fresh".into());
    let log = tmp.path().join("second.log");
    let mut second = aqueduct_proc(&args.iter().map(String::as_str).collect::<Vec<_>>(), &log);
    let status = second.exited_within(30);
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(status.is_some_and(|s| !s.success()), "a second devnet ran on a directory in use:\n{}", tail(&text, 20));
    assert!(text.contains("is in use by another aqueduct process") && text.contains("nothing was deleted"), "{text}");
    assert!(std::fs::metadata(&store).unwrap().len() >= size, "the running devnet's store was not touched");
    assert_eq!(rpc.head(), 3, "the first devnet keeps its chain");
    assert!(send_and_wait(&rpc, "0x00000000000000000000000000000000000c0ffe", 4).is_some());
}

/// Issue 16, item 6: `devnet --l1-rpc URL` to an endpoint that accepts connections and never
/// answers printed its banner and hung (150 s observed). Every L1 call has a deadline: the devnet
/// says what it waits for and gives up with an error that names the URL.
#[test]
fn an_l1_that_never_answers_is_an_error_not_a_hang() {
    let tmp = tempfile::tempdir().unwrap();
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", silent.local_addr().unwrap());
    // Accept connections and hold them open without a word.
    let held = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let h = held.clone();
    std::thread::spawn(move || {
        for c in silent.incoming().flatten() {
            h.lock().unwrap().push(c);
        }
    });
    let data = tmp.path().join("d");
    // Its own ports: the defaults may be taken on a machine running a devnet.
    let (l2, ver) = (format!("127.0.0.1:{}", free_port()), format!("127.0.0.1:{}", free_port()));
    let args = [
        "devnet",
        "--no-zk",
        "--l1-rpc",
        &url,
        "--l2-addr",
        &l2,
        "--verifier-addr",
        &ver,
        "--data-dir",
        data.to_str().unwrap(),
    ];
    let log = tmp.path().join("devnet.log");
    let mut p = aqueduct_proc(&args, &log);
    let status = p.exited_within(90);
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(status.is_some_and(|s| !s.success()), "the devnet hung on a silent L1:\n{}", tail(&text, 20));
    assert!(text.contains(&format!("reaching L1 at {url}")), "{text}");
}

/// Issue 16, item 7: a port clash was found only after 24 s of deploying, followed by hundreds of
/// `block task panicked` lines. Every listening address is checked before anything is deployed.
#[test]
fn a_port_clash_is_one_clear_line_before_anything_is_deployed() {
    let tmp = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let busy = taken.local_addr().unwrap().to_string();
    let d = Devnet { l2: taken.local_addr().unwrap().port(), ..Devnet::new(tmp.path()) };
    let log = tmp.path().join("devnet.log");
    let start = std::time::Instant::now();
    let mut p = d.spawn("devnet.log");
    let status = p.exited_within(30);
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(status.is_some_and(|s| !s.success()), "{text}");
    assert!(start.elapsed() < std::time::Duration::from_secs(10), "refused at once, not after deploying");
    assert!(text.contains(&format!("{busy} is in use")) && text.contains("--l2-addr"), "{text}");
    assert!(!text.contains("deploying") && !text.contains("panicked"), "{text}");
}

/// Issue 23, item 8: a data directory this user cannot write gave `Permission denied` without
/// the path. The refusal names the file and what to check. (As root, which may write anywhere,
/// the binary runs without the capability that lets it.)
#[test]
fn a_read_only_data_dir_is_refused_with_its_path() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let store_dir = data.join("l1");
    std::fs::create_dir_all(&store_dir).unwrap();
    std::fs::set_permissions(&store_dir, std::fs::Permissions::from_mode(0o555)).unwrap();
    let root = std::process::Command::new("id").arg("-u").output().unwrap().stdout.starts_with(b"0\n");
    let bin = env!("CARGO_BIN_EXE_aqueduct");
    let l1a = l1_args(free_port(), &data);
    let mut args: Vec<&str> = if root { vec!["--bounding-set=-dac_override,-dac_read_search", bin] } else { vec![] };
    args.extend(l1a.iter().map(String::as_str));
    let log = tmp.path().join("read-only.log");
    let program = if root { Path::new("setpriv") } else { Path::new(bin) };
    let status = Proc::spawn(program, &args, &log).exited_within(60);
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(status.is_some_and(|s| !s.success()), "a read-only store was opened:\n{}", tail(&text, 20));
    let file = store_dir.join("chain.redb");
    assert!(
        text.contains(&format!("cannot open {}", file.display()))
            && text.contains("Permission denied")
            && text.contains("check that this user can write there"),
        "the refusal names the file and what to check:\n{}",
        tail(&text, 20)
    );
    assert!(!text.contains("internal error"), "{}", tail(&text, 20));
}
