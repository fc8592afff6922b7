/**
 * `fleet sync` of many revisions re-matches them in worker threads (sync-pool.ts): what it
 * reports (outcome, JSON and human output, events) and what it stores are exactly what the
 * sync in the command's own thread gives, when RustSec moves forward (new findings) and back
 * again (resolved ones), for applications with and without a policy of their own. A revision a
 * worker cannot match is matched by the main thread, meeting the same error: the sync fails
 * and nothing is written. Real lockfiles against the real RustSec and GHSA databases; both stores.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { test } from 'node:test';
import { syncFleet, type SyncOptions, type SyncOutcome } from '../../src/fleet/sync.js';
import { receivedJob, receivedRevision, sentJob, sentRevision, syncPoolSize } from '../../src/fleet/sync-pool.js';
import type { MatchedRevision, MatchJob } from '../../src/fleet/sync-match.js';
import type { FindingRowText } from '../../src/fleet/store/finding-rows.js';
import type { EncodedFinding } from '../../src/fleet/store/store.js';
import { renderSync, syncJsonPieces } from '../../src/fleet/sync-report.js';
import { openFleetStore } from '../../src/fleet/store/open-store.js';
import type { FleetStore } from '../../src/fleet/store/store.js';
import { writeRustApp } from '../support/campaign-fleet.js';
import { freshStore, storeSkips, STORE_KINDS } from '../support/fleet-stores.js';
import { RUSTSEC_2024_12_28 } from '../support/rustsec-history.js';
import { ADVISORY_DB_BUNDLE, CARGO_CORPUS, corpusFiles, GHSA_NPM, NPM_CORPUS, runCliAsync, tempDir } from '../support/shared.js';

const skips = await storeSkips();

/** Every application's current findings, database states and events (without the time each was written). */
async function contents(store: FleetStore): Promise<unknown> {
  const apps = [];
  for (const app of await store.apps()) {
    const revision = app.currentRevision === null ? null : await store.revision(app.currentRevision);
    apps.push({ name: app.name, revision: revision === null ? null : { ...revision, createdAt: null }, findings: app.currentRevision === null ? [] : await store.findings(app.currentRevision) });
  }
  const databases = (await store.databases()).map((d) => ({ ...d, evaluatedAt: null }));
  const events = (await store.eventsAfter(0, 1_000)).map((e) => ({ ...e, at: null }));
  return { apps, databases, events };
}

/** Applications with findings in both databases, and one with a policy (severity threshold) of its own. */
function fleetApps(root: string): string[] {
  mkdirSync(root, { recursive: true });
  const paths: string[] = [];
  for (const file of [...corpusFiles(CARGO_CORPUS, '.Cargo.lock').slice(0, 8), ...corpusFiles(NPM_CORPUS, '.package-lock.json').slice(0, 3)]) {
    const npm = file.endsWith('.package-lock.json');
    const target = join(root, basename(file));
    copyFileSync(file, target);
    if (npm) copyFileSync(file.replace(/package-lock\.json$/, 'package.json'), target.replace(/package-lock\.json$/, 'package.json'));
    paths.push(target);
  }
  const rust = writeRustApp(root, 'rust-app');
  writeFileSync(join(rust, 'stowage.toml'), '[audit]\nseverity-threshold = "high"\n');
  paths.push(rust);
  return paths;
}

/** A scratch directory with a RustSec clone at its old revision (`checkout` moves it) and the applications. */
function scenario(prefix: string): { scratch: string; cacheDir: string; db: string; checkout: (rev: string) => void; apps: string[] } {
  const scratch = tempDir(prefix);
  const db = join(scratch, 'advisory-db');
  execFileSync('git', ['clone', '--quiet', '--no-checkout', ADVISORY_DB_BUNDLE, db]);
  const checkout = (rev: string): void => void execFileSync('git', ['-C', db, 'checkout', '--quiet', '--detach', rev]);
  checkout(RUSTSEC_2024_12_28);
  return { scratch, cacheDir: join(scratch, 'cache'), db, checkout, apps: fleetApps(join(scratch, 'apps')) };
}

