import type { Advisory } from '../../core/advisory.js';
import { StowageError } from '../../core/errors.js';
import type { Ecosystem } from '../../core/package.js';
import { affectedAppsPage, type AffectedApp } from '../../fleet/affected.js';
import type { FleetStore } from '../../fleet/store/store.js';
import type { TriageNote } from '../../fleet/triage.js';
import { findingState, fixText, levelBadge, noteFor, packageLink, triaged } from './findings-view.js';
import { html, type SafeHtml } from './html.js';
import { appPath, page, shortDigest, type Viewer } from './layout.js';
import { BadRequest } from './request-errors.js';

/**
 * `/advisories/{id}` (the id or any alias) and `/packages/{ecosystem}/{name}`: every affected
 * application, a page of them at a time, with the triage of each finding.
 */

export const AFFECTED_PAGE_SIZE = 100;

export interface AffectedPageData {
  total: number;
  page: number;
  apps: (AffectedApp & { triage: TriageNote[] })[];
}

/** One page of affected applications, paged in the store, with the fleet's triage applied to their findings. */
async function pageOf(store: FleetStore, query: Parameters<typeof affectedAppsPage>[1], ecosystem: Ecosystem | null, pageNumber: number, now: Date): Promise<AffectedPageData> {
  const { total, items } = await affectedAppsPage(store, query, { limit: AFFECTED_PAGE_SIZE, offset: (pageNumber - 1) * AFFECTED_PAGE_SIZE }, ecosystem).catch((e: Error) => {
    throw e instanceof StowageError ? new BadRequest(e.message, 404) : e;
  });
  const applied = await triaged(store, items, now);
  return { total, page: pageNumber, apps: items.map((a, i) => ({ ...a, findings: applied[i]?.findings ?? a.findings, triage: applied[i]?.triage ?? [] })) };
}

export interface AdvisoryPageData extends AffectedPageData {
  id: string;
  /** The advisory as the findings carry it; null when the databases know it but no application is affected. */
  advisory: Advisory | null;
}

export async function advisoryPageData(store: FleetStore, id: string, pageNumber: number, now: Date): Promise<AdvisoryPageData> {
  const data = await pageOf(store, { kind: 'advisory', id }, null, pageNumber, now);
  return { id, advisory: data.apps[0]?.findings[0]?.advisory ?? null, ...data };
}

export interface PackagePageData extends AffectedPageData {
  ecosystem: Ecosystem;
  name: string;
}

export async function packagePageData(store: FleetStore, ecosystem: Ecosystem, name: string, pageNumber: number, now: Date): Promise<PackagePageData> {
  const data = await pageOf(store, { kind: 'package', name, version: null }, ecosystem, pageNumber, now);
  if (data.total === 0) throw new BadRequest(`no application of the fleet locks the ${ecosystem} package ${JSON.stringify(name)}`, 404);
  return { ecosystem, name: data.apps[0]?.packages[0]?.name ?? name, ...data };
}

/** Only web addresses become links; anything else in an advisory stays text. */
function webLink(url: string): SafeHtml {
  return /^https?:\/\//i.test(url) ? html`<a href="${url}" rel="noreferrer noopener">${url}</a>` : html`${url}`;
}

function pager(base: string, data: AffectedPageData): SafeHtml {
  const pages = Math.max(1, Math.ceil(data.total / AFFECTED_PAGE_SIZE));
  if (pages === 1) return html``;
  return html`<nav class="pager" aria-label="Pages">${data.page > 1 ? html`<a rel="prev" href="${base}?page=${data.page - 1}">← Previous</a>` : ''} <span>Page ${data.page} of ${pages}</span> ${data.page < pages ? html`<a rel="next" href="${base}?page=${data.page + 1}">Next →</a>` : ''}</nav>`;
}

