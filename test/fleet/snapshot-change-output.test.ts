/**
 * `fleet promote|rollback --snapshot NAME` keeps each application's part of its output in a
 * temporary file as the change is made (snapshot-change-output.ts), and writes the output from
 * it once committed: the bytes are those of the whole document rendered at once (as the command
 * wrote it when it held every application's findings), in both forms, for a dry run and a real
 * one, for names, findings and triage notes holding characters a terminal must not get raw, and
 * for a snapshot of no applications. A new attempt of the transaction forgets the earlier one;
 * the temporary file is never left behind.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { test } from 'node:test';
import { paint, plural, type HumanStyle } from '../../src/audit/report/human.js';
import { jsonForTerminal, terminalText as t } from '../../src/core/terminal-text.js';
import type { CurrentChange, SnapshotChange } from '../../src/fleet/promote.js';
import { currentChangeJsonBody, FLEET_SCHEMA_VERSION, renderApps } from '../../src/fleet/report.js';
import { SnapshotChangeOutput } from '../../src/fleet/snapshot-change-output.js';
import type { RevisionRecord } from '../../src/fleet/store/store.js';
import type { TriageNote } from '../../src/fleet/triage.js';
import { tempDir } from '../support/shared.js';
import { advisory, finding } from '../support/sample-findings.js';

function revision(n: number, seq: number, origin: RevisionRecord['origin']): RevisionRecord {
  return { id: n, appId: n, digest: `sha256:${String(n).padStart(64, '0')}`, seq, createdAt: '2026-01-01T00:00:00Z', origin, documents: [], evaluatedAgainst: {}, notAudited: [] } as RevisionRecord;
}

/** Applications changed, unchanged and evaluated again, with odd names and findings out of order; some with none. */
function changes(count: number, action: CurrentChange['action'], dryRun: boolean): CurrentChange[] {
  const a = advisory('RUSTSEC-2026-0001');
  const b = advisory('RUSTSEC-2026-0002', { kind: 'unmaintained', severity: null });
  const note = { target: 'a/Cargo.lock', advisory: a.id, package: { ecosystem: 'cargo', name: 'h2', version: '0.4.15' }, state: 'not_affected', reason: 'not \u001b[2Jused' } as unknown as TriageNote;
  return Array.from({ length: count }, (_, i) => {
    const findings = dryRun || i % 4 === 3 ? [] : [finding(b, 'z/Cargo.lock', '0.4.1', { failsPolicy: false }), finding(a, 'a/Cargo.lock', '0.4.15', { failsPolicy: i % 2 === 0 })];
    return {
      app: i % 3 === 0 ? `app-${i} é\u0007\u2029` : `app-${i}`,
      action,
      changed: i % 5 !== 1,
      revision: revision(100 + i, 1, i % 2 === 0 ? 'add' : 'candidate'),
      previous: revision(200 + i, 2, 'add'),
      findings,
      triage: findings.length > 0 && i % 2 === 1 ? [note] : [],
      reevaluated: !dryRun && i % 3 === 2,
      builtFromOthers: [],
    };
  });
}

/** The command's JSON as one document (what it wrote when it held every application's findings). */
function wholeJson(change: SnapshotChange, apps: readonly CurrentChange[]): string {
  const value = {
    schemaVersion: FLEET_SCHEMA_VERSION,
    snapshot: change.snapshot.name,
    action: change.action,
    dryRun: change.dryRun,
    apps: apps.map((a) => {
      const { schemaVersion: _, findings, triage, reevaluated, ...entry } = currentChangeJsonBody(a);
      return change.dryRun ? entry : { ...entry, reevaluated, findings, triage };
    }),
    notInSnapshot: change.notInSnapshot,
  };
  return jsonForTerminal(JSON.stringify(value, null, 2) + '\n');
}

/** The command's text as one string (likewise). */
function wholeText(change: SnapshotChange, apps: readonly CurrentChange[], style: HumanStyle): string {
  const verb = change.action === 'promoted' ? 'promote' : 'roll back to';
  const changed = apps.filter((a) => a.changed).length;
  const out = [
    `${change.dryRun ? 'dry run: would ' : ''}${verb} snapshot ${paint(style, 'bold', t(change.snapshot.name))}` +
      ` (recorded ${t(change.snapshot.createdAt)}): ${plural(apps.length, 'application')}, ${changed} ${change.dryRun ? 'to change' : 'changed'}`,
  ];
  for (const a of apps) {
    const to = `${a.revision.digest.slice(0, 19)} (revision ${a.revision.seq}, ${a.revision.origin})`;
    if (!a.changed) {
      out.push(`  unchanged: ${t(a.app)} ${to}`);
      continue;
    }
    const again = a.reevaluated ? '; evaluated again with the databases as they are now' : '';
    out.push(`  ${change.dryRun ? `would be ${a.action === 'rolled-back' ? 'rolled back' : a.action}` : a.action}: ${t(a.app)} ${to}, was revision ${a.previous.seq}${again}`);
  }
  if (change.notInSnapshot.length > 0) out.push(`  not in the snapshot, left as they are: ${change.notInSnapshot.map(t).join(', ')}`);
  if (!change.dryRun) out.push(renderApps(apps.map((a) => ({ name: a.app, revision: a.revision, findings: a.findings })), style, { details: false }).trimEnd());
  return out.join('\n') + '\n';
}

const written = (output: SnapshotChangeOutput, change: SnapshotChange): string =>
  Buffer.concat([...output.pieces(change)].map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : p))).toString('utf8');

const style: HumanStyle = { colour: true, width: 80 };

for (const count of [0, 1, 7]) {
  for (const dryRun of [false, true]) {
    for (const action of ['promoted', 'rolled-back'] as const) {
      test(`the output written from the temporary file is the whole document's bytes (${count} applications, ${action}${dryRun ? ', dry run' : ''})`, () => {
        const tmp = tempDir('snapshot-change-tmp');
        const saved = process.env.TMPDIR;
        process.env.TMPDIR = tmp;
        try {
          const apps = changes(count, action, dryRun);
          const change: SnapshotChange = {
            snapshot: { id: 1, name: 'release \u001b[1mé', createdAt: '2026-12-01T00:00:00Z', databases: [], apps: [] },
            action,
            dryRun,
            notInSnapshot: count === 7 ? ['late\u0007', 'later'] : [],
          };
          for (const form of [null, style]) {
            const output = new SnapshotChangeOutput(action, dryRun, form);
            // A first attempt of the transaction, forgotten when it is run again.
            for (const a of changes(3, action, dryRun)) output.add({ ...a, app: `${a.app}-first` });
            output.restart();
            for (const a of apps) output.add(a);
            // Unlinked as soon as it is open: nothing in the temporary directory, even before close.
            assert.deepEqual(readdirSync(tmp), []);
            assert.equal(written(output, change), form === null ? wholeJson(change, apps) : wholeText(change, apps, form));
            assert.equal(output.failing, apps.some((a) => a.findings.some((f) => f.failsPolicy)));
            output.close();
          }
          assert.deepEqual(readdirSync(tmp), []);
        } finally {
          if (saved === undefined) delete process.env.TMPDIR;
          else process.env.TMPDIR = saved;
        }
      });
    }
  }
}
