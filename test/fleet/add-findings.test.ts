/**
 * `fleet add` keeps its JSON as text made where findings are evaluated (add-findings.ts): the
 * output (`--format json`) and the event parts written from that text are the very bytes of
 * addBody's JSON as jsonForTerminalPieces and eventParts write it, for names, paths and findings
 * holding characters a terminal must not get raw, for an add of no applications and for one
 * whose event has several parts. The rows it encodes are the store's rows of those findings.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Finding } from '../../src/core/finding.js';
import { jsonForTerminalPieces } from '../../src/core/terminal-text.js';
import { AddJson, encodeFindings, findingsJson, type AddedApp } from '../../src/fleet/add-findings.js';
import { eventParts } from '../../src/fleet/events.js';
import { addBody } from '../../src/fleet/report.js';
import { findingRow } from '../../src/fleet/store/finding-rows.js';
import type { RevisionRecord } from '../../src/fleet/store/store.js';
import { advisory, finding } from '../support/sample-findings.js';

function revision(n: number): RevisionRecord {
  return { id: n, appId: n, digest: `sha256:${String(n).padStart(64, '0')}`, seq: 1, createdAt: '2026-01-01T00:00:00Z', origin: 'add', documents: [], evaluatedAgainst: {}, notAudited: [] } as RevisionRecord;
}

/** Applications with odd names and findings out of order (the JSON sorts them); some with none. */
function fleet(count: number): (AddedApp & { findings: Finding[] })[] {
  const a = advisory('RUSTSEC-2026-0001');
  const b = advisory('RUSTSEC-2026-0002', { kind: 'unmaintained', severity: null });
  return Array.from({ length: count }, (_, i) => ({
    name: i % 3 === 0 ? `app-${i} é\u0007\u2029` : `app-${i}`,
    path: `/srv/apps/${i}/Cargo.lock`,
    change: i % 2 === 0 ? ('added' as const) : ('changed' as const),
    revision: revision(i + 1),
    findings: i % 4 === 3 ? [] : [finding(b, 'z/Cargo.lock', '0.4.1', { failsPolicy: false, ignored: { id: b.id, reason: 'ok\u0000', expires: null, origin: 'p' } }), finding(a, 'a/Cargo.lock', '0.4.15')],
  }));
}

const failures = [{ name: 'broken\u001b', path: '/srv/broken/Cargo.lock', message: 'cannot read: é' }];

/** The output's bytes, as writeStdoutPieces writes them (a string piece as its UTF-8). */
function outputBytes(json: AddJson): string {
  return Buffer.concat([...json.outputPieces(failures)].map((piece) => (typeof piece === 'string' ? Buffer.from(piece, 'utf8') : piece))).toString('hex');
}

/** jsonForTerminalPieces of the body, as UTF-8. */
function expectedBytes(body: Record<string, unknown>): string {
  return Buffer.from([...jsonForTerminalPieces(body, 'apps')].join(''), 'utf8').toString('hex');
}

for (const count of [0, 1, 7]) {
  test(`the add's output and event parts are addBody's bytes (${count} applications, parts of 3)`, () => {
    const apps = fleet(count);
    const json = new AddJson(true);
    for (const app of apps) json.add(app, findingsJson(app.findings, true));
    const body = addBody(apps, failures);
    assert.equal(outputBytes(json), expectedBytes(body));
    // The applications' elements are written as the bytes kept, never decoded to be encoded again.
    if (count > 0) assert.ok([...json.outputPieces(failures)].slice(1, -1).every((piece) => piece instanceof Uint8Array));
    assert.deepEqual([...json.eventTexts(failures, 3)], [...eventParts(body, 'apps', 3, ['failed'])].map((part) => JSON.stringify(part)));
    // The bodies the event is recorded from: the UTF-8 of those texts, byte for byte (names hold multi-byte characters).
    assert.deepEqual(
      [...json.eventBodies(failures, 3)].map((bytes) => bytes.toString('hex')),
      [...eventParts(body, 'apps', 3, ['failed'])].map((part) => Buffer.from(JSON.stringify(part), 'utf8').toString('hex')),
    );
    const eventOnly = new AddJson(false);
    for (const app of apps) eventOnly.add(app, findingsJson(app.findings, false));
    assert.deepEqual([...eventOnly.eventTexts(failures, 1_000)], [JSON.stringify(body)]);
    assert.throws(() => [...eventOnly.outputPieces(failures)], /did not render it/);
    // Run again (a transaction's new attempt): what was kept before is forgotten.
    json.clear();
    for (const app of apps) json.add(app, findingsJson(app.findings, true));
    assert.equal(outputBytes(json), expectedBytes(body));
    json.close();
    eventOnly.close();
  });
}

test('encoded findings: the store rows of the findings, each advisory record once per thread, and their counts', () => {
  const [app] = fleet(1);
  const findings = (app as { findings: Finding[] }).findings;
  const sent = new Set<string>();
  const first = encodeFindings(findings, false, sent);
  assert.deepEqual(
    first.rows.map((r) => r.key),
    findings.map((f) => findingRow(f).text),
  );
  assert.deepEqual(first.records, findings.map((f) => findingRow(f)).map((r) => [r.digest, r.record]));
  assert.deepEqual(
    first.rows.map((r) => [r.groupKey, r.level, r.open, r.failsPolicy]),
    [
      ['CVE-2026-1 RUSTSEC-2026-0002', 'informational', false, false],
      ['CVE-2026-1 RUSTSEC-2026-0001', 'high', true, true],
    ],
  );
  assert.equal(first.count, 2);
  assert.equal(first.failing, 1);
  assert.equal(first.json.pretty, null);
  // The same thread again: the rows cite the records it handed over already.
  const again = encodeFindings(findings, false, sent);
  assert.deepEqual(again.records, []);
  assert.deepEqual(again.rows, first.rows);
  // The same findings in another order compare the same; one failing no more does not.
  assert.equal(encodeFindings([...findings].reverse(), false, null).sameKey, first.sameKey);
  assert.notEqual(encodeFindings([findings[0] as Finding, { ...(findings[1] as Finding), failsPolicy: false }], false, null).sameKey, first.sameKey);
});
