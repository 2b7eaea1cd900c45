/**
 * What the DHT simulations assert (generous bounds that catch a broken DHT) and report (the goals we
 * tune toward, with where a run stands against each).
 */
import assert from 'node:assert/strict';
import type { ScenarioFigures } from './dht-scenario.js';

export const BOUNDS = {
  lookupSuccess: 0.95,
  closestShare: 0.8,
  messagesMedian: 40,
  latencyMedianMs: 2000,
  latencyP99Ms: 6000,
  getPeersSuccess: 0.95,
  itemGetSuccess: 0.95,
  storedMedian: 6,
};

export const GOALS = {
  latencyMedianMs: 150,
  latencyP99Ms: 1000,
  lookupSuccess: 0.995,
  closestShare: 0.9,
  messagesMedian: 30,
};

export function assertBounds(f: ScenarioFigures): void {
  for (const [phase, s] of [
    ['before churn', f.before],
    ['after churn', f.after],
  ] as const) {
    assert.ok(s.successRate >= BOUNDS.lookupSuccess, `${phase}: lookup success ${s.successRate} < ${BOUNDS.lookupSuccess}`);
    assert.ok(s.closestShare >= BOUNDS.closestShare, `${phase}: share of the true 8 closest found ${s.closestShare} < ${BOUNDS.closestShare}`);
    assert.ok(s.messages.median <= BOUNDS.messagesMedian, `${phase}: median messages per lookup ${s.messages.median} > ${BOUNDS.messagesMedian}`);
    assert.ok(s.latencyMs.median <= BOUNDS.latencyMedianMs, `${phase}: median lookup latency ${s.latencyMs.median} ms`);
    assert.ok(s.latencyMs.p99 <= BOUNDS.latencyP99Ms, `${phase}: p99 lookup latency ${s.latencyMs.p99} ms`);
  }
  assert.ok(f.announceStoredMedian >= BOUNDS.storedMedian, `announces stored on a median of ${f.announceStoredMedian} nodes`);
  assert.ok(f.putStoredMedian >= BOUNDS.storedMedian, `puts stored on a median of ${f.putStoredMedian} nodes (errors: ${f.putErrors.slice(0, 5).join('; ')})`);
  assert.equal(f.putErrors.length, 0, `put errors: ${f.putErrors.slice(0, 5).join('; ')}`);
  assert.ok(f.getPeers.ok / f.getPeers.n >= BOUNDS.getPeersSuccess, `get_peers after churn found the announcer ${f.getPeers.ok}/${f.getPeers.n}`);
  assert.ok(f.immutableGets.ok / f.immutableGets.n >= BOUNDS.itemGetSuccess, `immutable gets ${f.immutableGets.ok}/${f.immutableGets.n}`);
  assert.ok(f.mutableGets.ok / f.mutableGets.n >= BOUNDS.itemGetSuccess, `mutable gets ${f.mutableGets.ok}/${f.mutableGets.n}`);
}

/**
 * One line per goal: the figures after churn (the harder case), and whether each meets the goal.
 * Latency is given three ways, since "a lookup" ends at different points for different uses:
 * get_peers until the first peers came (what a downloader waits for, and what Jimenez et al.
 * measured), find_node until the closest node answered, and find_node until the lookup ended (the
 * k closest answered: what an announce or a put waits for).
 */
export function goalsText(f: ScenarioFigures): string[] {
  const s = f.after;
  const line = (name: string, value: string, met: boolean, goal: string): string => `  goal ${name} ${goal}: ${value} — ${met ? 'met' : 'NOT met'}`;
  const ms = (x: number): string => `${x.toFixed(0)} ms`;
  return [
    'against the goals (after churn):',
    line('median latency, get_peers to first peers', ms(f.getPeers.firstPeersMedianMs), f.getPeers.firstPeersMedianMs <= GOALS.latencyMedianMs, `≤ ${GOALS.latencyMedianMs} ms`),
    line('p99 latency, get_peers to first peers', ms(f.getPeers.firstPeersP99Ms), f.getPeers.firstPeersP99Ms < GOALS.latencyP99Ms, `< ${GOALS.latencyP99Ms} ms`),
    line('median latency, find_node to the closest node', ms(s.resultMs.median), s.resultMs.median <= GOALS.latencyMedianMs, `≤ ${GOALS.latencyMedianMs} ms`),
    line('p99 latency, find_node to the closest node', ms(s.resultMs.p99), s.resultMs.p99 < GOALS.latencyP99Ms, `< ${GOALS.latencyP99Ms} ms`),
    line('median latency, find_node to the end', ms(s.latencyMs.median), s.latencyMs.median <= GOALS.latencyMedianMs, `≤ ${GOALS.latencyMedianMs} ms`),
    line('p99 latency, find_node to the end', ms(s.latencyMs.p99), s.latencyMs.p99 < GOALS.latencyP99Ms, `< ${GOALS.latencyP99Ms} ms`),
    line('success', `${(100 * s.successRate).toFixed(1)}%`, s.successRate >= GOALS.lookupSuccess, `≥ ${100 * GOALS.lookupSuccess}%`),
    line('true closest found', `${(100 * s.closestShare).toFixed(1)}%`, s.closestShare >= GOALS.closestShare, `≥ ${100 * GOALS.closestShare}%`),
    line('messages per lookup (median)', `${s.messages.median}`, s.messages.median <= GOALS.messagesMedian, `≤ ${GOALS.messagesMedian}`),
  ];
}
