/**
 * `stowage fix` on npm applications whose plans the package manager could not make: copies
 * bundled inside another package's tarball (`inBundle`), a lockfileVersion 1 package-lock
 * (its ranges are in `requires` and package.json), pre-releases the registry publishes before
 * a fix, and the lockfiles of other package managers (yarn 1 and 4, pnpm 9, bun). Everything is served by a registry on
 * 127.0.0.1 made here (test/support/npm-registry.ts), and npm 11 itself says what it does.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { FIXTURE_TIME, fixtureArgsAdvisoryDb } from '../support/advisory-fixtures.js';
import { AUDIT_REPORT_SCHEMA } from '../support/audit-report.js';
import { readJsonSchema, schemaValidator } from '../support/json-schema.js';
import {
  FIX_REGISTRY_FIXTURES,
  LOCAL_APP,
  LOCAL_APP_PNPM_LOCKFILE,
  LOCAL_APP_YARN_BERRY_LOCKFILE,
  LOCAL_APP_YARN_V1_LOCKFILE,
  REGISTRY_FIXTURES,
  startLocalRegistry,
  type LocalRegistry,
} from '../support/npm-registry.js';
import { cleanEnv, lockNpmApplication } from '../support/npm-vendor.js';
import { PROJECT_ROOT, runCliAsync, tempDir } from '../support/shared.js';

const execFileAsync = promisify(execFile);

const validFixReport = schemaValidator(readJsonSchema(join(PROJECT_ROOT, 'schema', 'fix-report.v1.json')), {
  draft2020: true,
  references: { 'urn:stowage:schema:audit-report:v1': readJsonSchema(AUDIT_REPORT_SCHEMA) },
});

interface Fix {
  to: string | null;
  command: string | null;
  blockedBy: Record<string, unknown>[];
  reason: string | null;
}
interface Plan {
  package: { name: string; version: string };
  fix: Fix;
}

function plansOf(stdout: string): Plan[] {
  const doc: unknown = JSON.parse(stdout);
  validFixReport(doc);
  return (doc as { plans: Plan[] }).plans;
}

/** A package directory for the registry: its package.json and an index.js. */
function fixturePackage(root: string, manifest: Record<string, unknown>): string {
  const dir = join(root, `${String(manifest.name)}-${String(manifest.version)}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ main: 'index.js', license: 'MIT', ...manifest }, null, 2) + '\n');
  writeFileSync(join(dir, 'index.js'), `module.exports = ${JSON.stringify(String(manifest.version))};\n`);
  return dir;
}

/** An OSV record: `name` affected from 0 until `fixed`. */
function osv(db: string, id: string, name: string, fixed: string): void {
  const record = {
    schema_version: '1.3.0',
    id,
    modified: FIXTURE_TIME,
    published: FIXTURE_TIME,
    summary: `${name} is made up to be vulnerable`,
    details: 'Made up for the fix tests.',
    affected: [{ package: { ecosystem: 'npm', name }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed }] }] }],
    database_specific: { severity: 'HIGH' },
  };
  writeFileSync(join(db, `${id}.json`), JSON.stringify(record));
}

describe('stowage fix: what npm can and cannot change in a lockfile', () => {
  const scratch = tempDir('fix-npm-lockfiles');
  const fixtures = join(scratch, 'registry');
  const db = fixtureArgsAdvisoryDb(join(scratch, 'db'));
  const env = cleanEnv({ NO_COLOR: '1', HOME: join(scratch, 'home'), npm_config_cache: join(scratch, 'npm-cache'), npm_config_update_notifier: 'false' });
  let registry: LocalRegistry;
  const cli = (args: string[]) => runCliAsync([...args, '--db', db], { cacheDir: join(scratch, 'cache'), env });
  const npm = (cwd: string, ...args: string[]) => execFileAsync('npm', [...args, '--package-lock-only', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd, env, encoding: 'utf8' });
  const locked = (app: string, name: string): Record<string, string> => {
    const lock = JSON.parse(readFileSync(join(app, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version?: string }> };
    return Object.fromEntries(Object.entries(lock.packages).filter(([k]) => k.endsWith(`node_modules/${name}`)).map(([k, v]) => [k, v.version ?? '']));
  };
  const application = async (name: string, dependencies: Record<string, string>, widened: Record<string, string> = {}): Promise<string> => {
    const app = join(scratch, name);
    mkdirSync(app, { recursive: true });
    writeFileSync(join(app, '.npmrc'), registry.npmrc);
    await lockNpmApplication(app, { name, version: '1.0.0', private: true, dependencies }, widened, env);
    return app;
  };

  before(async () => {
    cpSync(FIX_REGISTRY_FIXTURES, fixtures, { recursive: true });
    // fixture-bundler carries fixture-args 1.2.5 in its own tarball (bundleDependencies).
    const bundler = fixturePackage(fixtures, { name: 'fixture-bundler', version: '1.0.0', dependencies: { 'fixture-args': '^1.2.5' }, bundleDependencies: ['fixture-args'] });
    cpSync(join(FIX_REGISTRY_FIXTURES, 'fixture-args-1.2.5'), join(bundler, 'node_modules', 'fixture-args'), { recursive: true });
    // fixture-yargs: its first fixed version is a release candidate of 13, then 13.0.0.
    for (const version of ['12.0.5', '13.0.0-candidate.0', '13.0.0']) fixturePackage(fixtures, { name: 'fixture-yargs', version });
    osv(db, 'GHSA-0000-0000-0201', 'fixture-yargs', '13.0.0-candidate.0');
    // fixture-semverish: fixed only in 2.0.0, which the application's ^1.0.0 refuses.
    for (const version of ['1.0.0', '2.0.0']) fixturePackage(fixtures, { name: 'fixture-semverish', version });
    // fixture-args 1.3.0: fixed too, and the newest version fixture-mkdirp 0.5.2's ^1.2.5 accepts.
    cpSync(join(FIX_REGISTRY_FIXTURES, 'fixture-args-1.2.6'), join(fixtures, 'fixture-args-1.3.0'), { recursive: true });
    writeFileSync(join(fixtures, 'fixture-args-1.3.0', 'package.json'), JSON.stringify({ ...JSON.parse(readFileSync(join(fixtures, 'fixture-args-1.2.6', 'package.json'), 'utf8')), version: '1.3.0' }, null, 2) + '\n');
    osv(db, 'GHSA-0000-0000-0202', 'fixture-semverish', '2.0.0');
    registry = await startLocalRegistry(fixtures);
  });

  after(async () => {
    await registry.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  test('a copy bundled inside another package is not planned as an npm update: npm never changes it', async () => {
    const app = await application('bundled-app', { 'fixture-bundler': '1.0.0' });
    const lock = JSON.parse(readFileSync(join(app, 'package-lock.json'), 'utf8')) as { packages: Record<string, { inBundle?: boolean }> };
    assert.equal(lock.packages['node_modules/fixture-bundler/node_modules/fixture-args']?.inBundle, true);
    // What npm does with `npm update fixture-args`: nothing.
    const before = readFileSync(join(app, 'package-lock.json'), 'utf8');
    await npm(app, 'update', 'fixture-args');
    assert.equal(readFileSync(join(app, 'package-lock.json'), 'utf8'), before, 'npm update leaves a bundled copy as it is');

    const run = await cli(['fix', app, '--format', 'json']);
    assert.equal(run.status, 1, run.stderr);
    const [plan, ...others] = plansOf(run.stdout);
    assert.equal(others.length, 0);
    assert.equal(plan?.fix.to, null);
    assert.equal(plan?.fix.command, null);
    assert.match(plan?.fix.reason ?? '', /bundled inside the tarball of fixture-bundler 1\.0\.0: no lockfile change moves them; only a version of fixture-bundler that bundles a fixed fixture-args does/);
    const human = await cli(['fix', app]);
    assert.equal(human.status, 1);
    assert.match(human.stdout, /fix: none: the copies of fixture-args 1\.2\.5 bundled inside the tarball of fixture-bundler 1\.0\.0: no lockfile change moves them/);
    assert.doesNotMatch(human.stdout, /npm update/);
  });

  test('beside a bundled copy, the copy the lockfile holds is moved, and the plan says the bundled one stays', async () => {
    const app = await application('bundled-and-direct-app', { 'fixture-bundler': '1.0.0', 'fixture-args': '1.2.5' }, { 'fixture-args': '^1.2.5' });
    const run = await cli(['fix', app, '--format', 'json']);
    assert.equal(run.status, 1, 'the finding outlasts the change: the bundled copy stays');
    // One plan per copy: the lockfile's, and the bundled one's.
    const [lockfiles, bundled, ...others] = plansOf(run.stdout);
    assert.equal(others.length, 0);
    assert.equal(lockfiles?.fix.to, '1.2.6');
    assert.equal(bundled?.package.version, '1.2.5');
    assert.equal(bundled?.fix.to, null);
    assert.match(bundled?.fix.reason ?? '', /bundled inside the tarball of fixture-bundler 1\.0\.0: no lockfile change moves them/);

    const applied = await cli(['fix', app, '--apply', '--format', 'json']);
    assert.equal(applied.status, 1, applied.stderr);
    assert.deepEqual(locked(app, 'fixture-args'), { 'node_modules/fixture-args': '1.2.6', 'node_modules/fixture-bundler/node_modules/fixture-args': '1.2.5' });
    assert.equal((JSON.parse(applied.stdout) as { applied: { findings: number } }).applied.findings, 1);
  });

  test("a direct dependency's `~` requirement stays `~`: the plan says what package.json gets, and npm writes just that", async () => {
    const app = await application('tilde-app', { 'fixture-args': '1.2.5' }, { 'fixture-args': '~1.2.5' });
    const manifest = (): string => (JSON.parse(readFileSync(join(app, 'package.json'), 'utf8')) as { dependencies: Record<string, string> }).dependencies['fixture-args'] ?? '';
    // What npm does with a plain `npm install NAME@VERSION`: package.json gets ^VERSION, admitting 1.3 and later.
    const probe = join(scratch, 'tilde-probe');
    cpSync(app, probe, { recursive: true });
    await npm(probe, 'install', 'fixture-args@1.2.6');
    assert.equal((JSON.parse(readFileSync(join(probe, 'package.json'), 'utf8')) as { dependencies: Record<string, string> }).dependencies['fixture-args'], '^1.2.6');

    const run = await cli(['fix', app, '--format', 'json']);
    assert.equal(run.status, 0, run.stderr);
    const [plan] = plansOf(run.stdout);
    assert.equal(plan?.fix.to, '1.2.6');
    assert.equal(plan?.fix.command, 'npm install --package-lock-only --ignore-scripts --no-audit --no-fund --save-prefix=~ fixture-args@1.2.6');
    assert.deepEqual((plan?.fix as Fix & { manifest: unknown }).manifest, { file: 'package.json', field: 'dependencies', key: 'fixture-args', from: '~1.2.5', to: '~1.2.6' });
    const human = await cli(['fix', app]);
    assert.match(human.stdout, /^ {7}package\.json: dependencies "fixture-args" "~1\.2\.5" → "~1\.2\.6"$/m);

    const applied = await cli(['fix', app, '--apply', '--format', 'json']);
    assert.equal(applied.status, 0, applied.stderr);
    assert.deepEqual(locked(app, 'fixture-args'), { 'node_modules/fixture-args': '1.2.6' });
    assert.equal(manifest(), '~1.2.6');
  });

  /** An application whose fixture-mkdirp 0.5.2 requires fixture-args ^1.2.5, locked at 1.2.5 while 1.2.6 and 1.3.0 are fixed. */
  const transitiveApplication = async (name: string): Promise<string> => {
    const app = await application(name, { 'fixture-mkdirp': '0.5.2', 'fixture-args': '1.2.5' });
    await npm(app, 'uninstall', 'fixture-args');
    assert.deepEqual(locked(app, 'fixture-args'), { 'node_modules/fixture-args': '1.2.5' });
    return app;
  };

  test('a transitive package: the plan says that npm update goes past the planned version, as npm does', async () => {
    const app = await transitiveApplication('transitive-app');
    const run = await cli(['fix', app, '--format', 'json']);
    assert.equal(run.status, 0, run.stderr);
    const [plan] = plansOf(run.stdout);
    assert.equal(plan?.fix.to, '1.2.6');
    assert.equal(plan?.fix.command, 'npm update fixture-args --package-lock-only --ignore-scripts --no-audit --no-fund');
    const caveat = 'npm update moves fixture-args to the newest version its dependents accept, which may be later than 1.2.6, and moves what that version requires with it (--allow-overrides moves it to 1.2.6 exactly)';
    assert.equal((plan?.fix as Fix & { caveat: unknown }).caveat, caveat);
    assert.match((await cli(['fix', app])).stdout, new RegExp(`^ {7}note: ${caveat.replace(/[.()-]/g, '\\$&')}$`, 'm'));
    // What npm does with that command: the newest fixture-args that ^1.2.5 accepts, not 1.2.6.
    const applied = await cli(['fix', app, '--apply', '--format', 'json']);
    assert.equal(applied.status, 0, applied.stderr);
    assert.deepEqual(locked(app, 'fixture-args'), { 'node_modules/fixture-args': '1.3.0' });
  });

  test('--apply --allow-overrides writes the override into package.json (an input of the run) and npm moves the package to the planned version', async () => {
    const app = await transitiveApplication('transitive-overrides-app');
    const run = await cli(['fix', app, '--apply', '--allow-overrides', '--format', 'json']);
    assert.equal(run.status, 0, run.stderr);
    const [plan] = plansOf(run.stdout);
    assert.equal((plan?.fix as Fix & { caveat: unknown }).caveat, null);
    assert.deepEqual((plan?.fix as Fix & { manifest: unknown }).manifest, { file: 'package.json', field: 'overrides', key: 'fixture-args@1.2.5', from: null, to: '1.2.6' });
    assert.deepEqual(locked(app, 'fixture-args'), { 'node_modules/fixture-args': '1.2.6' });
    assert.deepEqual((JSON.parse(readFileSync(join(app, 'package.json'), 'utf8')) as { overrides: unknown }).overrides, { 'fixture-args@1.2.5': '1.2.6' });
  });

  test('a lockfileVersion 1 package-lock: no pre-release is planned, and a requirement in package.json is never silently bumped', async () => {
    const app = join(scratch, 'v1-app');
    mkdirSync(app, { recursive: true });
    writeFileSync(join(app, '.npmrc'), registry.npmrc);
    const dependencies = { 'fixture-yargs': '>=12.0.5', 'fixture-semverish': '^1.0.0' };
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'v1-app', version: '1.0.0', private: true, dependencies }, null, 2) + '\n');
    // As npm 6 wrote it: nested `dependencies`, no `packages`.
    const entry = (name: string, version: string) => {
      const pkg = registry.packages.find((p) => p.name === name && p.version === version);
      assert.ok(pkg);
      return { version, resolved: `${registry.url}${name}/-/${name}-${version}.tgz`, integrity: pkg.integrity };
    };
    const v1 = { name: 'v1-app', version: '1.0.0', lockfileVersion: 1, requires: true, dependencies: { 'fixture-semverish': entry('fixture-semverish', '1.0.0'), 'fixture-yargs': entry('fixture-yargs', '12.0.5') } };
    writeFileSync(join(app, 'package-lock.json'), JSON.stringify(v1, null, 2) + '\n');

    const run = await cli(['fix', app, '--format', 'json']);
    assert.equal(run.status, 1, run.stderr);
    const plans = plansOf(run.stdout);
    const yargs = plans.find((p) => p.package.name === 'fixture-yargs');
    // npm resolves >=12.0.5 to 13.0.0, never to 13.0.0-candidate.0 (semver leaves pre-releases out of a range that names none).
    assert.equal(yargs?.fix.to, '13.0.0');
    const semverish = plans.find((p) => p.package.name === 'fixture-semverish');
    assert.equal(semverish?.fix.to, null, 'npm install fixture-semverish@2.0.0 would rewrite package.json');
    assert.deepEqual(semverish?.fix.blockedBy, [
      { dependent: 'v1-app', version: '1.0.0', dependency: 'fixture-semverish', requirement: '^1.0.0', firstUsable: '2.0.0', unblockedBy: null, manifest: 'package.json' },
    ]);

    // The plan made by npm: yargs moves, package.json keeps ^1.0.0 for fixture-semverish.
    const applied = await cli(['fix', app, '--apply', '--format', 'json']);
    assert.equal(applied.status, 1, applied.stderr);
    assert.deepEqual(locked(app, 'fixture-yargs'), { 'node_modules/fixture-yargs': '13.0.0' });
    assert.deepEqual(locked(app, 'fixture-semverish'), { 'node_modules/fixture-semverish': '1.0.0' });
    assert.equal((JSON.parse(readFileSync(join(app, 'package.json'), 'utf8')) as { dependencies: Record<string, string> }).dependencies['fixture-semverish'], '^1.0.0');
  });
});

describe('stowage fix on yarn, pnpm and bun lockfiles: not supported, said plainly', () => {
  const scratch = tempDir('fix-other-lockfiles');
  const db = join(scratch, 'db');
  let registry: LocalRegistry;

  before(async () => {
    registry = await startLocalRegistry(REGISTRY_FIXTURES);
    mkdirSync(db, { recursive: true });
    // @fixture/color pins fixture-ms 1.0.0.
    osv(db, 'GHSA-0000-0000-0301', 'fixture-ms', '2.1.3');
  });

  after(async () => {
    await registry.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  for (const [name, lockfile, file] of [
    ['yarn 1', LOCAL_APP_YARN_V1_LOCKFILE, 'yarn.lock'],
    ['yarn 4', LOCAL_APP_YARN_BERRY_LOCKFILE, 'yarn.lock'],
    ['pnpm 9', LOCAL_APP_PNPM_LOCKFILE, 'pnpm-lock.yaml'],
    // Written by bun 1.4.5 against the same registry (test/cli/audit-bun.test.ts).
    ['bun', join(PROJECT_ROOT, 'test', 'fixtures', 'npm-local-app.bun.lock'), 'bun.lock'],
  ] as const) {
    test(`${name}: exit 2 with one line naming ${file}, no npm command planned`, async () => {
      const app = join(scratch, name.replace(' ', '-'));
      mkdirSync(app, { recursive: true });
      cpSync(join(LOCAL_APP, 'package.json'), join(app, 'package.json'));
      writeFileSync(join(app, file), registry.lockfileFor(readFileSync(lockfile, 'utf8')));
      writeFileSync(join(app, '.npmrc'), registry.npmrc);
      const env = cleanEnv({ NO_COLOR: '1', HOME: join(scratch, 'home') });
      const run = await runCliAsync(['fix', app, '--db', db], { cacheDir: join(scratch, 'cache'), env });
      assert.equal(run.status, 2, run.stdout);
      assert.doesNotMatch(run.stdout, /npm (update|install)/);
      assert.match(run.stderr.trim(), new RegExp(`${file.replace('.', '\\.')}.*stowage fix plans package-lock\\.json and npm-shrinkwrap\\.json only; for ${file.replace('.', '\\.')} it is not supported yet`));
      assert.equal(run.stderr.trim().split('\n').length, 1, run.stderr);
    });
  }
});
