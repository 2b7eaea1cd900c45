/**
 * A simulated UDP network for DHT nodes, in virtual time and fully synchronous (DhtNode is pure and
 * synchronous, so no promises are involved): thousands of nodes in one process, the same run for the
 * same seed.
 *
 * Model:
 * - every node has an access latency drawn from a log-normal distribution; the one-way delay between
 *   two nodes is half the sum of theirs, so round-trip times are log-normal-ish, scaled so that their
 *   median is `medianRttMs` (80 ms by default, the Mainline DHT's typical figure);
 * - a node can be unresponsive (packets to it vanish: NAT'd or dead hosts that are still in tables)
 *   or gone (left the network: the same from outside);
 * - packets are delivered in order of arrival time; each delivery runs `handlePacket`, then drains
 *   the node's output, then (re)arms its timer at `nextDeadline()` if the node sent a query (only a
 *   new query can bring its deadline forward; an early wake-up is harmless);
 * - `build` grows a network by joining nodes in waves, then refreshes tables with random lookups;
 *   `join` adds nodes to a running network, `kill` ends a node's session (churn).
 */
import { DhtNode } from '../../dht/dht-node.js';
import type { DhtNodeOptions } from '../../dht/dht-node.js';
import type { PeerAddress } from '../../net/compact.js';
import { canonicalIPv6 } from '../../net/compact.js';
import { xoshiro128 } from '../../util/prng.js';

interface Ev {
  at: number;
  seq: number;
  fn: () => void;
}

/** A binary min-heap of events by (at, seq). */
class EventQueue {
  private heap: Ev[] = [];
  private seq = 0;

  get size(): number {
    return this.heap.length;
  }

  push(at: number, fn: () => void): void {
    const e = { at, seq: this.seq++, fn };
    const h = this.heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (less(h[p]!, e)) break;
      h[i] = h[p]!;
      i = p;
    }
    h[i] = e;
  }

  pop(): Ev | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        let mv = last;
        if (l < h.length && less(h[l]!, mv)) {
          m = l;
          mv = h[l]!;
        }
        if (r < h.length && less(h[r]!, mv)) m = r;
        if (m === i) break;
        h[i] = h[m]!;
        i = m;
      }
      h[i] = last;
    }
    return top;
  }

  peek(): Ev | undefined {
    return this.heap[0];
  }
}

/** Median of (e^(σX) + e^(σY)) / 2 for independent standard normals X, Y (numerically, fixed seed). */
function sumMedianFactor(sigma: number): number {
  const r = xoshiro128(0x5eed);
  const n = 20_001;
  const xs = new Float64Array(n);
  const g = (): number => Math.sqrt(-2 * Math.log(Math.max(1e-12, r()))) * Math.cos(2 * Math.PI * r());
  for (let i = 0; i < n; i++) xs[i] = (Math.exp(sigma * g()) + Math.exp(sigma * g())) / 2;
  xs.sort();
  return xs[n >> 1]!;
}

function less(a: Ev, b: Ev): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}

export interface SimDhtNode {
  addr: PeerAddress;
  node: DhtNode;
  /** One-way access latency in ms. */
  latency: number;
  responsive: boolean;
  alive: boolean;
  timerAt: number;
}

export interface DhtNetOptions {
  seed: number;
  medianRttMs?: number;
  /** Spread of the log-normal (sigma of the underlying normal). */
  sigma?: number;
  /** Address family of the nodes (BEP 32: the IPv6 DHT is a network of its own). */
  family?: 4 | 6;
}

export class DhtNet {
  private readonly q = new EventQueue();
  readonly nodes = new Map<string, SimDhtNode>();
  readonly rng: () => number;
  now = 0;
  packets = 0;
  private readonly medianAccess: number;
  private readonly sigma: number;
  private nextHost = 1;
  private readonly family: 4 | 6;

  constructor(opts: DhtNetOptions) {
    this.rng = xoshiro128(opts.seed);
    this.sigma = opts.sigma ?? 0.5;
    this.family = opts.family ?? 4;
    // The median of a sum of two log-normals is above the sum of their medians: scale the access
    // latencies so that the median RTT between two random nodes is `medianRttMs`.
    this.medianAccess = (opts.medianRttMs ?? 80) / 2 / sumMedianFactor(this.sigma);
  }

