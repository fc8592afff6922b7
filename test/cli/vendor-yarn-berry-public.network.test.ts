/**
 * NETWORK TEST: berry's lockfile records the checksum of the zip yarn makes from each tarball,
 * not the tarball's: stowage makes those zips itself and keeps one only when it is the file yarn
 * made. The hermetic proof (vendor-js-managers.test.ts) does this for the local registry's small
 * fixture packages; this one does it for real packages of the public registry (chalk, debug,
 * semver with its bin, a scoped one), as test/fixtures/yarn-berry-app's committed yarn.lock,
 * written by yarn 4, locks them. It needs the public registry: skipped when unreachable, except
 * with CI=true, where that is a failure.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { cpSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { readArchive } from '../../src/core/archive.js';
import { cleanEnv, whyNoRegistry } from '../support/npm-vendor.js';
import { PROJECT_ROOT, runCliAsync, tempDir } from '../support/shared.js';
import { unrelatedNpmAdvisoryDb } from '../support/advisory-fixtures.js';

const APP = join(PROJECT_ROOT, 'test', 'fixtures', 'yarn-berry-app');
const noRegistry = await whyNoRegistry();
const mustRun = process.env.CI === 'true';
const scratch = tempDir('yarn-berry-public');
after(() => rmSync(scratch, { recursive: true, force: true }));

describe('yarn berry zips of real packages from the public registry (network)', { skip: noRegistry !== null && !mustRun ? `${noRegistry}: network test skipped` : false }, () => {
  test("every vendored zip is, byte for byte, the one yarn 4 made (the lockfile's checksum), named as yarn names it", { timeout: 600_000 }, async () => {
    if (noRegistry !== null) assert.fail(`${noRegistry}, and CI=true: this network test must run`);
    const src = join(scratch, 'src');
    cpSync(APP, src, { recursive: true });
    const archive = join(scratch, 'berry.tar.zst');
    const run = await runCliAsync(['vendor', src, '--db', unrelatedNpmAdvisoryDb(join(scratch, 'db')), '-o', archive], {
      cacheDir: join(scratch, 'cache'),
      env: cleanEnv({ NO_COLOR: '1' }),
    });
    assert.equal(run.status, 0, `stowage vendor failed:\n${run.stdout}${run.stderr}`);
    const files = await readArchive(readFileSync(archive), archive);
    const lock = readFileSync(join(APP, 'yarn.lock'), 'utf8');
    const checksums = [...lock.matchAll(/^ {2}checksum: 10c0\/([0-9a-f]{128})$/gm)].map((m) => m[1] as string).sort();
    const zips = files.filter((f) => f.path.startsWith('.yarn/cache/'));
    assert.equal(checksums.length, 11);
    assert.deepEqual(zips.map((f) => createHash('sha512').update(f.data).digest('hex')).sort(), checksums);
    // yarn 4's name for ms 2.1.3 in a project cache: its locator hash, then its checksum's.
    assert.ok(zips.some((f) => f.path === '.yarn/cache/ms-npm-2.1.3-81ff3cfac1-d924b57e73.zip'), zips.map((f) => f.path).join(', '));
  });
});
