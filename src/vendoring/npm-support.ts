import { readFileSync, statSync } from 'node:fs';
import { basename, dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import { InputError, StowageError } from '../core/errors.js';
import type { ArchiveFile } from '../core/untrusted-tar.js';

/* What the npm-family vendor layouts (npm's cache, yarn's offline mirror) share. */

/** Files by path; a path added twice must have the same bytes. */
export class FileSet {
  private readonly files = new Map<string, Buffer>();

  add(path: string, data: Buffer): void {
    const known = this.files.get(path);
    if (known !== undefined && !known.equals(data)) throw new StowageError(`${path}: two different contents for one vendored file`);
    this.files.set(path, data);
  }

  sorted(): ArchiveFile[] {
    return [...this.files.keys()].sort(compare).map((path) => ({ path, mode: 0o644, data: this.files.get(path) as Buffer }));
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
 * A local package (`file:`, `link:`, a workspace) must lie inside the application, or the
 * archive cannot install it. `path` is relative to the lockfile's directory.
 */
export function requireInsideProject(lockfile: string, projectDir: string, location: string, path: string): void {
  const full = resolve(dirname(lockfile), path);
  const rel = relative(resolve(projectDir), full);
  if (rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) {
    throw new StowageError(`${location}: the local package ${path} lies outside the application, so the archive cannot hold it`, lockfile);
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
