/**
 * A campaign whose fix breaks the application's own tests: the application ends `failed` at the
 * test step, with its log, and no candidate revision is recorded, so there is nothing to promote;
 * its current revision and its directory are as they were (SQLite store, real pipeline, Rust
 * application locked against a local sparse registry on 127.0.0.1).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { rustsecAdvisoryDb } from '../support/advisory-fixtures.js';
import { application, crate } from '../support/campaign-apps.js';
import { freshStore } from '../support/fleet-stores.js';
import { runCargo } from '../support/rust-app.js';
import { runCliAsync, tempDir } from '../support/shared.js';
import { SparseRegistry } from '../support/sparse-registry.js';

const scratch = tempDir('campaign-failed-tests');
const cacheDir = join(scratch, 'cache');
const cargoHome = join(scratch, 'cargo-home');
const db = rustsecAdvisoryDb(join(scratch, 'advisory-db'), [{ id: 'RUSTSEC-2099-0010', package: 'vulnlib', patched: ['>= 1.0.1'] }]);
let registry: SparseRegistry | null = null;
let brittle: string;

before(async () => {
  registry = await SparseRegistry.start([crate('vulnlib', '1.0.0'), crate('vulnlib', '1.0.1')]);
  // Its test holds vulnlib at the vulnerable version: the fixed one fails it.
  brittle = await application(join(scratch, 'brittle'), registry.indexUrl, cargoHome, {
    deps: { vulnlib: '1' },
    main: 'fn main() { println!("{}", vulnlib::version()); }\n\n#[cfg(test)]\nmod tests {\n    #[test]\n    fn pinned() { assert_eq!(vulnlib::version(), "1.0.0"); }\n}\n',
  });
  await runCargo(['update', '-p', 'vulnlib', '--precise', '1.0.0'], { cwd: brittle, cargoHome });
});

after(async () => {
  await registry?.close();
});

test('a fix that fails the application\'s tests ends failed at the test step, with no candidate to promote', { timeout: 600_000 }, async () => {
  const store = await freshStore('sqlite');
  try {
    const fleet = (...args: string[]) => runCliAsync(['fleet', ...args, '--store', store.store], { cacheDir });
    assert.equal((await fleet('init', '--db', db, '--allow-registry', `${new URL((registry as SparseRegistry).indexUrl).origin}/`)).status, 0);
    assert.equal((await fleet('add', brittle)).status, 1);
    const lockBefore = readFileSync(join(brittle, 'Cargo.lock'), 'utf8');
    const statusBefore = (await fleet('status', '--format', 'json')).stdout;

    const started = await fleet('campaign', 'start', 'RUSTSEC-2099-0010', '--no-fetch', '--format', 'json');
    assert.equal(started.status, 1, started.stderr);
    const json = JSON.parse(started.stdout) as { apps: { app: string; state: string; step: string | null; candidate: unknown; steps: { step: string; state: string }[] }[] };
    assert.deepEqual(json.apps.map((a) => [a.app, a.state, a.step, a.candidate]), [['brittle', 'failed', 'test', null]]);
    assert.deepEqual(json.apps[0]?.steps.map((s) => s.step), ['plan', 'apply', 'audit', 'vendor', 'build', 'test']);
    const shown = await fleet('campaign', 'show', '1');
    assert.equal(shown.status, 1);
    assert.match(shown.stdout, /brittle +failed/);
    // Nothing changed: the current revision and the application's own lockfile.
    assert.equal((await fleet('status', '--format', 'json')).stdout, statusBefore);
    assert.equal(readFileSync(join(brittle, 'Cargo.lock'), 'utf8'), lockBefore);
  } finally {
    await store.dispose();
  }
});
