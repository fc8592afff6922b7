import type { TomlTable, TomlValue } from 'smol-toml';

/**
 * Cargo.lock as Cargo writes it (v2 to v4), read without a general TOML parser: comment and
 * blank lines, a top-level `version = N`, and `[[package]]` tables of `name`, `version`,
 * `source` and `checksum` strings and a `dependencies` array one string a line. That is a few
 * string slices a package, where a general TOML parser costs several times the whole read.
 *
 * Anything outside that shape (another key or table, a comment after a value, a backslash
 * anywhere, a tab, CRLF, non-ASCII text, a key given twice) gives null, and the caller parses
 * the file with smol-toml, which reads every TOML document and reports what is wrong. What is read here is
 * valid TOML, and the table returned is the one smol-toml returns for it (integers as BigInt,
 * tables without a prototype): the two readings cannot differ.
 */
export function readCargoWrittenLockfile(text: string): TomlTable | null {
  // No string then needs checking for control characters or escapes.
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
    const key = keyAt(text, pos, first);
    if (key === null) return null;
    const value = pos + key.length + 3;
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
        if (end - pos < 4 || text.charCodeAt(pos) !== SPACE || text.charCodeAt(end - 1) !== COMMA || !isStringAt(text, pos + 1, end - 1)) return null;
        list.push(text.slice(pos + 2, end - 2));
      }
      current.dependencies = list;
      pos = end + 1;
      continue;
    }
    if (!isStringAt(text, value, end)) return null;
    current[key] = text.slice(value + 1, end - 1);
    pos = end + 1;
  }
  if (packages.length === 0) return null;
  doc.package = packages;
  return doc;
}

// Printable ASCII but the backslash (so no string holds an escape), and newlines.
const NOT_PLAIN = /[^\n\x20-\x5b\x5d-\x7e]/;
const VERSION_DIGITS = /^(?:0|[1-9][0-9]{0,15})$/;
const PACKAGE_HEADER = '[[package]]';
const HASH = 0x23;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const SPACE = 0x20;
const QUOTE = 0x22;
const COMMA = 0x2c;

type Key = 'name' | 'version' | 'source' | 'checksum' | 'dependencies';

/** The key of the `KEY = ` the line at `pos` starts with (its first character `first`), when it is one read here. */
function keyAt(text: string, pos: number, first: number): Key | null {
  let key: Key;
  switch (first) {
    case 0x6e: // n
      key = 'name';
      break;
    case 0x76: // v
      key = 'version';
      break;
    case 0x73: // s
      key = 'source';
      break;
    case 0x63: // c
      key = 'checksum';
      break;
    case 0x64: // d
      key = 'dependencies';
      break;
    default:
      return null;
  }
  return text.startsWith(key, pos) && text.startsWith(' = ', pos + key.length) ? key : null;
}

/** Whether text[start, end) is a basic string `"..."` with no quote inside (nor, by NOT_PLAIN, any escape). */
function isStringAt(text: string, start: number, end: number): boolean {
  return end - start >= 2 && text.charCodeAt(start) === QUOTE && text.indexOf('"', start + 1) === end - 1;
}

/** A table as smol-toml makes one. */
function table(): TomlTable {
  return Object.create(null) as TomlTable;
}
