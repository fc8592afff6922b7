import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { auditReport, type AuditReport } from '../support/audit-report.js';
import { ADVISORY_DB_BUNDLE, CARGO_CORPUS, PROJECT_ROOT, runCliAsync, tempDir } from '../support/shared.js';

/* Stowage processes sharing one cache (CI jobs on one runner, parallel builds) all succeed with one answer. */

const KANIDM = join(CARGO_CORPUS, 'kanidm-2026-08-20.Cargo.lock');
const RUNS = 8;

interface Outcome {
  status: number;
  findings: string[];
  revision: string;
  stderr: string;
}

async function auditsAtOnce(cacheDir: string, extra: string[] = [], db = ADVISORY_DB_BUNDLE, count = RUNS): Promise<Outcome[]> {
  const runs = Array.from({ length: count }, () => runCliAsync(['audit', KANIDM, '--db', db, '--format', 'json', ...extra], { cacheDir }));
  return (await Promise.all(runs)).map((run) => {
    let report: AuditReport;
    try {
      report = auditReport(run.stdout);
    } catch {
      assert.fail(`no JSON report (exit ${run.status}): ${run.stderr}`);
    }
    return {
      status: run.status,
      findings: report.findings.map((f) => `${f.advisory.id} ${f.package.name}@${f.package.version}`),
      revision: report.databases[0]?.revision ?? '',
      stderr: run.stderr,
    };
  });
}

function assertSameAnswer(outcomes: Outcome[], revision: string): void {
  for (const o of outcomes) {
    assert.equal(o.status, 1, o.stderr);
    assert.doesNotMatch(o.stderr, /cannot|ENOTEMPTY|ENOENT|internal error/, o.stderr);
    assert.equal(o.revision, revision);
  }
  const first = outcomes[0] as Outcome;
  assert.equal(first.findings.length, 6);
  for (const o of outcomes) assert.deepEqual(o.findings, first.findings);
}

test(`${RUNS} cold audits sharing one empty cache all succeed with the same findings, then ${RUNS} warm ones`, async () => {
  const cacheDir = tempDir('parallel');
  assertSameAnswer(await auditsAtOnce(cacheDir), 'bf5c0d245a92671908518d7e765914d437954ed6');
  assertSameAnswer(await auditsAtOnce(cacheDir), 'bf5c0d245a92671908518d7e765914d437954ed6');
  // Everyone fetching at once (--fetch) takes turns with the clone, and still agrees.
  assertSameAnswer(await auditsAtOnce(cacheDir, ['--fetch']), 'bf5c0d245a92671908518d7e765914d437954ed6');
  const db = readdirSync(join(cacheDir, 'db'));
  assert.deepEqual(db.filter((n) => n.includes('.tmp')), [], 'no temporary clone left behind');
});

test('two branches of one bundle, cold, at once: each run indexes its own and agrees with the others of its branch', async () => {
  const cacheDir = tempDir('parallel-branches');
  const half = RUNS / 2;
  const [main, osv] = await Promise.all([auditsAtOnce(cacheDir, [], ADVISORY_DB_BUNDLE, half), auditsAtOnce(cacheDir, [], `${ADVISORY_DB_BUNDLE}#osv`, half)]);
  assertSameAnswer(main as Outcome[], 'bf5c0d245a92671908518d7e765914d437954ed6');
  assertSameAnswer(osv as Outcome[], '7fa931cb90251ad2affbddac32885f3ed29a63eb');
});

/** A process holding the database's lock, as a run busy cloning does, until it is killed. */
function holdLock(file: string): Promise<() => Promise<void>> {
  const script = `
    const Database = require(${JSON.stringify(join(PROJECT_ROOT, 'node_modules', 'better-sqlite3'))});
    const db = new Database(process.argv[1], { timeout: 0 });
    db.exec('BEGIN EXCLUSIVE');
    process.stdout.write('held\\n');
    setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['-e', script, file], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.stdout.once('data', () =>
      resolve(() => {
        const gone = new Promise<void>((done) => child.once('close', () => done()));
        child.kill('SIGKILL');
        return gone;
      }),
    );
  });
}

test('a run killed while holding the lock leaves no stale lock: the waiting runs carry on', async () => {
  const cacheDir = tempDir('parallel-killed');
  // Where the audit of this bundle keeps its lock: find the name from a run, then start afresh.
  const probe = tempDir('parallel-probe');
  assert.equal((await runCliAsync(['audit', KANIDM, '--db', ADVISORY_DB_BUNDLE], { cacheDir: probe })).status, 1);
  const lockName = readdirSync(join(probe, 'db')).find((n) => n.endsWith('.lock'));
  assert.ok(lockName);
  mkdirSync(join(cacheDir, 'db'), { recursive: true });
  // Also what a run killed mid-clone leaves: a half-made temporary clone.
  mkdirSync(join(cacheDir, 'db', `${lockName.replace(/\.lock$/, '.git')}.tmp-999999`, 'objects'), { recursive: true });
  writeFileSync(join(cacheDir, 'db', `${lockName.replace(/\.lock$/, '.git')}.tmp-999999`, 'HEAD'), 'ref: refs/heads/main\n');
  const release = await holdLock(join(cacheDir, 'db', lockName));
  const waiting = auditsAtOnce(cacheDir, [], ADVISORY_DB_BUNDLE, 3);
  // The runs wait for the holder (they cannot have finished: the clone is theirs to make).
  await new Promise((resolve) => setTimeout(resolve, 1500));
  await release();
  assertSameAnswer(await waiting, 'bf5c0d245a92671908518d7e765914d437954ed6');
  assert.deepEqual(readdirSync(join(cacheDir, 'db')).filter((n) => n.includes('.tmp')), []);
});
