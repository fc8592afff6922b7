import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { auditReport, type AuditReport } from '../support/audit-report.js';
import { gzipBombTar, packTar, type TarEntry } from '../support/hostile-tar.js';
import { ADVISORY_DB_BUNDLE, GHSA_NPM, PROJECT_ROOT, runCli, sha256Of, tempDir } from '../support/shared.js';
import { dockerSaveArchive, installedLayers, realRustBinary, tarFile } from '../support/shipped-artifacts.js';

/**
 * `stowage audit` on what is installed, without lockfiles: an image archive (docker save and
 * OCI layout, assembled here from layers holding a real Rust binary and a real node_modules
 * layout) and a directory. Each Rust binary and each node_modules root is one application.
 */

const cacheDir = tempDir('audit-images-cache');

function audit(path: string, ...extra: string[]): { status: number; stdout: string; stderr: string } {
  return runCli(['audit', path, '--db', ADVISORY_DB_BUNDLE, '--db', GHSA_NPM, '--format', 'json', '--allow-partial', ...extra], { cacheDir });
}

function oneLine(stderr: string): string {
  const errors = stderr.split('\n').filter((l) => l.startsWith('stowage: ') && !l.startsWith('stowage: warning: '));
  assert.equal(errors.length, 1, stderr);
  return errors[0] as string;
}

const json = (value: unknown): string => JSON.stringify(value);
const file = tarFile;

function checkImageReport(report: AuditReport, archive: string): void {
  assert.deepEqual(
    report.targets.map((t) => [t.path, t.ecosystem, t.inventory, t.packages]),
    [
      [`${archive}:usr/bin/tool`, 'cargo', 'embedded paths', report.targets[0]?.packages],
      // The application, left-pad, @scope/x and minimist: `old` is whited out, /opt emptied.
      [`${archive}:app/node_modules`, 'npm', 'package.json', 4],
    ],
  );
  // minimist 0.0.8: prototype pollution, GHSA-vh95-rmgr-6w4m (< 0.2.1) and GHSA-xvch-5gv4-984h (< 0.2.4).
  const npm = report.findings.filter((f) => f.package.ecosystem === 'npm');
  assert.deepEqual(npm.map((f) => f.advisory.id).sort(), ['GHSA-vh95-rmgr-6w4m', 'GHSA-xvch-5gv4-984h']);
  for (const f of npm) assert.deepEqual(f.paths, [['app@1.0.0', '@scope/x@2.0.0', 'minimist@0.0.8']]);
}

test('a docker save archive: layers applied in order, whiteouts honoured, each binary and node_modules an application', async () => {
  const archive = await dockerSaveArchive(await installedLayers(), 'demo:1');
  const run = audit(archive);
  assert.equal(run.status, 1, run.stderr);
  checkImageReport(auditReport(run.stdout), archive);
});

test('a docker save archive compressed whole (`docker save | gzip`, which docker load reads): refused saying what it is, not as a vendor archive without its SBOM', async () => {
  const { gzipSync } = await import('node:zlib');
  const archive = join(tempDir('audit-images-gz'), 'image.tar.gz');
  writeFileSync(archive, gzipSync(readFileSync(await dockerSaveArchive(await installedLayers(), 'demo:1'))));
  const run = audit(archive);
  assert.equal(run.status, 2, run.stdout);
  assert.equal(oneLine(run.stderr), `stowage: ${archive}: a compressed image archive (docker save, then gzip or zstd), which stowage does not read: decompress it and audit the .tar, as docker save writes it`);
});

