import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
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
    const shown = JSON.parse(fleet('show', name, '--format', 'json').stdout) as FleetApps;
    assert.deepEqual(json.apps[at], shown.apps[0], name);
  }
  const failing = json.apps.flatMap((a) => a.findings).filter((f) => f.failsPolicy).length;
  assert.equal(failing, names.filter((_, i) => i % 3 !== 0).length - 1, 'every vulnerable application fails but the triaged one');

  const human = fleet('status');
  assert.equal(human.status, 1);
  const lines = human.stdout.split('\n');
  assert.deepEqual(lines.filter((l) => l.startsWith('app-')).map((l) => l.split(' ')[0]), sorted);
  assert.equal(lines.at(-2), `result: FAIL, ${failing} findings fail the policy`);
});
