import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { auditReport } from '../support/audit-report.js';
import { GHSA_NPM, runCli, tempDir, tempTree } from '../support/shared.js';

/*
 * Lockfiles the package manager no longer installs as they are, because a file beside them moved
 * after locking: a workspace member, an override, a pnpm-workspace.yaml setting, a .yarnrc.yml
 * packageExtensions. Each was written by the real tool (npm 11.19, pnpm 10.34.9, yarn 4.9.2 and
 * 1.22.22 against the npm registry) and then edited as a developer would; the frozen install
 * (npm ci, pnpm install --frozen-lockfile, yarn install --immutable) refuses each changed one and a
 * plain install resolves anew, so the audit warns that the lockfile is stale, naming the file that
 * moved. yarn 1 installs a member's unlocked dependency even with --frozen-lockfile: refused.
 * The audits used to pass all of them in silence.
 */

const cacheDir = tempDir('cli-npm-stale-cache');

function audit(dir: string): { status: number; stale: string[]; stderr: string } {
  const r = runCli(['audit', dir, '--db', GHSA_NPM, '--no-fetch', '--format', 'json'], { cacheDir });
  const stale = r.stdout === '' ? [] : auditReport(r.stdout).warnings.filter((w) => w.includes('not locked as asked')).map((w) => w.split(`${dir}/`).join(''));
  return { status: r.status, stale, stderr: r.stderr };
}

const MS = '"integrity": "sha512-6FlzubTLZG3J2a/NVCAleEhjzq5oxgHyaCU9yYXvcLsvoVaHJq/s5xXI6/XXP6tz7R9xAOtHnSO/tXtF3WRTlA=="';

/** npm 11.19 install --package-lock-only: workspaces ["packages/*"], packages/a depending on ms 2.1.3. */
const NPM_WORKSPACE_LOCK = `{
  "name": "ws1",
  "version": "1.0.0",
  "lockfileVersion": 3,
  "requires": true,
  "packages": {
    "": { "name": "ws1", "version": "1.0.0", "workspaces": ["packages/*"] },
    "node_modules/a": { "resolved": "packages/a", "link": true },
    "node_modules/ms": { "version": "2.1.3", ${MS}, "license": "MIT" },
    "packages/a": { "version": "1.0.0", "dependencies": { "ms": "2.1.3" } }
  }
}
`;

test('npm workspaces: a member added, or a member\'s dependency changed, after locking makes package-lock.json stale, naming the member\'s package.json', () => {
  // npm 11.19 ci refuses both ("Missing: b@1.0.0 from lock file", "Missing: lodash@4.17.4 from
  // lock file"); npm install installs lodash 4.17.4. The audit read the root's package.json only.
  const files = {
    'package.json': '{"name":"ws1","version":"1.0.0","workspaces":["packages/*"]}\n',
    'packages/a/package.json': '{"name":"a","version":"1.0.0","dependencies":{"ms":"2.1.3"}}\n',
    'package-lock.json': NPM_WORKSPACE_LOCK,
  };
  assert.deepEqual(audit(tempTree('npm-ws-current', files)).stale, []);

  const added = audit(tempTree('npm-ws-added', { ...files, 'packages/b/package.json': '{"name":"b","version":"1.0.0","dependencies":{"lodash":"4.17.4"}}\n' }));
  assert.equal(added.status, 0, added.stderr);
  assert.deepEqual(added.stale, [
    'packages/b/package.json: workspace packages/b (not in the lockfile) not locked as asked in package-lock.json: the lockfile is older than packages/b/package.json; the audit covers what it locks',
  ]);

  const changed = audit(tempTree('npm-ws-changed', { ...files, 'packages/a/package.json': '{"name":"a","version":"1.0.0","dependencies":{"ms":"2.1.3","lodash":"4.17.4"}}\n' }));
  assert.deepEqual(changed.stale, [
    'packages/a/package.json: lodash@4.17.4 (workspace packages/a) not locked as asked in package-lock.json: the lockfile is older than packages/a/package.json; the audit covers what it locks',
  ]);
});

