import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { deflateSync, gzipSync } from 'node:zlib';
import { auditReport } from '../support/audit-report.js';
import { rustsecAdvisoryDb } from '../support/advisory-fixtures.js';
import { gzipBombTar, packTar } from '../support/hostile-tar.js';
import { elfWithDepV0, elfWithSection } from '../support/object-files.js';
import { refusal, runCli, sha256Of, tempDir } from '../support/shared.js';
import { buildDeb, buildRpm, dockerSaveArchive, tarFile } from '../support/shipped-artifacts.js';

/*
 * What shipped, made hostile: each case is a package, an image or a tree that a real installer
 * or runtime unpacks with a vulnerable Rust binary in it, where the audit must not pass without
 * reading that binary (or say, in one line naming the file, why it cannot).
 */

const cacheDir = tempDir('audit-shipped-hostile-cache');
const work = tempDir('audit-shipped-hostile');
const db = rustsecAdvisoryDb(join(work, 'db'), [{ id: 'RUSTSEC-2099-0301', package: 'smallvec', patched: ['>= 1.6.1'] }]);
// The sparse files of gigabytes go with it.
after(() => rmSync(work, { recursive: true, force: true }));

/** An ELF executable whose `.dep-v0` section holds `packages` (cargo-auditable's JSON, zlib), or nothing at all. */
function elf(packages: object[] | null): Buffer {
  return elfWithDepV0(true, true, packages === null ? Buffer.alloc(0) : deflateSync(JSON.stringify({ packages })));
}

/** Built from smallvec 1.6.0, which RUSTSEC-2099-0301 affects. */
const VULNERABLE = elf([
  { name: 'tool', version: '0.1.0', source: 'local', dependencies: [1], root: true },
  { name: 'smallvec', version: '1.6.0', source: 'crates.io' },
]);
/** Built from no crate of crates.io. */
const CLEAN = elf([{ name: 'other', version: '0.1.0', source: 'local', root: true }]);

function audit(path: string, ...extra: string[]): ReturnType<typeof runCli> {
  return runCli(['audit', path, '--db', db, '--no-fetch', '--format', 'json', ...extra], { cacheDir });
}


function file(name: string, bytes: Buffer): string {
  const path = join(work, name);
  writeFileSync(path, bytes);
  return path;
}

test('an image layer holding a binary as a GNU sparse file (pax GNU.sparse records, as `tar --sparse --format=posix` writes) is refused, not passed over', async () => {
  // Sparse format 1.0: the entry is named GNUSparseFile.N/NAME, its data a map (one region: all
  // of the file) padded to a block, then the region. GNU tar, Go's archive/tar (docker,
  // containerd) and Python's tarfile unpack it as usr/bin/tool.
  const map = Buffer.alloc(512);
  map.write(`1\n0\n${VULNERABLE.length}\n`, 'latin1');
  const sparse = {
    header: {
      name: 'usr/bin/GNUSparseFile.0/tool',
      mode: 0o755,
      type: 'file' as const,
      pax: { 'GNU.sparse.major': '1', 'GNU.sparse.minor': '0', 'GNU.sparse.name': 'usr/bin/tool', 'GNU.sparse.realsize': String(VULNERABLE.length) },
    },
    data: Buffer.concat([map, VULNERABLE]),
  };
  const layer = await packTar([tarFile('usr/bin/other', CLEAN, 0o755), sparse]);
  const layerFile = file('sparse-layer.tar', layer);
  assert.match(execFileSync('tar', ['-tf', layerFile], { encoding: 'utf8' }), /^usr\/bin\/tool$/m, 'GNU tar unpacks the binary as usr/bin/tool');

  const image = await dockerSaveArchive([layer], 'sparse:1');
  assert.match(
    refusal(audit(image)),
    new RegExp(`^stowage: ${image}:000/layer\\.tar: entry "usr/bin/GNUSparseFile\\.0/tool": a sparse file \\(pax GNU\\.sparse records, for "usr/bin/tool"\\): .*; refused$`),
  );
});

test('a layer whose whiteout names no file (`.wh.`, `.wh..`) is refused: it hid every binary of the layers below', async () => {
  const lower = await packTar([tarFile('usr/bin/tool', VULNERABLE, 0o755)]);
  for (const whiteout of ['.wh.', 'usr/.wh..']) {
    const upper = await packTar([tarFile(whiteout, ''), tarFile('usr/bin/other', CLEAN, 0o755)]);
    const image = await dockerSaveArchive([lower, upper], 'whiteout:1');
    assert.match(refusal(audit(image)), new RegExp(`^stowage: ${image}:001/layer\\.tar: whiteout "${whiteout.replace(/\./g, '\\.')}" names no file: runtimes disagree on what it removes`));
  }
});

