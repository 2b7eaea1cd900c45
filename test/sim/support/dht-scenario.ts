/**
 * The DHT simulation scenario shared by the small (fast) and the 10,000-node tests:
 *
 *  1. build a network of `nodes` nodes (log-normal RTT, `unresponsive` share never answering), each
 *     node bootstrapping and then doing `refreshLookups` random lookups;
 *  2. find_node lookups of random targets from random responsive nodes (the static network);
 *  3. announce `infoHashes` info-hashes from random nodes; put `items` immutable and `items` mutable
 *     BEP 44 items (half of those with a salt) from random nodes;
 *  4. churn: the sessions of `churn` × nodes end (announcers and publishers stay), and as many new
 *     nodes join;
 *  5. find_node lookups again (the churned network), get_peers for every info-hash from random nodes
 *     (success: the announcer is among the peers), BEP 44 gets of every item from random nodes
 *     (success: the value, and for mutable items the right key, signature and seq).
 *
 * Every random choice comes from the seed (ed25519 keys too: derived from seeded bytes).
 */
import { encode } from '../../../src/bencode/index.js';
import type { LookupResult } from '../../../src/dht/dht-node.js';
import type { LookupOptions } from '../../../src/dht/lookup.js';
import { immutableTarget, keysFromSeed, mutableTarget, signMutable } from '../../../src/dht/items.js';
import type { SimDhtNode } from '../../../src/runtime/sim/dht-net.js';
import { DhtNet } from '../../../src/runtime/sim/dht-net.js';
import { SimRandom } from '../../../src/runtime/sim/random.js';
import type { Cost, LookupSummary } from './dht-sim.js';
import { costText, measure, percentile, pickResponsive, rate, runBatch, sampleOf, summarise, summaryText, trueClosest } from './dht-sim.js';

export interface ScenarioOptions {
  seed: number;
  nodes: number;
  unresponsive?: number;
  refreshLookups?: number;
  medianRttMs?: number;
  /** find_node lookups measured before and after the churn. */
  lookups?: number;
  infoHashes?: number;
  /** get_peers lookups per info-hash after the churn. */
  getsPerHash?: number;
  /** Immutable items, and as many mutable ones. */
  items?: number;
  /** Gets per item after the churn. */
  getsPerItem?: number;
  churn?: number;
  /** The IPv4 DHT (default) or the IPv6 one (BEP 32). */
  family?: 4 | 6;
  /** Lookup parameters for every node (to measure trade-offs, e.g. alpha against messages). */
  lookup?: Partial<LookupOptions>;
}

export interface Ratio {
  ok: number;
  n: number;
}

export interface ScenarioFigures {
  seed: number;
  nodes: number;
  rttMs: { median: number; p90: number; p99: number };
  build: Cost;
  before: LookupSummary;
  after: LookupSummary;
  /** Nodes each announce / put stored on (median). */
  announceStoredMedian: number;
  putStoredMedian: number;
  putErrors: string[];
  churn: { left: number; joined: number; cost: Cost };
  /** Latency: until the end of the lookup; firstPeers: until the first peers came. */
  getPeers: Ratio & { latencyMedianMs: number; latencyP99Ms: number; firstPeersMedianMs: number; firstPeersP90Ms: number; firstPeersP99Ms: number };
  immutableGets: Ratio;
  mutableGets: Ratio;
  total: Cost;
  aliveNodes: number;
}

const ratio = (r: Ratio): string => rate(r.ok, r.n);

