#!/usr/bin/env bash
# The whole test suite, from a clean clone: installs the pinned tools, checks the committed
# contract artifacts, runs forge tests, clippy and every Rust test (unit, property, end-to-end).
set -euo pipefail
# Incremental caches only help repeated local builds; a clean CI clone pays their disk for nothing.
export CARGO_INCREMENTAL=0
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/tools.sh
echo "== contracts: artifacts up to date"
bash scripts/contracts.sh check
echo "== contracts: forge test"
bash scripts/contracts.sh test
echo "== rust: fmt and clippy"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== rust: tests (the long scenario tests, #[ignore]d for a quick local cargo test, included)"
cargo test --workspace --locked -- --include-ignored
