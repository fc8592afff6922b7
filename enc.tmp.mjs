import { readFileSync } from 'node:fs';
const { readApplication } = await import(`/work/wt-graphs/dist/src/inputs/application.js`);
const v3 = await import(`/work/wt-graphs/dist/src/fleet/revision.js`);
const v2 = await import(`/work/main/dist/src/fleet/revision.js`);
const files = readFileSync('/work/f2k/apps/apps.txt', 'utf8').trim().split('\n').slice(0, 200);
const apps = [];
for (const f of files) apps.push((await readApplication([f])).graphs);
const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
const run = (m) => { const t = cpu(); for (const g of apps) m.encodeGraphs(g); return (cpu() - t).toFixed(0); };
if (process.env.ONLY) { for (let r = 0; r < 8; r++) console.log(run(v3)); } else for (let r = 0; r < 6; r++) console.log('v2', run(v2), 'v3', run(v3));
if (process.env.MIN) { let a = 1e9, b = 1e9; for (let r = 0; r < 15; r++) { a = Math.min(a, +run(v2)); b = Math.min(b, +run(v3)); } console.log('min v2', a, 'v3', b); }
