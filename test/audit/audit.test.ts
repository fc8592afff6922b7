import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AdvisoryIndex } from '../../src/advisories/advisory-index.js';
import { databaseOverIndex, type AdvisoryDatabase } from '../../src/advisories/database.js';
import { runAudit } from '../../src/audit/audit.js';
import { DEFAULT_POLICY, type AuditPolicy } from '../../src/audit/policy.js';
import type { Advisory, AdvisoryKind, Severity } from '../../src/core/advisory.js';
import type { DependencyGraph, Edge } from '../../src/core/graph.js';
import type { Package } from '../../src/core/package.js';
import { advisoryRecord } from '../support/advisory-fixtures.js';
import { tempDir } from '../support/shared.js';

const NOW = new Date('2026-09-01T00:00:00Z');

function advisory(id: string, pkg: string, patched: string[], extra: Partial<Advisory> = {}): Advisory {
  return advisoryRecord(id, pkg, patched, extra);
}

const sev = (level: Severity['level'], score: number | null = null): Severity => ({ level, score, vector: null });

function crate(name: string, version: string, registry = true): Package {
  return {
    id: `${name}@${version}`,
    ecosystem: 'cargo',
    name,
    version,
    source: registry
      ? { kind: 'registry', url: 'https://github.com/rust-lang/crates.io-index', isDefaultRegistry: true }
      : { kind: 'workspace', url: null, isDefaultRegistry: false },
    checksum: null,
  };
}

/** app → web → hyper → h2 ; app → cli-kit → h2 ; app → old-time ; tool → web ; a private `forked` crate from a path outside the workspace. */
function graph(): DependencyGraph {
  const packages = [
    crate('app', '0.1.0', false),
    crate('tool', '0.1.0', false),
    crate('web', '1.0.0'),
    crate('hyper', '1.2.0'),
    crate('h2', '0.4.1'),
    crate('cli-kit', '2.0.0'),
    crate('old-time', '0.1.40'),
    crate('unsafe-cell', '0.3.0'),
    {
      ...crate('forked', '0.4.1'),
      id: 'forked@git',
      name: 'forked',
      // A path crate: the project's own (a git one is matched, test/cli/audit-cargo-git.test.ts).
      source: { kind: 'path' as const, url: '../forked', isDefaultRegistry: false },
    },
  ];
  const e = (from: string, to: string): Edge => ({ from, to, kind: 'normal' });
  return {
    ecosystem: 'cargo',
    path: 'app/Cargo.lock',
    format: 'Cargo.lock v4',
    packages,
    edges: [
      e('app@0.1.0', 'web@1.0.0'),
      e('web@1.0.0', 'hyper@1.2.0'),
      e('hyper@1.2.0', 'h2@0.4.1'),
      e('app@0.1.0', 'cli-kit@2.0.0'),
      e('cli-kit@2.0.0', 'h2@0.4.1'),
      e('app@0.1.0', 'old-time@0.1.40'),
      e('app@0.1.0', 'tool@0.1.0'),
      e('tool@0.1.0', 'web@1.0.0'),
      e('tool@0.1.0', 'unsafe-cell@0.3.0'),
      e('app@0.1.0', 'forked@git'),
    ],
    roots: ['app@0.1.0', 'tool@0.1.0'],
  };
}

function database(name: string, advisories: Advisory[]): AdvisoryDatabase {
  const file = join(tempDir('audit-index'), 'index.sqlite');
  const index = AdvisoryIndex.build(
    file,
    { source: `directory:${name}`, revision: `rev-${name}`, revisionDate: '2026-08-25T00:00:00Z', fingerprint: 'x', advisories: advisories.length, toolchainAdvisories: 0, ecosystems: { cargo: advisories.length } },
    advisories,
  );
  return databaseOverIndex({ kind: 'directory', dir: name, name }, index, { rebuilt: true, warnings: [] });
}

const informational = (id: string, pkg: string, kind: AdvisoryKind): Advisory => advisory(id, pkg, [], { kind });

