/**
 * `stowage fleet worker --sync-every`: scheduled syncs are jobs of the fleet's queue. A worker
 * started with it queues a sync at once (and every interval), runs it like `fleet sync`, so an
 * advisory added to the database since the applications were added becomes their finding; a
 * worker without it leaves the fleet as it was. Both stores.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { rustsecAdvisoryDb } from '../support/advisory-fixtures.js';
import { ADVISORY_ID, cargoLock, VULNERABLE } from '../support/campaign-fleet.js';
import { freshStore, storeSkips, STORE_KINDS } from '../support/fleet-stores.js';
import { runCliAsync, tempDir } from '../support/shared.js';

const skips = await storeSkips();

interface StatusJson {
  apps: { name: string; findings: { advisory: { id: string }; package: { name: string; version: string } }[] }[];
}

for (const kind of STORE_KINDS) {
  test(`fleet worker --sync-every queues a sync and runs it; without it the fleet is not synced (${kind})`, { skip: skips[kind], timeout: 300_000 }, async () => {
    const scratch = tempDir('fleet-worker-sync');
    const cacheDir = join(scratch, 'cache');
    // The database holds one advisory for a crate no application locks, then gains one for the crate they do.
    const db = rustsecAdvisoryDb(join(scratch, 'db'), [{ id: 'RUSTSEC-2099-0199', package: 'unlocked-crate' }]);
    mkdirSync(join(scratch, 'apps'));
    const lockfile = join(scratch, 'apps', 'payments.Cargo.lock');
    writeFileSync(lockfile, cargoLock('payments', VULNERABLE.from));
    const store = await freshStore(kind);
    try {
      // A directory database is read as it is: --no-fetch only says nothing is downloaded.
      const fleet = (...args: string[]) => runCliAsync(['fleet', ...args, '--store', store.store, ...(args[0] === 'status' ? [] : ['--no-fetch'])], { cacheDir });
      assert.equal((await fleet('init', '--db', db)).status, 0);
      const added = await fleet('add', lockfile);
      assert.equal(added.status, 0, added.stderr);
      rustsecAdvisoryDb(db, [{ id: ADVISORY_ID, package: VULNERABLE.name, patched: [`>= ${VULNERABLE.to}`] }]);
      const findings = async (): Promise<string[]> => {
        const status = await fleet('status', '--format', 'json');
        return (JSON.parse(status.stdout) as StatusJson).apps.flatMap((a) => a.findings.map((f) => `${a.name} ${f.advisory.id} ${f.package.name}@${f.package.version}`));
      };

      const plain = await fleet('worker', '--drain');
      assert.equal(plain.status, 0, plain.stderr);
      assert.deepEqual(await findings(), [], 'a worker without --sync-every does not sync');

      const scheduled = await fleet('worker', '--drain', '--sync-every', '1h');
      assert.equal(scheduled.status, 0, scheduled.stderr);
      assert.deepEqual(await findings(), [`payments ${ADVISORY_ID} ${VULNERABLE.name}@${VULNERABLE.from}`]);
    } finally {
      await store.dispose();
    }
  });
}

test('fleet worker --sync-every refuses a duration it cannot read, in one line', async () => {
  const scratch = tempDir('fleet-worker-sync-bad');
  const run = await runCliAsync(['fleet', 'worker', '--sync-every', '15 minutes', '--store', join(scratch, 'fleet.sqlite')], { cacheDir: join(scratch, 'cache') });
  assert.equal(run.status, 2);
  assert.equal(run.stderr.trim().split('\n').length, 1, run.stderr);
  assert.match(run.stderr, /--sync-every "15 minutes": expected a duration such as 90s, 15m, 2h or 1d/);
});
