import { randomUUID } from 'node:crypto';
import { redactCredentials } from './credentials.js';

/**
 * Text from data (advisory records, lockfiles, paths, registries, git's stderr) shown to a
 * person. Printed raw, an OSV title holding `ESC[2K` or a CSI (U+009B) erases lines and draws
 * a fake `result: ok`, a newline in a path splits an error line in two, and a bidi override or
 * a zero-width character makes a name read as another. Every such character is therefore shown
 * as a visible escape (`\x1b`, `\n`, `\u202e`), never sent to the terminal.
 *
 * Escaped: Unicode controls (C0, DEL, C1: \p{Cc}), format characters (bidi embeddings,
 * overrides and isolates, zero-width spaces and joiners, the BOM, tags: \p{Cf}), the line and
 * paragraph separators (\p{Zl}, \p{Zp}) and lone surrogates (\p{Cs}). Everything else,
 * backslashes included, is shown as it is: the aim is a faithful single line, not a reversible
 * encoding.
 */
const UNSAFE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/gu;
const UNSAFE_ONE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/u;

/**
 * Whether `text` holds a character terminalText would escape: what a name or a person's note
 * kept by the fleet must not hold (it would read as another, or span lines, wherever shown).
 */
export function hasUnprintable(text: string): boolean {
  return UNSAFE_ONE.test(text);
}

/**
 * UNSAFE without the tab, newline and carriage return (\p{Cc} is U+0000-U+001F and
 * U+007F-U+009F): raw, those are a JSON text's layout (JSON.stringify escapes them inside
 * strings), and matching every line break of a large report costs a call each.
 */
// eslint-disable-next-line no-control-regex
const UNSAFE_IN_JSON = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/gu;

const SHORT: Readonly<Record<string, string>> = { '\t': '\\t', '\n': '\\n', '\r': '\\r' };

function visibleEscape(ch: string): string {
  const short = SHORT[ch];
  if (short !== undefined) return short;
  const code = ch.codePointAt(0) as number;
  if (code <= 0xff) return `\\x${code.toString(16).padStart(2, '0')}`;
  if (code <= 0xffff) return `\\u${code.toString(16).padStart(4, '0')}`;
  return `\\u{${code.toString(16)}}`;
}

/**
 * `text` as a person is shown it: every control, format and separator character as a visible
 * escape, and the credentials of any URL it quotes redacted (git's and registries' messages
 * quote URLs).
 */
export function terminalText(text: string): string {
  const redacted = redactCredentials(text);
  // Printable ASCII holds none of those characters: the Unicode-property pattern (compiled on
  // first use, about a millisecond) is not run on the warnings and lines most runs print.
  return PRINTABLE_ASCII.test(redacted) ? redacted : redacted.replace(UNSAFE, visibleEscape);
}

const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

/**
 * `text` for a page (the dashboard's HTML, html.ts): what terminalText escapes, but the tab and
 * line breaks (a page lays them out as space, and an advisory's description has paragraphs),
 * as the same visible escape. A browser renders ESC or BEL as nothing, so without it an
 * advisory's `\x1b[8m` would vanish from the page yet act when the same text is printed, and a
 * zero-width or bidi character would make a name read as another.
 */
export function pageText(text: string): string {
  return PRINTABLE_ASCII_OR_LAYOUT.test(text) ? text : text.replace(UNSAFE_IN_JSON, visibleEscape);
}

const PRINTABLE_ASCII_OR_LAYOUT = /^[\x20-\x7e\t\n\r]*$/;

/**
 * JSON text (a report, a SARIF log) with the characters JSON.stringify leaves raw but a
 * terminal acts on (C1 controls, bidi and zero-width characters, U+2028/U+2029) written as
 * `\uXXXX` escapes. The value is unchanged: outside strings JSON allows only ASCII whitespace,
 * so every such character is inside a string, where the escape means the same character.
 */
export function jsonForTerminal(json: string): string {
  // Only runs of code units outside printable ASCII can hold such a character (a code point is
  // all ASCII or all not): the Unicode-property pattern is run on those runs alone, not on the
  // whole text (a fleet sync's report is tens of megabytes, nearly all ASCII).
  return json.replace(NOT_PRINTABLE_ASCII, (run) => run.replace(UNSAFE_IN_JSON, jsonEscape));
}

const NOT_PRINTABLE_ASCII = /[^\x20-\x7e\n]+/g;

function jsonEscape(ch: string): string {
  const code = ch.codePointAt(0) as number;
  if (code <= 0xffff) return `\\u${code.toString(16).padStart(4, '0')}`;
  // Astral format characters (tags): as a surrogate pair, the only JSON spelling.
  const high = 0xd800 + ((code - 0x10000) >> 10);
  const low = 0xdc00 + ((code - 0x10000) & 0x3ff);
  return `\\u${high.toString(16)}\\u${low.toString(16)}`;
}

