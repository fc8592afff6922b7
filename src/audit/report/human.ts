import type { Finding } from '../../core/finding.js';
import type { AuditResult } from '../audit.js';
import { terminalText as t } from '../../core/terminal-text.js';
import { summaryCounts } from './json.js';
import { fixAdviceLines } from '../../fixes/report.js';
import { advisoryLinks, affectedFunctions, fixedText, moveText } from './advice.js';

export interface HumanStyle {
  colour: boolean;
  width: number;
}

export type ColourChoice = 'auto' | 'always' | 'never';

/**
 * `--color always|never` decides; else FORCE_COLOR (any value but `0` or `false` forces it,
 * those turn it off, as node and chalk read it); else colour only on a terminal that is not
 * `dumb`, and never when NO_COLOR is set (https://no-color.org).
 */
export function styleFor(stream: NodeJS.WriteStream, env: NodeJS.ProcessEnv = process.env, choice: ColourChoice = 'auto'): HumanStyle {
  const force = env.FORCE_COLOR;
  let colour: boolean;
  if (choice !== 'auto') colour = choice === 'always';
  else if (force !== undefined) colour = force !== '0' && force !== 'false';
  else colour = stream.isTTY === true && !('NO_COLOR' in env && env.NO_COLOR !== '') && env.TERM !== 'dumb';
  return { colour, width: Math.max(60, Math.min(stream.columns ?? 80, 120)) };
}

const SGR = { red: 31, yellow: 33, green: 32, dim: 2, bold: 1, cyan: 36 } as const;

export function paint(style: HumanStyle, code: keyof typeof SGR, text: string): string {
  return style.colour ? `\u001b[${SGR[code]}m${text}\u001b[0m` : text;
}

/**
 * Wraps `items` joined by `sep` into lines of at most `width`, continuation lines indented. A
 * separator that opens with a space (` → `) starts the continuation line, as a path reads; one
 * that does not (`, `) ends the line it follows, as a list reads: never a line opening on a comma.
 */
function wrapJoined(items: string[], sep: string, first: string, indent: string, width: number): string[] {
  const lines: string[] = [];
  let line = first;
  const leads = sep.startsWith(' ');
  items.forEach((item, i) => {
    const piece = i === 0 ? item : sep + item;
    if (line.length + piece.length > width && line.trim().length > first.trim().length) {
      lines.push((leads || i === 0 ? line : line + sep).trimEnd());
      line = indent + (i === 0 || !leads ? item : sep.trimStart() + item);
    } else {
      line += piece;
    }
  });
  lines.push(line);
  return lines;
}

function severityText(f: Finding): string {
  const s = f.advisory.severity;
  if (f.advisory.kind !== 'vulnerability') return f.advisory.kind;
  if (!s) return 'vulnerability, severity unknown';
  return `vulnerability, severity ${s.level}${s.score !== null ? ` (${s.score.toFixed(1)})` : ''}`;
}

/**
 * Every value below comes from data (advisory records, lockfiles, the policy file) and goes
 * through `t` (terminalText): escaped, it cannot erase a line or draw a `result: ok` of its own.
 */
