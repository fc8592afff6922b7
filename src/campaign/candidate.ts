import { copyFileSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { writeFileAtomically } from '../core/atomic-write.js';
import { MANIFEST_PATH, readArchive } from '../core/archive.js';
import { StowageError, errorMessage } from '../core/errors.js';
import type { BlockingRequirement, FixPlan } from '../core/fix.js';
import type { Finding } from '../core/finding.js';
import type { DependencyGraph } from '../core/graph.js';
import type { Ecosystem } from '../core/package.js';
import { applicationSourceDateEpoch } from '../core/source-date-epoch.js';
import type { ArchiveFile } from '../core/untrusted-tar.js';
import { applyFixPlans, unifiedDiff } from '../fixes/apply.js';
import { planGraphFixes } from '../fixes/plan.js';
import { RegistryAllowance } from '../core/registry-allowance.js';
import { checkRegistrySettings } from './registry-settings.js';
import { blockerText, commandText } from '../fixes/report.js';
import { auditApplication, type AuditSettings } from '../audit/run.js';
import type { LockfileLocation } from '../inputs/lockfiles.js';
import { readApplicationManifest } from '../inputs/application-manifest.js';
import { readApplication } from '../inputs/application.js';
import { archiveBytes, buildVendorTree } from '../vendoring/vendor-app.js';
import { npmPackageManager, packageRpm } from '../package/rpm-package.js';
import { writeRpmOutputs } from '../package/rpm-outputs.js';
import { applicationSourceFiles } from '../package/srpm.js';
import type { RpmFlavor } from '../package/rpm-flavor.js';
import { buildRecipe } from './build-recipe.js';
import { chooseSandbox, confineUpdate, DEFAULT_MIN_FREE_BYTES, DEFAULT_RESOURCE_LIMITS, runSandboxed, type ResourceLimits, type Sandbox, type SandboxMode } from './sandbox.js';
import { StepLog } from './step-log.js';
import { makeDirectory } from '../core/make-directory.js';
import type { ToolLimits } from '../core/run-tool.js';

/**
 * One application's way from an advisory to a candidate: plan → apply → audit → vendor →
 * build → test → package (SRPM), in a work directory of its own. The caller (a campaign's job)
 * materialises the application's source in `source/` of the work directory and records each
 * step as the hooks report it; this module decides and runs, and keeps its progress in the
 * work directory, so a run started again (a worker died) skips the steps already done and
 * re-runs the interrupted one from its start.
 *
 * The application's code (build scripts, macros, tests) runs only in `build` and `test`, in the
 * sandbox, in `build/`: a copy of the source with the vendor archive laid over it, as the
 * source RPM's %prep lays it out. `source/` is only changed by the package manager's lockfile
 * update, and is what the SRPM's Source0 is made from.
 */

export const CANDIDATE_STEPS = ['plan', 'apply', 'audit', 'vendor', 'build', 'test', 'package'] as const;
export type CandidateStepName = (typeof CANDIDATE_STEPS)[number];

export type CandidateState = 'candidate' | 'failed' | 'needs-review';

export interface CandidateStep {
  step: CandidateStepName;
  state: 'running' | 'done' | 'failed';
  /** ISO 8601 times. */
  startedAt: string;
  endedAt: string | null;
}

/** One package moved, as the campaign JSON states it. */
export interface CandidateFix {
  ecosystem: Ecosystem;
  name: string;
  from: string;
  to: string;
  /** The package manager's command, as a user would type it. */
  command: string;
}

/** Files of the candidate, absolute paths inside the work directory; null until made. */
export interface CandidateArtifacts {
  /** The changed lockfile. */
  lockfile: string | null;
  /** The lockfile change as a unified diff, to send upstream. */
  patch: string | null;
  /** The vendor archive (also the SRPM's Source1). */
  vendor: string | null;
  srpm: string | null;
  /** The CycloneDX SBOM of the candidate (also in the SRPM). */
  sbom: string | null;
  /** Every step's lines and every command's output (capped). */
  log: string;
}

export interface CandidateOutcome {
  state: CandidateState;
  fix: CandidateFix[];
  /** needs-review: the dependents that admit no fixed version, up to the manifest to change. */
  blockedBy: BlockingRequirement[];
  /** failed / needs-review: why, in one line; null for a candidate. */
  reason: string | null;
  /** failed: the step that failed. */
  failedStep: CandidateStepName | null;
  artifacts: CandidateArtifacts;
  steps: CandidateStep[];
  /** How builds and tests ran (`sandbox: bubblewrap: …` / `sandbox: none …`). */
  sandbox: string;
}

export interface CandidateInput {
  /** The work directory; the application's source must be in `candidateLayout(workDir).source`. */
  workDir: string;
  /** The advisory the candidate removes: a finding matches its id or any alias. */
  advisory: { id: string; aliases: string[] };
  /** How to audit: policy, the advisory databases (`--db`), fetching, the cache. */
  audit: AuditSettings;
  sandbox: SandboxMode;
  /**
   * Time limits of every command a step runs, in milliseconds: the application's build and test
   * (default 30 minutes each), the package manager's lockfile update and `rpmbuild -bs` (default
   * 10 minutes each). A command past its limit is killed with everything it started, and its step fails.
   */
  timeLimits?: Partial<TimeLimits>;
  /** Processes and threads, and file size, of each build and test command (default DEFAULT_RESOURCE_LIMITS). */
  resourceLimits?: Partial<ResourceLimits>;
  /** false: an embargoed fix; recorded in the log (keeping it unpublished is the caller's). */
  publish: boolean;
  /** RPM flavour and release of the source package (default fedora, release 1). */
  flavor?: RpmFlavor;
  release?: string;
  /** `--license NAME=EXPR` values for crates whose licence is not SPDX. */
  licenses?: string[];
  /** The environment tools are found in (PATH, RUSTUP_HOME); default the process's. */
  env?: NodeJS.ProcessEnv;
  /** Per-command output kept in the log, in bytes. */
  logCap?: number;
  /**
   * The registries the operator allows beside the public ones (`fleet init --allow-registry`):
   * an application whose settings name another is refused at the plan step (registry-allowance.ts).
   */
  allowedRegistries?: readonly string[];
}

export interface CandidateHooks {
  /** A step starts (also one started again after an interrupted run). */
  stepStarted?(step: CandidateStepName, startedAt: string): void | Promise<void>;
  /** A step ended, done or failed. */
  stepEnded?(step: CandidateStep): void | Promise<void>;
  /** Aborting kills a running build or test and ends the run as failed (`cancelled`). */
  signal?: AbortSignal;
}

export interface CandidateLayout {
  workDir: string;
  /** The application's source: the caller materialises it; the lockfile update changes it. */
  source: string;
  /** The lockfile and manifest as they were, kept so that plan and apply can start again. */
  original: string;
  /** The sandbox's writable directory: the source with the vendored dependencies. */
  build: string;
  /** The package managers' own home (CARGO_HOME of the lockfile update). */
  home: string;
  artifacts: string;
  /** What the run has done so far (resumption). */
  progress: string;
  /** Made again from the rest by a resumed run: never part of a checkpoint. */
  scratch: string[];
}

export function candidateLayout(workDir: string): CandidateLayout {
  return {
    workDir,
    source: join(workDir, 'source'),
    original: join(workDir, 'original'),
    build: join(workDir, 'build'),
    home: join(workDir, 'home'),
    artifacts: join(workDir, 'artifacts'),
    progress: join(workDir, 'progress.json'),
    scratch: [join(workDir, 'build'), join(workDir, 'home')],
  };
}

export interface TimeLimits {
  build: number;
  test: number;
  /** Each command of the lockfile update (`cargo update -p … --precise …`, `npm install …`). */
  update: number;
  /** `rpmbuild -bs`. */
  package: number;
}

const DEFAULT_TIME_LIMITS: TimeLimits = { build: 30 * 60 * 1000, test: 30 * 60 * 1000, update: 10 * 60 * 1000, package: 10 * 60 * 1000 };

/** What is kept in progress.json between runs. */
interface Progress {
  steps: CandidateStep[];
  fix: CandidateFix[];
  /** Other advisories the application has (not this candidate's concern): accepted when vendoring. */
  otherAdvisories: string[];
  /**
   * The findings failing the policy before the change (findingKey): the audit after it refuses
   * what the change brought in (broughtIn). Absent in a run begun by an older stowage.
   */
  before?: string[];
  /** Relative to the work directory: a run resumed in another one (another worker's) finds them. */
  artifacts: Omit<CandidateArtifacts, 'log'>;
  /** Set when the plan found no change to make: the run is over, and a run started again says so at once. */
  review: { reason: string; blockedBy: BlockingRequirement[] } | null;
}

/** A step ends the run without a failure: needs-review. */
class NeedsReview extends Error {
  constructor(
    readonly reason: string,
    readonly blockedBy: BlockingRequirement[],
  ) {
    super(reason);
  }
}

const now = (): string => new Date().toISOString();

/**
 * The worker's own secrets: the fleet store's URL (its PostgreSQL password), libpq's settings,
 * a push token. The application's settings are expanded against the environment (`${VAR}` in
 * an .npmrc registry URL or token, which npm and the fix planner send to the host the same file
 * names), so they are not in the environment a candidate's steps see.
 */
const WORKER_SECRETS = /^(?:STOWAGE_FLEET_STORE|STOWAGE_TOKEN|DATABASE_URL|PG[A-Z_]+)$/;

/** `env` without the worker's secrets: set undefined, so that a step spreading it over process.env drops them too. */
function withoutWorkerSecrets(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const kept: NodeJS.ProcessEnv = { ...env };
  for (const name of new Set([...Object.keys(env), ...Object.keys(process.env)])) if (WORKER_SECRETS.test(name)) kept[name] = undefined;
  return kept;
}

function matchesAdvisory(finding: Finding, advisory: CandidateInput['advisory']): boolean {
  const names = new Set([advisory.id, ...advisory.aliases]);
  return names.has(finding.advisory.id) || finding.advisory.aliases.some((a) => names.has(a));
}

/** A finding as the audits before and after the change compare it: the advisory, the package's name and its version. */
function findingKey(finding: Finding): string {
  return `${finding.advisory.id}\0${finding.package.ecosystem}\0${finding.package.name}\0${finding.package.version}`;
}

/**
 * The findings after the change that the application did not have before it. A finding at a
 * version of its package the advisory did not affect before is one, unless it takes the place of
 * a version the change moved off (a fix that stays inside another advisory's range, which the
 * locked version was in too). Per advisory and package: more affected versions than before
 * (npm update moving one of two locked versions into the range) is a new flaw.
 */
function broughtIn(before: readonly string[], after: readonly Finding[]): Finding[] {
  const had = new Set(before);
  const groupOf = (key: string): string => key.slice(0, key.lastIndexOf('\0'));
  const afterKeys = new Set(after.map(findingKey));
  const gone = new Map<string, number>();
  for (const key of had) if (!afterKeys.has(key)) gone.set(groupOf(key), (gone.get(groupOf(key)) ?? 0) + 1);
  const added = new Map<string, Finding[]>();
  for (const f of after) {
    const key = findingKey(f);
    if (had.has(key)) continue;
    const list = added.get(groupOf(key)) ?? [];
    if (!list.some((g) => findingKey(g) === key)) list.push(f);
    added.set(groupOf(key), list);
  }
  return [...added].flatMap(([group, findings]) => (findings.length > (gone.get(group) ?? 0) ? findings : []));
}

function lockfileFiles(location: LockfileLocation): string[] {
  return [location.path, ...(location.manifestPath !== null ? [location.manifestPath] : [])];
}

class CandidateRun {
  private readonly layout: CandidateLayout;
  private readonly env: NodeJS.ProcessEnv;
  private readonly log: StepLog;
  private progress: Progress;
  private plans: { location: LockfileLocation; graph: DependencyGraph; plans: FixPlan[] }[] | null = null;
  /** The findings failing the policy before the change (findingKey), read with the plans. */
  private before: string[] = [];
  private sandbox: Sandbox | null = null;
  private readonly registries: RegistryAllowance;

  constructor(
    private readonly input: CandidateInput,
    private readonly hooks: CandidateHooks,
  ) {
    this.layout = candidateLayout(input.workDir);
    this.registries = new RegistryAllowance(input.allowedRegistries ?? []);
    if (!existsSync(this.layout.source)) throw new StowageError('no application source in the work directory (the caller materialises it in source/)', input.workDir);
    for (const dir of [this.layout.artifacts, this.layout.home]) makeDirectory(dir);
    // The lockfile update's package manager keeps its caches in the work directory's own home.
    this.env = { ...withoutWorkerSecrets(input.env ?? process.env), CARGO_HOME: join(this.layout.home, 'cargo'), npm_config_cache: join(this.layout.home, 'npm') };
    this.log = new StepLog(join(this.layout.artifacts, 'candidate.log'), input.logCap);
    this.progress = existsSync(this.layout.progress)
      ? (JSON.parse(readFileSync(this.layout.progress, 'utf8')) as Progress)
      : { steps: [], fix: [], otherAdvisories: [], artifacts: { lockfile: null, patch: null, vendor: null, srpm: null, sbom: null }, review: null };
  }

  /** The artifacts' absolute paths in this work directory. */
  private artifactPaths(): Omit<CandidateArtifacts, 'log'> {
    const at = (path: string | null): string | null => (path === null ? null : join(this.layout.workDir, path));
    const a = this.progress.artifacts;
    return { lockfile: at(a.lockfile), patch: at(a.patch), vendor: at(a.vendor), srpm: at(a.srpm), sbom: at(a.sbom) };
  }

  /** `path` (in the work directory) as progress.json keeps it. */
  private kept(path: string): string {
    return relative(this.layout.workDir, path);
  }

  /** The bounds of a step's commands: its time limit, and the run's cancellation. */
  private limits(step: keyof TimeLimits): { timeLimitMs: number; signal?: AbortSignal } {
    return { timeLimitMs: this.input.timeLimits?.[step] ?? DEFAULT_TIME_LIMITS[step], ...(this.hooks.signal ? { signal: this.hooks.signal } : {}) };
  }

  private resourceLimits(): ResourceLimits {
    return { ...DEFAULT_RESOURCE_LIMITS, ...this.input.resourceLimits };
  }

  private save(): void {
    writeFileAtomically(this.layout.progress, Buffer.from(`${JSON.stringify(this.progress, null, 2)}\n`));
  }

  private outcome(state: CandidateState, extra: { reason?: string; failedStep?: CandidateStepName; blockedBy?: BlockingRequirement[] } = {}): CandidateOutcome {
    return {
      state,
      fix: this.progress.fix,
      blockedBy: extra.blockedBy ?? [],
      reason: extra.reason ?? null,
      failedStep: extra.failedStep ?? null,
      artifacts: { ...this.artifactPaths(), log: this.log.path },
      steps: this.progress.steps,
      sandbox: this.sandbox?.note ?? '',
    };
  }

  async run(): Promise<CandidateOutcome> {
    this.log.line(`== candidate for ${this.input.advisory.id}${this.input.publish ? '' : ' (not to be published: embargoed)'}, started ${now()}`);
    try {
      this.sandbox = chooseSandbox(this.input.sandbox, this.resourceLimits());
    } catch (err) {
      this.log.line(errorMessage(err));
      return this.outcome('failed', { reason: errorMessage(err), failedStep: 'build' });
    }
    this.log.line(this.sandbox.note);
    if (this.progress.review !== null) return this.outcome('needs-review', this.progress.review);
    const bodies: Record<CandidateStepName, () => Promise<void>> = {
      plan: () => this.plan(),
      apply: () => this.apply(),
      audit: () => this.audit(),
      vendor: () => this.vendor(),
      build: () => this.sandboxed('build'),
      test: () => this.sandboxed('test'),
      package: () => this.package(),
    };
    for (const step of CANDIDATE_STEPS) {
      if (this.progress.steps.some((s) => s.step === step && s.state === 'done')) continue;
      if (this.hooks.signal?.aborted) return this.outcome('failed', { reason: 'cancelled', failedStep: step });
      const record: CandidateStep = { step, state: 'running', startedAt: now(), endedAt: null };
      this.progress.steps = [...this.progress.steps.filter((s) => s.step !== step), record];
      this.save();
      await this.hooks.stepStarted?.(step, record.startedAt);
      this.log.line(`== ${step} (${record.startedAt})`);
      let ending: CandidateOutcome | null = null;
      try {
        await bodies[step]();
        record.state = 'done';
      } catch (err) {
        record.state = 'failed';
        if (err instanceof NeedsReview) {
          // Not a failure of the step: it found that no change can be made.
          record.state = 'done';
          this.progress.review = { reason: err.reason, blockedBy: err.blockedBy };
          this.log.line(`needs review: ${err.reason}`);
          for (const b of err.blockedBy) this.log.line(`  ${blockerText(b, b === err.blockedBy[0])}`);
          ending = this.outcome('needs-review', { reason: err.reason, blockedBy: err.blockedBy });
        } else {
          const reason = this.hooks.signal?.aborted ? 'cancelled' : errorMessage(err);
          this.log.line(`${step} failed: ${reason}`);
          if (!(err instanceof StowageError) && err instanceof Error && err.stack) this.log.line(err.stack);
          ending = this.outcome('failed', { reason, failedStep: step });
        }
      }
      record.endedAt = now();
      this.save();
      this.log.line(`== ${step}: ${record.state} (${record.endedAt})`);
      await this.hooks.stepEnded?.({ ...record });
      if (ending !== null) return { ...ending, steps: this.progress.steps };
    }
    this.log.line(`== candidate ready: ${this.artifactPaths().srpm ?? ''}`);
    return this.outcome('candidate');
  }

  /** The lockfiles and manifests as they were before any change of this run (kept the first time, restored after). */
  private restoreOriginals(locations: readonly LockfileLocation[]): void {
    for (const file of locations.flatMap(lockfileFiles)) {
      const kept = join(this.layout.original, relative(this.layout.source, file));
      if (existsSync(kept)) copyFileSync(kept, file);
      else {
        makeDirectory(dirname(kept));
        copyFileSync(file, kept);
      }
    }
  }

  private async planned(): Promise<NonNullable<CandidateRun['plans']>> {
    if (this.plans !== null) return this.plans;
    let audited = await auditApplication({ paths: [this.layout.source], ...this.input.audit });
    if (audited.locations.length === 0) throw new StowageError('the application has no lockfile to change', this.layout.source);
    if (existsSync(this.layout.original)) {
      this.restoreOriginals(audited.locations);
      audited = await auditApplication({ paths: [this.layout.source], ...this.input.audit });
    } else this.restoreOriginals(audited.locations);
    const findings = audited.result.findings.filter((f) => f.ignored === null && matchesAdvisory(f, this.input.advisory));
    if (findings.length === 0) {
      throw new StowageError(`${this.input.advisory.id}: the application has no finding of this advisory (not affected, or accepted in its policy)`, this.layout.source);
    }
    this.before = [...new Set(audited.result.findings.filter((f) => f.failsPolicy).map(findingKey))].sort();
    const plans = [];
    for (const [i, graph] of audited.graphs.entries()) {
      const location = audited.locations[i];
      if (location === undefined) continue;
      checkRegistrySettings(graph, this.registries, this.env, this.layout.source);
      const own = await planGraphFixes(graph, findings, { allowOverrides: false, known: audited.known, env: this.env, http: { registries: this.registries } });
      if (own.length > 0) plans.push({ location, graph, plans: own });
    }
    this.plans = plans;
    return plans;
  }

  private async plan(): Promise<void> {
    const planned = await this.planned();
    const all = planned.flatMap((p) => p.plans);
    this.progress.before = this.before;
    this.progress.fix = all.flatMap((p) =>
      p.change ? [{ ecosystem: p.change.ecosystem, name: p.change.name, from: p.change.from, to: p.change.to, command: commandText(p.change.command) }] : [],
    );
    for (const f of this.progress.fix) this.log.line(`fix: ${f.name} ${f.from} → ${f.to}: ${f.command}`);
    // What the plan could not read (a git repository out of reach) fails the step: no review settles it, another attempt may.
    const unreadable = all.find((p) => p.unreadable === true);
    if (unreadable !== undefined) throw new StowageError(`${unreadable.package.name} ${unreadable.package.version}: ${unreadable.reason ?? 'cannot be planned'}`);
    const blocked = all.filter((p) => p.change === null);
    if (blocked.length > 0) {
      const reason = blocked.map((p) => `${p.package.name} ${p.package.version}: ${p.reason ?? 'no change'}`).join('; ');
      throw new NeedsReview(reason, blocked.flatMap((p) => p.blockedBy));
    }
  }

  /**
   * The lockfile update's bounds: its time limit, the cancellation, and under bubblewrap (when
   * builds are) its confinement: the network, but of the filesystem only the system, the
   * application's source and the package managers' home (see confineUpdate).
   */
  private updateLimits(): ToolLimits {
    const confine = confineUpdate(this.sandbox as Sandbox, [this.layout.source, this.layout.home], this.resourceLimits());
    return { ...this.limits('update'), ...(confine !== undefined ? { confine } : {}) };
  }

  private async apply(): Promise<void> {
    const planned = await this.planned();
    if (this.sandbox?.kind === 'bwrap') this.log.line('lockfile update: under bubblewrap, with network, of the filesystem only the system, source/ and home/ of the work directory');
    this.restoreOriginals(planned.map((p) => p.location));
    const diffs: string[] = [];
    let changed: string | null = null;
    for (const { location, graph, plans } of planned) {
      // The patch to send upstream names each file from the application's root (sub/Cargo.lock where it lies).
      const result = await applyFixPlans(graph, plans, { allowOverrides: false, files: lockfileFiles(location), root: this.layout.source, env: this.env, http: { registries: this.registries }, limits: this.updateLimits(), untrusted: true });
      if (result.diff !== '') {
        diffs.push(result.diff);
        changed ??= location.path;
      }
      // npm moves a direct dependency's requirement in package.json too: the patch carries it.
      if (location.manifestPath !== null) {
        const before = readFileSync(join(this.layout.original, relative(this.layout.source, location.manifestPath)));
        const manifestDiff = await unifiedDiff(location.manifestPath, before, this.layout.source);
        if (manifestDiff !== '') diffs.push(manifestDiff);
      }
    }
    if (changed === null) throw new StowageError('the package manager left the lockfile unchanged', this.layout.source);
    const lockfile = join(this.layout.artifacts, basename(changed));
    const patch = join(this.layout.artifacts, 'lockfile.patch');
    writeFileAtomically(lockfile, readFileSync(changed));
    writeFileAtomically(patch, Buffer.from(diffs.join('')));
    this.log.line(diffs.join(''));
    this.progress.artifacts.lockfile = this.kept(lockfile);
    this.progress.artifacts.patch = this.kept(patch);
  }

  private async audit(): Promise<void> {
    const { result } = await auditApplication({ paths: [this.layout.source], ...this.input.audit });
    const still = result.findings.filter((f) => matchesAdvisory(f, this.input.advisory));
    if (still.length > 0) {
      throw new StowageError(`after the change the application is still affected: ${still.map((f) => `${f.package.name} ${f.package.version}`).join(', ')}`, this.layout.source);
    }
    const others = result.findings.filter((f) => f.failsPolicy);
    // Accepting the others is for flaws the application already had: one the change brought in
    // (npm update moving past the planned version into another advisory's range) is no candidate.
    const before = this.progress.before;
    const brought = before === undefined ? [] : broughtIn(before, others);
    if (brought.length > 0) {
      throw new StowageError(
        `the change brings in ${brought.map((f) => `${f.advisory.id} (${f.package.name} ${f.package.version})`).join(', ')}, which the application did not have`,
        this.layout.source,
      );
    }
    if (before === undefined) this.log.line('audit: the findings before the change were not recorded (a run begun by an older stowage): new ones are not told apart');
    this.progress.otherAdvisories = [...new Set(others.map((f) => f.advisory.id))].sort();
    for (const f of others) this.log.line(`also found, not this candidate's advisory (accepted for it): ${f.advisory.id} ${f.package.name} ${f.package.version}`);
    this.log.line(`audit: ${this.input.advisory.id} is gone; ${result.findings.length} findings in all`);
  }

  /** The audit settings of vendoring and packaging: the other advisories the application has are accepted. */
  private candidateAudit(): AuditSettings {
    const settings = this.input.audit;
    const ignores = this.progress.otherAdvisories.map((id) => ({ id, reason: `not the advisory of this candidate (${this.input.advisory.id})`, expires: null, origin: 'campaign' }));
    return { ...settings, policy: { ...settings.policy, ignores: [...settings.policy.ignores, ...ignores] } };
  }

  private sourceDateEpoch(): number {
    return applicationSourceDateEpoch(this.layout.source, this.env);
  }

  private warn = (message: string): void => this.log.line(`warning: ${message}`);

  private async vendor(): Promise<void> {
    const build = await buildVendorTree({ path: this.layout.source, audit: this.candidateAudit(), sourceDateEpoch: this.sourceDateEpoch(), env: this.env, warn: this.warn, registries: this.registries });
    const vendor = join(this.layout.artifacts, 'vendor.tar.zst');
    const { bytes, entries } = await archiveBytes(build.files, build.manifest, vendor);
    writeFileAtomically(vendor, bytes);
    this.log.line(`vendor: ${entries} entries, ${build.manifest.packages.length} packages`);
    this.progress.artifacts.vendor = this.kept(vendor);
  }

  /** `build/` from scratch: the source files Source0 takes, then the vendor archive over them. */
  private async prepareBuildDirectory(): Promise<void> {
    rmSync(this.layout.build, { recursive: true, force: true });
    makeDirectory(this.layout.build);
    const { files } = await applicationSourceFiles(this.layout.source);
    const vendorPath = this.artifactPaths().vendor;
    if (vendorPath === null) throw new StowageError('no vendor archive: the vendor step has not run');
    const vendored = (await readArchive(readFileSync(vendorPath), vendorPath)).filter((f) => f.path !== MANIFEST_PATH);
    const write = (f: ArchiveFile): void => {
      const path = join(this.layout.build, f.path);
      makeDirectory(dirname(path));
      writeFileSync(path, f.data, { mode: f.mode });
    };
    for (const f of files) write(f);
    for (const f of vendored) write(f);
  }

  private async sandboxed(step: 'build' | 'test'): Promise<void> {
    const manifest = readApplicationManifest(this.layout.source);
    const { graphs } = await readApplication([this.layout.source]);
    const target = { ecosystem: manifest.ecosystem, packageManager: npmPackageManager(graphs), hasTests: manifest.hasTests, version: manifest.version, cargoPackage: manifest.cargoPackage, cargoFeatures: manifest.cargoFeatures };
    const recipe = buildRecipe(target, this.layout.build, this.env);
    if (step === 'build' || !existsSync(this.layout.build)) await this.prepareBuildDirectory();
    const argv = recipe[step];
    if (argv === null) {
      this.log.line(`no tests: ${basename(manifest.path)} defines none`);
      return;
    }
    const run = await runSandboxed(this.sandbox as Sandbox, {
      argv,
      dir: this.layout.build,
      env: recipe.env,
      readOnly: recipe.readOnly,
      timeLimitMs: this.limits(step).timeLimitMs,
      limits: this.resourceLimits(),
      log: this.log,
      ...(this.hooks.signal ? { signal: this.hooks.signal } : {}),
    });
    if (run.cancelled) throw new StowageError('cancelled');
    const what = argv[0] === 'sh' ? `the ${step} script` : argv.join(' ');
    if (run.timedOut) throw new StowageError(`${what} did not finish within ${Math.round(this.limits(step).timeLimitMs / 1000)} s`);
    if (run.diskFull) throw new StowageError(`${what} was stopped: it left less than ${Math.round(DEFAULT_MIN_FREE_BYTES / (1024 * 1024))} MiB free on the build directory's filesystem; see the log`);
    if (run.limitReached !== null) throw new StowageError(`${what} failed: it reached ${run.limitReached}; see the log`);
    if (run.status !== 0) throw new StowageError(`${what} failed (exit ${run.status ?? 'by a signal'}); see the log`);
  }

  private async package(): Promise<void> {
    const outDir = join(this.layout.artifacts, 'rpm');
    const result = await packageRpm({
      path: this.layout.source,
      outDir,
      flavor: this.input.flavor ?? 'fedora',
      release: this.input.release ?? '1',
      licenses: this.input.licenses ?? [],
      ...(this.progress.artifacts.vendor !== null ? { vendorArchive: this.artifactPaths().vendor as string } : {}),
      audit: this.candidateAudit(),
      sourceDateEpoch: this.sourceDateEpoch(),
      srpm: true,
      limits: this.limits('package'),
      env: this.env,
      warn: this.warn,
    });
    const sbom = result.outputs.find((o) => o.name.endsWith('.cdx.json'));
    // What the candidate keeps: the SRPM (its sources inside it: the vendor archive is already
    // artifacts/vendor.tar.zst, not written a second time) and the SBOM beside it.
    writeRpmOutputs(
      outDir,
      result.outputs.filter((o) => o.name === result.srpmName || o === sbom),
    );
    this.progress.artifacts.srpm = result.srpmName !== null ? this.kept(join(outDir, result.srpmName)) : null;
    this.progress.artifacts.sbom = sbom !== undefined ? this.kept(join(outDir, sbom.name)) : null;
    this.log.line(`package: ${result.outputs.map((o) => o.name).join(', ')}`);
  }
}

/**
 * Builds the candidate of one application for one advisory in `input.workDir` (see
 * candidateLayout). Never throws for what goes wrong in a step: the outcome says `failed`, the
 * step and why, and the log has the details. Throws a StowageError only when the work
 * directory holds no source.
 */
export async function buildCandidate(input: CandidateInput, hooks: CandidateHooks = {}): Promise<CandidateOutcome> {
  return new CandidateRun(input, hooks).run();
}
