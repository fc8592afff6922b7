/**
 * What a `fleet add` worker hands the main thread (add-pool.ts): the prepared application with
 * its packages as flat strings and its buffers transferred, not copied. The main thread gets
 * exactly what preparing the application in its own thread gives; a buffer that shares its
 * memory with others (a small Buffer is a slice of node's pool) is copied before it is handed
 * over, so that nothing else the worker holds loses its memory.
 */
import assert from 'node:assert/strict';
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { test } from 'node:test';
import { handedOver, received } from '../../src/fleet/add-pool.js';
import { prepareApp, prepareAppForMessage, type PreparedAppWith, type WorkContext } from '../../src/fleet/add-work.js';
import type { AdvisoryDatabase } from '../../src/advisories/database.js';
import { closeDatabases, openFleetDatabases } from '../../src/fleet/evaluate.js';
import type { FleetSettings } from '../../src/fleet/store/store.js';
import { advisoryDbCheckout, CARGO_CORPUS, corpusFiles, GHSA_NPM, NPM_CORPUS, tempDir } from '../support/shared.js';

const settings: FleetSettings = { databases: [advisoryDbCheckout(), GHSA_NPM], webhook: null, failOn: null };

const context = (databases: AdvisoryDatabase[]): WorkContext => ({
  settings,
  databases,
  now: new Date('2026-01-01T00:00:00Z'),
  relativePaths: false,
  readSourceAhead: false,
  prettyJson: true,
  sentRecords: null,
});

/** The next message on `port`. */
function nextMessage(port: MessagePort): Promise<unknown> {
  return new Promise((resolve) => port.once('message', resolve));
}

test('an application prepared for a message and taken by the main thread is the application prepared in its own thread', async () => {
  const files = [corpusFiles(NPM_CORPUS, '.package-lock.json')[0], corpusFiles(CARGO_CORPUS, '.Cargo.lock')[0]] as string[];
  const databases = await openFleetDatabases(settings, { cacheRoot: tempDir('add-messages-cache'), fetch: 'never' });
  const { port1, port2 } = new MessageChannel();
  try {
    for (const path of files) {
      const job = { input: { path, name: 'app' }, currentDigest: null };
      const own = await prepareApp(job, context(databases));
      const message = await prepareAppForMessage(job, context(databases));
      assert.equal(message.kind, 'evaluated');
      // Flat: ecosystem, name and version of each package.
      if (message.kind === 'evaluated') assert.ok(message.packages.every((p) => typeof p === 'string'));
      const arrived = nextMessage(port2);
      port1.postMessage(message, handedOver(message));
      const taken = received((await arrived) as PreparedAppWith<string[]>);
      assert.ok(taken.kind === 'evaluated' && own.kind === 'evaluated');
      if (taken.kind === 'evaluated' && own.kind === 'evaluated') {
        // The findings' JSON arrives as Uint8Array (the add writes its bytes as they are).
        const json = (j: typeof own.findings.json): unknown => ({ compact: Buffer.from(j.compact), pretty: j.pretty === null ? null : Buffer.from(j.pretty) });
        assert.deepStrictEqual(json(taken.findings.json), json(own.findings.json), path);
        assert.deepStrictEqual({ ...taken, findings: { ...taken.findings, json: null } }, { ...own, findings: { ...own.findings, json: null } }, path);
        assert.ok(Buffer.isBuffer(taken.graph) && taken.contents.every((c) => Buffer.isBuffer(c.content)));
        assert.ok(taken.packages.length > 10);
        assert.ok(taken.findings.count > 0, `${path} has findings`);
      }
    }
  } finally {
    port1.close();
    port2.close();
    closeDatabases(databases);
  }
});

test('buffers are handed over without their copy, and one sharing its memory is copied first', async () => {
  // As node's pool makes small Buffers: slices of one memory.
  const pool = new ArrayBuffer(128);
  const small = Buffer.from(pool, 0, 64).fill(0);
  small.write('a small buffer, a slice of the pool');
  const neighbour = Buffer.from(pool, 64, 64).fill(0);
  neighbour.write('another slice of the same pool');
  const large = Buffer.from(new Uint8Array(100_000).fill(7));
  const message: PreparedAppWith<string[]> = {
    kind: 'evaluated',
    digest: 'sha256:00',
    sourceKind: 'lockfile',
    listed: [],
    contents: [{ digest: 'sha256:01', size: 100_000, content: large }],
    graph: small,
    packages: ['npm', 'x', '1.0.0'],
    findings: { rows: [], records: [], count: 0, failing: 0, sameKey: '', json: { compact: Buffer.from('[]'), pretty: null } },
    warnings: [],
    sourceDir: null,
  };
  const transfer = handedOver(message);
  assert.equal(transfer.length, 3);
  assert.equal(new Set(transfer).size, 3);
  const { port1, port2 } = new MessageChannel();
  try {
    const arrived = nextMessage(port2);
    port1.postMessage(message, transfer);
    const taken = received((await arrived) as PreparedAppWith<string[]>);
    // The large buffer left this side whole, without a copy; the pool's slices are intact.
    assert.equal(large.buffer.byteLength, 0);
    assert.equal(pool.byteLength, 128);
    assert.equal(neighbour.toString().replace(/\0+$/, ''), 'another slice of the same pool');
    assert.ok(taken.kind === 'evaluated');
    if (taken.kind !== 'evaluated') return;
    assert.equal(taken.graph.toString().replace(/\0+$/, ''), 'a small buffer, a slice of the pool');
    assert.deepEqual(taken.contents[0]?.content, Buffer.from(new Uint8Array(100_000).fill(7)));
    assert.deepStrictEqual(taken.packages, [{ ecosystem: 'npm', name: 'x', version: '1.0.0' }]);
    assert.equal(Buffer.from(taken.findings.json.compact).toString(), '[]');
  } finally {
    port1.close();
    port2.close();
  }
});
