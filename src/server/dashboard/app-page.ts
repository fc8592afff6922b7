import { plural } from '../../audit/report/human.js';
import { notAuditedSentences } from '../../audit/audit.js';
import type { Finding } from '../../core/finding.js';
import { diffRevisions, type AppDiff } from '../../fleet/diff.js';
import { currentRevision, NotInFleetError, requireApp, resolveRevision } from '../../fleet/lookup.js';
import { FINDING_LEVELS, findingLevel, type FleetStore, type HistoryEntry, type RevisionRecord } from '../../fleet/store/store.js';
import { ANALYSIS_STATES, JUSTIFICATIONS } from '../../sbom/cyclonedx-vex.js';
import { MAX_TRIAGE_TEXT, type TriageNote } from '../../fleet/triage.js';
import { barChart, stepChart, windowChart, type TimePoint, type Window } from './charts.js';
import { advisoryLink, findingState, fixText, LEVEL_LABELS, levelBadge, noteFor, openCounts, packageLink, triaged } from './findings-view.js';
import { html, type SafeHtml } from './html.js';
import { appPath, csrfField, page, shortDigest, type Viewer } from './layout.js';
import { BadRequest } from './request-errors.js';
import { CHART_POINTS } from './fleet-page.js';
import { exposureWindows } from './timelines.js';

/** `/apps/{name}`: current findings with their paths and fixes, triage forms, history, pictures, and a diff of two revisions. */

export interface AppPageData {
  name: string;
  revision: RevisionRecord;
  findings: Finding[];
  triage: TriageNote[];
  /** The history entries the page lists, oldest first: the newest HISTORY_ROWS unless all were asked for. */
  history: HistoryEntry[];
  /** How many entries the application's history holds in all. */
  historyTotal: number;
  overTime: TimePoint[];
  windows: Window[];
  /** `?from=&to=`: the diff asked for. */
  diff: AppDiff | null;
  now: string;
}

const MAX_PATHS_SHOWN = 3;
/**
 * The history entries listed unless `?history=all`: an application pushed by every CI run has
 * thousands, and the page (its table and the revisions offered to compare) would grow with each.
 */
export const HISTORY_ROWS = 50;

export interface AppPageRequest {
  /** `?from=&to=`: two revisions to compare. */
  diff: { from: string; to: string } | null;
  /** `?history=all`: list every history entry, not only the newest HISTORY_ROWS. */
  allHistory: boolean;
}

export async function appPageData(store: FleetStore, name: string, request: AppPageRequest, now: Date): Promise<AppPageData> {
  const { diff } = request;
  const app = await requireApp(store, name).catch((e: Error) => {
    // The page says what is missing; its own links lead on (no command-line advice).
    throw new BadRequest(e instanceof NotInFleetError ? e.missing : e.message, 404);
  });
  const revision = await currentRevision(store, app);
  const [applied] = await triaged(store, [{ appId: app.id, findings: await store.findings(revision.id) }], now);
  const history = await store.history(app.id);
  // Every revision's findings make the exposure windows: named by the store's columns, no finding's row parsed.
  const findingsOf = await store.findingLinesOfRevisions(history.map((h) => h.revision.id));
  let appDiff: AppDiff | null = null;
  if (diff !== null) {
    const resolve = (given: string): Promise<RevisionRecord> =>
      resolveRevision(store, app, given).catch((e: Error) => {
        throw new BadRequest(e instanceof NotInFleetError ? e.missing : e.message);
      });
    appDiff = await diffRevisions(store, app.name, await resolve(diff.from), await resolve(diff.to));
  }
  return {
    name: app.name,
    revision,
    findings: applied?.findings ?? [],
    triage: applied?.triage ?? [],
    history: request.allHistory ? history : history.slice(-HISTORY_ROWS),
    historyTotal: history.length,
    overTime: await store.findingsOverTime(app.id, CHART_POINTS),
    windows: exposureWindows(history.map((h) => ({ at: h.at, revisionId: h.revision.id })), findingsOf),
    diff: appDiff,
    now: now.toISOString(),
  };
}

