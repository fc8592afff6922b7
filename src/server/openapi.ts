import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TOOL_ROOT, TOOL_VERSION } from '../core/tool.js';
import { SEVERITY_LEVELS } from '../core/advisory.js';
import { ANALYSIS_STATES, JUSTIFICATIONS } from '../sbom/cyclonedx-vex.js';
import { DEFAULT_LIMIT, MAX_FULL_VIEW_LIMIT, MAX_LIMIT } from './pagination.js';

/**
 * The OpenAPI 3.1 document of /api/v1, served at /api/v1/openapi.json. Answers have the shapes
 * of the command line's JSON, so their schemas are the files schema/fleet-*.v1.json (JSON Schema
 * 2020-12, as OpenAPI 3.1 takes it), embedded under components.schemas with their `$id`s; a
 * list adds `page`. The tests validate every answer they get against this document.
 */

const SCHEMA_FILES = ['audit-report', 'fleet-apps', 'fleet-apps-summary', 'fleet-affected', 'fleet-history', 'fleet-diff', 'fleet-add', 'fleet-sync'] as const;

const id = (name: string): string => `urn:stowage:schema:${name}:v1`;
const ref = (target: string): { $ref: string } => ({ $ref: target });

const PAGE = {
  $id: id('api-page'),
  type: 'object',
  description:
    `A list's page: ?limit= (1 to ${MAX_LIMIT}, default ${DEFAULT_LIMIT}) and ?offset= ask for it; next is the offset of the following page, null on the last. ` +
    'The list of applications also pages by name: ?after=NAME, and nextAfter for the following page (null on the last).',
  required: ['limit', 'offset', 'total', 'next'],
  additionalProperties: false,
  properties: {
    limit: { type: 'integer', minimum: 1, maximum: MAX_LIMIT },
    offset: { type: 'integer', minimum: 0 },
    total: { type: 'integer', minimum: 0, description: 'items in the whole list' },
    next: { type: ['integer', 'null'], minimum: 0 },
    nextAfter: { type: ['string', 'null'], description: 'keyset paging (GET /apps): ?after= this for the following page' },
  },
};

const ERROR = {
  $id: id('api-error'),
  type: 'object',
  description: 'The one line the command line would print for the same problem.',
  required: ['error'],
  additionalProperties: false,
  properties: { error: { type: 'string', minLength: 1 } },
};

const TRIAGE_RECORDED = {
  $id: id('api-triage'),
  type: 'object',
  description: 'The decision recorded, and the current findings it governs (decision applied): the body of the `triage` event webhooks get.',
  required: ['schemaVersion', 'decision', 'apps'],
  additionalProperties: false,
  properties: {
    schemaVersion: { const: 1 },
    decision: {
      type: 'object',
      required: ['scope', 'aliases', 'package', 'range', 'state', 'justification', 'reason', 'expires', 'by', 'at'],
      additionalProperties: false,
      properties: {
        scope: { enum: ['application', 'fleet'] },
        aliases: { type: 'array', items: { type: 'string' } },
        package: { type: ['string', 'null'] },
        range: { type: ['string', 'null'] },
        state: { enum: [...ANALYSIS_STATES] },
        justification: { enum: [...JUSTIFICATIONS, null] },
        reason: { type: 'string' },
        expires: { type: ['string', 'null'] },
        by: { type: 'string', description: 'the name of the token that made the request' },
        at: { type: 'string' },
      },
    },
    apps: {
      type: 'array',
      items: {
        type: 'object',
        required: ['name', 'revision', 'seq', 'findings', 'triage'],
        additionalProperties: false,
        properties: {
          name: { type: 'string' },
          revision: { type: 'string' },
          seq: { type: 'integer' },
          findings: { type: 'array', items: ref(`${id('audit-report')}#/$defs/finding`) },
          triage: { type: 'array', items: ref(`${id('fleet-apps')}#/$defs/triageNote`) },
        },
      },
    },
  },
};

/** A list answer: the command's JSON fields, and `page`. */
function listOf(name: string, fields: string[]): Record<string, unknown> {
  return {
    type: 'object',
    required: [...fields, 'page'],
    additionalProperties: false,
    properties: { ...Object.fromEntries(fields.map((f) => [f, ref(`${id(name)}#/properties/${f}`)])), page: ref(id('api-page')) },
  };
}

const json = (schema: unknown): Record<string, unknown> => ({ 'application/json': { schema } });
const answer = (description: string, schema: unknown): Record<string, unknown> => ({ description, content: json(schema) });
const problem = (description: string): Record<string, unknown> => answer(description, ref(id('api-error')));

/** The lists kept by the server (answer-cache.ts): an ETag with every 200, and 304 when If-None-Match names it. */
const NOT_MODIFIED = { '304': { description: 'If-None-Match names the current ETag: the answer has not changed since' } };

