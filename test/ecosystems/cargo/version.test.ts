import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { OsvRange } from '../../../src/core/advisory.js';
import { parseRustsecAdvisory } from '../../../src/advisories/rustsec.js';
import {
  cargoVersionScheme,
  checkRustsecVersions,
  compareCargoVersions,
  formatCargoVersion,
  isAffectedByOsv,
  isAffectedByRequirements,
  parseCargoRequirement,
  parseCargoVersion,
  rustsecInterval,
  type Bound,
} from '../../../src/ecosystems/cargo/version.js';
import { advisoryDbCheckout } from '../../support/shared.js';

/** Patched under `patched` alone: the verdict a user gets for one requirement. */
const patchedBy = (req: string, version: string): boolean => !isAffectedByRequirements(version, [req], []);

function bound(b: Bound): string {
  return b.kind === 'unbounded' ? 'unbounded' : `${b.kind} ${formatCargoVersion(b.version)}`;
}

function interval(req: string): [string, string] {
  const i = rustsecInterval(parseCargoRequirement(req));
  return [bound(i.start), bound(i.end)];
}

test('versions parse and order as the semver crate and SemVer 2.0 say', () => {
  // semver.org item 11 example order, also semver crate tests/test_version.rs `test_lt`/`test_spec_order`.
  const order = [
    '1.0.0-alpha',
    '1.0.0-alpha.1',
    '1.0.0-alpha.beta',
    '1.0.0-beta',
    '1.0.0-beta.2',
    '1.0.0-beta.11',
    '1.0.0-rc.1',
    '1.0.0',
    '1.0.1-0',
    '1.0.1',
    '2.0.0',
  ];
  for (let i = 0; i + 1 < order.length; i++) {
    const [a, b] = [parseCargoVersion(order[i] as string), parseCargoVersion(order[i + 1] as string)];
    assert.equal(compareCargoVersions(a, b), -1, `${order[i]} < ${order[i + 1]}`);
    assert.equal(compareCargoVersions(b, a), 1);
  }
  // Build metadata has no precedence; numeric identifiers compare by value, any size.
  assert.equal(compareCargoVersions(parseCargoVersion('1.2.3+build.5'), parseCargoVersion('1.2.3')), 0);
  assert.equal(
    compareCargoVersions(parseCargoVersion('1.0.0-99999999999999999999'), parseCargoVersion('1.0.0-100000000000000000000')),
    -1,
  );
  assert.equal(parseCargoVersion('18446744073709551615.0.0').major, 18446744073709551615n);
  // semver crate tests/test_version.rs `test_parse` errors.
  for (const bad of ['', '1', '1.2', '1.2.3-', '1.2.3+', 'a.b.c', '1.2.3 abc', '01.2.3', '1.2.3-01', ' 1.2.3', 'v1.2.3', '18446744073709551616.0.0']) {
    assert.throws(() => parseCargoVersion(bad), /invalid version/, bad);
  }
  assert.throws(() => parseCargoVersion('1.2.3-01'), /leading zero/);
});

test('requirements parse with the semver crate grammar (its tests/test_version_req.rs)', () => {
  const ops = (req: string): string =>
    parseCargoRequirement(req)
      .comparators.map((c) => `${c.op}${c.major}.${c.minor ?? '_'}.${c.patch ?? '_'}${c.pre.length ? '-' + c.pre.join('.') : ''}`)
      .join(',');
  assert.equal(ops('1.0.0'), '^1.0.0', 'bare version means caret (test_default)');
  assert.equal(ops('>= 1.0.0'), '>=1.0.0');
  assert.equal(ops('> 0.0.9, <= 2.5.3'), '>0.0.9,<=2.5.3');
  assert.equal(ops('>=0.5.1-alpha3, <0.6'), '>=0.5.1-alpha3,<0.6._');
  assert.equal(ops('=0.1.0+meta'), '=0.1.0', 'build metadata on a comparator is ignored');
  assert.equal(ops('0.*.*'), '*0._._', 'test_cargo3202');
  assert.equal(ops('1.x'), '*1._._', 'semver 1.0.27 accepts x and X as wildcards');
  assert.equal(ops('^ 2.2.1'), '^2.2.1', 'space after an operator, as in RUSTSEC-2023-0071');
  assert.equal(parseCargoRequirement('*').comparators.length, 0);
  const errors: Array<[string, RegExp]> = [
    ['> 0.1.0,', /unexpected end of input while parsing major version number/],
    ['> 0.3.0, ,', /unexpected character ',' while parsing major version number/],
    ['1.2.3 - 2.3.4', /expected comma after patch version number, found '-'/],
    ['> 0.0.9 <= 2.5.3', /expected comma after patch version number, found '<'/],
    ['=1.2.3 || =2.3.4', /expected comma after patch version number, found '\|'/],
    ['1.1 || =1.2.3', /expected comma after minor version number, found '\|'/],
    ['', /unexpected end of input while parsing major version number/],
    ['>= >= 0.0.2', /unexpected character '>' while parsing major version number/],
    ['>== 0.0.2', /unexpected character '=' while parsing major version number/],
    ['a.0.0', /unexpected character 'a' while parsing major version number/],
    ['1.0.0-', /empty identifier segment in pre-release/],
    ['>=', /unexpected end of input while parsing major version number/],
    ['*.1', /after wildcard/],
    ['1.*.1', /after wildcard/],
    ['>=1.*.1', /after wildcard/],
    ['*, >= 1.0', /must be the only comparator/],
    ['>= 1.2-alpha', /expected comma after minor version number, found '-'/],
    [Array.from({ length: 33 }, () => '>=1.0.0').join(', '), /excessive number of version comparators/],
  ];
  for (const [req, message] of errors) {
    assert.throws(() => parseCargoRequirement(req), message, req);
  }
});

