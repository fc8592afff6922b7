import { parse as parseToml, TomlError } from 'smol-toml';
import type { Advisory, AdvisoryKind, Severity } from '../core/advisory.js';
import { InputError } from '../core/errors.js';
import { severityFromCvss } from '../core/severity.js';
import { checkRustsecVersions, parseCargoRequirement } from '../ecosystems/cargo/version.js';
import { isTomlTable } from '../core/toml-values.js';

/**
 * RustSec's native advisory format (rustsec/advisory-db): a markdown file that opens with a
 * ```toml fenced block of front matter (`[advisory]`, `[affected]`, `[versions]`), then a
 * `# Title` heading and the description. Read as the rustsec crate reads it
 * (rustsec src/advisory.rs, advisory/parser.rs, metadata.rs, versions.rs).
 */

/** `crates/` holds crate advisories; `rust/` the toolchain's own (std, cargo, rustdoc). */
export type RustsecCollection = 'crates' | 'rust';

export interface RustsecRecord {
  collection: RustsecCollection;
  advisory: Advisory;
}

type Table = Record<string, unknown>;

const FENCE_OPEN = '```toml';
const FENCE_CLOSE = '\n```';

/** Reads the file's text; every problem becomes an InputError naming `origin`. */
class AdvisoryReader {
  constructor(
    readonly text: string,
    readonly origin: string,
  ) {}

  fail(message: string, line?: number): never {
    throw new InputError(this.origin, message, line === undefined ? undefined : { line });
  }

  /** 1-based line of the first occurrence of `needle` in the front matter, for error positions. */
  lineOf(needle: string, frontMatterEnd: number): number | undefined {
    const at = this.text.indexOf(needle);
    if (at < 0 || at > frontMatterEnd) return undefined;
    return lineAt(this.text, at);
  }
}

