/**
 * The fleet evaluates as of STOWAGE_NOW, as `stowage audit` does (src/core/clock.ts): an
 * advisory withdrawn by then does not match `fleet add`, a policy ignore that has lapsed by then
 * fails its finding again at `fleet sync`, a triage decision that has expired by then no longer
 * governs what `fleet show` says. The fleet's findings stay exactly the audit's, whatever day
 * the test runs on.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { SqliteDriver } from '../../src/fleet/store/sqlite-driver.js';
import { runCli, runCliAsync, tempDir, tempTree } from '../support/shared.js';

const scratch = tempDir('fleet-clock');
const cacheDir = join(scratch, 'cache');

/** After every date the test's data names, whatever day the test runs on. */
const LATER = '2100-01-01';
const ID = 'GHSA-test-0000-0001';

interface Finding {
  advisory: { id: string };
  ignored: { expires: string | null; origin: string } | null;
  failsPolicy: boolean;
}

/** An OSV database of one advisory on lodash < 4.17.5, withdrawn from `withdrawn` on. */
function database(name: string, withdrawn: string | null): string {
  const dir = join(scratch, name);
  mkdirSync(dir, { recursive: true });
  const record = {
    schema_version: '1.6.0',
    id: ID,
    modified: '2024-01-01T00:00:00Z',
    published: '2024-01-01T00:00:00Z',
    ...(withdrawn === null ? {} : { withdrawn }),
    summary: 'A made-up flaw',
    affected: [{ package: { ecosystem: 'npm', name: 'lodash' }, ranges: [{ type: 'SEMVER', events: [{ introduced: '0' }, { fixed: '4.17.5' }] }] }],
  };
  writeFileSync(join(dir, `${ID}.json`), JSON.stringify(record));
  return dir;
}

/** lodash 4.17.4, with a policy ignoring the advisory until `expires` when given. */
function lodashApp(expires: string | null): string {
  return tempTree('fleet-clock-app', {
    'package.json': JSON.stringify({ name: 'app', version: '1.0.0', dependencies: { lodash: '4.17.4' } }),
    'package-lock.json': JSON.stringify({
      name: 'app',
      version: '1.0.0',
      lockfileVersion: 3,
      requires: true,
      packages: { '': { name: 'app', version: '1.0.0', dependencies: { lodash: '4.17.4' } }, 'node_modules/lodash': { version: '4.17.4' } },
    }),
    ...(expires === null ? {} : { 'stowage.toml': `[[audit.ignore]]\nid = "${ID}"\nreason = "not reachable"\nexpires = ${expires}\n` }),
  });
}

function fleetOf(store: string) {
  return (args: string[], now?: string) => runCli(['fleet', ...args, '--store', store], { cacheDir, ...(now === undefined ? {} : { env: { STOWAGE_NOW: now } }) });
}

function findings(run: { stdout: string; stderr: string }): Finding[] {
  assert.ok(run.stdout !== '', run.stderr);
  return (JSON.parse(run.stdout) as { apps: { findings: Finding[] }[] }).apps[0]?.findings ?? [];
}

function audited(app: string, db: string, now: string): { status: number; findings: Finding[] } {
  const run = runCli(['audit', app, '--db', db, '--format', 'json'], { cacheDir, env: { STOWAGE_NOW: now } });
  return { status: run.status, findings: (JSON.parse(run.stdout) as { findings: Finding[] }).findings };
}

test('fleet add evaluates as of STOWAGE_NOW: an advisory withdrawn by then does not match, as in the audit', () => {
  const db = database('withdrawn-db', '2099-06-01T00:00:00Z');
  const app = lodashApp(null);
  const fleet = fleetOf(join(scratch, 'withdrawn.sqlite'));
  assert.equal(fleet(['init', '--db', db]).status, 0);
  const expected = audited(app, db, LATER);
  assert.deepEqual(expected, { status: 0, findings: [] });
  const added = fleet(['add', app, '--name', 'app'], LATER);
  assert.equal(added.status, 0, added.stdout + added.stderr);
  assert.deepEqual(findings(fleet(['show', 'app', '--format', 'json'], LATER)), expected.findings);
});

test('fleet sync evaluates as of STOWAGE_NOW: a policy ignore that has lapsed by then fails its finding again, as in the audit', () => {
  const db = database('ignore-db', null);
  const app = lodashApp('2099-12-31');
  const fleet = fleetOf(join(scratch, 'ignore.sqlite'));
  assert.equal(fleet(['init', '--db', db]).status, 0);
  assert.equal(fleet(['add', app, '--name', 'app']).status, 0, 'accepted until 2099-12-31');
  assert.equal(findings(fleet(['show', 'app', '--format', 'json'])).find((f) => f.advisory.id === ID)?.ignored?.expires, '2099-12-31');

  // The database has not moved; the day has.
  const synced = fleet(['sync', '--format', 'json'], LATER);
  assert.ok(synced.status === 0 || synced.status === 1, synced.stderr);
  const expected = audited(app, db, LATER);
  assert.equal(expected.status, 1);
  assert.equal(expected.findings.find((f) => f.advisory.id === ID)?.ignored, null);
  assert.deepEqual(findings(fleet(['show', 'app', '--format', 'json'], LATER)), expected.findings);
});

