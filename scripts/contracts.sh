#!/usr/bin/env bash
# Builds contracts/ with forge (offline, solc-js shim) and exports the artifacts Rust binds.
#   scripts/contracts.sh build   write crates/contracts/artifacts/*.json
#   scripts/contracts.sh check   fail if the committed artifacts differ from a fresh build
#   scripts/contracts.sh test    forge test
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$root/scripts/tools.sh"
forge="$root/.tools/bin/forge"
solc="$root/.tools/bin/solc"
dest="$root/crates/contracts/artifacts"
# Contracts whose artifacts Rust uses.
CONTRACTS=(AqueductToken Multicall3 RollupPortal OutputOracle BatchInbox L1Block L2ToL1MessagePasser L2Bridge DisputeGame ExecuteStepVerifier IExecute Poseidon Groth16Verifier ZkRollup ChannelAdjudicator PlasmaChain SidechainBridge ChildBridge BlsCheckpoints SpokePool HubPool CrossL2Inbox L2ToL2Messenger)

export_to() {
  local out="$1"
  mkdir -p "$out"
  (cd "$root/contracts" && "$forge" build --use "$solc" --offline --quiet)
  for c in "${CONTRACTS[@]}"; do
    node -e '
      const fs = require("fs");
      const a = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
      const o = { abi: a.abi, bytecode: { object: a.bytecode.object }, deployedBytecode: { object: a.deployedBytecode.object } };
      fs.writeFileSync(process.argv[2], JSON.stringify(o, null, 1) + "\n");
    ' "$root/contracts/out/$c.sol/$c.json" "$out/$c.json"
  done
}

case "${1:-build}" in
  build) export_to "$dest"; echo "contracts: artifacts written to crates/contracts/artifacts" ;;
  check)
    tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
    export_to "$tmp"
    if ! diff -r "$tmp" "$dest" >/dev/null; then
      diff -r "$tmp" "$dest" | head -20 >&2
      echo "contracts: committed artifacts are stale; run scripts/contracts.sh build and commit" >&2
      exit 1
    fi
    echo "contracts: committed artifacts are up to date" ;;
  test) (cd "$root/contracts" && "$forge" test --use "$solc" --offline) ;;
  *) echo "usage: scripts/contracts.sh build|check|test" >&2; exit 2 ;;
esac
