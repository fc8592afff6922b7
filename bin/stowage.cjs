#!/usr/bin/env node
'use strict';
const { join } = require('node:path');

// A broken installation (a missing or unloadable bundle) is an error like any other: one line,
// exit 2, never a stack trace and never exit 1 (which means "findings fail the policy").
function failed(err) {
  process.stderr.write(`stowage: cannot start: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}\n`);
  process.exitCode = 2;
}

try {
  const { bundleFor, launch } = require('../dist/bundle/launcher.cjs');
  const argv = process.argv.slice(2);
  launch(bundleFor(join(__dirname, '..', 'dist', 'bundle'), argv), argv).then((code) => {
    process.exitCode = code;
  }, failed);
} catch (err) {
  failed(err);
}
