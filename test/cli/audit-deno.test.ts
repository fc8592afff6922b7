import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { unrelatedNpmAdvisoryDb } from '../support/advisory-fixtures.js';
import { runCli, tempDir, tempTree } from '../support/shared.js';

/*
 * deno.lock, deno's lockfile, is not read. A directory holding it is refused in one line naming
 * it, as one holding bun.lockb is: deno installs from it, so auditing the package-lock.json beside
 * it (which deno does not read) passed what deno installs unchecked, and a directory with deno.lock
 * alone was refused as holding no lockfile at all, without a word of deno.lock.
 */

const cacheDir = tempDir('cli-deno-cache');
/** An npm database: the package-lock.json named on its own is audited against it. */
const db = unrelatedNpmAdvisoryDb(tempDir('deno-db'));

const MANIFEST = '{"name":"deno-app","version":"1.0.0","dependencies":{"fixture-ms":"^1.0.0"}}\n';
/** A deno.lock (v4) for that manifest: fixture-ms 1.0.0. */
const DENO_LOCK = `${JSON.stringify({ version: '4', specifiers: { 'npm:fixture-ms@^1.0.0': '1.0.0' }, npm: { 'fixture-ms@1.0.0': { integrity: 'sha512-AAAA' } }, workspace: { packageJson: { dependencies: ['npm:fixture-ms@^1.0.0'] } } }, null, 2)}\n`;
/** A package-lock.json that locks nothing vulnerable. */
const CLEAN_PACKAGE_LOCK = '{"name":"deno-app","version":"1.0.0","lockfileVersion":3,"requires":true,"packages":{"":{"name":"deno-app","version":"1.0.0"}}}\n';

function audit(path: string): { status: number; stdout: string; stderr: string } {
  return runCli(['audit', path, '--db', db, '--format', 'json'], { cacheDir });
}

function refusal(stderr: string): string {
  const lines = stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, stderr);
  return lines[0] as string;
}

test('deno.lock beside a package-lock.json: refused naming both, never the package-lock.json audited alone', () => {
  const dir = tempTree('deno-beside', { 'package.json': MANIFEST, 'deno.lock': DENO_LOCK, 'package-lock.json': CLEAN_PACKAGE_LOCK });
  const got = audit(dir);
  assert.equal(got.status, 2, got.stdout);
  assert.equal(got.stdout, '');
  assert.equal(
    refusal(got.stderr),
    `stowage: ${join(dir, 'deno.lock')}: deno's lockfile, which stowage does not read, so deno's install cannot be audited ` +
      "(beside package-lock.json, which deno does not read: audit that file by name if deno does not build this application)",
  );
  // Named on its own, the package-lock.json is audited: the user said which one.
  assert.equal(audit(join(dir, 'package-lock.json')).status, 0);
});

test('deno.lock alone (with or without package.json), by directory or by name: refused naming deno.lock', () => {
  for (const files of [{ 'deno.lock': DENO_LOCK }, { 'package.json': MANIFEST, 'deno.lock': DENO_LOCK }] as Record<string, string>[]) {
    const dir = tempTree('deno-alone', files);
    assert.equal(refusal(audit(dir).stderr), `stowage: ${join(dir, 'deno.lock')}: deno's lockfile, which stowage does not read, so deno's install cannot be audited`);
    const named = audit(join(dir, 'deno.lock'));
    assert.equal(named.status, 2);
    assert.equal(refusal(named.stderr), `stowage: ${join(dir, 'deno.lock')}: deno's lockfile, which stowage does not read`);
  }
});
