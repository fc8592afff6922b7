import { statSync } from 'node:fs';
import { basename, dirname, relative, resolve } from 'node:path';
import { paint, plural, styleFor, type HumanStyle } from '../../audit/report/human.js';
import { readingWarnings } from '../../audit/audit.js';
import { findPolicyFile, readPolicyText } from '../../audit/policy.js';
import { EXIT_FINDINGS, EXIT_OK, StowageError, errorMessage } from '../../core/errors.js';
import { backoffMs, isLoopbackHostname, isTransientNetworkError, readCapped, retryAfterMs, waitMs } from '../../core/http.js';
import { jsonForTerminal, terminalText as t } from '../../core/terminal-text.js';
import { appNameFor, appNameProblem } from '../../fleet/add.js';
import { POLICY_DOCUMENT } from '../../fleet/evaluate.js';
import { readApplication } from '../../inputs/application.js';
import { readTokenFile } from '../../server/auth.js';
import { ENTRY_FIELD } from '../../server/upload.js';
import { stdoutStream, warn, writeStderr, writeStdout } from '../output.js';
import { parseRetryFor } from './retry-for.js';

/**
 * `stowage fleet push`: a CI step that records a build in a fleet server and gates it. The
 * application's documents are read here exactly as `fleet add` reads them (so the revision's
 * digest is the same either way), uploaded to POST /api/v1/apps/{name}/revisions, and the
 * findings the server answers with are printed; the exit code is the audit's.
 */

export interface FleetPushOptions {
  server: string;
  tokenFile?: string;
  name?: string;
  format: 'human' | 'json';
  /** `--retry-for SECONDS` (retry-for.ts). */
  retryFor?: string;
}

export const TOKEN_ENV = 'STOWAGE_TOKEN';

interface PushedFinding {
  target: string;
  advisory: { id: string; kind: string; title: string | null; severity: { level: string } | null };
  package: { name: string; version: string };
  paths: string[][];
  fixedVersions: unknown;
  ignored: { reason: string } | null;
  failsPolicy: boolean;
}

interface PushAnswer {
  apps: { name: string; change: string; revision: string; seq: number; findings: PushedFinding[] }[];
}

function token(opts: FleetPushOptions): string {
  if (opts.tokenFile !== undefined) return readTokenFile(opts.tokenFile);
  const fromEnv = process.env[TOKEN_ENV]?.trim();
  if (fromEnv) return fromEnv;
  throw new StowageError(`no token: give --token-file FILE or set ${TOKEN_ENV} (stowage fleet token create NAME on the server's store)`);
}

