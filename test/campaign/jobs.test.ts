import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ATTEMPTS_LIMIT, storeGate } from '../../src/campaign/app-job.js';
import { campaignView, startCampaign } from '../../src/campaign/campaign.js';
import { runCampaignWorker } from '../../src/campaign/campaign-worker.js';
import { PRIORITY } from '../../src/campaign/job-queue.js';
import { openJobQueue } from '../../src/campaign/open-queue.js';
import { compressBytes, decompressBytes, documentDigest } from '../../src/fleet/revision.js';
import { materialiseSource } from '../../src/fleet/source.js';
import type { CampaignRecord } from '../../src/fleet/store/campaign-store.js';
import { openFleetStore } from '../../src/fleet/store/open-store.js';
import { PostgresDriver } from '../../src/fleet/store/postgres-driver.js';
import { CAMPAIGN_JOBS_APP_INDEX_VERSION, REVISION_DOCUMENTS_VERSION } from '../../src/fleet/store/migrations.js';
import { documentsNamed, enqueueJobs, HELD_CHECKPOINTS } from '../../src/fleet/store/sql-campaign-store.js';
import type { SqlDriver, SqlExecutor, SqlValue, TransactionOptions } from '../../src/fleet/store/sql.js';
import { SqlFleetStore } from '../../src/fleet/store/sql-store.js';
import { SqliteDriver } from '../../src/fleet/store/sqlite-driver.js';
import type { FleetStore } from '../../src/fleet/store/store.js';
import { rustsecAdvisoryDb } from '../support/advisory-fixtures.js';
import { ADVISORY_ID, STEPS, VULNERABLE, cargoLock, cheapBuilder, writeRustApp } from '../support/campaign-fleet.js';
import { freshStore, storeSkips, STORE_KINDS, withStore as withStoreSql, type TestStore } from '../support/fleet-stores.js';
import { PROJECT_ROOT, runCli, tempDir } from '../support/shared.js';

const skips = await storeSkips();
const cacheDir = tempDir('campaign-cache');

interface CampaignJson {
  id: number;
  state: string;
  advisory: { id: string; aliases: string[] };
  apps: {
    app: string;
    state: string;
    step: string | null;
    fix: { name: string; from: string; to: string }[];
    candidate: { revision: string; artifacts: Record<string, string | null> } | null;
    steps: { step: string; state: string; startedAt: string; endedAt: string | null }[];
  }[];
}

/** A fleet with `names` added as directories (source kept) and `lockfileOnly` from a lockfile alone. */
function makeFleet(store: TestStore, names: string[], lockfileOnly: string[] = []): (...args: string[]) => ReturnType<typeof runCli> {
  const root = tempDir('campaign-fleet');
  const db = rustsecAdvisoryDb(join(root, 'db'), [{ id: ADVISORY_ID, package: VULNERABLE.name, patched: [`>= ${VULNERABLE.to}`] }]);
  const fleet = (...args: string[]) => runCli(['fleet', ...args, '--store', store.store], { cacheDir });
  assert.equal(fleet('init', '--db', db).status, 0);
  const dirs = names.map((n) => writeRustApp(join(root, 'apps'), n));
  const files = lockfileOnly.map((n) => {
    const file = join(root, `${n}.Cargo.lock`);
    writeFileSync(file, cargoLock(n, VULNERABLE.from));
    return file;
  });
  const add = fleet('add', ...dirs, ...files);
  assert.equal(add.status, 1, add.stderr); // every application has the finding
  return fleet;
}

async function withStore<T>(store: TestStore, work: (fleet: FleetStore) => Promise<T>): Promise<T> {
  const fleet = await openFleetStore(store.store);
  try {
    return await work(fleet);
  } finally {
    await fleet.close();
  }
}

/**
 * One worker (concurrency 1) that takes every queued job and stops when none is left: the jobs
 * of `enqueue` (a campaign and its applications) are queued first.
 */
async function drainOneWorker(store: TestStore, fleet: FleetStore, markerFile: string, enqueue?: { campaign: number; apps: number[] }): Promise<void> {
  const gate = storeGate();
  const queue = await openJobQueue(store.store, fleet, gate);
  try {
    if (enqueue) await queue.enqueue(enqueue.campaign, enqueue.apps, PRIORITY.userStarted);
    await runCampaignWorker({ store: fleet, gate, queue, builder: cheapBuilder({ stepMs: 0, markerFile }), concurrency: 1, drain: true });
  } finally {
    await queue.close();
  }
}

/** Starts a campaign for the advisory and queues its jobs, as `campaign start --detach` does. */
async function startDetached(store: TestStore, apps: string[] = []): Promise<number> {
  return withStore(store, async (fleet) => {
    const started = await startCampaign(fleet, { id: ADVISORY_ID, apps, publish: true, sandbox: 'none', by: 'test', now: new Date() });
    const queue = await openJobQueue(store.store, fleet, storeGate());
    try {
      await queue.enqueue(started.campaign.id, started.queued, PRIORITY.userStarted);
    } finally {
      await queue.close();
    }
    return started.campaign.id;
  });
}

