import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, readdirSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { packTar, type TarEntry } from './hostile-tar.js';
import { cargoBinary } from './rust-app.js';
import { tempDir } from './shared.js';

/**
 * Real shipped artifacts for the tests of `stowage audit` on packages and images: a real Rust
 * binary found on this machine (rustup's, which cargo is a link to: built by cargo from
 * crates.io, without a .dep-v0 section), and packages made around it with the distributions'
 * own tools (dpkg-deb, rpmbuild).
 */

/** A real Rust executable: the rustup binary behind `cargo`. */
export function realRustBinary(): string {
  return realpathSync(cargoBinary());
}

/** Debian's own Rust application packages, downloaded by .ci/run (`apt-get download`); null when not given. */
export function testDebs(): string[] | null {
  const dir = process.env.STOWAGE_TEST_DEBS;
  if (!dir) return null;
  return readdirSync(dir).filter((f) => f.endsWith('.deb')).sort().map((f) => join(dir, f));
}

/** Why the real-package tests are skipped here; in CI (CI=true) they must run, so null there. */
export function whyNoTestDebs(): string | false {
  if (testDebs() !== null) return false;
  if (process.env.CI === 'true') throw new Error('STOWAGE_TEST_DEBS is not set: .ci/run downloads Debian packages into it');
  return 'STOWAGE_TEST_DEBS not set (.ci/run downloads ripgrep, fd-find, bat and hyperfine into it)';
}

/** A `.deb` built by dpkg-deb with these control fields and files (path -> source file); `nocheck`: dpkg-deb's checks of them skipped. */
export function buildDeb(options: { name: string; version: string; fields: Record<string, string>; files: Record<string, string>; compression: 'gzip' | 'xz' | 'zstd' | 'none'; nocheck?: boolean }): string {
  const root = tempDir('deb-root');
  mkdirSync(join(root, 'DEBIAN'));
  const control = [`Package: ${options.name}`, `Version: ${options.version}`, 'Architecture: amd64', 'Maintainer: Test <test@example.org>', 'Description: test package', ...Object.entries(options.fields).map(([k, v]) => `${k}: ${v}`)];
  writeFileSync(join(root, 'DEBIAN', 'control'), `${control.join('\n')}\n`);
  for (const [path, source] of Object.entries(options.files)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    copyFileSync(source, join(root, path));
    chmodSync(join(root, path), 0o755);
  }
  const out = join(tempDir('deb-out'), options.nocheck ? 'unchecked_amd64.deb' : `${options.name}_${options.version}_amd64.deb`);
  // The fastest level of each: the binary is large, and what is tested is the reading.
  const level = options.compression === 'none' ? [] : ['-z1'];
  execFileSync('dpkg-deb', ['--root-owner-group', ...(options.nocheck ? ['--nocheck'] : []), `-Z${options.compression}`, ...level, '--build', root, out], { stdio: 'ignore' });
  return out;
}

/**
 * A binary RPM built by rpmbuild from a spec with these provides, installing `binary` as
 * /usr/bin/tool, and with `zeros`, a file of that many zero bytes (a payload that expands far);
 * `install`: more %install lines, `files`: the %files entries of what they install; `name` and
 * `version`: the package's own (default shipped-demo 1.0).
 */
