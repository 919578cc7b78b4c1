#!/usr/bin/env python3
"""Runs `aqueduct devnet --no-zk` for a while, idle or under a steady L2 load (RATE transfers/s
through eth_sendTransaction from dev accounts 7-9), and samples its RSS and the data directory's
size every 30 s into OUT.csv (the devnet's log goes to OUT.csv.log). Usage:
  scripts/growth.py BIN DATA_DIR PORT_BASE MINUTES RATE OUT.csv
e.g. scripts/growth.py target/debug/aqueduct /tmp/g 22000 40 0 idle.csv"""
import json, os, subprocess, sys, time, urllib.request, threading

bin_, data, base, minutes, rate, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5]), sys.argv[6]
l1, l2, ver = base, base + 1, base + 2
log = open(out + ".log", "w")
p = subprocess.Popen([bin_, "devnet", "--no-zk", "--port", str(l1), "--l2-addr", f"127.0.0.1:{l2}",
                      "--verifier-addr", f"127.0.0.1:{ver}", "--data-dir", data], stdout=log, stderr=log)

def rpc(port, method, params):
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).encode()
    req = urllib.request.Request(f"http://127.0.0.1:{port}", body, {"content-type": "application/json"})
    return json.load(urllib.request.urlopen(req, timeout=10))

def batch(port, calls):
    body = json.dumps([{"jsonrpc": "2.0", "id": i, "method": m, "params": a} for i, (m, a) in enumerate(calls)]).encode()
    req = urllib.request.Request(f"http://127.0.0.1:{port}", body, {"content-type": "application/json"})
    return json.load(urllib.request.urlopen(req, timeout=30))

while True:
    try:
        rpc(l2, "eth_blockNumber", [])
        break
    except Exception:
        time.sleep(1)
        if p.poll() is not None:
            sys.exit("devnet exited")
accts = rpc(l2, "eth_accounts", [])["result"]
# Wait for the dev accounts' L2 funds (deposited at first start on the new build).
while int(rpc(l2, "eth_getBalance", [accts[7], "latest"])["result"], 16) == 0:
    time.sleep(1)

def du(path):
    total = 0
    for root, _, files in os.walk(path):
        for f in files:
            try:
                total += os.path.getsize(os.path.join(root, f))
            except OSError:
                pass
    return total

def rss(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0

stop = False
sent = [0, 0]
def load():
    # `rate` transfers/s from dev accounts 7, 8, 9 (eth_sendTransaction on the sequencer), 10 per call batch.
    i = 0
    t0 = time.time()
    while not stop:
        due = t0 + sent[0] / rate
        now = time.time()
        if now < due:
            time.sleep(min(due - now, 0.1))
            continue
        calls = [("eth_sendTransaction", [{"from": accts[7 + (i + k) % 3], "to": "0x000000000000000000000000000000000000dEaD", "value": "0x1"}]) for k in range(10)]
        i += 10
        try:
            r = batch(l2, calls)
            sent[1] += sum(1 for x in r if "error" in x)
        except Exception:
            sent[1] += 10
        sent[0] += 10

if rate > 0:
    threading.Thread(target=load, daemon=True).start()
start = time.time()
with open(out, "w") as f:
    f.write("seconds,rss_bytes,data_bytes,l2_head,sent,errors\n")
    while time.time() - start < minutes * 60:
        head = int(rpc(l2, "eth_blockNumber", [])["result"], 16)
        f.write(f"{int(time.time() - start)},{rss(p.pid)},{du(data)},{head},{sent[0]},{sent[1]}\n")
        f.flush()
        time.sleep(30)
stop = True
p.terminate()
p.wait()
