import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GHSA_NPM, runCli, tempDir } from '../support/shared.js';

/*
 * npm's --omit leaves a package out only below the project root or a workspace member (arborist's
 * shouldOmit asks for the package's "top", the directory outside node_modules that holds it). A
 * directory of the project that a `file:` dependency links to is a top of its own: what npm
 * installs below it is installed whatever it is marked. Checked with npm 11.19.1: the root needs
 * minimist 1.2.6 and links `lib` (`file:./lib`), whose devDependency (or optionalDependency)
 * minimist 1.2.0 npm nests at lib/node_modules/minimist, marked `"dev": true` (`"optional":
 * true`); `npm ci --omit=dev` (`--omit=optional`) installs it there all the same. `stowage audit
 * --omit dev` (`--omit optional`) left it out and passed. In a workspace member, the same nested
 * dev dependency is left out by npm ci --omit=dev, and by the audit.
 */

const cacheDir = tempDir('cli-npm-omit-top-cache');

const MINIMIST_120 = {
  version: '1.2.0',
  resolved: 'https://registry.npmjs.org/minimist/-/minimist-1.2.0.tgz',
  integrity: 'sha512-7Wl+Jz+IGWuSdgsQEJ4JunV0si/iMhg42MnQQG6h1R6TNeVenp4U9x5CC5v/gYqz/fENLQITAWXidNtVL0NNbw==',
  license: 'MIT',
};
const MINIMIST_126 = {
  version: '1.2.6',
  resolved: 'https://registry.npmjs.org/minimist/-/minimist-1.2.6.tgz',
  integrity: 'sha512-Jsjnk4bw3YJqYzbdyBiNsPWHPfO++UGG749Cxs6peCu5Xg4nrena6OVxOYxrQTqww0Jmwt+Ref8rggumkTLz9Q==',
  license: 'MIT',
};

interface Report {
  findings: { package: { name: string; version: string } }[];
}

function write(files: Record<string, unknown>): string {
  const dir = tempDir('cli-npm-omit-top');
  for (const [path, value] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), JSON.stringify(value, null, 2));
  }
  return dir;
}

/** The root needs minimist 1.2.6 and links `lib`, which needs minimist 1.2.0 in `section`, as npm 11 locks it. */
function linkedLib(section: 'devDependencies' | 'optionalDependencies', marker: 'dev' | 'optional', withManifests = true): string {
  const root = { name: 'app', version: '1.0.0', dependencies: { lib: 'file:./lib', minimist: '1.2.6' } };
  const lib = { name: 'lib', version: '1.0.0', [section]: { minimist: '1.2.0' } };
  return write({
    ...(withManifests ? { 'package.json': root, 'lib/package.json': lib } : {}),
    'package-lock.json': {
      name: 'app',
      version: '1.0.0',
      lockfileVersion: 3,
      requires: true,
      packages: {
        '': root,
        lib: { version: '1.0.0', [section]: { minimist: '1.2.0' } },
        'lib/node_modules/minimist': { ...MINIMIST_120, [marker]: true },
        'node_modules/lib': { resolved: 'lib', link: true },
        'node_modules/minimist': MINIMIST_126,
      },
    },
  });
}

/** The same, with `packages/a` a workspace member instead of a linked directory. */
function workspaceMember(withManifests: boolean): string {
  const root = { name: 'app', version: '1.0.0', workspaces: ['packages/*'], dependencies: { minimist: '1.2.6' } };
  const lock = {
    name: 'app',
    version: '1.0.0',
    lockfileVersion: 3,
    requires: true,
    packages: {
      '': root,
      'node_modules/a': { resolved: 'packages/a', link: true },
      'node_modules/minimist': MINIMIST_126,
      'packages/a': { version: '1.0.0', devDependencies: { minimist: '1.2.0' } },
      'packages/a/node_modules/minimist': { ...MINIMIST_120, dev: true },
    },
  };
  const manifests = { 'package.json': root, 'packages/a/package.json': { name: 'a', version: '1.0.0', devDependencies: { minimist: '1.2.0' } } };
  return write({ 'package-lock.json': lock, ...(withManifests ? manifests : {}) });
}

function audit(target: string, omit: string): { status: number; stderr: string; found: string[] } {
  const r = runCli(['audit', '--format', 'json', target, '--db', GHSA_NPM, '--omit', omit], { cacheDir });
  const report = r.stdout ? (JSON.parse(r.stdout) as Report) : { findings: [] };
  return { status: r.status, stderr: r.stderr, found: [...new Set(report.findings.map((f) => `${f.package.name}@${f.package.version}`))] };
}

test("--omit dev: a linked directory's dev dependency nested below it is audited, as npm ci --omit=dev installs it", () => {
  // With the manifests, and the lockfile alone (npm ci then reads the root entry).
  for (const withManifests of [true, false]) {
    const dir = linkedLib('devDependencies', 'dev', withManifests);
    const r = audit(withManifests ? dir : join(dir, 'package-lock.json'), 'dev');
    assert.equal(r.status, 1, r.stderr);
    assert.deepEqual(r.found, ['minimist@1.2.0']);
  }
});

test("--omit optional: a linked directory's optional dependency nested below it is audited, as npm ci --omit=optional installs it", () => {
  const r = audit(linkedLib('optionalDependencies', 'optional'), 'optional');
  assert.equal(r.status, 1, r.stderr);
  assert.deepEqual(r.found, ['minimist@1.2.0']);
});

test("--omit dev: a workspace member's dev dependency nested below it is left out, as npm ci --omit=dev leaves it out", () => {
  // With the manifests (members found on disk) and the lockfile alone (its root entry's `workspaces`).
  for (const withManifests of [true, false]) {
    const dir = workspaceMember(withManifests);
    const r = audit(withManifests ? dir : join(dir, 'package-lock.json'), 'dev');
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.found, []);
  }
});
