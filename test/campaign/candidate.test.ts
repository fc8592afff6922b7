/**
 * buildCandidate on Rust applications locked by cargo against a local sparse registry
 * (127.0.0.1), with a RustSec directory database written here: `vulnlib` 1.0.0 is affected,
 * 1.0.1 fixed; the application depends on it directly and through `midlib`. The candidate's
 * SRPM is then rebuilt by `rpmbuild --rebuild` with the registry stopped, its %check running
 * the application's tests. A second application is held back by a dependent whose requirement
 * admits no fixed version; a third has a build script that tries the network.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import { delimiter, dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DEFAULT_POLICY } from '../../src/audit/policy.js';
import type { AuditSettings } from '../../src/audit/run.js';
import { buildCandidate, candidateLayout, CANDIDATE_STEPS, type CandidateStep, type CandidateStepName } from '../../src/campaign/candidate.js';
import { rustsecAdvisoryDb } from '../support/advisory-fixtures.js';
import { cargoBinary, registryConfigToml, runCargo } from '../support/rust-app.js';
import { application, crate, lockedVersions } from '../support/campaign-apps.js';
import { tempDir } from '../support/shared.js';
import { SparseRegistry } from '../support/sparse-registry.js';

/** A work directory holding a copy of the application in source/, as a campaign's job makes it. */
function workDirFor(app: string): string {
  const workDir = tempDir('candidate');
  cpSync(app, candidateLayout(workDir).source, { recursive: true });
  return workDir;
}

const MAIN = `fn main() {
    println!("vulnlib {} midlib {}", vulnlib::version(), midlib::version());
}

#[cfg(test)]
mod tests {
    #[test]
    fn vulnlib_is_the_fixed_one() {
        assert_eq!(vulnlib::version(), "1.0.1");
    }
}
`;

