"""Drives one Ethereum JSON-RPC endpoint with web3.py, as a Python user would: blocks (without
POA middleware, so extraData must be geth's 32 bytes at most), balances, a locally signed
transfer, an ERC-20 deployed, called and its events read, fee history, and a revert. Exits
non-zero on the first failed check.

    python compat/web3py.py <http-url> <private-key> <token-artifact.json>
"""

import json
import sys

from eth_account import Account
from web3 import Web3
from web3.exceptions import ContractLogicError

url, key, artifact_path = sys.argv[1:4]
artifact = json.load(open(artifact_path))
checks = 0


def check(cond, what, detail=""):
    global checks
    if not cond:
        raise SystemExit(f"web3.py check failed: {what} {detail}")
    checks += 1


w3 = Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": 60}))
check(w3.is_connected(), "connected")
chain_id = w3.eth.chain_id
me = Account.from_key(key)

# Blocks: web3.py refuses extraData over 32 bytes without the POA middleware.
latest = w3.eth.get_block("latest", full_transactions=True)
check(latest["number"] >= 0 and len(latest["extraData"]) <= 32, "latest block", latest["extraData"].hex())
for n in range(max(0, latest["number"] - 3), latest["number"] + 1):
    check(w3.eth.get_block(n)["number"] == n, f"block {n}")
check(w3.eth.get_balance(me.address) > Web3.to_wei(1, "ether"), "funded account")


def send(tx):
    tx.setdefault("nonce", w3.eth.get_transaction_count(me.address))
    tx.setdefault("chainId", chain_id)
    tx.setdefault("maxPriorityFeePerGas", w3.eth.max_priority_fee)
    tx.setdefault("maxFeePerGas", 2 * w3.eth.get_block("latest")["baseFeePerGas"] + tx["maxPriorityFeePerGas"])
    if "gas" not in tx:
        tx["gas"] = w3.eth.estimate_gas({k: v for k, v in tx.items() if k != "nonce"} | {"from": me.address})
    signed = me.sign_transaction(tx)
    h = w3.eth.send_raw_transaction(signed.raw_transaction)
    return w3.eth.wait_for_transaction_receipt(h, timeout=60, poll_latency=0.1)


# A transfer.
to = Web3.to_checksum_address("0x000000000000000000000000000000000000bEEF")
before = w3.eth.get_balance(to)
r = send({"to": to, "value": 4242})
check(r["status"] == 1, "transfer receipt")
check(w3.eth.get_balance(to) == before + 4242, "recipient balance")
check(w3.eth.get_transaction(r["transactionHash"])["from"] == me.address, "transaction by hash")
check(w3.eth.get_block(r["blockNumber"])["hash"] == r["blockHash"], "receipt's block")

# An ERC-20.
Token = w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"]["object"])
r = send(Token.constructor("Py", "PY", 18, 10**6).build_transaction({"from": me.address, "gas": 3_000_000}))
check(r["status"] == 1 and r["contractAddress"], "token deployed")
token = w3.eth.contract(address=r["contractAddress"], abi=artifact["abi"])
r = send(token.functions.transfer(to, 55).build_transaction({"from": me.address}))
check(r["status"] == 1, "token transfer")
check(token.functions.balanceOf(to).call() == 55, "balanceOf")
events = token.events.Transfer.get_logs(from_block=r["blockNumber"], to_block=r["blockNumber"])
check(any(e["args"]["to"] == to and e["args"]["value"] == 55 for e in events), "Transfer events")
logs = w3.eth.get_logs({"address": token.address, "fromBlock": 0, "toBlock": "latest"})
check(len(logs) >= 2, "getLogs", str(len(logs)))
receipts = w3.eth.get_block_receipts(r["blockNumber"]) if hasattr(w3.eth, "get_block_receipts") else []
check(any(x["transactionHash"] == r["transactionHash"] for x in receipts), "block receipts")

# Fees.
history = w3.eth.fee_history(4, "latest", [10, 90])
check(len(history["baseFeePerGas"]) >= 2 and len(history["reward"]) >= 1, "fee history")
check(w3.eth.gas_price > 0, "gas price")

# A revert carries its reason.
try:
    token.functions.transfer(to, 10**30).call({"from": me.address})
    check(False, "an over-balance transfer reverts")
except ContractLogicError as e:
    check("execution reverted" in str(e) or e.data, "revert is a ContractLogicError", str(e))

print(f"web3.py: {checks} checks passed on chain {chain_id} ({url})")
