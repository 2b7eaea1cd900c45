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

/** One line per goal: the figure after churn (the harder case), and whether it meets the goal. */
export function goalsText(f: ScenarioFigures): string[] {
  const s = f.after;
  const line = (name: string, value: string, met: boolean, goal: string): string => `  goal ${name} ${goal}: ${value} — ${met ? 'met' : 'NOT met'}`;
  return [
    'against the goals (find_node after churn):',
    line('median latency', `${s.latencyMs.median.toFixed(0)} ms`, s.latencyMs.median <= GOALS.latencyMedianMs, `≤ ${GOALS.latencyMedianMs} ms`),
    line('p99 latency', `${s.latencyMs.p99.toFixed(0)} ms`, s.latencyMs.p99 < GOALS.latencyP99Ms, `< ${GOALS.latencyP99Ms} ms`),
    line('success', `${(100 * s.successRate).toFixed(1)}%`, s.successRate >= GOALS.lookupSuccess, `≥ ${100 * GOALS.lookupSuccess}%`),
    line('true closest found', `${(100 * s.closestShare).toFixed(1)}%`, s.closestShare >= GOALS.closestShare, `≥ ${100 * GOALS.closestShare}%`),
    line('messages per lookup (median)', `${s.messages.median}`, s.messages.median <= GOALS.messagesMedian, `≤ ${GOALS.messagesMedian}`),
  ];
}
