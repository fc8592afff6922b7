import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import semver from 'semver';
import type { Advisory, AffectedVersions } from '../../../src/core/advisory.js';
import { parseOsvRecord } from '../../../src/advisories/osv.js';
import { npmVersionScheme } from '../../../src/ecosystems/npm/version.js';
import { GHSA_NPM, PROJECT_ROOT, corpusFiles } from '../../support/shared.js';
import { osvBounds, osvSpecVerdict, type OsvAffected } from '../../support/second-reading.js';

function ghsa(id: string, pkg: string): Advisory {
  const found = parseOsvRecord(readFileSync(join(GHSA_NPM, `${id}.json`), 'utf8'), `${id}.json`).find((a) => a.package === pkg);
  assert.ok(found, `${id} names ${pkg}`);
  return found;
}

/** The advisory's verdict: any one affected entry makes the version affected. */
function affects(advisory: Advisory, version: string): boolean {
  return advisory.affected.some((entry) => npmVersionScheme.isAffected(version, entry));
}

function verdicts(advisory: Advisory, versions: string[]): Record<string, boolean> {
  return Object.fromEntries(versions.map((v) => [v, affects(advisory, v)]));
}

test('every npm entry of every GHSA record: the verdict at and around each bound equals the OSV specification\'s', () => {
  let checked = 0;
  for (const file of corpusFiles(GHSA_NPM, '.json')) {
    const raw = JSON.parse(readFileSync(file, 'utf8')) as { affected: OsvAffected[] };
    for (const advisory of parseOsvRecord(readFileSync(file, 'utf8'), file)) {
      const entries = raw.affected.filter((a) => a.package.ecosystem === 'npm' && a.package.name === advisory.package);
      assert.ok(entries.length > 0, `${file}: ${advisory.package}`);
      // Every bound, one patch above it, a pre-release of it, and versions far below and above.
      const versions = new Set(['0.0.1', '1.0.0', '99.0.0']);
      for (const b of osvBounds(entries)) {
        versions.add(b);
        versions.add(semver.inc(b, 'patch') as string);
        versions.add(`${semver.major(b)}.${semver.minor(b)}.${semver.patch(b)}-rc.1`);
      }
      for (const v of versions) {
        assert.equal(affects(advisory, v), osvSpecVerdict(entries, v), `${advisory.id} ${advisory.package} ${v}`);
        checked++;
      }
    }
  }
  assert.ok(checked > 1000, `${checked} verdicts compared`);
});

test('introduced/fixed: color-string fixed in 1.5.5 (GHSA-257v-vj4p-3w2h)', () => {
  assert.deepEqual(verdicts(ghsa('GHSA-257v-vj4p-3w2h', 'color-string'), ['0.1.0', '1.5.4', '1.5.5-beta.0', '1.5.5', '1.9.1']), {
    '0.1.0': true,
    '1.5.4': true,
    '1.5.5-beta.0': true, // a prerelease orders below its release: not yet the fix
    '1.5.5': false,
    '1.9.1': false,
  });
});

test('one entry per branch: qs (GHSA-hrpp-h998-j3pp) fixed on nine release lines', () => {
  const qs = ghsa('GHSA-hrpp-h998-j3pp', 'qs');
  assert.equal(qs.affected.length, 9);
  assert.deepEqual(verdicts(qs, ['6.2.3', '6.2.4', '6.3.2', '6.3.3', '6.5.2', '6.5.3', '6.9.6', '6.9.7', '6.10.2', '6.10.3', '6.11.0']), {
    '6.2.3': true,
    '6.2.4': false,
    '6.3.2': true,
    '6.3.3': false,
    '6.5.2': true,
    '6.5.3': false,
    '6.9.6': true,
    '6.9.7': false,
    '6.10.2': true,
    '6.10.3': false,
    '6.11.0': false,
  });
});

