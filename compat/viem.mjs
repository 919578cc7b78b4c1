// Drives one Ethereum JSON-RPC endpoint with viem, as a dapp would: reads, a local-key transfer,
// an ERC-20 deployed, written, read and its logs queried, Multicall3, a WebSocket block watcher,
// fee history, message signing, and error classes. Exits non-zero on the first failed check.
//   node compat/viem.mjs <http-url> <ws-url> <private-key> <token-artifact.json>
import { readFileSync } from "node:fs";
import {
  createPublicClient, createWalletClient, defineChain, http, webSocket, parseEther, formatEther,
  InsufficientFundsError, ContractFunctionExecutionError, verifyMessage,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";

const [url, wsUrl, key, artifactPath] = process.argv.slice(2);
const artifact = JSON.parse(readFileSync(artifactPath, "utf8"));
let checks = 0;
function check(cond, what, detail = "") {
  if (!cond) throw new Error(`viem check failed: ${what} ${detail}`);
  checks++;
}

const probe = createPublicClient({ transport: http(url) });
const id = await probe.getChainId();
const chain = defineChain({
  id, name: `chain-${id}`, nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
  rpcUrls: { default: { http: [url], webSocket: [wsUrl] } },
  contracts: { multicall3: { address: "0xcA11bde05977b3631167028862bE2a173976CA11" } },
});
const pub = createPublicClient({ chain, transport: http(url) });
const account = privateKeyToAccount(key);
const wallet = createWalletClient({ chain, account, transport: http(url) });

// Reads.
const head = await pub.getBlockNumber();
const block = await pub.getBlock({ blockTag: "latest", includeTransactions: true });
check(block.number === head || block.number === head + 1n, "latest block", `${block.number} vs ${head}`);
const balance = await pub.getBalance({ address: account.address });
check(balance > parseEther("1"), "funded account", formatEther(balance));
const fees = await pub.estimateFeesPerGas();
check(fees.maxFeePerGas > 0n, "fee estimate");
const history = await pub.getFeeHistory({ blockCount: 4, rewardPercentiles: [25, 75] });
check(history.baseFeePerGas.length >= 1 && history.reward.length >= 1, "fee history");

// A WebSocket watcher sees new blocks.
const wsClient = createPublicClient({ chain, transport: webSocket(wsUrl) });
const seen = [];
const unwatch = wsClient.watchBlocks({ onBlock: (b) => seen.push(b.number), emitOnBegin: false });

// A transfer signed locally.
const to = "0x000000000000000000000000000000000000c0DE";
const before = await pub.getBalance({ address: to });
const hash = await wallet.sendTransaction({ to, value: 12345n });
const receipt = await pub.waitForTransactionReceipt({ hash, pollingInterval: 100 });
check(receipt.status === "success", "transfer receipt");
check((await pub.getBalance({ address: to })) === before + 12345n, "recipient balance");
const tx = await pub.getTransaction({ hash });
check(tx.from.toLowerCase() === account.address.toLowerCase(), "transaction by hash");

// An ERC-20: deploy, write, read, logs.
const deploy = await wallet.deployContract({
  abi: artifact.abi, bytecode: artifact.bytecode.object, args: ["Compat", "CMP", 18, 1000000n],
});
const deployed = await pub.waitForTransactionReceipt({ hash: deploy, pollingInterval: 100 });
const token = deployed.contractAddress;
check(token && deployed.status === "success", "token deployed");
const gas = await pub.estimateContractGas({
  address: token, abi: artifact.abi, functionName: "transfer", args: [to, 77n], account,
});
check(gas > 21000n && gas < 200000n, "transfer gas estimate", `${gas}`);
const write = await wallet.writeContract({ address: token, abi: artifact.abi, functionName: "transfer", args: [to, 77n] });
const wrote = await pub.waitForTransactionReceipt({ hash: write, pollingInterval: 100 });
check(wrote.status === "success" && wrote.logs.length === 1, "token transfer");
const held = await pub.readContract({ address: token, abi: artifact.abi, functionName: "balanceOf", args: [to] });
check(held === 77n, "balanceOf", `${held}`);
const logs = await pub.getContractEvents({
  address: token, abi: artifact.abi, eventName: "Transfer", fromBlock: deployed.blockNumber, toBlock: "latest",
});
check(logs.some((l) => l.args.to?.toLowerCase() === to.toLowerCase() && l.args.value === 77n), "Transfer logs");
const none = await pub.getLogs({ address: token, fromBlock: wrote.blockNumber, toBlock: wrote.blockNumber - 1n });
check(none.length === 0, "an empty block range has no logs");

// Multicall3: several reads in one call.
const [name, supply, mine] = await pub.multicall({
  allowFailure: false,
  contracts: [
    { address: token, abi: artifact.abi, functionName: "name" },
    { address: token, abi: artifact.abi, functionName: "totalSupply" },
    { address: token, abi: artifact.abi, functionName: "balanceOf", args: [account.address] },
  ],
});
check(name === "Compat" && supply === 1000000n && mine === 1000000n - 77n, "multicall", `${name} ${supply} ${mine}`);

// A revert is a contract error with its reason; an unfundable send is InsufficientFundsError.
try {
  await pub.simulateContract({ address: token, abi: artifact.abi, functionName: "transfer", args: [to, 10n ** 30n], account });
  check(false, "an over-balance transfer reverts");
} catch (e) {
  check(e instanceof ContractFunctionExecutionError, "revert is a contract error", e.name);
}
try {
  await wallet.sendTransaction({ to, value: parseEther("100000000") });
  check(false, "an unfundable transfer is refused");
} catch (e) {
  const insufficient = e instanceof InsufficientFundsError || e.walk?.((x) => x instanceof InsufficientFundsError);
  check(insufficient, "insufficient funds classified", e.shortMessage ?? e.message);
}

// Signatures.
const signature = await wallet.signMessage({ message: "hello" });
check(await verifyMessage({ address: account.address, message: "hello", signature }), "signed message verifies");

// The watcher saw blocks while all this happened (an instant-mining node such as anvil makes
// blocks only for transactions: one more, in case the subscription began after the others).
if (seen.length === 0) await wallet.sendTransaction({ to, value: 1n });
const deadline = Date.now() + 20000;
while (seen.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
unwatch();
check(seen.length > 0, "WebSocket watchBlocks saw a block");
await wsClient.transport.getRpcClient?.().then((c) => c.close()).catch(() => {});
console.log(`viem: ${checks} checks passed on chain ${id} (${url})`);
process.exit(0);
