/**
 * `--sandbox auto` where bubblewrap does not work (here: a bwrap first on PATH that refuses to
 * start): the commands that run campaigns' builds say on their output that builds run
 * unisolated, not only in each candidate's log.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { rustsecAdvisoryDb } from '../support/advisory-fixtures.js';
import { freshStore } from '../support/fleet-stores.js';
import { runCli, tempDir } from '../support/shared.js';

test('fleet worker says at its start when bubblewrap cannot isolate builds, and only then', async () => {
  const scratch = tempDir('sandbox-fallback');
  const cacheDir = join(scratch, 'cache');
  const db = rustsecAdvisoryDb(join(scratch, 'db'), [{ id: 'RUSTSEC-2099-0010', package: 'vulnlib', patched: ['>= 1.0.1'] }]);
  const store = await freshStore('sqlite');
  const refusing = tempDir('sandbox-fallback-bin');
  writeFileSync(join(refusing, 'bwrap'), '#!/bin/sh\necho "bwrap: No permissions to create new namespace" >&2\nexit 1\n', { mode: 0o755 });
  try {
    assert.equal(runCli(['fleet', 'init', '--db', db, '--store', store.store], { cacheDir }).status, 0);
    const without = runCli(['fleet', 'worker', '--drain', '--store', store.store], { cacheDir, env: { PATH: `${refusing}:${process.env.PATH ?? ''}` } });
    assert.equal(without.status, 0, without.stderr);
    assert.match(
      without.stderr,
      /^stowage: warning: bubblewrap cannot isolate builds here \(bwrap refused to start \(bwrap: No permissions to create new namespace\)\): this worker runs the builds and tests of campaigns started with --sandbox auto unisolated, with network access/m,
    );
    const withBwrap = runCli(['fleet', 'worker', '--drain', '--store', store.store], { cacheDir });
    assert.equal(withBwrap.status, 0, withBwrap.stderr);
    assert.doesNotMatch(withBwrap.stderr, /bubblewrap/);
  } finally {
    await store.dispose();
  }
});
