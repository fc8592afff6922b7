import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PROJECT_ROOT } from '../support/shared.js';

/**
 * The source directories, lowest first. A module may import from its own directory and from
 * directories below it, never from one above: the arrows run one way, so each layer can be read,
 * tested and reused without the ones that build on it. Type-only imports count too.
 */
const LAYERS = ['core', 'ecosystems', 'advisories', 'inputs', 'fixes', 'audit', 'sbom', 'vendoring', 'package', 'fleet', 'campaign', 'server', 'cli'];

const SRC = join(PROJECT_ROOT, 'src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

const layerOf = (file: string): string => relative(SRC, file).split(/[\\/]/)[0] ?? '';

test('every source directory has a layer', () => {
  const dirs = readdirSync(SRC, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
  assert.deepEqual(dirs.filter((d) => !LAYERS.includes(d)), []);
});

test('imports run from higher layers to lower ones only', () => {
  const upward: string[] = [];
  let imports = 0;
  for (const file of sourceFiles(SRC)) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)) {
      imports++;
      const target = normalize(join(dirname(file), m[1] as string));
      const from = LAYERS.indexOf(layerOf(file));
      const to = LAYERS.indexOf(layerOf(target));
      if (to > from) upward.push(`${relative(SRC, file)} -> ${relative(SRC, target)}`);
    }
  }
  assert.ok(imports > 200, `read ${imports} relative imports: the scan found the sources`);
  assert.deepEqual(upward, []);
});
