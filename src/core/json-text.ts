import { InputError } from './errors.js';

/*
 * JSON files read by hand-written readers (OSV records, package-lock.json): JSON.parse for the
 * values, and on the error path only, line:column positions for messages.
 */

/** JSON.parse, with a syntax error turned into an InputError at its line:column. */
export function parseJsonText(path: string, text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    const found = locateJsonError(text);
    if (found === undefined) throw new InputError(path, 'invalid JSON: nested too deeply to locate the error');
    throw new InputError(path, `invalid JSON: ${found.reason}`, lineAndColumn(text, found.offset));
  }
}

/** 1-based line and column of a UTF-16 offset in `text`. */
export function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i >= 0 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return { line, column: offset - lineStart + 1 };
}

/**
 * Where each key whose value is an object first starts a line (`  "node_modules/a": {`), as a
 * pretty-printed lockfile writes its entries: for reports that point at an entry. A key
 * written otherwise is simply not found (locations are optional).
 */
export function objectKeyLocations(text: string): Map<string, { line: number; column: number }> {
  const found = new Map<string, { line: number; column: number }>();
  let line = 1;
  let counted = 0;
  for (const m of text.matchAll(/^([ \t]*)("(?:[^"\\\n]|\\.)*")[ \t]*:[ \t]*\{/gm)) {
    for (let i = text.indexOf('\n', counted); i !== -1 && i < m.index; i = text.indexOf('\n', i + 1)) line++;
    counted = m.index;
    let key: unknown;
    try {
      key = JSON.parse(m[2] as string);
    } catch {
      continue;
    }
    if (typeof key === 'string' && !found.has(key)) found.set(key, { line, column: (m[1] as string).length + 1 });
  }
  return found;
}

/** Where `"key":` first appears, for errors about a value JSON.parse accepted. */
export function positionOfKey(text: string, key: string): { line: number; column: number } | undefined {
  const quoted = JSON.stringify(key);
  const re = new RegExp(`${quoted.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}\\s*:`);
  const m = re.exec(text);
  return m ? lineAndColumn(text, m.index) : undefined;
}

/**
 * Finds where and why JSON.parse failed: V8's messages do not always carry a position
 * (`Unexpected token '}', "..." is not valid JSON`) and echo the input. Called only on text
 * JSON.parse rejected, so it only needs to find the first error, not build values. Undefined
 * when the text nests too deeply to scan.
 */
export function locateJsonError(text: string): { offset: number; reason: string } | undefined {
  let i = 0;
  class Stop {
    constructor(
      readonly offset: number,
      readonly reason: string,
    ) {}
  }
  const stop = (reason: string, at = i): never => {
    throw new Stop(at, reason);
  };
  const describe = (): string => (i >= text.length ? 'end of input' : `'${text[i]}'`);
  const ws = (): void => {
    while (i < text.length && ' \t\n\r'.includes(text[i] as string)) i++;
  };
  const expect = (ch: string, context: string): void => {
    ws();
    if (text[i] !== ch) stop(`expected '${ch}' ${context}, found ${describe()}`);
    i++;
  };
  const string = (): void => {
    i++; // opening quote
    for (;;) {
      if (i >= text.length) stop('unterminated string');
      const c = text.charCodeAt(i);
      if (c === 34) {
        i++;
        return;
      }
      if (c < 32) stop('control character in string (newlines must be written \\n)');
      if (c === 92) {
        const esc = text[i + 1];
        if (esc === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) stop('bad \\u escape in string');
          i += 6;
          continue;
        }
        if (esc === undefined || !'"\\/bfnrt'.includes(esc)) stop(`bad escape '\\${esc ?? ''}' in string`);
        i += 2;
        continue;
      }
      i++;
    }
  };
  const value = (): void => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      ws();
      if (text[i] === '}') {
        i++;
        return;
      }
      for (;;) {
        ws();
        if (text[i] !== '"') stop(`expected a property name in double quotes, found ${describe()}`);
        string();
        expect(':', 'after property name');
        value();
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === '}') {
          i++;
          return;
        }
        stop(`expected ',' or '}' after property value, found ${describe()}`);
      }
    }
    if (c === '[') {
      i++;
      ws();
      if (text[i] === ']') {
        i++;
        return;
      }
      for (;;) {
        value();
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === ']') {
          i++;
          return;
        }
        stop(`expected ',' or ']' after array element, found ${describe()}`);
      }
    }
    if (c === '"') return string();
    const word = c === 't' ? 'true' : c === 'f' ? 'false' : c === 'n' ? 'null' : null;
    if (word !== null) {
      // Like V8: the error is at the first character that departs from the word.
      for (const ch of word) {
        if (text[i] !== ch) stop(`unexpected ${describe()}`);
        i++;
      }
      return;
    }
    const number = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 400));
    if (number && number[0] !== '' && number[0] !== '-') {
      i += number[0].length;
      if (/[0-9]/.test(text[i] ?? '')) stop('numbers cannot have leading zeros');
      return;
    }
    stop(`unexpected ${describe()}`);
  };
  try {
    ws();
    if (i >= text.length) return { offset: 0, reason: 'the file is empty' };
    value();
    ws();
    if (i < text.length) stop(`unexpected ${describe()} after the end of the JSON value`);
  } catch (err) {
    if (err instanceof Stop) return { offset: err.offset, reason: err.reason };
    // Nesting deeper than the stack allows: no position rather than a crash.
    if (err instanceof RangeError) return undefined;
    throw err;
  }
  // JSON.parse rejected what this scanner accepts (should not happen): no position then.
  return { offset: 0, reason: 'not valid JSON' };
}

/**
 * The first key an object of `text` holds twice (compared as decoded strings, so `"a"` and
 * `"\u0061"` are one key), with the offset of its second occurrence; null when there is none.
 * JSON.parse keeps the last value without a word, where serde_json refuses a duplicate field
 * of a derived struct: a reader whose format is written by Rust uses this to refuse what its
 * writers' readers refuse. Called on text JSON.parse accepted, so only strings need scanning
 * with care; the nesting is tracked on a stack of its own, however deep it goes.
 */
export function duplicateJsonKey(text: string): { key: string; offset: number } | null {
  // One entry per open container: an object's keys so far, or null for an array.
  const open: (Set<string> | null)[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 123 /* { */) open.push(new Set());
    else if (c === 91 /* [ */) open.push(null);
    else if (c === 125 /* } */ || c === 93 /* ] */) open.pop();
    else if (c === 34 /* " */) {
      const start = i;
      let escaped = false;
      for (i++; text.charCodeAt(i) !== 34; i++) {
        if (text.charCodeAt(i) === 92 /* \ */) {
          escaped = true;
          i++;
        }
      }
      const keys = open[open.length - 1];
      if (!keys) continue;
      let next = i + 1;
      while (' \t\n\r'.includes(text[next] ?? '.')) next++;
      if (text[next] !== ':') continue;
      const raw = text.slice(start, i + 1);
      const key = escaped ? (JSON.parse(raw) as string) : raw.slice(1, -1);
      if (keys.has(key)) return { key, offset: start };
      keys.add(key);
    }
  }
  return null;
}
