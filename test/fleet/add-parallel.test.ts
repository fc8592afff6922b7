/**
 * `fleet add` of many applications prepares them in worker threads: what it reports and what it
 * stores are exactly what adding them one by one in the command's own thread gives (outcomes,
 * findings, warnings, failures, their order, the revisions, documents, graphs, packages, kept
 * sources and history), on a first add and on a second one of changed, unchanged and new
 * applications. Real lockfiles against the real RustSec and GHSA databases; both stores.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { test } from 'node:test';
import { addApplications, appInputs, type AppInput } from '../../src/fleet/add.js';
import { POOL_FROM } from '../../src/fleet/add-pool.js';
import { closeDatabases, openFleetDatabases } from '../../src/fleet/evaluate.js';
import { addBody } from '../../src/fleet/report.js';
import { jsonForTerminal } from '../../src/core/terminal-text.js';
import { openFleetStore } from '../../src/fleet/store/open-store.js';
import type { FleetStore } from '../../src/fleet/store/store.js';
import { writeRustApp } from '../support/campaign-fleet.js';
import { freshStore, storeSkips, STORE_KINDS } from '../support/fleet-stores.js';
import { advisoryDbCheckout, CARGO_CORPUS, corpusFiles, GHSA_NPM, NPM_CORPUS, runCliAsync, tempDir } from '../support/shared.js';

const skips = await storeSkips();

/** Everything the store holds of its applications, as a user could read it back. */
async function contents(store: FleetStore): Promise<unknown> {
  const apps = [];
  for (const app of await store.apps()) {
    const revisions = [];
    for (const revision of await store.revisions(app.id)) {
      const documents = [];
      for (const doc of revision.documents) documents.push({ ...doc, stored: (await store.document(doc.digest))?.toString('base64') ?? null });
      const source = await store.revisionSource(revision.id);
      revisions.push({
        revision,
        documents,
        graph: (await store.revisionGraph(revision.id)).toString('base64'),
        packages: await store.revisionPackages(revision.id),
        findings: await store.findings(revision.id),
        source,
        sourceContent: source === null ? null : ((await store.document(source.digest))?.toString('base64') ?? null),
      });
    }
    apps.push({ app, revisions, history: await store.history(app.id) });
  }
  return apps;
}

/** npm and Cargo lockfiles of the corpus, a Rust application directory with a policy, and inputs that fail. */
function fleetInputs(root: string, round: number): AppInput[] {
  const paths: string[] = [];
  const npm = corpusFiles(NPM_CORPUS, '.package-lock.json').slice(0, 6);
  const cargo = corpusFiles(CARGO_CORPUS, '.Cargo.lock').slice(0, 6);
  // Round 2: one lockfile is another's content (changed), one is new; the others unchanged.
  for (const [i, file] of [...npm, ...cargo].entries()) {
    mkdirSync(root, { recursive: true });
    const from = round === 2 && i === 1 ? (npm[2] as string) : round === 2 && i === 7 ? (cargo[3] as string) : file;
    const name = basename(file).endsWith('.Cargo.lock') ? 'Cargo.lock' : 'package-lock.json';
    // app-N.package-lock.json (with app-N.package.json) or app-N.Cargo.lock: application app-N.
    copyFileSync(from, join(root, `app-${i}.${name}`));
    if (name === 'package-lock.json') copyFileSync(from.replace(/package-lock\.json$/, 'package.json'), join(root, `app-${i}.package.json`));
    paths.push(join(root, `app-${i}.${name}`));
  }
  const rust = writeRustApp(root, 'rust-app');
  writeFileSync(join(rust, 'stowage.toml'), round === 1 ? '[audit]\nseverity-threshold = "high"\n' : '[audit]\nseverity-threshold = "low"\n');
  paths.push(rust);
  const broken = join(root, 'broken', 'Cargo.lock');
  mkdirSync(join(root, 'broken'), { recursive: true });
  writeFileSync(broken, 'this is [not toml\n');
  paths.push(broken, join(root, 'missing', 'Cargo.lock'), paths[0] as string);
  if (round === 2) {
    const extra = join(root, 'late');
    mkdirSync(extra, { recursive: true });
    copyFileSync(cargo[4] as string, join(extra, 'Cargo.lock'));
    paths.push(join(extra, 'Cargo.lock'));
  }
  return appInputs(paths, undefined);
}

for (const kind of STORE_KINDS) {
  test(`a parallel fleet add reports and stores exactly what a sequential one does (${kind})`, { skip: skips[kind], timeout: 600_000 }, async () => {
    const scratch = tempDir('fleet-add-parallel');
    const cacheDir = join(scratch, 'cache');
    const rustsec = advisoryDbCheckout();
    const apps = join(scratch, 'apps');
    const stores = [await freshStore(kind), await freshStore(kind)];
    try {
      for (const s of stores) {
        const init = await runCliAsync(['fleet', 'init', '--store', s.store, '--db', rustsec, '--db', GHSA_NPM, '--no-fetch'], { cacheDir });
        assert.equal(init.status, 0, init.stderr);
      }
      const [sequential, parallel] = await Promise.all(stores.map((s) => openFleetStore(s.store)));
      try {
        const settings = await (sequential as FleetStore).settings();
        assert.ok(settings !== null);
        const databases = await openFleetDatabases(settings, { cacheRoot: cacheDir, fetch: 'never' });
        try {
          for (const round of [1, 2]) {
            const inputs = fleetInputs(apps, round);
            assert.ok(inputs.length >= POOL_FROM, 'enough applications for workers');
            const context = { settings, databases, now: new Date(`2026-0${round}-01T00:00:00Z`), by: 'tester', jsonOutput: true };
            const one = await addApplications(sequential as FleetStore, inputs, { ...context, workers: 0 });
            const many = await addApplications(parallel as FleetStore, inputs, { ...context, workers: 2 });
            assert.deepEqual(many.outcomes, one.outcomes);
            assert.deepEqual(many.failures, one.failures);
            const output = [...many.json.outputPieces(many.failures)].join('');
            assert.equal(output, [...one.json.outputPieces(one.failures)].join(''));
            // The JSON kept as text is addBody's of the findings as stored, in the output and the event alike.
            const stored = [];
            for (const o of one.outcomes) stored.push({ ...o, findings: await (sequential as FleetStore).findings(o.revision.id) });
            const body = addBody(stored, one.failures);
            assert.equal(output, jsonForTerminal(JSON.stringify(body, null, 2) + '\n'));
            assert.deepEqual([...many.json.eventTexts(many.failures, 1_000)], [JSON.stringify(body)]);
            one.json.close();
            many.json.close();
            // What the test means to cover: failures, findings, a kept source, and on the second add every kind of change.
            assert.equal(one.failures.length, 3, JSON.stringify(one.failures));
            assert.ok(one.outcomes.some((o) => o.findingCount > 0 && o.findingCount > o.failing));
            assert.ok(one.outcomes.some((o) => o.failing > 0));
            if (round === 2) for (const change of ['added', 'changed', 'unchanged']) assert.ok(one.outcomes.some((o) => o.change === change), change);
            assert.deepEqual(await contents(parallel as FleetStore), await contents(sequential as FleetStore));
          }
          const rust = await (parallel as FleetStore).app('rust-app');
          assert.ok(rust?.currentRevision != null && (await (parallel as FleetStore).revisionSource(rust.currentRevision)) !== null, 'the directory keeps its source');
        } finally {
          closeDatabases(databases);
        }
      } finally {
        await Promise.all([sequential?.close(), parallel?.close()]);
      }
    } finally {
      await Promise.all(stores.map((s) => s.dispose()));
    }
  });
}
