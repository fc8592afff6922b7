import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseBunLock } from '../../../src/ecosystems/npm/bun-lock.js';
import { PROJECT_ROOT } from '../../support/shared.js';

const FIXTURES = join(PROJECT_ROOT, 'test', 'fixtures');

test("a package.json's overrides and resolutions keyed __proto__ stay keys: nothing is written onto Object.prototype", () => {
  const lock = readFileSync(join(FIXTURES, 'npm-local-app.bun.lock'), 'utf8');
  const manifest = JSON.parse(readFileSync(join(FIXTURES, 'npm-local-app', 'package.json'), 'utf8')) as Record<string, unknown>;
  for (const extra of [
    // A resolution's path nested by its names: `__proto__` first was the prototype, and `polluted` a property of every object.
    { resolutions: { '__proto__/polluted': '1.0.0', 'constructor/prototype/polluted': '1.0.0' } },
    { overrides: JSON.parse('{"__proto__": {"polluted": "1.0.0"}}') as unknown },
  ]) {
    const text = JSON.stringify({ ...manifest, ...extra });
    const graph = parseBunLock({ path: '/app/bun.lock', text: lock, manifest: { path: '/app/package.json', text } });
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal((Object.prototype as Record<string, unknown>).polluted, undefined);
    // Keys the lockfile does not record: the lockfile is stale, as bun says of it.
    assert.ok(graph.stale !== undefined, "stale");
  }
});
