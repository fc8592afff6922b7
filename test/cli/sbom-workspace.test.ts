import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CARGO_CORPUS, NPM_CORPUS, runCli, tempDir } from '../support/shared.js';

/**
 * `stowage sbom` of an application whose manifest names no single application (a Cargo virtual
 * workspace, a monorepo root without a version): the SBOM describes the lockfile, named after
 * its root, with a warning, as the vendor archive's SBOM does; it used to be refused as
 * "nothing to package". A manifest that cannot be read is still an error.
 */

const cacheDir = tempDir('sbom-workspace-cache');

function appDir(lockfile: string, lockName: string, manifest: string, manifestName: string): string {
  const dir = tempDir('sbom-workspace-app');
  copyFileSync(lockfile, join(dir, lockName));
  copyFileSync(manifest, join(dir, manifestName));
  return dir;
}

interface CycloneDxDoc {
  metadata: { component: { name: string; version?: string } };
  components: { name: string }[];
}

test('a virtual workspace (kanidm) and a monorepo root without a version (vite): named after the lockfile root, with a warning', () => {
  // kanidm 2022-02-01: Cargo.toml is [workspace] only; the members' manifests are not beside it.
  const kanidm = appDir(join(CARGO_CORPUS, 'kanidm-2022-02-01.Cargo.lock'), 'Cargo.lock', join(CARGO_CORPUS, 'kanidm-2022-02-01.Cargo.toml'), 'Cargo.toml');
  const k = runCli(['sbom', '--no-licenses', kanidm], { cacheDir, env: { SOURCE_DATE_EPOCH: '1700000000' } });
  assert.equal(k.status, 0, k.stderr);
  assert.match(k.stderr, /warning: SBOM: .*Cargo\.toml: neither \[package\] nor a workspace member with a binary target[^\n]*; the application is named after the lockfile's root\n/);
  const kDoc = JSON.parse(k.stdout) as CycloneDxDoc;
  // The lockfile's first root, as `stowage audit` shows it: kanidm 1.1.0-alpha.7.
  assert.deepEqual([kDoc.metadata.component.name, kDoc.metadata.component.version], ['kanidm', '1.1.0-alpha.7']);
  assert.ok(kDoc.components.some((c) => c.name === 'tokio'));

  // vite 2023-01-01: the root package.json is private, "@vitejs/vite-monorepo" without a version.
  const vite = appDir(join(NPM_CORPUS, 'vite-2023-01-01.pnpm-lock.yaml'), 'pnpm-lock.yaml', join(NPM_CORPUS, 'vite-2023-01-01.package.json'), 'package.json');
  const v = runCli(['sbom', '--no-licenses', vite], { cacheDir, env: { SOURCE_DATE_EPOCH: '1700000000' } });
  assert.equal(v.status, 0, v.stderr);
  assert.match(v.stderr, /warning: SBOM: .*package\.json: package\.json needs a name and a version[^\n]*; the application is named after the lockfile's root\n/);
  assert.equal((JSON.parse(v.stdout) as CycloneDxDoc).metadata.component.name, '@vitejs/vite-monorepo');

  // A manifest that is not JSON is bad input, not a missing application.
  writeFileSync(join(vite, 'package.json'), '{');
  const bad = runCli(['sbom', '--no-licenses', vite], { cacheDir });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /^stowage: \S*package\.json: invalid JSON/m);
});
