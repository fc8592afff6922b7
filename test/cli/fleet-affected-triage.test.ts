import assert from 'node:assert/strict';
import { copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse } from 'smol-toml';
import { loadVersionScheme } from '../../src/ecosystems/formats.js';
import { openFleetStore } from '../../src/fleet/store/open-store.js';
import { syncFleet } from '../../src/fleet/sync.js';
import { recordDecision } from '../../src/fleet/triage.js';
import { auditReport, type ReportFinding } from '../support/audit-report.js';
import { freshStore, storeSkips, STORE_KINDS, withStore, type TestStore } from '../support/fleet-stores.js';
import type { FleetApps } from '../support/fleet-report.js';
import { advisoryDbCheckout, CARGO_CORPUS, runCli, tempDir } from '../support/shared.js';

/**
 * `fleet affected` and `fleet triage` against references computed here: `stowage audit` of each
 * application (which apps an advisory affects, under any of its ids) and the lockfiles read with
 * a TOML parser (which apps lock a crate, at which versions).
 */

const cacheDir = tempDir('fleet-affected-cache');
const RUSTSEC = advisoryDbCheckout();
const APPS = ['kanidm-2022-08-01', 'kanidm-2023-08-01', 'kanidm-2024-08-01', 'ripgrep-2023-09-01'];
const appsDir = tempDir('fleet-affected-apps');
for (const name of APPS) {
  copyFileSync(join(CARGO_CORPUS, `${name}.Cargo.lock`), join(appsDir, `${name}.Cargo.lock`));
  copyFileSync(join(CARGO_CORPUS, `${name}.Cargo.toml`), join(appsDir, `${name}.Cargo.toml`));
}
const lockfile = (name: string): string => join(appsDir, `${name}.Cargo.lock`);

function audit(name: string): ReportFinding[] {
  const r = runCli(['audit', lockfile(name), '--db', RUSTSEC, '--format', 'json'], { cacheDir });
  assert.ok(r.status === 0 || r.status === 1, r.stderr);
  return auditReport(r.stdout).findings;
}

function lockedVersions(name: string, crate: string): string[] {
  const doc = parse(readFileSync(lockfile(name), 'utf8')) as { package: { name: string; version: string }[] };
  return doc.package.filter((p) => p.name === crate).map((p) => p.version).sort();
}

interface AffectedJson {
  apps: { name: string; packages: { name: string; version: string }[]; findings: ReportFinding[]; triage: { state: string; active: boolean; scope: string }[] }[];
}

const skips = await storeSkips();

/**
 * `fleet status`'s text as the JSON of `fleet status` says it should read: a line per
 * application, one per finding with its state after triage (error, ignored, warning). The text
 * is made from each finding's columns, package and advisory record, not from its row (FindingLine).
 */
function statusTextFromJson(json: string): string {
  const apps = (JSON.parse(json) as FleetApps & { apps: { revision: string; seq: number }[] }).apps;
  const lines: string[] = [];
  for (const a of apps) {
    const fails = a.findings.filter((f) => f.failsPolicy).length;
    const state = a.findings.length === 0 ? 'no advisories apply' : `${a.findings.length} finding${a.findings.length === 1 ? '' : 's'}${fails > 0 ? `, ${fails} failing` : ''}`;
    lines.push(`${a.name}  ${a.revision.slice(0, 19)} (revision ${a.seq})  ${state}`);
    for (const f of a.findings) lines.push(`  ${f.failsPolicy ? 'error' : f.ignored ? 'ignored' : 'warning'}: ${f.advisory.id} ${f.package.name} ${f.package.version} (${f.advisory.kind})`);
  }
  return lines.join('\n') + '\n';
}

function fleetCli(store: TestStore) {
  return (...args: string[]) => runCli(['fleet', ...args, '--store', store.store], { cacheDir });
}

