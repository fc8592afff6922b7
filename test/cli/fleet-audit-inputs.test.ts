import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { test } from 'node:test';
import { auditReport, type ReportFinding } from '../support/audit-report.js';
import { freshStore, storeSkips, STORE_KINDS, type TestStore } from '../support/fleet-stores.js';
import type { FleetApps } from '../support/fleet-report.js';
import { packTar } from '../support/hostile-tar.js';
import { ADVISORY_DB_BUNDLE, GHSA_NPM, runCli, tempDir, tempTree } from '../support/shared.js';

/*
 * Issue 9's contract, for the files an audit reads besides the lockfile: the fleet's findings
 * for an application are `stowage audit`'s, and every file the audit read is one of the
 * revision's documents, so a change in any of them is a new revision, evaluated as the audit
 * evaluates it. And what the audit refuses as not checked the fleet never shows as clean.
 */

const cacheDir = tempDir('fleet-audit-inputs-cache');

function fleetCli(store: TestStore) {
  return (...args: string[]) => runCli(['fleet', ...args, '--store', store.store], { cacheDir });
}

/** `stowage audit PATH --format json` with these databases: its exit code and findings. */
function audit(path: string, databases: string[]): { status: number; findings: ReportFinding[]; stderr: string } {
  const r = runCli(['audit', path, ...databases, '--format', 'json'], { cacheDir });
  return { status: r.status, findings: r.stdout === '' ? [] : auditReport(r.stdout).findings, stderr: r.stderr };
}

interface AddedApp {
  name: string;
  change: string;
  revision: string;
}

function added(stdout: string): AddedApp[] {
  return (JSON.parse(stdout) as { apps: AddedApp[] }).apps;
}

/** The documents the application's current revision lists (fleet history). */
function documentNames(fleet: ReturnType<typeof fleetCli>, app: string): string[] {
  const h = fleet('history', app, '--format', 'json');
  assert.equal(h.status, 0, h.stderr);
  const history = (JSON.parse(h.stdout) as { history: { revision: { documents: { name: string }[] } }[] }).history;
  return history.at(-1)?.revision.documents.map((d) => d.name) ?? [];
}

/** `fleet add PATH` then `fleet show`: the same exit code and exactly the audit's findings. */
function addMatchesAudit(fleet: ReturnType<typeof fleetCli>, path: string, app: string, databases: string[], expectedChange: string): ReportFinding[] {
  const expected = audit(path, databases);
  assert.ok(expected.status === 0 || expected.status === 1, expected.stderr);
  const add = fleet('add', path, '--name', app, '--format', 'json');
  assert.equal(add.status, expected.status, add.stderr);
  assert.deepEqual(added(add.stdout).map((a) => a.change), [expectedChange], `${app}: fleet add says the content is ${expectedChange}`);
  const show = fleet('show', app, '--format', 'json');
  assert.equal(show.status, expected.status, show.stderr);
  assert.deepEqual((JSON.parse(show.stdout) as FleetApps).apps[0]?.findings, expected.findings, `${app}: fleet show lists the audit's findings`);
  return expected.findings;
}

const skips = await storeSkips();

const RUSTSEC = ['--db', ADVISORY_DB_BUNDLE];
const ALT_SOURCE = 'sparse+https://example.org/index/';
/** rsa 0.9.10 (RUSTSEC-2023-0071, no patched version) locked from another registry. */
const ALT_LOCK = ['version = 4', '', '[[package]]\nname = "app"\nversion = "0.1.0"\ndependencies = [\n "rsa",\n]', '', `[[package]]\nname = "rsa"\nversion = "0.9.10"\nsource = "${ALT_SOURCE}"`, ''].join('\n');
/** Cargo 1.95 builds crates.io's rsa for that lockfile with this configuration (test/cli/audit-cargo-source.test.ts). */
const REPLACED = `[registries.foo]\nindex = "${ALT_SOURCE}"\n\n[source.foo]\nregistry = "${ALT_SOURCE}"\nreplace-with = "crates-io"\n`;

/** A package tarball as npm packs one: `package/package.json`, gzipped. */
async function packageTarball(name: string, version: string): Promise<Buffer> {
  return gzipSync(await packTar([{ header: { name: 'package/package.json' }, data: JSON.stringify({ name, version }) }, { header: { name: 'package/index.js' }, data: '' }]));
}

