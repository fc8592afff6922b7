import { mkdirSync, truncateSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { unrelatedNpmAdvisoryDb } from '../support/advisory-fixtures.js';
import { gzipBombTar, packTar } from '../support/hostile-tar.js';
import { GHSA_NPM, runCli, tempDir } from '../support/shared.js';

/*
 * What npm installs, not what the lockfile's markers claim: npm ci recomputes the dev /
 * optional / peer flags from the dependency graph (checked with npm 11: a runtime dependency
 * marked "dev": true is installed by `npm ci --omit=dev`), so a marker must never take a
 * package out of the audit.
 */

const cacheDir = tempDir('cli-npm-install-set-cache');
const LODASH = {
  version: '4.17.4',
  resolved: 'https://registry.npmjs.org/lodash/-/lodash-4.17.4.tgz',
  integrity: 'sha512-6X37Sq9KCpLSXEh8uM12AKYlviHPNNk4RxiGBn4cmKGJinbXBneWIV7iE/nXkM928O7ytHcHb6+X6Svl0f4hXg==',
};
const A = { version: '1.0.0', resolved: 'https://registry.npmjs.org/a/-/a-1.0.0.tgz', integrity: 'sha512-AAAA' };

interface Report {
  targets: { audited: number }[];
  findings: { package: { name: string; version: string } }[];
}

function auditLock(lock: unknown, args: string[], manifest?: unknown): { status: number; names: string[]; audited: number; stderr: string } {
  const dir = tempDir('cli-npm-install-set');
  writeFileSync(join(dir, 'package-lock.json'), JSON.stringify(lock, null, 2));
  if (manifest !== undefined) writeFileSync(join(dir, 'package.json'), JSON.stringify(manifest));
  const r = runCli(['audit', '--format', 'json', join(dir, 'package-lock.json'), '--db', GHSA_NPM, ...args], { cacheDir });
  const report = r.stdout ? (JSON.parse(r.stdout) as Report) : null;
  return {
    status: r.status,
    names: [...new Set(report?.findings.map((f) => `${f.package.name}@${f.package.version}`))],
    audited: report?.targets[0]?.audited ?? -1,
    stderr: r.stderr,
  };
}

function v3(root: Record<string, unknown>, entries: Record<string, unknown>): unknown {
  return { name: 'app', version: '1.0.0', lockfileVersion: 3, requires: true, packages: { '': { name: 'app', version: '1.0.0', ...root }, ...entries } };
}

test('a runtime dependency the lockfile marks dev, optional, peer or devOptional is still audited under --omit', () => {
  const cases: [string, unknown, string[]][] = [
    ['direct, marked dev', v3({ dependencies: { lodash: '4.17.4' } }, { 'node_modules/lodash': { ...LODASH, dev: true } }), ['dev']],
    ['direct, marked optional', v3({ dependencies: { lodash: '4.17.4' } }, { 'node_modules/lodash': { ...LODASH, optional: true } }), ['optional']],
    ['direct, marked peer', v3({ dependencies: { lodash: '4.17.4' } }, { 'node_modules/lodash': { ...LODASH, peer: true } }), ['peer']],
    [
      'direct, marked dev and optional, all omitted',
      v3({ dependencies: { lodash: '4.17.4' } }, { 'node_modules/lodash': { ...LODASH, dev: true, optional: true, devOptional: true, peer: true } }),
      ['dev', 'optional', 'peer'],
    ],
    [
      'transitive through a runtime dependency, marked dev',
      v3({ dependencies: { a: '1.0.0' } }, { 'node_modules/a': { ...A, dependencies: { lodash: '^4' } }, 'node_modules/lodash': { ...LODASH, dev: true } }),
      ['dev'],
    ],
    [
      'nested under a runtime dependency, marked dev',
      v3({ dependencies: { a: '1.0.0' } }, { 'node_modules/a': { ...A, dependencies: { lodash: '^4' } }, 'node_modules/a/node_modules/lodash': { ...LODASH, dev: true } }),
      ['dev'],
    ],
    [
      // A dev dependency of the root that a runtime dependency needs as optional: npm marks it
      // devOptional and installs it unless both dev and optional dependencies are omitted.
      'devOptional under --omit optional alone',
      v3(
        { dependencies: { a: '1.0.0' }, devDependencies: { lodash: '4.17.4' } },
        { 'node_modules/a': { ...A, optionalDependencies: { lodash: '^4' } }, 'node_modules/lodash': { ...LODASH, devOptional: true } },
      ),
      ['optional'],
    ],
    [
      'devOptional under --omit dev alone',
      v3(
        { dependencies: { a: '1.0.0' }, devDependencies: { lodash: '4.17.4' } },
        { 'node_modules/a': { ...A, optionalDependencies: { lodash: '^4' } }, 'node_modules/lodash': { ...LODASH, devOptional: true } },
      ),
      ['dev'],
    ],
  ];
  for (const [label, lock, omit] of cases) {
    const r = auditLock(lock, omit.flatMap((kind) => ['--omit', kind]));
    assert.equal(r.status, 1, `${label}: ${r.stderr}`);
    assert.deepEqual(r.names, ['lodash@4.17.4'], label);
  }
});

test('a v1 lockfile: a top-level entry marked dev that package.json needs at runtime is audited under --omit dev', () => {
  const lock = { name: 'app', version: '1.0.0', lockfileVersion: 1, requires: true, dependencies: { lodash: { ...LODASH, dev: true } } };
  const r = auditLock(lock, ['--omit', 'dev'], { name: 'app', version: '1.0.0', dependencies: { lodash: '4.17.4' } });
  assert.equal(r.status, 1, r.stderr);
  assert.deepEqual(r.names, ['lodash@4.17.4']);
});

test("package.json, not the lockfile's root or workspace entry, says what a project depends on: a dependency moved out of devDependencies is audited under --omit dev", () => {
  // npm 11 `ci --omit=dev` installs lodash here: it loads the root from package.json, and the
  // entry's versions still satisfy it, so ci accepts the lockfile as it is.
  const lock = v3({ devDependencies: { lodash: '4.17.4' } }, { 'node_modules/lodash': { ...LODASH, dev: true } });
  const r = auditLock(lock, ['--omit', 'dev'], { name: 'app', version: '1.0.0', dependencies: { lodash: '4.17.4' } });
  assert.equal(r.status, 1, r.stderr);
  assert.deepEqual(r.names, ['lodash@4.17.4']);
  // What package.json has as a dev dependency only is still left out.
  const dev = auditLock(lock, ['--omit', 'dev'], { name: 'app', version: '1.0.0', devDependencies: { lodash: '4.17.4' } });
  assert.equal(dev.status, 0, dev.stderr);
  assert.equal(dev.audited, 0);

  // A workspace's dependencies likewise come from its own package.json (npm 11 ci --omit=dev
  // installs lodash for this member, whose entry still has it as a devDependency).
  const dir = tempDir('cli-npm-member-moved');
  mkdirSync(join(dir, 'packages', 'a'), { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', workspaces: ['packages/a'] }));
  writeFileSync(join(dir, 'packages', 'a', 'package.json'), JSON.stringify({ name: 'a', version: '1.0.0', dependencies: { lodash: '4.17.4' } }));
  const member = { name: 'a', version: '1.0.0', devDependencies: { lodash: '4.17.4' } };
  const entries = { 'node_modules/a': { resolved: 'packages/a', link: true }, 'node_modules/lodash': { ...LODASH, dev: true }, 'packages/a': member };
  writeFileSync(join(dir, 'package-lock.json'), JSON.stringify(v3({ workspaces: ['packages/a'] }, entries)));
  const moved = runCli(['audit', '--format', 'json', dir, '--db', GHSA_NPM, '--omit', 'dev'], { cacheDir });
  assert.equal(moved.status, 1, moved.stderr);
  writeFileSync(join(dir, 'packages', 'a', 'package.json'), JSON.stringify(member));
  const still = runCli(['audit', '--format', 'json', dir, '--db', GHSA_NPM, '--omit', 'dev'], { cacheDir });
  assert.equal(still.status, 0, still.stderr);
});

test('what npm does leave out stays out: a dev-only or optional-only package under --omit, devOptional when both are omitted', () => {
  const devOnly = v3({ devDependencies: { lodash: '4.17.4' } }, { 'node_modules/lodash': { ...LODASH, dev: true } });
  assert.equal(auditLock(devOnly, []).status, 1);
  const omitted = auditLock(devOnly, ['--omit', 'dev']);
  assert.equal(omitted.status, 0, omitted.stderr);
  assert.equal(omitted.audited, 0);

  const optionalOnly = v3({ optionalDependencies: { lodash: '4.17.4' } }, { 'node_modules/lodash': { ...LODASH, optional: true } });
  assert.equal(auditLock(optionalOnly, ['--omit', 'optional']).status, 0);

  const devOptional = v3(
    { dependencies: { a: '1.0.0' }, devDependencies: { lodash: '4.17.4' } },
    { 'node_modules/a': { ...A, optionalDependencies: { lodash: '^4' } }, 'node_modules/lodash': { ...LODASH, devOptional: true } },
  );
  const both = auditLock(devOptional, ['--omit', 'dev', '--omit', 'optional']);
  assert.equal(both.status, 0, both.stderr);
  assert.deepEqual(both.names, []);
});

/*
 * A registry package reached through git or a tarball: npm installs lodash 4.17.4 from
 * `file:lodash-4.17.4.tgz` or a git commit as readily as from the registry, so it is matched by
 * the name and version the lockfile records, with a warning that npm does not check these.
 */
function auditWarnings(lock: unknown, file = 'package-lock.json', flags: string[] = []): { status: number; names: string[]; warnings: string[]; stderr: string } {
  const dir = tempDir('cli-npm-fetched');
  writeFileSync(join(dir, file), typeof lock === 'string' ? lock : JSON.stringify(lock, null, 2));
  const r = runCli(['audit', '--format', 'json', join(dir, file), '--db', GHSA_NPM, ...flags], { cacheDir });
  const report = r.stdout ? (JSON.parse(r.stdout) as Report & { warnings: string[] }) : null;
  return {
    status: r.status,
    names: [...new Set(report?.findings.map((f) => `${f.package.name}@${f.package.version}`))],
    warnings: report?.warnings ?? [],
    stderr: r.stderr,
  };
}

test('an npm package from a file: tarball, a tarball URL or git is matched by its recorded name and version, with a warning', () => {
  const lodashFrom = (resolved: string, key = 'lodash', extra: Record<string, unknown> = {}): unknown =>
    v3({ dependencies: { [key]: resolved } }, { [`node_modules/${key}`]: { version: '4.17.4', resolved, integrity: LODASH.integrity, ...extra } });
  const cases: [string, unknown, string][] = [
    ['file: tarball in the project', lodashFrom('file:lodash-4.17.4.tgz'), 'file:lodash-4.17.4.tgz'],
    ['file: tarball in a sub-directory', lodashFrom('file:vendor/lodash-4.17.4.tgz'), 'file:vendor/lodash-4.17.4.tgz'],
    ['tarball URL off the registry', lodashFrom('https://example.com/dl/lodash-4.17.4.tgz'), 'https://example.com/dl/lodash-4.17.4.tgz'],
    ['git commit', lodashFrom('git+ssh://git@github.com/lodash/lodash.git#2da024c3b4f9947a48517639de7560457cd4ec6c'), 'git+ssh://git@github.com/lodash/lodash.git#2da024c3b4f9947a48517639de7560457cd4ec6c'],
    ['file: tarball under another key', lodashFrom('file:util.tgz', 'util', { name: 'lodash' }), 'file:util.tgz'],
    [
      'v1 tree, version holding the git specifier',
      { name: 'app', lockfileVersion: 1, requires: true, dependencies: { lodash: { version: 'git+ssh://git@github.com/lodash/lodash.git#2da024c3b4f9947a48517639de7560457cd4ec6c' } } },
      'git+ssh://git@github.com/lodash/lodash.git#2da024c3b4f9947a48517639de7560457cd4ec6c',
    ],
    [
      'v1 tree, version holding the file: specifier',
      { name: 'app', lockfileVersion: 1, requires: true, dependencies: { lodash: { version: 'file:lodash-4.17.4.tgz', integrity: LODASH.integrity } } },
      'file:lodash-4.17.4.tgz',
    ],
  ];
  for (const [label, lock, source] of cases) {
    const r = auditWarnings(lock);
    // The v1 form records no version but the specifier: it cannot be compared. The audit fails
    // closed (exit 2, naming it), and with --allow-partial reports it as not audited.
    if (label.startsWith('v1')) {
      assert.equal(r.status, 2, `${label}: ${r.stderr}`);
      assert.match(r.stderr, new RegExp(`1 package not from a registry \\(git, tarball\\) NOT audited: .*: lodash \\S+ \\(${source.replace(/[.+]/g, '\\$&')}\\);.*--allow-partial`));
      const partial = auditWarnings(lock, 'package-lock.json', ['--allow-partial']);
      assert.equal(partial.status, 0, `${label}: ${partial.stderr}`);
      assert.ok(partial.warnings.some((w) => w.includes('NOT audited') && w.includes(source)), `${label}: ${partial.warnings.join('\n')}`);
      continue;
    }
    assert.equal(r.status, 1, `${label}: ${r.stderr}`);
    assert.deepEqual(r.names, ['lodash@4.17.4'], label);
    assert.ok(
      r.warnings.some((w) => w.startsWith('1 package not from a registry (git, tarball), matched') && w.includes(`lodash 4.17.4 (${source})`)),
      `${label}: ${r.warnings.join('\n')}`,
    );
  }
});

test('yarn.lock: a registry package from a file: tarball is matched by its recorded version', () => {
  const yarn = [
    '# THIS IS AN AUTOGENERATED FILE. DO NOT EDIT THIS FILE DIRECTLY.',
    '# yarn lockfile v1',
    '',
    '',
    '"lodash@file:./lodash-4.17.4.tgz":',
    '  version "4.17.4"',
    '  resolved "file:./lodash-4.17.4.tgz#' + 'a'.repeat(40) + '"',
    '',
  ].join('\n');
  const r = auditWarnings(yarn, 'yarn.lock');
  assert.equal(r.status, 1, r.stderr);
  assert.deepEqual(r.names, ['lodash@4.17.4']);
  assert.ok(r.warnings.some((w) => w.includes('not from a registry')), r.warnings.join('\n'));
});

/** A package tarball as npm packs one: `package/package.json`, gzipped. */
async function packageTarball(name: string, version: string, top = 'package'): Promise<Buffer> {
  const tar = await packTar([{ header: { name: `${top}/package.json` }, data: JSON.stringify({ name, version }) }, { header: { name: `${top}/index.js` }, data: '' }]);
  return gzipSync(tar);
}

function auditWithTarball(lock: unknown, tarballs: Record<string, Buffer>, file = 'package-lock.json'): ReturnType<typeof auditWarnings> & { dir: string } {
  const dir = tempDir('cli-npm-local-tarball');
  for (const [path, bytes] of Object.entries(tarballs)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), bytes);
  }
  writeFileSync(join(dir, file), typeof lock === 'string' ? lock : JSON.stringify(lock, null, 2));
  const r = runCli(['audit', '--format', 'json', join(dir, file), '--db', GHSA_NPM], { cacheDir });
  const report = r.stdout ? (JSON.parse(r.stdout) as Report & { warnings: string[] }) : null;
  return {
    dir,
    status: r.status,
    names: [...new Set(report?.findings.map((f) => `${f.package.name}@${f.package.version}`))],
    warnings: report?.warnings ?? [],
    stderr: r.stderr,
  };
}

test('a file: tarball in the project is read: the package it holds is the one audited, a lockfile that says otherwise is refused', async () => {
  const lodash = await packageTarball('lodash', '4.17.4');
  const entry = (key: string, fields: Record<string, unknown>): unknown =>
    v3({ dependencies: { [key]: `file:${String(fields.resolved).slice(5)}` } }, { [`node_modules/${key}`]: { integrity: LODASH.integrity, ...fields } });

  const refused: [string, unknown, Record<string, Buffer>, RegExp][] = [
    [
      'a later version than the tarball holds',
      entry('lodash', { version: '4.17.21', resolved: 'file:lodash-4.17.4.tgz' }),
      { 'lodash-4.17.4.tgz': lodash },
      /: entry lodash \(file:lodash-4\.17\.4\.tgz\): the lockfile says version 4\.17\.21 but the tarball holds lodash@4\.17\.4; npm installs what the tarball holds$/,
    ],
    [
      'another package than the tarball holds',
      entry('safe', { name: 'safe', version: '1.0.0', resolved: 'file:vendor/safe-1.0.0.tgz' }),
      { 'vendor/safe-1.0.0.tgz': lodash },
      /: entry safe \(file:vendor\/safe-1\.0\.0\.tgz\): the tarball holds lodash, not safe; npm installs what the tarball holds$/,
    ],
    [
      'a tarball whose top directory is not package/',
      entry('lodash', { version: '4.17.21', resolved: 'file:lodash.tgz' }),
      { 'lodash.tgz': await packageTarball('lodash', '4.17.4', 'lodash') },
      /the lockfile says version 4\.17\.21 but the tarball holds lodash@4\.17\.4/,
    ],
  ];
  for (const [label, lock, files, message] of refused) {
    const r = auditWithTarball(lock, files);
    assert.equal(r.status, 2, `${label}: ${r.stderr}`);
    const lines = r.stderr.trim().split('\n').filter((l) => !l.includes('days old'));
    assert.equal(lines.length, 1, `${label}: ${r.stderr}`);
    assert.match(lines[0] ?? '', message, label);
    assert.ok((lines[0] ?? '').includes(join(r.dir, 'package-lock.json')), label);
  }

  // v1 records the specifier, not a version: the tarball says which lodash it is.
  const v1 = { name: 'app', lockfileVersion: 1, requires: true, dependencies: { lodash: { version: 'file:lodash-4.17.4.tgz', integrity: LODASH.integrity } } };
  const read = auditWithTarball(v1, { 'lodash-4.17.4.tgz': lodash });
  assert.equal(read.status, 1, read.stderr);
  assert.deepEqual(read.names, ['lodash@4.17.4']);

  // The same in a yarn.lock.
  const yarn = ['# yarn lockfile v1', '', '', '"lodash@file:./lodash-4.17.4.tgz":', '  version "4.17.21"', '  resolved "file:./lodash-4.17.4.tgz#' + 'a'.repeat(40) + '"', ''].join('\n');
  const fromYarn = auditWithTarball(yarn, { 'lodash-4.17.4.tgz': lodash }, 'yarn.lock');
  assert.equal(fromYarn.status, 2, fromYarn.stderr);
  assert.match(fromYarn.stderr, /yarn\.lock: entry lodash \(file:\.\/lodash-4\.17\.4\.tgz\): the lockfile says version 4\.17\.21 but the tarball holds lodash@4\.17\.4/);
});

test("a file: tarball is read with npm's caps, as a vendor archive's tarballs are: one that inflates past 512 MiB is refused, not held in memory", async () => {
  // 513 MiB of zeros after the package.json: about half a MiB on disk. Read as any other
  // archive was once read, it was held whole (under a 2 GiB cap) and the audit passed.
  const bomb = await gzipBombTar([{ header: { name: 'package/package.json' }, data: JSON.stringify({ name: 'lodash', version: '4.17.4' }) }], {
    name: 'package/zeros',
    size: 513 * 1024 * 1024,
  });
  const lock = v3({ dependencies: { lodash: 'file:lodash-4.17.4.tgz' } }, { 'node_modules/lodash': { version: '4.17.4', resolved: 'file:lodash-4.17.4.tgz' } });
  const r = auditWithTarball(lock, { 'lodash-4.17.4.tgz': bomb });
  assert.equal(r.status, 2, r.stderr);
  const lines = r.stderr.trim().split('\n').filter((l) => !l.includes('days old'));
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0] ?? '', /package-lock\.json: file:lodash-4\.17\.4\.tgz: cannot read the tarball: .*entry "package\/zeros": the archive expands past 536870912 bytes/);
  assert.deepEqual(r.names, [], "no report");
});

