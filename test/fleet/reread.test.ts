import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { decodeGraphs, encodeGraphs } from '../../src/fleet/revision.js';
import { GRAPH_READER_VERSION } from '../../src/fleet/store/migrations.js';
import type { SqlExecutor } from '../../src/fleet/store/sql.js';
import { rustsecAdvisoryDb } from '../support/advisory-fixtures.js';
import { freshStore, storeSkips, STORE_KINDS, withStore, type TestStore } from '../support/fleet-stores.js';
import type { FleetApps } from '../support/fleet-report.js';
import { runCli, tempDir, tempTree } from '../support/shared.js';
import { ownCargoHome, patchedHexApp } from '../support/cargo-patch-app.js';

/*
 * A revision's graph is what stowage's readers made of its documents when it was added. This
 * stowage marks a Cargo `[patch]` path crate (patchesCrate) and matches it; a revision an earlier
 * stowage added keeps a graph without the mark, and its fleet findings stayed short of what
 * `stowage audit` of the same files reports (issue 9: they must be exactly the audit's). Its next
 * `fleet sync` reads it again from its stored documents and evaluates it in full.
 */

const cacheDir = tempDir('fleet-reread-cache');
const db = rustsecAdvisoryDb(tempDir('fleet-reread-db'), [{ id: 'RUSTSEC-2099-0401', package: 'hex' }]);
const skips = await storeSkips();

function project(): { root: string; env: NodeJS.ProcessEnv } {
  const root = tempTree('fleet-reread', patchedHexApp());
  return { root, env: { CARGO_HOME: ownCargoHome(root) } };
}

type Graph = { packages: { name: string; version: string; source: Record<string, unknown> | null }[] };

/**
 * The store as a stowage before the mark left it: the revision's graph without patchesCrate (and
 * `change` applied to it), its findings as that graph gave them (none: the copy was not matched),
 * and, with the schema before GRAPH_READER_VERSION, no record of which reading made the graph.
 */
async function asAnEarlierStowageLeftIt(store: TestStore, change: (g: Graph[]) => void = () => undefined): Promise<void> {
  await withStore(store, async (tx: SqlExecutor) => {
    const rows = await tx.query<{ revision_id: number; graph: Buffer }>(`SELECT revision_id, graph FROM revision_graphs`);
    assert.equal(rows.length, 1);
    const row = rows[0] as { revision_id: number; graph: Buffer };
    const graphs = JSON.parse(JSON.stringify(decodeGraphs(row.graph))) as Graph[];
    const hex = graphs[0]?.packages.find((p) => p.name === 'hex');
    assert.equal(hex?.source?.patchesCrate, true, 'this stowage marks the copy');
    delete hex.source.patchesCrate;
    change(graphs);
    await tx.run(`UPDATE revision_graphs SET graph = ? WHERE revision_id = ?`, [encodeGraphs(graphs as never), row.revision_id]);
    await tx.run(`DELETE FROM findings`);
    await tx.run(`UPDATE revision_counts SET open_critical = 0, open_high = 0, open_medium = 0, open_low = 0, open_none = 0, open_unscored = 0, open_informational = 0, failing = 0`);
    const columns =
      tx.dialect === 'sqlite'
        ? await tx.query<{ name: string }>(`SELECT name FROM pragma_table_info('revisions')`)
        : await tx.query<{ name: string }>(`SELECT column_name AS name FROM information_schema.columns WHERE table_name = 'revisions' AND table_schema = current_schema()`);
    if (columns.some((c) => c.name === 'graph_reader')) {
      await tx.run(`ALTER TABLE revisions DROP COLUMN graph_reader`);
      await tx.run(`UPDATE fleet_meta SET value = '${GRAPH_READER_VERSION - 1}' WHERE key = 'schema_version'`);
    }
  });
}

const findingIds = (findings: readonly { advisory: { id: string }; package: { name: string; version: string } }[]): string[] =>
  findings.map((f) => `${f.advisory.id} ${f.package.name} ${f.package.version}`).sort();

for (const kind of STORE_KINDS) {
  const skip = skips[kind];

  test(`a revision an earlier stowage read is read again by the next sync and gets the audit's findings (${kind})`, { skip }, async () => {
    const store = await freshStore(kind);
    try {
      const { root, env } = project();
      const fleet = (...args: string[]) => runCli(['fleet', ...args, '--store', store.store], { cacheDir, env });
      assert.equal(fleet('init', '--db', db).status, 0);
      assert.equal(fleet('add', join(root, 'app')).status, 1);
      await asAnEarlierStowageLeftIt(store);
      const before = fleet('show', 'app', '--format', 'json');
      assert.equal(before.status, 0, 'as the earlier stowage left it: the copy not matched');

      const sync = fleet('sync', '--no-fetch');
      assert.equal(sync.status, 1, sync.stderr);
      assert.match(sync.stderr, /^stowage: read 1 current revision again from its stored documents with this stowage's readers: 1 read differently, evaluated in full$/m);
      assert.match(sync.stdout, /^new: app: RUSTSEC-2099-0401 hex 0\.4\.3 /m);

      const audit = runCli(['audit', join(root, 'app'), '--db', db, '--no-fetch', '--format', 'json'], { cacheDir, env });
      assert.equal(audit.status, 1, audit.stderr);
      const audited = findingIds((JSON.parse(audit.stdout) as FleetApps['apps'][number]).findings);
      assert.deepEqual(audited, ['RUSTSEC-2099-0401 hex 0.4.3']);
      const shown = fleet('show', 'app', '--format', 'json');
      assert.equal(shown.status, 1);
      assert.deepEqual(findingIds((JSON.parse(shown.stdout) as FleetApps).apps[0]?.findings ?? []), audited);
      assert.equal(fleet('status').status, 1);

      // Once: the revision is recorded as read by this stowage.
      const again = fleet('sync', '--no-fetch');
      assert.equal(again.status, 1, again.stderr);
      assert.doesNotMatch(again.stderr, /read .* again/);
    } finally {
      await store.dispose();
    }
  });

  test(`a revision whose stored documents do not give back its graph keeps it, said by the sync (${kind})`, { skip }, async () => {
    const store = await freshStore(kind);
    try {
      const { root, env } = project();
      const fleet = (...args: string[]) => runCli(['fleet', ...args, '--store', store.store], { cacheDir, env });
      assert.equal(fleet('init', '--db', db).status, 0);
      assert.equal(fleet('add', join(root, 'app')).status, 1);
      // Read at add time with something the store does not keep (as a parent directory's Cargo configuration is).
      await asAnEarlierStowageLeftIt(store, (graphs) => {
        (graphs[0] as Graph).packages.push({ ...((graphs[0] as Graph).packages[1] as Graph['packages'][number]), name: 'hex-extra' } as never);
      });
      const graphBefore = await withStore(store, (tx) => tx.query<{ graph: Buffer }>(`SELECT graph FROM revision_graphs`));

      const sync = fleet('sync', '--no-fetch');
      assert.equal(sync.status, 0, sync.stderr);
      assert.doesNotMatch(sync.stderr, /read 1 current revision again/);
      assert.match(sync.stderr, /^stowage: warning: app sha256:[0-9a-f]{12} \(revision 1\): its stored documents alone do not give the graph read when it was added .*kept as read then/m);
      const graphAfter = await withStore(store, (tx) => tx.query<{ graph: Buffer }>(`SELECT graph FROM revision_graphs`));
      assert.deepEqual(graphAfter, graphBefore, 'the graph is not made less accurate');
    } finally {
      await store.dispose();
    }
  });
}
