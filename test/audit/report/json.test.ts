import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { AuditResult } from '../../../src/audit/audit.js';
import { renderJson } from '../../../src/audit/report/json.js';
import { ADVISORY_KINDS, SEVERITY_LEVELS, type Advisory } from '../../../src/core/advisory.js';
import type { Finding } from '../../../src/core/finding.js';
import { ECOSYSTEMS } from '../../../src/core/package.js';
import { AUDIT_REPORT_SCHEMA, assertValidReport, auditReport, checkAuditReport, jsonReportOf, type AuditReport } from '../../support/audit-report.js';
import { assertDraft2020Schema, readJsonSchema, type JsonSchema } from '../../support/json-schema.js';
import { PROJECT_ROOT } from '../../support/shared.js';

/**
 * schema/audit-report.v1.json is the contract of `--format json`. These tests prove it is a
 * draft 2020-12 schema, that it says what the README says, and that it rejects what the code
 * must not emit; runCli checks every report the other tests make against it.
 */

const COMMIT = 'bf5c0d245a92671908518d7e765914d437954ed6';
const CONTENT = `sha256:${'ab'.repeat(32)}`;

function advisory(id: string, extra: Partial<Advisory> = {}): Advisory {
  return {
    id,
    aliases: [],
    related: ['RUSTSEC-2020-0001'],
    kind: 'vulnerability',
    ecosystem: 'cargo',
    package: 'h2',
    title: 'h2 is broken',
    description: 'Long text.',
    published: '2026-01-01',
    modified: '2026-02-01T10:00:00Z',
    withdrawn: null,
    severity: null,
    url: null,
    references: ['https://example.com/ref'],
    categories: [],
    keywords: ['http'],
    affected: [{ form: 'requirements', patched: ['>= 0.4.16'], unaffected: [] }],
    patched: ['>= 0.4.16'],
    unaffected: [],
    functions: { 'h2::x': ['< 0.4.16'] },
    os: ['linux'],
    arch: [],
    origin: `crates/h2/${id}.md`,
    caveats: ['a caveat the reader recorded'],
    ...extra,
  };
}

function finding(a: Advisory, extra: Partial<Finding> = {}): Finding {
  return {
    target: 'app/Cargo.lock',
    advisory: a,
    databases: ['https://github.com/rustsec/advisory-db.git'],
    package: {
      id: 'h2@0.4.15',
      ecosystem: 'cargo',
      name: 'h2',
      version: '0.4.15',
      source: { kind: 'registry', url: 'https://github.com/rust-lang/crates.io-index', isDefaultRegistry: true },
      checksum: 'ff'.repeat(32),
      flags: { dev: true },
    },
    paths: [['app@1.0.0', 'h2@0.4.15']],
    morePaths: 0,
    directDependencies: ['h2@0.4.15'],
    fixedVersions: { line: '0.4.x', inLine: ['0.4.16'], otherLines: [] },
    devOnly: false,
    ignored: null,
    policyLevel: a.kind === 'vulnerability' ? (a.severity?.level ?? 'critical') : null,
    failsPolicy: true,
    ...extra,
  };
}