test('a file: tarball too large to read is refused, not left unread: the lockfile cannot vouch for what it holds', () => {
  // A sparse plain tar of 513 MiB: the version the lockfile records (4.17.21) is not the one
  // it holds (4.17.4), and a tarball passed over for its size used to let the audit pass.
  const dir = tempDir('cli-npm-large-tarball');
  const lock = v3({ dependencies: { lodash: 'file:lodash.tar' } }, { 'node_modules/lodash': { version: '4.17.21', resolved: 'file:lodash.tar' } });
  writeFileSync(join(dir, 'package-lock.json'), JSON.stringify(lock));
  writeFileSync(join(dir, 'lodash.tar'), '');
  truncateSync(join(dir, 'lodash.tar'), 513 * 1024 * 1024);
  const r = runCli(['audit', '--format', 'json', join(dir, 'package-lock.json'), '--db', GHSA_NPM], { cacheDir });
  assert.equal(r.status, 2, r.stderr);
  const lines = r.stderr.trim().split('\n').filter((l) => !l.includes('days old'));
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0] ?? '', /package-lock\.json: file:lodash\.tar: the tarball is 537919488 bytes, over 536870912: not read, so which package npm installs from it is unknown$/);
  assert.equal(r.stdout, '');
});

test('yarn.lock: a `resolved` that is a path is a tarball on disk whatever the range, and so is a file: key without one (yarn 1.22.22 installs lodash 4.17.4 from both)', async () => {
  const lodash = await packageTarball('lodash', '4.17.4');
  const sha1 = `#${'a'.repeat(40)}`;
  const yarn = (key: string, version: string, resolved?: string): string =>
    ['# yarn lockfile v1', '', '', `"${key}":`, `  version "${version}"`, ...(resolved === undefined ? [] : [`  resolved "${resolved}"`]), ''].join('\n');

  // As yarn 1 writes a dependency on ./lodash-4.17.4.tgz: a tarball, matched by its recorded version.
  const written = auditWarnings(yarn('lodash@./lodash-4.17.4.tgz', '4.17.4', `./lodash-4.17.4.tgz${sha1}`), 'yarn.lock');
  assert.equal(written.status, 1, written.stderr);
  assert.deepEqual(written.names, ['lodash@4.17.4']);
  assert.ok(written.warnings.some((w) => w.includes(`lodash 4.17.4 (file:./lodash-4.17.4.tgz${sha1})`)), written.warnings.join('\n'));
  const unresolved = auditWarnings(yarn('lodash@file:./lodash-4.17.4.tgz', '4.17.4'), 'yarn.lock');
  assert.equal(unresolved.status, 1, unresolved.stderr);
  assert.deepEqual(unresolved.names, ['lodash@4.17.4']);

  // In the project, the tarball is the package: an entry that says otherwise is refused.
  const cases: [string, string, string | undefined][] = [
    ['a registry range, resolved to a path', 'lodash@^4.17.0', `./lodash-4.17.4.tgz${sha1}`],
    ['a path range, as yarn writes it', 'lodash@./lodash-4.17.4.tgz', `./lodash-4.17.4.tgz${sha1}`],
    ['a file: key without resolved', 'lodash@file:./lodash-4.17.4.tgz', undefined],
  ];
  for (const [label, key, resolved] of cases) {
    const r = auditWithTarball(yarn(key, '4.17.21', resolved), { 'lodash-4.17.4.tgz': lodash }, 'yarn.lock');
    assert.equal(r.status, 2, `${label}: ${r.stderr}`);
    assert.match(r.stderr, /yarn\.lock: entry lodash \(file:\.\/lodash-4\.17\.4\.tgz\): the lockfile says version 4\.17\.21 but the tarball holds lodash@4\.17\.4/, label);
  }
  // A file: directory and a link: are the project's own code, as before.
  const dir = auditWarnings(yarn('lib@file:./lib', '1.0.0'), 'yarn.lock');
  assert.equal(dir.status, 0, dir.stderr);
});

