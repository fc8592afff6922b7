import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StowageError } from '../../../src/core/errors.js';
import { packumentUrl, readNpmrcRegistries } from '../../../src/ecosystems/npm/registry.js';
import { npmrcWithLayout } from '../../../src/ecosystems/npm/vendor.js';

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