function lineAt(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

/**
 * Parses one advisory file. `origin` is the path relative to the database root, e.g.
 * crates/foo/RUSTSEC-2020-0001.md; used in errors.
 */
export function parseRustsecAdvisory(raw: string, origin: string): RustsecRecord {
  // CRLF checkouts (git autocrlf) read the same; line numbers do not change.
  const text = raw.replace(/\r\n/g, '\n');
  const r = new AdvisoryReader(text, origin);
  const collection = collectionOf(r);

  // The front matter: rustsec's parser requires the file to start with the fence.
  if (!text.startsWith(FENCE_OPEN) || !/^[ \t]*\n/.test(text.slice(FENCE_OPEN.length))) {
    r.fail('missing TOML front matter: the file must start with a ```toml fenced block', 1);
  }
  const closeAt = text.indexOf(FENCE_CLOSE, FENCE_OPEN.length);
  if (closeAt < 0) r.fail('unterminated TOML front matter: no closing ``` line', 1);
  // The slice starts on line 1, so TOML line numbers are file line numbers.
  let frontMatter = text.slice(FENCE_OPEN.length, closeAt);
  let lineShift = 0;
  if (!frontMatter.trimStart().startsWith('[advisory]')) {
    // rustsec: "V4 advisories omit the leading `[advisory]` TOML table".
    frontMatter = `[advisory]\n${frontMatter}`;
    lineShift = 1;
  }
  let doc: Table;
  try {
    doc = parseToml(frontMatter) as Table;
  } catch (err) {
    if (err instanceof TomlError) {
      const reason = err.message.split('\n')[0]?.replace(/^Invalid TOML document: /, '') ?? 'invalid TOML';
      throw new InputError(origin, `invalid TOML front matter: ${reason}`, {
        line: Math.max(1, err.line - lineShift),
        column: err.column,
      });
    }
    throw err;
  }

  // The markdown body: a `# ` heading (the title), then the description.
  const body = text.slice(closeAt + FENCE_CLOSE.length).replace(/^[^\n]*/, '');
  const bodyLine = lineAt(text, closeAt + 1) + 1;
  const markdown = body.trim();
  if (!markdown.startsWith('# ')) r.fail('expected a "# Title" heading after the TOML front matter', bodyLine);
  const newline = markdown.indexOf('\n');
  const title = (newline < 0 ? markdown.slice(2) : markdown.slice(2, newline)).trim();
  const description = newline < 0 ? '' : markdown.slice(newline + 1).trim();
  if (title === '') r.fail('empty "# Title" heading after the TOML front matter', bodyLine);

  const fields = new FrontMatter(r, closeAt);
  const advisoryTable = fields.table(doc, 'advisory', true);
  const versionsTable = fields.table(doc, 'versions', true);
  const affectedTable = fields.table(doc, 'affected', false);

  const id = fields.string(advisoryTable, 'advisory.id', true);
  checkAdvisoryId(fields, id);
  const pkg = fields.string(advisoryTable, 'advisory.package', true);
  if (!/^[A-Za-z0-9_-]+$/.test(pkg)) fields.fail(`invalid package name "${pkg}"`, `"${pkg}"`);
  const date = fields.date(advisoryTable, 'advisory.date', true);
  for (const forbidden of ['title', 'description']) {
    // rustsec: title and description come from the markdown, never from the TOML.
    if (advisoryTable[forbidden] !== undefined) {
      fields.fail(`\`${forbidden}\` must not be set in [advisory]: it is taken from the markdown`, `${forbidden} =`);
    }
  }
  const withdrawn = fields.date(advisoryTable, 'advisory.withdrawn', false);
  const aliases = fields.stringArray(advisoryTable, 'advisory.aliases').filter((alias) => alias !== id);
  const related = fields.stringArray(advisoryTable, 'advisory.related');
  const categories = fields.stringArray(advisoryTable, 'advisory.categories');
  const keywords = fields.stringArray(advisoryTable, 'advisory.keywords');
  const references = fields.stringArray(advisoryTable, 'advisory.references');
  for (const ref of references) fields.url(ref);
  const url = fields.optionalString(advisoryTable, 'advisory.url');
  if (url !== null) fields.url(url);
  fields.optionalString(advisoryTable, 'advisory.license');
  const informational = fields.optionalString(advisoryTable, 'advisory.informational');
  const kind = advisoryKind(informational);
  const caveats = kind === 'notice' && informational !== 'notice' ? [`unknown informational kind "${informational}", reported as a notice`] : [];
  const severity = cvssSeverity(fields, fields.optionalString(advisoryTable, 'advisory.cvss'));

  const patched = fields.stringArray(versionsTable, 'versions.patched', true).map((s) => s.trim());
  const unaffected = fields.stringArray(versionsTable, 'versions.unaffected').map((s) => s.trim());
  try {
    checkRustsecVersions(patched, unaffected);
  } catch (err) {
    const culprit = [...patched, ...unaffected].find((req) => (err as Error).message.includes(`"${req}"`));
    fields.fail(`[versions]: ${(err as Error).message}`, culprit === undefined ? 'patched' : `"${culprit}`);
  }

  const functions: Record<string, string[]> = {};
  let os: string[] = [];
  let arch: string[] = [];
  if (affectedTable) {
    os = fields.stringArray(affectedTable, 'affected.os');
    arch = fields.stringArray(affectedTable, 'affected.arch');
    const fnTable = fields.table(affectedTable, 'affected.functions', false);
    for (const path of Object.keys(fnTable ?? {})) {
      checkFunctionPath(fields, path);
      const list = fields.stringList(fnTable?.[path], `[affected.functions] "${path}"`, `"${path}"`, true);
      for (const req of list) {
        try {
          parseCargoRequirement(req);
        } catch (err) {
          fields.fail(`[affected.functions] "${path}": ${(err as Error).message}`, `"${req}"`);
        }
      }
      functions[path] = list.map((s) => s.trim());
    }
  }

  const advisory: Advisory = {
    id,
    aliases,
    related,
    kind,
    ecosystem: 'cargo',
    package: pkg,
    title,
    description,
    published: date,
    modified: null,
    withdrawn,
    severity,
    url: advisoryUrl(id),
    references: dedupe([...(url === null ? [] : [url]), ...references]),
    categories,
    keywords,
    affected: [{ form: 'requirements', patched, unaffected }],
    patched,
    unaffected,
    functions,
    os,
    arch,
    origin,
    ...(caveats.length > 0 ? { caveats } : {}),
  };
  return { collection, advisory };
}

function collectionOf(r: AdvisoryReader): RustsecCollection {
  const first = r.origin.split(/[\\/]/)[0];
  if (first === 'crates' || first === 'rust') return first;
  return r.fail('a RustSec advisory must lie under crates/ or rust/ of the database');
}

/** Typed access to front matter values; errors carry the line of the offending text when it can be found. */
class FrontMatter {
  constructor(
    private readonly r: AdvisoryReader,
    private readonly end: number,
  ) {}

  fail(message: string, needle?: string): never {
    return this.r.fail(message, needle === undefined ? undefined : this.r.lineOf(needle, this.end));
  }

  /** A required key is absent: point at its table's header. */
  missing(key: string): never {
    return this.fail(`missing \`${key}\` in the front matter`, `[${key.split('.')[0]}]`);
  }

  table(parent: Table, key: string, required: true): Table;
  table(parent: Table, key: string, required: boolean): Table | null;
  table(parent: Table, key: string, required: boolean): Table | null {
    const name = key.split('.').pop() as string;
    const value = parent[name];
    if (value === undefined) {
      if (required) this.fail(`missing [${key}] table in the front matter`);
      return null;
    }
    if (!isTomlTable(value)) this.fail(`[${key}] must be a table`, `${name}`);
    return value;
  }

  private value(parent: Table, key: string): unknown {
    return parent[key.split('.').pop() as string];
  }

  string(parent: Table, key: string, required: true): string {
    const value = this.optionalString(parent, key);
    if (value === null || (required && value.trim() === '')) this.missing(key);
    return value;
  }

  optionalString(parent: Table, key: string): string | null {
    const value = this.value(parent, key);
    if (value === undefined) return null;
    if (typeof value !== 'string') this.fail(`\`${key}\` must be a string`, `${key.split('.').pop()} =`);
    return value.trim();
  }

  stringArray(parent: Table, key: string, required = false): string[] {
    const name = key.split('.').pop() as string;
    return this.stringList(this.value(parent, key), key, `${name} =`, required);
  }

  /** `value` must be an array of strings; `needle` locates it in the file for the error. */
  stringList(value: unknown, label: string, needle: string, required = false): string[] {
    if (value === undefined) {
      if (required) this.missing(label);
      return [];
    }
    if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
      this.fail(`\`${label}\` must be an array of strings`, needle);
    }
    return value as string[];
  }

  /** rustsec's Date: an ISO 8601 calendar date YYYY-MM-DD with a year from 2000 to 2100. */
  date(parent: Table, key: string, required: true): string;
  date(parent: Table, key: string, required: false): string | null;
  date(parent: Table, key: string, required: boolean): string | null {
    const value = this.optionalString(parent, key);
    if (value === null) {
      if (required) this.missing(key);
      return null;
    }
    const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
    const valid =
      m !== null &&
      (() => {
        const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
        const day = new Date(Date.UTC(y, mo - 1, d));
        return y >= 2000 && y <= 2100 && day.getUTCFullYear() === y && day.getUTCMonth() === mo - 1 && day.getUTCDate() === d;
      })();
    if (!valid) this.fail(`\`${key}\` is not a valid date (YYYY-MM-DD, year 2000 to 2100): "${value}"`, `"${value}"`);
    return value;
  }

  url(value: string): void {
    if (!URL.canParse(value) || !['http:', 'https:'].includes(new URL(value).protocol)) {
      this.fail(`invalid URL "${value}"`, `"${value}"`);
    }
  }
}