function affectedTable(data: AffectedPageData, showAdvisory: boolean): SafeHtml {
  const rows = data.apps.flatMap((a) =>
    a.findings.length === 0
      ? [html`<tr><th scope="row"><a href="${appPath(a.name)}">${a.name}</a></th><td><code>${shortDigest(a.revision)}</code></td><td>${a.packages.map((p) => `${p.name} ${p.version}`).join(', ')}</td><td colspan="${showAdvisory ? 4 : 3}">no finding</td></tr>`]
      : a.findings.map((f) => {
          const note = noteFor(a.triage, f);
          return html`<tr><th scope="row"><a href="${appPath(a.name)}">${a.name}</a></th><td><code>${shortDigest(a.revision)}</code></td><td>${packageLink(f)}<br><small>${f.target}</small></td>${showAdvisory ? html`<td>${levelBadge(f)} <a href="/advisories/${encodeURIComponent(f.advisory.id)}">${f.advisory.id}</a></td>` : ''}<td>${f.paths[0]?.join(' → ') ?? ''}</td><td>${fixText(f)}</td><td>${findingState(f)}${note !== undefined ? html`<br><span class="triage-state">${note.state}${note.active ? '' : ' (expired)'}</span> <small>${note.scope === 'fleet' ? 'fleet-wide, ' : ''}by ${note.by}: ${note.reason}</small>` : html`<br><small>not triaged</small>`}</td></tr>`;
        }),
  );
  return html`<table class="affected"><thead><tr><th scope="col">Application</th><th scope="col">Revision</th><th scope="col">Package</th>${showAdvisory ? html`<th scope="col">Advisory</th>` : ''}<th scope="col">Dependency path</th><th scope="col">Fixed in</th><th scope="col">State and triage</th></tr></thead><tbody>${rows}</tbody></table>`;
}

export function renderAdvisoryPage(data: AdvisoryPageData, viewer: Viewer): SafeHtml {
  const a = data.advisory;
  const text =
    a === null
      ? html`<p>The fleet's databases know ${data.id}, and no application's current revision is affected.</p>`
      : html`<p class="lead">${a.title}</p><dl class="facts"><dt>Ids</dt><dd>${[a.id, ...a.aliases].join(', ')}</dd><dt>Kind</dt><dd>${a.kind}</dd><dt>Package</dt><dd>${a.ecosystem} ${a.package}</dd><dt>Severity</dt><dd>${a.severity === null ? 'not scored' : `${a.severity.level}${a.severity.score !== null ? ` (${a.severity.score})` : ''}`}</dd><dt>Published</dt><dd>${a.published ?? 'unknown'}</dd><dt>Fixed in</dt><dd>${a.patched.join(', ') || 'no fixed version'}</dd>${a.withdrawn !== null ? html`<dt>Withdrawn</dt><dd>${a.withdrawn}</dd>` : ''}</dl><div class="description">${a.description}</div>${a.url !== null || a.references.length > 0 ? html`<ul class="references">${[...(a.url !== null ? [a.url] : []), ...a.references].map((r) => html`<li>${webLink(r)}</li>`)}</ul>` : ''}`;
  const affected = html`<h2>Affected applications: ${data.total}</h2>${data.total > 0 ? affectedTable(data, false) : ''}${pager(`/advisories/${encodeURIComponent(data.id)}`, data)}`;
  return page(a?.id ?? data.id, viewer, html`<p class="crumbs"><a href="/">Fleet</a> ›</p><h1>${a?.id ?? data.id}</h1>${text}${affected}`);
}

export function renderPackagePage(data: PackagePageData, viewer: Viewer): SafeHtml {
  const base = `/packages/${encodeURIComponent(data.ecosystem)}/${encodeURIComponent(data.name)}`;
  return page(
    `${data.name} (${data.ecosystem})`,
    viewer,
    html`<p class="crumbs"><a href="/">Fleet</a> ›</p><h1>${data.name} <small>${data.ecosystem}</small></h1><h2>Applications locking it: ${data.total}</h2>${affectedTable(data, true)}${pager(base, data)}`,
  );
}
