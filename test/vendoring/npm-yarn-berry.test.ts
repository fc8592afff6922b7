import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { parseSyml } from '@yarnpkg/parsers';
import { StowageError } from '../../src/core/errors.js';
import { yarnrcYmlWithCache } from '../../src/vendoring/npm-yarn-berry.js';
import { yarnCacheFileName } from '../../src/vendoring/yarn-cache-zip.js';
import { vendorDir } from '../support/npm-vendor.js';
import { tempDir } from '../support/shared.js';

const scratch = tempDir('yarn-berry-vendor');
after(() => rmSync(scratch, { recursive: true, force: true }));

const CHECKSUM = `10c0/${'ab'.repeat(64)}`;
/** The registry package the patch cases patch: yarn locks it beside its patched form. */
const MS_BASE = `"ms@npm:2.1.3":\n  version: 2.1.3\n  resolution: "ms@npm:2.1.3"\n  checksum: ${CHECKSUM}\n  languageName: node\n  linkType: hard\n\n`;

describe("yarn berry's cache file names", () => {
  test('as yarn 4.9 names them in a project cache (names read from the cache it wrote)', () => {
    const cases: [string, string, string, string][] = [
      ['ms', 'npm:2.1.3', 'd924b57e7312b3b63ad21fc5b3dc0af5e78d61a1fc7cfb5457edaf26326bf62be5307cc87ffb6862ef1c2b33b0233cdb5d4f01c4c958cc0d660948b65a287a48', 'ms-npm-2.1.3-81ff3cfac1-d924b57e73.zip'],
      ['@tootallnate/once', 'npm:2.0.1', '23b01a341485be711c602077936d70f8e695405bb88ab4433dc6d1e6cb4556401518789574d399eded790b70b27738136c9a8f02df7ae4219f4ba28bb22d586b', '@tootallnate-once-npm-2.0.1-cd8ffd9654-23b01a3414.zip'],
      ['semver', 'npm:7.8.6', 'bf0a4d16eb067e5391323649e46b4a268644d7f8ee88e37c7668d35e861ec145b6e7df576d898007fc0d9a2cedcbc33f71460aa3bbea18eedfa5af58c064d7fe', 'semver-npm-7.8.6-233581c96f-bf0a4d16eb.zip'],
    ];
    for (const [name, reference, hex, expected] of cases) assert.equal(yarnCacheFileName(name, reference, hex), expected);
  });
});

describe('the written .yarnrc.yml', () => {
  test("the application's file is kept as written (comments too) when none of its settings is replaced", () => {
    const own = '# linker chosen on purpose\nnodeLinker: node-modules\n';
    const text = yarnrcYmlWithCache('/app/.yarnrc.yml', own, () => assert.fail('no warning expected'));
    assert.ok(text.startsWith(own), text);
    const settings = parseSyml(text) as Record<string, unknown>;
    assert.equal(settings.nodeLinker, 'node-modules');
    assert.equal(settings.cacheFolder, './.yarn/cache');
    assert.equal(settings.enableNetwork, 'false');
    assert.equal(settings.enableGlobalCache, 'false');
  });

  test('settings the layout decides are replaced, credentials left out, each named in a warning', () => {
    const warnings: string[] = [];
    const own = [
      'enableNetwork: true',
      'npmRegistryServer: "https://ci:s3cret@npm.corp.example/"',
      'npmAuthToken: t0ken',
      'npmScopes:',
      '  corp:',
      '    npmAuthIdent: "user:pass"',
      '    npmRegistryServer: "https://npm.corp.example/"',
      '',
    ].join('\n');
    const text = yarnrcYmlWithCache('/app/.yarnrc.yml', own, (m) => warnings.push(m));
    assert.ok(!text.includes('s3cret') && !text.includes('t0ken') && !text.includes('user:pass'), text);
    const settings = parseSyml(text) as { enableNetwork: string; npmRegistryServer: string; npmScopes: { corp: Record<string, string> } };
    assert.equal(settings.enableNetwork, 'false');
    assert.equal(settings.npmRegistryServer, 'https://npm.corp.example/');
    assert.deepEqual(settings.npmScopes.corp, { npmRegistryServer: 'https://npm.corp.example/' });
    assert.deepEqual(warnings, [
      "/app/.yarnrc.yml: enableNetwork replaced by the vendored layout's settings in the archive's .yarnrc.yml",
      "/app/.yarnrc.yml: credentials (npmRegistryServer, npmAuthToken, npmScopes.corp.npmAuthIdent) left out of the archive's .yarnrc.yml; an offline install needs none",
    ]);
  });
});

