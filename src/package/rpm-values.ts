import type { Ecosystem } from '../core/package.js';
import { parseLicenseExpression, renderLicenseExpression } from '../sbom/licenses.js';

/**
 * What may reach an RPM spec, field by field. A spec is parsed line by line and every line is
 * macro-expanded before rpmbuild decides what it is: a newline in a value starts a new line
 * (`%post`, a scriptlet run as root on install), `%(...)` runs a shell command at build time,
 * `%{...}` expands a macro, and even an escaped `%%post` or `%%if` at the start of a
 * `%description` line is expanded to `%post` / `%if` and then read as a section or a
 * conditional (rpm 4.18). A space or comma in a dependency splits it into two.
 *
 * So each field has a whitelist of what real packages use, and anything else stops packaging
 * with the package and the field named: nothing is escaped into something that might still
 * parse. The one exception is free text (Summary, %description, URL), where `%` is doubled.
 */

/** Values are shown JSON-quoted, so a newline or an escape sequence in one cannot split or redraw the message. */
export function quoted(value: string): string {
  return JSON.stringify(value);
}

/**
 * A crate name as Cargo accepts one for a package: ASCII letters, digits, `-` and `_`, not
 * starting with a digit or `-` (crates.io allows no other; Cargo's Unicode identifiers are
 * not used by published crates).
 */
const CRATE_NAME = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/**
 * An npm package name as the registry accepts one (validate-npm-package-name, old packages
 * included: upper case, `~`): URL-safe characters, not starting with `.` or `_`, an optional
 * `@scope/`. Old names may also hold `!'()*`; those are refused here, as `(` and `)` would
 * change the meaning of `bundled(npm(NAME))`.
 */
const NPM_NAME = /^(?:@[A-Za-z0-9~-][A-Za-z0-9._~-]*\/)?[A-Za-z0-9~-][A-Za-z0-9._~-]*$/;
const NPM_NAME_MAX = 214;

/** Semantic Versioning 2.0.0 (semver.org's own expression): what Cargo and the npm registry require. */
const SEMVER =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/;

/** RPM's Name tag (rpmbuild allows letters, digits and `.-_+`). */
export const RPM_NAME = /^[A-Za-z0-9][A-Za-z0-9._+-]*$/;
/** `--release`, and RPM's Release tag: no `-`. */
export const RPM_RELEASE = /^[A-Za-z0-9._+~]+$/;
/** A file name the spec writes bare (Source lines, `%license`, binaries): no space, quote, glob or `%`. */
const PLAIN_FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._+~^-]*$/;
/** A Cargo feature name, or a package's (`package/feature`), as `cargo build --features` takes it. */
export const CARGO_FEATURE = /^[A-Za-z0-9_][A-Za-z0-9_+.-]*(?:\/[A-Za-z0-9_][A-Za-z0-9_+.-]*)?$/;
/** One segment of a path the spec's shell lines use bare. */
const PLAIN_SEGMENT = /^[A-Za-z0-9._@+-]+$/;
/** The characters RFC 3986 allows in a URL. */
const URL_CHARS = /^[A-Za-z0-9\-._~:/?#[\]@!$&'()*+,;=%]+$/;
/** Control characters (C0 but tab and newline, DEL, C1): never part of text in a spec. */
function hasControl(text: string): boolean {
  for (const ch of text) {
    const code = ch.codePointAt(0) as number;
    if ((code < 0x20 && ch !== '\t' && ch !== '\n') || (code >= 0x7f && code <= 0x9f)) return true;
  }
  return false;
}

export function packageNameProblem(ecosystem: Ecosystem, name: string): string | null {
  if (ecosystem === 'cargo') {
    return CRATE_NAME.test(name) ? null : `name ${quoted(name)} is not a crate name Cargo accepts (letters, digits, - and _)`;
  }
  if (name.length > NPM_NAME_MAX) return `name is ${name.length} characters long, over npm's ${NPM_NAME_MAX}`;
  return NPM_NAME.test(name) ? null : `name ${quoted(name)} is not an npm package name the registry accepts (letters, digits, - . _ ~, an optional @scope/)`;
}

export function versionProblem(version: string): string | null {
  return SEMVER.test(version) ? null : `version ${quoted(version)} is not a semantic version (MAJOR.MINOR.PATCH[-PRE][+BUILD])`;
}

/** An SPDX expression exactly as stowage renders one (so only list identifiers, LicenseRef-, operators). */
export function licenseProblem(license: string): string | null {
  const parsed = parseLicenseExpression(license);
  return parsed !== null && renderLicenseExpression(parsed) === license ? null : `licence ${quoted(license)} is not a parsed SPDX expression`;
}

/** A one-line text (Summary): control characters refused; whitespace runs become one space. */
export function summaryProblem(text: string): string | null {
  if (hasControl(text.replace(/\r\n/g, '\n'))) return `${quoted(text)} holds a control character`;
  return text.trim() === '' ? 'is empty' : null;
}

/**
 * `%description` text, as it will be written (with `%` doubled): no control characters, and no
 * line whose first non-blank character is `%` (rpmbuild expands `%%` first, then reads the
 * line as a section such as `%post`, or a conditional) or `#` (dropped as a comment).
 */
export function descriptionProblem(text: string): string | null {
  if (hasControl(text.replace(/\r\n/g, '\n'))) return `${quoted(text)} holds a control character`;
  const lines = text.replace(/\r\n/g, '\n').split('\n');
  const bad = lines.findIndex((line) => /^\s*[%#]/.test(line));
  if (bad >= 0) return `line ${bad + 1} (${quoted(lines[bad] as string)}) starts with "${(lines[bad] as string).trim()[0]}", which rpmbuild reads as spec syntax, not text`;
  return null;
}

/** The project's home page: an http(s) URL of RFC 3986 characters only. */
export function urlProblem(url: string): string | null {
  if (!URL_CHARS.test(url)) return `${quoted(url)} holds characters a URL cannot (spaces, quotes, control characters)`;
  let protocol: string;
  try {
    protocol = new URL(url).protocol;
  } catch {
    return `${quoted(url)} is not a URL`;
  }
  return protocol === 'http:' || protocol === 'https:' ? null : `${quoted(url)} is not an http(s) URL`;
}

export function fileNameProblem(name: string): string | null {
  return PLAIN_FILE_NAME.test(name) ? null : `${quoted(name)} is not a plain file name (letters, digits, . _ + ~ ^ -)`;
}

/** A Cargo feature the spec's cargo lines name bare (`--features a,b`): `name` or `package/name`. */
export function cargoFeatureProblem(feature: string): string | null {
  return CARGO_FEATURE.test(feature) ? null : `${quoted(feature)} is not a Cargo feature name (letters, digits, _ + . -, one /)`;
}

/** A relative path inside the package that shell lines use bare: plain segments, no `.`/`..`. */
export function relativePathProblem(path: string): string | null {
  const segments = path.replace(/^\.\//, '').split('/');
  const plain = segments.every((s) => PLAIN_SEGMENT.test(s) && s !== '.' && s !== '..');
  return plain ? null : `${quoted(path)} is not a plain relative path (letters, digits, . _ @ + - between /)`;
}
