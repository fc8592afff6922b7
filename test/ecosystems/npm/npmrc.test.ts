import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { StowageError } from '../../../src/core/errors.js';
import { packumentUrl, readNpmrcRegistries } from '../../../src/ecosystems/npm/registry.js';
import { npmrcValue, npmrcWithLayout } from '../../../src/vendoring/npm.js';
import { tempDir } from '../../support/shared.js';

test("the archive's .npmrc keeps the app's settings, replaces the layout's, and drops every credential", () => {
  const warnings: string[] = [];
  const out = npmrcWithLayout(
    '/app/.npmrc',
    [
      'save-exact=true',
      'prefer-online=true',
      '//registry.npmjs.org/:_authToken=npm_SECRETTOKEN123',
      '_auth=dXNlcjpwYXNz',
      'email=dev@example.com',
      '@corp:registry=https://npm.corp.example/',
      '//npm.corp.example/:always-auth=true',
    ].join('\n'),
    null,
    (m) => warnings.push(m),
  );
  assert.ok(!out.includes('SECRETTOKEN') && !out.includes('dXNlcjpwYXNz') && !out.includes('dev@example.com'), out);
  assert.match(out, /^save-exact=true$/m);
  assert.match(out, /^@corp:registry=https:\/\/npm\.corp\.example\/$/m);
  assert.match(out, /^; stowage: replaced below: prefer-online=true$/m);
  assert.match(out, /^; stowage: credential removed \(\/\/registry\.npmjs\.org\/:_authToken\)$/m);
  assert.match(out, /^cache=vendor\/npm-cache$/m);
  assert.match(out, /^offline=true$/m);
  assert.deepEqual(warnings, [
    "/app/.npmrc: prefer-online replaced by the vendored layout's settings in the archive's .npmrc",
    "/app/.npmrc: credentials (//registry.npmjs.org/:_authToken, _auth, email, //npm.corp.example/:always-auth) left out of the archive's .npmrc; an offline install needs none",
  ]);
});

test("credentials inside a URL setting are left out of the archive's .npmrc; the registry stays, without them", () => {
  const warnings: string[] = [];
  const out = npmrcWithLayout(
    '/app/.npmrc',
    ['registry=https://ci:s3cret@npm.corp.example/', '@corp:registry=https://t0ken@npm.corp.example/corp/', 'https-proxy=http://u:s3cret@proxy.example:3128', 'save-exact=true'].join('\n'),
    null,
    (m) => warnings.push(m),
  );
  assert.ok(!out.includes('s3cret') && !out.includes('t0ken'), out);
  assert.match(out, /^registry=https:\/\/npm\.corp\.example\/$/m);
  assert.match(out, /^@corp:registry=https:\/\/npm\.corp\.example\/corp\/$/m);
  assert.match(out, /^https-proxy=http:\/\/proxy\.example:3128$/m);
  assert.match(out, /^; stowage: credential removed \(registry\)$/m);
  assert.deepEqual(warnings, ["/app/.npmrc: credentials (registry, @corp:registry, https-proxy) left out of the archive's .npmrc; an offline install needs none"]);
});

test('a registry URL with user-info is read without it; errors quote the .npmrc as written, not the expanded token', () => {
  const config = readNpmrcRegistries('/app/.npmrc', 'registry=https://ci:${NPM_PASS}@npm.corp.example/\n', { NPM_PASS: 's3cret' });
  assert.equal(config.registry, 'https://npm.corp.example/');
  assert.equal(packumentUrl(config.registry, 'left-pad'), 'https://npm.corp.example/left-pad');
  assert.throws(
    () => readNpmrcRegistries('/app/.npmrc', 'registry=${NPM_REGISTRY}\n', { NPM_REGISTRY: 'not a url s3cret' }),
    (err: unknown) => err instanceof StowageError && err.line === '/app/.npmrc:1: registry is not a URL: "${NPM_REGISTRY}"',
  );
  assert.throws(
    () => readNpmrcRegistries('/app/.npmrc', 'registry=${NPM_REGISTRY}\n', { NPM_REGISTRY: 'ftp://u:s3cret@host/' }),
    (err: unknown) => err instanceof StowageError && !err.line.includes('s3cret'),
  );
});

