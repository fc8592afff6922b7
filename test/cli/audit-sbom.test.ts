import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { auditReport, type AuditReport } from '../support/audit-report.js';
import { ADVISORY_DB_BUNDLE, CARGO_CORPUS, runCli, tempDir } from '../support/shared.js';

const cacheDir = tempDir('audit-sbom-cache');

const summary = (r: AuditReport): string[] => r.findings.map((f) => `${f.advisory.id} ${f.package.name}@${f.package.version}`).sort();

test('an SBOM is audited again without the source: the same findings as the lockfile it was made from', () => {
  const app = tempDir('audit-sbom-app');
  copyFileSync(join(CARGO_CORPUS, 'ripgrep-2024-09-01.Cargo.lock'), join(app, 'Cargo.lock'));
  copyFileSync(join(CARGO_CORPUS, 'ripgrep-2024-09-01.Cargo.toml'), join(app, 'Cargo.toml'));
  const bom = join(tempDir('audit-sbom-out'), 'ripgrep.cdx.json');
  const made = runCli(['sbom', app, '--no-licenses', '-o', bom], { cacheDir });
  assert.equal(made.status, 0, made.stderr);

  const fromLock = runCli(['audit', app, '--db', ADVISORY_DB_BUNDLE, '--format', 'json'], { cacheDir });
  const fromSbom = runCli(['audit', bom, '--db', ADVISORY_DB_BUNDLE, '--format', 'json'], { cacheDir });
  assert.equal(fromSbom.status, fromLock.status, fromSbom.stderr);
  const lockReport = auditReport(fromLock.stdout);
  const sbomReport = auditReport(fromSbom.stdout);
  assert.ok(lockReport.findings.length > 0, 'ripgrep 2024-09 has findings to compare');
  assert.deepEqual(summary(sbomReport), summary(lockReport));
  assert.deepEqual(sbomReport.targets.map((t) => [t.ecosystem, t.format]), [['cargo', 'CycloneDX 1.6 SBOM']]);
  for (const f of sbomReport.findings) assert.equal(f.paths[0]?.[0], 'ripgrep@14.1.0', 'paths start at the application');
});

test('a file that is neither a lockfile nor an SBOM, and an SBOM without packages, are refused clearly', () => {
  const dir = tempDir('audit-sbom-bad');
  const other = join(dir, 'data.json');
  writeFileSync(other, '{"hello": "world"}');
  const r1 = runCli(['audit', other, '--db', ADVISORY_DB_BUNDLE], { cacheDir });
  assert.equal(r1.status, 2);
  assert.match(r1.stderr, /data\.json: not a lockfile stowage reads/);
  const empty = join(dir, 'empty.cdx.json');
  writeFileSync(empty, '{"bomFormat": "CycloneDX", "specVersion": "1.6", "components": [{"type": "operating-system", "name": "debian", "purl": "pkg:generic/debian@12"}]}');
  const r2 = runCli(['audit', empty, '--db', ADVISORY_DB_BUNDLE], { cacheDir });
  assert.equal(r2.status, 2);
  assert.match(r2.stderr, /empty\.cdx\.json: the SBOM names no Cargo or npm package/);
});
