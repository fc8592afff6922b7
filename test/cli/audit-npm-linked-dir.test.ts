import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GHSA_NPM, runCli, tempDir } from '../support/shared.js';

/*
 * A directory of the project that the application depends on by path (`"lib": "file:./lib"`) is a
 * link in package-lock.json, and npm loads a link target outside node_modules from disk: its
 * dependencies are its package.json's, not its lockfile entry's. Checked with npm 11.19.1: the
 * lockfile written while lib needed nothing and left-pad was the root's devDependency (`"dev":
 * true`), then lib/package.json given `"left-pad": "^1.0.0"`: `npm ci --omit=dev` installs
 * left-pad, and accepts the lockfile as in sync. `stowage audit --omit dev` left it out.
 */

const cacheDir = tempDir('cli-npm-linked-dir-cache');

interface Report {
  findings: { package: { name: string; version: string } }[];
}

function app(libManifest: Record<string, unknown>): string {
  const dir = tempDir('cli-npm-linked-dir');
  const files: Record<string, unknown> = {
    'package.json': { name: 'app', version: '1.0.0', dependencies: { lib: 'file:./lib' }, devDependencies: { minimist: '1.2.0' } },
    'lib/package.json': libManifest,
    'package-lock.json': {
      name: 'app',
      version: '1.0.0',
      lockfileVersion: 3,
      requires: true,
      packages: {
        '': { name: 'app', version: '1.0.0', dependencies: { lib: 'file:./lib' }, devDependencies: { minimist: '1.2.0' } },
        lib: { version: '1.0.0' },
        'node_modules/lib': { resolved: 'lib', link: true },
        'node_modules/minimist': {
          version: '1.2.0',
          resolved: 'https://registry.npmjs.org/minimist/-/minimist-1.2.0.tgz',
          integrity: 'sha512-7Wl+Jz+IGWuSdgsQEJ4JunV0si/iMhg42MnQQG6h1R6TNeVenp4U9x5CC5v/gYqz/fENLQITAWXidNtVL0NNbw==',
          dev: true,
        },
      },
    },
  };
  for (const [path, value] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), JSON.stringify(value, null, 2));
  }
  return dir;
}

function auditOmitDev(dir: string): { status: number; stderr: string; found: string[] } {
  const r = runCli(['audit', '--format', 'json', dir, '--db', GHSA_NPM, '--omit', 'dev'], { cacheDir });
  const report = r.stdout ? (JSON.parse(r.stdout) as Report) : { findings: [] };
  return { status: r.status, stderr: r.stderr, found: [...new Set(report.findings.map((f) => `${f.package.name}@${f.package.version}`))] };
}

test("--omit dev: a dev-marked package a linked directory's package.json now needs is audited, as npm ci --omit=dev installs it", () => {
  const needed = auditOmitDev(app({ name: 'lib', version: '1.0.0', dependencies: { minimist: '^1.0.0' } }));
  assert.equal(needed.status, 1, needed.stderr);
  assert.deepEqual(needed.found, ['minimist@1.2.0']);

  // As locked (lib needs nothing), minimist is the root's dev dependency only: left out.
  const asLocked = auditOmitDev(app({ name: 'lib', version: '1.0.0' }));
  assert.equal(asLocked.status, 0, asLocked.stderr);
  assert.deepEqual(asLocked.found, []);
});
