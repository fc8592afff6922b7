import { notAuditedRefusal } from '../audit/audit.js';
import { userInfo } from 'node:os';
import { basename, dirname, resolve } from 'node:path';
import { statSync, type Stats } from 'node:fs';
import { withRememberedLookups, type AdvisoryDatabase } from '../advisories/database.js';
import { StowageError } from '../core/errors.js';
import { hasUnprintable } from '../core/terminal-text.js';
import { LOCKFILE_FORMATS } from '../ecosystems/formats.js';
import { EVENT_APPS_LIMIT, recordEventText } from './events.js';
import { AddJson, findingsJson, findingsSameKey } from './add-findings.js';
import { databaseRevisions } from './evaluate.js';
import { currentAdvisories } from './advisory-changes.js';
import { keepSourceOf } from './source.js';
import { prepareApp, type AppInput, type AppJob, type PreparedApp } from './add-work.js';
import { poolSize, startPool } from './add-pool.js';
import type { AppRecord, DatabaseState, FleetSettings, FleetStore, RevisionOrigin, RevisionRecord } from './store/store.js';
import { STATISTICS_AFTER } from './store/store.js';
import type { ShippedLimits } from '../inputs/shipped-limits.js';

export { readApp, type AppInput, type ReadApp } from './add-work.js';

/**
 * `fleet add`: each PATH one application, read by the same code as `stowage audit`, kept as a
 * content-addressed revision with its documents, evaluated at once with the fleet's databases.
 */

export const MAX_NAME_LENGTH = 200;

/**
 * Printable, no `/`, not `.` or `..`, at most 200 characters: a name that is safe in a URL path
 * and a terminal, and reads as itself on a page: no control, format (a bidi override, a zero-width
 * space) or separator character, which the command line would show escaped and a browser would
 * apply (`a\u202egnp.exe` shows as `aexe.png`). A URL cannot address `.` or `..` as a path segment: browsers and URL parsers
 * drop them (`/apps/..` is `/`), percent-encoded too (`%2E%2E`), so the API and the dashboard
 * could never reach such an application.
 */
export function appNameProblem(name: string): string | null {
  if (name === '') return 'an application name cannot be empty';
  if ([...name].length > MAX_NAME_LENGTH) return `an application name has at most ${MAX_NAME_LENGTH} characters`;
  if (name.includes('/')) return 'an application name cannot hold "/"';
  if (name === '.' || name === '..') return `an application name cannot be "${name}" (a URL cannot address it)`;
  if (hasUnprintable(name)) return 'an application name must be printable (no control, format or line separator characters: a bidi override or a zero-width space would make it read as another)';
  if (name.trim() !== name) return 'an application name cannot start or end with white space';
  return null;
}

/** Suffixes whose stem names the application: `web.package-lock.json` is application `web`. */
const NAMED_SUFFIXES = [...LOCKFILE_FORMATS.map((f) => `.${f.fileName}`), '.cdx.json', '.tar.zst', '.tar.gz', '.tgz', '.json'];

/** Lockfiles under their own names (`Cargo.lock`): the application is the directory holding them. */
const BARE_LOCKFILES = new Set(LOCKFILE_FORMATS.map((f) => f.fileName));

/** Debian's `NAME_VERSION_ARCH.deb` and RPM's `NAME-VERSION-RELEASE.ARCH.rpm` (source RPMs too). */
const DEB_FILE = /^([^_]+)_[^_]+_[^_]+\.deb$/;
const RPM_FILE = /^(.+)-[^-]+-[^-]+\.[^.-]+\.rpm$/;

/**
 * The application PATH names: a directory's base name, a file's NAME, a bare lockfile's
 * directory, a package's name without its version (each version is a revision of one
 * application), any other file (a Rust binary) its own name.
 */