test('an OCI image layout archive: index, manifest, blobs by digest (gzip layers)', async () => {
  const { gzipSync } = await import('node:zlib');
  const [one, two] = (await installedLayers()).map((l) => gzipSync(l));
  const config = Buffer.from('{}');
  const manifest = Buffer.from(json({ schemaVersion: 2, config: { digest: `sha256:${sha256Of(config)}` }, layers: [one, two].map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: `sha256:${sha256Of(l as Buffer)}` })) }));
  const archive = join(tempDir('audit-images-oci'), 'image.tar');
  const blob = (data: Buffer): TarEntry => file(`blobs/sha256/${sha256Of(data)}`, data);
  writeFileSync(
    archive,
    await packTar([
      file('oci-layout', json({ imageLayoutVersion: '1.0.0' })),
      file('index.json', json({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${sha256Of(manifest)}` }] })),
      blob(manifest),
      blob(config),
      blob(one as Buffer),
      blob(two as Buffer),
    ]),
  );
  const run = audit(archive);
  assert.equal(run.status, 1, run.stderr);
  checkImageReport(auditReport(run.stdout), archive);
});

test('an archive with both a docker manifest.json and an OCI index.json: the images of both are audited (loaders read one or the other)', async () => {
  const config = Buffer.from('{}');
  const blob = (data: Buffer): TarEntry => file(`blobs/sha256/${sha256Of(data)}`, data);
  const manifestOf = (layers: readonly Buffer[]): Buffer => Buffer.from(json({ schemaVersion: 2, config: { digest: `sha256:${sha256Of(config)}` }, layers: layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: `sha256:${sha256Of(l)}` })) }));
  const index = (manifest: Buffer): TarEntry => file('index.json', json({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${sha256Of(manifest)}`, annotations: { 'org.opencontainers.image.ref.name': 'demo:oci' } }] }));
  const layers = await installedLayers();
  // manifest.json names a harmless image; index.json (what containerd and podman load) the one with minimist 0.0.8.
  const clean = await packTar([
    file('app/package.json', json({ name: 'app', version: '1.0.0', dependencies: { 'left-pad': '1' } })),
    file('app/node_modules/left-pad/package.json', json({ name: 'left-pad', version: '1.1.0' })),
  ]);
  const manifest = manifestOf(layers);
  const two = join(tempDir('audit-images-both'), 'image.tar');
  writeFileSync(
    two,
    await packTar([
      file('manifest.json', json([{ Config: `blobs/sha256/${sha256Of(config)}`, RepoTags: ['demo:docker'], Layers: [`blobs/sha256/${sha256Of(clean)}`] }])),
      file('oci-layout', json({ imageLayoutVersion: '1.0.0' })),
      index(manifest),
      ...[manifest, config, clean, ...layers].map(blob),
    ]),
  );
  const run = audit(two);
  assert.equal(run.status, 1, run.stderr);
  const report = auditReport(run.stdout);
  assert.deepEqual(report.targets.map((t) => t.path).sort(), [`${two}#demo:docker:app/node_modules`, `${two}#demo:oci:app/node_modules`, `${two}#demo:oci:usr/bin/tool`]);
  assert.deepEqual(report.findings.filter((f) => f.package.name === 'minimist').map((f) => f.target), [`${two}#demo:oci:app/node_modules`, `${two}#demo:oci:app/node_modules`]);

  // As docker save 25 writes it: both name the same layers, read once; the index's other platforms, whose blobs it left out, passed over.
  const same = join(tempDir('audit-images-same'), 'image.tar');
  const absent = Buffer.from('{"schemaVersion":2,"layers":[]}');
  writeFileSync(
    same,
    await packTar([
      file('manifest.json', json([{ Config: `blobs/sha256/${sha256Of(config)}`, RepoTags: ['demo:1'], Layers: layers.map((l) => `blobs/sha256/${sha256Of(l)}`) }])),
      file('oci-layout', json({ imageLayoutVersion: '1.0.0' })),
      file('index.json', json({ schemaVersion: 2, manifests: [{ digest: `sha256:${sha256Of(manifest)}` }, { digest: `sha256:${sha256Of(absent)}` }] })),
      ...[manifest, config, ...layers].map(blob),
    ]),
  );
  const once = audit(same);
  assert.equal(once.status, 1, once.stderr);
  checkImageReport(auditReport(once.stdout), same);
});

