/**
 * `stowage fleet campaign start` end to end, with the real pipeline, on both stores: Rust
 * applications locked against a local sparse registry (127.0.0.1), a RustSec directory
 * database written here. One application gets a candidate (built, tested, packaged, recorded as
 * a candidate revision with its artifacts) while its own directory and current revision stay as
 * they were; another has no compatible fix and ends needs-review, naming the blocker.
 */
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { rustsecAdvisoryDb } from '../support/advisory-fixtures.js';
import { application, crate, lockedVersions } from '../support/campaign-apps.js';
import { freshStore, storeSkips, STORE_KINDS } from '../support/fleet-stores.js';
import { ended, pidIn, running } from '../support/processes.js';
import { runCargo } from '../support/rust-app.js';
import { runCliAsync, tempDir } from '../support/shared.js';
import { SparseRegistry } from '../support/sparse-registry.js';

const skips = await storeSkips();
const scratch = tempDir('campaign-cli');
const cacheDir = join(scratch, 'cache');
const cargoHome = join(scratch, 'cargo-home');
const db = rustsecAdvisoryDb(join(scratch, 'advisory-db'), [
  { id: 'RUSTSEC-2099-0010', package: 'vulnlib', patched: ['>= 1.0.1'] },
  { id: 'RUSTSEC-2099-0011', package: 'rx', patched: ['>= 2.0.0'] },
]);
let registry: SparseRegistry | null = null;
let fixable: string;
let blocked: string;
let sleeper: string;
const sleeperPid = join(scratch, 'sleeper-build-script.pid');

before(async () => {
  registry = await SparseRegistry.start([
    crate('vulnlib', '1.0.0'),
    crate('vulnlib', '1.0.1'),
    crate('midlib', '0.1.0', { vulnlib: '1' }),
    crate('rx', '1.5.0'),
    crate('rx', '2.0.0'),
    crate('glob', '0.4.8', { rx: '^1.5' }),
  ]);
  fixable = await application(join(scratch, 'fixable'), registry.indexUrl, cargoHome, {
    deps: { vulnlib: '1', midlib: '0.1' },
    main: 'fn main() { println!("{}", vulnlib::version()); }\n\n#[cfg(test)]\nmod tests {\n    #[test]\n    fn fixed() { assert_eq!(vulnlib::version(), "1.0.1"); }\n}\n',
  });
  await runCargo(['update', '-p', 'vulnlib', '--precise', '1.0.0'], { cwd: fixable, cargoHome });
  // Its build script writes its pid where the test reads it, then sleeps far past any test.
  sleeper = await application(join(scratch, 'sleeper'), registry.indexUrl, cargoHome, {
    deps: { vulnlib: '1' },
    main: 'fn main() {}\n',
    buildScript: `fn main() {\n    std::fs::write(${JSON.stringify(sleeperPid)}, format!("{}\\n", std::process::id())).unwrap();\n    std::thread::sleep(std::time::Duration::from_secs(600));\n}\n`,
  });
  await runCargo(['update', '-p', 'vulnlib', '--precise', '1.0.0'], { cwd: sleeper, cargoHome });
  blocked = await application(join(scratch, 'blocked'), registry.indexUrl, cargoHome, { deps: { glob: '0.4' }, main: 'fn main() {}\n' });
});

after(async () => {
  await registry?.close();
});

interface CampaignJson {
  state: string;
  apps: {
    app: string;
    state: string;
    step: string | null;
    fix: { name: string; from: string; to: string; command: string }[];
    blockedBy: string | null;
    candidate: { revision: string; artifacts: Record<string, string | null> } | null;
    steps: { step: string; state: string }[];
  }[];
}

