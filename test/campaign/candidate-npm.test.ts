/**
 * buildCandidate on an npm application locked by npm itself against a registry on 127.0.0.1
 * (test/support/npm-registry.ts serving test/fixtures/npm-fix-registry/), with a made-up
 * advisory against fixture-args (GHSA-0000-0000-0101, fixed in 1.2.6). The application asks for
 * fixture-args ^1.2.5 and is locked at 1.2.5; its own test checks which fixture-args it runs
 * with. The candidate's build (npm ci, offline from the vendored cache) and test (npm test) run
 * in the sandbox, which has no network. No public registry: the same candidate every run.
 */
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join, relative } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DEFAULT_POLICY } from '../../src/audit/policy.js';
import { buildCandidate, candidateLayout } from '../../src/campaign/candidate.js';
import { fixtureArgsAdvisoryDb } from '../support/advisory-fixtures.js';
import { FIX_REGISTRY_FIXTURES, startLocalRegistry, type LocalRegistry } from '../support/npm-registry.js';
import { cleanEnv, lockNpmApplication } from '../support/npm-vendor.js';
import { tempDir } from '../support/shared.js';

/** An OSV range event: a version a range starts or ends at. */
type OsvRangeEvent = { introduced: string } | { fixed: string };

/** `dir`, made if missing. */
function mkdirp(dir: string): string {
  mkdirSync(dir, { recursive: true });
  return dir;
}

