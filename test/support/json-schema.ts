import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import Ajv, { type Options } from 'ajv';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { PROJECT_ROOT } from './shared.js';

/** The one Ajv set-up of the suite: official schemas (CycloneDX, SPDX, SARIF) and stowage's own. */

export type JsonSchema = Record<string, unknown>;

export function readJsonSchema(path: string): JsonSchema {
  return JSON.parse(readFileSync(path, 'utf8')) as JsonSchema;
}

export interface ValidatorOptions {
  /** Schemas the main one refers to, by `$id`. */
  references?: Record<string, JsonSchema>;
  /**
   * Draft 2020-12 in strict mode, for stowage's own schemas: a misspelt keyword is an error,
   * not a silently absent check. The official schemas are draft-07 and use keywords strict
   * mode rejects, so they are read leniently.
   */
  draft2020?: boolean;
}

function ajvFor(options: ValidatorOptions) {
  const settings: Options = { allErrors: true, schemas: options.references ?? {} };
  const ajv = options.draft2020 ? new Ajv2020.default({ ...settings, strict: true }) : new Ajv.default({ ...settings, strict: false });
  addFormats.default(ajv);
  // ajv-formats has no IRI formats; every URL stowage writes is absolute, so the WHATWG URL
  // parser is a strict enough check (it rejects spaces, bad schemes, broken authorities).
  ajv.addFormat('iri-reference', (value: string) => URL.canParse(value));
  ajv.addFormat('idn-email', true);
  return ajv;
}

/** Whether a document is valid, and if not, every reason, one a line. */
export type SchemaCheck = (document: unknown) => { valid: boolean; errors: string };

export function schemaCheck(schema: JsonSchema, options: ValidatorOptions = {}): SchemaCheck {
  const ajv = ajvFor(options);
  const validate = ajv.compile(schema);
  return (document) => {
    const valid = validate(document);
    return { valid, errors: valid ? '' : ajv.errorsText(validate.errors, { separator: '\n' }) };
  };
}

/** An assertion that a document is valid against the schema, naming every violation. */
export function schemaValidator(schema: JsonSchema, options: ValidatorOptions = {}): (document: unknown) => void {
  const check = schemaCheck(schema, options);
  return (document) => {
    const { valid, errors } = check(document);
    assert.ok(valid, errors);
  };
}

/** Checks a schema against the draft 2020-12 meta-schema and compiles it in strict mode. */
export function assertDraft2020Schema(schema: JsonSchema): void {
  assert.equal(schema['$schema'], 'https://json-schema.org/draft/2020-12/schema');
  const ajv = ajvFor({ draft2020: true });
  assert.equal(ajv.validateSchema(schema), true, ajv.errorsText(ajv.errors));
  // Strict mode refuses unknown keywords and types left implicit, so a typo cannot silently check nothing.
  ajv.compile(schema);
}

/** A validator for CycloneDX 1.6 documents, from the schemas @cyclonedx/cyclonedx-library ships. */
export function cycloneDx16Validator(): (doc: unknown) => void {
  const dir = join(dirname(createRequire(import.meta.url).resolve('@cyclonedx/cyclonedx-library/package.json')), 'res', 'schema');
  return schemaValidator(readJsonSchema(join(dir, 'bom-1.6.SNAPSHOT.schema.json')), {
    references: {
      'http://cyclonedx.org/schema/spdx.SNAPSHOT.schema.json': readJsonSchema(join(dir, 'spdx.SNAPSHOT.schema.json')),
      'http://cyclonedx.org/schema/jsf-0.82.SNAPSHOT.schema.json': readJsonSchema(join(dir, 'jsf-0.82.SNAPSHOT.schema.json')),
    },
  });
}

/** The subset of an SPDX 2.3 JSON document the specification's own rules below look at. */
interface SpdxShape {
  packages: { SPDXID: string; checksums?: { checksumValue: string }[] }[];
  relationships: { spdxElementId: string; relatedSpdxElement: string }[];
  creationInfo: { created: string };
  documentNamespace: string;
}

/**
 * A validator for SPDX 2.3 documents: the JSON schema from spdx/spdx-spec
 * (test/fixtures/schemas/README.md says where it comes from), plus the rules of the
 * specification its JSON schema does not encode.
 */
export function spdx23Validator(): (doc: unknown) => void {
  const validateSchema = schemaValidator(readJsonSchema(join(PROJECT_ROOT, 'test', 'fixtures', 'schemas', 'spdx-schema-2.3.json')));
  return (document) => {
    validateSchema(document);
    const doc = document as SpdxShape;
    const ids = new Set<string>();
    for (const p of doc.packages) {
      assert.match(p.SPDXID, /^SPDXRef-[A-Za-z0-9.-]+$/, 'SPDX 2.3 section 7.2: SPDXRef- then letters, digits, . and -');
      assert.ok(!ids.has(p.SPDXID), `SPDXID ${p.SPDXID} is unique`);
      ids.add(p.SPDXID);
      for (const c of p.checksums ?? []) assert.match(c.checksumValue, /^[0-9a-f]+$/, 'lower-case hex checksums');
    }
    for (const r of doc.relationships) {
      assert.ok(r.spdxElementId === 'SPDXRef-DOCUMENT' || ids.has(r.spdxElementId), `${r.spdxElementId} is defined`);
      assert.ok(ids.has(r.relatedSpdxElement), `${r.relatedSpdxElement} is defined`);
    }
    assert.match(doc.creationInfo.created, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/, 'SPDX 2.3 section 6.9: YYYY-MM-DDThh:mm:ssZ');
    assert.ok(URL.canParse(doc.documentNamespace) && !doc.documentNamespace.includes('#'), 'SPDX 2.3 section 6.5: an absolute URI without #');
  };
}