/**
 * rustsec's Id::from_str validates RUSTSEC-, CVE- and TALOS- ids as PREFIX-YEAR-NUMBER.
 * The database's own advisories are RUSTSEC ids (crates/) or CVE ids (rust/); GHSA ids are
 * accepted too. The RUSTSEC-0000-0000 placeholder is an id never assigned: refused.
 */
function checkAdvisoryId(fields: FrontMatter, id: string): void {
  const valid =
    /^(RUSTSEC|CVE|TALOS)-(\d{4})-\d+$/.test(id) || /^GHSA(-[23456789cfghjmpqrvwx]{4}){3}$/.test(id);
  if (!valid) fields.fail(`invalid advisory id "${id}" (expected RUSTSEC-YYYY-NNNN)`, `"${id}"`);
  if (id === 'RUSTSEC-0000-0000') fields.fail('advisory id is the unassigned placeholder RUSTSEC-0000-0000', `"${id}"`);
  const year = /^[A-Z]+-(\d{4})-/.exec(id);
  if (year && (Number(year[1]) < 2000 || Number(year[1]) > 2100)) {
    fields.fail(`out-of-range year in advisory id "${id}"`, `"${id}"`);
  }
}

/**
 * rustsec parses an unknown `informational` value as `Informational::Other`: the advisory
 * loads, is never a vulnerability, and cargo-audit gives it no warning kind. Our kinds have
 * no "other", so it stays informational as a notice rather than disappear.
 */
function advisoryKind(informational: string | null): AdvisoryKind {
  switch (informational) {
    case null:
      return 'vulnerability';
    case 'unmaintained':
    case 'unsound':
    case 'notice':
      return informational;
    default:
      return 'notice';
  }
}

function cvssSeverity(fields: FrontMatter, vector: string | null): Severity | null {
  if (vector === null) return null;
  try {
    return severityFromCvss(vector);
  } catch (err) {
    return fields.fail(`invalid \`advisory.cvss\`: ${(err as Error).message}`, `"${vector}"`);
  }
}

/** rustsec's FunctionPath: at least two `::`-separated identifiers, no parameters. */
function checkFunctionPath(fields: FrontMatter, path: string): void {
  const segments = path.split('::');
  const ok =
    segments.length >= 2 && segments.every((s) => /^[A-Za-z_<][A-Za-z0-9_<>,]*$/.test(s));
  if (!ok) fields.fail(`[affected.functions]: invalid path "${path}" (crate::path::to::item, no parameters)`, `"${path}"`);
}

/**
 * The advisory's page: what cargo-audit shows as URL (`Id::url()`): rustsec.org for RUSTSEC
 * ids, cve.org for the CVE ids of rust/. The `.html` form is the one RustSec's own OSV export
 * links, so native and OSV records of one advisory carry the same URL. The advisory's own
 * `url` (an announcement, issue or PR) leads the references.
 */
function advisoryUrl(id: string): string {
  if (id.startsWith('RUSTSEC-')) return `https://rustsec.org/advisories/${id}.html`;
  if (id.startsWith('CVE-')) return `https://www.cve.org/CVERecord?id=${id}`;
  if (id.startsWith('GHSA-')) return `https://github.com/advisories/${id}`;
  return `https://www.talosintelligence.com/reports/${id}`;
}

function dedupe(values: string[]): string[] {
  return [...new Set(values)];
}
