import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { auditReport, type ReportFinding } from '../support/audit-report.js';
import { freshStore, storeSkips, STORE_KINDS, type TestStore } from '../support/fleet-stores.js';
import type { FleetApps } from '../support/fleet-report.js';
import { ADVISORY_DB_BUNDLE, CARGO_CORPUS, GHSA_NPM, NPM_CORPUS, PROJECT_ROOT, runCli, tempDir } from '../support/shared.js';

/*
 * Issue 9's contract over the real lockfiles of ../shared/corpus, one of each input kind
 * `fleet add` takes: the fleet's findings for an application are exactly `stowage audit`'s with
 * the same databases, field by field, and `fleet add` says the audit's warnings about what it
 * read. The audits run once; the fleet's side runs on both stores.
 */

const cacheDir = tempDir('fleet-audit-corpus-cache');
const DATABASES = ['--db', ADVISORY_DB_BUNDLE, '--db', GHSA_NPM];
const work = tempDir('fleet-audit-corpus');

/** A corpus lockfile and its manifest copied into a directory under their usual names. */
function directory(name: string, corpus: string, lockName: string, manifestName: string, lockSuffix: string): string {
  const dir = join(work, name);
  mkdirSync(dir, { recursive: true });
  copyFileSync(join(corpus, `${name}.${lockSuffix}`), join(dir, lockName));
  copyFileSync(join(corpus, `${name}.${manifestName}`), join(dir, manifestName));
  return dir;
}

/** A corpus lockfile copied as NAME.LOCKFILE beside its manifest NAME.MANIFEST: application NAME. */
function named(app: string, corpus: string, source: string, lockName: string, manifestName: string, lockSuffix: string): string {
  const dir = join(work, `named-${app}`);
  mkdirSync(dir, { recursive: true });
  const lock = join(dir, `${app}.${lockName}`);
  copyFileSync(join(corpus, `${source}.${lockSuffix}`), lock);
  copyFileSync(join(corpus, `${source}.${manifestName}`), join(dir, `${app}.${manifestName}`));
  return lock;
}

/** bun's text lockfile of the test application (its packages from the local test registry), in a directory with its package.json. */
function bunDirectory(): string {
  const dir = join(work, 'bun-app');
  const fixtures = join(PROJECT_ROOT, 'test', 'fixtures');
  mkdirSync(dir, { recursive: true });
  copyFileSync(join(fixtures, 'npm-local-app.bun.lock'), join(dir, 'bun.lock'));
  copyFileSync(join(fixtures, 'npm-local-app', 'package.json'), join(dir, 'package.json'));
  return dir;
}

/** A CycloneDX SBOM `stowage sbom` writes of a lockfile (no licences: nothing fetched): application NAME. */
function sbom(app: string, application: string): string {
  const out = join(work, `${app}.cdx.json`);
  const r = runCli(['sbom', application, '--no-licenses', '--format', 'cyclonedx', '--output', out], { cacheDir });
  assert.equal(r.status, 0, r.stderr);
  return out;
}