function apiUrl(server: string, name: string): URL {
  let base: URL;
  try {
    base = new URL(server);
  } catch {
    throw new StowageError(`--server ${JSON.stringify(server)}: not a URL (http://HOST:PORT/)`);
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new StowageError(`--server ${JSON.stringify(server)}: expected http:// or https://`);
  // The token goes in every request: over plain http anyone on the way reads it and can push as CI.
  if (base.protocol === 'http:' && !isLoopbackHostname(base.hostname)) {
    throw new StowageError(`--server ${JSON.stringify(server)}: plain http sends the token readable to anyone on the way; use https (plain http only to this machine: 127.0.0.1, ::1, localhost)`);
  }
  if (!base.pathname.endsWith('/')) base.pathname += '/';
  return new URL(`api/v1/apps/${encodeURIComponent(name)}/revisions`, base);
}

/**
 * The application's documents as `fleet add PATH` keeps them, what the server should read among
 * them, and what reading them warned of (a manifest nothing locks, lockfiles below the directory,
 * crates from a source that is not crates.io): said here, where the files are, since the
 * server's answer carries findings only.
 */
async function applicationDocuments(path: string): Promise<{ form: FormData; entry: string; warnings: string[] }> {
  const full = resolve(path);
  const isDirectory = statSync(full, { throwIfNoEntry: false })?.isDirectory() === true;
  const base = isDirectory ? full : dirname(full);
  const form = new FormData();
  const names = new Set<string>();
  const add = (name: string, content: string | Buffer): void => {
    if (names.has(name)) return;
    names.add(name);
    form.append('document', new Blob([typeof content === 'string' ? Buffer.from(content, 'utf8') : content]), name);
  };
  const read = await readApplication([path], { allowUnidentified: false, allowPartial: false, partialUse: 'fleet', record: (p, content) => add(relative(base, resolve(p)), content) });
  const policyFile = findPolicyFile(undefined, path);
  const policy = policyFile === null ? null : readPolicyText(policyFile);
  if (policy !== null) add(POLICY_DOCUMENT, policy);
  const entry = isDirectory ? '.' : basename(full);
  form.append(ENTRY_FIELD, entry);
  return { form, entry, warnings: readingWarnings(read.warnings, read.graphs) };
}

function renderPush(answer: PushAnswer, style: HumanStyle): string {
  const out: string[] = [];
  let failing = 0;
  for (const app of answer.apps) {
    out.push(`${t(app.change)}: ${paint(style, 'cyan', t(app.name))} ${t(app.revision.slice(0, 19))} (revision ${app.seq}), ${plural(app.findings.length, 'finding')}`);
    for (const f of app.findings) {
      if (f.failsPolicy) failing++;
      const label = f.ignored ? paint(style, 'dim', 'ignored') : f.failsPolicy ? paint(style, 'red', 'error') : paint(style, 'yellow', 'warning');
      const severity = f.advisory.severity ? ` ${t(f.advisory.severity.level)}` : '';
      out.push(`${label}: ${paint(style, 'bold', t(f.advisory.id))} ${t(f.package.name)} ${t(f.package.version)} (${t(f.advisory.kind)}${severity})${f.advisory.title ? `: ${t(f.advisory.title)}` : ''}`);
      for (const p of f.paths) out.push(`  path: ${p.map(t).join(' → ')}`);
      if (f.ignored) out.push(`  accepted: ${t(f.ignored.reason)}`);
    }
  }
  out.push(
    failing > 0
      ? paint(style, 'red', `result: FAIL, ${plural(failing, 'finding')} ${failing === 1 ? 'fails' : 'fail'} the policy`)
      : paint(style, 'green', 'result: ok, nothing fails the policy'),
  );
  return out.join('\n') + '\n';
}

/**
 * What a push's answer may weigh: the findings of one application with their dependency paths,
 * far below this even for a monorepo with hundreds of findings. A server (hostile, or a proxy
 * answering with something else) is not trusted to bound it.
 */
export const MAX_ANSWER_BYTES = 64 * 1024 * 1024;

const isRecord = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === 'object' && !Array.isArray(value);
const isStringOrNull = (value: unknown): boolean => value === null || typeof value === 'string';

/** Why `f` is not a finding as the server answers it, or null. */
function findingProblem(f: unknown): string | null {
  if (!isRecord(f)) return 'is not an object';
  const { advisory, package: pkg, paths, ignored } = f;
  if (!isRecord(advisory) || typeof advisory.id !== 'string' || typeof advisory.kind !== 'string' || !isStringOrNull(advisory.title)) return 'has no advisory id, kind and title';
  if (advisory.severity !== null && !(isRecord(advisory.severity) && typeof advisory.severity.level === 'string')) return 'has a severity without a level';
  if (!isRecord(pkg) || typeof pkg.name !== 'string' || typeof pkg.version !== 'string') return 'has no package name and version';
  if (!Array.isArray(paths) || !paths.every((p) => Array.isArray(p) && p.every((step) => typeof step === 'string'))) return 'has paths that are not lists of names';
  if (ignored !== null && !(isRecord(ignored) && typeof ignored.reason === 'string')) return 'has an acceptance without a reason';
  if (typeof f.failsPolicy !== 'boolean') return 'does not say whether it fails the policy';
  return null;
}

/** The server's answer, checked before anything of it is shown or decides the exit code. */
function parsePushAnswer(text: string, origin: string): PushAnswer {
  const refuse = (what: string): never => {
    throw new StowageError(`the fleet server's answer is not a push's answer: ${what}`, origin);
  };
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    refuse('not JSON');
  }
  if (!isRecord(doc) || !Array.isArray(doc.apps)) return refuse('no "apps" list');
  for (const [i, app] of (doc.apps as unknown[]).entries()) {
    if (!isRecord(app) || typeof app.name !== 'string' || typeof app.change !== 'string' || typeof app.revision !== 'string' || !Number.isSafeInteger(app.seq)) {
      refuse(`apps[${i}] has no name, change, revision and seq`);
    }
    const findings = (app as Record<string, unknown>).findings;
    if (!Array.isArray(findings)) return refuse(`apps[${i}].findings is not a list`);
    for (const [j, f] of (findings as unknown[]).entries()) {
      const problem = findingProblem(f);
      if (problem !== null) refuse(`apps[${i}].findings[${j}] ${problem}`);
    }
  }
  return doc as unknown as PushAnswer;
}

/**
 * Statuses that ask the client to come back later: the server is busy (503) or rate limits (429),
 * or a proxy in front of it finds it gone or silent while it restarts (502, 504). Sending again is
 * safe even when the push was stored behind a 504. Every other 4xx or 5xx is final.
 */
const RETRIED_STATUSES: ReadonlySet<number> = new Set([429, 502, 503, 504]);

/** The first wait after a failed attempt, and the longest (the backoff doubles up to it). */
const FIRST_WAIT_MS = 1_000;
const LONGEST_WAIT_MS = 30_000;

