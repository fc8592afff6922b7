import { StowageError } from '../core/errors.js';
import { hasUnprintable } from '../core/terminal-text.js';
import type { Advisory } from '../core/advisory.js';
import type { Finding } from '../core/finding.js';
import type { Ecosystem, Package } from '../core/package.js';
import type { VersionScheme } from '../core/ecosystem.js';
import { lockfileNameKey } from '../ecosystems/package-names.js';
import { compareCodePoints } from '../core/compare-text.js';
import { findingJson } from '../audit/report/json.js';
import { ANALYSIS_STATES, JUSTIFICATIONS, type AnalysisState, type Justification, type VexAnalysis } from '../sbom/cyclonedx-vex.js';
import { recordEvent } from './events.js';
import { noSuchApp, NotInFleetError } from './lookup.js';
import { aliasGroupKey, type FindingLine, type FleetStore } from './store/store.js';

/**
 * Triage decisions, as CycloneDX's vulnerability analysis states them (1.5 and later): what a
 * person decided about an advisory for one application or the whole fleet. A decision is keyed
 * on the advisory's alias group and the package, never on a revision, so it follows the
 * application across rebuilds and holds for every id of the advisory.
 */

/** States that say "this finding is not a risk here": they stop it failing, as an ignore does. */
const SETTLED: ReadonlySet<AnalysisState> = new Set(['resolved', 'resolved_with_pedigree', 'false_positive', 'not_affected']);

/** States that claim the advisory does not apply, which CycloneDX wants justified. */
const NEEDS_JUSTIFICATION: ReadonlySet<AnalysisState> = new Set(['not_affected', 'false_positive']);

export interface TriageDecision {
  /** null: the whole fleet. */
  appId: number | null;
  /** Every id of the advisory as the decision was taken (aliasGroupKey: sorted, space-separated). */
  aliasKey: string;
  /** Only this package (and, with packageRange, these versions, in the ecosystem's requirement syntax). */
  packageName: string | null;
  packageRange: string | null;
  state: AnalysisState;
  justification: Justification | null;
  reason: string;
  /** Last day (YYYY-MM-DD, inclusive) the decision holds; null for no end. */
  expires: string | null;
  by: string;
  /** ISO-8601 UTC. */
  at: string;
}

