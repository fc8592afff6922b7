import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { rustsecAdvisoryDb } from '../support/advisory-fixtures.js';
import { ADVISORY_ID, VULNERABLE, cargoLock } from '../support/campaign-fleet.js';
import type { FleetApps } from '../support/fleet-report.js';
import { runCli, tempDir } from '../support/shared.js';

/**
 * `fleet status` reads, triages and writes its applications a page at a time (a fleet of 10,000
 * is more JSON than one string may hold). Over more applications than a page (200), the output is
 * still one document: every application once, in name order, each as `fleet show` has it.
 */
test('fleet status over several pages of applications: one JSON document and one listing, each application once, in order', () => {
  const root = tempDir('fleet-status-pages');
  const cacheDir = tempDir('fleet-status-pages-cache');
  const db = rustsecAdvisoryDb(join(root, 'db'), [{ id: ADVISORY_ID, package: VULNERABLE.name, patched: [`>= ${VULNERABLE.to}`] }]);
  const store = join(root, 'fleet.sqlite');
  const fleet = (...args: string[]) => runCli(['fleet', ...args, '--store', store], { cacheDir });
  assert.equal(fleet('init', '--db', db).status, 0);
  // 450 applications, every third one on the patched version; names whose code-point order is not their numeric order.
  const names = Array.from({ length: 450 }, (_, i) => `app-${i}`);
  const list = names.map((name, i) => {
    const file = join(root, `${name}.Cargo.lock`);
    writeFileSync(file, cargoLock(name, i % 3 === 0 ? VULNERABLE.to : VULNERABLE.from));
    return file;
  });
  writeFileSync(join(root, 'list.txt'), list.join('\n') + '\n');
  const added = fleet('add', '--from-file', join(root, 'list.txt'));
  assert.equal(added.status, 1, added.stderr);
  // One triage decision: it applies on every page it concerns.
  assert.equal(fleet('triage', 'app-449', ADVISORY_ID, '--state', 'not_affected', '--justification', 'code_not_reachable', '--reason', 'unused', '--by', 't').status, 0);

  const status = fleet('status', '--format', 'json');
  assert.equal(status.status, 1, status.stderr);
  const json = JSON.parse(status.stdout) as FleetApps & { apps: { triage: unknown[] }[] };
  const sorted = [...names].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  assert.deepEqual(json.apps.map((a) => a.name), sorted);
  assert.equal(status.stdout, `${JSON.stringify(json, null, 2)}\n`, 'the pieces are the whole, as JSON.stringify writes it');
  // Applications at the edges of the pages, as `fleet show` has them.
  for (const at of [0, 199, 200, 201, 399, 400, 449]) {
    const name = sorted[at] as string;
    const shown = JSON.parse(fleet('show', name, '--format', 'json').stdout) as FleetApps & { apps: { warnings?: string[] }[] };
    // `fleet show` also gives the revision's lockfile warnings, which `fleet status` leaves to it.
    const { warnings, ...element } = shown.apps[0] ?? { warnings: undefined };
    assert.deepEqual(warnings, [], name);
    assert.deepEqual(json.apps[at], element, name);
  }
  const failing = json.apps.flatMap((a) => a.findings).filter((f) => f.failsPolicy).length;
  assert.equal(failing, names.filter((_, i) => i % 3 !== 0).length - 1, 'every vulnerable application fails but the triaged one');

  const human = fleet('status');
  assert.equal(human.status, 1);
  const lines = human.stdout.split('\n');
  assert.deepEqual(lines.filter((l) => l.startsWith('app-')).map((l) => l.split(' ')[0]), sorted);
  assert.equal(lines.at(-2), `result: FAIL, ${failing} findings fail the policy`);
});

/**
 * `fleet status`'s text reads each finding's columns (not its row): a finding its policy
 * ignores (stowage.toml), one a settled triage decision ignores, and failing ones, each with
 * its state, as the JSON has them.
 */
test('fleet status text: policy ignores, triage and failing findings, as the JSON states them', () => {
  const root = tempDir('fleet-status-lines');
  const cacheDir = tempDir('fleet-status-lines-cache');
  const db = rustsecAdvisoryDb(join(root, 'db'), [{ id: ADVISORY_ID, package: VULNERABLE.name, patched: [`>= ${VULNERABLE.to}`] }]);
  const store = join(root, 'fleet.sqlite');
  const fleet = (...args: string[]) => runCli(['fleet', ...args, '--store', store], { cacheDir });
  assert.equal(fleet('init', '--db', db).status, 0);
  const paths: string[] = [];
  for (const name of ['failing', 'policy-ignored', 'triaged', 'patched']) {
    const dir = join(root, name);
    mkdirSync(dir);
    writeFileSync(join(dir, 'Cargo.lock'), cargoLock(name, name === 'patched' ? VULNERABLE.to : VULNERABLE.from));
    if (name === 'policy-ignored') writeFileSync(join(dir, 'stowage.toml'), `[[audit.ignore]]\nid = "${ADVISORY_ID}"\nreason = "not reachable"\n`);
    paths.push(dir);
  }
  assert.equal(fleet('add', ...paths).status, 1);
  assert.equal(fleet('triage', 'triaged', ADVISORY_ID, '--state', 'false_positive', '--justification', 'code_not_reachable', '--reason', 'no', '--by', 't').status, 0);
  const json = JSON.parse(fleet('status', '--format', 'json').stdout) as FleetApps & { apps: { revision: string; seq: number }[] };
  const text = fleet('status');
  assert.equal(text.status, 1);
  const expected = json.apps.flatMap((a) => [
    `${a.name}  ${a.revision.slice(0, 19)} (revision ${a.seq})  ${a.findings.length === 0 ? 'no advisories apply' : `${a.findings.length} finding${a.findings.some((f) => f.failsPolicy) ? ', 1 failing' : ''}`}`,
    ...a.findings.map((f) => `  ${f.failsPolicy ? 'error' : f.ignored ? 'ignored' : 'warning'}: ${f.advisory.id} ${f.package.name} ${f.package.version} (${f.advisory.kind})`),
  ]);
  assert.deepEqual(text.stdout.split('\n').slice(0, -2), expected);
  const state = (app: string): string | undefined => text.stdout.split('\n')[text.stdout.split('\n').findIndex((l) => l.startsWith(`${app} `)) + 1]?.split(':')[0];
  assert.deepEqual(['failing', 'policy-ignored', 'triaged'].map(state), ['  error', '  ignored', '  ignored']);
  assert.equal(text.stdout.split('\n').at(-2), 'result: FAIL, 1 finding fails the policy');
});
