import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { auditReport, type AuditReport } from '../support/audit-report.js';
import { packTar } from '../support/hostile-tar.js';
import { GHSA_NPM, runCli, tempDir } from '../support/shared.js';
import { dockerSaveArchive, tarFile } from '../support/shipped-artifacts.js';

/**
 * What node loads from what shipped, read as node reads it: a package whose package.json is a
 * link, an absolute link inside an image (the image's own root), a node_modules inside a .deb or
 * an RPM, and the installs whose packages stowage cannot read (Deno's node_modules/.deno, yarn's
 * Plug'n'Play) refused rather than passed as if the tree held nothing there. minimist 0.0.8 has
 * two advisories in the GHSA data (GHSA-vh95-rmgr-6w4m, GHSA-xvch-5gv4-984h), left-pad 1.1.0 none.
 */

const cacheDir = tempDir('audit-shipped-nm-cache');
const json = (value: unknown): string => JSON.stringify(value);
const MINIMIST = json({ name: 'minimist', version: '0.0.8' });
const MINIMIST_ADVISORIES = ['GHSA-vh95-rmgr-6w4m', 'GHSA-xvch-5gv4-984h'];

function audit(path: string, ...extra: string[]): { status: number; stdout: string; stderr: string } {
  return runCli(['audit', path, '--db', GHSA_NPM, '--format', 'json', ...extra], { cacheDir });
}

function oneLine(stderr: string): string {
  const errors = stderr.split('\n').filter((l) => l.startsWith('stowage: ') && !l.startsWith('stowage: warning: '));
  assert.equal(errors.length, 1, stderr);
  return errors[0] as string;
}

const npmFindings = (report: AuditReport, target: string): string[] =>
  report.findings.filter((f) => f.target === target).map((f) => `${f.advisory.id} ${f.package.name}@${f.package.version}`).sort();

function writeTree(root: string, files: Record<string, string>): void {
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), text);
  }
}

test("a package whose package.json is a link: the package node loads is the file the link leads to, in a directory and an image", async () => {
  const root = tempDir('audit-nm-linked-manifest');
  writeTree(root, {
    'app/package.json': json({ name: 'app', version: '1.0.0', dependencies: { minimist: '0.0.8', 'left-pad': '1' } }),
    'app/node_modules/left-pad/package.json': json({ name: 'left-pad', version: '1.1.0' }),
    'app/node_modules/minimist/index.js': 'module.exports = {};\n',
    'vendor/minimist/package.json': MINIMIST,
  });
  symlinkSync('../../../vendor/minimist/package.json', join(root, 'app', 'node_modules', 'minimist', 'package.json'));
  const image = await dockerSaveArchive(
    [
      await packTar([
        tarFile('app/package.json', json({ name: 'app', version: '1.0.0' })),
        tarFile('app/node_modules/left-pad/package.json', json({ name: 'left-pad', version: '1.1.0' })),
        tarFile('app/node_modules/minimist/index.js', 'module.exports = {};\n'),
        tarFile('opt/minimist/package.json', MINIMIST),
        { header: { name: 'app/node_modules/minimist/package.json', type: 'symlink', linkname: '/opt/minimist/package.json' } },
      ]),
    ],
    'linked-manifest:1',
  );
  for (const [input, target] of [
    [root, `${root}:app/node_modules`],
    [image, `${image}:app/node_modules`],
  ] as const) {
    const run = audit(input);
    assert.equal(run.status, 1, run.stderr);
    const report = auditReport(run.stdout);
    assert.deepEqual(npmFindings(report, target), MINIMIST_ADVISORIES.map((id) => `${id} minimist@0.0.8`));
    assert.equal(report.targets.find((t) => t.path === target)?.partial, false, run.stdout);
  }
});

test('a package.json linked to a file the tree does not hold: the package is not read, so its node_modules is partial, refused without --allow-partial', () => {
  const root = tempDir('audit-nm-linked-manifest-out');
  writeTree(root, {
    'app/node_modules/left-pad/package.json': json({ name: 'left-pad', version: '1.1.0' }),
    'app/node_modules/minimist/index.js': 'module.exports = {};\n',
  });
  const outside = join(tempDir('audit-nm-outside'), 'minimist.json');
  writeFileSync(outside, MINIMIST);
  symlinkSync(outside, join(root, 'app', 'node_modules', 'minimist', 'package.json'));
  const refused = audit(root);
  assert.equal(refused.status, 2, refused.stderr);
  assert.equal(refused.stdout, '');
  assert.match(oneLine(refused.stderr), /app\/node_modules: a symbolic link where node loads packages from, not followed, .*app\/node_modules\/minimist\/package\.json -> .*minimist\.json: a partial inventory; refused/);
  const run = audit(root, '--allow-partial');
  assert.equal(run.status, 0, run.stderr);
  assert.equal(auditReport(run.stdout).targets.find((t) => t.path === `${root}:app/node_modules`)?.partial, true, run.stdout);
});

