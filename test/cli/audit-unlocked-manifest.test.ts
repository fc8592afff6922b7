import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ADVISORY_DB_BUNDLE, runCli, tempDir, tempTree } from '../support/shared.js';
import { freshStore, storeSkips, STORE_KINDS } from '../support/fleet-stores.js';

// Asked before any test is declared: the tests below block on spawnSync, which starved the
// PostgreSQL check when it was asked after them (a 3 s connect timeout, an uncaught error under CI).
const skips = await storeSkips();

/*
 * A directory with a lockfile for one ecosystem and only a manifest for the other: Cargo (or
 * npm) would resolve the unlocked manifest's dependencies anew on every build, so nothing of it
 * can be audited. The report says so in every format instead of passing in silence; the exit
 * code is the audit's as before.
 */

const cacheDir = tempDir('cli-unlocked-cache');
const DB = ['--db', ADVISORY_DB_BUNDLE];

const CARGO_TOML = '[package]\nname = "app"\nversion = "0.1.0"\nedition = "2021"\n\n[dependencies]\nrsa = "0.9"\n';
const CARGO_LOCK = 'version = 4\n\n[[package]]\nname = "app"\nversion = "0.1.0"\n';
const PACKAGE_JSON = '{"name":"app","version":"1.0.0","dependencies":{"lodash":"^4.17.0"}}\n';
const PACKAGE_LOCK = '{"name":"app","version":"1.0.0","lockfileVersion":3,"requires":true,"packages":{"":{"name":"app","version":"1.0.0"}}}\n';

function warningsOf(dir: string): { status: number; human: string; json: string[]; sarif: string[] } {
  const human = runCli(['audit', dir, ...DB], { cacheDir });
  const json = runCli(['audit', dir, ...DB, '--format', 'json'], { cacheDir });
  const sarif = runCli(['audit', dir, ...DB, '--format', 'sarif'], { cacheDir });
  assert.equal(json.status, human.status);
  const notifications = (JSON.parse(sarif.stdout) as { runs: { invocations: { toolExecutionNotifications: { message: { text: string } }[] }[] }[] }).runs[0]?.invocations[0]?.toolExecutionNotifications ?? [];
  return {
    status: human.status,
    human: human.stdout + human.stderr,
    json: (JSON.parse(json.stdout) as { warnings: string[] }).warnings,
    sarif: notifications.map((n) => n.message.text),
  };
}

test('a Cargo.toml nothing locks, beside a package-lock.json: said NOT audited in every format, exit code unchanged', () => {
  const dir = tempTree('unlocked-cargo', { 'Cargo.toml': CARGO_TOML, 'package.json': PACKAGE_JSON, 'package-lock.json': PACKAGE_LOCK });
  const said = `${join(dir, 'Cargo.toml')}: NOT audited: no Cargo.lock locks it (cargo would resolve its dependencies anew); lock it and audit again`;
  const got = warningsOf(dir);
  assert.equal(got.status, 0);
  assert.ok(got.human.includes(`warning: ${said}`), got.human);
  assert.ok(got.json.includes(said), got.json.join('\n'));
  assert.ok(got.sarif.includes(said), got.sarif.join('\n'));
});

test('a package.json no npm, yarn or pnpm lockfile locks, beside a Cargo.lock: said NOT audited', () => {
  const dir = tempTree('unlocked-npm', { 'Cargo.toml': CARGO_TOML.replace(/\[dependencies\][^]*/, ''), 'Cargo.lock': CARGO_LOCK, 'package.json': PACKAGE_JSON });
  const got = warningsOf(dir);
  assert.equal(got.status, 0);
  const said = got.json.filter((w) => w.includes('NOT audited'));
  assert.deepEqual(said, [
    `${join(dir, 'package.json')}: NOT audited: no npm-shrinkwrap.json, package-lock.json, yarn.lock, pnpm-lock.yaml, bun.lock locks it (npm would resolve its dependencies anew); lock it and audit again`,
  ]);
  assert.deepEqual(got.sarif.filter((w) => w.includes('NOT audited')), said);
});

