import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Advisory } from '../core/advisory.js';
import { InputError, StowageError } from '../core/errors.js';
import { parseOsvRecord } from './osv.js';
import { parseRustsecAdvisory } from './rustsec.js';
import { readZipEntries } from './zip.js';
import { MAX_ADVISORY_BYTES, advisoryTooLarge, type DatabaseFiles } from './database-files.js';
import { compareText } from '../core/compare-text.js';
import { lockfileNameKey } from '../ecosystems/package-names.js';

/** Everything a database holds, read and validated. */
export interface LoadedAdvisories {
  advisories: Advisory[];
  /** RustSec `rust/` advisories (toolchain: std, cargo, rustdoc): read, validated, not matched against crates. */
  toolchainAdvisories: number;
  /** sha256 over every advisory file's path and content: the revision of a non-git source. */
  contentHash: string;
}

class AdvisoryCollector {
  readonly advisories: Advisory[] = [];
  toolchainAdvisories = 0;
  private readonly hash = createHash('sha256');
  private readonly seen = new Map<string, { origin: string; package: string }>();

  file(rel: string, text: string): void {
    this.hash.update(`${rel}\0${text.length}\0`).update(text);
  }

  /** `where` names the file in an error, as inDatabase does (the origin is relative to the database). */
  add(advisory: Advisory, where: (origin: string) => string = (origin) => origin): void {
    // One advisory per (id, ecosystem, package); a second file claiming the same is a broken
    // database. The package as the registry tells names apart (package-names.ts): crates.io's
    // `foo-bar` and `Foo_Bar` are one crate, whose two records would be matched both, shown as one.
    const key = `${advisory.id}\0${advisory.ecosystem}\0${lockfileNameKey(advisory.ecosystem, advisory.package)}`;
    const previous = this.seen.get(key);
    if (previous !== undefined) {
      const spelt = previous.package === advisory.package ? '' : ` (as ${previous.package})`;
      throw new StowageError(`advisory ${advisory.id} for ${advisory.package} is also defined in ${previous.origin}${spelt}`, where(advisory.origin));
    }
    this.seen.set(key, { origin: advisory.origin, package: advisory.package });
    this.advisories.push(advisory);
  }

  result(): LoadedAdvisories {
    return {
      advisories: this.advisories,
      toolchainAdvisories: this.toolchainAdvisories,
      contentHash: `sha256:${this.hash.digest('hex')}`,
    };
  }
}

// Strict: a replacement character in a package name would match nothing, silently.
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function readText(root: string, rel: string): string {
  const file = join(root, rel);
  const cannot = (err: unknown): StowageError => new StowageError(`cannot read advisory: ${(err as Error).message}`, file);
  let size: number;
  try {
    size = statSync(file).size;
  } catch (err) {
    throw cannot(err);
  }
  // Not read at all: past 512 MiB its text could not even be held ("not UTF-8" was said).
  if (size > MAX_ADVISORY_BYTES) throw new StowageError(advisoryTooLarge(size), file);
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    throw cannot(err);
  }
  try {
    return UTF8.decode(bytes);
  } catch {
    throw new StowageError('advisory is not UTF-8 text', join(root, rel));
  }
}

/**
 * Advisories name their origin relative to the database root (that is what a report shows);
 * an error names where the file really is (`where`), so the user can open it.
 */
function inDatabase<T>(where: (rel: string) => string, rel: string, read: () => T): T {
  try {
    return read();
  } catch (err) {
    if (err instanceof StowageError && err.file === rel) throw new InputError(where(rel), err.message, err.position);
    throw err;
  }
}

/** Advisory files listed by kind, paths relative to the database root (a directory or a git tree). */
export interface AdvisoryFileList {
  rustsec: readonly string[];
  osv: readonly string[];
}

/**
 * Reads and validates every listed advisory; any broken file fails the load. `read` gives a
 * file's text, `where` the name an error shows for it.
 */
export function loadFiles(files: AdvisoryFileList, read: (rel: string) => string, where: (rel: string) => string): LoadedAdvisories {
  const collector = new AdvisoryCollector();
  for (const rel of files.rustsec) {
    const text = read(rel);
    collector.file(rel, text);
    const record = inDatabase(where, rel, () => parseRustsecAdvisory(text, rel));
    if (record.collection === 'rust') collector.toolchainAdvisories++;
    else collector.add(record.advisory, where);
  }
  for (const rel of files.osv) {
    const text = read(rel);
    collector.file(rel, text);
    for (const advisory of inDatabase(where, rel, () => parseOsvRecord(text, rel))) collector.add(advisory, where);
  }
  return collector.result();
}

/** Reads and validates every advisory in a directory tree; any broken file fails the load. */
export function loadDirectory(files: DatabaseFiles): LoadedAdvisories {
  return loadFiles(files, (rel) => readText(files.root, rel), (rel) => join(files.root, rel));
}

/** Past this, a zip is read entry by entry from its file rather than whole into memory. */
const ZIP_IN_MEMORY_BYTES = 1024 * 1024 * 1024;

/**
 * The zip's bytes, read at once when it is not too large: yauzl reading from the file costs a
 * few small reads for each entry, and osv.dev's npm export holds hundreds of thousands of
 * records (50,000 made-up ones: 30-35 s of CPU from the file, 10-14 s from memory).
 */
function zipBytes(file: string): { bytes?: Buffer } {
  try {
    return statSync(file).size <= ZIP_IN_MEMORY_BYTES ? { bytes: readFileSync(file) } : {};
  } catch {
    // yauzl opens it again and says what is wrong.
    return {};
  }
}

/** Reads every `.json` entry of an OSV zip; the archive is untrusted (see zip.ts). */
/** `label` names the zip in advisories' origins and errors (a download: its URL, not the cache file). */
export async function loadZip(file: string, label = file): Promise<LoadedAdvisories> {
  const collector = new AdvisoryCollector();
  const entries = await readZipEntries(file, (name) => name.endsWith('.json'), { label, ...zipBytes(file) });
  if (entries.length === 0) throw new StowageError('not an advisory database: the zip holds no OSV .json files', label);
  entries.sort((a, b) => compareText(a.name, b.name));
  for (const entry of entries) {
    collector.file(entry.name, entry.text);
    for (const advisory of parseOsvRecord(entry.text, `${label}:${entry.name}`)) collector.add(advisory);
  }
  return collector.result();
}
