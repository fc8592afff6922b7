import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { exportApplication } from '../../src/fleet/export.js';
import { openFleetStore } from '../../src/fleet/store/open-store.js';
import type { CycloneDxBom } from '../../src/sbom/cyclonedx.js';
import type { SpdxDocument } from '../../src/sbom/spdx.js';
import { auditReport } from '../support/audit-report.js';
import { freshStore, storeSkips, STORE_KINDS, type TestStore } from '../support/fleet-stores.js';
import { cycloneDx16Validator, spdx23Validator } from '../support/json-schema.js';
import { advisoryDbCheckout, CARGO_CORPUS, runCli, tempDir } from '../support/shared.js';

/**
 * `fleet export`: the SBOMs of a stored revision are what `stowage sbom` writes for the same
 * files (components and all), valid against the official schemas; the VEX states the
 * revision's vulnerabilities as `stowage audit` finds them, each with the triage decision in
 * force (and only while it is in force).
 */

const cacheDir = tempDir('fleet-export-cache');
const RUSTSEC = advisoryDbCheckout();
const validateCycloneDx = cycloneDx16Validator();
const validateSpdx = spdx23Validator();

/** An application directory holding one corpus lockfile and its manifest. */
function appDir(parent: string, dir: string, corpusName: string): string {
  const path = join(parent, dir);
  mkdirSync(path, { recursive: true });
  copyFileSync(join(CARGO_CORPUS, `${corpusName}.Cargo.lock`), join(path, 'Cargo.lock'));
  copyFileSync(join(CARGO_CORPUS, `${corpusName}.Cargo.toml`), join(path, 'Cargo.toml'));
  return path;
}

const skips = await storeSkips();

function fleetCli(store: TestStore) {
  return (...args: string[]) => runCli(['fleet', ...args, '--store', store.store], { cacheDir });
}

