import { join } from 'node:path';
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ADVISORY_DB_BUNDLE, runCli, tempDir, tempTree } from '../support/shared.js';

/*
 * Which Cargo.lock Cargo reads. A package inside a workspace is built with the workspace
 * root's Cargo.lock: Cargo walks up from the package's Cargo.toml to the first `[workspace]`
 * that does not exclude it (or follows `package.workspace`), and never reads a Cargo.lock
 * beside the member. Checked with cargo 1.95 (`cargo build --offline --locked` in the member's
 * directory builds rsa 0.9.10 from the root's lockfile while the member's own lists no rsa;
 * with `exclude = ["member"]` it reads the member's). Auditing the member's file would pass
 * what Cargo does not build and miss what it does.
 */

const cacheDir = tempDir('cli-cargo-ws-root-cache');
const DB = ['--db', ADVISORY_DB_BUNDLE];

const RSA = [
  '[[package]]',
  'name = "rsa"',
  'version = "0.9.10"',
  'source = "registry+https://github.com/rust-lang/crates.io-index"',
  'checksum = "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881"',
  '',
].join('\n');

/** A Cargo.lock with the package `name`, depending on rsa 0.9.10 (RUSTSEC-2023-0071) or on nothing. */
function lock(name: string, withRsa: boolean): string {
  const head = ['version = 4', '', '[[package]]', `name = "${name}"`, 'version = "0.1.0"'];
  if (!withRsa) return [...head, ''].join('\n');
  return [...head, 'dependencies = [', ' "rsa",', ']', '', RSA].join('\n');
}

function packageManifest(name: string, extra = ''): string {
  return `[package]\nname = "${name}"\nversion = "0.1.0"\nedition = "2021"\n${extra}\n[dependencies]\nrsa = "0.9"\n`;
}


function audit(path: string, env?: NodeJS.ProcessEnv): { status: number; stdout: string; stderr: string } {
  return runCli(['audit', path, ...DB, '--format', 'json'], { cacheDir, ...(env ? { env } : {}) });
}

function findingIds(stdout: string): string[] {
  return (JSON.parse(stdout) as { findings: { advisory: { id: string } }[] }).findings.map((f) => f.advisory.id);
}

/** The one error line (the database's age warning aside). */
function errorLines(stderr: string): string[] {
  return stderr.split('\n').filter((line) => line !== '' && !line.includes('days old'));
}

/** A workspace whose root lockfile has rsa, and a member whose own (stale) lockfile does not. */
function staleMember(rootManifest: string, memberDir = 'member', memberExtra = ''): string {
  return tempTree('ws', {
    'Cargo.toml': rootManifest,
    'Cargo.lock': lock('member', true),
    [`${memberDir}/Cargo.toml`]: packageManifest('member', memberExtra),
    [`${memberDir}/Cargo.lock`]: lock('member', false),
    [`${memberDir}/src/main.rs`]: 'fn main() {}\n',
  });
}

before(() => {
  // One clone of the database for the whole file.
  const root = staleMember('[workspace]\nmembers = ["member"]\n');
  const warm = audit(root);
  assert.equal(warm.status, 1, warm.stderr);
});

test('the workspace root itself is audited with its lockfile', () => {
  const root = staleMember('[workspace]\nmembers = ["member"]\n');
  const result = audit(root);
  assert.equal(result.status, 1, result.stderr);
  assert.deepEqual(findingIds(result.stdout), ['RUSTSEC-2023-0071']);
});

const MEMBER_CASES: { what: string; root: string; dir: string; extra?: string }[] = [
  { what: 'listed in members', root: '[workspace]\nmembers = ["member"]\n', dir: 'member' },
  { what: 'matched by a members glob, two levels down', root: '[workspace]\nmembers = ["crates/*"]\n', dir: 'crates/member' },
  { what: 'of a root that is also a package', root: `${packageManifest('app')}\n[workspace]\nmembers = ["member"]\n`, dir: 'member' },
  { what: 'of a workspace that lists no members (Cargo still takes it as the root)', root: '[workspace]\n', dir: 'member' },
  { what: 'listed in members and in exclude (members win)', root: '[workspace]\nmembers = ["member"]\nexclude = ["member"]\n', dir: 'member' },
  { what: 'pointing at its root with package.workspace', root: '[workspace]\nmembers = ["member"]\n', dir: 'member', extra: 'workspace = ".."' },
];