/** package-lock v1 as npm 6 wrote a git dependency: its "version" is the git specifier, not a version. */
const GIT_LODASH = 'github:lodash/lodash#2da024c3b4f9947a48517639de7560457cd4ec6c';
const gitLodashApp = (): string =>
  tempTree('fleet-audit-inputs-git', {
    'package.json': JSON.stringify({ name: 'np', version: '1.0.0', dependencies: { lodash: GIT_LODASH } }),
    'package-lock.json': JSON.stringify({ name: 'np', version: '1.0.0', lockfileVersion: 1, requires: true, dependencies: { lodash: { version: GIT_LODASH, from: GIT_LODASH } } }, null, 2),
  });

for (const kind of STORE_KINDS) {
  const skip = skips[kind];

  test(`.cargo/config.toml that replaces a registry with crates.io is one of the revision's documents: changing it is a new revision with the audit's findings (${kind})`, { skip }, async () => {
    const store = await freshStore(kind);
    try {
      const fleet = fleetCli(store);
      assert.equal(fleet('init', ...RUSTSEC).status, 0);
      const dir = tempTree('fleet-audit-inputs-cargo', { 'Cargo.lock': ALT_LOCK, '.cargo/config.toml': REPLACED });
      const findingOf = (f: ReportFinding): string => `${f.advisory.id} ${f.package.source}`;
      const replaced = addMatchesAudit(fleet, dir, 'app', RUSTSEC, 'added');
      assert.deepEqual(replaced.map(findingOf), [`RUSTSEC-2023-0071 ${ALT_SOURCE}`], 'audited as crates.io rsa');
      assert.deepEqual(documentNames(fleet, 'app'), ['.cargo/config.toml', 'Cargo.lock']);

      // Without the replacement, Cargo builds the other registry's rsa: matched by name and version
      // as a mirror's, the same finding, in a new revision (the audit's warnings differ).
      rmSync(join(dir, '.cargo'), { recursive: true });
      assert.deepEqual(addMatchesAudit(fleet, dir, 'app', RUSTSEC, 'changed').map(findingOf), [`RUSTSEC-2023-0071 ${ALT_SOURCE}`]);
      assert.deepEqual(documentNames(fleet, 'app'), ['Cargo.lock']);

      // Back again: the first revision's content, current again, with its finding.
      mkdirSync(join(dir, '.cargo'));
      writeFileSync(join(dir, '.cargo', 'config.toml'), REPLACED);
      assert.deepEqual(addMatchesAudit(fleet, dir, 'app', RUSTSEC, 'changed').map(findingOf), [`RUSTSEC-2023-0071 ${ALT_SOURCE}`]);

      // A parent directory's configuration is the machine's: Cargo reads it, so the audit does, but
      // it is no file of the application (fleet push could not send it, an upload never reads it).
      const outer = tempTree('fleet-audit-inputs-cargo-parent', { 'app/Cargo.lock': ALT_LOCK, '.cargo/config.toml': REPLACED });
      assert.deepEqual(addMatchesAudit(fleet, join(outer, 'app'), 'inner', RUSTSEC, 'added').map((f) => f.advisory.id), ['RUSTSEC-2023-0071']);
      assert.deepEqual(documentNames(fleet, 'inner'), ['Cargo.lock']);
    } finally {
      await store.dispose();
    }
  });

  test(`a file: tarball the lockfile names is one of the revision's documents: another package in it is a new revision (${kind})`, { skip }, async () => {
    const store = await freshStore(kind);
    try {
      const fleet = fleetCli(store);
      const DB = ['--db', GHSA_NPM];
      assert.equal(fleet('init', ...DB).status, 0);
      // v1 records the specifier, not a version: npm installs what the tarball holds, and the audit reads it.
      const dir = tempTree('fleet-audit-inputs-tarball', {
        'package-lock.json': JSON.stringify({ name: 'app', lockfileVersion: 1, requires: true, dependencies: { lodash: { version: 'file:lodash.tgz' } } }, null, 2),
      });
      writeFileSync(join(dir, 'lodash.tgz'), await packageTarball('lodash', '4.17.4'));
      const old = addMatchesAudit(fleet, dir, 'app', DB, 'added');
      assert.ok(old.length > 0 && old.every((f) => f.package.version === '4.17.4'), 'lodash 4.17.4 has advisories');
      assert.deepEqual(documentNames(fleet, 'app'), ['lodash.tgz', 'package-lock.json']);

      writeFileSync(join(dir, 'lodash.tgz'), await packageTarball('lodash', '4.17.21'));
      const now = addMatchesAudit(fleet, dir, 'app', DB, 'changed');
      assert.ok(now.every((f) => f.package.version === '4.17.21'), 'what the tarball holds now is audited');
      assert.notDeepEqual(now, old);
    } finally {
      await store.dispose();
    }
  });

  test(`a lockfile older than its package.json: fleet add, an unchanged add and fleet show say the audit's warning, and the findings are the audit's (${kind})`, { skip }, async () => {
    const store = await freshStore(kind);
    try {
      const fleet = fleetCli(store);
      const DB = ['--db', GHSA_NPM];
      assert.equal(fleet('init', ...DB).status, 0);
      const lodash = { version: '4.17.4', resolved: 'https://registry.npmjs.org/lodash/-/lodash-4.17.4.tgz', integrity: 'sha512-6X37Sq9KCpLSXEh8uM12AKYlviHPNNk4RxiGBn4cmKGJinbXBneWIV7iE/nXkM928O7ytHcHb6+X6Svl0f4hXg==' };
      const dir = tempTree('fleet-audit-inputs-stale', {
        // npm ci refuses this lockfile (left-pad is not in it); the audit covers what it locks, and says so.
        'package.json': JSON.stringify({ name: 'app', version: '1.0.0', dependencies: { lodash: '^4.17.4', 'left-pad': '^1.3.0' } }),
        'package-lock.json': JSON.stringify({ name: 'app', version: '1.0.0', lockfileVersion: 3, requires: true, packages: { '': { name: 'app', version: '1.0.0', dependencies: { lodash: '^4.17.4' } }, 'node_modules/lodash': lodash } }, null, 2),
      });
      const r = runCli(['audit', dir, ...DB, '--format', 'json'], { cacheDir });
      assert.equal(r.status, 1, r.stderr);
      const stale = auditReport(r.stdout).warnings.filter((w) => w.includes('the lockfile is older than package.json'));
      assert.equal(stale.length, 1, 'the audit warns of it');
      const said = (stderr: string): string[] => stderr.split('\n').filter((l) => l.includes('the lockfile is older than package.json'));
      addMatchesAudit(fleet, dir, 'app', DB, 'added');
      const again = fleet('add', dir, '--name', 'app');
      assert.deepEqual(said(again.stderr), [`stowage: warning: ${stale[0] ?? ''}`], 'an unchanged add says it again');
      for (const format of ['human', 'json']) {
        const show = fleet('show', 'app', '--format', format);
        assert.equal(show.status, 1, show.stderr);
        assert.deepEqual(said(show.stderr), [`stowage: warning: ${stale[0] ?? ''}`], `fleet show (${format}) says it, from the stored revision`);
      }
    } finally {
      await store.dispose();
    }
  });

  test(`a package the audit refuses as not compared (a git dependency with no version) is not added as clean (${kind})`, { skip }, async () => {
    const store = await freshStore(kind);
    try {
      const fleet = fleetCli(store);
      const dir = gitLodashApp();
      const refused = audit(dir, ['--db', GHSA_NPM]);
      assert.equal(refused.status, 2, 'stowage audit refuses it');
      const line = refused.stderr.split('\n').find((l) => l.includes('NOT audited')) ?? '';
      assert.match(line, /records no version they can be compared with: lodash /);

      assert.equal(fleet('init', '--db', GHSA_NPM).status, 0);
      const add = fleet('add', dir, '--name', 'np');
      assert.equal(add.status, 2, add.stderr);
      assert.ok(add.stderr.includes(line.replace(/^stowage: /, '')), `fleet add says the audit's line:\n${add.stderr}`);
      const status = fleet('status', '--format', 'json');
      assert.deepEqual((JSON.parse(status.stdout) as FleetApps).apps, [], 'nothing added');

    } finally {
      await store.dispose();
    }
  });
}
