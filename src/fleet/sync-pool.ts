import { Worker, type MessagePort } from 'node:worker_threads';
import type { AdvisoryDatabase } from '../advisories/database.js';
import type { Ecosystem } from '../core/package.js';
import { reopen, workerDatabases, type WorkerDatabase } from './worker-databases.js';
import { serveJobs, workerCount, workerEntry, WorkerJobs } from './worker-jobs.js';
import type { FindingRowText } from './store/finding-rows.js';
import type { EncodedFinding, FindingLevel } from './store/store.js';
import { matchRevision, restrictionOf, type AddedRow, type MatchContext, type MatchedRevision, type MatchJob, type Names } from './sync-match.js';

/**
 * `fleet sync` of many revisions re-matches them (sync-match.ts: decode, audit, compare) in
 * worker threads while the main thread reads the next revisions from the store and writes the
 * findings of those before, in order, in its one transaction. Each worker opens the advisory
 * indexes itself (files, read-only) and checks they are the very ones the command opened.
 * Whatever a worker cannot do as the main thread would (an index that changed or is damaged,
 * an error of any kind) it leaves to the main thread, which re-matches that revision itself
 * and meets the error there: the outcome is always what a sequential sync gives.
 */

/** Below this many revisions a sync stays in its thread: starting workers (each opens the indexes) costs more than they save. */
export const SYNC_POOL_FROM = 200;

/** Workers at most, whatever the machine (the main thread's reads and writes are the limit beyond). */
const MAX_WORKERS = 4;

/**
 * Revisions given to a worker before it answers, so it never idles waiting for the main thread:
 * a round's jobs (REVISIONS_PER_BATCH) are posted as it is read. The main thread answers a
 * worker only between its synchronous steps (a round's writes are 100 ms and more); with 4 jobs
 * (about 10 ms of work) a worker waited for it most of the time.
 */
const JOBS_PER_WORKER = 64;

/**
 * How many workers a sync of `count` revisions uses: 0 below `from`; else `asked`, or one per
 * core (at most MAX_WORKERS). The main thread waits on the workers for about half of a large
 * sync: at 10,000 applications on 2 idle cores, two workers took 15.9 s where one took 19.8 s
 * (the same CPU time); a worker more than the cores only adds its start and its caches.
 */
export function syncPoolSize(count: number, from = SYNC_POOL_FROM, asked?: number): number {
  return workerCount(count, from, MAX_WORKERS, asked);
}

/** What a worker is started with: the databases to reopen, the touched names, the sync's time, the placeholder of the changes' advisories. */
export interface SyncWorkerSetup {
  databases: WorkerDatabase[];
  names: [Ecosystem, string[]][];
  now: Date;
  mark: string;
}

/**
 * A MatchedRevision as a worker posts it: the rows' texts one string, each row's end in it, its
 * digest an index into the digests of the revision. A message copies a string in one piece, where
 * an object per row (a finding's row is a kilobyte) was a structured clone of each of its keys and
 * values: a worker spent a tenth of its time posting them.
 */
export interface SentRevision {
  texts: string;
  ends: number[];
  digests: string[];
  /** Per row: its digest's index times 2, plus 1 when the row is new. */
  rows: number[];
  resolved: number[];
  remove: number[];
  records: [string, string][];
  /** Per row, its columns (EncodedFinding's target, package, groupKey, advisoryId, level: COLUMNS strings) and flags (failsPolicy 1, open 2). */
  columns: string[];
  flags: number[];
  /** The new rows' changes' texts (PreparedChange's compact) as one string, each text's end in it. */
  changes: string;
  changeEnds: number[];
  /** As matched: rare (a revision not audited), and then a few packages. */
  notAudited: MatchedRevision['notAudited'];
}

const COLUMNS = 7;

/**
 * A MatchJob as the main thread posts it: the stored findings' keys and rows each one string and
 * the ends of its texts, for the reason SentRevision gives (the main thread is the sync's limit,
 * and a structured clone of each stored row's text was most of its posting).
 */
export interface SentJob {
  revisionId: number;
  app: string;
  graph: Uint8Array;
  policy: MatchJob['policy'];
  restricted: boolean;
  keys: string;
  keyEnds: number[];
  rows: string;
  rowEnds: number[];
}

export function sentJob(job: MatchJob): SentJob {
  const [keys, keyEnds] = joined(job.before.findingKeys);
  const [rows, rowEnds] = joined(job.before.rows);
  return { revisionId: job.revisionId, app: job.app, graph: job.graph, policy: job.policy, restricted: job.restricted, keys, keyEnds, rows, rowEnds };
}

/** The MatchJob the main thread posted. */
export function receivedJob(sent: SentJob): MatchJob {
  return {
    revisionId: sent.revisionId,
    app: sent.app,
    graph: sent.graph,
    policy: sent.policy,
    restricted: sent.restricted,
    before: { findingKeys: split(sent.keys, sent.keyEnds), rows: split(sent.rows, sent.rowEnds) },
  };
}

