/**
 * Helpers shared by the simulation scenarios: seeds (overridable with SIM_SEED=<n> to replay a
 * failure), a wrapper that puts the seed into every failure, and figures formatting.
 */
import type { TestContext } from 'node:test';
import type { SimNode } from '../../../src/runtime/sim/swarm.js';

/** The scenario's seed: SIM_SEED from the environment when set, else the test's fixed seed. */
export function scenarioSeed(fixed: number): number {
  const env = process.env.SIM_SEED;
  if (env !== undefined && env !== '') {
    const n = Number(env);
    if (Number.isSafeInteger(n)) return n >>> 0;
  }
  return fixed >>> 0;
}

/**
 * Runs a scenario under `seed`: reports the seed as a diagnostic, and on failure prefixes the error
 * with it (and prints it), so any failing simulated test can be replayed with SIM_SEED.
 */
export async function withSeed<T>(t: TestContext, seed: number, fn: () => Promise<T>): Promise<T> {
  t.diagnostic(`seed ${seed} (replay with SIM_SEED=${seed})`);
  try {
    return await fn();
  } catch (e) {
    console.error(`simulation failed with seed ${seed} (replay with SIM_SEED=${seed})`);
    if (e instanceof Error) e.message = `[sim seed ${seed}] ${e.message}`;
    throw e;
  }
}

export const KiB = 1024;
export const MiB = 1024 * 1024;

export function secs(ms: number): string {
  return `${(ms / 1000).toFixed(2)} s`;
}

/** Summary of download times of finished nodes: min / median / max (virtual seconds). */
export function timeSummary(nodes: readonly SimNode[]): string {
  const times = nodes.map((n) => n.downloadMs).filter((x): x is number => x !== undefined).sort((a, b) => a - b);
  if (times.length === 0) return 'none finished';
  const mid = times[Math.floor(times.length / 2)]!;
  return `min ${secs(times[0]!)}, median ${secs(mid)}, max ${secs(times[times.length - 1]!)} (${times.length} nodes)`;
}

/** Leechers not done, with their progress, for failure messages. */
export function unfinished(nodes: readonly SimNode[]): string {
  return nodes
    .filter((n) => !n.done)
    .map((n) => {
      const s = n.torrent.stats();
      return `${n.name}@${n.host.host} ${s.havePieces}/${s.pieceCount} peers=${s.peers} state=${n.state}`;
    })
    .join('; ');
}

/** Real (wall-clock) milliseconds, for reporting how long a scenario took to simulate. */
export function realNow(): number {
  return performance.now();
}