test('a package whose second binary has an emptied .dep-v0 section is not audited as if it held only the first', () => {
  const dir = join(work, 'emptied');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'a'), VULNERABLE);
  writeFileSync(join(dir, 'b'), elf(null));
  const deb = buildDeb({ name: 'two-tools', version: '1.0-1', fields: {}, files: { 'usr/bin/a': join(dir, 'a'), 'usr/bin/b': join(dir, 'b') }, compression: 'xz' });
  assert.match(refusal(audit(deb)), new RegExp(`^stowage: ${deb}: 1 Rust binary has no \\.dep-v0 section, only embedded source paths: a partial inventory \\(${deb}:usr/bin/b\\); refused`));

  const run = audit(deb, '--allow-partial');
  assert.equal(run.status, 1, run.stderr);
  const report = auditReport(run.stdout);
  assert.deepEqual(
    report.targets.map((t) => [t.path, t.inventory, t.partial]),
    [
      [`${deb}:usr/bin/a`, 'dep-v0', false],
      [`${deb}:usr/bin/b`, 'embedded paths', true],
    ],
  );
  assert.ok(
    report.warnings.some((w) => w.startsWith(`${deb}:usr/bin/b: PARTIAL inventory`) && w.includes('its .dep-v0 section is empty')),
    JSON.stringify(report.warnings),
  );
  // The binary alone says the same, not that it was built without cargo-auditable.
  assert.match(refusal(audit(join(dir, 'b'))), /: its \.dep-v0 section is empty, so what it was built from cannot be read: its embedded source paths name 0 crates/);
});

test("a .deb whose Built-Using names a crate (debcargo's record before X-Cargo-Built-Using, and still for crates bundling C code): that crate is audited", () => {
  const dir = join(work, 'built-using');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'tool'), CLEAN);
  // The binary's .dep-v0 does not list smallvec: only the field says the package was built with it.
  const fields = { 'Built-Using': 'rust-smallvec (= 1.6.0-1), glibc (= 2.36-9), rustc (= 1.63.0+dfsg1-2)' };
  const deb = buildDeb({ name: 'old-tool', version: '1.0-1', fields, files: { 'usr/bin/tool': join(dir, 'tool') }, compression: 'gzip' });
  const run = audit(deb);
  assert.equal(run.status, 1, run.stdout + run.stderr);
  const report = auditReport(run.stdout);
  assert.deepEqual(
    report.targets.map((t) => [t.path, t.inventory, t.packages]),
    [
      [deb, 'Built-Using', 2],
      [`${deb}:usr/bin/tool`, 'dep-v0', 1],
    ],
  );
  assert.deepEqual(report.findings.map((f) => [f.target, f.advisory.id, `${f.package.name}@${f.package.version}`]), [[deb, 'RUSTSEC-2099-0301', 'smallvec@1.6.0']]);
  // glibc and rustc are no crates, and Built-Using names such sources in any package: not warned about.
  assert.ok(!report.warnings.some((w) => w.includes('glibc')), JSON.stringify(report.warnings));
});

/** A Go program as the Go linker leaves it: an ELF (here without sections) holding Go's build information. */
function goExecutable(): Buffer {
  const header = Buffer.alloc(64);
  header.write('\x7fELF\x02\x01\x01', 0, 'latin1');
  return Buffer.concat([header, Buffer.from('\xff Go buildinf:\x08\x02', 'latin1'), Buffer.alloc(16)]);
}

test('a Go executable beside a Rust binary, in a package or a tree: said not audited in every report, never passed over in silence', () => {
  const dir = join(work, 'go');
  mkdirSync(join(dir, 'tree', 'usr', 'bin'), { recursive: true });
  writeFileSync(join(dir, 'tool'), VULNERABLE);
  writeFileSync(join(dir, 'goapp'), goExecutable());
  writeFileSync(join(dir, 'tree', 'usr', 'bin', 'tool'), VULNERABLE);
  writeFileSync(join(dir, 'tree', 'usr', 'bin', 'goapp'), goExecutable());
  const deb = buildDeb({ name: 'mixed', version: '1.0-1', fields: {}, files: { 'usr/bin/tool': join(dir, 'tool'), 'usr/bin/goapp': join(dir, 'goapp') }, compression: 'xz' });
  for (const artifact of [deb, join(dir, 'tree')]) {
    const run = audit(artifact);
    assert.equal(run.status, 1, run.stdout + run.stderr);
    const report = auditReport(run.stdout);
    assert.deepEqual(report.targets.map((t) => t.path), [`${artifact}:usr/bin/tool`]);
    assert.ok(
      report.warnings.includes(`${artifact}: 1 Go executable not audited (stowage audits crates and npm packages, not Go modules): usr/bin/goapp`),
      JSON.stringify(report.warnings),
    );
  }
});

