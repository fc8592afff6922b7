import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { auditReport } from '../support/audit-report.js';
import { GHSA_NPM, PROJECT_ROOT, tempDir } from '../support/shared.js';

/**
 * `stowage audit DIR` on an installed tree (a root file system) reads every executable in it
 * whole: one at a time, let go once read, so that its memory is that of the largest one, not of
 * all of them (a real /usr holds gigabytes). GNU time reports the command's peak resident memory.
 */

const GNU_TIME = '/usr/bin/time';
function whyNoGnuTime(): string | false {
  if (existsSync(GNU_TIME)) return false;
  if (process.env.CI === 'true') throw new Error(`${GNU_TIME} is missing: .ci/run installs the Debian package "time"`);
  return `${GNU_TIME} not installed (Debian package "time")`;
}

const MiB = 1024 * 1024;

test("an installed tree's executables are read one at a time: twelve of 128 MiB are never all held at once", { skip: whyNoGnuTime() }, () => {
  const root = tempDir('audit-tree-memory');
  mkdirSync(join(root, 'usr', 'bin'), { recursive: true });
  // A real ELF executable, extended with zeros (sparse: no disk is used) to 128 MiB each.
  for (let i = 0; i < 12; i++) {
    const path = join(root, 'usr', 'bin', `tool-${i}`);
    copyFileSync('/usr/bin/true', path);
    truncateSync(path, 128 * MiB);
  }
  mkdirSync(join(root, 'app', 'node_modules', 'minimist'), { recursive: true });
  writeFileSync(join(root, 'app', 'node_modules', 'minimist', 'package.json'), JSON.stringify({ name: 'minimist', version: '0.0.8' }));
  const run = spawnSync(GNU_TIME, ['-f', 'peak-rss-kib=%M', process.execPath, join(PROJECT_ROOT, 'bin', 'stowage.cjs'), 'audit', root, '--db', GHSA_NPM, '--format', 'json'], {
    env: { ...process.env, NO_COLOR: '1', STOWAGE_CACHE_DIR: tempDir('audit-tree-memory-cache') },
    encoding: 'utf8',
    maxBuffer: 64 * MiB,
  });
  // The tree is read whole: minimist 0.0.8's two advisories are found.
  assert.equal(run.status, 1, run.stderr);
  assert.deepEqual(auditReport(run.stdout).targets.map((t) => t.path), [`${root}:app/node_modules`]);
  const peak = Number(/peak-rss-kib=(\d+)/.exec(run.stderr)?.[1]);
  // All twelve held at once take 1536 MiB; a few at a time (the collector lets each go), half of that at most.
  assert.ok(peak > 0 && peak * 1024 < 768 * MiB, `peak resident memory ${peak} KiB`);
});