/** `texts` as one string and the end of each in it. */
function joined(texts: readonly string[]): [string, number[]] {
  let end = 0;
  return [texts.join(''), texts.map((t) => (end += t.length))];
}

/** The texts `joined` gave. */
function split(text: string, ends: readonly number[]): string[] {
  let start = 0;
  return ends.map((end) => text.slice(start, (start = end)));
}

export function sentRevision(matched: MatchedRevision): SentRevision {
  const digests: string[] = [];
  const digestIndex = new Map<string, number>();
  const ends: number[] = [];
  const rows: number[] = [];
  let end = 0;
  for (const row of matched.add) {
    let d = digestIndex.get(row.digest);
    if (d === undefined) digestIndex.set(row.digest, (d = digests.push(row.digest) - 1));
    ends.push((end += row.text.length));
    rows.push(d * 2 + (row.isNew ? 1 : 0));
  }
  const { resolved, remove, records, notAudited } = matched;
  const columns: string[] = [];
  const flags: number[] = [];
  for (const e of matched.encoded ?? []) {
    columns.push(e.target, e.package.ecosystem, e.package.name, e.package.version, e.groupKey, e.advisoryId, e.level);
    flags.push((e.failsPolicy ? 1 : 0) | (e.open ? 2 : 0));
  }
  const [changes, changeEnds] = joined(matched.prepared ?? []);
  return { texts: matched.add.map((row) => row.text).join(''), ends, digests, rows, resolved, remove, records, columns, flags, changes, changeEnds, notAudited };
}

/** The MatchedRevision a worker posted (each row's text a slice of the one string). */
export function receivedRevision(sent: SentRevision): MatchedRevision {
  let start = 0;
  const add = sent.ends.map((end, n): AddedRow => {
    const row = sent.rows[n] as number;
    const text = sent.texts.slice(start, end) as FindingRowText;
    start = end;
    return { text, digest: sent.digests[row >> 1] as string, isNew: (row & 1) === 1 };
  });
  const encoded = add.map((row, n): EncodedFinding => {
    const c = n * COLUMNS;
    const at = (i: number): string => sent.columns[c + i] as string;
    const flags = sent.flags[n] as number;
    return {
      target: at(0),
      package: { ecosystem: at(1) as Ecosystem, name: at(2), version: at(3) },
      groupKey: at(4),
      advisoryId: at(5),
      key: row.text,
      advisoryDigest: row.digest,
      failsPolicy: (flags & 1) !== 0,
      level: at(6) as FindingLevel,
      open: (flags & 2) !== 0,
    };
  });
  const prepared = split(sent.changes, sent.changeEnds);
  return { add, resolved: sent.resolved, remove: sent.remove, records: sent.records, encoded, prepared, notAudited: sent.notAudited };
}

/** The worker threads of one sync. */
export class SyncPool {
  private constructor(private readonly jobs: WorkerJobs<SentJob, MatchedRevision, SentRevision>) {}

  /** `onRecords` is given each answer's advisory records as it arrives, before the revision is applied. */
  static start(size: number, context: { databases: readonly AdvisoryDatabase[]; names: Names; now: Date; mark: string }, onRecords: (records: readonly [string, string][]) => void): SyncPool {
    const setup: SyncWorkerSetup = {
      databases: workerDatabases(context.databases),
      names: (Object.entries(context.names) as [Ecosystem, Set<string>][]).map(([ecosystem, set]) => [ecosystem, [...set]]),
      now: context.now,
      mark: context.mark,
    };
    const workers = Array.from({ length: size }, () => new Worker(workerEntry('sync-worker'), { workerData: setup }));
    return new SyncPool(
      new WorkerJobs<SentJob, MatchedRevision, SentRevision>(workers, 'fleet sync', JOBS_PER_WORKER, (sent) => {
        onRecords(sent.records);
        return receivedRevision(sent);
      }),
    );
  }

  /**
   * The revision re-matched by a worker; null when the main thread must re-match it itself.
   * The graph's bytes are copied, not moved: a job a worker leaves is matched here from them.
   */
  match(job: MatchJob): Promise<MatchedRevision | null> {
    return this.jobs.run(sentJob(job));
  }

  close(): Promise<void> {
    return this.jobs.close();
  }
}

/** A worker's life: re-matches the revisions it is given, one at a time, in the order given. */
export function serveSyncJobs(port: MessagePort, setup: SyncWorkerSetup): void {
  const databases = reopen(setup.databases);
  const names: Names = Object.fromEntries(setup.names.map(([ecosystem, list]) => [ecosystem, new Set(list)]));
  // Each advisory record is handed over once by each worker (the main thread keeps them all).
  const context: MatchContext = { databases: databases ?? [], restriction: restrictionOf(names), now: setup.now, sentRecords: new Set<string>(), mark: setup.mark };
  // Any error (or a damaged index): the main thread re-matches the revision and meets it itself (or rebuilds the index).
  serveJobs<SentJob, SentRevision>(port, databases === null ? null : async (job) => sentRevision(await matchRevision(receivedJob(job), context)));
}
