import { InputError } from '../../core/errors.js';

/**
 * A binary package's `control` file (deb-control(5)): one paragraph of `Field: value` lines,
 * continuation lines starting with a space or tab. Field names compare case-insensitively, so
 * they are kept lower-cased. Folded values keep their line breaks, as dpkg does.
 */
export function parseControl(text: string, label: string): Map<string, string> {
  const fields = new Map<string, string>();
  let last: string | null = null;
  const lines = text.split('\n');
  for (const [index, line] of lines.entries()) {
    if (line.trim() === '') {
      if (fields.size > 0 && lines.slice(index).some((l) => l.trim() !== '')) throw new InputError(label, 'more than one paragraph in a control file', { line: index + 1 });
      continue;
    }
    if (line.startsWith('#')) continue;
    if (line.startsWith(' ') || line.startsWith('\t')) {
      if (last === null) throw new InputError(label, 'a continuation line before any field', { line: index + 1 });
      fields.set(last, `${fields.get(last) ?? ''}\n${line.trim()}`);
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) throw new InputError(label, `not a "Field: value" line: ${JSON.stringify(line.slice(0, 60))}`, { line: index + 1 });
    const name = line.slice(0, colon).toLowerCase();
    if (fields.has(name)) throw new InputError(label, `field ${line.slice(0, colon)} appears twice`, { line: index + 1 });
    fields.set(name, line.slice(colon + 1).trim());
    last = name;
  }
  return fields;
}

/** One package relation of a field such as Built-Using: `name (= version)`. */
export interface Relation {
  name: string;
  /** The version an `=` relation pins; null when the relation has none. */
  version: string | null;
}

/**
 * A relation field (deb-control(5), "Package interrelationship fields") as a list: comma
 * separated, an optional `:arch` qualifier, an optional `(op version)`, and no alternatives
 * (`|`), which the Built-Using fields never hold: they record what was built in, exactly.
 */
export function parseRelations(value: string, field: string, label: string): Relation[] {
  const relations: Relation[] = [];
  for (const raw of value.split(',')) {
    const item = raw.replace(/\s+/g, ' ').trim();
    if (item === '') continue;
    const match = /^([a-z0-9][a-z0-9+.-]+)(?::[a-z0-9-]+)? ?(?:\( ?(<<|<=|=|>=|>>) ?([^()\s]+) ?\))?$/.exec(item);
    if (!match) throw new InputError(label, `${field}: ${JSON.stringify(item)} is not a package relation "name (= version)"`);
    const [, name, op, version] = match as unknown as [string, string, string | undefined, string | undefined];
    if (op !== undefined && op !== '=') throw new InputError(label, `${field}: ${JSON.stringify(item)} gives a range, not the exact version built in`);
    relations.push({ name, version: version ?? null });
  }
  return relations;
}