for (const kind of STORE_KINDS) {
  test(`affected by an advisory (any alias) and by a package, then triage that follows the alias group (${kind})`, { skip: skips[kind] }, async () => {
    const store = await freshStore(kind);
    try {
      const fleet = fleetCli(store);
      assert.equal(fleet('init', '--db', RUSTSEC).status, 0);
      assert.equal(fleet('add', ...APPS.map(lockfile)).status, 1);
      assert.equal(fleet('sync').status, 1);
      const audits = new Map(APPS.map((name) => [name, audit(name)]));

      // The advisory: idna's Punycode label confusion, under its RustSec id and under its CVE.
      const id = 'RUSTSEC-2024-0421';
      const expectedApps = APPS.filter((name) => audits.get(name)?.some((f) => f.advisory.id === id)).sort();
      assert.ok(expectedApps.length >= 2, `${expectedApps.join(', ')}: several applications to find`);
      const cve = (audits.get(expectedApps[0] as string) ?? []).find((f) => f.advisory.id === id)?.advisory.aliases.find((a) => a.startsWith('CVE-')) as string;
      for (const query of [id, cve, cve.toLowerCase()]) {
        const r = fleet('affected', query, '--format', 'json');
        assert.equal(r.status, 0, r.stderr);
        const got = JSON.parse(r.stdout) as AffectedJson;
        assert.deepEqual(got.apps.map((a) => a.name), expectedApps, query);
        for (const app of got.apps) {
          assert.deepEqual(app.findings, audits.get(app.name)?.filter((f) => f.advisory.id === id), `${query} in ${app.name}: the audit's finding, paths and all`);
        }
      }

      // The package: every application locking idna, at the versions its lockfile holds.
      const lockers = APPS.filter((name) => lockedVersions(name, 'idna').length > 0).sort();
      const byName = JSON.parse(fleet('affected', 'idna', '--format', 'json').stdout) as AffectedJson;
      assert.deepEqual(byName.apps.map((a) => a.name), lockers);
      for (const app of byName.apps) assert.deepEqual(app.packages.map((p) => p.version), lockedVersions(app.name, 'idna'), app.name);
      const version = lockedVersions(lockers[0] as string, 'idna')[0] as string;
      const byVersion = JSON.parse(fleet('affected', `idna@${version}`, '--format', 'json').stdout) as AffectedJson;
      assert.deepEqual(byVersion.apps.map((a) => a.name), lockers.filter((name) => lockedVersions(name, 'idna').includes(version)));

      // An id no database or finding knows: one line, exit 2.
      const unknown = fleet('affected', 'RUSTSEC-1999-9999');
      assert.equal(unknown.status, 2);
      assert.equal(unknown.stderr.trim().split('\n').length, 1, unknown.stderr);
      assert.match(unknown.stderr, /no advisory "RUSTSEC-1999-9999"/);

      // An alias of an advisory the database has that affects no application: known, and no one
      // is affected (openssl's RUSTSEC-2018-0010 is CVE-2018-20997; none of these apps is affected).
      for (const name of APPS) assert.ok(!(audits.get(name) ?? []).some((f) => f.advisory.id === 'RUSTSEC-2018-0010'), name);
      const noneAffected = (query: string): void => {
        const r = fleet('affected', query, '--format', 'json');
        assert.equal(r.status, 0, `${query}: ${r.stderr}`);
        assert.deepEqual((JSON.parse(r.stdout) as AffectedJson).apps, [], query);
      };
      for (const query of ['RUSTSEC-2018-0010', 'CVE-2018-20997', 'ghsa-xjxc-vfw2-cg96']) noneAffected(query);
      // A store migrated from before the aliases were kept knows the ids only, until its next sync records the aliases.
      await withStore(store, (tx) => tx.run(`DELETE FROM advisory_aliases`));
      assert.equal(fleet('affected', 'CVE-2018-20997').status, 2);
      assert.equal(fleet('sync').status, 1);
      noneAffected('CVE-2018-20997');

      // Triage: a justification is required for not_affected; nothing is stored without it.
      const [first, second] = expectedApps as [string, string];
      const refused = fleet('triage', first, id, '--state', 'not_affected', '--reason', 'no IDN handling');
      assert.equal(refused.status, 2);
      assert.match(refused.stderr, /needs --justification/);
      // Decided under the CVE, it governs the RustSec finding of that application only.
      const decided = fleet('triage', first, cve, '--state', 'not_affected', '--justification', 'code_not_reachable', '--reason', 'no IDN handling', '--by', 'alice');
      assert.equal(decided.status, 0, decided.stderr);
      const shown = JSON.parse(fleet('show', first, '--format', 'json').stdout) as FleetApps & { apps: { triage: { state: string; by: string }[] }[] };
      const finding = shown.apps[0]?.findings.find((f) => f.advisory.id === id);
      assert.equal(finding?.failsPolicy, false);
      assert.deepEqual(finding?.ignored, { id, reason: 'not_affected: no IDN handling', expires: null, origin: 'fleet triage' });
      assert.deepEqual(shown.apps[0]?.triage.map((t) => [t.state, t.by]), [['not_affected', 'alice']]);
      const other = JSON.parse(fleet('show', second, '--format', 'json').stdout) as FleetApps;
      assert.equal(other.apps[0]?.findings.find((f) => f.advisory.id === id)?.ignored, null);
      // For the whole fleet, in triage: shown on every application, still failing.
      assert.equal(fleet('triage', '--all', id, '--state', 'in_triage', '--reason', 'looking', '--by', 'bob').status, 0);
      const after = JSON.parse(fleet('affected', id, '--format', 'json').stdout) as AffectedJson;
      // One decision shown per finding it governs; the application's own wins over the fleet's.
      assert.deepEqual(
        after.apps.map((a) => [a.name, [...new Set(a.triage.map((t) => `${t.state} ${t.scope}`))], a.triage.length === a.findings.length]),
        expectedApps.map((name) => [name, [name === first ? 'not_affected application' : 'in_triage fleet'], true]),
      );
      // `fleet status`'s text says of each finding what its JSON says, triage applied: ignored by
      // the settled decision, failing under the one in triage and where none governs.
      const statusJson = fleet('status', '--format', 'json').stdout;
      const text = fleet('status').stdout;
      assert.equal(text.slice(0, text.lastIndexOf('result: ')), statusTextFromJson(statusJson));
      assert.match(text, new RegExp(`\\n  ignored: ${id} idna `), 'the settled decision shows');
      // sync counts the findings that fail once triage is applied: those status shows failing.
      const shownFailing = (JSON.parse(fleet('status', '--format', 'json').stdout) as FleetApps).apps.flatMap((a) => a.findings).filter((f) => f.failsPolicy);
      const auditFailing = APPS.flatMap((name) => audits.get(name) ?? []).filter((f) => f.failsPolicy);
      assert.ok(shownFailing.length > 0 && shownFailing.length < auditFailing.length, `${shownFailing.length} of ${auditFailing.length}: the decision settles one`);
      const synced = fleet('sync', '--format', 'json');
      assert.ok(synced.status === 1, synced.stderr);
      assert.equal((JSON.parse(synced.stdout) as { summary: { failing: number } }).summary.failing, shownFailing.length);
      assert.equal(fleet('triage', 'no-such-app', id, '--state', 'in_triage', '--reason', 'x').status, 2);
      assert.equal(fleet('triage', first, 'RUSTSEC-1999-9999', '--state', 'in_triage', '--reason', 'x').status, 2);
    } finally {
      await store.dispose();
    }
  });
}

