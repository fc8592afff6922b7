import { test } from 'node:test';
import assert from 'node:assert/strict';
import { progressReporter } from '../../src/cli/progress.js';

function stream(isTTY: boolean): NodeJS.WriteStream & { text: string } {
  const out = { text: '', isTTY, columns: 80, write(chunk: string) { out.text += chunk; return true; }, on() { return out; }, removeListener() { return out; } };
  return out as unknown as NodeJS.WriteStream & { text: string };
}

test('without a terminal: one plain line per quarter, no control codes', () => {
  const s = stream(false);
  const progress = progressReporter('vendor', s);
  for (let done = 1; done <= 8; done++) progress.update({ done, total: 8, bytes: done * 1024 * 1024, fromCache: done > 4 ? 1 : 0 });
  progress.stop();
  assert.deepEqual(s.text.trim().split('\n'), [
    'vendor: 2/8 packages, 2.0 MiB downloaded, 0 from the cache',
    'vendor: 4/8 packages, 4.0 MiB downloaded, 0 from the cache',
    'vendor: 6/8 packages, 6.0 MiB downloaded, 1 from the cache',
    'vendor: 8/8 packages, 8.0 MiB downloaded, 1 from the cache',
  ]);
  assert.ok(!s.text.includes('\u001b'));
});

test('on a terminal: a bar with packages and bytes', () => {
  const saved = process.env.CI;
  delete process.env.CI;
  try {
    const s = stream(true);
    const progress = progressReporter('vendor', s);
    progress.update({ done: 3, total: 10, bytes: 5 * 1024 * 1024, fromCache: 2 });
    progress.stop();
    assert.match(s.text, /vendor \[.*\] 3\/10 packages \| 5\.0 MiB downloaded \| 2 from cache/);
  } finally {
    if (saved !== undefined) process.env.CI = saved;
  }
});