/** npm 11.19 install --package-lock-only: mkdirp 0.5.1, its minimist overridden to 1.2.6. */
const NPM_OVERRIDE_LOCK = `{
  "name": "ov2",
  "version": "1.0.0",
  "lockfileVersion": 3,
  "requires": true,
  "packages": {
    "": { "name": "ov2", "version": "1.0.0", "dependencies": { "mkdirp": "0.5.1" } },
    "node_modules/minimist": {
      "version": "1.2.6",
      "integrity": "sha512-Jsjnk4bw3YJqYzbdyBiNsPWHPfO++UGG749Cxs6peCu5Xg4nrena6OVxOYxrQTqww0Jmwt+Ref8rggumkTLz9Q==",
      "license": "MIT"
    },
    "node_modules/mkdirp": {
      "version": "0.5.1",
      "integrity": "sha512-SknJC52obPfGQPnjIkXbmA6+5H15E+fR+E4iR2oQ3zzCLbd7/ONua69R/Gw7AgkTLsRG+r5fzksYwWe1AgTyWA==",
      "license": "MIT",
      "dependencies": { "minimist": "0.0.8" },
      "bin": { "mkdirp": "bin/cmd.js" }
    }
  }
}
`;

test('npm overrides to an npm: alias or a tarball URL are checked as npm ci checks them: changed after locking, the lockfile is stale', () => {
  // npm 11.19 ci refuses the lockfile under `npm:minimist@0.0.8` and under minimist 0.0.8's
  // tarball URL (EUSAGE), and npm install installs minimist 0.0.8; it installs the lockfile's
  // 1.2.6 under `npm:minimist@1.2.6` and 1.2.6's tarball URL. Only ranges used to be checked.
  const app = (override: string): string =>
    tempTree('npm-override', { 'package.json': JSON.stringify({ name: 'ov2', version: '1.0.0', dependencies: { mkdirp: '0.5.1' }, overrides: { minimist: override } }), 'package-lock.json': NPM_OVERRIDE_LOCK });
  for (const override of ['npm:minimist@0.0.8', 'https://registry.npmjs.org/minimist/-/minimist-0.0.8.tgz']) {
    const r = audit(app(override));
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.stale, [`package.json: minimist@${override} (an override) not locked as asked in package-lock.json: the lockfile is older than package.json; the audit covers what it locks`]);
  }
  for (const override of ['1.2.6', 'npm:minimist@1.2.6', 'https://registry.npmjs.org/minimist/-/minimist-1.2.6.tgz']) assert.deepEqual(audit(app(override)).stale, [], override);
});

/** pnpm 10.34.9 install --lockfile-only: mkdirp 0.5.1, pnpm-workspace.yaml overriding minimist to 1.2.6. */
const PNPM10_OVERRIDE_LOCK = `lockfileVersion: '9.0'

settings:
  autoInstallPeers: true
  excludeLinksFromLockfile: false

overrides:
  minimist: 1.2.6

importers:

  .:
    dependencies:
      mkdirp:
        specifier: 0.5.1
        version: 0.5.1

packages:

  minimist@1.2.6:
    resolution: {integrity: sha512-Jsjnk4bw3YJqYzbdyBiNsPWHPfO++UGG749Cxs6peCu5Xg4nrena6OVxOYxrQTqww0Jmwt+Ref8rggumkTLz9Q==}

  mkdirp@0.5.1:
    resolution: {integrity: sha512-SknJC52obPfGQPnjIkXbmA6+5H15E+fR+E4iR2oQ3zzCLbd7/ONua69R/Gw7AgkTLsRG+r5fzksYwWe1AgTyWA==}
    hasBin: true

snapshots:

  minimist@1.2.6: {}

  mkdirp@0.5.1:
    dependencies:
      minimist: 1.2.6
`;

test('pnpm 10: pnpm-workspace.yaml overrides changed or removed after locking make pnpm-lock.yaml stale, naming the file that moved', () => {
  // pnpm 10.34.9 install --frozen-lockfile refuses both (ERR_PNPM_LOCKFILE_CONFIG_MISMATCH), and
  // a plain install installs minimist 0.0.8. The audit compared package.json's overrides only.
  const manifest = '{"name":"p10","version":"1.0.0","dependencies":{"mkdirp":"0.5.1"}}\n';
  const app = (workspace: string | null, packageJson = manifest): string =>
    tempTree('pnpm10-overrides', { 'package.json': packageJson, 'pnpm-lock.yaml': PNPM10_OVERRIDE_LOCK, ...(workspace === null ? {} : { 'pnpm-workspace.yaml': workspace }) });
  assert.deepEqual(audit(app('overrides:\n  minimist: 1.2.6\n')).stale, []);

  const changed = audit(app('overrides:\n  minimist: 0.0.8\n'));
  assert.equal(changed.status, 0, changed.stderr);
  assert.deepEqual(changed.stale, [
    'pnpm-workspace.yaml: minimist@0.0.8 (an override) not locked as asked in pnpm-lock.yaml: the lockfile is older than pnpm-workspace.yaml; the audit covers what it locks',
  ]);
  assert.deepEqual(audit(app(null)).stale, [
    'package.json: minimist@1.2.6 (an override no longer set) not locked as asked in pnpm-lock.yaml: the lockfile is older than package.json; the audit covers what it locks',
  ]);
  // package.json's overrides, when it has any, are the ones pnpm 10 applies (it locks those).
  const both = '{"name":"p10","version":"1.0.0","dependencies":{"mkdirp":"0.5.1"},"pnpm":{"overrides":{"minimist":"1.2.6"}}}\n';
  assert.deepEqual(audit(app('overrides:\n  minimist: 0.0.8\n', both)).stale, []);
});

