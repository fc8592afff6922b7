import assert from 'node:assert/strict';
import { existsSync, rmSync } from 'node:fs';
import { test } from 'node:test';
import { chromium } from 'playwright-core';
import { HOSTILE_ADVISORY, makeDashboardFleet } from '../support/dashboard-fleet.js';
import { startServer } from '../support/fleet-server.js';
import { freshStore, type TestStore } from '../support/fleet-stores.js';
import { tempDir } from '../support/shared.js';

/**
 * The dashboard as a person uses it, in Debian's Chromium driven by playwright-core: sign in,
 * see the fleet, open an application, triage a finding, see its state change, and see the
 * advisory page list the affected applications. No script runs on the pages; a CSP violation
 * would show as a console error, and none may.
 */

export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--headless',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

function skipWithoutChromium(): string | false {
  if (existsSync(CHROMIUM)) return false;
  if (process.env.CI === 'true') throw new Error(`${CHROMIUM} is missing: CI must install Debian's chromium (.ci/run) for the dashboard tests`);
  return `${CHROMIUM} is not installed`;
}

test('sign in, see the fleet, triage a finding in an application, see the advisory\'s affected applications (Chromium)', { skip: skipWithoutChromium() }, async () => {
  const made: TestStore = await freshStore('sqlite');
  const profile = tempDir('dashboard-chromium');
  const { cacheDir } = makeDashboardFleet(made.store);
  const server = await startServer(made.store, cacheDir);
  const { store } = server;
  const token = await server.token('alice');
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
  try {
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(m.text());
    });
    page.on('pageerror', (e) => problems.push(e.message));

    await page.goto(`${server.url}/`);
    assert.match(new URL(page.url()).pathname, /^\/sign-in$/);
    await page.getByLabel('Token').fill(token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${server.url}/`);
    assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Fleet');
    const rows = page.locator('table.fleet tbody tr');
    assert.equal(await rows.count(), (await store.apps()).length);
    assert.equal(await page.locator('svg[role="img"] title').first().textContent(), 'Findings in the fleet over time');

    await page.getByRole('link', { name: 'kanidm', exact: true }).click();
    await page.waitForURL(`${server.url}/apps/kanidm`);
    const row = page.locator('table.findings tbody tr', { hasText: HOSTILE_ADVISORY });
    assert.equal(await row.locator('.state').textContent(), 'fails policy');
    await row.locator('summary').click();
    await row.getByLabel('State').selectOption('not_affected');
    await row.getByLabel('Justification').selectOption('code_not_reachable');
    await row.getByLabel('Reason').fill('regex only sees our own patterns');
    await row.getByRole('button', { name: 'Record decision' }).click();
    await page.waitForURL(/\/apps\/kanidm\?triaged=1$/);
    assert.equal(await page.getByRole('status').textContent(), 'Decision recorded.');
    const after = page.locator('table.findings tbody tr', { hasText: HOSTILE_ADVISORY });
    assert.equal(await after.locator('.state').textContent(), 'accepted (fleet triage)');
    assert.equal(await after.locator('.triage-state').textContent(), 'not_affected');
    assert.equal((await store.triageDecisions())[0]?.by, 'alice');

    await after.getByRole('link', { name: HOSTILE_ADVISORY }).click();
    await page.waitForURL(`${server.url}/advisories/${HOSTILE_ADVISORY}`);
    const listed = await page.locator('table.affected tbody th[scope="row"]').allTextContents();
    const lockers = [...new Set((await store.currentRevisionsWithPackage('regex')).map((r) => r.app))].sort();
    assert.deepEqual([...new Set(listed)].sort(), lockers);
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
    await server.close();
    await made.dispose();
    rmSync(profile, { recursive: true, force: true });
  }
});