describe('buildCandidate on an npm application, its registry on 127.0.0.1', () => {
  const scratch = tempDir('candidate-npm');
  const app = join(scratch, 'app');
  const db = fixtureArgsAdvisoryDb(join(scratch, 'db'));
  const env = cleanEnv({ HOME: join(scratch, 'home'), npm_config_cache: join(scratch, 'npm-cache'), npm_config_update_notifier: 'false' });
  let registry: LocalRegistry;
  /** The fix of fixture-args' advisory, built in `workDir` in the sandbox. */
  const candidateIn = (workDir: string, withEnv: NodeJS.ProcessEnv = env, allowed: string[] = [registry.url], database = db): ReturnType<typeof buildCandidate> =>
    buildCandidate({
      workDir,
      advisory: { id: 'GHSA-0000-0000-0101', aliases: [] },
      audit: { policy: DEFAULT_POLICY, databases: [database], fetch: 'never', cacheRoot: join(scratch, 'cache') },
      sandbox: 'bwrap',
      publish: true,
      env: withEnv,
      allowedRegistries: allowed,
    });

  before(async () => {
    registry = await startLocalRegistry(FIX_REGISTRY_FIXTURES);
    mkdirSync(app, { recursive: true });
    writeFileSync(join(app, '.npmrc'), registry.npmrc);
    writeFileSync(join(app, 'test.js'), "const v = require('fixture-args/package.json').version;\nconsole.log(`fixture-args ${v}`);\nprocess.exit(v === '1.2.6' ? 0 : 1);\n");
    const manifest = { name: 'campaign-npm-app', version: '1.0.0', license: 'MIT', description: 'Parses its arguments', dependencies: { 'fixture-args': '1.2.5' }, scripts: { test: 'node test.js' } };
    await lockNpmApplication(app, manifest, { 'fixture-args': '^1.2.5' }, env);
  });

  after(async () => {
    await registry.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  test('the candidate moves fixture-args to 1.2.6, installs it offline and passes its own test in the sandbox', { timeout: 600_000 }, async () => {
    const workDir = tempDir('candidate-npm-work');
    cpSync(app, candidateLayout(workDir).source, { recursive: true });
    const outcome = await candidateIn(workDir);
    const log = readFileSync(outcome.artifacts.log, 'utf8');
    assert.equal(outcome.state, 'candidate', `${outcome.reason}\n${log}`);
    assert.deepEqual(outcome.fix.map((f) => [f.ecosystem, f.name, f.from, f.to]), [['npm', 'fixture-args', '1.2.5', '1.2.6']]);
    assert.match(log, /^fixture-args 1\.2\.6$/m, 'the test ran against the fixed version');
    const lock = JSON.parse(readFileSync(outcome.artifacts.lockfile as string, 'utf8')) as { packages: Record<string, { version?: string; resolved?: string }> };
    assert.equal(lock.packages['node_modules/fixture-args']?.version, '1.2.6');
    assert.equal(lock.packages['node_modules/fixture-args']?.resolved, `${registry.url}fixture-args/-/fixture-args-1.2.6.tgz`, "from the application's registry");
    assert.match(readFileSync(outcome.artifacts.patch as string, 'utf8'), /^\+\s+"version": "1\.2\.6"/m);
    assert.match(outcome.artifacts.srpm ?? '', /campaign-npm-app-1\.0\.0-1\.src\.rpm$/);
    rmSync(workDir, { recursive: true, force: true });
  });

  /**
   * Runs `body` with a registry that also publishes fixture-args 1.2.7, and a database where a
   * made-up GHSA-0000-0000-0103 affects the fixture-args versions `events` say.
   */
  const withFixtureArgs127 = async (name: string, events: OsvRangeEvent[], summary: string, body: (registry: LocalRegistry, db: string) => Promise<void>): Promise<void> => {
    const fixtures = join(scratch, `fixtures-${name}`);
    cpSync(FIX_REGISTRY_FIXTURES, fixtures, { recursive: true });
    const newer = mkdirp(join(fixtures, 'fixture-args-1.2.7'));
    writeFileSync(join(newer, 'index.js'), "module.exports = { version: '1.2.7' };\n");
    writeFileSync(join(newer, 'package.json'), JSON.stringify({ name: 'fixture-args', version: '1.2.7', main: 'index.js', license: 'MIT' }));
    const newerRegistry = await startLocalRegistry(fixtures);
    try {
      const withDb = fixtureArgsAdvisoryDb(join(scratch, `db-${name}`));
      const affected = [{ package: { ecosystem: 'npm', name: 'fixture-args' }, ranges: [{ type: 'ECOSYSTEM', events }] }];
      const published = JSON.parse(readFileSync(join(withDb, 'GHSA-0000-0000-0101.json'), 'utf8')) as { published: string };
      writeFileSync(
        join(withDb, 'GHSA-0000-0000-0103.json'),
        JSON.stringify({ schema_version: '1.3.0', id: 'GHSA-0000-0000-0103', modified: published.published, published: published.published, summary, details: 'Made up.', affected, database_specific: { severity: 'HIGH' } }),
      );
      await body(newerRegistry, withDb);
    } finally {
      await newerRegistry.close();
    }
  };

  test('a change that brings in an advisory the application did not have is no candidate: npm update moves past the planned version', { timeout: 600_000 }, async () => {
    // The registry also publishes fixture-args 1.2.7, which a made-up GHSA-0000-0000-0103 affects (and 1.2.5 not).
    const events: OsvRangeEvent[] = [{ introduced: '1.2.7' }, { fixed: '1.2.8' }];
    await withFixtureArgs127('1.2.7', events, 'fixture-args 1.2.7 runs its arguments (made up)', async (newerRegistry, regressDb) => {
      // fixture-args only through fixture-mkdirp (^1.2.5), locked at 1.2.5: a transitive change is npm update's.
      const workDir = tempDir('candidate-npm-regress');
      const { source } = candidateLayout(workDir);
      writeFileSync(join(mkdirp(source), '.npmrc'), newerRegistry.npmrc);
      writeFileSync(join(source, 'test.js'), 'process.exit(0);\n');
      const manifest = { name: 'campaign-npm-regress', version: '1.0.0', license: 'MIT', dependencies: { 'fixture-mkdirp': '0.5.2', 'fixture-args': '1.2.5' }, scripts: { test: 'node test.js' } };
      await lockNpmApplication(source, manifest, {}, env);
      writeFileSync(join(source, 'package.json'), JSON.stringify({ ...manifest, dependencies: { 'fixture-mkdirp': '0.5.2' } }, null, 2) + '\n');
      const lock = JSON.parse(readFileSync(join(source, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version?: string; dependencies?: Record<string, string> }> };
      delete lock.packages['']?.dependencies?.['fixture-args'];
      writeFileSync(join(source, 'package-lock.json'), JSON.stringify(lock, null, 2) + '\n');
      assert.equal(lock.packages['node_modules/fixture-args']?.version, '1.2.5');

      const outcome = await candidateIn(workDir, env, [newerRegistry.url], regressDb);
      const log = readFileSync(outcome.artifacts.log, 'utf8');
      // The plan is 1.2.6; npm update takes the newest fixture-mkdirp accepts, 1.2.7.
      assert.deepEqual(outcome.fix.map((f) => [f.name, f.from, f.to]), [['fixture-args', '1.2.5', '1.2.6']], log);
      const after = JSON.parse(readFileSync(join(source, 'package-lock.json'), 'utf8')) as typeof lock;
      assert.equal(after.packages['node_modules/fixture-args']?.version, '1.2.7', log);
      assert.equal(outcome.state, 'failed', log);
      assert.equal(outcome.failedStep, 'audit');
      assert.match(outcome.reason ?? '', /the change brings in GHSA-0000-0000-0103 \(fixture-args 1\.2\.7\), which the application did not have/);
      assert.equal(outcome.artifacts.srpm, null);
      rmSync(workDir, { recursive: true, force: true });
    });
  });

  test('a package locked at two versions: npm update moving the fixed one into an advisory the other already has is still a new flaw', { timeout: 600_000 }, async () => {
    // fixture-args 1.2.7 is published too; a made-up GHSA-0000-0000-0103 affects 0.2.4 and 1.2.7.
    const events: OsvRangeEvent[] = [{ introduced: '0.2.4' }, { fixed: '0.2.5' }, { introduced: '1.2.7' }, { fixed: '1.2.8' }];
    await withFixtureArgs127('two', events, 'fixture-args 0.2.4 and 1.2.7 run their arguments (made up)', async (newerRegistry, twoDb) => {
      // The application asks for fixture-args 0.2.4 itself; fixture-mkdirp's ^1.2.5 is nested, locked at 1.2.5.
      const pinned = join(scratch, 'pinned-1.2.5');
      writeFileSync(join(mkdirp(pinned), '.npmrc'), newerRegistry.npmrc);
      await lockNpmApplication(pinned, { name: 'pinned', version: '1.0.0', dependencies: { 'fixture-args': '1.2.5' } }, {}, env);
      type Lock = { packages: Record<string, { version?: string }> };
      const entry125 = (JSON.parse(readFileSync(join(pinned, 'package-lock.json'), 'utf8')) as Lock).packages['node_modules/fixture-args'];
      const workDir = tempDir('candidate-npm-two');
      const { source } = candidateLayout(workDir);
      writeFileSync(join(mkdirp(source), '.npmrc'), newerRegistry.npmrc);
      writeFileSync(join(source, 'test.js'), 'process.exit(0);\n');
      const manifest = { name: 'campaign-npm-two', version: '1.0.0', license: 'MIT', dependencies: { 'fixture-mkdirp': '0.5.2', 'fixture-args': '0.2.4' }, scripts: { test: 'node test.js' } };
      await lockNpmApplication(source, manifest, {}, env);
      const lock = JSON.parse(readFileSync(join(source, 'package-lock.json'), 'utf8')) as Lock;
      const nested = 'node_modules/fixture-mkdirp/node_modules/fixture-args';
      assert.ok(lock.packages[nested] && entry125);
      lock.packages[nested] = entry125;
      writeFileSync(join(source, 'package-lock.json'), JSON.stringify(lock, null, 2) + '\n');

      const outcome = await candidateIn(workDir, env, [newerRegistry.url], twoDb);
      const log = readFileSync(outcome.artifacts.log, 'utf8');
      assert.deepEqual(outcome.fix.map((f) => [f.name, f.from, f.to]), [['fixture-args', '1.2.5', '1.2.6']], log);
      const after = JSON.parse(readFileSync(join(source, 'package-lock.json'), 'utf8')) as Lock;
      assert.equal(after.packages[nested]?.version, '1.2.7', log);
      assert.equal(after.packages['node_modules/fixture-args']?.version, '0.2.4', log);
      // GHSA-0000-0000-0103 on fixture-args 0.2.4 was there before; on 1.2.7 it is the change's.
      assert.equal(outcome.state, 'failed', log);
      assert.equal(outcome.failedStep, 'audit');
      assert.match(outcome.reason ?? '', /the change brings in GHSA-0000-0000-0103 \(fixture-args 1\.2\.7\), which the application did not have/);
      rmSync(workDir, { recursive: true, force: true });
    });
  });

  test("the application's .npmrc cannot send the worker's store URL to a host of its choosing (${STOWAGE_FLEET_STORE} in a registry URL)", { timeout: 120_000 }, async () => {
    const seen: string[] = [];
    const server = createServer((req, res) => {
      seen.push(`${req.url ?? ''} ${JSON.stringify(req.headers)}`);
      res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const workDir = tempDir('candidate-npm-env');
    const { source } = candidateLayout(workDir);
    cpSync(app, source, { recursive: true });
    writeFileSync(join(source, '.npmrc'), `registry=http://127.0.0.1:${(server.address() as AddressInfo).port}/\${STOWAGE_FLEET_STORE}/\n`);
    const store = 'postgres://fleet:s3cret-password@db.internal/fleet';
    const saved = process.env.STOWAGE_FLEET_STORE;
    process.env.STOWAGE_FLEET_STORE = store;
    try {
      const outcome = await candidateIn(workDir, { ...env, STOWAGE_FLEET_STORE: store });
      assert.equal(outcome.state, 'failed');
      assert.match(outcome.reason ?? '', /\$\{STOWAGE_FLEET_STORE\} is not set in the environment/);
      assert.deepEqual(seen.filter((line) => line.includes('s3cret')), []);
    } finally {
      if (saved === undefined) delete process.env.STOWAGE_FLEET_STORE;
      else process.env.STOWAGE_FLEET_STORE = saved;
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(workDir, { recursive: true, force: true });
    }
  });

  test("an application's .npmrc cannot point the campaign at an address the fleet does not allow: not as its registry, a scope's, a proxy, or a redirect's target", { timeout: 300_000 }, async () => {
    // The internal address (a cloud's metadata service, the fleet's database): whatever reaches it is recorded.
    const seen: string[] = [];
    const internal = createServer((req, res) => {
      seen.push(`${req.method ?? ''} ${req.url ?? ''}`);
      res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => internal.listen(0, '127.0.0.1', resolve));
    const internalUrl = `http://127.0.0.1:${(internal.address() as AddressInfo).port}/`;
    // A registry the operator allows, which sends every request on to the internal address.
    const redirecting = createServer((req, res) => {
      res.writeHead(302, { location: `${internalUrl}latest/meta-data${req.url ?? '/'}` }).end();
    });
    await new Promise<void>((resolve) => redirecting.listen(0, '127.0.0.1', resolve));
    const redirectingUrl = `http://127.0.0.1:${(redirecting.address() as AddressInfo).port}/`;
    try {
      for (const [npmrc, allowed, says] of [
        [`registry=${internalUrl}\n`, [registry.url], /\.npmrc: registry http:\/\/127\.0\.0\.1:\d+\/ is not a registry this fleet allows/],
        [`${registry.npmrc}@internal:registry=${internalUrl}\n`, [registry.url], /@internal:registry http:\/\/127\.0\.0\.1:\d+\/ is not a registry this fleet allows/],
        [`${registry.npmrc}proxy=${internalUrl}\nhttps-proxy=${internalUrl}\n`, [registry.url], /\.npmrc: proxy http:\/\/127\.0\.0\.1:\d+\/ is not a registry this fleet allows/],
        [`registry=${redirectingUrl}\n`, [registry.url, redirectingUrl], /redirects to http:\/\/127\.0\.0\.1:\d+\/latest\/meta-data\/fixture-args is not a registry this fleet allows/],
      ] as const) {
        const workDir = tempDir('candidate-npm-registry');
        const { source } = candidateLayout(workDir);
        cpSync(app, source, { recursive: true });
        writeFileSync(join(source, '.npmrc'), npmrc);
        const outcome = await candidateIn(workDir, env, [...allowed]);
        assert.equal(outcome.state, 'failed', npmrc);
        assert.equal(outcome.failedStep, 'plan', `${npmrc}: ${outcome.reason}`);
        assert.match(outcome.reason ?? '', says);
        assert.deepEqual(seen, [], `${npmrc}: the internal address was asked`);
        rmSync(workDir, { recursive: true, force: true });
      }
    } finally {
      await new Promise<void>((resolve) => internal.close(() => resolve()));
      await new Promise<void>((resolve) => redirecting.close(() => resolve()));
    }
  });

  test("the lockfile update never runs a git of the application's .npmrc", { timeout: 120_000 }, async () => {
    const workDir = tempDir('candidate-npm-git');
    const { source } = candidateLayout(workDir);
    cpSync(app, source, { recursive: true });
    const ran = join(scratch, 'git-of-the-application-ran.txt');
    // A git dependency npm resolves while it updates the lockfile, with the program npm runs for git named by the application.
    writeFileSync(join(source, '.npmrc'), `${registry.npmrc}\ngit=./git.sh\n`);
    writeFileSync(join(source, 'git.sh'), `#!/bin/sh\necho "git $*" >> ${JSON.stringify(ran)}\nexit 1\n`, { mode: 0o755 });
    const manifest = JSON.parse(readFileSync(join(source, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    manifest.dependencies['from-git'] = 'git+https://git.invalid/from-git.git';
    writeFileSync(join(source, 'package.json'), JSON.stringify(manifest, null, 2));
    const outcome = await candidateIn(workDir);
    const log = readFileSync(outcome.artifacts.log, 'utf8');
    assert.equal(outcome.failedStep, 'apply', `${outcome.reason}\n${log}`);
    assert.equal(existsSync(ran) ? readFileSync(ran, 'utf8') : 'nothing ran', 'nothing ran');
    rmSync(workDir, { recursive: true, force: true });
  });

  test("the lockfile update sees nothing outside the work directory: not another application's source a file: dependency points to", { timeout: 120_000 }, async () => {
    // Another application's work directory beside this one, under the OS temporary directory.
    const other = join(tempDir('candidate-npm-other'), 'source');
    mkdirSync(other, { recursive: true });
    const neighbour = { name: 'neighbour', version: '1.0.0', license: 'MIT' };
    writeFileSync(join(other, 'package.json'), JSON.stringify(neighbour));
    const workDir = tempDir('candidate-npm-file');
    const { source } = candidateLayout(workDir);
    writeFileSync(join(mkdirp(source), '.npmrc'), registry.npmrc);
    const pointer = `file:${relative(source, other)}`;
    const manifest = { name: 'campaign-npm-file-app', version: '1.0.0', license: 'MIT', dependencies: { 'fixture-args': '1.2.5', neighbour: pointer } };
    await lockNpmApplication(source, manifest, { 'fixture-args': '^1.2.5' }, env);
    // What the other application holds now, which the update must not get to read.
    writeFileSync(join(other, 'package.json'), JSON.stringify({ ...neighbour, version: '6.6.6', dependencies: { 'other-apps-secret-dependency': '1.0.0' } }));
    const outcome = await candidateIn(workDir);
    const log = readFileSync(outcome.artifacts.log, 'utf8');
    const lock = readFileSync(join(source, 'package-lock.json'), 'utf8');
    assert.doesNotMatch(lock, /6\.6\.6|other-apps-secret-dependency/, log);
    assert.doesNotMatch(log, /6\.6\.6|other-apps-secret-dependency/);
    // npm did update the lockfile (the local package it could not see is then refused by vendoring).
    assert.deepEqual(outcome.steps.filter((s) => s.step === 'apply').map((s) => s.state), ['done'], `${outcome.reason}\n${log}`);
    assert.match(log, /^lockfile update: under bubblewrap, with network/m);
    rmSync(workDir, { recursive: true, force: true });
    rmSync(dirname(other), { recursive: true, force: true });
  });
});
