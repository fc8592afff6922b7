import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse } from 'smol-toml';
import { readApplication } from '../../src/inputs/application.js';
import { encodeGraphs, revisionDigest, storedDocuments } from '../../src/fleet/revision.js';
import { openFleetStore } from '../../src/fleet/store/open-store.js';
import { requireApp, resolveRevision } from '../../src/fleet/lookup.js';
import { auditReport, type ReportFinding } from '../support/audit-report.js';
import { freshStore, queuedEvents, storeSkips, STORE_KINDS, type TestStore } from '../support/fleet-stores.js';
import { checkFleetJson, type FleetApps } from '../support/fleet-report.js';
import { advisoryDbCheckout, CARGO_CORPUS, runCli, tempDir } from '../support/shared.js';

/**
 * `fleet promote` and `fleet rollback`: which revision is current, as status, affected and
 * history show it; a campaign's candidate (recorded here through the store, as the campaign
 * engine records it) is not current until promoted, and is then evaluated as `stowage audit`
 * evaluates its files. `fleet add` and both commands post their event (same JSON as the
 * command) through the outbox.
 */

const cacheDir = tempDir('fleet-promote-cache');
const RUSTSEC = advisoryDbCheckout();
const skips = await storeSkips();

/** Puts a corpus lockfile and manifest into DIR (an application directory), replacing what was there. */
function writeApp(dir: string, corpusName: string): string {
  mkdirSync(dir, { recursive: true });
  copyFileSync(join(CARGO_CORPUS, `${corpusName}.Cargo.lock`), join(dir, 'Cargo.lock'));
  copyFileSync(join(CARGO_CORPUS, `${corpusName}.Cargo.toml`), join(dir, 'Cargo.toml'));
  return dir;
}

function locked(corpusName: string): Set<string> {
  const doc = parse(readFileSync(join(CARGO_CORPUS, `${corpusName}.Cargo.lock`), 'utf8')) as { package: { name: string; version: string }[] };
  return new Set(doc.package.map((p) => `${p.name}@${p.version}`));
}

function auditFindings(dir: string): ReportFinding[] {
  const r = runCli(['audit', dir, '--db', RUSTSEC, '--format', 'json'], { cacheDir });
  assert.ok(r.status === 0 || r.status === 1, r.stderr);
  return auditReport(r.stdout).findings;
}

interface CurrentChangeJson {
  app: string;
  action: string;
  changed: boolean;
  revision: string;
  seq: number;
  origin: string;
  previousRevision: string;
  previousSeq: number;
  reevaluated: boolean;
  findings: ReportFinding[];
}

interface HistoryJson {
  history: { action: string; revision: { id: string; origin: string }; previousRevision: string | null; by: string }[];
}

function fleetCli(store: TestStore) {
  return (...args: string[]) => runCli(['fleet', ...args, '--store', store.store], { cacheDir });
}

/** A candidate revision of `app` from the files in `dir`, recorded as a campaign does: beside the current one. */
async function recordCandidate(store: TestStore, app: string, dir: string): Promise<string> {
  const documents = ['Cargo.lock', 'Cargo.toml'].map((name) => ({ name, bytes: readFileSync(join(dir, name)) }));
  const { graphs } = await readApplication([dir]);
  const opened = await openFleetStore(store.store);
  try {
    return await opened.transaction(async (tx) => {
      const record = await tx.app(app);
      assert.ok(record);
      const { listed, contents } = storedDocuments(documents);
      await tx.putDocuments(contents);
      const revision = await tx.addRevision({
        appId: record.id,
        digest: revisionDigest(documents),
        origin: 'candidate',
        documents: listed,
        graph: encodeGraphs(graphs),
        evaluatedAgainst: {},
        at: new Date().toISOString(),
      });
      await tx.indexPackages(revision.id, graphs.flatMap((g) => g.packages.map((p) => ({ ecosystem: p.ecosystem, name: p.name, version: p.version }))));
      return revision.digest;
    });
  } finally {
    await opened.close();
  }
}