for (const kind of STORE_KINDS) {
  test(`campaign start: a candidate for the fixable application, needs-review naming the blocker (${kind})`, { skip: skips[kind], timeout: 600_000 }, async () => {
    const store = await freshStore(kind);
    try {
      const fleet = (...args: string[]) => runCliAsync(['fleet', ...args, '--store', store.store], { cacheDir });
      assert.equal((await fleet('init', '--db', db, '--allow-registry', registry !== null ? `${new URL(registry.indexUrl).origin}/` : '')).status, 0);
      assert.equal((await fleet('add', fixable, blocked)).status, 1);
      const lockBefore = readFileSync(join(fixable, 'Cargo.lock'), 'utf8');
      const statusBefore = (await fleet('status', '--format', 'json')).stdout;

      const started = await fleet('campaign', 'start', 'RUSTSEC-2099-0010', '--no-fetch', '--format', 'json');
      assert.equal(started.status, 0, started.stderr);
      const json = JSON.parse(started.stdout) as CampaignJson;
      assert.equal(json.state, 'done');
      assert.deepEqual(json.apps.map((a) => [a.app, a.state]), [['fixable', 'candidate']]);
      const app = json.apps[0];
      assert.deepEqual(app?.fix.map((f) => [f.name, f.from, f.to]), [['vulnlib', '1.0.0', '1.0.1']]);
      assert.deepEqual(app?.steps.map((s) => [s.step, s.state]), ['plan', 'apply', 'audit', 'vendor', 'build', 'test', 'package'].map((s) => [s, 'done']));
      for (const kindOf of ['lockfile', 'patch', 'vendor', 'srpm', 'sbom', 'log']) assert.match(app?.candidate?.artifacts[kindOf] ?? '', /^sha256:[0-9a-f]{64}$/, kindOf);
      // The application's own directory and its current revision are untouched.
      assert.equal(readFileSync(join(fixable, 'Cargo.lock'), 'utf8'), lockBefore);
      assert.deepEqual(lockedVersions(join(fixable, 'Cargo.lock'), 'vulnlib'), ['1.0.0']);
      assert.equal((await fleet('status', '--format', 'json')).stdout, statusBefore);
      const history = JSON.parse((await fleet('history', 'fixable', '--format', 'json')).stdout) as { history: unknown[] };
      assert.equal(history.history.length, 1, 'a candidate is no change of the current revision');

      const review = await fleet('campaign', 'start', 'RUSTSEC-2099-0011', '--no-fetch', '--format', 'json');
      assert.equal(review.status, 1, review.stderr);
      const reviewed = (JSON.parse(review.stdout) as CampaignJson).apps;
      assert.deepEqual(reviewed.map((a) => [a.app, a.state, a.candidate]), [['blocked', 'needs-review', null]]);
      assert.match(reviewed[0]?.blockedBy ?? '', /glob 0\.4\.8 .*rx/);
      const human = await fleet('campaign', 'show', '2');
      assert.match(human.stdout, /blocked +needs-review: .*glob 0\.4\.8/);
    } finally {
      await store.dispose();
    }
  });
}

for (const kind of STORE_KINDS) {
  test(`campaign cancel stops a running build: the worker kills its command and the application ends cancelled (${kind})`, { skip: skips[kind], timeout: 600_000 }, async () => {
    const store = await freshStore(kind);
    try {
      rmSync(sleeperPid, { force: true });
      const fleet = (...args: string[]) => runCliAsync(['fleet', ...args, '--store', store.store], { cacheDir });
      assert.equal((await fleet('init', '--db', db, '--allow-registry', registry !== null ? `${new URL(registry.indexUrl).origin}/` : '')).status, 0);
      assert.equal((await fleet('add', sleeper)).status, 1);
      // Unisolated, so that the build script can write its pid outside the build directory.
      const started = await fleet('campaign', 'start', 'RUSTSEC-2099-0010', '--detach', '--sandbox', 'none', '--no-fetch');
      assert.equal(started.status, 0, started.stderr);
      assert.match(started.stderr, /^stowage: warning: --sandbox none: the applications' build scripts and tests run unconfined, as [^\n]+, with its files and the network$/m);
      const id = /campaign (\d+) started/.exec(started.stdout)?.[1] as string;
      const worker = fleet('worker', '--drain', '--no-fetch');
      const pid = await pidIn(sleeperPid, 3000);
      assert.ok(running(pid), 'the build is running');
      const cancelled = await fleet('campaign', 'cancel', id);
      assert.equal(cancelled.status, 0, cancelled.stderr);
      const drained = await worker;
      assert.equal(drained.status, 0, drained.stderr);
      assert.ok(await ended(pid), "the build script was killed with the build's process group");
      const json = JSON.parse((await fleet('campaign', 'show', id, '--format', 'json')).stdout) as CampaignJson;
      assert.equal(json.state, 'cancelled');
      assert.deepEqual(json.apps.map((a) => [a.app, a.state, a.step, a.candidate]), [['sleeper', 'cancelled', 'build', null]]);
      assert.deepEqual(json.apps[0]?.steps.filter((s) => s.state === 'done').map((s) => s.step), ['plan', 'apply', 'audit', 'vendor']);
    } finally {
      await store.dispose();
    }
  });
}
