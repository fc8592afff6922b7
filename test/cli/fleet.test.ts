import assert from 'node:assert/strict';
import { copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse } from 'smol-toml';
import { auditReport, type ReportFinding } from '../support/audit-report.js';
import { freshStore, storeSkips, STORE_KINDS, type TestStore } from '../support/fleet-stores.js';
import type { FleetApps } from '../support/fleet-report.js';
import { advisoryDbCheckout, CARGO_CORPUS, GHSA_NPM, NPM_CORPUS, PROJECT_ROOT, runCli, tempDir } from '../support/shared.js';

const cacheDir = tempDir('fleet-cache');
const RUSTSEC = advisoryDbCheckout();
const DATABASES = ['--db', RUSTSEC, '--db', GHSA_NPM];
const KANIDM = join(CARGO_CORPUS, 'kanidm-2024-02-01.Cargo.lock');
const JELLYFIN = join(NPM_CORPUS, 'jellyfin-web-2023-03-01.package-lock.json');
const ripgrep = (year: number): string => join(CARGO_CORPUS, `ripgrep-${year}-09-01.Cargo.lock`);

function fleetCli(store: TestStore) {
  return (...args: string[]) => runCli(['fleet', ...args, '--store', store.store], { cacheDir });
}

function auditFindings(path: string): ReportFinding[] {
  const r = runCli(['audit', path, ...DATABASES, '--format', 'json'], { cacheDir });
  assert.ok(r.status === 0 || r.status === 1, r.stderr);
  return auditReport(r.stdout).findings;
}

/** `name.Cargo.lock` (+ its Cargo.toml) in DIR, a copy of a corpus lockfile: an application named `name`. */
function placeCargoApp(dir: string, name: string, corpusLock: string): string {
  const lock = join(dir, `${name}.Cargo.lock`);
  copyFileSync(corpusLock, lock);
  copyFileSync(corpusLock.replace(/\.Cargo\.lock$/, '.Cargo.toml'), join(dir, `${name}.Cargo.toml`));
  return lock;
}

/** name -> versions a Cargo.lock locks, read here with a TOML parser, not stowage's reader. */
function lockedVersions(lockfile: string): Map<string, Set<string>> {
  const doc = parse(readFileSync(lockfile, 'utf8')) as { package: { name: string; version: string }[] };
  const out = new Map<string, Set<string>>();
  for (const p of doc.package) {
    if (!out.has(p.name)) out.set(p.name, new Set());
    out.get(p.name)?.add(p.version);
  }
  return out;
}

const skips = await storeSkips();

