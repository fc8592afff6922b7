/**
 * `stowage fix` and `audit --fix-advice` on Rust applications locked by cargo against a local
 * sparse registry (127.0.0.1), with a RustSec directory database written here. The registry
 * publishes, for the vulnerable crate `vulnlib`, affected versions, a yanked fixed one and
 * fixed ones in two semver lines; `legacy` holds it at 0.9, `midlib` at 1.x, so the
 * application locks vulnlib twice. A second application is held back by a dependent whose
 * requirement admits no fixed version.
 */
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { readJsonSchema, schemaValidator } from '../support/json-schema.js';
import { AUDIT_REPORT_SCHEMA, auditReport } from '../support/audit-report.js';
import { PROJECT_ROOT, runCliAsync, tempDir } from '../support/shared.js';
import { lockedVersions } from '../support/campaign-apps.js';
import { registryConfigToml, runCargo } from '../support/rust-app.js';
import { publishCrate, SparseRegistry, type PublishedCrate } from '../support/sparse-registry.js';
import { commitFiles, initRepository } from '../support/git-repository.js';
import { FIXTURE_DATE } from '../support/advisory-fixtures.js';

const FIX_REPORT_SCHEMA = join(PROJECT_ROOT, 'schema', 'fix-report.v1.json');
const validFixReport = schemaValidator(readJsonSchema(FIX_REPORT_SCHEMA), { draft2020: true, references: { 'urn:stowage:schema:audit-report:v1': readJsonSchema(AUDIT_REPORT_SCHEMA) } });

interface FixReportJson {
  plans: { target: string; package: { name: string; version: string }; advisories: string[]; fix: Record<string, unknown> }[];
  applied: { diffs: { lockfile: string; diff: string }[]; findings: number; failing: number } | null;
}

function fixReport(text: string): FixReportJson {
  const doc: unknown = JSON.parse(text);
  validFixReport(doc);
  return doc as FixReportJson;
}

/** A crate with one library file and the given `[dependencies]`. */
function crate(name: string, version: string, deps: Record<string, string> = {}, yanked = false): PublishedCrate {
  const manifest = [
    '[package]',
    `name = "${name}"`,
    `version = "${version}"`,
    'edition = "2021"',
    '',
    '[dependencies]',
    ...Object.entries(deps).map(([dep, req]) => `${dep} = "${req}"`),
    '',
  ].join('\n');
  const published = publishCrate([
    { path: 'Cargo.toml', data: Buffer.from(manifest) },
    { path: 'src/lib.rs', data: Buffer.from(`pub fn version() -> &'static str { "${version}" }\n`) },
  ]);
  published.entry.yanked = yanked;
  return published;
}

function advisory(db: string, id: string, pkg: string, patched: string[], unaffected: string[] = []): void {
  mkdirSync(join(db, 'crates', pkg), { recursive: true });
  writeFileSync(
    join(db, 'crates', pkg, `${id}.md`),
    '```toml\n[advisory]\n' +
      `id = "${id}"\npackage = "${pkg}"\ndate = "${FIXTURE_DATE}"\nurl = "https://example.invalid/${id}"\n\n[versions]\npatched = ${JSON.stringify(patched)}\nunaffected = ${JSON.stringify(unaffected)}\n` +
      '```\n\n# A made-up flaw\n\nWritten by the test.\n',
  );
}

async function application(dir: string, indexUrl: string, cargoHome: string, deps: Record<string, string>): Promise<string> {
  mkdirSync(join(dir, 'src'), { recursive: true });
  mkdirSync(join(dir, '.cargo'), { recursive: true });
  const name = dir.split('/').pop() as string;
  writeFileSync(
    join(dir, 'Cargo.toml'),
    [`[package]`, `name = "${name}"`, 'version = "0.1.0"', 'edition = "2021"', '', '[dependencies]', ...Object.entries(deps).map(([d, r]) => `${d} = "${r}"`), ''].join('\n'),
  );
  writeFileSync(join(dir, 'src', 'main.rs'), 'fn main() {}\n');
  writeFileSync(join(dir, '.cargo', 'config.toml'), registryConfigToml(indexUrl));
  await runCargo(['generate-lockfile'], { cwd: dir, cargoHome });
  return join(dir, 'Cargo.lock');
}

