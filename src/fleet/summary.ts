import type { VersionScheme } from '../core/ecosystem.js';
import type { Finding } from '../core/finding.js';
import { applyTriage } from './triage.js';
import { findingLevel, type AppsFilter, type AppSummaryRow, type FleetStore, type LevelCounts, type Page, type PageRequest } from './store/store.js';

/**
 * The fleet's summary form: each application's current revision and its open findings counted
 * by level, after triage, without reading its findings. The store keeps each revision's counts
 * as evaluated (revision_counts); the fleet's triage decisions are few, so only the findings of
 * the page that a settling decision may govern are read, triaged exactly as `fleet status` does
 * (applyTriage), and taken off the counts. A decision's expiry is applied on the day it is read.
 */

export interface AppSummary {
  name: string;
  appId: number;
  /** `sha256:` + hex of the current revision. */
  revision: string;
  seq: number;
  /** When the current revision was recorded (the add or push that made it). */
  revisedAt: string;
  /** Open findings by level: not ignored by the policy nor settled by a triage decision. */
  open: LevelCounts;
  /** Findings that still fail the policy, triage applied. */
  failing: number;
  /** The current revision could not be audited in full: `fleet status --summary` exits 2 (see `fleet show` for why). */
  notAudited: boolean;
}

/** The rows' counts with the fleet's triage decisions applied. */
export async function triagedSummaries(
  store: FleetStore,
  rows: readonly AppSummaryRow[],
  now: Date,
  schemeOf: (ecosystem: Finding['package']['ecosystem']) => Promise<VersionScheme>,
): Promise<AppSummary[]> {
  const summaries = rows.map((r) => ({
    name: r.app,
    appId: r.appId,
    revision: r.revision,
    seq: r.seq,
    revisedAt: r.revisedAt,
    open: { ...r.open },
    failing: r.failing,
    notAudited: r.notAudited,
  }));
  if (rows.length === 0) return summaries;
  const decisions = await store.triageDecisions(rows.map((r) => r.appId));
  if (decisions.length === 0) return summaries;
  // Every id of every decision: a finding none of them names is governed by none (decisionCovers).
  const ids = [...new Set(decisions.flatMap((d) => d.aliasKey.split(' ')))];
  const mentioned = await store.findingsMentioning(
    rows.map((r) => r.revisionId),
    ids,
  );
  const found = rows.map((r) => ({ appId: r.appId, findings: mentioned.get(r.revisionId) ?? [] }));
  const applied = await applyTriage({ triageDecisions: () => Promise.resolve(decisions) }, found, now, schemeOf);
  found.forEach((app, i) => {
    const summary = summaries[i];
    const after = applied[i]?.findings;
    if (summary === undefined || after === undefined) return;
    app.findings.forEach((before, j) => {
      const triaged = after[j];
      if (triaged === undefined) return;
      if (before.ignored === null && triaged.ignored !== null) summary.open[findingLevel(before)] -= 1;
      if (before.failsPolicy && !triaged.failsPolicy) summary.failing -= 1;
    });
  });
  return summaries;
}

/** A page of the fleet's summaries (appsPage's filter and order), triage applied. */
export async function appSummariesPage(
  store: FleetStore,
  filter: AppsFilter,
  request: PageRequest,
  now: Date,
  schemeOf: (ecosystem: Finding['package']['ecosystem']) => Promise<VersionScheme>,
): Promise<Page<AppSummary> & { before: number }> {
  const page = await store.appSummariesPage(filter, request);
  return { total: page.total, before: page.before, items: await triagedSummaries(store, page.items, now, schemeOf) };
}

/** Rows per store query when the whole fleet is summarised (the command line). */
const BATCH = 500;

/** Every application's summary, in code-point order of name, read a page at a time. */
export async function allAppSummaries(
  store: FleetStore,
  now: Date,
  schemeOf: (ecosystem: Finding['package']['ecosystem']) => Promise<VersionScheme>,
): Promise<AppSummary[]> {
  const out: AppSummary[] = [];
  for (let after: string | null = null; ; ) {
    const page = await store.appSummariesPage({}, { limit: BATCH, offset: 0, after });
    out.push(...(await triagedSummaries(store, page.items, now, schemeOf)));
    const last = page.items.at(-1);
    if (page.items.length < BATCH || last === undefined) return out;
    after = last.app;
  }
}
