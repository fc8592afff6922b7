import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { StowageError } from '../../src/core/errors.js';
import { compressBytes, documentDigest } from '../../src/fleet/revision.js';
import { materialiseSource } from '../../src/fleet/source.js';
import { openFleetStore } from '../../src/fleet/store/open-store.js';
import { freshStore, storeSkips, STORE_KINDS } from '../support/fleet-stores.js';
import { packTar, type TarEntry } from '../support/hostile-tar.js';
import { tempDir } from '../support/shared.js';

/**
 * A revision's kept source comes back from the store as untrusted: an archive another process
 * (or a damaged store) wrote with a path out of the work directory, a link or a device is refused
 * before anything is written.
 */

const skips = await storeSkips();

const HOSTILE: Record<string, TarEntry[]> = {
  'a path climbing out': [
    { header: { name: 'Cargo.toml', size: 2 }, data: 'ok' },
    { header: { name: '../escaped', size: 4 }, data: 'evil' },
  ],
  'an absolute path': [{ header: { name: '/tmp/stowage-absolute', size: 4 }, data: 'evil' }],
  'a symbolic link': [
    { header: { name: 'link', type: 'symlink', linkname: '/etc' } },
    { header: { name: 'link/passwd', size: 4 }, data: 'evil' },
  ],
  'a device': [{ header: { name: 'dev', type: 'character-device', devmajor: 1, devminor: 3 } }],
};

for (const kind of STORE_KINDS) {
  test(`a kept source with a hostile entry is refused, nothing written (${kind})`, { skip: skips[kind] }, async () => {
    const store = await freshStore(kind);
    const fleet = await openFleetStore(store.store);
    try {
      let revisionId = 0;
      for (const [what, entries] of Object.entries(HOSTILE)) {
        const tar = await packTar(entries);
        const digest = documentDigest(tar);
        revisionId++;
        await fleet.transaction(async (tx) => {
          const app = (await tx.app('hostile')) ?? (await tx.createApp('hostile', 'directory', '2026-01-01T00:00:00.000Z'));
          const revision = await tx.addRevision({
            appId: app.id,
            digest: `sha256:${String(revisionId).padStart(64, '0')}`,
            origin: 'add',
            documents: [],
            graph: Buffer.alloc(0),
            evaluatedAgainst: {},
            at: '2026-01-01T00:00:00.000Z',
          });
          revisionId = revision.id;
          await tx.putDocuments([{ digest, size: tar.length, content: compressBytes(tar) }]);
          await tx.setRevisionSource(revision.id, { digest, files: entries.length });
        });
        const parent = tempDir('hostile-source');
        const workDir = join(parent, 'source');
        await assert.rejects(materialiseSource(fleet, revisionId, workDir), (err: unknown) => err instanceof StowageError && /the source of revision \d+/.test(err.line), what);
        assert.ok(!existsSync(workDir) || readdirSync(workDir).length === 0, `${what}: nothing written`);
        assert.deepEqual(readdirSync(parent).filter((n) => n !== 'source'), [], `${what}: nothing beside the work directory`);
      }
      assert.equal(existsSync('/tmp/stowage-absolute'), false);
    } finally {
      await fleet.close();
      await store.dispose();
    }
  });
}
