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

/**
 * Reads the text of the entries `want` selects. Nothing is extracted to disk, so entry names
 * cannot escape anywhere; sizes are capped and checked against the bytes actually inflated
 * (yauzl's validateEntrySizes), so a zip bomb stops at the cap.
 */
export function readZipEntries(file: string, want: (name: string) => boolean): Promise<ZipTextEntry[]> {
  return new Promise((resolve, reject) => {
    const fail = (message: string): void => reject(new StowageError(message, file));
    yauzl.open(file, { lazyEntries: true, autoClose: true, strictFileNames: false, validateEntrySizes: true }, (err, zip) => {
      if (err || !zip) return fail(`not a readable zip archive: ${err?.message ?? 'unknown error'}`);
      const entries: ZipTextEntry[] = [];
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
          if (streamErr || !stream) return fail(`cannot read ${entry.fileName}: ${streamErr?.message ?? 'no stream'}`);
          const chunks: Buffer[] = [];
          stream.on('data', (chunk: Buffer) => chunks.push(chunk));
          stream.on('error', (e: Error) => fail(`cannot read ${entry.fileName}: ${e.message}`));
          stream.on('end', () => {
            entries.push({ name: entry.fileName, text: Buffer.concat(chunks).toString('utf8') });
            zip.readEntry();
          });
        });
      });
      zip.readEntry();
    });
  });
}
