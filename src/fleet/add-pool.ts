import { Worker, type MessagePort } from 'node:worker_threads';
import type { AdvisoryDatabase } from '../advisories/database.js';
import { packagesFromFlat, prepareAppForMessage, type AppJob, type PreparedApp, type PreparedAppWith } from './add-work.js';
import type { ShippedLimits } from '../inputs/shipped-limits.js';
import type { FleetSettings } from './store/store.js';
import { reopen, workerDatabases, type WorkerDatabase } from './worker-databases.js';
import { serveJobs, workerCount, workerEntry, WorkerJobs } from './worker-jobs.js';

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
  return workerCount(count, POOL_FROM, MAX_WORKERS, asked);
}

/** What a worker is started with. */
export interface WorkerSetup {
  settings: FleetSettings;
  now: Date;
  relativePaths: boolean;
  readLimits?: ShippedLimits;
  prettyJson: boolean;
  databases: WorkerDatabase[];
}

/** The worker threads of one add. */
export class AddPool {
  private constructor(
    private readonly jobs: WorkerJobs<AppJob, PreparedApp, PreparedAppWith<string[]>>,
    /** The databases as the workers opened them, to tell whether they still are the command's. */
    private readonly databasesKey: string,
  ) {}

  /**
   * `records` keeps the advisory records the workers hand over, by digest: each worker sends a
   * record once, with the first application citing it, and the rows of later ones cite its
   * digest alone. Kept as they arrive, whether or not the application is used (a transaction run
   * again, an application left to the main thread): a later one may cite them.
   */
  static start(size: number, setup: WorkerSetup, records: Map<string, string>): AddPool {
    const workers = Array.from({ length: size }, () => new Worker(workerEntry('add-worker'), { workerData: setup }));
    const jobs = new WorkerJobs<AppJob, PreparedApp, PreparedAppWith<string[]>>(workers, 'fleet add', JOBS_PER_WORKER, (prepared) => {
      if (prepared.kind === 'evaluated') for (const [digest, record] of prepared.findings.records) records.set(digest, record);
      return received(prepared);
    });
    return new AddPool(jobs, JSON.stringify(setup.databases));
  }

  /** Whether the workers' databases are still the command's (a damaged index rebuilt by the main thread is not). */
  serves(databases: readonly AdvisoryDatabase[]): boolean {
    return this.jobs.healthy && JSON.stringify(workerDatabases(databases)) === this.databasesKey;
  }

  /** The application prepared by a worker; null when the main thread must prepare it itself. */
  prepare(job: AppJob): Promise<PreparedApp | null> {
    return this.jobs.run(job);
  }

  close(): Promise<void> {
    return this.jobs.close();
  }
}

/** A worker's answer as the main thread takes it: its bytes as Buffers again (as the store's drivers bind them), its packages as objects. */
export function received(prepared: PreparedAppWith<string[]>): PreparedApp {
  if (prepared.kind !== 'evaluated') return prepared;
  const buffer = (bytes: Uint8Array): Buffer => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const source = prepared.source !== undefined && 'kept' in prepared.source ? { kept: { ...prepared.source.kept, content: buffer(prepared.source.kept.content) } } : prepared.source;
  return {
    ...prepared,
    graph: buffer(prepared.graph),
    contents: prepared.contents.map((c) => ({ ...c, content: buffer(c.content) })),
    packages: packagesFromFlat(prepared.packages),
    ...(source === undefined ? {} : { source }),
  };
}

/**
 * The buffers of an answer that are handed over (transferred) rather than copied: the compressed
 * documents and graph and the findings' JSON, each made for this answer alone. One that shares
 * its memory (a small Buffer is a slice of a pool) is first copied into memory of its own.
 */
export function handedOver(prepared: PreparedAppWith<string[]> | null): ArrayBuffer[] {
  if (prepared?.kind !== 'evaluated') return [];
  const transfer: ArrayBuffer[] = [];
  const own = <T extends Uint8Array>(bytes: T): T | Uint8Array => {
    const whole = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer && !transfer.includes(bytes.buffer);
    const owned = whole ? bytes : new Uint8Array(bytes);
    transfer.push(owned.buffer as ArrayBuffer);
    return owned;
  };
  prepared.graph = own(prepared.graph) as Buffer;
  for (const c of prepared.contents) c.content = own(c.content) as Buffer;
  const json = prepared.findings.json;
  json.compact = own(json.compact);
  if (json.pretty !== null) json.pretty = own(json.pretty);
  return transfer;
}

/** Starts a pool for these databases. */
export function startPool(
  size: number,
  context: { settings: FleetSettings; databases: readonly AdvisoryDatabase[]; now: Date; relativePaths: boolean; readLimits?: ShippedLimits; prettyJson: boolean },
  records: Map<string, string>,
): AddPool {
  const setup = { settings: context.settings, now: context.now, relativePaths: context.relativePaths, ...(context.readLimits ? { readLimits: context.readLimits } : {}), prettyJson: context.prettyJson, databases: workerDatabases(context.databases) };
  return AddPool.start(size, setup, records);
}

/** A worker's life: prepares the jobs it is given, one at a time, in the order given. */
export function serveAddJobs(port: MessagePort, setup: WorkerSetup): void {
  const databases = reopen(setup.databases);
  // Each advisory record is handed over once by each worker (the main thread keeps them all).
  const context = { settings: setup.settings, databases: databases ?? [], now: setup.now, relativePaths: setup.relativePaths, ...(setup.readLimits ? { readLimits: setup.readLimits } : {}), readSourceAhead: true, prettyJson: setup.prettyJson, sentRecords: new Set<string>() };
  // An error that is not the application's (or a damaged index): the main thread prepares it again and meets it itself.
  serveJobs<AppJob, PreparedAppWith<string[]>>(port, databases === null ? null : (job) => prepareAppForMessage(job, context), handedOver);
}