test('last_affected includes its own version: decode-uri-component, xmldom, lodash.trim', () => {
  assert.deepEqual(verdicts(ghsa('GHSA-w573-4hg7-7wgq', 'decode-uri-component'), ['0.1.0', '0.2.0', '0.2.1']), {
    '0.1.0': true,
    '0.2.0': true,
    '0.2.1': false,
  });
  assert.deepEqual(verdicts(ghsa('GHSA-crh6-fp67-6883', 'xmldom'), ['0.6.0', '0.6.1']), { '0.6.0': true, '0.6.1': false });
  assert.deepEqual(verdicts(ghsa('GHSA-29mw-wpgm-hmr9', 'lodash.trim'), ['4.5.1', '4.5.2']), { '4.5.1': true, '4.5.2': false });
  // The scoped successor in the same record has fixed versions, prerelease branch included.
  assert.deepEqual(verdicts(ghsa('GHSA-crh6-fp67-6883', '@xmldom/xmldom'), ['0.7.6', '0.7.7', '0.8.3', '0.8.4', '0.9.0-beta.3', '0.9.0-beta.4']), {
    '0.7.6': true,
    '0.7.7': false,
    '0.8.3': true,
    '0.8.4': false,
    '0.9.0-beta.3': true,
    '0.9.0-beta.4': false,
  });
});

test('introduced only: every babel-traverse version is affected (GHSA-67hx-6x53-jw92)', () => {
  assert.deepEqual(verdicts(ghsa('GHSA-67hx-6x53-jw92', 'babel-traverse'), ['0.0.1', '6.26.0', '7.0.0-beta.3']), {
    '0.0.1': true,
    '6.26.0': true,
    '7.0.0-beta.3': true,
  });
  assert.deepEqual(verdicts(ghsa('GHSA-67hx-6x53-jw92', '@babel/traverse'), ['7.23.1', '7.23.2', '8.0.0-alpha.3', '8.0.0-alpha.4']), {
    '7.23.1': true,
    '7.23.2': false,
    '8.0.0-alpha.3': true,
    '8.0.0-alpha.4': false,
  });
});

test('a partial version in an event means its zero-padded form: node-fetch "1.0" (GHSA-r683-j2x4-v87g)', () => {
  const nodeFetch = ghsa('GHSA-r683-j2x4-v87g', 'node-fetch');
  const fromOne = nodeFetch.affected[0];
  assert.ok(fromOne?.form === 'osv');
  assert.deepEqual(fromOne.ranges[0]?.events, [{ introduced: '1.0' }, { fixed: '3.1.1' }]);
  // "1.0" is 1.0.0: its own prereleases come before it.
  assert.equal(npmVersionScheme.isAffected('1.0.0-rc.1', fromOne), false);
  assert.equal(npmVersionScheme.isAffected('1.0.0', fromOne), true);
  // The record as a whole: 3.1.1 is the fix; the 2.x line's own fix 2.6.7 is still inside
  // the first entry's range, so the record (as stored) reports it affected.
  assert.deepEqual(verdicts(nodeFetch, ['0.1.0', '2.6.6', '2.6.7', '3.1.0', '3.1.1']), {
    '0.1.0': true,
    '2.6.6': true,
    '2.6.7': true,
    '3.1.0': true,
    '3.1.1': false,
  });
});

test('explicit versions lists: ua-parser-js hijacked releases (GHSA-pjwm-rvh2-c87w)', () => {
  assert.deepEqual(verdicts(ghsa('GHSA-pjwm-rvh2-c87w', 'ua-parser-js'), ['0.7.28', '0.7.29', '0.7.30', '0.8.0', '0.8.1', '1.0.0', '1.0.1']), {
    '0.7.28': false,
    '0.7.29': true,
    '0.7.30': false,
    '0.8.0': true,
    '0.8.1': false,
    '1.0.0': true,
    '1.0.1': false,
  });
});

test('prerelease branches: express 5 alphas and betas are affected until 5.0.0 (GHSA-qw6h-vgh9-j6wx)', () => {
  assert.deepEqual(verdicts(ghsa('GHSA-qw6h-vgh9-j6wx', 'express'), ['4.19.2', '4.20.0', '5.0.0-alpha.1', '5.0.0-beta.3', '5.0.0']), {
    '4.19.2': true,
    '4.20.0': false,
    '5.0.0-alpha.1': true,
    '5.0.0-beta.3': true,
    '5.0.0': false,
  });
});

