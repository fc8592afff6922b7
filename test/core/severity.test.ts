import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { severityFromCvss, severityFromLabel } from '../../src/core/severity.js';
import { GHSA_NPM, advisoryDbCheckout } from '../support/shared.js';

function score(vector: string): number | null {
  return severityFromCvss(vector).score;
}

test('CVSS v3.1 base scores equal the ones NVD publishes for the same vectors', () => {
  // RUSTSEC-2021-0056 / CVE-2021-3450 (OpenSSL): NVD 7.4 HIGH.
  assert.deepEqual(severityFromCvss('CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:N'), {
    level: 'high',
    score: 7.4,
    vector: 'CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:N',
  });
  // RUSTSEC-2019-0003 (protobuf DoS) uses the vector NVD scores 7.5 for CVE-2019-9515.
  assert.equal(score('CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H'), 7.5);
  // RUSTSEC-2019-0014 / CVE-2019-16138: 9.8 CRITICAL.
  assert.deepEqual(severityFromCvss('CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H').level, 'critical');
  assert.equal(score('CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H'), 9.8);
  // Scope changed: CVE-2023-28404 3.8 LOW, CVE-2026-26345 5.4 MEDIUM, RUSTSEC-2021-0001 (mdBook XSS) 6.1.
  assert.equal(score('CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:C/C:L/I:N/A:N'), 3.8);
  assert.equal(score('CVSS:3.1/AV:N/AC:L/PR:L/UI:R/S:C/C:L/I:L/A:N'), 5.4);
  assert.equal(score('CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N'), 6.1);
  assert.equal(score('CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H'), 10);
  // GHSA-257v-vj4p-3w2h / CVE-2021-29060 (color-string): 5.3 MEDIUM.
  assert.equal(score('CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:L'), 5.3);
  // Other published values: 5.5, 6.8, 6.5 (CVE-2023-28228, -28270, -28312).
  assert.equal(score('CVSS:3.1/AV:L/AC:L/PR:N/UI:R/S:U/C:N/I:H/A:N'), 5.5);
  assert.equal(score('CVSS:3.1/AV:P/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H'), 6.8);
  assert.equal(score('CVSS:3.1/AV:A/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N'), 6.5);
  // No impact at all scores 0.0: level none.
  assert.deepEqual(severityFromCvss('CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N').level, 'none');
});

test('CVSS v3.0 vectors (RustSec 2016-2018) score with the 3.0 rounding', () => {
  // RUSTSEC-2016-0001 / CVE-2016-10931 (openssl): 8.1; RUSTSEC-2017-0004: 9.8.
  assert.equal(score('CVSS:3.0/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:H'), 8.1);
  assert.equal(score('CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H'), 9.8);
  // GHSA-r683-j2x4-v87g (node-fetch), published by GitHub as HIGH 8.8.
  assert.equal(score('CVSS:3.0/AV:N/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H'), 8.8);
  // Temporal and environmental metrics are allowed and leave the base score alone.
  assert.equal(score('CVSS:3.0/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:H/E:U/RL:O/RC:C/CR:H/MAV:L'), 8.1);
});

test('every CVSS vector in the RustSec OSV export parses, and levels follow the rating scale', () => {
  const dir = join(advisoryDbCheckout('origin/osv'), 'crates');
  const byVersion = new Map<string, number>();
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.json'))) {
    const record = JSON.parse(readFileSync(join(dir, file), 'utf8')) as { severity: { type: string; score: string }[] };
    for (const { score: vector } of record.severity) {
      const severity = severityFromCvss(vector);
      const prefix = vector.slice(0, 8);
      byVersion.set(prefix, (byVersion.get(prefix) ?? 0) + 1);
      if (severity.score !== null) {
        const s = severity.score;
        const expected = s === 0 ? 'none' : s < 4 ? 'low' : s < 7 ? 'medium' : s < 9 ? 'high' : 'critical';
        assert.equal(severity.level, expected, `${file}: ${vector} scored ${s}`);
      }
    }
  }
  // The export holds v3.0, v3.1 and v4.0 vectors, each in real numbers.
  assert.ok((byVersion.get('CVSS:3.0') ?? 0) > 20);
  assert.ok((byVersion.get('CVSS:3.1') ?? 0) > 300);
  assert.ok((byVersion.get('CVSS:4.0') ?? 0) > 40);
});

test("GHSA's own labels agree with the level computed from its v3 vectors", () => {
  let compared = 0;
  for (const file of readdirSync(GHSA_NPM).filter((f) => f.endsWith('.json'))) {
    const record = JSON.parse(readFileSync(join(GHSA_NPM, file), 'utf8')) as {
      id: string;
      severity: { type: string; score: string }[];
      database_specific: { severity: string };
    };
    const label = severityFromLabel(record.database_specific.severity);
    assert.ok(label, `${file}: label ${record.database_specific.severity}`);
    for (const { type, score: vector } of record.severity) {
      if (type !== 'CVSS_V3') continue;
      // GitHub rates GHSA-434g-2637-qmqr by its v4 vector (E:U, unproven exploit): LOW, where
      // the v3 vector alone is 5.3 MEDIUM.
      if (record.id === 'GHSA-434g-2637-qmqr') {
        assert.deepEqual([severityFromCvss(vector).level, label.level], ['medium', 'low']);
        continue;
      }
      assert.equal(severityFromCvss(vector).level, label.level, `${record.id} ${vector}`);
      compared++;
    }
  }
  assert.equal(compared, 81);
});