for (const kind of STORE_KINDS) {
  test(`promote a candidate, roll back and forth; status, affected and history follow; events queued (${kind})`, { skip: skips[kind] }, async () => {
    const store = await freshStore(kind);
    const dir = tempDir('fleet-promote-apps');
    try {
      const fleet = fleetCli(store);
      // A webhook nobody listens on: every event stays in the outbox, where the test reads it.
      assert.equal(fleet('init', '--db', RUSTSEC, '--webhook', 'http://127.0.0.1:9/hook').status, 0);
      const app = join(dir, 'ripgrep');
      assert.ok([0, 1].includes(fleet('add', writeApp(app, 'ripgrep-2021-09-01')).status));
      assert.ok([0, 1].includes(fleet('add', writeApp(app, 'ripgrep-2023-09-01')).status));
      const shown = (): FleetApps => JSON.parse(fleet('show', 'ripgrep', '--format', 'json').stdout) as FleetApps;
      const second = shown().apps[0]?.revision as string;
      const history = (): HistoryJson => JSON.parse(fleet('history', 'ripgrep', '--format', 'json').stdout) as HistoryJson;
      const first = history().history[0]?.revision.id as string;

      // A candidate recorded by a campaign is not current.
      const candidateDir = writeApp(join(dir, 'candidate'), 'ripgrep-2019-09-01');
      const candidate = await recordCandidate(store, 'ripgrep', candidateDir);
      assert.equal(shown().apps[0]?.revision, second);
      // A package only the candidate locks: no application embeds it until the candidate is promoted.
      const onlyCandidate = [...locked('ripgrep-2019-09-01')].find((p) => !locked('ripgrep-2023-09-01').has(p)) as string;
      const affectedBy = (query: string): string[] =>
        (JSON.parse(fleet('affected', query, '--format', 'json').stdout) as FleetApps).apps.map((a) => `${a.name} ${a.revision}`);
      assert.deepEqual(affectedBy(onlyCandidate), []);

      const promoted = fleet('promote', 'ripgrep', candidate.slice('sha256:'.length, 'sha256:'.length + 12), '--format', 'json', '--by', 'carol');
      assert.ok([0, 1].includes(promoted.status), promoted.stderr);
      const change = JSON.parse(promoted.stdout) as CurrentChangeJson;
      assert.deepEqual(
        [change.action, change.changed, change.revision, change.origin, change.previousRevision, change.reevaluated],
        ['promoted', true, candidate, 'candidate', second, true],
      );
      // Evaluated with the fleet's databases, as `stowage audit` evaluates the same files.
      const reference = auditFindings(candidateDir);
      assert.deepEqual(change.findings.map((f) => `${f.advisory.id} ${f.package.name} ${f.package.version}`).sort(), reference.map((f) => `${f.advisory.id} ${f.package.name} ${f.package.version}`).sort());
      assert.equal(promoted.status, reference.some((f) => f.failsPolicy) ? 1 : 0);
      assert.equal(shown().apps[0]?.revision, candidate);
      assert.deepEqual(affectedBy(onlyCandidate), [`ripgrep ${candidate}`]);
      const status = JSON.parse(fleet('status', '--format', 'json').stdout) as FleetApps;
      assert.deepEqual(status.apps.map((a) => `${a.name} ${a.revision}`), [`ripgrep ${candidate}`]);
      assert.deepEqual(history().history.at(-1), { ...history().history.at(-1), action: 'promoted', previousRevision: second, by: 'carol' });

      // Promoting the current revision again records nothing.
      const again = fleet('promote', 'ripgrep', candidate, '--format', 'json');
      assert.equal((JSON.parse(again.stdout) as CurrentChangeJson).changed, false);
      assert.equal(history().history.length, 3);

      // Rollback returns to the revision current before; twice comes back.
      const back = JSON.parse(fleet('rollback', 'ripgrep', '--format', 'json').stdout) as CurrentChangeJson;
      assert.deepEqual([back.action, back.revision, back.previousRevision, back.reevaluated], ['rolled-back', second, candidate, false]);
      assert.equal(shown().apps[0]?.revision, second);
      assert.deepEqual(affectedBy(onlyCandidate), []);
      assert.equal((JSON.parse(fleet('rollback', 'ripgrep', '--format', 'json').stdout) as CurrentChangeJson).revision, candidate);
      // An earlier revision by its digest, then back to the one current before it.
      assert.equal((JSON.parse(fleet('promote', 'ripgrep', first, '--format', 'json').stdout) as CurrentChangeJson).revision, first);
      assert.equal((JSON.parse(fleet('rollback', 'ripgrep', '--format', 'json').stdout) as CurrentChangeJson).revision, candidate);
      assert.deepEqual(
        history().history.map((e) => `${e.action} ${e.revision.id === first ? 1 : e.revision.id === second ? 2 : 'candidate'}`),
        ['added 1', 'added 2', 'promoted candidate', 'rolled-back 2', 'rolled-back candidate', 'promoted 1', 'rolled-back candidate'],
      );

      // Bad input: one line, exit 2, nothing recorded.
      assert.ok([0, 1].includes(fleet('add', writeApp(join(dir, 'fd'), 'ripgrep-2018-09-01')).status));
      const refusals: [string[], RegExp][] = [
        [['rollback', 'nope'], /no application named "nope"/],
        [['promote', 'nope', first], /no application named "nope"/],
        [['promote', 'ripgrep', 'abcdefabcdef'], /has no revision abcdefabcdef/],
        [['promote', 'ripgrep', 'xyz'], /expected sha256:HEX/],
        [['promote', 'ripgrep'], /give APP REVISION, or --snapshot NAME/],
        [['rollback', 'fd'], /"fd" has nothing to roll back to/],
      ];
      for (const [args, message] of refusals) {
        const r = fleet(...args);
        assert.equal(r.status, 2, args.join(' '));
        assert.match(r.stderr, message, args.join(' '));
        assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      }
      assert.equal(history().history.length, 7);

      // The events: one per add that changed findings, one per promotion and rollback that changed
      // the current revision (none for the no-op), each the command's own JSON.
      const events = await queuedEvents(store);
      assert.deepEqual(events.map((e) => e.type), ['add', 'add', 'promote', 'rollback', 'rollback', 'promote', 'rollback', 'add']);
      for (const e of events) {
        const { valid, errors } = checkFleetJson(e.type === 'add' ? 'fleet-add' : 'fleet-promote', e.body);
        assert.ok(valid, `${e.type}: ${errors}`);
      }
      assert.deepEqual(events[2]?.body, { ...change, findings: events[2]?.body.findings }, 'the promote event is the command\'s JSON');
      assert.deepEqual(events[2]?.body.findings, change.findings);
    } finally {
      await store.dispose();
    }
  });
}

