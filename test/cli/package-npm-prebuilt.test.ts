/**
 * `stowage package rpm` of an npm application whose dependency ships a prebuilt executable under
 * a name that says nothing (clipboardy 3's `fallbacks/linux/xsel`), with no install script, no
 * `.node` file and no os/cpu field: the RPM must not be noarch, or rpmbuild stops with "Arch
 * dependent binaries in noarch package" (serve 14.2.4 did, first try). The file is found by its
 * first bytes (ELF, PE, Mach-O); WebAssembly runs anywhere and changes nothing. Locked here by
 * npm against the local test registry (test/support/npm-registry.ts).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { cleanEnv } from '../support/npm-vendor.js';
import { REGISTRY_FIXTURES, startLocalRegistry, type LocalRegistry } from '../support/npm-registry.js';
import { runCliAsync, tempDir } from '../support/shared.js';
import { unrelatedNpmAdvisoryDb } from '../support/advisory-fixtures.js';

const execFileAsync = promisify(execFile);
const scratch = tempDir('package-npm-prebuilt');
after(() => rmSync(scratch, { recursive: true, force: true }));

/** The first bytes of an x86-64 ELF executable, and of a WebAssembly module. */
const ELF = Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]), Buffer.alloc(56)]);
const WASM = Buffer.from([0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0]);

function fixtures(dir: string): string {
  cpSync(join(REGISTRY_FIXTURES, 'fixture-ms-2.1.3'), join(dir, 'fixture-ms-2.1.3'), { recursive: true });
  const fixture = (name: string, file: string, data: Buffer): void => {
    mkdirSync(join(dir, name, ...file.split('/').slice(0, -1)), { recursive: true });
    writeFileSync(join(dir, name, 'package.json'), `${JSON.stringify({ name, version: '1.0.0', license: 'MIT', main: 'index.js' }, null, 2)}\n`);
    writeFileSync(join(dir, name, 'index.js'), `module.exports = ${JSON.stringify(name)};\n`);
    writeFileSync(join(dir, name, file), data);
  };
  fixture('fixture-prebuilt', 'fallbacks/linux/xsel', ELF);
  fixture('fixture-wasm', 'lib/engine.wasm', WASM);
  return dir;
}

describe('package rpm finds prebuilt executables in npm packages by their bytes', () => {
  let registry: LocalRegistry;
  before(async () => {
    registry = await startLocalRegistry(fixtures(join(scratch, 'registry')));
  });
  after(() => registry.close());

  /** The spec of an application depending on fixture-ms and `dependencies`. */
  async function specOf(name: string, dependencies: string[]): Promise<string> {
    const app = join(scratch, name);
    mkdirSync(app);
    const manifest = { name, version: '1.0.0', license: 'MIT', dependencies: Object.fromEntries(['fixture-ms', ...dependencies].map((d) => [d, d === 'fixture-ms' ? '^2.1.3' : '1.0.0'])) };
    writeFileSync(join(app, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    writeFileSync(join(app, 'index.js'), "console.log(require('fixture-ms'));\n");
    writeFileSync(join(app, '.npmrc'), registry.npmrc);
    await execFileAsync('npm', ['install', '--package-lock-only', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: app, env: cleanEnv({ HOME: join(scratch, 'npm-home') }) });
    const out = join(scratch, `${name}-rpm`);
    const packaged = await runCliAsync(['package', 'rpm', app, '-o', out, '--db', unrelatedNpmAdvisoryDb(join(scratch, `${name}-db`))], {
      cacheDir: join(scratch, 'cache'),
      env: cleanEnv({ NO_COLOR: '1', SOURCE_DATE_EPOCH: '1700000000' }),
    });
    assert.equal(packaged.status, 0, `${packaged.stdout}${packaged.stderr}`);
    return readFileSync(join(out, `${name}.spec`), 'utf8');
  }

  test('an ELF file without a telling name makes the RPM architecture-specific, and the comment says why', async () => {
    const spec = await specOf('prebuilt-app', ['fixture-prebuilt', 'fixture-wasm']);
    assert.doesNotMatch(spec, /^BuildArch:/m);
    assert.match(spec, /^# Architecture-specific: 1 bundled package has native code or a platform restriction \(prebuilt executables: 1\)\.$/m);
  });

  test('a WebAssembly module alone leaves it noarch', async () => {
    const spec = await specOf('wasm-app', ['fixture-wasm']);
    assert.match(spec, /^BuildArch: +noarch$/m);
  });
});
