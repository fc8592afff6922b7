import assert from 'node:assert/strict';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { StowageError } from '../../src/core/errors.js';
import { vendorDir } from '../support/npm-vendor.js';
import { tempDir } from '../support/shared.js';

/* What pnpm vendoring refuses; the store it writes is proven by pnpm 9 itself in test/cli/vendor-js-managers.test.ts. */

const scratch = tempDir('pnpm-vendor');
after(() => rmSync(scratch, { recursive: true, force: true }));

const COMMIT = '0123456789abcdef0123456789abcdef01234567';

describe('pnpm lockfiles stowage cannot vendor are refused, naming the package', () => {
  const cases: [string, string, RegExp][] = [
    [
      'a git dependency',
      [
        "lockfileVersion: '9.0'",
        'importers:',
        '  .:',
        '    dependencies:',
        '      left:',
        '        specifier: git+https://git.example.org/left.git',
        `        version: git+https://git.example.org/left.git#${COMMIT}`,
        'packages:',
        `  left@git+https://git.example.org/left.git#${COMMIT}:`,
        `    resolution: {commit: ${COMMIT}, repo: https://git.example.org/left.git, type: git}`,
        '    version: 1.0.0',
        'snapshots:',
        `  left@git+https://git.example.org/left.git#${COMMIT}: {}`,
        '',
      ].join('\n'),
      new RegExp(`left@1\\.0\\.0: git dependencies cannot be vendored for pnpm yet \\(https://git\\.example\\.org/left\\.git#${COMMIT}\\)`),
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