test('each requirement becomes the interval rustsec computes (rustsec src/osv/unaffected_range.rs tests)', () => {
  assert.deepEqual(interval('=1.0'), ['inclusive 1.0.0', 'inclusive 1.0.0'], 'exact_requirement_10');
  assert.deepEqual(interval('^1.2.3'), ['inclusive 1.2.3', 'exclusive 2.0.0-0'], 'caret_requirement_123');
  assert.deepEqual(interval('^1.2'), ['inclusive 1.2.0', 'exclusive 2.0.0-0'], 'caret_requirement_12');
  assert.deepEqual(interval('^1'), ['inclusive 1.0.0', 'exclusive 2.0.0-0'], 'caret_requirement_1');
  assert.deepEqual(interval('^0.2.3'), ['inclusive 0.2.3', 'exclusive 0.3.0-0'], 'caret_requirement_023');
  assert.deepEqual(interval('^0.2'), ['inclusive 0.2.0', 'exclusive 0.3.0-0'], 'caret_requirement_02');
  assert.deepEqual(interval('^0.0.3'), ['inclusive 0.0.3', 'exclusive 0.0.4-0'], 'caret_requirement_003');
  assert.deepEqual(interval('^0.0'), ['inclusive 0.0.0', 'exclusive 0.1.0-0'], 'caret_requirement_00');
  assert.deepEqual(interval('^0'), ['inclusive 0.0.0', 'exclusive 1.0.0-0'], 'caret_requirement_0');
  assert.deepEqual(interval('~1.2.3'), ['inclusive 1.2.3', 'exclusive 1.3.0-0'], 'tilde_requirement_123');
  assert.deepEqual(interval('~1.2'), ['inclusive 1.2.0', 'exclusive 1.3.0-0'], 'tilde_requirement_12');
  assert.deepEqual(interval('~1'), ['inclusive 1.0.0', 'exclusive 2.0.0-0'], 'tilde_requirement_1');
  assert.deepEqual(interval('1.2.3'), ['inclusive 1.2.3', 'exclusive 2.0.0-0'], 'a bare version is a caret');
  assert.deepEqual(interval('>= 1.2'), ['inclusive 1.2.0', 'unbounded'], 'partial versions fill zeros (comp_to_ver)');
  assert.deepEqual(interval('<= 1.2'), ['unbounded', 'inclusive 1.2.0'], 'comp_to_ver: <= 1.2 is <= 1.2.0, not Cargo 1.2.x');
  assert.deepEqual(interval('> 0.5, < 0.7.1-rc.1'), ['exclusive 0.5.0', 'exclusive 0.7.1-rc.1']);
  assert.deepEqual(interval('*'), ['unbounded', 'unbounded']);
  assert.deepEqual(interval('1.*'), ['inclusive 1.0.0', 'exclusive 2.0.0-0'], 'wildcard: our extension');
  assert.deepEqual(interval('1.2.*'), ['inclusive 1.2.0', 'exclusive 1.3.0-0']);
  // What rustsec refuses at load time (`validate_ranges`).
  assert.throws(() => interval('>= 1.0, >= 2.0'), /more than one lower bound/);
  assert.throws(() => interval('< 1.0, <= 2.0'), /more than one upper bound/);
  assert.throws(() => interval('^1.0, < 1.5'), /must be the only comparator/);
  assert.throws(() => interval('>= 1, < 2, < 3'), /too many comparators/);
  assert.throws(() => interval('>= 2.0, < 1.0'), /start lies after its end/);
  assert.throws(() => interval('> 1.0.0, < 1.0.0'), /start lies after its end/);
  // rustsec/rustsec#690: "Overlapping version ranges: [0.3.0-rc.2, 0.3.0-rc.2] and [0.2.8, 0.3.0)".
  assert.throws(() => checkRustsecVersions(['>= 0.2.8, < 0.3.0', '>= 0.3.0'], ['= 0.3.0-rc.2']), /overlapping version ranges/);
  assert.doesNotThrow(() => checkRustsecVersions(['= 0.2.8', '= 0.3.0', '>= 0.3.1'], ['= 0.3.0-rc.2']));
  // Back to back is not overlap (unaffected_range.rs `barely_not_overlapping`); touching is.
  assert.doesNotThrow(() => checkRustsecVersions(['>= 1.2.3'], ['< 1.2.3']));
  assert.throws(() => checkRustsecVersions(['>= 1.2.3'], ['<= 1.2.3']), /overlapping/);
});