for (const { what, root: rootManifest, dir, extra } of MEMBER_CASES) {
  test(`a workspace member's own Cargo.lock is refused (${what}): Cargo builds it from the root's`, () => {
    const root = staleMember(rootManifest, dir, extra);
    for (const input of [join(root, dir), join(root, dir, 'Cargo.lock')]) {
      const result = audit(input);
      assert.equal(result.status, 2, `${input}: ${result.stdout}${result.stderr}`);
      assert.equal(result.stdout, '');
      assert.deepEqual(errorLines(result.stderr), [
        `stowage: ${join(root, dir, 'Cargo.lock')}: Cargo does not read this lockfile: ${join(root, dir, 'Cargo.toml')} is in the workspace of ${join(root, 'Cargo.toml')}, and Cargo builds it with ${join(root, 'Cargo.lock')}; audit ${root}`,
      ]);
    }
  });
}

test('package.workspace may point anywhere, not only up: the member is refused', () => {
  const base = tempTree('ws-pointer', {
    'ws/Cargo.toml': '[workspace]\nmembers = ["../member"]\n',
    'ws/Cargo.lock': lock('member', true),
    'member/Cargo.toml': packageManifest('member', 'workspace = "../ws"'),
    'member/Cargo.lock': lock('member', false),
  });
  const result = audit(join(base, 'member'));
  assert.equal(result.status, 2, result.stdout);
  assert.match(errorLines(result.stderr).join('\n'), /^stowage: .*\/member\/Cargo\.lock: Cargo does not read this lockfile: .* is in the workspace of .*\/ws\/Cargo\.toml, and Cargo builds it with .*\/ws\/Cargo\.lock; audit .*\/ws$/);
});

/** Cases where Cargo does read the member's own lockfile: it is audited (rsa is found there). */
const OWN_ROOT_CASES: { what: string; files: Record<string, string> }[] = [
  {
    what: 'excluded by the workspace above',
    files: { 'Cargo.toml': '[workspace]\nmembers = []\nexclude = ["member"]\n', 'member/Cargo.toml': packageManifest('member') },
  },
  {
    what: 'excluded by a parent directory of it',
    files: { 'Cargo.toml': '[workspace]\nexclude = ["vendor"]\n', 'vendor/member/Cargo.toml': packageManifest('member') },
  },
  {
    what: 'a glob in members does not un-exclude it (Cargo compares members literally here)',
    files: { 'Cargo.toml': '[workspace]\nmembers = ["mem*"]\nexclude = ["member"]\n', 'member/Cargo.toml': packageManifest('member') },
  },
  {
    what: 'its own [workspace]',
    files: { 'Cargo.toml': '[workspace]\nmembers = ["member"]\n', 'member/Cargo.toml': `${packageManifest('member')}\n[workspace]\n` },
  },
  {
    what: 'a package (not a workspace) above it',
    files: { 'Cargo.toml': packageManifest('outer'), 'member/Cargo.toml': packageManifest('member') },
  },
  {
    what: 'a workspace above target/package, where Cargo stops looking',
    files: { 'Cargo.toml': '[workspace]\n', 'target/package/member/Cargo.toml': packageManifest('member') },
  },
];

for (const { what, files } of OWN_ROOT_CASES) {
  test(`a package that is its own workspace root is audited with its own lockfile (${what})`, () => {
    const memberDir = Object.keys(files).find((p) => p.endsWith('member/Cargo.toml'))?.replace(/\/Cargo\.toml$/, '') ?? 'member';
    const root = tempTree('own-root', { ...files, 'Cargo.lock': lock('member', false), [`${memberDir}/Cargo.lock`]: lock('member', true) });
    const result = audit(join(root, memberDir));
    assert.equal(result.status, 1, result.stderr);
    assert.deepEqual(findingIds(result.stdout), ['RUSTSEC-2023-0071']);
  });
}

test('Cargo does not look above CARGO_HOME for a workspace: a crate inside it is audited with its own lockfile', () => {
  const root = tempTree('cargo-home', {
    'Cargo.toml': '[workspace]\n',
    'home/registry/src/index/member-0.1.0/Cargo.toml': packageManifest('member'),
    'home/registry/src/index/member-0.1.0/Cargo.lock': lock('member', true),
  });
  const crate = join(root, 'home', 'registry', 'src', 'index', 'member-0.1.0');
  const result = audit(crate, { CARGO_HOME: join(root, 'home') });
  assert.equal(result.status, 1, result.stderr);
  assert.deepEqual(findingIds(result.stdout), ['RUSTSEC-2023-0071']);
  // Without that CARGO_HOME, the workspace above is the root.
  assert.equal(audit(crate, { CARGO_HOME: join(root, 'elsewhere') }).status, 2);
});