function triageForm(name: string, f: Finding, note: TriageNote | undefined, viewer: Viewer): SafeHtml {
  if (!viewer.canWrite || viewer.csrf === null) return html``;
  const id = `t-${f.advisory.id}-${f.package.name}-${f.package.version}-${f.target}`.replace(/[^A-Za-z0-9_-]/g, '_');
  return html`<details class="triage"><summary>Triage</summary><form method="post" action="${appPath(name)}/triage">${csrfField(viewer)}<input type="hidden" name="advisory" value="${f.advisory.id}"><input type="hidden" name="package" value="${f.package.name}"><label for="${id}-state">State</label><select id="${id}-state" name="state">${ANALYSIS_STATES.map(
    (s) => html`<option value="${s}" ${(note?.state ?? 'in_triage') === s ? 'selected' : ''}>${s}</option>`,
  )}</select><label for="${id}-just">Justification</label><select id="${id}-just" name="justification"><option value="">(none)</option>${JUSTIFICATIONS.map(
    (j) => html`<option value="${j}" ${note?.justification === j ? 'selected' : ''}>${j}</option>`,
  )}</select><label for="${id}-reason">Reason</label><input id="${id}-reason" name="reason" required maxlength="${String(MAX_TRIAGE_TEXT.reason)}" value="${note?.reason ?? ''}"><label for="${id}-expires">Expires</label><input id="${id}-expires" name="expires" type="date" value="${note?.expires ?? ''}"><button type="submit">Record decision</button></form></details>`;
}

function findingRow(data: AppPageData, f: Finding, viewer: Viewer): SafeHtml {
  const note = noteFor(data.triage, f);
  const paths = f.paths.slice(0, MAX_PATHS_SHOWN).map((p) => html`<li>${p.join(' → ')}</li>`);
  const more = f.paths.length - MAX_PATHS_SHOWN + f.morePaths;
  return html`<tr><td>${levelBadge(f)}</td><td>${advisoryLink(f.advisory.id)}${f.advisory.aliases.length > 0 ? html`<br><small>${f.advisory.aliases.join(', ')}</small>` : ''}</td><td>${f.advisory.title}</td><td>${packageLink(f)}<br><small>${f.target}</small></td><td><ul class="paths">${paths}${more > 0 ? html`<li>and ${more} more</li>` : ''}</ul></td><td>${fixText(f)}</td><td>${findingState(f)}${note !== undefined ? html`<br><span class="triage-state">${note.state}${note.active ? '' : ' (expired)'}</span> <small>by ${note.by}, ${note.at.slice(0, 10)}${note.expires !== null ? `, until ${note.expires}` : ''}: ${note.reason}</small>` : ''}${triageForm(data.name, f, note, viewer)}</td></tr>`;
}

function diffSection(data: AppPageData): SafeHtml {
  // The revisions of the listed entries (and of the diff shown, when older), oldest first.
  const listed = [...data.history.map((h) => h.revision), ...[data.diff?.from, data.diff?.to].filter((r): r is RevisionRecord => r !== null && r !== undefined)];
  const revisions = [...new Map(listed.map((r) => [r.id, r])).values()].sort((a, b) => a.seq - b.seq);
  const option = (r: RevisionRecord, chosen: string | undefined): SafeHtml =>
    html`<option value="${r.digest}" ${chosen === r.digest ? 'selected' : ''}>revision ${r.seq} · ${shortDigest(r.digest)} · ${r.createdAt.slice(0, 10)}</option>`;
  const form =
    revisions.length < 2
      ? data.historyTotal > data.history.length
        ? html`<p>The entries listed hold one revision: <a href="${appPath(data.name)}?history=all">show the whole history</a> to compare older ones.</p>`
        : html`<p>One revision so far: nothing to compare.</p>`
      : html`<form method="get" action="${appPath(data.name)}" class="diff-form"><label>From <select name="from">${revisions.map((r) => option(r, data.diff?.from?.digest ?? revisions.at(-2)?.digest))}</select></label> <label>To <select name="to">${revisions.map((r) => option(r, data.diff?.to?.digest ?? revisions.at(-1)?.digest))}</select></label> <button type="submit">Compare</button></form>`;
  const d = data.diff;
  const result =
    d === null
      ? ''
      : html`<div class="diff"><p>Packages: ${d.packages.added.length} added, ${d.packages.removed.length} removed, ${d.packages.changed.length} changed. Findings: ${d.findings.new.length} new, ${d.findings.resolved.length} resolved.</p><ul>${d.packages.added.map((p) => html`<li class="added">+ ${p.name} ${p.version}</li>`)}${d.packages.removed.map(
          (p) => html`<li class="removed">− ${p.name} ${p.version}</li>`,
        )}${d.packages.changed.map((c) => html`<li class="changed">~ ${c.name} ${c.from.join(', ') || '(none)'} → ${c.to.join(', ') || '(none)'}</li>`)}${d.findings.new.map(
          (f) => html`<li class="new">new: ${advisoryLink(f.advisory.id)} ${f.package.name} ${f.package.version}</li>`,
        )}${d.findings.resolved.map((f) => html`<li class="resolved">resolved: ${advisoryLink(f.advisory.id)} ${f.package.name} ${f.package.version}</li>`)}</ul></div>`;
  return html`<section><h2>Compare two revisions</h2>${form}${result}</section>`;
}

