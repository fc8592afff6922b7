import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, relative } from 'node:path';
import { gzipSync } from 'node:zlib';
import { pack } from 'tar-stream';
import { PROJECT_ROOT } from './shared.js';

/*
 * A real npm registry on 127.0.0.1 for the offline-build proofs: packuments and tarballs made
 * here from the fixture packages in test/fixtures/npm-registry/ (one directory per published
 * version), so the tests never need the public registry and never change when it publishes.
 * npm itself installs from it (`npm install`, `npm ci`), as it would from registry.npmjs.org.
 *
 * The tarballs are packed as `npm pack` does (every path under `package/`, sorted, npm's fixed
 * mtime, 0644 files and 0755 bins, gzip): the same bytes every run, so lockfiles made against
 * this registry and committed (test/fixtures/npm-local-app/) keep their integrity. A change in
 * node's zlib output would change them: npm.test.ts's integrity check says so first. They were
 * made with `npm install --package-lock-only --ignore-scripts` (and `--lockfile-version 1`), HOME
 * and cache empty, `npm_config_registry` this registry's URL, its origin then written as
 * RECORDED_ORIGIN.
 *
 * The pnpm and yarn berry lockfiles of the same application (beside it) were made against this
 * registry too, HOME and store empty: `pnpm install --lockfile-only --ignore-scripts` by pnpm
 * 9.15.9 (lockfile 9.0) and pnpm 8.15.9 (6.0) with the `.npmrc` `npmrc` returns, and `yarn
 * install --mode=update-lockfile` by yarn 4.9.2 with the `.yarnrc.yml` `yarnrc` returns. Neither
 * records the registry's URL (pnpm leaves out the configured registry's tarball URLs, berry
 * never writes one): the application's settings file says where its packages come from, so
 * they hold for whatever port a run's registry listens on.
 *
 * yarn 1 (classic) does record it: each `resolved` is the tarball's full URL, and yarn 1 fetches
 * from that URL as written, whatever registry is configured (NpmRegistry.getRequestUrl in
 * 1.22.22 keeps an absolute URL as it is); offline, it reads the tarball from its mirror by
 * file name and never looks at the host. So its
 * lockfile was made as npm's were: `yarn install --ignore-scripts --registry URL` by yarn 1.22.22
 * against this registry, HOME and cache empty, its origin then written as RECORDED_ORIGIN, and
 * `lockfileFor` gives each run's copy its registry's port.
 */

export const REGISTRY_FIXTURES = join(PROJECT_ROOT, 'test', 'fixtures', 'npm-registry');
/**
 * The packages the fix tests' registry serves (startLocalRegistry(FIX_REGISTRY_FIXTURES)):
 * fixture-args 0.0.8, 0.2.4, 1.2.5 and 1.2.6 (advisories: fixtureArgsAdvisoryDb); fixture-mkdirp
 * 0.5.1 (pins fixture-args 0.0.8) and 0.5.2 (fixture-args ^1.2.5).
 */
export const FIX_REGISTRY_FIXTURES = join(PROJECT_ROOT, 'test', 'fixtures', 'npm-fix-registry');
/** The application whose dependencies the local registry serves, with lockfiles npm made against it. */
export const LOCAL_APP = join(PROJECT_ROOT, 'test', 'fixtures', 'npm-local-app');
/** The same application locked by npm with `--lockfile-version 1` (beside it: not part of its source). */
export const LOCAL_APP_V1_LOCKFILE = join(PROJECT_ROOT, 'test', 'fixtures', 'npm-local-app.package-lock.v1.json');
/** The same application locked by pnpm 9 (pnpm-lock.yaml 9.0). */
export const LOCAL_APP_PNPM_LOCKFILE = join(PROJECT_ROOT, 'test', 'fixtures', 'npm-local-app.pnpm-lock.yaml');
/** The same application locked by pnpm 8 (pnpm-lock.yaml 6.0). */
export const LOCAL_APP_PNPM_V6_LOCKFILE = join(PROJECT_ROOT, 'test', 'fixtures', 'npm-local-app.pnpm-lock.v6.yaml');
/** The same application locked by yarn 4 (berry's yarn.lock, cacheKey 10c0). */
export const LOCAL_APP_YARN_BERRY_LOCKFILE = join(PROJECT_ROOT, 'test', 'fixtures', 'npm-local-app.yarn.lock');
/** The same application locked by yarn 1.22.22 (`# yarn lockfile v1`, tarball URLs at RECORDED_ORIGIN). */
export const LOCAL_APP_YARN_V1_LOCKFILE = join(PROJECT_ROOT, 'test', 'fixtures', 'npm-local-app.yarn.v1.lock');
/** What the local application prints when every dependency is installed. */
export const LOCAL_APP_OUTPUT = 'ms=172800000 semver=true color=plain:v1 debug=true';
/**
 * The committed lockfiles were written by npm and yarn 1 against the registry at this origin;
 * each run's registry listens on a port of its own, which `lockfileFor` puts in their place.
 */
