import assert from 'node:assert/strict';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { StowageError } from '../../src/core/errors.js';
import { vendorDir } from '../support/npm-vendor.js';
import { tempDir } from '../support/shared.js';

/* What pnpm vendoring refuses; the store it writes is proven by pnpm 9 itself in test/cli/vendor-js-managers.test.ts (git packages: npm-pnpm-git.test.ts). */

const scratch = tempDir('pnpm-vendor');
after(() => rmSync(scratch, { recursive: true, force: true }));

const COMMIT = '0123456789abcdef0123456789abcdef01234567';

describe('pnpm lockfiles stowage cannot vendor are refused, naming the package', () => {
  const cases: [string, string, RegExp][] = [
    [
      'a git dependency on GitLab (a host tarball pnpm packs again)',
      [
        "lockfileVersion: '9.0'",
        'importers:',
        '  .:',
        '    dependencies:',
        '      left:',
        '        specifier: gitlab:someone/left',
        `        version: https://gitlab.com/api/v4/projects/someone%2Fleft/repository/archive.tar.gz?sha=${COMMIT}`,
        'packages:',
        `  left@https://gitlab.com/api/v4/projects/someone%2Fleft/repository/archive.tar.gz?sha=${COMMIT}:`,
        `    resolution: {tarball: 'https://gitlab.com/api/v4/projects/someone%2Fleft/repository/archive.tar.gz?sha=${COMMIT}'}`,
        '    version: 1.0.0',
        'snapshots:',
        `  left@https://gitlab.com/api/v4/projects/someone%2Fleft/repository/archive.tar.gz?sha=${COMMIT}: {}`,
        '',
      ].join('\n'),
      /left@1\.0\.0: git dependencies on GitLab and Bitbucket cannot be vendored for pnpm yet/,
    ],
    [
      'a git dependency in a 6.0 lockfile',
      [
        "lockfileVersion: '6.0'",
        'dependencies:',
        '  left:',
        '    specifier: git+https://git.example.org/left.git',
        `    version: git.example.org/left/${COMMIT}`,
        'packages:',
        `  git.example.org/left/${COMMIT}:`,
        `    resolution: {commit: ${COMMIT}, repo: https://git.example.org/left.git, type: git}`,
        '    name: left',
        '    version: 1.0.0',
        '    dev: false',
        '',
      ].join('\n'),
      /left@1\.0\.0: git dependencies are vendored from pnpm 9 lockfiles \(lockfileVersion 9\.0\); lock again with pnpm 9/,
    ],
    [
      'a linked package outside the application',
      ["lockfileVersion: '9.0'", 'importers:', '  .:', '    dependencies:', '      lib:', '        specifier: link:../lib', '        version: link:../lib', ''].join('\n'),
      /lib@0\.0\.0: the local package \.\.\/lib lies outside the application/,
    ],
    [
      'a package without integrity',
      [
        "lockfileVersion: '9.0'",
        'importers:',
        '  .:',
        '    dependencies:',
        '      ms:',
        '        specifier: ^2.1.3',
        '        version: 2.1.3',
        'packages:',
        '  ms@2.1.3:',
        '    resolution: {tarball: https://registry.npmjs.org/ms/-/ms-2.1.3.tgz}',
        'snapshots:',
        '  ms@2.1.3: {}',
        '',
      ].join('\n'),
      /ms@2\.1\.3: the lockfile records no integrity, so its bytes cannot be verified/,
    ],
  ];
  for (const [what, lockfile, message] of cases) {
    test(what, async () => {
      const dir = join(scratch, `refused-${what.replace(/\W+/g, '-')}`);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'package.json'), '{"name":"app","version":"1.0.0"}\n');
      writeFileSync(join(dir, 'pnpm-lock.yaml'), lockfile);
      await assert.rejects(vendorDir(dir, join(dir, 'cache')), (err: unknown) => {
        assert.ok(err instanceof StowageError, String(err));
        assert.match(err.line, message);
        assert.ok(err.line.startsWith(join(dir, 'pnpm-lock.yaml')), err.line);
        return true;
      });
      assert.ok(!existsSync(join(dir, 'cache', 'sha512')), 'nothing was downloaded');
    });
  }
});

/*
 * vercel/serve 14.2.6 declares `"packageManager": "pnpm@10.33.0+sha512..."`. pnpm 10 reads its own
 * store format (v10), not the v3 store stowage writes: with the archive extracted,
 * `pnpm install --offline --frozen-lockfile` (pnpm 10.33.0) stopped at ERR_PNPM_NO_OFFLINE_TARBALL
 * for the first package, so the source RPM stowage packaged could not build. Refused up front.
 */
describe('a project whose packageManager names pnpm 10 is refused before anything is fetched', () => {
  const lockfile = [
    "lockfileVersion: '9.0'",
    'importers:',
    '  .:',
    '    dependencies:',
    '      ms:',
    '        specifier: ^2.1.3',
    '        version: 2.1.3',
    'packages:',
    '  ms@2.1.3:',
    '    resolution: {tarball: https://registry.npmjs.org/ms/-/ms-2.1.3.tgz}',
    'snapshots:',
    '  ms@2.1.3: {}',
    '',
  ].join('\n');
  const project = (name: string, packageManager: string): string => {
    const dir = join(scratch, name);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', packageManager }) + '\n');
    writeFileSync(join(dir, 'pnpm-lock.yaml'), lockfile);
    return dir;
  };

  test('pnpm@10.33.0 with its hash: one line naming package.json and the pnpm it needs', async () => {
    const dir = project('pnpm-10', 'pnpm@10.33.0+sha512.10568bb4a6afb58c9eb3630da90cc9516417abebd3fabbe6739f0ae795728da1491e9db5a544c76ad8eb7570f5c4bb3d6c637b2cb41bfdcdb47fa823c8649319');
    await assert.rejects(vendorDir(dir, join(dir, 'cache')), (err: unknown) => {
      assert.ok(err instanceof StowageError, String(err));
      assert.equal(
        err.line,
        `${join(dir, 'package.json')}: packageManager "pnpm@10.33.0" names pnpm 10, which installs offline only from its own store format (v10); stowage vendors pnpm 8 and 9's store (v3), in which pnpm 10 finds no package: install and lock with pnpm 9 (packageManager pnpm@9) to vendor this application`,
      );
      return true;
    });
    assert.ok(!existsSync(join(dir, 'cache', 'sha512')), 'nothing was downloaded');
  });

  test('pnpm@9.15.9 is vendored as before (here refused later, for the missing integrity)', async () => {
    const dir = project('pnpm-9', 'pnpm@9.15.9');
    await assert.rejects(vendorDir(dir, join(dir, 'cache')), (err: unknown) => {
      assert.ok(err instanceof StowageError, String(err));
      assert.match(err.line, /ms@2\.1\.3: the lockfile records no integrity/);
      return true;
    });
  });
});