/** Application name -> the path `fleet add` and `stowage audit` are given. */
const INPUTS: [string, string][] = [
  ['kanidm-2022-08-01', directory('kanidm-2022-08-01', CARGO_CORPUS, 'Cargo.lock', 'Cargo.toml', 'Cargo.lock')],
  ['rg2017', named('rg2017', CARGO_CORPUS, 'ripgrep-2017-09-01', 'Cargo.lock', 'Cargo.toml', 'Cargo.lock')],
  ['rg2021', named('rg2021', CARGO_CORPUS, 'ripgrep-2021-09-01', 'Cargo.lock', 'Cargo.toml', 'Cargo.lock')],
  ['jellyfin-web-2021-11-01', directory('jellyfin-web-2021-11-01', NPM_CORPUS, 'package-lock.json', 'package.json', 'package-lock.json')],
  ['jf2024', named('jf2024', NPM_CORPUS, 'jellyfin-web-2024-07-01', 'package-lock.json', 'package.json', 'package-lock.json')],
  ['vite-2022-05-01', directory('vite-2022-05-01', NPM_CORPUS, 'pnpm-lock.yaml', 'package.json', 'pnpm-lock.yaml')],
  ['vite2025', named('vite2025', NPM_CORPUS, 'vite-2025-01-01', 'pnpm-lock.yaml', 'package.json', 'pnpm-lock.yaml')],
  ['prettier-2019-01-01', directory('prettier-2019-01-01', NPM_CORPUS, 'yarn.lock', 'package.json', 'yarn.lock')],
  ['prettier2026', named('prettier2026', NPM_CORPUS, 'prettier-2026-07-24', 'yarn.lock', 'package.json', 'yarn.lock')],
  ['bun-app', bunDirectory()],
  ['rg2019-sbom', sbom('rg2019-sbom', directory('ripgrep-2019-09-01', CARGO_CORPUS, 'Cargo.lock', 'Cargo.toml', 'Cargo.lock'))],
  ['jf2023-sbom', sbom('jf2023-sbom', directory('jellyfin-web-2023-03-01', NPM_CORPUS, 'package-lock.json', 'package.json', 'package-lock.json'))],
];

interface Audited {
  status: number;
  findings: ReportFinding[];
  /** The warnings about the application's files (the databases' own age left aside: the fleet says it once per command). */
  warnings: string[];
}

const aboutDatabase = (w: string): boolean => w.startsWith('advisory database ');

function audit(path: string): Audited {
  const r = runCli(['audit', path, ...DATABASES, '--format', 'json'], { cacheDir });
  assert.ok(r.status === 0 || r.status === 1, `${path}: ${r.stderr}`);
  const report = auditReport(r.stdout);
  return { status: r.status, findings: report.findings, warnings: report.warnings.filter((w) => !aboutDatabase(w)) };
}

const audits = new Map<string, Audited>();
function audited(path: string): Audited {
  let a = audits.get(path);
  if (a === undefined) audits.set(path, (a = audit(path)));
  return a;
}

function fleetCli(store: TestStore) {
  return (...args: string[]) => runCli(['fleet', ...args, '--store', store.store], { cacheDir });
}

/** The warnings `fleet add` of one application printed (stderr's `stowage: warning:` lines), less the databases' age. */
function addWarnings(stderr: string): string[] {
  return stderr
    .split('\n')
    .filter((l) => l.startsWith('stowage: warning: '))
    .map((l) => l.slice('stowage: warning: '.length))
    .filter((w) => !aboutDatabase(w));
}

const skips = await storeSkips();

for (const kind of STORE_KINDS) {
  test(`fleet add of each input kind, from the corpus, finds exactly what stowage audit finds, field by field, and says its warnings (${kind})`, { skip: skips[kind] }, async () => {
    const store = await freshStore(kind);
    try {
      const fleet = fleetCli(store);
      assert.equal(fleet('init', ...DATABASES).status, 0);
      let anyFinding = 0;
      for (const [name, path] of INPUTS) {
        const expected = audited(path);
        const add = fleet('add', path, '--format', 'json');
        assert.equal(add.status, expected.status, `${name}: fleet add exits as the audit: ${add.stderr}`);
        const apps = (JSON.parse(add.stdout) as { apps: { name: string; change: string; findings: ReportFinding[] }[] }).apps;
        assert.deepEqual(apps.map((a) => [a.name, a.change]), [[name, 'added']]);
        assert.deepEqual(apps[0]?.findings, expected.findings, `${name}: fleet add's findings are the audit's`);
        assert.deepEqual(addWarnings(add.stderr), expected.warnings, `${name}: fleet add says the audit's warnings`);
        const show = fleet('show', name, '--format', 'json');
        assert.equal(show.status, expected.status, show.stderr);
        assert.deepEqual((JSON.parse(show.stdout) as FleetApps).apps[0]?.findings, expected.findings, `${name}: fleet show's findings are the audit's`);
        anyFinding += expected.findings.length;
      }
      assert.ok(anyFinding > 50, 'the corpus has findings to compare');
    } finally {
      await store.dispose();
    }
  });
}
