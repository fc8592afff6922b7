import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { StowageError } from '../core/errors.js';
import type { DependencyGraph } from '../core/graph.js';
import { digestsFromSri, sriFromDigest, type Digest } from '../core/digest.js';
import type { DownloadRequest } from './download.js';
import type { VendorContext, VendorResult } from './vendor-tree.js';
import { YARN_MIRROR_DIR, type VendoredPackage } from '../inputs/vendor-layout.js';
import { readTextInput } from '../core/input-files.js';
import { downloadUrlOfResolved, isCredentialSetting } from '../ecosystems/npm/registry.js';
import { withoutUserInfo } from '../core/credentials.js';
import { npmSourceFromResolved } from '../ecosystems/npm/registry-source.js';
import { FileSet, checkedUrl, compare, readConfigFile, refuseCarried, requireInsideProject } from './npm-support.js';
import { readTarballManifests } from '../ecosystems/npm/local-tarball.js';
import { readYarnV1Resolutions, type YarnV1Resolution } from '../ecosystems/npm/yarn-lock.js';
import { archiveYarnGitPackages, yarnGitPackage, type YarnGitPackage } from './npm-yarn-git.js';
import { redactCredentials } from '../core/credentials.js';

/*
 * yarn v1 (classic): an offline mirror, yarn's own documented way to install without the
 * network. The tarballs lie in `vendor/yarn-offline-mirror/` under the names yarn gives them, and
 * the application's `.yarnrc` points `yarn-offline-mirror` there (yarn resolves it against the
 * .yarnrc's directory). `yarn install --offline --frozen-lockfile` then reads every tarball from
 * the mirror and checks it against the lockfile's integrity itself; the lockfile is not changed.
 */


/** Settings the written `.yarnrc` decides; the application's own lines for them are commented out. */
const OWNED_SETTINGS = ['yarn-offline-mirror', 'yarn-offline-mirror-pruning', '--install.offline', '--install.frozen-lockfile'];

/** One tarball to put in the mirror. */
interface MirroredTarball {
  entry: YarnV1Resolution;
  label: string;
  url: string;
  digests: Digest[];
  fileName: string;
}

export async function vendorYarnClassic(graph: DependencyGraph, context: VendorContext): Promise<VendorResult> {
  const entries = readYarnV1Resolutions(graph.path, readTextInput(graph.path));
  const tarballs: MirroredTarball[] = [];
  const gits = new Map<string, YarnGitPackage>();
  for (const entry of entries) {
    const tarball = mirroredTarball(graph.path, context.projectDir, entry);
    if (tarball === null) continue;
    if ('commit' in tarball) gits.set(tarball.fileName, tarball);
    else tarballs.push(tarball);
  }

  // yarn finds a tarball by its file name alone: two different ones under one name cannot both
  // be in the mirror.
  const byFileName = new Map<string, MirroredTarball>();
  for (const t of tarballs) {
    const known = byFileName.get(t.fileName);
    if (known === undefined) {
      byFileName.set(t.fileName, t);
      continue;
    }
    // Entries written by different yarn releases may record one tarball with different
    // digests (sha512 integrity, or only the sha1 in the URL): the same file when the URL is
    // the same or a digest agrees, unless a digest of a common algorithm disagrees.
    const agreement = compareDigests(known.digests, t.digests);
    if (agreement === 'conflict' || (agreement === 'unknown' && known.url !== t.url)) {
      throw new StowageError(
        `${known.label} and ${t.label} would share the offline mirror name ${t.fileName} (${known.url}, ${t.url}); yarn's mirror cannot hold both`,
        graph.path,
      );
    }
    for (const d of t.digests) if (!known.digests.some((k) => k.algorithm === d.algorithm)) known.digests.push(d);
  }
  const unique = [...byFileName.values()];
  const requests: DownloadRequest[] = unique.map((t) => ({ url: t.url, expected: t.digests, label: t.label }));
  const bodies = await context.downloader.fetchAll(requests);
  // yarn 1 installs what a tarball by URL carries under a node_modules/ of its own, and its lockfile
  // lists no bundled package (checked with yarn 1.22.22: node_modules/carrier/node_modules/minimist
  // 1.2.0 from carrier's http tarball). A registry's tarball is the version it published, as in npm.ts.
  for (const [i, t] of unique.entries()) {
    if (npmSourceFromResolved(t.url).kind === 'registry') continue;
    const { carried } = await readTarballManifests(graph.path, bodies[i] as Buffer, `${t.label} (${t.url})`);
    refuseCarried(graph.path, t.label, t.url, carried);
  }
  const gitList = [...gits.values()];
  const archives = await archiveYarnGitPackages(graph.path, gitList, context);

  const files = new FileSet();
  const packages: VendoredPackage[] = [];
  unique.forEach((t, i) => {
    const path = `${YARN_MIRROR_DIR}/${t.fileName}`;
    files.add(path, bodies[i] as Buffer);
    packages.push({ ecosystem: graph.ecosystem, name: t.entry.name, version: t.entry.version, source: t.url, checksum: sriOf(t), path });
  });
  gitList.forEach((g, i) => {
    const path = `${YARN_MIRROR_DIR}/${g.fileName}`;
    files.add(path, archives[i] as Buffer);
    packages.push({ ecosystem: graph.ecosystem, name: g.name, version: g.version, source: redactCredentials(`${g.url}#${g.commit}`), checksum: null, path });
  });
  const yarnrcPath = join(context.projectDir, '.yarnrc');
  const existing = existsSync(yarnrcPath) ? readConfigFile(yarnrcPath) : null;
  files.add('.yarnrc', Buffer.from(yarnrcWithMirror(yarnrcPath, existing, context.warn)));
  packages.sort((a, b) => compare(a.name, b.name) || compare(a.version, b.version) || compare(a.checksum ?? '', b.checksum ?? ''));
  return { files: files.sorted(), packages };
}

