import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import pg from 'pg';
import type { ReportFinding } from '../support/audit-report.js';
import { freshStore, queuedEvents, storeSkips, STORE_KINDS, type TestStore } from '../support/fleet-stores.js';
import { checkFleetJson, type FleetApps } from '../support/fleet-report.js';
import { advisoryDbCheckout, CARGO_CORPUS, runCli, tempDir } from '../support/shared.js';

/**
 * `fleet promote --snapshot NAME` and `fleet rollback --snapshot NAME`: every application of a
 * snapshot back at the revision it recorded, in one go, as status, history and the events show
 * it; a dry run changes nothing; a snapshot whose application or revision the fleet no longer
 * holds is refused with nothing changed.
 */

const cacheDir = tempDir('fleet-snapshot-promote-cache');
const RUSTSEC = advisoryDbCheckout();
const skips = await storeSkips();

function writeApp(dir: string, corpusName: string): string {
  mkdirSync(dir, { recursive: true });
  copyFileSync(join(CARGO_CORPUS, `${corpusName}.Cargo.lock`), join(dir, 'Cargo.lock'));
  copyFileSync(join(CARGO_CORPUS, `${corpusName}.Cargo.toml`), join(dir, 'Cargo.toml'));
  return dir;
}

interface SnapshotChangeJson {
  snapshot: string;
  action: string;
  dryRun: boolean;
  apps: { app: string; action: string; changed: boolean; revision: string; previousRevision: string; findings?: ReportFinding[]; reevaluated?: boolean }[];
  notInSnapshot: string[];
}

function fleetCli(store: TestStore) {
  return (...args: string[]) => runCli(['fleet', ...args, '--store', store.store], { cacheDir });
}