export function appNameFor(path: string): string {
  const full = resolve(path);
  const st = statOrNothing(full);
  if (st?.isDirectory()) return basename(full);
  const file = basename(full);
  // Before the suffixes: `package-lock.json` is not application "package-lock".
  if (st?.isFile() && BARE_LOCKFILES.has(file)) return basename(dirname(full));
  for (const suffix of NAMED_SUFFIXES) {
    if (file.endsWith(suffix) && file.length > suffix.length) return file.slice(0, -suffix.length);
  }
  return DEB_FILE.exec(file)?.[1] ?? RPM_FILE.exec(file)?.[1] ?? file;
}

/**
 * What the path is, or undefined when it cannot be told (absent, a file's name used as a
 * directory, a loop of links, a name too long): naming is no reading, and one bad line of a
 * list of thousands must not stop the others; reading the application says what is wrong.
 */
function statOrNothing(path: string): Stats | undefined {
  try {
    return statSync(path, { throwIfNoEntry: false });
  } catch {
    return undefined;
  }
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

export type AddChange = 'added' | 'changed' | 'unchanged';

export interface AddOutcome {
  name: string;
  path: string;
  change: AddChange;
  revision: RevisionRecord;
  /** How many findings the revision has, and how many of them fail the policy (their JSON is in the add's AddJson). */
  findingCount: number;
  failing: number;
  warnings: string[];
}

/** An application that could not be added: the one line `stowage audit` would print for it. */
export interface AddFailure {
  name: string;
  path: string;
  message: string;
  /** Refused for expanding past a cap (the server answers 413), not for what it holds. */
  overLimit?: boolean;
}

export interface AddContext {
  settings: FleetSettings;
  databases: AdvisoryDatabase[];
  now: Date;
  /** The moment findings are judged at (withdrawn advisories, ignore and triage expiry): STOWAGE_NOW's (core/clock.ts evaluationTime); `now` when absent. `now` is what is recorded. */
  judgeAt?: Date;
  by: string;
  /** How new revisions came (default `add`; the server's uploads are `push`). */
  origin?: RevisionOrigin;
  /** Findings name their lockfile relative to the application (an upload: where its temporary copy was means nothing). */
  relativePaths?: boolean;
  /** How far archives may expand (the server's uploads: UPLOAD_LIMITS); the general caps when absent. */
  readLimits?: ShippedLimits;
  /** Worker threads at most (default: the machine's parallelism); 0 prepares every application in this thread. */
  workers?: number;
  /** Whether `fleet add --format json` is to be written (AddJson.outputPieces); the event alone otherwise. */
  jsonOutput?: boolean;
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
    await tx.updateAdvisoryState(db.source, [...current].map(([advisoryId, a]) => ({ advisoryId, digest: a.digest, names: a.names, aliases: a.aliases })), gone);
  }
  await tx.putDatabases(
    databases.map((db, position): DatabaseState => {
      const known = states.get(db.source);
      if (known !== undefined && known.revision !== null) return known;
      return { source: db.source, position: known?.position ?? position, kind: db.spec.kind, revision: db.revision, revisionDate: db.revisionDate, evaluatedAt: null };
    }),
  );
}


/** Applications whose records one lookup reads at most. */
const LOOKUP_BATCH = 64;

/** An application of this add: its input, and its state in the store when it was looked at. */
interface Slot {
  input: AppInput;
  /** Why it is refused before it is read (its name), or null. */
  refused: string | null;
  app: AppRecord | null;
  current: RevisionRecord | null;
  /** Its preparation by a worker, when one was asked. */
  prepared?: Promise<PreparedApp | null>;
}

/**
 * Adds every application in one transaction (a killed command leaves the store as it was); the
 * caller closes the `json` it returns (AddJson: the add's JSON output and event, kept in a
 * temporary file).
 * One that cannot be read or evaluated is a failure of its own; the others are added. Many are
 * prepared in worker threads (add-pool.ts) ahead of the main thread, which writes them in input
 * order: the outcome is the same as adding them one by one.
 */
