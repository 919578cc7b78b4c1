#!/usr/bin/env bash
# Installs Aqueduct's pinned Ethereum tools into .tools/ (ignored by git):
# forge, cast and anvil from their npm packages, and solc-js behind a native-looking `solc`
# shim so that `forge build/test --use .tools/bin/solc --offline` works without downloads; viem
# (npm) and web3.py (a Python venv in .tools/py) for the client-compatibility suite (compat/);
# Debian's chromium for the dashboard's browser test.
# Idempotent: re-running with the same pins does nothing.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools="$root/.tools"
FOUNDRY_VERSION=1.7.1
SOLC_VERSION=0.8.37
# Client libraries the compatibility suite (compat/) drives the devnet with.
VIEM_VERSION=2.58.8
WEB3PY_VERSION=7.16.0
stamp="foundry=$FOUNDRY_VERSION solc=$SOLC_VERSION shim=2 viem=$VIEM_VERSION web3py=$WEB3PY_VERSION"

# compat/viem.mjs imports viem from here (ES modules resolve from the script's own directory).
ln -sfn "$tools/node_modules" "$root/compat/node_modules"

# The dashboard's browser test drives Debian's headless Chromium.
if ! command -v chromium >/dev/null; then
  echo "tools.sh: installing chromium (Debian) for the dashboard's browser test" >&2
  apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >&2
fi

if [ -f "$tools/stamp" ] && [ "$(cat "$tools/stamp")" = "$stamp" ] && [ -x "$tools/bin/forge" ]; then
  exit 0
fi
command -v npm >/dev/null || { echo "tools.sh: npm (Node.js >= 18) is required" >&2; exit 1; }
mkdir -p "$tools/bin"
cat > "$tools/package.json" <<JSON
{
  "name": "aqueduct-tools",
  "private": true,
  "dependencies": {
    "@foundry-rs/forge-linux-amd64": "$FOUNDRY_VERSION",
    "@foundry-rs/cast-linux-amd64": "$FOUNDRY_VERSION",
    "@foundry-rs/anvil-linux-amd64": "$FOUNDRY_VERSION",
    "solc": "$SOLC_VERSION",
    "viem": "$VIEM_VERSION"
  }
}
JSON
echo "tools.sh: installing forge/cast/anvil $FOUNDRY_VERSION and solc-js $SOLC_VERSION into .tools/" >&2
(cd "$tools" && npm install --no-audit --no-fund --loglevel=error >&2)
for t in forge cast anvil; do
  bin="$(find "$tools/node_modules/@foundry-rs/$t-linux-amd64" -type f -name "$t" | head -n1)"
  [ -n "$bin" ] || { echo "tools.sh: no $t binary in its npm package" >&2; exit 1; }
  chmod +x "$bin"
  ln -sf "$bin" "$tools/bin/$t"
done
cp "$root/scripts/solc-shim.js" "$tools/solc-shim.js"
cat > "$tools/bin/solc" <<SH
#!/usr/bin/env bash
exec node "$tools/solc-shim.js" "\$@"
SH
chmod +x "$tools/bin/solc"
if ! python3 -m venv --help >/dev/null 2>&1; then
  echo "tools.sh: installing python3 and python3-venv (Debian)" >&2
  apt-get update -qq >&2 && apt-get install -y -qq python3 python3-venv >&2
fi
rm -rf "$tools/py"
python3 -m venv "$tools/py"
"$tools/py/bin/pip" install --quiet --disable-pip-version-check "web3==$WEB3PY_VERSION" >&2
"$tools/bin/forge" --version >&2
"$tools/bin/solc" --version >&2
echo "$stamp" > "$tools/stamp"