const ADVISORIES = [
  advisory('RUSTSEC-2026-0001', 'h2', ['>= 0.4.2'], { aliases: ['CVE-2026-1111'], severity: sev('high', 7.5) }),
  advisory('RUSTSEC-2026-0002', 'h2', ['>= 0.4.0'], { severity: sev('critical', 9.8) }),
  advisory('RUSTSEC-2020-0071', 'old-time', ['>= 0.2.23'], { severity: sev('medium', 6.2) }),
  advisory('RUSTSEC-2019-0001', 'old-time', ['>= 0.1.0'], { withdrawn: '2019-05-01' }),
  advisory('RUSTSEC-2026-0003', 'forked', []),
  informational('RUSTSEC-2026-0004', 'unsafe-cell', 'unsound'),
  informational('RUSTSEC-2026-0005', 'cli-kit', 'unmaintained'),
];

function policy(overrides: Partial<AuditPolicy> = {}): AuditPolicy {
  return { ...DEFAULT_POLICY, ignores: [], ...overrides };
}

test('findings: exact matches only, withdrawn and path packages never match, kinds kept apart', async () => {
  const result = await runAudit({ graphs: [graph()], databases: [database('db', ADVISORIES)], policy: policy(), now: NOW });
  const got = result.findings.map((f) => `${f.advisory.id} ${f.package.name} ${f.advisory.kind} ${f.failsPolicy}`);
  assert.deepEqual(got, [
    'RUSTSEC-2026-0001 h2 vulnerability true',
    'RUSTSEC-2020-0071 old-time vulnerability true',
    'RUSTSEC-2026-0004 unsafe-cell unsound false',
    'RUSTSEC-2026-0005 cli-kit unmaintained false',
  ]);
  assert.deepEqual(result.targets, [
    { path: 'app/Cargo.lock', ecosystem: 'cargo', format: 'Cargo.lock v4', packages: 9, audited: 6, unidentified: [], inventory: 'lockfile', partial: false },
  ]);
  assert.deepEqual(result.warnings, []);
});

test('paths: one per direct dependency that leads to the package, shortest first, not through sibling roots', async () => {
  const result = await runAudit({ graphs: [graph()], databases: [database('db', ADVISORIES)], policy: policy(), now: NOW });
  const h2 = result.findings.find((f) => f.package.name === 'h2');
  assert.deepEqual(h2?.paths, [
    ['app@0.1.0', 'cli-kit@2.0.0', 'h2@0.4.1'],
    ['app@0.1.0', 'web@1.0.0', 'hyper@1.2.0', 'h2@0.4.1'],
    ['tool@0.1.0', 'web@1.0.0', 'hyper@1.2.0', 'h2@0.4.1'],
  ]);
  assert.equal(h2?.morePaths, 0);
});

test('policy: ignores need a live rule; expired and unused ones are reported', async () => {
  const result = await runAudit({
    graphs: [graph()],
    databases: [database('db', ADVISORIES)],
    policy: policy({
      ignores: [
        { id: 'CVE-2026-1111', reason: 'only the client side is used', expires: '2026-12-31', origin: 'stowage.toml' },
        { id: 'RUSTSEC-2020-0071', reason: 'no local time formatting', expires: '2026-08-31', origin: 'stowage.toml' },
        { id: 'RUSTSEC-2000-0001', reason: 'long fixed', expires: null, origin: '--ignore' },
      ],
    }),
    now: NOW,
  });
  const h2 = result.findings.find((f) => f.package.name === 'h2');
  assert.deepEqual(h2?.ignored, { id: 'CVE-2026-1111', reason: 'only the client side is used', expires: '2026-12-31', origin: 'stowage.toml' });
  assert.equal(h2?.failsPolicy, false);
  const time = result.findings.find((f) => f.package.name === 'old-time');
  assert.equal(time?.ignored, null, 'an expired ignore no longer applies');
  assert.equal(time?.failsPolicy, true);
  assert.deepEqual(result.warnings, [
    'ignore of RUSTSEC-2020-0071 (stowage.toml) expired on 2026-08-31 and no longer applies',
    'ignore of RUSTSEC-2000-0001 (--ignore) matches no finding: remove it once the fix has shipped',
  ]);
});

