import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AuditResult } from '../../src/audit/audit.js';
import type { Finding } from '../../src/core/finding.js';
import { manifestFindings } from '../../src/vendoring/manifest.js';
import { parseManifest } from '../../src/inputs/vendor-manifest.js';
import { MANIFEST_PATH } from '../../src/core/archive.js';
import { InputError } from '../../src/core/errors.js';

test('accepted risks record their policy file relative to the application, so the manifest reproduces anywhere', () => {
  const finding = {
    target: '/home/ci/app/Cargo.lock',
    advisory: { id: 'RUSTSEC-2023-0071', aliases: ['CVE-2023-49092'], kind: 'vulnerability', severity: { level: 'medium', score: 5.9, vector: null } },
    package: { name: 'rsa', version: '0.9.10' },
    ignored: { id: 'RUSTSEC-2023-0071', reason: 'verify only', expires: '2027-01-31', origin: '/home/ci/app/stowage.toml' },
  } as unknown as Finding;
  const result = { findings: [finding, { ...finding, ignored: { ...finding.ignored, origin: '--ignore' } }] } as unknown as AuditResult;
  assert.deepEqual(
    manifestFindings(result, '/home/ci/app').map((f) => f.accepted?.origin),
    ['stowage.toml', '--ignore'],
  );
});

test('a manifest from an archive is checked before it is trusted', () => {
  const bad = [
    ['not json', /not valid JSON/],
    ['[]', /not a JSON object/],
    ['{"schemaVersion": 9}', /schemaVersion 9; this stowage reads 1/],
    ['{"schemaVersion": 1, "sourceDateEpoch": 0, "lockfiles": [], "packages": [{"name": 1}], "audit": {}}', /packages\[0\] is malformed/],
  ] as const;
  for (const [text, pattern] of bad) {
    assert.throws(() => parseManifest(Buffer.from(text), 'vendor.tar.zst'), (e: unknown) => e instanceof InputError && e.file === 'vendor.tar.zst' && pattern.test(e.message) && e.message.includes(MANIFEST_PATH));
  }
});
