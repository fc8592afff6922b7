/**
 * `stowage fix` on an npm application locked by npm itself against a registry on 127.0.0.1
 * (test/support/npm-registry.ts serving test/fixtures/npm-fix-registry/), with two made-up
 * advisories against fixture-args: GHSA-0000-0000-0101 (fixed in 1.2.6 and 0.2.4) and
 * GHSA-0000-0000-0102 (fixed in 1.2.3 and 0.2.1). The application depends on fixture-args
 * ^1.2.5 (locked at 1.2.5) and on fixture-mkdirp 0.5.1, which pins its own fixture-args at
 * 0.0.8; fixture-mkdirp 0.5.2 moved to ^1.2.5. No public registry: the same answers every run.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fixtureArgsAdvisoryDb } from '../support/advisory-fixtures.js';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { AUDIT_REPORT_SCHEMA } from '../support/audit-report.js';
import { readJsonSchema, schemaValidator } from '../support/json-schema.js';
import { FIX_REGISTRY_FIXTURES, startLocalRegistry, type LocalRegistry } from '../support/npm-registry.js';
import { cleanEnv, lockNpmApplication } from '../support/npm-vendor.js';
import { PROJECT_ROOT, runCliAsync, tempDir } from '../support/shared.js';

const validFixReport = schemaValidator(readJsonSchema(join(PROJECT_ROOT, 'schema', 'fix-report.v1.json')), {
  draft2020: true,
  references: { 'urn:stowage:schema:audit-report:v1': readJsonSchema(AUDIT_REPORT_SCHEMA) },
});

interface Plan {
  package: { name: string; version: string };
  advisories: string[];
  fix: { to: string | null; compatible: boolean; command: string | null; blockedBy: Record<string, unknown>[] };
}

describe('stowage fix on an npm application, its registry on 127.0.0.1', () => {
  const scratch = tempDir('fix-npm');
  const app = join(scratch, 'app');
  const db = fixtureArgsAdvisoryDb(join(scratch, 'db'));
  const env = cleanEnv({ NO_COLOR: '1', HOME: join(scratch, 'home'), npm_config_cache: join(scratch, 'npm-cache'), npm_config_update_notifier: 'false' });
  let registry: LocalRegistry;
  const cli = (args: string[], cwd?: string) => runCliAsync([...args, '--db', db], { cacheDir: join(scratch, 'cache'), env, ...(cwd ? { cwd } : {}) });
  const lockedArgs = (): Record<string, string> => {
    const lock = JSON.parse(readFileSync(join(app, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version?: string }> };
    return Object.fromEntries(Object.entries(lock.packages).filter(([k]) => k.endsWith('node_modules/fixture-args')).map(([k, v]) => [k, v.version ?? '']));
  };

  before(async () => {
    registry = await startLocalRegistry(FIX_REGISTRY_FIXTURES);
    mkdirSync(app, { recursive: true });
    // The application's registry, as a project using a mirror names it: npm locks against it, stowage reads it.
    writeFileSync(join(app, '.npmrc'), registry.npmrc);
    await lockNpmApplication(app, { name: 'fix-npm-app', version: '1.0.0', private: true, dependencies: { 'fixture-args': '1.2.5', 'fixture-mkdirp': '0.5.1' } }, { 'fixture-args': '^1.2.5' }, env);
    assert.deepEqual(lockedArgs(), { 'node_modules/fixture-args': '1.2.5', 'node_modules/fixture-mkdirp/node_modules/fixture-args': '0.0.8' });
  });

  after(async () => {
    await registry.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  test('plans the direct fix, and names fixture-mkdirp as what holds the nested copy back', async () => {
    const run = await cli(['fix', app, '--format', 'json']);
    assert.equal(run.status, 1, run.stderr);
    const doc: unknown = JSON.parse(run.stdout);
    validFixReport(doc);
    const plans = (doc as { plans: Plan[] }).plans;
    const direct = plans.find((p) => p.package.version === '1.2.5');
    assert.deepEqual(direct?.advisories, ['GHSA-0000-0000-0101']);
    assert.equal(direct?.fix.to, '1.2.6');
    assert.equal(direct?.fix.compatible, true);
    assert.equal(direct?.fix.command, 'npm install --package-lock-only --ignore-scripts --no-audit --no-fund fixture-args@1.2.6');
    const nested = plans.find((p) => p.package.version === '0.0.8');
    assert.deepEqual(nested?.advisories.sort(), ['GHSA-0000-0000-0101', 'GHSA-0000-0000-0102']);
    assert.equal(nested?.fix.to, null);
    assert.deepEqual(nested?.fix.blockedBy, [
      { dependent: 'fixture-mkdirp', version: '0.5.1', dependency: 'fixture-args', requirement: '0.0.8', firstUsable: '0.2.4', unblockedBy: '0.5.2', manifest: null },
      { dependent: 'fix-npm-app', version: '1.0.0', dependency: 'fixture-mkdirp', requirement: '0.5.1', firstUsable: '0.5.2', unblockedBy: null, manifest: 'package.json' },
    ]);
    assert.deepEqual(plans.map((p) => `${p.package.name}@${p.package.version}`).sort(), ['fixture-args@0.0.8', 'fixture-args@1.2.5']);
  });

  test('a registry answering something other than JSON is named, and its answer is not quoted (the .npmrc may point at an internal service)', async () => {
    const secret = 'ami-id\nSECRET-ROLE-credentials-0123456789';
    const internal = createServer((_req, res) => res.end(secret));
    await new Promise<void>((resolve) => internal.listen(0, '127.0.0.1', resolve));
    try {
      const other = join(scratch, 'internal-registry-app');
      mkdirSync(other, { recursive: true });
      for (const file of ['package.json', 'package-lock.json']) copyFileSync(join(app, file), join(other, file));
      writeFileSync(join(other, '.npmrc'), `registry=http://127.0.0.1:${(internal.address() as AddressInfo).port}/latest/meta-data/\n`);
      const run = await cli(['fix', other, '--format', 'json']);
      assert.equal(run.status, 2, run.stdout);
      assert.match(run.stderr, new RegExp(`fixture-args: the registry's record http://127\\.0\\.0\\.1:\\d+/latest/meta-data/fixture-args is not JSON \\(${Buffer.byteLength(secret)} bytes\\)`));
      assert.ok(!run.stderr.includes('ami-id') && !run.stderr.includes('SECRET'), run.stderr);
    } finally {
      internal.close();
    }
  });

  test('--apply moves the direct dependency with npm, and the audit after it still reports the nested copy', async () => {
    // Run as the README shows it, in the application's directory: the diff was empty (reported
    // "unchanged") whenever the lockfile was named by a relative path.
    const run = await cli(['fix', '--apply', '--format', 'json'], app);
    assert.equal(run.status, 1, run.stderr);
    const doc: unknown = JSON.parse(run.stdout);
    validFixReport(doc);
    const applied = (doc as { applied: { diffs: { diff: string }[]; findings: number; failing: number; left: Record<string, unknown>[] } }).applied;
    assert.deepEqual(lockedArgs(), { 'node_modules/fixture-args': '1.2.6', 'node_modules/fixture-mkdirp/node_modules/fixture-args': '0.0.8' });
    assert.equal(applied.findings, 2, 'the two advisories of fixture-args 0.0.8 remain');
    // Which findings are left, not only how many.
    const nested = { ecosystem: 'npm', name: 'fixture-args', version: '0.0.8' };
    assert.deepEqual(
      applied.left.map(({ package: pkg, advisory, failsPolicy }) => ({ package: pkg, advisory, failsPolicy })).sort((x, y) => String(x.advisory).localeCompare(String(y.advisory))),
      ['GHSA-0000-0000-0101', 'GHSA-0000-0000-0102'].map((advisory) => ({ package: nested, advisory, failsPolicy: true })),
    );
    assert.ok(applied.left.every((f) => String(f.target).endsWith('package-lock.json')));
    assert.match(applied.diffs[0]?.diff ?? '', /^-\s+"version": "1\.2\.5",$/m);
    assert.equal((JSON.parse(readFileSync(join(app, 'package.json'), 'utf8')) as { dependencies: Record<string, string> }).dependencies['fixture-args'], '^1.2.6');

    // The human report lists them under the count (nothing left to change: the audit alone runs again).
    const human = await cli(['fix', '--apply'], app);
    assert.equal(human.status, 1, human.stderr);
    assert.match(human.stdout, /^audit after the change: 2 findings, 2 failing the policy\n {2}package-lock\.json: fixture-args 0\.0\.8 \(GHSA-0000-0000-010[12]\), fails the policy\n {2}package-lock\.json: fixture-args 0\.0\.8 \(GHSA-0000-0000-010[12]\), fails the policy$/m);
  });
});