test('a Cargo.toml above that is not TOML is refused, naming it: Cargo fails reading it too', () => {
  const root = tempTree('bad-ancestor', {
    'Cargo.toml': 'not toml [[[\n',
    'member/Cargo.toml': packageManifest('member'),
    'member/Cargo.lock': lock('member', true),
  });
  const result = audit(join(root, 'member'));
  assert.equal(result.status, 2, result.stdout);
  const lines = errorLines(result.stderr);
  assert.equal(lines.length, 1, result.stderr);
  assert.match(lines[0] as string, new RegExp(`^stowage: ${join(root, 'Cargo.toml').replace(/[.]/g, '\\.')}:1:\\d+: invalid TOML: .*; Cargo reads it looking for the workspace of ${join(root, 'member', 'Cargo.toml').replace(/[.]/g, '\\.')}`));
});

test("a workspace member's directory without a Cargo.lock is audited with the root's, the one `cargo build` there reads", () => {
  for (const { rootManifest, dir, extra } of MEMBER_CASES.map((c) => ({ rootManifest: c.root, dir: c.dir, extra: c.extra }))) {
    const root = tempTree('member-dir', {
      'Cargo.toml': rootManifest,
      'Cargo.lock': lock('member', true),
      [`${dir}/Cargo.toml`]: packageManifest('member', extra),
    });
    const result = audit(join(root, dir));
    assert.equal(result.status, 1, `${dir}: ${result.stderr}`);
    assert.deepEqual(findingIds(result.stdout), ['RUSTSEC-2023-0071']);
    const targets = (JSON.parse(result.stdout) as { targets: { path: string; ecosystem: string }[] }).targets;
    assert.deepEqual(targets.map((t) => [t.path, t.ecosystem]), [[join(root, 'Cargo.lock'), 'cargo']]);
  }
  // Beside another ecosystem's lockfile (a front end in the crate), the Rust side is not passed over.
  const mixed = tempTree('member-mixed', {
    'Cargo.toml': '[workspace]\nmembers = ["member"]\n',
    'Cargo.lock': lock('member', true),
    'member/Cargo.toml': packageManifest('member'),
    'member/package.json': '{"name":"front","version":"1.0.0"}\n',
    'member/package-lock.json': '{"name":"front","version":"1.0.0","lockfileVersion":3,"requires":true,"packages":{"":{"name":"front","version":"1.0.0"}}}\n',
  });
  const result = audit(join(mixed, 'member'));
  assert.equal(result.status, 1, result.stderr);
  assert.deepEqual(findingIds(result.stdout), ['RUSTSEC-2023-0071']);
  const targets = (JSON.parse(result.stdout) as { targets: { path: string }[] }).targets;
  assert.deepEqual(targets.map((t) => t.path), [join(mixed, 'Cargo.lock'), join(mixed, 'member', 'package-lock.json')]);
  // A workspace with no Cargo.lock at all: still no lockfile to audit.
  const unlocked = tempTree('member-unlocked', { 'Cargo.toml': '[workspace]\nmembers = ["member"]\n', 'member/Cargo.toml': packageManifest('member') });
  const none = audit(join(unlocked, 'member'));
  assert.equal(none.status, 2);
  assert.match(errorLines(none.stderr).join('\n'), /no lockfile found/);
});

test('fleet add of a workspace member without a Cargo.lock is refused, naming the root to add: the fleet keeps the directory, which holds no lockfile', () => {
  const root = tempTree('member-fleet', {
    'Cargo.toml': '[workspace]\nmembers = ["member"]\n',
    'Cargo.lock': lock('member', true),
    'member/Cargo.toml': packageManifest('member'),
  });
  const store = join(tempDir('member-fleet-store'), 'fleet.sqlite');
  const fleet = (...args: string[]) => runCli(['fleet', ...args, '--store', store], { cacheDir });
  assert.equal(fleet('init', ...DB).status, 0);
  const member = fleet('add', join(root, 'member'));
  assert.equal(member.status, 2, member.stdout);
  assert.ok(
    errorLines(member.stderr).includes(
      `stowage: ${join(root, 'member')}: a member of the Cargo workspace in ${root}, which Cargo builds with ${join(root, 'Cargo.lock')}: the fleet keeps an application's files from its directory, so add ${root}`,
    ),
    member.stderr,
  );
  assert.equal(fleet('add', root).status, 1);
});
