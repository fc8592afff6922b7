import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openDatabase } from '../../src/advisories/database.js';
import { parseDatabaseSpec } from '../../src/advisories/source.js';
import { StowageError } from '../../src/core/errors.js';
import { advisoryDbCheckout, runCli, tempDir } from '../support/shared.js';

/** A small RustSec directory database: failure's and time's advisories, from the real database. */
function smallDatabase(): string {
  const checkout = advisoryDbCheckout('origin/main');
  const dir = join(tempDir('db-links'), 'advisories');
  for (const crate of ['failure', 'time']) cpSync(join(checkout, 'crates', crate), join(dir, 'crates', crate), { recursive: true });
  return dir;
}

const H2_ADVISORY = 'RUSTSEC-2026-0258.md';

function h2Advisory(): string {
  return join(advisoryDbCheckout('origin/main'), 'crates', 'h2', H2_ADVISORY);
}

async function idsFor(dir: string, crate: string): Promise<string[]> {
  const db = await openDatabase(parseDatabaseSpec(dir), { cacheRoot: tempDir('db-links-cache'), fetch: 'never' });
  try {
    return db.index.lookup('cargo', [crate]).map((a) => a.id);
  } finally {
    db.index.close();
  }
}

async function refusal(dir: string): Promise<StowageError> {
  let caught: unknown;
  try {
    const db = await openDatabase(parseDatabaseSpec(dir), { cacheRoot: tempDir('db-links-cache'), fetch: 'never' });
    db.index.close();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof StowageError, `expected the database to be refused, got ${String(caught)}`);
  return caught;
}

test('symbolic links that stay inside the database are followed: linked advisories and directories are read', async () => {
  const dir = smallDatabase();
  // A linked directory, kept elsewhere in the database (where its own path does not look like an advisory).
  mkdirSync(join(dir, 'store', 'h2'), { recursive: true });
  cpSync(h2Advisory(), join(dir, 'store', 'h2', H2_ADVISORY));
  symlinkSync('../store/h2', join(dir, 'crates', 'h2'));
  assert.deepEqual(await idsFor(dir, 'h2'), ['RUSTSEC-2026-0258']);

  // A linked file, by relative and by absolute path.
  const other = smallDatabase();
  mkdirSync(join(other, 'store'));
  cpSync(h2Advisory(), join(other, 'store', 'h2.md'));
  mkdirSync(join(other, 'crates', 'h2'));
  symlinkSync('../../store/h2.md', join(other, 'crates', 'h2', H2_ADVISORY));
  assert.deepEqual(await idsFor(other, 'h2'), ['RUSTSEC-2026-0258']);
  const absolute = smallDatabase();
  mkdirSync(join(absolute, 'store'));
  cpSync(h2Advisory(), join(absolute, 'store', 'h2.md'));
  mkdirSync(join(absolute, 'crates', 'h2'));
  symlinkSync(join(absolute, 'store', 'h2.md'), join(absolute, 'crates', 'h2', H2_ADVISORY));
  assert.deepEqual(await idsFor(absolute, 'h2'), ['RUSTSEC-2026-0258']);

  // The database itself reached through a link.
  const alias = join(tempDir('db-links-alias'), 'db');
  symlinkSync(dir, alias);
  assert.deepEqual(await idsFor(alias, 'h2'), ['RUSTSEC-2026-0258']);
});