export async function addApplications(
  store: FleetStore,
  inputs: readonly AppInput[],
  context: AddContext,
): Promise<{ outcomes: AddOutcome[]; failures: AddFailure[]; json: AddJson }> {
  const at = context.now.toISOString();
  const against = databaseRevisions(context.databases);
  // Applications of one code base ask for the same names: each set is read from the index once.
  const databases = context.databases.map(withRememberedLookups);
  const relativePaths = context.relativePaths === true;
  const prettyJson = context.jsonOutput === true;
  // Every advisory record the findings cite, by digest (a few hundred for a whole fleet): the workers hand each over once.
  const records = new Map<string, string>();
  const readLimits = context.readLimits;
  const work = { settings: context.settings, databases, now: context.judgeAt ?? context.now, relativePaths, ...(readLimits ? { readLimits } : {}), readSourceAhead: false, prettyJson, sentRecords: null };
  const workers = poolSize(inputs.length, context.workers);
  const pool = workers === 0 ? null : startPool(workers, { ...work, databases: context.databases }, records);
  // The applications' JSON, in a temporary file: the caller writes the output from it, and closes it.
  const json = new AddJson(prettyJson);
  let returned = false;
  try {
    const added = await store.transaction(async (tx) => {
      // Reset on each attempt: PostgreSQL may run this body again after a serialisation failure.
      const outcomes: AddOutcome[] = [];
      const failures: AddFailure[] = [];
      json.clear();
      const seen = new Map<string, string>();
      const slots: Slot[] = inputs.map((input) => {
        const earlier = seen.get(input.name);
        if (earlier !== undefined) return { input, refused: `${input.path}: application ${input.name} is also given as ${earlier}`, app: null, current: null };
        seen.set(input.name, input.path);
        const problem = appNameProblem(input.name);
        return { input, refused: problem === null ? null : `${input.path}: ${problem}; name it with --name`, app: null, current: null };
      });
      // Workers run ahead of the writes by a window of applications (each distinct, so what is
      // looked up for one is not changed by the writes of another); without them, none.
      let workersServe = pool?.serves(context.databases) === true;
      const window = workersServe ? workers * 16 : 1;
      let looked = 0;
      // Applications' records are read a batch at a time (two queries for many; PostgreSQL: a
      // round trip each), ahead of the window: names are distinct, so no write of this add changes them.
      let read = 0;
      const readUpTo = async (end: number): Promise<void> => {
        if (read >= end) return;
        const to = Math.min(Math.max(end, read + LOOKUP_BATCH), slots.length);
        const batch = slots.slice(read, to).filter((s) => s.refused === null);
        read = to;
        if (batch.length === 0) return;
        const apps = await tx.appsNamed(batch.map((s) => s.input.name));
        const revisions = await tx.revisionsById([...apps.values()].flatMap((a) => (a.currentRevision === null ? [] : [a.currentRevision])));
        for (const slot of batch) {
          slot.app = apps.get(slot.input.name) ?? null;
          slot.current = slot.app?.currentRevision != null ? (revisions.get(slot.app.currentRevision) ?? null) : null;
        }
      };
      const lookUpTo = async (end: number): Promise<void> => {
        for (; looked < Math.min(end, slots.length); looked++) {
          await readUpTo(looked + 1);
          const slot = slots[looked] as Slot;
          if (slot.refused !== null) continue;
          if (workersServe && pool !== null) slot.prepared = pool.prepare(jobOf(slot));
        }
      };
      let findingsChanged = false;
      for (let i = 0; i < slots.length; i++) {
        await lookUpTo(i + window);
        const slot = slots[i] as Slot;
        const { input, app, current } = slot;
        if (slot.refused !== null) {
          failures.push({ name: input.name, path: input.shownPath ?? input.path, message: slot.refused });
          continue;
        }
        // Not kept by its slot once taken: the slots last as long as the add.
        const pending = slot.prepared;
        slot.prepared = undefined;
        let prepared = pending === undefined || !workersServe ? null : await pending;
        if (prepared === null) {
          // Left to this thread (by a worker, or no worker): so is every application after it.
          workersServe = false;
          prepared = await prepareApp(jobOf(slot), work);
        }
        if (prepared.kind === 'failed') {
          failures.push({ name: input.name, path: input.shownPath ?? input.path, message: prepared.message, overLimit: prepared.overLimit });
          continue;
        }
        if (prepared.kind === 'unchanged' && current !== null && current.notAudited.length > 0) {
          // Content already current, but a sync found it could not be audited: refused as add refuses such content.
          failures.push({ name: input.name, path: input.shownPath ?? input.path, message: notAuditedRefusal(current.notAudited) });
          continue;
        }
        if (prepared.kind === 'unchanged' && current !== null) {
          const findings = await tx.findings(current.id);
          const outcome: AddOutcome = { name: input.name, path: input.shownPath ?? input.path, change: 'unchanged', revision: current, findingCount: findings.length, failing: findings.filter((f) => f.failsPolicy).length, warnings: prepared.warnings };
          outcomes.push(outcome);
          json.add(outcome, findingsJson(findings, prettyJson));
          continue;
        }
        if (prepared.kind !== 'evaluated') throw new Error(`fleet add: ${input.name} prepared as ${prepared.kind} without a current revision`);
        const { findings } = prepared;
        for (const [digest, record] of findings.records) records.set(digest, record);
        const warnings = [...prepared.warnings];
        const appRecord = app ?? (await tx.createApp(input.name, prepared.sourceKind, at));
        await tx.putDocuments(prepared.contents);
        // Content seen before (an earlier revision): it becomes current again, recorded once. An
        // application created just now has none.
        let revision = app === null ? null : await tx.revisionByDigest(appRecord.id, prepared.digest);
        if (revision === null) {
          revision = await tx.addRevision({
            appId: appRecord.id,
            digest: prepared.digest,
            origin: context.origin ?? 'add',
            documents: prepared.listed,
            graph: prepared.graph,
            evaluatedAgainst: against,
            at,
          });
          await tx.indexPackages(revision.id, prepared.packages);
        } else {
          await tx.setEvaluatedAgainst(revision.id, against);
          // Evaluated in full just now, every package compared (add refuses what it cannot compare).
          if (revision.notAudited.length > 0) await tx.setNotAudited([{ revisionId: revision.id, packages: [] }]);
        }
        const sourceWarning = prepared.sourceDir === null ? null : await keepSourceOf(tx, revision.id, prepared.source ?? prepared.sourceDir);
        if (sourceWarning !== null) warnings.push(sourceWarning);
        await tx.replaceEncodedFindings(revision.id, findings.rows, records);
        await tx.setCurrentRevision(appRecord.id, revision.id);
        await tx.appendHistory({ appId: appRecord.id, at, action: 'added', revisionId: revision.id, previousRevisionId: current?.id ?? null, by: context.by });
        const outcome: AddOutcome = { name: input.name, path: input.shownPath ?? input.path, change: app === null ? 'added' : 'changed', revision, findingCount: findings.count, failing: findings.failing, warnings };
        outcomes.push(outcome);
        json.add(outcome, findings.json);
        // Once one application's findings changed, the others' need not be compared.
        if (!findingsChanged && (current === null ? '' : findingsSameKey(await tx.findings(current.id))) !== findings.sameKey) findingsChanged = true;
      }
      await recordFirstDatabaseStates(tx, context.databases);
      // An event with the command's JSON when an application's findings are not what they were (in parts of
      // EVENT_APPS_LIMIT applications, the failures in the first).
      if (findingsChanged) for (const part of json.eventBodies(failures, EVENT_APPS_LIMIT)) await recordEventText(tx, context.settings, 'add', part, at);
      return { outcomes, failures };
      // Bulk: SQLite checkpoints the WAL it wrote (the whole of a first add) in a thread while the output is written.
    }, { bulk: true });
    if (added.outcomes.filter((o) => o.change !== 'unchanged').length >= STATISTICS_AFTER) await store.refreshStatistics();
    returned = true;
    return { ...added, json };
  } finally {
    if (!returned) json.close();
    await pool?.close();
  }
}

/** What preparing an application needs to know of the store: its current revision's digest. */
function jobOf(slot: Slot): AppJob {
  return { input: slot.input, currentDigest: slot.app !== null && slot.current !== null ? slot.current.digest : null };
}
