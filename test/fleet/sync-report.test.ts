/**
 * `fleet sync` makes each advisory's JSON once and splices it into each change's text
 * (sync-report.ts), encoded once: its output (`--format json`) and its event parts are the very bytes of
 * syncJsonBody's JSON as jsonForTerminal(JSON.stringify(…, null, 2)) and JSON.stringify of each
 * eventParts part write them, for applications, paths and advisories holding characters a
 * terminal must not get raw, for advisories shared by many changes, for a sync without changes
 * and for one whose event has several parts.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Advisory } from '../../src/core/advisory.js';
import type { Finding } from '../../src/core/finding.js';
import { jsonForTerminal } from '../../src/core/terminal-text.js';
import { eventParts } from '../../src/fleet/events.js';
import type { FindingChange, SyncOutcome } from '../../src/fleet/sync.js';
import { syncEventBodies, syncJsonBody, syncJsonPieces } from '../../src/fleet/sync-report.js';

const RUSTSEC = 'https://github.com/rustsec/advisory-db.git';

function advisory(id: string, extra: Partial<Advisory>): Advisory {
  return {
    id,
    aliases: [`CVE-2026-${id.slice(-4)}`, 'GHSA-2222-3333-4444'],
    related: [],
    kind: 'vulnerability',
    ecosystem: 'cargo',
    package: 'hyper',
    title: 'hyper \u009b2K drops \u202eheaders\u2028 — naïve 😀',
    description: 'Several\nlines, a tab\t, a tag \u{e0041} and \u0085 NEL.',
    published: '2026-03-01',
    modified: null,
    withdrawn: null,
    severity: { level: 'critical', score: 9.1, vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H' },
    url: 'https://nvd.nist.gov/vuln/detail/CVE-2026-0001',
    references: [],
    categories: ['denial-of-service'],
    keywords: [],
    affected: [],
    patched: ['>= 1.0.1'],
    unaffected: ['< 0.14.0'],
    functions: { 'hyper::client::conn': ['< 1.0.1'] },
    os: [],
    arch: [],
    origin: `crates/hyper/${id}.md`,
    ...extra,
  };
}

function change(app: string, kind: FindingChange['change'], a: Advisory, version: string): FindingChange {
  const finding: Finding = {
    target: `${app}/Cargo.lock`,
    advisory: a,
    databases: [RUSTSEC],
    package: {
      id: `hyper@${version}`,
      ecosystem: 'cargo',
      name: 'hyper',
      version,
      source: { kind: 'registry', url: 'https://user:secret@example.com/index', isDefaultRegistry: false },
      checksum: null,
      flags: {},
    },
    paths: [[`${app}@0.1.0`, `reqwest\u202e\u0085@0.12.0`, `hyper@${version}`], [`${app}@0.1.0`, `hyper@${version}`]],
    morePaths: 0,
    directDependencies: ['reqwest@0.12.0', `hyper@${version}`],
    fixedVersions: null,
    devOnly: false,
    ignored: null,
    policyLevel: a.kind === 'vulnerability' ? 'critical' : null,
    failsPolicy: a.kind === 'vulnerability',
  };
  return { app, change: kind, finding };
}

/** Changes of odd applications sharing two advisory objects (as findings of one alias group share the combined advisory), and one of its own. */
function outcome(count: number): SyncOutcome {
  const shared = advisory('RUSTSEC-2026-0001', {});
  const notice = advisory('RUSTSEC-2026-0002', { kind: 'unmaintained', severity: null, url: null, functions: {} });
  const kinds: FindingChange['change'][] = ['new', 'resolved', 'reopened'];
  const changes = Array.from({ length: count }, (_, i) =>
    change(i % 3 === 0 ? `app-${i} é\u0007\u2029\u200b` : `app-${i}`, kinds[i % 3] as FindingChange['change'], i === 4 ? advisory('RUSTSEC-2026-0003', { aliases: [] }) : i % 2 === 0 ? shared : notice, `1.0.${i}`),
  );
  return {
    databases: [{ source: `${RUSTSEC}\u202e`, previousRevision: 'a'.repeat(40), revision: 'b'.repeat(40) }],
    advisories: [{ id: shared.id, change: 'added', previousNames: [], names: [['cargo', 'hyper']] }],
    changes,
    reevaluated: count,
    fullyEvaluated: 1,
    failing: 2,
    // An application name and a lockfile's git specifier with a terminal's controls, as the changes have.
    notAudited: count === 0 ? [] : [{ app: 'np \u001b[2J', revision: `sha256:${'c'.repeat(64)}`, seq: 2, packages: [{ target: 'package-lock.json', ecosystem: 'npm', name: 'lodash', version: 'github:lodash/lodash#\u001b]8;;x', source: 'git' }] }],
    notAuditedChanged: count === 0 ? 0 : 1,
    reread: { reread: 0, changed: 0, kept: [] },
  };
}

for (const count of [0, 1, 7]) {
  test(`the sync's output and event parts are syncJsonBody's bytes (${count} changes, parts of 3)`, () => {
    const synced = outcome(count);
    const body = syncJsonBody(synced);
    const whole = jsonForTerminal(JSON.stringify(body, null, 2) + '\n');
    // Twice: the second time every advisory's text is already made.
    for (let round = 0; round < 2; round++) {
      assert.equal(Buffer.concat([...syncJsonPieces(synced)].map((piece) => (typeof piece === 'string' ? Buffer.from(piece, 'utf8') : piece))).toString('utf8'), whole);
      const parts: string[] = [];
      // Each part read before the next is made (they share their memory).
      for (const bytes of syncEventBodies(synced, 3)) parts.push(bytes.toString('utf8'));
      assert.deepEqual(parts, [...eventParts(body, 'changes', 3)].map((part) => JSON.stringify(part)));
    }
    // Nothing a terminal acts on gets through raw, and the credentials in a source are not shown.
    assert.doesNotMatch(whole, /[\u0080-\u009f\u200b\u2028\u2029\u202e]|\u{e0041}|secret/u);
  });
}