test('hostile image archives are refused in one line, exit 2, and nothing is written', async () => {
  const dir = tempDir('audit-images-hostile');
  const canary = join(dir, 'escaped');
  const cases: [string, TarEntry[], RegExp][] = [
    ['traversal', [file('../escaped', 'x')], /layer\.tar: entry "\.\.\/escaped": `\.\.` in path/],
    ['absolute', [file(`${canary}`, 'x')], /layer\.tar: entry ".*escaped": absolute path/],
    ['symlink', [{ header: { name: 'usr/lib/evil', type: 'symlink', linkname: '../../../../escaped' } }], /entry "usr\/lib\/evil": symbolic link to "\.\.\/\.\.\/\.\.\/\.\.\/escaped": leads out of the tree/],
    ['hardlink', [{ header: { name: 'usr/bin/evil', type: 'link', linkname: 'etc/shadow' } }], /entry "usr\/bin\/evil": hard link to "etc\/shadow", which is no file read before it in the archive/],
  ];
  for (const [name, entries, expected] of cases) {
    const archive = join(dir, `${name}.tar`);
    writeFileSync(archive, await packTar([file('manifest.json', json([{ Layers: ['layer.tar'] }])), file('layer.tar', await packTar(entries))]));
    const run = audit(archive);
    assert.equal(run.status, 2, `${name}: ${run.stderr}`);
    assert.match(oneLine(run.stderr), expected);
    assert.equal(run.stdout, '');
  }
  const missing = join(dir, 'missing.tar');
  writeFileSync(missing, await packTar([file('manifest.json', json([{ Layers: ['nowhere.tar'] }]))]));
  assert.match(oneLine(audit(missing).stderr), /missing\.tar: "nowhere\.tar" is named by the image but not in the archive/);
  const forged = join(dir, 'forged.tar');
  const wrong = 'a'.repeat(64);
  writeFileSync(forged, await packTar([file('oci-layout', '{}'), file('index.json', json({ manifests: [{ digest: `sha256:${wrong}` }] })), file(`blobs/sha256/${wrong}`, '{}')]));
  assert.match(oneLine(audit(forged).stderr), /forged\.tar: blobs\/sha256\/a{64}: its bytes do not match its digest/);
  assert.equal(existsSync(canary), false);
});

test('an installed tree: a directory without lockfiles, symbolic links never followed', () => {
  const root = tempDir('audit-images-tree');
  mkdirSync(join(root, 'usr', 'bin'), { recursive: true });
  writeFileSync(join(root, 'usr', 'bin', 'tool'), readFileSync(realRustBinary()), { mode: 0o755 });
  for (const [path, manifest] of [
    ['srv/web/node_modules/minimist', { name: 'minimist', version: '0.0.8' }],
    ['srv/web/node_modules/@types/node', { name: '@types/node', version: '20.0.0' }],
    ['srv/web/node_modules/minimist/node_modules/left-pad', { name: 'left-pad', version: '1.1.0' }],
  ] as const) {
    mkdirSync(join(root, path), { recursive: true });
    writeFileSync(join(root, path, 'package.json'), json(manifest));
  }
  // A link out of the tree, to a directory full of binaries: never followed.
  symlinkSync('/usr/bin', join(root, 'outside'));
  const run = audit(root);
  assert.equal(run.status, 1, run.stderr);
  const report = auditReport(run.stdout);
  assert.deepEqual(
    report.targets.map((t) => [t.path, t.inventory, t.ecosystem]),
    [
      [`${root}:usr/bin/tool`, 'embedded paths', 'cargo'],
      [`${root}:srv/web/node_modules`, 'package.json', 'npm'],
    ],
  );
  assert.equal(report.targets[1]?.packages, 4, 'the root and three installed packages');
  const minimist = report.findings.filter((f) => f.package.name === 'minimist');
  // No package.json at the root: the application is named by its directory; with no version, a path shows its bare name.
  assert.deepEqual(minimist.map((f) => f.paths), [[['web', 'minimist@0.0.8']], [['web', 'minimist@0.0.8']]]);
});

