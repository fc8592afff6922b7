import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ExpansionRefused } from '../../../src/core/untrusted-tar.js';
import { readRpm } from '../../../src/inputs/rpm/rpm.js';
import { SHIPPED_LIMITS, UPLOAD_LIMITS } from '../../../src/inputs/shipped-limits.js';
import { buildRpm } from '../../support/shipped-artifacts.js';

/**
 * An RPM's payload is inflated under the caps its reader is given, as a `.deb`'s data and an
 * image's layers are: an upload to the fleet server (`fleet push`) may expand 32 times its size
 * (at least 16 MiB), and past it is refused as too large (ExpansionRefused: the server answers
 * 413), not inflated to the general 16 GiB.
 */

const MiB = 1024 * 1024;

test("an RPM payload past an upload's expansion cap is refused as too large; under the general caps it is read", async () => {
  const rpm = buildRpm({ provides: ['bundled(crate(smallvec)) = 1.6.0'], binary: null, payload: 'zstd', zeros: 24 * MiB });
  const bytes = readFileSync(rpm);
  assert.ok(bytes.length < MiB, `the payload is small in the file: ${bytes.length} bytes`);

  const read = await readRpm(rpm, bytes, { allowUnidentified: false }, SHIPPED_LIMITS);
  assert.deepEqual(read.graphs.map((g) => [g.inventory, g.packages.map((p) => `${p.name}@${p.version}`).sort()]), [['bundled provides', ['shipped-demo@1.0-1', 'smallvec@1.6.0']]]);

  await assert.rejects(readRpm(rpm, bytes, { allowUnidentified: false }, UPLOAD_LIMITS), (err: unknown) => {
    assert.ok(err instanceof ExpansionRefused, String(err));
    assert.equal(err.line, `${rpm}: payload: the payload expands past ${16 * MiB} bytes (an upload's archive may expand to 32 times its size, at least 16 MiB)`);
    return true;
  });
});
