/**
 * The DHT on a small simulated network (500 nodes, log-normal RTT with an 80 ms median, 10% of nodes
 * unresponsive, then 20% churn), quickly: the same scenario and bounds as the 10,000-node test (see
 * support/dht-scenario.ts), the same on the IPv6 DHT (BEP 32), and the same run for the same seed.
 * Replay a failure with SIM_SEED=<n>.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { scenarioSeed, withSeed } from './support/harness.js';
import { figuresText, runScenario } from './support/dht-scenario.js';
import { assertBounds, goalsText } from './support/dht-bounds.js';

test('DHT, 500 nodes with churn: lookups find the closest nodes; announce → get_peers and BEP 44 put → get work after churn', async (t) => {
  const seed = scenarioSeed(0xd4700500);
  await withSeed(t, seed, () => {
    const f = runScenario({ seed, nodes: 500, lookups: 300, infoHashes: 30, getsPerHash: 3, items: 10, getsPerItem: 3, churn: 0.2 });
    for (const line of [...figuresText(f), ...goalsText(f)]) t.diagnostic(line);
    assertBounds(f);
    return Promise.resolve();
  });
});

test('IPv6 DHT (BEP 32), 500 nodes with churn: nodes6 lookups, IPv6 peers from announce → get_peers, BEP 44', async (t) => {
  const seed = scenarioSeed(0xd4760500);
  await withSeed(t, seed, () => {
    const f = runScenario({ seed, nodes: 500, lookups: 200, infoHashes: 20, getsPerHash: 3, items: 6, getsPerItem: 3, churn: 0.2, family: 6 });
    for (const line of figuresText(f)) t.diagnostic(line);
    // The same bounds as IPv4: the get_peers check compares against the announcer's fd00:: address.
    assertBounds(f);
    return Promise.resolve();
  });
});

test('DHT simulation is deterministic: the same seed gives the same run', async (t) => {
  const seed = scenarioSeed(0xd4700200);
  await withSeed(t, seed, () => {
    const o = { seed, nodes: 200, lookups: 50, infoHashes: 10, items: 4, churn: 0.2 };
    const a = runScenario(o);
    const b = runScenario(o);
    assert.equal(a.total.packets, b.total.packets);
    assert.deepEqual(
      { before: a.before, after: a.after, getPeers: a.getPeers, imm: a.immutableGets, mut: a.mutableGets },
      { before: b.before, after: b.after, getPeers: b.getPeers, imm: b.immutableGets, mut: b.mutableGets },
    );
    t.diagnostic(`seed ${seed}: two runs of 200 nodes, ${a.total.packets} packets each, identical figures`);
    return Promise.resolve();
  });
});
