import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { api, startServer } from '../support/fleet-server.js';
import { freshStore, storeSkips, STORE_KINDS, type TestStore } from '../support/fleet-stores.js';
import { GHSA_NPM, runCli, tempDir, tempTree } from '../support/shared.js';

/*
 * An application added while no advisory named its git dependency (npm 6's package-lock v1
 * records the git specifier in the version's place) was kept as audited. When a later sync
 * brings the first advisory naming it, that package cannot be compared, as `stowage audit`
 * refuses it (exit 2, NOT audited): the sync keeps the other applications' findings, and the
 * application is said to be not audited by sync, status and show, which exit 2, until no advisory
 * names the package any more.
 */

const cacheDir = tempDir('fleet-not-audited-cache');

function fleetCli(store: TestStore) {
  return (...args: string[]) => runCli(['fleet', ...args, '--store', store.store], { cacheDir });
}

const GIT_LODASH = 'github:lodash/lodash#2da024c3b4f9947a48517639de7560457cd4ec6c';
const COMMIT = '2da024c3b4f9947a48517639de7560457cd4ec6c';
const NOT_COMPARED = new RegExp(`records no version they can be compared with: lodash ${COMMIT} \\(github:lodash/lodash#${COMMIT}\\)$`);

const gitLodashApp = (): string =>
  tempTree('fleet-not-audited-git', {
    'package.json': JSON.stringify({ name: 'np', version: '1.0.0', dependencies: { lodash: GIT_LODASH } }),
    'package-lock.json': JSON.stringify({ name: 'np', version: '1.0.0', lockfileVersion: 1, requires: true, dependencies: { lodash: { version: GIT_LODASH, from: GIT_LODASH } } }, null, 2),
  });

/** lodash 4.17.4 from the registry: the advisories naming lodash affect it. Its package.json asks for left-pad, which the lockfile lacks (npm ci refuses it; the audit warns). */
const registryLodashApp = (): string =>
  tempTree('fleet-not-audited-registry', {
    'package.json': JSON.stringify({ name: 'reg', version: '1.0.0', dependencies: { lodash: '4.17.4', 'left-pad': '^1.3.0' } }),
    'package-lock.json': JSON.stringify(
      {
        name: 'reg',
        version: '1.0.0',
        lockfileVersion: 3,
        requires: true,
        packages: {
          '': { name: 'reg', version: '1.0.0', dependencies: { lodash: '4.17.4' } },
          'node_modules/lodash': { version: '4.17.4', resolved: 'https://registry.npmjs.org/lodash/-/lodash-4.17.4.tgz' },
        },
      },
      null,
      2,
    ),
  });

/** The GHSA npm advisories naming lodash, and a directory database of the others. */
function databases(): { dir: string; lodash: string[] } {
  const dir = join(tempDir('fleet-not-audited-db'), 'db');
  mkdirSync(dir);
  const lodash: string[] = [];
  for (const name of readdirSync(GHSA_NPM).filter((n) => n.endsWith('.json'))) {
    const text = readFileSync(join(GHSA_NPM, name), 'utf8');
    if (/"name":\s*"lodash"/.test(text)) lodash.push(name);
    else copyFileSync(join(GHSA_NPM, name), join(dir, name));
  }
  assert.ok(lodash.length > 0, 'the GHSA export has advisories for lodash');
  return { dir, lodash };
}

interface AppJson {
  name: string;
  findings: { advisory: { id: string } }[];
  notAudited?: { reasons: string[]; packages: { name: string; version: string }[] };
  warnings?: string[];
}
interface SyncJson {
  changes: { app: string; change: string }[];
  notAudited: { app: string; reasons: string[] }[];
}

const skips = await storeSkips();

