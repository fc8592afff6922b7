/**
 * Whether yarn 1 itself reads a v1 yarn.lock: its tokenizer and parser (lockfile/parser.js of
 * yarn 1.22), followed step by step. Where its parser fails, yarn 1 reads the file as YAML
 * instead (yielding no entry it can use) and where it stops early it drops the rest; either way
 * it resolves the dependencies afresh from the registry, even with --frozen-lockfile (1.22.22
 * installed lodash 4.18.1 from a file locking 4.17.4 with one tab after a value). stowage's own
 * reader is more lenient (a tab, a `#` comment or a blank line at any indentation, an unquoted
 * value of any form): what yarn 1 cannot read is refused, so that the entries audited are the
 * ones yarn installs.
 */

type TokenType = 'newline' | 'comment' | 'indent' | 'string' | 'number' | 'boolean' | 'colon' | 'comma' | 'eof' | 'invalid';

class YarnSyntax extends Error {
  constructor(
    readonly offset: number,
    readonly what: string,
  ) {
    super(what);
  }
}

// eslint-disable-next-line no-control-regex
const BACKSLASH_OR_CONTROL = /[\\\u0000-\u001f]/;

const CODE_0 = 0x30;
const CODE_9 = 0x39;

/** A bare word's first character: a letter, `/`, `.` or `-`. */
function startsBareWord(code: number): boolean {
  return (code >= 0x61 && code <= 0x7a) || (code >= 0x41 && code <= 0x5a) || code === 0x2f || code === 0x2e || code === 0x2d;
}

/**
 * yarn 1's tokenise, one token at a time into this object's fields (no object per token: a
 * lockfile has hundreds of thousands), and its Parser.parse over them, keeping nothing: it
 * throws where yarn's throws.
 */
class Parser {
  type: TokenType = 'eof';
  /** Where the current token starts. */
  offset = 0;
  /** An indent's level, a string's emptiness, an invalid token's reason. */
  level = 0;
  empty = false;
  reason = '';
  private at = 0;
  private lastNewline = false;
  private done = false;

  constructor(private readonly input: string) {
    this.next();
  }

  /** The next token that is not a comment (yarn's Parser.next). */
  next(): void {
    do this.lex();
    while (this.type === 'comment');
  }