test('a symbolic link that leaves the database, dangles or loops refuses it, naming the link', async () => {
  const outside = join(tempDir('db-links-outside'), 'h2');
  mkdirSync(outside);
  cpSync(h2Advisory(), join(outside, H2_ADVISORY));

  const cases: { what: string; make: (dir: string) => string; message: RegExp }[] = [
    {
      what: 'a directory link out of the database',
      make: (dir) => {
        symlinkSync(outside, join(dir, 'crates', 'h2'));
        return join(dir, 'crates', 'h2');
      },
      message: /symbolic link leads outside the database/,
    },
    {
      what: 'a file link out of the database',
      make: (dir) => {
        mkdirSync(join(dir, 'crates', 'h2'));
        symlinkSync(join(outside, H2_ADVISORY), join(dir, 'crates', 'h2', H2_ADVISORY));
        return join(dir, 'crates', 'h2', H2_ADVISORY);
      },
      message: /symbolic link leads outside the database/,
    },
    {
      what: 'a relative link climbing out through ..',
      make: (dir) => {
        symlinkSync('../../../db-links-outside-nowhere/../', join(dir, 'crates', 'up'));
        return join(dir, 'crates', 'up');
      },
      message: /symbolic link (leads outside the database|dangles)/,
    },
    {
      what: 'a link to a file that does not exist',
      make: (dir) => {
        symlinkSync('RUSTSEC-2099-0001.md', join(dir, 'crates', 'time', 'RUSTSEC-2099-0002.md'));
        return join(dir, 'crates', 'time', 'RUSTSEC-2099-0002.md');
      },
      message: /symbolic link dangles/,
    },
    {
      what: 'a link to itself',
      make: (dir) => {
        symlinkSync('self', join(dir, 'crates', 'self'));
        return join(dir, 'crates', 'self');
      },
      message: /symbolic link loops/,
    },
    {
      what: 'a directory link to an ancestor',
      make: (dir) => {
        symlinkSync('..', join(dir, 'crates', 'time', 'again'));
        return join(dir, 'crates', 'time', 'again');
      },
      message: /^symbolic link loops back to crates:/,
    },
    {
      what: 'a link to the database root',
      make: (dir) => {
        symlinkSync(dir, join(dir, 'crates', 'root'));
        return join(dir, 'crates', 'root');
      },
      message: /symbolic link loops back to the database root/,
    },
  ];
  for (const { what, make, message } of cases) {
    const dir = smallDatabase();
    const link = make(dir);
    const err = await refusal(dir);
    assert.equal(err.file, link, what);
    assert.match(err.message, message, what);
  }
});

test('an entry that is neither file, directory nor link (a FIFO) refuses the database instead of blocking or being skipped', async () => {
  const dir = smallDatabase();
  const fifo = join(dir, 'crates', 'time', 'RUSTSEC-2099-0001.md');
  execFileSync('mkfifo', [fifo]);
  const err = await refusal(dir);
  assert.equal(err.file, fifo);
  assert.match(err.message, /neither a file, a directory nor a symbolic link/);
});

test('the audit of a database with a link out of it exits 2 with one line naming the link', () => {
  const dir = smallDatabase();
  const outside = join(tempDir('db-links-cli'), 'h2');
  mkdirSync(outside);
  cpSync(h2Advisory(), join(outside, H2_ADVISORY));
  symlinkSync(outside, join(dir, 'crates', 'h2'));
  const app = tempDir('db-links-app');
  writeFileSync(
    join(app, 'Cargo.lock'),
    'version = 3\n\n[[package]]\nname = "h2"\nversion = "0.4.1"\nsource = "registry+https://github.com/rust-lang/crates.io-index"\n',
  );
  const result = runCli(['audit', '--db', dir, join(app, 'Cargo.lock')], { cacheDir: tempDir('db-links-cli-cache') });
  assert.equal(result.status, 2, result.stdout + result.stderr);
  assert.equal(result.stdout, '');
  const lines = result.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, result.stderr);
  assert.equal(lines[0], `stowage: ${join(dir, 'crates', 'h2')}: symbolic link leads outside the database (to ${outside}): refusing the database`);
});

test('a file in a crate directory of crates/ or rust/ that rustsec would not read refuses the database, not skipped', async () => {
  for (const misplaced of ['crates/h2/2026/RUSTSEC-2026-0258.md', 'crates/h2/RUSTSEC-2026-0258.md.orig', 'crates/h2/RUSTSEC-2026-0258.MD', 'rust/std/notes.toml']) {
    const dir = smallDatabase();
    const file = join(dir, ...misplaced.split('/'));
    mkdirSync(join(file, '..'), { recursive: true });
    cpSync(h2Advisory(), file);
    const err = await refusal(dir);
    assert.equal(err.file, file, misplaced);
    assert.match(err.message, /^not where a RustSec advisory can be/, misplaced);
  }
});
