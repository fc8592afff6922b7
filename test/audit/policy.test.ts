import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadPolicyFile } from '../../src/audit/policy.js';
import { InputError } from '../../src/core/errors.js';
import { tempDir } from '../support/shared.js';

test('stowage.toml: every key read, paths relative to the file, dates as TOML dates or strings', () => {
  const dir = tempDir('policy');
  mkdirSync(join(dir, 'conf'));
  const file = join(dir, 'conf', 'stowage.toml');
  writeFileSync(
    file,
    `[audit]
deny = ["unsound", "notice"]
severity-threshold = "medium"
unscored = "high"
max-db-age = 7
stale-db = "fail"
omit = ["dev"]
db = ["../advisory-db", "https://github.com/rustsec/advisory-db.git", "/srv/osv-npm.zip"]

[[audit.ignore]]
id = "RUSTSEC-2023-0071"
reason = "no RSA decryption"
expires = 2027-01-31

[[audit.ignore]]
id = "CVE-2024-1"
reason = "not reachable"
expires = "2027-02-01"
`,
  );
  const policy = loadPolicyFile(file);
  assert.deepEqual(policy.deny, ['unsound', 'notice']);
  assert.equal(policy.severityThreshold, 'medium');
  assert.equal(policy.unscored, 'high');
  assert.equal(policy.maxDatabaseAgeDays, 7);
  assert.equal(policy.staleDatabase, 'fail');
  assert.deepEqual(policy.omit, ['dev']);
  assert.deepEqual(policy.databases, [join(dir, 'advisory-db'), 'https://github.com/rustsec/advisory-db.git', '/srv/osv-npm.zip']);
  assert.deepEqual(
    policy.ignores.map((i) => [i.id, i.expires]),
    [
      ['RUSTSEC-2023-0071', '2027-01-31'],
      ['CVE-2024-1', '2027-02-01'],
    ],
  );
});

test('stowage.toml: deny = ["informational"] denies all three informational kinds, as --deny informational does', () => {
  const dir = tempDir('policy-informational');
  const file = join(dir, 'stowage.toml');
  writeFileSync(file, '[audit]\ndeny = ["informational", "unsound"]\n');
  assert.deepEqual([...loadPolicyFile(file).deny].sort(), ['notice', 'unmaintained', 'unsound']);
});

test('stowage.toml: a mistyped policy is an error, never silently ignored', () => {
  const dir = tempDir('policy-bad');
  const cases: [string, RegExp][] = [
    ['[audit]\nseverity_threshold = "high"\n', /unknown key audit\.severity_threshold/],
    ['[audits]\n', /unknown table \[audits\]/],
    ['[audit]\ndeny = ["vulnerability"]\n', /audit\.deny must be one of unmaintained, unsound, notice/],
    ['[audit]\nmax-db-age = "soon"\n', /audit\.max-db-age must be a whole number of days/],
    ['[[audit.ignore]]\nid = "X"\n', /a reason is required for every ignore/],
    ['[[audit.ignore]]\nid = "X"\nreason = "r"\nexpires = "next year"\n', /must be a date like 2026-12-31/],
    // Not TOML at all: the position (line 1, column 7) and the TOML parser's reason.
    ['[audit\n', /^[^ ]*stowage\.toml:1:7: Invalid TOML document: /],
  ];
  for (const [text, pattern] of cases) {
    const file = join(dir, 'stowage.toml');
    writeFileSync(file, text);
    assert.throws(() => loadPolicyFile(file), (e: unknown) => e instanceof InputError && e.file === file && pattern.test(e.line), text);
  }
});
