import { randomUUID } from 'node:crypto';
import { jsonArrayElement, jsonForTerminal } from './terminal-text.js';

/**
 * JSON of many elements that share a few large sub-values (the fleet's findings share a few
 * hundred advisories, each half or more of a finding's text): each shared value is made JSON,
 * escaped and UTF-8-encoded once, per indentation where it is pretty-printed, and its bytes are
 * spliced into every element that holds it. The pieces concatenated are exactly the text of the
 * element with the values in place.
 *
 * An element is built with `share(key)` where a shared value goes: a placeholder string no
 * other value can hold (it names nothing from the input, and a quote inside a string is
 * escaped), which the rendering cuts out. The value's JSON is `render(key)`, made once per key
 * object (a WeakMap: keys that are no longer used are forgotten with their texts).
 */

/** Text pieces, some given as UTF-8 bytes: what writeStdoutPieces writes, concatenated. */
export type JsonPieces = (string | Uint8Array)[];

interface SharedTexts {
  /** render(key): made once per key. */
  value: unknown;
  /** UTF-8 of JSON.stringify(value), made when first asked. */
  compact: Buffer | null;
  /** JSON.stringify(value, null, 2), made when first asked. */
  pretty: string | null;
  /** UTF-8 of the pretty text at each indentation (in spaces), escaped as jsonForTerminal does. */
  indented: Map<number, Buffer>;
}

export class SharedJson<K extends object> {
  /** `"stowage-shared-UUID-` + index + `"`: the placeholders of one element are numbered from 0. */
  private readonly prefix = `stowage-shared-${randomUUID()}-`;
  private readonly quotedPrefix = JSON.stringify(this.prefix).slice(0, -1);
  private readonly texts = new WeakMap<K, SharedTexts>();

  /** `render(key)` is the shared value's JSON value (never undefined). */
  constructor(private readonly render: (key: K) => unknown) {}

  /**
   * jsonArrayElement(value) (an element of a list that is a top-level object's value, pretty,
   * escaped for a terminal), where `build(share)` makes the value: the text in pieces, each
   * shared value's bytes made once per key and indentation.
   */
  prettyElement(build: (share: (key: K) => string) => unknown): JsonPieces {
    const keys: K[] = [];
    const text = jsonArrayElement(build(this.sharer(keys)));
    // jsonForTerminal changes characters one by one and leaves the (printable ASCII) placeholders as they are: the whole escaped is the parts escaped.
    return this.splice(text, keys, (key, at) => this.prettyText(key, indentAt(text, at)));
  }

  /** JSON.stringify(value) in pieces, where `build(share)` makes the value. */
  compact(build: (share: (key: K) => string) => unknown): JsonPieces {
    const keys: K[] = [];
    const text = JSON.stringify(build(this.sharer(keys)));
    return this.splice(text, keys, (key) => this.compactText(key));
  }

  /**
   * An element's text made elsewhere (a worker thread, where the element's value was) with the
   * string `mark` in the place of one shared value, `key`'s: in pieces, as prettyElement
   * (`pretty`: the text is jsonArrayElement's) or compact would give it.
   */
  spliced(text: string, mark: string, key: K, form: 'pretty' | 'compact'): JsonPieces {
    const quoted = JSON.stringify(mark);
    const at = text.indexOf(quoted);
    if (at < 0) throw new Error('SharedJson: a text without its placeholder');
    return [text.slice(0, at), form === 'pretty' ? this.prettyText(key, indentAt(text, at)) : this.compactText(key), text.slice(at + quoted.length)];
  }

  private compactText(key: K): Buffer {
    const texts = this.textsOf(key);
    texts.compact ??= Buffer.from(JSON.stringify(texts.value), 'utf8');
    return texts.compact;
  }

  private sharer(keys: K[]): (key: K) => string {
    return (key) => `${this.prefix}${keys.push(key) - 1}`;
  }

  /** `text` with each placeholder replaced by `bytes(key, where it starts)`. */
  private splice(text: string, keys: readonly K[], bytes: (key: K, at: number) => Buffer): JsonPieces {
    if (keys.length === 0) return [text];
    const pieces: JsonPieces = [];
    let from = 0;
    for (let at = text.indexOf(this.quotedPrefix); at >= 0; at = text.indexOf(this.quotedPrefix, from)) {
      const end = text.indexOf('"', at + this.quotedPrefix.length);
      const key = keys[Number(text.slice(at + this.quotedPrefix.length, end))];
      if (key === undefined) throw new Error('SharedJson: a placeholder that names no shared value');
      pieces.push(text.slice(from, at), bytes(key, at));
      from = end + 1;
    }
    pieces.push(text.slice(from));
    return pieces;
  }

  private textsOf(key: K): SharedTexts {
    let texts = this.texts.get(key);
    if (texts === undefined) {
      texts = { value: this.render(key), compact: null, pretty: null, indented: new Map() };
      this.texts.set(key, texts);
    }
    return texts;
  }

  /** The value's pretty JSON where its first line starts after `indent` spaces' line: every further line indented by them. */
  private prettyText(key: K, indent: number): Buffer {
    const texts = this.textsOf(key);
    let bytes = texts.indented.get(indent);
    if (bytes === undefined) {
      texts.pretty ??= JSON.stringify(texts.value, null, 2);
      // JSON.stringify never puts a line break inside a string: every one starts a line to indent.
      bytes = Buffer.from(jsonForTerminal(texts.pretty.replaceAll('\n', `\n${' '.repeat(indent)}`)), 'utf8');
      texts.indented.set(indent, bytes);
    }
    return bytes;
  }
}

/** How many spaces start the line of `text` where `at` is. */
function indentAt(text: string, at: number): number {
  const lineStart = text.lastIndexOf('\n', at) + 1;
  let indent = 0;
  while (text.charCodeAt(lineStart + indent) === 32) indent++;
  return indent;
}