test("a .deb whose control names it with bytes dpkg refuses (terminal escapes, markup) is refused in one line, the bytes escaped", () => {
  const cases: [string, string, RegExp][] = [
    ['evil\x1b]0;title\x07<b>', '1.0-1', /control: Package "evil\\u001b\]0;title\\u0007<b>" is not a package name .*: dpkg refuses to install it$/],
    ['evil', '1.0\x1b[2J-1', /control: Version "1\.0\\u001b\[2J-1" is not a Debian version .*: dpkg refuses to install it$/],
  ];
  for (const [name, version, message] of cases) {
    const deb = buildDeb({ name, version, fields: {}, files: { 'usr/bin/tool': file('named-tool', VULNERABLE) }, compression: 'xz', nocheck: true });
    const line = refusal(audit(deb));
    assert.ok(line.startsWith(`stowage: ${deb}:control: `), line);
    assert.match(line, message);
    assert.equal([...line].some((c) => c.charCodeAt(0) < 0x20 || c === '\x7f'), false, 'no control character reaches the terminal');
  }
});

/** A sparse file of `size` bytes starting with `head`: gigabytes that take no room on disk. */
function sparseFile(path: string, head: Buffer, size: number): string {
  const fd = openSync(path, 'w');
  try {
    writeSync(fd, head, 0, head.length, 0);
    writeSync(fd, Buffer.from([0]), 0, 1, size - 1);
  } finally {
    closeSync(fd);
  }
  return path;
}

test('an executable, a package or an installed tree\'s binary too large to read whole: one line naming it, exit 2', () => {
  const GiB = 1024 ** 3;
  const binary = sparseFile(join(work, 'huge-tool'), CLEAN, 3 * GiB);
  assert.match(refusal(audit(binary)), new RegExp(`^stowage: ${binary}: an executable of ${3 * GiB} bytes, larger than the ${GiB} bytes stowage reads whole: not read$`));

  const tree = join(work, 'tree');
  mkdirSync(join(tree, 'usr', 'bin'), { recursive: true });
  writeFileSync(join(tree, 'usr', 'bin', 'other'), CLEAN);
  const inTree = sparseFile(join(tree, 'usr', 'bin', 'huge'), VULNERABLE, 3 * GiB);
  assert.match(refusal(audit(tree)), new RegExp(`^stowage: ${inTree}: an executable of ${3 * GiB} bytes, larger than the ${GiB} bytes stowage reads whole: not read$`));

  const deb = sparseFile(join(work, 'huge_1.0_amd64.deb'), Buffer.from('!<arch>\n', 'latin1'), 3 * GiB);
  assert.match(refusal(audit(deb)), new RegExp(`^stowage: ${deb}: a package of ${3 * GiB} bytes, larger than the ${2 ** 31 - 1} bytes stowage reads whole: not read$`));
});

test('a .dep-v0 crate whose source is none cargo-auditable writes ("crates.io ", "Crates.io") is named as not matched, never counted in silence', () => {
  // cargo-auditable writes "crates.io" for crates.io's crates and the kind of any other source
  // id ("registry", "sparse" for another registry's, matched by name and version as a lockfile's
  // are); its reader (auditable-serde) keeps any other string as Source::Other, which names no
  // registry. Only the exact "crates.io" is crates.io.
  for (const source of ['crates.io ', 'Crates.io', 'crates.io\u200b', 'local-registry']) {
    const binary = file('unknown-source', elf([
      { name: 'tool', version: '0.1.0', source: 'local', dependencies: [1], root: true },
      { name: 'smallvec', version: '1.6.0', source },
    ]));
    const run = audit(binary);
    assert.equal(run.status, 0, run.stderr);
    const report = auditReport(run.stdout);
    assert.deepEqual(report.findings, []);
    assert.deepEqual(
      report.warnings.filter((w) => w.startsWith(binary)),
      [
        `${binary}: 1 crate from a source that is not crates.io NOT matched against advisories ` +
          `(advisories name crates.io's crates): smallvec 1.6.0 (source ${JSON.stringify(source)})`,
      ],
      JSON.stringify(source),
    );
    const human = runCli(['audit', binary, '--db', db, '--no-fetch'], { cacheDir });
    assert.equal(human.status, 0, human.stderr);
    assert.match(human.stdout + human.stderr, /1 crate from a source that is not crates\.io NOT matched against advisories/);
  }
  // "crates.io" itself is matched.
  const exact = audit(file('crates-io-source', VULNERABLE));
  assert.equal(exact.status, 1, exact.stderr);
  assert.deepEqual(auditReport(exact.stdout).findings.map((f) => `${f.advisory.id} ${f.package.name}`), ['RUSTSEC-2099-0301 smallvec']);
});

