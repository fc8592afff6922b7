import { execFileSync } from 'node:child_process';
import { basename, dirname } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openDatabase } from '../../src/advisories/database.js';
import { parseDatabaseSpec } from '../../src/advisories/source.js';
import type { Advisory } from '../../src/core/advisory.js';
import { advisoryDigest, currentAdvisories, diffAdvisories, namesTouched, type AdvisoryChange } from '../../src/fleet/advisory-changes.js';
import { advisoryDbCheckout, tempDir } from '../support/shared.js';
import { RUSTSEC_2024_12_28 } from '../support/rustsec-history.js';

async function advisoriesAt(ref: string): Promise<{ dir: string; advisories: Advisory[] }> {
  const dir = advisoryDbCheckout(ref);
  const db = await openDatabase(parseDatabaseSpec(dir), { cacheRoot: tempDir('advisory-changes'), fetch: 'never' });
  try {
    return { dir, advisories: db.index.everyAdvisory() };
  } finally {
    db.index.close();
  }
}

/** `A crates/NAME/ID.md` lines of git's own diff: the reference the fleet's diff must agree with. */
function gitChanges(dir: string, from: string, to: string): { status: string; id: string; crate: string; path: string }[] {
  const out = execFileSync('git', ['-C', dir, 'diff', '--name-status', '--no-renames', from, to, '--', 'crates/'], { encoding: 'utf8' });
  return out
    .trim()
    .split('\n')
    .map((line) => {
      const [status, path] = line.split('\t') as [string, string];
      return { status, path, id: basename(path, '.md'), crate: basename(dirname(path)) };
    });
}

test('advisories added, changed and withdrawn between 2024-12-28 and the head agree with git diff --name-status', async () => {
  const old = await advisoriesAt(RUSTSEC_2024_12_28);
  const head = await advisoriesAt('origin/main');
  const changes = diffAdvisories(currentAdvisories(old.advisories), currentAdvisories(head.advisories));
  const reference = gitChanges(head.dir, RUSTSEC_2024_12_28, 'origin/main');
  const byKind = (kind: AdvisoryChange['change']): string[] => changes.filter((c) => c.change === kind).map((c) => c.id).sort();
  const withStatus = (status: string): string[] => reference.filter((r) => r.status === status).map((r) => r.id).sort();

  assert.deepEqual(byKind('added'), withStatus('A'));
  assert.deepEqual(byKind('removed'), withStatus('D'));
  // A modified file is a changed advisory; withdrawn when its new text says so.
  const modified = reference.filter((r) => r.status === 'M');
  const withdrawnNow = modified
    .filter((r) => /^withdrawn\s*=/m.test(execFileSync('git', ['-C', head.dir, 'show', `origin/main:${r.path}`], { encoding: 'utf8' })))
    .map((r) => r.id)
    .sort();
  assert.deepEqual(byKind('withdrawn'), withdrawnNow);
  // Except a file whose only edit is a key stowage does not read (`expect-deleted`, for
  // RustSec's own tooling): the advisory is the same.
  const edited = modified.filter((r) => {
    const diff = execFileSync('git', ['-C', head.dir, 'diff', '-U0', RUSTSEC_2024_12_28, 'origin/main', '--', r.path], { encoding: 'utf8' });
    const lines = diff.split('\n').filter((l) => /^[+-]/.test(l) && !/^(\+\+\+|---) /.test(l));
    return !lines.every((l) => /^[+-]expect-deleted\s*=/.test(l));
  });
  assert.equal(modified.length - edited.length, 1);
  assert.deepEqual([...byKind('changed'), ...byKind('withdrawn')].sort(), edited.map((r) => r.id).sort());
  // The figures the issue speaks of: several hundred added or changed.
  assert.equal(byKind('added').length, 503);
  assert.equal(modified.length, 77);

  // Each change names the crate of its directory, before and after.
  const crateOf = new Map(reference.map((r) => [r.id, r.crate]));
  for (const c of changes) {
    const crate = crateOf.get(c.id) as string;
    assert.deepEqual(c.names, c.change === 'removed' ? [] : [['cargo', crate]], c.id);
    assert.deepEqual(c.previousNames, c.change === 'added' ? [] : [['cargo', crate]], c.id);
  }
  const touched = namesTouched(changes);
  const changed = [...withStatus('A'), ...withStatus('D'), ...edited.map((r) => r.id)];
  assert.deepEqual([...(touched.cargo ?? [])].sort(), [...new Set(changed.map((id) => crateOf.get(id)))].sort());
  assert.equal(touched.npm, undefined);
});

test('the same database twice changes nothing; moving a record to another file changes nothing', async () => {
  const head = await advisoriesAt('origin/main');
  const state = currentAdvisories(head.advisories);
  assert.deepEqual(diffAdvisories(state, currentAdvisories(head.advisories)), []);
  const [first, ...rest] = head.advisories as [Advisory, ...Advisory[]];
  assert.deepEqual(diffAdvisories(state, currentAdvisories([{ ...first, origin: 'elsewhere.md' }, ...rest])), []);
  // A changed patched range is a change; the digest covers it.
  assert.notEqual(advisoryDigest([first]), advisoryDigest([{ ...first, patched: ['>= 99.0.0'] }]));
  const edited = diffAdvisories(state, currentAdvisories([{ ...first, patched: ['>= 99.0.0'] }, ...rest]));
  assert.deepEqual(edited.map((c) => [c.id, c.change]), [[first.id, 'changed']]);
  // Gone from the database: removed, with the names it had.
  const removed = diffAdvisories(state, currentAdvisories(rest));
  assert.deepEqual(removed, [{ id: first.id, change: 'removed', previousNames: [[first.ecosystem, first.package]], names: [] }]);
});

test('an advisory whose records name several packages is one advisory with every name', async () => {
  const head = await advisoriesAt('origin/main');
  const [first, ...rest] = head.advisories as [Advisory, ...Advisory[]];
  const state = currentAdvisories(head.advisories);
  const second: Advisory = { ...first, ecosystem: 'npm', package: 'left-pad' };
  const current = currentAdvisories([first, second, ...rest]);
  assert.deepEqual(current.get(first.id)?.names, [['cargo', first.package], ['npm', 'left-pad']]);
  const changes = diffAdvisories(state, current);
  assert.deepEqual(changes, [{ id: first.id, change: 'changed', previousNames: [['cargo', first.package]], names: [['cargo', first.package], ['npm', 'left-pad']] }]);
  assert.deepEqual(namesTouched(changes), { cargo: new Set([first.package]), npm: new Set(['left-pad']) });
});
