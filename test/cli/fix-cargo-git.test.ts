/**
 * `stowage fix` on Rust applications with git dependencies, locked by cargo against a local
 * sparse registry (127.0.0.1): a repository is fetched once per commit however many of its
 * crates depend on a vulnerable one; a repository out of reach blocks only the plans that need
 * what its crates require; and the findings left after --apply say which ones a policy accepts.
 */
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { readJsonSchema, schemaValidator } from '../support/json-schema.js';
import { AUDIT_REPORT_SCHEMA } from '../support/audit-report.js';
import { PROJECT_ROOT, runCliAsync, tempDir } from '../support/shared.js';
import { crate, lockedVersions } from '../support/campaign-apps.js';
import { registryConfigToml, runCargo } from '../support/rust-app.js';
import { SparseRegistry } from '../support/sparse-registry.js';
import { commitFiles, initRepository } from '../support/git-repository.js';
import { FIXTURE_DATE } from '../support/advisory-fixtures.js';

const validFixReport = schemaValidator(readJsonSchema(join(PROJECT_ROOT, 'schema', 'fix-report.v1.json')), {
  draft2020: true,
  references: { 'urn:stowage:schema:audit-report:v1': readJsonSchema(AUDIT_REPORT_SCHEMA) },
});

interface FixReportJson {
  plans: { package: { name: string; version: string }; fix: { to: string | null; reason: string | null } }[];
  applied: { failing: number; left: { package: { name: string }; advisory: string; failsPolicy: boolean; ignored: { reason: string; origin: string } | null }[] } | null;
}

function fixReport(text: string): FixReportJson {
  const doc: unknown = JSON.parse(text);
  validFixReport(doc);
  return doc as FixReportJson;
}

function advisory(db: string, id: string, pkg: string, patched: string[]): void {
  mkdirSync(join(db, 'crates', pkg), { recursive: true });
  writeFileSync(
    join(db, 'crates', pkg, `${id}.md`),
    '```toml\n[advisory]\n' +
      `id = "${id}"\npackage = "${pkg}"\ndate = "${FIXTURE_DATE}"\nurl = "https://example.invalid/${id}"\n\n[versions]\npatched = ${JSON.stringify(patched)}\n` +
      '```\n\n# A made-up flaw\n\nWritten by the test.\n',
  );
}

function manifest(name: string, deps: readonly string[]): string {
  return ['[package]', `name = "${name}"`, 'version = "0.1.0"', 'edition = "2021"', '', '[dependencies]', ...deps, ''].join('\n');
}