test('fleet show applies triage as of STOWAGE_NOW: a decision expired by then governs nothing', () => {
  const db = database('triage-db', null);
  const app = lodashApp(null);
  const fleet = fleetOf(join(scratch, 'triage.sqlite'));
  assert.equal(fleet(['init', '--db', db]).status, 0);
  assert.equal(fleet(['add', app, '--name', 'app']).status, 1);
  const decided = fleet(['triage', 'app', ID, '--state', 'not_affected', '--justification', 'code_not_reachable', '--reason', 'unused', '--expires', '2099-12-31']);
  assert.equal(decided.status, 0, decided.stderr);
  assert.equal(findings(fleet(['show', 'app', '--format', 'json'])).find((f) => f.advisory.id === ID)?.ignored?.origin, 'fleet triage', 'governs until it expires');
  const later = findings(fleet(['show', 'app', '--format', 'json'], LATER)).find((f) => f.advisory.id === ID);
  assert.deepEqual([later?.ignored, later?.failsPolicy], [null, true], 'expired as of STOWAGE_NOW');
});

test('fleet add refuses a STOWAGE_NOW that is not a date, in one line, exit 2', () => {
  const fleet = fleetOf(join(scratch, 'bad.sqlite'));
  assert.equal(fleet(['init', '--db', database('bad-db', null)]).status, 0);
  const run = fleet(['add', lodashApp(null), '--name', 'app'], 'yesterday');
  assert.equal(run.status, 2);
  assert.equal(run.stderr, 'stowage: STOWAGE_NOW must be a date (2026-12-31) or a UTC time (2026-12-31T12:00:00Z), found "yesterday"\n');
});

test('the fleet judges as of STOWAGE_NOW but records the wall clock: events, the outbox, revisions and the databases are dated now, and the webhook is posted', async () => {
  const posted: string[] = [];
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      posted.push(`${req.method ?? ''} ${req.url ?? ''}`);
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  try {
    const store = join(scratch, 'recorded.sqlite');
    const db = database('recorded-db', null);
    const { port } = server.address() as AddressInfo;
    assert.equal(fleetOf(store)(['init', '--db', db, '--webhook', `http://127.0.0.1:${port}/hook`]).status, 0);
    const before = new Date().toISOString();
    const added = await runCliAsync(['fleet', 'add', lodashApp(null), '--name', 'app', '--store', store], { cacheDir, env: { STOWAGE_NOW: LATER } });
    assert.equal(added.status, 1, added.stderr);
    assert.equal(added.stderr.includes('not delivered'), false, added.stderr);
    // Posted at once, not put off until 2100.
    assert.deepEqual(posted, ['POST /hook'], added.stderr);
    // A sync records when the databases were evaluated.
    const synced = await runCliAsync(['fleet', 'sync', '--store', store], { cacheDir, env: { STOWAGE_NOW: LATER } });
    assert.equal(synced.status, 1, synced.stderr);
    const after = new Date().toISOString();

    const driver = SqliteDriver.open(store);
    try {
      await driver.transaction(async (tx) => {
        const times = [
          ...(await tx.query<{ t: string }>('SELECT at AS t FROM events', [])),
          ...(await tx.query<{ t: string }>('SELECT delivered_at AS t FROM outbox', [])),
          ...(await tx.query<{ t: string }>('SELECT created_at AS t FROM revisions', [])),
          ...(await tx.query<{ t: string }>('SELECT evaluated_at AS t FROM databases', [])),
        ];
        assert.equal(times.length, 4, JSON.stringify(times));
        for (const { t } of times) assert.ok(t >= before && t <= after, `${t} recorded, not between ${before} and ${after}`);
        // The post's lease: 20 s (twice its timeout) past the wall clock.
        const [lease] = await tx.query<{ t: string }>('SELECT next_attempt_at AS t FROM outbox', []);
        const leaseBound = new Date(Date.parse(after) + 20_000).toISOString();
        assert.ok(lease !== undefined && lease.t >= before && lease.t <= leaseBound, `next attempt ${lease?.t}, not between ${before} and ${leaseBound}`);
      });
    } finally {
      await driver.close();
    }
  } finally {
    await new Promise((done) => server.close(done));
  }
});
