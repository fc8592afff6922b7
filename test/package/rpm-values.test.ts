import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { renderRpmSpec, UnsafeSpecValues, type RpmSpecInput } from '../../src/package/rpm-spec.js';
import { tempDir } from '../support/shared.js';

/**
 * Every value that reaches an RPM spec is checked against what that place of the spec can hold
 * as plain data; anything else stops packaging (UnsafeSpecValues, exit 2) naming the package and
 * the field. What rpm makes of the specs is checked with rpm's own parser (`rpmspec`).
 */

const base: RpmSpecInput = {
  flavor: 'fedora',
  ecosystem: 'npm',
  name: 'demo',
  version: '1.0.0',
  release: '1',
  summary: 'A demo',
  description: 'A demo.',
  license: 'MIT',
  url: 'https://example.invalid/demo',
  binaries: [{ name: 'demo', path: './bin/demo.js' }],
  hasTests: true,
  licenseFiles: ['LICENSE'],
  bundled: [{ ecosystem: 'npm', name: 'ms', version: '2.1.3', license: 'MIT' }],
  sources: { app: 'demo-1.0.0.tar.gz', vendor: 'demo-1.0.0-vendor.tar.zst', sbom: 'demo-1.0.0.cdx.json', licenses: 'demo-1.0.0-bundled-licenses.txt' },
  sourceDateEpoch: 1700000000,
};

const HAS_RPMSPEC = spawnSync('rpmspec', ['--version']).status === 0;

/** rpm's reading of a spec: `rpmspec -q --qf FORMAT` (no sources needed). */
function rpmspecQuery(spec: string, format: string, extra: string[] = []): string {
  const file = join(tempDir('rpm-values'), 'probe.spec');
  writeFileSync(file, spec);
  const run = spawnSync('rpmspec', ['-q', ...extra, '--qf', format, file], { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } });
  assert.equal(run.status, 0, run.stderr);
  return run.stdout;
}

function refused(input: Partial<RpmSpecInput>): string {
  try {
    renderRpmSpec({ ...base, ...input });
  } catch (err) {
    assert.ok(err instanceof UnsafeSpecValues, String(err));
    assert.doesNotMatch(err.message, /\n/, 'one line');
    return err.message;
  }
  assert.fail(`rendered a spec from ${JSON.stringify(input)}`);
}

