import { readFileSync, statSync } from 'node:fs';
import { basename, dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import { InputError, StowageError } from '../core/errors.js';
import type { ArchiveFile } from '../core/untrusted-tar.js';
import type { CarriedPackage } from '../ecosystems/npm/local-tarball.js';
import { withoutUserInfo } from '../core/credentials.js';
import { isCredentialSetting, isNpmrcSection, npmrcLines, npmrcSetting } from '../ecosystems/npm/registry.js';

/* What the npm-family vendor layouts (npm's cache, yarn's offline mirror) share. */

/** Files by path; a path added twice must have the same bytes. */
export class FileSet {
  private readonly files = new Map<string, ArchiveFile>();

  add(path: string, data: Buffer, mode: ArchiveFile['mode'] = 0o644): void {
    const known = this.files.get(path);
    if (known !== undefined && (!known.data.equals(data) || known.mode !== mode)) throw new StowageError(`${path}: two different contents for one vendored file`);
    this.files.set(path, { path, mode, data });
  }

  sorted(): ArchiveFile[] {
    return [...this.files.keys()].sort(compare).map((path) => this.files.get(path) as ArchiveFile);
  }
}

export function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** `url` as an http(s) URL, or an error naming the package. */
export function checkedUrl(url: string, label: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.protocol === 'https:' || parsed.protocol === 'http:') return parsed.href;
  } catch {
    // reported below
  }
  throw new StowageError(`${label}: ${JSON.stringify(url)} is not an http(s) URL`);
}


/**
 * A local package (`file:`, `link:`, a workspace), or a patch file yarn applies at install, must
 * lie inside the application, or the archive cannot install it. `path` is relative to the
 * lockfile's directory; `what` names it in the refusal.
 */
export function requireInsideProject(lockfile: string, projectDir: string, location: string, path: string, what = 'the local package'): void {
  const full = resolve(dirname(lockfile), path);
  const rel = relative(resolve(projectDir), full);
  if (rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) {
    throw new StowageError(`${location}: ${what} ${path} lies outside the application, so the archive cannot hold it`, lockfile);
  }
}

const MAX_CONFIG_BYTES = 1024 * 1024;

/** A package manager's settings file the layout extends (`.npmrc`, `.yarnrc`), read defensively. */
export function readConfigFile(path: string): string {
  const size = statSync(path).size;
  const name = basename(path);
  if (size > MAX_CONFIG_BYTES) throw new InputError(path, `file is ${size} bytes, over the ${MAX_CONFIG_BYTES}-byte limit for a ${name}`);
  const bytes = readFileSync(path);
  if (bytes.includes(0)) throw new InputError(path, `binary data, not a ${name}`);
  return bytes.toString('utf8').replace(/^\uFEFF/, '');
}

/**
 * The application's `.npmrc` (npm's and pnpm's settings file) with a vendored layout's settings
 * appended. Its own lines are kept, except those setting what the layout decides (`owned`),
 * which are commented out (and reported): left in, a `prefer-online` or another `cache` would
 * send the package manager past the vendored files. Credentials are left out: the archive is
 * shipped (an SRPM's Source1), and a token in it would be published.
 */
export function npmrcWithSettings(path: string, existing: string | null, owned: readonly string[], settings: readonly string[], warn: (message: string) => void): string {
  const out: string[] = [];
  if (existing !== null) {
    const overridden: string[] = [];
    const removed: string[] = [];
    const lines = npmrcLines(existing.replace(/(\r\n|[\r\n])$/, ''));
    for (const [i, line] of lines.entries()) {
      // Settings after a section header are that section's: npm would not read the layout's.
      if (isNpmrcSection(line)) {
        throw new StowageError(`${JSON.stringify(line)} starts an ini section; npm reads no setting after it, so the vendored layout's settings would be ignored`, path, { line: i + 1 });
      }
      const setting = npmrcSetting(line);
      if (setting !== null && isCredentialSetting(setting.key)) {
        removed.push(setting.key);
        out.push(`; stowage: credential removed (${setting.key})`);
      } else if (setting !== null && withoutUserInfo(setting.value) !== setting.value) {
        // `registry=https://user:token@host/`: the same setting, without the credentials.
        removed.push(setting.key);
        out.push(`; stowage: credential removed (${setting.key})`, `${setting.key}=${withoutUserInfo(setting.value)}`);
      } else if (setting !== null && owned.includes(setting.key.toLowerCase())) {
        overridden.push(setting.key);
        out.push(`; stowage: replaced below: ${line}`);
      } else {
        out.push(line);
      }
    }
    if (overridden.length > 0) warn(`${path}: ${overridden.join(', ')} replaced by the vendored layout's settings in the archive's .npmrc`);
    if (removed.length > 0) warn(`${path}: credentials (${removed.join(', ')}) left out of the archive's .npmrc; an offline install needs none`);
    out.push('');
  }
  out.push(...settings);
  return `${out.join('\n')}\n`;
}

/**
 * Refuses the archive when a tarball by URL carries packages (under a `node_modules/` of its own)
 * that its lockfile does not list: npm and pnpm install them with it, and the audit, which
 * cannot fetch, did not see them.
 */
export function refuseCarried(lockfile: string, location: string, url: string, unlisted: readonly CarriedPackage[]): void {
  if (unlisted.length === 0) return;
  const named = unlisted.slice(0, 5).map((c) => `${c.path} (${c.version === '' ? c.name : `${c.name}@${c.version}`})`);
  const more = unlisted.length > 5 ? ` and ${unlisted.length - 5} more` : '';
  throw new InputError(lockfile, `${location}: the tarball ${url} carries ${named.join(', ')}${more}, which the package manager installs with it and the lockfile does not list, so they were not audited`);
}
