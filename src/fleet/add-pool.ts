import { availableParallelism } from 'node:os';
import { Worker, type MessagePort } from 'node:worker_threads';
import { databaseOverIndex, withRememberedLookups, type AdvisoryDatabase } from '../advisories/database.js';
import { AdvisoryIndex, IndexDamaged } from '../advisories/advisory-index.js';
import type { DatabaseSpec } from '../advisories/source.js';
import { prepareApp, type AppJob, type PreparedApp } from './add-work.js';
import type { FleetSettings } from './store/store.js';

/**
 * `fleet add` of many applications prepares them (add-work.ts: read, digest, evaluate, encode)
 * in worker threads, while the main thread writes the store, in input order, in its one
 * transaction. Each worker opens the advisory indexes itself (files, read-only) and checks they
 * are the very ones the command opened. Anything a worker cannot do as the main thread would
 * (an index that changed or is damaged, an error that is not the application's) it leaves to
 * the main thread, which then prepares that application and the rest itself: the outcome is
 * always what a sequential add gives.
 */

/** Below this many applications an add stays in its thread: starting workers costs more than they save. */
export const POOL_FROM = 8;

/** Workers at most, whatever the machine (the main thread's writes are the limit beyond). */
const MAX_WORKERS = 8;

/** Jobs given to a worker before it answers: one to do, one waiting, so it never idles for the main thread. */
const JOBS_PER_WORKER = 2;

/** How many workers an add of `count` applications uses: 0 below POOL_FROM; `asked` caps it (tests). */
export function poolSize(count: number, asked?: number): number {
  if (count < POOL_FROM) return 0;
  return Math.max(0, Math.min(asked ?? availableParallelism(), MAX_WORKERS));
}

/** A database as a worker reopens it: its index file, and what the command's copy says of it. */
export interface WorkerDatabase {
  spec: DatabaseSpec;
  file: string;
  fingerprint: string;
  revision: string;
  rebuilt: boolean;
  warnings: string[];
}

/** What a worker is started with. */
export interface WorkerSetup {
  settings: FleetSettings;
  now: Date;
  relativePaths: boolean;
  prettyJson: boolean;
  databases: WorkerDatabase[];
}

export function workerDatabases(databases: readonly AdvisoryDatabase[]): WorkerDatabase[] {
  return databases.map((db) => ({
    spec: db.spec,
    file: db.index.file,
    fingerprint: db.index.stamp.fingerprint,
    revision: db.index.stamp.revision,
    rebuilt: db.rebuilt,
    warnings: [...db.warnings],
  }));
}

/** A job's answer: the prepared application, or null when the main thread must prepare it. */
interface Answer {
  id: number;
  prepared: PreparedApp | null;
}

interface Pending {
  id: number;
  job: AppJob;
  resolve: (prepared: PreparedApp | null) => void;
  reject: (err: Error) => void;
}

/** The worker threads of one add. */
export class AddPool {
  private readonly queue: Pending[] = [];
  private readonly busy = new Map<Worker, Map<number, Pending>>();
  private nextId = 0;
  private failure: Error | null = null;
  private closing = false;
  private constructor(
    private readonly workers: Worker[],
    /** The databases as the workers opened them, to tell whether they still are the command's. */
    private readonly databasesKey: string,
    /**
     * The advisory records the workers handed over, by digest: each worker sends a record once,
     * with the first application citing it, and the rows of later ones cite its digest alone.
     * Kept as they arrive, whether or not the application is used (a transaction run again, an
     * application left to the main thread): a later one may cite them.
     */
    private readonly records: Map<string, string>,
  ) {
    for (const worker of workers) {
      this.busy.set(worker, new Map());
      worker.on('message', (answer: Answer) => this.answered(worker, answer));
      worker.on('error', (err) => this.fail(err));
      worker.on('exit', (code) => {
        if (!this.closing) this.fail(new Error(`a fleet add worker stopped (exit code ${code})`));
      });
    }
  }

  static start(size: number, setup: WorkerSetup, records: Map<string, string>): AddPool {
    // From the bundle (dist/bundle/stowage.cjs) the worker is the bundle beside it; from tsc's output, the module beside this one.
    const entry = new URL(import.meta.url.endsWith('.cjs') ? './add-worker.cjs' : './add-worker.js', import.meta.url);
    const workers = Array.from({ length: size }, () => new Worker(entry, { workerData: setup }));
    return new AddPool(workers, JSON.stringify(setup.databases), records);
  }

  /** Whether the workers' databases are still the command's (a damaged index rebuilt by the main thread is not). */
  serves(databases: readonly AdvisoryDatabase[]): boolean {
    return this.failure === null && JSON.stringify(workerDatabases(databases)) === this.databasesKey;
  }