describe('stowage fix on Rust applications (local sparse registry)', () => {
  const scratch = tempDir('fix-cargo');
  const cacheDir = join(scratch, 'cache');
  const cargoHome = join(scratch, 'cargo-home');
  const db = join(scratch, 'advisory-db');
  let registry: SparseRegistry;
  let app: string;
  let blocked: string;

  before(async () => {
    registry = await SparseRegistry.start([
      crate('vulnlib', '0.9.0'),
      crate('vulnlib', '0.9.5'),
      crate('vulnlib', '1.0.0'),
      crate('vulnlib', '1.0.1'),
      crate('vulnlib', '1.0.2', {}, true),
      crate('vulnlib', '1.0.3'),
      crate('vulnlib', '2.0.0'),
      crate('legacy', '0.3.0', { vulnlib: '0.9' }),
      crate('midlib', '0.1.0', { vulnlib: '1' }),
      crate('rx', '1.5.0'),
      crate('rx', '2.0.0'),
      crate('glob', '0.4.8', { rx: '^1.5' }),
      crate('glob', '0.5.0', { rx: '^2' }),
      // Pre-releases, fixed and accepting a fixed rx, that cargo never resolves unless asked by name.
      crate('rx', '2.0.0-rc.1'),
      crate('glob', '0.5.0-beta.1', { rx: '^2.0.0-rc.1' }),
      // 1.0.1 fixes one flaw and brings in another (as openssl 0.10.70 is inside RUSTSEC-2025-0022).
      crate('regress', '1.0.0'),
      crate('regress', '1.0.1'),
      crate('regress', '1.0.2'),
    ]);
    // vulnlib < 1.0.2 is affected, except the 0.9 line from 0.9.5 on.
    advisory(db, 'RUSTSEC-2099-0010', 'vulnlib', ['>= 1.0.2', '^0.9.5']);
    advisory(db, 'RUSTSEC-2099-0011', 'rx', ['>= 2.0.0-rc.1']);
    advisory(db, 'RUSTSEC-2099-0012', 'regress', ['>= 1.0.1']);
    advisory(db, 'RUSTSEC-2099-0013', 'regress', ['>= 1.0.2'], ['< 1.0.1']);

    // Directly and through midlib at 1.x; through legacy at 0.9.x. Locked at the oldest.
    app = join(scratch, 'app');
    const lockfile = await application(app, registry.indexUrl, cargoHome, { vulnlib: '1', midlib: '0.1', legacy: '0.3' });
    await runCargo(['update', '-p', 'vulnlib@1.0.3', '--precise', '1.0.0'], { cwd: app, cargoHome });
    assert.deepEqual(lockedVersions(lockfile, 'vulnlib'), ['0.9.5', '1.0.0']);
    await runCargo(['update', '-p', 'vulnlib@0.9.5', '--precise', '0.9.0'], { cwd: app, cargoHome });
    assert.deepEqual(lockedVersions(lockfile, 'vulnlib'), ['0.9.0', '1.0.0']);

    blocked = join(scratch, 'blocked');
    await application(blocked, registry.indexUrl, cargoHome, { glob: '0.4' });
  });

  after(async () => {
    await registry.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  const cli = (args: string[]) => runCliAsync([...args, '--db', db, '--no-fetch'], { cacheDir, env: { CARGO_HOME: cargoHome } });

  test('plans the lowest fixed, unyanked, compatible version for each locked copy, and writes nothing', async () => {
    const before = readFileSync(join(app, 'Cargo.lock'));
    const run = await cli(['fix', app, '--format', 'json']);
    assert.equal(run.status, 0, run.stderr);
    const report = fixReport(run.stdout);
    const fixes = report.plans.map((p) => p.fix).sort((a, b) => String(a.from).localeCompare(String(b.from)));
    assert.deepEqual(fixes, [
      { name: 'vulnlib', from: '0.9.0', to: '0.9.5', compatible: true, command: 'cargo update -p vulnlib@0.9.0 --precise 0.9.5', manifest: null, manifests: [], caveat: null, blockedBy: [], reason: null },
      // 1.0.1 is still affected and 1.0.2 is yanked; 2.0.0 is fixed too, but a major jump.
      { name: 'vulnlib', from: '1.0.0', to: '1.0.3', compatible: true, command: 'cargo update -p vulnlib@1.0.0 --precise 1.0.3', manifest: null, manifests: [], caveat: null, blockedBy: [], reason: null },
    ]);
    assert.deepEqual(report.plans.map((p) => p.advisories), [['RUSTSEC-2099-0010'], ['RUSTSEC-2099-0010']]);
    assert.equal(report.applied, null);
    assert.deepEqual(readFileSync(join(app, 'Cargo.lock')), before, 'without --apply the lockfile is untouched');
  });

  test('audit --fix-advice gives each finding its fix, in the JSON and the human report', async () => {
    const json = await cli(['audit', app, '--fix-advice', '--format', 'json']);
    assert.equal(json.status, 1, json.stderr);
    const report = auditReport(json.stdout) as unknown as { findings: { package: { version: string }; fix?: { to: string } }[] };
    assert.deepEqual(report.findings.map((f) => [f.package.version, f.fix?.to]).sort(), [['0.9.0', '0.9.5'], ['1.0.0', '1.0.3']]);
    const human = await cli(['audit', app, '--fix-advice']);
    assert.match(human.stdout, /^ {2}fix: upgrade vulnlib 1\.0\.0 → 1\.0\.3 \(compatible\)$/m);
    assert.match(human.stdout, /^ {7}cargo update -p vulnlib@1\.0\.0 --precise 1\.0\.3$/m);
    const plain = await cli(['audit', app, '--format', 'json']);
    assert.equal(JSON.parse(plain.stdout).findings.some((f: Record<string, unknown>) => 'fix' in f), false, 'no advice unless asked for');
  });

  test('audit --fix-advice with its registry out of reach: the audit as usual, a warning instead of the advice', async () => {
    const offline = join(scratch, 'offline');
    cpSync(app, offline, { recursive: true });
    // Nothing listens on the discard port.
    writeFileSync(join(offline, '.cargo', 'config.toml'), registryConfigToml('http://127.0.0.1:9/index/'));
    const run = await cli(['audit', offline, '--fix-advice', '--format', 'json']);
    assert.equal(run.status, 1, run.stderr);
    const report = auditReport(run.stdout);
    assert.equal(report.findings.length, 2);
    assert.equal(report.findings.some((f) => 'fix' in f), false);
    assert.match(report.warnings.join('\n'), /Cargo\.lock: no fix advice: registry `local-sparse`: cannot fetch http:\/\/127\.0\.0\.1:9\/index\//);
  });

  test('names the dependent that blocks a fix, and what would unblock it, up to the manifest', async () => {
    const run = await cli(['fix', blocked, '--format', 'json']);
    assert.equal(run.status, 1, run.stderr);
    const [plan] = fixReport(run.stdout).plans;
    assert.deepEqual(plan?.fix, {
      name: 'rx',
      from: '1.5.0',
      to: null,
      compatible: false,
      command: null,
      manifest: null,
      manifests: [],
      caveat: null,
      blockedBy: [
        { dependent: 'glob', version: '0.4.8', dependency: 'rx', requirement: '^1.5', firstUsable: '2.0.0', unblockedBy: '0.5.0', manifest: null },
        { dependent: 'blocked', version: '0.1.0', dependency: 'glob', requirement: '0.4', firstUsable: '0.5.0', unblockedBy: null, manifest: 'Cargo.toml' },
      ],
      reason: 'no fixed version of rx is accepted by what depends on it',
    });
    const human = await cli(['fix', blocked]);
    assert.equal(human.status, 1);
    assert.match(human.stdout, /glob 0\.4\.8 requires rx \^1\.5, the first fixed version is 2\.0\.0; glob 0\.5\.0 accepts it/);
    assert.match(human.stdout, /blocked \(Cargo\.toml\) requires glob 0\.4, the first that would do is 0\.5\.0: change the requirement there/);
  });

  test('never plans a pre-release: cargo resolves one only when a requirement names it', async () => {
    // The chain as cargo itself walks it: with the application asking for glob 0.5 (what the
    // plan says to change), cargo resolves glob 0.5.0 and rx 2.0.0, never the betas.
    const bumped = join(scratch, 'blocked-bumped');
    cpSync(blocked, bumped, { recursive: true });
    writeFileSync(join(bumped, 'Cargo.toml'), readFileSync(join(bumped, 'Cargo.toml'), 'utf8').replace('glob = "0.4"', 'glob = "0.5"'));
    await runCargo(['update'], { cwd: bumped, cargoHome });
    assert.deepEqual([lockedVersions(join(bumped, 'Cargo.lock'), 'glob'), lockedVersions(join(bumped, 'Cargo.lock'), 'rx')], [['0.5.0'], ['2.0.0']]);

    const run = await cli(['fix', blocked, '--format', 'json']);
    const [plan] = fixReport(run.stdout).plans;
    const chain = (plan?.fix.blockedBy as { dependent: string; firstUsable: string; unblockedBy: string | null }[]).map((b) => [b.dependent, b.firstUsable, b.unblockedBy]);
    assert.deepEqual(chain, [
      ['glob', '2.0.0', '0.5.0'],
      ['blocked', '0.5.0', null],
    ]);
  });

  test("a git dependency's requirement is read from its Cargo.toml at the locked commit: a version it refuses is not planned", async () => {
    // gitdep pins vulnlib =1.0.0; cargo refuses `cargo update -p vulnlib@1.0.0 --precise 1.0.3` for it.
    const repo = initRepository(join(scratch, 'gitdep'));
    commitFiles(repo, {
      'Cargo.toml': ['[package]', 'name = "gitdep"', 'version = "0.1.0"', 'edition = "2021"', '', '[dependencies]', 'vulnlib = "=1.0.0"', ''].join('\n'),
      'src/lib.rs': 'pub fn g() {}\n',
    });
    const gitApp = join(scratch, 'gitapp');
    await application(gitApp, registry.indexUrl, cargoHome, { vulnlib: '1' });
    writeFileSync(join(gitApp, 'Cargo.toml'), readFileSync(join(gitApp, 'Cargo.toml'), 'utf8') + `gitdep = { git = "file://${repo}" }\n`);
    await runCargo(['generate-lockfile'], { cwd: gitApp, cargoHome });
    assert.deepEqual(lockedVersions(join(gitApp, 'Cargo.lock'), 'vulnlib'), ['1.0.0']);
    const refused = await runCargo(['update', '-p', 'vulnlib@1.0.0', '--precise', '1.0.3', '--dry-run', '--offline'], { cwd: gitApp, cargoHome, allowFailure: true });
    assert.match(refused.stderr, /failed to select a version for the requirement `vulnlib = "=1\.0\.0"`/);

    const run = await cli(['fix', gitApp, '--format', 'json']);
    assert.equal(run.status, 1, run.stderr);
    const [plan] = fixReport(run.stdout).plans;
    assert.equal(plan?.fix.to, null);
    assert.deepEqual(plan?.fix.blockedBy, [
      { dependent: 'gitdep', version: '0.1.0', dependency: 'vulnlib', requirement: '=1.0.0', firstUsable: '1.0.3', unblockedBy: null, manifest: null },
    ]);
    const before = readFileSync(join(gitApp, 'Cargo.lock'));
    const applied = await cli(['fix', gitApp, '--apply']);
    assert.equal(applied.status, 1, applied.stderr);
    assert.deepEqual(readFileSync(join(gitApp, 'Cargo.lock')), before);
  });

  test("a path dependency's requirement is read from its Cargo.toml: a version it refuses is not planned, and the plan names that manifest", async () => {
    const pathDep = join(scratch, 'pathdep');
    mkdirSync(join(pathDep, 'src'), { recursive: true });
    writeFileSync(join(pathDep, 'Cargo.toml'), ['[package]', 'name = "pathdep"', 'version = "0.1.0"', 'edition = "2021"', '', '[dependencies]', 'vulnlib = "=1.0.0"', ''].join('\n'));
    writeFileSync(join(pathDep, 'src', 'lib.rs'), 'pub fn p() {}\n');
    const pathApp = join(scratch, 'pathapp');
    await application(pathApp, registry.indexUrl, cargoHome, { vulnlib: '1' });
    writeFileSync(join(pathApp, 'Cargo.toml'), readFileSync(join(pathApp, 'Cargo.toml'), 'utf8') + 'pathdep = { path = "../pathdep" }\n');
    await runCargo(['generate-lockfile'], { cwd: pathApp, cargoHome });
    assert.deepEqual(lockedVersions(join(pathApp, 'Cargo.lock'), 'vulnlib'), ['1.0.0']);

    const run = await cli(['fix', pathApp, '--format', 'json']);
    assert.equal(run.status, 1, run.stderr);
    const [plan] = fixReport(run.stdout).plans;
    assert.equal(plan?.fix.to, null);
    assert.deepEqual(plan?.fix.blockedBy, [
      { dependent: 'pathdep', version: '0.1.0', dependency: 'vulnlib', requirement: '=1.0.0', firstUsable: '1.0.3', unblockedBy: null, manifest: '../pathdep/Cargo.toml' },
    ]);
  });

  test("a path dependency outside the workspace: its dev-dependencies are not its requirements (cargo resolves them for members only)", async () => {
    const pathDep = join(scratch, 'devpathdep');
    mkdirSync(join(pathDep, 'src'), { recursive: true });
    writeFileSync(
      join(pathDep, 'Cargo.toml'),
      ['[package]', 'name = "devpathdep"', 'version = "0.1.0"', 'edition = "2021"', '', '[dependencies]', 'vulnlib = "1"', '', '[dev-dependencies]', 'vulnlib = "=1.0.0"', ''].join('\n'),
    );
    writeFileSync(join(pathDep, 'src', 'lib.rs'), 'pub fn p() {}\n');
    const pathApp = join(scratch, 'devpathapp');
    await application(pathApp, registry.indexUrl, cargoHome, { vulnlib: '1' });
    writeFileSync(join(pathApp, 'Cargo.toml'), readFileSync(join(pathApp, 'Cargo.toml'), 'utf8') + 'devpathdep = { path = "../devpathdep" }\n');
    await runCargo(['generate-lockfile'], { cwd: pathApp, cargoHome });
    await runCargo(['update', '-p', 'vulnlib', '--precise', '1.0.0'], { cwd: pathApp, cargoHome });
    assert.deepEqual(lockedVersions(join(pathApp, 'Cargo.lock'), 'vulnlib'), ['1.0.0']);
    // cargo itself accepts the move: the dev-dependency's pin is not resolved.
    await runCargo(['update', '-p', 'vulnlib@1.0.0', '--precise', '1.0.3', '--dry-run', '--offline'], { cwd: pathApp, cargoHome });

    const run = await cli(['fix', pathApp, '--format', 'json']);
    assert.equal(run.status, 0, run.stdout + run.stderr);
    const [plan] = fixReport(run.stdout).plans;
    assert.equal(plan?.fix.to, '1.0.3');
    assert.deepEqual(plan?.fix.blockedBy, []);
  });

  test('a crate from a named registry (a crates.io mirror in [registries]) is matched, planned from that registry and moved by --apply', async () => {
    // Cargo.lock records the registry's own source (`sparse+URL`), not crates.io's: the audit
    // used to pass it (NOT matched), so nothing was planned.
    const named = join(scratch, 'namedapp');
    await application(named, registry.indexUrl, cargoHome, {});
    writeFileSync(join(named, 'Cargo.toml'), readFileSync(join(named, 'Cargo.toml'), 'utf8') + 'vulnlib = { version = "1", registry = "corp" }\n');
    writeFileSync(join(named, '.cargo', 'config.toml'), `[registries.corp]\nindex = "sparse+${registry.indexUrl}"\n`);
    await runCargo(['generate-lockfile'], { cwd: named, cargoHome });
    await runCargo(['update', '-p', 'vulnlib', '--precise', '1.0.0'], { cwd: named, cargoHome });
    assert.match(readFileSync(join(named, 'Cargo.lock'), 'utf8'), new RegExp(`name = "vulnlib"\nversion = "1\\.0\\.0"\nsource = "sparse\\+${registry.indexUrl.replace(/[.+]/g, '\\$&')}"`));

    const run = await cli(['fix', named, '--format', 'json']);
    assert.equal(run.status, 0, run.stderr);
    assert.deepEqual(fixReport(run.stdout).plans.map((p) => [p.fix.from, p.fix.to, p.fix.command]), [['1.0.0', '1.0.3', 'cargo update -p vulnlib@1.0.0 --precise 1.0.3']]);
    const applied = await cli(['fix', named, '--apply', '--format', 'json']);
    assert.equal(applied.status, 0, applied.stderr);
    assert.deepEqual(lockedVersions(join(named, 'Cargo.lock'), 'vulnlib'), ['1.0.3']);
    assert.equal(fixReport(applied.stdout).applied?.findings, 0);
  });

  test('never plans a version that another advisory affects when the locked one is not: the fix of one flaw is not the start of the next', async () => {
    const regressing = join(scratch, 'regressing');
    await application(regressing, registry.indexUrl, cargoHome, { regress: '1' });
    await runCargo(['update', '-p', 'regress', '--precise', '1.0.0'], { cwd: regressing, cargoHome });
    const run = await cli(['fix', regressing, '--format', 'json']);
    assert.equal(run.status, 0, run.stderr);
    // 1.0.1 is the first without RUSTSEC-2099-0012, but RUSTSEC-2099-0013 (which 1.0.0 escapes) affects it.
    assert.deepEqual(fixReport(run.stdout).plans.map((p) => [p.advisories, p.fix.from, p.fix.to]), [[['RUSTSEC-2099-0012'], '1.0.0', '1.0.2']]);
    const advice = await cli(['audit', regressing, '--fix-advice']);
    assert.match(advice.stdout, /^ {2}fix: upgrade regress 1\.0\.0 → 1\.0\.2 \(compatible\)$/m);
    const applied = await cli(['fix', regressing, '--apply', '--format', 'json']);
    assert.equal(applied.status, 0, applied.stdout);
    assert.deepEqual(lockedVersions(join(regressing, 'Cargo.lock'), 'regress'), ['1.0.2']);
    assert.equal(fixReport(applied.stdout).applied?.findings, 0);

    // When every fixed version brings the other flaw in, no change is planned, and the plan says why.
    const db2 = join(scratch, 'advisory-db-regress');
    advisory(db2, 'RUSTSEC-2099-0012', 'regress', ['>= 1.0.1']);
    advisory(db2, 'RUSTSEC-2099-0013', 'regress', ['>= 9.0.0'], ['< 1.0.1']);
    await runCargo(['update', '-p', 'regress', '--precise', '1.0.0'], { cwd: regressing, cargoHome });
    const none = await runCliAsync(['fix', regressing, '--db', db2, '--no-fetch'], { cacheDir, env: { CARGO_HOME: cargoHome } });
    assert.equal(none.status, 1, none.stderr);
    assert.match(none.stdout, /every published version of regress after 1\.0\.0 that is fixed is affected by another advisory 1\.0\.0 is not \(regress 1\.0\.1: RUSTSEC-2099-0013\)/);
  });

  test('--apply moves each copy with cargo update --precise, and the audit after it is clean', async () => {
    const run = await cli(['fix', app, '--apply', '--format', 'json']);
    assert.equal(run.status, 0, run.stderr);
    const report = fixReport(run.stdout);
    assert.deepEqual(lockedVersions(join(app, 'Cargo.lock'), 'vulnlib'), ['0.9.5', '1.0.3']);
    assert.equal(report.applied?.findings, 0);
    assert.equal(report.applied?.failing, 0);
    const diff = report.applied?.diffs[0]?.diff ?? '';
    assert.match(diff, /^-version = "1\.0\.0"$/m);
    assert.match(diff, /^\+version = "1\.0\.3"$/m);
    assert.match(diff, /^\+version = "0\.9\.5"$/m);
    const audit = await cli(['audit', app]);
    assert.equal(audit.status, 0, audit.stdout);
  });
});
