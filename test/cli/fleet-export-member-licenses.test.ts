import assert from 'node:assert/strict';
import { test } from 'node:test';
import { freshStore, storeSkips } from '../support/fleet-stores.js';
import { runCli, tempDir, tempTree } from '../support/shared.js';

/*
 * An npm workspace's members are folded into the application in an SBOM (they are no components
 * of their own), so their licences are the application's: `stowage sbom` says so. `fleet export`
 * of the same application said the root's licence alone (Apache-2.0 where the members are MIT and
 * BSD-3-Clause): two SBOMs of one lockfile disagreed, the fleet's leaving licences out. The
 * lockfile is as npm 11 wrote it (`npm install --package-lock-only --offline`).
 */

const cacheDir = tempDir('fleet-export-member-licenses-cache');
const skips = await storeSkips();

const workspaceApp = (): string =>
  tempTree('fleet-export-member-licenses-app', {
    'package.json': JSON.stringify({ name: 'app', version: '1.0.0', license: 'Apache-2.0', workspaces: ['packages/*'], dependencies: { lib: '^2.0.0' } }),
    'packages/lib/package.json': JSON.stringify({ name: 'lib', version: '2.0.0', license: 'MIT' }),
    'packages/tool/package.json': JSON.stringify({ name: 'tool', version: '3.0.0', license: 'BSD-3-Clause' }),
    'package-lock.json': JSON.stringify({
      name: 'app',
      version: '1.0.0',
      lockfileVersion: 3,
      requires: true,
      packages: {
        '': { name: 'app', version: '1.0.0', license: 'Apache-2.0', workspaces: ['packages/*'], dependencies: { lib: '^2.0.0' } },
        'node_modules/lib': { resolved: 'packages/lib', link: true },
        'node_modules/tool': { resolved: 'packages/tool', link: true },
        'packages/lib': { version: '2.0.0', license: 'MIT' },
        'packages/tool': { version: '3.0.0', license: 'BSD-3-Clause' },
      },
    }),
  });

const db = (): string =>
  tempTree('fleet-export-member-licenses-db', {
    'GHSA-0000-0000-0001.json': JSON.stringify({
      id: 'GHSA-0000-0000-0001',
      modified: '2026-01-01T00:00:00Z',
      affected: [{ package: { ecosystem: 'npm', name: 'unrelated-package' }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '1.0.0' }] }] }],
    }),
  });

test("fleet export states the workspace members' licences as the application's, as stowage sbom does", { skip: skips.sqlite }, async () => {
  const store = await freshStore('sqlite');
  const env = { STOWAGE_NOW: '2026-01-02' };
  const fleet = (...args: string[]) => runCli(['fleet', ...args, '--store', store.store], { cacheDir, env });
  try {
    const app = workspaceApp();
    assert.equal(fleet('init', '--db', db()).status, 0);
    const added = fleet('add', app, '--name', 'app');
    assert.equal(added.status, 0, added.stderr);

    const sbom = runCli(['sbom', app, '--format', 'cyclonedx'], { cacheDir, env });
    assert.equal(sbom.status, 0, sbom.stderr);
    const cdx = fleet('export', 'app', '--format', 'cyclonedx');
    assert.equal(cdx.status, 0, cdx.stderr);
    const spdx = fleet('export', 'app', '--format', 'spdx');
    assert.equal(spdx.status, 0, spdx.stderr);

    const componentLicense = (text: string): unknown => (JSON.parse(text) as { metadata: { component: { licenses?: unknown } } }).metadata.component.licenses;
    const expected = [{ expression: 'Apache-2.0 AND BSD-3-Clause AND MIT' }];
    assert.deepEqual(componentLicense(sbom.stdout), expected);
    assert.deepEqual(componentLicense(cdx.stdout), expected);
    const packages = (JSON.parse(spdx.stdout) as { packages: { name: string; licenseDeclared: string }[] }).packages;
    assert.deepEqual(
      packages.filter((p) => p.name === 'app').map((p) => p.licenseDeclared),
      ['Apache-2.0 AND BSD-3-Clause AND MIT'],
    );
  } finally {
    await store.dispose();
  }
});
