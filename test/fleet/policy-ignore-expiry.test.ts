/**
 * An ignore of an application's own policy (stowage.toml) holds through its `expires` day; the
 * day after, `stowage audit` fails the finding again. The fleet keeps findings as evaluated, so
 * a sync on a later day evaluates again the revisions with an ignore that has lapsed, whether
 * or not the databases moved: the fleet's findings stay exactly the audit's (issue 9). Both stores.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { syncFleet } from '../../src/fleet/sync.js';
import { openFleetStore } from '../../src/fleet/store/open-store.js';
import { freshStore, storeSkips, STORE_KINDS } from '../support/fleet-stores.js';
import { GHSA_NPM, runCli, tempDir, tempTree } from '../support/shared.js';

const skips = await storeSkips();
const cacheDir = tempDir('fleet-policy-expiry-cache');

/** After the ignore's day, whatever day the test runs on. */
const LATER = '2100-01-01';

interface Finding {
  advisory: { id: string };
  ignored: { expires: string | null } | null;
  failsPolicy: boolean;
}

/** lodash 4.17.4 from the registry, which the GHSA advisories naming lodash affect; its policy ignores `ignore` until 2099-12-31. */
function lodashApp(ignore: string | null): string {
  return tempTree('fleet-policy-expiry-app', {
    'package.json': JSON.stringify({ name: 'app', version: '1.0.0', dependencies: { lodash: '4.17.4' } }),
    'package-lock.json': JSON.stringify({
      name: 'app',
      version: '1.0.0',
      lockfileVersion: 3,
      requires: true,
      packages: { '': { name: 'app', version: '1.0.0', dependencies: { lodash: '4.17.4' } }, 'node_modules/lodash': { version: '4.17.4' } },
    }),
    ...(ignore === null ? {} : { 'stowage.toml': `[[audit.ignore]]\nid = "${ignore}"\nreason = "not reachable"\nexpires = 2099-12-31\n` }),
  });
}

for (const kind of STORE_KINDS) {
  test(`a sync after a policy ignore lapsed fails its finding again, as the audit does (${kind})`, { skip: skips[kind], timeout: 300_000 }, async () => {
    const first = runCli(['audit', lodashApp(null), '--db', GHSA_NPM, '--format', 'json'], { cacheDir });
    const id = (JSON.parse(first.stdout) as { findings: Finding[] }).findings[0]?.advisory.id;
    assert.ok(id !== undefined, first.stderr);
    const app = lodashApp(id);
    const store = await freshStore(kind);
    try {
      const fleet = (...args: string[]) => runCli(['fleet', ...args, '--store', store.store], { cacheDir });
      assert.equal(fleet('init', '--db', GHSA_NPM).status, 0);
      assert.equal(fleet('add', app, '--name', 'app').status, 1);
      const shown = (): Finding[] => (JSON.parse(fleet('show', 'app', '--format', 'json').stdout) as { apps: { findings: Finding[] }[] }).apps[0]?.findings ?? [];
      assert.equal(shown().find((f) => f.advisory.id === id)?.ignored?.expires, '2099-12-31', 'ignored while the ignore holds');

      // The databases have not moved; the day has.
      const opened = await openFleetStore(store.store);
      try {
        await syncFleet(opened, { cacheRoot: cacheDir, fetch: 'never', now: new Date(`${LATER}T00:00:00Z`), by: 'tester' });
      } finally {
        await opened.close();
      }
      const audited = runCli(['audit', app, '--db', GHSA_NPM, '--format', 'json'], { cacheDir, env: { STOWAGE_NOW: LATER } });
      assert.equal(audited.status, 1);
      const expected = (JSON.parse(audited.stdout) as { findings: Finding[] }).findings;
      assert.deepEqual(expected.find((f) => f.advisory.id === id)?.ignored, null, 'the audit no longer applies the ignore');
      assert.deepEqual(shown(), expected, 'the fleet\'s findings are the audit\'s');
    } finally {
      await store.dispose();
    }
  });
}
