/**
 * NETWORK TEST: `stowage fix` on an npm application locked by npm itself from the public
 * registry, against real GitHub advisories for minimist (../shared/advisories/ghsa-npm:
 * GHSA-xvch-5gv4-984h, fixed in 1.2.6 and 0.2.4; GHSA-vh95-rmgr-6w4m, fixed in 1.2.3 and
 * 0.2.1). The application depends on minimist ^1.2.5 (locked at 1.2.5) and on mkdirp 0.5.1,
 * which pins its own minimist at 0.0.8.
 *
 * Skipped when the registry is unreachable, except with CI=true, where that is a failure.
 */
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { AUDIT_REPORT_SCHEMA } from '../support/audit-report.js';
import { readJsonSchema, schemaValidator } from '../support/json-schema.js';
import { cleanEnv, lockNpmApplication, whyNoRegistry } from '../support/npm-vendor.js';
import { GHSA_NPM, PROJECT_ROOT, runCliAsync, tempDir } from '../support/shared.js';

const validFixReport = schemaValidator(readJsonSchema(join(PROJECT_ROOT, 'schema', 'fix-report.v1.json')), {
  draft2020: true,
  references: { 'urn:stowage:schema:audit-report:v1': readJsonSchema(AUDIT_REPORT_SCHEMA) },
});

interface Plan {
  package: { name: string; version: string };
  advisories: string[];
  fix: { to: string | null; compatible: boolean; command: string | null; blockedBy: Record<string, unknown>[] };
}

const noRegistry = await whyNoRegistry();
const mustRun = process.env.CI === 'true';

describe('stowage fix on an npm application (public registry)', { skip: noRegistry !== null && !mustRun ? `${noRegistry}: network test skipped` : false }, () => {
  const scratch = tempDir('fix-npm');
  const app = join(scratch, 'app');
  const env = cleanEnv({ NO_COLOR: '1', npm_config_cache: join(scratch, 'npm-cache') });
  const cli = (args: string[]) => runCliAsync([...args, '--db', GHSA_NPM, '--no-fetch', '--max-db-age', '100000'], { cacheDir: join(scratch, 'cache'), env });
  const lockedMinimist = (): Record<string, string> => {
    const lock = JSON.parse(readFileSync(join(app, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version?: string }> };
    return Object.fromEntries(Object.entries(lock.packages).filter(([k]) => k.endsWith('node_modules/minimist')).map(([k, v]) => [k, v.version ?? '']));
  };

  before(async () => {
    if (noRegistry !== null) assert.fail(`${noRegistry}, and CI=true: this network test must run`);
    await lockNpmApplication(app, { name: 'fix-npm-app', version: '1.0.0', private: true, dependencies: { minimist: '1.2.5', mkdirp: '0.5.1' } }, { minimist: '^1.2.5' }, env);
    assert.deepEqual(lockedMinimist(), { 'node_modules/minimist': '1.2.5', 'node_modules/mkdirp/node_modules/minimist': '0.0.8' });
  });

  after(() => rmSync(scratch, { recursive: true, force: true }));

  test('plans the direct fix, and names mkdirp as what holds the nested copy back', { timeout: 300_000 }, async () => {
    const run = await cli(['fix', app, '--format', 'json']);
    assert.equal(run.status, 1, run.stderr);
    const doc: unknown = JSON.parse(run.stdout);
    validFixReport(doc);
    const plans = (doc as { plans: Plan[] }).plans;
    const direct = plans.find((p) => p.package.version === '1.2.5');
    assert.deepEqual(direct?.advisories, ['GHSA-xvch-5gv4-984h']);
    assert.equal(direct?.fix.to, '1.2.6');
    assert.equal(direct?.fix.compatible, true);
    assert.equal(direct?.fix.command, 'npm install --package-lock-only --ignore-scripts --no-audit --no-fund minimist@1.2.6');
    const nested = plans.find((p) => p.package.version === '0.0.8');
    assert.deepEqual(nested?.advisories.sort(), ['GHSA-vh95-rmgr-6w4m', 'GHSA-xvch-5gv4-984h']);
    assert.equal(nested?.fix.to, null);
    assert.deepEqual(nested?.fix.blockedBy[0], {
      dependent: 'mkdirp',
      version: '0.5.1',
      dependency: 'minimist',
      requirement: '0.0.8',
      firstUsable: '0.2.4',
      // mkdirp 0.5.2 (March 2020) moved to minimist ^1.2.5.
      unblockedBy: '0.5.2',
      manifest: null,
    });
    assert.deepEqual(nested?.fix.blockedBy[1], {
      dependent: 'fix-npm-app',
      version: '1.0.0',
      dependency: 'mkdirp',
      requirement: '0.5.1',
      firstUsable: '0.5.2',
      unblockedBy: null,
      manifest: 'package.json',
    });
  });

  test('--apply moves the direct dependency with npm, and the audit after it still reports the nested copy', { timeout: 300_000 }, async () => {
    const run = await cli(['fix', app, '--apply', '--format', 'json']);
    assert.equal(run.status, 1, run.stderr);
    const doc: unknown = JSON.parse(run.stdout);
    validFixReport(doc);
    const applied = (doc as { applied: { diffs: { diff: string }[]; findings: number; failing: number } }).applied;
    assert.deepEqual(lockedMinimist(), { 'node_modules/minimist': '1.2.6', 'node_modules/mkdirp/node_modules/minimist': '0.0.8' });
    assert.equal(applied.findings, 2, 'the two advisories of minimist 0.0.8 remain');
    assert.match(applied.diffs[0]?.diff ?? '', /^-\s+"version": "1\.2\.5",$/m);
    assert.equal((JSON.parse(readFileSync(join(app, 'package.json'), 'utf8')) as { dependencies: Record<string, string> }).dependencies.minimist, '^1.2.6');
  });
});
