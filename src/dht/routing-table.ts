/**
 * The Kademlia routing table (BEP 5): buckets of at most K nodes, each covering a range of the id
 * space; only the bucket holding our own id splits, so the table is detailed near us and sparse far
 * away. Node states: good (answered within 15 min), questionable, bad (failed repeatedly). A full
 * bucket keeps newcomers in a small replacement cache and swaps them in as members go bad.
 * One entry per IP address (so one host cannot fill a bucket) — except on loopback, where every
 * test node is 127.0.0.1.
 */
import type { PeerAddress } from '../net/compact.js';
import { ID_BYTES, commonPrefixBits, compareDistance } from './node-id.js';

export const K = 8;
/**
 * Bucket sizes of the extended table (as libtorrent's `extended_routing_table`): the buckets far from
 * our id, which most lookups start from, hold 128, 64, 32 and 16 nodes instead of 8. A lookup's
 * first requests then land several bits closer to the target, which saves about one round trip,
 * for a few hundred entries more.
 */
export const EXTENDED_BUCKET_SIZES: readonly number[] = [128, 64, 32, 16];
export const GOOD_MS = 15 * 60_000;
export const BAD_FAILURES = 2;
const REPLACEMENTS = 8;

export interface NodeEntry {
  id: Buffer;
  addr: PeerAddress;
  lastSeen: number;
  /** Last time it answered one of our queries. */
  lastReply: number;
  failures: number;
  /** When we last pinged it to see if it is still there (set by whoever pings). */
  lastPinged?: number;
}

/** A questionable node is pinged at most this often. */
const PING_INTERVAL_MS = 60_000;

interface Bucket {
  /** The bucket covers ids sharing `depth` leading bits with our id (the last bucket: at least). */
  depth: number;
  nodes: NodeEntry[];
  replacements: NodeEntry[];
  lastChanged: number;
}

function idKey(id: Uint8Array): string {
  return Buffer.from(id.buffer, id.byteOffset, id.byteLength).toString('latin1');
}

export function isLoopback(host: string): boolean {
  return host.startsWith('127.') || host === '::1';
}

export class RoutingTable {
  private readonly buckets: Bucket[] = [];
  private readonly byIp = new Map<string, NodeEntry>();
  /** Every entry by host:port: a node that comes back with a new id replaces its old entry. */
  private readonly byAddr = new Map<string, NodeEntry>();
  /** Every entry by id (as a latin1 string: the cheapest exact key), so `find` is not a bucket scan. */
  private readonly byId = new Map<string, NodeEntry>();

  constructor(
    public ownId: Buffer,
    now: number,
    /** Sizes of the first buckets (index 0 is the farthest half of the id space); K after them. */
    private readonly bucketSizes: readonly number[] = [],
  ) {
    this.buckets.push({ depth: 0, nodes: [], replacements: [], lastChanged: now });
  }

  get size(): number {
    return this.buckets.reduce((n, b) => n + b.nodes.length, 0);
  }

  get bucketCount(): number {
    return this.buckets.length;
  }

  static isGood(n: NodeEntry, now: number): boolean {
    return n.failures === 0 && now - n.lastReply < GOOD_MS;
  }

  private capacity(index: number): number {
    return this.bucketSizes[index] ?? K;
  }

  private bucketIndex(id: Uint8Array): number {
    const prefix = commonPrefixBits(id, this.ownId);
    return Math.min(prefix, this.buckets.length - 1);
  }

  find(id: Uint8Array): NodeEntry | undefined {
    return this.byId.get(idKey(id));
  }