test('yarn 1 workspaces: a member\'s dependency the lockfile does not lock is refused, since yarn 1 installs it even with --frozen-lockfile', () => {
  // yarn 1.22.22: packages/a's minimist 0.0.8 added after locking; `yarn install
  // --frozen-lockfile` installs minimist 0.0.8 and leaves yarn.lock as it is (a root dependency
  // added so is refused by yarn). The audit passed with a warning naming the root's package.json.
  const lock = [
    '# THIS IS AN AUTOGENERATED FILE. DO NOT EDIT THIS FILE DIRECTLY.',
    '# yarn lockfile v1',
    '',
    '',
    'ms@2.1.3:',
    '  version "2.1.3"',
    '  resolved "https://registry.yarnpkg.com/ms/-/ms-2.1.3.tgz#574c8138ce1d2b5861f0b44579dbadd60c6615b2"',
    '  integrity sha512-6FlzubTLZG3J2a/NVCAleEhjzq5oxgHyaCU9yYXvcLsvoVaHJq/s5xXI6/XXP6tz7R9xAOtHnSO/tXtF3WRTlA==',
    '',
  ].join('\n');
  const files = {
    'package.json': '{"name":"y1","version":"1.0.0","private":true,"workspaces":["packages/*"]}\n',
    'packages/a/package.json': '{"name":"a","version":"1.0.0","dependencies":{"ms":"2.1.3"}}\n',
    'yarn.lock': lock,
  };
  const current = audit(tempTree('yarn1-ws', files));
  assert.equal(current.status, 0, current.stderr);
  const changed = audit(tempTree('yarn1-ws-changed', { ...files, 'packages/a/package.json': '{"name":"a","version":"1.0.0","dependencies":{"ms":"2.1.3","minimist":"0.0.8"}}\n' }));
  assert.equal(changed.status, 2);
  const lines = changed.stderr.trim().split('\n');
  assert.equal(lines.length, 1, changed.stderr);
  assert.match(lines[0] ?? '', /yarn\.lock: packages\/a\/package\.json asks for minimist@0\.0\.8, which the lockfile does not lock: yarn 1 installs/);
});

/** yarn 4.9.2 install --mode=update-lockfile: workspaces ["packages/*"], packages/a depending on ms 2.1.3. */
const BERRY_WORKSPACE_LOCK = `# This file is generated by running "yarn install" inside your project.
# Manual changes might be lost - proceed with caution!

__metadata:
  version: 8
  cacheKey: 10c0

"a@workspace:packages/a":
  version: 0.0.0-use.local
  resolution: "a@workspace:packages/a"
  dependencies:
    ms: "npm:2.1.3"
  languageName: unknown
  linkType: soft

"ms@npm:2.1.3":
  version: 2.1.3
  resolution: "ms@npm:2.1.3"
  checksum: 10c0/d924b57e7312b3b63ad21fc5b3dc0af5e78d61a1fc7cfb5457edaf26326bf62be5307cc87ffb6862ef1c2b33b0233cdb5d4f01c4c958cc0d660948b65a287a48
  languageName: node
  linkType: hard

"yb2@workspace:.":
  version: 0.0.0-use.local
  resolution: "yb2@workspace:."
  languageName: unknown
  linkType: soft
`;

