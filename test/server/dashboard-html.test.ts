import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Finding } from '../../src/core/finding.js';
import { barChart, stepChart, windowChart } from '../../src/server/dashboard/charts.js';
import { documentText, escapeHtml, html } from '../../src/server/dashboard/html.js';
import { renderAppPage, type AppPageData } from '../../src/server/dashboard/app-page.js';
import { fleetHref, parseFleetView } from '../../src/server/dashboard/fleet-page.js';
import { exposureWindows } from '../../src/server/dashboard/timelines.js';
import { advisoryRecord } from '../support/advisory-fixtures.js';

const HOSTILE = `"><script>alert('x')</script><img src=x onerror=alert(1)>&amp;`;

test('every interpolation is text unless html built it: in content, in attributes, in lists', () => {
  const page = html`<p title="${HOSTILE}">${HOSTILE}</p><ul>${[HOSTILE, 3, null, false].map((v) => html`<li>${v}</li>`)}</ul>`;
  assert.doesNotMatch(page.text, /<script|<img|"><|onerror=alert\(1\)>/);
  assert.equal(page.text.split(escapeHtml(HOSTILE)).length - 1, 3);
  assert.match(page.text, /<li>3<\/li><li><\/li><li><\/li>/);
  // A look-alike of SafeHtml from outside is still text.
  const forged = { text: '<b>bold</b>' } as unknown as string;
  assert.doesNotMatch(html`${forged}`.text, /<b>/);
  assert.equal(documentText(html`<p>${'a<b'}</p>`), '<!doctype html>\n<p>a&lt;b</p>');
});

test('charts are labelled images whose words say what the picture shows, names escaped', () => {
  const step = stepChart(`Findings of ${HOSTILE}`, [
    { at: '2025-01-01T00:00:00Z', value: 3 },
    { at: '2025-06-01T00:00:00Z', value: 7 },
    { at: '2025-09-01T00:00:00Z', value: 2 },
  ], '2026-01-01T00:00:00Z').text;
  assert.match(step, /role="img" aria-labelledby="(step-\d+)-t \1-d"/);
  assert.match(step, /<desc id="step-\d+-d">From 2025-01-01 to 2026-01-01: 3 at the start, 2 now, at most 7\.<\/desc>/);
  assert.doesNotMatch(step, /<script/);
  assert.match(stepChart('None', [], '2026-01-01T00:00:00Z').text, /no history yet/);
  const bars = barChart('By severity', [{ label: 'Critical', value: 4, className: 'level-critical' }, { label: 'Low', value: 0, className: 'level-low' }]).text;
  assert.match(bars, /<desc id="bars-\d+-d">Critical: 4, Low: 0\.<\/desc>/);
  assert.match(bars, /<rect class="level-low" x="110" y="\d+" width="0\.0"/);
  const windows = windowChart('Windows', [{ label: 'RUSTSEC-1 a 1.0', from: '2025-01-01T00:00:00Z', to: null }], '2026-01-01T00:00:00Z').text;
  assert.match(windows, /1 finding in the application&#39;s history, 1 still open: RUSTSEC-1 a 1\.0 from 2025-01-01 until now\./);
  assert.doesNotMatch(step + bars + windows, /style=/, 'the CSP allows no inline style');
});

test('a long exposure-window label is cut by code point: no lone surrogate half (rendered as U+FFFD) before the ellipsis', () => {
  // 34 ASCII characters, then astral ones (a package name from an SBOM may hold any): the 35th UTF-16 unit is a high surrogate.
  const label = `${'x'.repeat(34)}${'\u{1F600}'.repeat(3)}`;
  const text = windowChart('Windows', [{ label, from: '2025-01-01T00:00:00Z', to: null }], '2026-01-01T00:00:00Z').text;
  const shown = /<text class="axis" x="242" y="17" text-anchor="end">([^<]*)<\/text>/.exec(text)?.[1];
  // 37 code points (40 units): cut after 35 of them. Before: after 35 units, a lone high surrogate.
  assert.equal(shown, `${'x'.repeat(34)}\u{1F600}…`);
});

test('exposure windows open and close with revisions', () => {
  const f = (id: string, name: string): Finding => ({ advisory: { id }, package: { name, version: '1.0.0' } }) as Finding;
  const windows = exposureWindows(
    [
      { at: '2025-01-01T00:00:00Z', revisionId: 1 },
      { at: '2025-02-01T00:00:00Z', revisionId: 2 },
      { at: '2025-03-01T00:00:00Z', revisionId: 3 },
    ],
    new Map([
      [1, [f('A', 'a')]],
      [2, [f('A', 'a'), f('B', 'b')]],
      [3, [f('B', 'b')]],
    ]),
  );
  assert.deepEqual(windows, [
    { label: 'B b 1.0.0', from: '2025-02-01T00:00:00Z', to: null },
    { label: 'A a 1.0.0', from: '2025-01-01T00:00:00Z', to: '2025-03-01T00:00:00Z' },
  ]);
});

test('the fleet page\'s address: every parameter checked, defaults left out of links', () => {
  const q = (params: Record<string, string>) => parseFleetView((n) => params[n]);
  assert.deepEqual(q({}), { search: null, level: null, sort: 'name', descending: false, page: 1, perPage: 50 });
  assert.throws(() => q({ sort: 'size' }), /sort "size" is not one of name, findings, revised/);
  assert.throws(() => q({ page: '0' }), /page "0" is not a whole number from 1/);
  // The refusal of the first page past the bound names a bound that excludes it.
  assert.equal(q({ page: '999999999' }).page, 999_999_999);
  assert.throws(() => q({ page: '1000000000' }), /page "1000000000" is not a whole number from 1 to 999999999$/);
  assert.throws(() => q({ per: '5000' }), /per "5000" is not a whole number from 1 to 200/);
  assert.throws(() => q({ level: 'severe' }), /level "severe" is not one of/);
  const view = q({ q: 'a&b', level: 'high', sort: 'findings', page: '3' });
  assert.equal(fleetHref(view, { page: 1 }), '/?q=a%26b&level=high&sort=findings');
  assert.equal(fleetHref(q({}), {}), '/');
});

test('a bidi override or isolate in a value is shown as an escape, never applied: one name cannot read as another', () => {
  const spoof = 'invoice\u202egnp.exe';
  const page = html`<a href="/apps/${spoof}">${spoof}</a><p>${'a\u2066b\u2069c'}</p>`.text;
  assert.doesNotMatch(page, /[\u202a-\u202e\u2066-\u2069]/u);
  assert.equal(page, '<a href="/apps/invoice\\u202egnp.exe">invoice\\u202egnp.exe</a><p>a\\u2066b\\u2069c</p>');
  // Other scripts, and right-to-left text without controls, are shown as they are.
  assert.equal(escapeHtml('שלום naïve 漢字'), 'שלום naïve 漢字');
});

/** A finding of package a 1.0.0 and an application page's data holding some. */
const finding = (id: string, extra: Parameters<typeof advisoryRecord>[3] = {}): Finding => ({
  target: 'Cargo.lock',
  advisory: advisoryRecord(id, 'a', ['>=2.0.0'], extra),
  databases: ['rustsec'],
  package: { id: 'a@1.0.0', ecosystem: 'cargo', name: 'a', version: '1.0.0', source: { kind: 'registry', url: null, isDefaultRegistry: true }, checksum: null },
  paths: [['a@1.0.0']],
  morePaths: 0,
  directDependencies: ['a@1.0.0'],
  fixedVersions: null,
  devOnly: false,
  ignored: null,
  policyLevel: 'medium',
  failsPolicy: true,
});
const data = (findings: Finding[]): AppPageData => ({
  name: 'app',
  revision: { id: 1, appId: 1, digest: `sha256:${'0'.repeat(64)}`, seq: 1, createdAt: '2026-01-01T00:00:00Z', origin: 'add', documents: [{ name: 'Cargo.lock', digest: `sha256:${'1'.repeat(64)}`, size: 1 }], evaluatedAgainst: {}, notAudited: [] },
  findings,
  triage: [],
  history: [],
  historyTotal: 0,
  overTime: [],
  windows: [],
  diff: null,
  now: '2026-01-02T00:00:00Z',
});

test('the application page counts its findings in words: 1 finding, 2 findings', () => {
  const viewer = { name: null, csrf: null, canWrite: false };
  assert.match(renderAppPage(data([finding('RUSTSEC-2026-0001')]), viewer).text, /from Cargo\.lock\. 1 finding, 1 failing the policy\./);
  assert.match(renderAppPage(data([finding('RUSTSEC-2026-0001'), finding('RUSTSEC-2026-0002')]), viewer).text, /\. 2 findings, 2 failing the policy\./);
});

test('control characters in an advisory text are shown as escapes on the page, never sent as they are', () => {
  // ESC and BEL render as nothing in a browser: the page would show "Evil  title RED" while the
  // same title printed by `stowage fleet show` or `curl` sets the terminal's title and clears it.
  const title = 'Evil \u001b]0;pwned\u0007 title \u001b[2J\u001b[31mRED\u009b31m\u200b';
  const page = renderAppPage(data([finding('RUSTSEC-2026-0003', { title, description: 'line one\nline two \u001b[8mhidden' })]), { name: null, csrf: null, canWrite: false }).text;
  // eslint-disable-next-line no-control-regex
  assert.doesNotMatch(page, /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u200b]/u);
  assert.ok(page.includes('Evil \\x1b]0;pwned\\x07 title \\x1b[2J\\x1b[31mRED\\x9b31m\\u200b'), 'the title, escaped as the command line escapes it');
  // Line breaks and tabs are the page's layout, not escaped.
  assert.equal(escapeHtml('a\tb\nc\r\nd \u0000 \u007f'), 'a\tb\nc\r\nd \\x00 \\x7f');
});