  private lex(): void {
    const input = this.input;
    const n = input.length;
    const at = this.at;
    if (at >= n) {
      if (this.done) throw new YarnSyntax(this.offset, 'the end of the file, unexpectedly');
      this.done = true;
      this.type = 'eof';
      this.offset = at;
      return;
    }
    const c = input.charCodeAt(at);
    let chop = 0;
    this.offset = at;
    if (c === 0x0a || c === 0x0d) {
      chop = input.charCodeAt(at + 1) === 0x0a ? 2 : 1;
      this.type = 'newline';
    } else if (c === 0x23 /* # */) {
      const next = input.indexOf('\n', at + 1);
      chop = (next < 0 ? n : next) - at;
      this.type = 'comment';
    } else if (c === 0x20) {
      if (this.lastNewline) {
        let size = 1;
        while (input.charCodeAt(at + size) === 0x20) size++;
        if (size % 2 !== 0) throw new YarnSyntax(at, 'an indentation of an odd number of spaces');
        chop = size;
        this.type = 'indent';
        this.level = size / 2;
      } else {
        // A space inside a line is skipped: read the token after it.
        this.at = at + 1;
        this.lastNewline = false;
        this.lex();
        return;
      }
    } else if (c === 0x22 /* " */) {
      let i = at + 1;
      for (; i < n; i++) {
        if (input.charCodeAt(i) === 0x22 && !(input.charCodeAt(i - 1) === 0x5c && input.charCodeAt(i - 2) !== 0x5c)) {
          i++;
          break;
        }
      }
      chop = i - at;
      const quoted = input.slice(at, i);
      let text: unknown;
      try {
        // Without a backslash, JSON.parse only checks the closing quote and control characters.
        text = quoted.length >= 2 && quoted.endsWith('"') && !BACKSLASH_OR_CONTROL.test(quoted) ? quoted.slice(1, -1) : JSON.parse(quoted);
      } catch {
        text = undefined;
      }
      if (typeof text === 'string') {
        this.type = 'string';
        this.empty = text === '';
      } else {
        this.type = 'invalid';
        this.reason = 'a string that does not end, or a bad escape in it';
      }
    } else if (c >= CODE_0 && c <= CODE_9) {
      let i = at + 1;
      while (i < n && input.charCodeAt(i) >= CODE_0 && input.charCodeAt(i) <= CODE_9) i++;
      chop = i - at;
      this.type = 'number';
    } else if (input.startsWith('true', at)) {
      chop = 4;
      this.type = 'boolean';
    } else if (input.startsWith('false', at)) {
      chop = 5;
      this.type = 'boolean';
    } else if (c === 0x3a /* : */) {
      chop = 1;
      this.type = 'colon';
    } else if (c === 0x2c /* , */) {
      chop = 1;
      this.type = 'comma';
    } else if (startsBareWord(c)) {
      let i = at;
      for (; i < n; i++) {
        const d = input.charCodeAt(i);
        if (d === 0x3a || d === 0x20 || d === 0x0a || d === 0x0d || d === 0x2c) break;
      }
      chop = i - at;
      this.type = 'string';
      this.empty = chop === 0;
    } else {
      this.type = 'invalid';
      this.reason = c === 0x09 ? 'a tab' : `${JSON.stringify(input[at])} where a key or value starts (unquoted, one must start with a letter, \`/\`, \`.\` or \`-\`)`;
      // yarn chops nothing here and reports the token; the parser fails on it.
    }
    this.lastNewline = c === 0x0a || (c === 0x0d && input.charCodeAt(at + 1) === 0x0a);
    this.at = at + chop;
  }

  private fail(what: string): never {
    throw new YarnSyntax(this.offset, what);
  }

  parse(indent: number): void {
    for (;;) {
      const type = this.type;
      if (type === 'newline') {
        this.next();
        if (indent === 0) continue;
        if (this.type !== 'indent') break;
        if (this.level === indent) this.next();
        else break;
      } else if (type === 'indent') {
        if (this.level === indent) this.next();
        else break;
      } else if (type === 'eof') {
        break;
      } else if (type === 'string') {
        if (this.empty) this.fail('an empty key');
        this.next();
        while (this.type === 'comma') {
          this.next();
          if ((this.type as TokenType) !== 'string' || this.empty) this.fail('a key expected after a comma');
          this.next();
        }
        const wasColon = this.type === 'colon';
        if (wasColon) this.next();
        const value = this.type;
        if (value === 'string' || value === 'number' || value === 'boolean') {
          this.next();
        } else if (wasColon) {
          this.parse(indent + 1);
          if (indent !== 0 && this.type !== 'indent') break;
        } else {
          this.fail('a value of a type it does not read');
        }
      } else {
        this.fail(type === 'invalid' ? this.reason : `an unexpected ${type}`);
      }
    }
  }
}

/** The line, column and reason yarn 1's parser fails or stops early on `text`; null when it reads the whole of it. */
export function yarnV1SyntaxProblem(text: string): { line: number; column: number; reason: string } | null {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  try {
    const parser = new Parser(body);
    parser.parse(0);
    if (parser.type !== 'eof') return { ...position(body, parser.offset), reason: 'yarn 1 stops reading here and ignores the rest of the file' };
    return null;
  } catch (err) {
    if (err instanceof YarnSyntax) return { ...position(body, err.offset), reason: `yarn 1's parser fails here (${err.what})` };
    throw err;
  }
}

/** The line and column of `offset` in `body` (the text without its BOM). */
function position(body: string, offset: number): { line: number; column: number } {
  const before = body.slice(0, offset);
  const lineStart = before.lastIndexOf('\n') + 1;
  return { line: before.split('\n').length, column: offset - lineStart + 1 };
}
