import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { auditReport, type AuditReport } from '../support/audit-report.js';
import { packTar } from '../support/hostile-tar.js';
import { GHSA_NPM, runCli, tempDir } from '../support/shared.js';
import { buildDeb, dockerSaveArchive, tarFile } from '../support/shipped-artifacts.js';

/**
 * An Electron application ships its code and its node_modules in `resources/app.asar`, which
 * Electron loads as a directory (Slack's, Discord's, VS Code's .deb and .rpm): minimist 0.0.8
 * (two advisories in the GHSA data) inside it passed with exit 0 when the package held anything
 * else, the archive being no file the audit looked at. left-pad 1.1.0 has no advisory.
 */

const cacheDir = tempDir('audit-shipped-asar-cache');
const json = (value: unknown): string => JSON.stringify(value);
const MINIMIST_ADVISORIES = ['GHSA-vh95-rmgr-6w4m', 'GHSA-xvch-5gv4-984h'];

/** An asar archive as @electron/asar writes it: a size pickle, a header pickle (a JSON string), then the files' bytes. */
function asar(files: Record<string, string>): Buffer {
  const root: { files: Record<string, unknown> } = { files: {} };
  const data: Buffer[] = [];
  let offset = 0;
  for (const [path, text] of Object.entries(files)) {
    const segments = path.split('/');
    let dir = root;
    for (const segment of segments.slice(0, -1)) dir = (dir.files[segment] ??= { files: {} }) as typeof root;
    const bytes = Buffer.from(text);
    dir.files[segments.at(-1) as string] = { size: bytes.length, offset: String(offset) };
    data.push(bytes);
    offset += bytes.length;
  }
  return asarOf(root, Buffer.concat(data));
}

/** An asar archive of a header as given and the files' bytes. */
function asarOf(root: unknown, data: Buffer): Buffer {
  const string = Buffer.from(json(root));
  const padded = Buffer.concat([string, Buffer.alloc((4 - (string.length % 4)) % 4)]);
  const header = Buffer.alloc(8);
  header.writeUInt32LE(4 + padded.length, 0);
  header.writeUInt32LE(string.length, 4);
  const size = Buffer.alloc(8);
  size.writeUInt32LE(4, 0);
  size.writeUInt32LE(header.length + padded.length, 4);
  return Buffer.concat([size, header, padded, data]);
}

const APP = asar({
  'package.json': json({ name: 'electron-demo', version: '1.0.0', main: 'main.js' }),
  'main.js': "require('minimist');\n",
  'node_modules/minimist/package.json': json({ name: 'minimist', version: '0.0.8' }),
  'node_modules/left-pad/package.json': json({ name: 'left-pad', version: '1.1.0' }),
});

function audit(path: string): { status: number; stdout: string; stderr: string } {
  return runCli(['audit', path, '--db', GHSA_NPM, '--format', 'json'], { cacheDir });
}

const findings = (report: AuditReport): string[] => report.findings.map((f) => `${f.target} ${f.advisory.id} ${f.package.name}@${f.package.version}`).sort();

test("a .deb installing an Electron application: the node_modules inside its app.asar are read as Electron loads them", () => {
  const src = tempDir('asar-src');
  writeFileSync(join(src, 'app.asar'), APP);
  writeFileSync(join(src, 'left-pad.json'), json({ name: 'left-pad', version: '1.1.0' }));
  const deb = buildDeb({
    name: 'electron-demo',
    version: '1.0.0',
    fields: {},
    files: { 'opt/Demo/resources/app.asar': join(src, 'app.asar'), 'usr/lib/demo-helper/node_modules/left-pad/package.json': join(src, 'left-pad.json') },
    compression: 'gzip',
  });
  const out = audit(deb);
  assert.equal(out.status, 1, out.stderr);
  const report = auditReport(out.stdout);
  assert.deepEqual(findings(report), MINIMIST_ADVISORIES.map((id) => `${deb}:opt/Demo/resources/app.asar/node_modules ${id} minimist@0.0.8`));
  const target = report.targets.find((t) => t.path === `${deb}:opt/Demo/resources/app.asar/node_modules`);
  assert.equal(target?.packages, 3, 'the application (app.asar/package.json), minimist and left-pad');
});

