import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { basename, join } from 'node:path';
import { test } from 'node:test';
import type { ReportFinding } from '../support/audit-report.js';
import { freshStore, storeSkips, STORE_KINDS, type TestStore } from '../support/fleet-stores.js';
import type { FleetApps, FleetAppsSummary } from '../support/fleet-report.js';
import { recordEvent } from '../../src/fleet/events.js';
import { api, asServed, checkAgainstOpenApi, eventStream, startServer, type Answer, type TestServer } from '../support/fleet-server.js';
import { sendPush } from '../../src/cli/fleet/push.js';
import { advisoryDbCheckout, CARGO_CORPUS, runCliAsync, tempDir } from '../support/shared.js';
import { FIXTURE_TIME } from '../support/advisory-fixtures.js';

/**
 * The fleet server's API over real HTTP on both stores: every answer is the command line's
 * `--format json` for the same question (asked of the same store by `stowage fleet ...`), every
 * JSON answer matches the OpenAPI document the server serves, and uploads go through `fleet add`.
 */

const cacheDir = tempDir('server-api-cache');
const RUSTSEC = advisoryDbCheckout();
const APPS = ['kanidm-2022-08-01', 'kanidm-2023-08-01', 'ripgrep-2023-09-01'];
const appsDir = tempDir('server-api-apps');
for (const name of APPS) copyFileSync(join(CARGO_CORPUS, `${name}.Cargo.lock`), join(appsDir, `${name}.Cargo.lock`));

/** A directory holding one corpus lockfile as Cargo.lock (what a CI job has). */
function checkout(corpusName: string): string {
  const dir = tempDir('server-api-checkout');
  copyFileSync(join(CARGO_CORPUS, `${corpusName}.Cargo.lock`), join(dir, 'Cargo.lock'));
  copyFileSync(join(CARGO_CORPUS, `${corpusName}.Cargo.toml`), join(dir, 'Cargo.toml'));
  return dir;
}

function lockfileForm(corpusName: string, fileName = 'Cargo.lock'): FormData {
  const form = new FormData();
  form.append('document', new Blob([readFileSync(join(CARGO_CORPUS, `${corpusName}.Cargo.lock`))]), fileName);
  return form;
}

/** An OSV database (a directory) with one advisory, about left-pad before 9.0.0. */
function npmAdvisoryDb(root: string, summary = 'Made up'): string {
  writeFileSync(
    join(root, 'GHSA-0000-0000-0002.json'),
    JSON.stringify({
      schema_version: '1.3.0',
      id: 'GHSA-0000-0000-0002',
      modified: FIXTURE_TIME,
      published: FIXTURE_TIME,
      summary,
      details: 'Made up.',
      affected: [{ package: { ecosystem: 'npm', name: 'left-pad' }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '9.0.0' }] }] }],
    }),
  );
  return root;
}

interface Page {
  limit: number;
  offset: number;
  total: number;
  next: number | null;
}
type AppsList = FleetApps & { page: Page };
type SummaryList = FleetAppsSummary & { page: Page & { nextAfter: string | null } };

const LEVELS = ['critical', 'high', 'medium', 'low', 'none', 'unscored', 'informational'];

/** What the summary form must say of an application, counted from its full findings: open ones by level, failing ones. */
function countedFrom(app: FleetApps['apps'][number]): { open: Record<string, number>; failing: number; failsPolicy: boolean } {
  const open = Object.fromEntries(LEVELS.map((l) => [l, 0]));
  for (const f of app.findings) {
    if (f.ignored !== null) continue;
    const level = f.advisory.kind !== 'vulnerability' ? 'informational' : (f.advisory.severity?.level ?? 'unscored');
    open[level] = (open[level] ?? 0) + 1;
  }
  const failing = app.findings.filter((f) => f.failsPolicy).length;
  return { open, failing, failsPolicy: failing > 0 };
}

const countsOf = (s: SummaryList['apps'][number]): ReturnType<typeof countedFrom> => ({ open: s.open, failing: s.failing, failsPolicy: s.failsPolicy });
interface AffectedList {
  query: unknown;
  apps: { name: string; findings: ReportFinding[]; packages: { version: string }[] }[];
  page: Page;
}
interface Pushed {
  apps: { name: string; change: string; revision: string; seq: number; findings: ReportFinding[] }[];
}
interface History {
  history: { by: string; revision: { id: string; origin: string } }[];
  page: Page;
}
interface TriageAnswer {
  decision: { scope: string; by: string; state: string };
  apps: { name: string }[];
}

const skips = await storeSkips();

/** The command line, without blocking this process: the server under test answers from this same event loop. */
function fleetCli(store: TestStore) {
  return (...args: string[]) => runCliAsync(['fleet', ...args, '--store', store.store], { cacheDir });
}

const json = <T>(text: string): T => asServed<T>(text, [RUSTSEC]);
const withoutPage = <T extends { page?: unknown }>(body: T): Omit<T, 'page'> => {
  const { page: _page, ...rest } = body;
  return rest;
};

async function withFleet(kind: (typeof STORE_KINDS)[number], work: (fleet: ReturnType<typeof fleetCli>, store: TestStore) => Promise<void>): Promise<void> {
  const store = await freshStore(kind);
  try {
    const fleet = fleetCli(store);
    assert.equal((await fleet('init', '--db', RUSTSEC)).status, 0);
    assert.equal((await fleet('add', ...APPS.map((a) => join(appsDir, `${a}.Cargo.lock`)))).status, 1);
    assert.equal((await fleet('sync')).status, 1);
    await work(fleet, store);
  } finally {
    await store.dispose();
  }
}

