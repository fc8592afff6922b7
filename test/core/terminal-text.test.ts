import { test } from 'node:test';
import assert from 'node:assert/strict';
import { jsonArrayElement, jsonArrayElementOfText, jsonForTerminal, jsonForTerminalPieces, terminalText } from '../../src/core/terminal-text.js';

test('controls, format characters and separators are shown as visible escapes', () => {
  const cases: [string, string][] = [
    ['plain text, ünïcödé, 日本語, emoji 🦀', 'plain text, ünïcödé, 日本語, emoji 🦀'],
    ['a\u001b[2K\rb', 'a\\x1b[2K\\rb'],
    ['line\nnext\ttab', 'line\\nnext\\ttab'],
    ['nul\u0000 bel\u0007 del\u007f', 'nul\\x00 bel\\x07 del\\x7f'],
    // C1: CSI, NEL, OSC, ST.
    ['\u009b2K \u0085 \u009d0;title\u009c', '\\x9b2K \\x85 \\x9d0;title\\x9c'],
    // Bidi embeddings, overrides, isolates and marks.
    ['\u202a\u202b\u202c\u202d\u202e \u2066\u2067\u2068\u2069 \u200e\u200f\u061c', '\\u202a\\u202b\\u202c\\u202d\\u202e \\u2066\\u2067\\u2068\\u2069 \\u200e\\u200f\\u061c'],
    // Zero-width characters, the BOM, line and paragraph separators, soft hyphen.
    ['lo\u200bdash\u200c\u200d\u2060\ufeff \u2028\u2029 \u00ad', 'lo\\u200bdash\\u200c\\u200d\\u2060\\ufeff \\u2028\\u2029 \\xad'],
    // Tag characters (invisible text) and a lone surrogate.
    ['x\u{e0041}\u{e007f}y \ud800', 'x\\u{e0041}\\u{e007f}y \\ud800'],
    // Backslashes are shown as they are.
    ['C:\\path \\x1b', 'C:\\path \\x1b'],
  ];
  for (const [input, shown] of cases) assert.equal(terminalText(input), shown, JSON.stringify(input));
});

test('terminalText also redacts URL credentials it quotes', () => {
  assert.equal(
    terminalText("fatal: unable to access 'https://user:s3cret@host/x.git?private_token=abc\n'"),
    "fatal: unable to access 'https://***@host/x.git?private_token=***\\n'",
  );
});

test('JSON text: C1, bidi and separators become \\u escapes; the value is unchanged and stays valid', () => {
  const value = { title: 'a\u009b2K\u202e\u2028\u{e0041}\u007f', 'k\u200b': ['\u001b[1A\n'] };
  const json = JSON.stringify(value, null, 2);
  const shown = jsonForTerminal(json);
  assert.doesNotMatch(shown, /[\u007f-\u009f\u200b\u202e\u2028\u{e0041}]/u);
  assert.ok(shown.includes('"a\\u009b2K\\u202e\\u2028\\udb40\\udc41\\u007f"'), shown);
  assert.deepEqual(JSON.parse(shown), value);
  // Layout newlines stay.
  assert.equal(shown.split('\n').length, json.split('\n').length);
});

test('JSON text: unsafe characters are escaped wherever they sit among printable text, non-ASCII kept as it is', () => {
  const value = {
    mixed: 'café \u009b naïve \u200b日本\u2029x\u{1f600}y\u{e0041}z',
    alone: '\ud800 lone surrogate, then tab\tand CR\r',
    edge: ['\u202e', 'é', '\u007f\u0080', 'plain ASCII only'],
  };
  const shown = jsonForTerminal(JSON.stringify(value));
  assert.ok(shown.includes('"café \\u009b naïve \\u200b日本\\u2029x\u{1f600}y\\udb40\\udc41z"'), shown);
  assert.ok(shown.includes('"\\ud800 lone surrogate, then tab\\tand CR\\r"'), shown);
  assert.ok(shown.includes('["\\u202e","é","\\u007f\\u0080","plain ASCII only"]'), shown);
  assert.deepEqual(JSON.parse(shown), value);
});

test('jsonForTerminalPieces: the pieces concatenated are the whole report, byte for byte, whatever the list holds', () => {
  const whole = (value: Record<string, unknown>): string => jsonForTerminal(JSON.stringify(value, null, 2) + '\n');
  const cases: Record<string, unknown>[] = [
    { schemaVersion: 1, apps: [], failed: [] },
    { schemaVersion: 1, apps: [{ name: 'a', findings: [] }], failed: [] },
    { schemaVersion: 1, databases: [{ source: 'x' }], changes: [1, 'two', null, { deep: [[], {}, ['\u202e', '\u001b[31m']] }], summary: { new: 2 } },
    // A value elsewhere that looks like the placeholder's neighbourhood, and a list at the end.
    { first: '"changes": "stowage-elements-"', changes: [{ a: 1 }, { b: [1, 2] }] },
  ];
  for (const value of cases) {
    const key = 'apps' in value ? 'apps' : 'changes';
    assert.equal([...jsonForTerminalPieces(value, key)].join(''), whole(value));
  }
  // One piece per element, plus the text before and after: never the list as one string.
  assert.equal([...jsonForTerminalPieces({ v: 1, apps: [1, 2, 3] }, 'apps')].length, 5);
});

test('every ASCII character: printable ones shown as they are, the others escaped, alone or among printable text', () => {
  for (let code = 0; code < 0x80; code++) {
    const ch = String.fromCharCode(code);
    const printable = code >= 0x20 && code <= 0x7e;
    for (const text of [ch, `name ${ch} 1.0.0`]) {
      const shown = terminalText(text);
      if (printable) assert.equal(shown, text, JSON.stringify(text));
      else assert.equal(shown.includes(ch), false, `${JSON.stringify(text)} -> ${JSON.stringify(shown)}`);
    }
  }
});

test('an element pretty-printed from its compact JSON text is the text jsonArrayElement gives for its value', () => {
  const values: unknown[] = [
    {},
    [],
    { a: [], b: {}, c: [[]], d: [{}], e: null, f: true, g: false, n: [0, -1.5, 1e21, 2.5e-7] },
    // Strings holding the characters the layout is made of, escapes, backslashes before quotes.
    { 'k:,{}[]"': 'v:,{"x":[1,2]}', q: '\\"', r: '\\', s: 'a\\\\"b', t: '\n\t\u0000', u: '' },
    // What the terminal must not receive as it is, escaped as jsonForTerminal escapes it.
    { title: 'a\u009b2K\u202e\u2028\u{e0041}\u007f', '\u200b': ['\u001b[1A\n', '日本語 🦀'], lone: '\ud800' },
    // A change as a sync worker makes it: nested objects and lists of lists.
    {
      app: 'app-1',
      change: 'new',
      target: 'Cargo.lock',
      advisory: 'stowage-sync-change-mark',
      package: { ecosystem: 'cargo', name: 'idna', version: '0.1.5', source: null },
      paths: [['app-1 0.1.0', 'url 1.7.2', 'idna 0.1.5'], ['app-1 0.1.0', 'idna 0.1.5']],
      failsPolicy: true,
    },
    ['x', [1, [2, [3, []]]], { deep: { deeper: { deepest: [{}] } } }],
    'a string',
    42,
  ];
  for (const value of values) assert.equal(jsonArrayElementOfText(JSON.stringify(value)), jsonArrayElement(value), JSON.stringify(value));
});
