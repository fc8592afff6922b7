import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Finding } from '../../src/core/finding.js';
import { cargoVersionScheme } from '../../src/ecosystems/cargo/version.js';
import { npmVersionScheme } from '../../src/ecosystems/npm/version.js';
import { checkDecision, failsWithDecision, governingDecision, parsePackageSelector, type StoredTriageDecision } from '../../src/fleet/triage.js';

function finding(id: string, aliases: string[], name: string, version: string, ecosystem: 'cargo' | 'npm' = 'cargo'): Finding {
  return {
    target: 'Cargo.lock',
    advisory: { id, aliases } as Finding['advisory'],
    databases: ['db'],
    package: { id: `${name}@${version}`, ecosystem, name, version } as Finding['package'],
    paths: [],
    morePaths: 0,
    directDependencies: [],
    fixedVersions: null,
    devOnly: false,
    ignored: null,
    policyLevel: 'critical',
    failsPolicy: true,
  };
}

let nextId = 1;
function decision(extra: Partial<StoredTriageDecision>): StoredTriageDecision {
  return {
    id: nextId++,
    appId: 1,
    aliasKey: 'CVE-2023-49092 GHSA-c38w-74pg-36hr RUSTSEC-2023-0071',
    packageName: null,
    packageRange: null,
    state: 'not_affected',
    justification: 'code_not_reachable',
    reason: 'no RSA decryption',
    expires: null,
    by: 'alice',
    at: '2026-12-01T00:00:00.000Z',
    ...extra,
  };
}

test('a justification is required for not_affected and false_positive, and must be CycloneDX 1.5\'s', () => {
  const base = { state: 'not_affected', reason: 'x', justification: undefined, expires: undefined, by: 'alice' };
  assert.throws(() => checkDecision(base), /--state not_affected needs --justification/);
  assert.throws(() => checkDecision({ ...base, state: 'false_positive' }), /needs --justification/);
  assert.throws(() => checkDecision({ ...base, justification: 'because' }), /--justification "because" is not one of/);
  assert.equal(checkDecision({ ...base, justification: 'protected_at_perimeter' }).justification, 'protected_at_perimeter');
  assert.equal(checkDecision({ ...base, state: 'in_triage' }).justification, null);
  assert.throws(() => checkDecision({ ...base, state: 'ignored' }), /--state is required: one of resolved/);
  assert.throws(() => checkDecision({ ...base, state: 'in_triage', reason: ' ' }), /--reason is required/);
  assert.throws(() => checkDecision({ ...base, state: 'in_triage', expires: '2026-13-01' }), /--expires "2026-13-01" is not a date/);
  assert.throws(() => checkDecision({ ...base, state: 'in_triage', expires: 'tomorrow' }), /is not a date/);
});

test('NAME@RANGE: the separating @ is never a scope\'s', () => {
  assert.deepEqual(parsePackageSelector('rsa'), { name: 'rsa', range: null });
  assert.deepEqual(parsePackageSelector('rsa@<0.10'), { name: 'rsa', range: '<0.10' });
  assert.deepEqual(parsePackageSelector('@babel/core@^7.0.0'), { name: '@babel/core', range: '^7.0.0' });
  assert.deepEqual(parsePackageSelector('@babel/core'), { name: '@babel/core', range: null });
  assert.throws(() => parsePackageSelector('rsa@'), /expected NAME or NAME@RANGE/);
});

test('a decision follows every alias of the advisory, the package and its range', () => {
  const byCve = decision({ aliasKey: 'CVE-2023-49092' });
  const f = finding('RUSTSEC-2023-0071', ['CVE-2023-49092', 'GHSA-c38w-74pg-36hr'], 'rsa', '0.9.6');
  assert.equal(governingDecision([byCve], 1, f, cargoVersionScheme, '2026-12-01')?.decision, byCve);
  // Another application's decision does not apply; the fleet's does.
  assert.equal(governingDecision([byCve], 2, f, cargoVersionScheme, '2026-12-01'), null);
  const fleetWide = decision({ appId: null });
  assert.equal(governingDecision([fleetWide], 2, f, cargoVersionScheme, '2026-12-01')?.decision, fleetWide);
  // The application's own decision wins over the fleet's, even an older one.
  const own = decision({ state: 'exploitable', justification: null });
  const later = decision({ appId: null });
  assert.equal(governingDecision([own, later], 1, f, cargoVersionScheme, '2026-12-01')?.decision, own);
  // Package and range: Cargo's requirement syntax for crates (`0.9` means ^0.9), name as crates.io compares.
  const inRange = decision({ packageName: 'RSA', packageRange: '0.9' });
  assert.ok(governingDecision([inRange], 1, f, cargoVersionScheme, '2026-12-01'));
  const outOfRange = decision({ packageName: 'rsa', packageRange: '>=0.9.7' });
  assert.equal(governingDecision([outOfRange], 1, f, cargoVersionScheme, '2026-12-01'), null);
  const otherPackage = decision({ packageName: 'rsa-der' });
  assert.equal(governingDecision([otherPackage], 1, f, cargoVersionScheme, '2026-12-01'), null);
  // npm ranges in npm's syntax, names exact.
  const npmFinding = finding('GHSA-c38w-74pg-36hr', [], 'JSONStream', '1.3.1', 'npm');
  assert.ok(governingDecision([decision({ packageName: 'JSONStream', packageRange: '1.x' })], 1, npmFinding, npmVersionScheme, '2026-12-01'));
  assert.equal(governingDecision([decision({ packageName: 'jsonstream' })], 1, npmFinding, npmVersionScheme, '2026-12-01'), null);
});

test('settled states stop a finding failing; exploitable and in_triage do not; an expired decision reopens it', () => {
  const f = finding('RUSTSEC-2023-0071', [], 'rsa', '0.9.6');
  for (const [state, fails] of [
    ['not_affected', false],
    ['false_positive', false],
    ['resolved', false],
    ['resolved_with_pedigree', false],
    ['exploitable', true],
    ['in_triage', true],
  ] as const) {
    const applied = governingDecision([decision({ state })], 1, f, cargoVersionScheme, '2026-12-01');
    assert.equal(failsWithDecision(f, applied), fails, state);
  }
  const expiring = decision({ expires: '2026-12-01' });
  const onTheDay = governingDecision([expiring], 1, f, cargoVersionScheme, '2026-12-01');
  assert.equal(onTheDay?.active, true);
  assert.equal(failsWithDecision(f, onTheDay), false);
  const after = governingDecision([expiring], 1, f, cargoVersionScheme, '2026-12-02');
  assert.equal(after?.active, false);
  assert.equal(failsWithDecision(f, after), true);
});
