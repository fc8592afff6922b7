import { execFileSync } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { auditReport } from '../support/audit-report.js';
import { ADVISORY_DB_BUNDLE, GHSA_NPM, runCli, tempDir } from '../support/shared.js';
import { buildRpm, realRustBinary } from '../support/shipped-artifacts.js';

/**
 * An RPM's bundled provides name the version bundled only as `= VERSION`. rpmbuild accepts a
 * ranged one as readily (`Provides: bundled(npm(minimist)) >= 1.2.6`, rpm -q --provides shows it
 * so): that names no version, and was audited as if 1.2.6, the fixed release, were bundled. It is
 * named in a warning as not audited, as a provide without a version is, and that warning is
 * given even when no exactly versioned provide stands beside it.
 */

const cacheDir = tempDir('audit-rpm-ranged-cache');

function audit(path: string, ...extra: string[]): { status: number; stdout: string; stderr: string } {
  return runCli(['audit', path, '--db', ADVISORY_DB_BUNDLE, '--db', GHSA_NPM, '--format', 'json', ...extra], { cacheDir });
}

function rpmWithProvides(provides: string[]): string {
  const top = tempDir('audit-rpm-ranged');
  const spec = ['Name: ranged', 'Version: 1.0', 'Release: 1', 'Summary: test package', 'License: MIT', 'BuildArch: noarch', ...provides.map((p) => `Provides: ${p}`),
    '%description', 'test package', '%install', 'mkdir -p %{buildroot}/usr/share/ranged && echo doc > %{buildroot}/usr/share/ranged/README', '%files', '/usr/share/ranged/README', ''];
  writeFileSync(join(top, 'ranged.spec'), spec.join('\n'));
  execFileSync('rpmbuild', ['-bb', '--nodeps', '--define', `_topdir ${top}`, join(top, 'ranged.spec')], { stdio: 'ignore' });
  const dir = join(top, 'RPMS', 'noarch');
  return join(dir, readdirSync(dir)[0] as string);
}

test('a ranged bundled provide (>= VERSION) names no version bundled: not audited as that version, named in a warning', () => {
  const rpm = rpmWithProvides(['bundled(crate(time)) = 0.3.9', 'bundled(npm(minimist)) >= 1.2.6', 'bundled(crate(atty)) <= 0.2.14']);
  const run = audit(rpm);
  // time 0.3.9: RUSTSEC-2026-0009.
  assert.equal(run.status, 1, run.stderr);
  const report = auditReport(run.stdout);
  assert.deepEqual(report.targets.map((t) => [t.path, t.ecosystem, t.packages]), [[rpm, 'cargo', 2]]);
  assert.deepEqual(report.findings.map((f) => `${f.advisory.id} ${f.package.name}@${f.package.version}`), ['RUSTSEC-2026-0009 time@0.3.9']);
  assert.ok(
    report.warnings.some((w) => w.includes('not audited') && w.includes('bundled(npm(minimist)) >= 1.2.6') && w.includes('bundled(crate(atty)) <= 0.2.14')),
    JSON.stringify(report.warnings),
  );
});

test('a bundled provide without a version beside a Rust binary, and no versioned provide: still named as not audited', () => {
  const rpm = buildRpm({ provides: ['bundled(npm(minimist))'], binary: realRustBinary(), payload: 'xz' });
  const run = audit(rpm, '--allow-partial');
  assert.ok(run.status === 0 || run.status === 1, run.stderr);
  const report = auditReport(run.stdout);
  assert.deepEqual(report.targets.map((t) => t.path), [`${rpm}:usr/bin/tool`]);
  assert.ok(report.warnings.some((w) => w.includes('not audited') && w.includes('bundled(npm(minimist))')), JSON.stringify(report.warnings));
});
