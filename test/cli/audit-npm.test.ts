import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { auditReport, type AuditReport } from '../support/audit-report.js';
import { ADVISORY_DB_BUNDLE, CARGO_CORPUS, GHSA_NPM, NPM_CORPUS, PROJECT_ROOT, runCli, tempDir } from '../support/shared.js';
import { ghsaFindings, packageLockTree } from '../support/second-reading.js';

const cacheDir = tempDir('cli-npm-cache');
const JELLYFIN = join(NPM_CORPUS, 'jellyfin-web-2025-03-01.package-lock.json');

function audit(args: string[]): { status: number; report: AuditReport | null; stderr: string; stdout: string } {
  const r = runCli(['audit', '--format', 'json', ...args], { cacheDir });
  return { status: r.status, report: r.stdout ? auditReport(r.stdout) : null, stderr: r.stderr, stdout: r.stdout };
}

test('npm: a package-lock against GitHub advisories, dev-only findings marked, --omit dev leaves runtime ones', () => {
  const all = audit([JELLYFIN, '--db', GHSA_NPM]);
  assert.equal(all.status, 1);
  assert.deepEqual(all.report?.targets.map((t) => [t.ecosystem, t.format, t.packages]), [['npm', 'package-lock.json v2', 1688]]);
  const found = all.report?.findings.map((f) => `${f.advisory.id} ${f.package.name}@${f.package.version} ${f.devOnly ? 'dev' : 'runtime'}`);
  // Derived independently: each GHSA record's ranges (the OSV specification's algorithm) against
  // the lockfile's packages and its own dev flags, read a second way (test/support/second-reading.ts).
  const expected = ghsaFindings(GHSA_NPM, JELLYFIN).map((f) => `${f.id} ${f.name}@${f.version} ${f.dev ? 'dev' : 'runtime'}`);
  assert.deepEqual([...(found ?? [])].sort(), expected.sort());
  assert.deepEqual(found, [
    'GHSA-grv7-fg5c-xmjg braces@2.3.2 dev',
    'GHSA-ww39-953v-wcq6 glob-parent@3.1.0 dev',
    'GHSA-952p-6rrq-rcjv micromatch@3.1.10 dev',
    'GHSA-r683-j2x4-v87g node-fetch@2.6.9 runtime',
    'GHSA-7fh5-64p2-3v2j postcss@5.2.18 dev',
    'GHSA-7fh5-64p2-3v2j postcss@7.0.36 dev',
    'GHSA-7fh5-64p2-3v2j postcss@7.0.39 dev',
    'GHSA-w5p7-h5w8-2hfq trim@0.0.1 dev',
    'GHSA-7p7h-4mm5-852v trim-newlines@2.0.0 dev',
    'GHSA-p9pc-299p-vxgp yargs-parser@10.1.0 dev',
  ]);
  const nodeFetch = all.report?.findings.find((f) => f.package.name === 'node-fetch');
  assert.deepEqual(nodeFetch?.advisory.aliases, ['CVE-2022-0235']);
  assert.deepEqual(nodeFetch?.paths[0], ['jellyfin-web@10.11.0', 'jsdom@25.0.1', 'canvas@2.11.2', '@mapbox/node-pre-gyp@1.0.10', 'node-fetch@2.6.9']);

  const runtime = audit([JELLYFIN, '--db', GHSA_NPM, '--omit', 'dev']);
  assert.equal(runtime.status, 1);
  assert.deepEqual(runtime.report?.findings.map((f) => f.package.name), ['node-fetch']);
  assert.ok((runtime.report?.targets[0]?.audited ?? 0) < (all.report?.targets[0]?.audited ?? 0));
});

test('npm: yarn (v1 and berry) and pnpm lockfiles go through the same audit', () => {
  const cases: [string, string, number][] = [
    ['prettier-2021-01-01.yarn.lock', 'yarn.lock v1', 39],
    ['prettier-2023-01-01.yarn.lock', 'yarn.lock berry (metadata 6)', 11],
    // 25 with GHSA-8hc4-vh64-cxmj, which names axios "Axios" (matched in lowercase, with a warning).
    ['vite-2023-09-01.pnpm-lock.yaml', 'pnpm-lock.yaml 6.0', 25],
    ['vite-2026-08-22.pnpm-lock.yaml', 'pnpm-lock.yaml 9.0', 0],
  ];
  for (const [file, format, vulnerabilities] of cases) {
    const r = audit([join(NPM_CORPUS, file), '--db', GHSA_NPM]);
    assert.equal(r.status, vulnerabilities > 0 ? 1 : 0, `${file}: ${r.stderr}`);
    assert.equal(r.report?.targets[0]?.format, format);
    assert.equal(r.report?.findings.length, vulnerabilities, file);
  }
});