test('prereleases are judged by plain SemVer precedence, as rustsec::Versions::is_vulnerable does', () => {
  // semver's VersionReq::matches would say "no" to each of these; rustsec (since #349) says patched.
  assert.equal(patchedBy('>= 1.2.3', '2.0.0-alpha.1'), true, 'a prerelease above a patched floor is patched');
  assert.equal(patchedBy('>= 1.2.3', '1.3.0-rc.1'), true);
  assert.equal(patchedBy('>= 1.2.3', '1.2.3-rc.1'), false, 'the prerelease of the fixed version itself is not');
  assert.equal(patchedBy('^1.2.3', '1.5.0-beta'), true, 'inside [1.2.3, 2.0.0-0)');
  assert.equal(patchedBy('^1.2.3', '2.0.0-alpha'), false, '-0 end: ^1 does not reach 2.0.0 prereleases');
  assert.equal(patchedBy('~1.2', '1.3.0-alpha1'), false);
  assert.equal(patchedBy('< 1.0.0', '1.0.0-beta'), true, '1.0.0-beta orders below 1.0.0');
  assert.equal(patchedBy('=1.2.3', '1.2.3+build.7'), true, 'build metadata is ignored');
  // rustsec ranges_for_advisory.rs `increment` tests: the next version after 1.2.3-9 is 1.2.3-9.0.
  assert.equal(patchedBy('> 1.2.3-9', '1.2.3-9'), false);
  assert.equal(patchedBy('> 1.2.3-9', '1.2.3-9.0'), true);
  assert.equal(patchedBy('> 1.2.3', '1.2.4-0'), true);
  assert.equal(patchedBy('> 1.2.3', '1.2.3+build'), false);
  // semver crate test_caret: `^0.5.1-alpha3` covers 0.5.1-alpha4..0.5.5, and 0.5.5-pre (semver: no).
  for (const v of ['0.5.1-alpha3', '0.5.1-alpha4', '0.5.1-beta', '0.5.1', '0.5.5', '0.5.5-pre']) {
    assert.equal(patchedBy('^0.5.1-alpha3', v), true, v);
  }
  for (const v of ['0.5.1-alpha1', '0.5.0-pre', '0.6.0', '0.6.0-0']) assert.equal(patchedBy('^0.5.1-alpha3', v), false, v);
  // No patched and no unaffected requirement: every version is affected.
  assert.equal(isAffectedByRequirements('0.0.0', [], []), true);
});

test('the real advisories behind the prerelease bug reports', () => {
  // rustsec/rustsec#30 (cargo-audit#30): cookie 0.11.0-dev was reported vulnerable to RUSTSEC-2017-0005.
  const cookie = ['< 0.6.0', '^0.6.2', '>= 0.7.6'];
  assert.equal(isAffectedByRequirements('0.11.0-dev', cookie, []), false);
  assert.equal(isAffectedByRequirements('0.15.0-dev', cookie, []), false, 'rustsec-crate#218 (rocket master)');
  assert.equal(isAffectedByRequirements('0.7.5', cookie, []), true);
  assert.equal(isAffectedByRequirements('0.6.1', cookie, []), true);
  // rustsec/rustsec#17: hyper 0.12.0-pre.0 was reported vulnerable to RUSTSEC-2017-0002.
  const hyper = ['>= 0.10.2', '< 0.10.0, >= 0.9.18'];
  assert.equal(isAffectedByRequirements('0.12.0-pre.0', hyper, []), false);
  assert.equal(isAffectedByRequirements('0.10.1', hyper, []), true);
  assert.equal(isAffectedByRequirements('0.9.17', hyper, []), true);
  // rustsec/rustsec#690, RUSTSEC-2022-0055 (axum-core): only 0.3.0-rc.1 of the 0.3 prereleases is vulnerable.
  const axum = ['>= 0.2.8, < 0.3.0-rc.1', '>= 0.3.0-rc.2'];
  assert.equal(isAffectedByRequirements('0.3.0-rc.1', axum, []), true);
  assert.equal(isAffectedByRequirements('0.3.0-rc.2', axum, []), false);
  assert.equal(isAffectedByRequirements('0.2.9', axum, []), false);
  assert.equal(isAffectedByRequirements('0.2.7', axum, []), true);
});