function show(fleet: (...args: string[]) => ReturnType<typeof runCli>, id: number): CampaignJson {
  const shown = fleet('campaign', 'show', String(id), '--format', 'json');
  assert.ok(shown.status === 0 || shown.status === 1, shown.stderr);
  return JSON.parse(shown.stdout) as CampaignJson;
}

for (const kind of STORE_KINDS) {
  const skip = skips[kind];

  test(`fleet add DIR keeps the source Source0 would take; a campaign rebuilds it into candidates, not current (${kind})`, { skip }, async () => {
    const store = await freshStore(kind);
    try {
      const fleet = makeFleet(store, ['alpha', 'beta'], ['gamma']);
      const before = JSON.parse(fleet('status', '--format', 'json').stdout) as { apps: { name: string; revision: string }[] };
      // The kept source, materialised, is the directory's files.
      await withStore(store, async (f) => {
        const alpha = await f.app('alpha');
        const out = join(tempDir('materialised'), 'src');
        assert.equal(await materialiseSource(f, alpha?.currentRevision as number, out), 3);
        assert.deepEqual(readdirSync(out).sort(), ['Cargo.lock', 'Cargo.toml', 'src']);
        assert.equal(readFileSync(join(out, 'Cargo.lock'), 'utf8'), cargoLock('alpha', VULNERABLE.from));
        const gamma = await f.app('gamma');
        assert.equal(await materialiseSource(f, gamma?.currentRevision as number, join(tempDir('none'), 'src')), null);
      });
      const marker = join(tempDir('marker'), 'done.txt');
      const id = await withStore(store, async (f) => {
        const started = await startCampaign(f, { id: ADVISORY_ID, apps: [], publish: false, sandbox: 'none', by: 'test', now: new Date() });
        const gate = storeGate();
        const queue = await openJobQueue(store.store, f, gate);
        try {
          await queue.enqueue(started.campaign.id, started.queued, PRIORITY.userStarted);
          await runCampaignWorker({ store: f, gate, queue, builder: cheapBuilder({ stepMs: 0, markerFile: marker }), concurrency: 2, drain: false, untilCampaignEnds: started.campaign.id });
        } finally {
          await queue.close();
        }
        return started.campaign.id;
      });
      const json = show(fleet, id);
      assert.equal(json.state, 'done');
      assert.equal(json.advisory.id, ADVISORY_ID);
      assert.deepEqual(
        json.apps.map((a) => [a.app, a.state]),
        [
          ['alpha', 'candidate'],
          ['beta', 'candidate'],
          ['gamma', 'needs-source'],
        ],
      );
      for (const a of json.apps.slice(0, 2)) {
        assert.deepEqual(a.steps.map((s) => [s.step, s.state]), STEPS.map((s) => [s, 'done']));
        for (const s of a.steps) assert.ok(s.endedAt !== null && s.startedAt <= s.endedAt);
        assert.deepEqual(a.fix.map((f) => [f.name, f.from, f.to]), [[VULNERABLE.name, VULNERABLE.from, VULNERABLE.to]]);
        assert.match(a.candidate?.artifacts.lockfile ?? '', /^sha256:[0-9a-f]{64}$/);
        assert.equal(a.candidate?.artifacts.srpm, null);
      }
      // The candidate is a revision of its own (origin candidate) holding the fixed lockfile; the current one is unchanged.
      await withStore(store, async (f) => {
        const alpha = await f.app('alpha');
        const revisions = await f.revisions(alpha?.id as number);
        const candidate = revisions.find((r) => r.digest === json.apps[0]?.candidate?.revision);
        assert.equal(candidate?.origin, 'candidate');
        assert.notEqual(alpha?.currentRevision, candidate?.id);
        const lock = candidate?.documents.find((d) => d.name === 'Cargo.lock');
        const bytes = decompressBytes((await f.document(lock?.digest as string)) as Buffer).toString('utf8');
        assert.equal(bytes, cargoLock('alpha', VULNERABLE.to));
        // --no-publish: no event.
        assert.deepEqual((await f.deliveries()).filter((d) => d.type === 'campaign'), []);
      });
      assert.deepEqual(JSON.parse(fleet('status', '--format', 'json').stdout), before);
      assert.deepEqual(readFileSync(marker, 'utf8').split('\n').filter(Boolean).sort(), ['alpha', 'beta']);
      const list = fleet('campaign', 'list');
      assert.equal(list.status, 0);
      assert.match(list.stdout, new RegExp(`^${id}  ${ADVISORY_ID}  done  `));
      const human = fleet('campaign', 'show', String(id));
      assert.equal(human.status, 1, 'gamma has no candidate');
      assert.match(human.stdout, /gamma +needs-source/);
    } finally {
      await store.dispose();
    }
  });

  test(`a cancelled campaign runs nothing more; bad ids are one line and exit 2 (${kind})`, { skip }, async () => {
    const store = await freshStore(kind);
    try {
      const fleet = makeFleet(store, ['alpha', 'beta']);
      const detached = fleet('campaign', 'start', ADVISORY_ID, '--detach', '--app', 'beta');
      assert.equal(detached.status, 0, detached.stderr);
      const id = Number(/campaign (\d+) started: 1 application queued/.exec(detached.stdout)?.[1]);
      assert.deepEqual(show(fleet, id).apps.map((a) => [a.app, a.state]), [['beta', 'planned']]);
      assert.equal(fleet('campaign', 'cancel', String(id)).status, 0);
      const marker = join(tempDir('marker'), 'done.txt');
      // A worker killed earlier left its attempt's work directory: the next worker removes it.
      const dead = spawnSync(process.execPath, ['-e', '0']).pid as number;
      const abandoned = join(tmpdir(), `stowage-campaign-${dead}-Dead00`);
      mkdirSync(join(abandoned, 'source'), { recursive: true });
      await withStore(store, (f) => drainOneWorker(store, f, marker));
      assert.equal(existsSync(abandoned), false, 'the dead worker\'s work directory is removed');
      assert.equal(existsSync(marker), false, 'no job ran');
      const json = show(fleet, id);
      assert.equal(json.state, 'cancelled');
      assert.deepEqual(json.apps.map((a) => [a.app, a.state]), [['beta', 'cancelled']]);
      const again = fleet('campaign', 'cancel', String(id));
      assert.equal(again.status, 2);
      assert.match(again.stderr, /^stowage: campaign \d+ is cancelled: nothing to cancel\n$/);
      for (const args of [
        ['campaign', 'show', '999'],
        ['campaign', 'show', '1; DROP TABLE apps'],
        ['campaign', 'start', 'RUSTSEC-2099-9999'],
        ['campaign', 'start', ADVISORY_ID, '--app', 'nosuch'],
      ]) {
        const r = fleet(...args);
        assert.equal(r.status, 2, args.join(' '));
        assert.equal(r.stderr.split('\n').filter(Boolean).length, 1, r.stderr);
      }
    } finally {
      await store.dispose();
    }
  });

  test(`two workers share a campaign: each application once; a worker killed mid-step, the other resumes after the steps it completed (${kind})`, { skip, timeout: 180_000 }, async () => {
    const store = await freshStore(kind);
    try {
      const names = ['a1', 'a2', 'a3', 'a4', 'a5', 'a6'];
      const fleet = makeFleet(store, names);
      const id = await startDetached(store);
      const scratch = tempDir('marker');
      const marker = join(scratch, 'done.txt');
      const stepsRun = join(scratch, 'steps.txt');
      const env = { ...process.env, STOWAGE_CAMPAIGN_LEASE_SECONDS: '2' };
      const worker = (...extra: string[]): { child: ChildProcess; exited: Promise<number | null> } => {
        const child = spawn(process.execPath, [join(PROJECT_ROOT, 'dist', 'test', 'support', 'campaign-worker.js'), store.store, '1', '100', marker, stepsRun, ...extra], {
          env,
          stdio: ['ignore', 'pipe', 'inherit'],
        });
        return { child, exited: new Promise((r) => child.on('exit', (code) => r(code))) };
      };
      // The first worker's build never ends: it is killed in the middle of it, its earlier steps recorded done.
      const first = worker('build');
      let victim: string | undefined;
      await withStore(store, async (f) => {
        for (let i = 0; i < 2400 && victim === undefined; i++) {
          await new Promise((r) => setTimeout(r, 25));
          victim = (await f.campaigns.apps(id)).find((a) => a.state === 'running' && a.step === 'build')?.app;
        }
      });
      first.child.kill('SIGKILL');
      assert.equal(await first.exited, null);
      assert.ok(victim !== undefined, 'the first worker never reached a build');
      const second = worker();

      assert.equal(await second.exited, 0);

      const json = show(fleet, id);
      assert.equal(json.state, 'done');
      assert.deepEqual(json.apps.map((a) => [a.app, a.state]), names.map((n) => [n, 'candidate']));
      for (const a of json.apps) assert.deepEqual(a.steps.map((s) => [s.step, s.state]), STEPS.map((s) => [s, 'done']), a.app);
      // Each application ran to completion once: the killed one was never finished by the dead worker.
      assert.deepEqual(readFileSync(marker, 'utf8').split('\n').filter(Boolean).sort(), names);
      // Each step was started once, but the one the worker died in: the steps it had completed were not run again.
      const started = new Map<string, number>();
      for (const line of readFileSync(stepsRun, 'utf8').split('\n').filter(Boolean)) started.set(line, (started.get(line) ?? 0) + 1);
      for (const n of names) {
        for (const s of STEPS) assert.equal(started.get(`${n} ${s}`), n === victim && s === 'build' ? 2 : 1, `${n} ${s}`);
      }
      await withStore(store, async (f) => {
        const victimApp = (await f.campaigns.apps(id)).find((a) => a.app === victim);
        assert.equal(victimApp?.attempts, 2, 'the killed job was taken again');
        assert.equal(victimApp?.checkpoint, null, 'the checkpoint goes with the end of the work');
        for (const n of names) {
          const app = await f.app(n);
          const candidates = (await f.revisions(app?.id as number)).filter((r) => r.origin === 'candidate');
          assert.equal(candidates.length, 1, n);
          // The lockfile change made by the dead worker's apply step came back with its checkpoint.
          const lock = candidates[0]?.documents.find((d) => d.name === 'Cargo.lock');
          assert.equal(decompressBytes((await f.document(lock?.digest as string)) as Buffer).toString('utf8'), cargoLock(n, VULNERABLE.to), n);
        }
      });
    } finally {
      await store.dispose();
    }
  });

  test(`a campaign committed whose jobs were never queued (its starter killed): a worker queues and runs each application once (${kind})`, { skip }, async () => {
    const store = await freshStore(kind);
    try {
      const fleet = makeFleet(store, ['alpha', 'beta']);
      const scratch = tempDir('marker');
      const marker = join(scratch, 'done.txt');
      const stepsRun = join(scratch, 'steps.txt');
      const id = await withStore(store, async (f) => {
        // What `campaign start` leaves when killed after its transaction: the campaign, its applications planned, alpha's job alone queued.
        const started = await startCampaign(f, { id: ADVISORY_ID, apps: [], publish: true, sandbox: 'none', by: 'test', now: new Date() });
        const [alpha] = started.queued as [number, number];
        const gate = storeGate();
        const queue = await openJobQueue(store.store, f, gate);
        try {
          await queue.enqueue(started.campaign.id, [alpha], PRIORITY.userStarted);
          // Queueing is idempotent: asked again (as the worker's reconciliation does), alpha still has one job.
          await queue.enqueue(started.campaign.id, [alpha], PRIORITY.userStarted);
          assert.equal(await queue.pending(), 1);
          await runCampaignWorker({ store: f, gate, queue, builder: cheapBuilder({ stepMs: 0, markerFile: marker, stepsFile: stepsRun }), concurrency: 2, drain: true });
        } finally {
          await queue.close();
        }
        return started.campaign.id;
      });
      const json = show(fleet, id);
      assert.equal(json.state, 'done');
      assert.deepEqual(json.apps.map((a) => [a.app, a.state]), [['alpha', 'candidate'], ['beta', 'candidate']]);
      assert.deepEqual(readFileSync(marker, 'utf8').split('\n').filter(Boolean).sort(), ['alpha', 'beta']);
      const started = readFileSync(stepsRun, 'utf8').split('\n').filter(Boolean).sort();
      assert.deepEqual(started, ['alpha', 'beta'].flatMap((a) => STEPS.map((s) => `${a} ${s}`)).sort());
    } finally {
      await store.dispose();
    }
  });

  test(`checkpoints leave no documents behind: each step's work directory is dropped with the next, the last with the outcome; the candidate stays promotable, and once promoted its campaign says so (${kind})`, { skip }, async () => {
    const store = await freshStore(kind);
    try {
      const names = ['k1', 'k2'];
      const fleet = makeFleet(store, names);
      const id = await startDetached(store);
      await withStore(store, (f) => drainOneWorker(store, f, join(tempDir('marker'), 'done.txt')));
      const json = show(fleet, id);
      assert.deepEqual(json.apps.map((a) => [a.app, a.state]), names.map((n) => [n, 'candidate']));
      await withStore(store, async (f) => {
        // The builder's progress file after each step (a checkpoint of each step carried one): nothing names them now.
        for (let i = 1; i <= STEPS.length; i++) {
          const progress = `${STEPS.slice(0, i).join('\n')}\n`;
          assert.equal(await f.document(documentDigest(Buffer.from(progress))), null, `the progress file after ${STEPS[i - 1]} is not kept`);
        }
        for (const n of names) {
          const app = await f.app(n);
          const candidate = (await f.revisions(app?.id as number)).find((r) => r.origin === 'candidate');
          // The changed lockfile came to the candidate through a checkpoint: the candidate's document and artifact keep it.
          const lock = candidate?.documents.find((d) => d.name === 'Cargo.lock');
          assert.equal(decompressBytes((await f.document(lock?.digest as string)) as Buffer).toString('utf8'), cargoLock(n, VULNERABLE.to), n);
        }
      });
      const promoted = fleet('promote', 'k1', json.apps[0]?.candidate?.revision as string, '--format', 'json');
      assert.equal(promoted.status, 0, promoted.stderr);
      // The campaign says which of its candidates became current.
      assert.deepEqual(show(fleet, id).apps.map((a) => [a.app, a.state]), [['k1', 'promoted'], ['k2', 'candidate']]);
      assert.match(fleet('campaign', 'show', String(id)).stdout, /k1 +promoted/);
      // Rolled back, the candidate is no longer current: a candidate again; rolled back again, current again.
      // (exit 1: the revision made current again is the vulnerable one)
      const undone = fleet('rollback', 'k1');
      assert.equal(undone.status, 1, undone.stderr);
      assert.deepEqual(show(fleet, id).apps.map((a) => [a.app, a.state]), [['k1', 'candidate'], ['k2', 'candidate']]);
      assert.match(fleet('campaign', 'show', String(id)).stdout, /k1 +candidate/);
      const redone = fleet('rollback', 'k1');
      assert.equal(redone.status, 0, redone.stderr);
      assert.deepEqual(show(fleet, id).apps.map((a) => [a.app, a.state]), [['k1', 'promoted'], ['k2', 'candidate']]);
    } finally {
      await store.dispose();
    }
  });

  test(`promote refuses a candidate whose lockfile or kept source in the store is no longer what its campaign tested: one line, exit 2, nothing changed (${kind})`, { skip }, async () => {
    const store = await freshStore(kind);
    try {
      const names = ['t1', 't2'];
      const fleet = makeFleet(store, names);
      const id = await startDetached(store);
      await withStore(store, (f) => drainOneWorker(store, f, join(tempDir('marker'), 'done.txt')));
      const json = show(fleet, id);
      assert.deepEqual(json.apps.map((a) => [a.app, a.state]), names.map((n) => [n, 'candidate']));
      // What was tested, by digest: t1's changed lockfile (a document of the candidate and its lockfile artifact), t2's kept source.
      const tested = await withStore(store, async (f) => {
        const [t1, t2] = await Promise.all(names.map(async (n) => (await f.revisions((await f.app(n))?.id as number)).find((r) => r.origin === 'candidate')));
        return { lockfile: t1?.documents.find((d) => d.name === 'Cargo.lock')?.digest as string, source: (await f.revisionSource(t2?.id as number))?.digest as string };
      });
      assert.equal(json.apps[0]?.candidate?.artifacts.lockfile, tested.lockfile);
      // The store's bytes changed under those digests after the test (the lockfile back to the vulnerable version).
      await withStoreSql(store, async (sql) => {
        await sql.run('UPDATE documents SET content = ? WHERE digest = ?', [compressBytes(Buffer.from(cargoLock('t1', VULNERABLE.from))), tested.lockfile]);
        await sql.run('UPDATE documents SET content = ? WHERE digest = ?', [compressBytes(Buffer.from('not the tested source')), tested.source]);
      });
      const status = (): unknown => JSON.parse(fleet('status', '--format', 'json').stdout);
      const history = (n: string): unknown => JSON.parse(fleet('history', n, '--format', 'json').stdout);
      const before = { status: status(), history: names.map(history) };
      for (const [i, n] of names.entries()) {
        const promoted = fleet('promote', n, json.apps[i]?.candidate?.revision as string);
        assert.equal(promoted.status, 2, promoted.stdout);
        assert.equal(promoted.stdout, '');
        assert.match(promoted.stderr, new RegExp(`^stowage: [^\\n]*: candidate revision 2 \\(sha256:[0-9a-f]{12}\\) of "${n}": its ${i === 0 ? 'Cargo.lock' : 'kept source'} in the store no longer has the digest it was recorded with \\(sha256:[0-9a-f]{12}\\); it is not what its campaign tested, nothing was promoted\\n$`));
      }
      assert.deepEqual({ status: status(), history: names.map(history) }, before);
    } finally {
      await store.dispose();
    }
  });

  test(`promote re-hashes a candidate that is a revision fleet add recorded before (the same content): changed bytes are refused, nothing changed (${kind})`, { skip }, async () => {
    const store = await freshStore(kind);
    try {
      const fleet = makeFleet(store, ['t0']);
      // t1 was once added with the fixed lockfile (revision 1), then with the vulnerable one (revision 2, current).
      const dir = writeRustApp(join(tempDir('campaign-reused'), 'apps'), 't1');
      writeFileSync(join(dir, 'Cargo.lock'), cargoLock('t1', VULNERABLE.to));
      assert.equal(fleet('add', dir).status, 0);
      writeFileSync(join(dir, 'Cargo.lock'), cargoLock('t1', VULNERABLE.from));
      assert.equal(fleet('add', dir).status, 1);
      const id = await startDetached(store, ['t1']);
      await withStore(store, (f) => drainOneWorker(store, f, join(tempDir('marker'), 'done.txt')));
      const candidate = show(fleet, id).apps.find((a) => a.app === 't1')?.candidate;
      // The campaign's fix is revision 1's content: the candidate is that revision, recorded by the add.
      const reused = await withStore(store, async (f) => (await f.revisions((await f.app('t1'))?.id as number)).find((r) => r.digest === candidate?.revision));
      assert.deepEqual([reused?.seq, reused?.origin], [1, 'add']);
      const lockfile = reused?.documents.find((d) => d.name === 'Cargo.lock')?.digest as string;
      assert.equal(candidate?.artifacts.lockfile, lockfile);
      // The tested lockfile's bytes changed in the store since (back to the vulnerable version).
      await withStoreSql(store, (sql) => sql.run('UPDATE documents SET content = ? WHERE digest = ?', [compressBytes(Buffer.from(cargoLock('t1', VULNERABLE.from))), lockfile]));
      const status = (): unknown => JSON.parse(fleet('status', '--format', 'json').stdout);
      const before = { status: status(), history: fleet('history', 't1', '--format', 'json').stdout };
      const promoted = fleet('promote', 't1', candidate?.revision as string);
      assert.equal(promoted.status, 2, promoted.stdout);
      assert.equal(promoted.stdout, '');
      assert.match(promoted.stderr, /^stowage: [^\n]*: candidate revision 1 \(sha256:[0-9a-f]{12}\) of "t1": its Cargo\.lock in the store no longer has the digest it was recorded with \(sha256:[0-9a-f]{12}\); it is not what its campaign tested, nothing was promoted\n$/);
      assert.deepEqual({ status: status(), history: fleet('history', 't1', '--format', 'json').stdout }, before);
      // The tested bytes back: promoted, and its campaign says so, as for a candidate of its own.
      await withStoreSql(store, (sql) => sql.run('UPDATE documents SET content = ? WHERE digest = ?', [compressBytes(Buffer.from(cargoLock('t1', VULNERABLE.to))), lockfile]));
      assert.equal(fleet('promote', 't1', candidate?.revision as string).status, 0);
      assert.equal(show(fleet, id).apps.find((a) => a.app === 't1')?.state, 'promoted');
    } finally {
      await store.dispose();
    }
  });

  test(`a checkpoint that cannot be laid back (a hostile path) ends the application failed, writing nothing outside its work directory (${kind})`, { skip }, async () => {
    const store = await freshStore(kind);
    try {
      const fleet = makeFleet(store, ['alpha']);
      const marker = join(tempDir('marker'), 'done.txt');
      const planted = join(tempDir('outside'), 'planted');
      const id = await withStore(store, async (f) => {
        const started = await startCampaign(f, { id: ADVISORY_ID, apps: [], publish: true, sandbox: 'none', by: 'test', now: new Date() });
        const [alpha] = started.queued as [number];
        // An attempt (of a worker since gone) recorded a checkpoint naming a file outside the work directory.
        await f.transaction(async (tx) => {
          assert.ok(await tx.campaigns.begin(started.campaign.id, alpha, 'gone', new Date().toISOString()));
          assert.ok(await tx.campaigns.setCheckpoint(started.campaign.id, alpha, 'gone', { files: [{ path: `../../../..${planted}`, mode: 0o644, digest: `sha256:${'0'.repeat(64)}` }], removed: [] }));
        });
        await drainOneWorker(store, f, marker, { campaign: started.campaign.id, apps: [alpha] });
        return started.campaign.id;
      });
      assert.equal(existsSync(planted), false);
      assert.equal(existsSync(marker), false, 'nothing was built');
      const shown = fleet('campaign', 'show', String(id), '--format', 'json');
      const app = (JSON.parse(shown.stdout) as { apps: { state: string; log?: string }[] }).apps[0];
      assert.equal(app?.state, 'failed');
      const human = fleet('campaign', 'show', String(id));
      assert.match(human.stdout, /cannot resume: .*the campaign checkpoint/);
    } finally {
      await store.dispose();
    }
  });

  test(`an application whose attempts keep ending without an outcome (workers killed) is failed, not taken again forever (${kind})`, { skip }, async () => {
    const store = await freshStore(kind);
    try {
      const fleet = makeFleet(store, ['alpha']);
      const marker = join(tempDir('marker'), 'done.txt');
      const id = await withStore(store, async (f) => {
        const started = await startCampaign(f, { id: ADVISORY_ID, apps: [], publish: true, sandbox: 'none', by: 'test', now: new Date() });
        const [alpha] = started.queued as [number];
        // As many attempts as the limit, each begun by a worker that died in it.
        for (let i = 0; i < ATTEMPTS_LIMIT; i++) {
          await f.transaction(async (tx) => assert.ok(await tx.campaigns.begin(started.campaign.id, alpha, `gone-${i}`, new Date().toISOString())));
        }
        await drainOneWorker(store, f, marker, { campaign: started.campaign.id, apps: [alpha] });
        assert.equal((await f.campaigns.app(started.campaign.id, alpha))?.attempts, ATTEMPTS_LIMIT + 1);
        return started.campaign.id;
      });
      assert.equal(existsSync(marker), false, 'nothing was built');
      const json = show(fleet, id);
      assert.equal(json.state, 'done');
      assert.deepEqual(json.apps.map((a) => [a.app, a.state]), [['alpha', 'failed']]);
      assert.match(fleet('campaign', 'show', String(id)).stdout, new RegExp(`gave up: the ${ATTEMPTS_LIMIT} attempts before this one ended without an outcome`));
    } finally {
      await store.dispose();
    }
  });

  test(`a user-started campaign is not queued behind scheduled syncs: its jobs are taken first (${kind})`, { skip }, async () => {
    const store = await freshStore(kind);
    try {
      makeFleet(store, ['alpha', 'beta']);
      const order = join(tempDir('marker'), 'order.txt');
      await withStore(store, async (f) => {
        const gate = storeGate();
        const queue = await openJobQueue(store.store, f, gate);
        try {
          // Scheduled syncs queued first (one waits at a time: a second tick adds none), then a user starts a campaign.
          assert.equal(await queue.enqueueSync(), true);
          assert.equal(await queue.enqueueSync(), false);
          const started = await startCampaign(f, { id: ADVISORY_ID, apps: [], publish: true, sandbox: 'none', by: 'test', now: new Date() });
          await queue.enqueue(started.campaign.id, started.queued, PRIORITY.userStarted);
          assert.equal(await queue.pending(), 3);
          // One job at a time: the order the worker ran them in.
          const sync = async (): Promise<void> => appendFileSync(order, 'sync\n');
          await runCampaignWorker({ store: f, gate, queue, builder: cheapBuilder({ stepMs: 0, markerFile: order }), sync, concurrency: 1, drain: true });
          // The sync ran once the campaign's jobs were done, and a sync may be queued again.
          assert.equal(await queue.enqueueSync(), true);
        } finally {
          await queue.close();
        }
      });
      // The campaign's two jobs (in either order: pg-boss orders equal priorities by creation), then the sync.
      const ran = readFileSync(order, 'utf8').split('\n').filter(Boolean);
      assert.deepEqual([...ran.slice(0, 2).sort(), ...ran.slice(2)], ['alpha', 'beta', 'sync']);
    } finally {
      await store.dispose();
    }
  });
}

