import { test } from 'node:test';
import assert from 'node:assert/strict';
import { auditReport } from '../support/audit-report.js';
import { GHSA_NPM, runCli, tempDir, tempTree } from '../support/shared.js';

/*
 * pnpm settings that change what pnpm resolves and that pnpm-lock.yaml records only as a checksum:
 * packageExtensions (package.json's `pnpm.packageExtensions`, pnpm 10's pnpm-workspace.yaml) and a
 * .pnpmfile.cjs readPackage hook. Each lockfile was written by the real tool (pnpm 9.15.9 and
 * 10.34.9 install --lockfile-only against the npm registry): is-number 7.0.0, which depends on
 * nothing, extended with minimist 0.0.8 (GHSA-vh95-rmgr-6w4m, GHSA-xvch-5gv4-984h). Added or
 * changed after locking, pnpm install --frozen-lockfile refuses the lockfile
 * (ERR_PNPM_LOCKFILE_CONFIG_MISMATCH: "packageExtensionsChecksum", "pnpmfileChecksum") and a plain
 * pnpm install installs minimist 0.0.8, which the lockfile does not hold: the audit passed it in
 * silence ("no advisories apply"). It now warns that the lockfile is stale, naming the file.
 */

const cacheDir = tempDir('cli-pnpm-settings-cache');

function audit(dir: string): { status: number; stale: string[]; stderr: string } {
  const r = runCli(['audit', dir, '--db', GHSA_NPM, '--no-fetch', '--format', 'json'], { cacheDir });
  const stale = r.stdout === '' ? [] : auditReport(r.stdout).warnings.filter((w) => w.includes('not locked as asked')).map((w) => w.split(`${dir}/`).join(''));
  return { status: r.status, stale, stderr: r.stderr };
}

const IS_NUMBER = `  is-number@7.0.0:
    resolution: {integrity: sha512-41Cifkg6e8TylSpdtTpeLVMqvSBEVzTttHvERD741+pnZ8ANv0004MRL43QKPDlK9cGvNp6NZWZUBlbGXYxxng==}
    engines: {node: '>=0.12.0'}
`;

/** The lockfile pnpm writes for `{"dependencies":{"is-number":"7.0.0"}}`, `header` after `settings`. */
function lockfile(header: string, extended: boolean): string {
  return `lockfileVersion: '9.0'

settings:
  autoInstallPeers: true
  excludeLinksFromLockfile: false
${header === '' ? '' : `\n${header}\n`}
importers:

  .:
    dependencies:
      is-number:
        specifier: 7.0.0
        version: 7.0.0

packages:

${IS_NUMBER}${
    extended
      ? `
  minimist@0.0.8:
    resolution: {integrity: sha512-miQKw5Hv4NS1Psg2517mV4e4dYNaO3++hjAvLOAzKqZ61rH8NS1SK+vbfBWZ5PY/Me/bEWhUwqMghEW5Fb9T7Q==}
`
      : ''
  }
snapshots:
${
  extended
    ? `
  is-number@7.0.0:
    dependencies:
      minimist: 0.0.8

  minimist@0.0.8: {}
`
    : `
  is-number@7.0.0: {}
`
}`;
}

const EXTENSION = '{"is-number@7":{"dependencies":{"minimist":"0.0.8"}}}';
const manifest = (extensions: string | null): string =>
  `{"name":"pext","version":"1.0.0","dependencies":{"is-number":"7.0.0"}${extensions === null ? '' : `,"pnpm":{"packageExtensions":${extensions}}`}}\n`;

