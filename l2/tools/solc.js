#!/usr/bin/env node
// A native-solc look-alike around solc-js, so py-solc-x (and anything else that
// expects the `solc` command line) can drive the npm compiler offline.
// `solcjs --standard-json` prints a ">>>" banner before its JSON; we do not.
'use strict';
const path = require('path');

function loadSolc() {
  // The project's node_modules sits two levels above this file (l2/tools/solc.js).
  const roots = [process.env.L2_NODE_MODULES, path.resolve(__dirname, '..', '..', 'node_modules'), process.cwd() + '/node_modules']
    .filter(Boolean);
  for (const root of roots) {
    try { return require(path.join(root, 'solc')); } catch (e) { if (e.code !== 'MODULE_NOT_FOUND') throw e; }
  }
  process.stderr.write('solc-js not found: run `npm ci` in the project root\n');
  process.exit(2);
}

const args = process.argv.slice(2);
const solc = loadSolc();
if (args.includes('--version')) {
  // Same shape as native solc, which py-solc-x parses for "Version: X.Y.Z".
  process.stdout.write('solc, the solidity compiler commandline interface\nVersion: ' + solc.version() + '\n');
  process.exit(0);
}
if (!args.includes('--standard-json')) {
  process.stderr.write('usage: solc.js --version | --standard-json < input.json\n');
  process.exit(2);
}
let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => { input += chunk; });
process.stdin.on('end', () => {
  process.stdout.write(solc.compile(input));
});
