/*
 * Package names as Cargo accepts them (cargo-util-schemas `restricted_names::validate_package_name`,
 * applied to every manifest's `[package] name` and every dependency name): each `::`-separated
 * part non-empty, starting with a Unicode XID_Start character or `_` (never a digit), and going on
 * with XID_Continue characters or `-`. No manifest can name anything else, so a Cargo.lock entry
 * with another name is never part of what Cargo builds: `--locked` fails on it.
 */

const XID_START = /^[\p{XID_Start}_]$/u;
const XID_CONTINUE = /^[\p{XID_Continue}-]$/u;
/** The whole rule in one test for the common case; the slow path only says what is wrong. */
const VALID_PART = /^[\p{XID_Start}_][\p{XID_Continue}-]*$/u;

/** An ASCII name in one part: nearly every crate, accepted without the Unicode tables. */
const PLAIN_NAME = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/** Why Cargo would refuse `name` as a package name, or null when it accepts it. */
export function crateNameProblem(name: string): string | null {
  if (PLAIN_NAME.test(name)) return null;
  for (const part of name.split('::')) {
    if (VALID_PART.test(part)) continue;
    if (part === '') return name === '' ? 'it is empty' : 'it has an empty `::` part';
    const first = [...part][0] as string;
    if (/^[0-9]$/.test(first)) return 'it starts with a digit';
    if (!XID_START.test(first)) return `it starts with ${describeChar(first)}, which is not a letter or \`_\``;
    const bad = [...part].slice(1).find((ch) => !XID_CONTINUE.test(ch)) as string;
    return `it holds ${describeChar(bad)}; Cargo allows letters, digits, \`-\` and \`_\``;
  }
  return null;
}

function describeChar(ch: string): string {
  const code = ch.codePointAt(0) as number;
  const hex = `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
  return code < 0x20 || code === 0x7f || (code >= 0x80 && code < 0xa0) || ch.trim() === '' ? hex : `\`${ch}\` (${hex})`;
}
