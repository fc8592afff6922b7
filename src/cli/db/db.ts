import { Option, type Command } from 'commander';

export interface DbOptions {
  format: 'human' | 'json';
  cacheDir?: string;
}

const EXIT_CODES = 'Exit codes: 0 done, 2 a database could not be read, fetched or found in the cache.';

/** `stowage db list|sync|show`: what the cache holds of advisory databases, and refreshing it. */
export function registerDb(program: Command, setExit: (code: number) => void): void {
  const db = program
    .command('db')
    .summary('list, refresh and inspect the cached advisory databases')
    .description(
      'Advisory databases are kept in the cache (see --cache-dir): a git clone or a downloaded .zip of each remote ' +
        'database, and one SQLite index per database, rebuilt only when its revision changes. An audit without --db ' +
        "reads the default database of each ecosystem it audits: RustSec's git repository for Cargo " +
        "(https://github.com/rustsec/advisory-db.git), osv.dev's npm export for npm " +
        '(https://osv-vulnerabilities.storage.googleapis.com/npm/all.zip). These commands show what is cached and refresh it.',
    )
    .addHelpText(
      'after',
      `
Examples:
  stowage db list                        every cached database: revision, date, age, advisories, size
  stowage db sync                        fetch the default databases now (before going offline)
  stowage db sync ./advisory-db npm.zip  index local databases, so audits with --db start warm
  stowage db show https://github.com/rustsec/advisory-db.git --format json

${EXIT_CODES}`,
    );
  const common = (command: Command): Command =>
    command
      .addOption(new Option('-f, --format <format>', 'output format').choices(['human', 'json']).default('human'))
      .option('--cache-dir <dir>', 'the cache (default: $STOWAGE_CACHE_DIR, $XDG_CACHE_HOME/stowage or ~/.cache/stowage)');

  common(
    db
      .command('list')
      .description(
        'List every database the cache holds an index of: its source (as --db takes it), kind, revision and its date, ' +
          'age in days, advisories (per ecosystem), when a remote was last fetched, the bytes it takes and where it is.',
      )
      .addHelpText('after', `\nExamples:\n  stowage db list\n  stowage db list --format json     (schema/db-report.v1.json)\n\n${EXIT_CODES}`),
  ).action(async (opts: DbOptions) => {
    setExit((await import('./list.js')).listCommand(opts));
  });

  common(
    db
      .command('sync')
      .description(
        'Fetch each SOURCE now (a git fetch; a .zip download revalidated with its ETag and Last-Modified) and (re)build ' +
          'its index, so the next audit is warm. Without SOURCE, the default databases of every ecosystem. SOURCE takes ' +
          'every form --db does. A remote that cannot be reached while a copy is cached is a warning (the copy stays); ' +
          'without a cached copy it is an error.',
      )
      .argument('[source...]', 'databases to refresh, as --db names them (default: the defaults of Cargo and npm)')
      .addHelpText(
        'after',
        `\nExamples:\n  stowage db sync\n  stowage db sync https://github.com/rustsec/advisory-db.git\n  stowage db sync advisory-db.bundle#osv --format json\n\n${EXIT_CODES}`,
      ),
  ).action(async (sources: string[], opts: DbOptions) => {
    setExit(await (await import('./sync.js')).syncCommand(sources, opts));
  });

  common(
    db
      .command('show')
      .description(
        'Show one cached database in detail: source, kind, revision and date, age, advisories per ecosystem and per kind ' +
          '(vulnerability, unmaintained, unsound, notice), RustSec toolchain advisories, last fetch, cache paths and size. ' +
          'Nothing is fetched: a remote database not in the cache is an error (run `stowage db sync SOURCE`); a local one is indexed.',
      )
      .argument('<source>', 'the database, as --db names it')
      .addHelpText('after', `\nExamples:\n  stowage db show https://github.com/rustsec/advisory-db.git\n  stowage db show ./advisory-db --format json\n\n${EXIT_CODES}`),
  ).action(async (source: string, opts: DbOptions) => {
    setExit(await (await import('./show.js')).showCommand(source, opts));
  });
}
