import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SharedJson, type JsonPieces } from '../../src/core/shared-json.js';
import { jsonArrayElement } from '../../src/core/terminal-text.js';

/**
 * SharedJson: an element's JSON with its shared values' bytes spliced in is exactly the JSON of
 * the element with the values in place (pretty and escaped for a terminal as jsonArrayElement
 * writes it, or compact), and each shared value is made JSON once, whatever the number of
 * elements that hold it.
 */

const joined = (pieces: JsonPieces): Buffer => Buffer.concat(pieces.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : p)));

interface Note {
  id: string;
  text: string;
}

/** Values a terminal must not get raw (an escape, a bidi override, a line separator), non-ASCII, astral, quotes, empty containers. */
const notes: Note[] = [
  { id: 'a', text: 'plain\nwith a line break, "quotes" and a \\ backslash' },
  { id: 'b', text: 'ESC \u001b[2K, CSI \u009b, RLO \u202e, LS \u2028, tag \u{e0041}, é€ 😀' },
  { id: 'c', text: '' },
];

function renders(): { shared: SharedJson<Note>; calls: Map<string, number> } {
  const calls = new Map<string, number>();
  const shared = new SharedJson<Note>((n) => {
    calls.set(n.id, (calls.get(n.id) ?? 0) + 1);
    return { id: n.id, text: n.text, nested: { list: [n.text, 1, null], empty: {}, none: [] } };
  });
  return { shared, calls };
}

/** An element holding notes at several depths: a key's value, in a list, in a list in a list, twice the same. */
function element(i: number, value: (n: Note) => unknown): Record<string, unknown> {
  const [a, b, c] = notes as [Note, Note, Note];
  return {
    name: `element ${i} "${notes[i % 3]?.text}"`,
    first: value(a),
    findings: [
      { n: i, note: value(b), again: value(b) },
      { n: i + 1, notes: [value(c), [value(a)]] },
    ],
    looksLikeOne: 'stowage-shared-00000000-0000-0000-0000-000000000000-0',
  };
}

const plain = (n: Note): unknown => ({ id: n.id, text: n.text, nested: { list: [n.text, 1, null], empty: {}, none: [] } });

test('an element with shared values spliced in is the bytes of jsonArrayElement of the whole, at every depth', () => {
  const { shared } = renders();
  for (let i = 0; i < 6; i++) {
    const pieces = shared.prettyElement((share) => element(i, share));
    assert.ok(pieces.some((p) => typeof p !== 'string'), 'the shared values come as bytes');
    assert.equal(joined(pieces).toString('utf8'), jsonArrayElement(element(i, plain)), `element ${i}`);
  }
});

test('compact: the bytes of JSON.stringify of the whole', () => {
  const { shared } = renders();
  for (let i = 0; i < 3; i++) assert.equal(joined(shared.compact((share) => element(i, share))).toString('utf8'), JSON.stringify(element(i, plain)));
});

test('each shared value is made JSON once, for every element and both forms; an element without one is one piece', () => {
  const { shared, calls } = renders();
  const first = shared.prettyElement((share) => element(0, share));
  for (let i = 1; i < 50; i++) shared.prettyElement((share) => element(i, share));
  for (let i = 0; i < 50; i++) shared.compact((share) => element(i, share));
  assert.deepEqual(Object.fromEntries(calls), { a: 1, b: 1, c: 1 }, 'once, for every indentation and the compact form');
  const again = shared.prettyElement((share) => element(7, share));
  assert.equal(again.filter((p) => typeof p !== 'string').length, first.filter((p) => typeof p !== 'string').length);
  assert.ok(again.every((p, i) => typeof p === 'string' || p === first[i]), 'the same bytes, not copies');
  assert.deepEqual(shared.prettyElement(() => ({ x: 1 })), [jsonArrayElement({ x: 1 })]);
});
