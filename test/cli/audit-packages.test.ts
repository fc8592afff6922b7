import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { deflateSync } from 'node:zlib';
import { basename, join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { auditReport, type AuditReport } from '../support/audit-report.js';
import { ADVISORY_DB_BUNDLE, GHSA_NPM, runCli, tempDir } from '../support/shared.js';
import { elfWithDepV0 } from '../support/object-files.js';
import { buildDeb, buildRpm, realRustBinary, testDebs, whyNoTestDebs } from '../support/shipped-artifacts.js';

/**
 * `stowage audit` on Debian packages and RPMs: what the package records it bundles
 * (X-Cargo-Built-Using, bundled provides) and what each Rust binary in it was built from, side
 * by side as two targets of one report. Packages are made with dpkg-deb and rpmbuild around a
 * real Rust binary, and Debian's own packages are read when .ci/run has downloaded them.
 */

const cacheDir = tempDir('audit-packages-cache');

function audit(path: string, ...extra: string[]): { status: number; stdout: string; stderr: string } {
  return runCli(['audit', path, '--db', ADVISORY_DB_BUNDLE, '--format', 'json', ...extra], { cacheDir });
}

const findingsOf = (r: AuditReport, target: string): string[] =>
  r.findings.filter((f) => f.target === target).map((f) => `${f.advisory.id} ${f.package.name}@${f.package.version}`).sort();

/** The one error line, and nothing else on standard error but warnings. */
function oneLine(stderr: string): string {
  const errors = stderr.split('\n').filter((l) => l.startsWith('stowage: ') && !l.startsWith('stowage: warning: '));
  assert.equal(errors.length, 1, stderr);
  return errors[0] as string;
}

// atty 0.2.14 is unsound on every version (RUSTSEC-2021-0145); time 0.3.9 lies in
// RUSTSEC-2026-0009's range (>= 0.3.6, < 0.3.47); clap 3.2.23 and cfg-if 0.1.10 have none.
const FIELD = 'rust-atty (= 0.2.14-2), rust-time (= 0.3.9-1), rust-clap-3 (= 3.2.23-4), rust-cfg-if-0.1 (= 0.1.10-2), rustc (= 1.63.0+dfsg1-2)';

for (const compression of ['xz', 'zstd', 'gzip', 'none'] as const) {
  test(`a .deb (${compression}): X-Cargo-Built-Using and the Rust binary inside, side by side`, () => {
    const deb = buildDeb({ name: 'shipped-demo', version: '1.0-1', fields: { 'X-Cargo-Built-Using': FIELD }, files: { 'usr/bin/tool': realRustBinary() }, compression });
    const refused = audit(deb);
    assert.equal(refused.status, 2, refused.stderr);
    assert.match(oneLine(refused.stderr), /_amd64\.deb: 1 Rust binary has no \.dep-v0 section, only embedded source paths: a partial inventory \(.*:usr\/bin\/tool\); refused \(pass --allow-partial/);

    const run = audit(deb, '--allow-partial');
    assert.equal(run.status, 1, run.stderr);
    const report = auditReport(run.stdout);
    assert.deepEqual(
      report.targets.map((t) => [t.path, t.inventory, t.partial]),
      [
        [deb, 'X-Cargo-Built-Using', false],
        [`${deb}:usr/bin/tool`, 'embedded paths', true],
      ],
    );
    // Four crates and the package itself; rustc is the toolchain, not a crate.
    assert.equal(report.targets[0]?.packages, 5);
    assert.deepEqual(findingsOf(report, deb), ['RUSTSEC-2021-0145 atty@0.2.14', 'RUSTSEC-2024-0375 atty@0.2.14', 'RUSTSEC-2026-0009 time@0.3.9']);
    const time = report.findings.find((f) => f.target === deb && f.package.name === 'time');
    assert.deepEqual(time?.paths, [['shipped-demo@1.0-1', 'time@0.3.9']]);
    assert.ok((report.targets[1]?.packages ?? 0) > 10, 'the binary names the crates of its embedded source paths');
  });
}

test('a truncated or damaged .deb is refused in one line naming it, exit 2', () => {
  const deb = buildDeb({ name: 'cut', version: '1.0-1', fields: { 'X-Cargo-Built-Using': FIELD }, files: {}, compression: 'xz' });
  const bytes = readFileSync(deb);
  const dir = tempDir('audit-packages-bad');
  const cases: [string, Buffer, RegExp][] = [
    ['half.deb', bytes.subarray(0, Math.floor(bytes.length / 2)), /half\.deb: truncated ar archive: member "(control|data)\.tar\.xz" needs \d+ bytes/],
    ['header.deb', bytes.subarray(0, 38), /header\.deb: truncated ar archive: a member header at byte 8 is cut short/],
    ['first.deb', Buffer.concat([Buffer.from('!<arch>\n'), bytes.subarray(8 + 60 + 4)]), /first\.deb: damaged ar archive|first\.deb: not a Debian package/],
  ];
  // An xz member cut short inside: the ar sizes are rewritten to agree, so only xz can tell.
  const member = bytes.indexOf('control.tar.xz');
  const size = Number(bytes.subarray(member + 48, member + 58).toString('latin1').trim());
  const cut = Buffer.from(bytes.subarray(0, member + 60 + Math.floor(size / 2)));
  cut.write(String(Math.floor(size / 2)).padEnd(10, ' '), member + 48, 'latin1');
  cases.push(['xz.deb', cut, /xz\.deb(:control\.tar\.xz)?: (truncated or corrupt xz data|truncated Debian package)/]);
  for (const [name, data, expected] of cases) {
    const path = join(dir, name);
    writeFileSync(path, data);
    const run = audit(path, '--allow-partial');
    assert.equal(run.status, 2, `${name}: ${run.stderr}`);
    assert.match(oneLine(run.stderr), expected);
    assert.equal(run.stdout, '', 'no report');
  }
  const ranged = buildDeb({ name: 'ranged', version: '1.0-1', fields: { 'Static-Built-Using': 'rust-atty (>= 0.2.14-2)' }, files: {}, compression: 'gzip' });
  const run = audit(ranged);
  assert.equal(run.status, 2);
  assert.match(oneLine(run.stderr), /ranged_1\.0-1_amd64\.deb: Static-Built-Using: "rust-atty \(>= 0\.2\.14-2\)" gives a range, not the exact version built in/);
});

test('a .deb whose data.tar holds entries after its end-of-archive block (which dpkg never installs) is refused, exit 2', () => {
  const deb = buildDeb({ name: 'appended', version: '1.0-1', fields: { 'X-Cargo-Built-Using': FIELD }, files: { 'usr/bin/tool': realRustBinary() }, compression: 'none' });
  const dir = tempDir('audit-packages-appended');
  execFileSync('ar', ['x', deb], { cwd: dir });
  // A second archive after the first one's end: another usr/bin/tool, which tar-stream would read over the real one.
  writeFileSync(join(dir, 'tool'), 'not what dpkg installs');
  execFileSync('tar', ['--owner=0', '--group=0', '-cf', join(dir, 'second.tar'), '--transform', 's,^,./usr/bin/,', 'tool'], { cwd: dir });
  writeFileSync(join(dir, 'data.tar'), Buffer.concat([readFileSync(join(dir, 'data.tar')), readFileSync(join(dir, 'second.tar'))]));
  const control = execFileSync('ar', ['t', deb], { encoding: 'utf8' }).split('\n').find((m) => m.startsWith('control.tar')) as string;
  const appended = join(dir, 'appended.deb');
  execFileSync('ar', ['rc', appended, 'debian-binary', control, 'data.tar'], { cwd: dir });
  const run = audit(appended, '--allow-partial');
  assert.equal(run.status, 2, run.stderr);
  assert.match(oneLine(run.stderr), /appended\.deb:data\.tar: entry "\.\/usr\/bin\/tool": after the end-of-archive block at byte \d+: tar, cargo, dpkg and container runtimes stop reading there, so it is never unpacked$/);
  assert.equal(run.stdout, '', 'no report');
});

test("Debian's own Rust application packages: X-Cargo-Built-Using and the binaries' embedded paths, side by side", { skip: whyNoTestDebs() }, () => {
  for (const deb of testDebs() ?? []) {
    // What dpkg itself reads in the field: every rust-* relation is a crate.
    const field = execFileSync('dpkg-deb', ['-f', deb, 'X-Cargo-Built-Using'], { encoding: 'utf8' });
    const crates = new Set(field.split(',').map((r) => r.trim()).filter((r) => r.startsWith('rust-')));
    const run = audit(deb, '--allow-partial');
    assert.ok(run.status === 0 || run.status === 1, `${basename(deb)}: ${run.stderr}`);
    const report = auditReport(run.stdout);
    const [fields, ...binaries] = report.targets;
    assert.equal(fields?.inventory, 'X-Cargo-Built-Using', basename(deb));
    assert.equal(fields?.packages, crates.size + 1, `${basename(deb)}: every crate of the field, and the package`);
    assert.ok(binaries.length >= 1, `${basename(deb)}: its Rust binary`);
    for (const b of binaries) assert.deepEqual([b.inventory, b.partial], ['embedded paths', true]);
    // Every one of these was built with atty 0.2.14, unsound on every version.
    assert.ok(findingsOf(report, deb).includes('RUSTSEC-2021-0145 atty@0.2.14'), basename(deb));
  }
});

for (const payload of ['zstd', 'xz', 'gzip'] as const) {
  test(`a binary RPM (${payload} payload): bundled provides and the Rust binary inside, side by side`, () => {
    const rpm = buildRpm({
      provides: ['bundled(crate(atty)) = 0.2.14', 'bundled(crate(atty/default)) = 0.2.14', 'bundled(crate(time)) = 0.3.9', 'bundled(crate(clap)) = 4.0.0~rc.1'],
      binary: realRustBinary(),
      payload,
    });
    const run = audit(rpm, '--allow-partial');
    assert.equal(run.status, 1, run.stderr);
    const report = auditReport(run.stdout);
    assert.deepEqual(
      report.targets.map((t) => [t.path, t.inventory, t.partial]),
      [
        [rpm, 'bundled provides', false],
        [`${rpm}:usr/bin/tool`, 'embedded paths', true],
      ],
    );
    // atty (its feature provide is the same crate), time, clap 4.0.0-rc.1, and the package.
    assert.equal(report.targets[0]?.packages, 4);
    assert.deepEqual(findingsOf(report, rpm), ['RUSTSEC-2021-0145 atty@0.2.14', 'RUSTSEC-2024-0375 atty@0.2.14', 'RUSTSEC-2026-0009 time@0.3.9']);
  });
}

test("an RPM's bundled provides and its binary's .dep-v0: a crate the binary was built with only through build-dependencies is not said to be missing from the provides", () => {
  // What stowage package rpm writes: provides for the crates linked in (itoa), none for cc (a build script's).
  const binary = join(tempDir('audit-packages-build-crates'), 'tool');
  const packages = [
    { name: 'tool', version: '0.1.0', source: 'local', dependencies: [1, 2, 3], root: true },
    { name: 'itoa', version: '1.0.1', source: 'crates.io' },
    { name: 'cc', version: '1.0.73', source: 'crates.io', kind: 'build' },
    { name: 'fnv', version: '1.0.7', source: 'crates.io' },
  ];
  writeFileSync(binary, elfWithDepV0(true, true, deflateSync(JSON.stringify({ packages }))), { mode: 0o755 });
  const rpm = buildRpm({ provides: ['bundled(crate(itoa)) = 1.0.1'], binary, payload: 'gzip' });
  const run = audit(rpm);
  assert.equal(run.status, 0, run.stderr);
  const missing = auditReport(run.stdout).warnings.filter((w) => w.includes('does not name'));
  // fnv is linked in and not provided: said; cc is not in the binary: not said.
  assert.deepEqual(missing, [`${rpm}:usr/bin/tool was built from 1 package that RPM bundled provides does not name: fnv 1.0.7`]);
});

/*
 * An npm application's RPM, as stowage package rpm builds it (http-server 14.1.2): the application
 * installed as /usr/lib/node_modules/http-server, its libraries beside it as bundled(npm(...))
 * provides. The application is what the RPM is, not a library it bundles: auditing the RPM said
 * "usr/lib/node_modules was built from 1 package that RPM bundled provides does not name:
 * http-server 14.1.2" for every such RPM. A library it bundles without a provide is still said.
 */
test("an npm application's RPM: the application itself is not said to be missing from the bundled provides; an unprovided library is", () => {
  const json = (value: unknown): string => JSON.stringify(value).replaceAll("'", "'\\''");
  const put = (path: string, value: unknown): string => `mkdir -p %{buildroot}/usr/lib/node_modules/${path} && echo '${json(value)}' > %{buildroot}/usr/lib/node_modules/${path}/package.json`;
  const rpm = buildRpm({
    name: 'http-server',
    version: '14.1.2',
    provides: ['bundled(npm(ms)) = 2.1.3'],
    binary: null,
    payload: 'gzip',
    install: [
      put('http-server', { name: 'http-server', version: '14.1.2', dependencies: { ms: '^2.1.3', 'left-pad': '^1.3.0' } }),
      put('http-server/node_modules/ms', { name: 'ms', version: '2.1.3' }),
      put('http-server/node_modules/left-pad', { name: 'left-pad', version: '1.3.0' }),
    ],
    files: ['/usr/lib/node_modules/http-server'],
  });
  const run = audit(rpm, '--db', GHSA_NPM);
  assert.equal(run.status, 0, run.stderr);
  const missing = auditReport(run.stdout).warnings.filter((w) => w.includes('does not name'));
  assert.deepEqual(missing, [`${rpm}:usr/lib/node_modules was built from 1 package that RPM bundled provides does not name: left-pad 1.3.0`]);
});

test('an RPM with nothing to audit, and a truncated RPM, are refused in one line, exit 2', () => {
  const empty = buildRpm({ provides: [], binary: null, payload: 'gzip' });
  const none = audit(empty);
  assert.equal(none.status, 2);
  assert.match(oneLine(none.stderr), /\.rpm: nothing to audit: shipped-demo 1\.0-1 has no bundled\(crate\(\.\.\.\)\)/);

  const rpm = buildRpm({ provides: ['bundled(crate(atty)) = 0.2.14'], binary: null, payload: 'xz' });
  const bytes = readFileSync(rpm);
  const dir = tempDir('audit-packages-rpm-bad');
  for (const [name, length, expected] of [
    ['lead.rpm', 50, /lead\.rpm: truncated RPM: 50 bytes, shorter than its 96-byte lead/],
    ['header.rpm', 200, /header\.rpm: truncated RPM: the signature header needs \d+ bytes/],
    ['payload.rpm', bytes.length - 40, /payload\.rpm: payload: (truncated payload|truncated or corrupt xz data)/],
  ] as const) {
    const path = join(dir, name);
    writeFileSync(path, bytes.subarray(0, length));
    const run = audit(path);
    assert.equal(run.status, 2, `${name}: ${run.stderr}`);
    assert.match(oneLine(run.stderr), expected);
  }
});