/** What yarn fetches for an entry; null for the application's own files (`file:`, `link:`). */
function mirroredTarball(lockfile: string, projectDir: string, entry: YarnV1Resolution): MirroredTarball | YarnGitPackage | null {
  const label = `${entry.name}@${entry.version}`;
  const where = `${label} (yarn.lock line ${entry.line})`;
  const ranges = entry.keys.map((k) => k.slice(k.indexOf('@', 1) + 1));
  const local = ranges.find((r) => r.startsWith('file:') || r.startsWith('link:'));
  const resolved = entry.resolved;
  if (resolved === null || resolved.startsWith('file:')) {
    if (local === undefined && resolved === null) throw new StowageError(`${where}: no "resolved" URL to fetch it from`, lockfile);
    const path = (resolved ?? (local as string)).replace(/^(file|link):/, '');
    // A local tarball is part of the application's source; yarn reads it from there.
    requireInsideProject(lockfile, projectDir, label, path);
    return null;
  }
  const hash = resolved.indexOf('#');
  const withoutFragment = hash === -1 ? resolved : resolved.slice(0, hash);
  const fragment = hash === -1 ? '' : resolved.slice(hash + 1);
  // What yarn's GitFetcher takes (git+…, git:); a host's tarball by https is a tarball (below),
  // verified by the lockfile's integrity.
  if (/^git(\+[a-z]+)?:/i.test(resolved)) return yarnGitPackage(lockfile, entry.name, entry.version, where, resolved);
  if (npmSourceFromResolved(resolved).kind === 'git' || !/^https?:\/\//.test(resolved)) {
    throw new StowageError(`${where}: git dependencies in this form cannot be vendored for yarn yet (${resolved})`, lockfile);
  }
  const url = downloadUrlOfResolved(checkedUrl(withoutFragment, label));
  let digests: Digest[];
  if (entry.integrity !== null) {
    digests = digestsFromSri(entry.integrity);
    if (digests.length === 0) throw new StowageError(`${where}: integrity ${JSON.stringify(entry.integrity)} has no sha512, sha256 or sha1 digest`, lockfile);
  } else if (/^[0-9a-f]{40}$/i.test(fragment)) {
    // Lockfiles before yarn 1.10 record only the sha1 in the URL's fragment.
    digests = [{ algorithm: 'sha1', hex: fragment.toLowerCase() }];
  } else {
    throw new StowageError(`${where}: the lockfile records no integrity or sha1 for ${resolved}, so its bytes cannot be verified`, lockfile);
  }
  return { entry, label, url, digests, fileName: mirrorFileName(withoutFragment) };
}