test('queueing a campaign on SQLite finds each application\'s job by its index, in a new store and in one upgraded from the schema before it', { skip: skips.sqlite }, async () => {
  const store = await freshStore('sqlite');
  try {
    // The plan SQLite makes for the statement that queues applications: its question of each, whether it has a job already.
    const plan = (): Promise<string> =>
      withStoreSql(store, async (tx) => (await tx.query<{ detail: string }>(`EXPLAIN QUERY PLAN ${enqueueJobs(2)}`, [1, 0, 'x', 0, 1, 1, 2, 1])).map((r) => r.detail).join('\n'));
    await withStore(store, () => Promise.resolve());
    assert.match(await plan(), /^SEARCH j USING INDEX campaign_jobs_app \(campaign_id=\? AND app_id=\?\)$/m);
    // A store as the stowage before this index left it.
    await withStoreSql(store, async (tx) => {
      await tx.run(`DROP INDEX campaign_jobs_app`);
      await tx.run(`UPDATE fleet_meta SET value = ? WHERE key = 'schema_version'`, [String(CAMPAIGN_JOBS_APP_INDEX_VERSION - 1)]);
    });
    assert.match(await plan(), /^SCAN j$/m);
    await withStore(store, () => Promise.resolve());
    assert.match(await plan(), /^SEARCH j USING INDEX campaign_jobs_app \(campaign_id=\? AND app_id=\?\)$/m);
  } finally {
    await store.dispose();
  }
});

