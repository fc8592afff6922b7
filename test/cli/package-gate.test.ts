import { copyFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GHSA_NPM, NPM_CORPUS, runCliAsync, tempDir } from '../support/shared.js';

/**
 * `stowage package rpm` runs vendoring's audit gate; like `stowage vendor`, it takes `--omit`,
 * so the gate judges what ships (the binary RPM prunes development dependencies). The gate
 * refuses before anything is downloaded, so nothing here needs the network.
 */

test('package rpm --omit dev: development-only findings do not refuse it, a runtime one still does; --omit banana is refused', async () => {
  // jellyfin-web 2025-03-01 against GitHub's advisories: ten findings, one of them (node-fetch,
  // through jsdom → canvas) at run time.
  const dir = tempDir('package-gate');
  copyFileSync(join(NPM_CORPUS, 'jellyfin-web-2025-03-01.package-lock.json'), join(dir, 'package-lock.json'));
  copyFileSync(join(NPM_CORPUS, 'jellyfin-web-2025-03-01.package.json'), join(dir, 'package.json'));
  const cacheDir = tempDir('package-gate-cache');
  const packageRpm = (args: string[]): ReturnType<typeof runCliAsync> => runCliAsync(['package', 'rpm', dir, '--db', GHSA_NPM, ...args], { cacheDir, env: { SOURCE_DATE_EPOCH: '1700000000' } });

  const all = await packageRpm([]);
  assert.equal(all.status, 1, all.stderr);
  assert.match(all.stderr, /refusing to vendor: 10 findings fail the audit policy/);
  const shipped = await packageRpm(['--omit', 'dev']);
  assert.equal(shipped.status, 1, shipped.stderr);
  assert.match(shipped.stderr, /refusing to vendor: 1 finding fails the audit policy \(GHSA-r683-j2x4-v87g node-fetch 2\.6\.9\)/);
  const banana = await packageRpm(['--omit', 'banana']);
  assert.equal(banana.status, 2, banana.stderr);
  assert.equal(banana.stderr, 'stowage: --omit banana: expected dev, optional, peer\n');
  assert.equal(existsSync(join(dir, 'rpm')), false, 'nothing written');
});
