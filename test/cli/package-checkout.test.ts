import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCliAsync, sha256OfFile, tempDir } from '../support/shared.js';
import { unrelatedNpmAdvisoryDb } from '../support/advisory-fixtures.js';
import { commitFiles, initRepository } from '../support/git-repository.js';

/**
 * `stowage package rpm --srpm` of a git checkout. Source0 is the tracked files less a committed
 * vendor archive (Source1 brings it). With no SOURCE_DATE_EPOCH in the environment every output is
 * dated by the application's last commit, never by the clock (the SRPM's build time used to be
 * "now"). rpmbuild takes the SRPM's build time from the %changelog entry, which rpm writes as a
 * day: the commit's day at 00:00 UTC. An npm application without registry dependencies, so
 * nothing is downloaded. Needs rpmbuild (Debian package rpm); fails without it under CI=true.
 */

const HAS_RPMBUILD = spawnSync('rpmbuild', ['--version']).status === 0;
const skip = !HAS_RPMBUILD && process.env.CI !== 'true' ? 'rpmbuild is not installed (Debian package rpm)' : false;

const COMMITTED = '2021-03-04T05:06:07Z';

function committedApp(): string {
  const dir = initRepository(tempDir('package-checkout-app'));
  const manifest = { name: 'dated-app', version: '1.0.0', license: 'MIT', description: 'A dated app.', bin: { 'dated-app': 'bin/tool.js' } };
  mkdirSync(join(dir, 'bin'));
  commitFiles(
    dir,
    {
      'package.json': `${JSON.stringify(manifest, null, 2)}\n`,
      'package-lock.json': JSON.stringify({ name: 'dated-app', version: '1.0.0', lockfileVersion: 3, requires: true, packages: { '': { name: 'dated-app', version: '1.0.0', license: 'MIT' } } }),
      'bin/tool.js': '#!/usr/bin/env node\nconsole.log("hi");\n',
      LICENSE: 'MIT\n',
      // Committed by an earlier `stowage vendor`: Source1 brings the vendored tree, Source0 must not hold it too.
      'vendor.tar.zst': 'not read: an earlier vendor archive\n',
    },
    'app',
    { GIT_AUTHOR_DATE: COMMITTED, GIT_COMMITTER_DATE: COMMITTED },
  );
  return dir;
}

async function srpmOf(dir: string, db: string, sourceDateEpoch: string): Promise<{ srpm: string; source: string }> {
  const out = join(tempDir('package-checkout-out'), 'out');
  const made = await runCliAsync(['package', 'rpm', dir, '--db', db, '--no-fetch', '--srpm', '-o', out], {
    cacheDir: tempDir('package-checkout-cache'),
    env: { SOURCE_DATE_EPOCH: sourceDateEpoch },
  });
  assert.equal(made.status, 0, made.stderr);
  return { srpm: join(out, 'dated-app-1.0.0-1.src.rpm'), source: join(out, 'dated-app-1.0.0.tar.gz') };
}

const sourceFiles = (tarball: string): string[] => execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).trim().split('\n');

test('Source0 holds the tracked files, not a committed vendor archive', { skip }, async () => {
  const { source } = await srpmOf(committedApp(), unrelatedNpmAdvisoryDb(tempDir('package-checkout-db')), '');
  assert.deepEqual(sourceFiles(source), [
    'dated-app-1.0.0/',
    'dated-app-1.0.0/LICENSE',
    'dated-app-1.0.0/bin/',
    'dated-app-1.0.0/bin/tool.js',
    'dated-app-1.0.0/package-lock.json',
    'dated-app-1.0.0/package.json',
  ]);
});

const buildTime = (srpm: string): string => new Date(Number(execFileSync('rpm', ['-qp', '--qf', '%{BUILDTIME}', srpm], { encoding: 'utf8' })) * 1000).toISOString();
const sourceMtime = (tarball: string): string =>
  /\d{4}-\d{2}-\d{2} \d{2}:\d{2}/.exec(execFileSync('tar', ['-tzvf', tarball], { encoding: 'utf8', env: { ...process.env, TZ: 'UTC' } }))?.[0] ?? '';

test('with no SOURCE_DATE_EPOCH the SRPM is dated by the last commit (its build time: that day), the same bytes later; the variable still wins', { skip }, async () => {
  const dir = committedApp();
  const db = unrelatedNpmAdvisoryDb(tempDir('package-checkout-db'));
  const first = await srpmOf(dir, db, '');
  assert.equal(buildTime(first.srpm), '2021-03-04T00:00:00.000Z');
  assert.equal(sourceMtime(first.source), '2021-03-04 05:06');
  // Later, on another run: the clock has moved, the bytes have not.
  await new Promise((r) => setTimeout(r, 1100));
  const second = await srpmOf(dir, db, '');
  assert.equal(sha256OfFile(second.srpm), sha256OfFile(first.srpm));
  // 1700000000 is 2023-11-14T22:13:20Z.
  const given = await srpmOf(dir, db, '1700000000');
  assert.equal(buildTime(given.srpm), '2023-11-14T00:00:00.000Z');
  assert.equal(sourceMtime(given.source), '2023-11-14 22:13');
});

test('outside a git checkout (the 1980 default) the SRPM is dated 1990-01-01, the earliest %changelog date rpmbuild takes, the same bytes later', { skip }, async () => {
  // A directory that is no checkout: every output's epoch is 1980-01-01. rpmbuild refused that
  // %changelog date ("bad date"), dropped the entry and dated the SRPM and its files by the clock.
  const dir = tempDir('package-plain-app');
  const manifest = { name: 'dated-app', version: '1.0.0', license: 'MIT', description: 'An undated app.', bin: { 'dated-app': 'bin/tool.js' } };
  mkdirSync(join(dir, 'bin'));
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  writeFileSync(join(dir, 'package-lock.json'), JSON.stringify({ name: 'dated-app', version: '1.0.0', lockfileVersion: 3, requires: true, packages: { '': { name: 'dated-app', version: '1.0.0', license: 'MIT' } } }));
  writeFileSync(join(dir, 'bin', 'tool.js'), '#!/usr/bin/env node\nconsole.log("hi");\n');
  const db = unrelatedNpmAdvisoryDb(tempDir('package-checkout-db'));
  const first = await srpmOf(dir, db, '');
  assert.equal(buildTime(first.srpm), '1990-01-01T00:00:00.000Z');
  assert.match(execFileSync('rpm', ['-qp', '--changelog', first.srpm], { encoding: 'utf8' }), /^\* Mon Jan 01 1990 stowage/);
  // Source0's own mtimes stay the 1980 epoch: only rpm's dates are clamped.
  assert.equal(sourceMtime(first.source), '1980-01-01 00:00');
  await new Promise((r) => setTimeout(r, 1100));
  const second = await srpmOf(dir, db, '');
  assert.equal(sha256OfFile(second.srpm), sha256OfFile(first.srpm));
});