test('a .dep-v0 crate from another registry ("registry", "sparse") is matched by name and version, with a warning that says so', () => {
  // cargo-auditable writes the kind of the source id for another registry's crate: most often a
  // mirror of crates.io serving crates.io's smallvec. It passed with exit 0 and a NOT matched warning.
  for (const source of ['registry', 'sparse']) {
    const binary = file('other-registry', elf([
      { name: 'tool', version: '0.1.0', source: 'local', dependencies: [1], root: true },
      { name: 'smallvec', version: '1.6.0', source },
    ]));
    const run = audit(binary);
    assert.equal(run.status, 1, run.stderr);
    const report = auditReport(run.stdout);
    assert.deepEqual(report.findings.map((f) => `${f.advisory.id} ${f.package.name} ${f.package.version}`), ['RUSTSEC-2099-0301 smallvec 1.6.0'], source);
    assert.deepEqual(
      report.warnings.filter((w) => w.startsWith(binary)),
      [
        `${binary}: 1 crate from a registry other than crates.io matched against advisories by name and version ` +
          "(advisories name crates.io's crates; a crate of the same name and version from another registry is usually crates.io's, mirrored: " +
          'ignore an advisory that does not apply with --ignore ID=REASON): smallvec 1.6.0 (registry)',
      ],
      source,
    );
  }
});

test('an OCI layout whose indexes each name the next one many times over is read once per blob, not walked millions of times', async () => {
  // index.json -> 40 x index C -> 40 x index B -> 40 x index A -> 40 x the one manifest: 33 KB
  // that named 2.56 million images, each kept in memory (main: out of memory at a 128 MB heap).
  const layer = await packTar([tarFile('usr/bin/tool', VULNERABLE, 0o755)]);
  const config = Buffer.from('{}');
  const descriptor = (data: Buffer, mediaType: string): object => ({ mediaType, digest: `sha256:${sha256Of(data)}`, size: data.length });
  const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, config: descriptor(config, 'application/vnd.oci.image.config.v1+json'), layers: [descriptor(layer, 'application/vnd.oci.image.layer.v1.tar')] }));
  const blobs = [layer, config, manifest];
  let named = descriptor(manifest, 'application/vnd.oci.image.manifest.v1+json');
  for (let level = 0; level < 4; level++) {
    const index = Buffer.from(JSON.stringify({ schemaVersion: 2, manifests: Array(40).fill(named) }));
    if (level === 3) {
      const image = file('fan-out.tar', await packTar([tarFile('oci-layout', '{"imageLayoutVersion":"1.0.0"}'), tarFile('index.json', index), ...blobs.map((b) => tarFile(`blobs/sha256/${sha256Of(b)}`, b))]));
      const run = runCli(['audit', image, '--db', db, '--no-fetch', '--format', 'json'], { cacheDir, env: { NODE_OPTIONS: '--max-old-space-size=128' } });
      assert.equal(run.status, 1, run.stderr.slice(0, 2000));
      const report = auditReport(run.stdout);
      assert.deepEqual(report.targets.map((t) => t.path), [`${image}:usr/bin/tool`]);
      assert.deepEqual(report.findings.map((f) => f.advisory.id), ['RUSTSEC-2099-0301']);
    }
    blobs.push(index);
    named = descriptor(index, 'application/vnd.oci.image.index.v1+json');
  }
});

test('an image naming one layer several times applies it each time (read once): a layer whited out above comes back when named again', async () => {
  const tool = await packTar([tarFile('usr/bin/tool', VULNERABLE, 0o755), tarFile('usr/lib/other', CLEAN, 0o755)]);
  const whiteout = await packTar([tarFile('usr/bin/.wh.tool', ''), tarFile('usr/.wh..wh..opq', '')]);
  const names = ['000/layer.tar', '001/layer.tar'];
  const archive = async (layers: string[], tag: string): Promise<string> =>
    file(`${tag}.tar`, await packTar([tarFile('manifest.json', JSON.stringify([{ Config: 'config.json', RepoTags: [`${tag}:1`], Layers: layers }])), tarFile('config.json', '{}'), tarFile(names[0] as string, tool), tarFile(names[1] as string, whiteout)]));
  const back = await archive([names[0], names[1], names[0]] as string[], 'back');
  const run = audit(back);
  assert.equal(run.status, 1, run.stderr);
  assert.deepEqual(auditReport(run.stdout).targets.map((t) => t.path), [`${back}:usr/bin/tool`, `${back}:usr/lib/other`]);
  // Whited out last: the opaque usr/ hides both binaries, and nothing is left to audit.
  const gone = await archive([names[0], names[0], names[1]] as string[], 'gone');
  assert.match(refusal(audit(gone)), /nothing to audit: no Rust binary and no node_modules in the image$/);
});

