import yauzl from 'yauzl';
import { StowageError } from '../core/errors.js';

export interface ZipTextEntry {
  name: string;
  text: string;
}

/** Limits for an untrusted archive: no single record is this large, no database this big. */
const MAX_ENTRY_BYTES = 32 * 1024 * 1024;
const MAX_TOTAL_BYTES = 4 * 1024 * 1024 * 1024;
const MAX_ENTRIES = 2_000_000;

/** Unix file types in the high half of an entry's external attributes (made by Unix). */
const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const MADE_BY_UNIX = 3;

/** Why an entry selected for reading is not a plain file of text, or null when it is. */
function notAFile(entry: yauzl.Entry): string | null {
  if (entry.versionMadeBy >> 8 !== MADE_BY_UNIX) return null;
  const type = (entry.externalFileAttributes >>> 16) & S_IFMT;
  if (type === 0 || type === S_IFREG) return null;
  // A symbolic link's data is its target's path, not the record another reader would see.
  return type === S_IFLNK ? 'is a symbolic link' : `is not a regular file (mode ${type.toString(8)})`;
}

// Strict: a replacement character in a package name would match nothing, silently.
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Reads the text of the entries `want` selects. Nothing is extracted to disk, so entry names
 * cannot escape anywhere (yauzl refuses absolute and `..` names all the same); sizes are
 * capped and checked against the bytes actually inflated (yauzl's validateEntrySizes), so a
 * zip bomb stops at the cap. An entry selected that cannot be read as text (encrypted, an
 * unknown compression, a symbolic link, not UTF-8) or that appears twice (which copy a tool
 * takes differs) fails the whole read: an entry skipped is an advisory not checked.
 */
/** Where the zip's bytes are: in memory (a vendored yarn cache entry), and the name errors give it. */
export interface ZipSource {
  bytes?: Buffer;
  /** Defaults to `file`; a download names its URL, not its cache file. */
  label?: string;
}

export function readZipEntries(file: string, want: (name: string) => boolean, source: ZipSource = {}): Promise<ZipTextEntry[]> {
  return new Promise((resolve, reject) => {
    const fail = (message: string): void => reject(new StowageError(message, source.label ?? file));
    const options = { lazyEntries: true, autoClose: true, strictFileNames: false, validateEntrySizes: true };
    const opened = (err: Error | null, zip: yauzl.ZipFile | undefined): void => {
      if (err || !zip) return fail(`not a readable zip archive: ${err?.message ?? 'unknown error'}`);
      const entries: ZipTextEntry[] = [];
      const names = new Set<string>();
      let count = 0;
      let total = 0;
      zip.on('error', (e: Error) => fail(`damaged zip archive: ${e.message}`));
      zip.on('end', () => resolve(entries));
      zip.on('entry', (entry: yauzl.Entry) => {
        count++;
        if (count > MAX_ENTRIES) {
          zip.close();
          return fail(`more than ${MAX_ENTRIES} entries`);
        }
        if (entry.fileName.endsWith('/') || !want(entry.fileName)) return zip.readEntry();
        const special = notAFile(entry);
        if (special !== null) {
          zip.close();
          return fail(`entry ${entry.fileName} ${special}`);
        }
        if (names.has(entry.fileName)) {
          zip.close();
          return fail(`entry ${entry.fileName} appears twice`);
        }
        names.add(entry.fileName);
        if (entry.uncompressedSize > MAX_ENTRY_BYTES) {
          zip.close();
          return fail(`entry ${entry.fileName} is ${entry.uncompressedSize} bytes, over the ${MAX_ENTRY_BYTES}-byte limit`);
        }
        total += entry.uncompressedSize;
        if (total > MAX_TOTAL_BYTES) {
          zip.close();
          return fail(`entries expand past ${MAX_TOTAL_BYTES} bytes`);
        }
        zip.openReadStream(entry, (streamErr, stream) => {
          if (streamErr || !stream) {
            zip.close();
            return fail(`cannot read entry ${entry.fileName}: ${streamErr?.message ?? 'no stream'}`);
          }
          const chunks: Buffer[] = [];
          stream.on('data', (chunk: Buffer) => chunks.push(chunk));
          stream.on('error', (e: Error) => {
            zip.close();
            fail(`cannot read entry ${entry.fileName}: ${e.message}`);
          });
          stream.on('end', () => {
            let text: string;
            try {
              text = UTF8.decode(Buffer.concat(chunks));
            } catch {
              zip.close();
              return fail(`entry ${entry.fileName} is not UTF-8 text`);
            }
            entries.push({ name: entry.fileName, text });
            zip.readEntry();
          });
        });
      });
      zip.readEntry();
    };
    if (source.bytes === undefined) yauzl.open(file, options, opened);
    else yauzl.fromBuffer(source.bytes, options, opened);
  });
}
