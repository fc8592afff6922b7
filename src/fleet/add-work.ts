import { basename, dirname, relative, resolve } from 'node:path';
import { statSync } from 'node:fs';
import type { AdvisoryDatabase } from '../advisories/database.js';
import { readingWarnings } from '../audit/audit.js';
import { findPolicyFile, readPolicyText } from '../audit/policy.js';
import { StowageError, systemErrorReason } from '../core/errors.js';
import type { Finding } from '../core/finding.js';
import { encodeFindings, type EncodedFindings } from './add-findings.js';
import type { DependencyGraph } from '../core/graph.js';
import type { Ecosystem } from '../core/package.js';
import { LOCKFILE_FORMATS } from '../ecosystems/formats.js';
import { readApplication } from '../inputs/application.js';
import type { ShippedLimits } from '../inputs/shipped-limits.js';
import { ExpansionRefused } from '../core/untrusted-tar.js';
import { evaluateGraphs, POLICY_DOCUMENT, revisionPolicy } from './evaluate.js';
import { encodeGraphs, revisionDigest, storedDocuments, type DocumentContent } from './revision.js';
import { readSourceOrWarning, type SourceReading } from './source.js';
import type { AppSourceKind, FleetSettings, PackageKey, RevisionDocument } from './store/store.js';

/**
 * The work `fleet add` does for one application apart from the store: read it, digest its
 * documents and, when they are not its current revision's, evaluate it and encode what the store
 * keeps. It needs no store, so it runs in a worker thread as well as in the command's own
 * (add-pool.ts); the main thread writes the store.
 */

/** One application to add: where to read it, and its name. */
export interface AppInput {
  path: string;
  name: string;
  /**
   * What the add's output and its event (GET /events, webhooks) call `path`, when not `path`
   * itself: an upload is read from a temporary directory of the server, a path none of them needs.
   */
  shownPath?: string;
}

/** An application as read: its documents, graphs and policy. */
export interface ReadApp {
  sourceKind: AppSourceKind;
  documents: DocumentContent[];
  graphs: DependencyGraph[];
  policyText: string | null;
  policyOrigin: string;
  /** The directory whose source (what `package rpm` takes as Source0) is kept for campaigns; null for a file. */
  sourceDir: string | null;
  /** What the read says was not audited (a manifest in the directory that no lockfile locks), as `stowage audit` warns of it. */
  warnings: string[];
}

function sourceKindOf(path: string, isDirectory: boolean): AppSourceKind {
  if (isDirectory) return 'directory';
  if (/\.(tar\.zst|tar\.gz|tgz)$/.test(path)) return 'archive';
  if (LOCKFILE_FORMATS.some((f) => basename(path) === f.fileName || basename(path).endsWith(`.${f.fileName}`))) return 'lockfile';
  return 'sbom';
}

/**
 * One application as `fleet add` reads it. `relativePaths`: an upload to the fleet server, whose
 * paths are named relative to its directory and which reads nothing outside it.
 */
export async function readApp(input: AppInput, relativePaths = false, limits?: ShippedLimits): Promise<ReadApp> {
  const full = resolve(input.path);
  const isDirectory = statSync(full, { throwIfNoEntry: false })?.isDirectory() === true;
  const base = isDirectory ? full : dirname(full);
  const documents: DocumentContent[] = [];
  const record = (path: string, bytes: Buffer): void => {
    documents.push({ name: relative(base, resolve(path)), bytes });
  };
  const read = await readApplication([input.path], { allowUnidentified: false, allowPartial: false, partialUse: 'fleet', record, ...(limits ? { limits } : {}), ...(relativePaths ? { confineTo: base } : {}) });
  // An upload's warnings are kept with its graphs and shown by `fleet show`, GET /apps/NAME and the dashboard: its documents as uploaded.
  const inUpload = (text: string): string => text.replaceAll(`${base}/`, '');
  const graphs = relativePaths
    ? read.graphs.map((g) => ({ ...g, path: relative(base, resolve(g.path)), ...(g.warnings !== undefined ? { warnings: g.warnings.map(inUpload) } : {}) }))
    : read.graphs;
  const policyFile = findPolicyFile(undefined, input.path);
  const policyText = policyFile === null ? null : readPolicyText(policyFile);
  if (policyText !== null) documents.push({ name: POLICY_DOCUMENT, bytes: Buffer.from(policyText, 'utf8') });
  return { sourceKind: sourceKindOf(full, isDirectory), documents, graphs, policyText, policyOrigin: policyFile ?? POLICY_DOCUMENT, sourceDir: isDirectory ? full : null, warnings: relativePaths ? read.warnings.map(inUpload) : read.warnings };
}

/** Errors that belong to one application (bad input), not to the command. */
export function applicationError(err: unknown): string | null {
  if (err instanceof StowageError) return err.line;
  const code = (err as NodeJS.ErrnoException | null)?.code;
  if (err instanceof Error && typeof code === 'string') {
    const path = (err as NodeJS.ErrnoException).path;
    return `${typeof path === 'string' ? `${path}: ` : ''}cannot read: ${systemErrorReason(err)}`;
  }
  return null;
}

/** An application to prepare: its input, and the digest of its current revision (null when it has none). */
export interface AppJob {
  input: AppInput;
  currentDigest: string | null;
}

