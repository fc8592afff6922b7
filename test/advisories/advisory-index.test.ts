import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AdvisoryIndex } from '../../src/advisories/advisory-index.js';
import type { Advisory } from '../../src/core/advisory.js';
import { StowageError } from '../../src/core/errors.js';
import { advisoryRecord } from '../support/advisory-fixtures.js';
import { tempDir } from '../support/shared.js';

test('an index that cannot be written is named in the error, never the temporary file it was being written to', () => {
  const file = join(tempDir('advisory-index'), 'index.sqlite');
  // In the way of the temporary file (a directory with content cannot be removed or opened as a database).
  const inTheWay = `${file}.tmp-${process.pid}`;
  mkdirSync(inTheWay);
  writeFileSync(join(inTheWay, 'x'), 'x');
  assert.throws(
    () => AdvisoryIndex.build(file, { source: 'test', revision: 'sha256:00', revisionDate: null, fingerprint: 'test', advisories: 0, toolchainAdvisories: 0, ecosystems: {} }, []),
    (err: unknown) => {
      assert.ok(err instanceof StowageError);
      assert.ok(!err.line.includes('.tmp-'), err.line);
      assert.match(err.line, /index\.sqlite: cannot write the advisory index: .*the cache directory must be writable/);
      return true;
    },
  );
});

function npmAdvisory(id: string, pkg: string, ecosystem: Advisory['ecosystem'] = 'npm'): Advisory {
  return advisoryRecord(id, pkg, ['>= 9.0.0'], { ecosystem, origin: `${pkg}/${id}.json` });
}

test('lookup answers the same, in the same order, whether it asks SQLite for the names or reads every row of the ecosystem', () => {
  const file = join(tempDir('advisory-index-lookup'), 'index.sqlite');
  const advisories = [
    npmAdvisory('GHSA-d', 'ws'),
    npmAdvisory('GHSA-b', 'lodash'),
    // Stored under two keys (JSONStream and jsonstream): returned once however it is asked for.
    npmAdvisory('GHSA-c', 'JSONStream'),
    npmAdvisory('GHSA-a', 'minimist'),
    npmAdvisory('GHSA-e', 'lodash'),
    npmAdvisory('RUSTSEC-2026-0001', 'ws', 'cargo'),
  ];
  const stamp = { source: 'test', revision: 'sha256:00', revisionDate: null, fingerprint: 'test', advisories: 6, toolchainAdvisories: 0, ecosystems: { npm: 5, cargo: 1 } };
  const index = AdvisoryIndex.build(file, stamp, advisories);
  try {
    const names = ['ws', 'lodash', 'JSONStream', 'jsonstream'];
    // Fewer names than the index has npm advisories: looked up by name.
    const byName = index.lookup('npm', names).map((a) => a.id);
    // As many names as advisories or more (names no advisory has, added): every row read.
    const byScan = index.lookup('npm', [...names, 'absent-1', 'absent-2']).map((a) => a.id);
    assert.deepEqual(byName, ['GHSA-b', 'GHSA-c', 'GHSA-d', 'GHSA-e']);
    assert.deepEqual(byScan, byName);
    assert.deepEqual(index.lookup('cargo', ['ws']).map((a) => a.id), ['RUSTSEC-2026-0001']);
  } finally {
    index.close();
  }
});
