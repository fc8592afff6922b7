import { evaluationTime } from '../../core/clock.js';
import { chunks } from '../../core/chunks.js';
import { EXIT_FAILURE, EXIT_FINDINGS, EXIT_OK } from '../../core/errors.js';
import { shortList } from '../../core/short-list.js';
import { jsonArrayFrame, terminalText } from '../../core/terminal-text.js';
import { styleFor } from '../../audit/report/human.js';
import { loadVersionScheme } from '../../ecosystems/formats.js';
import { requireSettings } from '../../fleet/lookup.js';
import { triageLines, withTriage } from '../../fleet/triage.js';
import { appElementPieces, appsBody, appsJson, appsJsonPieces, fleetTail, notAuditedCount, renderAppListing, renderApps, renderSummaries, summaryJson, type AppFindings } from '../../fleet/report.js';
import { allAppSummaries } from '../../fleet/summary.js';
import type { AppRecord, FindingLine, FleetStore, RevisionRecord } from '../../fleet/store/store.js';
import { stdoutStream, writeStderr, writeStdout, writeStdoutPieces } from '../output.js';
import type { FleetFormatOptions } from './index.js';
import { withFleetStore } from './with-store.js';
import { compareCodePoints } from '../../core/compare-text.js';

/**
 * Writes the applications with their findings, the fleet's triage decisions applied (a settled
 * one ignores its finding, as a policy ignore does); exit 1 when a finding still fails its policy.
 */
export async function reportApps(store: FleetStore, found: AppFindings[], opts: FleetFormatOptions, details: boolean): Promise<number> {
  const apps = await withTriage(store, found, evaluationTime(), loadVersionScheme);
  if (opts.format === 'json') writeStdoutPieces(appsJsonPieces(apps));
  else writeStdout(renderApps(apps, styleFor(stdoutStream()), { details }));
  const notAudited = apps.filter((a) => a.revision.notAudited.length > 0).map((a) => a.name);
  if (notAudited.length > 0) return refuseNotAuditedApps(notAudited);
  return apps.some((a) => a.findings.some((f) => f.failsPolicy)) ? EXIT_FINDINGS : EXIT_OK;
}

/**
 * Fail closed, as `stowage audit` refuses what it could not compare: a listing with an application
 * not audited exits 2 whatever its findings (a cron job must not read "all is well"), and says
 * which on standard error, whatever the format.
 */
export function refuseNotAuditedApps(apps: readonly string[]): number {
  writeStderr(`stowage: ${terminalText(`${notAuditedCount(apps.length)}: ${shortList(apps, 10)}`)}\n`);
  return EXIT_FAILURE;
}

/** Applications read, triaged and written at a time by `fleet status`: its memory stays that of a page, whatever the fleet's size. */
const STATUS_PAGE = 200;

/** The current revision of each of these applications (those that have one), in their order: one query for the page. */
async function currentRevisions(store: FleetStore, apps: readonly AppRecord[]): Promise<{ name: string; revision: RevisionRecord }[]> {
  const revisions = await store.revisionsById(apps.flatMap((a) => (a.currentRevision === null ? [] : [a.currentRevision])));
  return apps.flatMap((app) => {
    const revision = app.currentRevision === null ? undefined : revisions.get(app.currentRevision);
    return revision === undefined ? [] : [{ name: app.name, revision }];
  });
}

/** Every application's current revision and findings, triage applied, in code-point order of names (the same on both stores), a page at a time. */
async function* currentFindingPages(store: FleetStore, now: Date): AsyncGenerator<AppFindings[]> {
  const apps = (await store.apps()).filter((a) => a.currentRevision !== null).sort((a, b) => compareCodePoints(a.name, b.name));
  // The decisions read once for every page, not once a page.
  const decisions = await store.triageDecisions();
  const triage = { triageDecisions: () => Promise.resolve(decisions) };
  for (const page of chunks(apps, STATUS_PAGE)) {
    const found = await currentRevisions(store, page);
    const findings = await store.findingsOfRevisions(found.map((a) => a.revision.id));
    yield withTriage(triage, found.map((a) => ({ ...a, findings: findings.get(a.revision.id) ?? [] })), now, loadVersionScheme);
  }
}