export function renderAppPage(data: AppPageData, viewer: Viewer, notice: string | null = null): SafeHtml {
  const counts = openCounts(data.findings);
  const failing = data.findings.filter((f) => f.failsPolicy).length;
  const summary = html`<p class="summary">Revision ${data.revision.seq} <code>${shortDigest(data.revision.digest)}</code>, recorded ${data.revision.createdAt.slice(0, 16).replace('T', ' ')} from ${data.revision.documents.map((d) => d.name).join(', ')}. ${plural(data.findings.length, 'finding')}, ${failing} failing the policy.</p>`;
  // Not audited (RevisionRecord's notAudited): said first, and never "no advisory applies".
  const reasons = notAuditedSentences(data.revision.notAudited);
  const notAudited =
    reasons.length === 0
      ? ''
      : html`<div class="notice not-audited" role="alert"><p><strong>NOT audited</strong>: an advisory names a package of this revision that cannot be compared with it.</p><ul>${reasons.map((r) => html`<li>${r}</li>`)}</ul></div>`;
  const findings =
    data.findings.length === 0 && reasons.length === 0
      ? html`<p>No advisory applies to this revision.</p>`
      : html`<table class="findings"><caption>Current findings</caption><thead><tr><th scope="col">Severity</th><th scope="col">Advisory</th><th scope="col">Title</th><th scope="col">Package</th><th scope="col">Dependency paths</th><th scope="col">Fixed in</th><th scope="col">State and triage</th></tr></thead><tbody>${[...data.findings]
          .sort((a, b) => FINDING_LEVELS.indexOf(findingLevel(a)) - FINDING_LEVELS.indexOf(findingLevel(b)))
          .map((f) => findingRow(data, f, viewer))}</tbody></table>`;
  const earlier = data.historyTotal - data.history.length;
  const history = html`<section><h2>History</h2>${earlier > 0 ? html`<p>The newest ${plural(data.history.length, 'entry', 'entries')} of ${data.historyTotal}: <a href="${appPath(data.name)}?history=all">show all</a>.</p>` : ''}<table class="history"><thead><tr><th scope="col">When</th><th scope="col">What</th><th scope="col">Revision</th><th scope="col">By</th></tr></thead><tbody>${[...data.history].reverse().map(
    (h) => html`<tr><td>${h.at.slice(0, 16).replace('T', ' ')}</td><td>${h.action}</td><td>revision ${h.revision.seq} <code>${shortDigest(h.revision.digest)}</code></td><td>${h.by}</td></tr>`,
  )}</tbody></table></section>`;
  const pictures = html`<section class="pictures"><h2>Exposure</h2><div class="charts"><figure>${stepChart(`Findings of ${data.name} over time`, data.overTime, data.now)}<figcaption>Findings of the current revision at each point of the history.</figcaption></figure><figure>${barChart(
    'Open findings by severity',
    FINDING_LEVELS.map((l) => ({ label: LEVEL_LABELS[l], value: counts[l], className: `level-${l}` })),
  )}<figcaption>Open findings (triage applied) by severity.</figcaption></figure><figure class="wide">${windowChart('When each finding appeared and was resolved', data.windows, data.now)}<figcaption>Exposure windows: from the revision that brought a finding to the one that removed it; open ones reach today.</figcaption></figure></div></section>`;
  return page(data.name, viewer, html`<p class="crumbs"><a href="/">Fleet</a> ›</p><h1>${data.name}</h1>${notice !== null ? html`<p class="notice" role="status">${notice}</p>` : ''}${notAudited}${summary}${findings}${pictures}${diffSection(data)}${history}`);
}