test('pnpm packageExtensions added or changed after locking make pnpm-lock.yaml stale; locked by pnpm 9 or pnpm 10, they are in sync', () => {
  const pnpm9 = lockfile('packageExtensionsChecksum: 21e6aa9f8c157b605e5d3cfea21b65d1', true);
  const pnpm10 = lockfile('packageExtensionsChecksum: sha256-SQ9x5FjzLCT/5TbUkPziOrUaSNhM3d0tS/iaSHW2lKk=', true);
  for (const locked of [pnpm9, pnpm10]) assert.deepEqual(audit(tempTree('pnpm-ext-locked', { 'package.json': manifest(EXTENSION), 'pnpm-lock.yaml': locked })).stale, []);

  const added = audit(tempTree('pnpm-ext-added', { 'package.json': manifest(EXTENSION), 'pnpm-lock.yaml': lockfile('', false) }));
  assert.equal(added.status, 0, added.stderr);
  assert.deepEqual(added.stale, [
    'package.json: minimist@0.0.8 (packageExtensions of is-number@7) not locked as asked in pnpm-lock.yaml: the lockfile is older than package.json; the audit covers what it locks',
  ]);

  const changed = audit(tempTree('pnpm-ext-changed', { 'package.json': manifest('{"is-number@7":{"dependencies":{"minimist":"0.0.10"}}}'), 'pnpm-lock.yaml': pnpm9 }));
  assert.deepEqual(changed.stale, [
    'package.json: minimist@0.0.10 (packageExtensions of is-number@7) not locked as asked in pnpm-lock.yaml: the lockfile is older than package.json; the audit covers what it locks',
  ]);

  // Removed: pnpm --frozen-lockfile refuses it too, and a plain install drops minimist.
  const removed = audit(tempTree('pnpm-ext-removed', { 'package.json': manifest(null), 'pnpm-lock.yaml': pnpm10 }));
  assert.deepEqual(removed.stale, [
    'package.json: packageExtensions (no longer set) not locked as asked in pnpm-lock.yaml: the lockfile is older than package.json; the audit covers what it locks',
  ]);
});

test('pnpm 10: pnpm-workspace.yaml packageExtensions added after locking make pnpm-lock.yaml stale, naming pnpm-workspace.yaml', () => {
  const workspace = 'packageExtensions:\n  is-number@7:\n    dependencies:\n      minimist: 0.0.8\n';
  const locked = lockfile('packageExtensionsChecksum: sha256-SQ9x5FjzLCT/5TbUkPziOrUaSNhM3d0tS/iaSHW2lKk=', true);
  assert.deepEqual(audit(tempTree('pnpm-ext-ws-locked', { 'package.json': manifest(null), 'pnpm-workspace.yaml': workspace, 'pnpm-lock.yaml': locked })).stale, []);
  const added = audit(tempTree('pnpm-ext-ws-added', { 'package.json': manifest(null), 'pnpm-workspace.yaml': workspace, 'pnpm-lock.yaml': lockfile('', false) }));
  assert.deepEqual(added.stale, [
    'pnpm-workspace.yaml: minimist@0.0.8 (packageExtensions of is-number@7) not locked as asked in pnpm-lock.yaml: the lockfile is older than pnpm-workspace.yaml; the audit covers what it locks',
  ]);
});

const HOOK = "module.exports = { hooks: { readPackage(pkg) { if (pkg.name === 'is-number') pkg.dependencies = { ...pkg.dependencies, minimist: '0.0.8' }; return pkg; } } };\n";

test('a .pnpmfile.cjs added, changed or removed after locking makes pnpm-lock.yaml stale; locked by pnpm 9 or pnpm 10 (CRLF line ends included), it is in sync', () => {
  const pnpm9 = lockfile('pnpmfileChecksum: bzwv7nv57egdqhrn4joa73biy4', true);
  const pnpm10 = lockfile('pnpmfileChecksum: sha256-khb9yhhdr6aDyCjTWtl0TDh5gnVdK9eeerBkp5K7A14=', true);
  for (const locked of [pnpm9, pnpm10]) {
    assert.deepEqual(audit(tempTree('pnpmfile-locked', { 'package.json': manifest(null), '.pnpmfile.cjs': HOOK, 'pnpm-lock.yaml': locked })).stale, []);
  }
  // pnpm hashes the file with `\n` line ends: pnpm 9.15.9 and 10.34.9 wrote these for a CRLF file.
  const crlf = 'module.exports = {\r\n  hooks: {}\r\n};\r\n';
  for (const sum of ['zg4enjmsjjmgcfgpzr75pinace', 'sha256-INI/YG/vcmicUU0Uc7Em3rUiiTzdAvbxvn+FXpjhzj0=']) {
    assert.deepEqual(audit(tempTree('pnpmfile-crlf', { 'package.json': manifest(null), '.pnpmfile.cjs': crlf, 'pnpm-lock.yaml': lockfile(`pnpmfileChecksum: ${sum}`, false) })).stale, []);
  }

  const added = audit(tempTree('pnpmfile-added', { 'package.json': manifest(null), '.pnpmfile.cjs': HOOK, 'pnpm-lock.yaml': lockfile('', false) }));
  assert.equal(added.status, 0, added.stderr);
  assert.deepEqual(added.stale, [
    '.pnpmfile.cjs: what the hooks of .pnpmfile.cjs change not locked as asked in pnpm-lock.yaml: the lockfile is older than .pnpmfile.cjs; the audit covers what it locks',
  ]);
  const changed = audit(tempTree('pnpmfile-changed', { 'package.json': manifest(null), '.pnpmfile.cjs': HOOK.replace('0.0.8', '0.0.10'), 'pnpm-lock.yaml': pnpm9 }));
  assert.equal(changed.stale.length, 1);
  const removed = audit(tempTree('pnpmfile-removed', { 'package.json': manifest(null), 'pnpm-lock.yaml': pnpm10 }));
  assert.deepEqual(removed.stale, [
    '.pnpmfile.cjs: the hooks of a .pnpmfile.cjs no longer there not locked as asked in pnpm-lock.yaml: the lockfile is older than .pnpmfile.cjs; the audit covers what it locks',
  ]);
});

