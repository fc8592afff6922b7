/**
 * A finding row's advisory digest read without parsing the row (fleet sync reads every stored
 * row of the revisions it re-matches, parsing only those it resolves): the digest findingRow
 * wrote, whatever the target's text holds, and a row written in another key order still gives it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Advisory } from '../../src/core/advisory.js';
import type { Finding } from '../../src/core/finding.js';
import { findingRow, findingRowDigest } from '../../src/fleet/store/finding-rows.js';

const advisory = {
  id: 'RUSTSEC-2026-0001',
  aliases: ['CVE-2026-1'],
  kind: 'vulnerability',
  ecosystem: 'cargo',
  package: 'h2',
  title: 'h2 "advisory":"not-the-digest"',
} as unknown as Advisory;

function finding(target: string): Finding {
  return {
    target,
    advisory,
    databases: ['db'],
    package: { id: 'h2@0.4.0', ecosystem: 'cargo', name: 'h2', version: '0.4.0', source: null, checksum: null, flags: {} },
    paths: [],
    morePaths: 0,
    directDependencies: [],
    fixedVersions: null,
    devOnly: false,
    ignored: null,
    policyLevel: 'high',
    failsPolicy: true,
  } as unknown as Finding;
}

test('findingRowDigest: the digest findingRow put in the row, whatever the target holds', () => {
  const targets = [
    'apps/a/Cargo.lock',
    'apps/"a",\\"advisory\\":\\"x/Cargo.lock',
    'apps/a","advisory":"forged/Cargo.lock',
    'apps/a\\","advisory":"forged\\/Cargo.lock',
    'apps/\u2028\u001b[31m\\/Cargo.lock',
    '',
  ];
  for (const target of targets) {
    const row = findingRow(finding(target));
    assert.equal(findingRowDigest(row.text), row.digest, target);
  }
});

test('findingRowDigest: a row whose keys come in another order is parsed for its digest', () => {
  const row = findingRow(finding('apps/a/Cargo.lock'));
  const reordered = JSON.stringify({ advisory: row.digest, target: 'apps/a","advisory":"forged' });
  assert.equal(findingRowDigest(reordered), row.digest);
  assert.throws(() => findingRowDigest(JSON.stringify({ target: 'x', advisory: { id: 'A' } })), /advisory digest/);
});