test('yarn.lock: a dev dependency a runtime one needs as optional is audited under --omit optional (and under --omit dev)', () => {
  const yarn = [
    '# yarn lockfile v1',
    '',
    '',
    'a@1.0.0:',
    '  version "1.0.0"',
    '  resolved "https://registry.yarnpkg.com/a/-/a-1.0.0.tgz#' + 'b'.repeat(40) + '"',
    '  optionalDependencies:',
    '    lodash "^4"',
    '',
    'lodash@4.17.4, lodash@^4:',
    '  version "4.17.4"',
    '  resolved "https://registry.yarnpkg.com/lodash/-/lodash-4.17.4.tgz#' + 'a'.repeat(40) + '"',
    '',
  ].join('\n');
  const manifest = { name: 'app', version: '1.0.0', dependencies: { a: '1.0.0' }, devDependencies: { lodash: '4.17.4' } };
  for (const omit of [['optional'], ['dev']]) {
    const dir = tempDir('cli-yarn-dev-optional');
    writeFileSync(join(dir, 'yarn.lock'), yarn);
    writeFileSync(join(dir, 'package.json'), JSON.stringify(manifest));
    const r = runCli(['audit', '--format', 'json', dir, '--db', GHSA_NPM, ...omit.flatMap((k) => ['--omit', k])], { cacheDir });
    assert.equal(r.status, 1, `--omit ${omit.join(',')}: ${r.stderr}`);
    const both = runCli(['audit', '--format', 'json', dir, '--db', GHSA_NPM, '--omit', 'dev', '--omit', 'optional'], { cacheDir });
    assert.equal(both.status, 0, both.stderr);
  }
});

