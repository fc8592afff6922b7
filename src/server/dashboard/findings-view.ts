import type { Finding } from '../../core/finding.js';
import { loadVersionScheme } from '../../ecosystems/formats.js';
import { applyTriage, type TriageNote } from '../../fleet/triage.js';
import { FINDING_LEVELS, findingLevel, type FleetStore, type LevelCounts } from '../../fleet/store/store.js';
import { html, type SafeHtml } from './html.js';
import { advisoryPath, packagePath } from './layout.js';

/** Findings as the dashboard shows them: the fleet's triage applied, as `fleet show` applies it. */

export interface TriagedFindings {
  findings: Finding[];
  triage: TriageNote[];
}

/** Each application's findings with the fleet's decisions applied (a settled decision ignores its finding). */
export async function triaged(store: FleetStore, apps: readonly { appId: number; findings: readonly Finding[] }[], now: Date): Promise<TriagedFindings[]> {
  return applyTriage(store, apps, now, loadVersionScheme);
}

/** Open findings (neither ignored by policy nor settled by triage), counted by level. */
export function openCounts(findings: readonly Finding[]): LevelCounts {
  const counts = Object.fromEntries(FINDING_LEVELS.map((l) => [l, 0])) as LevelCounts;
  for (const f of findings) if (f.ignored === null) counts[findingLevel(f)] += 1;
  return counts;
}

export const LEVEL_LABELS: Record<keyof LevelCounts, string> = {
  critical: 'Critical',
  high: 'High',
  medium: 'Medium',
  low: 'Low',
  none: 'None',
  unscored: 'Unscored',
  informational: 'Informational',
};

/** The triage note governing a finding, if any. */
export function noteFor(notes: readonly TriageNote[], f: Finding): TriageNote | undefined {
  return notes.find((n) => n.target === f.target && n.advisory === f.advisory.id && n.package.name === f.package.name && n.package.version === f.package.version);
}

/** A finding's state in words: failing, accepted (ignored, with why), or open but within policy. */
export function findingState(f: Finding): SafeHtml {
  if (f.failsPolicy) return html`<span class="state failing">fails policy</span>`;
  if (f.ignored !== null) return html`<span class="state ignored">accepted (${f.ignored.origin})</span>`;
  return html`<span class="state warning">open</span>`;
}

export function levelBadge(f: Finding): SafeHtml {
  const level = findingLevel(f);
  return html`<span class="badge level-${level}">${LEVEL_LABELS[level]}</span>`;
}

export function advisoryLink(id: string): SafeHtml {
  return html`<a href="${advisoryPath(id)}">${id}</a>`;
}

export function packageLink(f: Finding): SafeHtml {
  return html`<a href="${packagePath(f.package.ecosystem, f.package.name)}">${f.package.name}</a> ${f.package.version}`;
}

/** Fixed versions, the installed line's first. */
export function fixText(f: Finding): string {
  if (f.fixedVersions === null) return f.advisory.patched.length > 0 ? f.advisory.patched.join(', ') : 'no fixed version';
  const all = [...f.fixedVersions.inLine, ...f.fixedVersions.otherLines];
  return all.length === 0 ? 'no fixed version' : all.join(', ');
}