test('a .pnpmfile.cjs that exports no hooks is not a change: pnpm records no checksum for it', () => {
  // pnpm 9.15.9 wrote no pnpmfileChecksum for an empty .pnpmfile.cjs, one of comments only and
  // `module.exports = {}`, and one for `module.exports = { hooks: {} }`: the audit warned of a
  // stale lockfile for each hookless one, which are in sync.
  const unlocked = lockfile('', false);
  const hookless = ['', '// hooks to come\n', "'use strict';\n/* readPackage(pkg) { return pkg } */\nmodule.exports = {} // none yet\r\n", "module.exports = {} // '\n"];
  for (const text of hookless) {
    assert.deepEqual(audit(tempTree('pnpmfile-hookless', { 'package.json': manifest(null), '.pnpmfile.cjs': text, 'pnpm-lock.yaml': unlocked })).stale, [], JSON.stringify(text));
  }
  // Anything else may export hooks: compared by its checksum, as before.
  const stale = [
    '.pnpmfile.cjs: what the hooks of .pnpmfile.cjs change not locked as asked in pnpm-lock.yaml: the lockfile is older than .pnpmfile.cjs; the audit covers what it locks',
  ];
  for (const text of ['module.exports = { hooks: {} }\n', 'module.exports = {}\nmodule.exports.hooks = {}\n', 'const s = "/*"; module.exports = {} /* */\n']) {
    assert.deepEqual(audit(tempTree('pnpmfile-hooks', { 'package.json': manifest(null), '.pnpmfile.cjs': text, 'pnpm-lock.yaml': unlocked })).stale, stale, JSON.stringify(text));
  }
  // Hooks commented out after locking: pnpm no longer runs them (ERR_PNPM_LOCKFILE_CONFIG_MISMATCH under --frozen-lockfile).
  const locked = lockfile('pnpmfileChecksum: bzwv7nv57egdqhrn4joa73biy4', true);
  assert.equal(audit(tempTree('pnpmfile-commented', { 'package.json': manifest(null), '.pnpmfile.cjs': `// ${HOOK}`, 'pnpm-lock.yaml': locked })).stale.length, 1);
});

test('an .npmrc setting lockfile=false makes pnpm-lock.yaml stale: pnpm neither reads nor writes it', () => {
  // pnpm 9.15.9 and 10.34.9 install --frozen-lockfile refuse to run (ERR_PNPM_NO_LOCKFILE,
  // "pnpm-lock.yaml is absent") and a plain pnpm install resolves every dependency anew.
  const files = { 'package.json': manifest(null), 'pnpm-lock.yaml': lockfile('', false) };
  assert.deepEqual(audit(tempTree('pnpm-npmrc-lockfile', { ...files, '.npmrc': 'lockfile=true\n' })).stale, []);
  // A setting inside an ini section is that section's, not pnpm's.
  assert.deepEqual(audit(tempTree('pnpm-npmrc-section', { ...files, '.npmrc': '[x]\nlockfile=false\n' })).stale, []);
  const off = audit(tempTree('pnpm-npmrc-lockfile-off', { ...files, '.npmrc': 'auto-install-peers=true\nlockfile = false\n' }));
  assert.equal(off.status, 0, off.stderr);
  assert.deepEqual(off.stale, [
    '.npmrc: every dependency (lockfile=false: pnpm does not read the lockfile) not locked as asked in pnpm-lock.yaml: the lockfile is older than .npmrc; the audit covers what it locks',
  ]);
});

