import type { TomlTable, TomlValue } from 'smol-toml';

/**
 * Cargo.lock as Cargo writes it (v2 to v4), read without a general TOML parser: comment and
 * blank lines, a top-level `version = N`, and `[[package]]` tables of `name`, `version`,
 * `source` and `checksum` strings and a `dependencies` array one string a line. That is a few
 * string slices a package, where a general TOML parser costs several times the whole read.
 *
 * Anything outside that shape (another key or table, an escape, a comment after a value, a
 * tab, CRLF, non-ASCII text, a key given twice) gives null, and the caller parses the file with
 * smol-toml, which reads every TOML document and reports what is wrong. What is read here is
 * valid TOML, and the table returned is the one smol-toml returns for it (integers as BigInt,
 * tables without a prototype): the two readings cannot differ.
 */
export function readCargoWrittenLockfile(text: string): TomlTable | null {
  // Printable ASCII and newlines only: no string needs checking for control characters.
  if (NOT_PLAIN.test(text)) return null;
  const doc = table();
  const packages: TomlTable[] = [];
  let current: TomlTable | null = null;
  const length = text.length;
  let pos = 0;
  while (pos < length) {
    let end = text.indexOf('\n', pos);
    if (end === -1) end = length;
    const first = text.charCodeAt(pos);
    if (end === pos || first === HASH) {
      pos = end + 1;
      continue;
    }
    if (first === OPEN_BRACKET) {
      if (end - pos !== PACKAGE_HEADER.length || !text.startsWith(PACKAGE_HEADER, pos)) return null;
      packages.push((current = table()));
      pos = end + 1;
      continue;
    }
    const equals = text.indexOf(' = ', pos);
    if (equals === -1 || equals >= end) return null;
    const key = text.slice(pos, equals);
    const value = equals + 3;
    if (current === null) {
      // Before any table: only the format version, a plain decimal integer.
      if (key !== 'version' || doc.version !== undefined) return null;
      const digits = text.slice(value, end);
      if (!VERSION_DIGITS.test(digits)) return null;
      doc.version = BigInt(digits);
      pos = end + 1;
      continue;
    }
    if (current[key] !== undefined) return null;
    if (key === 'dependencies') {
      if (end - value !== 1 || text.charCodeAt(value) !== OPEN_BRACKET) return null;
      // ` "STRING",` lines up to a `]` line.
      const list: TomlValue[] = [];
      for (;;) {
        pos = end + 1;
        if (pos >= length) return null;
        end = text.indexOf('\n', pos);
        if (end === -1) end = length;
        if (end - pos === 1 && text.charCodeAt(pos) === CLOSE_BRACKET) break;
        if (
          end - pos < 4 ||
          text.charCodeAt(pos) !== SPACE ||
          text.charCodeAt(pos + 1) !== QUOTE ||
          text.charCodeAt(end - 2) !== QUOTE ||
          text.charCodeAt(end - 1) !== COMMA
        ) {
          return null;
        }
        const item = text.slice(pos + 2, end - 2);
        if (!isPlainString(item)) return null;
        list.push(item);
      }
      current.dependencies = list;
      pos = end + 1;
      continue;
    }
    if (key !== 'name' && key !== 'version' && key !== 'source' && key !== 'checksum') return null;
    if (end - value < 2 || text.charCodeAt(value) !== QUOTE || text.charCodeAt(end - 1) !== QUOTE) return null;
    const string = text.slice(value + 1, end - 1);
    if (!isPlainString(string)) return null;
    current[key] = string;
    pos = end + 1;
  }
  if (packages.length === 0) return null;
  doc.package = packages;
  return doc;
}

const NOT_PLAIN = /[^\n\x20-\x7e]/;
const VERSION_DIGITS = /^(?:0|[1-9][0-9]{0,15})$/;
const PACKAGE_HEADER = '[[package]]';
const HASH = 0x23;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const SPACE = 0x20;
const QUOTE = 0x22;
const COMMA = 0x2c;

/** A basic string's content needing no unescaping: no quote, no backslash (the rest is checked above). */
function isPlainString(s: string): boolean {
  return s.indexOf('"') === -1 && s.indexOf('\\') === -1;
}

/** A table as smol-toml makes one. */
function table(): TomlTable {
  return Object.create(null) as TomlTable;
}