/** Every database kind, every nullable field both ways, every advisory kind. */
const RESULT: AuditResult = {
  databases: [
    { source: 'https://github.com/rustsec/advisory-db.git', kind: 'git-remote', revision: COMMIT, revisionDate: '2026-08-21T08:28:40+02:00', advisories: 3, toolchainAdvisories: 1, ecosystems: { cargo: 3 }, ageDays: 3, stale: false },
    { source: '/srv/advisory-db', kind: 'git-checkout', revision: `${COMMIT}-dirty`, revisionDate: '2026-08-21T08:28:40+02:00', advisories: 1, toolchainAdvisories: 0, ecosystems: { cargo: 1 }, ageDays: 400, stale: true },
    { source: '/srv/ghsa', kind: 'directory', revision: CONTENT, revisionDate: '2026-01-01', advisories: 2, toolchainAdvisories: 0, ecosystems: { npm: 2 }, ageDays: 0, stale: false },
    { source: '/srv/npm.zip', kind: 'zip', revision: CONTENT, revisionDate: null, advisories: 0, toolchainAdvisories: 0, ecosystems: {}, ageDays: null, stale: false },
  ],
  targets: [
    { path: 'app/Cargo.lock', ecosystem: 'cargo', format: 'Cargo.lock v4', packages: 9, audited: 6, unidentified: [], inventory: 'lockfile', partial: false },
    { path: 'app/bom.json', ecosystem: 'npm', format: 'CycloneDX 1.6', packages: 2, audited: 1, unidentified: [{ ref: 'components[1]', name: 'blob', version: '1', reason: 'no purl' }], inventory: 'sbom', partial: false },
  ],
  findings: [
    finding(advisory('RUSTSEC-2026-0258', { aliases: ['CVE-2026-1', 'GHSA-aaaa-bbbb-cccc'], severity: { level: 'high', score: 7.5, vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H' }, url: 'https://rustsec.org/advisories/RUSTSEC-2026-0258.html' }), {
      paths: [1, 2, 3, 4, 5].map((n) => [`app${n}@1.0.0`, 'h2@0.4.15']),
      morePaths: 2,
    }),
    finding(advisory('RUSTSEC-2026-0001', { severity: { level: 'medium', score: null, vector: null }, published: null }), {
      ignored: { id: 'CVE-2026-9', reason: 'not reachable', expires: '2027-01-31', origin: 'app/stowage.toml' },
      failsPolicy: false,
      devOnly: true,
    }),
    finding(advisory('RUSTSEC-2026-0002', { kind: 'unmaintained' }), { ignored: { id: 'RUSTSEC-2026-0002', reason: 'fork planned', expires: null, origin: '--ignore' }, failsPolicy: false }),
    finding(advisory('RUSTSEC-2026-0003', { kind: 'unsound' }), { failsPolicy: false }),
    finding(advisory('RUSTSEC-2026-0004', { kind: 'notice' }), { failsPolicy: false, paths: [] }),
  ],
  warnings: ['advisory database /srv/advisory-db is 400 days old'],
  notAudited: [],
  notAuditedPackages: [],
};

const rendered = (): AuditReport => auditReport(renderJson(RESULT));

test('the schema is a valid draft 2020-12 schema, compiled in strict mode', () => {
  assertDraft2020Schema(readJsonSchema(AUDIT_REPORT_SCHEMA));
  // The check bites: a misspelt keyword, a keyword of the wrong shape, another draft.
  const draft = 'https://json-schema.org/draft/2020-12/schema';
  assert.throws(() => assertDraft2020Schema({ $schema: draft, type: 'object', additionalProperty: false }), /unknown keyword: "additionalProperty"/);
  assert.throws(() => assertDraft2020Schema({ $schema: draft, enum: 'cargo' }), /data\/enum must be array/);
  assert.throws(() => assertDraft2020Schema({ $schema: 'http://json-schema.org/draft-07/schema#', type: 'object' }), /draft-07/);
});

test('a report with every database kind, nullable field and advisory kind is valid', () => {
  const report = rendered();
  assert.deepEqual(report.databases.map((d) => d.kind), ['git-remote', 'git-checkout', 'directory', 'zip']);
  assert.deepEqual(report.findings.map((f) => f.advisory.kind), ['vulnerability', 'vulnerability', 'unmaintained', 'unsound', 'notice']);
  assert.deepEqual(report.summary, { vulnerabilities: 2, unmaintained: 1, unsound: 1, notice: 1, ignored: 2, failing: 1 });
});

/** Each change is one the code could make by mistake; each must be refused, naming the place. */
const REJECTED: [string, (r: AuditReport & Record<string, unknown>) => void, RegExp][] = [
  ['an undocumented top-level field', (r) => Object.assign(r, { generatedAt: '2026-01-01' }), /^data must NOT have additional properties$/m],
  ['an undocumented finding field', (r) => Object.assign(r.findings[0] as object, { severity: 'high' }), /^data\/findings\/0 must NOT have additional properties$/m],
  ['an internal advisory field (references)', (r) => Object.assign((r.findings[0] as ReportFindingLike).advisory, { references: [] }), /^data\/findings\/0\/advisory must NOT have additional properties$/m],
  ['the advisory caveats', (r) => Object.assign((r.findings[0] as ReportFindingLike).advisory, { caveats: [] }), /^data\/findings\/0\/advisory must NOT have additional properties$/m],
  ['an internal package field (checksum)', (r) => Object.assign((r.findings[0] as ReportFindingLike).package, { checksum: 'ff' }), /^data\/findings\/0\/package must NOT have additional properties$/m],
  ['an undocumented database field', (r) => Object.assign(r.databases[0] as object, { fingerprint: 'x' }), /^data\/databases\/0 must NOT have additional properties$/m],
  ['an undocumented target field', (r) => Object.assign(r.targets[0] as object, { root: '/' }), /^data\/targets\/0 must NOT have additional properties$/m],
  ['an undocumented severity field', (r) => Object.assign((r.findings[0] as ReportFindingLike).advisory.severity as object, { version: '3.1' }), /^data\/findings\/0\/advisory\/severity must NOT have additional properties$/m],
  ['an undocumented ignore field', (r) => Object.assign((r.findings[1] as ReportFindingLike).ignored as object, { until: 'x' }), /^data\/findings\/1\/ignored must NOT have additional properties$/m],
  ['an undocumented summary count', (r) => Object.assign(r.summary, { withdrawn: 0 }), /^data\/summary must NOT have additional properties$/m],
  ['an unknown ecosystem count', (r) => Object.assign((r.databases[0] as ReportDatabaseLike).ecosystems, { pypi: 1 }), /^data\/databases\/0\/ecosystems must NOT have additional properties$/m],
  ['an unidentified component with a purl', (r) => Object.assign((r.targets[1] as { unidentified: object[] }).unidentified[0] as object, { purl: 'pkg:x' }), /^data\/targets\/1\/unidentified\/0 must NOT have additional properties$/m],
  ['an advisory kind not in the enum', (r) => Object.assign((r.findings[0] as ReportFindingLike).advisory, { kind: 'informational' }), /^data\/findings\/0\/advisory\/kind must be equal to one of the allowed values$/m],
  ['a GHSA rating as the level', (r) => Object.assign((r.findings[0] as ReportFindingLike).advisory.severity as object, { level: 'moderate' }), /^data\/findings\/0\/advisory\/severity\/level must be equal to one of the allowed values$/m],
  ['a database kind not in the enum', (r) => Object.assign(r.databases[0] as object, { kind: 'git' }), /^data\/databases\/0\/kind must be equal to one of the allowed values$/m],
  ['an ecosystem not in the enum', (r) => Object.assign(r.targets[0] as object, { ecosystem: 'pypi' }), /^data\/targets\/0\/ecosystem must be equal to one of the allowed values$/m],
  ['a package ecosystem not in the enum', (r) => Object.assign((r.findings[0] as ReportFindingLike).package, { ecosystem: 'Cargo' }), /^data\/findings\/0\/package\/ecosystem must be equal to one of the allowed values$/m],
  ['another schema version', (r) => Object.assign(r, { schemaVersion: 2 }), /^data\/schemaVersion must be equal to constant$/m],
  ['a missing field', (r) => delete (r.findings[0] as Partial<ReportFindingLike>).morePaths, /^data\/findings\/0 must have required property 'morePaths'$/m],
  ['a missing nullable field', (r) => delete (r.databases[3] as Partial<ReportDatabaseLike>).revisionDate, /^data\/databases\/3 must have required property 'revisionDate'$/m],
  ['a string for a boolean', (r) => Object.assign(r.findings[0] as object, { devOnly: 'no' }), /^data\/findings\/0\/devOnly must be boolean$/m],
  ['a negative count', (r) => Object.assign(r.summary, { failing: -1 }), /^data\/summary\/failing must be >= 0$/m],
  ['a short commit as a git revision', (r) => Object.assign(r.databases[0] as object, { revision: 'bf5c0d24' }), /^data\/databases\/0\/revision must match pattern/m],
  ['a -dirty remote', (r) => Object.assign(r.databases[0] as object, { revision: `${COMMIT}-dirty` }), /^data\/databases\/0\/revision must match pattern/m],
  ['a commit for a directory', (r) => Object.assign(r.databases[2] as object, { revision: COMMIT }), /^data\/databases\/2\/revision must match pattern/m],
  ['a revision date that is no date', (r) => Object.assign(r.databases[0] as object, { revisionDate: 'yesterday' }), /^data\/databases\/0\/revisionDate must match format "date-time"$/m],
  ['an expiry that is a timestamp', (r) => Object.assign((r.findings[1] as ReportFindingLike).ignored as object, { expires: '2027-01-31T00:00:00Z' }), /^data\/findings\/1\/ignored\/expires must match format "date"$/m],
  ['a stale database of unknown age', (r) => Object.assign(r.databases[3] as object, { stale: true }), /^data\/databases\/3\/stale must be equal to constant$/m],
  ['an ignored finding that fails the policy', (r) => Object.assign(r.findings[1] as object, { failsPolicy: true }), /^data\/findings\/1\/failsPolicy must be equal to constant$/m],
  ['six paths', (r) => (r.findings[0] as ReportFindingLike).paths.push(['app6@1.0.0', 'h2@0.4.15']), /^data\/findings\/0\/paths must NOT have more than 5 items$/m],
  ['an empty path', (r) => (r.findings[0] as ReportFindingLike).paths.push([]), /^data\/findings\/0\/paths\/5 must NOT have fewer than 1 items$/m],
  ['a CVSS score over 10', (r) => Object.assign((r.findings[0] as ReportFindingLike).advisory.severity as object, { score: 75 }), /^data\/findings\/0\/advisory\/severity\/score must be <= 10$/m],
  ['a finding reported by no database', (r) => Object.assign(r.findings[0] as object, { databases: [] }), /^data\/findings\/0\/databases must NOT have fewer than 1 items$/m],
];

type ReportFindingLike = AuditReport['findings'][number];
type ReportDatabaseLike = AuditReport['databases'][number];

for (const [what, change, error] of REJECTED) {
  test(`the schema rejects ${what}`, () => {
    const report = rendered() as AuditReport & Record<string, unknown>;
    change(report);
    const { valid, errors } = checkAuditReport(report);
    assert.equal(valid, false, `${what} was accepted`);
    assert.match(errors, error);
  });
}

test('a report the schema accepts is still refused when it contradicts itself', () => {
  const cases: [string, (r: AuditReport) => void, RegExp][] = [
    ['a summary that does not count the findings', (r) => (r.summary.failing = 0), /the summary counts the findings/],
    ['a finding of no target', (r) => ((r.findings[0] as ReportFindingLike).target = 'other/Cargo.lock'), /its target other\/Cargo\.lock is one of the report's targets/],
    ['a finding from no database', (r) => ((r.findings[0] as ReportFindingLike).databases = ['/elsewhere']), /its database \/elsewhere is one of the report's databases/],
    ['paths left out before five are listed', (r) => (r.findings[0] as ReportFindingLike).paths.pop(), /further paths are left out only after five/],
  ];
  for (const [what, change, message] of cases) {
    const report = rendered();
    change(report);
    assert.equal(checkAuditReport(report).valid, true, `${what}: valid for the schema alone`);
    assert.throws(() => assertValidReport(report), message, what);
  }
});

test('the enums are the code\'s own: advisory kinds, severity levels, ecosystems', () => {
  const defs = readJsonSchema(AUDIT_REPORT_SCHEMA)['$defs'] as Record<string, JsonSchema>;
  const props = (name: string): Record<string, JsonSchema> => (defs[name] as { properties: Record<string, JsonSchema> }).properties;
  assert.deepEqual(props('advisory')['kind'], { enum: [...ADVISORY_KINDS] });
  assert.deepEqual(props('severity')['level'], { enum: [...SEVERITY_LEVELS] });
  assert.deepEqual(defs['ecosystem'], { enum: [...ECOSYSTEMS] });
  assert.deepEqual(Object.keys((props('database')['ecosystems'] as { properties: object }).properties), [...ECOSYSTEMS]);
});

// ---------------------------------------------------------------------------------------
// The README's example and the schema name the same fields.

/** Field paths of a JSON value: `findings[].advisory.id`. */
function exampleFields(value: unknown, at: string, into: Set<string>): Set<string> {
  if (Array.isArray(value)) for (const item of value) exampleFields(item, `${at}[]`, into);
  else if (value !== null && typeof value === 'object') {
    for (const [key, child] of Object.entries(value)) {
      const path = at === '' ? key : `${at}.${key}`;
      into.add(path);
      exampleFields(child, path, into);
    }
  }
  return into;
}

/** Field paths the schema allows, following `$ref`, `anyOf` and `items`. */
function schemaFields(schema: JsonSchema, root: JsonSchema, at: string, into: Set<string>): Set<string> {
  const ref = schema['$ref'];
  if (typeof ref === 'string') return schemaFields(resolvePointer(root, ref), root, at, into);
  for (const alternative of (schema['anyOf'] as JsonSchema[] | undefined) ?? []) schemaFields(alternative, root, at, into);
  const items = schema['items'] as JsonSchema | undefined;
  if (items) schemaFields(items, root, `${at}[]`, into);
  for (const [key, child] of Object.entries((schema['properties'] as Record<string, JsonSchema> | undefined) ?? {})) {
    const path = at === '' ? key : `${at}.${key}`;
    into.add(path);
    schemaFields(child, root, path, into);
  }
  return into;
}

function resolvePointer(root: JsonSchema, ref: string): JsonSchema {
  return ref
    .replace(/^#\//, '')
    .split('/')
    .reduce<JsonSchema>((node, part) => node[part] as JsonSchema, root);
}

test('the schema has every field the README documents, and no other', () => {
  const readme = readFileSync(join(PROJECT_ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## JSON report (`--format json`)'));
  const jsonc = /```jsonc\n([\s\S]*?)\n```/.exec(section)?.[1] ?? '';
  const example: unknown = JSON.parse(jsonc.replace(/[ \t]+\/\/.*$/gm, ''));
  const documented = exampleFields(example, '', new Set());
  // Some objects are shown empty, their fields named in the comment beside them.
  const ignoreFields = /"ignored": null,\s*\/\/ or \{ ([^}]*) \}/.exec(jsonc)?.[1];
  const manifestFields = /"manifest": null,\s*\/\/ or \{ ([^}]*) \}/.exec(jsonc)?.[1];
  const unidentifiedFields = /"unidentified": \[\][^[]*\[\{ ([^}]*) \}\]/.exec(jsonc)?.[1];
  const blockerFields = /"blockedBy": \[\][^[]*\[\{ ([^}]*) \}\]/.exec(jsonc)?.[1];
  const functionFields = /"functions": \[\][^[]*\[\{ ([^}]*) \}\]/.exec(jsonc)?.[1];
  assert.ok(ignoreFields && manifestFields && unidentifiedFields && blockerFields && functionFields, 'the README names the fields of `ignored`, `fix.manifest`, `unidentified`, `fix.blockedBy` and `functions`');
  for (const f of ignoreFields.split(', ')) documented.add(`findings[].ignored.${f}`);
  for (const f of manifestFields.split(', ')) documented.add(`findings[].fix.manifest.${f}`);
  // `manifests` lists entries of the same shape: the README names them once, at `manifest`.
  for (const f of manifestFields.split(', ')) documented.add(`findings[].fix.manifests[].${f}`);
  for (const f of unidentifiedFields.split(', ')) documented.add(`targets[].unidentified[].${f.replaceAll('"', '')}`);
  for (const f of blockerFields.split(', ')) documented.add(`findings[].fix.blockedBy[].${f}`);
  for (const f of functionFields.split(', ')) documented.add(`findings[].advisory.functions[].${f.replaceAll('"', '')}`);
  // Advisory counts are per ecosystem: the example shows one, the schema lists each.
  for (const e of ECOSYSTEMS) documented.add(`databases[].ecosystems.${e}`);

  const schema = readJsonSchema(AUDIT_REPORT_SCHEMA);
  const allowed = schemaFields(schema, schema, '', new Set());
  assert.deepEqual([...documented].filter((f) => !allowed.has(f)), [], 'documented in the README, missing from the schema');
  assert.deepEqual([...allowed].filter((f) => !documented.has(f)), [], 'in the schema, not documented in the README');
});

// ---------------------------------------------------------------------------------------
// runCli finds the report wherever the command line puts it.

test('every way of asking for a JSON report is found and checked; other formats are not', () => {
  const cwd = PROJECT_ROOT;
  assert.equal(jsonReportOf(['audit', 'x', '--format', 'json'], cwd, 'OUT'), 'OUT');
  assert.equal(jsonReportOf(['audit', '-f', 'json', 'x'], cwd, 'OUT'), 'OUT');
  assert.equal(jsonReportOf(['audit', '--format=json'], cwd, 'OUT'), 'OUT');
  assert.equal(jsonReportOf(['audit', '-fjson'], cwd, 'OUT'), 'OUT');
  assert.equal(jsonReportOf(['audit', '--format', 'json', '-o', '-'], cwd, 'OUT'), 'OUT');
  assert.equal(jsonReportOf(['audit', '--format', 'json', '--output', '/dev/stdout'], cwd, 'OUT'), 'OUT');
  assert.equal(jsonReportOf(['audit', '--format', 'json', '-o', 'package.json'], cwd, 'OUT'), readFileSync(join(cwd, 'package.json'), 'utf8'));
  assert.equal(jsonReportOf(['audit', '--format', 'json', '--output=package.json'], cwd, 'OUT'), readFileSync(join(cwd, 'package.json'), 'utf8'));
  assert.equal(jsonReportOf(['audit', 'x'], cwd, 'OUT'), null);
  assert.equal(jsonReportOf(['audit', '--format', 'sarif'], cwd, 'OUT'), null);
  assert.equal(jsonReportOf(['audit', '--format', 'json', '--format', 'sarif'], cwd, 'OUT'), null, 'the last --format wins, as in commander');
  assert.equal(jsonReportOf(['sbom', '--format', 'json'], cwd, 'OUT'), null);
});