test('the hooks file an .npmrc names (pnpmfile=) is the one checked, not a .pnpmfile.cjs beside it; under ignore-pnpmfile none is', () => {
  // pnpm 9.15.9 loads `pnpmfile=hooks.cjs` and locks its checksum: a change of hooks.cjs makes
  // install --frozen-lockfile refuse the lockfile and a plain install add minimist 0.0.8, whatever
  // a .pnpmfile.cjs holds. The audit compared .pnpmfile.cjs: a copy of the locked hooks there hid
  // the change, and the named file alone read as a .pnpmfile.cjs removed.
  const pnpm9 = lockfile('pnpmfileChecksum: bzwv7nv57egdqhrn4joa73biy4', true);
  const npmrc = 'pnpmfile=hooks.cjs\n';
  assert.deepEqual(audit(tempTree('pnpmfile-named-locked', { 'package.json': manifest(null), '.npmrc': npmrc, 'hooks.cjs': HOOK, 'pnpm-lock.yaml': pnpm9 })).stale, []);
  const decoy = audit(tempTree('pnpmfile-named-changed', { 'package.json': manifest(null), '.npmrc': npmrc, '.pnpmfile.cjs': HOOK, 'hooks.cjs': HOOK.replace('0.0.8', '0.0.10'), 'pnpm-lock.yaml': pnpm9 }));
  assert.deepEqual(decoy.stale, [
    'hooks.cjs: what the hooks of hooks.cjs change not locked as asked in pnpm-lock.yaml: the lockfile is older than hooks.cjs; the audit covers what it locks',
  ]);
  // ignore-pnpmfile: pnpm 9.15.9 install --frozen-lockfile refuses the lockfile and a plain
  // install drops minimist, which the locked hooks added.
  const ignored = audit(tempTree('pnpmfile-ignored', { 'package.json': manifest(null), '.npmrc': 'ignore-pnpmfile=true\n', '.pnpmfile.cjs': HOOK, 'pnpm-lock.yaml': pnpm9 }));
  assert.deepEqual(ignored.stale, [
    '.npmrc: the hooks pnpm no longer runs (ignore-pnpmfile) not locked as asked in pnpm-lock.yaml: the lockfile is older than .npmrc; the audit covers what it locks',
  ]);
});

/** What pnpm 9.15.9 locks for `{"dependencies":{"ajv-keywords":"3.5.2"}}` under auto-install-peers=false: no ajv, its peer. */
const PEERS_OFF = `lockfileVersion: '9.0'

settings:
  autoInstallPeers: false
  excludeLinksFromLockfile: false

importers:

  .:
    dependencies:
      ajv-keywords:
        specifier: 3.5.2
        version: 3.5.2

packages:

  ajv-keywords@3.5.2:
    resolution: {integrity: sha512-5p6WTN0DdTGVQk6VjcEju19IgaHudalcfabD7yhDGeA6bcQnmL+CpveLJq/3hvfwd1aof6L386Ougkx6RfyMIQ==}
    peerDependencies:
      ajv: ^6.9.1

snapshots:

  ajv-keywords@3.5.2: {}
`;

test('a lockfile locked with autoInstallPeers false is stale where pnpm installs with true (its default): a plain install adds the peers', () => {
  // pnpm 9.15.9, auto-install-peers=false removed from the .npmrc: install --frozen-lockfile
  // refuses (ERR_PNPM_LOCKFILE_CONFIG_MISMATCH "settings.autoInstallPeers") and a plain install
  // adds ajv 6 and its four dependencies, none of them in the lockfile.
  const files = { 'package.json': '{"name":"peers","version":"1.0.0","dependencies":{"ajv-keywords":"3.5.2"}}\n', 'pnpm-lock.yaml': PEERS_OFF };
  assert.deepEqual(audit(tempTree('pnpm-peers-off', { ...files, '.npmrc': 'auto-install-peers=false\n' })).stale, []);
  const unset = audit(tempTree('pnpm-peers-default', files));
  assert.equal(unset.status, 0, unset.stderr);
  assert.deepEqual(unset.stale, [
    '.npmrc: autoInstallPeers true (settings.autoInstallPeers is false) not locked as asked in pnpm-lock.yaml: the lockfile is older than .npmrc; the audit covers what it locks',
  ]);
  // pnpm 9 takes every value but `false` as true.
  assert.equal(audit(tempTree('pnpm-peers-zero', { ...files, '.npmrc': 'auto-install-peers=0\n' })).stale.length, 1);
  // pnpm 10.34.9: pnpm-workspace.yaml's autoInstallPeers wins over the .npmrc's.
  const workspace = (value: string): string => `packages:\n  - .\nautoInstallPeers: ${value}\n`;
  assert.deepEqual(audit(tempTree('pnpm-peers-ws', { ...files, '.npmrc': 'auto-install-peers=true\n', 'pnpm-workspace.yaml': workspace('false') })).stale, []);
  assert.deepEqual(audit(tempTree('pnpm-peers-ws-on', { ...files, '.npmrc': 'auto-install-peers=false\n', 'pnpm-workspace.yaml': workspace('true') })).stale, [
    'pnpm-workspace.yaml: autoInstallPeers true (settings.autoInstallPeers is false) not locked as asked in pnpm-lock.yaml: the lockfile is older than pnpm-workspace.yaml; the audit covers what it locks',
  ]);
});