describe('buildCandidate on Rust applications (local sparse registry)', () => {
  const scratch = tempDir('campaign-pipeline');
  const cargoHome = join(scratch, 'cargo-home');
  const db = rustsecAdvisoryDb(join(scratch, 'advisory-db'), [
    { id: 'RUSTSEC-2099-0010', package: 'vulnlib', patched: ['>= 1.0.1'] },
    { id: 'RUSTSEC-2099-0011', package: 'rx', patched: ['>= 2.0.0'] },
  ]);
  let registry: SparseRegistry | null = null;
  /** The local registry (its index and its downloads), which the fleet's operator would name (fleet init --allow-registry). */
  const allowed = (): string[] => (registry !== null ? [`${new URL(registry.indexUrl).origin}/`] : []);
  let affected: string;
  let blocked: string;
  let networked: string;
  let bloated: string;
  let listener: Server;
  const audit = (): AuditSettings => ({ policy: { ...DEFAULT_POLICY }, databases: [db], fetch: 'never', cacheRoot: join(scratch, 'cache') });

  before(async () => {
    registry = await SparseRegistry.start([
      crate('vulnlib', '1.0.0'),
      crate('vulnlib', '1.0.1'),
      crate('vulnlib', '2.0.0'),
      crate('midlib', '0.1.0', { vulnlib: '1' }),
      crate('rx', '1.5.0'),
      crate('rx', '2.0.0'),
      crate('glob', '0.4.8', { rx: '^1.5' }),
      crate('glob', '0.5.0', { rx: '^2' }),
    ]);
    affected = await application(join(scratch, 'affected'), registry.indexUrl, cargoHome, { deps: { vulnlib: '1', midlib: '0.1' }, main: MAIN });
    await runCargo(['update', '-p', 'vulnlib', '--precise', '1.0.0'], { cwd: affected, cargoHome });
    assert.deepEqual(lockedVersions(join(affected, 'Cargo.lock'), 'vulnlib'), ['1.0.0']);

    blocked = await application(join(scratch, 'blocked'), registry.indexUrl, cargoHome, { deps: { glob: '0.4' }, main: 'fn main() {}\n' });

    // Something listens on loopback: outside the sandbox the build script's connection succeeds.
    listener = createServer((socket) => socket.on('error', () => undefined).end());
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    const { port } = listener.address() as AddressInfo;
    networked = await application(join(scratch, 'networked'), registry.indexUrl, cargoHome, {
      deps: { vulnlib: '1' },
      main: 'fn main() { println!("{}", vulnlib::version()); }\n',
      // It also writes outside its directory: beside the application's source, and in the test's own.
      buildScript: [
        'fn main() {',
        `    let _ = std::fs::write(${JSON.stringify(join(scratch, 'escaped.txt'))}, "written by a build script");`,
        '    let _ = std::fs::write("../source/escaped.txt", "written by a build script");',
        `    std::net::TcpStream::connect("127.0.0.1:${port}").expect("build script reaches the network");`,
        '}',
        '',
      ].join('\n'),
    });
    await runCargo(['update', '-p', 'vulnlib', '--precise', '1.0.0'], { cwd: networked, cargoHome });

    // A build script that writes a 64 MiB file (standing for one that writes without end).
    bloated = await application(join(scratch, 'bloated'), registry.indexUrl, cargoHome, {
      deps: { vulnlib: '1' },
      main: 'fn main() { println!("{}", vulnlib::version()); }\n',
      buildScript: 'fn main() {\n    let out = std::env::var("OUT_DIR").unwrap();\n    std::fs::write(format!("{out}/big.bin"), vec![0u8; 64 << 20]).unwrap();\n    println!("cargo:warning=big file written");\n}\n',
    });
    await runCargo(['update', '-p', 'vulnlib', '--precise', '1.0.0'], { cwd: bloated, cargoHome });
  });

  after(async () => {
    await registry?.close();
    await new Promise<void>((resolve) => listener.close(() => resolve()));
  });

  let candidateSrpm: string | null = null;

  test('affected directly and through midlib: the candidate moves vulnlib to 1.0.1, builds, tests and packages it', async () => {
    const workDir = workDirFor(affected);
    const layout = candidateLayout(workDir);
    const started: CandidateStepName[] = [];
    const ended: CandidateStep[] = [];
    const outcome = await buildCandidate(
      { workDir, advisory: { id: 'RUSTSEC-2099-0010', aliases: [] }, audit: audit(), sandbox: 'bwrap', publish: true, allowedRegistries: allowed() },
      { stepStarted: (step) => void started.push(step), stepEnded: (step) => void ended.push(step) },
    );
    assert.equal(outcome.state, 'candidate', `${outcome.reason}\n${readFileSync(outcome.artifacts.log, 'utf8')}`);
    assert.deepEqual(outcome.fix, [{ ecosystem: 'cargo', name: 'vulnlib', from: '1.0.0', to: '1.0.1', command: 'cargo update -p vulnlib@1.0.0 --precise 1.0.1' }]);
    assert.deepEqual(started, [...CANDIDATE_STEPS]);
    assert.deepEqual(
      ended.map((s) => [s.step, s.state]),
      CANDIDATE_STEPS.map((s) => [s, 'done']),
    );
    assert.deepEqual(outcome.steps.map((s) => s.step), [...CANDIDATE_STEPS]);
    for (const s of outcome.steps) assert.ok(s.endedAt !== null && s.startedAt <= s.endedAt, JSON.stringify(s));
    assert.match(outcome.sandbox, /bubblewrap/);

    // The artifacts: the changed lockfile, its patch, the vendor archive, the SRPM and SBOM, the log.
    const { artifacts } = outcome;
    for (const path of [artifacts.lockfile, artifacts.patch, artifacts.vendor, artifacts.srpm, artifacts.sbom, artifacts.log]) {
      assert.ok(path !== null && path.startsWith(layout.artifacts) && existsSync(path), String(path));
    }
    assert.deepEqual(lockedVersions(artifacts.lockfile as string, 'vulnlib'), ['1.0.1']);
    assert.deepEqual(lockedVersions(join(layout.source, 'Cargo.lock'), 'vulnlib'), ['1.0.1']);
    assert.deepEqual(lockedVersions(join(affected, 'Cargo.lock'), 'vulnlib'), ['1.0.0'], "the application's own directory is untouched");
    const patch = readFileSync(artifacts.patch as string, 'utf8');
    assert.match(patch, /^-version = "1\.0\.0"$/m);
    assert.match(patch, /^\+version = "1\.0\.1"$/m);
    // The patch to send upstream applies to the application as it was, and makes the candidate's lockfile.
    const upstream = tempDir('candidate-upstream');
    cpSync(affected, upstream, { recursive: true });
    const applied = spawnSync('git', ['apply', artifacts.patch as string], { cwd: upstream, encoding: 'utf8' });
    assert.equal(applied.status, 0, applied.stderr);
    assert.deepEqual(readFileSync(join(upstream, 'Cargo.lock')), readFileSync(artifacts.lockfile as string));
    assert.match(artifacts.srpm as string, /affected-0\.1\.0-1\.src\.rpm$/);
    // The vendor archive is kept once (the SRPM carries its own copy as Source1).
    const kept = readdirSync(layout.artifacts, { recursive: true, encoding: 'utf8' });
    assert.deepEqual(kept.filter((f) => /vendor.*\.tar/.test(f)), ['vendor.tar.zst']);
    const sbom = JSON.parse(readFileSync(artifacts.sbom as string, 'utf8')) as { components: { name: string; version: string }[] };
    assert.deepEqual(sbom.components.filter((c) => c.name === 'vulnlib').map((c) => c.version), ['1.0.1']);
    const log = readFileSync(artifacts.log, 'utf8');
    assert.match(log, /test tests::vulnlib_is_the_fixed_one \.\.\. ok/);
    candidateSrpm = artifacts.srpm;

    // Run again (a worker died after the last step): nothing is done twice.
    const again: CandidateStepName[] = [];
    const second = await buildCandidate(
      { workDir, advisory: { id: 'RUSTSEC-2099-0010', aliases: [] }, audit: audit(), sandbox: 'bwrap', publish: true, allowedRegistries: allowed() },
      { stepStarted: (step) => void again.push(step) },
    );
    assert.equal(second.state, 'candidate');
    assert.deepEqual(again, []);
    assert.deepEqual(second.artifacts, outcome.artifacts);
  });

  test('an interrupted run starts again at the step that did not finish, in another work directory (another worker)', async () => {
    const workDir = workDirFor(affected);
    const controller = new AbortController();
    const first = await buildCandidate(
      { workDir, advisory: { id: 'CVE-0000-NONE', aliases: ['RUSTSEC-2099-0010'] }, audit: audit(), sandbox: 'bwrap', publish: false, allowedRegistries: allowed() },
      { stepEnded: (step) => (step.step === 'vendor' ? controller.abort() : undefined), signal: controller.signal },
    );
    assert.equal(first.state, 'failed');
    assert.equal(first.reason, 'cancelled');
    assert.equal(first.failedStep, 'build');
    // The work directory as a checkpoint carries it: everything but the scratch directories, somewhere else.
    const moved = tempDir('candidate-resumed');
    cpSync(workDir, moved, { recursive: true, filter: (src) => !candidateLayout(workDir).scratch.includes(src) });
    rmSync(workDir, { recursive: true, force: true });
    const started: CandidateStepName[] = [];
    const second = await buildCandidate(
      { workDir: moved, advisory: { id: 'CVE-0000-NONE', aliases: ['RUSTSEC-2099-0010'] }, audit: audit(), sandbox: 'bwrap', publish: false, allowedRegistries: allowed() },
      { stepStarted: (step) => void started.push(step) },
    );
    assert.equal(second.state, 'candidate', second.reason ?? '');
    assert.deepEqual(started, ['build', 'test', 'package']);
    assert.deepEqual(second.fix.map((f) => f.to), ['1.0.1']);
    for (const path of [second.artifacts.lockfile, second.artifacts.vendor, second.artifacts.srpm]) assert.ok(path?.startsWith(moved) === true && existsSync(path), String(path));
    assert.match(readFileSync(second.artifacts.log, 'utf8'), /not to be published: embargoed/);
  });

  test('a lockfile update that hangs is killed at its time limit, and the apply step fails saying so', async () => {
    // A cargo that never answers, first on the PATH the package manager is run with.
    const bin = tempDir('hung-cargo');
    writeFileSync(join(bin, 'cargo'), '#!/bin/sh\nexec sleep 600\n', { mode: 0o755 });
    const workDir = workDirFor(affected);
    const outcome = await buildCandidate({
      workDir,
      advisory: { id: 'RUSTSEC-2099-0010', aliases: [] },
      audit: audit(),
      sandbox: 'none',
      publish: true,
      allowedRegistries: allowed(),
      timeLimits: { update: 1500 },
      env: { ...process.env, PATH: `${bin}${delimiter}${process.env.PATH ?? ''}` },
    });
    assert.equal(outcome.state, 'failed');
    assert.equal(outcome.failedStep, 'apply');
    assert.equal(outcome.reason, 'cargo update -p vulnlib@1.0.0 --precise 1.0.1 --offline: did not finish within 1.5 s (killed)');
    assert.deepEqual(lockedVersions(join(candidateLayout(workDir).source, 'Cargo.lock'), 'vulnlib'), ['1.0.0'], 'the lockfile is put back');
  });

  test("a registry the operator has not named is refused before the planner or cargo asks it: the application's .cargo/config.toml chooses where the worker connects", async () => {
    const workDir = workDirFor(affected);
    const asked = registry?.requests.length ?? 0;
    const outcome = await buildCandidate({ workDir, advisory: { id: 'RUSTSEC-2099-0010', aliases: [] }, audit: audit(), sandbox: 'bwrap', publish: true });
    assert.equal(outcome.state, 'failed');
    assert.equal(outcome.failedStep, 'plan');
    assert.match(outcome.reason ?? '', /config\.toml: \[source\.local-sparse\] registry http:\/\/127\.0\.0\.1:\d+\/\S* is not a registry this fleet allows \(the public registries and those named by stowage fleet init --allow-registry URL\)$/);
    assert.equal(registry?.requests.length ?? 0, asked, 'the registry was asked');
    assert.deepEqual(lockedVersions(join(candidateLayout(workDir).source, 'Cargo.lock'), 'vulnlib'), ['1.0.0']);
  });

  /*
   * A virtual workspace whose default-members leave the application out, its binary needing a
   * feature off by default: the campaign built and tested with a plain `cargo build` / `cargo
   * test` at the root, which build the library member alone, while the SRPM's spec names
   * `--package wsapp --features wsapp/cli`. The candidate was recorded built and tested, its
   * binary never compiled, its tests never run.
   */
  test("a workspace whose default-members leave the application out: the candidate builds and tests the application's package, as the spec does", async () => {
    const app = join(scratch, 'default-members');
    const files: Record<string, string> = {
      'Cargo.toml': '[workspace]\nmembers = ["app", "lib"]\ndefault-members = ["lib"]\nresolver = "2"\n',
      '.cargo/config.toml': registryConfigToml((registry as SparseRegistry).indexUrl),
      'app/Cargo.toml': '[package]\nname = "wsapp"\nversion = "0.1.0"\nedition = "2021"\nlicense = "MIT"\n\n[features]\ncli = []\n\n[[bin]]\nname = "wsapp"\npath = "src/main.rs"\nrequired-features = ["cli"]\n\n[dependencies]\nvulnlib = "1"\n',
      'app/src/main.rs': 'fn main() {\n    println!("vulnlib {}", vulnlib::version());\n}\n\n#[cfg(test)]\nmod tests {\n    #[test]\n    fn vulnlib_is_the_fixed_one() {\n        assert_eq!(vulnlib::version(), "1.0.1");\n    }\n}\n',
      'lib/Cargo.toml': '[package]\nname = "wslib"\nversion = "0.1.0"\nedition = "2021"\nlicense = "MIT"\n',
      'lib/src/lib.rs': 'pub fn f() {}\n',
    };
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(app, path)), { recursive: true });
      writeFileSync(join(app, path), text);
    }
    await runCargo(['generate-lockfile'], { cwd: app, cargoHome });
    await runCargo(['update', '-p', 'vulnlib', '--precise', '1.0.0'], { cwd: app, cargoHome });

    const workDir = workDirFor(app);
    const outcome = await buildCandidate({ workDir, advisory: { id: 'RUSTSEC-2099-0010', aliases: [] }, audit: audit(), sandbox: 'bwrap', publish: true, allowedRegistries: allowed() });
    const log = readFileSync(outcome.artifacts.log, 'utf8');
    assert.equal(outcome.state, 'candidate', `${outcome.reason}\n${log}`);
    assert.ok(existsSync(join(candidateLayout(workDir).build, 'target', 'release', 'wsapp')), `the binary was built\n${log}`);
    assert.match(log, /test tests::vulnlib_is_the_fixed_one \.\.\. ok/);
  });

  test('no compatible fix: needs-review, the blocker named, nothing changed or built', async () => {
    const workDir = workDirFor(blocked);
    const layout = candidateLayout(workDir);
    const before = readFileSync(join(layout.source, 'Cargo.lock'));
    const outcome = await buildCandidate({ workDir, advisory: { id: 'RUSTSEC-2099-0011', aliases: [] }, audit: audit(), sandbox: 'bwrap', publish: true, allowedRegistries: allowed() });
    assert.equal(outcome.state, 'needs-review');
    assert.deepEqual(outcome.fix, []);
    assert.deepEqual(outcome.blockedBy, [
      { dependent: 'glob', version: '0.4.8', dependency: 'rx', requirement: '^1.5', firstUsable: '2.0.0', unblockedBy: '0.5.0', manifest: null },
      { dependent: 'blocked', version: '0.1.0', dependency: 'glob', requirement: '0.4', firstUsable: '0.5.0', unblockedBy: null, manifest: 'Cargo.toml' },
    ]);
    assert.match(outcome.reason ?? '', /rx 1\.5\.0: no fixed version of rx is accepted by what depends on it/);
    assert.deepEqual(outcome.steps.map((s) => s.step), ['plan']);
    assert.deepEqual(readFileSync(join(layout.source, 'Cargo.lock')), before);
    assert.equal(outcome.artifacts.srpm, null);
    const log = readFileSync(outcome.artifacts.log, 'utf8');
    assert.match(log, /glob 0\.4\.8 requires rx \^1\.5, the first fixed version is 2\.0\.0; glob 0\.5\.0 accepts it/);
    assert.match(log, /blocked \(Cargo\.toml\) requires glob 0\.4, the first that would do is 0\.5\.0: change the requirement there/);

    // Started again, it says the same at once and does nothing more.
    const started: CandidateStepName[] = [];
    const again = await buildCandidate(
      { workDir, advisory: { id: 'RUSTSEC-2099-0011', aliases: [] }, audit: audit(), sandbox: 'bwrap', publish: true, allowedRegistries: allowed() },
      { stepStarted: (step) => void started.push(step) },
    );
    assert.deepEqual(started, []);
    assert.deepEqual([again.state, again.reason, again.blockedBy], [outcome.state, outcome.reason, outcome.blockedBy]);
  });

  test('a build script that connects to the network fails in the sandbox, and wrote nothing outside the build directory', async () => {
    const workDir = workDirFor(networked);
    const escaped = [join(scratch, 'escaped.txt'), join(candidateLayout(workDir).source, 'escaped.txt')];
    const outcome = await buildCandidate({ workDir, advisory: { id: 'RUSTSEC-2099-0010', aliases: [] }, audit: audit(), sandbox: 'bwrap', publish: true, allowedRegistries: allowed() });
    assert.equal(outcome.state, 'failed');
    assert.equal(outcome.failedStep, 'build');
    assert.match(outcome.reason ?? '', /cargo build --release --offline --frozen failed/);
    assert.match(readFileSync(outcome.artifacts.log, 'utf8'), /build script reaches the network/);
    assert.equal(outcome.artifacts.srpm, null);
    assert.deepEqual(escaped.filter((f) => existsSync(f)), []);
    // Unisolated, the same build script connects, writes both files, and the candidate is made: the sandbox made the difference.
    const plainWorkDir = workDirFor(networked);
    const unisolated = await buildCandidate({ workDir: plainWorkDir, advisory: { id: 'RUSTSEC-2099-0010', aliases: [] }, audit: audit(), sandbox: 'none', publish: true, allowedRegistries: allowed() });
    assert.equal(unisolated.state, 'candidate', unisolated.reason ?? '');
    assert.deepEqual([join(scratch, 'escaped.txt'), join(candidateLayout(plainWorkDir).source, 'escaped.txt')].filter((f) => existsSync(f)).length, 2);
    assert.match(readFileSync(unisolated.artifacts.log, 'utf8'), /^sandbox: none \(--sandbox none\)/m);
  });

  test('a build script that writes a file past the size limit is stopped, and the build step fails naming the limit', async () => {
    const workDir = workDirFor(bloated);
    const outcome = await buildCandidate({ workDir, advisory: { id: 'RUSTSEC-2099-0010', aliases: [] }, audit: audit(), sandbox: 'bwrap', publish: true, allowedRegistries: allowed(), resourceLimits: { fileBytes: 16 * 1024 * 1024 } });
    const log = readFileSync(outcome.artifacts.log, 'utf8');
    assert.equal(outcome.state, 'failed', log);
    assert.equal(outcome.failedStep, 'build');
    assert.equal(outcome.reason, "cargo build --release --offline --frozen failed: it reached the limit of 16 MiB per file (RLIMIT_FSIZE); see the log");
    assert.match(log, /^sandbox: bubblewrap: .*files up to 16 MiB, no core dumps$/m);
    assert.match(log, /^limit reached: the limit of 16 MiB per file \(RLIMIT_FSIZE\)$/m);
    assert.doesNotMatch(log, /big file written/);
    assert.equal(outcome.artifacts.srpm, null);
    rmSync(workDir, { recursive: true, force: true });
  });

  test("the lockfile update runs neither a rustc wrapper of the application's .cargo/config.toml nor a toolchain of its rust-toolchain.toml", async () => {
    const workDir = workDirFor(affected);
    const { source } = candidateLayout(workDir);
    const ran = join(scratch, 'programs-of-the-application-ran.txt');
    const program = (what: string, then: string): string => `#!/bin/sh\necho "${what} $*" >> ${JSON.stringify(ran)}\n${then}\n`;
    // cargo runs `rustc -vV` through build.rustc-wrapper to resolve; rustup runs the cargo of a path toolchain.
    writeFileSync(join(source, '.cargo', 'config.toml'), `${readFileSync(join(source, '.cargo', 'config.toml'), 'utf8')}\n[build]\nrustc-wrapper = "./wrapper.sh"\n`);
    writeFileSync(join(source, 'wrapper.sh'), program('wrapper', 'exec "$@"'), { mode: 0o755 });
    mkdirSync(join(source, 'toolchain', 'bin'), { recursive: true });
    for (const tool of ['cargo', 'rustc']) writeFileSync(join(source, 'toolchain', 'bin', tool), program(tool, 'exit 0'), { mode: 0o755 });
    writeFileSync(join(source, 'rust-toolchain.toml'), '[toolchain]\npath = "/proc/self/cwd/toolchain"\n');
    const controller = new AbortController();
    const outcome = await buildCandidate(
      { workDir, advisory: { id: 'RUSTSEC-2099-0010', aliases: [] }, audit: audit(), sandbox: 'bwrap', publish: true, allowedRegistries: allowed() },
      { stepEnded: (step) => (step.step === 'apply' ? controller.abort() : undefined), signal: controller.signal },
    );
    assert.deepEqual(
      outcome.steps.filter((s) => s.step === 'apply').map((s) => s.state),
      ['done'],
      `${outcome.reason}\n${readFileSync(outcome.artifacts.log, 'utf8')}`,
    );
    assert.deepEqual(lockedVersions(join(source, 'Cargo.lock'), 'vulnlib'), ['1.0.1']);
    assert.equal(existsSync(ran) ? readFileSync(ran, 'utf8') : 'nothing ran', 'nothing ran');
  });

  test('rpmbuild --rebuild of the candidate SRPM builds and passes %check with the registry stopped', async () => {
    assert.ok(candidateSrpm !== null, 'the candidate test made an SRPM');
    await registry?.close();
    registry = null;
    const top = tempDir('candidate-rpmbuild');
    const env = {
      ...process.env,
      PATH: `${dirname(cargoBinary())}${delimiter}${process.env.PATH ?? ''}`,
      http_proxy: 'http://127.0.0.1:9',
      https_proxy: 'http://127.0.0.1:9',
      CARGO_NET_OFFLINE: 'true',
    };
    const build = spawnSync('rpmbuild', ['--rebuild', '--nodeps', '--define', `_topdir ${top}`, candidateSrpm], { env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    const output = `${build.stdout}\n${build.stderr}`;
    assert.equal(build.status, 0, output);
    assert.match(output, /Executing\(%check\)/);
    assert.match(output, /test tests::vulnlib_is_the_fixed_one \.\.\. ok/);
    const arch = readdirSync(join(top, 'RPMS'))[0] as string;
    assert.ok(readdirSync(join(top, 'RPMS', arch)).some((f) => f.startsWith('affected-0.1.0-1')));
  });
});
