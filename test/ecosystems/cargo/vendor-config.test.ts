import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'smol-toml';
import { vendorConfigToml } from '../../../src/vendoring/cargo.js';

/**
 * The archive's `.cargo/config.toml` holds source ids from Cargo.lock: whatever bytes they hold
 * (quotes, newlines, backslashes, control characters, `]`), they stay values of the one table
 * they belong to; none can add a table or a key.
 */
test('source ids that hold TOML syntax stay strings: the config has exactly the tables and keys it should', () => {
  const registry = 'registry+https://r.example/"\n[source.evil]\ndirectory = "/"\nx = "\\\u0000\u007f]';
  const git = 'git+https://g.example/x"y\n?branch=main%22%0A%5Bsource.evil%5D%0Adirectory%3D%22%2F';
  const text = vendorConfigToml([registry, git]);
  const doc = parse(text) as { source: Record<string, Record<string, string>> };
  assert.deepEqual(Object.keys(doc.source).sort(), [git, registry, 'vendored-sources'].sort());
  assert.deepEqual({ ...doc.source[registry] }, { registry: registry.slice('registry+'.length), 'replace-with': 'vendored-sources' });
  assert.deepEqual({ ...doc.source[git] }, { git: 'https://g.example/x"y\n', branch: 'main"\n[source.evil]\ndirectory="/', 'replace-with': 'vendored-sources' });
  assert.deepEqual({ ...doc.source['vendored-sources'] }, { directory: 'vendor' });
});

test("a git query is decoded as Cargo's url crate decodes it: + is a space, a stray % stays (it used to throw)", () => {
  const text = vendorConfigToml(['git+https://g.example/x?branch=a+b%zz%2B']);
  const doc = parse(text) as { source: Record<string, Record<string, string>> };
  assert.equal(doc.source['git+https://g.example/x?branch=a+b%zz%2B']?.branch, 'a b%zz+');
});

test('a git source naming several references is replaced under the one Cargo reads: the last, `ref` being a branch', () => {
  // cargo 1.95 builds `git+URL?branch=main&rev=C#C` under --locked as rev C: a table saying
  // `branch = "main"` replaced another source, and `cargo build --offline --frozen` went to fetch.
  const cases: Array<[string, Record<string, string>]> = [
    ['git+https://g.example/x?branch=main&rev=0123abc', { rev: '0123abc' }],
    ['git+https://g.example/x?rev=0123abc&tag=v1', { tag: 'v1' }],
    ['git+https://g.example/x?ref=dev', { branch: 'dev' }],
    ['git+https://g.example/x?other=1&tag=v2&other=3', { tag: 'v2' }],
  ];
  for (const [id, reference] of cases) {
    const doc = parse(vendorConfigToml([id])) as { source: Record<string, Record<string, string>> };
    assert.deepEqual({ ...doc.source[id] }, { git: 'https://g.example/x', ...reference, 'replace-with': 'vendored-sources' }, id);
  }
});
