import { userInfo } from 'node:os';
import { basename, dirname, relative, resolve } from 'node:path';
import { statSync } from 'node:fs';
import { withRememberedLookups, type AdvisoryDatabase } from '../advisories/database.js';
import { findPolicyFile, readPolicyText } from '../audit/policy.js';
import { StowageError, systemErrorReason } from '../core/errors.js';
import { findingKey, type Finding } from '../core/finding.js';
import type { DependencyGraph } from '../core/graph.js';
import { LOCKFILE_FORMATS } from '../ecosystems/formats.js';
import { readApplication } from '../inputs/application.js';
import { EVENT_APPS_LIMIT, eventParts, recordEvent } from './events.js';
import { addBody } from './report.js';
import { databaseRevisions, evaluateGraphs, POLICY_DOCUMENT, revisionPolicy } from './evaluate.js';
import { encodeGraphs, revisionDigest, storedDocuments, type DocumentContent } from './revision.js';
import { currentAdvisories } from './advisory-changes.js';
import { keepSourceOf } from './source.js';
import type { AppSourceKind, DatabaseState, FleetSettings, FleetStore, RevisionOrigin, RevisionRecord } from './store/store.js';
import { STATISTICS_AFTER } from './store/store.js';

/**
 * `fleet add`: each PATH one application, read by the same code as `stowage audit`, kept as a
 * content-addressed revision with its documents, evaluated at once with the fleet's databases.
 */

/** One application to add: where to read it, and its name. */
export interface AppInput {
  path: string;
  name: string;
}

const MAX_NAME_LENGTH = 200;

/** Printable, no `/`, at most 200 characters: a name that is safe in a URL path and a terminal. */
export function appNameProblem(name: string): string | null {
  if (name === '') return 'an application name cannot be empty';
  if ([...name].length > MAX_NAME_LENGTH) return `an application name has at most ${MAX_NAME_LENGTH} characters`;
  if (name.includes('/')) return 'an application name cannot hold "/"';
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/.test(name)) return 'an application name must be printable (no control characters)';
  if (name.trim() !== name) return 'an application name cannot start or end with white space';
  return null;
}

/** Suffixes whose stem names the application: `web.package-lock.json` is application `web`. */
const NAMED_SUFFIXES = [...LOCKFILE_FORMATS.map((f) => `.${f.fileName}`), '.cdx.json', '.tar.zst', '.tar.gz', '.tgz', '.json'];

/** The application PATH names: a directory's base name, a file's NAME, a bare lockfile's directory. */
export function appNameFor(path: string): string {
  const full = resolve(path);
  const st = statSync(full, { throwIfNoEntry: false });
  if (st?.isDirectory()) return basename(full);
  const file = basename(full);
  for (const suffix of NAMED_SUFFIXES) {
    if (file.endsWith(suffix) && file.length > suffix.length) return file.slice(0, -suffix.length);
  }
  // `Cargo.lock`, `package-lock.json`: the application is the directory holding it.
  return st?.isFile() ? basename(dirname(full)) : file;
}

/** PATHs with their names; `--name` only for one PATH. */
export function appInputs(paths: readonly string[], name: string | undefined): AppInput[] {
  if (name !== undefined) {
    if (paths.length !== 1) throw new StowageError(`--name names one application, but ${paths.length} paths were given`);
    const problem = appNameProblem(name);
    if (problem !== null) throw new StowageError(`--name ${JSON.stringify(name)}: ${problem}`);
    return [{ path: paths[0] as string, name }];
  }
  return paths.map((path) => ({ path, name: appNameFor(path) }));
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
}

function sourceKindOf(path: string, isDirectory: boolean): AppSourceKind {
  if (isDirectory) return 'directory';
  if (/\.(tar\.zst|tar\.gz|tgz)$/.test(path)) return 'archive';
  if (LOCKFILE_FORMATS.some((f) => basename(path) === f.fileName || basename(path).endsWith(`.${f.fileName}`))) return 'lockfile';
  return 'sbom';
}

