import { copyFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GHSA_NPM, NPM_CORPUS, runCli, tempDir } from '../support/shared.js';

/**
 * A published npm application locks its test and build tools, and their advisories made the
 * first `stowage audit` and `stowage vendor` of every real application tried fail (cowsay,
 * http-server, markdownlint-cli, json-server: each finding only through development
 * dependencies) while the advice named only --ignore and the lockfile. The report and the
 * refusal now say how many are development-only and that --omit dev judges what ships.
 */

const cacheDir = tempDir('dev-only-cache');

/** jellyfin-web 2025-03-01 against GitHub's advisories: ten findings, nine only through dev dependencies. */
function jellyfin(): string {
  const dir = tempDir('dev-only-app');
  copyFileSync(join(NPM_CORPUS, 'jellyfin-web-2025-03-01.package-lock.json'), join(dir, 'package-lock.json'));
  copyFileSync(join(NPM_CORPUS, 'jellyfin-web-2025-03-01.package.json'), join(dir, 'package.json'));
  return dir;
}

const NODE_FETCH = 'GHSA-r683-j2x4-v87g';

test('audit: the report says how many failing findings only development dependencies reach, and what judges what ships', () => {
  const dir = jellyfin();
  const some = runCli(['audit', dir, '--db', GHSA_NPM, '--no-fetch'], { cacheDir });
  assert.equal(some.status, 1, some.stderr);
  assert.match(some.stdout, /^result: FAIL, 10 findings fail the policy\n {2}9 of them are reached only through development dependencies: --omit dev audits what ships/m);

  // node-fetch (at run time, through jsdom → canvas) accepted: every failing one is dev-only.
  const all = runCli(['audit', dir, '--db', GHSA_NPM, '--no-fetch', '--ignore', `${NODE_FETCH}=no fetch at run time`], { cacheDir });
  assert.equal(all.status, 1, all.stderr);
  assert.match(all.stdout, /^result: FAIL, 9 findings fail the policy\n {2}all are reached only through development dependencies: --omit dev/m);

  // What ships fails on node-fetch alone: no advice to omit what is already omitted.
  const shipped = runCli(['audit', dir, '--db', GHSA_NPM, '--no-fetch', '--omit', 'dev'], { cacheDir });
  assert.equal(shipped.status, 1, shipped.stderr);
  assert.match(shipped.stdout, /result: FAIL, 1 finding fails the policy\n$/);
  assert.doesNotMatch(shipped.stdout + shipped.stderr, /only through development dependencies:/);

  // JSON and SARIF stay what their schemas say.
  const json = runCli(['audit', dir, '--db', GHSA_NPM, '--no-fetch', '--format', 'json'], { cacheDir });
  assert.doesNotThrow(() => JSON.parse(json.stdout));
});

test('vendor and package rpm: a refusal by development-only findings names --omit dev', () => {
  const dir = jellyfin();
  const all = runCli(['vendor', dir, '--db', GHSA_NPM, '--no-fetch', '--ignore', `${NODE_FETCH}=no fetch at run time`], { cacheDir });
  assert.equal(all.status, 1, all.stderr);
  const refusal = all.stderr.trim().split('\n').at(-1) ?? '';
  assert.match(refusal, /^stowage: refusing to vendor: 9 findings fail the audit policy \(.*\); all are reached only through development dependencies: --omit dev gates on what ships/);
  assert.match(refusal, /accept each with --ignore ID=REASON or in stowage\.toml, or update the lockfile$/);
  assert.equal(existsSync(join(dir, 'vendor.tar.zst')), false);

  const some = runCli(['package', 'rpm', dir, '--db', GHSA_NPM, '--no-fetch', '-o', join(tempDir('dev-only-rpm'), 'rpm')], { cacheDir });
  assert.equal(some.status, 1, some.stderr);
  assert.match(some.stderr, /refusing to vendor: 10 findings fail the audit policy \(.*\); 9 of them are reached only through development dependencies: --omit dev/);
});