  random(n: number): Buffer {
    const b = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) b[i] = Math.floor(this.rng() * 256);
    return b;
  }

  private gaussian(): number {
    const u = Math.max(1e-12, this.rng());
    const v = this.rng();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** Adds a node with a fresh address (10.x.y.z:6881, or fd00::x:y:6881 for IPv6) and a random id. */
  addNode(opts: Partial<DhtNodeOptions> = {}, responsive = true): SimDhtNode {
    const n = this.nextHost++;
    const host = this.family === 6 ? canonicalIPv6(`fd00::${((n >> 16) & 0xffff).toString(16)}:${(n & 0xffff).toString(16)}`) : `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
    const addr = { host, port: 6881 };
    const node = new DhtNode(
      { id: this.random(20), queriesPerIpPerSec: 1000, family: this.family, ...opts },
      { random: (k) => this.random(k), rng: this.rng },
      this.now,
    );
    // RTT = sum of two access latencies; each one-way leg is half of that.
    const latency = this.medianAccess * Math.exp(this.sigma * this.gaussian()) / 2;
    const sim: SimDhtNode = { addr, node, latency, responsive, alive: true, timerAt: Infinity };
    this.nodes.set(`${addr.host}:${addr.port}`, sim);
    return sim;
  }

  /** Takes a node off the network (it stops answering; others still have it in their tables). */
  kill(n: SimDhtNode): void {
    n.alive = false;
  }

  /** Runs `f` against a node at the current time, then sends what it produced. */
  act(n: SimDhtNode, f: (node: DhtNode, now: number) => void): void {
    f(n.node, this.now);
    this.flush(n);
  }

  private flush(n: SimDhtNode, rearm = true): void {
    let out;
    let queried = false;
    while ((out = n.node.pollTransmit()) !== undefined) {
      // Encoded KRPC ends with the `y` key (the last in sort order): "1:y1:qe" for a query.
      if (out.bytes[out.bytes.length - 2] === 0x71) queried = true;
      const dest = this.nodes.get(`${out.to.host}:${out.to.port}`);
      this.packets++;
      if (!dest || !dest.alive || !dest.responsive) continue;
      const bytes = out.bytes;
      const from = n.addr;
      this.q.push(this.now + n.latency + dest.latency, () => {
        if (!dest.alive) return;
        dest.node.handlePacket(bytes, from, this.now);
        this.flush(dest, false);
      });
    }
    // A node's deadline only moves earlier when it sends a new query (or is given a command): after
    // a packet that only produced answers, the timer already set stands (waking early is harmless).
    if (rearm || queried || n.timerAt === Infinity) this.arm(n);
  }

  private arm(n: SimDhtNode): void {
    const d = n.node.nextDeadline();
    if (d === undefined || !n.alive) return;
    const at = Math.max(d, this.now);
    if (at >= n.timerAt && n.timerAt > this.now) return; // an earlier wake-up is already set
    n.timerAt = at;
    this.q.push(at, () => {
      if (n.timerAt !== at || !n.alive) return;
      n.timerAt = Infinity;
      n.node.handleTimeout(this.now);
      this.flush(n);
    });
  }

  /** Runs events until `until` (virtual ms) or until `stop()` says so. */
  run(until: number, stop?: () => boolean): void {
    for (;;) {
      const e = this.q.peek();
      if (!e || e.at > until) break;
      this.q.pop();
      this.now = Math.max(this.now, e.at);
      e.fn();
      if (stop?.()) return;
    }
    this.now = Math.max(this.now, until);
  }

  /** Nodes on the network that answer (alive and responsive). */
  responsiveNodes(): SimDhtNode[] {
    const out: SimDhtNode[] = [];
    for (const n of this.nodes.values()) if (n.alive && n.responsive) out.push(n);
    return out;
  }

  /**
   * Adds `count` nodes that join the running network, in waves (each wave at most as large as the
   * responsive network already is, so a crowd of newcomers does not all lean on the same few), each
   * bootstrapping from a random responsive live node. `unresponsive` is the share of newcomers that
   * never answer (they still send: NAT'd hosts).
   */
  join(count: number, opts: { unresponsive?: number; node?: Partial<DhtNodeOptions>; maxWaitMs?: number } = {}): SimDhtNode[] {
    const added: SimDhtNode[] = [];
    const responsive = this.responsiveNodes();
    if (responsive.length === 0) {
      // The very first node has no one to bootstrap from.
      const first = this.addNode(opts.node);
      added.push(first);
      responsive.push(first);
    }
    while (added.length < count) {
      const wave = Math.min(count - added.length, Math.max(1, Math.floor(responsive.length / 2)));
      let pending = 0;
      const fresh: SimDhtNode[] = [];
      for (let i = 0; i < wave; i++) {
        const n = this.addNode(opts.node, this.rng() >= (opts.unresponsive ?? 0));
        added.push(n);
        fresh.push(n);
        const boot = responsive[Math.floor(this.rng() * responsive.length)]!;
        pending++;
        this.act(n, (node, now) => node.bootstrap([boot.addr], now, () => pending--));
      }
      this.runUntil(() => pending === 0, opts.maxWaitMs ?? 120_000);
      for (const n of fresh) if (n.responsive) responsive.push(n);
    }
    return added;
  }

  /**
   * Every responsive live node (or those given) looks up `rounds` random ids, as nodes refreshing
   * their tables do; `batch` of them at a time (fewer lookups in flight keep the memory down).
   */
  refresh(rounds: number, nodes: readonly SimDhtNode[] = this.responsiveNodes(), batch = 1000): void {
    const live = nodes.filter((n) => n.alive && n.responsive);
    for (let round = 0; round < rounds; round++) {
      for (let at = 0; at < live.length; at += batch) {
        let pending = 0;
        for (const n of live.slice(at, at + batch)) {
          pending++;
          this.act(n, (node, now) => node.findNode(this.random(20), now, () => pending--));
        }
        this.runUntil(() => pending === 0, 120_000);
      }
    }
  }

  /**
   * Grows a network of `count` nodes (see `join`), then every responsive node refreshes its table
   * with `refreshLookups` lookups of random ids, as nodes do over time.
   */
  build(count: number, opts: { unresponsive?: number; refreshLookups?: number; node?: Partial<DhtNodeOptions> } = {}): SimDhtNode[] {
    const all = this.join(count, { ...(opts.unresponsive !== undefined ? { unresponsive: opts.unresponsive } : {}), ...(opts.node ? { node: opts.node } : {}) });
    this.refresh(opts.refreshLookups ?? 3, all);
    return all;
  }

  /** Runs until `done()` or `maxMs` of virtual time pass. */
  runUntil(done: () => boolean, maxMs: number): boolean {
    const limit = this.now + maxMs;
    this.run(limit, done);
    return done();
  }
}
