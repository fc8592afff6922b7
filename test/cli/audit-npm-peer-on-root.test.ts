import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GHSA_NPM, runCli, tempDir } from '../support/shared.js';

/*
 * A real application that its own plugins peer-depend on: eslint 9.39.5's package-lock.json
 * (npm 11.19, `npm install --package-lock-only`) links `node_modules/eslint` to the root, and
 * @eslint-community/eslint-utils (a dependency) has `peerDependencies: { eslint }`. underscore
 * 1.4.4 comes only from npm-license, a devDependency of the root. The plugin does not bring in
 * underscore: moving it changes nothing, so it is no path and no direct dependency to update.
 */

const cacheDir = tempDir('cli-npm-peer-on-root-cache');

const LOCK = {
  name: 'host',
  version: '1.0.0',
  lockfileVersion: 3,
  requires: true,
  packages: {
    '': { name: 'host', version: '1.0.0', dependencies: { plugin: '^1.0.0' }, devDependencies: { 'npm-license': '^0.3.3' } },
    'node_modules/host': { resolved: '', link: true },
    'node_modules/plugin': {
      version: '1.0.0',
      integrity: 'sha512-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==',
      peerDependencies: { host: '>=1' },
    },
    'node_modules/npm-license': {
      version: '0.3.3',
      integrity: 'sha512-NxvqmkWieR7fFwzUu1bLky75flVrxTB+Le/C/opOChFaF04o+kl6ng3FW9b51ce8rVdw6ma9rsvpu6Uok5eg/g==',
      dev: true,
      dependencies: { underscore: '~1.4.4' },
    },
    'node_modules/underscore': {
      version: '1.4.4',
      integrity: 'sha512-ZqGrAgaqqZM7LGRzNjLnw5elevWb5M8LEoDMadxIW3OWbcv72wMMgKdwOKpd5Fqxe8choLD8HN3iSj3TUh/giQ==',
      dev: true,
    },
  },
};

test('npm: a dependency that peer-depends on the application itself is no path to what the application brings in', () => {
  const dir = tempDir('cli-npm-peer-on-root');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'host', version: '1.0.0', dependencies: { plugin: '^1.0.0' }, devDependencies: { 'npm-license': '^0.3.3' } }));
  writeFileSync(join(dir, 'package-lock.json'), JSON.stringify(LOCK));
  const r = runCli(['audit', '--format', 'json', dir, '--db', GHSA_NPM], { cacheDir });
  assert.equal(r.status, 1, r.stderr);
  const report = JSON.parse(r.stdout) as { findings: { package: { name: string }; paths: string[][]; morePaths: number; directDependencies: string[] }[] };
  const underscore = report.findings.find((f) => f.package.name === 'underscore');
  assert.deepEqual(underscore?.paths, [['host@1.0.0', 'npm-license@0.3.3', 'underscore@1.4.4']]);
  assert.equal(underscore?.morePaths, 0);
  assert.deepEqual(underscore?.directDependencies, ['npm-license@0.3.3']);

  const human = runCli(['audit', dir, '--db', GHSA_NPM, '--fix-advice'], { cacheDir });
  assert.equal(human.status, 1, human.stderr);
  assert.doesNotMatch(human.stdout, /plugin@1\.0\.0/);
});