test('package-lock.json named beside an npm-shrinkwrap.json is refused: npm installs from the shrinkwrap', () => {
  const dir = tempDir('cli-npm-shrinkwrap-beside');
  const vulnerable = v3({ dependencies: { lodash: '4.17.4' } }, { 'node_modules/lodash': LODASH });
  writeFileSync(join(dir, 'npm-shrinkwrap.json'), JSON.stringify(vulnerable));
  writeFileSync(join(dir, 'package-lock.json'), JSON.stringify(v3({}, {})));
  const named = runCli(['audit', join(dir, 'package-lock.json'), '--db', GHSA_NPM], { cacheDir });
  assert.equal(named.status, 2, named.stderr);
  assert.deepEqual(named.stderr.trim().split('\n').filter((l) => !l.includes('days old')), [
    `stowage: ${join(dir, 'package-lock.json')}: npm installs from the npm-shrinkwrap.json beside it and ignores this file: audit ${join(dir, 'npm-shrinkwrap.json')} or the directory`,
  ]);
  for (const target of [dir, join(dir, 'npm-shrinkwrap.json')]) {
    const r = runCli(['audit', target, '--db', GHSA_NPM], { cacheDir });
    assert.equal(r.status, 1, `${target}: ${r.stderr}`);
  }
});