test('a directory with a Cargo.lock and a package-lock.json is one application, one report, two databases', () => {
  const app = tempDir('cli-mixed');
  copyFileSync(join(CARGO_CORPUS, 'ripgrep-2024-09-01.Cargo.lock'), join(app, 'Cargo.lock'));
  copyFileSync(JELLYFIN, join(app, 'package-lock.json'));
  copyFileSync(join(NPM_CORPUS, 'jellyfin-web-2025-03-01.package.json'), join(app, 'package.json'));
  const r = audit([app, '--db', ADVISORY_DB_BUNDLE, '--db', GHSA_NPM]);
  assert.equal(r.status, 1, r.stderr);
  assert.deepEqual(r.report?.targets.map((t) => [t.path, t.ecosystem]), [
    [join(app, 'Cargo.lock'), 'cargo'],
    [join(app, 'package-lock.json'), 'npm'],
  ]);
  const ecosystems = new Set(r.report?.findings.map((f) => f.package.ecosystem));
  assert.deepEqual([...ecosystems].sort(), ['cargo', 'npm']);
});

test('npm bad input: one line naming the file, exit 2', () => {
  const dir = tempDir('cli-npm-bad');
  const cases: [string, string, RegExp][] = [
    ['lock-truncated', 'package-lock.json', /package-lock\.json:\d+:\d+: /],
    ['pnpm-broken', 'pnpm-lock.yaml', /pnpm-lock\.yaml:\d+(:\d+)?: /],
    ['yarn-binary', 'yarn.lock', /yarn\.lock: binary data/],
  ];
  mkdirSync(join(dir, 'lock-truncated'));
  writeFileSync(join(dir, 'lock-truncated', 'package-lock.json'), readFileSync(JELLYFIN, 'utf8').slice(0, 3000));
  mkdirSync(join(dir, 'pnpm-broken'));
  writeFileSync(join(dir, 'pnpm-broken', 'pnpm-lock.yaml'), "lockfileVersion: '9.0'\nimporters:\n  .:\n    dependencies: [unclosed\n");
  mkdirSync(join(dir, 'yarn-binary'));
  writeFileSync(join(dir, 'yarn-binary', 'yarn.lock'), Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00]));
  for (const [sub, , pattern] of cases) {
    const r = audit([join(dir, sub), '--db', GHSA_NPM]);
    assert.equal(r.status, 2, `${sub}: ${r.stderr}`);
    assert.equal(r.stdout, '');
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0] ?? '', pattern);
  }
});

test('npm packages from a registry mirror are audited; a database without npm advisories fails closed', () => {
  const app = tempDir('cli-mirror');
  const lock = readFileSync(JELLYFIN, 'utf8').replaceAll('https://registry.invalid/', 'https://npm.corp.example/api/npm/npm-remote/');
  writeFileSync(join(app, 'package-lock.json'), lock);
  const mirrored = audit([app, '--db', GHSA_NPM]);
  assert.equal(mirrored.status, 1);
  assert.equal(mirrored.report?.findings.length, 10, 'the same ten findings as from the public registry');

  const rustOnly = audit([app, '--db', ADVISORY_DB_BUNDLE]);
  assert.equal(rustOnly.status, 2);
  assert.equal(rustOnly.stdout, '');
  assert.match(rustOnly.stderr, /package-lock\.json: no advisory database given has npm advisories, so \d+ packages cannot be audited; add one with --db/);
});

/** lodash 4.17.4, which the GHSA records affect; 4.17.21 is past all of them. */
const LODASH_4 = { version: '4.17.4', resolved: 'https://registry.npmjs.org/lodash/-/lodash-4.17.4.tgz', integrity: 'sha512-6X37Sq9KCpLSXEh8uM12AKYlviHPNNk4RxiGBn4cmKGJinbXBneWIV7iE/nXkM928O7ytHcHb6+X6Svl0f4hXg==' };

/** An application directory holding a package-lock.json with `lock` (merged over a v3 root). */
function lockApp(name: string, lock: Record<string, unknown>): string {
  const dir = tempDir(`cli-npm-${name}`);
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', dependencies: { lodash: '^4.17.0' } }));
  writeFileSync(join(dir, 'package-lock.json'), JSON.stringify({ name: 'app', version: '1.0.0', lockfileVersion: 3, requires: true, ...lock }, null, 2));
  return dir;
}