test('policy: severity threshold, unscored advisories fail closed, informational kinds fail only when denied', async () => {
  const unscored = [...ADVISORIES, advisory('RUSTSEC-2026-0009', 'hyper', ['>= 1.3.0'])];
  const run = async (p: Partial<AuditPolicy>): Promise<string[]> =>
    (await runAudit({ graphs: [graph()], databases: [database('db', unscored)], policy: policy(p), now: NOW })).findings
      .filter((f) => f.failsPolicy)
      .map((f) => f.advisory.id);
  assert.deepEqual(await run({ severityThreshold: 'high' }), ['RUSTSEC-2026-0001', 'RUSTSEC-2026-0009']);
  assert.deepEqual(await run({ severityThreshold: 'high', unscored: 'medium' }), ['RUSTSEC-2026-0001']);
  assert.deepEqual(await run({ severityThreshold: 'critical', deny: ['unsound'] }), ['RUSTSEC-2026-0009', 'RUSTSEC-2026-0004']);
});

test('one vulnerability under several ids, from two databases, is one finding listing every id', async () => {
  const ghsa = advisory('GHSA-aaaa-bbbb-cccc', 'h2', ['>= 0.4.2'], { aliases: ['CVE-2026-1111'], severity: sev('high', 7.5) });
  const result = await runAudit({
    graphs: [graph()],
    databases: [database('rustsec', ADVISORIES), database('osv', [ghsa])],
    policy: policy(),
    now: NOW,
  });
  const h2 = result.findings.filter((f) => f.package.name === 'h2');
  assert.equal(h2.length, 1);
  assert.equal(h2[0]?.advisory.id, 'RUSTSEC-2026-0001', 'the first database names the finding');
  assert.deepEqual(h2[0]?.advisory.aliases, ['CVE-2026-1111', 'GHSA-aaaa-bbbb-cccc']);
  assert.deepEqual(h2[0]?.databases, ['rustsec', 'osv']);
});

test('a stale database warns, or refuses to audit when the policy says so', async () => {
  const db = database('db', ADVISORIES);
  const later = new Date('2026-11-26T00:00:00Z');
  const warned = await runAudit({ graphs: [graph()], databases: [db], policy: policy(), now: later });
  assert.equal(warned.databases[0]?.ageDays, 93);
  assert.equal(warned.databases[0]?.stale, true);
  assert.match(warned.warnings[0] ?? '', /93 days old .* over the 30-day limit/);
  await assert.rejects(
    runAudit({ graphs: [graph()], databases: [db], policy: policy({ staleDatabase: 'fail' }), now: later }),
    /refusing to audit/,
  );
  const fresh = await runAudit({ graphs: [graph()], databases: [db], policy: policy({ maxDatabaseAgeDays: 120 }), now: later });
  assert.equal(fresh.databases[0]?.stale, false);
});

test('an advisory whose range cannot be evaluated fails the audit loudly', async () => {
  const broken = advisory('RUSTSEC-2026-0100', 'h2', ['>= not-a-version']);
  await assert.rejects(
    runAudit({ graphs: [graph()], databases: [database('db', [broken])], policy: policy(), now: NOW }),
    /RUSTSEC-2026-0100 cannot be evaluated for h2 0.4.1/,
  );
});

test('merged records take the strictest verdict, whatever the order of the databases', async () => {
  const lowGhsa = advisory('GHSA-aaaa-bbbb-cccc', 'h2', ['>= 0.4.2'], { aliases: ['CVE-2026-1111'], severity: sev('low', 2.0) });
  const noticeFirst = advisory('GHSA-dddd-eeee-ffff', 'h2', ['>= 0.4.2'], { aliases: ['CVE-2026-1111'], kind: 'unsound' });
  for (const first of [lowGhsa, noticeFirst]) {
    const result = await runAudit({
      graphs: [graph()],
      databases: [database('osv', [first]), database('rustsec', ADVISORIES)],
      policy: policy({ severityThreshold: 'high' }),
      now: NOW,
    });
    const h2 = result.findings.filter((f) => f.package.name === 'h2');
    assert.equal(h2.length, 1, 'one vulnerability, one finding');
    const merged = h2.find((f) => f.advisory.aliases.includes('RUSTSEC-2026-0001'));
    assert.equal(merged?.advisory.id, first.id, 'the first database names the finding');
    assert.equal(merged?.advisory.kind, 'vulnerability');
    assert.deepEqual(merged?.advisory.severity, sev('high', 7.5));
    assert.equal(merged?.failsPolicy, true);
  }
});

