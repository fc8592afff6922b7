import { mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { auditReport } from '../support/audit-report.js';
import { runCli, tempDir } from '../support/shared.js';
import { git } from '../support/git-repository.js';

/*
 * A `--db` URL may carry credentials (`https://user:token@host/db.git`, `?private_token=`):
 * git needs them, and nothing that stowage writes or prints may hold them.
 */

const SECRET = 's3cret';
const TOKEN = 't0ken';


/** A git repository holding one OSV advisory for left-pad < 1.3.0. */
function osvRepository(): string {
  const repo = join(tempDir('cred-db'), 'advisories');
  mkdirSync(repo, { recursive: true });
  git(['init', '--quiet', '--initial-branch=main', '.'], repo);
  const record = {
    schema_version: '1.6.0',
    id: 'GHSA-cred-cred-cred',
    modified: '2026-11-01T00:00:00Z',
    summary: 'left-pad is vulnerable',
    affected: [{ package: { ecosystem: 'npm', name: 'left-pad' }, ranges: [{ type: 'SEMVER', events: [{ introduced: '0' }, { fixed: '1.3.0' }] }] }],
  };
  writeFileSync(join(repo, 'GHSA-cred-cred-cred.json'), JSON.stringify(record));
  git(['add', '.'], repo);
  git(['commit', '--quiet', '-m', 'one advisory'], repo);
  return repo;
}

/** An npm application; with `vulnerable`, it locks left-pad 1.1.0. */
function npmApp(vulnerable: boolean): string {
  const dir = join(tempDir('cred-app'), 'app');
  mkdirSync(dir, { recursive: true });
  const deps = vulnerable ? { 'left-pad': '1.1.0' } : {};
  const packages: Record<string, unknown> = { '': { name: 'app', version: '1.0.0', dependencies: deps } };
  if (vulnerable) {
    packages['node_modules/left-pad'] = {
      version: '1.1.0',
      resolved: 'https://registry.npmjs.org/left-pad/-/left-pad-1.1.0.tgz',
      integrity: 'sha512-0000000000000000000000000000000000000000000000000000000000000000000000000000000000000A==',
    };
  }
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', dependencies: deps }));
  writeFileSync(join(dir, 'package-lock.json'), JSON.stringify({ name: 'app', version: '1.0.0', lockfileVersion: 3, requires: true, packages }, null, 2));
  return dir;
}

/** Every file under `dir` (the cache), as [path, bytes]. */
function filesUnder(dir: string): [string, Buffer][] {
  const out: [string, Buffer][] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...filesUnder(path));
    else out.push([path, readFileSync(path)]);
  }
  return out;
}

function assertNoSecret(text: string | Buffer, what: string): void {
  const s = text.toString('latin1');
  assert.ok(!s.includes(SECRET) && !s.includes(TOKEN), `${what} holds a credential:\n${s.slice(0, 2000)}`);
}

function assertCacheClean(cacheDir: string): void {
  const files = filesUnder(cacheDir);
  assert.ok(files.length > 0);
  for (const [path, bytes] of files) {
    assertNoSecret(path, 'a cache path');
    // The index is SQLite and the objects are compressed: no credential is in either, but
    // the text files (config, state, FETCH_HEAD, logs) are what would hold one.
    assertNoSecret(bytes, path);
  }
}

test('an unreachable --db URL with a password and a token: the error line holds neither', () => {
  const cacheDir = tempDir('cred-cache');
  const app = npmApp(true);
  for (const url of [
    `https://user:${SECRET}@127.0.0.1:1/advisory-db.git`,
    `https://user:${SECRET}@127.0.0.1:1/advisory-db.git?private_token=${TOKEN}`,
    `https://${TOKEN}@127.0.0.1:1/advisory-db.git#main`,
    `git+https://user:${SECRET}@127.0.0.1:1/advisory-db.git`,
    `http://127.0.0.1:1/advisory-db.git?access_token=${TOKEN}`,
  ]) {
    for (const format of url.includes('private_token') ? ['human', 'json', 'sarif'] : ['json']) {
      const r = runCli(['audit', app, '--db', url, '--format', format], { cacheDir });
      assert.equal(r.status, 2, `${url}: ${r.stderr}`);
      assert.equal(r.stdout, '');
      assertNoSecret(r.stderr, `the error for ${url}`);
      assert.match(r.stderr, /^stowage: cannot clone advisory database \S*\*\*\*\S* /, r.stderr);
      assert.equal(r.stderr.split('\n').length, 2, r.stderr);
    }
  }
  // Nothing about these URLs was left in the cache.
  for (const [path, bytes] of filesUnder(cacheDir)) assertNoSecret(bytes, path);
});

