import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { outputFile } from '../../src/cli/output.js';
import { readJsonSchema, schemaCheck } from './json-schema.js';

/**
 * The JSON audit report as schema/audit-report.v1.json describes it. Every report a test
 * makes is checked against that file (runCli does it for every `audit --format json`), so a
 * field the code adds, drops or renames without the schema fails the suite.
 */

// Not PROJECT_ROOT from shared.js: shared.js imports this module.
export const AUDIT_REPORT_SCHEMA = join(resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..'), 'schema', 'audit-report.v1.json');

export type Kind = 'vulnerability' | 'unmaintained' | 'unsound' | 'notice';
export type Level = 'none' | 'low' | 'medium' | 'high' | 'critical';

export interface ReportDatabase {
  source: string;
  kind: 'git-remote' | 'git-checkout' | 'directory' | 'zip' | 'zip-download';
  revision: string;
  revisionDate: string | null;
  advisories: number;
  toolchainAdvisories: number;
  ecosystems: { cargo?: number; npm?: number };
  ageDays: number | null;
  stale: boolean;
}

export interface ReportTarget {
  path: string;
  ecosystem: 'cargo' | 'npm';
  format: string;
  packages: number;
  audited: number;
  unidentified: { ref: string; name: string; version: string; reason: string }[];
  inventory:
    | 'lockfile'
    | 'sbom'
    | 'vendor archive'
    | 'dep-v0'
    | 'embedded paths'
    | 'X-Cargo-Built-Using'
    | 'Static-Built-Using'
    | 'Built-Using'
    | 'bundled provides'
    | 'package.json';
  partial: boolean;
}

export interface ReportFinding {
  target: string;
  advisory: {
    id: string;
    aliases: string[];
    kind: Kind;
    title: string;
    severity: { level: Level; score: number | null; vector: string | null } | null;
    url: string | null;
    patched: string[];
    unaffected: string[];
    published: string | null;
    categories: string[];
    description: string;
    pages?: string[];
    functions?: { path: string; versions: string[] }[];
  };
  databases: string[];
  package: { ecosystem: 'cargo' | 'npm'; name: string; version: string; source: string };
  paths: string[][];
  morePaths: number;
  directDependencies?: string[];
  fixedVersions?: { line: string; inLine: string[]; otherLines: string[] } | null;
  devOnly: boolean;
  ignored: { id: string; reason: string; expires: string | null; origin: string } | null;
  failsPolicy: boolean;
}

export interface AuditReport {
  schemaVersion: 1;
  tool: { name: 'stowage'; version: string };
  databases: ReportDatabase[];
  targets: ReportTarget[];
  findings: ReportFinding[];
  warnings: string[];
  summary: { vulnerabilities: number; unmaintained: number; unsound: number; notice: number; ignored: number; failing: number };
}

let compiled: ReturnType<typeof schemaCheck> | undefined;

/** The schema's own verdict, for tests that show the schema rejects what it must. */
export function checkAuditReport(report: unknown): { valid: boolean; errors: string } {
  compiled ??= schemaCheck(readJsonSchema(AUDIT_REPORT_SCHEMA), { draft2020: true });
  return compiled(report);
}

/**
 * Valid against the schema, and consistent in what a schema cannot say: the summary counts
 * the findings, and every finding names one of the report's targets and databases.
 */
export function assertValidReport(report: unknown): asserts report is AuditReport {
  const { valid, errors } = checkAuditReport(report);
  assert.ok(valid, `the JSON report does not match ${AUDIT_REPORT_SCHEMA}:\n${errors}`);
  const r = report as AuditReport;
  const count = (pred: (f: ReportFinding) => boolean): number => r.findings.filter(pred).length;
  assert.deepEqual(r.summary, {
    vulnerabilities: count((f) => f.advisory.kind === 'vulnerability'),
    unmaintained: count((f) => f.advisory.kind === 'unmaintained'),
    unsound: count((f) => f.advisory.kind === 'unsound'),
    notice: count((f) => f.advisory.kind === 'notice'),
    ignored: count((f) => f.ignored !== null),
    failing: count((f) => f.failsPolicy),
  }, 'the summary counts the findings');
  const targets = new Set(r.targets.map((t) => t.path));
  const sources = new Set(r.databases.map((d) => d.source));
  for (const f of r.findings) {
    const what = `${f.advisory.id} ${f.package.name}@${f.package.version}`;
    assert.ok(targets.has(f.target), `${what}: its target ${f.target} is one of the report's targets`);
    for (const db of f.databases) assert.ok(sources.has(db), `${what}: its database ${db} is one of the report's databases`);
    if (f.morePaths > 0) assert.equal(f.paths.length, 5, `${what}: further paths are left out only after five`);
  }
}

/** Parses a JSON report as written and checks it: what tests use instead of JSON.parse. */
export function auditReport(text: string): AuditReport {
  const report: unknown = JSON.parse(text);
  assertValidReport(report);
  return report;
}

/** Where `stowage audit` writes a JSON report, from its arguments; null when it writes none. */
export function jsonReportOf(args: readonly string[], cwd: string, stdout: string): string | null {
  if (args[0] !== 'audit') return null;
  let format = 'human';
  let output: string | undefined;
  for (let i = 1; i < args.length && args[i] !== '--'; i++) {
    const arg = args[i] as string;
    const option = /^(--format|-f|--output|-o)(?:=?(.+))?$/.exec(arg);
    if (!option) continue;
    const value = option[2] ?? args[++i];
    if (option[1] === '--format' || option[1] === '-f') format = value ?? format;
    else output = value;
  }
  if (format !== 'json') return null;
  const file = outputFile(output);
  return file === undefined ? stdout : readFileSync(resolve(cwd, file), 'utf8');
}