function v3Lodash(entryKey: string, entry: Record<string, unknown>): Record<string, unknown> {
  return { packages: { '': { name: 'app', version: '1.0.0', dependencies: { lodash: '^4.17.0' } }, [entryKey]: entry } };
}

test('npm entries that disagree with themselves are refused: exit 2, one line naming the lockfile and the entry', () => {
  // Each of these, run with `npm ci`, installs lodash 4.17.4 (checked with npm 11).
  const cases: Array<[string, Record<string, unknown>, RegExp]> = [
    ['version', v3Lodash('node_modules/lodash', { ...LODASH_4, version: '4.17.21' }), /"node_modules\/lodash": "version" is 4\.17\.21 but "resolved" is the tarball of lodash@4\.17\.4/],
    ['name', v3Lodash('node_modules/lodash', { ...LODASH_4, name: 'lodash-es' }), /"node_modules\/lodash": "resolved" is a tarball of lodash, not of lodash-es/],
    ['key-case', v3Lodash('node_modules/Lodash', LODASH_4), /"node_modules\/Lodash": "resolved" is a tarball of lodash, not of Lodash/],
    ['key-slash', v3Lodash('node_modules/lodash/', LODASH_4), /"node_modules\/lodash\/": not a location in normal form: npm installs it at "node_modules\/lodash"/],
    ['resolved-space', v3Lodash('node_modules/lodash', { ...LODASH_4, resolved: ` ${LODASH_4.resolved} ` }), /"node_modules\/lodash": "resolved" " https:.*" has whitespace around it/],
    ['v1-version', { lockfileVersion: 1, dependencies: { lodash: { ...LODASH_4, version: '4.17.21' } } }, /dependency "lodash": "version" is 4\.17\.21 but/],
  ];
  for (const [name, lock, message] of cases) {
    const dir = lockApp(name, lock);
    const r = audit([dir, '--db', GHSA_NPM]);
    assert.equal(r.status, 2, `${name}: ${r.stderr}`);
    assert.equal(r.stdout, '', name);
    const lines = r.stderr.trim().split('\n').filter((l) => !l.includes('days old'));
    assert.equal(lines.length, 1, r.stderr);
    assert.ok(lines[0]?.startsWith(`stowage: ${join(dir, 'package-lock.json')}:`), lines[0]);
    assert.match(lines[0] ?? '', message);
  }
});

test('npm entries read as npm reads them: an upper-case scheme, a v1 file with "packages", a v3 file with only the v1 tree', () => {
  const cases: Array<[string, Record<string, unknown>]> = [
    ['scheme', v3Lodash('node_modules/lodash', { ...LODASH_4, resolved: LODASH_4.resolved.replace('https:', 'HTTPS:') })],
    // npm installs from `packages` when the file has one: lodash 4.17.4, not the tree's 4.17.21.
    ['v1-packages', { ...v3Lodash('node_modules/lodash', LODASH_4), lockfileVersion: 1, dependencies: { lodash: { version: '4.17.21' } } }],
    ['v1-packages-only', { ...v3Lodash('node_modules/lodash', LODASH_4), lockfileVersion: 1 }],
    ['v3-tree', { dependencies: { lodash: LODASH_4 } }],
  ];
  for (const [name, lock] of cases) {
    const r = audit([lockApp(name, lock), '--db', GHSA_NPM]);
    assert.equal(r.status, 1, `${name}: ${r.stderr}`);
    assert.deepEqual(r.report?.targets.map((t) => [t.packages, t.audited]), [[2, 1]], name);
    const ids = r.report?.findings.map((f) => `${f.package.name}@${f.package.version} ${f.advisory.id}`) ?? [];
    assert.ok(ids.includes('lodash@4.17.4 GHSA-jf85-cpcp-j695'), `${name}: ${ids.join(', ')}`);
  }
});