test("an image's absolute link into node_modules leads from the image's own root: the package there is audited", async () => {
  const image = await dockerSaveArchive(
    [
      await packTar([tarFile('opt/vendor/minimist/package.json', MINIMIST), tarFile('app/node_modules/left-pad/package.json', json({ name: 'left-pad', version: '1.1.0' }))]),
      await packTar([{ header: { name: 'app/node_modules/minimist', type: 'symlink', linkname: '/opt/vendor/minimist' } }]),
    ],
    'absolute-link:1',
  );
  const run = audit(image);
  assert.equal(run.status, 1, run.stderr);
  const report = auditReport(run.stdout);
  const target = `${image}:app/node_modules`;
  assert.deepEqual(npmFindings(report, target), MINIMIST_ADVISORIES.map((id) => `${id} minimist@0.0.8`));
  assert.equal(report.targets.find((t) => t.path === target)?.partial, false, run.stdout);
});

/** A `.deb` built by dpkg-deb from a tree of files (path -> text) and links (path -> target). */
function debOf(files: Record<string, string>, links: Record<string, string>): string {
  const root = tempDir('audit-nm-deb-root');
  writeTree(root, { 'DEBIAN/control': 'Package: node-app\nVersion: 1.0-1\nArchitecture: all\nMaintainer: Test <test@example.org>\nDescription: test package\n', ...files });
  for (const [path, target] of Object.entries(links)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    symlinkSync(target, join(root, path));
  }
  const out = join(tempDir('audit-nm-deb'), 'node-app_1.0-1_all.deb');
  execFileSync('dpkg-deb', ['--root-owner-group', '-Zxz', '-z1', '--build', root, out], { stdio: 'ignore' });
  return out;
}

/** A binary RPM built by rpmbuild installing these files (path -> text) and links (path -> target). */
function rpmOf(files: Record<string, string>, links: Record<string, string>): string {
  const top = tempDir('audit-nm-rpm');
  const install = [
    ...Object.entries(files).map(([path, text]) => `mkdir -p "$(dirname %{buildroot}/${path})" && printf '%s' '${text}' > %{buildroot}/${path}`),
    ...Object.entries(links).map(([path, target]) => `mkdir -p "$(dirname %{buildroot}/${path})" && ln -s ${target} %{buildroot}/${path}`),
  ];
  const spec = ['Name: node-app', 'Version: 1.0', 'Release: 1', 'Summary: test package', 'License: MIT', 'BuildArch: noarch', '%description', 'test package', '%install', ...install, '%files', '/usr/lib/node-app', ''];
  writeFileSync(join(top, 'app.spec'), spec.join('\n'));
  execFileSync('rpmbuild', ['-bb', '--nodeps', '--define', `_topdir ${top}`, '--define', '_binary_payload w1.xzdio', join(top, 'app.spec')], { stdio: 'ignore' });
  const dir = join(top, 'RPMS', 'noarch');
  return join(dir, readdirSync(dir)[0] as string);
}

test('a .deb and an RPM that install a node_modules: its packages are audited (no control field or provide records them), its links read as in an image', () => {
  const files = {
    'usr/lib/node-app/package.json': json({ name: 'node-app', version: '1.0.0', dependencies: { 'left-pad': '1', minimist: '0.0.8' } }),
    'usr/lib/node-app/node_modules/left-pad/package.json': json({ name: 'left-pad', version: '1.1.0' }),
    'usr/lib/node-app/vendor/minimist/package.json': MINIMIST,
  };
  // An absolute link, as packagers write them: it leads from the root the package installs into.
  const links = { 'usr/lib/node-app/node_modules/minimist': '/usr/lib/node-app/vendor/minimist' };
  for (const artifact of [debOf(files, links), rpmOf(files, links)]) {
    const run = audit(artifact);
    assert.equal(run.status, 1, run.stderr);
    const report = auditReport(run.stdout);
    const target = `${artifact}:usr/lib/node-app/node_modules`;
    assert.deepEqual(
      report.targets.map((t) => [t.path, t.inventory, t.packages]),
      [[target, 'package.json', 3]],
    );
    assert.deepEqual(npmFindings(report, target), MINIMIST_ADVISORIES.map((id) => `${id} minimist@0.0.8`));
    assert.deepEqual(report.findings[0]?.paths, [['node-app@1.0.0', 'minimist@0.0.8']]);
  }
});

