import parseSpdx from 'spdx-expression-parse';
import { StowageError } from '../core/errors.js';
import type { Ecosystem } from '../core/package.js';

/**
 * SPDX licence expressions as packages declare them, and the licence of an application that
 * bundles them.
 *
 * Syntax and identifiers are checked by spdx-expression-parse against the SPDX licence and
 * exception lists. Identifiers must be spelled as the list spells them (`MIT`, not `mit`) and
 * nothing is guessed: `BSD` could be any of several licences, so it is reported, not corrected.
 */

/** A licence term (`MIT`, `GPL-2.0+`, `Apache-2.0 WITH LLVM-exception`), or AND / OR of terms. */
export type LicenseExpression =
  | { kind: 'term'; license: string; exception: string | null }
  | { kind: 'and' | 'or'; operands: LicenseExpression[] };

/**
 * The SPDX expression a package's `license` field states, in canonical form (operators in
 * upper case, single spaces, parentheses only where nesting needs them), or null when the text
 * is not a valid SPDX expression, so the caller can report it as missing with the raw text.
 *
 * Cargo: the `/` separator that old crates use (`MIT/Apache-2.0`) means OR, as Cargo and
 * crates.io read it. npm: only the string form; the caller turns legacy `{type}` objects and
 * `licenses: [...]` arrays into strings. npm's `UNLICENSED` and `SEE LICENSE IN <file>` are
 * not SPDX expressions and give null, as does a `DocumentRef-` (it needs a document to refer to).
 */
export function normalizeLicense(raw: string, ecosystem: Ecosystem): string | null {
  let text = raw.trim();
  if (text === '') return null;
  // Only Cargo defines `/` as OR; in an npm string it is part of a (non-SPDX) name like `MIT/X11`.
  if (ecosystem === 'cargo') text = text.replace(/\s*\/\s*/g, ' OR ');
  const parsed = parseLicenseExpression(text);
  if (parsed === null) return null;
  // `DocumentRef-X:LicenseRef-Y` points into another SPDX document, which a manifest cannot carry.
  if (licenseIdsIn(parsed).some((id) => id.startsWith('DocumentRef-'))) return null;
  return renderLicenseExpression(parsed);
}

/**
 * The licence of an application together with every library it bundles: the AND of all the
 * expressions, simplified. Throws a StowageError naming an expression that is not valid SPDX.
 *
 * The simplification applies only identities of Boolean algebra to AND and OR, treating each
 * term (with its `+` and its `WITH` exception) as an opaque atom, so the result means exactly
 * what the conjunction of the inputs means and keeps every distinct term:
 * - associativity: `(A AND B) AND C` is `A AND B AND C`; the same for OR;
 * - idempotence: an operand identical to another of the same AND / OR is dropped
 *   (`A AND A` is `A`; `(MIT OR Apache-2.0) AND (Apache-2.0 OR MIT)` is `Apache-2.0 OR MIT`);
 * - commutativity: operands are sorted (terms first, then parenthesised groups, each by their
 *   text) so that the result does not depend on input order;
 * - an AND / OR left with one operand is that operand.
 * Absorption (`A AND (A OR B)` is `A`) is also an identity but drops the alternative B, so it
 * is not applied: a reader of the combined licence still sees every licence on offer.
 */
export function combineLicenses(expressions: string[]): string {
  if (expressions.length === 0) throw new StowageError('no licence expressions to combine');
  const operands = expressions.map((text) => {
    const parsed = parseLicenseExpression(text);
    if (parsed === null) throw new StowageError(`not a valid SPDX licence expression: "${text}"`);
    return parsed;
  });
  return renderLicenseExpression(simplify({ kind: 'and', operands }));
}

/** The licence identifiers an expression names (`LicenseRef-…` included), without exceptions. */
export function licenseIdsOf(expression: string): string[] {
  const parsed = parseLicenseExpression(expression);
  if (parsed === null) throw new StowageError(`not a valid SPDX licence expression: "${expression}"`);
  return licenseIdsIn(parsed);
}

function licenseIdsIn(expression: LicenseExpression): string[] {
  const ids = new Set<string>();
  const visit = (node: LicenseExpression): void => {
    if (node.kind === 'term') ids.add(node.license.replace(/\+$/, ''));
    else node.operands.forEach(visit);
  };
  visit(expression);
  return [...ids].sort();
}

/** Parses an SPDX expression; null when it is not one. Same-operator chains are flattened. */
export function parseLicenseExpression(text: string): LicenseExpression | null {
  let info: parseSpdx.Info;
  try {
    info = parseSpdx(text);
  } catch {
    // The parser throws SyntaxError on bad input and, on some truncated input (`MIT AND`),
    // a TypeError: either way the text is not an expression.
    return null;
  }
  return fromParserTree(info);
}

function fromParserTree(info: parseSpdx.Info): LicenseExpression {
  if ('conjunction' in info) {
    const kind = info.conjunction;
    const operands: LicenseExpression[] = [];
    for (const side of [info.left, info.right]) {
      const node = fromParserTree(side);
      if (node.kind === kind) operands.push(...node.operands);
      else operands.push(node);
    }
    return { kind, operands };
  }
  return { kind: 'term', license: info.plus ? `${info.license}+` : info.license, exception: info.exception ?? null };
}

/** Canonical text: upper-case operators, nested groups in parentheses. */
export function renderLicenseExpression(node: LicenseExpression): string {
  return render(node, false);
}

function render(node: LicenseExpression, nested: boolean): string {
  if (node.kind === 'term') return node.exception === null ? node.license : `${node.license} WITH ${node.exception}`;
  const text = node.operands.map((o) => render(o, true)).join(node.kind === 'and' ? ' AND ' : ' OR ');
  // Parentheses even where precedence would allow none (AND inside OR): no reader has to know
  // that AND binds tighter.
  return nested && node.operands.length > 1 ? `(${text})` : text;
}

function simplify(node: LicenseExpression): LicenseExpression {
  if (node.kind === 'term') return node;
  const flat: LicenseExpression[] = [];
  for (const operand of node.operands.map(simplify)) {
    if (operand.kind === node.kind) flat.push(...operand.operands);
    else flat.push(operand);
  }
  const unique = new Map<string, LicenseExpression>();
  for (const operand of flat) {
    const key = render(operand, true);
    if (!unique.has(key)) unique.set(key, operand);
  }
  const operands = [...unique].sort(compareOperands).map(([, operand]) => operand);
  const only = operands[0];
  if (operands.length === 1 && only) return only;
  return { kind: node.kind, operands };
}

function compareOperands([aKey, a]: [string, LicenseExpression], [bKey, b]: [string, LicenseExpression]): number {
  const aGroup = a.kind === 'term' ? 0 : 1;
  const bGroup = b.kind === 'term' ? 0 : 1;
  if (aGroup !== bGroup) return aGroup - bGroup;
  // Code-unit order, not localeCompare: the same on every machine and locale.
  return aKey < bKey ? -1 : aKey > bKey ? 1 : 0;
}