/** An `ar` archive (deb(5)'s container) of these members, as dpkg-deb writes it. */
function arArchive(members: [string, Buffer][]): Buffer {
  const parts: Buffer[] = [Buffer.from('!<arch>\n', 'latin1')];
  for (const [name, data] of members) {
    parts.push(Buffer.from(`${name.padEnd(16)}${'0'.padEnd(12)}${'0'.padEnd(6)}${'0'.padEnd(6)}${'100644'.padEnd(8)}${String(data.length).padEnd(10)}\`\n`, 'latin1'), data);
    if (data.length % 2 === 1) parts.push(Buffer.from('\n'));
  }
  return Buffer.concat(parts);
}

test('a package or image whose binaries, read whole, come to far more than it could hold compressed is refused before they are all in memory', async () => {
  // 520 MiB behind an ELF header, about 520 KB compressed: sixteen gigabytes of them took 16 MB, all held at once.
  const bomb = await gzipBombTar([], { name: 'usr/bin/tool', size: 520 * 1024 * 1024, head: Buffer.from(VULNERABLE.subarray(0, 64)) });
  const image = await dockerSaveArchive([bomb], 'kept:1');
  assert.match(refusal(audit(image)), new RegExp(`^stowage: ${image}:000/layer\\.tar: entry "usr/bin/tool": the files read whole \\(binaries, manifests\\) come to more than 536870912 bytes \\(the files read whole may come to 16 times the archive's own size, at least 512 MiB\\): refused`));
  const control = gzipSync(await packTar([tarFile('./control', 'Package: kept\nVersion: 1.0-1\nArchitecture: amd64\nMaintainer: T <t@example.org>\nDescription: d\n')]));
  const deb = file('kept.deb', arArchive([['debian-binary', Buffer.from('2.0\n')], ['control.tar.gz', control], ['data.tar.gz', bomb]]));
  assert.match(refusal(audit(deb)), new RegExp(`^stowage: ${deb}:data\\.tar\\.gz: entry "usr/bin/tool": the files read whole \\(binaries, manifests\\) come to more than 536870912 bytes`));
});

test('a package carried inside an image, a package or a tree (a .deb, an RPM) is named as not opened, not passed over in silence', async () => {
  const inner = buildDeb({ name: 'inner', version: '1.0-1', fields: {}, files: { 'usr/bin/tool': file('inner-tool', VULNERABLE) }, compression: 'xz' });
  const rpmHead = Buffer.concat([Buffer.from([0xed, 0xab, 0xee, 0xdb, 3, 0]), Buffer.alloc(90)]);
  const lower = await packTar([tarFile('usr/bin/other', CLEAN, 0o755), tarFile('var/cache/apt/archives/gone.deb', readFileSync(inner))]);
  const upper = await packTar([tarFile('opt/inner_1.0-1_amd64.deb', readFileSync(inner)), tarFile('opt/extra.rpm', rpmHead), tarFile('var/cache/apt/.wh.archives', '')]);
  const image = await dockerSaveArchive([lower, upper], 'nested:1');
  const run = audit(image);
  assert.equal(run.status, 0, run.stderr);
  // The whited-out one is not in the image.
  assert.deepEqual(auditReport(run.stdout).warnings, [`${image}: 2 packages inside it not opened, not audited (audit each on its own): opt/inner_1.0-1_amd64.deb (Debian package), opt/extra.rpm (RPM)`]);

  const tree = join(work, 'nested-tree');
  mkdirSync(join(tree, 'usr/bin'), { recursive: true });
  writeFileSync(join(tree, 'usr/bin/other'), CLEAN);
  writeFileSync(join(tree, 'inner.deb'), readFileSync(inner));
  const human = runCli(['audit', tree, '--db', db, '--no-fetch'], { cacheDir });
  assert.equal(human.status, 0, human.stderr);
  assert.ok(`${human.stdout}${human.stderr}`.includes(`warning: ${tree}: 1 package inside it not opened, not audited (audit it on its own): inner.deb (Debian package)`), human.stdout + human.stderr);

  const outer = buildDeb({ name: 'outer', version: '1.0-1', fields: {}, files: { 'usr/bin/other': file('outer-tool', CLEAN), 'usr/share/outer/inner.deb': inner }, compression: 'gzip' });
  assert.ok(auditReport(audit(outer).stdout).warnings.includes(`${outer}: 1 package inside it not opened, not audited (audit it on its own): usr/share/outer/inner.deb (Debian package)`));
});

test("a binary RPM whose lead says source (a byte rpm neither reads nor digests) is read for its binaries, as rpm -i installs them", () => {
  const rpm = readFileSync(buildRpm({ provides: [], binary: file('rpm-tool', VULNERABLE), payload: 'gzip' }));
  // The lead's type (bytes 6-7): 1, a source package. rpm -K: digests OK; rpm -ivh --test installs /usr/bin/tool.
  rpm.writeUInt16BE(1, 6);
  const path = file('lead-says-source.rpm', rpm);
  const run = audit(path);
  assert.equal(run.status, 1, run.stderr);
  const report = auditReport(run.stdout);
  assert.deepEqual(report.targets.map((t) => t.path), [`${path}:usr/bin/tool`]);
  assert.deepEqual(report.findings.map((f) => f.advisory.id), ['RUSTSEC-2099-0301']);
});