export function figuresText(f: ScenarioFigures): string[] {
  return [
    `seed ${f.seed}: ${f.nodes} nodes, RTT median ${f.rttMs.median.toFixed(0)} ms p90 ${f.rttMs.p90.toFixed(0)} ms p99 ${f.rttMs.p99.toFixed(0)} ms`,
    `  build: ${costText(f.build)}`,
    `  find_node before churn: ${summaryText(f.before)}`,
    `  announce stored on median ${f.announceStoredMedian} nodes; put stored on median ${f.putStoredMedian} nodes${f.putErrors.length ? `; put errors: ${f.putErrors.slice(0, 5).join(', ')}` : ''}`,
    `  churn: ${f.churn.left} sessions ended, ${f.churn.joined} nodes joined (${costText(f.churn.cost)}); ${f.aliveNodes} alive`,
    `  find_node after churn: ${summaryText(f.after)}`,
    `  get_peers after churn finds the announcer: ${ratio(f.getPeers)}, first peers median ${f.getPeers.firstPeersMedianMs.toFixed(0)} ms p90 ${f.getPeers.firstPeersP90Ms.toFixed(0)} ms p99 ${f.getPeers.firstPeersP99Ms.toFixed(0)} ms, end median ${f.getPeers.latencyMedianMs.toFixed(0)} ms p99 ${f.getPeers.latencyP99Ms.toFixed(0)} ms`,
    `  BEP 44 get after churn: immutable ${ratio(f.immutableGets)}, mutable ${ratio(f.mutableGets)}`,
    `  total: ${costText(f.total)}`,
  ];
}

function findNodeLookups(net: DhtNet, all: readonly SimDhtNode[], count: number, rng: SimRandom): LookupSummary {
  const froms = pickResponsive(all, count, rng);
  const jobs = froms.map((from) => ({ from, target: rng.bytes(20) }));
  const results = runBatch(net, jobs, (j) => j.from, (node, now, j, done) => node.findNode(j.target, now, done));
  const live = [...net.nodes.values()];
  return summarise(results.map((r, i) => (r ? sampleOf(r, trueClosest(live, jobs[i]!.target)) : undefined)));
}