/** A decision as stored: append-only, a later one for the same key supersedes it. */
export interface StoredTriageDecision extends TriageDecision {
  id: number;
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;

/** A version every ecosystem's scheme reads, to try a range on when no finding gives one. */
const ANY_VERSION = '1.0.0';

/** What a caller gives for a decision, each checked here once whoever gives it. */
export type TriageInput = 'state' | 'reason' | 'justification' | 'expires' | 'package' | 'by';

/**
 * How the caller names each input in an error, so the one line points at what it sent: the
 * command line's options (`--state`), the API's JSON fields (`field "state"`), the dashboard's
 * form fields (`state`). The checks are the same for all of them.
 */
export type TriageNames = (input: TriageInput) => string;

export const TRIAGE_OPTIONS: TriageNames = (input) => `--${input}`;
export const TRIAGE_JSON_FIELDS: TriageNames = (input) => `field ${JSON.stringify(input)}`;
export const TRIAGE_FORM_FIELDS: TriageNames = (input) => input;

/**
 * The longest reason, decider and package selector a decision keeps, in characters: each is
 * stored for good (history is append-only), shown on every finding it governs and sent in every
 * event and export that carries the decision.
 */
export const MAX_TRIAGE_TEXT: Readonly<Record<'reason' | 'by' | 'package', number>> = { reason: 2000, by: 128, package: 256 };

/** `text` as a decision keeps it, or one line naming the input: bounded, one printable line. */
function triageText(input: 'reason' | 'by' | 'package', text: string, names: TriageNames): string {
  const max = MAX_TRIAGE_TEXT[input];
  if ([...text].length > max) throw new StowageError(`${names(input)} is longer than ${max} characters`);
  if (hasUnprintable(text)) {
    throw new StowageError(`${names(input)} must be one line of printable text (no control, format or line separator characters)`);
  }
  return text;
}

/** `NAME`, `NAME@RANGE`, `@scope/name@RANGE`: the `@` that separates is never the first character. */
export function parsePackageSelector(text: string, names: TriageNames = TRIAGE_OPTIONS): { name: string; range: string | null } {
  triageText('package', text, names);
  const at = text.indexOf('@', 1);
  const name = at < 0 ? text : text.slice(0, at);
  const range = at < 0 ? null : text.slice(at + 1).trim();
  if (name === '' || range === '') throw new StowageError(`${names('package')} ${JSON.stringify(text)}: expected NAME or NAME@RANGE`);
  return { name, range };
}

/** Checks what a user asked for, before anything is stored: one line naming the option (or field) at fault. */
export function checkDecision(
  input: {
    state: string | undefined;
    reason: string | undefined;
    justification: string | undefined;
    expires: string | undefined;
    by: string | undefined;
  },
  names: TriageNames = TRIAGE_OPTIONS,
): { state: AnalysisState; reason: string; justification: Justification | null; expires: string | null; by: string } {
  const state = input.state as AnalysisState | undefined;
  if (state === undefined || !ANALYSIS_STATES.includes(state)) {
    throw new StowageError(`${names('state')} is required: one of ${ANALYSIS_STATES.join(', ')}`);
  }
  const reason = triageText('reason', input.reason?.trim() ?? '', names);
  if (reason === '') throw new StowageError(`${names('reason')} is required: say why, for whoever reads the decision later`);
  const justification = (input.justification ?? null) as Justification | null;
  if (justification !== null && !JUSTIFICATIONS.includes(justification)) {
    throw new StowageError(`${names('justification')} ${JSON.stringify(justification)} is not one of ${JUSTIFICATIONS.join(', ')}`);
  }
  if (justification === null && NEEDS_JUSTIFICATION.has(state)) {
    throw new StowageError(`${names('state')} ${state} needs ${names('justification')} (one of ${JUSTIFICATIONS.join(', ')})`);
  }
  const expires = input.expires ?? null;
  if (expires !== null && (!DATE.test(expires) || Number.isNaN(Date.parse(`${expires}T00:00:00Z`)))) {
    throw new StowageError(`${names('expires')} ${JSON.stringify(expires)} is not a date (YYYY-MM-DD)`);
  }
  const by = triageText('by', input.by?.trim() ?? '', names);
  if (by === '') throw new StowageError(`${names('by')} is empty: name who decided`);
  return { state, reason, justification, expires, by };
}

/** What a decision is matched on: the advisory's ids and the package (a Finding, or a FindingLine). */
export interface TriagedFinding {
  advisory: Pick<Advisory, 'id' | 'aliases'>;
  package: Pick<Package, 'ecosystem' | 'name' | 'version'>;
}

/** Whether a stored decision is about this finding: an id in common, and the package (and version) it names. */
export function decisionCovers(decision: TriageDecision, finding: TriagedFinding, scheme: VersionScheme): boolean {
  const ids = new Set(decision.aliasKey.split(' '));
  if (![finding.advisory.id, ...finding.advisory.aliases].some((id) => ids.has(id))) return false;
  if (decision.packageName === null) return true;
  const ecosystem = finding.package.ecosystem;
  if (lockfileNameKey(ecosystem, decision.packageName) !== lockfileNameKey(ecosystem, finding.package.name)) return false;
  if (decision.packageRange === null) return true;
  // A version inside the range is one the requirement "patches": the scheme's own syntax and order.
  // A range this ecosystem cannot read (a decision recorded before its advisory had a finding,
  // or whose alias group spans ecosystems) covers none of its versions: the finding stays open.
  try {
    return !scheme.isAffected(finding.package.version, { form: 'requirements', patched: [decision.packageRange], unaffected: [] });
  } catch {
    return false;
  }
}

/** Whether a range can be read by the ecosystem's requirement syntax; the error names it when not. */
export function checkRange(range: string, scheme: VersionScheme, version: string, names: TriageNames = TRIAGE_OPTIONS): void {
  try {
    scheme.isAffected(version, { form: 'requirements', patched: [range], unaffected: [] });
  } catch (err) {
    throw new StowageError(`${names('package')} range ${JSON.stringify(range)} cannot be read: ${(err as Error).message}`);
  }
}

export interface AppliedDecision {
  decision: StoredTriageDecision;
  /** False once the expiry date has passed: the finding is open again. */
  active: boolean;
}

/**
 * The decision that governs a finding of application `appId`: the newest one that covers it,
 * an application's own before the fleet's. An expired one is returned inactive, so reports can
 * say the finding reopened.
 */
export function governingDecision(
  decisions: readonly StoredTriageDecision[],
  appId: number,
  finding: TriagedFinding,
  scheme: VersionScheme,
  today: string,
): AppliedDecision | null {
  const covering = decisions.filter((d) => (d.appId === null || d.appId === appId) && decisionCovers(d, finding, scheme));
  const newest = (scope: (d: StoredTriageDecision) => boolean): StoredTriageDecision | undefined =>
    covering.filter(scope).sort((a, b) => b.id - a.id)[0];
  const decision = newest((d) => d.appId === appId) ?? newest((d) => d.appId === null);
  if (decision === undefined) return null;
  return { decision, active: decision.expires === null || decision.expires >= today };
}

/** Does a finding still fail its policy once this decision is applied? Like an ignore for settled states. */
export function failsWithDecision(finding: Finding, applied: AppliedDecision | null): boolean {
  return finding.failsPolicy && !settles(applied);
}

/** An active decision in a settled state: the finding is not a risk here. */
function settles(applied: AppliedDecision | null): boolean {
  return applied !== null && applied.active && SETTLED.has(applied.decision.state);
}

/** A decision as fleet JSON shows it (schema/fleet-apps.v1.json `triageNote`). */
export interface TriageJson extends Pick<TriageDecision, 'state' | 'justification' | 'reason' | 'expires' | 'by' | 'at'> {
  scope: 'application' | 'fleet';
  /** False once the decision's expiry has passed: the finding is open again. */
  active: boolean;
}

/** The fields of a decision that fleet JSON and event bodies both show, in the order they show them. */
function decisionFields(d: TriageDecision): Pick<TriageDecision, 'state' | 'justification' | 'reason' | 'expires' | 'by' | 'at'> {
  return { state: d.state, justification: d.justification, reason: d.reason, expires: d.expires, by: d.by, at: d.at };
}

function triageScope(d: TriageDecision): TriageJson['scope'] {
  return d.appId === null ? 'fleet' : 'application';
}

/**
 * A decision as a CycloneDX VEX analysis: its state and justification, the reason as the
 * detail with who decided, when, for what scope and until when (CycloneDX has no field for
 * the author of an analysis), and its date as first issued and last updated.
 */
export function vexAnalysis(d: TriageDecision): VexAnalysis {
  const at = d.at.replace(/\.\d{3}Z$/, 'Z');
  const terms = [`decided by ${d.by} on ${at}`, d.appId === null ? 'for the whole fleet' : 'for this application'];
  if (d.expires !== null) terms.push(`until ${d.expires}`);
  return {
    state: d.state,
    ...(d.justification !== null ? { justification: d.justification } : {}),
    detail: `${d.reason} (${terms.join(', ')})`,
    firstIssued: at,
    lastUpdated: at,
  };
}

export function triageJson(applied: AppliedDecision | null): TriageJson | null {
  if (applied === null) return null;
  const d = applied.decision;
  return { ...decisionFields(d), scope: triageScope(d), active: applied.active };
}

/** A decision shown beside the finding it governs (fleet JSON: `apps[].triage`). */
export interface TriageNote extends TriageJson {
  target: string;
  advisory: string;
  package: { ecosystem: string; name: string; version: string };
}

/** Where a settled decision shows in the finding itself: as an accepted risk, like a policy ignore. */
export const TRIAGE_ORIGIN = 'fleet triage';

/**
 * Applications with the fleet's triage decisions applied (a settled one ignores its finding, as
 * a policy ignore does), each with the decisions that govern its findings.
 */
export async function withTriage<A extends { revision: { appId: number }; findings: Finding[] }>(
  store: { triageDecisions(appIds?: readonly number[]): Promise<StoredTriageDecision[]> },
  found: readonly A[],
  now: Date,
  schemeOf: (ecosystem: Finding['package']['ecosystem']) => Promise<VersionScheme>,
): Promise<(A & { triage: TriageNote[] })[]> {
  const triaged = await applyTriage(store, found.map((a) => ({ appId: a.revision.appId, findings: a.findings })), now, schemeOf);
  return found.map((a, i) => ({ ...a, findings: triaged[i]?.findings ?? a.findings, triage: triaged[i]?.triage ?? [] }));
}

/**
 * Applies the fleet's decisions to each application's findings: a finding under an active
 * settled decision (not_affected, false_positive, resolved…) is `ignored` (origin "fleet
 * triage") and stops failing, exactly as an ignore in the policy does; every decision found,
 * settled or not, active or expired, is listed beside the findings.
 */
export async function applyTriage(
  store: { triageDecisions(appIds?: readonly number[]): Promise<StoredTriageDecision[]> },
  apps: readonly { appId: number; findings: readonly Finding[] }[],
  now: Date,
  schemeOf: (ecosystem: Finding['package']['ecosystem']) => Promise<VersionScheme>,
): Promise<{ findings: Finding[]; triage: TriageNote[] }[]> {
  const governing = await governingDecisions(store, apps, now, schemeOf);
  const out: { findings: Finding[]; triage: TriageNote[] }[] = [];
  for (const [a, app] of apps.entries()) {
    const findings: Finding[] = [];
    const triage: TriageNote[] = [];
    for (const [f, finding] of app.findings.entries()) {
      const applied = governing[a]?.[f] ?? null;
      const note = triageJson(applied);
      if (applied === null || note === null) {
        findings.push(finding);
        continue;
      }
      triage.push({
        target: finding.target,
        advisory: finding.advisory.id,
        package: { ecosystem: finding.package.ecosystem, name: finding.package.name, version: finding.package.version },
        ...note,
      });
      findings.push(
        settles(applied) && finding.ignored === null
          ? {
              ...finding,
              ignored: { id: finding.advisory.id, reason: `${applied.decision.state}: ${applied.decision.reason}`, expires: applied.decision.expires, origin: TRIAGE_ORIGIN },
              failsPolicy: false,
            }
          : finding,
      );
    }
    out.push({ findings, triage });
  }
  return out;
}

/**
 * applyTriage's findings, for findings read as FindingLines (`fleet status`'s text): a finding
 * under an active settled decision is ignored and stops failing; the decisions are not listed.
 */
export async function triageLines(
  store: { triageDecisions(appIds?: readonly number[]): Promise<StoredTriageDecision[]> },
  apps: readonly { appId: number; findings: readonly FindingLine[] }[],
  now: Date,
  schemeOf: (ecosystem: Finding['package']['ecosystem']) => Promise<VersionScheme>,
): Promise<FindingLine[][]> {
  const governing = await governingDecisions(store, apps, now, schemeOf);
  return apps.map((app, a) =>
    app.findings.map((line, f) => {
      const applied = governing[a]?.[f] ?? null;
      return settles(applied) && !line.ignored ? { ...line, ignored: true, failsPolicy: false } : line;
    }),
  );
}

/** The decision governing each finding of each application (null: none), as governingDecision says, the decisions read once. */
async function governingDecisions(
  store: { triageDecisions(appIds?: readonly number[]): Promise<StoredTriageDecision[]> },
  apps: readonly { appId: number; findings: readonly TriagedFinding[] }[],
  now: Date,
  schemeOf: (ecosystem: Finding['package']['ecosystem']) => Promise<VersionScheme>,
): Promise<(AppliedDecision | null)[][]> {
  // The decisions that can govern these applications: a page of them does not read every application's.
  const decisions = apps.length === 0 ? [] : await store.triageDecisions(apps.map((a) => a.appId));
  if (decisions.length === 0) return apps.map((app) => app.findings.map(() => null));
  const today = now.toISOString().slice(0, 10);
  // The decisions by each id of their alias groups: a finding is compared with those that share
  // an id with it (decisionCovers needs one), not with every decision the fleet ever recorded.
  const byId = new Map<string, StoredTriageDecision[]>();
  for (const d of decisions) {
    for (const id of new Set(d.aliasKey.split(' '))) {
      let list = byId.get(id);
      if (list === undefined) byId.set(id, (list = []));
      list.push(d);
    }
  }
  const schemes = new Map<Finding['package']['ecosystem'], VersionScheme>();
  const out: (AppliedDecision | null)[][] = [];
  for (const app of apps) {
    const row: (AppliedDecision | null)[] = [];
    for (const finding of app.findings) {
      const candidates = new Set<StoredTriageDecision>();
      for (const id of [finding.advisory.id, ...finding.advisory.aliases]) for (const d of byId.get(id) ?? []) candidates.add(d);
      if (candidates.size === 0) {
        row.push(null);
        continue;
      }
      const ecosystem = finding.package.ecosystem;
      let scheme = schemes.get(ecosystem);
      if (scheme === undefined) schemes.set(ecosystem, (scheme = await schemeOf(ecosystem)));
      row.push(governingDecision([...candidates], app.appId, finding, scheme, today));
    }
    out.push(row);
  }
  return out;
}

export interface TriageRequest {
  /** null: the whole fleet (--all). */
  app: string | null;
  id: string;
  state: string | undefined;
  reason: string | undefined;
  justification: string | undefined;
  expires: string | undefined;
  package: string | undefined;
  by: string;
  now: Date;
  /** The moment findings are judged at (withdrawn advisories, ignore and triage expiry): STOWAGE_NOW's (core/clock.ts evaluationTime); `now` when absent. `now` is what is recorded. */
  judgeAt?: Date;
  /** How errors name the inputs: the command line's options unless the caller says otherwise. */
  names?: TriageNames;
}

export interface TriageOutcome {
  decision: StoredTriageDecision;
  /** The applications whose current findings the decision governs, with them (decision applied). */
  apps: { name: string; revision: string; seq: number; findings: Finding[]; triage: TriageNote[] }[];
}

/**
 * Records one decision (append-only; an earlier one with the same scope, alias group and
 * package is superseded), and, when it governs current findings, the `triage` event, in one
 * transaction. The advisory must be known to the fleet (a finding, or a database's advisory
 * as of the last sync): a typo must not be stored as a decision about nothing.
 */
export async function recordDecision(
  store: FleetStore,
  request: TriageRequest,
  schemeOf: (ecosystem: Finding['package']['ecosystem']) => Promise<VersionScheme>,
): Promise<TriageOutcome> {
  const names = request.names ?? TRIAGE_OPTIONS;
  const checked = checkDecision({ ...request, by: request.by }, names);
  const selector = request.package === undefined ? null : parsePackageSelector(request.package, names);
  const at = request.now.toISOString();
  return store.transaction(async (tx) => {
    const settings = await tx.settings();
    const app = request.app === null ? null : await tx.app(request.app);
    if (request.app !== null && app === null) throw noSuchApp(request.app);
    const rows = await tx.currentFindingsWithId(request.id);
    if (rows.length === 0 && !(await tx.knowsAdvisory(request.id))) {
      throw new NotInFleetError(`no advisory ${JSON.stringify(request.id)} in the fleet's databases (as of the last sync) or findings`);
    }
    // The alias group as the fleet knows it: every id of the findings that carry this one.
    const ids = new Set([request.id]);
    for (const row of rows) for (const id of [row.finding.advisory.id, ...row.finding.advisory.aliases]) ids.add(id);
    if (selector?.range != null) {
      // Read by the syntax of every ecosystem the decision can meet: its findings', and those of
      // the packages the advisory names, so a range is refused now, not met unread by a later sync.
      const versions = new Map<Ecosystem, string>();
      for (const row of rows) if (!versions.has(row.finding.package.ecosystem)) versions.set(row.finding.package.ecosystem, row.finding.package.version);
      for (const ecosystem of await tx.advisoryEcosystems(request.id)) if (!versions.has(ecosystem)) versions.set(ecosystem, ANY_VERSION);
      for (const [ecosystem, version] of versions) checkRange(selector.range, await schemeOf(ecosystem), version, names);
    }
    const decision = await tx.addTriage({
      appId: app?.id ?? null,
      aliasKey: aliasGroupKey([...ids]),
      packageName: selector?.name ?? null,
      packageRange: selector?.range ?? null,
      state: checked.state,
      justification: checked.justification,
      reason: checked.reason,
      expires: checked.expires,
      by: checked.by,
      at,
    });
    // The decision covers every finding sharing an id with its group, not only those carrying the
    // id asked for (an advisory listing two CVEs shares one with another advisory): each is said,
    // so what the decision hides is what it reports governing.
    const shared = new Map<string, (typeof rows)[number]>();
    for (const id of [request.id, ...[...ids].filter((i) => i !== request.id).sort()]) {
      for (const r of id === request.id ? rows : await tx.currentFindingsWithId(id)) {
        shared.set(`${r.appId}\0${r.finding.target}\0${r.finding.package.id}\0${r.finding.advisory.id}`, r);
      }
    }
    const governed = [...shared.values()].filter((r) => app === null || r.appId === app.id).sort((a, b) => compareCodePoints(a.app, b.app));
    const byApp = new Map<number, { name: string; revision: string; seq: number; appId: number; findings: Finding[] }>();
    for (const r of governed) {
      let entry = byApp.get(r.appId);
      if (!entry) byApp.set(r.appId, (entry = { name: r.app, revision: r.revision, seq: r.seq, appId: r.appId, findings: [] }));
      entry.findings.push(r.finding);
    }
    const entries = [...byApp.values()];
    const applied = await applyTriage(tx, entries, request.judgeAt ?? request.now, schemeOf);
    const apps = entries
      .map((e, i) => ({ name: e.name, revision: e.revision, seq: e.seq, findings: applied[i]?.findings ?? [], triage: (applied[i]?.triage ?? []).filter((n) => n.at === at) }))
      .filter((a) => a.triage.length > 0);
    const outcome: TriageOutcome = { decision, apps };
    if (apps.length > 0) await recordEvent(tx, settings, 'triage', triageEventBody(outcome), at);
    return outcome;
  });
}

export function triageEventBody(outcome: TriageOutcome): Record<string, unknown> {
  const d = outcome.decision;
  return {
    schemaVersion: 1,
    decision: { scope: triageScope(d), aliases: d.aliasKey.split(' '), package: d.packageName, range: d.packageRange, ...decisionFields(d) },
    apps: outcome.apps.map((a) => ({ name: a.name, revision: a.revision, seq: a.seq, findings: a.findings.map(findingJson), triage: a.triage })),
  };
}