test('a v1 tree 5,000 and 20,000 levels deep is audited to its bottom, without a stack overflow', () => {
  for (const depth of [5_000, 20_000]) {
    let text = JSON.stringify({ lodash: LODASH_4 });
    for (let i = depth - 1; i >= 1; i--) {
      const next = i === depth - 1 ? 'lodash' : `p${i + 1}`;
      text = `{"p${i}":{"version":"1.0.0","resolved":"https://registry.npmjs.org/p${i}/-/p${i}-1.0.0.tgz","requires":{"${next}":"*"},"dependencies":${text}}}`;
    }
    const dir = tempDir('cli-npm-deep');
    writeFileSync(join(dir, 'package-lock.json'), `{"name":"deep","version":"1.0.0","lockfileVersion":1,"requires":true,"dependencies":${text}}`);
    const r = audit([dir, '--db', GHSA_NPM]);
    assert.equal(r.status, 1, `${depth}: ${r.stderr}`);
    assert.deepEqual(r.report?.targets.map((t) => t.packages), [depth + 1]);
    const finding = r.report?.findings.find((f) => f.advisory.id === 'GHSA-jf85-cpcp-j695');
    assert.equal(finding?.paths[0]?.length, depth + 1, 'the path runs from the root through every level');
    // The same without the vulnerable package at the bottom: exit 0.
    writeFileSync(join(dir, 'package-lock.json'), `{"name":"deep","version":"1.0.0","lockfileVersion":1,"requires":true,"dependencies":${text.replace(/4\.17\.4/g, '4.17.21').replace(/"integrity":"[^"]*"/, '"integrity":"sha512-v2kDEe57lecTulaDIuNTPy3Ry4gLGJ6Z1O3vE1krgXZNrsQ+LFTGHVxVjcXPs17LhbZVGedAJv8XZ1tvj5FvSg=="')}}`);
    const clean = audit([dir, '--db', GHSA_NPM]);
    assert.equal(clean.status, 0, `${depth}: ${clean.stderr}`);
    assert.deepEqual(clean.report?.findings, []);
  }
});

test('an empty yarn.lock is refused like the other empty lockfiles: exit 2, one line', () => {
  for (const [name, text] of [['yarn.lock', ''], ['yarn.lock', ' \n\n'], ['package-lock.json', ''], ['pnpm-lock.yaml', '']]) {
    const dir = tempDir('cli-npm-empty');
    writeFileSync(join(dir, 'package.json'), '{"name":"app","version":"1.0.0","dependencies":{"lodash":"^4.17.0"}}');
    writeFileSync(join(dir, name as string), text as string);
    const r = audit([dir, '--db', GHSA_NPM]);
    assert.equal(r.status, 2, `${name} ${JSON.stringify(text)}: ${r.stderr}`);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.ok(lines[0]?.startsWith(`stowage: ${join(dir, name as string)}`), lines[0]);
  }
});

test('yarn v1 workspaces: what a member needs at run time is not dev-only, and has its path from the member', () => {
  // packages/lib needs node-fetch at run time; the root only develops with trim; packages/ignored
  // is not listed (its dependency is locked nowhere, and not asked for). Not `!packages/ignored`:
  // yarn 1.22.22's install excludes nothing by `!`, and fails resolving not-locked-at-all.
  const dir = join(PROJECT_ROOT, 'test', 'fixtures', 'npm', 'yarn', 'workspace-v1');
  for (const omit of [[], ['--omit', 'dev']]) {
    const r = audit([dir, '--db', GHSA_NPM, ...omit]);
    assert.equal(r.status, 1, r.stderr);
    const found = r.report?.findings.map((f) => [f.advisory.id, f.package.name, f.devOnly, f.paths]);
    const runtime = ['GHSA-r683-j2x4-v87g', 'node-fetch', false, [['@workspace-app/lib@2.0.0', 'node-fetch@2.6.1']]];
    assert.deepEqual(found, omit.length > 0 ? [runtime] : [runtime, ['GHSA-w5p7-h5w8-2hfq', 'trim', true, [['workspace-app@1.0.0', 'trim@0.0.1']]]]);
    assert.ok(!r.report?.warnings.some((w) => w.includes('older than package.json')), 'a member named by another is linked, not missing from the lockfile');
  }
});

test('npm and pnpm workspaces (lockfiles by npm 11 and pnpm 9): what a member needs at run time is not dev-only, and has its path from the member', () => {
  // The yarn v1 fixture's shape, locked by each package manager: packages/lib needs node-fetch
  // 2.6.1 at run time, app needs packages/lib, the root only develops with trim, and
  // packages/ignored is excluded (`!packages/ignored`), its dependency locked nowhere.
  for (const manager of ['package-lock', 'pnpm']) {
    const dir = join(PROJECT_ROOT, 'test', 'fixtures', 'npm', manager, 'workspace-members');
    for (const omit of [[], ['--omit', 'dev']]) {
      const r = audit([dir, '--db', GHSA_NPM, ...omit]);
      assert.equal(r.status, 1, `${manager}: ${r.stderr}`);
      const found = r.report?.findings.map((f) => [f.advisory.id, f.package.name, f.devOnly, f.paths]);
      const runtime = ['GHSA-r683-j2x4-v87g', 'node-fetch', false, [['@workspace-app/lib@2.0.0', 'node-fetch@2.6.1']]];
      assert.deepEqual(found, omit.length > 0 ? [runtime] : [runtime, ['GHSA-w5p7-h5w8-2hfq', 'trim', true, [['workspace-app@1.0.0', 'trim@0.0.1']]]], `${manager} ${omit.join(' ')}`);
    }
  }
});