/**
 * A pnpm 9 lockfile: `a` 1.0.0 needs lodash 4.17.4 as optional; the importer's sections as given.
 * Hand-reduced from pnpm 9.15.9's lockfile for express 5.3.0's manifest, where handlebars (under
 * the dev dependency nyc) needs uglify-js as optional: pnpm 9.15.9 installs 371 packages, 369
 * with --no-optional, 69 with --prod and 67 with both.
 */
function pnpmLock(importer: Record<string, Record<string, string>>, lodashOptional: boolean): string {
  const sections = Object.entries(importer).flatMap(([section, deps]) => [
    `    ${section}:`,
    ...Object.entries(deps).flatMap(([name, version]) => [`      ${name}:`, `        specifier: ${version}`, `        version: ${version}`]),
  ]);
  return [
    "lockfileVersion: '9.0'",
    '',
    'importers:',
    '',
    '  .:',
    ...sections,
    '',
    'packages:',
    '',
    '  a@1.0.0:',
    `    resolution: {integrity: ${A.integrity}}`,
    '',
    '  lodash@4.17.4:',
    `    resolution: {integrity: ${LODASH.integrity}}`,
    '',
    'snapshots:',
    '',
    '  a@1.0.0:',
    '    optionalDependencies:',
    '      lodash: 4.17.4',
    '',
    `  lodash@4.17.4:${lodashOptional ? '\n    optional: true' : ' {}'}`,
    '',
  ].join('\n');
}