test('two advisories of one database stay two findings, even when they share every alias', async () => {
  const aliases = ['CVE-2026-2222', 'GHSA-2222-3333-4444'];
  const unsound = advisory('RUSTSEC-2026-0010', 'cli-kit', [], { kind: 'unsound', aliases, severity: sev('critical', 9.8) });
  const unmaintained = advisory('RUSTSEC-2026-0011', 'cli-kit', [], { kind: 'unmaintained', aliases });
  const ghsa = advisory('GHSA-2222-3333-4444', 'cli-kit', [], { aliases: ['CVE-2026-2222'], severity: sev('high', 7.5) });
  const describe = (findings: { advisory: Advisory; databases: string[] }[]): string[] =>
    findings.map((f) => `${f.advisory.id} ${f.advisory.kind} ${f.databases.join('+')}`).sort();
  const alone = await runAudit({ graphs: [graph()], databases: [database('rustsec', [unsound, unmaintained])], policy: policy(), now: NOW });
  assert.deepEqual(describe(alone.findings), ['RUSTSEC-2026-0010 unsound rustsec', 'RUSTSEC-2026-0011 unmaintained rustsec']);
  // A record of another database that names the same ids folds into one of them, not both into one.
  for (const order of [
    [database('rustsec', [unsound, unmaintained]), database('ghsa', [ghsa])],
    [database('ghsa', [ghsa]), database('rustsec', [unsound, unmaintained])],
  ]) {
    const result = await runAudit({ graphs: [graph()], databases: order, policy: policy(), now: NOW });
    const kit = result.findings.filter((f) => f.package.name === 'cli-kit');
    assert.equal(kit.length, 2, describe(kit).join('; '));
    assert.ok(kit.some((f) => f.advisory.kind === 'unmaintained' && f.databases.join() === 'rustsec'), describe(kit).join('; '));
    assert.ok(kit.some((f) => f.databases.length === 2 && f.advisory.kind === 'vulnerability'), describe(kit).join('; '));
  }
  // The same database given twice is the same advisories: still two findings, not four.
  const twice = await runAudit({
    graphs: [graph()],
    databases: [database('rustsec', [unsound, unmaintained]), database('rustsec', [unsound, unmaintained])],
    policy: policy(),
    now: NOW,
  });
  assert.deepEqual(describe(twice.findings.filter((f) => f.package.name === 'cli-kit')), [
    'RUSTSEC-2026-0010 unsound rustsec',
    'RUSTSEC-2026-0011 unmaintained rustsec',
  ]);
});

test('an advisory withdrawn from a date still to come still applies, with a warning', async () => {
  const later = advisory('RUSTSEC-2026-0020', 'hyper', ['>= 1.3.0'], { withdrawn: '2099-01-01' });
  const past = advisory('RUSTSEC-2026-0021', 'hyper', ['>= 1.3.0'], { withdrawn: '2026-08-31T23:59:59Z' });
  // RFC 3339 allows a leap second; Date.parse does not: it is the moment the next minute starts, past.
  const leap = advisory('RUSTSEC-2026-0022', 'hyper', ['>= 1.3.0'], { withdrawn: '2026-08-31T23:59:60Z' });
  const result = await runAudit({ graphs: [graph()], databases: [database('db', [later, past, leap])], policy: policy(), now: NOW });
  assert.deepEqual(
    result.findings.map((f) => f.advisory.id),
    ['RUSTSEC-2026-0020'],
  );
  assert.deepEqual(result.warnings, [
    'advisory RUSTSEC-2026-0020 (crates/hyper/RUSTSEC-2026-0020.md in db): withdrawn only from 2099-01-01, a date still to come: it still applies',
  ]);
});