/** How the push is tried again (see sendPush); the clock, the sleep and the jitter may be given (tests). */
export interface PushRetry {
  /** From the first attempt's start, how long attempts and the waits between them may go on; 0: one attempt. */
  forSeconds: number;
  /** One line per wait (stderr): what was answered and when the next attempt comes. */
  say: (line: string) => void;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

/** What one attempt came to: the server's answer, or the connection's failure and whether a retry may cure it. */
type Attempt = { status: number; text: string; retryAfter: string | null } | { failure: string; transient: boolean };

/** The `error` line of a JSON error answer, else `HTTP STATUS`. */
function errorLine(status: number, text: string): string {
  try {
    const error = (JSON.parse(text) as { error?: unknown }).error;
    if (typeof error === 'string') return error;
  } catch {
    // not JSON: the status says enough
  }
  return `HTTP ${status}`;
}

async function attemptPush(url: URL, bearer: string, form: FormData): Promise<Attempt> {
  let response: Response;
  try {
    response = await fetch(url, { method: 'POST', headers: { authorization: `Bearer ${bearer}` }, body: form, redirect: 'error', signal: AbortSignal.timeout(10 * 60_000) });
  } catch (err) {
    const cause = (err as { cause?: unknown }).cause;
    return { failure: `cannot reach the fleet server: ${errorMessage(cause ?? err)}`, transient: isTransientNetworkError(err) };
  }
  try {
    const text = (await readCapped(response, url.origin, MAX_ANSWER_BYTES)).toString('utf8');
    return { status: response.status, text, retryAfter: response.headers.get('retry-after') };
  } catch (err) {
    if (err instanceof StowageError) throw new StowageError(`the fleet server's answer is over the ${MAX_ANSWER_BYTES}-byte limit of a push's answer; nothing more was read`, url.origin);
    // Cut off mid-answer: sent again, a push already stored is answered "unchanged" with the same findings.
    return { failure: `the fleet server's answer broke off: ${errorMessage((err as { cause?: unknown }).cause ?? err)}`, transient: isTransientNetworkError(err) };
  }
}

const secondsText = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

/**
 * POSTs the push, trying again while the server says it is busy (503) or rate limits (429), while
 * a proxy in front of it answers 502 or 504, and while the connection is refused or cut (a restart, a deploy): after the server's Retry-After
 * (seconds or an HTTP date) and never sooner than a capped exponential backoff with jitter, one
 * stderr line per wait, for at most `retry.forSeconds` from the first attempt. Sending a push
 * again is safe: the same documents make the same revision (a second store is "unchanged").
 * Any other answer (201, 200, 4xx, other 5xx) ends it. Past the bound, or when the server asks for
 * a wait that ends past it, one StowageError naming the server and the last answer.
 */
export async function sendPush(url: URL, bearer: string, form: FormData, retry: PushRetry): Promise<{ status: number; text: string }> {
  const now = retry.now ?? Date.now;
  const sleep = retry.sleep ?? waitMs;
  const deadline = now() + retry.forSeconds * 1000;
  for (let attempt = 1; ; attempt++) {
    const outcome = await attemptPush(url, bearer, form);
    if ('status' in outcome && !RETRIED_STATUSES.has(outcome.status)) return outcome;
    if ('failure' in outcome && !outcome.transient) throw new StowageError(outcome.failure, url.origin);
    const last = 'status' in outcome ? `the fleet server refused the push (${outcome.status}): ${errorLine(outcome.status, outcome.text)}` : outcome.failure;
    const asked = 'status' in outcome ? retryAfterMs(outcome.retryAfter, now()) : null;
    const left = deadline - now();
    const tried = `after ${attempt} attempt${attempt === 1 ? '' : 's'} (--retry-for ${retry.forSeconds})`;
    if (left <= 0) throw new StowageError(`${last}; gave up ${tried}`, url.origin);
    if (asked !== null && asked > left) throw new StowageError(`${last}; gave up ${tried}: it asks to be sent again in ${secondsText(asked)}, past the bound`, url.origin);
    const wait = Math.min(left, backoffMs(attempt, { firstMs: FIRST_WAIT_MS, capMs: LONGEST_WAIT_MS, floorMs: asked, ...(retry.random ? { random: retry.random } : {}) }));
    retry.say(`${url.origin}: ${last}; sending it again in ${secondsText(wait)} (attempt ${attempt + 1}, ${secondsText(left)} left of --retry-for ${retry.forSeconds})`);
    await sleep(wait);
  }
}

export async function fleetPush(path: string, opts: FleetPushOptions): Promise<number> {
  const name = opts.name ?? appNameFor(path);
  const problem = appNameProblem(name);
  if (problem !== null) throw new StowageError(`${opts.name !== undefined ? '--name' : path}: ${problem}${opts.name === undefined ? '; name it with --name' : ''}`);
  const url = apiUrl(opts.server, name);
  const forSeconds = parseRetryFor(opts.retryFor);
  const bearer = token(opts);
  const { form, warnings } = await applicationDocuments(path);
  for (const w of warnings) warn(w);
  const pushed = await sendPush(url, bearer, form, { forSeconds, say: (line) => writeStderr(`stowage: ${t(line)}\n`) });
  if (pushed.status < 200 || pushed.status > 299) throw new StowageError(`the fleet server refused the push (${pushed.status}): ${errorLine(pushed.status, pushed.text)}`, url.origin);
  const answer = parsePushAnswer(pushed.text, url.origin);
  writeStdout(opts.format === 'json' ? jsonForTerminal(JSON.stringify(answer, null, 2) + '\n') : renderPush(answer, styleFor(stdoutStream())));
  return answer.apps.some((a) => a.findings.some((f) => f.failsPolicy)) ? EXIT_FINDINGS : EXIT_OK;
}