  /** The application prepared by a worker; null when the main thread must prepare it itself. */
  prepare(job: AppJob): Promise<PreparedApp | null> {
    const answer = new Promise<PreparedApp | null>((resolve, reject) => {
      if (this.failure !== null) reject(this.failure);
      else this.queue.push({ id: this.nextId++, job, resolve, reject });
    });
    // Awaited in input order, perhaps after a worker failed: not an unhandled rejection meanwhile.
    answer.catch(() => undefined);
    this.pump();
    return answer;
  }

  private pump(): void {
    for (const [worker, jobs] of this.busy) {
      while (jobs.size < JOBS_PER_WORKER && this.queue.length > 0) {
        const pending = this.queue.shift() as Pending;
        jobs.set(pending.id, pending);
        worker.postMessage({ id: pending.id, job: pending.job });
      }
    }
  }

  private answered(worker: Worker, answer: Answer): void {
    const jobs = this.busy.get(worker);
    const pending = jobs?.get(answer.id);
    if (jobs === undefined || pending === undefined) return;
    jobs.delete(answer.id);
    if (answer.prepared?.kind === 'evaluated') for (const [digest, record] of answer.prepared.findings.records) this.records.set(digest, record);
    pending.resolve(answer.prepared === null ? null : withBuffers(answer.prepared));
    this.pump();
  }

  private fail(err: Error): void {
    this.failure ??= err;
    for (const jobs of this.busy.values()) {
      for (const pending of jobs.values()) pending.reject(this.failure);
      jobs.clear();
    }
    for (const pending of this.queue.splice(0)) pending.reject(this.failure);
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

/** A message's bytes arrive as Uint8Array: Buffers again, as the store's drivers bind them. */
function withBuffers(prepared: PreparedApp): PreparedApp {
  if (prepared.kind !== 'evaluated') return prepared;
  const buffer = (bytes: Uint8Array): Buffer => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const source = prepared.source !== undefined && 'kept' in prepared.source ? { kept: { ...prepared.source.kept, content: buffer(prepared.source.kept.content) } } : prepared.source;
  return {
    ...prepared,
    graph: buffer(prepared.graph),
    contents: prepared.contents.map((c) => ({ ...c, content: buffer(c.content) })),
    ...(source === undefined ? {} : { source }),
  };
}

/** Starts a pool for these databases. */
export function startPool(
  size: number,
  context: { settings: FleetSettings; databases: readonly AdvisoryDatabase[]; now: Date; relativePaths: boolean; prettyJson: boolean },
  records: Map<string, string>,
): AddPool {
  const setup = { settings: context.settings, now: context.now, relativePaths: context.relativePaths, prettyJson: context.prettyJson, databases: workerDatabases(context.databases) };
  return AddPool.start(size, setup, records);
}

/** An index a worker cannot rebuild: the main thread prepares the application (and rebuilds the index). */
class LeftToMainThread extends Error {}

/**
 * The command's databases, reopened in a worker; null when an index is not the one the command
 * opened. A damaged index throws LeftToMainThread: the main thread redoes the work (and rebuilds it).
 */
export function reopen(databases: readonly WorkerDatabase[]): AdvisoryDatabase[] | null {
  const opened: AdvisoryDatabase[] = [];
  for (const d of databases) {
    const index = AdvisoryIndex.open(d.file);
    if (index === null || index.stamp.fingerprint !== d.fingerprint || index.stamp.revision !== d.revision) {
      index?.close();
      for (const db of opened) db.index.close();
      return null;
    }
    const db = databaseOverIndex(d.spec, index, { rebuilt: d.rebuilt, warnings: d.warnings });
    const guarded = Object.create(db) as AdvisoryDatabase;
    guarded.lookup = async (ecosystem, names) => {
      try {
        return await db.lookup(ecosystem, names);
      } catch (err) {
        throw err instanceof IndexDamaged ? new LeftToMainThread(err.line) : err;
      }
    };
    opened.push(withRememberedLookups(guarded));
  }
  return opened;
}

/** A worker's life: prepares the jobs it is given, one at a time, in the order given. */
export function serveAddJobs(port: MessagePort, setup: WorkerSetup): void {
  const databases = reopen(setup.databases);
  // Each advisory record is handed over once by each worker (the main thread keeps them all).
  const context = { settings: setup.settings, databases: databases ?? [], now: setup.now, relativePaths: setup.relativePaths, readSourceAhead: true, prettyJson: setup.prettyJson, sentRecords: new Set<string>() };
  let done: Promise<void> = Promise.resolve();
  port.on('message', (message: { id: number; job: AppJob }) => {
    done = done.then(async () => {
      let prepared: PreparedApp | null = null;
      if (databases !== null) {
        try {
          prepared = await prepareApp(message.job, context);
        } catch {
          // Not the application's error (or a damaged index): the main thread prepares it again and meets it itself.
          prepared = null;
        }
      }
      port.postMessage({ id: message.id, prepared } satisfies Answer);
    });
  });
}
