import { execFileSync } from 'node:child_process';
import { copyFileSync, linkSync, lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { auditReport } from '../support/audit-report.js';
import { CARGO_CORPUS, advisoryDbCheckout, runCli, tempDir } from '../support/shared.js';

/* `-o` writes only to a regular file or a new path; everything else is refused, unchanged. */

const cacheDir = tempDir('output-cache');
let db: string;
let app: string;
const LOCK = join(CARGO_CORPUS, 'ripgrep-2026-08-04.Cargo.lock');

before(() => {
  // A small RustSec directory database: the tests are about where the report goes.
  db = join(tempDir('output-db'), 'db');
  mkdirSync(join(db, 'crates'), { recursive: true });
  execFileSync('cp', ['-r', join(advisoryDbCheckout('origin/main'), 'crates', 'h2'), join(db, 'crates', 'h2')]);
  app = tempDir('output-app');
  copyFileSync(LOCK, join(app, 'Cargo.lock'));
  writeFileSync(join(app, 'Cargo.toml'), '[package]\nname = "app"\nversion = "1.0.0"\nlicense = "MIT"\n');
  writeFileSync(join(app, 'stowage.toml'), '[audit]\nseverity-threshold = "low"\n');
});

function stowage(args: string[]): { status: number; stdout: string; stderr: string } {
  return runCli(args, { cacheDir, cwd: app });
}

/** What a path is, in the terms a refusal must leave untouched: its type, link target or bytes. */
function snapshot(path: string): string {
  const st = lstatSync(path);
  if (st.isSymbolicLink()) return `link -> ${readlinkSync(path)}`;
  if (st.isFile()) return `file ${st.ino} ${readFileSync(path).toString('base64')}`;
  return `${st.mode.toString(8)} ${st.rdev} ${st.ino}`;
}

function assertRefused(args: string[], target: string, why: RegExp): void {
  const before = snapshot(target);
  const entries = readdirSync(app).sort();
  const run = stowage(args);
  assert.equal(run.status, 2, run.stderr);
  assert.equal(run.stdout, '');
  const lines = run.stderr.trimEnd().split('\n').filter((l) => !l.startsWith('stowage: warning:'));
  assert.equal(lines.length, 1, run.stderr);
  assert.match(lines[0] ?? '', why);
  assert.equal(snapshot(target), before, 'nothing changed at the path');
  assert.deepEqual(readdirSync(app).sort(), entries, 'no file left behind');
}

test('audit -o refuses the lockfile it audits, however it is spelled or linked', () => {
  const lock = join(app, 'Cargo.lock');
  const refusal = /^stowage: .*: refusing to write over an input of this run( \(read as .*\))?; write the output elsewhere$/;
  assertRefused(['audit', 'Cargo.lock', '--db', db, '-o', 'Cargo.lock'], lock, refusal);
  assertRefused(['audit', '.', '--db', db, '--format', 'json', '-o', './Cargo.lock'], lock, refusal);
  assertRefused(['audit', lock, '--db', db, '-o', join(app, '..', app.split('/').at(-1) as string, 'Cargo.lock')], lock, refusal);
  linkSync(lock, join(app, 'hard-link.lock'));
  assertRefused(['audit', 'Cargo.lock', '--db', db, '-o', 'hard-link.lock'], join(app, 'hard-link.lock'), refusal);
  // Its manifest and the policy file are inputs too.
  assertRefused(['audit', '.', '--db', db, '-o', 'stowage.toml'], join(app, 'stowage.toml'), refusal);
  assertRefused(['audit', '.', '--db', db, '--format', 'sarif', '-o', 'Cargo.toml'], join(app, 'Cargo.toml'), refusal);
});

test('audit -o refuses devices, pipes, sockets, directories and symbolic links', async () => {
  const refusal = (kind: string): RegExp => new RegExp(`^stowage: .*: refusing to write: ${kind}; an output replaces only a regular file or makes a new one$`);
  assertRefused(['audit', '.', '--db', db, '-o', '.'], app, refusal('a directory'));
  execFileSync('mkfifo', [join(app, 'pipe.json')]);
  assertRefused(['audit', '.', '--db', db, '-o', 'pipe.json'], join(app, 'pipe.json'), refusal('a named pipe \\(FIFO\\)'));
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(join(app, 'report.sock'), resolve));
  try {
    assertRefused(['audit', '.', '--db', db, '-o', 'report.sock'], join(app, 'report.sock'), refusal('a socket'));
  } finally {
    server.close();
  }
  // A copy of /dev/null (root can make one): replacing it is what -o /dev/null would do to the real one.
  let device = true;
  try {
    execFileSync('mknod', [join(app, 'null'), 'c', '1', '3'], { stdio: 'ignore' });
  } catch {
    device = false;
  }
  if (device) {
    assertRefused(['audit', '.', '--db', db, '-o', 'null'], join(app, 'null'), refusal('a character device'));
    assert.ok(statSync(join(app, 'null')).isCharacterDevice());
  }
  // A link is never written through, to a file or elsewhere, and never replaced.
  writeFileSync(join(app, 'real.json'), 'old\n');
  symlinkSync('real.json', join(app, 'link.json'));
  symlinkSync('/nonexistent/elsewhere.json', join(app, 'dangling.json'));
  const link = /^stowage: .*: refusing to write: a symbolic link to .*; name the file itself$/;
  assertRefused(['audit', '.', '--db', db, '-o', 'link.json'], join(app, 'link.json'), link);
  assert.equal(readFileSync(join(app, 'real.json'), 'utf8'), 'old\n');
  assertRefused(['audit', '.', '--db', db, '-o', 'dangling.json'], join(app, 'dangling.json'), link);
});

