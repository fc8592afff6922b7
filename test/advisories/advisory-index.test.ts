import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AdvisoryIndex } from '../../src/advisories/advisory-index.js';
import { StowageError } from '../../src/core/errors.js';
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