test('an add that changes no findings posts no event', async () => {
  const store = await freshStore('sqlite');
  const dir = tempDir('fleet-promote-quiet');
  try {
    const fleet = fleetCli(store);
    assert.equal(fleet('init', '--db', RUSTSEC, '--webhook', 'http://127.0.0.1:9/hook').status, 0);
    const app = writeApp(join(dir, 'ripgrep'), 'ripgrep-2023-09-01');
    const findings = auditFindings(app);
    assert.ok(findings.length > 0, 'an application with findings: its first add changes them');
    assert.ok([0, 1].includes(fleet('add', app).status));
    assert.equal((await queuedEvents(store)).length, 1);
    // The same content again: unchanged, nothing recorded, no event.
    assert.ok([0, 1].includes(fleet('add', app).status));
    // Another revision with the same findings (a comment added to the manifest).
    const manifest = readFileSync(join(app, 'Cargo.toml'), 'utf8');
    writeFileSync(join(app, 'Cargo.toml'), `${manifest}\n# a comment\n`);
    const changed = JSON.parse(fleet('add', app, '--format', 'json').stdout) as { apps: { change: string }[] };
    assert.equal(changed.apps[0]?.change, 'changed');
    const events = await queuedEvents(store);
    assert.deepEqual(events.map((e) => e.type), ['add']);
    assert.deepEqual((events[0]?.body.apps as { name: string; change: string }[]).map((a) => [a.name, a.change]), [['ripgrep', 'added']]);
  } finally {
    await store.dispose();
  }
});