for (const kind of STORE_KINDS) {
  test(`every endpoint answers what the command line prints, paged in the store (${kind})`, { skip: skips[kind] }, async () => {
    await withFleet(kind, async (fleet, store) => {
      const status = json<FleetApps>((await fleet('status', '--format', 'json')).stdout);
      const show = json<FleetApps>((await fleet('show', 'kanidm-2023-08-01', '--format', 'json')).stdout);
      const history = json<History>((await fleet('history', 'kanidm-2023-08-01', '--format', 'json')).stdout);
      const affected = json<AffectedList>((await fleet('affected', 'RUSTSEC-2024-0421', '--format', 'json')).stdout);
      const byPackage = json<AffectedList>((await fleet('affected', 'idna', '--format', 'json')).stdout);
      const unknown = await fleet('affected', 'RUSTSEC-2099-0001');
      const server: TestServer = await startServer(store.store, cacheDir);
      try {
        const token = await server.token('ci');

        // The fleet, whole and a page at a time: by default its summary (fleet status --summary), with ?view=full its findings (fleet status).
        const summaryRun = await fleet('status', '--summary', '--format', 'json');
        const summary = json<FleetAppsSummary>(summaryRun.stdout);
        const human = await fleet('status', '--summary');
        assert.deepEqual([summaryRun.status, human.status], [1, 1], 'a failing application: exit 1, as fleet status');
        for (const a of summary.apps) {
          const line = human.stdout.split('\n').find((l) => l.startsWith(`${a.name}  `)) ?? '';
          assert.match(line, new RegExp(`\\(revision ${a.seq}\\).*${a.failing > 0 ? `${a.failing} failing` : ''}`), `${a.name}: one line`);
        }
        const summarized = await api<SummaryList>(server, 'GET', '/apps', { token });
        assert.equal(summarized.status, 200);
        assert.deepEqual(withoutPage(summarized.body), summary);
        assert.deepEqual(summarized.body.page, { limit: 50, offset: 0, total: 3, next: null, nextAfter: null });
        assert.deepEqual(summary.apps.map((a) => [a.name, a.revision, a.seq]), status.apps.map((a) => [a.name, a.revision, a.seq]));
        assert.deepEqual(summary.apps.map(countsOf), status.apps.map(countedFrom), 'the stored counts are the findings\' counts');
        assert.ok(summary.apps.some((a) => a.failsPolicy && (a.open.high ?? 0) + (a.open.critical ?? 0) > 0), 'a fleet with something to count');
        const byName = await api<SummaryList>(server, 'GET', '/apps?limit=2', { token });
        assert.deepEqual(byName.body.page, { limit: 2, offset: 0, total: 3, next: 2, nextAfter: summary.apps[1]?.name ?? '' });
        const afterIt = await api<SummaryList>(server, 'GET', `/apps?limit=2&after=${encodeURIComponent(byName.body.page.nextAfter ?? '')}`, { token });
        assert.deepEqual(afterIt.body.page, { limit: 2, offset: 2, total: 3, next: null, nextAfter: null });
        assert.deepEqual([...byName.body.apps, ...afterIt.body.apps], summary.apps);
        const all = await api<AppsList>(server, 'GET', '/apps?view=full', { token });
        assert.equal(all.status, 200);
        assert.deepEqual(all.body.apps, status.apps);
        assert.deepEqual(all.body.page, { limit: 50, offset: 0, total: 3, next: null });
        const first = await api<AppsList>(server, 'GET', '/apps?view=full&limit=2', { token });
        assert.deepEqual(first.body.page, { limit: 2, offset: 0, total: 3, next: 2 });
        const second = await api<AppsList>(server, 'GET', `/apps?view=full&limit=2&offset=${first.body.page.next}`, { token });
        assert.deepEqual(second.body.page, { limit: 2, offset: 2, total: 3, next: null });
        assert.deepEqual([...first.body.apps, ...second.body.apps], status.apps);

        // Filters, against the command line's findings (no triage yet: as evaluated).
        const severe = status.apps.filter((a) => a.findings.some((f) => ['high', 'critical'].includes(f.advisory.severity?.level ?? ''))).map((a) => a.name);
        assert.ok(severe.length > 0 && severe.length < 3, `${severe.join(', ')}: a filter that keeps some`);
        for (const view of ['summary', 'full']) {
          assert.deepEqual((await api<AppsList>(server, 'GET', `/apps?view=${view}&severity=high`, { token })).body.apps.map((a) => a.name), severe);
          const failing = status.apps.filter((a) => a.findings.some((f) => f.failsPolicy)).map((a) => a.name);
          assert.deepEqual((await api<AppsList>(server, 'GET', `/apps?view=${view}&state=failing`, { token })).body.apps.map((a) => a.name), failing);
          const warned = status.apps.filter((a) => a.findings.some((f) => !f.failsPolicy && f.ignored === null)).map((a) => a.name);
          assert.deepEqual((await api<AppsList>(server, 'GET', `/apps?view=${view}&state=warning`, { token })).body.apps.map((a) => a.name), warned);
          assert.deepEqual((await api<AppsList>(server, 'GET', `/apps?view=${view}&q=KANIDM`, { token })).body.apps.map((a) => a.name), ['kanidm-2022-08-01', 'kanidm-2023-08-01']);
        }
        // A full page carries every finding: at most 100 applications, for every client; the summary keeps 500.
        const tooFull = await api<{ error: string }>(server, 'GET', '/apps?view=full&limit=101', { token });
        assert.deepEqual([tooFull.status, tooFull.body.error], [400, '?limit=101: expected a whole number from 1 to 100 (a ?view=full page holds at most 100 applications)']);
        assert.equal((await api(server, 'GET', '/apps?view=full&limit=100', { token })).status, 200);
        assert.equal((await api(server, 'GET', '/apps?limit=500', { token })).status, 200);
        for (const bad of ['/apps?limit=0', '/apps?limit=501', '/apps?offset=-1', '/apps?state=open', '/apps?severity=urgent', '/apps?view=brief', '/apps?view=full&after=a', '/apps?after=a&offset=1', '/apps?after=']) {
          assert.equal((await api(server, 'GET', bad, { token })).status, 400, bad);
        }

        // One application, its history; an unknown one is a 404 whose line points at the API, where the command line's points at a command.
        assert.deepEqual((await api<FleetApps>(server, 'GET', '/apps/kanidm-2023-08-01', { token })).body, show);
        const got = await api<History>(server, 'GET', '/apps/kanidm-2023-08-01/history', { token });
        assert.deepEqual(withoutPage(got.body), history);
        const missing = await api(server, 'GET', '/apps/nope', { token });
        assert.equal(missing.status, 404);
        assert.equal(missing.body.error, 'no application named "nope" in the fleet (see GET /api/v1/apps)');
        assert.equal((await fleet('show', 'nope')).stderr, 'stowage: no application named "nope" in the fleet (see stowage fleet status)\n');
        const noTriage = await api(server, 'POST', '/apps/nope/triage', { token, body: JSON.stringify({ id: 'RUSTSEC-2024-0421', state: 'in_triage', reason: 'r' }), headers: { 'content-type': 'application/json' } });
        assert.deepEqual([noTriage.status, noTriage.body.error], [404, 'no application named "nope" in the fleet (see GET /api/v1/apps)']);
        const noRevision = await api(server, 'GET', '/apps/kanidm-2023-08-01?revision=0123456789ab', { token });
        assert.deepEqual([noRevision.status, noRevision.body.error], [404, 'application "kanidm-2023-08-01" has no revision 0123456789ab (see GET /api/v1/apps/kanidm-2023-08-01/history)']);

        // "Are we affected?", under the advisory's id and its CVE; who embeds idna.
        const byId = await api<AffectedList>(server, 'GET', '/advisories/RUSTSEC-2024-0421/affected', { token });
        assert.deepEqual(withoutPage(byId.body), affected);
        assert.ok(byId.body.apps.length >= 1);
        const cve = byId.body.apps[0]?.findings[0]?.advisory.aliases.find((a) => a.startsWith('CVE-')) as string;
        assert.deepEqual((await api<AffectedList>(server, 'GET', `/advisories/${cve}/affected`, { token })).body.apps, json<AffectedList>((await fleet('affected', cve, '--format', 'json')).stdout).apps);
        const paged = await api<AffectedList>(server, 'GET', '/advisories/RUSTSEC-2024-0421/affected?limit=1', { token });
        assert.deepEqual(paged.body.apps, affected.apps.slice(0, 1));
        assert.equal(paged.body.page.total, affected.apps.length);
        const none = await api(server, 'GET', '/advisories/RUSTSEC-2099-0001/affected', { token });
        assert.equal(none.status, 404);
        assert.equal(`stowage: ${none.body.error}\n`, unknown.stderr);
        assert.deepEqual(withoutPage((await api<AffectedList>(server, 'GET', '/packages/cargo/idna', { token })).body), byPackage);
        const oneVersion = byPackage.apps[0]?.packages[0]?.version as string;
        const atVersion = await api<AffectedList>(server, 'GET', `/packages/cargo/idna?version=${oneVersion}`, { token });
        assert.ok(atVersion.body.apps.every((a) => a.packages.every((p) => p.version === oneVersion)) && atVersion.body.apps.length > 0);
        assert.equal((await api<AffectedList>(server, 'GET', '/packages/npm/idna', { token })).body.apps.length, 0, 'idna is a crate');

        // A push: the same findings as `stowage audit` of that lockfile, recorded by the token's name.
        const ci = checkout('kanidm-2024-08-01');
        const audit = await runCliAsync(['audit', 'Cargo.lock', '--db', RUSTSEC, '--format', 'json'], { cacheDir, cwd: ci });
        assert.equal(audit.status, 1, audit.stderr);
        const pushed = await api<Pushed>(server, 'POST', '/apps/kanidm-2023-08-01/revisions', { token, body: lockfileForm('kanidm-2024-08-01') });
        assert.equal(pushed.status, 201);
        assert.equal(pushed.body.apps[0]?.change, 'changed');
        assert.equal(pushed.body.apps[0]?.seq, 2);
        assert.deepEqual(pushed.body.apps[0]?.findings, json<{ findings: ReportFinding[] }>(audit.stdout).findings);
        const again = await api<Pushed>(server, 'POST', '/apps/kanidm-2023-08-01/revisions', { token, body: lockfileForm('kanidm-2024-08-01') });
        assert.equal(again.status, 200);
        assert.equal(again.body.apps[0]?.change, 'unchanged');
        const after = (await api<History>(server, 'GET', '/apps/kanidm-2023-08-01/history', { token })).body;
        assert.deepEqual(after.history.map((h) => [h.by, h.revision.origin]), [[history.history[0]?.by, 'add'], ['ci', 'push']]);
        const [from, to] = after.history.map((h) => h.revision.id) as [string, string];
        const diff = await api(server, 'GET', `/apps/kanidm-2023-08-01/diff?from=${from}&to=${to.slice(7, 19)}`, { token });
        assert.deepEqual(diff.body, json((await fleet('diff', 'kanidm-2023-08-01', from, to, '--format', 'json')).stdout));
        assert.equal((await api(server, 'GET', '/apps/kanidm-2023-08-01/diff', { token })).status, 400);

        // Export: the same bytes as `stowage fleet export` of that revision (SBOMs are dated by the revision).
        for (const format of ['cyclonedx', 'spdx'] as const) {
          const exported = await api<string>(server, 'GET', `/apps/kanidm-2023-08-01/export?format=${format}&revision=${from}`, { token });
          assert.equal(exported.status, 200);
          assert.match(exported.headers.get('content-type') ?? '', format === 'spdx' ? /^application\/spdx\+json/ : /^application\/vnd\.cyclonedx\+json/);
          assert.equal(exported.body, (await fleet('export', 'kanidm-2023-08-01', '--format', format, '--revision', from)).stdout);
        }
        const vex = await api<string>(server, 'GET', '/apps/kanidm-2023-08-01/export?format=vex', { token });
        assert.equal(vex.status, 200);
        assert.ok((JSON.parse(vex.body) as { vulnerabilities?: unknown[] }).vulnerabilities?.length, 'the VEX states the findings');
        assert.equal((await api(server, 'GET', '/apps/kanidm-2023-08-01/export?format=pdf', { token })).status, 400);
        assert.equal((await api(server, 'GET', '/apps/no-such-app/export?format=vex', { token })).status, 404);
        assert.equal((await api(server, 'GET', '/apps/kanidm-2023-08-01/export?format=vex')).status, 401);

        // A CycloneDX SBOM as the body.
        const rg = checkout('ripgrep-2024-09-01');
        const sbom = await runCliAsync(['sbom', 'Cargo.lock', '--no-licenses'], { cacheDir, cwd: rg });
        assert.equal(sbom.status, 0, sbom.stderr);
        writeFileSync(join(rg, 'app.cdx.json'), sbom.stdout);
        const sbomAudit = await runCliAsync(['audit', 'app.cdx.json', '--db', RUSTSEC, '--format', 'json'], { cacheDir, cwd: rg });
        assert.ok(sbomAudit.status === 0 || sbomAudit.status === 1, sbomAudit.stderr);
        const fromSbom = await api<Pushed>(server, 'POST', '/apps/from-sbom/revisions', { token, body: sbom.stdout, headers: { 'content-type': 'application/vnd.cyclonedx+json' } });
        assert.equal(fromSbom.status, 201, JSON.stringify(fromSbom.body));
        assert.deepEqual(
          fromSbom.body.apps[0]?.findings.map((f) => [f.advisory.id, f.package.name, f.package.version]),
          json<{ findings: ReportFinding[] }>(sbomAudit.stdout).findings.map((f) => [f.advisory.id, f.package.name, f.package.version]),
        );

        // Sync on demand, and triage (application and fleet scope), recorded by the token's name.
        assert.equal((await api(server, 'POST', '/sync', { token })).status, 200);
        const decided = await api<TriageAnswer>(server, 'POST', '/apps/kanidm-2022-08-01/triage', {
          token,
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ id: cve, state: 'not_affected', justification: 'code_not_reachable', reason: 'no IDN host names are parsed' }),
        });
        assert.equal(decided.status, 201);
        assert.deepEqual([decided.body.decision.scope, decided.body.decision.by], ['application', 'ci']);
        const triaged = (await api<FleetApps & { apps: { triage: { by: string; state: string }[] }[] }>(server, 'GET', '/apps/kanidm-2022-08-01', { token })).body;
        const settled = triaged.apps[0]?.findings.filter((f) => f.advisory.id === 'RUSTSEC-2024-0421') ?? [];
        assert.ok(settled.length > 0 && settled.every((f) => f.ignored?.origin === 'fleet triage' && !f.failsPolicy));
        assert.ok(triaged.apps[0]?.triage.some((n) => n.by === 'ci' && n.state === 'not_affected'));
        assert.deepEqual(triaged, json((await fleet('show', 'kanidm-2022-08-01', '--format', 'json')).stdout), 'the command line sees the decision');
        // The summary counts what is still open once triaged: the settled findings are off its counts, on both sides.
        const summaryNow = (await api<SummaryList>(server, 'GET', '/apps?q=kanidm-2022', { token })).body.apps[0];
        const fullNow = (await api<AppsList>(server, 'GET', '/apps?view=full&q=kanidm-2022', { token })).body.apps[0];
        const summaryBefore = summary.apps.find((a) => a.name === 'kanidm-2022-08-01');
        assert.ok(summaryNow && fullNow && summaryBefore);
        assert.deepEqual(countsOf(summaryNow), countedFrom(fullNow));
        const openOf = (s: SummaryList['apps'][number]): number => Object.values(s.open).reduce((a, b) => a + b, 0);
        assert.equal(openOf(summaryNow), openOf(summaryBefore) - settled.length, 'the settled findings are no longer open');
        assert.deepEqual(json<FleetAppsSummary>((await fleet('status', '--summary', '--format', 'json')).stdout).apps.find((a) => a.name === 'kanidm-2022-08-01'), summaryNow);
        const fleetWide = await api<TriageAnswer>(server, 'POST', '/triage', {
          token,
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ id: 'RUSTSEC-2024-0421', state: 'in_triage', reason: 'looking into it' }),
        });
        assert.equal(fleetWide.status, 201);
        assert.equal(fleetWide.body.decision.scope, 'fleet');
        // The same checks as the command line's, each naming what an API client sent: its JSON body's field, not an option.
        const refusedTriage = async (body: Record<string, string>): Promise<string> => {
          const answer = await api(server, 'POST', '/apps/kanidm-2022-08-01/triage', { token, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id: cve, ...body }) });
          assert.equal(answer.status, 400, JSON.stringify(body));
          assert.doesNotMatch(answer.body.error ?? '', /--/, 'no command-line option is named to an HTTP client');
          return answer.body.error ?? '';
        };
        assert.equal(await refusedTriage({ state: 'in_triage' }), 'field "reason" is required: say why, for whoever reads the decision later');
        assert.equal((await fleet('triage', 'kanidm-2022-08-01', cve, '--state', 'in_triage')).stderr, 'stowage: --reason is required: say why, for whoever reads the decision later\n');
        assert.match(await refusedTriage({ reason: 'x' }), /^field "state" is required: one of resolved, /);
        assert.match(await refusedTriage({ state: 'not_affected', reason: 'x' }), /^field "state" not_affected needs field "justification" \(one of code_not_present, /);
        assert.match(await refusedTriage({ state: 'not_affected', justification: 'because', reason: 'x' }), /^field "justification" "because" is not one of /);
        assert.equal(await refusedTriage({ state: 'in_triage', reason: 'x', expires: 'soon' }), 'field "expires" "soon" is not a date (YYYY-MM-DD)');
        assert.equal(await refusedTriage({ state: 'in_triage', reason: 'x', package: 'idna@' }), 'field "package" "idna@": expected NAME or NAME@RANGE');
        assert.match(await refusedTriage({ state: 'in_triage', reason: 'x', package: 'idna@>>1' }), /^field "package" range ">>1" cannot be read: /);
        const openapi = await api<{ openapi: string; paths: Record<string, { get: { parameters: { name: string; description: string }[] } }> }>(server, 'GET', '/openapi.json');
        assert.equal(openapi.body.openapi, '3.1.0');
        const appsLimit = openapi.body.paths['/apps']?.get.parameters.find((p) => p.name === 'limit');
        assert.equal(appsLimit?.description, 'items per page, 1 to 500 (default 50); with ?view=full 1 to 100');
      } finally {
        await server.close();
      }
    });
  });

  test(`an empty list of applications matches the OpenAPI document in both views: an empty fleet, and no application matching (${kind})`, { skip: skips[kind] }, async () => {
    const store = await freshStore(kind);
    try {
      assert.equal((await fleetCli(store)('init', '--db', RUSTSEC)).status, 0);
      const server = await startServer(store.store, cacheDir);
      try {
        const token = await server.token('ci');
        // api() checks every answer against the document: an empty page is a summary and a full view at once.
        for (const view of ['summary', 'full']) {
          const empty = await api<SummaryList>(server, 'GET', `/apps?view=${view}`, { token });
          assert.equal(empty.status, 200, JSON.stringify(empty.body));
          assert.deepEqual([empty.body.apps, empty.body.page.total, empty.body.page.next], [[], 0, null]);
        }
        await fleetCli(store)('add', join(appsDir, `${APPS[2]}.Cargo.lock`));
        for (const view of ['summary', 'full']) {
          const none = await api<SummaryList>(server, 'GET', `/apps?view=${view}&q=no-such-application`, { token });
          assert.equal(none.status, 200, JSON.stringify(none.body));
          assert.deepEqual(none.body.apps, []);
        }
      } finally {
        await server.close();
      }
    } finally {
      await store.dispose();
    }
  });

  test(`writes need a read-write token; refused requests change nothing (${kind})`, { skip: skips[kind] }, async () => {
    await withFleet(kind, async (fleet, store) => {
      const before = (await fleet('status', '--format', 'json')).stdout;
      const historyBefore = (await fleet('history', 'ripgrep-2023-09-01', '--format', 'json')).stdout;
      const server = await startServer(store.store, cacheDir, { limits: { uploadBytes: 16 * 1024 } });
      try {
        const writer = await server.token('ci');
        const reader = await server.token('dashboard', true);
        const revoked = await server.token('old');
        await server.store.transaction((tx) => tx.revokeToken('old', new Date().toISOString()));
        const triageBody = (): { headers: Record<string, string>; body: string } => ({
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ id: 'RUSTSEC-2024-0421', state: 'in_triage', reason: 'x' }),
        });
        const forged = `stw_${'A'.repeat(43)}`;
        for (const token of [undefined, forged, revoked, 'not-a-token']) {
          const label = token === undefined ? 'no token' : token.slice(0, 8);
          assert.equal((await api(server, 'GET', '/apps', { token })).status, 401, `${label}: read`);
          const push = await api(server, 'POST', '/apps/ripgrep-2023-09-01/revisions', { token, body: lockfileForm('ripgrep-2024-09-01') });
          assert.equal(push.status, 401, `${label}: push`);
          assert.equal(push.headers.get('www-authenticate')?.startsWith('Bearer'), true);
          assert.equal((await api(server, 'POST', '/apps/ripgrep-2023-09-01/triage', { token, ...triageBody() })).status, 401, `${label}: triage`);
          assert.equal((await api(server, 'POST', '/sync', { token })).status, 401, `${label}: sync`);
        }
        assert.equal((await api(server, 'GET', '/apps', { token: reader })).status, 200);
        assert.equal((await api(server, 'POST', '/apps/ripgrep-2023-09-01/revisions', { token: reader, body: lockfileForm('ripgrep-2024-09-01') })).status, 403);
        assert.equal((await api(server, 'POST', '/triage', { token: reader, ...triageBody() })).status, 403);
        assert.equal((await api(server, 'POST', '/sync', { token: reader })).status, 403);

        // Over the body limit: 413 and nothing stored, announced or streamed.
        const big = await api(server, 'POST', '/apps/too-big/revisions', { token: writer, body: lockfileForm('kanidm-2024-08-01') });
        assert.equal(big.status, 413);
        const bytes = readFileSync(join(CARGO_CORPUS, 'kanidm-2024-08-01.Cargo.lock'));
        const streamed = await fetch(`${server.url}/api/v1/apps/too-big/revisions`, {
          method: 'POST',
          headers: { authorization: `Bearer ${writer}`, 'content-type': 'application/json' },
          body: new ReadableStream({
            start(controller) {
              for (let i = 0; i < bytes.length; i += 4096) controller.enqueue(bytes.subarray(i, i + 4096));
              controller.close();
            },
          }),
          duplex: 'half',
        } as RequestInit);
        assert.equal(streamed.status, 413, 'a body without a length is counted as it comes');
        assert.equal(await server.store.app('too-big'), null);

        // Malformed: the command line's one line, nothing stored.
        const bad = tempDir('server-api-bad');
        writeFileSync(join(bad, 'Cargo.lock'), 'version = 3\n[[package]\nname = "x"\n');
        const form = new FormData();
        form.append('document', new Blob([readFileSync(join(bad, 'Cargo.lock'))]), 'Cargo.lock');
        const malformed = await api(server, 'POST', '/apps/broken/revisions', { token: writer, body: form });
        assert.equal(malformed.status, 400);
        const audited = await runCliAsync(['audit', 'Cargo.lock', '--db', RUSTSEC], { cacheDir, cwd: bad });
        assert.equal(audited.status, 2);
        assert.equal(`stowage: ${malformed.body.error}`, audited.stderr.split('\n')[0]);
        for (const name of ['../escape.lock', '/etc/Cargo.lock', 'a/../../b']) {
          const evil = new FormData();
          evil.append('document', new Blob(['x']), name);
          const refused = await api(server, 'POST', '/apps/broken/revisions', { token: writer, body: evil });
          assert.equal(refused.status, 400, name);
          assert.match(refused.body.error ?? '', /a document name/);
        }
        assert.equal((await api(server, 'POST', '/apps/bad%2Fname/revisions', { token: writer, body: lockfileForm('ripgrep-2024-09-01') })).status, 400);
        assert.equal((await api(server, 'POST', '/triage', { token: writer, headers: { 'content-type': 'application/json' }, body: '{"id": ' })).status, 400);
        assert.equal((await api(server, 'POST', '/triage', { token: writer, headers: { 'content-type': 'application/json' }, body: '{"id": "x", "by": "me"}' })).status, 400);
        assert.equal(await server.store.app('broken'), null);

        // A cross-site form post: the API takes no cookie, so a browser's post carries no credentials.
        const csrf = await api(server, 'POST', '/apps/ripgrep-2023-09-01/triage', {
          headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'http://evil.example' },
          body: 'id=RUSTSEC-2024-0421&state=in_triage&reason=x',
        });
        assert.equal(csrf.status, 401);
        // Outside the API (the pages, signed in by cookie), a cross-site form post is refused as such.
        const page = await fetch(`${server.url}/anything`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'http://evil.example' },
          body: 'a=b',
        });
        assert.equal(page.status, 403);

        assert.equal((await fleet('status', '--format', 'json')).stdout, before, 'nothing changed');
        assert.equal((await fleet('history', 'ripgrep-2023-09-01', '--format', 'json')).stdout, historyBefore);
        assert.deepEqual(await server.store.triageDecisions(), []);
      } finally {
        await server.close();
      }
      const open = await startServer(store.store, cacheDir, { publicRead: true });
      try {
        assert.equal((await api(open, 'GET', '/apps')).status, 200, '--public-read: reads need no token');
        assert.equal((await api(open, 'POST', '/sync')).status, 401, '--public-read: writes still do');
      } finally {
        await open.close();
      }
    });
  });

  test(`no answer of the server names a file path of the server: a database on its disk is named by its last path component (${kind})`, { skip: skips[kind] }, async () => {
    await withFleet(kind, async (fleet, store) => {
      const shown = JSON.stringify(basename(RUSTSEC));
      // The command line, on the server's own machine, names the database by its path.
      assert.ok((await fleet('status', '--format', 'json')).stdout.includes(JSON.stringify(RUSTSEC)));
      const server = await startServer(store.store, cacheDir, { publicRead: true });
      const abort = new AbortController();
      try {
        const reader = await server.token('dashboard', true);
        const answers: string[] = [];
        for (const path of ['/apps?view=full', '/apps/kanidm-2023-08-01', '/advisories/RUSTSEC-2024-0421/affected', '/packages/cargo/idna']) {
          for (const token of [reader, undefined]) {
            const answer = await fetch(`${server.url}/api/v1${path}`, token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } });
            assert.equal(answer.status, 200, path);
            const text = await answer.text();
            assert.ok(text.includes(`"databases":[${shown}]`), `${path}: the findings name the database ${shown}`);
            answers.push(text);
          }
        }
        // The events, from the first (fleet add's, with its findings).
        const events = await fetch(`${server.url}/api/v1/events`, { headers: { authorization: `Bearer ${reader}`, 'last-event-id': '0' }, signal: abort.signal });
        const stream = (events.body as ReadableStream<Uint8Array>).getReader();
        const decoder = new TextDecoder();
        let text = '';
        while (!/event: add\n[^]*?\n\n/.test(text)) {
          const chunk = await stream.read();
          assert.equal(chunk.done, false, 'the stream ended before fleet add\'s event');
          text += decoder.decode(chunk.value);
        }
        answers.push(text);
        // The dashboard's list of databases.
        const page = await fetch(`${server.url}/`);
        assert.equal(page.status, 200);
        const html = await page.text();
        assert.ok(html.includes(`<td>${basename(RUSTSEC)}</td>`), 'the dashboard names the database');
        answers.push(html);
        for (const answer of answers) assert.ok(!answer.includes(RUSTSEC), `an answer names the server's path ${RUSTSEC}:\n${answer.slice(0, 300)}`);
      } finally {
        abort.abort();
        await server.close();
      }
    });
  });

  test(`an advisory's control characters reach no client raw: JSON answers escape what a terminal acts on, the dashboard shows escapes (${kind})`, { skip: skips[kind] }, async () => {
    const store = await freshStore(kind);
    let server: TestServer | null = null;
    try {
      // What a hostile or broken database record may hold: an OSC setting the terminal's title, a
      // screen clear, a C1 CSI (U+009B), a bidi override and a zero-width space.
      const title = 'left-pad \u001b]0;pwned\u0007is \u001b[2Jfine\u009b31m \u202eevil\u200b';
      assert.equal((await fleetCli(store)('init', '--db', npmAdvisoryDb(tempDir('server-npm-db'), title))).status, 0);
      server = await startServer(store.store, cacheDir, { publicRead: true });
      const token = await server.token('ci');
      const form = new FormData();
      form.append('document', new Blob(['{"name": "web", "version": "1.0.0", "dependencies": {"left-pad": "1.2.0"}}\n']), 'package.json');
      const lock = { name: 'web', version: '1.0.0', lockfileVersion: 3, requires: true, packages: { '': { name: 'web', version: '1.0.0', dependencies: { 'left-pad': '1.2.0' } }, 'node_modules/left-pad': { version: '1.2.0' } } };
      form.append('document', new Blob([JSON.stringify(lock)]), 'package-lock.json');
      assert.equal((await api(server, 'POST', '/apps/web/revisions', { token, body: form })).status, 201);
      // eslint-disable-next-line no-control-regex
      const raw = /[\u0000-\u001f\u007f-\u009f\u200b\u202a-\u202e]/u;
      for (const path of ['/apps/web', '/apps?view=full', '/advisories/GHSA-0000-0000-0002/affected', '/packages/npm/left-pad', '/apps/web/export?format=vex']) {
        const answer = await fetch(`${server.url}/api/v1${path}`);
        const text = await answer.text();
        assert.equal(answer.status, 200, path);
        assert.doesNotMatch(text.replaceAll('\n', ''), raw, `${path}: a character a terminal acts on, raw`);
        if (path === '/apps/web') assert.equal((JSON.parse(text) as FleetApps).apps[0]?.findings[0]?.advisory.title, title, 'the same value, escaped');
      }
      const page = await (await fetch(`${server.url}/apps/web`)).text();
      assert.doesNotMatch(page.replaceAll('\n', ''), raw, 'the dashboard: a character a browser hides, raw');
      assert.ok(page.includes('left-pad \\x1b]0;pwned\\x07is \\x1b[2Jfine\\x9b31m \\u202eevil\\u200b'), 'the dashboard shows the escapes');
    } finally {
      await server?.close();
      await store.dispose();
    }
  });

  test(`the event stream carries a triage as webhooks get it (${kind})`, { skip: skips[kind] }, async () => {
    await withFleet(kind, async (_fleet, store) => {
      const server = await startServer(store.store, cacheDir);
      const abort = new AbortController();
      try {
        const token = await server.token('ci');
        const events = await fetch(`${server.url}/api/v1/events`, { headers: { authorization: `Bearer ${token}` }, signal: abort.signal });
        assert.equal(events.status, 200);
        assert.match(events.headers.get('content-type') ?? '', /^text\/event-stream/);
        const reader = (events.body as ReadableStream<Uint8Array>).getReader();
        let text = '';
        const decoder = new TextDecoder();
        while (!text.includes('stowage fleet events')) text += decoder.decode((await reader.read()).value);
        const decided = await api<TriageAnswer>(server, 'POST', '/triage', {
          token,
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ id: 'RUSTSEC-2024-0421', state: 'exploitable', reason: 'reachable from the login form' }),
        });
        assert.equal(decided.status, 201);
        while (!/\n\n[^]*event: triage\n[^]*\n\n/.test(text)) {
          const chunk = await reader.read();
          assert.equal(chunk.done, false, 'the stream ended before the event');
          text += decoder.decode(chunk.value);
        }
        const message = /event: triage\ndata: (.*)\nid: (\d+)\n|id: (\d+)\nevent: triage\ndata: (.*)\n/.exec(text);
        assert.ok(message, text);
        const data = message[1] ?? message[4];
        assert.deepEqual(JSON.parse(data as string), decided.body);
        const stored = await server.store.eventsAfter(0, 10);
        assert.deepEqual(stored.map((e) => e.type), ['add', 'triage'], 'the set-up\'s fleet add, then the triage, each once');
      } finally {
        abort.abort();
        await server.close();
      }
    });
  });

  test(`an event stream opened with a token that is then revoked sends no further event and ends (${kind})`, { skip: skips[kind] }, async () => {
    await withFleet(kind, async (_fleet, store) => {
      const server = await startServer(store.store, cacheDir);
      const abort = new AbortController();
      try {
        const writer = await server.token('ci');
        const watcher = await server.token('watcher', true);
        const events = await fetch(`${server.url}/api/v1/events`, { headers: { authorization: `Bearer ${watcher}` }, signal: abort.signal });
        assert.equal(events.status, 200);
        const reader = (events.body as ReadableStream<Uint8Array>).getReader();
        const decoder = new TextDecoder();
        let text = '';
        while (!text.includes('stowage fleet events')) text += decoder.decode((await reader.read()).value);
        // Revoked as `stowage fleet token revoke watcher` does; the server's next request with it is refused.
        assert.ok(await server.store.transaction((tx) => tx.revokeToken('watcher', new Date().toISOString())));
        assert.equal((await api(server, 'GET', '/apps', { token: watcher })).status, 401);
        const decided = await api(server, 'POST', '/triage', {
          token: writer,
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ id: 'RUSTSEC-2024-0421', state: 'exploitable', reason: 'reachable from the login form' }),
        });
        assert.equal(decided.status, 201);
        // The stream ends without the triage: the revoked token reads nothing more of the fleet.
        for (;;) {
          const chunk = await reader.read();
          if (chunk.done) break;
          text += decoder.decode(chunk.value);
          assert.doesNotMatch(text, /event: triage/, 'an event reached a revoked token');
        }
        assert.doesNotMatch(text, /reachable from the login form/);
        assert.deepEqual((await server.store.eventsAfter(0, 10)).map((e) => e.type), ['add', 'triage'], 'the event is recorded all the same');
      } finally {
        abort.abort();
        await server.close();
      }
    });
  });

  test(`an event stream whose client stops reading is cut once its backlog passes the limit, not kept growing; the events stay in the store (${kind})`, { skip: skips[kind] }, async () => {
    await withFleet(kind, async (_fleet, store) => {
      const server = await startServer(store.store, cacheDir, { limits: { eventBacklogBytes: 64 * 1024 } });
      const socket = connect(Number(new URL(server.url).port), '127.0.0.1');
      try {
        const token = await server.token('ci');
        let closed = false;
        let received = '';
        socket.on('error', () => undefined);
        socket.on('close', () => (closed = true));
        socket.write(`GET /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${token}\r\n\r\n`);
        // Once the stream is live, a client that does not read while 300 events of 50 KB are recorded (more than the kernel's buffers hold).
        await new Promise<void>((resolve) => {
          const live = (chunk: Buffer): void => {
            received += chunk.toString('latin1');
            if (!received.includes(': stowage fleet events\n')) return;
            socket.off('data', live);
            resolve();
          };
          socket.on('data', live);
        });
        socket.pause();
        const made = 300;
        // (Recorded in the store as a command's would be: a triage reason is at most 2,000 characters.)
        for (let i = 0; i < made; i++) {
          await server.store.transaction((tx) => recordEvent(tx, null, 'triage', { n: i, body: 'r'.repeat(50_000) }, new Date().toISOString()));
        }
        // Then it reads: the server cut the stream when its backlog passed the limit, instead of keeping every event since.
        socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
        socket.resume();
        const sentEvents = (): number => received.split('event: triage\n').length - 1;
        while (!closed && sentEvents() < made) await new Promise((resolve) => setImmediate(resolve));
        assert.ok(closed && sentEvents() < made, `the stream sent ${sentEvents()} of ${made} events and is ${closed ? 'closed' : 'still open'}`);
        // Nothing is lost: every event is in the store, where a client resuming with Last-Event-ID reads it.
        assert.equal((await server.store.eventsAfter(0, 2000)).filter((e) => e.type === 'triage').length, made);
      } finally {
        socket.destroy();
        await server.close();
      }
    });
  });

  test(`a client resuming with Last-Event-ID over events each larger than the backlog limit gets every one, in order, on one connection (${kind})`, { skip: skips[kind] }, async () => {
    await withFleet(kind, async (_fleet, store) => {
      const server = await startServer(store.store, cacheDir, { limits: { eventBacklogBytes: 64 * 1024 } });
      const abort = new AbortController();
      try {
        const token = await server.token('ci');
        const from = await server.store.lastEventId();
        // A triage --all of a widespread advisory, a sync or a first add at 10,000 applications: events of megabytes.
        const made = 12;
        const ids = (
          await server.store.transaction(async (tx) => {
            const recorded: number[] = [];
            for (let i = 0; i < made; i++) recorded.push(await recordEvent(tx, null, 'triage', { n: i, padding: 'r'.repeat(60_000) }, new Date().toISOString()));
            return recorded;
          })
        ).map(String);
        const events = await fetch(`${server.url}/api/v1/events`, { headers: { authorization: `Bearer ${token}`, 'last-event-id': String(from) }, signal: abort.signal });
        assert.equal(events.status, 200);
        const reader = (events.body as ReadableStream<Uint8Array>).getReader();
        const decoder = new TextDecoder();
        let text = '';
        const received = (): string[] => [...text.matchAll(/^id: (\d+)$/gm)].map((m) => m[1] as string);
        while (received().length < made) {
          const chunk = await reader.read().catch((err: Error) => ({ done: true, value: undefined, err }));
          assert.equal(chunk.done, false, `the stream ended after ${received().length} of ${made} events`);
          text += decoder.decode(chunk.value, { stream: true });
        }
        assert.deepEqual(received(), ids);
      } finally {
        abort.abort();
        await server.close();
      }
    });
  });

  test(`a stream resumed with Last-Event-ID is sent every event after it however far behind, then the new ones, none twice (${kind})`, { skip: skips[kind] }, async () => {
    await withFleet(kind, async (_fleet, store) => {
      const server = await startServer(store.store, cacheDir);
      const aborted = new AbortController();
      try {
        const token = await server.token('ci');
        const from = await server.store.lastEventId();
        // A client that was away while more events were recorded than one read of the store holds.
        const behind = 1100;
        const recorded = await server.store.transaction(async (tx) => {
          const ids: number[] = [];
          for (let i = 0; i < behind; i++) ids.push(await recordEvent(tx, null, 'triage', { n: i }, new Date().toISOString()));
          return ids;
        });
        const stream = eventStream(await fetch(`${server.url}/api/v1/events`, { headers: { authorization: `Bearer ${token}`, 'last-event-id': String(from) }, signal: aborted.signal }));
        // The stream says it is live once it has caught up; an event recorded then comes after.
        await stream.readUntil(': stowage fleet events\n');
        const latest = await server.store.transaction((tx) => recordEvent(tx, null, 'triage', { n: 'after' }, new Date().toISOString()));
        await stream.readUntil(`id: ${latest}\n`);
        const ids = stream.ids();
        assert.deepEqual(ids, [...recorded, latest], `${ids.length} events sent of ${behind + 1}`);
      } finally {
        aborted.abort();
        await server.close();
      }
    });
  });

  test(`an upload's workspace globs are not expanded outside it: a member glob of ../* reads and keeps no file of the server's (${kind})`, { skip: skips[kind] }, async () => {
    await withFleet(kind, async (_fleet, store) => {
      const server = await startServer(store.store, cacheDir);
      // A directory beside the server's upload directories (all under the temporary directory), holding a crate's manifest.
      const outside = tempDir('outside-upload');
      writeFileSync(join(outside, 'Cargo.toml'), '[package]\nname = "server-secret"\nversion = "0.1.0"\n\n[dependencies]\nprivate-dependency = "1"\n');
      try {
        const token = await server.token('ci');
        const form = new FormData();
        form.append('document', new Blob(['[package]\nname = "app"\nversion = "0.1.0"\n\n[workspace]\nmembers = ["../stowage-outside-upload-*"]\n']), 'Cargo.toml');
        form.append('document', new Blob(['version = 3\n\n[[package]]\nname = "app"\nversion = "0.1.0"\n']), 'Cargo.lock');
        const pushed = await api<Pushed>(server, 'POST', '/apps/globber/revisions', { token, body: form });
        assert.equal(pushed.status, 201, JSON.stringify(pushed.body));
        const app = await server.store.app('globber');
        const revision = app?.currentRevision === null || app === null ? null : await server.store.revision(app.currentRevision);
        assert.deepEqual(revision?.documents.map((d) => d.name).sort(), ['Cargo.lock', 'Cargo.toml']);
        assert.doesNotMatch(JSON.stringify(pushed.body), /server-secret|private-dependency/);
      } finally {
        await server.close();
        rmSync(outside, { recursive: true, force: true });
      }
    });
  });

  test(`an upload is not taken for a member of a workspace above the server's upload directory: Cargo, npm and pnpm roots there are not read (${kind})`, { skip: skips[kind] }, async () => {
    const store = await freshStore(kind);
    // The directory the server writes uploads under, holding what any local user may put in /tmp:
    // workspace roots naming every directory beside them as a member.
    const serverTmp = tempDir('server-tmp');
    writeFileSync(join(serverTmp, 'Cargo.toml'), '[workspace]\nmembers = ["*"]\n');
    writeFileSync(join(serverTmp, 'package.json'), '{"name": "root", "private": true, "workspaces": ["*"]}\n');
    writeFileSync(join(serverTmp, 'pnpm-workspace.yaml'), "packages:\n  - '*'\n");
    const given = process.env.TMPDIR;
    let server: TestServer | null = null;
    try {
      const fleet = fleetCli(store);
      assert.equal((await fleet('init', '--db', RUSTSEC, '--db', npmAdvisoryDb(tempDir('server-npm-db')))).status, 0);
      server = await startServer(store.store, cacheDir);
      const token = await server.token('ci');
      process.env.TMPDIR = serverTmp;
      const push = async (app: string, documents: Record<string, string>): Promise<{ status: number; body: Pushed }> => {
        const form = new FormData();
        for (const [name, text] of Object.entries(documents)) form.append('document', new Blob([text]), name);
        return api<Pushed>(server as TestServer, 'POST', `/apps/${app}/revisions`, { token, body: form });
      };
      const crate = await push('crate', {
        'Cargo.toml': '[package]\nname = "crate"\nversion = "0.1.0"\nedition = "2021"\n\n[dependencies]\nsmallvec = "=1.6.0"\n',
        'Cargo.lock':
          'version = 3\n\n[[package]]\nname = "crate"\nversion = "0.1.0"\ndependencies = [\n "smallvec",\n]\n\n[[package]]\nname = "smallvec"\nversion = "1.6.0"\nsource = "registry+https://github.com/rust-lang/crates.io-index"\nchecksum = "fe0f37c9e8f3c5a4a66ad655a93c74daac4ad00ff14f3bd3c5a2b56a72d59de5"\n',
      });
      assert.equal(crate.status, 201, JSON.stringify(crate.body));
      assert.deepEqual(crate.body.apps[0]?.findings.map((f) => f.advisory.id), ['RUSTSEC-2021-0003']);
      const manifest = '{"name": "web", "version": "1.0.0", "dependencies": {"left-pad": "1.2.0"}}\n';
      const npm = await push('web', {
        'package.json': manifest,
        'package-lock.json': JSON.stringify({
          name: 'web',
          version: '1.0.0',
          lockfileVersion: 3,
          requires: true,
          packages: { '': { name: 'web', version: '1.0.0', dependencies: { 'left-pad': '1.2.0' } }, 'node_modules/left-pad': { version: '1.2.0', resolved: 'https://registry.npmjs.org/left-pad/-/left-pad-1.2.0.tgz' } },
        }),
      });
      assert.equal(npm.status, 201, JSON.stringify(npm.body));
      assert.deepEqual(npm.body.apps[0]?.findings.map((f) => f.advisory.id), ['GHSA-0000-0000-0002']);
      const pnpm = await push('web-pnpm', {
        'package.json': manifest,
        'pnpm-lock.yaml':
          "lockfileVersion: '9.0'\n\nsettings:\n  autoInstallPeers: true\n  excludeLinksFromLockfile: false\n\nimporters:\n\n  .:\n    dependencies:\n      left-pad:\n        specifier: 1.2.0\n        version: 1.2.0\n\npackages:\n\n  left-pad@1.2.0:\n    resolution: {integrity: sha512-aaaa}\n\nsnapshots:\n\n  left-pad@1.2.0: {}\n",
      });
      assert.equal(pnpm.status, 201, JSON.stringify(pnpm.body));
      assert.deepEqual(pnpm.body.apps[0]?.findings.map((f) => f.advisory.id), ['GHSA-0000-0000-0002']);
    } finally {
      if (given === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = given;
      await server?.close();
      await store.dispose();
      rmSync(serverTmp, { recursive: true, force: true });
    }
  });

  test(`50 pushes at once: none lost, none corrupted; those the server has no room for are sent again as fleet push sends them (${kind})`, { skip: skips[kind] }, async () => {
    await withFleet(kind, async (_fleet, store) => {
      // Room for three of the largest of these uploads at once (kanidm's 166 KiB lockfile), and no
      // wait for room: those that do not fit are answered 503 and sent again after Retry-After.
      const server = await startServer(store.store, cacheDir, { limits: { uploadBytes: 256 * 1024 }, uploads: { bytes: 512 * 1024, waitMs: 0, retryAfterSeconds: 1 } });
      try {
        const token = await server.token('ci');
        const corpus = ['kanidm-2024-08-01', 'ripgrep-2024-09-01', 'kanidm-2021-08-01', 'ripgrep-2019-09-01', 'kanidm-2020-08-01'];
        const pushes = Array.from({ length: 50 }, (_, i) => ({ name: `app-${String(i).padStart(2, '0')}`, lockfile: corpus[i % corpus.length] as string }));
        // Half of them new revisions of applications the fleet has: the same application twice at once.
        for (const p of pushes.slice(0, 10)) p.name = APPS[pushes.indexOf(p) % APPS.length] as string;
        const distinct = pushes.filter((p, i) => pushes.findIndex((q) => q.name === p.name && q.lockfile === p.lockfile) === i);
        let waits = 0;
        const push = async (p: { name: string; lockfile: string }): Promise<Answer<Pushed>> => {
          const path = `/apps/${p.name}/revisions`;
          const sent = await sendPush(new URL(`${server.url}/api/v1${path}`), token, lockfileForm(p.lockfile), { forSeconds: 600, say: () => (waits += 1) });
          const body = JSON.parse(sent.text) as Pushed;
          checkAgainstOpenApi('POST', path, sent.status, body);
          return { status: sent.status, headers: new Headers(), body };
        };
        const answers = await Promise.all(distinct.map(push));
        for (const [i, a] of answers.entries()) assert.equal(a.status, 201, `${distinct[i]?.name} (${waits} waits in all): ${JSON.stringify(a.body)}`);
        assert.deepEqual(server.deps.uploads.state, { held: 0, waiting: 0 });
        const list = await api<AppsList>(server, 'GET', '/apps?limit=500', { token });
        const names = new Set(distinct.map((p) => p.name));
        assert.equal(list.body.page.total, new Set([...APPS, ...names]).size);
        for (const [i, p] of distinct.entries()) {
          const answer = answers[i]?.body.apps[0];
          assert.ok(answer);
          const history = await api<History>(server, 'GET', `/apps/${p.name}/history?limit=500`, { token });
          assert.ok(history.body.history.some((h) => h.revision.id === answer.revision && h.by === 'ci'), `${p.name}: its pushed revision is in its history`);
          const shown = (await api<FleetApps>(server, 'GET', `/apps/${p.name}?revision=${answer.revision}`, { token })).body.apps[0];
          assert.deepEqual(
            shown?.findings.map((f) => [f.advisory.id, f.package.version]),
            answer.findings.map((f) => [f.advisory.id, f.package.version]),
            `${p.name}: the stored findings are the ones answered`,
          );
        }
        for (const app of list.body.apps) {
          const pushedHere = distinct.map((p, i) => (p.name === app.name ? answers[i]?.body.apps[0]?.revision : undefined)).filter((r) => r !== undefined);
          if (pushedHere.length > 0) assert.ok(pushedHere.includes(app.revision), `${app.name}: its current revision is one of those pushed`);
        }
      } finally {
        await server.close();
      }
    });
  });
}