export function runScenario(o: ScenarioOptions): ScenarioFigures {
  const rng = new SimRandom(o.seed).fork('dht-scenario');
  const t0 = performance.now();
  const net = new DhtNet({ seed: o.seed, medianRttMs: o.medianRttMs ?? 80, family: o.family ?? 4 });
  const p0 = net.packets;
  const unresponsive = o.unresponsive ?? 0.1;

  // 1. Build.
  const node = o.lookup ? { lookup: o.lookup } : undefined;
  const built = measure(net, () => net.build(o.nodes, { unresponsive, refreshLookups: o.refreshLookups ?? 1, ...(node ? { node } : {}) }));
  const all = built.value;
  const rtts = Array.from({ length: 2000 }, () => 2 * (all[rng.int(all.length)]!.latency + all[rng.int(all.length)]!.latency));

  // 2. Lookups in the static network.
  const before = findNodeLookups(net, all, o.lookups ?? 300, rng);

  // 3. Announce and put.
  const hashes = Array.from({ length: o.infoHashes ?? 20 }, () => ({ ih: rng.bytes(20), by: pickResponsive(all, 1, rng)[0]! }));
  const announced = runBatch<(typeof hashes)[number], LookupResult & { stored: number }>(net, hashes, (h) => h.by, (node, now, h, done) =>
    node.announce(h.ih, h.by.addr.port, false, now, done),
  );
  const announceStored = announced.map((r) => r?.stored ?? 0);

  const itemCount = o.items ?? 10;
  const immutables = Array.from({ length: itemCount }, (_, i) => {
    const v = encode({ n: i, text: `item ${i} of seed ${o.seed}`, pad: rng.bytes(rng.int(200)) });
    return { v, target: immutableTarget(v), by: pickResponsive(all, 1, rng)[0]! };
  });
  const mutables = Array.from({ length: itemCount }, (_, i) => {
    const keys = keysFromSeed(rng.bytes(32));
    const salt = i % 2 === 0 ? Buffer.from(`salt-${i}`) : undefined;
    const seq = 1 + rng.int(1000);
    const v = encode(`mutable ${i} seq ${seq}`);
    return { keys, salt, seq, v, sig: signMutable(keys.seed, v, seq, salt), target: mutableTarget(keys.publicKey, salt), by: pickResponsive(all, 1, rng)[0]! };
  });
  type PutResult = { stored: number; errors: string[] };
  const puts = [
    ...runBatch<(typeof immutables)[number], PutResult>(net, immutables, (it) => it.by, (node, now, it, done) => node.put({ v: it.v }, now, done)),
    ...runBatch<(typeof mutables)[number], PutResult>(net, mutables, (it) => it.by, (node, now, it, done) =>
      node.put({ v: it.v, k: it.keys.publicKey, sig: it.sig, seq: it.seq, ...(it.salt ? { salt: it.salt } : {}) }, now, done),
    ),
  ];
  const putStored = puts.map((r) => r?.stored ?? 0);
  const putErrors = puts.flatMap((r) => r?.errors ?? ['put never finished']);

  // 4. Churn: sessions end (not the announcers' or publishers'), new nodes join.
  const keep = new Set<SimDhtNode>([...hashes.map((h) => h.by), ...immutables.map((i) => i.by), ...mutables.map((m) => m.by)]);
  const churnCount = Math.round((o.churn ?? 0.2) * all.length);
  const leaving = rng.sample(all.filter((n) => !keep.has(n)), churnCount);
  for (const n of leaving) net.kill(n);
  const joinedRun = measure(net, () => net.join(churnCount, { unresponsive, ...(node ? { node } : {}) }));
  const everyone = [...net.nodes.values()];

  // 5. Lookups in the churned network; get_peers; BEP 44 gets.
  const after = findNodeLookups(net, everyone, o.lookups ?? 300, rng);

  const peerJobs = hashes.flatMap((h) => pickResponsive(everyone, o.getsPerHash ?? 3, rng).map((from) => ({ from, h })));
  const peerResults = runBatch(net, peerJobs, (j) => j.from, (node, now, j, done) => node.getPeers(j.h.ih, now, done));
  const peersOk = peerResults.filter((r, i) => r?.peers.some((p) => p.host === peerJobs[i]!.h.by.addr.host && p.port === peerJobs[i]!.h.by.addr.port)).length;
  const peerLatency = peerResults.filter((r): r is LookupResult => r !== undefined).map((r) => r.durationMs);
  // A lookup that found no peer never had its result: it counts at its full length.
  const firstPeers = peerResults.filter((r): r is LookupResult => r !== undefined).map((r) => r.resultMs ?? r.durationMs);

  const gets = o.getsPerItem ?? 3;
  const immJobs = immutables.flatMap((it) => pickResponsive(everyone, gets, rng).map((from) => ({ from, it })));
  const immResults = runBatch(net, immJobs, (j) => j.from, (node, now, j, done) => node.get(j.it.target, now, done));
  const immOk = immResults.filter((r, i) => r?.item?.v.equals(immJobs[i]!.it.v) === true).length;

  const mutJobs = mutables.flatMap((it) => pickResponsive(everyone, gets, rng).map((from) => ({ from, it })));
  const mutResults = runBatch(net, mutJobs, (j) => j.from, (node, now, j, done) =>
    node.get(j.it.target, now, done, { k: j.it.keys.publicKey, ...(j.it.salt ? { salt: j.it.salt } : {}) }),
  );
  const mutOk = mutResults.filter((r, i) => {
    const it = mutJobs[i]!.it;
    return r?.item !== undefined && r.item.v.equals(it.v) && r.item.seq === it.seq && r.item.k?.equals(it.keys.publicKey) === true && r.item.sig?.equals(it.sig) === true;
  }).length;

  return {
    seed: o.seed,
    nodes: o.nodes,
    rttMs: { median: percentile(rtts, 50), p90: percentile(rtts, 90), p99: percentile(rtts, 99) },
    build: built.cost,
    before,
    after,
    announceStoredMedian: percentile(announceStored, 50),
    putStoredMedian: percentile(putStored, 50),
    putErrors,
    churn: { left: leaving.length, joined: joinedRun.value.length, cost: joinedRun.cost },
    getPeers: { ok: peersOk, n: peerJobs.length, latencyMedianMs: percentile(peerLatency, 50), latencyP99Ms: percentile(peerLatency, 99), firstPeersMedianMs: percentile(firstPeers, 50), firstPeersP90Ms: percentile(firstPeers, 90), firstPeersP99Ms: percentile(firstPeers, 99) },
    immutableGets: { ok: immOk, n: immJobs.length },
    mutableGets: { ok: mutOk, n: mutJobs.length },
    total: { realMs: performance.now() - t0, rssMiB: process.memoryUsage().rss / 2 ** 20, packets: net.packets - p0 },
    aliveNodes: everyone.filter((n) => n.alive).length,
  };
}