test('-o /dev/stdout and -o - write to standard output; a regular file or a new path is written', () => {
  for (const stdout of ['/dev/stdout', '-']) {
    const run = stowage(['audit', '.', '--db', db, '--format', 'json', '-o', stdout]);
    assert.equal(run.status, 0, run.stderr);
    assert.equal(auditReport(run.stdout).schemaVersion, 1);
  }
  assert.ok(statSync('/dev/null').isCharacterDevice());
  writeFileSync(join(app, 'report.json'), 'old\n');
  assert.equal(stowage(['audit', '.', '--db', db, '--format', 'json', '-o', 'report.json']).status, 0);
  assert.equal(auditReport(readFileSync(join(app, 'report.json'), 'utf8')).schemaVersion, 1);
  assert.equal(stowage(['audit', '.', '--db', db, '-o', join('out', 'new.txt')]).status, 2, 'a missing directory is not made');
});

test('sbom, vendor and package rpm refuse the same outputs before doing any work', () => {
  const refusal = /refusing to write/;
  assertRefused(['sbom', '.', '--no-licenses', '-o', 'Cargo.lock'], join(app, 'Cargo.lock'), refusal);
  assertRefused(['sbom', '.', '--no-licenses', '-o', '.'], app, refusal);
  writeFileSync(join(app, 'bom.json'), '{}\n');
  symlinkSync('bom.json', join(app, 'bom-link.json'));
  assertRefused(['sbom', '.', '--no-licenses', '-o', 'bom-link.json'], join(app, 'bom-link.json'), refusal);
  // The SBOM an audit reads back is an input of that audit.
  assert.equal(stowage(['sbom', '.', '--no-licenses', '-o', 'bom.json']).status, 0);
  assertRefused(['audit', 'bom.json', '--db', db, '-o', 'bom.json'], join(app, 'bom.json'), /input of this run/);
  symlinkSync('elsewhere.tar.zst', join(app, 'vendor-link.tar.zst'));
  assertRefused(['vendor', '.', '--db', db, '-o', 'vendor-link.tar.zst'], join(app, 'vendor-link.tar.zst'), /symbolic link/);
  execFileSync('mkfifo', [join(app, 'vendor.tar.zst')]);
  assertRefused(['vendor', '.', '--db', db], join(app, 'vendor.tar.zst'), /named pipe/);
  assertRefused(['package', 'rpm', '.', '--db', db, '-o', 'Cargo.lock'], join(app, 'Cargo.lock'), /not a directory \(-o names the output directory\)$/);
});
