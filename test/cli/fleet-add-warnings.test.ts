import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GHSA_NPM, runCli, tempDir, tempTree } from '../support/shared.js';

/*
 * `fleet add` of many applications: a warning several of them got word for word (here GHSA's
 * advisory naming the npm package "Axios") is said once, naming those applications, not once
 * per application; a warning only one application got still names it alone.
 */

const cacheDir = tempDir('cli-fleet-add-warnings-cache');

function lock(deps: Record<string, string>): string {
  const packages: Record<string, unknown> = { '': { name: 'app', version: '1.0.0', dependencies: deps } };
  for (const [name, version] of Object.entries(deps)) packages[`node_modules/${name}`] = { version, resolved: `https://registry.npmjs.org/${name}/-/${name}-${version}.tgz` };
  return JSON.stringify({ name: 'app', version: '1.0.0', lockfileVersion: 3, requires: true, packages });
}

test('fleet add: a warning several applications got alike is said once, naming them', () => {
  const apps = tempTree('fleet-add-warnings', {
    'one.package-lock.json': lock({ axios: '1.7.2' }),
    'two.package-lock.json': lock({ axios: '1.7.2', 'left-pad': '1.3.0' }),
    'three.package-lock.json': lock({ 'left-pad': '1.3.0' }),
    // Its own warning: a package not from a registry.
    'four.package-lock.json': JSON.stringify({
      name: 'app',
      version: '1.0.0',
      lockfileVersion: 3,
      requires: true,
      packages: { '': { name: 'app', version: '1.0.0', dependencies: { tiny: 'https://example.invalid/tiny-1.0.0.tgz' } }, 'node_modules/tiny': { version: '1.0.0', resolved: 'https://example.invalid/tiny-1.0.0.tgz' } },
    }),
  });
  const store = join(tempDir('fleet-add-warnings-store'), 'fleet.sqlite');
  const init = runCli(['fleet', 'init', '--store', store, '--db', GHSA_NPM, '--no-fetch'], { cacheDir });
  assert.equal(init.status, 0, init.stderr);
  const add = runCli(['fleet', 'add', '--store', store, '--no-fetch', ...['one', 'two', 'three', 'four'].map((n) => join(apps, `${n}.package-lock.json`))], { cacheDir });
  assert.equal(add.status, 1, add.stderr);
  const axios = add.stderr.split('\n').filter((l) => l.includes('names the npm package "Axios"'));
  assert.deepEqual(axios.length, 1, add.stderr);
  assert.match(axios[0] ?? '', /^stowage: warning: one, two: advisory GHSA-8hc4-vh64-cxmj /);
  const own = add.stderr.split('\n').filter((l) => l.includes('tiny 1.0.0'));
  assert.equal(own.length, 1, add.stderr);
  assert.match(own[0] ?? '', /^stowage: warning: four: /);
});
