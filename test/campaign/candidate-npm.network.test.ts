/**
 * NETWORK TEST: buildCandidate on an npm application locked by npm itself from the public
 * registry, against the real GitHub advisory GHSA-xvch-5gv4-984h (minimist, fixed in 1.2.6).
 * The application asks for minimist ^1.2.5 and is locked at 1.2.5; its own test checks which
 * minimist it runs with. The candidate's build (npm ci, offline from the vendored cache) and
 * test (npm test) run in the sandbox, which has no network.
 *
 * Skipped when the registry is unreachable, except with CI=true, where that is a failure.
 */
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { DEFAULT_POLICY } from '../../src/audit/policy.js';
import { buildCandidate, candidateLayout } from '../../src/campaign/candidate.js';
import { cleanEnv, lockNpmApplication, whyNoRegistry } from '../support/npm-vendor.js';
import { GHSA_NPM, tempDir } from '../support/shared.js';

const noRegistry = await whyNoRegistry();
const mustRun = process.env.CI === 'true';

describe('buildCandidate on an npm application (public registry)', { skip: noRegistry !== null && !mustRun ? `${noRegistry}: network test skipped` : false }, () => {
  const scratch = tempDir('candidate-npm');
  const app = join(scratch, 'app');
  const env = cleanEnv({ npm_config_cache: join(scratch, 'npm-cache') });

  before(async () => {
    if (noRegistry !== null) assert.fail(`${noRegistry}, and CI=true: this network test must run`);
    mkdirSync(app, { recursive: true });
    writeFileSync(join(app, 'test.js'), "const v = require('minimist/package.json').version;\nconsole.log(`minimist ${v}`);\nprocess.exit(v === '1.2.6' ? 0 : 1);\n");
    const manifest = { name: 'campaign-npm-app', version: '1.0.0', license: 'MIT', description: 'Parses its arguments', dependencies: { minimist: '1.2.5' }, scripts: { test: 'node test.js' } };
    await lockNpmApplication(app, manifest, { minimist: '^1.2.5' }, env);
  });

  test('the candidate moves minimist to 1.2.6, installs it offline and passes its own test in the sandbox', { timeout: 600_000 }, async () => {
    const workDir = tempDir('candidate-npm-work');
    cpSync(app, candidateLayout(workDir).source, { recursive: true });
    const outcome = await buildCandidate({
      workDir,
      advisory: { id: 'CVE-2021-44906', aliases: ['GHSA-xvch-5gv4-984h'] },
      audit: { policy: { ...DEFAULT_POLICY, maxDatabaseAgeDays: 100_000 }, databases: [GHSA_NPM], fetch: 'never', cacheRoot: join(scratch, 'cache') },
      sandbox: 'bwrap',
      publish: true,
      env,
    });
    const log = readFileSync(outcome.artifacts.log, 'utf8');
    assert.equal(outcome.state, 'candidate', `${outcome.reason}\n${log}`);
    assert.deepEqual(outcome.fix.map((f) => [f.ecosystem, f.name, f.from, f.to]), [['npm', 'minimist', '1.2.5', '1.2.6']]);
    assert.match(log, /^minimist 1\.2\.6$/m, 'the test ran against the fixed version');
    const lock = JSON.parse(readFileSync(outcome.artifacts.lockfile as string, 'utf8')) as { packages: Record<string, { version?: string }> };
    assert.equal(lock.packages['node_modules/minimist']?.version, '1.2.6');
    assert.match(readFileSync(outcome.artifacts.patch as string, 'utf8'), /^\+\s+"version": "1\.2\.6"/m);
    assert.match(outcome.artifacts.srpm ?? '', /campaign-npm-app-1\.0\.0-1\.src\.rpm$/);
  });
});
