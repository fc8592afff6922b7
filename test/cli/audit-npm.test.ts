import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ADVISORY_DB_BUNDLE, CARGO_CORPUS, GHSA_NPM, NPM_CORPUS, runCli, tempDir } from '../support/shared.js';

const cacheDir = tempDir('cli-npm-cache');
const JELLYFIN = join(NPM_CORPUS, 'jellyfin-web-2025-03-01.package-lock.json');

interface Report {
  targets: { path: string; ecosystem: string; format: string; packages: number; audited: number }[];
  findings: { target: string; advisory: { id: string; aliases: string[] }; package: { ecosystem: string; name: string; version: string }; paths: string[][]; devOnly: boolean }[];
}

function audit(args: string[]): { status: number; report: Report | null; stderr: string; stdout: string } {
  const r = runCli(['audit', '--format', 'json', ...args], { cacheDir });
  return { status: r.status, report: r.stdout ? (JSON.parse(r.stdout) as Report) : null, stderr: r.stderr, stdout: r.stdout };
}

test('npm: a package-lock against GitHub advisories, dev-only findings marked, --omit dev leaves runtime ones', () => {
  const all = audit([JELLYFIN, '--db', GHSA_NPM]);
  assert.equal(all.status, 1);
  assert.deepEqual(all.report?.targets.map((t) => [t.ecosystem, t.format, t.packages]), [['npm', 'package-lock.json v2', 1688]]);
  const found = all.report?.findings.map((f) => `${f.advisory.id} ${f.package.name}@${f.package.version} ${f.devOnly ? 'dev' : 'runtime'}`);
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
