import { execFileSync, spawnSync } from 'node:child_process';
import { realpathSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { auditReport } from '../support/audit-report.js';
import { GHSA_NPM, NPM_CORPUS, PROJECT_ROOT, tempDir } from '../support/shared.js';

/**
 * The README's "Installing": `npm pack` makes the tarball users install outside the clone. What
 * it holds (package.json's `files`) must be enough to run every command: the bundle, the
 * launcher, the schemas; not dist/src or the sources. The tarball is unpacked as npm installs it,
 * with the project's own node_modules standing in for the dependencies npm would install.
 */

test('the packed tarball, unpacked beside its dependencies, runs: version, an audit, db show', () => {
  const dir = tempDir('install-pack');
  const packed = JSON.parse(execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: PROJECT_ROOT, encoding: 'utf8' })) as { filename: string; files: { path: string }[] }[];
  const tarball = join(dir, packed[0]?.filename ?? '');
  assert.ok((packed[0]?.files ?? []).every((f) => !f.path.startsWith('src/') && !f.path.startsWith('dist/src/') && !f.path.startsWith('test/')), 'no sources in the tarball');
  execFileSync('tar', ['-xzf', tarball, '-C', dir]);
  symlinkSync(realpathSync(join(PROJECT_ROOT, 'node_modules')), join(dir, 'package', 'node_modules'));
  const run = (args: string[]): { status: number | null; stdout: string; stderr: string } =>
    spawnSync(process.execPath, [join(dir, 'package', 'bin', 'stowage.cjs'), ...args], {
      cwd: dir,
      env: { ...process.env, NO_COLOR: '1', STOWAGE_CACHE_DIR: join(dir, 'cache') },
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    });

  const version = run(['--version']);
  assert.equal(version.status, 0, version.stderr);
  const manifest = JSON.parse(execFileSync('tar', ['-xzOf', tarball, 'package/package.json'], { encoding: 'utf8' })) as { version: string };
  assert.equal(version.stdout.trim(), manifest.version);

  const audit = run(['audit', '--format', 'json', '--db', GHSA_NPM, join(NPM_CORPUS, 'jellyfin-web-2025-03-01.package-lock.json')]);
  assert.equal(audit.status, 1, audit.stderr);
  assert.ok(auditReport(audit.stdout).findings.some((f) => f.advisory.id === 'GHSA-r683-j2x4-v87g'), 'the report names jellyfin-web 2025-03-01\'s node-fetch advisory');

  const db = run(['db', 'show', GHSA_NPM]);
  assert.equal(db.status, 0, db.stderr);
  assert.match(db.stdout, /advisories \(npm \d+\)/);
});