test('yarn berry: a member added or a .yarnrc.yml packageExtensions added after locking makes yarn.lock stale, naming the file', () => {
  // yarn 4.9.2 install --immutable refuses both (YN0028); a plain install locks packages/b's
  // lodash 4.17.4, and the lodash 4.17.4 the extension adds to ms.
  const files = {
    'package.json': '{"name":"yb2","version":"1.0.0","private":true,"packageManager":"yarn@4.9.2","workspaces":["packages/*"]}\n',
    'packages/a/package.json': '{"name":"a","version":"1.0.0","dependencies":{"ms":"2.1.3"}}\n',
    '.yarnrc.yml': 'nodeLinker: node-modules\n',
    'yarn.lock': BERRY_WORKSPACE_LOCK,
  };
  assert.deepEqual(audit(tempTree('berry-ws', files)).stale, []);
  const added = audit(tempTree('berry-ws-added', { ...files, 'packages/b/package.json': '{"name":"b","version":"1.0.0","dependencies":{"lodash":"4.17.4"}}\n' }));
  assert.equal(added.status, 0, added.stderr);
  assert.deepEqual(added.stale, [
    'packages/b/package.json: workspace packages/b (not in the lockfile) not locked as asked in yarn.lock: the lockfile is older than packages/b/package.json; the audit covers what it locks',
  ]);
  const extension = 'nodeLinker: node-modules\npackageExtensions:\n  "ms@*":\n    dependencies:\n      lodash: "4.17.4"\n';
  assert.deepEqual(audit(tempTree('berry-ext', { ...files, '.yarnrc.yml': extension })).stale, [
    '.yarnrc.yml: lodash@4.17.4 (packageExtensions of ms@*) not locked as asked in yarn.lock: the lockfile is older than .yarnrc.yml; the audit covers what it locks',
  ]);
  // An extension of a package the lockfile does not hold adds nothing.
  assert.deepEqual(audit(tempTree('berry-ext-other', { ...files, '.yarnrc.yml': extension.replace('ms@*', 'debug@*') })).stale, []);
});

test('yarn berry: a parent directory\'s .yarnrc.yml packageExtensions added after locking makes yarn.lock stale, naming that file', () => {
  // yarn 4.9.2 reads every .yarnrc.yml from the project up to the root: run in app/, with
  // is-number 7.0.0 locked and a parent's .yarnrc.yml then extending it with minimist 0.0.8,
  // install --immutable refuses (YN0028) and a plain install locks minimist 0.0.8. The audit read
  // the project's own .yarnrc.yml only, and passed.
  const files = {
    'app/package.json': '{"name":"yb2","version":"1.0.0","private":true,"packageManager":"yarn@4.9.2","workspaces":["packages/*"]}\n',
    'app/packages/a/package.json': '{"name":"a","version":"1.0.0","dependencies":{"ms":"2.1.3"}}\n',
    'app/.yarnrc.yml': 'nodeLinker: node-modules\n',
    'app/yarn.lock': BERRY_WORKSPACE_LOCK,
  };
  const extension = 'packageExtensions:\n  "ms@*":\n    dependencies:\n      lodash: "4.17.4"\n';
  const root = tempTree('berry-parent-ext', { ...files, '.yarnrc.yml': extension });
  const r = audit(join(root, 'app'));
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(r.stale, [
    `${root}/.yarnrc.yml: lodash@4.17.4 (packageExtensions of ms@*) not locked as asked in yarn.lock: the lockfile is older than .yarnrc.yml; the audit covers what it locks`,
  ]);
  // The project's own entry for the same descriptor wins over the parent's (yarn 4.9.2 locks the
  // project's minimist 1.2.8 over a parent's 0.0.8).
  const own = tempTree('berry-parent-ext-own', { ...files, '.yarnrc.yml': extension, 'app/.yarnrc.yml': `${extension.replace('4.17.4', '4.17.21')}nodeLinker: node-modules\n` });
  assert.deepEqual(audit(join(own, 'app')).stale, [
    '.yarnrc.yml: lodash@4.17.21 (packageExtensions of ms@*) not locked as asked in yarn.lock: the lockfile is older than .yarnrc.yml; the audit covers what it locks',
  ]);
});

