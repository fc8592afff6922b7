import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { auditReport, type AuditReport } from '../support/audit-report.js';
import { GHSA_NPM, runCli, tempDir } from '../support/shared.js';

/**
 * An installed node_modules given itself (`stowage audit app/node_modules`, as the README offers):
 * its top-level directories are the packages node loads. They were read only when the tree
 * held a `node_modules` segment of its own, so the audit read nothing but the nested
 * node_modules, each as an application of its own, and passed with minimist 0.0.8 (two advisories
 * in the GHSA data) unread at the top; with no nested one it was refused as holding no node_modules.
 */

const cacheDir = tempDir('audit-node-modules-given-cache');
const json = (value: unknown): string => JSON.stringify(value);

function audit(path: string): { status: number; stdout: string; stderr: string } {
  return runCli(['audit', path, '--db', GHSA_NPM, '--format', 'json'], { cacheDir });
}

function writeTree(root: string, files: Record<string, string>): void {
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), text);
  }
}

const findings = (report: AuditReport): string[] => report.findings.map((f) => `${f.advisory.id} ${f.package.name}@${f.package.version} ${f.paths.map((p) => p.slice(1).join(' > ')).join(', ')}`).sort();

test('a node_modules directory given itself: its top-level packages are audited, with their nested ones, as one application', () => {
  const root = tempDir('audit-node-modules-given');
  writeTree(root, {
    'app/node_modules/minimist/package.json': json({ name: 'minimist', version: '0.0.8' }),
    'app/node_modules/left-pad/package.json': json({ name: 'left-pad', version: '1.1.0', dependencies: { minimist: '0.0.8' } }),
    'app/node_modules/left-pad/node_modules/wrappy/package.json': json({ name: 'wrappy', version: '1.0.2' }),
  });
  const expected = ['GHSA-vh95-rmgr-6w4m minimist@0.0.8 minimist@0.0.8, left-pad@1.1.0 > minimist@0.0.8', 'GHSA-xvch-5gv4-984h minimist@0.0.8 minimist@0.0.8, left-pad@1.1.0 > minimist@0.0.8'];
  const given = audit(join(root, 'app', 'node_modules'));
  assert.equal(given.status, 1, given.stderr);
  const report = auditReport(given.stdout);
  assert.deepEqual(findings(report), expected);
  // The root, minimist, left-pad and wrappy: one application, as when its parent is given.
  assert.deepEqual(report.targets.map((t) => t.packages), [4]);

  const parent = audit(join(root, 'app'));
  assert.equal(parent.status, 1, parent.stderr);
  assert.deepEqual(findings(auditReport(parent.stdout)), expected);
});

test('a node_modules directory given itself, holding only top-level packages: audited, not refused as holding no node_modules', () => {
  const root = tempDir('audit-node-modules-given-flat');
  writeTree(root, { 'node_modules/minimist/package.json': json({ name: 'minimist', version: '0.0.8' }) });
  const run = audit(join(root, 'node_modules'));
  assert.equal(run.status, 1, run.stderr);
  assert.deepEqual(
    auditReport(run.stdout).findings.map((f) => f.advisory.id).sort(),
    ['GHSA-vh95-rmgr-6w4m', 'GHSA-xvch-5gv4-984h'],
  );
});
