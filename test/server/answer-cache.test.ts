import assert from 'node:assert/strict';
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { ReportFinding } from '../support/audit-report.js';
import { freshStore, storeSkips, STORE_KINDS } from '../support/fleet-stores.js';
import type { FleetApps, FleetAppsSummary } from '../support/fleet-report.js';
import { api, asServed, startServer } from '../support/fleet-server.js';
import { AnswerCache } from '../../src/server/answer-cache.js';
import { advisoryDbCheckout, CARGO_CORPUS, runCliAsync, tempDir } from '../support/shared.js';

/**
 * The list answers kept by the server (src/server/answer-cache.ts): what a kept answer says is
 * what the command line says of the same store; a write through the API and one from another
 * process (the command line) are seen by the next request; a triage decision's expiry is seen
 * once the server's clock passes it, with no write at all; If-None-Match gets a 304 while nothing changed.
 */

const cacheDir = tempDir('server-answer-cache');
const RUSTSEC = advisoryDbCheckout();
const APPS = ['kanidm-2022-08-01', 'kanidm-2023-08-01', 'ripgrep-2023-09-01'];
const ADVISORY = 'RUSTSEC-2024-0421';
const appsDir = tempDir('server-answer-cache-apps');
for (const name of APPS) copyFileSync(join(CARGO_CORPUS, `${name}.Cargo.lock`), join(appsDir, `${name}.Cargo.lock`));

const skips = await storeSkips();
/** The command line's JSON as the server answers it (its database named without the server's path). */
const json = <T>(text: string): T => asServed<T>(text, [RUSTSEC]);
/** An answer without its page: what the command line prints of the whole list. */
const withoutPage = (body: object): unknown => {
  const { page: _page, ...rest } = body as { page?: unknown };
  return rest;
};
interface Affected {
  apps: { name: string; findings: ReportFinding[] }[];
}

/** Whether each finding of advisory `id` in `app` is settled by triage, in the full list. */
const settledIn = (list: FleetApps, app: string, id = ADVISORY): boolean[] =>
  (list.apps.find((a) => a.name === app)?.findings ?? []).filter((f) => f.advisory.id === id).map((f) => f.ignored?.origin === 'fleet triage');