test('a manifest locked elsewhere is not warned about: a Cargo workspace member whose root has the Cargo.lock, an npm workspace member', () => {
  const root = tempTree('locked-elsewhere', {
    'Cargo.toml': '[workspace]\nmembers = ["member"]\n',
    'Cargo.lock': `${CARGO_LOCK}`,
    'package.json': '{"name":"root","private":true,"workspaces":["member"]}\n',
    'package-lock.json': PACKAGE_LOCK,
    'member/Cargo.toml': CARGO_TOML,
    'member/package.json': PACKAGE_JSON,
  });
  // The member's directory is audited with the root's Cargo.lock (what cargo builds it with), and
  // its package.json is the npm workspace's, locked by the root's package-lock.json.
  const got = warningsOf(join(root, 'member'));
  assert.equal(got.status, 0);
  assert.deepEqual(got.json.filter((w) => w.includes('NOT audited')), []);
  // Both are audited with the roots' lockfiles (before: the package-lock.json was not read at all).
  assert.deepEqual(targetsOf(join(root, 'member')), [join(root, 'Cargo.lock'), join(root, 'package-lock.json')]);
  const both = tempTree('locked-beside', { 'Cargo.toml': CARGO_TOML, 'Cargo.lock': CARGO_LOCK, 'package.json': PACKAGE_JSON, 'package-lock.json': PACKAGE_LOCK });
  assert.deepEqual(warningsOf(both).json.filter((w) => w.includes('NOT audited')), []);
});

function targetsOf(dir: string): string[] {
  const r = runCli(['audit', dir, ...DB, '--format', 'json'], { cacheDir });
  assert.ok(r.status === 0 || r.status === 1, r.stderr);
  return (JSON.parse(r.stdout) as { targets: { path: string }[] }).targets.map((t) => t.path);
}

/** Lockfiles in a directory above that are another project's, not the workspace of app/. */
const OTHER_PROJECTS: readonly [string, Record<string, string>][] = [
  ['a package-lock.json of a package.json without workspaces', { 'package.json': '{"name":"other","version":"1.0.0"}\n', 'package-lock.json': PACKAGE_LOCK }],
  ['a yarn.lock alone (a stray /tmp/yarn.lock)', { 'yarn.lock': '# yarn lockfile v1\n\n\nlodash@^4.17.0:\n  version "4.17.21"\n' }],
  ['a pnpm-lock.yaml without pnpm-workspace.yaml', { 'package.json': '{"name":"other","version":"1.0.0"}\n', 'pnpm-lock.yaml': "lockfileVersion: '9.0'\n\nimporters:\n\n  .: {}\n" }],
  ['a workspace root whose workspaces do not list app', { 'package.json': '{"name":"root","private":true,"workspaces":["packages/*","!app"]}\n', 'package-lock.json': PACKAGE_LOCK }],
  ['a pnpm workspace that does not list app', { 'package.json': '{"name":"root","private":true}\n', 'pnpm-workspace.yaml': 'packages:\n  - packages/*\n', 'pnpm-lock.yaml': "lockfileVersion: '9.0'\n\nimporters:\n\n  .: {}\n" }],
];

test("a lockfile above that is another project's does not lock the package.json: said NOT audited, and only app/'s own lockfile read", () => {
  for (const [what, files] of OTHER_PROJECTS) {
    const root = tempTree('unlocked-above', { ...files, 'app/Cargo.toml': CARGO_TOML.replace(/\[dependencies\][^]*/, ''), 'app/Cargo.lock': CARGO_LOCK, 'app/package.json': PACKAGE_JSON });
    const app = join(root, 'app');
    const got = warningsOf(app);
    // Before: no warning, and the audit passed having read nothing of the package.json.
    assert.equal(got.status, 0, what);
    const said = `${join(app, 'package.json')}: NOT audited: no npm-shrinkwrap.json, package-lock.json, yarn.lock, pnpm-lock.yaml, bun.lock locks it (npm would resolve its dependencies anew); lock it and audit again`;
    assert.ok(got.json.includes(said), `${what}: ${got.json.join('\n')}`);
    assert.ok(got.human.includes(`warning: ${said}`), what);
    assert.deepEqual(targetsOf(app), [join(app, 'Cargo.lock')], what);
    // With nothing else in app/, there is nothing to audit: refused, never passed.
    const alone = tempTree('unlocked-above-alone', { ...files, 'app/package.json': PACKAGE_JSON });
    const refused = runCli(['audit', join(alone, 'app'), ...DB], { cacheDir });
    assert.equal(refused.status, 2, `${what}: ${refused.stdout}${refused.stderr}`);
    assert.match(refused.stderr, /no lockfile found/);
  }
});