test('pnpm-lock.yaml: what only a dev dependency needs, and only as optional, is left out by --omit optional as by --omit dev', () => {
  const dir = tempDir('cli-pnpm-dev-optional');
  writeFileSync(join(dir, 'pnpm-lock.yaml'), pnpmLock({ devDependencies: { a: '1.0.0' } }, true));
  for (const omit of [[], ['dev'], ['optional']]) {
    const r = runCli(['audit', '--format', 'json', dir, '--db', GHSA_NPM, ...omit.flatMap((k) => ['--omit', k])], { cacheDir });
    assert.equal(r.status, omit.length === 0 ? 1 : 0, `--omit ${omit.join(',')}: ${r.stderr}`);
  }
});

test('pnpm-lock.yaml: a dev dependency that a runtime one needs as optional is left out only when dev and optional both are', () => {
  const dir = tempDir('cli-pnpm-dev-or-optional');
  writeFileSync(join(dir, 'pnpm-lock.yaml'), pnpmLock({ dependencies: { a: '1.0.0' }, devDependencies: { lodash: '4.17.4' } }, false));
  for (const omit of [['dev'], ['optional'], ['dev', 'optional']]) {
    const r = runCli(['audit', '--format', 'json', dir, '--db', GHSA_NPM, ...omit.flatMap((k) => ['--omit', k])], { cacheDir });
    assert.equal(r.status, omit.length === 2 ? 0 : 1, `--omit ${omit.join(',')}: ${r.stderr}`);
  }
});

