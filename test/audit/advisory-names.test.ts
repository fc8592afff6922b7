import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AdvisoryIndex } from '../../src/advisories/advisory-index.js';
import { databaseOverIndex, type AdvisoryDatabase } from '../../src/advisories/database.js';
import { parseOsvRecord } from '../../src/advisories/osv.js';
import { runAudit } from '../../src/audit/audit.js';
import { DEFAULT_POLICY } from '../../src/audit/policy.js';
import type { Advisory } from '../../src/core/advisory.js';
import type { DependencyGraph } from '../../src/core/graph.js';
import type { Ecosystem, Package } from '../../src/core/package.js';
import { advisoryNameKeys, LockfileNameKeys } from '../../src/ecosystems/package-names.js';
import { auditReport } from '../support/audit-report.js';
import { GHSA_NPM, runCli, tempDir } from '../support/shared.js';

const NOW = new Date('2026-09-01T00:00:00Z');
const POLICY = { ...DEFAULT_POLICY, ignores: [], maxDatabaseAgeDays: 100_000 };

/** One OSV record for `name`, every version affected. */
function record(id: string, ecosystem: 'npm' | 'crates.io', name: string, extra: Record<string, unknown> = {}): Advisory[] {
  return parseOsvRecord(
    JSON.stringify({
      id,
      modified: '2026-01-01T00:00:00Z',
      summary: `${name} is broken`,
      affected: [{ package: { ecosystem, name }, ranges: [{ type: 'SEMVER', events: [{ introduced: '0' }] }] }],
      ...extra,
    }),
    `${id}.json`,
  );
}

function database(advisories: Advisory[]): AdvisoryDatabase {
  const file = join(tempDir('names-index'), 'index.sqlite');
  const ecosystems: Partial<Record<Ecosystem, number>> = {};
  for (const a of advisories) ecosystems[a.ecosystem] = (ecosystems[a.ecosystem] ?? 0) + 1;
  const index = AdvisoryIndex.build(
    file,
    { source: 'directory:db', revision: 'rev', revisionDate: '2026-08-25T00:00:00Z', fingerprint: 'x', advisories: advisories.length, toolchainAdvisories: 0, ecosystems },
    advisories,
  );
  return databaseOverIndex({ kind: 'directory', dir: 'db', name: 'db' }, index, { rebuilt: true, warnings: [] });
}

function graph(ecosystem: Ecosystem, names: string[]): DependencyGraph {
  const packages: Package[] = names.map((name) => ({
    id: `${name}@1.0.0`,
    ecosystem,
    name,
    version: '1.0.0',
    source:
      ecosystem === 'cargo'
        ? { kind: 'registry', url: 'https://github.com/rust-lang/crates.io-index', isDefaultRegistry: true }
        : { kind: 'registry', url: 'https://registry.npmjs.org/', isDefaultRegistry: true },
    checksum: null,
  }));
  return {
    ecosystem,
    path: ecosystem === 'cargo' ? 'Cargo.lock' : 'package-lock.json',
    format: 'test',
    packages,
    edges: [],
    roots: packages.map((p) => p.id),
  };
}

async function audit(ecosystem: Ecosystem, names: string[], advisories: Advisory[]): Promise<{ found: string[]; warnings: string[] }> {
  const db = database(advisories);
  try {
    const result = await runAudit({ graphs: [graph(ecosystem, names)], databases: [db], policy: POLICY, now: NOW });
    return { found: result.findings.map((f) => `${f.advisory.id} ${f.package.name}`).sort(), warnings: result.warnings };
  } finally {
    db.index.close();
  }
}

test('an npm advisory naming a package in capitals matches the lowercase package, with a warning', async () => {
  const { found, warnings } = await audit('npm', ['axios', 'left-pad'], record('GHSA-aaaa-bbbb-cccc', 'npm', 'Axios'));
  assert.deepEqual(found, ['GHSA-aaaa-bbbb-cccc axios']);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0] ?? '', /^advisory GHSA-aaaa-bbbb-cccc \(GHSA-aaaa-bbbb-cccc\.json in db\) names the npm package "Axios", .*capital letters.*matched to axios/);
});

test('npm names compare exactly otherwise: legacy packages with capitals are their own packages', async () => {
  // JSONStream and jsonstream are two packages on the registry.
  const legacy = record('GHSA-jjjj-ssss-oooo', 'npm', 'JSONStream');
  assert.deepEqual(await audit('npm', ['JSONStream'], legacy), { found: ['GHSA-jjjj-ssss-oooo JSONStream'], warnings: [] });
  // An advisory in capitals may mean the lowercase package: matched, and said so.
  const both = await audit('npm', ['JSONStream', 'jsonstream'], legacy);
  assert.deepEqual(both.found, ['GHSA-jjjj-ssss-oooo JSONStream', 'GHSA-jjjj-ssss-oooo jsonstream']);
  assert.equal(both.warnings.length, 1);
  // An advisory in lowercase names the lowercase package only.
  const lower = record('GHSA-llll-oooo-wwww', 'npm', 'jsonstream');
  assert.deepEqual(await audit('npm', ['JSONStream'], lower), { found: [], warnings: [] });
  assert.deepEqual(await audit('npm', ['Axios'], record('GHSA-aaaa-bbbb-cccc', 'npm', 'axios')), { found: [], warnings: [] });
});

