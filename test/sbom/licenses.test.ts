import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StowageError } from '../../src/core/errors.js';
import {
  combineLicenses,
  licenseIdsOf,
  normalizeLicense,
  parseLicenseExpression,
  type LicenseExpression,
} from '../../src/sbom/licenses.js';

test('licence fields as crates and npm packages write them become canonical SPDX expressions', () => {
  const cases: [string, 'cargo' | 'npm', string | null][] = [
    // Cargo's deprecated `/` means OR.
    ['MIT/Apache-2.0', 'cargo', 'MIT OR Apache-2.0'],
    ['Unlicense/MIT', 'cargo', 'Unlicense OR MIT'],
    ['MIT / Apache-2.0', 'cargo', 'MIT OR Apache-2.0'],
    ['MIT OR Apache-2.0', 'cargo', 'MIT OR Apache-2.0'],
    ['  MIT  OR   Apache-2.0 ', 'cargo', 'MIT OR Apache-2.0'],
    ['MIT or Apache-2.0', 'cargo', 'MIT OR Apache-2.0'],
    ['Apache-2.0 WITH LLVM-exception', 'cargo', 'Apache-2.0 WITH LLVM-exception'],
    ['Apache-2.0 WITH LLVM-exception OR Apache-2.0 OR MIT', 'cargo', 'Apache-2.0 WITH LLVM-exception OR Apache-2.0 OR MIT'],
    ['(MIT OR Apache-2.0) AND Unicode-DFS-2016', 'cargo', '(MIT OR Apache-2.0) AND Unicode-DFS-2016'],
    // AND binds tighter than OR; the canonical form says so with parentheses.
    ['Apache-2.0 OR MIT AND BSD-3-Clause', 'cargo', 'Apache-2.0 OR (MIT AND BSD-3-Clause)'],
    ['GPL-2.0+', 'cargo', 'GPL-2.0+'],
    ['LicenseRef-Proprietary', 'cargo', 'LicenseRef-Proprietary'],
    // Not SPDX: reported (null), never guessed.
    ['GPL', 'cargo', null],
    ['BSD', 'npm', null],
    ['mit', 'npm', null],
    ['MIT AND', 'cargo', null],
    ['', 'cargo', null],
    ['DocumentRef-spdx-tool-1.2:LicenseRef-MIT-Style-2', 'cargo', null],
    // npm: parentheses around the whole expression are dropped; `/` is no operator there.
    ['(MIT OR CC0-1.0)', 'npm', 'MIT OR CC0-1.0'],
    ['MIT', 'npm', 'MIT'],
    ['MIT/X11', 'npm', null],
    ['UNLICENSED', 'npm', null],
    ['SEE LICENSE IN LICENSE.md', 'npm', null],
  ];
  for (const [raw, ecosystem, expected] of cases) {
    assert.equal(normalizeLicense(raw, ecosystem), expected, `${ecosystem} ${JSON.stringify(raw)}`);
  }
});