test('OSV ranges follow the schema algorithm with SemVer order', () => {
  const semver = (...events: OsvRange['events']): OsvRange => ({ type: 'SEMVER', events });
  const fixed = [semver({ introduced: '0.0.0-0' }, { fixed: '0.14.10' })];
  assert.equal(isAffectedByOsv('0.14.9', fixed, []), true);
  assert.equal(isAffectedByOsv('0.14.10-rc.1', fixed, []), true);
  assert.equal(isAffectedByOsv('0.14.10', fixed, []), false);
  // Unsorted events are sorted first; "0" sorts below everything.
  const multi = [semver({ introduced: '3.0.0' }, { fixed: '3.2.5' }, { introduced: '0' }, { fixed: '1.0.2' })];
  assert.equal(isAffectedByOsv('0.0.0', multi, []), true);
  assert.equal(isAffectedByOsv('2.0.0', multi, []), false);
  assert.equal(isAffectedByOsv('3.2.4', multi, []), true);
  const lastAffected = [semver({ introduced: '0' }, { last_affected: '2.1.214' })];
  assert.equal(isAffectedByOsv('2.1.214', lastAffected, []), true);
  assert.equal(isAffectedByOsv('2.1.215-0', lastAffected, []), false);
  const limited = [semver({ introduced: '1.0.0' }, { limit: '1.5.0' })];
  assert.equal(isAffectedByOsv('1.4.0', limited, []), true);
  assert.equal(isAffectedByOsv('1.5.0', limited, []), false);
  assert.equal(isAffectedByOsv('1.5.0', [semver({ introduced: '1.0.0' }, { limit: '*' })], []), true);
  // RustSec's export writes empty ranges like this one (RUSTSEC-2022-0012 ends with introduced 0.10.0, fixed 0.10.0):
  // a stable sort keeps "fixed" after "introduced", so 0.10.0 is not affected, as in the native advisory.
  assert.equal(isAffectedByOsv('0.10.0', [semver({ introduced: '0.10.0' }, { fixed: '0.10.0' })], []), false);
  // GIT ranges cannot be evaluated against versions; an entry with only GIT ranges affects nothing.
  const git: OsvRange = { type: 'GIT', events: [{ introduced: '0' }, { fixed: 'a1b2c3d' }] };
  assert.equal(isAffectedByOsv('1.0.0', [git], []), false);
  assert.equal(isAffectedByOsv('1.0.0', [git], ['1.0.0']), true, 'the explicit versions list');
  assert.equal(isAffectedByOsv('1.0.0+b', [], ['1.0.0']), true);
  // A partial event version is padded (as for npm): `1.0` is 1.0.0. A lockfile's version is never partial.
  assert.equal(isAffectedByOsv('1.0.0', [semver({ introduced: '0' }, { fixed: '1.0' })], []), false);
  assert.throws(() => isAffectedByOsv('1.0.0', [semver({ introduced: '0' }, { fixed: '1.x' })], []), /fixed event.*invalid version "1\.x"/);
  assert.throws(() => isAffectedByOsv('1.0.0', [], ['latest']), /versions list.*invalid version "latest"/);
  assert.throws(() => isAffectedByOsv('1.0', fixed, []), /invalid version "1\.0"/);
  assert.throws(() => isAffectedByOsv('1.0.0', [semver({ introduced: '0', fixed: '1.0.0' })], []), /exactly one/);
  assert.equal(
    cargoVersionScheme.isAffected('0.14.9', { form: 'osv', ranges: fixed, versions: [] }),
    cargoVersionScheme.isAffected('0.14.9', { form: 'requirements', patched: ['>= 0.14.10'], unaffected: [] }),
  );
});

interface OsvExport {
  affected: Array<{ ranges?: OsvRange[]; versions?: string[] }>;
}