test('a lockfileVersion 1 package-lock.json (no `packages`) out of step with package.json is stale, as npm ci refuses it', () => {
  // npm 11.19 ci refuses both (EUSAGE: "Invalid: lock file's ms@2.1.3 does not satisfy ms@2.1.2",
  // "Missing: minimist@0.0.8 from lock file"); npm install installs what package.json asks. Only
  // v2/v3 files were compared with package.json.
  const lock = JSON.stringify({
    name: 'v1',
    version: '1.0.0',
    lockfileVersion: 1,
    requires: true,
    dependencies: {
      minimist: { version: '1.2.6', resolved: 'https://registry.npmjs.org/minimist/-/minimist-1.2.6.tgz', integrity: 'sha512-Jsjnk4bw3YJqYzbdyBiNsPWHPfO++UGG749Cxs6peCu5Xg4nrena6OVxOYxrQTqww0Jmwt+Ref8rggumkTLz9Q==' },
      mkdirp: {
        version: '0.5.1',
        resolved: 'https://registry.npmjs.org/mkdirp/-/mkdirp-0.5.1.tgz',
        integrity: 'sha512-SknJC52obPfGQPnjIkXbmA6+5H15E+fR+E4iR2oQ3zzCLbd7/ONua69R/Gw7AgkTLsRG+r5fzksYwWe1AgTyWA==',
        requires: { minimist: '0.0.8' },
      },
      ms: { version: '2.1.3', resolved: 'https://registry.npmjs.org/ms/-/ms-2.1.3.tgz', integrity: 'sha512-6FlzubTLZG3J2a/NVCAleEhjzq5oxgHyaCU9yYXvcLsvoVaHJq/s5xXI6/XXP6tz7R9xAOtHnSO/tXtF3WRTlA==' },
    },
  });
  const app = (manifest: Record<string, unknown>): string => tempTree('npm-v1-stale', { 'package.json': JSON.stringify({ name: 'v1', version: '1.0.0', ...manifest }), 'package-lock.json': lock });
  assert.deepEqual(audit(app({ dependencies: { mkdirp: '0.5.1', ms: '2.1.3' }, overrides: { minimist: '1.2.6' } })).stale, []);
  const changed = audit(app({ dependencies: { mkdirp: '0.5.1', ms: '2.1.2' }, overrides: { minimist: '0.0.8' } }));
  assert.equal(changed.status, 0, changed.stderr);
  assert.deepEqual(changed.stale, [
    'package.json: ms@2.1.2, minimist@0.0.8 (an override) not locked as asked in package-lock.json: the lockfile is older than package.json; the audit covers what it locks',
  ]);
});

test('yarn berry: the home directory\'s .yarnrc.yml packageExtensions make yarn.lock stale, naming that file', () => {
  // yarn 4.9.2 reads ~/.yarnrc.yml too, wherever the project is: is-number 7.0.0 locked, then
  // HOME's .yarnrc.yml extending it with minimist 0.0.8, install --immutable refuses (YN0028) and
  // a plain install would lock minimist 0.0.8. The audit read the project's and its parents' only.
  const lock = `__metadata:
  version: 8
  cacheKey: 10c0

"is-number@npm:7.0.0":
  version: 7.0.0
  resolution: "is-number@npm:7.0.0"
  checksum: 10c0/b4686d0d3053146095ccd45346461bc8e53b80aeb7671cc52a4de02dbbf7dc0d1d2a986e2fe4ae206984b4d34ef37e8b795ebc4f4295c978373e6575e295d811
  languageName: node
  linkType: hard

"y1@workspace:.":
  version: 0.0.0-use.local
  resolution: "y1@workspace:."
  dependencies:
    is-number: "npm:7.0.0"
  languageName: unknown
  linkType: soft
`;
  const dir = tempTree('berry-home-app', { 'package.json': '{"name":"y1","version":"1.0.0","dependencies":{"is-number":"7.0.0"}}\n', '.yarnrc.yml': 'nodeLinker: node-modules\n', 'yarn.lock': lock });
  const home = tempTree('berry-home', { '.yarnrc.yml': 'packageExtensions:\n  "is-number@*":\n    dependencies:\n      minimist: "0.0.8"\n' });
  const run = (env: NodeJS.ProcessEnv): string[] => {
    const r = runCli(['audit', dir, '--db', GHSA_NPM, '--no-fetch', '--format', 'json'], { cacheDir, env });
    assert.equal(r.status, 0, r.stderr);
    return auditReport(r.stdout).warnings.filter((w) => w.includes('not locked as asked'));
  };
  assert.deepEqual(run({ HOME: tempDir('berry-home-empty') }), []);
  assert.deepEqual(run({ HOME: home }), [
    `${home}/.yarnrc.yml: minimist@0.0.8 (packageExtensions of is-number@*) not locked as asked in ${dir}/yarn.lock: the lockfile is older than .yarnrc.yml; the audit covers what it locks`,
  ]);
});