const READ_ERRORS = {
  '400': problem('malformed request: the command line\'s one line'),
  '401': problem('no token, or an unknown or revoked one (reads need one unless the server runs with --public-read)'),
};
const WRITE_ERRORS = {
  '400': problem('malformed request or input: the command line\'s one line; nothing stored'),
  '401': problem('no token, or an unknown or revoked one; nothing changed'),
  '403': problem('a read-only token, or a cross-site form; nothing changed'),
  '413': problem('the body is over its limit, or an archive in an upload expands past an upload\'s caps; nothing stored'),
};
const NOT_FOUND = { '404': problem('unknown application, revision or advisory') };

const pathParam = (name: string, description: string): Record<string, unknown> => ({ name, in: 'path', required: true, description, schema: { type: 'string' } });
const queryParam = (name: string, description: string, schema: Record<string, unknown> = { type: 'string' }): Record<string, unknown> => ({ name, in: 'query', required: false, description, schema });
const limitParam = (lower = ''): Record<string, unknown> =>
  queryParam('limit', `items per page, 1 to ${MAX_LIMIT} (default ${DEFAULT_LIMIT})${lower}`, { type: 'integer', minimum: 1, maximum: MAX_LIMIT });
const OFFSET = queryParam('offset', 'items to skip (default 0)', { type: 'integer', minimum: 0 });
const PAGING = [limitParam(), OFFSET];
const APP = pathParam('name', 'the application\'s name');

function readSchema(name: string): Record<string, unknown> {
  if (TOOL_ROOT === null) throw new Error('stowage\'s package directory (with schema/) was not found');
  return JSON.parse(readFileSync(join(TOOL_ROOT, 'schema', `${name}.v1.json`), 'utf8')) as Record<string, unknown>;
}

let built: Record<string, unknown> | undefined;

