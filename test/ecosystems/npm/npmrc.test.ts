import { test } from 'node:test';
import assert from 'node:assert/strict';
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