  /**
   * Records that a node was heard from (`replied`: it answered our query). Returns true when it is
   * in the table afterwards.
   */
  heard(id: Buffer, addr: PeerAddress, now: number, replied: boolean): 'added' | 'known' | 'refused' {
    if (id.length !== ID_BYTES || id.equals(this.ownId)) return 'refused';
    const existing = this.find(id);
    if (existing) {
      if (existing.addr.host !== addr.host || existing.addr.port !== addr.port) return 'known'; // keep the first address
      existing.lastSeen = now;
      if (replied) {
        existing.lastReply = now;
        existing.failures = 0;
      }
      return 'known';
    }
    const ipKey = addr.host;
    const addrKey = `${addr.host}:${addr.port}`;
    const sameAddr = this.byAddr.get(addrKey);
    if (sameAddr) this.remove(sameAddr.id); // same endpoint, new id: the old entry is stale
    if (!isLoopback(addr.host) && this.byIp.has(ipKey)) return 'refused';
    // Its own 20 bytes: a view into a shared 8 KiB pool slab would keep the whole slab alive.
    const ownId = Buffer.allocUnsafeSlow(ID_BYTES);
    ownId.set(id);
    const entry: NodeEntry = { id: ownId, addr, lastSeen: now, lastReply: replied ? now : 0, failures: 0 };
    for (;;) {
      const bi = this.bucketIndex(id);
      const b = this.buckets[bi]!;
      if (b.nodes.length < this.capacity(bi)) {
        b.nodes.push(entry);
        b.lastChanged = now;
        this.remember(entry);
        return 'added';
      }
      // Replace a bad node.
      const badAt = b.nodes.findIndex((n) => n.failures >= BAD_FAILURES);
      if (badAt >= 0) {
        this.forget(b.nodes[badAt]!);
        b.nodes[badAt] = entry;
        b.lastChanged = now;
        this.remember(entry);
        return 'added';
      }
      // Split the bucket holding our own id (the last one), then try again.
      if (bi === this.buckets.length - 1 && this.buckets.length < ID_BYTES * 8) {
        this.split();
        continue;
      }
      if (replied && !b.replacements.some((n) => n.id.equals(id))) {
        b.replacements.push(entry);
        if (b.replacements.length > REPLACEMENTS) b.replacements.shift();
      }
      return 'refused';
    }
  }

  private split(): void {
    const last = this.buckets[this.buckets.length - 1]!;
    const next: Bucket = { depth: last.depth + 1, nodes: [], replacements: [], lastChanged: last.lastChanged };
    const keep: NodeEntry[] = [];
    for (const n of last.nodes) (commonPrefixBits(n.id, this.ownId) > last.depth ? next.nodes : keep).push(n);
    last.nodes = keep;
    const keepR: NodeEntry[] = [];
    for (const n of last.replacements) (commonPrefixBits(n.id, this.ownId) > last.depth ? next.replacements : keepR).push(n);
    last.replacements = keepR;
    this.buckets.push(next);
    // The new bucket may be smaller than the one it came from: it is the last one (the one holding
    // our id), so it splits again rather than dropping the nodes nearest to us.
    if (next.nodes.length > this.capacity(this.buckets.length - 1) && this.buckets.length < ID_BYTES * 8) this.split();
  }

  private forget(n: NodeEntry): void {
    this.byId.delete(idKey(n.id));
    if (this.byIp.get(n.addr.host) === n) this.byIp.delete(n.addr.host);
    const k = `${n.addr.host}:${n.addr.port}`;
    if (this.byAddr.get(k) === n) this.byAddr.delete(k);
  }

  private remember(n: NodeEntry): void {
    this.byId.set(idKey(n.id), n);
    if (!isLoopback(n.addr.host)) this.byIp.set(n.addr.host, n);
    this.byAddr.set(`${n.addr.host}:${n.addr.port}`, n);
  }

  /** A query to the node timed out. After BAD_FAILURES it is replaced by a cached node, if any. */
  failed(id: Uint8Array, now: number): void {
    const bi = this.bucketIndex(id);
    const b = this.buckets[bi]!;
    const at = b.nodes.findIndex((n) => n.id.equals(id));
    if (at < 0) return;
    const n = b.nodes[at]!;
    n.failures++;
    // The newest cached node whose IP is not in the table meanwhile (one entry per IP).
    while (b.replacements.length > 0 && !isLoopback(b.replacements[b.replacements.length - 1]!.addr.host) && this.byIp.has(b.replacements[b.replacements.length - 1]!.addr.host)) {
      b.replacements.pop();
    }
    if (n.failures >= BAD_FAILURES && b.replacements.length > 0) {
      const r = b.replacements.pop()!;
      this.forget(n);
      b.nodes[at] = r;
      b.lastChanged = now;
      this.remember(r);
    }
  }

