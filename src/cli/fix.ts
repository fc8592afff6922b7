import { Option, type Command } from 'commander';
import { addAuditOptions, collect } from './audit-options.js';
import type { FixOptions } from './fix-command.js';

export function registerFix(program: Command, setExit: (code: number) => void): void {
  const command = program.command('fix');
  command
    .summary('plan (and make) the smallest lockfile change that removes each vulnerable version')
    .description(
      'Audit the application, then plan for each finding (or those --advisory names) the smallest lockfile change ' +
        'that leaves no affected version: the lowest published version, after the locked one, that the advisories do not ' +
        'affect, neither yanked nor deprecated nor a pre-release (unless the locked version or a requirement names one), ' +
        'accepted by the requirement of every dependent in the graph, and in the ' +
        "locked version's semver-compatible line whenever such a version exists (never a major jump then). Versions and " +
        "requirements are read from the registry the application uses (Cargo: its sparse index, after .cargo/config.toml's " +
        "source replacement; npm: packuments from the registry .npmrc names) and, for the application's own packages, " +
        'from its manifests and lockfile. A package locked at several versions gets a change for each affected copy; npm ' +
        "copies inside another package's tarball (bundled dependencies) get a plan without a change that names their " +
        'bundler, since no lockfile change reaches them. npm: package-lock.json and npm-shrinkwrap.json (lockfileVersion ' +
        '1 to 3); a yarn.lock, pnpm-lock.yaml or bun.lock is refused (exit 2). ' +
        'Where no version is accepted, the plan names each dependent that blocks it and the lowest version of that ' +
        "dependent that would accept a fixed one, up to the application's own manifest.\n\n" +
        'Without --apply nothing is written. With --apply the package manager makes the change. Cargo: cargo update -p ' +
        'NAME@OLD --precise NEW, offline first, then against the registry. npm (scripts never run: --ignore-scripts): ' +
        'npm install NAME@NEW --package-lock-only for a direct dependency, in the manifest that declares it (-w MEMBER ' +
        "for a workspace member's, with --include-workspace-root when the root declares it too; ALIAS@npm:NAME@NEW for " +
        'one declared under an alias, so "foo": "npm:bar@^1.0.0" becomes "foo": "npm:bar@^1.0.1"), saved with the ' +
        'prefix its requirement had (~1.2.5 becomes ~1.2.6; an exact version when neither fits every manifest declaring ' +
        'it; the plan names what each package.json gets); npm update NAME --package-lock-only for a transitive one, ' +
        "under the name it is installed as (an alias's), and for one that only a file: directory of the project " +
        'declares (-w takes workspace members only): npm moves it to the newest version its dependents accept, which ' +
        'may be later than planned (the plan says so); or, with --allow-overrides, an "overrides" entry ("NAME@OLD": ' +
        '"NEW"; for an alias "foo@OLD": "npm:bar@NEW") and npm install --package-lock-only, which moves it to NEW ' +
        'exactly. Then the application is audited again, and the lockfile diff and the findings left are shown ' +
        '(those a policy or --ignore accepts marked so). A failed change leaves the lockfile and the manifests as ' +
        'they were.',
    )
    .argument('[path]', 'the application directory or its lockfile (default: the current directory)')
    .option('--advisory <id>', 'plan only for the findings of this advisory (its id or an alias); repeatable', collect)
    .option('--apply', 'make the planned changes with the package manager, then audit again and show the lockfile diff')
    .option('--allow-overrides', 'npm: move a transitive package with an "overrides" entry in package.json for its locked version ("NAME@OLD": "NEW"), which npm honours exactly')
    .addOption(new Option('-f, --format <format>', 'report format (JSON: schema/fix-report.v1.json)').choices(['human', 'json']).default('human'))
    .addHelpText(
      'after',
      `
Examples:
  stowage fix                                    plan a change for every finding in this directory
  stowage fix app/ --advisory RUSTSEC-2022-0013  only that advisory's findings
  stowage fix --apply --db ./advisory-db         make the changes, audit again, show the diff
  stowage fix web/ --db ghsa-npm/ --format json  an npm application, machine-readable plans
  stowage fix web/ --apply --allow-overrides     npm: pin a transitive fix through "overrides"

Exit codes: 0 every finding that fails the policy has a fix (with --apply: the audit after the
change passes), 1 some have none (with --apply: findings still fail the policy), 2 the plan
or the change could not be made (bad input, unreadable database or registry, the package
manager refused).`,
    )
    .action(async (path: string | undefined, opts: FixOptions) => {
      setExit(await (await import('./fix-command.js')).fixCommand(path, opts));
    });
  addAuditOptions(command, { omit: true });
}