export function renderFinding(f: Finding, style: HumanStyle): string[] {
  const a = f.advisory;
  const tag = f.ignored
    ? paint(style, 'dim', 'ignored')
    : f.failsPolicy
      ? paint(style, 'red', 'error')
      : paint(style, 'yellow', 'warning');
  const out = [`${tag}: ${paint(style, 'bold', t(a.id))} ${t(f.package.name)} ${t(f.package.version)}: ${severityText(f)}`];
  const indent = '  ';
  if (a.title) out.push(...wrapJoined(t(a.title).split(' '), ' ', indent, indent, style.width));
  if (a.aliases.length > 0) out.push(...wrapJoined(a.aliases.map(t), ', ', `${indent}also: `, `${indent}      `, style.width));
  out.push(...wrapJoined(t(fixedText(f)).split(' '), ' ', `${indent}fixed: `, `${indent}       `, style.width));
  if (f.fix) out.push(...fixAdviceLines(f.fix).map((l) => indent + l));
  const move = moveText(f);
  if (move !== null) out.push(...wrapJoined(t(move).split(' '), ' ', `${indent}update: `, `${indent}        `, style.width));
  const functions = affectedFunctions(f).map((fn) => (fn.versions.length > 0 ? `${fn.path} (${fn.versions.join(', ')})` : fn.path));
  if (functions.length > 0) out.push(...wrapJoined(functions.map(t), ', ', `${indent}functions: `, `${indent}           `, style.width));
  const links = advisoryLinks(f);
  if (links.length > 0) out.push(...wrapJoined(links.map(t), ' ', `${indent}more: `, `${indent}      `, style.width));
  for (const [i, path] of f.paths.entries()) {
    const head = i === 0 ? `${indent}path: ` : `${indent}      `;
    out.push(...wrapJoined(path.map(t), ' → ', head, `${indent}        `, style.width));
  }
  if (f.morePaths > 0) out.push(`${indent}      … and ${f.morePaths} more through other direct dependencies`);
  if (f.devOnly) out.push(`${indent}only through development dependencies`);
  if (f.ignored) {
    const until = f.ignored.expires ? ` until ${f.ignored.expires}` : '';
    out.push(`${indent}accepted${t(until)}: ${t(f.ignored.reason)} (${t(f.ignored.origin)})`);
  }
  return out;
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/**
 * How many of the failing findings are reached only through development dependencies, said as
 * the subject of a sentence ("it is", "all are", "9 of them are"), or undefined for none. A
 * published npm application locks its test and build tools, and their advisories failed the
 * first audit and vendoring of every real application tried (cowsay, http-server,
 * markdownlint-cli, json-server) while the advice named only --ignore and the lockfile.
 */
export function devOnlyOfFailing(failing: readonly { devOnly: boolean }[]): string | undefined {
  const dev = failing.filter((f) => f.devOnly).length;
  if (dev === 0) return undefined;
  if (dev < failing.length) return `${dev} of them are`;
  return dev === 1 ? 'it is' : 'all are';
}

export function renderHuman(result: AuditResult, style: HumanStyle): string {
  const out: string[] = [];
  for (const target of result.targets) {
    const findings = result.findings.filter((f) => f.target === target.path);
    out.push(paint(style, 'cyan', t(target.path)));
    const unidentified = target.unidentified.length > 0 ? `, ${plural(target.unidentified.length, 'component')} not identified, not audited` : '';
    out.push(`  ${t(target.format)}, ${plural(target.packages, 'package')}, ${target.audited} matched against advisories${unidentified}`);
    // A lockfile's format names it already; every other source is said on a line of its own.
    if (target.inventory !== 'lockfile') out.push(`  inventory: ${target.inventory}`);
    if (target.partial) out.push(paint(style, 'red', '  PARTIAL inventory: packages it does not reveal were not audited'));
    if (findings.length === 0) out.push('  no advisories apply');
    for (const f of findings) out.push('', ...renderFinding(f, style));
    out.push('');
  }
  for (const db of result.databases) {
    const date = db.revisionDate ? db.revisionDate.slice(0, 10) : 'date unknown';
    // A stale database's age is in its warning below, with the limit: said once.
    const age = db.ageDays !== null && !db.stale ? `, ${plural(db.ageDays, 'day')} old` : '';
    out.push(`database: ${t(db.source)} @ ${t(db.revision.endsWith('-dirty') ? `${db.revision.slice(0, 12)}-dirty` : db.revision.slice(0, 12))} (${t(date)}${age}, ${plural(db.advisories, 'advisory', 'advisories')})`);
  }
  for (const w of result.warnings) out.push(paint(style, 'yellow', `warning: ${t(w)}`));
  const c = summaryCounts(result);
  const packages = result.targets.reduce((n, t) => n + t.packages, 0);
  const parts = [plural(c.vulnerabilities ?? 0, 'vulnerability', 'vulnerabilities')];
  for (const kind of ['unsound', 'unmaintained', 'notice'] as const) if (c[kind]) parts.push(`${c[kind]} ${kind}`);
  if (c.ignored) parts.push(`${c.ignored} ignored`);
  out.push(`summary: ${plural(packages, 'package')}, ${parts.join(', ')}`);
  const failing = c.failing ?? 0;
  out.push(
    failing > 0
      ? paint(style, 'red', `result: FAIL, ${plural(failing, 'finding')} ${failing === 1 ? 'fails' : 'fail'} the policy`)
      : paint(style, 'green', 'result: ok, nothing fails the policy'),
  );
  return out.join('\n') + '\n';
}
