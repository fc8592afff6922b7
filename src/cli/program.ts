import { Command, CommanderError } from 'commander';
import { EXIT_FAILURE, StowageError, systemErrorReason } from '../core/errors.js';
import { TOOL_VERSION } from '../core/tool.js';
import { terminalText } from '../core/terminal-text.js';
import { writeStderr, writeStdout } from './output.js';

/*
 * The command line around the commands: the program, its help and errors, the exit code. Two
 * entries give it their commands: src/cli/main.ts every command, src/cli/audit-main.ts the
 * audit alone (the launcher runs `stowage audit ...` from a bundle of its own).
 */

/** A command's registration: its options, help and action, added to the program. */
export type Register = (program: Command, setExit: (code: number) => void) => void;

/**
 * The commands a CLI has, by name, each loaded when it is run or help lists it: a run that names
 * its command first loads that one alone, not the option tables and module start-up of every
 * other (milliseconds of each warm audit).
 */
export type Commands = ReadonlyMap<string, () => Promise<Register>>;

function isSystemError(err: unknown): err is NodeJS.ErrnoException {
  return err instanceof Error && typeof (err as NodeJS.ErrnoException).code === 'string' && typeof (err as NodeJS.ErrnoException).syscall === 'string';
}

/** One line on stderr, exit 2: the contract for every error a user can cause. */
export function reportError(err: unknown): number {
  if (err instanceof StowageError) {
    writeStderr(`stowage: ${terminalText(err.line)}\n`);
  } else if (isSystemError(err)) {
    // A file operation no caller phrased (EACCES, ENOSPC, EROFS...): the file, the call, the reason.
    const where = typeof err.path === 'string' ? `${err.path}: ` : '';
    writeStderr(`stowage: ${terminalText(`${where}cannot ${err.syscall ?? 'access'}: ${systemErrorReason(err)}`)}\n`);
  } else {
    // Anything else is stowage's own fault, and says so: the user can only report it.
    const message = (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? '';
    writeStderr(`stowage: internal error (a bug in stowage; please report it, with the output of STOWAGE_DEBUG=1): ${terminalText(message)}\n`);
    if (process.env.STOWAGE_DEBUG && err instanceof Error) writeStderr(`${err.stack}\n`);
  }
  return EXIT_FAILURE;
}

/**
 * The options of `command`, a subcommand of a command with options of its own (`vendor verify`
 * under `vendor`). Commander gives the parent every option the parent knows wherever it stands
 * on the line, so `vendor verify A --cache-dir C` would reach `vendor`, not `verify`: an option
 * both declare is taken for the subcommand; one only the parent declares is refused, one line,
 * exit 2, rather than silently ignored.
 */
export function subcommandOptions<T extends object>(command: Command, own: T): T {
  const parent = command.parent;
  if (parent === null) return own;
  const merged = { ...own } as Record<string, unknown>;
  for (const option of parent.options) {
    const key = option.attributeName();
    if (parent.getOptionValueSource(key) !== 'cli') continue;
    if (command.options.some((o) => o.attributeName() === key)) {
      merged[key] ??= parent.getOptionValue(key);
      continue;
    }
    command.error(`${parent.name()} ${command.name()} does not take ${option.long ?? option.flags}: it is an option of ${parent.name()} alone`, { exitCode: EXIT_FAILURE, code: 'stowage.parentOption' });
  }
  return merged as T;
}

/**
 * The command line: every command, or only `argv`'s first word when it names one (`stowage
 * audit ...` parses, errs and shows `audit --help` exactly as with all of them). Help, a typo
 * and an option before the command get every command, to list or suggest.
 */
export async function buildProgram(commands: Commands, setExit: (code: number) => void, argv: readonly string[] = []): Promise<Command> {
  const program = new Command('stowage')
    .description(
      'Secure applications as whole units, Cargo and npm: audit the locked dependency set against ' +
        'advisory databases (RustSec, OSV/GHSA), vendor it into a reproducible archive that builds ' +
        'offline, and package it as a source RPM with an SBOM.',
    )
    .version(TOOL_VERSION, '-V, --version')
    .exitOverride()
    .configureOutput({
      writeOut: writeStdout,
      writeErr: writeStderr,
      // A usage error is one line, as every other error: commander's message (quoting the arguments
      // as given), its suggestion and the hint, where showHelpAfterError would add lines of their own.
      outputError: (text, write) => {
        const [message = '', suggestion] = text.replace(/^error: /, '').trimEnd().split(/\n(?=\(Did you mean [^\n]*\?\)$)/);
        const didYouMean = suggestion === undefined ? '' : `; ${suggestion.slice(1, -1).replace(/^Did/, 'did')}`;
        write(`stowage: ${terminalText(`${message}${didYouMean} (run with --help for usage)`)}\n`);
      },
    })
    .addHelpText(
      'after',
      `
Examples:
  stowage audit                          audit the lockfile(s) in the current directory
  stowage audit path/to/app --format json
  stowage audit Cargo.lock --db ./advisory-db --no-fetch
  stowage vendor                         vendor.tar.zst: every dependency, verified, offline-buildable
  stowage vendor verify vendor.tar.zst   prove the archive matches the lockfile and reproduces
  stowage package rpm --srpm             spec + sources + .src.rpm declaring every bundled library
  stowage sbom --format spdx -o app.spdx.json
  stowage fix --apply                    the smallest lockfile change that removes each vulnerable version
  stowage db list                        the cached advisory databases; \`stowage db sync\` refreshes them
  stowage fleet add apps/*/              track applications; fleet status, sync, affected...

Exit codes: 0 done (nothing fails the policy), 1 findings fail the policy (vendoring and
packaging refuse), 2 the work could not be done (bad input, unreadable database, download).
Documentation: README.md (report schema, policy file stowage.toml, archive format, cache).`,
    );
  const named = argv[0] === undefined ? undefined : commands.get(argv[0]);
  for (const load of named !== undefined ? [named] : commands.values()) (await load())(program, setExit);
  return program;
}

/**
 * Ctrl-C and SIGTERM end the run between two steps, never inside one: every file stowage
 * writes is written to a temporary name and renamed synchronously, so with a handler in place
 * an interrupted run leaves no half-written archive, report or cache entry.
 */
function exitOnSignals(): void {
  for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
    process.once(signal, () => {
      writeStderr(`stowage: interrupted (${signal}); nothing half-written was left\n`);
      process.exit(code);
    });
  }
}

/** Runs the command line `argv` with `commands`; resolves to the exit code. */
export async function runCommands(commands: Commands, argv: string[]): Promise<number> {
  exitOnSignals();
  let exitCode = 0;
  try {
    const program = await buildProgram(commands, (code) => {
      exitCode = code;
    }, argv);
    await program.parseAsync(argv, { from: 'user' });
    return exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end here with code 0; usage errors were already printed.
      return err.exitCode === 0 ? 0 : EXIT_FAILURE;
    }
    return reportError(err);
  }
}