test('a database cloned through a URL with credentials: reports, cache, state file and clone config hold none', () => {
  const repo = osvRepository();
  const cacheDir = tempDir('cred-cache');
  const url = `file://user:${SECRET}@${repo}`;
  const shown = `file://***@${repo}`;
  const app = npmApp(true);

  const json = runCli(['audit', app, '--db', url, '--format', 'json'], { cacheDir });
  assert.equal(json.status, 1, json.stderr);
  assertNoSecret(json.stdout + json.stderr, 'the JSON report');
  const report = auditReport(json.stdout);
  assert.deepEqual(report.databases.map((d) => d.source), [shown]);
  assert.deepEqual(report.findings.map((f) => [f.advisory.id, f.databases]), [['GHSA-cred-cred-cred', [shown]]]);

  const human = runCli(['audit', app, '--db', url], { cacheDir });
  assert.equal(human.status, 1);
  assertNoSecret(human.stdout + human.stderr, 'the human report');
  assert.ok(human.stdout.includes(`database: ${shown} @ `), human.stdout);

  // Written in a directory of the test's own: join(cacheDir, '..') is the OS temp directory, where every run left it.
  const sarifLog = join(tempDir('cred-sarif'), 'report.sarif');
  const sarif = runCli(['audit', app, '--db', url, '--format', 'sarif', '-o', sarifLog], { cacheDir });
  assert.equal(sarif.status, 1, sarif.stderr);
  assertNoSecret(readFileSync(sarifLog), 'the SARIF log');

  const states = readdirSync(join(cacheDir, 'db')).filter((name) => name.endsWith('.json'));
  assert.equal(states.length, 1);
  assert.equal((JSON.parse(readFileSync(join(cacheDir, 'db', states[0] as string), 'utf8')) as { url: string }).url, shown);
  assertCacheClean(cacheDir);

  // A fetch goes to the real URL (git needs it), and still leaves nothing behind.
  git(['commit', '--quiet', '--allow-empty', '-m', 'another revision'], repo);
  const fetched = runCli(['audit', app, '--db', url, '--fetch', '--format', 'json'], { cacheDir });
  assert.equal(fetched.status, 1, fetched.stderr);
  const head = git(['rev-parse', 'HEAD'], repo);
  assert.equal(auditReport(fetched.stdout).databases[0]?.revision, head);
  assertCacheClean(cacheDir);

  // The source gone: the fetch warning names the database redacted.
  renameSync(repo, `${repo}.moved`);
  const offline = runCli(['audit', app, '--db', url, '--fetch'], { cacheDir });
  assert.equal(offline.status, 1, offline.stderr);
  assertNoSecret(offline.stdout + offline.stderr, 'the fetch warning');
  assert.ok(offline.stdout.includes(`warning: could not fetch ${shown} (`), offline.stdout);
});

test('the vendor archive manifest (shipped in the SRPM) names the database redacted', () => {
  const repo = osvRepository();
  const cacheDir = tempDir('cred-cache');
  const app = npmApp(false);
  const archive = join(app, 'vendor.tar.gz');
  const r = runCli(['vendor', app, '--db', `file://user:${SECRET}@${repo}#main`, '-o', archive], { cacheDir });
  assert.equal(r.status, 0, r.stderr);
  assertNoSecret(r.stdout + r.stderr, 'vendor output');
  const tar = gunzipSync(readFileSync(archive));
  assertNoSecret(tar, 'the archive');
  const manifest = tar.toString('utf8');
  assert.ok(manifest.includes(`"source": "file://***@${repo}#main"`), manifest);
  assertCacheClean(cacheDir);
});

test("a lockfile's source URL with credentials: the JSON report shows it redacted", () => {
  const app = npmApp(true);
  const lockfile = join(app, 'package-lock.json');
  writeFileSync(lockfile, readFileSync(lockfile, 'utf8').replace('https://registry.npmjs.org/', `https://ci:${SECRET}@npm.corp.example/`));
  const db = tempDir('cred-osv');
  writeFileSync(
    join(db, 'GHSA-cred-cred-cred.json'),
    JSON.stringify({
      schema_version: '1.6.0',
      id: 'GHSA-cred-cred-cred',
      modified: '2026-11-01T00:00:00Z',
      affected: [{ package: { ecosystem: 'npm', name: 'left-pad' }, ranges: [{ type: 'SEMVER', events: [{ introduced: '0' }, { fixed: '1.3.0' }] }] }],
    }),
  );
  const r = runCli(['audit', app, '--db', db, '--format', 'json'], { cacheDir: tempDir('cred-cache') });
  assert.equal(r.status, 1, r.stderr);
  assertNoSecret(r.stdout + r.stderr, 'the JSON report');
  const report = auditReport(r.stdout);
  assert.deepEqual(report.findings.map((f) => f.package.source), ['https://***@npm.corp.example/']);
});