describe('yarn berry lockfiles stowage cannot vendor are refused, naming the entry', () => {
  const header = '__metadata:\n  version: 8\n  cacheKey: 10c0\n\n';
  const cases: [string, string, RegExp][] = [
    [
      // yarn makes a patched package at install from the one it patches: without that one's
      // entry, it would fetch it.
      'a patched package whose base package has no entry',
      `"resolve@patch:resolve@npm%3A^1.22.0#optional!builtin<compat/resolve>":\n  version: 1.22.8\n  resolution: "resolve@patch:resolve@npm%3A1.22.8#optional!builtin<compat/resolve>::version=1.22.8&hash=c3c19d"\n  checksum: ${CHECKSUM}\n  languageName: node\n  linkType: hard\n`,
      /resolve@patch:.*: the package it patches, resolve@npm:1\.22\.8, has no entry in the lockfile, so yarn would fetch it at install/,
    ],
    [
      'a patch file outside the application',
      `${MS_BASE}"ms@patch:ms@npm%3A2.1.3#~/../ms.patch":\n  version: 2.1.3\n  resolution: "ms@patch:ms@npm%3A2.1.3#~/../ms.patch::version=2.1.3&hash=b81728"\n  checksum: ${CHECKSUM}\n  languageName: node\n  linkType: hard\n`,
      /ms@patch:.*: the patch \.\.\/ms\.patch lies outside the application, so the archive cannot hold it/,
    ],
    [
      'a patch file the application does not have',
      `${MS_BASE}"ms@patch:ms@npm%3A2.1.3#~/.yarn/patches/ms.patch":\n  version: 2.1.3\n  resolution: "ms@patch:ms@npm%3A2.1.3#~/.yarn/patches/ms.patch::version=2.1.3&hash=b81728"\n  checksum: ${CHECKSUM}\n  languageName: node\n  linkType: hard\n`,
      /ms@patch:.*: the patch \.yarn\/patches\/ms\.patch is not in the application, and yarn applies it at install/,
    ],
    [
      'a relative patch file of a package that is no workspace',
      `${MS_BASE}"ms@patch:ms@npm%3A2.1.3#./ms.patch::locator=dep%40npm%3A1.0.0":\n  version: 2.1.3\n  resolution: "ms@patch:ms@npm%3A2.1.3#./ms.patch::version=2.1.3&hash=b81728&locator=dep%40npm%3A1.0.0"\n  checksum: ${CHECKSUM}\n  languageName: node\n  linkType: hard\n`,
      /ms@patch:.*: the patch \.\/ms\.patch is not a file of the application's workspaces, so the archive cannot hold it/,
    ],
    [
      'a package in a workspace of a git repository',
      `"left@git+https://git.example.org/left.git":\n  version: 1.0.0\n  resolution: "left@git+https://git.example.org/left.git#workspace=left&commit=0123456789abcdef0123456789abcdef01234567"\n  checksum: ${CHECKSUM}\n  languageName: node\n  linkType: hard\n`,
      /left@git\+https:.*: a git reference with workspace= cannot be vendored for yarn berry yet/,
    ],
    [
      'a git dependency on a branch',
      `"left@git+https://git.example.org/left.git":\n  version: 1.0.0\n  resolution: "left@git+https://git.example.org/left.git#head=main"\n  checksum: ${CHECKSUM}\n  languageName: node\n  linkType: hard\n`,
      /left@git\+https:.*: a git reference with head= cannot be vendored for yarn berry yet/,
    ],
    [
      'a deflated zip (yarn 3, cache key 8)',
      `"ms@npm:^2.1.3":\n  version: 2.1.3\n  resolution: "ms@npm:2.1.3"\n  checksum: ${'ab'.repeat(64)}\n  languageName: node\n  linkType: hard\n`,
      /ms@npm:2\.1\.3 \(entry "ms@npm:\^2\.1\.3"\): checksum "abababababababababab"… is not a yarn 4 zip checksum of compressionLevel 0/,
    ],
    [
      'no checksum',
      `"ms@npm:^2.1.3":\n  version: 2.1.3\n  resolution: "ms@npm:2.1.3"\n  languageName: node\n  linkType: hard\n`,
      /ms@npm:2\.1\.3 \(entry "ms@npm:\^2\.1\.3"\): the lockfile records no checksum/,
    ],
    [
      'a linked package outside the application',
      `"lib@link:../lib::locator=app%40workspace%3A.":\n  version: 0.0.0-use.local\n  resolution: "lib@link:../lib::locator=app%40workspace%3A."\n  languageName: node\n  linkType: soft\n`,
      /lib@0\.0\.0-use\.local: the local package \.\.\/lib lies outside the application/,
    ],
  ];
  for (const [what, body, message] of cases) {
    test(what, async () => {
      const dir = join(scratch, `refused-${what.replace(/\W+/g, '-')}`);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'package.json'), '{"name":"app","version":"1.0.0"}\n');
      const root = '"app@workspace:.":\n  version: 0.0.0-use.local\n  resolution: "app@workspace:."\n  languageName: unknown\n  linkType: soft\n\n';
      writeFileSync(join(dir, 'yarn.lock'), header + root + body);
      await assert.rejects(vendorDir(dir, join(dir, 'cache')), (err: unknown) => {
        assert.ok(err instanceof StowageError, String(err));
        assert.match(err.line, message);
        assert.ok(err.line.startsWith(join(dir, 'yarn.lock')), err.line);
        return true;
      });
    });
  }
});