for (const kind of STORE_KINDS) {
  test(`an expired decision reopens its finding (it fails again), and the next sync reports it once (${kind})`, { skip: skips[kind] }, async () => {
    const store = await freshStore(kind);
    try {
      const fleet = fleetCli(store);
      assert.equal(fleet('init', '--db', RUSTSEC).status, 0);
      assert.equal(fleet('add', lockfile('kanidm-2023-08-01')).status, 1);
      const opened = await openFleetStore(store.store);
      try {
        const options = (day: string) => ({ cacheRoot: cacheDir, fetch: 'never' as const, now: new Date(`${day}T12:00:00Z`), by: 'test' });
        const before = await syncFleet(opened, options('2026-12-01'));
        const decided = await recordDecision(
          opened,
          { app: 'kanidm-2023-08-01', id: 'RUSTSEC-2024-0421', state: 'resolved', reason: 'patched downstream', justification: undefined, expires: '2026-12-10', package: undefined, by: 'alice', now: new Date('2026-12-01T12:00:00Z') },
          loadVersionScheme,
        );
        const governed = decided.apps[0]?.findings.filter((f) => f.advisory.id === 'RUSTSEC-2024-0421') ?? [];
        assert.ok(governed.length > 0 && governed.every((f) => !f.failsPolicy && f.ignored?.origin === 'fleet triage'));
        const sync = async (day: string): Promise<{ reopened: string[]; failing: number }> => {
          const outcome = await syncFleet(opened, options(day));
          return { reopened: outcome.changes.filter((c) => c.change === 'reopened').map((c) => `${c.app} ${c.finding.advisory.id} ${c.finding.package.version}`).sort(), failing: outcome.failing };
        };
        const held = await sync('2026-12-10');
        assert.deepEqual(held.reopened, [], 'still in force on its last day');
        assert.equal(held.failing, before.failing - governed.length, 'settled: those findings do not fail');
        const expected = governed.map((f) => `kanidm-2023-08-01 RUSTSEC-2024-0421 ${f.package.version}`).sort();
        const lapsed = await sync('2026-12-11');
        assert.deepEqual(lapsed.reopened, expected, 'expired since the last sync');
        assert.equal(lapsed.failing, before.failing, 'open again: they fail as before the decision');
        assert.deepEqual((await sync('2026-12-12')).reopened, [], 'reported once');
      } finally {
        await opened.close();
      }
    } finally {
      await store.dispose();
    }
  });
}