test('paths: the shortest path through each direct dependency, at most five listed, the others counted', () => {
  const lockfile = join(NPM_CORPUS, 'jellyfin-web-2023-03-01.package-lock.json');
  const r = audit([lockfile, '--db', GHSA_NPM]);
  assert.equal(r.status, 1, r.stderr);
  // The expectation, from the lockfile read a second way: the distance from each direct
  // dependency of the root to the vulnerable package, by breadth-first search.
  const tree = packageLockTree(lockfile);
  const next = new Map<string, string[]>();
  for (const [from, to] of tree.edges) next.set(from, [...(next.get(from) ?? []), to]);
  const distance = (from: string, targets: ReadonlySet<string>): number | null => {
    const seen = new Set([from]);
    for (let frontier = [from], d = 0; frontier.length > 0; d++) {
      if (frontier.some((k) => targets.has(k))) return d;
      frontier = frontier.flatMap((k) => next.get(k) ?? []).filter((k) => !seen.has(k) && seen.add(k));
    }
    return null;
  };
  const directs = [...new Set(next.get('') ?? [])];
  let withMore = 0;
  for (const f of r.report?.findings ?? []) {
    const targets = new Set(Object.keys(tree.entries).filter((k) => k !== '' && tree.nameOf(k) === f.package.name && tree.entries[k]?.version === f.package.version));
    const lengths = directs.map((d) => distance(d, targets)).filter((d): d is number => d !== null).map((d) => d + 2).sort((a, b) => a - b);
    const label = `${f.advisory.id} ${f.package.name}@${f.package.version}`;
    assert.equal(f.paths.length, Math.min(5, lengths.length), label);
    assert.equal(f.morePaths, lengths.length - f.paths.length, label);
    assert.deepEqual(f.paths.map((p) => p.length), lengths.slice(0, 5), `${label}: the shortest ones, shortest first`);
    assert.equal(new Set(f.paths.map((p) => p[1])).size, f.paths.length, `${label}: one per direct dependency`);
    for (const p of f.paths) assert.equal(p.at(-1), `${f.package.name}@${f.package.version}`);
    if (f.morePaths > 0) withMore++;
  }
  assert.ok(withMore >= 5, `${withMore} findings reached through more than five direct dependencies`);
});

test('npm: --omit is not applied to a lockfileVersion 1 tree, which records no peer dependencies that npm 7 and later install', () => {
  // npm 11 installs 163 packages of this lockfile under --omit=dev where its dev markers leave 85:
  // webpack and what it brings are peers of the runtime worker-loader, and v1 records no peers.
  const dir = tempDir('cli-npm-v1-omit');
  copyFileSync(join(NPM_CORPUS, 'jellyfin-web-2022-07-01.package-lock.json'), join(dir, 'package-lock.json'));
  copyFileSync(join(NPM_CORPUS, 'jellyfin-web-2022-07-01.package.json'), join(dir, 'package.json'));
  const whole = audit([dir, '--db', GHSA_NPM]);
  const omitted = audit([dir, '--db', GHSA_NPM, '--omit', 'dev']);
  assert.equal(omitted.report?.targets[0]?.format, 'package-lock.json v1');
  assert.equal(omitted.report?.targets[0]?.audited, whole.report?.targets[0]?.audited);
  assert.deepEqual(omitted.report?.findings.map((f) => f.advisory.id), whole.report?.findings.map((f) => f.advisory.id));
  assert.match(omitted.stderr + JSON.stringify(omitted.report?.warnings ?? []), /--omit dev not applied to .*lockfileVersion 1 tree records no peer dependencies/);
  // A v2 lockfile records them: --omit dev applies (the first test's jellyfin-web of 2025).
  const v2 = audit([JELLYFIN, '--db', GHSA_NPM, '--omit', 'dev']);
  assert.ok((v2.report?.targets[0]?.audited ?? 0) < 1688);
});

