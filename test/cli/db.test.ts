import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { osvZipOf } from '../support/advisory-fixtures.js';
import { assertDraft2020Schema, readJsonSchema, schemaValidator } from '../support/json-schema.js';
import { ADVISORY_DB_BUNDLE, GHSA_NPM, PROJECT_ROOT, advisoryDbCheckout, runCli, runCliAsync, tempDir } from '../support/shared.js';
import { ZipServer } from '../support/zip-server.js';

const SCHEMA = readJsonSchema(join(PROJECT_ROOT, 'schema', 'db-report.v1.json'));
const validate = schemaValidator(SCHEMA, { draft2020: true });

interface DbEntry {
  source: string;
  kind: string;
  revision: string;
  advisories: number;
  toolchainAdvisories: number;
  ecosystems: Record<string, number>;
  kinds: Record<string, number>;
  fetchedAt: string | null;
  bytes: number;
  index: string;
  cached: string | null;
}

function dbReport(stdout: string): DbEntry[] {
  const report: unknown = JSON.parse(stdout);
  validate(report);
  return (report as { databases: DbEntry[] }).databases;
}

/** What the shared bundle's `main` holds, counted with git and the file system, not stowage. */
function bundleFacts(): { commit: string; toolchain: number } {
  const commit = execFileSync('git', ['bundle', 'list-heads', ADVISORY_DB_BUNDLE, 'refs/heads/main']).toString().split(' ')[0] as string;
  const rust = join(advisoryDbCheckout('origin/main'), 'rust');
  const toolchain = readdirSync(rust).reduce((n, crate) => n + readdirSync(join(rust, crate)).filter((f) => f.endsWith('.md')).length, 0);
  return { commit, toolchain };
}

let server: ZipServer;
before(async () => {
  server = await ZipServer.start(readFileSync(osvZipOf(GHSA_NPM, join(tempDir('db-zip'), 'all.zip'))));
});
after(() => server.close());

test('the db report schema is a valid draft 2020-12 schema', () => {
  assertDraft2020Schema(SCHEMA);
});