/** The outcome as its readers see it: each change's app, kind and finding (a worker's new findings are kept as rows and texts until read). */
function outcomeOf(outcome: SyncOutcome): unknown {
  return { ...outcome, changes: outcome.changes.map((c) => ({ app: c.app, change: c.change, finding: c.finding })) };
}

async function synced(store: FleetStore, options: SyncOptions): Promise<{ outcome: SyncOutcome; json: string; human: string }> {
  const outcome = await syncFleet(store, options);
  return { outcome, json: [...syncJsonPieces(outcome)].join(''), human: renderSync(outcome, { colour: false, width: 100 }) };
}

for (const kind of STORE_KINDS) {
  test(`a sync in worker threads reports and stores exactly what one in the command's thread does (${kind})`, { skip: skips[kind], timeout: 600_000 }, async () => {
    const { cacheDir, db, checkout, apps } = scenario('fleet-sync-parallel');
    const stores = [await freshStore(kind), await freshStore(kind)];
    try {
      for (const s of stores) {
        const init = await runCliAsync(['fleet', 'init', '--store', s.store, '--db', db, '--db', GHSA_NPM, '--no-fetch'], { cacheDir });
        assert.equal(init.status, 0, init.stderr);
        const add = await runCliAsync(['fleet', 'add', ...apps, '--store', s.store, '--no-fetch'], { cacheDir });
        assert.equal(add.status, 1, add.stderr);
      }
      const [inThread, pooled] = await Promise.all(stores.map((s) => openFleetStore(s.store)));
      try {
        const options = { cacheRoot: cacheDir, fetch: 'never' as const, now: new Date('2026-09-01T00:00:00Z'), by: 'tester' };
        for (const [round, rev] of ['origin/main', RUSTSEC_2024_12_28].entries()) {
          checkout(rev);
          const one = await synced(inThread as FleetStore, { ...options, pool: { workers: 0 } });
          // Every revision in a worker: two of them, from the first revision on.
          assert.equal(syncPoolSize(one.outcome.reevaluated + one.outcome.fullyEvaluated, 1, 2), 2);
          const many = await synced(pooled as FleetStore, { ...options, pool: { from: 1, workers: 2 } });
          assert.deepEqual(outcomeOf(many.outcome), outcomeOf(one.outcome));
          assert.equal(many.json, one.json);
          assert.equal(many.human, one.human);
          assert.deepEqual(await contents(pooled as FleetStore), await contents(inThread as FleetStore));
          // What the test means to cover: many re-matched revisions, new findings forward, resolved ones back.
          assert.ok(one.outcome.reevaluated >= 8, `${one.outcome.reevaluated} revisions re-matched`);
          const kinds = new Set(one.outcome.changes.map((c) => c.change));
          assert.ok(kinds.has(round === 0 ? 'new' : 'resolved'), [...kinds].join(', '));
        }
      } finally {
        await Promise.all([inThread?.close(), pooled?.close()]);
      }
    } finally {
      await Promise.all(stores.map((s) => s.dispose()));
    }
  });
}

