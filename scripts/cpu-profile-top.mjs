// Where a command's time goes, from the profiles `node --cpu-prof --cpu-prof-dir=DIR` writes (one
// per thread: the main thread's, each worker's):
//   node scripts/cpu-profile-top.mjs DIR_OR_FILE... [--top N] [--inclusive]
// For each profile: its sampled time, then the functions by self time (`--inclusive`: also by
// time with their callees). A function is named with its file, line and column: a bundle is a few
// long lines, and the column tells its functions apart (look it up with `cut -cCOL-`).
// A profile samples wall time: on a loaded machine a thread's samples include the time it waited
// for a core, so compare shares within a thread, and weigh threads by their CPU time
// (scripts/thread-cpu.mjs), not by their sampled time. `await` cuts the inclusive times: what
// runs after an await is counted under the microtask queue, not under the caller.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

const args = process.argv.slice(2);
const topAt = args.indexOf('--top');
const top = topAt >= 0 ? Number(args[topAt + 1]) : 30;
const inclusive = args.includes('--inclusive');
const inputs = args.filter((a, i) => !a.startsWith('--') && (topAt < 0 || i !== topAt + 1));
if (inputs.length === 0) {
  console.error('usage: node scripts/cpu-profile-top.mjs DIR_OR_FILE... [--top N] [--inclusive]');
  process.exit(2);
}

const files = inputs.flatMap((input) =>
  statSync(input).isDirectory()
    ? readdirSync(input)
        .filter((f) => f.endsWith('.cpuprofile'))
        .sort()
        .map((f) => join(input, f))
    : [input],
);

for (const file of files) summarise(file);

function summarise(file) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const child of n.children ?? []) parent.set(child, n.id);
  const label = (n) => {
    const f = n.callFrame;
    return `${f.functionName || '(anonymous)'} ${f.url.replace(/^.*\//, '')}:${f.lineNumber + 1}:${f.columnNumber + 1}`;
  };
  const self = new Map();
  const within = new Map();
  let total = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    // A sample's time is the delta to the next sample.
    const ms = (profile.timeDeltas[i + 1] ?? 0) / 1000;
    total += ms;
    let id = profile.samples[i];
    const own = label(nodes.get(id));
    self.set(own, (self.get(own) ?? 0) + ms);
    // Each function once per sample, however often it is on the stack (recursion).
    const seen = new Set();
    for (; id !== undefined; id = parent.get(id)) {
      const name = label(nodes.get(id));
      if (seen.has(name)) continue;
      seen.add(name);
      within.set(name, (within.get(name) ?? 0) + ms);
    }
  }
  const idle = self.get('(idle) :0:0') ?? 0;
  console.log(`== ${file}: ${total.toFixed(0)} ms sampled, ${(total - idle).toFixed(0)} ms not idle`);
  const print = (title, times) => {
    console.log(`-- ${title}`);
    for (const [name, ms] of [...times].sort((a, b) => b[1] - a[1]).slice(0, top)) {
      console.log(`${ms.toFixed(0).padStart(8)} ms ${((100 * ms) / total).toFixed(1).padStart(5)}%  ${name}`);
    }
  };
  print('self', self);
  if (inclusive) print('inclusive', within);
}