test('an RPM header holding a tag twice is refused: rpm reads the first (a second PROVIDENAME would show stowage other provides than rpm installs)', () => {
  // Beside a clean binary: read with the second PROVIDENAME, the audit had a binary and no finding.
  const rpm = readFileSync(buildRpm({ provides: ['bundled(crate(smallvec)) = 1.6.0'], binary: file('rpm-clean-tool', CLEAN), payload: 'gzip' }));
  // The main header follows the lead (96 bytes) and the signature header, padded to 8 bytes.
  const signatureEntries = rpm.readUInt32BE(96 + 8);
  const signatureEnd = 96 + 16 + signatureEntries * 16 + rpm.readUInt32BE(96 + 12);
  const header = Math.ceil(signatureEnd / 8) * 8;
  const entries = rpm.readUInt32BE(header + 8);
  const tagAt = (tag: number): number => {
    for (let i = 0; i < entries; i++) if (rpm.readUInt32BE(header + 16 + i * 16) === tag) return header + 16 + i * 16;
    throw new Error(`no tag ${tag}`);
  };
  // REQUIRENAME (1049, a string array after PROVIDENAME) renamed PROVIDENAME (1047): rpm 4.18
  // reads the first, smallvec's, and installs the package (`rpm -K`: digests OK once recomputed).
  rpm.writeUInt32BE(1047, tagAt(1049));
  const path = file('tag-twice.rpm', rpm);
  const run = audit(path);
  assert.equal(run.status, 2, run.stdout);
  assert.equal(run.stderr, `stowage: ${path}: damaged RPM: the header holds tag 1047 twice (rpm would read the first only)\n`);
});

/** An ELF holding node's single executable application fuse, as node itself (`:0`) or a SEA built from it (`:1`, postject flipped it). */
function nodeExecutable(fuse: '0' | '1'): Buffer {
  const header = Buffer.alloc(64);
  header.write('\x7fELF\x02\x01\x01', 0, 'latin1');
  return Buffer.concat([header, Buffer.from(`NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2:${fuse}`, 'latin1'), Buffer.alloc(16)]);
}

test('a Node.js single executable application beside a Rust binary: said not audited (its bundled npm packages are read nowhere); node itself is not', () => {
  const dir = join(work, 'sea');
  mkdirSync(join(dir, 'tree', 'usr', 'bin'), { recursive: true });
  writeFileSync(join(dir, 'tree', 'usr', 'bin', 'tool'), VULNERABLE);
  writeFileSync(join(dir, 'tree', 'usr', 'bin', 'seaapp'), nodeExecutable('1'));
  writeFileSync(join(dir, 'tree', 'usr', 'bin', 'node'), nodeExecutable('0'));
  const artifact = join(dir, 'tree');
  const run = audit(artifact);
  assert.equal(run.status, 1, run.stdout + run.stderr);
  const report = auditReport(run.stdout);
  assert.deepEqual(report.targets.map((t) => t.path), [`${artifact}:usr/bin/tool`]);
  assert.deepEqual(
    report.warnings.filter((w) => w.includes('Node.js')),
    [`${artifact}: 1 Node.js single executable application not audited (the npm packages bundled into its script are recorded nowhere stowage reads): usr/bin/seaapp`],
  );
});

/** An ELF with `tail` as its last bytes, and `inside` somewhere before them (a runtime's own strings). */
function elfEnding(tail: Buffer, inside = ''): Buffer {
  const header = Buffer.alloc(64);
  header.write('\x7fELF\x02\x01\x01', 0, 'latin1');
  return Buffer.concat([header, Buffer.from(inside, 'latin1'), Buffer.alloc(64), tail]);
}

