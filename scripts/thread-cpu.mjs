// CPU time of each thread of a command (Linux: /proc), what a profile cannot give on a loaded
// machine (it samples wall time):
//   node scripts/thread-cpu.mjs [-o FILE] -- COMMAND ARG...
// Runs COMMAND (its stdout to FILE, else discarded; its stderr as it is), reads the user+system
// time of each of its threads every 100 ms while it runs, and prints each thread's last reading
// (so up to 100 ms of a thread's end may be missed, and a thread that lived less than 100 ms
// may be missing: compare the sum with GNU time's user+sys). A node command's threads: the main thread, each worker
// thread, V8's platform threads (concurrent and parallel garbage collection, compilation: their
// time is the heap's cost as much as the threads' own collector time), libuv's pool.
import { spawn } from 'node:child_process';
import { openSync, readdirSync, readFileSync } from 'node:fs';
import { setInterval, clearInterval } from 'node:timers';

const args = process.argv.slice(2);
const dash = args.indexOf('--');
if (dash < 0 || dash === args.length - 1) {
  console.error('usage: node scripts/thread-cpu.mjs [-o FILE] -- COMMAND ARG...');
  process.exit(2);
}
const outAt = args.slice(0, dash).indexOf('-o');
const stdout = outAt >= 0 ? openSync(args[outAt + 1], 'w') : 'ignore';
const [command, ...commandArgs] = args.slice(dash + 1);
const ticks = 100; // USER_HZ on Linux
const child = spawn(command, commandArgs, { stdio: ['ignore', stdout, 'inherit'] });
const threads = new Map();

const sample = () => {
  let tids;
  try {
    tids = readdirSync(`/proc/${child.pid}/task`);
  } catch {
    return;
  }
  for (const tid of tids) {
    try {
      const stat = readFileSync(`/proc/${child.pid}/task/${tid}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      // After the name: state is field 3, utime and stime fields 14 and 15.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      threads.set(tid, { name, ms: ((Number(fields[11]) + Number(fields[12])) * 1000) / ticks });
    } catch {
      // The thread ended between the listing and the read.
    }
  }
};
const timer = setInterval(sample, 100);
child.on('exit', (code, signal) => {
  clearInterval(timer);
  const rows = [...threads].sort((a, b) => b[1].ms - a[1].ms);
  for (const [tid, t] of rows) if (t.ms > 0) console.log(`${String(t.ms.toFixed(0)).padStart(8)} ms  thread ${tid} ${t.name}${tid === String(child.pid) ? ' (main)' : ''}`);
  const sum = rows.reduce((s, [, t]) => s + t.ms, 0);
  console.log(`${String(sum.toFixed(0)).padStart(8)} ms  threads sampled`);
  console.log(`exit ${code ?? signal}`);
});
