import { Option, type Command } from 'commander';
import { SEVERITY_LEVELS } from '../../core/advisory.js';
import { collect } from '../audit-options.js';

/**
 * `stowage fleet ...`: every subcommand declared here, its run in the file named for it
 * (./add.js, ./sync.js, ...), loaded only when that subcommand runs, so neither the fleet code
 * nor pg is part of `stowage audit`'s start-up.
 */

/** Options every fleet subcommand takes. */
export interface FleetOptions {
  store?: string;
}

export interface FleetFormatOptions extends FleetOptions {
  format: 'human' | 'json';
}

/** Options of the subcommands that open the fleet's advisory databases. */
export interface FleetDatabaseOptions extends FleetOptions {
  fetch?: boolean;
  cacheDir?: string;
}

const EXIT_CODES = 'Exit codes: 0 done, 1 a finding fails its application\'s policy, 2 the work could not be done (nothing was changed).';

function withStore(command: Command): Command {
  return command.option(
    '--store <store>',
    'the fleet store: an SQLite file, or a postgres:// URL (default: $STOWAGE_FLEET_STORE, else $XDG_DATA_HOME/stowage/fleet.sqlite or ~/.local/share/stowage/fleet.sqlite)',
  );
}

function withFormat(command: Command): Command {
  return command.addOption(new Option('-f, --format <format>', 'output format (JSON: schema/fleet-*.v1.json, documented in the README)').choices(['human', 'json']).default('human'));
}

function withFetch(command: Command): Command {
  return command
    .option('--fetch', 'fetch git databases now (default: when the last fetch is over an hour old)')
    .option('--no-fetch', 'never fetch: use the cached databases, fail if there are none (offline use)')
    .option('--cache-dir <dir>', 'where databases and their indexes are kept (default: $STOWAGE_CACHE_DIR, $XDG_CACHE_HOME/stowage or ~/.cache/stowage)');
}