/** A driver that counts the statements run through it, its transactions' included. */
class CountingDriver implements SqlDriver {
  statements = 0;
  constructor(private readonly inner: SqlDriver) {}
  get dialect(): SqlDriver['dialect'] {
    return this.inner.dialect;
  }
  private counted(executor: SqlExecutor): SqlExecutor {
    return {
      dialect: executor.dialect,
      query: (sql, params) => {
        this.statements++;
        return executor.query(sql, params);
      },
      run: (sql, params) => {
        this.statements++;
        return executor.run(sql, params);
      },
    };
  }
  query<R extends object>(sql: string, params?: readonly SqlValue[]): Promise<R[]> {
    return this.counted(this.inner).query<R>(sql, params);
  }
  run(sql: string, params?: readonly SqlValue[]): Promise<number> {
    return this.counted(this.inner).run(sql, params);
  }
  transaction<T>(work: (tx: SqlExecutor) => Promise<T>, options?: TransactionOptions): Promise<T> {
    return this.inner.transaction((tx) => work(this.counted(tx)), options);
  }
  generation(): Promise<string | null> {
    return this.inner.generation();
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

for (const kind of STORE_KINDS) {
  test(`a campaign's start (and its view, for campaign show) reads and records its applications in as many statements for 8 applications as for 2, each planned or needs-source as its revision kept its source (${kind})`, { skip: skips[kind] }, async () => {
    const store = await freshStore(kind);
    try {
      const lockfileOnly = ['c1', 'c2', 'c3', 'c4', 'c5', 'c6'];
      const fleet = makeFleet(store, ['alpha', 'beta'], lockfileOnly);
      const counted = async <T>(work: (fleetStore: FleetStore) => Promise<T>): Promise<{ result: T; statements: number }> => {
        const driver = new CountingDriver(kind === 'sqlite' ? SqliteDriver.open(store.store) : await PostgresDriver.open(store.store));
        try {
          const result = await work(SqlFleetStore.over(driver, store.store));
          return { result, statements: driver.statements };
        } finally {
          await driver.close();
        }
      };
      const start = async (apps: string[]): Promise<{ id: number; statements: number }> => {
        const { result: started, statements } = await counted((f) => startCampaign(f, { id: ADVISORY_ID, apps, publish: true, sandbox: 'none', by: 'test', now: new Date() }));
        // Its planned applications built to candidates.
        await withStore(store, (f) => drainOneWorker(store, f, join(tempDir('marker'), 'done.txt'), { campaign: started.campaign.id, apps: started.queued }));
        return { id: started.campaign.id, statements };
      };
      const two = await start(['alpha', 'c1']);
      const eight = await start(['alpha', 'beta', ...lockfileOnly]);
      assert.equal(eight.statements, two.statements);
      const viewed = async (id: number): Promise<{ candidates: number; statements: number }> => {
        const { result, statements } = await counted(async (f) => campaignView(f, (await f.campaigns.campaign(id)) as CampaignRecord));
        return { candidates: result.candidates.size, statements };
      };
      const [viewTwo, viewEight] = [await viewed(two.id), await viewed(eight.id)];
      assert.deepEqual([viewTwo.candidates, viewEight.candidates], [1, 2]);
      assert.equal(viewEight.statements, viewTwo.statements);
      assert.deepEqual(show(fleet, two.id).apps.map((a) => [a.app, a.state]), [['alpha', 'candidate'], ['c1', 'needs-source']]);
      assert.deepEqual(
        show(fleet, eight.id).apps.map((a) => [a.app, a.state]),
        [['alpha', 'candidate'], ['beta', 'candidate'], ...lockfileOnly.map((n) => [n, 'needs-source'])],
      );
    } finally {
      await store.dispose();
    }
  });
}

test('a campaign step asks which of the documents it leaves behind are still named (by a revision, an artifact, a kept source or a checkpoint held) through indexes, not by reading every revision or campaign application, in a new store and in one upgraded from the schema before', { skip: skips.sqlite }, async () => {
  const store = await freshStore('sqlite');
  try {
    // Tables that grow with the fleet and its campaigns: a step of one application must not read them whole.
    const fleetSized = /^SCAN (revisions|revision_documents|revision_sources|campaign_apps|campaign_artifacts|documents)\b(?! USING (COVERING )?INDEX)/;
    const scans = (): Promise<string[]> =>
      withStoreSql(store, async (tx) => {
        const details: string[] = [];
        for (const [sql, params] of [[documentsNamed(2), ['sha256:a', 'sha256:b', 'sha256:a', 'sha256:b', 'sha256:a', 'sha256:b']], [HELD_CHECKPOINTS, []]] as const) {
          for (const r of await tx.query<{ detail: string }>(`EXPLAIN QUERY PLAN ${sql}`, params)) if (fleetSized.test(r.detail)) details.push(r.detail);
        }
        return details;
      });
    const fleet = makeFleet(store, ['d1', 'd2']);
    const first = await startDetached(store);
    await withStore(store, (f) => drainOneWorker(store, f, join(tempDir('marker'), 'done.txt')));
    assert.deepEqual(await scans(), []);
    // A store as the stowage before revision_documents left it, with the revisions recorded so far; opened again, it lists their documents.
    await withStoreSql(store, async (tx) => {
      for (const index of ['campaign_artifacts_digest', 'revision_sources_digest', 'campaign_apps_checkpoint']) await tx.run(`DROP INDEX ${index}`);
      await tx.run(`DROP TABLE revision_documents`);
      await tx.run(`UPDATE fleet_meta SET value = ? WHERE key = 'schema_version'`, [String(REVISION_DOCUMENTS_VERSION - 1)]);
    });
    // A second campaign over the same applications: its fixes come to the candidates the first recorded, before the upgrade.
    const second = await startDetached(store);
    assert.notEqual(second, first);
    await withStore(store, (f) => drainOneWorker(store, f, join(tempDir('marker'), 'done.txt')));
    assert.deepEqual(await scans(), []);
    await withStoreSql(store, async (tx) => {
      const revisions = await tx.query<{ id: number; documents: string }>(`SELECT id, documents FROM revisions`);
      const expected = revisions.flatMap((r) => [...new Set((JSON.parse(r.documents) as { digest: string }[]).map((d) => d.digest))].map((d) => `${Number(r.id)} ${d}`));
      const listed = await tx.query<{ revision_id: number; digest: string }>(`SELECT revision_id, digest FROM revision_documents`);
      assert.deepEqual(listed.map((r) => `${Number(r.revision_id)} ${r.digest}`).sort(), expected.sort());
      assert.equal(revisions.length, 4);
    });
    // The candidates' changed lockfiles, which each campaign's checkpoints named too, are kept: their revisions name them.
    await withStore(store, async (f) => {
      for (const n of ['d1', 'd2']) {
        const candidate = (await f.revisions((await f.app(n))?.id as number)).find((r) => r.origin === 'candidate');
        const lock = candidate?.documents.find((d) => d.name === 'Cargo.lock');
        assert.equal(decompressBytes((await f.document(lock?.digest as string)) as Buffer).toString('utf8'), cargoLock(n, VULNERABLE.to), n);
      }
    });
    assert.deepEqual(show(fleet, second).apps.map((a) => [a.app, a.state]), [['d1', 'candidate'], ['d2', 'candidate']]);
  } finally {
    await store.dispose();
  }
});

test('queueing a campaign on SQLite writes its jobs in as many statements for 8 applications as for 2, in the order given, none twice for an application already queued', { skip: skips.sqlite }, async () => {
  const store = await freshStore('sqlite');
  try {
    makeFleet(store, ['q1']);
    const driver = new CountingDriver(SqliteDriver.open(store.store));
    const f = SqlFleetStore.over(driver, store.store);
    const campaign = await f.campaigns.create({ advisoryId: ADVISORY_ID, aliases: [], publish: false, sandbox: 'none', createdAt: new Date().toISOString(), by: 'test' });
    const counted = async (appIds: number[]): Promise<number> => {
      const before = driver.statements;
      await f.transaction((tx) => tx.campaigns.enqueue(campaign.id, appIds, PRIORITY.userStarted, new Date().toISOString()));
      return driver.statements - before;
    };
    try {
      const two = await counted([12, 11]);
      const eight = await counted([13, 11, 20, 19, 18, 17, 16, 15]);
      assert.equal(eight, two);
      const queued = await withStoreSql(store, (tx) => tx.query<{ app_id: number }>(`SELECT app_id FROM campaign_jobs WHERE campaign_id = ? ORDER BY id`, [campaign.id]));
      assert.deepEqual(queued.map((r) => Number(r.app_id)), [12, 11, 13, 20, 19, 18, 17, 16, 15]);
    } finally {
      await driver.close();
    }
  } finally {
    await store.dispose();
  }
});
