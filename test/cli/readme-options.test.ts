import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { PROJECT_ROOT, runCli, tempDir } from '../support/shared.js';

/**
 * The README and the CLI must agree: every option a `--help` lists is documented in the README,
 * and every `stowage COMMAND ... --option` the README shows is an option of that command.
 */

const cacheDir = tempDir('readme-options');
const README = readFileSync(join(PROJECT_ROOT, 'README.md'), 'utf8');

/** Each command path (`[]`, `['fleet']`, `['fleet', 'campaign', 'start']`...) with its --help text. */
function helpTree(): Map<string, string> {
  const out = new Map<string, string>();
  const visit = (path: string[]): void => {
    const r = runCli([...path, '--help'], { cacheDir });
    assert.equal(r.status, 0, `${path.join(' ')} --help`);
    out.set(path.join(' '), r.stdout);
    const commands = /\nCommands:\n([\s\S]*?)(?:\n\n|$)/.exec(r.stdout)?.[1] ?? '';
    for (const m of commands.matchAll(/^ {2}([a-z][a-z-]*)\b/gm)) {
      const sub = m[1] as string;
      if (sub !== 'help') visit([...path, sub]);
    }
  };
  visit([]);
  return out;
}

const HELP = helpTree();

function longOptions(help: string): string[] {
  const options = /\nOptions:\n([\s\S]*?)(?:\n\n|$)/.exec(help)?.[1] ?? '';
  return [...options.matchAll(/^ {2}(?:-\w, )?(--[a-z][a-z0-9-]*)/gm)].map((m) => m[1] as string).filter((o) => o !== '--help' && o !== '--version');
}

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const has = (text: string, option: string): boolean => new RegExp(`(?<![\\w-])${escape(option)}(?![\\w-])`).test(text);

test('every option of every command and subcommand --help is documented in the README', () => {
  assert.ok(HELP.has('fleet campaign start') && HELP.has('db show') && HELP.has('vendor verify'), 'the help tree reaches nested subcommands');
  const missing: string[] = [];
  for (const [command, help] of HELP) {
    for (const option of longOptions(help)) if (!has(README, option)) missing.push(`stowage ${command} ${option}`);
  }
  assert.deepEqual(missing, []);
});

test('every option the README gives a stowage command is one that command takes', () => {
  const commands = [...HELP.keys()].filter((c) => c !== '').sort((a, b) => b.length - a.length);
  const invocations = [...README.matchAll(/`([^`\n]*\bstowage [^`\n]*)`/g)].map((m) => m[1] as string);
  for (const line of README.split('\n')) if (/^\s*(?:\S+=\S+ )*stowage /.test(line)) invocations.push(line);
  const wrong: string[] = [];
  let checked = 0;
  for (const text of invocations) {
    const at = text.indexOf('stowage ');
    // Only the command itself: a shell comment or a pipe after it is about something else.
    const words = text.slice(at + 'stowage '.length).split(/\s+#|\s\|\s/)[0] as string;
    const command = commands.find((c) => words === c || words.startsWith(`${c} `));
    if (command === undefined) continue;
    const help = HELP.get(command) as string;
    for (const m of words.slice(command.length).matchAll(/(?<![\w-])(--?[a-zA-Z][\w-]*)/g)) {
      checked += 1;
      const option = (m[1] as string).replace(/=.*/, '');
      if (!has(help, option)) wrong.push(`stowage ${command} ${option}: ${text.trim()}`);
    }
  }
  assert.ok(checked > 50, `the README's invocations were read (${checked} options)`);
  assert.deepEqual(wrong, []);
});

type JsonSchema = { properties?: Record<string, JsonSchema>; items?: JsonSchema; $ref?: string; $defs?: Record<string, JsonSchema>; oneOf?: JsonSchema[]; anyOf?: JsonSchema[] };

/** The property names a schema gives its document and the objects directly inside it (two levels; local $refs followed). */
function shallowProperties(schema: JsonSchema): Set<string> {
  const defs = schema.$defs ?? {};
  const names = new Set<string>();
  const walk = (s: JsonSchema, depth: number): void => {
    if (depth > 2) return;
    const local = s.$ref?.startsWith('#/$defs/') ? defs[s.$ref.slice('#/$defs/'.length)] : undefined;
    if (local) return walk(local, depth);
    for (const alt of [...(s.oneOf ?? []), ...(s.anyOf ?? [])]) walk(alt, depth);
    if (s.items) walk(s.items, depth);
    for (const [name, sub] of Object.entries(s.properties ?? {})) {
      names.add(name);
      walk(sub, depth + 1);
    }
  };
  walk(schema, 1);
  return names;
}

test("the README's fleet JSON table names every field its schemas give the top two levels", () => {
  const rows = [...README.matchAll(/^\| (.+?) \| `(fleet-[a-z-]+\.v1\.json)` \| (.+) \|$/gm)];
  assert.ok(rows.length >= 10, `the table was read (${rows.length} rows)`);
  const missing: string[] = [];
  for (const [, , file, shape] of rows) {
    const schema = JSON.parse(readFileSync(join(PROJECT_ROOT, 'schema', file as string), 'utf8')) as JsonSchema;
    for (const name of shallowProperties(schema)) if (!new RegExp(`\\b${escape(name)}\\b`).test(shape as string)) missing.push(`${file}: ${name}`);
  }
  assert.deepEqual(missing, []);
});