test("Deno's node_modules (packages in node_modules/.deno, linked into place) is refused in one line, exit 2, as pnpm's store is", () => {
  // The layout deno 2.9.6 `deno install` writes for {"dependencies": {"mkdirp": "0.5.1"}} with nodeModulesDir "auto".
  const root = tempDir('audit-nm-deno');
  writeTree(root, {
    'package.json': json({ name: 'dp', version: '1.0.0', dependencies: { mkdirp: '0.5.1' } }),
    'node_modules/.deno/mkdirp@0.5.1/node_modules/mkdirp/package.json': json({ name: 'mkdirp', version: '0.5.1', dependencies: { minimist: '0.0.8' } }),
    'node_modules/.deno/minimist@0.0.8/node_modules/minimist/package.json': MINIMIST,
  });
  symlinkSync('../../minimist@0.0.8/node_modules/minimist', join(root, 'node_modules', '.deno', 'mkdirp@0.5.1', 'node_modules', 'minimist'));
  symlinkSync('.deno/mkdirp@0.5.1/node_modules/mkdirp', join(root, 'node_modules', 'mkdirp'));
  const run = audit(root, '--allow-partial');
  assert.equal(run.status, 2, run.stderr);
  assert.equal(run.stdout, '');
  assert.match(oneLine(run.stderr), /node_modules\/\.deno: Deno's node_modules \(nodeModulesDir\): its packages are reached through symbolic links, which stowage does not follow/);
});

test("a yarn Plug'n'Play install in an image (.pnp.cjs, packages in .yarn/cache zips) is refused in one line, exit 2, whatever else the image holds", async () => {
  const image = await dockerSaveArchive(
    [
      await packTar([
        tarFile('srv/node_modules/left-pad/package.json', json({ name: 'left-pad', version: '1.1.0' })),
        tarFile('app/package.json', json({ name: 'app', version: '1.0.0', dependencies: { minimist: '0.0.8' } })),
        tarFile('app/.pnp.cjs', '#!/usr/bin/env node\n/* yarn PnP runtime */\n'),
        tarFile('app/.yarn/cache/minimist-npm-0.0.8-d51d95e1a8-4e9d4e4a8c.zip', Buffer.from('PK\x05\x06'.padEnd(22, '\0'), 'latin1')),
        // A package that shipped its author's .pnp.cjs by mistake: node never loads it.
        tarFile('srv/node_modules/left-pad/.pnp.cjs', '/* stray */\n'),
      ]),
    ],
    'pnp:1',
  );
  const run = audit(image, '--allow-partial');
  assert.equal(run.status, 2, run.stderr);
  assert.equal(run.stdout, '');
  assert.match(oneLine(run.stderr), /:app\/\.pnp\.cjs: a yarn Plug'n'Play install: node loads its packages through it from \.yarn\/cache zip archives, which stowage does not read/);
});

test("a package's own lib/node_modules (npm publishes and installs it; node loads it for the package's files there) is audited, in a directory and an image", async () => {
  // npm 11: `npm pack` of foo keeps lib/node_modules/minimist, `npm install ./foo-1.0.0.tgz`
  // installs it there, and require('minimist') from foo's lib/index.js loads it.
  const files = {
    'app/package.json': json({ name: 'app', version: '1.0.0', dependencies: { foo: '1.0.0' } }),
    'app/node_modules/foo/package.json': json({ name: 'foo', version: '1.0.0', main: 'lib/index.js' }),
    'app/node_modules/foo/lib/index.js': "module.exports = require('minimist');\n",
    'app/node_modules/foo/lib/node_modules/minimist/package.json': MINIMIST,
  };
  const root = tempDir('audit-nm-package-subdir');
  writeTree(root, files);
  const dir = audit(join(root, 'app'));
  assert.equal(dir.status, 1, dir.stderr);
  assert.deepEqual(npmFindings(auditReport(dir.stdout), `${join(root, 'app')}:node_modules`), MINIMIST_ADVISORIES.map((id) => `${id} minimist@0.0.8`));

  const image = await dockerSaveArchive([await packTar(Object.entries(files).map(([path, text]) => tarFile(path, text)))], 'package-subdir:1');
  const run = audit(image);
  assert.equal(run.status, 1, run.stderr);
  assert.deepEqual(npmFindings(auditReport(run.stdout), `${image}:app/node_modules`), MINIMIST_ADVISORIES.map((id) => `${id} minimist@0.0.8`));
});

test("a symbolic link at a package's own lib/node_modules/NAME leaves its node_modules partial: refused without --allow-partial, exit 2", async () => {
  const image = await dockerSaveArchive(
    [
      await packTar([
        tarFile('app/node_modules/foo/package.json', json({ name: 'foo', version: '1.0.0' })),
        { header: { name: 'app/node_modules/foo/lib/node_modules/minimist', type: 'symlink', linkname: '../../../../../elsewhere/minimist' } },
      ]),
    ],
    'package-subdir-link:1',
  );
  const run = audit(image);
  assert.equal(run.status, 2, run.stderr);
  assert.match(oneLine(run.stderr), /a symbolic link where node loads packages from, not followed.*app\/node_modules\/foo\/lib\/node_modules\/minimist -> /);
});
