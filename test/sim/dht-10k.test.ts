/**
 * The DHT at scale: 10,000 simulated nodes (log-normal RTT with an 80 ms median, 10% unresponsive),
 * built by joining in waves plus one round of table-refreshing lookups; then 20% of sessions end and
 * as many new nodes join. Reports per lookup hops, messages, simulated latency (median, p90, p99),
 * success and the share of the true 8 closest found, before and after the churn; announce → get_peers
 * and BEP 44 put → get success after the churn; and what the run cost in real time and memory.
 * Asserts generous bounds (support/dht-bounds.ts) and prints where the figures stand against the
 * goals. Replay a failure with SIM_SEED=<n>; DHT_SIM_NODES=<n> runs another size; DHT_SIM_ALPHA=<n> another
 * lookup parallelism (the latency / messages trade-off).
 */
import { test } from 'node:test';
import { scenarioSeed, withSeed } from './support/harness.js';
import { figuresText, runScenario } from './support/dht-scenario.js';
import { assertBounds, goalsText } from './support/dht-bounds.js';

const NODES = Number(process.env.DHT_SIM_NODES ?? 10_000);
const ALPHA = process.env.DHT_SIM_ALPHA ? Number(process.env.DHT_SIM_ALPHA) : undefined;

test(`DHT, ${NODES} nodes with churn: lookups, announce → get_peers and BEP 44 put → get at scale`, async (t) => {
  const seed = scenarioSeed(0xd4710000);
  await withSeed(t, seed, () => {
    const f = runScenario({ seed, nodes: NODES, lookups: 500, infoHashes: 50, getsPerHash: 4, items: 20, getsPerItem: 3, churn: 0.2, refreshLookups: 1, ...(ALPHA ? { lookup: { alpha: ALPHA } } : {}) });
    for (const line of [...figuresText(f), ...goalsText(f)]) t.diagnostic(line);
    t.diagnostic(`cost: ${(f.total.realMs / 1000).toFixed(1)} s real, RSS ${f.total.rssMiB.toFixed(0)} MiB at the end (${process.memoryUsage().heapUsed >> 20} MiB heap in use)`);
    assertBounds(f);
    return Promise.resolve();
  });
});