/** What pnpm 9.15.9 locks for handlebars 4.7.8 with its optional dependency uglify-js in `pnpm.ignoredOptionalDependencies`. */
const IGNORED_OPTIONAL = `
lockfileVersion: '9.0'

settings:
  autoInstallPeers: true
  excludeLinksFromLockfile: false

importers:

  .:
    dependencies:
      handlebars:
        specifier: 4.7.8
        version: 4.7.8

packages:

  handlebars@4.7.8:
    resolution: {integrity: sha512-vafaFqs8MZkRrSX7sFVUdo3ap/eNiLnb4IakshzvP56X5Nr1iGKAIqdX6tMlm6HcNRIkr6AxO5jFEoJzzpT8aQ==}
    engines: {node: '>=0.4.7'}
    hasBin: true

  minimist@1.2.8:
    resolution: {integrity: sha512-2yyAR8qBkN3YuheJanUpWC5U3bb5osDywNB8RzDVlDwDHbocAJveqqj1u8+SVD7jkWT4yvsHCpWqqWqAxb0zCA==}

  neo-async@2.6.2:
    resolution: {integrity: sha512-Yd3UES5mWCSqR+qNT93S3UoYUkqAZ9lLg8a7g9rimsWmYGK8cVToA4/sF3RrshdyV3sAGMXVUmpMYOw+dLpOuw==}

  source-map@0.6.1:
    resolution: {integrity: sha512-UjgapumWlbMhkBgzT7Ykc5YXUT46F0iKu8SGXq0bcwP5dz/h0Plj6enJqjz1Zbq2l5WaqYnrVbwWOWMyF3F47g==}
    engines: {node: '>=0.10.0'}

  wordwrap@1.0.0:
    resolution: {integrity: sha512-gvVzJFlPycKc5dZN4yPkP8w7Dc37BtP1yczEneOb4uq34pXZcvrtRTmWV8W+Ume+XCxKgbjM+nevkyFPMybd4Q==}

ignoredOptionalDependencies:
  - uglify-js

snapshots:

  handlebars@4.7.8:
    dependencies:
      minimist: 1.2.8
      neo-async: 2.6.2
      source-map: 0.6.1
      wordwrap: 1.0.0

  minimist@1.2.8: {}

  neo-async@2.6.2: {}

  source-map@0.6.1: {}

  wordwrap@1.0.0: {}
`.slice(1);

test('an ignoredOptionalDependencies entry removed after locking makes pnpm-lock.yaml stale: a plain install adds that optional dependency', () => {
  // pnpm 9.15.9: install --frozen-lockfile refuses (ERR_PNPM_LOCKFILE_CONFIG_MISMATCH
  // "ignoredOptionalDependencies") and a plain install adds uglify-js 3.19.3, not in the lockfile.
  const manifestWith = (pnpm: string): string => `{"name":"p5","version":"1.0.0","dependencies":{"handlebars":"4.7.8"}${pnpm}}\n`;
  const ignoring = manifestWith(',"pnpm":{"ignoredOptionalDependencies":["uglify-js"]}');
  assert.deepEqual(audit(tempTree('pnpm-ignored-optional', { 'package.json': ignoring, 'pnpm-lock.yaml': IGNORED_OPTIONAL })).stale, []);
  const removed = audit(tempTree('pnpm-ignored-optional-removed', { 'package.json': manifestWith(''), 'pnpm-lock.yaml': IGNORED_OPTIONAL }));
  assert.equal(removed.status, 0, removed.stderr);
  assert.deepEqual(removed.stale, [
    'package.json: uglify-js (an optional dependency no longer in ignoredOptionalDependencies) not locked as asked in pnpm-lock.yaml: the lockfile is older than package.json; the audit covers what it locks',
  ]);
  // pnpm 10.34.9 reads the list from pnpm-workspace.yaml when package.json has none.
  const workspace = 'ignoredOptionalDependencies:\n  - uglify-js\n';
  assert.deepEqual(audit(tempTree('pnpm-ignored-optional-ws', { 'package.json': manifestWith(''), 'pnpm-workspace.yaml': workspace, 'pnpm-lock.yaml': IGNORED_OPTIONAL })).stale, []);
});