export async function readApp(input: AppInput, relativePaths = false): Promise<ReadApp> {
  const full = resolve(input.path);
  const isDirectory = statSync(full, { throwIfNoEntry: false })?.isDirectory() === true;
  const base = isDirectory ? full : dirname(full);
  const documents: DocumentContent[] = [];
  const record = (path: string, content: string | Buffer): void => {
    documents.push({ name: relative(base, resolve(path)), bytes: typeof content === 'string' ? Buffer.from(content, 'utf8') : content });
  };
  const read = await readApplication([input.path], { allowUnidentified: false, allowPartial: false, partialUse: 'fleet', record });
  const graphs = relativePaths ? read.graphs.map((g) => ({ ...g, path: relative(base, resolve(g.path)) })) : read.graphs;
  const policyFile = findPolicyFile(undefined, input.path);
  const policyText = policyFile === null ? null : readPolicyText(policyFile);
  if (policyText !== null) documents.push({ name: POLICY_DOCUMENT, bytes: Buffer.from(policyText, 'utf8') });
  return { sourceKind: sourceKindOf(full, isDirectory), documents, graphs, policyText, policyOrigin: policyFile ?? POLICY_DOCUMENT, sourceDir: isDirectory ? full : null };
}

export type AddChange = 'added' | 'changed' | 'unchanged';

export interface AddOutcome {
  name: string;
  path: string;
  change: AddChange;
  revision: RevisionRecord;
  findings: Finding[];
  warnings: string[];
}

/** An application that could not be added: the one line `stowage audit` would print for it. */
export interface AddFailure {
  name: string;
  path: string;
  message: string;
}

export interface AddContext {
  settings: FleetSettings;
  databases: AdvisoryDatabase[];
  now: Date;
  by: string;
  /** How new revisions came (default `add`; the server's uploads are `push`). */
  origin?: RevisionOrigin;
  /** Findings name their lockfile relative to the application (an upload: where its temporary copy was means nothing). */
  relativePaths?: boolean;
}

/** Errors that belong to one application (bad input), not to the command. */
function applicationError(err: unknown): string | null {
  if (err instanceof StowageError) return err.line;
  const code = (err as NodeJS.ErrnoException | null)?.code;
  if (err instanceof Error && typeof code === 'string') {
    const path = (err as NodeJS.ErrnoException).path;
    return `${typeof path === 'string' ? `${path}: ` : ''}cannot read: ${systemErrorReason(err)}`;
  }
  return null;
}

export function currentUser(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? 'unknown';
  }
}

/**
 * The databases' advisories as this add evaluated against them, recorded for each database no
 * sync has recorded a state for yet: the first sync then diffs against this state and
 * re-matches only what moved since, instead of evaluating every application again. The
 * evaluation time is left unset: it is the last sync's, and triage expiries are reported from it.
 */
async function recordFirstDatabaseStates(tx: FleetStore, databases: readonly AdvisoryDatabase[]): Promise<void> {
  const states = new Map((await tx.databases()).map((s) => [s.source, s]));
  const unknown = databases.filter((db) => (states.get(db.source)?.revision ?? null) === null);
  if (unknown.length === 0) return;
  for (const db of unknown) {
    const current = currentAdvisories(db.index.everyAdvisory());
    const gone = (await tx.advisoryState(db.source)).map((e) => e.advisoryId).filter((id) => !current.has(id));
    await tx.updateAdvisoryState(db.source, [...current].map(([advisoryId, a]) => ({ advisoryId, digest: a.digest, names: a.names })), gone);
  }
  await tx.putDatabases(
    databases.map((db, position): DatabaseState => {
      const known = states.get(db.source);
      if (known !== undefined && known.revision !== null) return known;
      return { source: db.source, position: known?.position ?? position, kind: db.spec.kind, revision: db.revision, revisionDate: db.revisionDate, evaluatedAt: null };
    }),
  );
}

/** Whether two sets of findings are the same (lockfile, package, advisory, failing or not), whatever their order. */
function sameFindings(a: readonly Finding[], b: readonly Finding[]): boolean {
  const keys = (fs: readonly Finding[]): string => fs.map((f) => `${findingKey(f)}\0${f.failsPolicy}`).sort().join('\n');
  return keys(a) === keys(b);
}

/**
 * Adds every application in one transaction (a killed command leaves the store as it was).
 * One that cannot be read or evaluated is a failure of its own; the others are added.
 */
