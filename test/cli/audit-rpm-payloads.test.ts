import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { auditReport } from '../support/audit-report.js';
import { GHSA_NPM, runCli, tempDir } from '../support/shared.js';
import { buildRpm } from '../support/shipped-artifacts.js';

/**
 * An RPM whose payload rpmbuild left uncompressed (`_binary_payload w0.ufdio`): rpmbuild writes
 * no PAYLOADCOMPRESSOR tag, and rpm 4.18 installs it (`rpm -i`, rpm2cpio), opening the payload
 * as gzip through zlib, which reads bytes without gzip's magic as they are. It was refused as
 * corrupt gzip data. Its node_modules holds minimist 0.0.8 (two GHSA advisories) at a second
 * name too, by a hard link, whose bytes cpio carries with the last name only: the first name
 * was read as an empty file and passed over.
 */

const cacheDir = tempDir('audit-rpm-payloads-cache');

test('an RPM with an uncompressed payload and no PAYLOADCOMPRESSOR tag is read as rpm reads it, each name of a hard link included', () => {
  const rpm = buildRpm({
    provides: [],
    binary: null,
    payload: 'none',
    install: [
      'mkdir -p %{buildroot}/usr/lib/node_modules/minimist %{buildroot}/usr/lib/node_modules/mm2',
      `echo '{"name":"minimist","version":"0.0.8"}' > %{buildroot}/usr/lib/node_modules/minimist/package.json`,
      'ln %{buildroot}/usr/lib/node_modules/minimist/package.json %{buildroot}/usr/lib/node_modules/mm2/package.json',
    ],
    files: ['/usr/lib/node_modules'],
  });
  assert.equal(execFileSync('rpm', ['-qp', '--qf', '%{PAYLOADCOMPRESSOR}', rpm], { encoding: 'utf8' }), '(none)');
  const out = runCli(['audit', rpm, '--db', GHSA_NPM, '--format', 'json'], { cacheDir });
  assert.equal(out.status, 1, out.stderr);
  const report = auditReport(out.stdout);
  // Each installed copy is a finding of its own: node loads minimist at both names.
  const findings = report.findings.map((f) => `${f.target} ${f.advisory.id} ${f.package.name}@${f.package.version}`).sort();
  assert.equal(findings.length, 4, findings.join('\n'));
  assert.ok(findings.every((f) => f.startsWith(`${rpm}:usr/lib/node_modules GHSA-`) && f.endsWith(' minimist@0.0.8')), findings.join('\n'));
  assert.equal(report.targets.find((t) => t.path === `${rpm}:usr/lib/node_modules`)?.packages, 3, 'the root, minimist and its hard-linked copy at mm2');
});