export function registerFleet(program: Command, setExit: (code: number) => void): void {
  const fleet = program
    .command('fleet')
    .summary('track every application: revisions, findings, snapshots, re-evaluation when a database moves')
    .description(
      'Track a fleet of applications in one store (an SQLite file, or PostgreSQL for a shared fleet): each application\'s ' +
        'revisions (content-addressed, with their original documents), its findings against the fleet\'s advisory databases ' +
        '(the same matching as `stowage audit`), snapshots of the whole fleet, and re-evaluation when a database moves.',
    )
    .addHelpText(
      'after',
      `
Examples:
  stowage fleet init --db ./advisory-db --db ghsa-npm.zip
  stowage fleet add ./apps/*/                     each directory is one application
  stowage fleet add --from-file apps.txt          thousands at once, one path a line
  stowage fleet status --format json
  stowage fleet show ripgrep
  stowage fleet snapshot release-2026-12
  stowage fleet diff --snapshots release-2026-11 release-2026-12
  stowage fleet sync                              re-evaluate what the databases' new advisories touch
  stowage fleet affected RUSTSEC-2024-0421
  STOWAGE_FLEET_STORE=postgres://fleet@db/fleet stowage fleet status

${EXIT_CODES}`,
    );

  const lazy =
    <A extends unknown[]>(load: () => Promise<(...args: A) => Promise<number>>) =>
    async (...args: A): Promise<void> => {
      setExit(await (await load())(...args));
    };

  withFetch(
    withStore(
      fleet
        .command('init')
        .summary('create the fleet, or change its settings')
        .description(
          'Create the fleet store with its advisory databases (the sources `stowage audit --db` reads) and notification settings. ' +
            'Run again, it changes the settings given and says what changed; other settings are kept.',
        )
        .option('--db <source>', 'advisory database: git URL or bundle (URL#branch), local checkout, directory of RustSec or OSV files, .zip of OSV files; repeatable; replaces the list', collect)
        .option('--webhook <url>', 'POST a signed JSON event for each change of findings to URL ("" removes it)')
        .option('--webhook-secret-file <file>', 'the HMAC-SHA256 key for the webhook\'s signature header, read from FILE when events are sent')
        .addOption(new Option('--fail-on <level>', 'vulnerabilities below LEVEL are reported but do not fail (default: the audit\'s threshold)').choices(SEVERITY_LEVELS))
        .addHelpText(
          'after',
          `
Examples:
  stowage fleet init --db https://github.com/rustsec/advisory-db.git --db ./ghsa-npm
  stowage fleet init --fail-on high               change one setting, keep the others
  stowage fleet init --webhook https://hooks.example/fleet --webhook-secret-file /etc/stowage/hook.key

Exit codes: 0 done, 2 the settings could not be written (nothing was changed).`,
        )
        .action(lazy(async () => (await import('./init.js')).fleetInit)),
    ),
  );

  withFormat(
    withFetch(
      withStore(
        fleet
          .command('add')
          .summary('add applications, or new revisions of them')
          .description(
            'Add each PATH as one application: a directory (its lockfiles and manifests, as `stowage audit` reads a directory), a lockfile ' +
              '(NAME.Cargo.lock, NAME.package-lock.json, ...: the application is NAME), a CycloneDX JSON SBOM (NAME.cdx.json) or a stowage vendor ' +
              'archive (NAME.tar.zst). Content the application already has as its current revision records nothing (unchanged); other ' +
              'content records a new revision, evaluated at once against the fleet\'s databases. A PATH that cannot be read is reported ' +
              '(one line, naming it) and the others are added; the command then exits 2.',
          )
          .argument('[path...]', 'applications to add')
          .option('--name <name>', 'the application\'s name (one PATH only; default: the directory\'s or the file\'s NAME)')
          .option('--from-file <list>', 'read the paths from LIST, one a line (- for standard input); blank lines and lines starting with # are skipped')
          .addHelpText(
            'after',
            `
Examples:
  stowage fleet add ~/src/ripgrep                 application "ripgrep", from its Cargo.lock and Cargo.toml
  stowage fleet add web.package-lock.json         application "web"
  stowage fleet add build/app.cdx.json --name app what shipped, from its SBOM
  find /srv/apps -name Cargo.lock -printf '%h\\n' | stowage fleet add --from-file -

Exit codes: 0 added (or unchanged) and nothing fails its policy; 1 an application given has a
finding that fails its policy; 2 an application could not be read (the others were added, and
each is named on standard error) or the work could not be done (nothing was changed).`,
          )
          .action(lazy(async () => (await import('./add.js')).fleetAdd)),
      ),
    ),
  );

  withFormat(
    withStore(
      fleet
        .command('status')
        .summary('every application with its current findings')
        .description('Every application of the fleet, its current revision and that revision\'s findings, as of the last evaluation.')
        .addHelpText('after', `\nExamples:\n  stowage fleet status\n  stowage fleet status --format json\n\n${EXIT_CODES}`)
        .action(lazy(async () => (await import('./status.js')).fleetStatus)),
    ),
  );

  withFormat(
    withStore(
      fleet
        .command('show')
        .summary('one application: its current revision and findings')
        .argument('<app>', 'the application\'s name')
        .option('--revision <rev>', 'a past revision instead of the current one (sha256:HEX, or at least 12 hex digits of it)')
        .addHelpText('after', `\nExamples:\n  stowage fleet show ripgrep\n  stowage fleet show ripgrep --revision 3f2a9c1b7d4e --format json\n\n${EXIT_CODES} An unknown application or revision: exit 2.`)
        .action(lazy(async () => (await import('./show.js')).fleetShow)),
    ),
  );

  withFormat(
    withStore(
      fleet
        .command('history')
        .summary('an application\'s revisions, in the order they were recorded')
        .argument('<app>', 'the application\'s name')
        .addHelpText('after', `\nExamples:\n  stowage fleet history ripgrep\n\nExit codes: 0 done, 2 unknown application or unreadable store.`)
        .action(lazy(async () => (await import('./history.js')).fleetHistory)),
    ),
  );

  withFormat(
    withStore(
      fleet
        .command('snapshot')
        .summary('record the current revision of every application, and the databases\' revisions')
        .argument('<name>', 'the snapshot\'s name (unique)')
        .addHelpText('after', `\nExamples:\n  stowage fleet snapshot release-2026-12\n\nExit codes: 0 recorded, 2 the name is taken or the work could not be done.`)
        .action(lazy(async () => (await import('./snapshot.js')).fleetSnapshot)),
    ),
  );

  withFormat(
    withStore(
      fleet
        .command('diff')
        .summary('packages and findings between two revisions of an application, or two snapshots')
        .argument('<args...>', 'APP REV1 REV2, or with --snapshots: SNAPSHOT1 SNAPSHOT2')
        .option('--snapshots', 'compare two fleet snapshots instead of two revisions of one application')
        .addHelpText(
          'after',
          `
Revisions are named sha256:HEX, or by at least 12 hex digits of it (as \`fleet history\` shows them).

Examples:
  stowage fleet diff ripgrep 3f2a9c1b7d4e 91c0d2e4f5a6
  stowage fleet diff --snapshots release-2026-11 release-2026-12 --format json

Exit codes: 0 done, 2 unknown application, revision or snapshot, or an ambiguous abbreviation.`,
        )
        .action(lazy(async () => (await import('./diff.js')).fleetDiff)),
    ),
  );

  withFormat(
    withFetch(
      withStore(
        fleet
          .command('sync')
          .summary('bring the databases to their newest revision and re-evaluate what changed')
          .description(
            'Bring each of the fleet\'s databases to its newest revision and re-evaluate incrementally: only the applications that lock a ' +
              'package named by an advisory added, changed or withdrawn since the last evaluation. Reports the findings that are new and resolved.',
          )
          .addHelpText('after', `\nExamples:\n  stowage fleet sync\n  stowage fleet sync --format json --no-fetch\n\n${EXIT_CODES}`)
          .action(lazy(async () => (await import('./sync.js')).fleetSync)),
      ),
    ),
  );

  withFormat(
    withStore(
      fleet
        .command('affected')
        .summary('which applications an advisory affects, or which embed a package')
        .argument('<query>', 'an advisory id or any alias (RUSTSEC-..., GHSA-..., CVE-...), or NAME[@VERSION]')
        .addHelpText('after', `\nExamples:\n  stowage fleet affected CVE-2024-12224\n  stowage fleet affected openssl@0.10.55\n\nExit codes: 0 done, 2 unknown advisory id or unreadable store.`)
        .action(lazy(async () => (await import('./affected.js')).fleetAffected)),
    ),
  );

  withStore(
    fleet
      .command('triage')
      .summary('record a decision about an advisory for an application or the whole fleet')
      .argument('<args...>', 'APP ID, or with --all: ID')
      .option('--all', 'the decision holds for every application')
      .addOption(new Option('--state <state>', 'CycloneDX analysis state').choices(['resolved', 'resolved_with_pedigree', 'exploitable', 'in_triage', 'false_positive', 'not_affected']))
      .option('--reason <text>', 'why (required)')
      .option('--justification <j>', 'CycloneDX justification (required for not_affected and false_positive)')
      .option('--expires <date>', 'the decision lapses after DATE (YYYY-MM-DD) and the finding reopens')
      .option('--package <name[@range]>', 'only this package (and version range)')
      .option('--by <who>', 'who decided (default: the user name)')
      .addHelpText(
        'after',
        `\nExamples:\n  stowage fleet triage web GHSA-xxxx-xxxx-xxxx --state not_affected --justification code_not_reachable --reason "server only"\n\nExit codes: 0 recorded, 2 unknown application or advisory, or a missing reason or justification.`,
      )
      .action(lazy(async () => (await import('./triage.js')).fleetTriage)),
  );

  const campaign = fleet
    .command('campaign')
    .summary('rebuild every application an advisory affects: fix, build, test, package, record a candidate')
    .description(
      'A campaign takes one advisory and every application of the fleet it affects, and for each, in a fresh work directory ' +
        'made from the source kept with its registered revision (the application\'s own directory is never touched): plans and applies ' +
        'the smallest lockfile fix, audits, vendors, builds, tests and packages it, and records a candidate revision with its artifacts. ' +
        'Each application is one durable job in the store (SQLite: run by the command and by `stowage fleet worker`; PostgreSQL: ' +
        'a pg-boss queue shared by workers on any number of machines).',
    )
    .addHelpText(
      'after',
      `
Examples:
  stowage fleet campaign start RUSTSEC-2024-0421            every affected application, waiting for the end
  stowage fleet campaign start CVE-2024-12224 --detach      queue it; workers run it
  stowage fleet campaign show 3 --format json
  stowage fleet campaign list
  stowage fleet campaign cancel 3`,
    );

  withFormat(
    withFetch(withStore(
      campaign
        .command('start')
        .summary('start a campaign for an advisory')
        .argument('<id>', 'an advisory id or any alias (RUSTSEC-..., GHSA-..., CVE-...)')
        .option('--app <app>', 'only this affected application (repeatable)', collect)
        .option('--detach', 'queue the jobs and return at once (workers run them: stowage fleet worker)')
        .option('--no-publish', 'keep the candidates out of notifications (embargoed fixes)')
        .addOption(new Option('--sandbox <mode>', 'isolate builds and tests: auto (bubblewrap where available), bwrap, none').choices(['auto', 'bwrap', 'none']).default('auto'))
        .option('--concurrency <n>', 'jobs this command runs at once while it waits', '1')
        .addHelpText(
          'after',
          `
Applications whose revision was added without its source (a lockfile or SBOM alone) end
needs-source; those with no compatible fix end needs-review, naming the blocker.

Examples:
  stowage fleet campaign start RUSTSEC-2024-0421
  stowage fleet campaign start GHSA-xxxx-xxxx-xxxx --app web --app api --no-publish
  stowage fleet campaign start CVE-2024-12224 --detach --format json

Exit codes: 0 every application has a candidate, 1 one has not (failed, needs-review,
needs-source, cancelled), 2 unknown advisory or application, or the work could not be done.`,
        )
        .action(lazy(async () => (await import('./campaign.js')).fleetCampaignStart)),
    )),
  );

  withFormat(
    withStore(
      campaign
        .command('show')
        .summary('a campaign\'s progress: each application\'s state, step, fix and candidate')
        .argument('<campaign>', 'the campaign\'s number (campaign list shows it)')
        .addHelpText('after', `\nExamples:\n  stowage fleet campaign show 3\n  stowage fleet campaign show 3 --format json    schema/fleet-campaign.v1.json\n\nExit codes: 0 every application has a candidate, 1 one has not (yet), 2 unknown campaign.`)
        .action(lazy(async () => (await import('./campaign.js')).fleetCampaignShow)),
    ),
  );

  withFormat(
    withStore(
      campaign
        .command('list')
        .summary('every campaign, newest first')
        .addHelpText('after', `\nExamples:\n  stowage fleet campaign list --format json\n\nExit codes: 0 done, 2 unreadable store.`)
        .action(lazy(async () => (await import('./campaign.js')).fleetCampaignList)),
    ),
  );

  withStore(
    campaign
      .command('cancel')
      .summary('cancel a campaign: jobs not started are dropped, running ones stop at their next step')
      .argument('<campaign>', 'the campaign\'s number')
      .addHelpText('after', `\nExamples:\n  stowage fleet campaign cancel 3\n\nExit codes: 0 cancelled, 2 unknown campaign or one already over.`)
      .action(lazy(async () => (await import('./campaign.js')).fleetCampaignCancel)),
  );

  withFetch(withStore(
    fleet
      .command('worker')
      .summary('run campaign jobs from the fleet\'s queue')
      .description(
        'Take campaign jobs from the fleet\'s durable queue and run them. On PostgreSQL any number of workers, on any machines ' +
          'sharing the store, divide the jobs; a job whose worker dies is taken by another once its lease runs out ' +
          '($STOWAGE_CAMPAIGN_LEASE_SECONDS, default 60). On SQLite workers on the one machine share the store file.',
      )
      .option('--concurrency <n>', 'jobs run at once', '1')
      .option('--drain', 'exit once no job is queued or running anywhere (default: run until interrupted)')
      .addHelpText(
        'after',
        `
Examples:
  stowage fleet worker --concurrency 2
  STOWAGE_FLEET_STORE=postgres://fleet@db/fleet stowage fleet worker    on each build machine
  stowage fleet worker --drain                                         run what is queued, then exit

Exit codes: 0 stopped (interrupted, or drained), 2 the store or queue could not be opened.`,
      )
      .action(lazy(async () => (await import('./worker.js')).fleetWorker)),
  ));
}
