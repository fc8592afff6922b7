import { parseAffectedQuery } from '../../fleet/affected.js';
import { triagedSummaries, type AppSummary } from '../../fleet/summary.js';
import { loadVersionScheme } from '../../ecosystems/formats.js';
import {
  FINDING_LEVELS,
  FLEET_PAGE_SORTS,
  type DatabaseState,
  type FindingLevel,
  type FleetPageQuery,
  type FleetPageSort,
  type FleetStore,
  type LevelCounts,
} from '../../fleet/store/store.js';
import { DatabaseNames, shownDatabaseName } from '../database-names.js';
import { barChart, stepChart, type TimePoint } from './charts.js';
import { LEVEL_LABELS } from './findings-view.js';
import { html, type SafeHtml } from './html.js';
import { advisoryPath, appPath, packagePath, page, shortDigest, type Viewer } from './layout.js';
import { BadRequest } from './request-errors.js';

/** `/`: the fleet, one page of applications at a time (sorted, filtered and counted in the database). */

export const PAGE_SIZE = 50;
/** The most points of a chart of findings over time (the history thinned to as many spans of time). */
export const CHART_POINTS = 240;
const MAX_PAGE_SIZE = 200;

export interface FleetView {
  search: string | null;
  level: FindingLevel | null;
  sort: FleetPageSort;
  descending: boolean;
  /** 1-based. */
  page: number;
  perPage: number;
}

/** The address's query (`?q=&level=&sort=&desc=1&page=&per=`), checked: a bad value is a 400 naming it. */
export function parseFleetView(get: (name: string) => string | undefined): FleetView {
  const q = get('q')?.trim() ?? '';
  const level = get('level') ?? '';
  if (level !== '' && !FINDING_LEVELS.includes(level as FindingLevel)) throw new BadRequest(`level ${JSON.stringify(level)} is not one of ${FINDING_LEVELS.join(', ')}`);
  const sort = get('sort') ?? 'name';
  if (!FLEET_PAGE_SORTS.includes(sort as FleetPageSort)) throw new BadRequest(`sort ${JSON.stringify(sort)} is not one of ${FLEET_PAGE_SORTS.join(', ')}`);
  const number = (name: string, fallback: number, max: number): number => {
    const text = get(name);
    if (text === undefined || text === '') return fallback;
    if (!/^\d{1,9}$/.test(text) || Number(text) < 1 || Number(text) > max) throw new BadRequest(`${name} ${JSON.stringify(text)} is not a whole number from 1 to ${max}`);
    return Number(text);
  };
  return {
    search: q === '' ? null : q,
    level: level === '' ? null : (level as FindingLevel),
    sort: sort as FleetPageSort,
    descending: get('desc') === '1',
    // Nine digits, as the check reads them (the API's ?offset= stops there too).
    page: number('page', 1, 999_999_999),
    perPage: number('per', PAGE_SIZE, MAX_PAGE_SIZE),
  };
}

/** A row of the fleet page: an application's summary, triage applied (as `fleet status --summary`). */
export type FleetRow = AppSummary;

export interface FleetPageData {
  view: FleetView;
  total: number;
  rows: FleetRow[];
  databases: DatabaseState[];
  /** The fleet's open findings by level (before triage); null on filtered pages. */
  levels: LevelCounts | null;
  /** The fleet's findings over time; null on filtered pages. */
  overTime: TimePoint[] | null;
  now: string;
}

export async function fleetPageData(store: FleetStore, view: FleetView, now: Date): Promise<FleetPageData> {
  const query: FleetPageQuery = { search: view.search, searchIsAdvisoryId: view.search !== null && isAdvisoryId(view.search), level: view.level, sort: view.sort, descending: view.descending, offset: (view.page - 1) * view.perPage, limit: view.perPage };
  const { total, rows } = await store.fleetPage(query);
  const summaries = await triagedSummaries(store, rows, now, loadVersionScheme);
  const whole = view.search === null && view.level === null && view.page === 1;
  // Named as every answer of the server names them: never by a file path of the server.
  const names = await new DatabaseNames(store).names();
  const databases = (await store.databases()).map((d) => ({ ...d, source: shownDatabaseName(names, d.source) }));
  return {
    view,
    total,
    rows: summaries,
    databases,
    levels: whole ? await store.currentLevelCounts() : null,
    overTime: whole ? await store.findingsOverTime(null, CHART_POINTS) : null,
    now: now.toISOString(),
  };
}

/** The address of this view with some parameters changed (defaults left out, so addresses stay short). */
export function fleetHref(view: FleetView, change: Partial<FleetView>): string {
  const v = { ...view, ...change };
  const params = new URLSearchParams();
  if (v.search !== null) params.set('q', v.search);
  if (v.level !== null) params.set('level', v.level);
  if (v.sort !== 'name') params.set('sort', v.sort);
  if (v.descending) params.set('desc', '1');
  if (v.page !== 1) params.set('page', String(v.page));
  if (v.perPage !== PAGE_SIZE) params.set('per', String(v.perPage));
  const text = params.toString();
  return text === '' ? '/' : `/?${text}`;
}

const SHOWN_LEVELS: FindingLevel[] = ['critical', 'high', 'medium', 'low', 'unscored', 'informational'];

function sortHeader(view: FleetView, sort: FleetPageSort, label: string): SafeHtml {
  const active = view.sort === sort;
  const href = fleetHref(view, { sort, descending: active ? !view.descending : false, page: 1 });
  return html`<a href="${href}" ${active ? html`aria-sort="${view.descending ? 'descending' : 'ascending'}"` : ''}>${label}${active ? (view.descending ? ' ▴' : ' ▾') : ''}</a>`;
}