export function openApiDocument(): Record<string, unknown> {
  built ??= {
    openapi: '3.1.0',
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    info: {
      title: 'stowage fleet API',
      version: TOOL_VERSION,
      description:
        'The fleet over HTTP: the answers of `stowage fleet ... --format json`, lists paged in the store. Authorization: Bearer TOKEN ' +
        '(stowage fleet token create NAME) on every write, and on reads unless the server runs with --public-read.',
    },
    servers: [{ url: '/api/v1' }],
    security: [{ bearer: [] }],
    paths: {
      '/apps': {
        get: {
          summary:
            'the fleet, a page at a time: each application\'s open findings counted by severity after triage (fleet status --summary), ' +
            'or with ?view=full its findings (fleet status)',
          parameters: [
            limitParam(`; with ?view=full 1 to ${MAX_FULL_VIEW_LIMIT}`),
            OFFSET,
            queryParam('after', 'the page after this application name (keyset paging; instead of ?offset=)'),
            queryParam('view', `summary (default): counts, no findings; full: every finding and triage note, at most ${MAX_FULL_VIEW_LIMIT} applications a page`, { enum: ['summary', 'full'] }),
            queryParam('state', 'only applications with a finding in this state, as evaluated (before triage); failing also selects those not audited', { enum: ['failing', 'warning', 'ignored'] }),
            queryParam('severity', 'only applications with a finding of at least this severity', { enum: [...SEVERITY_LEVELS] }),
            queryParam('q', 'only applications whose name contains this text (any letter case)'),
          ],
          responses: {
            '200': answer('applications in code-point order of name', {
              // anyOf, not oneOf: an empty page (no application, or none matching) is both.
              anyOf: [listOf('fleet-apps-summary', ['schemaVersion', 'apps']), listOf('fleet-apps', ['schemaVersion', 'apps'])],
            }),
            ...NOT_MODIFIED,
            ...READ_ERRORS,
          },
        },
      },
      '/apps/{name}': {
        get: {
          summary: 'one application: its current revision (or ?revision=) and findings (fleet show)',
          parameters: [APP, queryParam('revision', 'a past revision: sha256:HEX or at least 12 hex digits')],
          responses: { '200': answer('the application', ref(id('fleet-apps'))), ...READ_ERRORS, ...NOT_FOUND },
        },
      },
      '/apps/{name}/history': {
        get: {
          summary: 'the application\'s revisions in the order recorded (fleet history), a page at a time',
          parameters: [APP, ...PAGING],
          responses: { '200': answer('history, oldest first', listOf('fleet-history', ['schemaVersion', 'app', 'history'])), ...READ_ERRORS, ...NOT_FOUND },
        },
      },
      '/apps/{name}/diff': {
        get: {
          summary: 'packages and findings between two revisions (fleet diff)',
          parameters: [APP, { ...queryParam('from', 'a revision: sha256:HEX or at least 12 hex digits'), required: true }, queryParam('to', 'a revision (default: the current one)')],
          responses: { '200': answer('the difference', ref(id('fleet-diff'))), ...READ_ERRORS, ...NOT_FOUND },
        },
      },
      '/apps/{name}/export': {
        get: {
          summary: 'the SBOM of the current (or a past) revision, or its CycloneDX VEX with the triage decisions applied (fleet export)',
          parameters: [
            APP,
            { ...queryParam('format', 'vex, cyclonedx (CycloneDX 1.6) or spdx (SPDX 2.3)'), required: true },
            queryParam('revision', 'a past revision: sha256:HEX or at least 12 hex digits (default: the current one)'),
          ],
          responses: {
            '200': {
              description: 'the document',
              content: { 'application/vnd.cyclonedx+json': { schema: { type: 'object' } }, 'application/spdx+json': { schema: { type: 'object' } } },
            },
            ...READ_ERRORS,
            ...NOT_FOUND,
          },
        },
      },
      '/apps/{name}/revisions': {
        post: {
          summary: 'a new revision from uploaded lockfiles and manifests, or a CycloneDX SBOM, answered with its findings (fleet add)',
          parameters: [APP],
          requestBody: {
            required: true,
            content: {
              'multipart/form-data': {
                schema: { type: 'object', additionalProperties: { type: 'string', contentMediaType: 'application/octet-stream' } },
                description:
                  'one file part per document, its filename the document\'s path in the application (crates/core/Cargo.toml); or one lockfile, ' +
                  'SBOM or vendor archive. The text field stowage-entry says what to read: "." (the directory) or one document\'s name ' +
                  '(default: the only document, else the directory).',
              },
              'application/json': { schema: { type: 'object' }, description: 'a CycloneDX JSON SBOM' },
            },
          },
          responses: {
            '200': answer('unchanged: the application\'s current revision has this content', ref(id('fleet-add'))),
            '201': answer('a new revision (or an earlier one made current again), evaluated', ref(id('fleet-add'))),
            ...WRITE_ERRORS,
            '503': {
              ...problem('the uploads the server holds leave no room for this one now (fleet serve --upload-memory); nothing stored: send it again after Retry-After'),
              headers: { 'Retry-After': { description: 'seconds to wait before sending the upload again', schema: { type: 'integer', minimum: 0 } } },
            },
          },
        },
      },
      '/apps/{name}/triage': {
        post: {
          summary: 'record a triage decision for this application (fleet triage APP ID)',
          parameters: [APP],
          requestBody: { required: true, content: json(ref('#/components/schemas/TriageRequest')) },
          responses: { '201': answer('recorded', ref(id('api-triage'))), ...WRITE_ERRORS, ...NOT_FOUND },
        },
      },
      '/triage': {
        post: {
          summary: 'record a triage decision for the whole fleet (fleet triage --all ID)',
          requestBody: { required: true, content: json(ref('#/components/schemas/TriageRequest')) },
          responses: { '201': answer('recorded', ref(id('api-triage'))), ...WRITE_ERRORS, ...NOT_FOUND },
        },
      },
      '/sync': {
        post: {
          summary: 'bring the databases to their newest revision and re-evaluate what changed (fleet sync)',
          responses: { '200': answer('what changed', ref(id('fleet-sync'))), ...WRITE_ERRORS },
        },
      },
      '/advisories/{id}/affected': {
        get: {
          summary: 'every application an advisory (any of its ids) affects (fleet affected ID), a page at a time',
          parameters: [pathParam('id', 'RUSTSEC-..., GHSA-..., CVE-..., any alias'), ...PAGING],
          responses: { '200': answer('affected applications', listOf('fleet-affected', ['schemaVersion', 'query', 'apps'])), ...NOT_MODIFIED, ...READ_ERRORS, ...NOT_FOUND },
        },
      },
      '/packages/{ecosystem}/{name}': {
        get: {
          summary: 'which applications embed a package, at which versions (fleet affected NAME[@VERSION]), a page at a time',
          parameters: [
            { ...pathParam('ecosystem', 'cargo or npm'), schema: { enum: ['cargo', 'npm'] } },
            pathParam('name', 'the package name (an npm scope\'s slash as is, or %2F)'),
            queryParam('version', 'only this version'),
            ...PAGING,
          ],
          responses: { '200': answer('applications embedding it', listOf('fleet-affected', ['schemaVersion', 'query', 'apps'])), ...NOT_MODIFIED, ...READ_ERRORS },
        },
      },
      '/events': {
        get: {
          summary: 'server-sent events: each sync, add or triage that changes findings, with the body webhooks get (event: its type; id: resume with Last-Event-ID)',
          responses: { '200': { description: 'an event stream', content: { 'text/event-stream': { schema: { type: 'string' } } } }, ...READ_ERRORS },
        },
      },
      '/openapi.json': {
        get: { summary: 'this document', security: [], responses: { '200': answer('OpenAPI 3.1', { type: 'object' }) } },
      },
    },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'a token of `stowage fleet token create`' } },
      schemas: {
        ...Object.fromEntries(SCHEMA_FILES.map((name) => [name, readSchema(name)])),
        page: PAGE,
        error: ERROR,
        triage: TRIAGE_RECORDED,
        TriageRequest: {
          type: 'object',
          required: ['id', 'state', 'reason'],
          additionalProperties: false,
          properties: {
            id: { type: 'string', description: 'the advisory id, any alias' },
            state: { enum: [...ANALYSIS_STATES] },
            reason: { type: 'string', minLength: 1 },
            justification: { enum: [...JUSTIFICATIONS, null], description: 'required for not_affected and false_positive' },
            expires: { type: ['string', 'null'], pattern: '^\\d{4}-\\d{2}-\\d{2}$' },
            package: { type: ['string', 'null'], description: 'NAME or NAME@RANGE' },
          },
        },
      },
    },
  };
  return built;
}
