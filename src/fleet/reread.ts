import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { DependencyGraph } from '../core/graph.js';
import { readApplication } from '../inputs/application.js';
import { applicationError } from './add-work.js';
import { POLICY_DOCUMENT } from './evaluate.js';
import { decodeGraphs, decompressBytes, encodeGraphs } from './revision.js';
import { GRAPHS_READER, type FleetStore, type PackageKey, type RevisionToEvaluate } from './store/store.js';
import { chunks } from '../core/chunks.js';

/**
 * A revision's graph is what the readers made of its documents when it was added. When they learn
 * something (GRAPHS_READER), the current revisions an earlier reading made are read again from
 * their stored documents (`fleet sync`), so that the fleet's findings stay exactly what `stowage
 * audit` of the same files reports. The revision's digest is unchanged: same documents.
 *
 * What the stored documents cannot give back is never lost: a parent directory's or CARGO_HOME's
 * Cargo configuration (or a parent's `.yarnrc.yml`), read when the revision was added, is not
 * kept. The documents are read again in a directory of their own, confined to it (as an upload
 * is: nothing above it is read), and the new graph replaces the stored one only when, less what
 * the later readings added (OLDER_READINGS), it is the stored graph: anything else means the
 * reading at add time rested on something the store does not hold, and the stored graph is kept
 * (said, naming the application: `fleet add` of it with a changed document reads it afresh).
 */

/**
 * Per reading since the first (index i: what reading i + 1 added), how to make its graphs the
 * graphs the reading before made: a new reading says here what it adds, so that a graph it reads
 * again can be compared with one an earlier reading stored.
 */
const OLDER_READINGS: readonly ((graphs: JsonGraph[]) => void)[] = [
  // 1: a Cargo `[patch]` path crate is marked patchesCrate (src/ecosystems/cargo/lockfile.ts), on
  // a lockfile's package and an SBOM's component alike (stowage:cargo:patches-crate).
  (graphs) => {
    for (const g of graphs) for (const p of g.packages) if (p.source !== null && typeof p.source === 'object') delete p.source.patchesCrate;
  },
];

if (OLDER_READINGS.length !== GRAPHS_READER) throw new Error(`reread.ts: ${OLDER_READINGS.length} readings described, GRAPHS_READER is ${GRAPHS_READER}`);

type JsonGraph = { packages: { source?: Record<string, unknown> | null }[] };

/** The graphs as reading `reader` made them, from those this stowage made (a copy). */
function asReadBy(graphs: readonly DependencyGraph[], reader: number): string {
  const copy = JSON.parse(JSON.stringify(graphs)) as JsonGraph[];
  for (let r = GRAPHS_READER; r > reader; r--) OLDER_READINGS[r - 1]?.(copy);
  return JSON.stringify(copy);
}

/** A current revision whose graph was kept as stored: its application and why. */
export interface KeptReading {
  app: string;
  revision: string;
  seq: number;
  reason: string;
}

export interface RereadOutcome {
  /** Current revisions read again from their stored documents. */
  reread: number;
  /** Those whose graph the reading changed: replaced, and evaluated in full by this sync. */
  changed: number;
  /** Those whose graph was kept (the documents alone do not give the graph read when it was added). */
  kept: KeptReading[];
}

/** Revisions read again per round (their graphs and documents in memory together). */
const REVISIONS_PER_ROUND = 100;

/**
 * Reads again every current revision an earlier reading made, in the caller's transaction: a
 * graph that changed is replaced and its revision marked for a full evaluation (the sync that
 * calls this evaluates it); one that did not is marked as read by this reading.
 */