test('CVSS v4.0: scored with the specification\'s macrovector table', () => {
  // RUSTSEC-2026-0023's vector impacts nothing: v4.0 defines that as 0.0.
  assert.deepEqual(severityFromCvss('CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:N/SC:N/SI:N/SA:N'), {
    level: 'none',
    score: 0,
    vector: 'CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:N/SC:N/SI:N/SA:N',
  });
  // Published v4 scores: GHSA-qwcr-r2fm-qrc7 8.7 HIGH, CVE-2026-26345 8.6 HIGH. GitHub labels
  // GHSA-cm22-4g7w-348p MODERATE by its own judgement; its vector (subsequent-system impact
  // only) scores 2.3 LOW by the specification, and the score is what is reported.
  const rated: [string, string, number][] = [
    ['CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:H/SC:N/SI:N/SA:N', 'high', 8.7],
    ['CVSS:4.0/AV:N/AC:H/AT:N/PR:N/UI:N/VC:L/VI:L/VA:H/SC:N/SI:N/SA:N', 'high', 8.3],
    ['CVSS:4.0/AV:N/AC:L/AT:P/PR:N/UI:P/VC:N/VI:N/VA:N/SC:L/SI:L/SA:L', 'low', 2.3],
    ['CVSS:4.0/AV:N/AC:L/AT:N/PR:L/UI:P/VC:H/VI:H/VA:L/SC:N/SI:N/SA:N', 'high', 8.6],
  ];
  for (const [vector, level, score] of rated) {
    assert.deepEqual(severityFromCvss(vector), { level, score, vector }, vector);
  }
  // Threat metrics lower the score: E:U (unreported exploitation).
  assert.equal(severityFromCvss('CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:L/VA:N/SC:N/SI:N/SA:N/E:U').score, 2.7);
});

test('CVSS v2 vectors score with the v2 formula', () => {
  assert.deepEqual(severityFromCvss('AV:N/AC:L/Au:N/C:P/I:P/A:P'), { level: 'high', score: 7.5, vector: 'AV:N/AC:L/Au:N/C:P/I:P/A:P' });
  assert.equal(score('AV:N/AC:M/Au:N/C:N/I:P/A:N'), 4.3);
  assert.equal(score('AV:L/AC:L/Au:N/C:C/I:C/A:C'), 7.2);
  assert.equal(score('(AV:N/AC:L/Au:N/C:N/I:N/A:P)'), 5);
  assert.equal(score('AV:N/AC:L/Au:N/C:C/I:C/A:C'), 10);
});

test('a malformed vector throws an Error that says what is wrong', () => {
  assert.throws(() => severityFromCvss('CVSS:3.1/AV:N/AC:L/PR:N/UI:N/C:H/I:H/A:H'), /missing base metric S\b/);
  assert.throws(() => severityFromCvss('CVSS:3.1/AV:X/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H'), /AV:X is not one of AV:N, AV:A, AV:L, AV:P/);
  assert.throws(() => severityFromCvss('CVSS:3.1/AV:N/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H'), /metric AV given twice/);
  assert.throws(() => severityFromCvss('CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/Q:1'), /unknown metric "Q"/);
  assert.throws(() => severityFromCvss('CVSS:3.1/AV:N/AC:L//UI:N'), /"" is not METRIC:VALUE/);
  assert.throws(() => severityFromCvss('CVSS:5.0/AV:N'), /unsupported CVSS version/);
  assert.throws(() => severityFromCvss('CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N'), /missing base metric SA/);
  assert.throws(() => severityFromCvss('high'), /not a CVSS vector: "high"/);
});

test('database labels: GHSA spellings in either case, MODERATE is medium, unknown is null', () => {
  assert.deepEqual(severityFromLabel('MODERATE'), { level: 'medium', score: null, vector: null });
  assert.equal(severityFromLabel('moderate')?.level, 'medium');
  assert.equal(severityFromLabel('LOW')?.level, 'low');
  assert.equal(severityFromLabel('HIGH')?.level, 'high');
  assert.equal(severityFromLabel('Critical')?.level, 'critical');
  assert.equal(severityFromLabel('important'), null);
});

test('a database label naming a member every object inherits (constructor, __proto__) is no known rating: the advisory is refused as for any unknown label', () => {
  assert.equal(severityFromLabel('constructor'), null);
  assert.equal(severityFromLabel('__proto__'), null);
  assert.equal(severityFromLabel('CONSTRUCTOR'), null);
  assert.deepEqual(severityFromLabel('Moderate'), { level: 'medium', score: null, vector: null });
});

test('a CVSS metric named after a member every object inherits (constructor, __proto__, toString) is an unknown metric, named as any other is', () => {
  for (const name of ['constructor', '__proto__', 'toString']) {
    const vector = `CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/${name}:X`;
    assert.throws(() => severityFromCvss(vector), { message: `malformed CVSS vector "${vector}": unknown metric "${name}"` });
  }
});