for (const kind of STORE_KINDS) {
  test(`an application whose git dependency an advisory comes to name is not audited after the sync, not ok, until none does (${kind})`, { skip: skips[kind] }, async () => {
    const store = await freshStore(kind);
    try {
      const fleet = fleetCli(store);
      const { dir, lodash } = databases();
      const git = gitLodashApp();
      assert.equal(fleet('init', '--db', dir).status, 0);
      const added = fleet('add', git, '--name', 'np');
      assert.equal(added.status, 0, `no advisory names lodash yet: ${added.stderr}`);
      assert.equal(fleet('add', registryLodashApp(), '--name', 'reg').status, 0);

      // The first advisories naming lodash.
      for (const name of lodash) copyFileSync(join(GHSA_NPM, name), join(dir, name));
      const refused = runCli(['audit', git, '--db', dir], { cacheDir });
      assert.equal(refused.status, 2, 'stowage audit refuses it');
      assert.match(refused.stderr.split(';')[0] ?? '', NOT_COMPARED);

      const sync = fleet('sync', '--format', 'json');
      assert.equal(sync.status, 2, `the sync is not ok:\n${sync.stderr}`);
      assert.match(sync.stderr, /^stowage: 1 application is not audited .*: np$/m);
      const synced = JSON.parse(sync.stdout) as SyncJson;
      assert.deepEqual(synced.notAudited.map((a) => a.app), ['np']);
      assert.match(synced.notAudited[0]?.reasons[0] ?? '', NOT_COMPARED);
      assert.ok(synced.changes.some((c) => c.app === 'reg' && c.change === 'new'), 'the other application\'s findings are written');
      assert.ok(synced.changes.every((c) => c.app === 'reg'));

      const status = fleet('status', '--format', 'json');
      assert.equal(status.status, 2, `fleet status is not ok:\n${status.stderr}`);
      assert.match(status.stderr, /^stowage: 1 application is not audited .*: np$/m);
      const apps = (JSON.parse(status.stdout) as { apps: AppJson[] }).apps;
      assert.deepEqual(apps.map((a) => [a.name, a.notAudited !== undefined]), [['np', true], ['reg', false]]);
      assert.match(apps[0]?.notAudited?.reasons[0] ?? '', NOT_COMPARED);
      assert.deepEqual(apps[0]?.notAudited?.packages.map((p) => `${p.name} ${p.version}`), [`lodash ${COMMIT}`]);
      assert.ok((apps[1]?.findings.length ?? 0) > 0);

      const text = fleet('status');
      assert.equal(text.status, 2);
      assert.match(text.stdout, /^np {2}sha256:\S+ \(revision 1\) {2}NOT audited$/m);
      assert.match(text.stdout, /^ {2}NOT audited: 1 package not from a registry .*: lodash 2da024c\S+ \(github:lodash\/lodash#2da024c\S+\)$/m);
      assert.match(text.stdout, /^result: NOT AUDITED, 1 application is not audited/m);
      for (const format of ['human', 'json']) assert.equal(fleet('show', 'np', '--format', format).status, 2, `fleet show (${format})`);

      // The summary (what a cron job or the API's list reads) says it too, and exits 2.
      const summary = fleet('status', '--summary', '--format', 'json');
      assert.equal(summary.status, 2, `fleet status --summary is not ok:\n${summary.stderr}`);
      assert.match(summary.stderr, /^stowage: 1 application is not audited .*: np$/m);
      const summaries = (JSON.parse(summary.stdout) as { apps: { name: string; notAudited?: true }[] }).apps;
      assert.deepEqual(summaries.map((a) => [a.name, a.notAudited ?? false]), [['np', true], ['reg', false]]);
      const summaryText = fleet('status', '--summary');
      assert.equal(summaryText.status, 2);
      assert.match(summaryText.stdout, /^np {2}sha256:\S+ \(revision 1\) {2}NOT audited \(fleet show np says why\)$/m);
      assert.match(summaryText.stdout, /^result: NOT AUDITED, 1 application is not audited/m);

      // The server's view of each application: the same state, and the warnings `fleet show` says on standard error.
      const server = await startServer(store.store, cacheDir, { publicRead: true });
      try {
        const token = await server.token('reader', true);
        const list = await api<{ apps: { name: string; notAudited?: true }[] }>(server, 'GET', '/apps', { token });
        assert.deepEqual(list.body.apps.map((a) => [a.name, a.notAudited ?? false]), [['np', true], ['reg', false]], 'GET /apps (the summary)');
        const home = await (await fetch(`${server.url}/`)).text();
        assert.match(home.slice(home.indexOf('>np</a>'), home.indexOf('>reg</a>')), /NOT audited/, 'the dashboard\'s fleet list');
        assert.doesNotMatch(home.slice(home.indexOf('>reg</a>')), /NOT audited/);
        for (const name of ['np', 'reg']) {
          const answer = await api<{ apps: AppJson[] }>(server, 'GET', `/apps/${name}`, { token });
          assert.equal(answer.status, 200);
          const [app] = answer.body.apps;
          assert.deepEqual(app?.notAudited, apps.find((a) => a.name === name)?.notAudited, `${name}: as fleet status says`);
          const shown = fleet('show', name).stderr.split('\n').filter((l) => l.startsWith('stowage: warning: ')).map((l) => l.slice('stowage: warning: '.length));
          assert.deepEqual(app?.warnings, shown, `${name}: fleet show's warnings`);
          if (name === 'reg') assert.ok(shown.some((w) => w.includes('the lockfile is older than package.json')), shown.join('\n'));
        }
      } finally {
        await server.close();
      }

      // Adding the same content again is refused as the audit refuses it, not said to be unchanged and fine.
      const readd = fleet('add', git, '--name', 'np');
      assert.equal(readd.status, 2, readd.stderr);
      assert.match(readd.stderr.split('\n')[0]?.split(';')[0] ?? '', NOT_COMPARED);

      // A sync that changes nothing says it again: the state is kept, not only reported once.
      const again = fleet('sync', '--format', 'json');
      assert.equal(again.status, 2);
      assert.deepEqual((JSON.parse(again.stdout) as SyncJson).notAudited.map((a) => a.app), ['np']);

      // No advisory names lodash any more: audited again, and ok.
      for (const name of lodash) rmSync(join(dir, name));
      const cleared = fleet('sync', '--format', 'json');
      assert.equal(cleared.status, 0, cleared.stderr);
      assert.deepEqual((JSON.parse(cleared.stdout) as SyncJson).notAudited, []);
      const ok = fleet('status', '--format', 'json');
      assert.equal(ok.status, 0, ok.stderr);
      assert.ok((JSON.parse(ok.stdout) as { apps: AppJson[] }).apps.every((a) => a.notAudited === undefined));
      assert.equal(fleet('show', 'np').status, 0);
      assert.equal(fleet('add', git, '--name', 'np').status, 0, 'the same content added again: unchanged, and audited');
    } finally {
      await store.dispose();
    }
  });
}

interface HistoryJson {
  history: { revision: { id: string; seq: number; notAudited?: { reasons: string[]; packages: { name: string; version: string }[] } } }[];
}
interface DiffJson {
  apps: { name: string; findings: { new: unknown[]; resolved: unknown[] }; notAudited?: { from: { reasons: string[] } | null; to: { reasons: string[]; packages: { name: string; version: string }[] } | null } }[];
}

for (const kind of STORE_KINDS) {
  test(`history, diff and the API's list of failing applications say a revision is not audited, as status does (${kind})`, { skip: skips[kind] }, async () => {
    const store = await freshStore(kind);
    try {
      const fleet = fleetCli(store);
      const { dir, lodash } = databases();
      assert.equal(fleet('init', '--db', dir).status, 0);
      // Revision 1 locks lodash from the registry, revision 2 from git; no advisory names lodash yet.
      assert.equal(fleet('add', registryLodashApp(), '--name', 'np').status, 0);
      assert.equal(fleet('snapshot', 'before').status, 0);
      assert.equal(fleet('add', gitLodashApp(), '--name', 'np').status, 0);
      assert.equal(fleet('snapshot', 'after').status, 0);
      for (const name of lodash) copyFileSync(join(GHSA_NPM, name), join(dir, name));
      assert.equal(fleet('sync').status, 2, 'np is not audited now');

      const history = fleet('history', 'np', '--format', 'json');
      assert.equal(history.status, 0, history.stderr);
      const revisions = (JSON.parse(history.stdout) as HistoryJson).history.map((e) => e.revision);
      assert.deepEqual(revisions.map((r) => [r.seq, r.notAudited !== undefined]), [[1, false], [2, true]]);
      assert.match(revisions[1]?.notAudited?.reasons[0] ?? '', NOT_COMPARED);
      assert.deepEqual(revisions[1]?.notAudited?.packages.map((p) => `${p.name} ${p.version}`), [`lodash ${COMMIT}`]);
      const historyText = fleet('history', 'np').stdout.split('\n');
      assert.equal(historyText.filter((l) => l.includes('NOT audited')).length, 1, historyText.join('\n'));
      assert.match(historyText[historyText.findIndex((l) => l.includes('(revision 2,')) + 1] ?? '', /^ {4}NOT audited: 1 package not from a registry /);

      // From the audited revision to the one not audited: no finding new is no verdict on it.
      const [from, to] = revisions.map((r) => r.id) as [string, string];
      // Written, saying so, and exit 2 as fleet status does: a script reading "no finding new" must not take it for a verdict.
      const diff = fleet('diff', 'np', from, to, '--format', 'json');
      assert.equal(diff.status, 2, diff.stderr);
      assert.match(diff.stderr, /^stowage: a revision of the diff is not audited .*: np revision 2\n$/);
      const [app] = (JSON.parse(diff.stdout) as DiffJson).apps;
      assert.deepEqual(app?.findings, { new: [], resolved: [] });
      assert.equal(app?.notAudited?.from, null);
      assert.match(app?.notAudited?.to?.reasons[0] ?? '', NOT_COMPARED);
      assert.match(fleet('diff', 'np', from, to).stdout, /^ {2}NOT audited \(to\): 1 package not from a registry .*: lodash 2da024c\S+/m);
      const backward = fleet('diff', 'np', to, from, '--format', 'json');
      assert.equal(backward.status, 2, backward.stderr);
      const back = JSON.parse(backward.stdout) as DiffJson;
      assert.ok(back.apps[0]?.notAudited?.from !== null && back.apps[0]?.notAudited?.to === null, 'the other way round');
      const audited = fleet('diff', 'np', from, from, '--format', 'json');
      assert.equal(audited.status, 0, audited.stderr);
      const same = JSON.parse(audited.stdout) as DiffJson;
      assert.equal(same.apps[0]?.notAudited, undefined, 'both sides audited: nothing said');
      for (const format of ['json', 'human']) {
        const snapshots = fleet('diff', '--snapshots', 'before', 'after', '--format', format);
        assert.equal(snapshots.status, 2, `fleet diff --snapshots --format ${format}: ${snapshots.stderr}`);
        assert.match(snapshots.stderr, /^stowage: a revision of the diff is not audited .*: np revision 2\n$/);
      }

      // A VEX of it would leave out what could not be compared: refused as the audit refuses it, nothing written.
      const vexFile = join(tempDir('fleet-not-audited-vex'), 'np.vex.json');
      const vex = fleet('export', 'np', '--format', 'vex', '--output', vexFile);
      assert.equal(vex.status, 2, vex.stderr);
      assert.match(vex.stderr.split('\n')[0]?.split(';')[0] ?? '', NOT_COMPARED);
      assert.equal(existsSync(vexFile), false);
      assert.equal(fleet('export', 'np', '--format', 'vex', '--revision', from).status, 0, 'revision 1 was audited');
      assert.equal(fleet('export', 'np', '--format', 'cyclonedx').status, 0, 'an SBOM says nothing of vulnerabilities');

      const server = await startServer(store.store, cacheDir, { publicRead: true });
      try {
        const token = await server.token('reader', true);
        const exported = await api(server, 'GET', '/apps/np/export?format=vex', { token });
        assert.ok(exported.status >= 400, `GET /apps/np/export?format=vex is refused: ${exported.status}`);
        for (const view of ['', '&view=full']) {
          const failing = await api<{ apps: { name: string }[] }>(server, 'GET', `/apps?state=failing${view}`, { token });
          assert.equal(failing.status, 200);
          assert.ok(failing.body.apps.some((a) => a.name === 'np'), `GET /apps?state=failing${view} lists the application not audited: ${JSON.stringify(failing.body.apps.map((a) => a.name))}`);
        }
        const answered = await api<HistoryJson>(server, 'GET', '/apps/np/history', { token });
        assert.deepEqual(answered.body.history.map((e) => e.revision.notAudited), revisions.map((r) => r.notAudited), 'GET /apps/np/history: as fleet history says');
        const diffed = await api<DiffJson>(server, 'GET', `/apps/np/diff?from=${from}&to=${to}`, { token });
        assert.deepEqual(diffed.body.apps[0]?.notAudited, app?.notAudited, 'GET /apps/np/diff: as fleet diff says');
      } finally {
        await server.close();
      }
    } finally {
      await store.dispose();
    }
  });
}