describe('stowage fix on Rust applications with git dependencies', () => {
  const scratch = tempDir('fix-cargo-git');
  const cacheDir = join(scratch, 'cache');
  const cargoHome = join(scratch, 'cargo-home');
  const db = join(scratch, 'advisory-db');
  /** A `git` that logs each command line, then runs the real one. */
  const wrapperDir = join(scratch, 'bin');
  const gitLog = join(scratch, 'git.log');
  let registry: SparseRegistry;
  let workspaceRepo: string;

  before(async () => {
    registry = await SparseRegistry.start([crate('vulnlib', '1.0.0'), crate('vulnlib', '1.0.3'), crate('rx', '1.5.0'), crate('rx', '1.5.1')]);
    advisory(db, 'RUSTSEC-2099-0020', 'vulnlib', ['>= 1.0.3']);
    advisory(db, 'RUSTSEC-2099-0021', 'rx', ['>= 1.5.1']);
    // One repository, a workspace of two crates that both depend on vulnlib.
    workspaceRepo = initRepository(join(scratch, 'ws'));
    commitFiles(workspaceRepo, {
      'Cargo.toml': '[workspace]\nmembers = ["gita", "gitb"]\n',
      'gita/Cargo.toml': manifest('gita', ['vulnlib = "1"']),
      'gita/src/lib.rs': 'pub fn a() {}\n',
      'gitb/Cargo.toml': manifest('gitb', ['vulnlib = "1"']),
      'gitb/src/lib.rs': 'pub fn b() {}\n',
    });
    mkdirSync(wrapperDir, { recursive: true });
    writeFileSync(join(wrapperDir, 'git'), `#!/bin/sh\nprintf '%s\\n' "$*" >> '${gitLog}'\nexec /usr/bin/git "$@"\n`);
    chmodSync(join(wrapperDir, 'git'), 0o755);
  });

  after(async () => {
    await registry.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  /** An application with these `[dependencies]` lines, locked, then vulnlib and rx moved back to their affected versions. */
  async function app(name: string, deps: readonly string[]): Promise<string> {
    const dir = join(scratch, name);
    mkdirSync(join(dir, 'src'), { recursive: true });
    mkdirSync(join(dir, '.cargo'), { recursive: true });
    writeFileSync(join(dir, 'Cargo.toml'), manifest(name, deps));
    writeFileSync(join(dir, 'src', 'main.rs'), 'fn main() {}\n');
    writeFileSync(join(dir, '.cargo', 'config.toml'), registryConfigToml(registry.indexUrl));
    await runCargo(['generate-lockfile'], { cwd: dir, cargoHome });
    await runCargo(['update', '-p', 'vulnlib', '--precise', '1.0.0'], { cwd: dir, cargoHome });
    await runCargo(['update', '-p', 'rx', '--precise', '1.5.0'], { cwd: dir, cargoHome });
    assert.deepEqual(lockedVersions(join(dir, 'Cargo.lock'), 'vulnlib'), ['1.0.0']);
    assert.deepEqual(lockedVersions(join(dir, 'Cargo.lock'), 'rx'), ['1.5.0']);
    return dir;
  }

  const cli = (args: string[], env: NodeJS.ProcessEnv = {}) => runCliAsync([...args, '--db', db, '--no-fetch'], { cacheDir, env: { CARGO_HOME: cargoHome, ...env } });

  test('two crates of one git repository at one commit: the repository is fetched once', async () => {
    const dir = await app('wsapp', [`gita = { git = "file://${workspaceRepo}" }`, `gitb = { git = "file://${workspaceRepo}" }`, 'rx = "1"']);
    rmSync(gitLog, { force: true });
    const run = await cli(['fix', dir, '--format', 'json'], { PATH: `${wrapperDir}:${process.env.PATH ?? ''}` });
    assert.equal(run.status, 0, run.stderr);
    const plans = fixReport(run.stdout).plans.map((p) => [p.package.name, p.fix.to]);
    assert.deepEqual(plans.sort(), [
      ['rx', '1.5.1'],
      ['vulnlib', '1.0.3'],
    ]);
    const fetches = readFileSync(gitLog, 'utf8')
      .split('\n')
      .filter((l) => / fetch /.test(` ${l} `) && l.includes(workspaceRepo));
    assert.equal(fetches.length, 1, `one fetch of ${workspaceRepo}, found:\n${fetches.join('\n')}`);
  });

  test('a git repository out of reach blocks only the plans that need what its crates require', async () => {
    const repo = initRepository(join(scratch, 'gone'));
    commitFiles(repo, { 'Cargo.toml': manifest('gitc', ['rx = "1"']), 'src/lib.rs': 'pub fn c() {}\n' });
    const dir = await app('goneapp', ['vulnlib = "1"', `gitc = { git = "file://${repo}" }`]);
    // Cargo keeps its own copy (CARGO_HOME/git); the remote itself is gone.
    renameSync(repo, `${repo}-moved`);
    assert.equal(existsSync(repo), false);

    const run = await cli(['fix', dir, '--format', 'json']);
    assert.equal(run.status, 1, run.stderr);
    const plans = fixReport(run.stdout).plans;
    assert.equal(plans.find((p) => p.package.name === 'vulnlib')?.fix.to, '1.0.3', 'the plan that does not need gitc is made');
    const rx = plans.find((p) => p.package.name === 'rx');
    assert.equal(rx?.fix.to, null);
    assert.match(rx?.fix.reason ?? '', /^what gitc 0\.1\.0 requires is unknown: gitc 0\.1\.0 \(git file:\/\/.*\/gone\): cannot fetch file:\/\/.*\/gone: '.*\/gone' does not appear to be a git repository; Could not read from remote repository\.$/);

    const applied = await cli(['fix', dir, '--apply', '--format', 'json']);
    assert.equal(applied.status, 1, applied.stderr);
    assert.deepEqual(lockedVersions(join(dir, 'Cargo.lock'), 'vulnlib'), ['1.0.3']);
    assert.deepEqual(
      fixReport(applied.stdout).applied?.left.map((f) => [f.package.name, f.failsPolicy]),
      [['rx', true]],
    );
  });

  test('--apply: a finding left that --ignore accepts is marked ignored, with its reason, in the JSON and the human report', async () => {
    const dir = await app('ignoreapp', ['vulnlib = "1"', 'rx = "1"']);
    const ignore = ['--ignore', 'RUSTSEC-2099-0021=rx is only used at build time'];
    const applied = await cli(['fix', dir, '--apply', '--format', 'json', ...ignore]);
    assert.equal(applied.status, 0, applied.stderr);
    const left = fixReport(applied.stdout).applied?.left ?? [];
    assert.deepEqual(
      left.map((f) => [f.package.name, f.advisory, f.failsPolicy, f.ignored?.reason ?? null]),
      [['rx', 'RUSTSEC-2099-0021', false, 'rx is only used at build time']],
    );
    const again = await app('ignoreapp2', ['vulnlib = "1"', 'rx = "1"']);
    const human = await cli(['fix', again, '--apply', ...ignore]);
    assert.equal(human.status, 0, human.stderr);
    assert.match(human.stdout, /\n {2}\S+Cargo\.lock: rx 1\.5\.0 \(RUSTSEC-2099-0021\), ignored: rx is only used at build time \(--ignore\)\n/);
  });
});