test('a crate advisory matches whatever case and - or _ it spells the crate with, as crates.io does, with a warning', async () => {
  for (const spelling of ['Serde-JSON', 'serde-json', 'SERDE_JSON']) {
    const { found, warnings } = await audit('cargo', ['serde_json', 'serde'], record('RUSTSEC-2026-0001', 'crates.io', spelling));
    assert.deepEqual(found, ['RUSTSEC-2026-0001 serde_json'], spelling);
    assert.equal(warnings.length, 1, spelling);
    assert.match(warnings[0] ?? '', new RegExp(`names the crate "${spelling}": crates.io names are unique regardless of case`));
  }
  assert.deepEqual(await audit('cargo', ['serde_json'], record('RUSTSEC-2026-0001', 'crates.io', 'serde_json')), {
    found: ['RUSTSEC-2026-0001 serde_json'],
    warnings: [],
  });
});

test('an OSV entry without versions is taken to affect every version, and the match says so', async () => {
  const bare = parseOsvRecord(
    JSON.stringify({ id: 'GHSA-nnnn-oooo-vvvv', modified: '2026-01-01T00:00:00Z', affected: [{ package: { ecosystem: 'npm', name: 'left-pad' } }] }),
    'GHSA-nnnn-oooo-vvvv.json',
  );
  const { found, warnings } = await audit('npm', ['left-pad'], bare);
  assert.deepEqual(found, ['GHSA-nnnn-oooo-vvvv left-pad']);
  assert.deepEqual(warnings, [
    'advisory GHSA-nnnn-oooo-vvvv (GHSA-nnnn-oooo-vvvv.json in db): affected[0] (left-pad) gives no versions and no SEMVER or ECOSYSTEM range, so every version is taken as affected',
  ]);
});

test('the real GHSA-8hc4-vh64-cxmj ("Axios") fails the audit of a lockfile holding axios 1.7.2', () => {
  const app = tempDir('names-axios');
  writeFileSync(
    join(app, 'package-lock.json'),
    JSON.stringify({
      name: 'app',
      version: '1.0.0',
      lockfileVersion: 3,
      requires: true,
      packages: {
        '': { name: 'app', version: '1.0.0', dependencies: { axios: '1.7.2' } },
        'node_modules/axios': {
          version: '1.7.2',
          resolved: 'https://registry.npmjs.org/axios/-/axios-1.7.2.tgz',
          integrity: 'sha512-2A8QhOMrbomlDuiLeK9XibIBzuHeRcqqNOHp0Cyp5EoJ1IFDh+XZH3A6BkXtv0K4gFGCI0Y4BM7B1wOEi0Rmgw==',
        },
      },
    }),
  );
  const result = runCli(['audit', '--db', GHSA_NPM, '--max-db-age', '100000', '-f', 'json', join(app, 'package-lock.json')], {
    cacheDir: tempDir('names-axios-cache'),
  });
  assert.equal(result.status, 1, result.stderr);
  const report = auditReport(result.stdout);
  assert.deepEqual(
    report.findings.map((f) => `${f.advisory.id} ${f.package.name}`),
    ['GHSA-8hc4-vh64-cxmj axios'],
  );
  assert.ok(report.warnings.some((w) => w.includes('names the npm package "Axios"')), report.warnings.join('\n'));
});

test('lockfile name keys looked up by an ASCII name\'s bytes agree with the lookup by its key, and pass few other names', () => {
  // Advisory names, lockfile names, and those of the lockfile names the advisories name.
  const cases: [Ecosystem, string[], string[], string[]][] = [
    [
      'cargo',
      ['serde_json', 'Tokio', 'a'],
      ['serde_json', 'Serde-JSON', 'SERDE_json', 'serde-json', 'tokio', 'A', 'serde_jso', 'serde_json_', 'tokio-util', '', 'b'],
      ['serde_json', 'Serde-JSON', 'SERDE_json', 'serde-json', 'tokio', 'A'],
    ],
    ['npm', ['Axios', 'JSONStream', '@scope/pkg'], ['axios', 'Axios', 'AXIOS', 'JSONStream', 'jsonstream', '@scope/pkg', '@Scope/pkg', 'axio', ''], ['axios', 'Axios', 'JSONStream', 'jsonstream', '@scope/pkg']],
  ];
  for (const [ecosystem, advisoryNames, names, expected] of cases) {
    const keys = new LockfileNameKeys(ecosystem, new Set(advisoryNames.flatMap((n) => advisoryNameKeys(ecosystem, n))));
    assert.deepEqual(names.filter((name) => keys.has(name)), expected, ecosystem);
    // Within other bytes, as a graph kept as bytes holds its names.
    const passed = names.filter((name) => keys.mayHaveAscii(Buffer.from(`..${name}.`, 'latin1'), 2, 2 + name.length));
    for (const name of expected) assert.ok(passed.includes(name), `${ecosystem} ${name}`);
    // Names it has no key for are mostly told apart by their bytes alone.
    let others = 0;
    for (let i = 0; i < 2000; i++) {
      const name = `other-${i}`;
      assert.equal(keys.has(name), false);
      if (keys.mayHaveAscii(Buffer.from(name, 'latin1'), 0, name.length)) others++;
    }
    assert.ok(others < 20, `${ecosystem}: ${others} of 2000 other names passed`);
  }
});