test('yarn.lock (berry): what a package no dependency in the lockfile reaches needs is not dev-only (yarn installs it for a dependency it does not record)', () => {
  // Hand-reduced from yarn 4's lockfile for a workspace whose npm@6.14.0 reaches got@6.7.1 at run
  // time: yarn's built-in packageExtensions give got@<11 `@types/keyv`, which nothing in the
  // lockfile depends on, and `yarn workspaces focus --all --production` installs it and its
  // @types/node, which the lockfile otherwise reaches through jest (a dev dependency) alone.
  const checksum = (c: string): string => `10c0/${c.repeat(128)}`;
  const entry = (key: string, name: string, version: string, deps: Record<string, string>, c: string): string[] => [
    `"${key}":`,
    `  version: ${version}`,
    `  resolution: "${name}@npm:${version}"`,
    ...(Object.keys(deps).length > 0 ? ['  dependencies:', ...Object.entries(deps).map(([n, r]) => `    ${n}: "${r}"`)] : []),
    `  checksum: ${checksum(c)}`,
    '  languageName: node',
    '  linkType: hard',
    '',
  ];
  const lock = [
    '__metadata:',
    '  version: 8',
    '  cacheKey: 10c0',
    '',
    ...entry('@types/keyv@npm:^3.1.1', '@types/keyv', '3.1.4', { lodash: 'npm:^4' }, 'b'),
    ...entry('a@npm:1.0.0', 'a', '1.0.0', { lodash: 'npm:^4' }, 'c'),
    '"app@workspace:.":',
    '  version: 0.0.0-use.local',
    '  resolution: "app@workspace:."',
    '  dependencies:',
    '    a: "npm:1.0.0"',
    '    got: "npm:6.7.1"',
    '  languageName: unknown',
    '  linkType: soft',
    '',
    ...entry('got@npm:6.7.1', 'got', '6.7.1', {}, 'd'),
    ...entry('lodash@npm:^4', 'lodash', '4.17.4', {}, 'e'),
  ].join('\n');
  const dir = tempDir('cli-berry-unrecorded');
  writeFileSync(join(dir, 'yarn.lock'), lock);
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'app', dependencies: { got: '6.7.1' }, devDependencies: { a: '1.0.0' } }));
  const r = runCli(['audit', '--format', 'json', dir, '--db', GHSA_NPM, '--omit', 'dev'], { cacheDir });
  assert.equal(r.status, 1, r.stderr);
  const report = JSON.parse(r.stdout) as Report;
  assert.ok(report.findings.some((f) => `${f.package.name}@${f.package.version}` === 'lodash@4.17.4'), r.stdout);
});

