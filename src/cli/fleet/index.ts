import { Option, type Command } from 'commander';
import { SEVERITY_LEVELS } from '../../core/advisory.js';
import { collect } from '../audit-options.js';
import { DEFAULT_CONNECTION_LIMITS } from '../../server/connections.js';
import { DEFAULT_UPLOAD_BUDGET } from '../../server/upload-budget.js';
import { DEFAULT_RETRY_FOR_SECONDS } from './retry-for.js';
import { ANALYSIS_STATES, JUSTIFICATIONS } from '../../sbom/cyclonedx-vex.js';

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

const SNAPSHOT_OPTION =
  'instead of one application: make every application of snapshot NAME current at the revision it recorded, in one transaction ' +
  '(each recorded in its history and posted as its own event; applications added since are left as they are)';

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
    .option('--fetch', 'fetch git and downloaded databases now (default: when the last fetch is over an hour old)')
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
  stowage fleet triage web CVE-2024-12224 --state not_affected --justification code_not_reachable --reason "no IDN input"
  stowage fleet export web --format vex --output web.vex.cdx.json
  stowage fleet promote web 3f2a9c1b7d4e          make a campaign's candidate current
  stowage fleet rollback web
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
        .option('--db <source>', 'advisory database: git URL or bundle (URL#branch), local checkout, directory of RustSec or OSV files, .zip of OSV files, or an https URL of one (downloaded, cached and revalidated); repeatable; replaces the list', collect)
        .option('--webhook <url>', 'POST a signed JSON event for each change of findings to URL ("" removes it)')
        .option('--webhook-secret-file <file>', 'the HMAC-SHA256 key for the webhook\'s signature header, read from FILE when events are sent')
        .addOption(new Option('--fail-on <level>', 'vulnerabilities below LEVEL are reported but do not fail (default: the audit\'s threshold)').choices(SEVERITY_LEVELS))
        .option('--allow-registry <url>', 'a registry campaigns may reach beside the public ones (npm\'s, crates.io\'s): an application whose .npmrc, .cargo/config.toml or Cargo.lock names another is refused; repeatable; replaces the list ("" empties it)', collect)
        .addHelpText(
          'after',
          `
Examples:
  stowage fleet init --db https://github.com/rustsec/advisory-db.git --db ./ghsa-npm
  stowage fleet init --fail-on high               change one setting, keep the others
  stowage fleet init --allow-registry https://npm.corp.example/ --allow-registry sparse+https://crates.corp.example/index/
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
        .option('--summary', 'one line per application: its open findings counted by severity (triage applied), whether it fails its policy; no finding listed')
        .description('Every application of the fleet, its current revision and that revision\'s findings, as of the last evaluation.')
        .addHelpText('after', `\nExamples:\n  stowage fleet status\n  stowage fleet status --format json\n  stowage fleet status --summary --format json\n\n${EXIT_CODES}`)
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

Exit codes: 0 done, 2 unknown application, revision or snapshot, or an ambiguous abbreviation,
or a revision of the diff is not audited (the diff is written, saying so; as fleet status).`,
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

  withFormat(
    withFetch(
      withStore(
        fleet
          .command('promote')
          .summary('make a recorded revision (a campaign\'s candidate, an earlier one) the application\'s current revision')
          .description(
            'Make REVISION the current revision of APP: status, show, affected, sync and export follow it from now on. A campaign\'s ' +
              'candidate revision is not current until promoted. Recorded in the history (action "promoted"), and posted as a "promote" event. ' +
              'A revision last evaluated with other database revisions is evaluated again first. Promoting the current revision records nothing. ' +
              'With --snapshot NAME instead of APP REVISION: every application of the snapshot at the revision it recorded.',
          )
          .argument('[app]', 'the application\'s name')
          .argument('[revision]', 'the revision: sha256:HEX, or at least 12 hex digits of it (see stowage fleet history APP)')
          .option('--snapshot <name>', SNAPSHOT_OPTION)
          .option('--dry-run', 'with --snapshot: list what would change, change nothing (no database is opened)')
          .option('--by <who>', 'who promoted it (default: the user name)')
          .addHelpText(
            'after',
            `
Examples:
  stowage fleet promote web 3f2a9c1b7d4e          (stowage fleet history web lists the revisions and their origin)
  stowage fleet promote web sha256:3f2a9c1b7d4e --format json --by alice
  stowage fleet promote --snapshot release-2026-12 --dry-run
  stowage fleet promote --snapshot release-2026-12

${EXIT_CODES} An unknown application, revision or snapshot, or a snapshot whose application or revision the fleet no longer holds: exit 2.`,
          )
          .action(lazy(async () => (await import('./promote.js')).fleetPromote)),
      ),
    ),
  );

  withFormat(
    withFetch(
      withStore(
        fleet
          .command('rollback')
          .summary('return an application to the revision that was current before the last change')
          .description(
            'Make current again the revision APP had before its current one became current (by an add, a promotion or a rollback): ' +
              'two rollbacks in a row come back where they started. Recorded in the history (action "rolled-back"), and posted as a ' +
              '"rollback" event. An application whose current revision is the first it had has nothing to roll back to (exit 2). ' +
              'With --snapshot NAME instead of APP: every application of the snapshot back at the revision it recorded (a known, tested state).',
          )
          .argument('[app]', 'the application\'s name')
          .option('--snapshot <name>', SNAPSHOT_OPTION)
          .option('--dry-run', 'with --snapshot: list what would change, change nothing (no database is opened)')
          .option('--by <who>', 'who rolled it back (default: the user name)')
          .addHelpText(
            'after',
            `
Examples:
  stowage fleet rollback web
  stowage fleet rollback web --format json --no-fetch
  stowage fleet rollback --snapshot release-2026-11 --dry-run --format json

${EXIT_CODES} An unknown application or snapshot, nothing to roll back to, or a snapshot whose application or revision the fleet no longer holds: exit 2.`,
          )
          .action(lazy(async () => (await import('./promote.js')).fleetRollback)),
      ),
    ),
  );

  withStore(
    fleet
      .command('export')
      .summary('an application\'s SBOM (CycloneDX, SPDX) or its CycloneDX VEX with the triage decisions applied')
      .description(
        'Write the SBOM of an application\'s current revision (or --revision), from the dependency graph the fleet keeps for it: ' +
          'cyclonedx (CycloneDX 1.6), spdx (SPDX 2.3), or vex: the CycloneDX SBOM with the revision\'s vulnerabilities, each analysed as ' +
          'the triage decision in force says (state, justification, the reason, who decided and when), in_triage when none is. ' +
          'Licences are those the revision\'s documents state (an npm package-lock v2+ per package, a Cargo manifest for the application, an SBOM\'s or vendor archive\'s components); NOASSERTION where none is stated.',
      )
      .argument('<app>', 'the application\'s name')
      .addOption(new Option('-f, --format <format>', 'the document to write').choices(['vex', 'cyclonedx', 'spdx']).makeOptionMandatory())
      .option('--revision <rev>', 'a past revision instead of the current one (sha256:HEX, or at least 12 hex digits of it)')
      .option('-o, --output <file>', 'write to FILE (replaced atomically: it holds the old or the whole new document) instead of standard output')
      .addHelpText(
        'after',
        `
Examples:
  stowage fleet export ripgrep --format vex --output ripgrep.vex.cdx.json
  stowage fleet export web --format spdx --revision 3f2a9c1b7d4e > web.spdx.json

Exit codes: 0 written, 2 unknown application or revision, or the file cannot be written (nothing was written).`,
      )
      .action(lazy(async () => (await import('./export.js')).fleetExport)),
  );

  withFetch(
    withStore(
      fleet
        .command('serve')
        .summary('serve the fleet over HTTP: the JSON API (and the dashboard) on the same store')
        .description(
          'Serve the fleet\'s JSON API under /api/v1 (the same answers as --format json, lists paged; OpenAPI at /api/v1/openapi.json) ' +
            'over the store the command line uses. Every write needs `Authorization: Bearer TOKEN` (stowage fleet token create); reads ' +
            'too, unless --public-read. Binds 127.0.0.1 unless told otherwise; stops cleanly on SIGINT or SIGTERM.',
        )
        .addOption(new Option('--listen <address>', 'HOST:PORT to listen on ([::1]:8080 for IPv6; port 0 picks a free one)').default('127.0.0.1:8080', '127.0.0.1:8080'))
        .option('--token-file <file>', 'on a first start (no token stored yet), store the token in FILE (its first line), read-write, as "token-file"')
        .option('--public-read', 'reads need no token (writes still do)')
        .option('--sync-every <duration>', 'run fleet sync on a schedule inside the server: 90s, 15m, 2h, 1d')
        .option('--trust-proxy', 'behind a TLS-terminating reverse proxy: take X-Forwarded-Proto: https as the request\'s scheme (the sign-in cookie is then Secure); without it the header is ignored')
        .option(
          '--upload-memory <mib>',
          `MiB of upload bodies held at once across requests, at least 64 (one upload's limit); an upload that does not fit waits ${DEFAULT_UPLOAD_BUDGET.waitMs / 1000} s for room, then is answered 503 with Retry-After (fleet push sends it again) (default: ${DEFAULT_UPLOAD_BUDGET.bytes / (1024 * 1024)})`,
        )
        .option('--connections-per-client <n>', `connections one client address (an IPv6 /64) holds at once, past which a new one is closed at once; 0: no cap (behind a reverse proxy, whose address every connection has) (default: ${DEFAULT_CONNECTION_LIMITS.perClient})`)
        .addHelpText(
          'after',
          `
Examples:
  stowage fleet token create ci > ci.token        a read-write token, printed once
  stowage fleet serve --sync-every 15m            http://127.0.0.1:8080/
  stowage fleet serve --listen 0.0.0.0:8080 --public-read --store postgres://fleet@db/fleet
  curl -H "Authorization: Bearer $(cat ci.token)" http://127.0.0.1:8080/api/v1/apps?limit=100

Exit codes: 0 stopped by SIGINT/SIGTERM, 2 the server could not start (no fleet, address in use, bad option).`,
        )
        .action(lazy(async () => (await import('./serve.js')).fleetServe)),
    ),
  );

  withFormat(
    fleet
      .command('push')
      .summary('upload an application to a fleet server and gate on its findings (a CI step)')
      .description(
        'Upload PATH to the fleet server as a new revision of its application: a directory (its lockfiles and manifests, read as ' +
          '`stowage audit` reads a directory), a lockfile, a CycloneDX SBOM or a vendor archive; print the findings the server ' +
          'evaluated (with the fleet\'s triage decisions applied) and exit as `stowage audit` does.',
      )
      .argument('<path>', 'the application')
      .requiredOption('--server <url>', 'the fleet server (http://HOST:PORT/)')
      .option('--token-file <file>', `a file holding the token on its first line (default: $STOWAGE_TOKEN)`)
      .option('--name <name>', 'the application\'s name (default: the directory\'s or the file\'s NAME)')
      .option(
        '--retry-for <seconds>',
        `while the server answers 503 (busy) or 429, a proxy in front of it 502 or 504, or the connection is refused or cut, send the push again (after its Retry-After, with backoff and jitter, one stderr line per wait) for at most SECONDS; 0: once (default: ${DEFAULT_RETRY_FOR_SECONDS})`,
      )
      .addHelpText(
        'after',
        `
Examples:
  stowage fleet push --server https://fleet.example/ --token-file ci.token .
  STOWAGE_TOKEN=stw_... stowage fleet push --server http://127.0.0.1:8080/ --name web dist/web.cdx.json
  stowage fleet push --server http://127.0.0.1:8080/ --format json build/app.tar.zst

Exit codes: 0 recorded and nothing fails the policy, 1 a finding fails the policy, 2 the push could
not be done (unreadable input, no token, the server refused it, or was busy or unreachable for
all of --retry-for).`,
      )
      .action(lazy(async () => (await import('./push.js')).fleetPush)),
  );

  const token = fleet
    .command('token')
    .summary('the fleet server\'s API tokens: create, revoke, list')
    .description('API tokens for `stowage fleet serve`. Only a SHA-256 of each token is stored; a token is printed once, when it is created.')
    .addHelpText('after', `\nExamples:\n  stowage fleet token create ci > ci.token\n  stowage fleet token create dashboard-viewer --read-only\n  stowage fleet token list\n  stowage fleet token revoke ci`);
  withStore(
    token
      .command('create')
      .summary('create a token and print it (once)')
      .argument('<name>', 'the token\'s name, recorded with every change it makes (letters, digits, ".", "_", "-", "@")')
      .option('--read-only', 'the token can read but not change the fleet')
      .addHelpText('after', `\nExamples:\n  stowage fleet token create ci > ci.token\n  stowage fleet token create grafana --read-only\n\nExit codes: 0 created, 2 bad name or a live token has it.`)
      .action(lazy(async () => (await import('./token.js')).fleetTokenCreate)),
  );
  withStore(
    token
      .command('revoke')
      .summary('revoke a token: requests with it are refused from now on')
      .argument('<name>', 'the token\'s name')
      .addHelpText('after', `\nExamples:\n  stowage fleet token revoke ci\n\nExit codes: 0 revoked, 2 no live token of that name.`)
      .action(lazy(async () => (await import('./token.js')).fleetTokenRevoke)),
  );
  withFormat(
    withStore(
      token
        .command('list')
        .summary('every token: name, read-only or not, when created and revoked')
        .addHelpText('after', `\nExamples:\n  stowage fleet token list --format json\n\nExit codes: 0 done, 2 unreadable store.`)
        .action(lazy(async () => (await import('./token.js')).fleetTokenList)),
    ),
  );

  withStore(
    fleet
      .command('triage')
      .summary('record a decision about an advisory for an application or the whole fleet')
      .argument('<args...>', 'APP ID, or with --all: ID')
      .option('--all', 'the decision holds for every application')
      .addOption(new Option('--state <state>', 'CycloneDX analysis state').choices(ANALYSIS_STATES))
      .option('--reason <text>', 'why (required)')
      .option('--justification <j>', `CycloneDX justification (required for not_affected and false_positive): one of ${JUSTIFICATIONS.join(', ')}`)
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
        .addOption(new Option('--sandbox <mode>', 'isolate builds and tests: auto (bubblewrap where available), bwrap, none (unconfined: see below)').choices(['auto', 'bwrap', 'none']).default('auto'))
        .addOption(new Option('--concurrency <n>', 'jobs this command runs at once while it waits').default('1', '1'))
        .addHelpText(
          'after',
          `
Each application: plan (stowage fix) -> lockfile update -> audit -> vendor -> build -> test
(offline, sandboxed) -> source RPM, recorded as a candidate revision with its artifacts. A
candidate is not current until stowage fleet promote APP REVISION; stowage fleet rollback
APP undoes that. An application that fails a step (its tests included) ends failed, with no
candidate. Applications whose revision was added without its source (a lockfile or SBOM alone)
end needs-source; those with no compatible fix end needs-review, naming the blocker.

A campaign reaches only the public registries and those stowage fleet init --allow-registry
URL names: an application whose .npmrc, .cargo/config.toml or lockfile names another address
fails at the plan step. A killed campaign or worker is resumed by any stowage fleet worker:
no completed step runs again.

--sandbox none runs each application's build scripts (build.rs, proc macros, npm install
scripts) and tests unconfined: as the worker's user, with its files (the fleet store's included)
and the network. Whoever can add or push an application then runs code on the workers: use it
only when every application's code is trusted.

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
      .summary('cancel a campaign: jobs not started are dropped, running ones are stopped (their command killed)')
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
      .addOption(new Option('--concurrency <n>', 'jobs run at once').default('1', '1'))
      .option('--drain', 'exit once no job is queued or running anywhere (default: run until interrupted)')
      .option('--sync-every <duration>', 'also queue a fleet sync now and every DURATION (90s, 15m, 2h, 1d); at most one waits, campaigns go first')
      .addHelpText(
        'after',
        `
Examples:
  stowage fleet worker --concurrency 2
  STOWAGE_FLEET_STORE=postgres://fleet@db/fleet stowage fleet worker    on each build machine
  stowage fleet worker --drain                                         run what is queued, then exit
  stowage fleet worker --sync-every 15m                                also keep the fleet synced, behind campaigns

Exit codes: 0 stopped (interrupted, or drained), 2 the store or queue could not be opened.`,
      )
      .action(lazy(async () => (await import('./worker.js')).fleetWorker)),
  ));
}