for (const kind of STORE_KINDS) {
  const skip = skips[kind];

  test(`fleet findings are stowage audit's for the same files and databases (${kind})`, { skip }, async () => {
    const store = await freshStore(kind);
    try {
      const fleet = fleetCli(store);
      const init = fleet('init', ...DATABASES);
      assert.equal(init.status, 0, init.stderr);
      const add = fleet('add', KANIDM, JELLYFIN, '--format', 'json');
      assert.equal(add.status, 1, add.stderr);
      const added = JSON.parse(add.stdout) as { apps: { name: string; change: string }[] };
      assert.deepEqual(added.apps.map((a) => [a.name, a.change]), [['kanidm-2024-02-01', 'added'], ['jellyfin-web-2023-03-01', 'added']]);
      for (const [name, path] of [['kanidm-2024-02-01', KANIDM], ['jellyfin-web-2023-03-01', JELLYFIN]] as const) {
        const show = fleet('show', name, '--format', 'json');
        assert.equal(show.status, 1, show.stderr);
        const shown = JSON.parse(show.stdout) as FleetApps;
        assert.equal(shown.apps.length, 1);
        const expected = auditFindings(path);
        assert.ok(expected.length > 10, `${name}: the audit finds something to compare`);
        assert.deepEqual(shown.apps[0]?.findings, expected, `${name}: fleet show lists exactly the audit's findings`);
      }
      const status = fleet('status', '--format', 'json');
      assert.equal(status.status, 1, 'a finding fails the policy: exit 1');
      assert.deepEqual((JSON.parse(status.stdout) as FleetApps).apps.map((a) => a.name), ['jellyfin-web-2023-03-01', 'kanidm-2024-02-01']);
    } finally {
      await store.dispose();
    }
  });

  test(`revisions: unchanged content records nothing, changed content a new revision; history, snapshots, diff (${kind})`, { skip }, async () => {
    const store = await freshStore(kind);
    const dir = tempDir('fleet-revisions');
    try {
      const fleet = fleetCli(store);
      assert.equal(fleet('init', ...DATABASES).status, 0);
      const lock = placeCargoApp(dir, 'rg', ripgrep(2019));
      const first = fleet('add', lock, '--format', 'json');
      assert.ok(first.status === 0 || first.status === 1, first.stderr);
      const rev1 = (JSON.parse(first.stdout) as { apps: { revision: string }[] }).apps[0]?.revision as string;
      assert.match(rev1, /^sha256:[0-9a-f]{64}$/);
      assert.equal(fleet('snapshot', 's1').status, 0);

      const again = fleet('add', lock, '--format', 'json');
      assert.deepEqual((JSON.parse(again.stdout) as { apps: { change: string; revision: string }[] }).apps.map((a) => [a.change, a.revision]), [['unchanged', rev1]]);

      placeCargoApp(dir, 'rg', ripgrep(2023));
      const second = fleet('add', lock, '--format', 'json');
      const changed = (JSON.parse(second.stdout) as { apps: { change: string; revision: string; seq: number }[] }).apps[0];
      assert.equal(changed?.change, 'changed');
      assert.equal(changed?.seq, 2);
      const rev2 = changed?.revision as string;
      assert.notEqual(rev2, rev1);
      assert.equal(fleet('snapshot', 's2', '--format', 'json').status, 0);

      const history = JSON.parse(fleet('history', 'rg', '--format', 'json').stdout) as { history: { action: string; revision: { id: string; documents: { name: string }[] }; previousRevision: string | null }[] };
      assert.deepEqual(
        history.history.map((h) => [h.action, h.revision.id, h.previousRevision]),
        [['added', rev1, null], ['added', rev2, rev1]],
        'history: one entry per revision recorded, the unchanged add none',
      );
      assert.deepEqual(history.history[0]?.revision.documents.map((d) => d.name), ['rg.Cargo.lock', 'rg.Cargo.toml']);

      // What changed, derived here from the two lockfiles and the two audits.
      const before = lockedVersions(ripgrep(2019));
      const after = lockedVersions(ripgrep(2023));
      const names = [...new Set([...before.keys(), ...after.keys()])].sort();
      const expectAdded = names.filter((n) => !before.has(n)).flatMap((n) => [...(after.get(n) ?? [])].sort().map((v) => `${n}@${v}`));
      const expectRemoved = names.filter((n) => !after.has(n)).flatMap((n) => [...(before.get(n) ?? [])].sort().map((v) => `${n}@${v}`));
      const expectChanged = names.filter((n) => before.has(n) && after.has(n) && [...(before.get(n) ?? [])].sort().join() !== [...(after.get(n) ?? [])].sort().join());
      const key = (f: ReportFinding): string => `${f.package.name}@${f.package.version} ${f.advisory.id}`;
      const oldFindings = new Set(auditFindings(ripgrep(2019)).map(key));
      const newFindings = new Set(auditFindings(ripgrep(2023)).map(key));
      const expectNew = [...newFindings].filter((k) => !oldFindings.has(k)).sort();
      const expectResolved = [...oldFindings].filter((k) => !newFindings.has(k)).sort();
      assert.ok(expectAdded.length + expectRemoved.length + expectChanged.length > 10 && expectResolved.length > 0, 'the two lockfiles differ enough to test');

      interface Diff { apps: { name: string; packages: { added: { name: string; version: string }[]; removed: { name: string; version: string }[]; changed: { name: string }[] }; findings: { new: ReportFinding[]; resolved: ReportFinding[] } }[] }
      const check = (diff: Diff): void => {
        assert.equal(diff.apps.length, 1);
        const app = diff.apps[0] as Diff['apps'][number];
        assert.equal(app.name, 'rg');
        assert.deepEqual(app.packages.added.map((p) => `${p.name}@${p.version}`), expectAdded);
        assert.deepEqual(app.packages.removed.map((p) => `${p.name}@${p.version}`), expectRemoved);
        assert.deepEqual(app.packages.changed.map((p) => p.name), expectChanged);
        assert.deepEqual(app.findings.new.map(key).sort(), expectNew);
        assert.deepEqual(app.findings.resolved.map(key).sort(), expectResolved);
      };
      const byRevision = fleet('diff', 'rg', rev1.slice(7, 19), rev2, '--format', 'json');
      assert.equal(byRevision.status, 0, byRevision.stderr);
      check(JSON.parse(byRevision.stdout) as Diff);
      const bySnapshot = fleet('diff', '--snapshots', 's1', 's2', '--format', 'json');
      assert.equal(bySnapshot.status, 0, bySnapshot.stderr);
      check(JSON.parse(bySnapshot.stdout) as Diff);
      // Written an application at a time, each advisory's text spliced in: the same text as the whole document.
      for (const r of [byRevision, bySnapshot]) assert.equal(r.stdout, `${JSON.stringify(JSON.parse(r.stdout), null, 2)}\n`);
      assert.ok(expectNew.length + expectResolved.length > 0, 'findings (and their advisories) in the diff');

      // What users mistype: one line, exit 2.
      for (const [args, message] of [
        [['show', 'nope'], /no application named "nope"/],
        [['diff', 'rg', rev1.slice(7, 18), rev2], /at least 12 hex digits/],
        [['diff', 'rg', '0123456789abcdef', rev2], /has no revision 0123456789abcdef/],
        [['diff', '--snapshots', 's1', 's3'], /no snapshot named "s3"/],
        [['snapshot', 's1'], /exists already/],
      ] as const) {
        const r = fleet(...args);
        assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
        assert.match(r.stderr, message);
        assert.equal(r.stderr.trimEnd().split('\n').length, 1, `${args.join(' ')}: one line`);
      }
    } finally {
      await store.dispose();
    }
  });

  test(`diff --snapshots: every application whose revision differs, in name order, each as its revisions' diff; one added since is all new (${kind})`, { skip }, async () => {
    const store = await freshStore(kind);
    const dir = tempDir('fleet-snapshot-diff');
    try {
      const fleet = fleetCli(store);
      assert.equal(fleet('init', ...DATABASES).status, 0);
      const locks = { 'b-rg': placeCargoApp(dir, 'b-rg', ripgrep(2019)), 'a-rg': placeCargoApp(dir, 'a-rg', ripgrep(2017)), 'c-same': placeCargoApp(dir, 'c-same', ripgrep(2020)) };
      const revisionOf = (r: ReturnType<typeof fleet>, name: string): string => {
        assert.ok(r.status === 0 || r.status === 1, r.stderr);
        return (JSON.parse(r.stdout) as { apps: { name: string; revision: string }[] }).apps.find((a) => a.name === name)?.revision as string;
      };
      const first = fleet('add', ...Object.values(locks), '--format', 'json');
      const before = { 'a-rg': revisionOf(first, 'a-rg'), 'b-rg': revisionOf(first, 'b-rg') };
      assert.equal(fleet('snapshot', 's1').status, 0);
      placeCargoApp(dir, 'a-rg', ripgrep(2023));
      placeCargoApp(dir, 'b-rg', ripgrep(2024));
      const added = placeCargoApp(dir, 'd-new', ripgrep(2021));
      const second = fleet('add', locks['a-rg'], locks['b-rg'], added, '--format', 'json');
      const after = { 'a-rg': revisionOf(second, 'a-rg'), 'b-rg': revisionOf(second, 'b-rg') };
      assert.equal(fleet('snapshot', 's2').status, 0);

      interface DiffApp { name: string; from: string | null; to: string | null; packages: { added: { name: string; version: string }[]; removed: unknown[]; changed: unknown[] }; findings: { new: ReportFinding[]; resolved: ReportFinding[] } }
      const diff = fleet('diff', '--snapshots', 's1', 's2', '--format', 'json');
      assert.equal(diff.status, 0, diff.stderr);
      assert.equal(diff.stdout, `${JSON.stringify(JSON.parse(diff.stdout), null, 2)}\n`, 'written a page at a time: the text of the whole document');
      const apps = (JSON.parse(diff.stdout) as { apps: DiffApp[] }).apps;
      assert.deepEqual(apps.map((a) => a.name), ['a-rg', 'b-rg', 'd-new'], 'the unchanged application is not listed');
      for (const name of ['a-rg', 'b-rg'] as const) {
        const own = fleet('diff', name, before[name], after[name], '--format', 'json');
        assert.equal(own.status, 0, own.stderr);
        assert.deepEqual(apps.find((a) => a.name === name), (JSON.parse(own.stdout) as { apps: DiffApp[] }).apps[0], `${name}: its revisions' diff`);
      }
      const fresh = apps[2] as DiffApp;
      assert.equal(fresh.from, null);
      const locked = [...lockedVersions(ripgrep(2021))].sort(([a], [b]) => (a < b ? -1 : 1)).flatMap(([n, vs]) => [...vs].sort().map((v) => `${n}@${v}`));
      assert.deepEqual(fresh.packages.added.map((p) => `${p.name}@${p.version}`), locked, 'everything it locks is added');
      assert.deepEqual([fresh.packages.removed, fresh.packages.changed, fresh.findings.resolved], [[], [], []]);
      const key = (f: ReportFinding): string => `${f.package.name}@${f.package.version} ${f.advisory.id}`;
      assert.deepEqual(fresh.findings.new.map(key).sort(), [...new Set(auditFindings(ripgrep(2021)).map(key))].sort(), 'its findings are all new');

      const text = fleet('diff', '--snapshots', 's1', 's2');
      assert.equal(text.status, 0, text.stderr);
      const heads = text.stdout.split('\n').filter((l) => /^\S/.test(l));
      assert.deepEqual(heads.map((l) => l.split(' ')[0]), ['diff', 'a-rg', 'b-rg', 'd-new']);
      assert.equal(fleet('diff', '--snapshots', 's2', 's2').stdout, 'diff s2 → s2\nno differences\n');
      assert.deepEqual((JSON.parse(fleet('diff', '--snapshots', 's2', 's2', '--format', 'json').stdout) as { apps: unknown[] }).apps, []);
    } finally {
      await store.dispose();
    }
  });

  test(`one bad application among several is reported as the audit reports it; the others are added (${kind})`, { skip }, async () => {
    const store = await freshStore(kind);
    try {
      const fleet = fleetCli(store);
      assert.equal(fleet('init', ...DATABASES).status, 0);
      const garbage = join(PROJECT_ROOT, 'test', 'fixtures', 'cargo', 'garbage.Cargo.lock');
      const audit = runCli(['audit', garbage, ...DATABASES], { cacheDir });
      assert.equal(audit.status, 2);
      const add = fleet('add', ripgrep(2019), garbage, ripgrep(2024));
      assert.equal(add.status, 2, add.stderr);
      const lines = add.stderr.trimEnd().split('\n');
      assert.ok(lines.includes(audit.stderr.trimEnd()), `the audit's own line:\n${audit.stderr}\nis among:\n${add.stderr}`);
      assert.equal(lines.at(-1), 'stowage: 1 of 3 applications not added: garbage');
      const status = JSON.parse(fleet('status', '--format', 'json').stdout) as FleetApps;
      assert.deepEqual(status.apps.map((a) => a.name), ['ripgrep-2019-09-01', 'ripgrep-2024-09-01']);
    } finally {
      await store.dispose();
    }
  });
}