test('a package linked into node_modules (a symbolic link node follows, stowage does not): partial, refused without --allow-partial, in a directory and an image', async () => {
  // What node loads: require('lodash') from app/ resolves through the link to vendor/lodash 4.17.4, which has advisories.
  const lodash = json({ name: 'lodash', version: '4.17.4' });
  const root = tempDir('audit-images-linked');
  for (const [path, manifest] of [
    ['app/node_modules/ms', { name: 'ms', version: '2.1.3' }],
    ['vendor/lodash', { name: 'lodash', version: '4.17.4' }],
  ] as const) {
    mkdirSync(join(root, path), { recursive: true });
    writeFileSync(join(root, path, 'package.json'), json(manifest));
  }
  // An absolute link: where it leads is the host's file system, not the tree's.
  symlinkSync(join(root, 'vendor', 'lodash'), join(root, 'app', 'node_modules', 'lodash'));
  // node_modules/.bin holds links to executables, no package: it changes nothing.
  mkdirSync(join(root, 'app', 'node_modules', '.bin'));
  symlinkSync('../ms/cli.js', join(root, 'app', 'node_modules', '.bin', 'ms'));
  const image = await dockerSaveArchive(
    [
      await packTar([
        file('app/node_modules/ms/package.json', json({ name: 'ms', version: '2.1.3' })),
        file('opt/lodash/package.json', lodash),
        // An absolute link leads from the image's root: to nothing this image holds, here.
        // A whole scope and a whole node_modules linked into place are followed by node as well.
        { header: { name: 'app/node_modules/lodash', type: 'symlink', linkname: '/usr/lib/elsewhere/lodash' } },
        { header: { name: 'app/node_modules/@scope', type: 'symlink', linkname: '../../opt/scope' } },
        { header: { name: 'srv/node_modules', type: 'symlink', linkname: '/opt/srv-modules' } },
        { header: { name: 'app/node_modules/.bin/ms', type: 'symlink', linkname: '../ms/cli.js' } },
      ]),
    ],
    'linked:1',
  );
  for (const [input, where, links] of [
    [root, `${root}:app/node_modules`, /a symbolic link where node loads packages from, not followed, .*app\/node_modules\/lodash -> \/.*\/vendor\/lodash: a partial inventory; refused/],
    [image, `${image}:app/node_modules`, /2 symbolic links where node loads packages from, not followed, .*app\/node_modules\/@scope -> \.\.\/\.\.\/opt\/scope, app\/node_modules\/lodash -> \/usr\/lib\/elsewhere\/lodash: a partial inventory; refused/],
  ] as const) {
    const refused = runCli(['audit', input, '--db', GHSA_NPM, '--format', 'json'], { cacheDir });
    assert.equal(refused.status, 2, refused.stderr);
    assert.equal(refused.stdout, '');
    const line = oneLine(refused.stderr);
    assert.ok(line.startsWith(`stowage: ${where}: `), line);
    assert.match(line, links);
    // With --allow-partial: audited, every report saying what was not followed.
    const run = audit(input);
    assert.equal(run.status, 0, run.stderr);
    const report = auditReport(run.stdout);
    const target = report.targets.find((t) => t.path === where);
    assert.equal(target?.partial, true, run.stdout);
    assert.ok(report.warnings.some((w) => w.includes(where) && w.includes('PARTIAL') && w.includes('app/node_modules/lodash -> ')), run.stdout);
  }
  // The image's srv/node_modules is itself a link: its application is partial too, though no package.json of it was read.
  const imageReport = auditReport(audit(image).stdout);
  assert.deepEqual(
    imageReport.targets.filter((t) => t.partial === true).map((t) => t.path),
    [`${image}:app/node_modules`, `${image}:srv/node_modules`],
  );
});