/** One statement straight on the store's database, as a damaged or hand-edited store would be. */
async function tamper(store: TestStore, statement: string): Promise<void> {
  if (store.kind === 'sqlite') {
    const db = new Database(store.store);
    try {
      db.exec(statement);
    } finally {
      db.close();
    }
    return;
  }
  const client = new pg.Client({ connectionString: store.store });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

for (const kind of STORE_KINDS) {
  test(`promote and roll back a whole snapshot; dry run; refused when the fleet lost what it names (${kind})`, { skip: skips[kind] }, async () => {
    const store = await freshStore(kind);
    const dir = tempDir('fleet-snapshot-promote-apps');
    try {
      const fleet = fleetCli(store);
      assert.equal(fleet('init', '--db', RUSTSEC, '--webhook', 'http://127.0.0.1:9/hook').status, 0);
      const add = (name: string, corpus: string): void => assert.ok([0, 1].includes(fleet('add', writeApp(join(dir, name), corpus)).status));
      const current = (): Record<string, string> =>
        Object.fromEntries((JSON.parse(fleet('status', '--format', 'json').stdout) as FleetApps).apps.map((a) => [a.name, a.revision]));
      const historyOf = (app: string): { action: string; revision: { id: string } }[] =>
        (JSON.parse(fleet('history', app, '--format', 'json').stdout) as { history: { action: string; revision: { id: string } }[] }).history;

      add('ripgrep', 'ripgrep-2021-09-01');
      add('fd', 'ripgrep-2018-09-01');
      assert.equal(fleet('snapshot', 'tested').status, 0);
      const tested = current();
      add('ripgrep', 'ripgrep-2023-09-01');
      add('fd', 'ripgrep-2019-09-01');
      add('bat', 'ripgrep-2017-09-01');
      assert.equal(fleet('snapshot', 'latest').status, 0);
      const latest = current();
      assert.notEqual(tested.ripgrep, latest.ripgrep);
      assert.notEqual(tested.fd, latest.fd);
      const eventsBefore = (await queuedEvents(store)).length;

      // A dry run says what would change and changes nothing.
      const dry = fleet('promote', '--snapshot', 'tested', '--dry-run', '--format', 'json');
      assert.equal(dry.status, 0, dry.stderr);
      const planned = JSON.parse(dry.stdout) as SnapshotChangeJson;
      assert.deepEqual(
        planned.apps.map((a) => [a.app, a.changed, a.revision, a.previousRevision]),
        [
          ['fd', true, tested.fd, latest.fd],
          ['ripgrep', true, tested.ripgrep, latest.ripgrep],
        ],
      );
      assert.deepEqual([planned.dryRun, planned.notInSnapshot], [true, ['bat']]);
      assert.deepEqual(current(), latest);
      assert.equal(historyOf('ripgrep').length, 2);
      assert.equal((await queuedEvents(store)).length, eventsBefore);
      assert.match(fleet('promote', '--snapshot', 'tested', '--dry-run').stdout, /would be promoted: ripgrep/);

      // Promoted: every application of the snapshot at its revision, the one added since as it was.
      const promoted = fleet('promote', '--snapshot', 'tested', '--format', 'json', '--by', 'dana');
      assert.ok([0, 1].includes(promoted.status), promoted.stderr);
      const change = JSON.parse(promoted.stdout) as SnapshotChangeJson;
      // Written an application at a time from a temporary file, each advisory's text spliced in: the same text as the whole document.
      assert.equal(promoted.stdout, `${JSON.stringify(change, null, 2)}\n`);
      assert.deepEqual(current(), { ...tested, bat: latest.bat });
      assert.deepEqual(change.apps.map((a) => [a.app, a.action, a.changed]), [['fd', 'promoted', true], ['ripgrep', 'promoted', true]]);
      // Findings as `fleet show` now lists them; the exit code says whether one fails.
      for (const a of change.apps) {
        const shown = (JSON.parse(fleet('show', a.app, '--format', 'json').stdout) as FleetApps).apps[0];
        assert.deepEqual(a.findings, shown?.findings);
      }
      assert.equal(promoted.status, change.apps.some((a) => a.findings?.some((f) => f.failsPolicy)) ? 1 : 0);
      assert.deepEqual(historyOf('ripgrep').map((e) => e.action), ['added', 'added', 'promoted']);
      assert.equal(historyOf('ripgrep').at(-1)?.revision.id, tested.ripgrep);
      assert.deepEqual(historyOf('bat').map((e) => e.action), ['added']);
      // One event per application changed, each the shape of `fleet promote APP REV`, naming the snapshot.
      const events = (await queuedEvents(store)).slice(eventsBefore);
      assert.deepEqual(events.map((e) => [e.type, e.body.app, e.body.snapshot]), [['promote', 'fd', 'tested'], ['promote', 'ripgrep', 'tested']]);
      for (const e of events) assert.ok(checkFleetJson('fleet-promote', e.body).valid);

      // Its dry run says so in English: "would be rolled back", not the history's word.
      const planBack = fleet('rollback', '--snapshot', 'latest', '--dry-run').stdout;
      assert.match(planBack, /^ {2}would be rolled back: fd /m);
      assert.doesNotMatch(planBack, /rolled-back/);
      // Back to the later snapshot, recorded as a rollback; then again: nothing left to change.
      const back = JSON.parse(fleet('rollback', '--snapshot', 'latest', '--format', 'json').stdout) as SnapshotChangeJson;
      assert.deepEqual(back.apps.map((a) => [a.app, a.action, a.changed]), [['bat', 'rolled-back', false], ['fd', 'rolled-back', true], ['ripgrep', 'rolled-back', true]]);
      assert.deepEqual(current(), latest);
      assert.deepEqual(historyOf('fd').map((e) => e.action), ['added', 'added', 'promoted', 'rolled-back']);
      const again = JSON.parse(fleet('rollback', '--snapshot', 'latest', '--format', 'json').stdout) as SnapshotChangeJson;
      assert.ok(again.apps.every((a) => !a.changed));
      assert.equal(historyOf('fd').length, 4);
      // The per-application rollback still undoes the snapshot's change of one application.
      assert.ok([0, 1].includes(fleet('rollback', 'fd').status));
      assert.equal(current().fd, tested.fd);
      const eventsNow = (await queuedEvents(store)).length;

      // Refusals: one line, exit 2, nothing changed.
      const before = current();
      const refused = (args: string[], message: RegExp): void => {
        const r = fleet(...args);
        assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
        assert.match(r.stderr, message, args.join(' '));
        assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      };
      refused(['promote', '--snapshot', 'nope'], /no snapshot named "nope"/);
      refused(['promote', 'ripgrep', '--snapshot', 'tested'], /give no APP REVISION/);
      refused(['rollback', 'ripgrep', '--dry-run'], /--dry-run goes with --snapshot/);
      refused(['promote', 'ripgrep'], /give APP REVISION, or --snapshot NAME/);
      // A revision the snapshot recorded that the fleet no longer has, then an application removed since.
      await tamper(store, `UPDATE snapshot_apps SET revision_id = 987654 WHERE app_id = (SELECT id FROM apps WHERE name = 'ripgrep') AND snapshot_id = (SELECT id FROM snapshots WHERE name = 'tested')`);
      refused(['promote', '--snapshot', 'tested'], /snapshot "tested" holds a revision of application "ripgrep" that the fleet no longer records; nothing was changed/);
      refused(['promote', '--snapshot', 'tested', '--dry-run'], /"ripgrep" that the fleet no longer records/);
      await tamper(store, `DELETE FROM apps WHERE name = 'bat'`);
      refused(['rollback', '--snapshot', 'latest'], /snapshot "latest" holds application "bat", which is no longer in the fleet; nothing was changed/);
      delete before.bat;
      assert.deepEqual(current(), before);
      assert.equal((await queuedEvents(store)).length, eventsNow);
    } finally {
      await store.dispose();
    }
  });
}
