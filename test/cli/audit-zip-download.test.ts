import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { auditReport } from '../support/audit-report.js';
import { osvZipOf } from '../support/advisory-fixtures.js';
import { CARGO_CORPUS, GHSA_NPM, NPM_CORPUS, runCli, runCliAsync, tempDir } from '../support/shared.js';
import { ZipServer } from '../support/zip-server.js';

const JELLYFIN = join(NPM_CORPUS, 'jellyfin-web-2025-03-01.package-lock.json');
/** The advisory of jellyfin-web's one runtime finding (node-fetch 2.6.9). */
const NODE_FETCH = 'GHSA-r683-j2x4-v87g';

let server: ZipServer;
let full: Buffer;
let withoutNodeFetch: Buffer;

before(async () => {
  const dir = tempDir('zip-download-data');
  full = readFileSync(osvZipOf(GHSA_NPM, join(dir, 'all.zip')));
  withoutNodeFetch = readFileSync(osvZipOf(GHSA_NPM, join(dir, 'less.zip'), [`${NODE_FETCH}.json`]));
  server = await ZipServer.start(full);
});

after(() => server.close());

test('an https-like .zip --db is downloaded once, revalidated with its ETag, replaced when it changes, and kept when the server is down', async () => {
  const cacheDir = tempDir('zip-download-cache');
  const audit = (...args: string[]) => runCliAsync(['audit', JELLYFIN, '--format', 'json', '--db', server.url, ...args], { cacheDir });
  // What the same records read from a local directory give: the download must read the same.
  const local = auditReport(runCli(['audit', JELLYFIN, '--format', 'json', '--db', GHSA_NPM], { cacheDir: tempDir('zip-download-local') }).stdout);

  const first = await audit();
  assert.equal(first.status, 1, first.stderr);
  const report = auditReport(first.stdout);
  assert.deepEqual(report.databases.map((d) => [d.source, d.kind, d.advisories]), [[server.url, 'zip-download', local.databases[0]?.advisories]]);
  assert.equal(report.databases[0]?.revision, local.databases[0]?.revision, 'the same records, the same content hash');
  assert.deepEqual(report.findings.map((f) => f.advisory.id), local.findings.map((f) => f.advisory.id));
  assert.equal(server.requests.length, 1);
  assert.equal(server.requests[0]?.['if-none-match'], undefined, 'nothing cached: an unconditional GET');

  // Within the hour: no request at all.
  assert.equal((await audit()).status, 1);
  assert.equal(server.requests.length, 1);

  // --fetch: a conditional GET, answered 304; the same copy is used.
  const revalidated = await audit('--fetch');
  assert.equal(revalidated.status, 1, revalidated.stderr);
  assert.equal(server.requests.length, 2);
  assert.equal(server.requests[1]?.['if-none-match'], server.currentEtag);
  assert.equal(server.requests[1]?.['if-modified-since'], server.currentLastModified);
  assert.equal(auditReport(revalidated.stdout).databases[0]?.revision, report.databases[0]?.revision);

  // The server publishes a new export (new ETag): it is downloaded, and the index rebuilt from it.
  server.replace(withoutNodeFetch, 2);
  const changed = await audit('--fetch');
  assert.equal(server.requests.length, 3);
  assert.equal(server.requests[2]?.['if-none-match'], '"v1"');
  const replaced = auditReport(changed.stdout);
  assert.notEqual(replaced.databases[0]?.revision, report.databases[0]?.revision);
  assert.equal(replaced.databases[0]?.advisories, (report.databases[0]?.advisories ?? 0) - 1);
  assert.ok(!replaced.findings.some((f) => f.advisory.id === NODE_FETCH), 'the withdrawn record no longer matches');
  assert.ok(report.findings.some((f) => f.advisory.id === NODE_FETCH));

  // The server is down: the cached copy, with a warning naming the source; the audit goes on.
  const url = server.url;
  await server.close();
  const down = await runCliAsync(['audit', JELLYFIN, '--format', 'json', '--db', url, '--fetch'], { cacheDir });
  assert.equal(down.status, 1, down.stderr);
  assert.equal(auditReport(down.stdout).databases[0]?.revision, replaced.databases[0]?.revision);
  assert.match(down.stderr, new RegExp(`warning: could not fetch ${url.replace(/[.?]/g, '\\$&')} \\(cannot download advisory database .* after 4 attempts: ECONNREFUSED\\); using the cached copy of `));

  // Down, and nothing cached: the audit cannot be done.
  const nothing = await runCliAsync(['audit', JELLYFIN, '--db', url], { cacheDir: tempDir('zip-download-empty') });
  assert.equal(nothing.status, 2);
  assert.equal(nothing.stdout, '');
  assert.match(nothing.stderr, /^stowage: cannot download advisory database http:\/\/127\.0\.0\.1:\d+\/npm\/all\.zip after 4 attempts: ECONNREFUSED \(check the --db source and the network; offline, name a local copy: --db DIR or --db FILE\.zip of OSV records\)\n$/);
  server = await ZipServer.start(full);
});

test('--no-fetch with a download not in the cache fails closed, naming it; plain http off this machine is refused', () => {
  const cacheDir = tempDir('zip-download-nofetch');
  const offline = runCli(['audit', JELLYFIN, '--db', 'https://example.invalid/npm/all.zip', '--no-fetch'], { cacheDir });
  assert.equal(offline.status, 2);
  assert.match(offline.stderr, /^stowage: database https:\/\/example\.invalid\/npm\/all\.zip is not in the cache \(.*\) and fetching is disabled \(--no-fetch\)\n$/);
  const plain = runCli(['audit', JELLYFIN, '--db', 'http://example.invalid/npm/all.zip'], { cacheDir });
  assert.equal(plain.status, 2);
  assert.equal(plain.stderr, 'stowage: --db http://example.invalid/npm/all.zip: plain http is accepted only from this machine (127.0.0.1, ::1, localhost); use https\n');
  const branch = runCli(['audit', JELLYFIN, '--db', 'https://example.invalid/npm/all.zip#main'], { cacheDir });
  assert.equal(branch.stderr, 'stowage: --db https://example.invalid/npm/all.zip#main: a .zip database has no branches\n');
});

test('with no --db, an npm lockfile reads the npm default (the OSV export), not RustSec; a Cargo.lock reads RustSec', () => {
  const cacheDir = tempDir('zip-download-defaults');
  const npm = runCli(['audit', JELLYFIN, '--no-fetch'], { cacheDir });
  assert.equal(npm.status, 2);
  assert.equal(
    npm.stderr.replace(/\(\/.*?\)/, '(CACHE)'),
    'stowage: database https://osv-vulnerabilities.storage.googleapis.com/npm/all.zip is not in the cache (CACHE) and fetching is disabled (--no-fetch)\n',
  );
  const cargo = runCli(['audit', join(CARGO_CORPUS, 'ripgrep-2026-08-04.Cargo.lock'), '--no-fetch'], { cacheDir });
  assert.equal(cargo.status, 2);
  assert.match(cargo.stderr, /^stowage: database https:\/\/github\.com\/rustsec\/advisory-db\.git is not in the cache/);
});
