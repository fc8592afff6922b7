/**
 * What a campaign's `cargo update` is given of the application's `.cargo/config.toml`: where
 * crates come from and how the lockfile resolves, never a setting that names a program for cargo
 * to run (a rustc or its wrapper, a registry's credential provider).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseCargoConfig } from '../../../src/ecosystems/cargo/cargo-config.js';
import { resolutionSettings } from '../../../src/ecosystems/cargo/fix-ecosystem.js';

test("the application's cargo settings that run programs are left out; its sources, registries and patches are kept, paths made absolute", () => {
  const project = '/work/app';
  const config = parseCargoConfig(
    join(project, '.cargo', 'config.toml'),
    [
      '[build]',
      'rustc = "./rustc"',
      'rustc-wrapper = "./wrapper"',
      'rustc-workspace-wrapper = "./wrapper"',
      '[registry]',
      'default = "mirror"',
      'credential-provider = ["./provider"]',
      'global-credential-providers = ["cargo:token-from-stdout ./provider"]',
      '[registries.mirror]',
      'index = "sparse+https://mirror.example/index/"',
      'credential-provider = "cargo:token-from-stdout ./provider"',
      'token = "t"',
      '[credential-alias]',
      'mine = ["./provider"]',
      '[source.crates-io]',
      'replace-with = "mirror-source"',
      '[source.mirror-source]',
      'registry = "sparse+https://mirror.example/index/"',
      '[source.local]',
      'directory = "vendor"',
      '[patch.crates-io]',
      'vulnlib = { path = "patched/vulnlib" }',
      '[net]',
      'retry = 3',
      '[target.x86_64-unknown-linux-gnu]',
      'linker = "./linker"',
      '[env]',
      'X = "y"',
      '[alias]',
      'update = "run"',
      '',
    ].join('\n'),
  );
  assert.deepEqual(resolutionSettings(config, project), {
    source: {
      'crates-io': { 'replace-with': 'mirror-source' },
      'mirror-source': { registry: 'sparse+https://mirror.example/index/' },
      local: { directory: '/work/app/vendor' },
    },
    registries: { mirror: { index: 'sparse+https://mirror.example/index/' } },
    registry: { default: 'mirror' },
    net: { retry: 3 },
    patch: { 'crates-io': { vulnlib: { path: '/work/app/patched/vulnlib' } } },
  });
});

test('a project without a .cargo/config.toml gives cargo no settings', () => {
  assert.deepEqual(resolutionSettings({ path: null, sources: new Map(), registries: new Map(), settings: {}, pathOverrides: [], patches: [] }, '/work/app'), {});
});
