/** The real clock: performance.now() and Node timers. */
import type { Clock } from '../../torrent/ports.js';

export const nodeClock: Clock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as unknown as NodeJS.Timeout),
};
