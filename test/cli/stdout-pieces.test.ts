import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { PROJECT_ROOT } from '../support/shared.js';

/**
 * writeStdoutPieces: a report made of many pieces (fleet sync, add and affected JSON) reaches
 * standard output as exactly the bytes of the pieces joined, whatever their sizes and however
 * multi-byte characters fall across the megabyte it gathers before each write.
 */

const OUTPUT = join(PROJECT_ROOT, 'dist', 'src', 'cli', 'output.js');

function written(pieces: string[]): Buffer {
  const script = `import { readFileSync } from 'node:fs'; import { writeStdoutPieces } from ${JSON.stringify(OUTPUT)}; writeStdoutPieces(JSON.parse(readFileSync(0, 'utf8')));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { input: JSON.stringify(pieces), maxBuffer: 64 * 1024 * 1024 });
  assert.equal(r.status, 0, String(r.stderr ?? r.error));
  return r.stdout;
}

test('pieces are written as their concatenation: ASCII, multi-byte and astral characters across buffer boundaries, empty pieces, one larger than the buffer', () => {
  const pieces: string[] = [];
  // Many small pieces whose UTF-8 lengths do not divide a megabyte: the buffer fills mid-character run.
  for (let i = 0; i < 40_000; i++) pieces.push(i % 7 === 0 ? `é€${i}😀,` : `{"n":${i}},`);
  pieces.push('');
  pieces.push('ü'.repeat(600_000)); // 1.2 MB of UTF-8 in one piece: more than the buffer holds
  pieces.push('tail\n');
  const out = written(pieces);
  assert.ok(out.equals(Buffer.from(pieces.join(''), 'utf8')), 'the same bytes as the whole');
});

test('no pieces write nothing', () => {
  assert.equal(written([]).length, 0);
});