test('stowage sbom of a directory warns of the manifest nothing locks: its dependencies are in no graph, so not in the SBOM', () => {
  const dir = tempTree('unlocked-sbom', { 'Cargo.toml': CARGO_TOML, 'package.json': PACKAGE_JSON, 'package-lock.json': PACKAGE_LOCK });
  const out = join(tempDir('unlocked-sbom-out'), 'app.cdx.json');
  const r = runCli(['sbom', dir, '--no-licenses', '-o', out], { cacheDir });
  // Before: exit 0, an SBOM without rsa and its dependencies, and not a word.
  assert.equal(r.status, 0, r.stderr);
  assert.ok(r.stderr.includes(`warning: ${join(dir, 'Cargo.toml')}: NOT audited: no Cargo.lock locks it`), r.stderr);
});

for (const kind of STORE_KINDS) {
  test(`fleet add of an npm workspace member without a lockfile is refused, naming the root to add, as a Cargo member's is (${kind})`, { skip: skips[kind] }, async () => {
    const store = await freshStore(kind);
    try {
      const fleet = (...args: string[]) => runCli(['fleet', ...args, '--store', store.store], { cacheDir });
      assert.equal(fleet('init', ...DB).status, 0);
      const root = tempTree('member-fleet', { 'package.json': '{"name":"root","private":true,"workspaces":["member"]}\n', 'package-lock.json': PACKAGE_LOCK, 'member/package.json': PACKAGE_JSON });
      const added = fleet('add', join(root, 'member'));
      // Before: 'no lockfile found' (the member's package.json alone).
      assert.equal(added.status, 2, added.stderr);
      assert.ok(
        added.stderr.includes(`${join(root, 'member')}: a member of the npm workspace in ${root}, which npm installs with ${join(root, 'package-lock.json')}: the fleet keeps an application's files from its directory, so add ${root}`),
        added.stderr,
      );
      // Under another project's lockfile (a stray yarn.lock above): added with its Cargo.lock, and the package.json said NOT audited, as audit says.
      const stray = tempTree('member-fleet-stray', { 'yarn.lock': '# yarn lockfile v1\n', 'app/Cargo.toml': CARGO_TOML.replace(/\[dependencies\][^]*/, ''), 'app/Cargo.lock': CARGO_LOCK, 'app/package.json': PACKAGE_JSON });
      const warned = fleet('add', join(stray, 'app'));
      assert.equal(warned.status, 0, warned.stderr);
      assert.ok(warned.stderr.includes(`warning: ${join(stray, 'app', 'package.json')}: NOT audited`), warned.stderr);
    } finally {
      await store.dispose();
    }
  });

  test(`fleet add warns of the manifest nothing locks, as audit does, also when the content is unchanged (${kind})`, { skip: skips[kind] }, async () => {
    const store = await freshStore(kind);
    try {
      const fleet = (...args: string[]) => runCli(['fleet', ...args, '--store', store.store], { cacheDir });
      assert.equal(fleet('init', ...DB).status, 0);
      const dir = tempTree('unlocked-fleet', { 'Cargo.toml': CARGO_TOML, 'package.json': PACKAGE_JSON, 'package-lock.json': PACKAGE_LOCK });
      const added = fleet('add', dir);
      // Before: added with 0 findings and not a word of the Cargo.toml.
      assert.equal(added.status, 0, added.stderr);
      assert.ok(added.stderr.includes(`warning: ${join(dir, 'Cargo.toml')}: NOT audited: no Cargo.lock locks it`), added.stderr);
      // The same content again: nothing recorded, but the Cargo.toml is still not audited, and
      // said so (before: "unchanged" and not a word).
      const again = fleet('add', dir);
      assert.equal(again.status, 0, again.stderr);
      assert.match(again.stdout, /^unchanged: /m);
      assert.ok(again.stderr.includes(`warning: ${join(dir, 'Cargo.toml')}: NOT audited: no Cargo.lock locks it`), again.stderr);
    } finally {
      await store.dispose();
    }
  });
}