export async function rereadCurrentRevisions(tx: FleetStore): Promise<RereadOutcome> {
  const stale = await tx.currentRevisionsReadBefore(GRAPHS_READER);
  const outcome: RereadOutcome = { reread: 0, changed: 0, kept: [] };
  if (stale.length === 0) return outcome;
  const readerOf = new Map(stale.map((s) => [s.id, s.reader]));
  const scratch = mkdtempSync(join(tmpdir(), 'stowage-reread-'));
  try {
    for (const ids of chunks(stale.map((s) => s.id), REVISIONS_PER_ROUND)) {
      const targets = await tx.revisionsToEvaluate(ids);
      const apps = await tx.appsNamed([...new Set(targets.map((t) => t.app))]);
      for (const [n, target] of targets.entries()) {
        const kind = apps.get(target.app)?.sourceKind ?? 'directory';
        const dir = join(scratch, String(n));
        let result: Reread;
        try {
          result = await reread(tx, target, kind === 'directory', dir, readerOf.get(target.revision.id) ?? 0);
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
        const r = target.revision;
        if ('kept' in result) {
          outcome.kept.push({ app: target.app, revision: r.digest, seq: r.seq, reason: result.kept });
          continue;
        }
        outcome.reread++;
        if (result.graphs === null) await tx.setRevisionReading(r.id, GRAPHS_READER);
        else {
          outcome.changed++;
          await tx.setRevisionReading(r.id, GRAPHS_READER, { graph: encodeGraphs(result.graphs), packages: packageKeys(result.graphs) });
        }
      }
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  return outcome;
}

/** The new graphs (null: the same as stored), or why the stored ones are kept. */
type Reread = { graphs: DependencyGraph[] | null } | { kept: string };

const NOT_REPRODUCED =
  'its stored documents alone do not give the graph read when it was added (a Cargo configuration of a parent directory or of CARGO_HOME, which the fleet does not keep, took part): kept as read then; add the application again after a change to read it afresh';

async function reread(tx: FleetStore, target: RevisionToEvaluate, isDirectory: boolean, dir: string, reader: number): Promise<Reread> {
  mkdirSync(dir);
  const topLevel: string[] = [];
  for (const doc of target.revision.documents) {
    if (doc.name === POLICY_DOCUMENT) continue;
    // Named relative to the application: one outside it cannot be placed where it was.
    const parts = doc.name.split('/');
    if (doc.name.startsWith('/') || parts.some((p) => p === '..' || p === '.' || p === '')) return { kept: `its document ${JSON.stringify(doc.name)} lies outside the application: kept as read when it was added` };
    const stored = await tx.document(doc.digest);
    if (stored === null) return { kept: `its document ${JSON.stringify(doc.name)} is missing from the store: kept as read when it was added` };
    const path = join(dir, doc.name);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, decompressBytes(stored));
    if (parts.length === 1) topLevel.push(doc.name);
  }
  const old = JSON.stringify(decodeGraphs(target.graph));
  const oldPaths = (JSON.parse(old) as { path: string }[]).map((g) => g.path);
  // What was read: the directory, or the one file (a lockfile, SBOM, archive, package) the graphs name.
  const input = isDirectory ? '.' : inputFile(topLevel, oldPaths);
  if (input === null) return { kept: NOT_REPRODUCED };
  let graphs: DependencyGraph[];
  try {
    graphs = (await readApplication([input === '.' ? dir : join(dir, input)], { allowUnidentified: false, allowPartial: false, partialUse: 'fleet', confineTo: dir })).graphs;
  } catch (err) {
    const message = applicationError(err);
    if (message === null) throw err;
    return { kept: `${NOT_REPRODUCED} (${message.replaceAll(dir, '.')})` };
  }
  const placed = placedAsStored(graphs, dir, oldPaths);
  if (placed === null) return { kept: NOT_REPRODUCED };
  if (JSON.stringify(placed) === old) return { graphs: null };
  if (asReadBy(placed, reader) !== old) return { kept: NOT_REPRODUCED };
  return { graphs: placed };
}

/** The top-level document a file input was: the one the first graph's path names (a lockfile's or SBOM's own path). */
function inputFile(topLevel: readonly string[], oldPaths: readonly string[]): string | null {
  const first = oldPaths[0];
  if (first === undefined) return topLevel.length === 1 ? (topLevel[0] as string) : null;
  const named = topLevel.filter((name) => first === name || first.endsWith(`/${name}`) || first.includes(`/${name}`) || first.startsWith(name));
  // The longest name: `app.Cargo.lock` over `Cargo.lock`.
  return named.sort((a, b) => b.length - a.length)[0] ?? (topLevel.length === 1 ? (topLevel[0] as string) : null);
}

/**
 * The graphs read in `dir` with every mention of it as the stored graphs name the application's
 * place (the path it was added from, or none for an upload), or null when the two do not line up.
 */
function placedAsStored(graphs: readonly DependencyGraph[], dir: string, oldPaths: readonly string[]): DependencyGraph[] | null {
  const first = graphs[0]?.path;
  const stored = oldPaths[0];
  if (first === undefined || stored === undefined) return graphs.length === 0 && oldPaths.length === 0 ? [] : null;
  if (!first.startsWith(`${dir}/`)) return null;
  const rel = first.slice(dir.length + 1);
  let text = JSON.stringify(graphs);
  if (stored === rel) text = text.replaceAll(`${dir}/`, '');
  else if (stored.endsWith(`/${rel}`)) {
    const place = JSON.stringify(stored.slice(0, stored.length - rel.length - 1)).slice(1, -1);
    text = text.replaceAll(dir, place);
  } else return null;
  const placed = JSON.parse(text) as DependencyGraph[];
  return placed.length === oldPaths.length && placed.every((g, i) => g.path === oldPaths[i]) ? placed : null;
}

function packageKeys(graphs: readonly DependencyGraph[]): PackageKey[] {
  const keys: PackageKey[] = [];
  for (const g of graphs) for (const p of g.packages) keys.push({ ecosystem: p.ecosystem, name: p.name, version: p.version });
  return keys;
}

/** What `fleet sync` says of a re-reading: how many were read again (null: none), and a warning per revision kept as it was. */
export function rereadReport(outcome: RereadOutcome): { note: string | null; warnings: string[] } {
  const n = outcome.reread;
  const note =
    n === 0
      ? null
      : `read ${n} current ${n === 1 ? 'revision' : 'revisions'} again from ${n === 1 ? 'its' : 'their'} stored documents with this stowage's readers: ` +
        `${outcome.changed} read differently, evaluated in full`;
  return { note, warnings: outcome.kept.map((k) => `${k.app} ${k.revision.slice(0, 19)} (revision ${k.seq}): ${k.reason}`) };
}