test('`bun build --compile` and `deno compile` executables beside a Rust binary: said not audited (their bundled npm packages are read nowhere); bun and deno themselves are not', () => {
  const u64 = (n: number): Buffer => {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(n));
    return b;
  };
  // bun: the module graph, its offsets and trailer appended, then the graph's size (bun reads the last 4096 bytes).
  const bunGraph = Buffer.concat([Buffer.from('// node_modules/lodash/lodash.js\n\0', 'latin1'), Buffer.alloc(32), Buffer.from('\n---- Bun! ----\n', 'latin1')]);
  const bunApp = elfEnding(Buffer.concat([bunGraph, u64(8192 + bunGraph.length + 8)]));
  // deno 2: libsui appends the data (between two magics), then 0x501e and the data's length + 8.
  const denoData = Buffer.concat([Buffer.from('d3n0l4nd', 'latin1'), Buffer.from('{"entrypoint_key":"file:///main.ts"}', 'latin1'), Buffer.from('d3n0l4nd', 'latin1')]);
  const lengths = Buffer.alloc(8);
  lengths.writeUInt32LE(0x501e, 0);
  lengths.writeUInt32LE(denoData.length + 8, 4);
  const denoApp = elfEnding(Buffer.concat([denoData, lengths]));
  // deno 1: the bundle and metadata, then the magic and two 64-bit offsets as the last 24 bytes.
  const deno1App = elfEnding(Buffer.concat([Buffer.from('console.log(1)', 'latin1'), Buffer.from('d3n0l4nd', 'latin1'), u64(200), u64(214)]));
  const dir = join(work, 'js-runtimes');
  const bin = join(dir, 'tree', 'usr', 'bin');
  mkdirSync(bin, { recursive: true });
  writeFileSync(join(bin, 'tool'), VULNERABLE);
  writeFileSync(join(bin, 'bunapp'), bunApp);
  writeFileSync(join(bin, 'denoapp'), denoApp);
  writeFileSync(join(bin, 'deno1app'), deno1App);
  writeFileSync(join(bin, 'bun'), elfEnding(Buffer.alloc(64), '\n---- Bun! ----\n'));
  writeFileSync(join(bin, 'deno'), elfEnding(Buffer.alloc(64), 'd3n0l4nd'));
  const artifact = join(dir, 'tree');
  const deb = buildDeb({ name: 'runtimes', version: '1.0-1', fields: {}, files: { 'usr/bin/tool': join(bin, 'tool'), 'usr/bin/bunapp': join(bin, 'bunapp'), 'usr/bin/denoapp': join(bin, 'denoapp') }, compression: 'xz' });
  for (const [path, expected] of [
    [artifact, [`${artifact}: 1 Bun executable not audited (\`bun build --compile\`: the npm packages bundled into its script are recorded nowhere stowage reads): usr/bin/bunapp`, `${artifact}: 2 Deno executables not audited (\`deno compile\`: the npm packages it embeds are in a virtual file system stowage does not read): usr/bin/deno1app, usr/bin/denoapp`]],
    [deb, [`${deb}: 1 Bun executable not audited (\`bun build --compile\`: the npm packages bundled into its script are recorded nowhere stowage reads): usr/bin/bunapp`, `${deb}: 1 Deno executable not audited (\`deno compile\`: the npm packages it embeds are in a virtual file system stowage does not read): usr/bin/denoapp`]],
  ] as const) {
    const run = audit(path);
    assert.equal(run.status, 1, run.stdout + run.stderr);
    const report = auditReport(run.stdout);
    assert.deepEqual(report.targets.map((t) => t.path), [`${path}:usr/bin/tool`]);
    assert.deepEqual(report.warnings.filter((w) => w.includes('Bun') || w.includes('Deno')), expected);
  }
});

test('an AppImage beside a Rust binary (its application in a compressed file system appended to the runtime): said not audited, never passed over in silence', () => {
  // The type 2 runtime: an ELF marked `AI\x02` in its identification's padding, then the squashfs it mounts and runs from.
  const appImage = Buffer.concat([elfEnding(Buffer.alloc(0)), Buffer.from('hsqs', 'latin1'), Buffer.alloc(96)]);
  appImage.write('AI\x02', 8, 'latin1');
  const bin = join(work, 'appimage', 'tree', 'opt');
  mkdirSync(bin, { recursive: true });
  writeFileSync(join(bin, 'tool'), VULNERABLE);
  writeFileSync(join(bin, 'Editor-x86_64.AppImage'), appImage);
  const artifact = join(work, 'appimage', 'tree');
  const run = audit(artifact);
  assert.equal(run.status, 1, run.stdout + run.stderr);
  const report = auditReport(run.stdout);
  assert.deepEqual(report.targets.map((t) => t.path), [`${artifact}:opt/tool`]);
  assert.deepEqual(report.warnings, [
    `${artifact}: 1 AppImage not audited (the file system it runs its application from is appended to it, compressed, and stowage does not read it): opt/Editor-x86_64.AppImage`,
  ]);
});