test('a capitalised legacy name keeps its own ranges: Axios (GHSA-8hc4-vh64-cxmj)', () => {
  assert.deepEqual(verdicts(ghsa('GHSA-8hc4-vh64-cxmj', 'Axios'), ['1.3.1', '1.3.2', '1.7.3', '1.7.4']), {
    '1.3.1': false,
    '1.3.2': true,
    '1.7.3': true,
    '1.7.4': false,
  });
});

test('limit events cap a range; GIT ranges are ignored; versions lists still count', () => {
  const text = readFileSync(join(PROJECT_ROOT, 'test', 'fixtures', 'osv', 'limit-git-and-others.json'), 'utf8');
  const [parser] = parseOsvRecord(text, 'limit-git-and-others.json');
  assert.ok(parser);
  assert.deepEqual(verdicts(parser, ['1.9.8', '1.9.9', '2.0.0', '2.4.9', '2.5.0', '3.0.0']), {
    '1.9.8': false,
    '1.9.9': true, // named in `versions`
    '2.0.0': true,
    '2.4.9': true,
    '2.5.0': false, // the limit
    '3.0.0': false,
  });
});

test('a limit containing "*" is infinity, as the OSV schema defines it, not a version to parse', () => {
  for (const limit of ['*', '1.*', '*.*.*']) {
    const range: AffectedVersions = { form: 'osv', ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '1.0.0' }, { limit }] }], versions: [] };
    assert.deepEqual([npmVersionScheme.isAffected('0.9.0', range), npmVersionScheme.isAffected('5.0.0', range)], [false, true], limit);
  }
});

test('requirements form: npm ranges, prereleases included, unaffected when any range matches', () => {
  const req: AffectedVersions = { form: 'requirements', patched: ['>= 1.2.3 <2.0.0', '^2.1.0'], unaffected: ['< 1.0.0'] };
  assert.equal(npmVersionScheme.isAffected('0.9.0', req), false);
  assert.equal(npmVersionScheme.isAffected('1.2.2', req), true);
  assert.equal(npmVersionScheme.isAffected('1.2.3', req), false);
  assert.equal(npmVersionScheme.isAffected('2.0.5', req), true);
  assert.equal(npmVersionScheme.isAffected('2.1.0-beta.1', req), true); // below 2.1.0
  assert.equal(npmVersionScheme.isAffected('2.2.0-beta.1', req), false); // inside ^2.1.0 by order
});

test('what cannot be evaluated throws an Error naming it', () => {
  const range: AffectedVersions = { form: 'osv', ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '1.x' }] }], versions: [] };
  assert.throws(() => npmVersionScheme.isAffected('1.0.0', range), /cannot evaluate npm advisory version "1\.x"/);
  const ok: AffectedVersions = { form: 'osv', ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }] }], versions: [] };
  assert.throws(() => npmVersionScheme.isAffected('latest', ok), /cannot evaluate npm version "latest"/);
  assert.throws(() => npmVersionScheme.isAffected('1.0', ok), /cannot evaluate npm version "1\.0"/);
  const vPrefixed: AffectedVersions = { form: 'osv', ranges: [], versions: ['v1.0.0.1'] };
  assert.throws(() => npmVersionScheme.isAffected('1.0.0', vPrefixed), /"v1\.0\.0\.1"/);
  const req: AffectedVersions = { form: 'requirements', patched: ['>= banana'], unaffected: [] };
  assert.throws(() => npmVersionScheme.isAffected('1.0.0', req), /cannot evaluate npm version range ">= banana"/);
  const blank: AffectedVersions = { form: 'requirements', patched: [' '], unaffected: [] };
  assert.throws(() => npmVersionScheme.isAffected('1.0.0', blank), /cannot evaluate npm version range " "/);
});
