import type { Finding } from '../../core/finding.js';
import type { Advisory } from '../../core/advisory.js';
import { sourceLabel, type Package } from '../../core/package.js';
import { TOOL_NAME, TOOL_VERSION } from '../../core/tool.js';
import { jsonForTerminal } from '../../core/terminal-text.js';
import type { AuditResult } from '../audit.js';
import { redactCredentials } from '../../core/credentials.js';
import { fixAdviceJson } from '../../fixes/report.js';
import { advisoryPages } from '../../advisories/advisory-pages.js';
import { affectedFunctions } from './advice.js';

/** Bumped on any incompatible change to the JSON report; documented in the README. */
export const REPORT_SCHEMA_VERSION = 1;

export function findingJson(f: Finding): Record<string, unknown> {
  return findingJsonWith(f, advisoryJson(f.advisory));
}

/** findingJson with `advisory` in the advisory's place (a placeholder for its JSON made once: fleet outputs, core/shared-json.ts). */
export function findingJsonWith(f: Finding, advisory: unknown): Record<string, unknown> {
  const json: Record<string, unknown> = {
    target: f.target,
    advisory,
    databases: f.databases,
    package: packageJson(f.package),
    paths: f.paths,
    morePaths: f.morePaths,
    directDependencies: f.directDependencies,
    fixedVersions: f.fixedVersions,
    devOnly: f.devOnly,
    ignored: f.ignored,
    failsPolicy: f.failsPolicy,
  };
  if (f.fix) json.fix = fixAdviceJson(f.fix);
  return json;
}

/** A finding's `advisory`: made from the advisory alone, so findings sharing an advisory can share its JSON. */
export function advisoryJson(a: Advisory): Record<string, unknown> {
  return {
    id: a.id,
    aliases: a.aliases,
    kind: a.kind,
    title: a.title,
    severity: a.severity,
    url: a.url,
    patched: a.patched,
    unaffected: a.unaffected,
    published: a.published,
    categories: a.categories,
    description: a.description,
    pages: advisoryPages([a.id, ...a.aliases]),
    functions: affectedFunctions({ advisory: a }),
  };
}

/** A finding's `package`. */
export function packageJson(p: Package): Record<string, unknown> {
  return { ecosystem: p.ecosystem, name: p.name, version: p.version, source: redactCredentials(sourceLabel(p.source)) };
}

export function summaryCounts(result: AuditResult): Record<string, number> {
  const count = (pred: (f: Finding) => boolean): number => result.findings.filter(pred).length;
  return {
    vulnerabilities: count((f) => f.advisory.kind === 'vulnerability'),
    unmaintained: count((f) => f.advisory.kind === 'unmaintained'),
    unsound: count((f) => f.advisory.kind === 'unsound'),
    notice: count((f) => f.advisory.kind === 'notice'),
    ignored: count((f) => f.ignored !== null),
    failing: count((f) => f.failsPolicy),
  };
}

export function renderJson(result: AuditResult): string {
  const report = {
    schemaVersion: REPORT_SCHEMA_VERSION,
    tool: { name: TOOL_NAME, version: TOOL_VERSION },
    databases: result.databases,
    targets: result.targets,
    findings: result.findings.map(findingJson),
    warnings: result.warnings,
    summary: summaryCounts(result),
  };
  return jsonForTerminal(JSON.stringify(report, null, 2) + '\n');
}