/** Whether two digest lists claim the same bytes: a common algorithm decides; none, unknown. */
function compareDigests(a: readonly Digest[], b: readonly Digest[]): 'same' | 'conflict' | 'unknown' {
  let same = false;
  for (const x of a) {
    for (const y of b) {
      if (x.algorithm !== y.algorithm) continue;
      if (x.hex !== y.hex) return 'conflict';
      same = true;
    }
  }
  return same ? 'same' : 'unknown';
}

function sriOf(t: MirroredTarball): string {
  return t.digests.map(sriFromDigest).join(' ');
}

/**
 * The name yarn gives a tarball in its offline mirror (TarballFetcher.getTarballMirrorPath in
 * yarn 1.22): `<name>-<version>.tgz` from a registry URL, `@scope-<name>-<version>.tgz` for a
 * scoped package, otherwise the URL's last path segment.
 */
export function mirrorFileName(url: string): string {
  const pathname = new URL(url).pathname;
  const m = /\/(?:(@[^/]+)(?:\/|%2f))?[^/]+\/(?:-|_attachments)\/(?:@[^/]+\/)?([^/]+)$/.exec(pathname);
  const name = m ? (m[1] ? `${m[1]}-${m[2]}` : (m[2] as string)) : (pathname.split('/').pop() ?? '');
  if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\\')) {
    throw new StowageError(`${url}: no file name for yarn's offline mirror`);
  }
  return name;
}

/**
 * Whether a `.yarnrc` line ends inside a `"…"` string, token by token as yarn's tokenizer reads
 * it: a string runs to its closing quote across line ends; `#` at the start of a token is a
 * comment to the end of the line; a word (from a letter, `/`, `.` or `-` to a space, `:` or `,`) may hold either.
 */
function opensString(line: string): boolean {
  let i = 0;
  while (i < line.length) {
    const ch = line[i] as string;
    if (ch === '#') return false;
    if (ch === '"') {
      for (i++; i < line.length && line[i] !== '"'; i++) if (line[i] === '\\') i++;
      if (i >= line.length) return true;
      i++;
    } else if (line.startsWith('true', i) || line.startsWith('false', i)) {
      i += line.startsWith('true', i) ? 4 : 5;
    } else if (/[A-Za-z/.-]/.test(ch)) {
      while (i < line.length && !' :,'.includes(line[i] as string)) i++;
    } else if (/[0-9]/.test(ch)) {
      while (i < line.length && /[0-9]/.test(line[i] as string)) i++;
    } else {
      i++;
    }
  }
  return false;
}

/**
 * The application's `.yarnrc` with the mirror settings appended; its own lines for what the
 * layout decides are commented out (and reported), everything else is kept.
 */
export function yarnrcWithMirror(path: string, existing: string | null, warn: (message: string) => void): string {
  const out: string[] = [];
  if (existing !== null) {
    const overridden: string[] = [];
    const removed: string[] = [];
    // yarn's tokenizer ends a line at a lone `\r` too.
    const lines = existing.replace(/(\r\n|[\r\n])$/, '').split(/\r\n|[\r\n]/);
    for (const [i, line] of lines.entries()) {
      if (opensString(line)) {
        throw new StowageError(`line ${i + 1} leaves a string open; yarn would read the vendored layout's settings after it as part of the string`, path);
      }
      const key = /^\s*("?)([^\s"]+)\1/.exec(line)?.[2];
      const setting = key !== undefined && !line.trim().startsWith('#');
      if (setting && (isCredentialSetting(key) || withoutUserInfo(line) !== line)) {
        // The archive is shipped (an SRPM's Source1): a token in it would be published.
        removed.push(key);
        out.push(`# stowage: credential removed (${key})`);
      } else if (setting && OWNED_SETTINGS.includes(key)) {
        overridden.push(key);
        out.push(`# stowage: replaced below: ${line}`);
      } else {
        out.push(line);
      }
    }
    if (overridden.length > 0) warn(`${path}: ${overridden.join(', ')} replaced by the vendored layout's settings in the archive's .yarnrc`);
    if (removed.length > 0) warn(`${path}: credentials (${removed.join(', ')}) left out of the archive's .yarnrc; an offline install needs none`);
    out.push('');
  }
  out.push(
    '# stowage: install from the vendored offline mirror, without the network.',
    `yarn-offline-mirror "./${YARN_MIRROR_DIR}"`,
    'yarn-offline-mirror-pruning false',
    '--install.offline true',
    '--install.frozen-lockfile true',
  );
  return `${out.join('\n')}\n`;
}