export function buildRpm(options: { provides: string[]; binary: string | null; payload: 'gzip' | 'xz' | 'lzma' | 'bzip2' | 'zstd' | 'none'; zeros?: number; install?: string[]; files?: string[]; name?: string; version?: string }): string {
  const top = tempDir('rpm-top');
  mkdirSync(join(top, 'SOURCES'), { recursive: true });
  if (options.binary) copyFileSync(options.binary, join(top, 'SOURCES', 'tool'));
  const spec = [
    `Name: ${options.name ?? 'shipped-demo'}`,
    `Version: ${options.version ?? '1.0'}`,
    'Release: 1',
    'Summary: test package',
    'License: MIT',
    ...(options.binary ? ['Source0: tool'] : []),
    ...options.provides.map((p) => `Provides: ${p}`),
    '%global debug_package %{nil}',
    '%global __strip /bin/true',
    '%global __brp_strip /bin/true',
    '%description',
    'test package',
    '%install',
    options.binary ? 'install -Dpm 0755 %{SOURCE0} %{buildroot}/usr/bin/tool' : 'mkdir -p %{buildroot}/usr/share/doc/shipped-demo && echo doc > %{buildroot}/usr/share/doc/shipped-demo/README',
    ...(options.zeros === undefined ? [] : [`mkdir -p %{buildroot}/usr/share/shipped-demo && head -c ${options.zeros} /dev/zero > %{buildroot}/usr/share/shipped-demo/zeros`]),
    ...(options.install ?? []),
    '%files',
    options.binary ? '/usr/bin/tool' : '/usr/share/doc/shipped-demo/README',
    ...(options.zeros === undefined ? [] : ['/usr/share/shipped-demo/zeros']),
    ...(options.files ?? []),
    '',
  ];
  writeFileSync(join(top, 'demo.spec'), spec.join('\n'));
  const io = { gzip: 'w1.gzdio', xz: 'w1.xzdio', lzma: 'w1.lzdio', bzip2: 'w1.bzdio', zstd: 'w1.zstdio', none: 'w0.ufdio' }[options.payload];
  execFileSync('rpmbuild', ['-bb', '--nodeps', '--define', `_topdir ${top}`, '--define', `_binary_payload ${io}`, join(top, 'demo.spec')], { stdio: 'ignore' });
  const arch = readdirSync(join(top, 'RPMS'))[0] as string;
  return join(top, 'RPMS', arch, readdirSync(join(top, 'RPMS', arch))[0] as string);
}

const json = (value: unknown): string => JSON.stringify(value);

/** A regular file entry of a tar made by packTar. */
export const tarFile = (name: string, data: string | Buffer, mode = 0o644): TarEntry => ({ header: { name, mode, type: 'file' }, data });

/**
 * Two image layers. Layer 1: the real Rust binary (`usr/bin/tool`, and a link to it), and
 * packages layer 2 deletes; layer 2: an installed node_modules tree (`app/`: left-pad and
 * @scope/x, which needs minimist 0.0.8), a whiteout of `old`, and an opaque `opt/`.
 */
export async function installedLayers(): Promise<Buffer[]> {
  const one = await packTar([
    { header: { name: 'usr/bin/', type: 'directory', mode: 0o755 } },
    tarFile('usr/bin/tool', readFileSync(realRustBinary()), 0o755),
    { header: { name: 'usr/bin/tool-link', type: 'symlink', linkname: 'tool' } },
    tarFile('app/node_modules/old/package.json', json({ name: 'old', version: '1.0.0' })),
    tarFile('opt/gone/node_modules/lodash/package.json', json({ name: 'lodash', version: '4.17.20' })),
  ]);
  const two = await packTar([
    tarFile('app/package.json', json({ name: 'app', version: '1.0.0', dependencies: { '@scope/x': '2', 'left-pad': '1' } })),
    tarFile('app/node_modules/.wh.old', ''),
    tarFile('opt/.wh..wh..opq', ''),
    tarFile('app/node_modules/left-pad/package.json', json({ name: 'left-pad', version: '1.1.0' })),
    tarFile('app/node_modules/left-pad/lib/package.json', json({ type: 'module' })),
    tarFile('app/node_modules/@scope/x/package.json', json({ name: '@scope/x', version: '2.0.0', dependencies: { minimist: '0.0.8' } })),
    tarFile('app/node_modules/@scope/x/node_modules/minimist/package.json', json({ name: 'minimist', version: '0.0.8' })),
  ]);
  return [one, two];
}

/** A `docker save` archive of one image with these layers (lowest first), tagged `tag`. */
export async function dockerSaveArchive(layers: readonly Buffer[], tag: string): Promise<string> {
  const names = layers.map((_, i) => `${String(i).padStart(3, '0')}/layer.tar`);
  const archive = join(tempDir('docker-save'), 'image.tar');
  writeFileSync(
    archive,
    await packTar([
      tarFile('manifest.json', json([{ Config: 'config.json', RepoTags: [tag], Layers: names }])),
      tarFile('config.json', '{}'),
      ...layers.map((layer, i) => tarFile(names[i] as string, layer)),
    ]),
  );
  return archive;
}

/**
 * An RPM's bytes with its PAYLOADCOMPRESSOR tag set to `compressor` (and its payload replaced by
 * `payload` when given), its header rebuilt and the signature's digests and size recomputed, so
 * `rpm -K` passes and rpm installs it as any package (rpmbuild writes only the short names:
 * `gzip`, `xz`…). The header's entries keep their order; each value is laid out again, aligned.
 */