/**
 * Every application's current revision and what `fleet status`'s text shows of its findings
 * (FindingLine: columns, no finding's row read), triage applied, in currentFindingPages' order, a page at a time.
 */
async function* currentFindingLinePages(store: FleetStore, now: Date): AsyncGenerator<{ name: string; revision: RevisionRecord; findings: FindingLine[] }[]> {
  const apps = (await store.apps()).filter((a) => a.currentRevision !== null).sort((a, b) => compareCodePoints(a.name, b.name));
  const decisions = await store.triageDecisions();
  const triage = { triageDecisions: () => Promise.resolve(decisions) };
  for (const page of chunks(apps, STATUS_PAGE)) {
    const found = await currentRevisions(store, page);
    const lines = await store.findingLinesOfRevisions(found.map((a) => a.revision.id));
    const entries = found.map((a) => ({ ...a, appId: a.revision.appId, findings: lines.get(a.revision.id) ?? [] }));
    const triaged = await triageLines(triage, entries, now, loadVersionScheme);
    yield entries.map((a, i) => ({ name: a.name, revision: a.revision, findings: triaged[i] ?? a.findings }));
  }
}

/**
 * `fleet status`: written a page of applications at a time, the same bytes as the whole at once
 * (a fleet of 10,000 applications is a gigabyte of JSON, more than one string may hold).
 */
async function writeStatus(store: FleetStore, opts: FleetFormatOptions): Promise<number> {
  const style = styleFor(stdoutStream());
  const frame = jsonArrayFrame(appsBody([]), 'apps');
  let apps = 0;
  let failing = 0;
  const notAudited: string[] = [];
  const now = evaluationTime();
  if (opts.format === 'json') {
    for await (const page of currentFindingPages(store, now)) {
      writeStdoutPieces((function* () {
        for (const app of page) {
          yield apps++ === 0 ? frame.head : ',\n';
          yield* appElementPieces(app);
        }
      })());
      failing += page.reduce((n, a) => n + a.findings.filter((f) => f.failsPolicy).length, 0);
      notAudited.push(...page.filter((a) => a.revision.notAudited.length > 0).map((a) => a.name));
    }
  } else {
    for await (const page of currentFindingLinePages(store, now)) {
      writeStdoutPieces(renderAppListing(page, style).map((line) => `${line}\n`));
      apps += page.length;
      failing += page.reduce((n, a) => n + a.findings.filter((f) => f.failsPolicy).length, 0);
      notAudited.push(...page.filter((a) => a.revision.notAudited.length > 0).map((a) => a.name));
    }
  }
  if (opts.format === 'json') writeStdout(apps === 0 ? appsJson([]) : `\n${frame.tail}`);
  else writeStdout(`${fleetTail(apps, failing, style, notAudited.length).join('\n')}\n`);
  if (notAudited.length > 0) return refuseNotAuditedApps(notAudited);
  return failing > 0 ? EXIT_FINDINGS : EXIT_OK;
}

export interface FleetStatusOptions extends FleetFormatOptions {
  /** One line per application, its open findings counted by level (triage applied), no finding listed. */
  summary?: boolean;
}

export async function fleetStatus(opts: FleetStatusOptions): Promise<number> {
  return withFleetStore(opts, async (store) => {
    await requireSettings(store);
    if (opts.summary === true) {
      const apps = await allAppSummaries(store, evaluationTime(), loadVersionScheme);
      writeStdout(opts.format === 'json' ? summaryJson(apps) : renderSummaries(apps, styleFor(stdoutStream())));
      const notAudited = apps.filter((a) => a.notAudited).map((a) => a.name);
      if (notAudited.length > 0) return refuseNotAuditedApps(notAudited);
      return apps.some((a) => a.failing > 0) ? EXIT_FINDINGS : EXIT_OK;
    }
    return writeStatus(store, opts);
  });
}
