import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cargoCompatible, cargoRequirementMatches } from '../../../src/ecosystems/cargo/version.js';

/*
 * Cargo's resolver semantics (semver 1.0 VersionReq::matches), as the Cargo book's
 * "Specifying dependencies" and the semver crate's documentation state them: the expected
 * verdicts are theirs, not computed here.
 */

const CASES: [requirement: string, version: string, matches: boolean][] = [
  // Caret (the default): ^1.2.3 is >=1.2.3, <2.0.0; ^0.2.3 is >=0.2.3, <0.3.0; ^0.0.3 is =0.0.3.
  ['1.2.3', '1.2.3', true],
  ['1.2.3', '1.9.0', true],
  ['1.2.3', '1.2.2', false],
  ['1.2.3', '2.0.0', false],
  ['^0.2.3', '0.2.9', true],
  ['^0.2.3', '0.3.0', false],
  ['^0.0.3', '0.0.3', true],
  ['^0.0.3', '0.0.4', false],
  ['^0.0', '0.0.7', true],
  ['^0.0', '0.1.0', false],
  ['^0', '0.9.9', true],
  ['^0', '1.0.0', false],
  ['1.5', '1.5.0', true],
  ['0.4', '0.4.8', true],
  ['0.4', '0.5.0', false],
  // Tilde: ~1.2.3 is >=1.2.3, <1.3.0; ~1.2 is >=1.2.0, <1.3.0; ~1 is >=1.0.0, <2.0.0.
  ['~1.2.3', '1.2.9', true],
  ['~1.2.3', '1.3.0', false],
  ['~1.2', '1.2.0', true],
  ['~1', '1.9.0', true],
  ['~1', '2.0.0', false],
  // Wildcards and comparisons.
  ['1.*', '1.7.0', true],
  ['1.*', '2.0.0', false],
  ['*', '3.4.5', true],
  ['>=1.2, <1.5', '1.4.9', true],
  ['>=1.2, <1.5', '1.5.0', false],
  ['=1.2', '1.2.7', true],
  ['=1.2.3', '1.2.4', false],
  ['<2', '1.99.0', true],
  ['<=1.2', '1.2.9', true],
  ['>1.2', '1.2.9', false],
  ['>1.2', '1.3.0', true],
  // A prerelease matches only a requirement naming a prerelease of the same major.minor.patch.
  ['>=1.2.3', '2.0.0-alpha.1', false],
  ['*', '3.4.5-alpha', false],
  ['>=1.2.3-alpha.1', '1.2.3-alpha.2', true],
  ['>=1.2.3-alpha.1', '1.2.4-alpha.1', false],
  ['>=1.2.3-alpha.1', '1.2.4', true],
];

test("a dependency requirement matches versions as Cargo's resolver does", () => {
  for (const [requirement, version, matches] of CASES) {
    assert.equal(cargoRequirementMatches(requirement, version), matches, `${requirement} against ${version}`);
  }
});

test('semver compatibility: the same leftmost non-zero component', () => {
  assert.equal(cargoCompatible('1.5.4', '1.9.0'), true);
  assert.equal(cargoCompatible('1.0.0', '2.0.0'), false);
  assert.equal(cargoCompatible('0.4.8', '0.4.9'), true);
  assert.equal(cargoCompatible('0.4.8', '0.5.0'), false);
  assert.equal(cargoCompatible('0.0.3', '0.0.4'), false);
});