test('a package linked into node_modules from inside the tree (an npm workspace member, a package kept outside node_modules) is read where the link leads', async () => {
  // npm installs a workspace member as node_modules/ws-a -> ../packages/ws-a; a package can be kept
  // anywhere and linked the same way: node loads each through its link, so each is audited as installed there.
  const root = tempDir('audit-images-in-tree-links');
  for (const [path, manifest] of [
    ['app/package.json', { name: 'web', version: '1.0.0', workspaces: ['packages/*'] }],
    ['app/node_modules/ms/package.json', { name: 'ms', version: '2.1.3' }],
    ['app/packages/ws-a/package.json', { name: 'ws-a', version: '1.0.0', dependencies: { ms: '^2.1.3' } }],
    ['vendor/lodash/package.json', { name: 'lodash', version: '4.17.4' }],
  ] as const) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), json(manifest));
  }
  symlinkSync('../packages/ws-a', join(root, 'app', 'node_modules', 'ws-a'));
  symlinkSync('../../vendor/lodash', join(root, 'app', 'node_modules', 'lodash'));
  const image = await dockerSaveArchive(
    [
      await packTar([
        file('app/package.json', json({ name: 'web', version: '1.0.0' })),
        file('app/node_modules/ms/package.json', json({ name: 'ms', version: '2.1.3' })),
        file('opt/lodash/package.json', json({ name: 'lodash', version: '4.17.4' })),
        { header: { name: 'app/node_modules/lodash', type: 'symlink', linkname: '../../opt/lodash' } },
      ]),
    ],
    'in-tree:1',
  );
  for (const [input, packages] of [
    [root, ['lodash@4.17.4', 'ms@2.1.3', 'ws-a@1.0.0']],
    [image, ['lodash@4.17.4', 'ms@2.1.3']],
  ] as const) {
    // Before, the link was not followed and lodash 4.17.4 passed unseen (exit 0), then made the tree partial.
    const run = runCli(['audit', input, '--db', GHSA_NPM, '--format', 'json'], { cacheDir });
    assert.equal(run.status, 1, run.stderr);
    const report = auditReport(run.stdout);
    const target = report.targets.find((t) => t.path === `${input}:app/node_modules`);
    assert.ok(target !== undefined && target.partial !== true, run.stdout);
    assert.ok(report.findings.some((f) => f.package.name === 'lodash' && f.package.version === '4.17.4'), run.stdout);
    const sbom = runCli(['sbom', input, '--format', 'cyclonedx', '--no-licenses'], { cacheDir });
    assert.equal(sbom.status, 0, sbom.stderr);
    const components = (JSON.parse(sbom.stdout) as { components: { name: string; version: string }[] }).components.map((c) => `${c.name}@${c.version}`);
    for (const p of packages) assert.ok(components.includes(p), `${p} in ${components.join(', ')}`);
  }
});

/** GNU time, which reports a command's peak resident memory; .ci/run installs it (Debian package `time`). */
const GNU_TIME = '/usr/bin/time';
function whyNoGnuTime(): string | false {
  if (existsSync(GNU_TIME)) return false;
  if (process.env.CI === 'true') throw new Error(`${GNU_TIME} is missing: .ci/run installs the Debian package "time"`);
  return `${GNU_TIME} not installed (Debian package "time")`;
}

test('a layer bomb: a 1 GiB file of zeros in a 1 MB layer is counted as it is inflated, never held in memory', { skip: whyNoGnuTime() }, async () => {
  const GiB = 1024 * 1024 * 1024;
  const layer = await gzipBombTar([file('usr/bin/tool', readFileSync(realRustBinary()), 0o755)], { name: 'var/lib/zeros.img', size: GiB });
  const archive = await dockerSaveArchive([layer], 'bomb:1');
  assert.ok(readFileSync(archive).length < 32 * 1024 * 1024, 'the archive is small');
  const run = spawnSync(GNU_TIME, ['-f', 'peak-rss-kib=%M', process.execPath, join(PROJECT_ROOT, 'bin', 'stowage.cjs'), 'audit', archive, '--db', ADVISORY_DB_BUNDLE, '--format', 'json', '--allow-partial'], {
    env: { ...process.env, NO_COLOR: '1', STOWAGE_CACHE_DIR: cacheDir },
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  assert.ok(run.status === 0 || run.status === 1, run.stderr);
  assert.deepEqual(auditReport(run.stdout).targets.map((t) => t.path), [`${archive}:usr/bin/tool`]);
  const peak = Number(/peak-rss-kib=(\d+)/.exec(run.stderr)?.[1]);
  // Holding the file would take a gibibyte (twice that while it was joined); reading the real binary and the index takes a fraction.
  assert.ok(peak > 0 && peak * 1024 < GiB / 2, `peak resident memory ${peak} KiB`);
});
