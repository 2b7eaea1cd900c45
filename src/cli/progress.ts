/**
 * A progress bar on a terminal (stderr), nothing otherwise: scripts and pipes get clean output.
 */
import { createRequire } from 'node:module';
import type cliProgressType from 'cli-progress';
import { formatBytes } from './format.js';

/** cli-progress is loaded only when a bar is shown (scripts and pipes never pay for it). */
export function loadCliProgress(): typeof cliProgressType {
  return createRequire(import.meta.url)('cli-progress') as typeof cliProgressType;
}

export interface Progress {
  update(done: number, total: number): void;
  stop(): void;
}

export function progressBar(label: string, enabled: boolean): Progress {
  if (!enabled || !process.stderr.isTTY) return { update() {}, stop() {} };
  const cliProgress = loadCliProgress();
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: `${label} [{bar}] {percentage}% | {doneText} / {totalText} | {rate}/s | ETA {eta_formatted}`,
      hideCursor: true,
      clearOnComplete: true,
      barsize: 30,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  const t0 = performance.now();
  return {
    update(done, total) {
      const rate = formatBytes(Math.round(done / Math.max(0.001, (performance.now() - t0) / 1000)));
      const payload = { doneText: formatBytes(done), totalText: formatBytes(total), rate };
      if (!started) {
        bar.start(total, done, payload);
        started = true;
      } else {
        bar.update(done, payload);
      }
    },
    stop() {
      if (started) bar.stop();
    },
  };
}
