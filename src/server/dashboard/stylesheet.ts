/**
 * The dashboard's one stylesheet, served at /static/dashboard.css (the CSP allows styles from
 * the app itself only). Kept as a string here so the bundle carries it without a file to find.
 */
export const STYLESHEET = `
:root { --fg: #1d232b; --muted: #5b6573; --line: #d9dee5; --bg: #f7f8fa; --accent: #1f5fbf;
  --critical: #8e1b1b; --high: #d0461f; --medium: #d9951a; --low: #4b8bd6; --none: #8a94a3; --unscored: #6b5d4f; --info: #7c6fb0; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); }
header { display: flex; gap: 1.5rem; align-items: center; padding: .6rem 1.5rem; background: #14202e; color: #fff; }
header a { color: #fff; } header .home { font-weight: 700; text-decoration: none; font-size: 1.05rem; }
header .search { flex: 1; display: flex; gap: .4rem; } header .search input { flex: 1; max-width: 28rem; }
header nav { display: flex; gap: .6rem; align-items: center; } .who { color: #c9d4e3; }
main { padding: 1rem 1.5rem 3rem; max-width: 1400px; }
h1 { margin: .4rem 0 .8rem; font-size: 1.5rem; } h1 small { color: var(--muted); font-weight: 400; }
h2 { font-size: 1.1rem; margin: 1.6rem 0 .6rem; }
a { color: var(--accent); }
table { border-collapse: collapse; width: 100%; background: #fff; border: 1px solid var(--line); margin: .5rem 0 1rem; }
caption { text-align: left; padding: .4rem 0; color: var(--muted); }
th, td { padding: .35rem .55rem; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
thead th { background: #eef1f5; font-weight: 600; white-space: nowrap; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; } td.zero { color: #b5bcc6; }
td.level-critical { color: var(--critical); font-weight: 700; } td.level-high { color: var(--high); font-weight: 700; }
td.level-medium { color: #9a6700; font-weight: 600; } td.level-low { color: var(--low); } td.level-unscored { color: var(--unscored); font-weight: 600; } td.level-informational { color: var(--info); }
code { font-family: ui-monospace, "SFMono-Regular", Menlo, monospace; font-size: .92em; }
.badge { display: inline-block; padding: .05rem .45rem; border-radius: .6rem; color: #fff; font-size: .8rem; font-weight: 600; }
.badge.level-critical { background: var(--critical); } .badge.level-high { background: var(--high); } .badge.level-medium { background: var(--medium); }
.badge.level-low { background: var(--low); } .badge.level-none { background: var(--none); } .badge.level-unscored { background: var(--unscored); } .badge.level-informational { background: var(--info); }
.state.failing { color: var(--critical); font-weight: 700; } .state.ignored { color: #2e7d32; } .state.warning { color: #9a6700; }
.triage-state { font-weight: 600; }
ul.paths { margin: 0; padding-left: 1rem; font-size: .85rem; color: var(--muted); }
details.triage form { display: grid; grid-template-columns: max-content 1fr; gap: .3rem .5rem; margin-top: .4rem; min-width: 18rem; }
details.triage button { grid-column: 2; justify-self: start; }
form.inline { display: inline; } form.filters { display: flex; flex-wrap: wrap; gap: .8rem; align-items: end; margin: 1rem 0 .3rem; }
form.sign-in { display: grid; grid-template-columns: max-content 22rem; gap: .5rem; align-items: center; }
form.sign-in button { grid-column: 2; justify-self: start; }
input, select, button { font: inherit; padding: .25rem .45rem; }
button { cursor: pointer; border: 1px solid #9aa5b4; background: #fff; border-radius: 3px; }
.notice { padding: .5rem .8rem; background: #e8f4ea; border: 1px solid #9fcca7; } .notice.error { background: #fbeaea; border-color: #e0a3a3; }
.hint { color: var(--muted); } .crumbs { margin: 0; color: var(--muted); } .summary { color: var(--muted); }
.pager { display: flex; gap: 1rem; align-items: center; }
.charts { display: flex; flex-wrap: wrap; gap: 1rem; } figure { margin: 0; background: #fff; border: 1px solid var(--line); padding: .6rem; flex: 1 1 420px; max-width: 660px; }
figure.wide { flex-basis: 100%; max-width: none; } figcaption { color: var(--muted); font-size: .85rem; max-width: 640px; }
svg.chart { max-width: 100%; height: auto; display: block; }
svg .grid { stroke: #e3e7ec; } svg .axis { fill: var(--muted); font-size: 11px; } svg .value { fill: var(--fg); font-size: 12px; }
svg .area { fill: rgba(208, 70, 31, .25); stroke: var(--high); stroke-width: 1.5; }
svg .open { fill: var(--high); } svg .closed { fill: #9fb7d6; }
svg .level-critical { fill: var(--critical); } svg .level-high { fill: var(--high); } svg .level-medium { fill: var(--medium); }
svg .level-low { fill: var(--low); } svg .level-none { fill: var(--none); } svg .level-unscored { fill: var(--unscored); } svg .level-informational { fill: var(--info); }
.description { white-space: pre-wrap; background: #fff; border: 1px solid var(--line); padding: .8rem; max-width: 60rem; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; } dl.facts dt { color: var(--muted); } dl.facts dd { margin: 0; }
.lead { font-size: 1.1rem; }
.diff li.added, .diff li.new { color: #a3361b; } .diff li.removed, .diff li.resolved { color: #2e7d32; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }
`;