export async function addApplications(
  store: FleetStore,
  inputs: readonly AppInput[],
  context: AddContext,
): Promise<{ outcomes: AddOutcome[]; failures: AddFailure[] }> {
  const at = context.now.toISOString();
  const against = databaseRevisions(context.databases);
  // Applications of one code base ask for the same names: each set is read from the index once.
  const databases = context.databases.map(withRememberedLookups);
  const added = await store.transaction(async (tx) => {
    // Reset on each attempt: PostgreSQL may run this body again after a serialisation failure.
    const outcomes: AddOutcome[] = [];
    const failures: AddFailure[] = [];
    const seen = new Map<string, string>();
    let findingsChanged = false;
    for (const input of inputs) {
      const earlier = seen.get(input.name);
      if (earlier !== undefined) {
        failures.push({ name: input.name, path: input.path, message: `${input.path}: application ${input.name} is also given as ${earlier}` });
        continue;
      }
      seen.set(input.name, input.path);
      const problem = appNameProblem(input.name);
      if (problem !== null) {
        failures.push({ name: input.name, path: input.path, message: `${input.path}: ${problem}; name it with --name` });
        continue;
      }
      let read: ReadApp;
      let digest: string;
      try {
        read = await readApp(input, context.relativePaths === true);
        digest = revisionDigest(read.documents);
      } catch (err) {
        const message = applicationError(err);
        if (message === null) throw err;
        failures.push({ name: input.name, path: input.path, message });
        continue;
      }
      const app = (await tx.app(input.name)) ?? null;
      const current = app?.currentRevision != null ? await tx.revision(app.currentRevision) : null;
      if (app !== null && current !== null && current.digest === digest) {
        outcomes.push({ name: input.name, path: input.path, change: 'unchanged', revision: current, findings: await tx.findings(current.id), warnings: [] });
        continue;
      }
      let findings: Finding[];
      let warnings: string[];
      try {
        const policy = revisionPolicy(context.settings, read.policyText, read.policyOrigin);
        ({ findings, warnings } = await evaluateGraphs(read.graphs, databases, policy, context.now));
      } catch (err) {
        const message = applicationError(err);
        if (message === null) throw err;
        failures.push({ name: input.name, path: input.path, message });
        continue;
      }
      const appRecord = app ?? (await tx.createApp(input.name, read.sourceKind, at));
      const { listed, contents } = storedDocuments(read.documents);
      await tx.putDocuments(contents);
      // Content seen before (an earlier revision): it becomes current again, recorded once.
      let revision = await tx.revisionByDigest(appRecord.id, digest);
      if (revision === null) {
        revision = await tx.addRevision({
          appId: appRecord.id,
          digest,
          origin: context.origin ?? 'add',
          documents: listed,
          graph: encodeGraphs(read.graphs),
          evaluatedAgainst: against,
          at,
        });
        await tx.indexPackages(
          revision.id,
          read.graphs.flatMap((g) => g.packages.map((p) => ({ ecosystem: p.ecosystem, name: p.name, version: p.version }))),
        );
      } else {
        await tx.setEvaluatedAgainst(revision.id, against);
      }
      const sourceWarning = read.sourceDir === null ? null : await keepSourceOf(tx, revision.id, read.sourceDir);
      if (sourceWarning !== null) warnings.push(sourceWarning);
      await tx.replaceFindings(revision.id, findings);
      await tx.setCurrentRevision(appRecord.id, revision.id);
      await tx.appendHistory({ appId: appRecord.id, at, action: 'added', revisionId: revision.id, previousRevisionId: current?.id ?? null, by: context.by });
      outcomes.push({ name: input.name, path: input.path, change: app === null ? 'added' : 'changed', revision, findings, warnings });
      if (!sameFindings(current === null ? [] : await tx.findings(current.id), findings)) findingsChanged = true;
    }
    await recordFirstDatabaseStates(tx, context.databases);
    // An event with the command's JSON when an application's findings are not what they were (in parts of
    // EVENT_APPS_LIMIT applications, the failures in the first).
    if (findingsChanged) for (const part of eventParts(addBody(outcomes, failures), 'apps', EVENT_APPS_LIMIT, ['failed'])) await recordEvent(tx, context.settings, 'add', part, at);
    return { outcomes, failures };
  });
  if (added.outcomes.filter((o) => o.change !== 'unchanged').length >= STATISTICS_AFTER) await store.refreshStatistics();
  return added;
}