test('db sync fetches and indexes what it is given; db list and db show report it, human and JSON', async () => {
  const cacheDir = tempDir('db-cache');
  const empty = runCli(['db', 'list'], { cacheDir });
  assert.equal(empty.status, 0);
  assert.equal(empty.stdout, `no advisory database in the cache (${cacheDir}); \`stowage db sync\` fetches the defaults\n`);
  assert.deepEqual(dbReport(runCli(['db', 'list', '--format', 'json'], { cacheDir }).stdout), []);

  const synced = await runCliAsync(['db', 'sync', ADVISORY_DB_BUNDLE, GHSA_NPM, server.url, '--format', 'json'], { cacheDir });
  assert.equal(synced.status, 0, synced.stderr);
  assert.equal(synced.stderr, '');
  const entries = dbReport(synced.stdout);
  const ghsaRecords = readdirSync(GHSA_NPM).filter((f) => f.endsWith('.json')).length;
  const { commit, toolchain } = bundleFacts();
  assert.deepEqual(
    entries.map((e) => [e.source, e.kind, e.ecosystems, e.fetchedAt !== null, e.cached !== null && existsSync(e.cached), existsSync(e.index)]),
    [
      [ADVISORY_DB_BUNDLE, 'git-remote', { cargo: 1205 }, true, true, true],
      [GHSA_NPM, 'directory', { npm: entries[1]?.advisories }, false, false, true],
      [server.url, 'zip-download', { npm: entries[1]?.advisories }, true, true, true],
    ],
  );
  assert.equal(entries[0]?.revision, commit);
  assert.equal(entries[0]?.toolchainAdvisories, toolchain);
  // One entry per affected package: at least one per record (a few records name several packages).
  assert.ok((entries[1]?.advisories ?? 0) >= ghsaRecords - 1, `${entries[1]?.advisories} entries from ${ghsaRecords} files`);
  assert.equal(entries[2]?.revision, entries[1]?.revision, 'the same records zipped: the same content hash');
  assert.equal(server.requests.length, 1);
  for (const e of entries) assert.ok(e.bytes > 0);

  // list: every cached one, sorted by source; the same entries sync reported.
  const listed = dbReport(runCli(['db', 'list', '--format', 'json'], { cacheDir }).stdout);
  assert.deepEqual(
    listed.map((e) => [e.source, e.revision]),
    [...entries].sort((a, b) => (a.source < b.source ? -1 : 1)).map((e) => [e.source, e.revision]),
  );
  const human = runCli(['db', 'list'], { cacheDir }).stdout;
  assert.match(human, new RegExp(`^${GHSA_NPM}\\n  directory @ sha256:[0-9a-f]{12} \\(2024-10-10, \\d+ days old\\)\\n  ${entries[1]?.advisories} advisories \\(npm ${entries[1]?.advisories}\\)\\n  read in place, `, 'm'));
  assert.match(human, new RegExp(`^${ADVISORY_DB_BUNDLE}\\n  git-remote @ ${commit.slice(0, 12)} \\(2026-08-2\\d, \\d+ days old\\)\\n  1205 advisories \\(cargo 1205\\), ${toolchain} toolchain\\n  fetched `, 'm'));

  // show: one, with the counts by kind and its paths; nothing fetched.
  const shown = dbReport(runCli(['db', 'show', ADVISORY_DB_BUNDLE, '--format', 'json'], { cacheDir }).stdout);
  assert.equal(shown.length, 1);
  const kinds = shown[0]?.kinds ?? {};
  assert.ok((kinds.vulnerability ?? 0) > 0 && (kinds.unmaintained ?? 0) > 0 && (kinds.unsound ?? 0) > 0, JSON.stringify(kinds));
  assert.equal(Object.values(kinds).reduce((a, b) => a + b, 0), 1205);
  const shownHuman = runCli(['db', 'show', server.url], { cacheDir }).stdout;
  assert.match(shownHuman, /\n {2}by kind: vulnerability \d+\n/);
  assert.match(shownHuman, /\n {2}download: .*\.zip\n$/);
  assert.equal(server.requests.length, 1, 'show fetches nothing');

  // sync again: the download is revalidated (304), not downloaded again.
  const again = await runCliAsync(['db', 'sync', server.url], { cacheDir });
  assert.equal(again.status, 0, again.stderr);
  assert.equal(server.requests.length, 2);
  assert.equal(server.requests[1]?.['if-none-match'], server.currentEtag);
});

test('db show of a remote not in the cache, and db sync of what is not a database, fail with one line', () => {
  const cacheDir = tempDir('db-missing');
  const missing = runCli(['db', 'show', 'https://example.invalid/npm/all.zip'], { cacheDir });
  assert.equal(missing.status, 2);
  assert.equal(
    missing.stderr,
    `stowage: https://example.invalid/npm/all.zip is not in the cache (${cacheDir}); run \`stowage db sync https://example.invalid/npm/all.zip\` first\n`,
  );
  const bad = runCli(['db', 'sync', '/nonexistent/advisory-db'], { cacheDir });
  assert.equal(bad.status, 2);
  assert.equal(bad.stderr, 'stowage: --db /nonexistent/advisory-db: no such file or directory, and not a git URL\n');
});

test('db --help teaches: what it does, the defaults, each subcommand, examples, exit codes', () => {
  const cacheDir = tempDir('db-help');
  const help = runCli(['db', '--help'], { cacheDir }).stdout;
  for (const expected of ['https://github.com/rustsec/advisory-db.git', 'https://osv-vulnerabilities.storage.googleapis.com/npm/all.zip', 'list', 'sync', 'show', 'Examples:', 'Exit codes:']) {
    assert.ok(help.includes(expected), `db --help mentions ${expected}:\n${help}`);
  }
  for (const sub of ['list', 'sync', 'show']) {
    const text = runCli(['db', sub, '--help'], { cacheDir }).stdout;
    for (const expected of ['--format', '--cache-dir', 'Examples:', 'Exit codes:']) assert.ok(text.includes(expected), `db ${sub} --help mentions ${expected}:\n${text}`);
  }
});