/** A yarn 4.9.2 project whose one dependency, `safe-thing`, is a patch (RANGE) of minimist 1.2.5: its lockfile holds ENTRIES. */
function berryPatchApp(name: string, range: string, entries: string[]): string {
  const dir = join(tempDir('cli-berry-patch'), name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', packageManager: 'yarn@4.9.2', dependencies: { 'safe-thing': range } }));
  const header = ['__metadata:', '  version: 8', '  cacheKey: 10c0', '', '"app@workspace:.":', '  version: 0.0.0-use.local', '  resolution: "app@workspace:."', '  dependencies:', `    safe-thing: "${range}"`, '  languageName: unknown', '  linkType: soft', ''];
  writeFileSync(join(dir, 'yarn.lock'), [...header, ...entries].join('\n'));
  writeFileSync(join(dir, 'p.patch'), '');
  return dir;
}

test('yarn berry: a patch installs the package it patches under the patch\'s name, through patches of patches; it is audited as that package (yarn 4.9.2 installs minimist 1.2.5 as safe-thing)', () => {
  // What yarn 4.9.2 wrote for `"safe-thing": "patch:minimist@npm%3A1.2.5#./p.patch"`, without
  // minimist's own entry: `yarn install` puts it back and installs minimist 1.2.5, patched, at
  // node_modules/safe-thing. The audit checked a `safe-thing 1.2.5`, which has no advisories.
  const once = berryPatchApp('once', 'patch:minimist@npm%3A1.2.5#./p.patch', [
    '"safe-thing@patch:minimist@npm%3A1.2.5#./p.patch::locator=app%40workspace%3A.":',
    '  version: 1.2.5',
    '  resolution: "safe-thing@patch:minimist@npm%3A1.2.5#./p.patch::version=1.2.5&hash=782a9c&locator=app%40workspace%3A."',
    '  checksum: 10c0/d2bbda74023939530e1813fcf790a60533cf851d759611a58fd00b635e719b95af491cecd6a7d14ad6a1b725de0f30fe09e8027e6592f17462aa128adabecda2',
    '  languageName: node',
    '  linkType: hard',
    '',
  ]);
  // A patch of that patch (yarn 4.9.2 wrote it for `patch:minimist@patch%3Aminimist@npm%253A1.2.5%23./p.patch#./q.patch`).
  const nestedRange = 'patch:minimist@patch%3Aminimist@npm%253A1.2.5%23./p.patch#./q.patch';
  const nested = (version: string): string[] => [
    `"safe-thing@${nestedRange}::locator=app%40workspace%3A.":`,
    `  version: ${version}`,
    '  resolution: "safe-thing@patch:minimist@patch%3Aminimist@npm%253A1.2.5%23./p.patch%3A%3Aversion=1.2.5&hash=782a9c&locator=app%2540workspace%253A.#./q.patch::version=1.2.5&hash=292a3d&locator=app%40workspace%3A."',
    '  checksum: 10c0/0c1a86b8dfb26cbdab4a78a9d4fe7c965e4091ea399bafd44c70df3360450f6f3779a77ec90e4c760a212a46a31de1b0965430b16df9767355a2ded7f2760f13',
    '  languageName: node',
    '  linkType: hard',
    '',
  ];
  for (const dir of [once, berryPatchApp('nested', nestedRange, nested('1.2.5'))]) {
    const r = audit([dir, '--db', GHSA_NPM]);
    assert.equal(r.status, 1, dir + r.stderr);
    assert.deepEqual(
      r.report?.findings.map((f) => `${f.advisory.id} ${f.package.name}@${f.package.version} ${f.paths[0]?.join(' > ')}`),
      ['GHSA-xvch-5gv4-984h minimist@1.2.5 app@0.0.0-use.local > minimist@1.2.5'],
      dir,
    );
  }
  // A patch of minimist's registry tarball by URL: refused unpatched as a tarball of minimist, not
  // of safe-thing; patched, it was audited as a safe-thing 1.2.5 from no registry, exit 0.
  const byUrl = 'patch:minimist@https%3A//registry.npmjs.org/minimist/-/minimist-1.2.5.tgz#./p.patch';
  const urlPatch = berryPatchApp('url', byUrl, [
    `"safe-thing@${byUrl}::locator=app%40workspace%3A.":`,
    '  version: 1.2.5',
    `  resolution: "safe-thing@${byUrl}::version=1.2.5&hash=782a9c&locator=app%40workspace%3A."`,
    '  checksum: 10c0/d2bbda74023939530e1813fcf790a60533cf851d759611a58fd00b635e719b95af491cecd6a7d14ad6a1b725de0f30fe09e8027e6592f17462aa128adabecda2',
    '  languageName: node',
    '  linkType: hard',
    '',
  ]);
  const url = audit([urlPatch, '--db', GHSA_NPM]);
  assert.equal(url.status, 1, url.stderr);
  assert.deepEqual(url.report?.findings.map((f) => `${f.advisory.id} ${f.package.name}@${f.package.version}`), ['GHSA-xvch-5gv4-984h minimist@1.2.5']);
  // A patch of a patch whose `version` is not what the innermost patched package is: refused, as a single patch's is.
  const lying = audit([berryPatchApp('lying', nestedRange, nested('1.2.8')), '--db', GHSA_NPM]);
  assert.equal(lying.status, 2);
  assert.match(lying.stderr, /yarn\.lock.*`version` is 1\.2\.8 but the resolution patches minimist@1\.2\.5; yarn installs that version, patched/);
});

test('a registry tarball URL is read as the registry reads it: escapes decoded, a query and trailing blanks dropped (npm 11, yarn 1.22.22 and pnpm 9.15.9 install minimist 1.2.5 from such URLs under 1.2.6)', () => {
  const integrity = 'sha512-6X37Sq9KCpLSXEh8uM12AKYlviHPNNk4RxiGBn4cmKGJinbXBneWIV7iE/nXkM928O7ytHcHb6+X6Svl0f4hXg==';
  // registry.npmjs.org serves lodash 4.17.4 for each of these.
  const spellings = [
    'https://registry.npmjs.org/lodash/-/lodash-4.17.4.tgz%20',
    'https://registry.npmjs.org/lodash/-/lodash-4.17.4.tgz%00',
    'https://registry.npmjs.org/lodash/%2D/lodash-4.17.4.tgz',
    'https://registry.npmjs.org/lodash/-/lodash-4.17.4%2etgz',
    'https://registry.npmjs.org/lodash/-/lodash%2D4.17.%34.tgz',
  ];
  const refused = (dir: string, file: string, message: RegExp, what: string): void => {
    const r = audit([dir, '--db', GHSA_NPM]);
    assert.equal(r.status, 2, `${what}: ${r.stderr}`);
    const lines = r.stderr.trim().split('\n').filter((l) => !l.includes('days old'));
    assert.equal(lines.length, 1, r.stderr);
    assert.ok(lines[0]?.startsWith(`stowage: ${join(dir, file)}:`), lines[0]);
    assert.match(lines[0] ?? '', message, what);
  };
  for (const [i, resolved] of spellings.entries()) {
    refused(lockApp(`escaped-${i}`, v3Lodash('node_modules/lodash', { ...LODASH_4, resolved, version: '4.17.21' })), 'package-lock.json', /"version" is 4\.17\.21 but "resolved" is the tarball of lodash@4\.17\.4; npm installs the tarball/, resolved);
    // The same entry that says what it installs is audited as lodash 4.17.4.
    const r = audit([lockApp(`escaped-ok-${i}`, v3Lodash('node_modules/lodash', { ...LODASH_4, resolved })), '--db', GHSA_NPM]);
    assert.equal(r.status, 1, `${resolved}: ${r.stderr}`);
    assert.ok(r.report?.findings.some((f) => f.package.name === 'lodash' && f.package.version === '4.17.4'), resolved);
  }

  const yarnDir = tempDir('cli-npm-escaped-yarn');
  writeFileSync(join(yarnDir, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', dependencies: { lodash: '^4.17.0' } }));
  writeFileSync(join(yarnDir, 'yarn.lock'), ['# yarn lockfile v1', '', '', 'lodash@^4.17.0:', '  version "4.17.21"', `  resolved "${spellings[2]}"`, `  integrity ${integrity}`, ''].join('\n'));
  refused(yarnDir, 'yarn.lock', /`version` is 4\.17\.21 but `resolved` is the tarball of lodash@4\.17\.4; yarn installs the tarball/, 'yarn v1');

  for (const [i, tarball] of [spellings[0], 'https://registry.npmjs.org/lodash/-/lodash-4.17.4.tgz?x'].entries()) {
    const pnpmDir = tempDir(`cli-npm-escaped-pnpm-${i}`);
    writeFileSync(join(pnpmDir, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', dependencies: { lodash: '4.17.21' } }));
    const lines = ["lockfileVersion: '9.0'", '', 'importers:', '', '  .:', '    dependencies:', '      lodash:', '        specifier: 4.17.21', '        version: 4.17.21', '', 'packages:', ''];
    lines.push('  lodash@4.17.21:', `    resolution: {integrity: ${integrity}, tarball: '${tarball}'}`, '', 'snapshots:', '', '  lodash@4.17.21: {}', '');
    writeFileSync(join(pnpmDir, 'pnpm-lock.yaml'), lines.join('\n'));
    refused(pnpmDir, 'pnpm-lock.yaml', /package lodash@4\.17\.21: the version is 4\.17\.21 but `resolution.tarball` is the tarball of lodash@4\.17\.4/, tarball ?? '');
  }
});

test('a registry tarball URL is read after the registry resolves its escaped `..` segments: a tarball of lodash under another name is refused, in every lockfile (npm 11 installs lodash 4.17.4 as @nobody-zq/lodash)', () => {
  // registry.npmjs.org decodes `%2F` and `%5C` to `/` and resolves `..`: it serves lodash 4.17.4
  // for both URLs, which npm leaves as written. Read before resolving, they were the tarballs of
  // `@nobody-zq/lodash` 4.17.4, which no advisory names, and the audit passed.
  const urls = ['%2F', '%5C'].map((slash) => `https://registry.npmjs.org/@nobody-zq/lodash/-/..${slash}..${slash}..${slash}lodash/-/lodash-4.17.4.tgz`);
  const name = '@nobody-zq/lodash';
  const app = (dir: string, lockfile: string, text: string): string => {
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', dependencies: { [name]: '4.17.4' } }));
    writeFileSync(join(dir, lockfile), text);
    return dir;
  };
  const refused = (dir: string, file: string, message: RegExp, what: string): void => {
    const r = audit([dir, '--db', GHSA_NPM]);
    assert.equal(r.status, 2, `${what}: ${r.stdout}${r.stderr}`);
    const lines = r.stderr.trim().split('\n').filter((l) => !l.includes('days old'));
    assert.equal(lines.length, 1, r.stderr);
    assert.ok(lines[0]?.startsWith(`stowage: ${join(dir, file)}:`), lines[0]);
    assert.match(lines[0] ?? '', message, what);
  };
  for (const [i, resolved] of urls.entries()) {
    const packages = { '': { name: 'app', version: '1.0.0', dependencies: { [name]: '4.17.4' } }, [`node_modules/${name}`]: { ...LODASH_4, resolved } };
    const lock = { name: 'app', version: '1.0.0', lockfileVersion: 3, requires: true, packages };
    refused(app(tempDir(`cli-npm-dotted-${i}`), 'package-lock.json', JSON.stringify(lock, null, 2)), 'package-lock.json', /"resolved" is a tarball of lodash, not of @nobody-zq\/lodash/, resolved);

    const yarn = ['# yarn lockfile v1', '', '', `"${name}@4.17.4":`, '  version "4.17.4"', `  resolved "${resolved}"`, `  integrity ${LODASH_4.integrity}`, ''];
    refused(app(tempDir(`cli-npm-dotted-yarn-${i}`), 'yarn.lock', yarn.join('\n')), 'yarn.lock', /tarball of lodash/, `yarn v1 ${resolved}`);

    const pnpm = ["lockfileVersion: '9.0'", '', 'importers:', '', '  .:', '    dependencies:', `      '${name}':`, '        specifier: 4.17.4', '        version: 4.17.4', '', 'packages:', ''];
    pnpm.push(`  '${name}@4.17.4':`, `    resolution: {integrity: ${LODASH_4.integrity}, tarball: '${resolved}'}`, '', 'snapshots:', '', `  '${name}@4.17.4': {}`, '');
    refused(app(tempDir(`cli-npm-dotted-pnpm-${i}`), 'pnpm-lock.yaml', pnpm.join('\n')), 'pnpm-lock.yaml', /tarball of lodash, not of @nobody-zq\/lodash/, `pnpm ${resolved}`);
  }
  // The same URL under lodash's own entry is lodash 4.17.4, and audited as it.
  const own = audit([lockApp('dotted-own', v3Lodash('node_modules/lodash', { ...LODASH_4, resolved: urls[0] })), '--db', GHSA_NPM]);
  assert.equal(own.status, 1, own.stderr);
  assert.ok(own.report?.findings.some((f) => f.package.name === 'lodash' && f.package.version === '4.17.4'));
});