test('a push from the command line records the revision fleet add would, and exits as the audit', { skip: skips.sqlite }, async () => {
  const store = await freshStore('sqlite');
  const server0: { close: () => Promise<void> } = { close: async () => undefined };
  try {
    const fleet = fleetCli(store);
    assert.equal((await fleet('init', '--db', RUSTSEC)).status, 0);
    const server = await startServer(store.store, cacheDir);
    server0.close = server.close;
    const tokenFile = join(tempDir('server-api-token'), 'ci.token');
    writeFileSync(tokenFile, `${await server.token('ci')}\n`);
    const readOnlyFile = join(tempDir('server-api-token'), 'ro.token');
    writeFileSync(readOnlyFile, `${await server.token('viewer', true)}\n`);
    const push = (args: string[], env: NodeJS.ProcessEnv = {}) => runCliAsync(['fleet', 'push', '--server', server.url, ...args], { cacheDir, env });

    const failingApp = join(tempDir('server-api-push'), 'kanidm');
    mkdirSync(failingApp);
    copyFileSync(join(CARGO_CORPUS, 'kanidm-2024-08-01.Cargo.lock'), join(failingApp, 'Cargo.lock'));
    copyFileSync(join(CARGO_CORPUS, 'kanidm-2024-08-01.Cargo.toml'), join(failingApp, 'Cargo.toml'));
    const failing = await push(['--token-file', tokenFile, failingApp]);
    assert.equal(failing.status, 1, failing.stderr);
    assert.match(failing.stdout, /^added: kanidm sha256:[0-9a-f]{12} \(revision 1\)/);
    assert.match(failing.stdout, /^error: RUSTSEC-\d{4}-\d{4} /m);
    assert.match(failing.stdout, /result: FAIL/);
    const asJson = await push(['--token-file', tokenFile, '--format', 'json', failingApp]);
    assert.equal(asJson.status, 1);
    assert.equal(json<Pushed>(asJson.stdout).apps[0]?.change, 'unchanged');
    // The same documents as `fleet add` reads: adding the directory changes nothing.
    server0.close = async () => undefined;
    await server.close();
    const added = await fleet('add', failingApp);
    assert.match(added.stdout, /^unchanged: kanidm /m, added.stdout);
    const server2 = await startServer(store.store, cacheDir);
    server0.close = server2.close;
    const push2 = (args: string[], env: NodeJS.ProcessEnv = {}) => runCliAsync(['fleet', 'push', '--server', server2.url, ...args], { cacheDir, env });

    const clean = join(tempDir('server-api-push'), 'rg.Cargo.lock');
    copyFileSync(join(CARGO_CORPUS, 'ripgrep-2023-09-01.Cargo.lock'), clean);
    const token = readFileSync(tokenFile, 'utf8').trim();
    const ok = await push2([clean], { STOWAGE_TOKEN: token });
    assert.equal(ok.status, 0, ok.stderr + ok.stdout);
    assert.match(ok.stdout, /^added: rg /m);
    assert.match(ok.stdout, /result: ok/);

    const noToken = await push2([clean], { STOWAGE_TOKEN: '' });
    assert.equal(noToken.status, 2);
    assert.match(noToken.stderr, /^stowage: no token: give --token-file FILE or set STOWAGE_TOKEN/);
    const readOnly = await push2(['--token-file', readOnlyFile, clean]);
    assert.equal(readOnly.status, 2);
    assert.match(readOnly.stderr, /refused the push \(403\): token viewer is read-only/);
    const broken = join(tempDir('server-api-push'), 'Cargo.lock');
    writeFileSync(broken, 'not toml [[\n');
    const bad = await push2(['--token-file', tokenFile, '--name', 'broken', broken]);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /Cargo\.lock/);
    const down = await runCliAsync(['fleet', 'push', '--server', 'http://127.0.0.1:9/', '--token-file', tokenFile, clean], { cacheDir });
    assert.equal(down.status, 2);
    assert.match(down.stderr, /cannot reach the fleet server/);
  } finally {
    await server0.close();
    await store.dispose();
  }
});

test('fleet push refuses plain http to another machine before reading the token or the application: the token would cross the network readable', async () => {
  const clean = join(tempDir('server-api-push-http'), 'rg.Cargo.lock');
  copyFileSync(join(CARGO_CORPUS, 'ripgrep-2023-09-01.Cargo.lock'), clean);
  // 192.0.2.1 is TEST-NET-1: no one answers there, so nothing but the refusal can end the push quickly.
  for (const server of ['http://192.0.2.1:8080/', 'http://fleet.example/', 'HTTP://[2001:db8::1]:8080/']) {
    const r = await runCliAsync(['fleet', 'push', '--server', server, clean], { cacheDir, env: { STOWAGE_TOKEN: 'stw_not_to_be_sent' } });
    assert.equal(r.status, 2, `${server}: ${r.stderr}`);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /plain http sends the token readable to anyone on the way; use https/, server);
  }
});