export function withPayloadCompressor(rpm: Buffer, compressor: string, payload?: Buffer): Buffer {
  const headerAt = (at: number): { index: number[][]; store: Buffer; end: number } => {
    const count = rpm.readUInt32BE(at + 8);
    const size = rpm.readUInt32BE(at + 12);
    const index = [...Array(count).keys()].map((i) => [0, 4, 8, 12].map((f) => rpm.readInt32BE(at + 16 + 16 * i + f)));
    return { index, store: rpm.subarray(at + 16 + 16 * count, at + 16 + 16 * count + size), end: at + 16 + 16 * count + size };
  };
  const sig = headerAt(96);
  const main = headerAt(sig.end + ((8 - (sig.end % 8)) % 8));
  const body = payload ?? rpm.subarray(main.end);
  const width: Record<number, number> = { 0: 0, 1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 7: 1 };
  const lengthOf = ([, type, offset, count]: number[]): number => {
    if (type === 6) return main.store.indexOf(0, offset) - (offset as number) + 1;
    if (type === 8 || type === 9) {
      let end = offset as number;
      for (let i = 0; i < (count as number); i++) end = main.store.indexOf(0, end) + 1;
      return end - (offset as number);
    }
    return (width[type as number] as number) * (count as number);
  };
  const parts: Buffer[] = [];
  let size = 0;
  const offsets = new Map<number, number>();
  const order = main.index.map((_, i) => i).sort((a, b) => (main.index[a]?.[2] as number) - (main.index[b]?.[2] as number));
  for (const i of order) {
    const entry = main.index[i] as number[];
    if (entry[0] === 63) continue; // the region trailer, written last
    let data = main.store.subarray(entry[2], (entry[2] as number) + lengthOf(entry));
    if (entry[0] === 1125) data = Buffer.from(`${compressor}\0`, 'latin1');
    if (entry[0] === 5092 && payload) data = Buffer.from(`${createHash('sha256').update(body).digest('hex')}\0`, 'latin1');
    const align = { 3: 2, 4: 4, 5: 8 }[entry[1] as 3 | 4 | 5] ?? 1;
    const pad = (align - (size % align)) % align;
    parts.push(Buffer.alloc(pad));
    size += pad;
    offsets.set(i, size);
    parts.push(data);
    size += data.length;
  }
  const region = main.index.findIndex((e) => e[0] === 63);
  offsets.set(region, size);
  const trailer = Buffer.alloc(16);
  trailer.writeInt32BE(63, 0);
  trailer.writeInt32BE(7, 4);
  trailer.writeInt32BE(-main.index.length * 16, 8);
  trailer.writeInt32BE(16, 12);
  parts.push(trailer);
  const store = Buffer.concat(parts);
  const intro = Buffer.alloc(16 + 16 * main.index.length);
  Buffer.from([0x8e, 0xad, 0xe8, 0x01]).copy(intro);
  intro.writeUInt32BE(main.index.length, 8);
  intro.writeUInt32BE(store.length, 12);
  main.index.forEach((entry, i) => {
    intro.writeInt32BE(entry[0] as number, 16 + 16 * i);
    intro.writeInt32BE(entry[1] as number, 20 + 16 * i);
    intro.writeInt32BE(offsets.get(i) as number, 24 + 16 * i);
    intro.writeInt32BE(entry[3] as number, 28 + 16 * i);
  });
  const header = Buffer.concat([intro, store]);
  const signature = Buffer.from(rpm.subarray(96, sig.end));
  const sigStore = sig.end - sig.store.length - 96;
  for (const [tag, , offset] of sig.index) {
    const at = sigStore + (offset as number);
    if (tag === 269) signature.write(createHash('sha1').update(header).digest('hex'), at, 'latin1');
    if (tag === 273) signature.write(createHash('sha256').update(header).digest('hex'), at, 'latin1');
    if (tag === 1004) createHash('md5').update(header).update(body).digest().copy(signature, at);
    if (tag === 1000) signature.writeUInt32BE(header.length + body.length, at);
  }
  return Buffer.concat([rpm.subarray(0, 96), signature, Buffer.alloc((8 - (sig.end % 8)) % 8), header, body]);
}