function isAdvisoryId(search: string): boolean {
  try {
    return parseAffectedQuery(search).kind === 'advisory';
  } catch {
    return false;
  }
}

function searchHints(search: string): SafeHtml {
  if (isAdvisoryId(search)) return html`<p class="hint">Advisory <a href="${advisoryPath(search)}">${search}</a>: its text and every affected application.</p>`;
  return html`<p class="hint">Package ${search}: <a href="${packagePath('cargo', search)}">as a crate</a> · <a href="${packagePath('npm', search)}">as an npm package</a>.</p>`;
}

function databasesPanel(databases: readonly DatabaseState[]): SafeHtml {
  if (databases.length === 0) return html`<p>No advisory database yet (stowage fleet init --db SOURCE).</p>`;
  return html`<table class="databases"><caption>Advisory databases</caption><thead><tr><th scope="col">Source</th><th scope="col">Revision</th><th scope="col">Of</th><th scope="col">Last sync</th></tr></thead><tbody>${databases.map(
    (d) => html`<tr><td>${d.source}</td><td><code>${d.revision === null ? 'not evaluated yet' : d.revision.slice(0, 12)}</code></td><td>${d.revisionDate ?? ''}</td><td>${d.evaluatedAt ?? 'never'}</td></tr>`,
  )}</tbody></table>`;
}

export function renderFleetPage(data: FleetPageData, viewer: Viewer): SafeHtml {
  const { view } = data;
  const first = data.total === 0 ? 0 : (view.page - 1) * view.perPage + 1;
  const last = Math.min(data.total, view.page * view.perPage);
  const pages = Math.max(1, Math.ceil(data.total / view.perPage));
  const filters = html`<form method="get" action="/" class="filters"><label>Search <input name="q" type="search" value="${view.search ?? ''}" placeholder="application, package or advisory id"></label> <label>With findings at <select name="level"><option value="">any level</option>${FINDING_LEVELS.map(
    (l) => html`<option value="${l}" ${view.level === l ? 'selected' : ''}>${LEVEL_LABELS[l]}</option>`,
  )}</select></label> <label>Sort by <select name="sort">${FLEET_PAGE_SORTS.map(
    (s) => html`<option value="${s}" ${view.sort === s ? 'selected' : ''}>${{ name: 'name', findings: 'most severe findings', revised: 'newest revision' }[s]}</option>`,
  )}</select></label> <button type="submit">Apply</button></form>`;
  const rows = data.rows.map(
    (r) =>
      html`<tr><th scope="row"><a href="${appPath(r.name)}">${r.name}</a></th>${SHOWN_LEVELS.map(
        (l) => html`<td class="num ${r.open[l] > 0 ? `level-${l}` : 'zero'}">${r.open[l]}</td>`,
      )}<td class="num">${r.notAudited ? html`<span class="state failing">NOT audited</span> ` : ''}${r.failing > 0 ? html`<span class="state failing">${r.failing}</span>` : '0'}</td><td><code>${shortDigest(r.revision)}</code> (revision ${r.seq})</td><td>${r.revisedAt.slice(0, 16).replace('T', ' ')}</td></tr>`,
  );
  const table = html`<table class="fleet"><caption>Applications ${first}–${last} of ${data.total}${view.search !== null ? html` matching “${view.search}”` : ''}${view.level !== null ? ` with ${LEVEL_LABELS[view.level].toLowerCase()} findings` : ''} (open findings: triage applied)</caption><thead><tr><th scope="col">${sortHeader(view, 'name', 'Application')}</th>${SHOWN_LEVELS.map(
    (l) => html`<th scope="col" class="num">${l === 'critical' ? sortHeader(view, 'findings', LEVEL_LABELS[l]) : LEVEL_LABELS[l]}</th>`,
  )}<th scope="col" class="num">Failing</th><th scope="col">Last revision</th><th scope="col">${sortHeader(view, 'revised', 'Recorded')}</th></tr></thead><tbody>${rows}</tbody></table>`;
  const pager = html`<nav class="pager" aria-label="Pages">${view.page > 1 ? html`<a rel="prev" href="${fleetHref(view, { page: view.page - 1 })}">← Previous</a>` : ''} <span>Page ${view.page} of ${pages}</span> ${view.page < pages ? html`<a rel="next" href="${fleetHref(view, { page: view.page + 1 })}">Next →</a>` : ''}</nav>`;
  const pictures =
    data.levels !== null && data.overTime !== null
      ? html`<section class="pictures"><h2>At a glance</h2><div class="charts"><figure>${stepChart('Findings in the fleet over time', data.overTime, data.now)}<figcaption>Findings held by the applications' current revisions over time (each revision counted from when it was recorded).</figcaption></figure><figure>${barChart(
          'Open findings by severity',
          FINDING_LEVELS.map((l) => ({ label: LEVEL_LABELS[l], value: (data.levels as LevelCounts)[l], className: `level-${l}` })),
        )}<figcaption>Open findings of the whole fleet by severity (not ignored by policy), before triage.</figcaption></figure></div></section>`
      : '';
  return page('Fleet', viewer, html`<h1>Fleet</h1>${pictures}${databasesPanel(data.databases)}${filters}${view.search !== null ? searchHints(view.search) : ''}${table}${pager}`);
}
