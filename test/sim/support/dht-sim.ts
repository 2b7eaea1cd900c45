/**
 * Helpers for the DHT simulations on `DhtNet`: building a network and measuring it, running batches
 * of lookups (find_node, get_peers, BEP 44 get) from random nodes, comparing what a lookup found
 * with the true closest nodes (computed from the whole network), and summarising the figures.
 */
import type { DhtNode, LookupResult } from '../../../src/dht/dht-node.js';
import { compareDistance } from '../../../src/dht/node-id.js';
import { DhtNet } from '../../../src/runtime/sim/dht-net.js';
import type { SimDhtNode } from '../../../src/runtime/sim/dht-net.js';
import { SimRandom } from '../../../src/runtime/sim/random.js';

export const K_CLOSEST = 8;

/** Real (wall-clock) time and the process's memory, for reporting what a simulation costs. */
export interface Cost {
  realMs: number;
  rssMiB: number;
  packets: number;
}

export function measure<T>(net: DhtNet, f: () => T): { value: T; cost: Cost } {
  const t0 = performance.now();
  const p0 = net.packets;
  const value = f();
  return { value, cost: { realMs: performance.now() - t0, rssMiB: process.memoryUsage().rss / 2 ** 20, packets: net.packets - p0 } };
}

export function costText(c: Cost): string {
  return `${(c.realMs / 1000).toFixed(1)} s real, ${c.packets} packets, RSS ${c.rssMiB.toFixed(0)} MiB`;
}

/** The `k` responsive live nodes closest to `target` (ground truth, from the whole network). */
export function trueClosest(candidates: readonly SimDhtNode[], target: Buffer, k = K_CLOSEST): SimDhtNode[] {
  const best: SimDhtNode[] = [];
  for (const n of candidates) {
    if (!n.alive || !n.responsive) continue;
    if (best.length === k && compareDistance(target, n.node.id, best[k - 1]!.node.id) >= 0) continue;
    let i = best.length;
    while (i > 0 && compareDistance(target, n.node.id, best[i - 1]!.node.id) < 0) i--;
    best.splice(i, 0, n);
    if (best.length > k) best.pop();
  }
  return best;
}

export interface LookupSample {
  hops: number;
  messages: number;
  durationMs: number;
  /** Until the closest node found had answered (the lookup reached its destination). */
  resultMs: number | undefined;
  /** The closest responsive node to the target is among the lookup's closest. */
  foundClosest: boolean;
  /** Share of the true k closest among the lookup's closest. */
  closestShare: number;
}

export function sampleOf(r: LookupResult, truth: readonly SimDhtNode[]): LookupSample {
  const found = new Set(r.closest.map((c) => c.id.toString('hex')));
  const hits = truth.filter((n) => found.has(n.node.id.toString('hex'))).length;
  return {
    hops: r.hops,
    messages: r.messages,
    durationMs: r.durationMs,
    resultMs: r.resultMs,
    foundClosest: truth.length > 0 && found.has(truth[0]!.node.id.toString('hex')),
    closestShare: truth.length === 0 ? 1 : hits / truth.length,
  };
}

/**
 * Runs one lookup per entry of `jobs` (`start` issues the command on the node), `concurrency` at a
 * time, and returns their results in order. Lookups that never finish within `maxMs` give undefined.
 */
export function runBatch<J, R = LookupResult>(
  net: DhtNet,
  jobs: readonly J[],
  nodeOf: (j: J) => SimDhtNode,
  start: (node: DhtNode, now: number, j: J, done: (r: R) => void) => void,
  concurrency = 50,
  maxMs = 60_000,
): (R | undefined)[] {
  const out: (R | undefined)[] = new Array<R | undefined>(jobs.length).fill(undefined);
  for (let at = 0; at < jobs.length; at += concurrency) {
    let pending = 0;
    for (let i = at; i < Math.min(jobs.length, at + concurrency); i++) {
      const j = jobs[i]!;
      pending++;
      let finished = false;
      net.act(nodeOf(j), (node, now) =>
        start(node, now, j, (r) => {
          if (finished) return;
          finished = true;
          out[i] = r;
          pending--;
        }),
      );
    }
    net.runUntil(() => pending === 0, maxMs);
  }
  return out;
}

/** Sorted copy's p-th percentile (nearest rank). */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

export interface LookupSummary {
  count: number;
  /** Lookups that finished and found the closest responsive node. */
  successRate: number;
  /** Mean share of the true 8 closest found. */
  closestShare: number;
  hops: { median: number; p90: number; max: number };
  messages: { median: number; p90: number; p99: number; mean: number };
  /** Until the lookup ends (the k closest answered). */
  latencyMs: { median: number; p90: number; p99: number };
  /** Until the closest node answered: when the lookup had its answer. */
  resultMs: { median: number; p90: number; p99: number };
}

export function summarise(samples: readonly (LookupSample | undefined)[]): LookupSummary {
  const done = samples.filter((s): s is LookupSample => s !== undefined);
  const hops = done.map((s) => s.hops);
  const msgs = done.map((s) => s.messages);
  const lat = done.map((s) => s.durationMs);
  const res = done.map((s) => s.resultMs ?? s.durationMs);
  return {
    count: samples.length,
    successRate: done.filter((s) => s.foundClosest).length / Math.max(1, samples.length),
    closestShare: done.reduce((a, s) => a + s.closestShare, 0) / Math.max(1, samples.length),
    hops: { median: percentile(hops, 50), p90: percentile(hops, 90), max: Math.max(...hops) },
    messages: { median: percentile(msgs, 50), p90: percentile(msgs, 90), p99: percentile(msgs, 99), mean: msgs.reduce((a, b) => a + b, 0) / Math.max(1, msgs.length) },
    latencyMs: { median: percentile(lat, 50), p90: percentile(lat, 90), p99: percentile(lat, 99) },
    resultMs: { median: percentile(res, 50), p90: percentile(res, 90), p99: percentile(res, 99) },
  };
}

const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;

export function summaryText(s: LookupSummary): string {
  return (
    `${s.count} lookups: success ${pct(s.successRate)}, true 8 closest found ${pct(s.closestShare)}; ` +
    `hops median ${s.hops.median} p90 ${s.hops.p90} max ${s.hops.max}; ` +
    `messages median ${s.messages.median} p90 ${s.messages.p90} p99 ${s.messages.p99} mean ${s.messages.mean.toFixed(1)}; ` +
    `to the closest node median ${s.resultMs.median.toFixed(0)} ms p90 ${s.resultMs.p90.toFixed(0)} ms p99 ${s.resultMs.p99.toFixed(0)} ms; ` +
    `to the end median ${s.latencyMs.median.toFixed(0)} ms p90 ${s.latencyMs.p90.toFixed(0)} ms p99 ${s.latencyMs.p99.toFixed(0)} ms`
  );
}

export function rate(ok: number, n: number): string {
  return `${ok}/${n} (${pct(ok / Math.max(1, n))})`;
}

/** Random responsive live nodes (with repetition), from a seeded stream. */
export function pickResponsive(nodes: readonly SimDhtNode[], count: number, rng: SimRandom): SimDhtNode[] {
  const live = nodes.filter((n) => n.alive && n.responsive);
  return Array.from({ length: count }, () => live[rng.int(live.length)]!);
}

export { DhtNet, SimRandom };
export type { SimDhtNode };
