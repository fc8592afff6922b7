import { plural } from '../../audit/report/human.js';
import type { TimelinePoint } from '../../fleet/store/store.js';
import { html, type SafeHtml } from './html.js';

/**
 * The dashboard's pictures, drawn by hand as inline SVG: the pages are server-rendered and work
 * without JavaScript, and there is no front-end build to bring a chart library in; three kinds
 * of chart in ~150 lines cost less than a library's weight and its CSP exceptions (inline
 * styles, scripts). Colours come from presentation attributes and classes of the dashboard's
 * stylesheet (never style="": the CSP allows no inline style). Each chart is a role="img" with
 * a <title> and a <desc> that says in words what it shows, and each is followed on its page by
 * the numbers themselves.
 */

/** A point of a step chart: the store computes them (FleetStore.findingsOverTime). */
export type TimePoint = TimelinePoint;

const W = 640;
const H = 180;
const PAD = { left: 40, right: 12, top: 12, bottom: 28 };

let chartIds = 0;
/** A document-unique id for aria-labelledby (pages are rendered one at a time; uniqueness within one is what counts). */
function chartId(kind: string): string {
  chartIds = (chartIds + 1) % 1_000_000;
  return `${kind}-${chartIds}`;
}

const day = (iso: string): string => iso.slice(0, 10);

/** Round maximum for an axis: 1, 2, 5, 10, 20, 50... at least `value`. */
function niceMax(value: number): number {
  if (value <= 1) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 5, 10]) if (step * magnitude >= value) return step * magnitude;
  return 10 * magnitude;
}

function frame(id: string, title: string, description: string, body: SafeHtml, height = H): SafeHtml {
  return html`<svg class="chart" viewBox="0 0 ${W} ${height}" width="${W}" height="${height}" role="img" aria-labelledby="${id}-t ${id}-d" xmlns="http://www.w3.org/2000/svg"><title id="${id}-t">${title}</title><desc id="${id}-d">${description}</desc>${body}</svg>`;
}

/**
 * A step chart of a count over time (open findings): each point holds until the next, the
 * last until `now`. Empty series: a sentence instead of an empty frame.
 */
export function stepChart(title: string, points: readonly TimePoint[], now: string): SafeHtml {
  if (points.length === 0) return html`<p class="empty">${title}: no history yet.</p>`;
  const times = points.map((p) => Date.parse(p.at));
  const start = times[0] as number;
  const end = Math.max(Date.parse(now), times.at(-1) as number, start + 1);
  const peak = Math.max(...points.map((p) => p.value));
  const top = niceMax(peak);
  const x = (t: number): number => PAD.left + ((t - start) / (end - start)) * (W - PAD.left - PAD.right);
  const y = (v: number): number => H - PAD.bottom - (v / top) * (H - PAD.top - PAD.bottom);
  let d = `M${x(start).toFixed(1)},${y(0).toFixed(1)}`;
  points.forEach((p, i) => {
    const from = x(times[i] as number);
    const to = x(i + 1 < times.length ? (times[i + 1] as number) : end);
    d += ` L${from.toFixed(1)},${y(p.value).toFixed(1)} L${to.toFixed(1)},${y(p.value).toFixed(1)}`;
  });
  d += ` L${x(end).toFixed(1)},${y(0).toFixed(1)} Z`;
  const last = points.at(-1) as TimePoint;
  const description = `From ${day(points[0]?.at ?? now)} to ${day(now)}: ${points[0]?.value ?? 0} at the start, ${last.value} now, at most ${peak}.`;
  const id = chartId('step');
  const ticks = [0, top / 2, top].map(
    (v) => html`<line class="grid" x1="${PAD.left}" x2="${W - PAD.right}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}"/><text class="axis" x="${PAD.left - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end">${Number.isInteger(v) ? v : v.toFixed(1)}</text>`,
  );
  const body = html`${ticks}<path class="area" d="${d}"/><text class="axis" x="${PAD.left}" y="${H - 8}">${day(points[0]?.at ?? now)}</text><text class="axis" x="${W - PAD.right}" y="${H - 8}" text-anchor="end">${day(now)}</text>`;
  return frame(id, title, description, body);
}

export interface Bar {
  label: string;
  value: number;
  /** A class of the stylesheet (`level-critical`, ...). */
  className: string;
}

/** Horizontal bars, one per label, each with its number written beside it. */
export function barChart(title: string, bars: readonly Bar[]): SafeHtml {
  const rowHeight = 24;
  const height = bars.length * rowHeight + 8;
  const labelWidth = 110;
  const max = Math.max(1, ...bars.map((b) => b.value));
  const span = W - labelWidth - 60;
  const rows = bars.map((b, i) => {
    const y = 4 + i * rowHeight;
    const width = b.value === 0 ? 0 : Math.max(2, (b.value / max) * span);
    return html`<text class="axis" x="${labelWidth - 8}" y="${y + 16}" text-anchor="end">${b.label}</text><rect class="${b.className}" x="${labelWidth}" y="${y + 3}" width="${width.toFixed(1)}" height="${rowHeight - 8}"/><text class="value" x="${(labelWidth + width + 6).toFixed(1)}" y="${y + 16}">${b.value}</text>`;
  });
  const description = bars.map((b) => `${b.label}: ${b.value}`).join(', ') + '.';
  return frame(chartId('bars'), title, description, html`${rows}`, height);
}

export interface Window {
  label: string;
  /** ISO-8601: when the finding appeared. */
  from: string;
  /** When it was resolved; null: still open. */
  to: string | null;
}

/** Exposure windows: one row per finding, a bar from when it appeared to when it was resolved (or now). */
export function windowChart(title: string, windows: readonly Window[], now: string): SafeHtml {
  if (windows.length === 0) return html`<p class="empty">${title}: no finding in this application's history.</p>`;
  const rowHeight = 20;
  const labelWidth = 250;
  const height = windows.length * rowHeight + 30;
  const start = Math.min(...windows.map((w) => Date.parse(w.from)));
  const end = Math.max(Date.parse(now), start + 1);
  const x = (t: number): number => labelWidth + ((t - start) / (end - start)) * (W - labelWidth - 12);
  const rows = windows.map((w, i) => {
    const y = 4 + i * rowHeight;
    const from = x(Date.parse(w.from));
    const to = x(w.to === null ? end : Date.parse(w.to));
    // Cut by code point, not UTF-16 unit: a cut inside a surrogate pair left a lone half, which renders as U+FFFD.
    const points = [...w.label];
    const label = points.length > 36 ? `${points.slice(0, 35).join('')}…` : w.label;
    return html`<text class="axis" x="${labelWidth - 8}" y="${y + 13}" text-anchor="end">${label}</text><rect class="${w.to === null ? 'open' : 'closed'}" x="${from.toFixed(1)}" y="${y + 3}" width="${Math.max(2, to - from).toFixed(1)}" height="${rowHeight - 6}"/>`;
  });
  const open = windows.filter((w) => w.to === null).length;
  const description = `${plural(windows.length, 'finding')} in the application's history, ${open} still open: ${windows
    .map((w) => `${w.label} from ${day(w.from)} ${w.to === null ? 'until now' : `to ${day(w.to)}`}`)
    .join('; ')}.`;
  const axis = html`<text class="axis" x="${labelWidth}" y="${height - 8}">${day(new Date(start).toISOString())}</text><text class="axis" x="${W - 12}" y="${height - 8}" text-anchor="end">${day(now)}</text>`;
  return frame(chartId('windows'), title, description, html`${rows}${axis}`, height);
}