export const RECORDED_ORIGIN = 'http://127.0.0.1:4873';

/** npm pack's mtime for every entry (1985-10-26T08:15:00Z), so tarballs do not depend on the clock. */
const NPM_PACK_MTIME = new Date('1985-10-26T08:15:00.000Z');

export interface FixturePackage {
  name: string;
  version: string;
  manifest: Record<string, unknown>;
  tarball: Buffer;
  /** `sha512-…` of the tarball, as npm records it. */
  integrity: string;
}

/** A fixture package directory packed as npm packs it. */
export async function packFixture(dir: string): Promise<FixturePackage> {
  const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Record<string, unknown>;
  const bins = new Set(Object.values((manifest.bin ?? {}) as Record<string, string>).map((p) => p.replace(/^\.\//, '')));
  const files = listFiles(dir).sort((a, b) => (a === 'package.json' ? -1 : b === 'package.json' ? 1 : a < b ? -1 : a > b ? 1 : 0));
  const tar = pack();
  const chunks: Buffer[] = [];
  tar.on('data', (chunk: unknown) => {
    chunks.push(chunk as Buffer);
  });
  const ended = new Promise<void>((resolve, reject) => {
    tar.on('end', resolve);
    tar.on('error', reject);
  });
  for (const file of files) {
    const data = readFileSync(join(dir, file));
    await new Promise<void>((resolve, reject) =>
      tar.entry({ name: `package/${file}`, size: data.length, mode: bins.has(file) ? 0o755 : 0o644, mtime: NPM_PACK_MTIME, uid: 0, gid: 0 }, data, (err) =>
        err ? reject(err) : resolve(),
      ),
    );
  }
  tar.finalize();
  await ended;
  const tarball = gzipSync(Buffer.concat(chunks), { level: 9 });
  const integrity = `sha512-${createHash('sha512').update(tarball).digest('base64')}`;
  return { name: String(manifest.name), version: String(manifest.version), manifest, tarball, integrity };
}

function listFiles(dir: string, base = dir): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...listFiles(path, base));
    else out.push(relative(base, path).split('\\').join('/'));
  }
  return out;
}

export interface LocalRegistry {
  /** `http://127.0.0.1:PORT/`, as npm's `registry=` setting takes it. */
  url: string;
  packages: FixturePackage[];
  /** Request paths served so far, in order (a test can tell what npm or stowage asked for). */
  requests: string[];
  /** A committed lockfile's text with the recorded origin replaced by this registry's. */
  lockfileFor: (text: string) => string;
  /** An `.npmrc` (npm's and pnpm's) that installs from this registry. */
  npmrc: string;
  /**
   * A `.yarnrc.yml` that installs from this registry (plain http allowed for it), into
   * node_modules as the application is run by plain node.
   */
  yarnrc: string;
  close: () => Promise<void>;
}

/** Starts the registry on 127.0.0.1 (a free port) serving every fixture package. */
export async function startLocalRegistry(fixtures = REGISTRY_FIXTURES): Promise<LocalRegistry> {
  const packages = await Promise.all(readdirSync(fixtures).map((d) => packFixture(join(fixtures, d))));
  const requests: string[] = [];
  let origin = '';
  const tarballPath = (p: FixturePackage): string => `/${p.name}/-/${p.name.replace(/^@[^/]+\//, '')}-${p.version}.tgz`;
  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent((req.url ?? '/').split('?')[0] as string);
    requests.push(path);
    const tarball = packages.find((p) => tarballPath(p) === path);
    if (tarball !== undefined) {
      res.setHeader('content-type', 'application/octet-stream');
      res.end(tarball.tarball);
      return;
    }
    const versions = packages.filter((p) => `/${p.name}` === path);
    if (versions.length === 0) {
      res.statusCode = 404;
      res.setHeader('content-type', 'application/json');
      res.end('{"error":"Not found"}');
      return;
    }
    const latest = [...versions].sort((a, b) => compareVersions(b.version, a.version))[0] as FixturePackage;
    const packument = {
      name: latest.name,
      'dist-tags': { latest: latest.version },
      versions: Object.fromEntries(
        versions.map((p) => [
          p.version,
          {
            ...p.manifest,
            dist: { tarball: `${origin}${tarballPath(p).slice(1)}`, integrity: p.integrity, shasum: createHash('sha1').update(p.tarball).digest('hex') },
          },
        ]),
      ),
    };
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(packument));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  return {
    url: origin,
    packages,
    requests,
    lockfileFor: (text) => text.replaceAll(`${RECORDED_ORIGIN}/`, origin),
    npmrc: `registry=${origin}\n`,
    yarnrc: `nodeLinker: node-modules\nnpmRegistryServer: "${origin.replace(/\/$/, '')}"\nunsafeHttpWhitelist:\n  - "127.0.0.1"\n`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < 3; i++) if ((pa[i] ?? 0) !== (pb[i] ?? 0)) return (pa[i] ?? 0) - (pb[i] ?? 0);
  return 0;
}