test('a file: tarball that carries packages in a node_modules of its own: npm ci installs them, so they are audited', async () => {
  // Checked with npm 11.19.1: `npm install` of `file:foo-1.0.0.tgz` holding
  // package/node_modules/lodash, with no bundleDependencies, writes a lockfile naming foo alone,
  // and `npm ci` of it installs node_modules/foo/node_modules/lodash from the tarball.
  const pack = async (entries: [string, unknown][]): Promise<Buffer> =>
    gzipSync(await packTar(entries.map(([name, doc]) => ({ header: { name: `package/${name}` }, data: typeof doc === 'string' ? doc : JSON.stringify(doc) }))));
  const foo = await pack([
    ['package.json', { name: 'foo', version: '1.0.0' }],
    ['node_modules/lodash/package.json', { name: 'lodash', version: '4.17.4' }],
  ]);
  const lock = v3({ dependencies: { foo: 'file:foo-1.0.0.tgz' } }, { 'node_modules/foo': { version: '1.0.0', resolved: 'file:foo-1.0.0.tgz', integrity: 'sha512-AAAA' } });
  const r = auditWithTarball(lock, { 'foo-1.0.0.tgz': foo });
  assert.equal(r.status, 1, r.stderr);
  assert.deepEqual(r.names, ['lodash@4.17.4']);
  assert.ok(r.warnings.some((w) => w.includes('lodash 4.17.4 (file:foo-1.0.0.tgz#node_modules/lodash)')), r.warnings.join('\n'));

  // yarn 1.22.22 and pnpm 9.15.9 install them too (their lockfiles for the same dependency).
  const yarn = ['# yarn lockfile v1', '', '', '"foo@file:./foo-1.0.0.tgz":', '  version "1.0.0"', `  resolved "file:./foo-1.0.0.tgz#${'f'.repeat(40)}"`, ''].join('\n');
  const pnpm = [
    "lockfileVersion: '9.0'",
    '',
    'settings:',
    '  autoInstallPeers: true',
    '  excludeLinksFromLockfile: false',
    '',
    'importers:',
    '',
    '  .:',
    '    dependencies:',
    '      foo:',
    '        specifier: file:./foo-1.0.0.tgz',
    '        version: file:foo-1.0.0.tgz',
    '',
    'packages:',
    '',
    '  foo@file:foo-1.0.0.tgz:',
    '    resolution: {integrity: sha512-AAAA, tarball: file:foo-1.0.0.tgz}',
    '    version: 1.0.0',
    '',
    'snapshots:',
    '',
    '  foo@file:foo-1.0.0.tgz: {}',
    '',
  ].join('\n');
  for (const [file, text] of [
    ['yarn.lock', yarn],
    ['pnpm-lock.yaml', pnpm],
  ] as const) {
    const other = auditWithTarball(text, { 'foo-1.0.0.tgz': foo }, file);
    assert.equal(other.status, 1, `${file}: ${other.stderr}`);
    assert.deepEqual(other.names, ['lodash@4.17.4'], file);
  }

  // At any depth, scoped too, and where node finds it from the package's own code (lib/).
  const deep = await pack([
    ['package.json', { name: 'foo', version: '1.0.0' }],
    ['lib/node_modules/@x/y/node_modules/lodash/package.json', { name: 'lodash', version: '4.17.4' }],
    ['lib/node_modules/@x/y/package.json', { name: '@x/y', version: '1.0.0' }],
  ]);
  assert.deepEqual(auditWithTarball(lock, { 'foo-1.0.0.tgz': deep }).names, ['lodash@4.17.4']);

  // One whose package.json gives no version cannot be compared with lodash's advisories: named
  // as NOT audited, refused unless --allow-partial; one no advisory names is no obstacle.
  const versionless = await pack([
    ['package.json', { name: 'foo', version: '1.0.0' }],
    ['node_modules/lodash/package.json', { name: 'lodash' }],
    ['test/fixtures/node_modules/fixture/package.json', '{}'],
  ]);
  const refused = auditWithTarball(lock, { 'foo-1.0.0.tgz': versionless });
  assert.equal(refused.status, 2, refused.stderr);
  const lines = refused.stderr.trim().split('\n').filter((l) => !l.includes('days old'));
  assert.equal(lines.length, 1, refused.stderr);
  assert.match(lines[0] ?? '', /1 package not from a registry \(git, tarball\) NOT audited: .*lodash \(no version\) \(file:foo-1\.0\.0\.tgz#node_modules\/lodash\)/);
  const fixtureOnly = await pack([
    ['package.json', { name: 'foo', version: '1.0.0' }],
    ['test/fixtures/node_modules/fixture/package.json', '{}'],
  ]);
  const passed = auditWithTarball(lock, { 'foo-1.0.0.tgz': fixtureOnly });
  assert.equal(passed.status, 0, passed.stderr);
});

test('the vendor archive of an application with a file: tarball audits, what the tarball carries included', async () => {
  // Before, every such archive was refused: "the SBOM lists foo@1.0.0, which
  // stowage-manifest.json does not list": the tarball is the application's own file, not vendored.
  const foo = gzipSync(
    await packTar([
      { header: { name: 'package/package.json' }, data: JSON.stringify({ name: 'foo', version: '1.0.0' }) },
      { header: { name: 'package/node_modules/lodash/package.json' }, data: JSON.stringify({ name: 'lodash', version: '4.17.4' }) },
    ]),
  );
  const dir = tempDir('cli-npm-local-tarball-vendor');
  writeFileSync(join(dir, 'foo-1.0.0.tgz'), foo);
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', dependencies: { foo: 'file:foo-1.0.0.tgz' } }));
  writeFileSync(
    join(dir, 'package-lock.json'),
    JSON.stringify(v3({ dependencies: { foo: 'file:foo-1.0.0.tgz' } }, { 'node_modules/foo': { version: '1.0.0', resolved: 'file:foo-1.0.0.tgz', integrity: 'sha512-AAAA' } })),
  );
  const archive = join(tempDir('cli-npm-local-tarball-archive'), 'app.tar.gz');
  const vendored = runCli(['vendor', dir, '--db', unrelatedNpmAdvisoryDb(join(dir, '..', 'unrelated-osv')), '-o', archive], { cacheDir });
  assert.equal(vendored.status, 0, vendored.stderr);
  const r = runCli(['audit', '--format', 'json', archive, '--db', GHSA_NPM], { cacheDir });
  assert.equal(r.status, 1, r.stderr);
  const report = JSON.parse(r.stdout) as Report;
  assert.deepEqual([...new Set(report.findings.map((f) => `${f.package.name}@${f.package.version}`))], ['lodash@4.17.4']);
});
