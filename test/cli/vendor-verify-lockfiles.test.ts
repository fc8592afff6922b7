import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { readApplication } from '../../src/inputs/application.js';
import { MANIFEST_SCHEMA_VERSION, type VendorManifest } from '../../src/inputs/vendor-manifest.js';
import { archiveBytes, vendorGraphs } from '../../src/vendoring/vendor-app.js';
import { vendorSbom } from '../../src/vendoring/vendor-sbom.js';
import { runCli, tempDir, tempTree } from '../support/shared.js';

/**
 * `vendor verify` (and `package rpm --vendor`, which runs it) proves an archive is the one the
 * application's lockfiles give. The manifest inside the archive is the attacker's: the
 * lockfiles it names must be the application's own, not files it points at elsewhere.
 */

const cacheDir = tempDir('verify-lockfiles-cache');

const lockfile = (name: string, deps: Record<string, { version: string; resolved: string; integrity: string }>): string =>
  JSON.stringify({
    name,
    version: '1.0.0',
    lockfileVersion: 3,
    requires: true,
    packages: {
      '': { name, version: '1.0.0', dependencies: Object.fromEntries(Object.entries(deps).map(([n, d]) => [n, d.version])) },
      ...Object.fromEntries(Object.entries(deps).map(([n, d]) => [`node_modules/${n}`, d])),
    },
  });

/** A stowage-written archive (the same writer as `stowage vendor`) of `projectDir` with the lockfiles at `lockfilePaths`, recorded under the given paths. */
async function archiveFor(projectDir: string, lockfilePaths: string[], recorded: (path: string) => string): Promise<Buffer> {
  const located = await readApplication(lockfilePaths, { allowUnidentified: false, allowPartial: true });
  const vendored = await vendorGraphs(projectDir, located, { env: process.env, warn: () => undefined, cacheRoot: cacheDir });
  const sbom = await vendorSbom(projectDir, located.graphs, vendored.files, vendored.packages, 315532800, () => undefined);
  const manifest: VendorManifest = {
    schemaVersion: MANIFEST_SCHEMA_VERSION,
    tool: { name: 'stowage', version: '0.0.0' },
    sourceDateEpoch: 315532800,
    lockfiles: vendored.lockfiles.map((l) => ({ ...l, path: recorded(l.path) })),
    packages: vendored.packages,
    audit: { databases: [], findings: [] },
  };
  return (await archiveBytes([...vendored.files, sbom], manifest, 'vendor.tar.zst')).bytes;
}

test("vendor verify: an archive whose manifest names another application's lockfile (`../other/...`) or none is refused, not verified", async () => {
  const root = tempDir('verify-lockfiles');
  // The application depends on left-pad; the archive is made for another one that depends on nothing.
  const app = tempTree('verify-lockfiles-app', {
    'package.json': JSON.stringify({ name: 'app', version: '1.0.0', dependencies: { 'left-pad': '1.3.0' } }),
    'package-lock.json': lockfile('app', {
      'left-pad': {
        version: '1.3.0',
        resolved: 'https://registry.npmjs.org/left-pad/-/left-pad-1.3.0.tgz',
        integrity: 'sha512-XI5MPzVNApjAyhQzphX8BkmKsKUxD4LdyK24iZeQEQxZEjHp//e4ydJ2oPi2t2nRASnNw/f2aq7/cmtk8SSwrAjA==',
      },
    }),
  });
  const other = tempTree('verify-lockfiles-other', {
    'package.json': JSON.stringify({ name: 'other', version: '1.0.0' }),
    'package-lock.json': lockfile('other', {}),
  });
  const otherLock = join(other, 'package-lock.json');
  const cases: [string, Buffer, RegExp][] = [
    // The path climbs out of the application to the other one's lockfile, whose sha256 it records.
    ['climbing.tar.zst', await archiveFor(app, [otherLock], () => relative(app, otherLock)), /lockfile path "\.\.\/[^"]+\/package-lock\.json": `\.\.` in path/],
    // No lockfile at all: nothing to vendor, so the rebuild is empty too.
    ['none.tar.zst', await archiveFor(app, [], () => ''), /package-lock\.json: the archive was made without it/],
  ];
  for (const [name, bytes, reason] of cases) {
    const archive = join(root, name);
    writeFileSync(archive, bytes);
    const run = runCli(['vendor', 'verify', archive, app], { cacheDir });
    assert.notEqual(run.status, 0, `${name} verified against an application it was not made for:\n${run.stdout}`);
    assert.doesNotMatch(run.stdout, /verified/);
    assert.match(`${run.stdout}${run.stderr}`, reason, name);
  }
});