test('combining licences de-duplicates and orders terms, keeping every alternative', () => {
  assert.equal(combineLicenses(['MIT', 'MIT']), 'MIT');
  assert.equal(combineLicenses(['MIT OR Apache-2.0', 'Apache-2.0 OR MIT']), 'Apache-2.0 OR MIT');
  assert.equal(combineLicenses(['(MIT OR CC0-1.0)']), 'CC0-1.0 OR MIT');
  // ripgrep's own licence and the shapes its bundled crates declare.
  assert.equal(
    combineLicenses([
      'Unlicense OR MIT',
      'MIT OR Apache-2.0',
      'Apache-2.0 OR MIT',
      '(MIT OR Apache-2.0) AND Unicode-DFS-2016',
      'Apache-2.0 WITH LLVM-exception OR Apache-2.0 OR MIT',
      'MIT',
      'Unlicense OR MIT',
    ]),
    'MIT AND Unicode-DFS-2016 AND (Apache-2.0 OR Apache-2.0 WITH LLVM-exception OR MIT) AND (Apache-2.0 OR MIT) AND (MIT OR Unlicense)',
  );
  // Absorption would give plain MIT and hide that the library offers Apache-2.0 as well.
  assert.equal(combineLicenses(['MIT', 'MIT OR Apache-2.0']), 'MIT AND (Apache-2.0 OR MIT)');
  // `+`, `-or-later` and `WITH` terms are distinct licences, never merged.
  assert.equal(
    combineLicenses(['GPL-2.0+', 'GPL-2.0-or-later', 'Apache-2.0', 'Apache-2.0 WITH LLVM-exception']),
    'Apache-2.0 AND Apache-2.0 WITH LLVM-exception AND GPL-2.0+ AND GPL-2.0-or-later',
  );
  // Nested groups of the same operator flatten.
  assert.equal(combineLicenses(['(ISC AND (MIT AND ISC))', 'Zlib']), 'ISC AND MIT AND Zlib');
  assert.equal(combineLicenses(['(MIT OR (Apache-2.0 OR MIT)) AND ISC']), 'ISC AND (Apache-2.0 OR MIT)');
});

test('combining refuses what is not an SPDX expression, naming it', () => {
  assert.throws(() => combineLicenses(['MIT', 'BSD']), (err: unknown) => err instanceof StowageError && /"BSD"/.test(err.message));
  assert.throws(() => combineLicenses([]), StowageError);
});

test('licenseIdsOf lists the licences an expression names', () => {
  assert.deepEqual(licenseIdsOf('(MIT OR LicenseRef-Foo) AND Apache-2.0 WITH LLVM-exception AND GPL-2.0+'), [
    'Apache-2.0',
    'GPL-2.0',
    'LicenseRef-Foo',
    'MIT',
  ]);
});

/** Whether an assignment of "may use licence X" satisfies the expression. */
function holds(node: LicenseExpression, allowed: ReadonlySet<string>): boolean {
  if (node.kind === 'term') return allowed.has(node.exception === null ? node.license : `${node.license} WITH ${node.exception}`);
  return node.kind === 'and' ? node.operands.every((o) => holds(o, allowed)) : node.operands.some((o) => holds(o, allowed));
}

function terms(node: LicenseExpression, out = new Set<string>()): Set<string> {
  if (node.kind === 'term') out.add(node.exception === null ? node.license : `${node.license} WITH ${node.exception}`);
  else for (const o of node.operands) terms(o, out);
  return out;
}

test('the combined licence means exactly the AND of its inputs and keeps every term (random expressions, every assignment)', () => {
  const atoms = ['MIT', 'Apache-2.0', 'ISC', 'Zlib', 'Apache-2.0 WITH LLVM-exception'];
  let seed = 20260901;
  const random = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  const expression = (depth: number): string => {
    if (depth === 0 || random(3) === 0) return atoms[random(atoms.length)] as string;
    const parts = Array.from({ length: 2 + random(2) }, () => expression(depth - 1));
    return `(${parts.join(random(2) === 0 ? ' AND ' : ' OR ')})`;
  };
  for (let round = 0; round < 300; round++) {
    const inputs = Array.from({ length: 1 + random(4) }, () => expression(3));
    const combined = combineLicenses(inputs);
    const before = inputs.map((text) => parseLicenseExpression(text) as LicenseExpression);
    const after = parseLicenseExpression(combined);
    assert.ok(after, `${combined} parses`);
    assert.deepEqual([...terms(after)].sort(), [...new Set(before.flatMap((e) => [...terms(e)]))].sort(), `terms kept: ${inputs.join(' ; ')}`);
    for (let mask = 0; mask < 1 << atoms.length; mask++) {
      const allowed = new Set(atoms.filter((_, i) => (mask & (1 << i)) !== 0));
      assert.equal(holds(after, allowed), before.every((e) => holds(e, allowed)), `${inputs.join(' ; ')} -> ${combined}`);
    }
    assert.equal(combineLicenses([...inputs].reverse()), combined, 'independent of input order');
  }
});