/** `[\n  [\n` and `\n  ]\n]` around an element stringified as `[[element]]`. */
const WRAPPED_HEAD = '[\n  [\n'.length;
const WRAPPED_TAIL = '\n  ]\n]'.length;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const COMMA = 0x2c;
const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;

/** Runs of spaces by length, made once. */
const SPACES: string[] = [];
const spaces = (n: number): string => (SPACES[n] ??= ' '.repeat(n));

/**
 * jsonArrayElement(JSON.parse(compact)) where `compact` is JSON.stringify's text of the element
 * (no space outside strings), made from the text itself: JSON.stringify(…, null, 2) only puts
 * line breaks and indentation around the compact text's brackets, commas and colons, so the
 * pretty text is the compact one with those inserted, without parsing it into objects and
 * writing them again. A `fleet sync` of 10,000 applications writes 134,738 changes this way,
 * each made compact in a worker. The compact text holds its keys in JSON.stringify's order
 * already, so a parse and stringify would give them in the same order.
 */
export function jsonArrayElementOfText(compact: string): string {
  let out = spaces(4);
  let indent = 4;
  let from = 0;
  const n = compact.length;
  for (let i = 0; i < n; i++) {
    const c = compact.charCodeAt(i);
    if (c === QUOTE) {
      // To the string's closing quote: the next quote after an even run of backslashes.
      let end = compact.indexOf('"', i + 1);
      for (;;) {
        let slashes = 0;
        while (compact.charCodeAt(end - 1 - slashes) === BACKSLASH) slashes++;
        if (slashes % 2 === 0) break;
        end = compact.indexOf('"', end + 1);
      }
      i = end;
    } else if (c === COLON) {
      out += `${compact.slice(from, i)}: `;
      from = i + 1;
    } else if (c === COMMA) {
      out += `${compact.slice(from, i)},\n${spaces(indent)}`;
      from = i + 1;
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      // Empty: `{}` and `[]` as they are (the closing bracket is the opening one's code plus 2).
      if (compact.charCodeAt(i + 1) === c + 2) {
        i++;
        continue;
      }
      indent += 2;
      out += `${compact.slice(from, i + 1)}\n${spaces(indent)}`;
      from = i + 1;
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      indent -= 2;
      out += `${compact.slice(from, i)}\n${spaces(indent)}`;
      from = i;
    }
  }
  return jsonForTerminal(out + compact.slice(from));
}

/**
 * The text of `jsonForTerminal(JSON.stringify(value, null, 2) + '\n')`, in pieces: the array
 * `value[key]` one element at a time, so a report of any size is written without being one
 * string (V8 refuses strings of more than about 2^29 characters: a fleet sync or add of 10,000
 * applications reaches that). The same bytes as the whole, concatenated. Each element is written
 * as `element(item)`: a list kept in another form is turned into its JSON one element at a time,
 * never all at once.
 */
export function* jsonForTerminalPieces(
  value: Readonly<Record<string, unknown>>,
  key: string,
  element: (item: unknown) => unknown = (item) => item,
): Generator<string> {
  const items = value[key];
  if (!Array.isArray(items) || items.length === 0) {
    yield jsonForTerminal(JSON.stringify(value, null, 2) + '\n');
    return;
  }
  const frame = jsonArrayFrame(value, key);
  yield frame.head;
  for (let i = 0; i < items.length; i++) yield jsonArrayElement(element(items[i])) + (i < items.length - 1 ? ',\n' : '\n');
  yield frame.tail;
}

/**
 * What jsonForTerminalPieces writes around the elements of a non-empty `value[key]` (whatever
 * `value[key]` holds now): the text up to and including `[` and its line break, and from the
 * closing `]` on. Between them: each element's jsonArrayElement, `,\n` after all but the last,
 * `\n` after the last: for a list made as it is written (`fleet status`, page by page).
 */
export function jsonArrayFrame(value: Readonly<Record<string, unknown>>, key: string): { head: string; tail: string } {
  // A placeholder no other value can hold (it names nothing from the input), replaced by the elements.
  const marker = JSON.stringify(`stowage-elements-${randomUUID()}`);
  const skeleton = JSON.stringify({ ...value, [key]: JSON.parse(marker) as string }, null, 2) + '\n';
  const at = skeleton.indexOf(marker);
  return { head: jsonForTerminal(skeleton.slice(0, at) + '[\n'), tail: jsonForTerminal('  ]' + skeleton.slice(at + marker.length)) };
}

/** One element of a list that is a top-level object's value, as JSON.stringify(…, null, 2) of the whole indents it (no separator). */
export function jsonArrayElement(item: unknown): string {
  // Inside a list inside an object, JSON.stringify indents the element as the whole would (four
  // spaces): cut out of that, rather than indented again line by line.
  const wrapped = JSON.stringify([[item]], null, 2);
  return jsonForTerminal(wrapped.slice(WRAPPED_HEAD, wrapped.length - WRAPPED_TAIL));
}