/** Every version a requirement or event names, and its neighbours, prereleases and build forms. */
function probeVersions(mentioned: Iterable<string>): Set<string> {
  const probes = new Set<string>();
  for (const text of mentioned) {
    probes.add(text);
    const v = parseCargoVersion(text);
    const cores: Array<[bigint, bigint, bigint]> = [
      [v.major, v.minor, v.patch],
      [v.major, v.minor, v.patch + 1n],
      [v.major, v.minor + 1n, v.patch],
      [v.major, v.minor + 1n, 0n],
      [v.major + 1n, v.minor, v.patch],
      [v.major + 1n, 0n, 0n],
    ];
    if (v.patch > 0n) cores.push([v.major, v.minor, v.patch - 1n]);
    if (v.minor > 0n) cores.push([v.major, v.minor - 1n, v.patch]);
    if (v.major > 0n) cores.push([v.major - 1n, v.minor, v.patch]);
    for (const [major, minor, patch] of cores) {
      for (const suffix of ['', '-0', '-alpha.1', '-rc.1', '+build.1']) probes.add(`${major}.${minor}.${patch}${suffix}`);
    }
  }
  return probes;
}

test('native [versions] and RustSec’s own OSV export agree for every crate advisory', () => {
  const main = advisoryDbCheckout('origin/main');
  const osv = advisoryDbCheckout('origin/osv');
  const osvIds = new Set(readdirSync(join(osv, 'crates')).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5)));

  let advisories = 0;
  let probes = 0;
  const disagreements: string[] = [];
  const unpaired: string[] = [];
  for (const dir of readdirSync(join(main, 'crates')).sort()) {
    for (const file of readdirSync(join(main, 'crates', dir)).sort()) {
      const rel = `crates/${dir}/${file}`;
      const { advisory } = parseRustsecAdvisory(readFileSync(join(main, rel), 'utf8'), rel);
      if (!osvIds.delete(advisory.id)) {
        unpaired.push(advisory.id);
        continue;
      }
      const record = JSON.parse(readFileSync(join(osv, 'crates', `${advisory.id}.json`), 'utf8')) as OsvExport;
      assert.equal(record.affected.length, 1, `${advisory.id}: one affected entry`);
      const entry = record.affected[0] as { ranges?: OsvRange[]; versions?: string[] };
      const ranges = entry.ranges ?? [];
      const versions = entry.versions ?? [];

      const mentioned = new Set<string>(['0.0.0', '0.0.1', ...versions]);
      for (const req of [...advisory.patched, ...advisory.unaffected]) {
        for (const c of parseCargoRequirement(req).comparators) {
          mentioned.add(formatCargoVersion({ major: c.major, minor: c.minor ?? 0n, patch: c.patch ?? 0n, pre: c.pre, build: '' }));
        }
      }
      for (const range of ranges) {
        for (const event of range.events) {
          const value = Object.values(event)[0] as string;
          if (value !== '0' && !value.includes('*')) mentioned.add(value);
        }
      }
      advisories++;
      for (const version of probeVersions(mentioned)) {
        probes++;
        const native = cargoVersionScheme.isAffected(version, advisory.affected[0] as (typeof advisory.affected)[number]);
        const exported = cargoVersionScheme.isAffected(version, { form: 'osv', ranges, versions });
        if (native !== exported) disagreements.push(`${advisory.id} ${version}: native ${native}, OSV ${exported}`);
      }
    }
  }
  console.log(`compared ${advisories} advisories on ${probes} probe versions; ${disagreements.length} disagreements`);
  assert.deepEqual(disagreements, []);
  assert.deepEqual(unpaired, [], 'every crate advisory of main has an OSV export');
  assert.equal(advisories, 1205);
  assert.ok(probes > 60000, `${probes} probes`);
  // The one export left over: RUSTSEC-2025-0000, a candidate id renamed on main (commit 168390e0) and never removed from osv.
  assert.deepEqual([...osvIds], ['RUSTSEC-2025-0000']);
});

test('OSV events with partial versions mean the missing parts are zero', () => {
  const ranges = [{ type: 'SEMVER' as const, events: [{ introduced: '1' }, { fixed: '1.6' }] }];
  const affected = { form: 'osv' as const, ranges, versions: [] };
  assert.equal(cargoVersionScheme.isAffected('1.5.9', affected), true);
  assert.equal(cargoVersionScheme.isAffected('1.6.0', affected), false);
  assert.equal(cargoVersionScheme.isAffected('0.9.0', affected), false);
  assert.equal(cargoVersionScheme.isAffected('1.6.0-rc.1', affected), true, 'a prerelease of the fix is below it');
});