test('an image holding an app.asar is read likewise; one whose header lies past its bytes is refused in one line', async () => {
  const image = await dockerSaveArchive([await packTar([tarFile('opt/Demo/resources/app.asar', APP), tarFile('srv/node_modules/left-pad/package.json', json({ name: 'left-pad', version: '1.1.0' }))])], 'electron-demo:1');
  const out = audit(image);
  assert.equal(out.status, 1, out.stderr);
  assert.deepEqual(findings(auditReport(out.stdout)), MINIMIST_ADVISORIES.map((id) => `${image}:opt/Demo/resources/app.asar/node_modules ${id} minimist@0.0.8`));

  const truncated = await dockerSaveArchive([await packTar([tarFile('opt/Demo/resources/app.asar', APP.subarray(0, APP.length - 10)), tarFile('srv/node_modules/left-pad/package.json', json({ name: 'left-pad', version: '1.1.0' }))])], 'electron-demo:2');
  const refused = audit(truncated);
  assert.equal(refused.status, 2, refused.stderr);
  assert.match(refused.stderr.trim(), /^stowage: .*:opt\/Demo\/resources\/app\.asar: not a readable asar archive: file "node_modules\/(minimist|left-pad)\/package\.json" lies past the archive's end \(truncated\)$/);
});

test('an asar entry that is both a directory and a link (or a file) is refused: Electron follows the link (reads the file) where its "files" were read', () => {
  // node_modules/minimist lists a package.json of 1.2.8, and links to lib/mm, minimist 0.0.8:
  // Electron's archive reads "link" first (Archive::Stat, Archive::GetFileInfo), so require('minimist')
  // loads 0.0.8 from lib/mm, which lead never saw as a package (exit 0, minimist 1.2.8 audited).
  const fake = Buffer.from(json({ name: 'minimist', version: '1.2.8' }));
  const real = Buffer.from(json({ name: 'minimist', version: '0.0.8' }));
  const app = Buffer.from(json({ name: 'electron-demo', version: '1.0.0', main: 'main.js' }));
  const file = (at: number, bytes: Buffer): object => ({ size: bytes.length, offset: String(at) });
  const header = (minimist: object): unknown => ({
    files: {
      'package.json': file(0, app),
      node_modules: { files: { minimist } },
      lib: { files: { mm: { files: { 'package.json': file(app.length + fake.length, real) } } } },
    },
  });
  const data = Buffer.concat([app, fake, real]);
  for (const [what, minimist] of [
    ['a link', { link: 'lib/mm', files: { 'package.json': file(app.length, fake) } }],
    ['a file', { size: 3, offset: '0', files: { 'package.json': file(app.length, fake) } }],
  ] as const) {
    const src = tempDir('asar-mixed');
    writeFileSync(join(src, 'app.asar'), asarOf(header(minimist), data));
    const deb = buildDeb({ name: 'electron-demo', version: '1.0.0', fields: {}, files: { 'opt/Demo/resources/app.asar': join(src, 'app.asar') }, compression: 'gzip' });
    const out = audit(deb);
    assert.equal(out.status, 2, `${what}: ${out.stderr}${out.stdout.slice(0, 2000)}`);
    assert.match(out.stderr.trim(), /^stowage: .*:opt\/Demo\/resources\/app\.asar: not a readable asar archive: entry "node_modules\/minimist" is both a directory \("files"\) and a (link|file): Electron reads it as the latter$/);
  }
  // A directory asarUnpack left beside the archive, as @electron/asar writes it ({"files", "unpacked": true}), is still read.
  const src = tempDir('asar-unpacked-dir');
  writeFileSync(join(src, 'app.asar'), asarOf(header({ unpacked: true, files: { 'package.json': file(app.length + fake.length, real) } }), data));
  const deb = buildDeb({ name: 'electron-demo', version: '1.0.0', fields: {}, files: { 'opt/Demo/resources/app.asar': join(src, 'app.asar') }, compression: 'gzip' });
  const out = audit(deb);
  assert.equal(out.status, 1, out.stderr);
  assert.deepEqual(findings(auditReport(out.stdout)), MINIMIST_ADVISORIES.map((id) => `${deb}:opt/Demo/resources/app.asar/node_modules ${id} minimist@0.0.8`));
});