test('a revision a worker cannot match fails the sync as in the command thread, and nothing is written', { timeout: 600_000 }, async () => {
  const { scratch, cacheDir, db, checkout, apps } = scenario('fleet-sync-parallel-fail');
  // An application whose policy refuses a database more than 10000 days old, added against another
  // revision than the others': the sync evaluates it in full, and its audit throws in 2099.
  const strict = writeRustApp(join(scratch, 'apps'), 'strict-app');
  writeFileSync(join(strict, 'stowage.toml'), '[audit]\nmax-db-age = 10000\nstale-db = "fail"\n');
  const store = await freshStore('sqlite');
  try {
    const init = await runCliAsync(['fleet', 'init', '--store', store.store, '--db', db, '--db', GHSA_NPM, '--no-fetch'], { cacheDir });
    assert.equal(init.status, 0, init.stderr);
    const add = await runCliAsync(['fleet', 'add', ...apps, '--store', store.store, '--no-fetch'], { cacheDir });
    assert.equal(add.status, 1, add.stderr);
    checkout('origin/main~100');
    const late = await runCliAsync(['fleet', 'add', strict, '--store', store.store, '--no-fetch'], { cacheDir });
    assert.ok(late.status === 0 || late.status === 1, late.stderr);
    checkout('origin/main');
    const fleet = await openFleetStore(store.store);
    try {
      const before = await contents(fleet);
      const options = { cacheRoot: cacheDir, fetch: 'never' as const, now: new Date('2099-01-01T00:00:00Z'), by: 'tester' };
      const errors: string[] = [];
      for (const pool of [{ workers: 0 }, { from: 1, workers: 2 }]) {
        await assert.rejects(syncFleet(fleet, { ...options, pool }), (err: Error) => {
          errors.push(err.message);
          return true;
        });
        assert.deepEqual(await contents(fleet), before, 'nothing written');
      }
      assert.equal(errors[1], errors[0]);
      assert.match(errors[0] as string, /refusing to audit \(stale-db = "fail"\)/);
    } finally {
      await fleet.close();
    }
  } finally {
    await store.dispose();
  }
});

test('a worker\'s answer crosses as one string of rows and comes back as the rows it matched', () => {
  const text = (s: string): FindingRowText => s as FindingRowText;
  const matched: MatchedRevision = {
    add: [
      { text: text('{"a":"caf\u00e9"}'), digest: 'd1', isNew: true },
      { text: text(''), digest: 'd2', isNew: false },
      { text: text('{"b":"\u{1F600}"}'), digest: 'd1', isNew: false },
      { text: text('{"c":1}'), digest: 'd3', isNew: true },
    ],
    resolved: [0, 2],
    remove: [1],
    records: [['d1', '{}']],
    encoded: [],
    prepared: ['{"app":"caf\u00e9"}', '{"app":"\u{1F600}"}'],
    notAudited: [{ target: 'package-lock.json', ecosystem: 'npm', name: 'lodash', version: 'github:lodash/lodash#2da024c', source: 'git' }],
  };
  for (const [n, row] of matched.add.entries()) {
    (matched.encoded as EncodedFinding[]).push({
      target: `t${n}\u00e9`,
      package: { ecosystem: 'cargo', name: `p${n}`, version: '1.0.0' },
      groupKey: `G-${n} A-${n}`,
      advisoryId: `G-${n}`,
      key: row.text,
      advisoryDigest: row.digest,
      failsPolicy: n % 2 === 0,
      level: n === 3 ? 'informational' : 'high',
      open: n !== 1,
    });
  }
  const sent = sentRevision(matched);
  assert.deepEqual(sent.digests, ['d1', 'd2', 'd3']);
  assert.deepStrictEqual(receivedRevision(structuredClone(sent)), matched);
  const none: MatchedRevision = { add: [], resolved: [], remove: [], records: [], encoded: [], prepared: [], notAudited: [] };
  assert.deepStrictEqual(receivedRevision(structuredClone(sentRevision(none))), none);
});

test('a job crosses to a worker with its stored keys and rows as one string each, and arrives as the job posted', () => {
  const job = (findingKeys: string[], rows: string[]): MatchJob => ({
    revisionId: 7,
    app: 'caf\u00e9',
    graph: new Uint8Array([1, 2, 3]),
    policy: { failOn: 'high', ignore: [] } as unknown as MatchJob['policy'],
    restricted: true,
    before: { findingKeys, rows },
  });
  for (const posted of [
    job(['t\0cargo\0a\u00001.0\0G-1', '', 't\0npm\0\u{1F600}\0' + '2.0\0G-2'], ['{"a":"caf\u00e9"}', '{}', '']),
    job([], []),
  ]) {
    assert.deepStrictEqual(receivedJob(structuredClone(sentJob(posted))), posted);
  }
});
