/**
 * Screenshots of the dashboard's main pages (the fleet, an application, an advisory) over a
 * realistic fleet, written to docs/dashboard-*.png for the README. Not a benchmark: run it by
 * hand after `npm run build` (needs Debian's chromium):
 *
 *   node dist/bench/dashboard-screenshots.js [--apps 150]
 *
 * The fleet: five real projects, each added once per dated lockfile of the shared corpus at
 * that date (kanidm, ripgrep, jellyfin-web, prettier, vite: years of history, findings that
 * appear and are resolved), plus generated applications (bench/fleet-generator.ts) for a fleet
 * page of several pages; RustSec (the shared bundle) and GHSA npm; a few triage decisions.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { chromium } from 'playwright-core';
import { loadVersionScheme } from '../src/ecosystems/formats.js';
import { addApplications } from '../src/fleet/add.js';
import { closeDatabases, openFleetDatabases } from '../src/fleet/evaluate.js';
import { requireSettings } from '../src/fleet/lookup.js';
import { openFleetStore } from '../src/fleet/store/open-store.js';
import { recordDecision } from '../src/fleet/triage.js';
import { createToken } from '../src/server/auth.js';
import { dashboardRoutes } from '../src/server/dashboard/routes.js';
import { generateFleet } from './fleet-generator.js';
import { ROOT, SHARED } from './results-file.js';

const STOWAGE = join(ROOT, 'bin', 'stowage.cjs');
const BUNDLE = join(SHARED, 'advisory-db', 'rustsec-advisory-db.bundle');
const GHSA = join(SHARED, 'advisories', 'ghsa-npm');
const PROJECTS = [
  { name: 'kanidm', dir: join(SHARED, 'corpus', 'cargo'), suffix: '.Cargo.lock' },
  { name: 'ripgrep', dir: join(SHARED, 'corpus', 'cargo'), suffix: '.Cargo.lock' },
  { name: 'jellyfin-web', dir: join(SHARED, 'corpus', 'npm'), suffix: '.package-lock.json' },
  { name: 'prettier', dir: join(SHARED, 'corpus', 'npm'), suffix: '.package-lock.json' },
  { name: 'vite', dir: join(SHARED, 'corpus', 'npm'), suffix: '.package-lock.json' },
];
const CHROMIUM_ARGS = ['--no-sandbox', '--headless', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

const appsArg = process.argv.indexOf('--apps');
const GENERATED = appsArg > 0 ? Number(process.argv[appsArg + 1]) : 150;

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'stowage-screenshots-'));
  const env = { ...process.env, STOWAGE_CACHE_DIR: join(work, 'cache'), NO_COLOR: '1' };
  const storePath = join(work, 'fleet.sqlite');
  const cli = (...args: string[]): void => {
    const r = spawnSync(process.execPath, [STOWAGE, 'fleet', ...args, '--store', storePath], { env, encoding: 'utf8' });
    if (r.status !== 0 && r.status !== 1) throw new Error(`stowage fleet ${args.join(' ')}: ${r.stderr}`);
  };
  try {
    cli('init', '--db', BUNDLE, '--db', GHSA);
    const generated = generateFleet(join(work, 'apps'), GENERATED);
    cli('add', '--from-file', generated.list);
    const store = await openFleetStore(storePath);
    try {
      const settings = await requireSettings(store);
      const databases = await openFleetDatabases(settings, { cacheRoot: join(work, 'cache'), fetch: 'never' });
      try {
        for (const project of PROJECTS) {
          const files = readdirSync(project.dir).filter((f) => f.startsWith(`${project.name}-20`) && f.endsWith(project.suffix)).sort();
          for (const file of files) {
            const date = /-(\d{4}-\d{2}-\d{2})\./.exec(file)?.[1] as string;
            await addApplications(store, [{ path: join(project.dir, file), name: project.name }], { settings, databases, now: new Date(`${date}T09:00:00Z`), by: 'ci' });
          }
        }
      } finally {
        closeDatabases(databases);
      }
    } finally {
      await store.close();
    }
    cli('sync', '--no-fetch');

    const opened = await openFleetStore(storePath);
    const kanidm = await opened.findings((await opened.app('kanidm').then((a) => a?.currentRevision)) ?? -1);
    const vulnerable = kanidm.filter((f) => f.advisory.kind === 'vulnerability');
    for (const [i, f] of vulnerable.slice(0, 2).entries()) {
      await recordDecision(
        opened,
        {
          app: 'kanidm',
          id: f.advisory.id,
          state: i === 0 ? 'not_affected' : 'in_triage',
          justification: i === 0 ? 'code_not_reachable' : undefined,
          reason: i === 0 ? 'the affected function is never called' : 'checking whether the server exposes it',
          expires: undefined,
          package: f.package.name,
          by: 'security-team',
          now: new Date(),
        },
        loadVersionScheme,
      );
    }
    // The advisory with the most affected applications: the page a ticket would link to.
    const counts = new Map<string, number>();
    for (const app of await opened.apps()) {
      if (app.currentRevision === null) continue;
      for (const f of await opened.findings(app.currentRevision)) if (f.advisory.kind === 'vulnerability') counts.set(f.advisory.id, (counts.get(f.advisory.id) ?? 0) + 1);
    }
    const advisory = [...counts].sort((a, b) => b[1] - a[1])[0]?.[0] as string;

    const { token } = await createToken(opened, 'security-team', false, new Date());
    const routes = dashboardRoutes({ store: opened, publicRead: false, now: () => new Date() });
    const server = await new Promise<{ url: string; close: () => void }>((resolve) => {
      const s = serve({ fetch: routes.fetch, hostname: '127.0.0.1', port: 0 }, (info: AddressInfo) => resolve({ url: `http://127.0.0.1:${info.port}`, close: () => s.close() }));
    });
    const context = await chromium.launchPersistentContext(join(work, 'profile'), { executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS, headless: true, viewport: { width: 1360, height: 900 } });
    try {
      const page = await context.newPage();
      await page.goto(`${server.url}/sign-in`);
      await page.getByLabel('Token').fill(token);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.waitForURL(`${server.url}/`);
      const shots: [string, string][] = [
        ['/?sort=findings', 'dashboard-fleet.png'],
        ['/apps/kanidm', 'dashboard-app.png'],
        [`/advisories/${encodeURIComponent(advisory)}`, 'dashboard-advisory.png'],
      ];
      for (const [path, file] of shots) {
        await page.goto(server.url + path);
        await page.screenshot({ path: join(ROOT, 'docs', file), fullPage: true, clip: { x: 0, y: 0, width: 1360, height: 1500 } });
        process.stdout.write(`docs/${file}: ${path}\n`);
      }
    } finally {
      await context.close();
      server.close();
      await opened.close();
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
