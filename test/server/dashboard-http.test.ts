import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { findingLevel } from '../../src/fleet/store/store.js';
import { HISTORY_ROWS } from '../../src/server/dashboard/app-page.js';
import { findingKey } from '../../src/server/dashboard/timelines.js';
import { HOSTILE_ADVISORY, HOSTILE_APP, HOSTILE_TITLE, makeDashboardFleet } from '../support/dashboard-fleet.js';
import { Browser, csrfOf } from '../support/dashboard-server.js';
import { startServer, type TestServer } from '../support/fleet-server.js';
import { freshStore, storeSkips, STORE_KINDS } from '../support/fleet-stores.js';

/**
 * The dashboard over real HTTP on a loopback port, over a real fleet on each store: who may
 * read, who may change, what a cross-site form gets, and that names and advisory text from
 * outside stay text.
 */

const skips = await storeSkips();

const escaped = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

async function signedIn(url: string, token: string): Promise<Browser> {
  const b = new Browser(url);
  const res = await b.post('/sign-in', { token, next: '/' });
  assert.equal(res.status, 303);
  return b;
}

/** Application names of the rows of a page's main table, as text. */
function appRows(page: string): string[] {
  return [...page.matchAll(/<th scope="row"><a href="\/apps\/[^"]+">([^<]*)<\/a>/g)].map((m) => m[1] as string);
}

for (const kind of STORE_KINDS) {
  test(`the dashboard over HTTP: sign-in, pages, triage, and what it refuses (${kind})`, { skip: skips[kind] }, async (t) => {
    const made = await freshStore(kind);
    let server: TestServer | null = null;
    try {
      const { cacheDir } = makeDashboardFleet(made.store);
      server = await startServer(made.store, cacheDir);
      const { url } = server;
      const fleetStore = server.store;
      const aliceToken = await server.token('alice');
      const readerToken = await server.token('reader', true);

      await t.test('without a session every page sends the reader to sign in, and comes back after', async () => {
        const anon = new Browser(url);
        for (const path of ['/', '/apps/kanidm', `/advisories/${HOSTILE_ADVISORY}`, '/packages/cargo/regex']) {
          const res = await anon.get(path);
          assert.equal(res.status, 303, path);
          assert.equal(res.headers.get('location'), `/sign-in?next=${encodeURIComponent(path)}`);
        }
        const wrong = await anon.post('/sign-in', { token: 'nope', next: '/apps/kanidm' });
        assert.equal(wrong.status, 401);
        assert.equal(anon.cookie, null);
        const res = await anon.post('/sign-in', { token: aliceToken, next: '/apps/kanidm' });
        assert.equal(res.status, 303);
        assert.equal(res.headers.get('location'), '/apps/kanidm');
        const cookie = res.headers.get('set-cookie') ?? '';
        assert.match(cookie, /HttpOnly/);
        assert.match(cookie, /SameSite=Strict/);
        assert.doesNotMatch(cookie, /Secure/, 'plain http on loopback: no Secure flag, or the browser would drop it');
        // Another host as the place to return to is not followed.
        // Nor one a browser reads as another host once it drops tabs and newlines and takes `\` for `/`.
        for (const next of ['//evil.example/', '/\t/evil.example/', '/\n/evil.example/', '/\\evil.example/', '/\t\\evil.example/', 'https://evil.example/']) {
          const away = await new Browser(url).post('/sign-in', { token: aliceToken, next });
          assert.equal(away.headers.get('location'), '/', JSON.stringify(next));
        }
      });

      const alice = await signedIn(url, aliceToken);

      await t.test('the fleet page lists every application with a strict CSP and no script', async () => {
        const res = await alice.get('/');
        assert.equal(res.status, 200);
        const csp = res.headers.get('content-security-policy') ?? '';
        assert.match(csp, /default-src 'none'/);
        assert.match(csp, /style-src 'self'/);
        assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|\*/);
        const page = await res.text();
        assert.doesNotMatch(page, /<script/i);
        const names = (await fleetStore.apps()).map((a) => a.name).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
        assert.deepEqual(appRows(page), names.map(escaped));
        assert.match(page, /role="img" aria-labelledby=/);
      });

      await t.test('findings over time: each add moves the total by its application\'s change, thinned to as many points as asked', async () => {
        // Open findings (before triage) of a revision, as the store holds them.
        const open = async (revisionId: number): Promise<number> => (await fleetStore.findings(revisionId)).filter((f) => f.ignored === null).length;
        const entries: { at: string; appId: number; revisionId: number }[] = [];
        for (const app of await fleetStore.apps()) for (const h of await fleetStore.history(app.id)) entries.push({ at: h.at, appId: app.id, revisionId: h.revision.id });
        entries.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
        assert.equal(entries.length, 4, 'kanidm twice, ripgrep, the markup-named application');
        const expected: { at: string; value: number }[] = [];
        const latest = new Map<number, number>();
        for (const e of entries) {
          latest.set(e.appId, await open(e.revisionId));
          expected.push({ at: e.at, value: [...latest.values()].reduce((a, b) => a + b, 0) });
        }
        assert.deepEqual(await fleetStore.findingsOverTime(null, 240), expected);
        const levels = await fleetStore.currentLevelCounts();
        assert.equal(expected.at(-1)?.value, Object.values(levels).reduce((a, b) => a + b, 0), 'the last point is the fleet as it is');
        // Two spans of time: the last point of each.
        const thinned = await fleetStore.findingsOverTime(null, 2);
        assert.equal(thinned.length, 2);
        assert.deepEqual(thinned.at(-1), expected.at(-1));
        const kanidm = await fleetStore.app('kanidm');
        const own = await fleetStore.findingsOverTime(kanidm?.id ?? -1, 240);
        assert.deepEqual(own.map((p) => p.value), [await open(entries[0]?.revisionId ?? -1), await open(kanidm?.currentRevision ?? -1)]);
      });

      await t.test('an application name holding markup is shown as text, linked by its encoded name', async () => {
        const page = await (await alice.get('/')).text();
        assert.ok(!page.includes(HOSTILE_APP));
        assert.ok(page.includes(escaped(HOSTILE_APP)));
        const res = await alice.get(`/apps/${encodeURIComponent(HOSTILE_APP)}`);
        assert.equal(res.status, 200);
        const app = await res.text();
        assert.ok(app.includes(`<h1>${escaped(HOSTILE_APP)}</h1>`));
        assert.ok(!app.includes(HOSTILE_APP));
      });

      await t.test('an advisory whose text holds a script tag: shown as text, with every application it affects', async () => {
        const res = await alice.get(`/advisories/${HOSTILE_ADVISORY}`);
        assert.equal(res.status, 200);
        const page = await res.text();
        assert.ok(!page.includes(HOSTILE_TITLE));
        assert.ok(page.includes(escaped(HOSTILE_TITLE)));
        assert.doesNotMatch(page, /<script/i);
        const lockers = [...new Set((await fleetStore.currentRevisionsWithPackage('regex')).map((r) => r.app))].sort();
        assert.ok(lockers.length >= 3, lockers.join(', '));
        assert.deepEqual([...new Set(appRows(page))].sort(), lockers.map(escaped).sort());
        // Lower case, as a ticket might spell it: the same advisory.
        assert.equal((await alice.get(`/advisories/${HOSTILE_ADVISORY.toLowerCase()}`)).status, 200);
        const unknown = await alice.get('/advisories/RUSTSEC-1999-9999');
        assert.equal(unknown.status, 404);
        assert.match(await unknown.text(), /no advisory &quot;RUSTSEC-1999-9999&quot;/);
      });

      await t.test('search, filter, sort and pages are answered by the store', async () => {
        const byName = await (await alice.get('/?per=1&page=2')).text();
        const names = (await fleetStore.apps()).map((a) => a.name).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
        assert.deepEqual(appRows(byName), [escaped(names[1] as string)]);
        assert.match(byName, new RegExp(`Applications 2–2 of ${names.length}`));
        // Part of a name, any case; a package name finds the applications locking it (the old ripgrep locks the crate ripgrep).
        assert.deepEqual(appRows(await (await alice.get('/?q=KANID')).text()), ['kanidm']);
        const lockingRipgrep = [...new Set((await fleetStore.currentRevisionsWithPackage('ripgrep')).map((r) => r.app))];
        assert.deepEqual(appRows(await (await alice.get('/?q=ripgrep')).text()).sort(), [...new Set(['ripgrep', ...lockingRipgrep])].map(escaped).sort());
        const byAdvisory = await (await alice.get(`/?q=${HOSTILE_ADVISORY}`)).text();
        assert.equal(appRows(byAdvisory).length, [...new Set((await fleetStore.currentFindingsWithId(HOSTILE_ADVISORY)).map((f) => f.app))].length);
        // The made-up advisory has no severity: every application locking regex has an open unscored finding.
        const unscored: string[] = [];
        for (const app of await fleetStore.apps()) {
          const findings = await fleetStore.findings(app.currentRevision ?? -1);
          if (findings.some((f) => f.ignored === null && findingLevel(f) === 'unscored')) unscored.push(app.name);
        }
        assert.ok(unscored.length >= 3);
        assert.deepEqual(appRows(await (await alice.get('/?level=unscored&per=200')).text()).sort(), unscored.map(escaped).sort());
        const bad = await alice.get('/?level=severe');
        assert.equal(bad.status, 400);
        assert.match(await bad.text(), /level &quot;severe&quot; is not one of critical/);
      });

      await t.test('a cross-site form post is refused and changes nothing', async () => {
        const page = await (await alice.get('/apps/kanidm')).text();
        const fields = { csrf: csrfOf(page), advisory: HOSTILE_ADVISORY, package: 'regex', state: 'in_triage', reason: 'forged' };
        const crossSite = await alice.post('/apps/kanidm/triage', fields, 'https://evil.example');
        assert.equal(crossSite.status, 403);
        const noOrigin = await alice.post('/apps/kanidm/triage', fields, null);
        assert.equal(noOrigin.status, 403);
        const wrongToken = await alice.post('/apps/kanidm/triage', { ...fields, csrf: 'x'.repeat(43) });
        assert.equal(wrongToken.status, 403);
        const anonymous = await new Browser(url).post('/apps/kanidm/triage', fields);
        assert.equal(anonymous.status, 403);
        const reader = await signedIn(url, readerToken);
        const readerPage = await (await reader.get('/apps/kanidm')).text();
        assert.doesNotMatch(readerPage, /action="\/apps\/kanidm\/triage"/, 'no triage form for a read-only token');
        assert.equal((await reader.post('/apps/kanidm/triage', { ...fields, csrf: csrfOf(readerPage) })).status, 403);
        assert.deepEqual(await fleetStore.triageDecisions(), []);
      });

      await t.test('a triage decision recorded from the form is the token name\'s, and the finding\'s state changes', async () => {
        const page = await (await alice.get('/apps/kanidm')).text();
        assert.match(page, /action="\/apps\/kanidm\/triage"/);
        // A refused decision (not_affected needs a justification): the reason as text, nothing stored.
        const refused = await alice.post('/apps/kanidm/triage', { csrf: csrfOf(page), advisory: HOSTILE_ADVISORY, package: 'regex', state: 'not_affected', reason: 'made up' });
        assert.equal(refused.status, 400);
        assert.match(await refused.text(), /Not recorded: state not_affected needs justification/);
        assert.deepEqual(await fleetStore.triageDecisions(), []);
        const res = await alice.post('/apps/kanidm/triage', {
          csrf: csrfOf(page),
          advisory: HOSTILE_ADVISORY,
          package: 'regex',
          state: 'not_affected',
          justification: 'code_not_reachable',
          reason: 'no <b>untrusted</b> patterns',
          expires: '',
        });
        assert.equal(res.status, 303);
        const decisions = await fleetStore.triageDecisions();
        assert.equal(decisions.length, 1);
        assert.equal(decisions[0]?.by, 'alice');
        assert.equal(decisions[0]?.state, 'not_affected');
        const after = await (await alice.get('/apps/kanidm')).text();
        assert.ok(after.includes('no &lt;b&gt;untrusted&lt;/b&gt; patterns'));
        assert.match(after, /accepted \(fleet triage\)/);
        const advisory = await (await alice.get(`/advisories/${HOSTILE_ADVISORY}`)).text();
        assert.match(advisory, /not_affected<\/span> <small>by alice/);
      });

      await t.test('revoking a token ends its sessions at once', async () => {
        const bob = await signedIn(url, await server?.token('bob') as string);
        assert.equal((await bob.get('/')).status, 200);
        assert.ok(await fleetStore.revokeToken('bob', new Date().toISOString()));
        const res = await bob.get('/apps/kanidm');
        assert.equal(res.status, 303);
        assert.match(res.headers.get('location') ?? '', /^\/sign-in/);
      });

      await t.test('signing out ends the session', async () => {
        const page = await (await alice.get('/')).text();
        const res = await alice.post('/sign-out', { csrf: csrfOf(page) });
        assert.equal(res.status, 303);
        assert.equal((await alice.get('/')).status, 303);
      });

      await t.test('sessions live in the store: a restart and a second server keep them, they expire, sign-out deletes them', async () => {
        const carol = await signedIn(url, await server?.token('carol') as string);
        const cookie = carol.cookie ?? '';
        const id = cookie.split('=')[1] ?? '';
        assert.match(id, /^[A-Za-z0-9_-]{43}$/);
        const hash = `sha256:${createHash('sha256').update(id).digest('hex')}`;
        const stored = await fleetStore.sessionByHash(hash, new Date().toISOString());
        assert.equal(stored?.token.name, 'carol', 'the store knows the session by the hash of its id');
        assert.equal(await fleetStore.sessionByHash(id, new Date().toISOString()), null, 'and not by the id itself');
        const asCarol = (base: string): Browser => Object.assign(new Browser(base), { cookie });

        // A second server over the same store (another process, or this one restarted) knows the session.
        const second = await startServer(made.store, cacheDir);
        try {
          const res = await asCarol(second.url).get('/');
          assert.equal(res.status, 200);
          assert.match(await res.text(), /carol/);
        } finally {
          await second.close();
        }
        // Thirteen hours on, the session has expired; a sign-in there deletes the expired ones (every session of this test: it runs last).
        const later = new Date(Date.now() + 13 * 3600_000);
        const future = await startServer(made.store, cacheDir, { now: () => later });
        try {
          assert.equal((await asCarol(future.url).get('/')).status, 303);
          await signedIn(future.url, aliceToken);
          assert.equal(await fleetStore.sessionByHash(hash, new Date(0).toISOString()), null, 'the expired session is gone from the store');
        } finally {
          await future.close();
        }

        // Signing out on one server ends the session on every server.
        const dave = await signedIn(url, await server?.token('dave') as string);
        const daveCookie = dave.cookie ?? '';
        const third = await startServer(made.store, cacheDir);
        try {
          const daveThere = Object.assign(new Browser(third.url), { cookie: daveCookie });
          assert.equal((await daveThere.get('/')).status, 200);
          const page = await (await dave.get('/')).text();
          assert.equal((await dave.post('/sign-out', { csrf: csrfOf(page) })).status, 303);
          assert.equal((await daveThere.get('/')).status, 303, 'the old cookie opens nothing anywhere');
          assert.equal((await Object.assign(new Browser(url), { cookie: daveCookie }).get('/')).status, 303);
        } finally {
          await third.close();
        }
      });

      await t.test('behind a TLS proxy (--trust-proxy) the sign-in cookie is Secure; without it X-Forwarded-Proto is ignored', async () => {
        const signIn = (base: string): Promise<Response> =>
          fetch(`${base}/sign-in`, {
            method: 'POST',
            redirect: 'manual',
            headers: { 'content-type': 'application/x-www-form-urlencoded', origin: base, 'x-forwarded-proto': 'https' },
            body: new URLSearchParams({ token: aliceToken, next: '/' }).toString(),
          });
        assert.doesNotMatch((await signIn(url)).headers.get('set-cookie') ?? '', /Secure/, 'any client can send the header: not trusted unless asked');
        const proxied = await startServer(made.store, cacheDir, { trustProxy: true });
        try {
          const res = await signIn(proxied.url);
          assert.equal(res.status, 303);
          assert.match(res.headers.get('set-cookie') ?? '', /; Secure/);
        } finally {
          await proxied.close();
        }
      });

      await t.test('with public read, pages open without a session, and nothing can be changed', async () => {
        const open = await startServer(made.store, cacheDir, { publicRead: true });
        try {
          const anon = new Browser(open.url);
          const res = await anon.get('/apps/kanidm');
          assert.equal(res.status, 200);
          assert.doesNotMatch(await res.text(), /triage"/);
          assert.equal((await anon.post('/apps/kanidm/triage', { csrf: '', advisory: HOSTILE_ADVISORY, state: 'in_triage', reason: 'x' })).status, 403);
        } finally {
          await open.close();
        }
      });

      await t.test('a long history: the page lists its newest entries and links to all; the pictures still cover every revision', async () => {
        const app = (await fleetStore.apps()).find((a) => a.name === 'kanidm');
        assert.ok(app !== undefined);
        const [older, newer] = await fleetStore.revisions(app.id);
        assert.ok(older !== undefined && newer !== undefined);
        // A CI that rolls back and promotes again on every run: entries far past what one page lists.
        const start = Date.parse((await fleetStore.history(app.id)).at(-1)?.at ?? '');
        const added = HISTORY_ROWS + 11;
        for (let i = 1; i <= added; i++) {
          const [from, to] = i % 2 === 1 ? [newer, older] : [older, newer];
          await fleetStore.appendHistory({ appId: app.id, at: new Date(start + i * 60_000).toISOString(), action: i % 2 === 1 ? 'rolled-back' : 'promoted', revisionId: to.id, previousRevisionId: from.id, by: 'ci' });
        }
        const total = (await fleetStore.history(app.id)).length;
        assert.ok(total > HISTORY_ROWS);
        const historyRows = (page: string): number => (/<table class="history">.*?<\/table>/s.exec(page)?.[0].match(/<tr><td>/g) ?? []).length;
        const reader = await signedIn(url, aliceToken);
        const page = await (await reader.get('/apps/kanidm')).text();
        assert.equal(historyRows(page), HISTORY_ROWS);
        assert.match(page, new RegExp(`The newest ${HISTORY_ROWS} entries of ${total}: <a href="/apps/kanidm\\?history=all">show all</a>`));
        // Both revisions are still offered to compare (the newest entries name both).
        assert.equal((/<select name="from">(.*?)<\/select>/s.exec(page)?.[1]?.match(/<option/g) ?? []).length, 2);
        const all = await (await reader.get('/apps/kanidm?history=all')).text();
        assert.equal(historyRows(all), total);
        assert.doesNotMatch(all, /show all/);
        // The exposure windows read each revision's findings from the store's columns: the same findings as their rows hold.
        const ids = [older.id, newer.id];
        const lines = await fleetStore.findingLinesOfRevisions(ids);
        const rows = await fleetStore.findingsOfRevisions(ids);
        for (const id of ids) {
          const keys = new Set((rows.get(id) ?? []).map(findingKey));
          assert.ok(keys.size > 0);
          assert.deepEqual(new Set((lines.get(id) ?? []).map(findingKey)), keys);
        }
      });
    } finally {
      await server?.close();
      await made.dispose();
    }
  });
}
