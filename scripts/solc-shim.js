#!/usr/bin/env node
// A native-looking `solc` for forge, backed by solc-js: answers `--version` and
// `--standard-json` (input on stdin, output on stdout), which is all forge uses.
'use strict';
const path = require('path');
const fs = require('fs');
const solc = require(path.join(__dirname, 'node_modules', 'solc'));

const args = process.argv.slice(2);
if (args.includes('--version') || args.includes('-v')) {
  const v = solc.version().replace('.Emscripten.clang', '');
  process.stdout.write(`solc, the solidity compiler commandline interface\nVersion: ${v}\n`);
  process.exit(0);
}
if (!args.includes('--standard-json')) {
  process.stderr.write('solc-shim: only --version and --standard-json are supported\n');
  process.exit(2);
}
// Base paths for imports, as forge passes them (--base-path, --include-path, --allow-paths).
const roots = [process.cwd()];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--base-path' || args[i] === '--include-path') roots.push(args[i + 1]);
}
function findImports(p) {
  for (const r of roots) {
    const f = path.resolve(r, p);
    if (fs.existsSync(f)) return { contents: fs.readFileSync(f, 'utf8') };
  }
  if (fs.existsSync(p)) return { contents: fs.readFileSync(p, 'utf8') };
  return { error: `File not found: ${p}` };
}
const input = fs.readFileSync(0, 'utf8');
process.stdout.write(solc.compile(input, { import: findImports }));