for (const kind of STORE_KINDS) {
  test(`kept list answers are the command line's, and every write is seen by the next request (${kind})`, { skip: skips[kind] }, async () => {
    const store = await freshStore(kind);
    const fleet = (...args: string[]) => runCliAsync(['fleet', ...args, '--store', store.store], { cacheDir });
    try {
      assert.equal((await fleet('init', '--db', RUSTSEC)).status, 0);
      assert.equal((await fleet('add', ...APPS.map((a) => join(appsDir, `${a}.Cargo.lock`)))).status, 1);
      assert.equal((await fleet('sync')).status, 1);
      // The server's clock, moved by the test: the command line's today is the real one, so it stays before any expiry below.
      let clock = new Date();
      const server = await startServer(store.store, cacheDir, { now: () => clock });
      try {
        const token = await server.token('ci');
        const get = <T>(path: string, headers: Record<string, string> = {}) => api<T>(server, 'GET', path, { token, headers });

        // Asked twice (built, then kept): both the command line's answer, with one ETag.
        const summary = json<FleetAppsSummary>((await fleet('status', '--summary', '--format', 'json')).stdout);
        const status = json<FleetApps>((await fleet('status', '--format', 'json')).stdout);
        const affected = json<Affected>((await fleet('affected', ADVISORY, '--format', 'json')).stdout);
        for (const [path, expected] of [
          ['/apps', summary],
          ['/apps?view=full', status],
          [`/advisories/${ADVISORY}/affected`, affected],
        ] as const) {
          const first = await get<{ page: unknown }>(path);
          const second = await get<{ page: unknown }>(path);
          assert.equal(second.status, 200, path);
          assert.deepEqual(withoutPage(first.body), expected, `${path}: as the command line`);
          assert.deepEqual(second.body, first.body, `${path}: kept, the same answer`);
          assert.ok(first.headers.get('etag'), `${path}: an ETag`);
          assert.equal(second.headers.get('etag'), first.headers.get('etag'));
          const unchanged = await get(path, { 'if-none-match': first.headers.get('etag') ?? '' });
          assert.equal(unchanged.status, 304, `${path}: the client has it already`);
          assert.equal(unchanged.body, '');
        }
        // The same query with its parameters in another order is the same answer.
        assert.deepEqual((await get('/apps?q=kanidm&view=full')).body, (await get('/apps?view=full&q=kanidm')).body);
        const kanidm = APPS.filter((a) => a.startsWith('kanidm'));
        assert.ok(kanidm.every((a) => settledIn(status, a).length > 0 && settledIn(status, a).every((s) => !s)), 'findings of the advisory, none settled yet');

        // A write through the API: the next list shows it, with a new ETag (the old one is answered in full).
        const etagBefore = (await get('/apps?view=full')).headers.get('etag') ?? '';
        const decided = await api(server, 'POST', `/apps/${kanidm[0]}/triage`, {
          token,
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ id: ADVISORY, state: 'not_affected', justification: 'code_not_reachable', reason: 'no IDN host names are parsed' }),
        });
        assert.equal(decided.status, 201);
        const afterApi = await get<FleetApps>('/apps?view=full', { 'if-none-match': etagBefore });
        assert.equal(afterApi.status, 200);
        assert.notEqual(afterApi.headers.get('etag'), etagBefore);
        assert.ok(settledIn(afterApi.body, kanidm[0] as string).every((s) => s));
        assert.deepEqual(withoutPage(afterApi.body), json<FleetApps>((await fleet('status', '--format', 'json')).stdout));
        assert.deepEqual(withoutPage((await get<Affected>(`/advisories/${ADVISORY}/affected`)).body), json<Affected>((await fleet('affected', ADVISORY, '--format', 'json')).stdout));

        // A write from another process (the command line): seen by the next request, in every list.
        const cli = await fleet('triage', kanidm[1] as string, ADVISORY, '--state', 'not_affected', '--justification', 'code_not_reachable', '--reason', 'not parsed here either');
        assert.equal(cli.status, 0, cli.stderr);
        const afterCli = await get<FleetApps>('/apps?view=full');
        assert.ok(settledIn(afterCli.body, kanidm[1] as string).every((s) => s), 'the command line\'s decision, seen at once');
        assert.deepEqual(withoutPage(afterCli.body), json<FleetApps>((await fleet('status', '--format', 'json')).stdout));
        assert.deepEqual(withoutPage((await get<FleetAppsSummary>('/apps')).body), json<FleetAppsSummary>((await fleet('status', '--summary', '--format', 'json')).stdout));
        assert.deepEqual(withoutPage((await get<Affected>(`/advisories/${ADVISORY}/affected`)).body), json<Affected>((await fleet('affected', ADVISORY, '--format', 'json')).stdout));

        // A decision that expires: in force until the server's clock passes its date, then open again with no write at all.
        const other = status.apps.find((a) => a.name === 'ripgrep-2023-09-01')?.findings[0]?.advisory.id;
        assert.ok(other !== undefined, 'ripgrep has a finding to decide on');
        const settledOther = (list: FleetApps): boolean[] => settledIn(list, 'ripgrep-2023-09-01', other);
        const today = clock.toISOString().slice(0, 10);
        const expiring = await api(server, 'POST', '/apps/ripgrep-2023-09-01/triage', {
          token,
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ id: other, state: 'not_affected', justification: 'code_not_reachable', reason: 'until the upgrade', expires: today }),
        });
        assert.equal(expiring.status, 201);
        const openCount = (s: FleetAppsSummary): number => s.apps.reduce((n, a) => n + Object.values(a.open).reduce((x, y) => x + y, 0), 0);
        const inForce = (await get<FleetApps>('/apps?view=full')).body;
        const openInForce = openCount((await get<FleetAppsSummary>('/apps')).body);
        const affectedInForce = (await get<Affected>(`/advisories/${other}/affected`)).body;
        assert.ok(settledOther(inForce).length > 0 && settledOther(inForce).every((s) => s), 'in force today');
        clock = new Date(clock.getTime() + 2 * 86_400_000);
        const expired = (await get<FleetApps>('/apps?view=full')).body;
        assert.ok(settledOther(expired).every((s) => !s), 'open again once expired, with no write');
        assert.ok(kanidm.every((a) => settledIn(expired, a).every((s) => s)), 'the decisions without an expiry still hold');
        assert.ok(openCount((await get<FleetAppsSummary>('/apps')).body) > openInForce, 'the summary counts the reopened findings');
        const affectedExpired = (await get<Affected>(`/advisories/${other}/affected`)).body;
        const ignoredIn = (list: Affected): boolean[] => list.apps.flatMap((a) => a.findings.map((f) => f.ignored !== null));
        assert.ok(ignoredIn(affectedInForce).some((i) => i) && ignoredIn(affectedExpired).every((i) => !i), 'the affected list sees the expiry too');
      } finally {
        await server.close();
      }
    } finally {
      await store.dispose();
    }
  });
}

test('the kept answers are bounded in bytes, least recently used out first; concurrent requests share one build', async () => {
  const built: string[] = [];
  const cache = new AnswerCache({ maxBytes: 3 * 1100, ttlMs: 1000, now: () => new Date(0), generation: () => Promise.resolve('g1') });
  const body = (key: string) => async () => {
    built.push(key);
    return { key, filler: 'x'.repeat(1000) };
  };
  for (const key of ['a', 'b', 'c']) await cache.answer(key, body(key));
  await cache.answer('a', body('a')); // kept: now the most recently used
  await cache.answer('d', body('d')); // over the bound: b, the least recently used, goes
  await cache.answer('a', body('a'));
  await cache.answer('b', body('b'));
  assert.deepEqual(built, ['a', 'b', 'c', 'd', 'b']);
  const [one, two] = await Promise.all([cache.answer('e', body('e')), cache.answer('e', body('e'))]);
  assert.deepEqual(built.filter((k) => k === 'e'), ['e'], 'one build for both');
  assert.equal(one.body, two.body);
  assert.deepEqual(JSON.parse(one.body), { key: 'e', filler: 'x'.repeat(1000) });
  const huge = await cache.answer('huge', async () => ({ filler: 'y'.repeat(10_000) }));
  assert.equal(JSON.parse(huge.body).filler.length, 10_000, 'an answer over the bound is answered, not kept');
});
