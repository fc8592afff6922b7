import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openDatabase, type AdvisoryDatabase } from '../../src/advisories/database.js';
import { parseDatabaseSpec } from '../../src/advisories/source.js';
import { runAudit } from '../../src/audit/audit.js';
import { findingJson } from '../../src/audit/report/json.js';
import { DEFAULT_POLICY } from '../../src/audit/policy.js';
import type { DependencyGraph } from '../../src/core/graph.js';
import { readApplication } from '../../src/inputs/application.js';
import { decodeGraphs, encodeGraphs } from '../../src/fleet/revision.js';
import { ADVISORY_DB_BUNDLE, CARGO_CORPUS, GHSA_NPM, NPM_CORPUS, corpusFiles, tempDir } from '../support/shared.js';

const NOW = new Date('2026-08-22T00:00:00Z');
const POLICY = { ...DEFAULT_POLICY, maxDatabaseAgeDays: 100_000 };
const PARTS = 3;

/**
 * The fleet replaces an application's findings for the package names an advisory change
 * touched by an audit restricted to those names: that is exact only if the restricted audits
 * of a partition of the names add up to the full audit, finding for finding (paths included,
 * which must still be computed on the whole graph).
 */
async function assertPartitionAddsUp(graphs: DependencyGraph[], databases: AdvisoryDatabase[], spell: (name: string) => string): Promise<number> {
  const full = (await runAudit({ graphs, databases, policy: POLICY, now: NOW })).findings.map((f) => JSON.stringify(findingJson(f)));
  const names = [...new Set(graphs.flatMap((g) => g.packages.map((p) => p.name)))].sort();
  const ecosystem = graphs[0]?.ecosystem ?? 'cargo';
  const union: string[] = [];
  for (let part = 0; part < PARTS; part++) {
    // Named as an advisory may spell them: the restriction compares names as matching does.
    const only = new Set(names.filter((_, i) => i % PARTS === part).map(spell));
    const restricted = await runAudit({ graphs, databases, policy: POLICY, now: NOW, onlyNames: { [ecosystem]: only } });
    union.push(...restricted.findings.map((f) => JSON.stringify(findingJson(f))));
  }
  assert.deepEqual([...union].sort(), [...full].sort());
  return full.length;
}

test('restricted audits of a partition of the package names add up to the full audit (every shared Cargo lockfile)', async () => {
  const cacheRoot = tempDir('only-names');
  const db = await openDatabase(parseDatabaseSpec(ADVISORY_DB_BUNDLE), { cacheRoot, fetch: 'auto' });
  try {
    let findings = 0;
    for (const file of corpusFiles(CARGO_CORPUS, '.Cargo.lock')) {
      const { graphs } = await readApplication([file]);
      // crates.io names compare regardless of case and of `-` against `_`.
      findings += await assertPartitionAddsUp(graphs, [db], (name) => name.toUpperCase().replace(/_/g, '-'));
    }
    assert.ok(findings > 500, `${findings} findings: not a vacuous agreement`);
  } finally {
    db.index.close();
  }
});

test('a restricted audit of graphs decoded read only (as fleet sync does) finds the same, reading only the packages named', async () => {
  const cacheRoot = tempDir('only-names-decoded');
  const db = await openDatabase(parseDatabaseSpec(ADVISORY_DB_BUNDLE), { cacheRoot, fetch: 'auto' });
  try {
    let findings = 0;
    for (const file of corpusFiles(CARGO_CORPUS, '.Cargo.lock')) {
      const { graphs } = await readApplication([file]);
      const names = [...new Set(graphs.flatMap((g) => g.packages.map((p) => p.name)))].sort();
      for (let part = 0; part < PARTS; part++) {
        const only = { cargo: new Set(names.filter((_, i) => i % PARTS === part).map((name) => name.toUpperCase().replace(/_/g, '-'))) };
        const decoded = decodeGraphs(encodeGraphs(graphs), { readOnly: true });
        const restricted = await runAudit({ graphs: decoded, databases: [db], policy: POLICY, now: NOW, onlyNames: only });
        const expected = await runAudit({ graphs, databases: [db], policy: POLICY, now: NOW, onlyNames: only });
        // The whole finding as the store keeps it (its package object, paths, order), and the targets' counts.
        assert.equal(JSON.stringify(restricted.findings), JSON.stringify(expected.findings), file);
        assert.deepEqual(restricted.targets, expected.targets, file);
        findings += restricted.findings.length;
        // The package list itself was never made: the packages were read as rows, by name.
        for (const graph of decoded) assert.ok(Object.getOwnPropertyDescriptor(graph, 'packages')?.get !== undefined, file);
      }
    }
    assert.ok(findings > 500, `${findings} findings: not a vacuous agreement`);
  } finally {
    db.index.close();
  }
});

test('restricted audits add up on real npm lockfiles against GitHub advisories', async () => {
  const cacheRoot = tempDir('only-names-npm');
  const db = await openDatabase(parseDatabaseSpec(GHSA_NPM), { cacheRoot, fetch: 'auto' });
  try {
    let findings = 0;
    for (const file of corpusFiles(NPM_CORPUS, '.package-lock.json')) {
      const { graphs } = await readApplication([file]);
      findings += await assertPartitionAddsUp(graphs, [db], (name) => name);
    }
    assert.ok(findings > 20, `${findings} findings`);
  } finally {
    db.index.close();
  }
});

test('an ecosystem left out of the restriction matches nothing, and an empty restriction finds nothing', async () => {
  const cacheRoot = tempDir('only-names-none');
  const db = await openDatabase(parseDatabaseSpec(ADVISORY_DB_BUNDLE), { cacheRoot, fetch: 'auto' });
  try {
    const [file] = corpusFiles(CARGO_CORPUS, 'kanidm-2020-08-01.Cargo.lock');
    const { graphs } = await readApplication([file as string]);
    const full = await runAudit({ graphs, databases: [db], policy: POLICY, now: NOW });
    assert.ok(full.findings.length > 0);
    const other = await runAudit({ graphs, databases: [db], policy: POLICY, now: NOW, onlyNames: { npm: new Set(['time']) } });
    assert.deepEqual(other.findings, []);
    const one = full.findings[0]?.package.name as string;
    const restricted = await runAudit({ graphs, databases: [db], policy: POLICY, now: NOW, onlyNames: { cargo: new Set([one]) } });
    assert.deepEqual(
      restricted.findings.map((f) => `${f.package.name} ${f.advisory.id}`),
      full.findings.filter((f) => f.package.name === one).map((f) => `${f.package.name} ${f.advisory.id}`),
    );
  } finally {
    db.index.close();
  }
});