/** Records on the store that a campaign rebuilt `app`'s revision `rebuilt` into the candidate `candidate` (both digests), as the campaign engine records it. */
async function recordCampaignCandidate(store: TestStore, app: string, rebuilt: string, candidate: string): Promise<void> {
  const opened = await openFleetStore(store.store);
  try {
    await opened.transaction(async (tx) => {
      const record = await requireApp(tx, app);
      const from = await resolveRevision(tx, record, rebuilt);
      const into = await resolveRevision(tx, record, candidate);
      const at = new Date().toISOString();
      const campaign = await tx.campaigns.create({ advisoryId: 'RUSTSEC-2099-0001', aliases: [], publish: true, sandbox: 'none', createdAt: at, by: 'test' });
      await tx.campaigns.addApps(campaign.id, [{ appId: record.id, revisionId: from.id, state: 'planned' }], at);
      assert.ok(await tx.campaigns.begin(campaign.id, record.id, 'attempt-1', at));
      assert.ok(await tx.campaigns.finish(campaign.id, record.id, 'attempt-1', { state: 'candidate', step: null, blockedBy: null, log: null, fix: [], candidateRevisionId: into.id }, at));
    });
  } finally {
    await opened.close();
  }
}

for (const kind of STORE_KINDS) {
  test(`promoting a candidate built from an earlier revision than the current one warns that the current one's changes are left out (${kind})`, { skip: skips[kind] }, async () => {
    const store = await freshStore(kind);
    const dir = tempDir('fleet-promote-built-from');
    try {
      const fleet = fleetCli(store);
      assert.equal(fleet('init', '--db', RUSTSEC).status, 0);
      const app = join(dir, 'ripgrep');
      assert.ok([0, 1].includes(fleet('add', writeApp(app, 'ripgrep-2021-09-01')).status));
      const history = (): HistoryJson => JSON.parse(fleet('history', 'ripgrep', '--format', 'json').stdout) as HistoryJson;
      const rebuilt = history().history[0]?.revision.id as string;
      // The campaign rebuilt revision 1 into its candidate (revision 2); revision 3 was added since.
      const candidate = await recordCandidate(store, 'ripgrep', writeApp(join(dir, 'candidate'), 'ripgrep-2019-09-01'));
      await recordCampaignCandidate(store, 'ripgrep', rebuilt, candidate);
      assert.ok([0, 1].includes(fleet('add', writeApp(app, 'ripgrep-2023-09-01')).status));

      const promoted = fleet('promote', 'ripgrep', candidate, '--format', 'json');
      assert.ok([0, 1].includes(promoted.status), promoted.stderr);
      assert.equal((JSON.parse(promoted.stdout) as CurrentChangeJson).revision, candidate, 'promoted all the same: an earlier revision may be made current');
      assert.equal(
        promoted.stderr,
        'stowage: warning: candidate revision 2 of "ripgrep" was built from revision 1, not from revision 3, current until now: what revision 3 changes is not in it (`stowage fleet rollback ripgrep` makes revision 3 current again)\n',
      );

      // Promoted in place of the very revision it rebuilt: nothing to say.
      assert.ok([0, 1].includes(fleet('promote', 'ripgrep', rebuilt).status));
      const again = fleet('promote', 'ripgrep', candidate);
      assert.ok([0, 1].includes(again.status), again.stderr);
      assert.equal(again.stderr, '');
    } finally {
      await store.dispose();
    }
  });
}
