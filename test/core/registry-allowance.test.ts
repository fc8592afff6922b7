import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseAllowedRegistry, RegistryAllowance } from '../../src/core/registry-allowance.js';

test('a campaign reaches the public registries and what the operator names, under its path: no look-alike host, port or sibling path', () => {
  const allowance = new RegistryAllowance(['https://npm.corp.example/repository/npm/', 'https://crates.corp.example/index']);
  for (const url of [
    'https://registry.npmjs.org/lodash',
    'https://registry.npmjs.org/@types%2fnode',
    'https://index.crates.io/se/rd/serde',
    'https://github.com/rust-lang/crates.io-index',
    'https://github.com/rust-lang/crates.io-index.git',
    'https://npm.corp.example/repository/npm/lodash',
    'https://npm.corp.example/repository/npm',
    'https://token:secret@npm.corp.example/repository/npm/lodash',
    'https://crates.corp.example/index/se/rd/serde',
    'https://crates.corp.example/index',
  ]) {
    assert.equal(allowance.allows(url), true, url);
  }
  for (const url of [
    'http://169.254.169.254/latest/meta-data/',
    'http://127.0.0.1:5432/',
    'http://registry.npmjs.org/lodash',
    'https://registry.npmjs.org:8443/lodash',
    'https://registry.npmjs.org.evil.example/lodash',
    'https://github.com/rust-lang/other',
    'https://github.com/rust-lang/crates.io-index-evil',
    'https://npm.corp.example/repository/npm-private/lodash',
    'https://npm.corp.example/admin',
    'https://crates.corp.example/index-other/x',
    'unix:/var/run/postgresql/.s.PGSQL.5432',
    'file:///etc/passwd',
    'not a url',
  ]) {
    assert.equal(allowance.allows(url), false, url);
  }
  assert.throws(() => allowance.check('http://token:secret@169.254.169.254/x?key=1', 'registry', '/app/.npmrc'), (err: Error) => {
    assert.equal(err.message, '/app/.npmrc: registry http://169.254.169.254/x is not a registry this fleet allows (the public registries and those named by stowage fleet init --allow-registry URL)');
    assert.doesNotMatch(err.message, /secret|key=1/);
    return true;
  });
});

test('fleet init --allow-registry takes an http(s) URL without credentials, a query or a fragment', () => {
  assert.equal(parseAllowedRegistry('https://npm.corp.example/repository/npm/'), 'https://npm.corp.example/repository/npm/');
  assert.equal(parseAllowedRegistry('https://NPM.corp.example'), 'https://npm.corp.example/');
  for (const [value, says] of [
    ['npm.corp.example', /not a URL/],
    ['file:///srv/registry', /expected an http:\/\/ or https:\/\/ URL/],
    ['https://user:pw@npm.corp.example/', /with credentials/],
    ['https://npm.corp.example/?a=1', /no query or fragment/],
  ] as const) {
    assert.throws(() => parseAllowedRegistry(value), says, value);
  }
});
