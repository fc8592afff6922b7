import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadZip } from '../../src/advisories/records.js';
import { StowageError } from '../../src/core/errors.js';
import { GHSA_NPM, tempDir } from '../support/shared.js';

const RECORD = 'GHSA-257v-vj4p-3w2h.json';
const record = (): string => readFileSync(join(GHSA_NPM, RECORD), 'utf8');

/**
 * Writes a zip with Python's zipfile (what people script OSV mirrors with). `entries` is a
 * Python list of (ZipInfo arguments, data as bytes) built by `script`.
 */
function makeZip(script: string): string {
  const file = join(tempDir('zip-entries'), 'db.zip');
  const source = join(GHSA_NPM, RECORD);
  execFileSync('python3', [
    '-W',
    'ignore',
    '-c',
    `import sys, zipfile\nrecord = open(sys.argv[2], 'rb').read()\nz = zipfile.ZipFile(sys.argv[1], 'w', zipfile.ZIP_DEFLATED)\n${script}\nz.close()`,
    file,
    source,
  ]);
  return file;
}

async function refusal(file: string): Promise<string> {
  await assert.rejects(loadZip(file), (err: unknown) => {
    assert.ok(err instanceof StowageError, String(err));
    assert.equal(err.file, file);
    return true;
  });
  try {
    await loadZip(file);
  } catch (err) {
    return (err as StowageError).message;
  }
  return '';
}

test('a zip whose entries are plain OSV records loads', async () => {
  const file = makeZip(`z.writestr('${RECORD}', record)`);
  const loaded = await loadZip(file);
  assert.deepEqual(
    loaded.advisories.map((a) => a.id),
    ['GHSA-257v-vj4p-3w2h'],
  );
});

test('a symbolic link entry is refused, not read as a record', async () => {
  const file = makeZip(`z.writestr('${RECORD}', record)
i = zipfile.ZipInfo('GHSA-link.json')
i.create_system = 3
i.external_attr = (0o120777 << 16)
z.writestr(i, b'${RECORD}')`);
  assert.equal(await refusal(file), 'entry GHSA-link.json is a symbolic link');
});

test('a named pipe or device entry is refused', async () => {
  const file = makeZip(`i = zipfile.ZipInfo('GHSA-fifo.json')
i.create_system = 3
i.external_attr = (0o010644 << 16)
z.writestr(i, record)`);
  assert.equal(await refusal(file), 'entry GHSA-fifo.json is not a regular file (mode 10000)');
});

test('the same entry name twice is refused: tools disagree on which copy counts', async () => {
  // The second copy says the package is unaffected at every version but one.
  const file = makeZip(`z.writestr('${RECORD}', record)
z.writestr('${RECORD}', record.replace(b'"introduced": "0"', b'"introduced": "999.0.0"'))`);
  assert.equal(await refusal(file), `entry ${RECORD} appears twice`);
  // Also when one of the names used backslashes, which are read as `/`.
  const nested = makeZip(`z.writestr('npm/${RECORD}', record)
z.writestr('npm\\\\${RECORD}', record)`);
  assert.equal(await refusal(nested), `entry npm/${RECORD} appears twice`);
});

test('an encrypted entry fails the load rather than being skipped', async () => {
  const dir = tempDir('zip-encrypted');
  writeFileSync(join(dir, RECORD), record());
  writeFileSync(join(dir, 'GHSA-other.json'), record().replace('GHSA-257v-vj4p-3w2h', 'GHSA-2222-3333-4444'));
  execFileSync('zip', ['-q', 'plain.zip', RECORD], { cwd: dir });
  execFileSync('zip', ['-q', '-P', 'secret', 'plain.zip', 'GHSA-other.json'], { cwd: dir });
  assert.match(await refusal(join(dir, 'plain.zip')), /^cannot read entry GHSA-other\.json: .*encrypted/);
});

test('an entry that is not UTF-8 is refused: a mangled package name would match nothing', async () => {
  const file = makeZip(`z.writestr('${RECORD}', record.replace(b'"name": "color-string"', b'"name": "color-\\xffstring"'))`);
  assert.equal(await refusal(file), `entry ${RECORD} is not UTF-8 text`);
});

test('absolute and .. entry names are refused', async () => {
  for (const name of ['../escape.json', '/abs.json', 'a/../../b.json']) {
    const file = makeZip(`z.writestr(${JSON.stringify(name)}, record)`);
    assert.match(await refusal(file), /^damaged zip archive: (invalid relative path|absolute path)/, name);
  }
});