/** What `stowage sbom` writes for the directory (no licences: the fleet keeps none). */
function sbomOf(dir: string, format: 'cyclonedx' | 'spdx'): unknown {
  const r = runCli(['sbom', dir, '--format', format, '--no-licenses'], { cacheDir });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

for (const kind of STORE_KINDS) {
  test(`export: the revision's SBOMs and its VEX with the decisions in force, valid CycloneDX 1.6 and SPDX 2.3 (${kind})`, { skip: skips[kind] }, async () => {
    const store = await freshStore(kind);
    const dir = tempDir('fleet-export-apps');
    try {
      const fleet = fleetCli(store);
      const ripgrep = appDir(dir, 'ripgrep', 'ripgrep-2023-09-01');
      assert.equal(fleet('init', '--db', RUSTSEC).status, 0);
      const added = fleet('add', ripgrep);
      assert.ok(added.status === 0 || added.status === 1, added.stderr);

      // The SBOMs: the same components and packages `stowage sbom` writes for these files.
      const cdx = fleet('export', 'ripgrep', '--format', 'cyclonedx');
      assert.equal(cdx.status, 0, cdx.stderr);
      const bom = JSON.parse(cdx.stdout) as CycloneDxBom;
      validateCycloneDx(bom);
      const reference = sbomOf(ripgrep, 'cyclonedx') as CycloneDxBom;
      assert.ok(bom.components.length > 20);
      assert.deepEqual(bom.components, reference.components);
      assert.deepEqual([bom.metadata.component.name, bom.metadata.component.version], [reference.metadata.component.name, reference.metadata.component.version]);
      assert.equal(bom.vulnerabilities, undefined, 'an SBOM, not a VEX');
      assert.equal(fleet('export', 'ripgrep', '--format', 'cyclonedx').stdout, cdx.stdout, 'a revision exports the same bytes every time');
      const spdxOut = fleet('export', 'ripgrep', '--format', 'spdx');
      assert.equal(spdxOut.status, 0, spdxOut.stderr);
      const doc = JSON.parse(spdxOut.stdout) as SpdxDocument;
      validateSpdx(doc);
      const spdxReference = sbomOf(ripgrep, 'spdx') as SpdxDocument;
      const libraries = (d: SpdxDocument) => d.packages.filter((p) => p.primaryPackagePurpose !== 'APPLICATION');
      assert.deepEqual(libraries(doc), libraries(spdxReference));

      // A second application with many vulnerabilities, to triage.
      const kanidm = appDir(dir, 'kanidm', 'kanidm-2023-08-01');
      assert.equal(fleet('add', kanidm).status, 1);
      const audit = runCli(['audit', kanidm, '--db', RUSTSEC, '--format', 'json'], { cacheDir });
      assert.equal(audit.status, 1, audit.stderr);
      const vulnerabilities = auditReport(audit.stdout).findings.filter((f) => f.advisory.kind === 'vulnerability');
      const ids = [...new Set(vulnerabilities.map((f) => f.advisory.id))].sort();
      assert.ok(ids.length >= 3, ids.join(', '));
      const [decided, lapsed] = ids as [string, string];
      assert.equal(
        fleet('triage', 'kanidm', decided, '--state', 'not_affected', '--justification', 'code_not_reachable', '--reason', 'the code is never called', '--by', 'alice').status,
        0,
      );
      assert.equal(fleet('triage', '--all', lapsed, '--state', 'false_positive', '--justification', 'code_not_present', '--reason', 'was true once', '--expires', '2000-01-01').status, 0);

      const vexFile = join(dir, 'kanidm.vex.cdx.json');
      const vexRun = fleet('export', 'kanidm', '--format', 'vex', '--output', vexFile);
      assert.equal(vexRun.status, 0, vexRun.stderr);
      assert.equal(vexRun.stdout, '');
      const vex = JSON.parse(readFileSync(vexFile, 'utf8')) as CycloneDxBom;
      validateCycloneDx(vex);
      const stated = vex.vulnerabilities ?? [];
      assert.deepEqual([...new Set(stated.map((v) => v.id))].sort(), ids, 'every vulnerability the audit finds, and only those');
      // Every affected package the audit names is among the entries' affects.
      const affects = new Set(stated.flatMap((v) => v.affects.map((a) => `${v.id} ${a.versions[0].version}`)));
      for (const f of vulnerabilities) assert.ok(affects.has(`${f.advisory.id} ${f.package.version}`), `${f.advisory.id} ${f.package.name} ${f.package.version}`);
      for (const v of stated) {
        if (v.id === decided) {
          assert.equal(v.analysis.state, 'not_affected');
          assert.equal(v.analysis.justification, 'code_not_reachable');
          assert.match(v.analysis.detail ?? '', /^the code is never called \(decided by alice on \d{4}-\d{2}-\d{2}T[\d:]+Z, for this application\)$/);
          assert.match(v.analysis.firstIssued ?? '', /^\d{4}-\d{2}-\d{2}T/);
        } else {
          // The fleet-wide decision has expired: the finding is open again, as if never triaged.
          assert.equal(v.analysis.state, 'in_triage', v.id);
          assert.equal(v.analysis.justification, undefined);
        }
      }
      // --revision: a past revision exports what it held, not the current one's.
      const firstRevision = (JSON.parse(fleet('show', 'ripgrep', '--format', 'json').stdout) as { apps: { revision: string }[] }).apps[0]?.revision as string;
      appDir(dir, 'ripgrep', 'ripgrep-2021-09-01');
      assert.ok([0, 1].includes(fleet('add', ripgrep).status));
      const past = JSON.parse(fleet('export', 'ripgrep', '--format', 'cyclonedx', '--revision', firstRevision.slice(0, 7 + 12)).stdout) as CycloneDxBom;
      const later = JSON.parse(fleet('export', 'ripgrep', '--format', 'cyclonedx').stdout) as CycloneDxBom;
      assert.deepEqual(past.components, reference.components);
      assert.deepEqual(later.components, (sbomOf(ripgrep, 'cyclonedx') as CycloneDxBom).components);
      assert.notDeepEqual(past.components, later.components);

      // Bad input: one line, exit 2, nothing written.
      const refusals: [string[], RegExp][] = [
        [['export', 'nope', '--format', 'vex'], /no application named "nope"/],
        [['export', 'kanidm', '--format', 'vex', '--revision', 'abcdefabcdef'], /has no revision abcdefabcdef/],
        [['export', 'kanidm', '--format', 'pdf'], /--format/],
        [['export', 'kanidm'], /--format/],
      ];
      for (const [args, message] of refusals) {
        const r = fleet(...args);
        assert.equal(r.status, 2, args.join(' '));
        assert.match(r.stderr, message, args.join(' '));
        assert.equal(r.stdout, '');
      }
      // --output: replaces a regular file whole; refuses a symbolic link, leaving what it points to untouched.
      writeFileSync(vexFile, 'old');
      assert.equal(fleet('export', 'kanidm', '--format', 'spdx', '--output', vexFile).status, 0);
      validateSpdx(JSON.parse(readFileSync(vexFile, 'utf8')) as SpdxDocument);
      const target = join(dir, 'target.txt');
      writeFileSync(target, 'keep');
      const link = join(dir, 'link.json');
      symlinkSync(target, link);
      const refused = fleet('export', 'kanidm', '--format', 'vex', '--output', link);
      assert.equal(refused.status, 2);
      assert.match(refused.stderr, /symbolic link/);
      assert.equal(readFileSync(target, 'utf8'), 'keep');
      assert.deepEqual(readdirSync(dir).filter((f) => f.endsWith('.tmp')), [], 'no temporary file left');
      assert.ok(!existsSync(join(dir, 'nope.json')));
    } finally {
      await store.dispose();
    }
  });
}

test('export: a decision is stated while in force, and no longer once it has expired (the clock the server passes)', async () => {
  const store = await freshStore('sqlite');
  const dir = tempDir('fleet-export-expiry');
  try {
    const fleet = fleetCli(store);
    assert.equal(fleet('init', '--db', RUSTSEC).status, 0);
    assert.equal(fleet('add', appDir(dir, 'kanidm', 'kanidm-2023-08-01')).status, 1);
    const id = 'RUSTSEC-2024-0421';
    assert.equal(fleet('triage', 'kanidm', id, '--state', 'resolved', '--reason', 'patched downstream', '--expires', '2099-12-10', '--by', 'bob').status, 0);
    const opened = await openFleetStore(store.store);
    try {
      const stateOn = async (day: string): Promise<string[]> => {
        const vex = JSON.parse(await exportApplication(opened, 'kanidm', 'vex', { now: new Date(`${day}T12:00:00Z`) })) as CycloneDxBom;
        assert.equal(vex.metadata.timestamp, `${day}T12:00:00Z`, 'the VEX is dated when it is stated');
        return [...new Set((vex.vulnerabilities ?? []).filter((v) => v.id === id).map((v) => v.analysis.state))];
      };
      assert.deepEqual(await stateOn('2099-12-10'), ['resolved'], 'the last day it holds');
      assert.deepEqual(await stateOn('2099-12-11'), ['in_triage'], 'expired');
      await assert.rejects(exportApplication(opened, 'kanidm', 'html' as 'vex', { now: new Date() }), /format "html"/);
    } finally {
      await opened.close();
    }
  } finally {
    await store.dispose();
  }
});