test('a Go, Bun or AppImage executable named itself: refused in one line saying what it is, --allow-partial or not (nothing of it is a crate to report, even as partial)', () => {
  const bun = Buffer.concat([Buffer.from('// node_modules/lodash/lodash.js\0', 'latin1'), Buffer.from('\n---- Bun! ----\n', 'latin1'), Buffer.alloc(8, 1)]);
  const appImage = elfEnding(Buffer.from('hsqs', 'latin1'));
  appImage.write('AI\x02', 8, 'latin1');
  for (const [name, bytes, said] of [
    ['goapp', goExecutable(), 'a Go executable, not audited (stowage audits crates and npm packages, not Go modules)'],
    ['bunapp', elfEnding(bun), 'a Bun executable, not audited (`bun build --compile`: the npm packages bundled into its script are recorded nowhere stowage reads)'],
    ['app.AppImage', appImage, 'an AppImage, not audited (the file system it runs its application from is appended to it, compressed, and stowage does not read it)'],
  ] as const) {
    const path = file(name, bytes);
    for (const extra of [[], ['--allow-partial']]) {
      const run = audit(path, ...extra);
      assert.equal(run.status, 2, `${name} ${extra.join(' ')}: ${run.stdout}`);
      assert.equal(run.stderr, `stowage: ${path}: ${said}\n`);
    }
  }
});

test('a Deno executable named itself, with --allow-partial: the crates deno is built from are audited, and what it carries is said not to be', () => {
  // deno's own crates, as its panic messages name them; then `deno compile`'s data, appended by libsui.
  const data = Buffer.from('d3n0l4nd{"entrypoint_key":"file:///main.ts"}d3n0l4nd', 'latin1');
  const lengths = Buffer.alloc(8);
  lengths.writeUInt32LE(0x501e, 0);
  lengths.writeUInt32LE(data.length + 8, 4);
  const path = file('denoapp', elfEnding(Buffer.concat([data, lengths]), '/cargo/registry/src/index.crates.io-6f17d22bba15001f/smallvec-1.6.0/src/lib.rs\0'));
  const run = audit(path, '--allow-partial');
  assert.equal(run.status, 1, run.stderr);
  const report = auditReport(run.stdout);
  assert.deepEqual(report.findings.map((f) => `${f.package.name} ${f.package.version}`), ['smallvec 1.6.0']);
  assert.ok(
    report.warnings.includes(`${path}: a Deno executable: the crates it is built from are audited, what it carries is not (\`deno compile\`: the npm packages it embeds are in a virtual file system stowage does not read)`),
    JSON.stringify(report.warnings),
  );
});

test('a `deno compile` executable of deno 2.9 (its data in an ELF note, `.note.sui`, nothing appended) beside a Rust binary: said not audited, never passed over in silence', () => {
  // The note as libsui writes it: owner `SUI`, type 0x53554901; its data the name's length and name, then deno's data between two magics.
  const data = Buffer.from('\x08\0d3n0l4ndd3n0l4nd{"entrypoint_key":"main.js"}d3n0l4nd', 'latin1');
  const head = Buffer.alloc(12);
  head.writeUInt32LE(4, 0);
  head.writeUInt32LE(data.length, 4);
  head.writeUInt32LE(0x53554901, 8);
  const bin = join(work, 'deno-note', 'tree', 'usr', 'bin');
  mkdirSync(bin, { recursive: true });
  writeFileSync(join(bin, 'tool'), VULNERABLE);
  writeFileSync(join(bin, 'denoapp'), elfWithSection(true, true, '.note.sui', Buffer.concat([head, Buffer.from('SUI\0', 'latin1'), data])));
  const artifact = join(work, 'deno-note', 'tree');
  const run = audit(artifact);
  assert.equal(run.status, 1, run.stdout + run.stderr);
  assert.deepEqual(auditReport(run.stdout).warnings, [
    `${artifact}: 1 Deno executable not audited (\`deno compile\`: the npm packages it embeds are in a virtual file system stowage does not read): usr/bin/denoapp`,
  ]);
});

test('an AppImage whose runtime carries no `AI` mark (the runtime checks none, and mounts the squashfs where its ELF file ends), in a tree or named itself: said to be one, not passed over', () => {
  const appImage = Buffer.concat([elfWithSection(true, true, '.text', Buffer.alloc(32)), Buffer.from('hsqs', 'latin1'), Buffer.alloc(96)]);
  const bin = join(work, 'appimage-unmarked', 'tree', 'opt');
  mkdirSync(bin, { recursive: true });
  writeFileSync(join(bin, 'tool'), VULNERABLE);
  writeFileSync(join(bin, 'Editor.AppImage'), appImage);
  const artifact = join(work, 'appimage-unmarked', 'tree');
  const run = audit(artifact);
  assert.equal(run.status, 1, run.stdout + run.stderr);
  assert.deepEqual(auditReport(run.stdout).warnings, [
    `${artifact}: 1 AppImage not audited (the file system it runs its application from is appended to it, compressed, and stowage does not read it): opt/Editor.AppImage`,
  ]);
  const alone = audit(join(bin, 'Editor.AppImage'), '--allow-partial');
  assert.equal(alone.status, 2, alone.stdout);
  assert.equal(alone.stderr, `stowage: ${join(bin, 'Editor.AppImage')}: an AppImage, not audited (the file system it runs its application from is appended to it, compressed, and stowage does not read it)\n`);
});