/** What npm itself reads from `npmrc` as the project's .npmrc: `npm config get KEYS` in a scratch project. */
function npmReads(npmrc: string, keys: string[]): string[] {
  const dir = tempDir('npmrc-read');
  writeFileSync(join(dir, 'package.json'), '{}\n');
  writeFileSync(join(dir, '.npmrc'), npmrc);
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: dir, npm_config_update_notifier: 'false' };
  const run = spawnSync('npm', ['config', 'get', ...keys], { cwd: dir, env, encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  const lines = run.stdout.trim().split('\n');
  // One key prints its value; several print `key=value` lines.
  return keys.length === 1 ? lines : lines.map((l) => l.slice(l.indexOf('=') + 1));
}

const HAS_NPM = spawnSync('npm', ['--version']).status === 0;

describe('the .npmrc is read as npm reads it, so nothing hides from the rewrite', { skip: HAS_NPM ? false : 'npm is not installed' }, () => {
  test('a lone CR ends a line for npm: a setting or a credential after one is seen, replaced or removed', () => {
    const out = npmrcWithLayout('/app/.npmrc', 'save-exact=true\rcache=/elsewhere\r//registry.npmjs.org/:_authToken=npm_SMUGGLED\roffline=false\n', null, () => {});
    assert.doesNotMatch(out, /SMUGGLED/);
    assert.doesNotMatch(out, /\r/);
    assert.match(out, /^; stowage: replaced below: cache=\/elsewhere$/m);
    const dir = npmReads(out, ['cache', 'offline', 'save-exact']);
    assert.match(dir[0] as string, /\/vendor\/npm-cache$/);
    assert.deepEqual(dir.slice(1), ['true', 'true']);
  });

  test('quoted keys, array keys and inline comments name the same setting for npm and for the rewrite', () => {
    const out = npmrcWithLayout(
      '/app/.npmrc',
      ["'//registry.npmjs.org/:_authToken' = npm_QUOTED", '"_auth"="dXNlcjpwYXNz"', 'cache[] = /a', 'offline = false ; a comment', 'prefer-online # x'].join('\n'),
      null,
      () => {},
    );
    assert.doesNotMatch(out, /npm_QUOTED|dXNlcjpwYXNz/);
    for (const line of ['cache[] = /a', 'offline = false ; a comment', 'prefer-online # x']) assert.ok(out.includes(`; stowage: replaced below: ${line}\n`), line);
    assert.deepEqual(npmReads(out, ['offline', 'prefer-online']), ['true', 'false']);
  });

  test('a section header is refused: npm would read the layout settings after it as the section\'s', () => {
    assert.throws(
      () => npmrcWithLayout('/app/.npmrc', 'save-exact=true\n\n[x]\ny=1\n', null, () => {}),
      (err: unknown) => err instanceof StowageError && err.line === `/app/.npmrc:3: "[x]" starts an ini section; npm reads no setting after it, so the vendored layout's settings would be ignored`,
    );
    // What npm does with one: the settings after it are not settings.
    assert.equal(npmReads('[x]\noffline=true\n', ['offline'])[0], 'false');
  });

  test('a pinned registry holding ; or # is quoted, so npm reads the whole URL', () => {
    const registry = 'https://npm.example.invalid/a;b#c/';
    const out = npmrcWithLayout('/app/.npmrc', null, registry, () => {});
    assert.match(out, /^registry="https:\/\/npm\.example\.invalid\/a;b#c\/"$/m);
    assert.deepEqual(npmReads(out, ['registry']), [registry]);
    assert.equal(npmrcValue('https://registry.npmjs.org/'), 'https://registry.npmjs.org/');
    assert.throws(() => npmrcValue('https://x/\n_authToken=1'), /control character/);
  });
});

test("the registry settings are read as npm reads them: an inline comment is no part of the URL, a lone CR ends a line", () => {
  const config = readNpmrcRegistries('/app/.npmrc', "registry=https://a.example/npm/ ; the mirror\r'@s:registry' = \"https://b.example/\"\n", {});
  assert.equal(config.registry, 'https://a.example/npm/');
  assert.equal(config.scopes.get('@s'), 'https://b.example/');
});
