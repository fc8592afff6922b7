import type { Advisory } from '../core/advisory.js';
import { jsonArrayFrame, jsonForTerminal, terminalText as t } from '../core/terminal-text.js';
import { findingJson, findingJsonWith } from '../audit/report/json.js';
import { paint, plural, type HumanStyle } from '../audit/report/human.js';
import type { AffectedApp, AffectedQuery } from './affected.js';
import type { Finding } from '../core/finding.js';
import type { TriageNote } from './triage.js';
import { advisoryTexts, findingLabel } from './report.js';

/** `fleet affected`'s output: JSON (schema/fleet-affected.v1.json) and text. */

export type TriagedApp = { findings: Finding[]; triage: TriageNote[] };

/** One application of `fleet affected --format json`; with `share`, each finding's advisory is share's placeholder for it. */
function affectedAppJson(a: AffectedApp, triaged: TriagedApp | undefined, share?: (advisory: Advisory) => string): Record<string, unknown> {
  return {
    name: a.name,
    revision: a.revision,
    seq: a.seq,
    packages: a.packages,
    findings: (triaged?.findings ?? a.findings).map((f) => (share === undefined ? findingJson(f) : findingJsonWith(f, share(f.advisory)))),
    triage: triaged?.triage ?? [],
  };
}

function queryJson(query: AffectedQuery): Record<string, unknown> {
  return query.kind === 'advisory' ? { advisory: query.id } : { package: query.name, version: query.version };
}

/** `fleet affected --format json` as a value (the server answers with it). */
export function affectedBody(query: AffectedQuery, apps: readonly AffectedApp[], triaged: readonly TriagedApp[]): Record<string, unknown> {
  return { schemaVersion: 1, query: queryJson(query), apps: apps.map((a, i) => affectedAppJson(a, triaged[i])) };
}

/**
 * `fleet affected --format json` in pieces, each application made JSON as it is written (an
 * advisory in thousands of applications is tens of megabytes), its advisories' bytes spliced in
 * (advisoryTexts): written with writeStdoutPieces.
 */
export function* affectedJsonPieces(query: AffectedQuery, apps: readonly AffectedApp[], triaged: readonly TriagedApp[]): Generator<string | Uint8Array> {
  const body = { schemaVersion: 1, query: queryJson(query), apps: [] };
  if (apps.length === 0) {
    yield jsonForTerminal(JSON.stringify(body, null, 2) + '\n');
    return;
  }
  const frame = jsonArrayFrame(body, 'apps');
  yield frame.head;
  for (let i = 0; i < apps.length; i++) {
    yield* advisoryTexts.prettyElement((share) => affectedAppJson(apps[i] as AffectedApp, triaged[i], share));
    yield i < apps.length - 1 ? ',\n' : '\n';
  }
  yield frame.tail;
}

export function renderAffected(query: AffectedQuery, apps: readonly AffectedApp[], triaged: readonly TriagedApp[], style: HumanStyle): string {
  const out: string[] = [];
  apps.forEach((a, i) => {
    const findings = triaged[i]?.findings ?? a.findings;
    const versions = a.packages.map((p) => `${t(p.name)} ${t(p.version)}`).join(', ');
    out.push(`${paint(style, 'cyan', t(a.name))}  ${a.revision.slice(0, 19)} (revision ${a.seq})${versions ? `  ${versions}` : ''}`);
    for (const f of findings) {
      const label = findingLabel(f, style);
      out.push(`  ${label}: ${t(f.advisory.id)} ${t(f.package.name)} ${t(f.package.version)} (${f.advisory.kind})${f.ignored ? ` ${t(f.ignored.reason)}` : ''}`);
      for (const path of f.paths) out.push(`    ${path.map(t).join(' > ')}`);
      if (f.morePaths > 0) out.push(`    and ${plural(f.morePaths, 'more path')}`);
    }
  });
  const what = query.kind === 'advisory' ? t(query.id) : `${t(query.name)}${query.version ? `@${t(query.version)}` : ''}`;
  out.push(
    apps.length === 0
      ? paint(style, 'green', `no application of the fleet is affected by ${what}`)
      : `${plural(apps.length, 'application')} ${query.kind === 'advisory' ? 'affected by' : apps.length === 1 ? 'embeds' : 'embed'} ${what}`,
  );
  return out.join('\n') + '\n';
}