describe('values that would become spec syntax are refused, naming the package and the field', () => {
  test('a bundled name holding a newline and a %post scriptlet (the reported attack)', () => {
    const message = refused({ bundled: [{ ecosystem: 'npm', name: 'evil\n%post\necho pwned >/tmp/pwned', version: '1.0.0', license: 'MIT' }] });
    assert.match(message, /^cannot be written into an RPM spec: npm package "evil\\n%post\\necho pwned >\/tmp\/pwned" "1\.0\.0": name "evil\\n%post/);
    const crate = refused({ ecosystem: 'cargo', bundled: [{ ecosystem: 'cargo', name: 'evil\n%post\nid', version: '1.0.0', license: 'MIT' }] });
    assert.match(crate, /crate "evil\\n%post\\nid" "1\.0\.0": name .* is not a crate name Cargo accepts/);
  });

  test('dependency names that split or change a Provides: comma, space, parentheses, <>=, %', () => {
    for (const name of ['a,b', 'a b', 'x(y)', 'x)) = 9\nProvides: y', 'a>=1', 'a%{x}', '%(id)', '@s/n(x)', '.hidden', '_under']) {
      assert.match(refused({ bundled: [{ ecosystem: 'npm', name, version: '1.0.0', license: 'MIT' }] }), /: name .* is not an npm package name/, name);
    }
    for (const name of ['a.b', 'a+b', 'a~b', '1abc', 'é']) {
      assert.match(refused({ ecosystem: 'cargo', bundled: [{ ecosystem: 'cargo', name, version: '1.0.0', license: 'MIT' }] }), /is not a crate name/, name);
    }
  });

  test('versions: only semantic versions, so the RPM EVR is letters, digits and . + ~', () => {
    for (const version of ['1.0.0\n%post', '1.0.0%(id)', '%{version}', '1.0.0 , x', '1.0', '1:1.0.0', 'v1.0.0', '1.0.0-', 'git+https://x/y#abc', '']) {
      assert.match(refused({ bundled: [{ ecosystem: 'npm', name: 'ms', version, license: 'MIT' }] }), /"ms" .*: version .* is not a semantic version/, version);
      assert.match(refused({ version }), /Version: version .* is not a semantic version/, version);
    }
  });

  test('licences: only SPDX expressions as stowage renders them', () => {
    for (const license of ['MIT %(id)', 'MIT\n%post', 'mit', 'MIT AND', '%{license}']) {
      assert.match(refused({ license }), /License: licence .* is not a parsed SPDX expression/, license);
      assert.match(refused({ bundled: [{ ecosystem: 'npm', name: 'ms', version: '2.1.3', license }] }), /"ms" "2\.1\.3": licence/, license);
    }
  });

  test('%description: a line starting with % (even escaped) or # and control characters are refused', () => {
    for (const description of ['A tool.\n%post\necho pwned', 'x\n%%post', 'x\n  %if 1', '%{?x}', 'x\n# heading', 'erase \u001b[2J', 'a\rb']) {
      assert.match(refused({ description }), /%description: /, JSON.stringify(description));
    }
    // The summary stands in for an empty description, and is checked as one.
    assert.match(refused({ description: '', summary: '%post' }), /%description: line 1 .* starts with "%"/);
  });

  test('Summary, URL, release: control characters, quotes and newlines refused', () => {
    assert.match(refused({ summary: 'ok \u001b]0;title\u0007' }), /Summary: .* holds a control character/);
    assert.match(refused({ summary: '   ' }), /Summary: is empty/);
    for (const url of ['https://x/"\n%post', 'https://x/ a', 'javascript:alert(1)', 'file:///etc/passwd', 'not a url']) {
      assert.match(refused({ url }), /URL: /, url);
    }
    assert.match(refused({ release: '1\n%post' }), /Release: /);
    assert.match(refused({ name: 'a b' }), /Name: /);
  });

  test('binaries, their scripts, %license files and Source names: plain names only (shell and %files use them bare)', () => {
    for (const name of ['x;id', '$(id)', 'a b', '`id`', 'x\n%post', "it's", '*']) {
      assert.match(refused({ binaries: [{ name, path: 'bin/x.js' }] }), /binary .*is not a plain file name/, name);
    }
    for (const path of ['bin/$(id).js', 'bin/a b.js', 'bin/x.js;id', '../x.js', '/etc/passwd', 'bin/%(id)', "bin/'x'.js", 'bin/./x.js']) {
      assert.match(refused({ binaries: [{ name: 'x', path }] }), /binary "x" script: .* is not a plain relative path/, path);
    }
    // Cargo binaries are installed from target/release by name: their source path never reaches the spec.
    renderRpmSpec({ ...base, ecosystem: 'cargo', bundled: [], binaries: [{ name: 'x', path: 'src/bin/odd name.rs' }] });
    for (const file of ['LICENSE\n%post', 'LICENSE-*', 'LICENSE %(id)', 'LICENSE "x"', 'LICENSE-[ab]']) {
      assert.match(refused({ licenseFiles: [file] }), /%license file: /, file);
    }
    assert.match(refused({ sources: { ...base.sources, sbom: 'x %(id).json' } }), /Source: /);
  });

  test('every problem is named in the one line, not only the first', () => {
    const message = refused({ version: '1.0', url: 'ftp://x', bundled: [{ ecosystem: 'npm', name: 'a b', version: '1', license: 'MIT' }] });
    assert.match(message, /Version: .*; URL: .*; npm package "a b" "1": name .*; npm package "a b" "1": version/);
  });
});

describe('real-world values still package, and rpm reads them as the data they are', { skip: HAS_RPMSPEC ? false : 'rpmspec is not installed (Debian package rpm)' }, () => {
  test('scoped, dotted, upper-case and underscored names; pre-release and build metadata versions', () => {
    const bundled: RpmSpecInput['bundled'] = [
      { ecosystem: 'npm', name: '@babel/core', version: '7.24.0', license: 'MIT' },
      { ecosystem: 'npm', name: 'JSONStream', version: '1.3.5', license: 'MIT OR Apache-2.0' },
      { ecosystem: 'npm', name: 'lodash.merge', version: '4.6.2', license: 'MIT' },
      { ecosystem: 'npm', name: 'socket.io-client', version: '4.0.0-rc.1+build.5', license: 'MIT' },
      { ecosystem: 'npm', name: 'left-pad~x', version: '0.0.0-nightly.20240102', license: 'WTFPL' },
    ];
    const spec = renderRpmSpec({ ...base, version: '2.0.0-beta.1+git.abc', bundled });
    assert.equal(
      rpmspecQuery(spec, '[%{PROVIDES} %{PROVIDEFLAGS:depflags} %{PROVIDEVERSION}\n]', ['--define', 'dist %{nil}']).trim().split('\n').filter((l) => l.startsWith('bundled')).join('\n'),
      [
        'bundled(nodejs-@babel/core) = 7.24.0',
        'bundled(nodejs-JSONStream) = 1.3.5',
        'bundled(nodejs-left-pad~x) = 0.0.0~nightly.20240102',
        'bundled(nodejs-lodash.merge) = 4.6.2',
        'bundled(nodejs-socket.io-client) = 4.0.0~rc.1+build.5',
      ].join('\n'),
    );
    const crates = renderRpmSpec({
      ...base,
      ecosystem: 'cargo',
      bundled: [
        { ecosystem: 'cargo', name: 'serde_json', version: '1.0.100', license: 'MIT OR Apache-2.0' },
        { ecosystem: 'cargo', name: 'cfg-if', version: '1.0.0', license: 'MIT OR Apache-2.0' },
      ],
    });
    assert.match(rpmspecQuery(crates, '[%{PROVIDES} = %{PROVIDEVERSION}\n]'), /^bundled\(crate\(cfg-if\)\) = 1\.0\.0\nbundled\(crate\(serde_json\)\) = 1\.0\.100$/m);
  });

  test('the tests run by default and rpmbuild --without check leaves them out (Fedora\'s bcond)', () => {
    for (const ecosystem of ['cargo', 'npm'] as const) {
      const file = join(tempDir('rpm-check'), 'probe.spec');
      writeFileSync(file, renderRpmSpec({ ...base, ecosystem, bundled: [] }));
      const parsed = (extra: string[]): string => {
        const run = spawnSync('rpmspec', ['-P', ...extra, file], { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } });
        assert.equal(run.status, 0, run.stderr);
        return run.stdout.slice(run.stdout.indexOf('%check'), run.stdout.indexOf('%files'));
      };
      const test = ecosystem === 'cargo' ? /cargo test --release --offline --frozen/ : /npm test/;
      assert.match(parsed([]), test, ecosystem);
      assert.doesNotMatch(parsed(['--without', 'check']), test, ecosystem);
    }
  });

  test('% in the summary, description and URL stays text: no macro expands, no shell runs, no scriptlet appears', () => {
    const spec = renderRpmSpec({
      ...base,
      summary: 'Counts 100% of %{name} and %(touch /tmp/stowage-pwned)',
      description: 'Line one %{name} %(id)\n\n  indented 50%% line\nlast %post',
      url: 'https://example.invalid/a%20b?x=%(id)',
    });
    const read = rpmspecQuery(spec, '%{SUMMARY}|%{URL}|%{DESCRIPTION}|POSTIN=%{POSTIN}');
    assert.equal(
      read,
      'Counts 100% of %{name} and %(touch /tmp/stowage-pwned)|https://example.invalid/a%20b?x=%(id)|Line one %{name} %(id)\n\n  indented 50%% line\nlast %post|POSTIN=(none)',
    );
    // A Cargo.toml written on Windows: CRLF line ends are line ends, not control characters.
    const crlf = renderRpmSpec({ ...base, summary: 'Two\r\nlines', description: 'Two\r\nlines\r\n' });
    assert.equal(rpmspecQuery(crlf, '%{SUMMARY}|%{DESCRIPTION}'), 'Two lines|Two\nlines');
  });
});