/** What preparing an application needs besides the application. */
export interface WorkContext {
  settings: FleetSettings;
  databases: AdvisoryDatabase[];
  now: Date;
  relativePaths: boolean;
  /** How far archives may expand (an upload's: UPLOAD_LIMITS); the general caps when absent. */
  readLimits?: ShippedLimits;
  /**
   * Whether a directory's source is read now, before the store says whether its revision needs
   * it (a worker: the main thread reads nothing); otherwise the main thread reads it when needed.
   */
  readSourceAhead: boolean;
  /** Whether the findings' JSON is rendered for `fleet add --format json` too (not only for the event). */
  prettyJson: boolean;
  /** The advisory digests whose records this thread handed over already (a worker's, for its life); null: every application's records with it. */
  sentRecords: Set<string> | null;
}

/** A prepared application: one that could not be read or evaluated, unchanged content, or all the store keeps of it. */
export type PreparedApp = PreparedAppWith<PackageKey[]>;

/** A prepared application, its packages in the form `P`: PackageKey objects, or (a worker's message) flat triples of strings. */
export type PreparedAppWith<P> =
  | { kind: 'failed'; message: string; overLimit: boolean }
  | { kind: 'unchanged'; digest: string; warnings: string[] }
  | {
      kind: 'evaluated';
      digest: string;
      sourceKind: AppSourceKind;
      /** The documents as listed with the revision, and their compressed contents (once per digest). */
      listed: RevisionDocument[];
      contents: { digest: string; size: number; content: Buffer }[];
      /** encodeGraphs of the graphs, and their packages as indexed. */
      graph: Buffer;
      packages: P;
      /** The findings as the store, the output and the event take them. */
      findings: EncodedFindings;
      warnings: string[];
      sourceDir: string | null;
      /** The source of sourceDir as read ahead (readSourceAhead); undefined when it was not. */
      source?: SourceReading;
    };

/** The graphs' packages as the store indexes them. */
function packageKeys(graphs: readonly DependencyGraph[]): PackageKey[] {
  const keys: PackageKey[] = [];
  for (const g of graphs) for (const p of g.packages) keys.push({ ecosystem: p.ecosystem, name: p.name, version: p.version });
  return keys;
}

/**
 * The graphs' packages as a worker hands them over: ecosystem, name and version of each, one
 * after another. Strings cross between threads several times cheaper than objects of strings
 * (each object's keys are written and read again); packagesFromFlat makes the objects.
 */
function flatPackageKeys(graphs: readonly DependencyGraph[]): string[] {
  const flat: string[] = [];
  for (const g of graphs) for (const p of g.packages) flat.push(p.ecosystem, p.name, p.version);
  return flat;
}

/** The PackageKey objects of flatPackageKeys' strings. */
export function packagesFromFlat(flat: readonly string[]): PackageKey[] {
  const keys = new Array<PackageKey>(flat.length / 3);
  for (let i = 0, j = 0; j < keys.length; i += 3, j++) keys[j] = { ecosystem: flat[i] as Ecosystem, name: flat[i + 1] as string, version: flat[i + 2] as string };
  return keys;
}

/**
 * Reads, digests and (when its content is not current) evaluates one application, exactly as a
 * sequential add does: an application's errors are its failure; any other error is thrown.
 */
export function prepareApp(job: AppJob, context: WorkContext): Promise<PreparedApp> {
  return prepareWith(job, context, packageKeys);
}

/** prepareApp, its packages as a worker hands them over (flatPackageKeys). */
export function prepareAppForMessage(job: AppJob, context: WorkContext): Promise<PreparedAppWith<string[]>> {
  return prepareWith(job, context, flatPackageKeys);
}

async function prepareWith<P>(job: AppJob, context: WorkContext, packagesOf: (graphs: readonly DependencyGraph[]) => P): Promise<PreparedAppWith<P>> {
  let read: ReadApp;
  let digest: string;
  try {
    read = await readApp(job.input, context.relativePaths, context.readLimits);
    digest = revisionDigest(read.documents);
  } catch (err) {
    const message = applicationError(err);
    if (message === null) throw err;
    return { kind: 'failed', message, overLimit: err instanceof ExpansionRefused };
  }
  // Nothing is matched anew, but what the read says is said again (the first add said it too).
  if (job.currentDigest === digest) return { kind: 'unchanged', digest, warnings: readingWarnings(read.warnings, read.graphs) };
  let findings: Finding[];
  let warnings: string[];
  try {
    const policy = revisionPolicy(context.settings, read.policyText, read.policyOrigin);
    ({ findings, warnings } = await evaluateGraphs(read.graphs, context.databases, policy, context.now));
  } catch (err) {
    const message = applicationError(err);
    if (message === null) throw err;
    return { kind: 'failed', message, overLimit: false };
  }
  const { listed, contents } = storedDocuments(read.documents);
  const prepared: PreparedAppWith<P> = {
    kind: 'evaluated',
    digest,
    sourceKind: read.sourceKind,
    listed,
    contents,
    graph: encodeGraphs(read.graphs),
    packages: packagesOf(read.graphs),
    findings: encodeFindings(findings, context.prettyJson, context.sentRecords),
    warnings: [...read.warnings, ...warnings],
    sourceDir: read.sourceDir,
  };
  if (context.readSourceAhead && read.sourceDir !== null) prepared.source = await readSourceOrWarning(read.sourceDir);
  return prepared;
}