  remove(id: Uint8Array): void {
    const b = this.buckets[this.bucketIndex(id)]!;
    const at = b.nodes.findIndex((n) => n.id.equals(id));
    if (at >= 0) {
      this.forget(b.nodes[at]!);
      b.nodes.splice(at, 1);
    }
  }

  /**
   * The `count` known nodes closest to `target`. `confirmedOnly`: only nodes that have answered us
   * (what we hand to others: a node that only ever queried us may be unreachable behind a NAT).
   */
  closest(target: Uint8Array, count = K, confirmedOnly = false): NodeEntry[] {
    // Keep a small sorted array of the best `count` (insertion): cheaper than sorting the table.
    const best: NodeEntry[] = [];
    const consider = (b: Bucket): void => {
      for (const n of b.nodes) {
        if (n.failures >= BAD_FAILURES || (confirmedOnly && n.lastReply === 0)) continue;
        if (best.length === count && compareDistance(target, n.id, best[count - 1]!.id) >= 0) continue;
        let i = best.length;
        while (i > 0 && compareDistance(target, n.id, best[i - 1]!.id) < 0) i--;
        best.splice(i, 0, n);
        if (best.length > count) best.pop();
      }
    };
    // XOR distance orders whole buckets: the target's own bucket is nearest; every bucket deeper
    // than it (nearer to us) comes next, all in one distance band; then the shallower buckets, each
    // farther than the one after it. So the scan can stop as soon as a band fills `count`.
    const bi = this.bucketIndex(target);
    for (let j = bi; j < this.buckets.length; j++) consider(this.buckets[j]!);
    for (let j = bi - 1; j >= 0 && best.length < count; j--) consider(this.buckets[j]!);
    return best;
  }

  /** Buckets not changed for `ms`: their refresh targets (a random id in each bucket's range). */
  staleBuckets(now: number, ms: number, random: () => Buffer): Buffer[] {
    const out: Buffer[] = [];
    this.buckets.forEach((b, i) => {
      if (now - b.lastChanged < ms) return;
      b.lastChanged = now;
      out.push(this.randomIdInBucket(i, random()));
    });
    return out;
  }

  private randomIdInBucket(i: number, rnd: Buffer): Buffer {
    const id = Buffer.from(rnd.subarray(0, ID_BYTES));
    const depth = this.buckets[i]!.depth;
    const last = i === this.buckets.length - 1;
    // Copy our first `depth` bits; then flip the next one (unless it is the last bucket).
    for (let bit = 0; bit <= depth && bit < ID_BYTES * 8; bit++) {
      const byte = bit >> 3;
      const mask = 0x80 >> (bit & 7);
      const ours = this.ownId[byte]! & mask;
      if (bit < depth || last) {
        if (bit === depth && last) break;
        id[byte] = (id[byte]! & ~mask) | ours;
      } else {
        id[byte] = (id[byte]! & ~mask) | (ours ^ mask);
      }
    }
    return id;
  }

  /** Questionable nodes to ping (not heard from for GOOD_MS), oldest first. */
  questionable(now: number, max: number): NodeEntry[] {
    const out: NodeEntry[] = [];
    for (const b of this.buckets) {
      for (const n of b.nodes) {
        if (now - n.lastSeen < GOOD_MS || n.failures >= BAD_FAILURES) continue;
        if (n.lastPinged !== undefined && now - n.lastPinged < PING_INTERVAL_MS) continue;
        out.push(n);
      }
    }
    return out.sort((a, b) => a.lastSeen - b.lastSeen).slice(0, max);
  }

  all(): NodeEntry[] {
    return this.buckets.flatMap((b) => b.nodes);
  }
}
