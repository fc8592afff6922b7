import cliProgress from 'cli-progress';
import type { DownloadProgress } from '../vendoring/download.js';

export interface ProgressReporter {
  update: (progress: DownloadProgress) => void;
  stop: () => void;
}

function mib(bytes: number): string {
  return (bytes / 1024 / 1024).toFixed(1);
}

/**
 * A progress bar (packages and bytes) on a terminal; on anything else, a plain line at each
 * quarter, so CI logs stay short and readable.
 */
export function progressReporter(label: string, stream: NodeJS.WriteStream): ProgressReporter {
  if (stream.isTTY && !process.env.CI) {
    const bar = new cliProgress.SingleBar(
      {
        stream,
        format: `${label} [{bar}] {value}/{total} packages | {mib} MiB downloaded | {cached} from cache`,
        hideCursor: true,
        clearOnComplete: true,
      },
      cliProgress.Presets.shades_classic,
    );
    let started = false;
    return {
      update: (p) => {
        if (!started) {
          bar.start(p.total, 0, { mib: '0.0', cached: 0 });
          started = true;
        }
        bar.setTotal(p.total);
        bar.update(p.done, { mib: mib(p.bytes), cached: p.fromCache });
      },
      stop: () => {
        if (started) bar.stop();
      },
    };
  }
  let lastQuarter = 0;
  return {
    update: (p) => {
      const quarter = p.total === 0 ? 4 : Math.floor((p.done / p.total) * 4);
      if (quarter > lastQuarter) {
        lastQuarter = quarter;
        stream.write(`${label}: ${p.done}/${p.total} packages, ${mib(p.bytes)} MiB downloaded, ${p.fromCache} from the cache\n`);
      }
    },
    stop: () => undefined,
  };
}
