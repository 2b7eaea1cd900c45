/**
 * A Mainline DHT node (BEP 5, 32-ready, 42, 43, 44, 51) as a pure state machine: packets in with
 * their sender, packets out with their destination, a deadline to be woken at. No socket, clock or
 * randomness of its own (design.md): the same node runs on a UDP socket and in a simulated
 * 10,000-node network.
 *
 *   handlePacket(bytes, from, now) / handleTimeout(now) / commands (bootstrap, getPeers, announce, get, put)
 *   pollTransmit() → { to, bytes } / nextDeadline()
 *
 * Abuse limits: incoming queries are rate-limited per IP (a token bucket each); answers are never
 * much larger than the query (≤ 8 nodes, ≤ 50 peers, ≤ 1000-byte values); storage is capped and
 * expires; malformed packets are dropped and counted, never answered.
 */
import type { BencodeDict, Encodable } from '../bencode/index.js';
import { decode, encode } from '../bencode/index.js';
import { decodeCompactIPv4, decodeCompactIPv6, encodeCompactIPv4, encodeCompactIPv6 } from '../net/compact.js';
import type { PeerAddress } from '../net/compact.js';
import { KRPC_ERROR, KrpcError, bytesArg, decodeKrpc, encodeError, encodeQuery, encodeResponse, intArg } from './krpc.js';
import type { KrpcMessage } from './krpc.js';
import { ITEM_ERRORS, MAX_SALT_BYTES, MAX_VALUE_BYTES, immutableTarget, mutableTarget, verifyMutable } from './items.js';
import { DEFAULT_LOOKUP, Lookup } from './lookup.js';
import type { Candidate, Contact, LookupOptions } from './lookup.js';
import { ID_BYTES, isLocalAddress, secureNodeId, validNodeId } from './node-id.js';
import { EXTENDED_BUCKET_SIZES, K, RoutingTable } from './routing-table.js';
import { DEFAULT_STORAGE_LIMITS, DhtStorage, ITEM_TTL_MS } from './storage.js';
import type { StorageLimits, StoredItem } from './storage.js';
import { RttEstimator } from './rtt.js';
import { BLOOM_BYTES, ScrapeBloom } from './scrape-bloom.js';
import { TokenIssuer } from './tokens.js';

export const QUERY_TIMEOUT_MS = 2000;
const REFRESH_MS = 15 * 60_000;
const MAINTENANCE_MS = 5_000;
const RATE_WINDOW_MS = 1000;
/** The adaptive soft timeout never goes below this (a node answering late is still taken). */
const MIN_SOFT_TIMEOUT_MS = 100;
/** External-address votes: distinct voters needed, voters remembered, candidate addresses kept. */
const MIN_VOTES = 4;
const MAX_VOTERS = 256;
const MAX_ADDRESS_CANDIDATES = 16;

export interface DhtNodeOptions {
  id: Buffer;
  /** BEP 43: ask, never answer, and be left out of others' tables. */
  readOnly?: boolean;
  /** Store others' BEP 44 items (peers are always stored unless read-only). */
  storeItems?: boolean;
  limits?: StorageLimits;
  /** Queries a single IP may send us per second before we drop them. */
  queriesPerIpPerSec?: number;
  lookup?: Partial<LookupOptions>;
  /** Larger buckets far from our id (default on; see EXTENDED_BUCKET_SIZES). */
  extendedTable?: boolean;
  /** Client version tag (`v`), 4 bytes. */
  version?: Buffer;
  /**
   * BEP 42: once answers agree on our external address, take a node id derived from it (default
   * on). Local addresses (loopback, private ranges) are exempt, so it never fires on a LAN or in tests.
   */
  secureId?: boolean;
  /** BEP 42: keep nodes whose id does not fit their address out of our table (default off, as libtorrent). */
  enforceNodeId?: boolean;
  /**
   * The DHT this node is part of (BEP 32): the IPv4 one (default) or the IPv6 one. They are
   * separate networks; a dual-stack host runs one node of each, paired (`pairWith`).
   */
  family?: DhtFamily;
}

export type DhtFamily = 4 | 6;

export function familyOf(host: string): DhtFamily {
  return host.includes(':') ? 6 : 4;
}

export interface DhtDeps {
  /** n random bytes. */
  random(n: number): Buffer;
  rng(): number;
}

export interface DhtStats {
  id: string;
  nodes: number;
  buckets: number;
  queriesIn: number;
  queriesOut: number;
  responsesIn: number;
  errorsIn: number;
  malformed: number;
  rateLimited: number;
  timeouts: number;
  /** Times we took a new BEP 42 id. */
  idChanges: number;
  storedTorrents: number;
  storedPeers: number;
  storedItems: number;
}

/** BEP 33 scrape figures (estimates from bloom filters). */
export interface ScrapeResult {
  seeds: number;
  downloaders: number;
  /** Nodes that answered with filters. */
  filters: number;
  BFsd: Buffer;
  BFpe: Buffer;
}

export interface LookupResult {
  target: Buffer;
  /** Closest nodes that answered, closest first. */
  closest: Contact[];
  peers: PeerAddress[];
  /** BEP 44 item found (get). */
  item?: { v: Buffer; k?: Buffer; sig?: Buffer; seq?: number; salt?: Buffer };
  hops: number;
  messages: number;
  /** From the start to the end of the lookup (the k closest answered). */
  durationMs: number;
  /**
   * From the start until the lookup reached its result: the first peers (get_peers), the item
   * (get), or the answer of what turned out to be the closest node (find_node). What a user waits
   * for, since peers are handed over as they come (`onPeers`).
   */
  resultMs: number | undefined;
  /** The closest nodes that answered with a write token (for announce_peer / put). */
  writable: { id: Buffer; addr: PeerAddress; token: Buffer }[];
}

interface Transaction {
  to: PeerAddress;
  method: string;
  sentAt: number;
  lookup?: RunningLookup;
  onReply?: (m: Extract<KrpcMessage, { y: 'r' }> | undefined, err?: { code: number; message: string }) => void;
}

interface RunningLookup {
  lookup: Lookup;
  method: 'find_node' | 'get_peers' | 'get';
  peers: Map<string, PeerAddress>;
  item?: LookupResult['item'];
  /** For mutable gets: the key, salt and the lowest acceptable seq. */
  want?: { k?: Buffer; salt?: Buffer };
  done: (r: LookupResult) => void;
  /** get_peers: called with each batch of new peers as answers bring them. */
  onPeers?: (peers: PeerAddress[]) => void;
  /** When the first peers or the item arrived. */
  firstValueAt?: number;
  /** BEP 33 scrape: the union of the filters the nodes sent. */
  scrape?: { seeds: ScrapeBloom; peers: ScrapeBloom; legacy: Set<string>; answered: number };
}

export class DhtNode {
  /** Our node id; replaced by a BEP 42 one once our external address is known (see adoptSecureId). */
  id: Buffer;
  table: RoutingTable;
  private readonly storage: DhtStorage;
  private readonly tokens: TokenIssuer;
  private readonly out: { to: PeerAddress; bytes: Buffer }[] = [];
  private readonly transactions = new Map<string, Transaction>();
  private readonly lookups = new Set<RunningLookup>();
  private readonly rate = new Map<string, { count: number; windowStart: number }>();
  private lastMaintenance: number;
  private readonly lookupOpts: LookupOptions;
  /** Round trips of our queries: each lookup's soft timeout comes from them. */
  private readonly rtt: RttEstimator;
  private readonly stats = {
    queriesIn: 0,
    queriesOut: 0,
    responsesIn: 0,
    errorsIn: 0,
    malformed: 0,
    rateLimited: 0,
    timeouts: 0,
    idChanges: 0,
  };
  readonly family: DhtFamily;
  /** The node of the other address family on a dual-stack host (BEP 32), if any. */
  private sibling: DhtNode | undefined;
  /** Votes for our external address, from the `ip` field of answers (BEP 42): address → voters. */
  readonly externalVotes = new Map<string, number>();
  /** Who voted for what (one vote per answering address). */
  private readonly voters = new Map<string, string>();

  constructor(
    private readonly opts: DhtNodeOptions,
    private readonly deps: DhtDeps,
    now: number,
  ) {
    this.id = opts.id;
    this.family = opts.family ?? 4;
    this.table = new RoutingTable(opts.id, now, opts.extendedTable === false ? [] : EXTENDED_BUCKET_SIZES);
    this.storage = new DhtStorage(opts.limits ?? DEFAULT_STORAGE_LIMITS);
    this.tokens = new TokenIssuer(() => deps.random(16), now);
    this.lastMaintenance = now;
    this.lookupOpts = { ...DEFAULT_LOOKUP, ...opts.lookup };
    this.rtt = new RttEstimator(this.lookupOpts.softTimeoutMs, Math.min(MIN_SOFT_TIMEOUT_MS, this.lookupOpts.softTimeoutMs));
  }

  // ================= outputs =================

  pollTransmit(): { to: PeerAddress; bytes: Buffer } | undefined {
    return this.out.shift();
  }

  nextDeadline(): number | undefined {
    let d = this.lastMaintenance + MAINTENANCE_MS;
    for (const t of this.transactions.values()) d = Math.min(d, t.sentAt + QUERY_TIMEOUT_MS);
    for (const l of this.lookups) {
      const ld = l.lookup.nextDeadline();
      if (ld !== undefined) d = Math.min(d, ld);
    }
    return d;
  }

  getStats(): DhtStats {
    const c = this.storage.counts;
    return {
      id: this.id.toString('hex'),
      nodes: this.table.size,
      buckets: this.table.bucketCount,
      ...this.stats,
      storedTorrents: c.torrents,
      storedPeers: c.peers,
      storedItems: c.items,
    };
  }

  // ================= inputs =================

  handlePacket(bytes: Uint8Array, from: PeerAddress, now: number): void {
    this.nowHint = now;
    let m: KrpcMessage;
    try {
      m = decodeKrpc(bytes);
    } catch (e) {
      if (e instanceof KrpcError) {
        this.stats.malformed++;
        return;
      }
      throw e;
    }
    if (m.y === 'q') this.onQuery(m, from, now);
    else this.onReply(m, from, now);
  }

  handleTimeout(now: number): void {
    this.nowHint = now;
    for (const [tid, t] of this.transactions) {
      if (now < t.sentAt + QUERY_TIMEOUT_MS) continue;
      this.transactions.delete(tid);
      this.stats.timeouts++;
      t.onReply?.(undefined);
    }
    for (const l of [...this.lookups]) {
      for (const dead of l.lookup.tick(now)) this.table.failed(dead.id, now);
      this.pump(l, now);
    }
    if (now >= this.lastMaintenance + MAINTENANCE_MS) {
      this.lastMaintenance = now;
      this.maintain(now);
    }
  }

  // ================= commands =================

  /**
   * Dual stack (BEP 32): this node and one of the other family answer `want` for each other's
   * nodes, and each hands the other the nodes of its family that answers bring while its table is
   * still small (the BEP's faster bootstrap).
   */
  pairWith(other: DhtNode): void {
    if (other.family === this.family) throw new Error('pairWith: the nodes must be of different address families');
    this.sibling = other;
    other.sibling = this;
  }

  /** Joins the network through these nodes: a lookup of our own id fills the table. */
  bootstrap(addrs: readonly PeerAddress[], now: number, done?: (r: LookupResult) => void): void {
    for (const a of addrs) this.ping(a, now);
    this.lookup('find_node', this.id, now, (r) => done?.(r), addrs);
  }

  ping(addr: PeerAddress, now: number, done?: (ok: boolean) => void): void {
    this.nowHint = now;
    this.query(addr, 'ping', {}, now, (r) => {
      if (r) {
        // Recorded at the time of the answer, not of the question.
        const id = bytesArg(r.r, 'id', ID_BYTES);
        if (id) this.heard(Buffer.from(id), addr, this.nowHint, true);
      }
      done?.(r !== undefined);
    });
  }

  findNode(target: Buffer, now: number, done: (r: LookupResult) => void): void {
    this.lookup('find_node', target, now, done);
  }

  /**
   * BEP 33: how many seeds and downloaders a torrent has, estimated from the union of the bloom
   * filters the nodes around the info-hash return (plus the peers of nodes that only give values).
   */
  scrape(infoHash: Buffer, now: number, done: (r: LookupResult & ScrapeResult) => void): void {
    const state = { seeds: new ScrapeBloom(), peers: new ScrapeBloom(), legacy: new Set<string>(), answered: 0 };
    this.lookup(
      'get_peers',
      infoHash,
      now,
      (r) => {
        // Values from nodes without filters count as downloaders unless a filter says seed.
        for (const host of state.legacy) if (!state.seeds.mayContainIp(host)) state.peers.insertIp(host);
        done({ ...r, seeds: state.seeds.estimate(), downloaders: state.peers.estimate(), filters: state.answered, BFsd: state.seeds.toBuffer(), BFpe: state.peers.toBuffer() });
      },
      undefined,
      undefined,
      undefined,
      state,
    );
  }

  /** Peers of a torrent; `onPeers` gets them as they come, `done` all of them at the end. */
  getPeers(infoHash: Buffer, now: number, done: (r: LookupResult) => void, onPeers?: (peers: PeerAddress[]) => void): void {
    this.lookup('get_peers', infoHash, now, done, undefined, undefined, onPeers);
  }

  /**
   * get_peers, then announce_peer to the k closest that gave us a token. `seed`: we have the whole
   * torrent (BEP 33 counts us as a seed); `onPeers`: the peers the lookup finds, as they come.
   */
  announce(
    infoHash: Buffer,
    port: number,
    impliedPort: boolean,
    now: number,
    done: (r: LookupResult & { stored: number }) => void,
    extra: { seed?: boolean; onPeers?: (peers: PeerAddress[]) => void } = {},
  ): void {
    this.lookup(
      'get_peers',
      infoHash,
      now,
      (r) => {
        this.sendToAll(
          r.writable,
          'announce_peer',
          (c) => ({ info_hash: infoHash, port, implied_port: impliedPort ? 1 : undefined, seed: extra.seed ? 1 : undefined, token: c.token }),
          (stored) => done({ ...r, stored }),
        );
      },
      undefined,
      undefined,
      extra.onPeers,
    );
  }

  /** BEP 44 get: an immutable item by its target, or a mutable one by public key (+ salt). */
  get(target: Buffer, now: number, done: (r: LookupResult) => void, want?: { k?: Buffer; salt?: Buffer }): void {
    this.lookup('get', target, now, done, undefined, want);
  }

  /**
   * BEP 44 put: finds the k closest nodes to the item's target (with tokens), then stores there.
   * `item.v` is the bencoded value.
   */
  put(
    item: { v: Buffer; k?: Buffer; sig?: Buffer; seq?: number; salt?: Buffer; cas?: number },
    now: number,
    done: (r: { target: Buffer; stored: number; errors: string[] }) => void,
  ): void {
    const target = item.k ? mutableTarget(item.k, item.salt) : immutableTarget(item.v);
    this.lookup('get', target, now, (r) => {
      const errors: string[] = [];
      this.sendToAll(
        r.writable,
        'put',
        (c) => ({
          token: c.token,
          v: rawValue(item.v),
          k: item.k,
          sig: item.sig,
          seq: item.seq,
          salt: item.salt && item.salt.length > 0 ? item.salt : undefined,
          cas: item.cas,
        }),
        (stored) => done({ target, stored, errors }),
        (err) => errors.push(`${err.code} ${err.message}`),
      );
    });
  }

  /** Stored nodes to save, and to reload on restart (so a node rejoins without the bootstrap). */
  exportNodes(): { id: string; host: string; port: number }[] {
    return this.table.all().map((n) => ({ id: n.id.toString('hex'), host: n.addr.host, port: n.addr.port }));
  }

  importNodes(nodes: readonly { id: string; host: string; port: number }[], now: number): void {
    for (const n of nodes) {
      if (!/^[0-9a-f]{40}$/.test(n.id)) continue;
      this.heard(Buffer.from(n.id, 'hex'), { host: n.host, port: n.port }, now, false);
    }
  }

  // ================= queries we answer =================

  private rateLimited(ip: string, now: number): boolean {
    const limit = this.opts.queriesPerIpPerSec ?? 50;
    let r = this.rate.get(ip);
    if (!r || now - r.windowStart >= RATE_WINDOW_MS) {
      r = { count: 0, windowStart: now };
      this.rate.set(ip, r);
    }
    r.count++;
    return r.count > limit;
  }

  private onQuery(m: Extract<KrpcMessage, { y: 'q' }>, from: PeerAddress, now: number): void {
    if (this.opts.readOnly) return;
    if (this.rateLimited(from.host, now)) {
      this.stats.rateLimited++;
      return;
    }
    this.stats.queriesIn++;
    const id = bytesArg(m.a, 'id', ID_BYTES);
    if (!id) {
      this.send(from, encodeError(m.t, KRPC_ERROR.protocol, 'missing id'));
      return;
    }
    // A new node that queried us is pinged before we vouch for it to others.
    if (!m.ro && this.heard(Buffer.from(id), from, now, false) === 'added') this.ping(from, now);
    const reply = (r: Record<string, Encodable | undefined>): void =>
      this.send(from, encodeResponse(m.t, { id: this.id, ...r }, { ip: encodeCompactPeer(from), ...(this.opts.version ? { version: this.opts.version } : {}) }));
    const error = (code: number, message: string): void => this.send(from, encodeError(m.t, code, message));
    const nodesFor = (target: Uint8Array): Record<string, Buffer> => this.nodeFields(target, m.a.get('want'));

    switch (m.q) {
      case 'ping':
        reply({});
        return;
      case 'find_node': {
        const target = bytesArg(m.a, 'target', ID_BYTES);
        if (!target) return error(KRPC_ERROR.protocol, 'missing target');
        reply(nodesFor(target));
        return;
      }
      case 'get_peers': {
        const ih = bytesArg(m.a, 'info_hash', ID_BYTES);
        if (!ih) return error(KRPC_ERROR.protocol, 'missing info_hash');
        const scrape = intArg(m.a, 'scrape') === 1 ? this.storage.scrape(Buffer.from(ih), now) : undefined;
        // With the two 256-byte filters (BEP 33) fewer values fit in one datagram.
        const peers = this.storage.getPeers(Buffer.from(ih), now, scrape ? 20 : 50, intArg(m.a, 'noseed') === 1);
        reply({
          token: this.tokens.issue(from.host, now),
          values: peers.length > 0 ? peers.map(encodeCompactPeer) : undefined,
          ...nodesFor(ih),
          ...(scrape ? { BFsd: scrape.seeds.toBuffer(), BFpe: scrape.peers.toBuffer() } : {}),
        });
        return;
      }
      case 'announce_peer': {
        const ih = bytesArg(m.a, 'info_hash', ID_BYTES);
        const token = bytesArg(m.a, 'token');
        const implied = intArg(m.a, 'implied_port') === 1;
        const port = implied ? from.port : intArg(m.a, 'port');
        if (!ih || !token || port === undefined || port < 1 || port > 65535) return error(KRPC_ERROR.protocol, 'bad announce_peer');
        if (!this.tokens.valid(token, from.host, now)) return error(KRPC_ERROR.protocol, 'bad token');
        this.storage.addPeer(Buffer.from(ih), { host: from.host, port }, intArg(m.a, 'seed') === 1, now);
        reply({});
        return;
      }
      case 'get': {
        const target = bytesArg(m.a, 'target', ID_BYTES);
        if (!target) return error(KRPC_ERROR.protocol, 'missing target');
        const it = this.storage.getItem(Buffer.from(target), now);
        const seq = intArg(m.a, 'seq');
        const r: Record<string, Encodable | undefined> = { token: this.tokens.issue(from.host, now), ...nodesFor(target) };
        if (it && (it.seq === undefined || seq === undefined || it.seq > seq)) {
          r.v = rawValue(it.v);
          if (it.k) {
            r.k = it.k;
            r.sig = it.sig;
            r.seq = it.seq;
          }
        } else if (it && it.seq !== undefined) {
          r.seq = it.seq;
        }
        reply(r);
        return;
      }
      case 'put':
        this.onPut(m, from, now, reply, error);
        return;
      case 'sample_infohashes': {
        const target = bytesArg(m.a, 'target', ID_BYTES);
        if (!target) return error(KRPC_ERROR.protocol, 'missing target');
        const { samples, num } = this.storage.sample(20, () => this.deps.rng());
        reply({ interval: 21600 / 6, num, samples: Buffer.concat(samples), ...nodesFor(target) });
        return;
      }
      default:
        error(KRPC_ERROR.methodUnknown, 'method unknown');
    }
  }

  /**
   * The closest nodes we vouch for, under `nodes` (IPv4) and/or `nodes6` (IPv6): those the query's
   * `want` asks for (BEP 32), else our own family. The other family comes from the paired node.
   */
  private nodeFields(target: Uint8Array, want: unknown): Record<string, Buffer> {
    let families: DhtFamily[] = [this.family];
    if (Array.isArray(want)) {
      const w = want.filter((x): x is Buffer => Buffer.isBuffer(x)).map((b) => b.toString('latin1'));
      const asked: DhtFamily[] = [];
      if (w.includes('n4')) asked.push(4);
      if (w.includes('n6')) asked.push(6);
      if (asked.length > 0) families = asked;
    }
    const out: Record<string, Buffer> = {};
    for (const f of families) {
      const table = f === this.family ? this.table : this.sibling?.table;
      if (!table) continue;
      out[f === 4 ? 'nodes' : 'nodes6'] = encodeNodes(f, table.closest(target, K, true));
    }
    return out;
  }

  private onPut(
    m: Extract<KrpcMessage, { y: 'q' }>,
    from: PeerAddress,
    now: number,
    reply: (r: Record<string, Encodable | undefined>) => void,
    error: (code: number, message: string) => void,
  ): void {
    if (this.opts.storeItems === false) return error(KRPC_ERROR.server, 'this node does not store items');
    const token = bytesArg(m.a, 'token');
    if (!token || !this.tokens.valid(token, from.host, now)) return error(KRPC_ERROR.protocol, 'bad token');
    const raw = m.a.get('v');
    if (raw === undefined) return error(KRPC_ERROR.protocol, 'missing v');
    let v: Buffer;
    try {
      v = encode(raw); // the decoder accepted it, so this is its exact canonical form
    } catch {
      return error(KRPC_ERROR.protocol, 'bad v');
    }
    if (v.length > MAX_VALUE_BYTES) return error(ITEM_ERRORS.tooBig, 'message (v field) too big');
    const k = bytesArg(m.a, 'k', 32);
    const item: StoredItem = { v, expires: now + ITEM_TTL_MS };
    let target: Buffer;
    if (k) {
      const sig = bytesArg(m.a, 'sig', 64);
      const seq = intArg(m.a, 'seq');
      const salt = bytesArg(m.a, 'salt');
      if (salt && salt.length > MAX_SALT_BYTES) return error(ITEM_ERRORS.saltTooBig, 'salt (salt field) too big');
      if (!sig || seq === undefined || seq < 0) return error(KRPC_ERROR.protocol, 'mutable put needs sig and seq');
      if (!verifyMutable(k, sig, v, seq, salt)) return error(ITEM_ERRORS.badSignature, 'invalid signature');
      target = mutableTarget(k, salt);
      const existing = this.storage.getItem(target, now);
      const cas = intArg(m.a, 'cas');
      if (existing?.seq !== undefined) {
        if (cas !== undefined && cas !== existing.seq) return error(ITEM_ERRORS.casMismatch, 'the CAS hash mismatched, re-read value and try again');
        if (seq < existing.seq) return error(ITEM_ERRORS.seqTooLow, 'sequence number less than current');
        if (seq === existing.seq && !existing.v.equals(v)) return error(ITEM_ERRORS.seqTooLow, 'sequence number not newer');
      }
      Object.assign(item, { k: Buffer.from(k), sig: Buffer.from(sig), seq, ...(salt ? { salt: Buffer.from(salt) } : {}) });
    } else {
      target = immutableTarget(v);
    }
    if (!this.storage.putItem(target, item)) return error(KRPC_ERROR.server, 'storage full');
    reply({});
  }

  // ================= our queries =================

  private send(to: PeerAddress, bytes: Buffer): void {
    this.out.push({ to, bytes });
  }

  private query(
    to: PeerAddress,
    method: string,
    args: Record<string, Encodable | undefined>,
    now: number,
    onReply?: Transaction['onReply'],
    lookup?: RunningLookup,
  ): void {
    // Random transaction ids: a sequential one lets anyone who sees one of our queries forge the
    // answer to the next. Two bytes, as most clients use; a clash with one in flight is redrawn.
    let tid = this.deps.random(2);
    let key = tid.toString('hex');
    for (let i = 0; i < 8 && this.transactions.has(key); i++) {
      tid = this.deps.random(2);
      key = tid.toString('hex');
    }
    const prev = this.transactions.get(key);
    prev?.onReply?.(undefined); // 65,536 ids all in flight: the oldest gives way
    this.transactions.set(key, { to, method, sentAt: now, ...(onReply ? { onReply } : {}), ...(lookup ? { lookup } : {}) });
    this.stats.queriesOut++;
    this.send(to, encodeQuery(tid, method, { id: this.id, ...args }, { readOnly: this.opts.readOnly === true, ...(this.opts.version ? { version: this.opts.version } : {}) }));
  }

  private onReply(m: Exclude<KrpcMessage, { y: 'q' }>, from: PeerAddress, now: number): void {
    const key = m.t.toString('hex');
    const t = this.transactions.get(key);
    if (!t || t.to.host !== from.host || t.to.port !== from.port) {
      this.stats.malformed++;
      return;
    }
    this.transactions.delete(key);
    if (m.y === 'e') {
      this.stats.errorsIn++;
      t.onReply?.(undefined, { code: m.code, message: m.message });
      return;
    }
    this.stats.responsesIn++;
    this.rtt.sample(now - t.sentAt);
    const id = bytesArg(m.r, 'id', ID_BYTES);
    if (!id) {
      this.stats.malformed++;
      t.onReply?.(undefined);
      return;
    }
    // The address the answering node saw us at (BEP 42): 6 bytes on IPv4, 18 on IPv6.
    if (m.ip && m.ip.length === (this.family === 4 ? 6 : 18)) {
      const [me] = this.family === 4 ? decodeCompactIPv4(m.ip) : decodeCompactIPv6(m.ip);
      if (me) this.vote(from.host, me.host, now);
    }
    if (m.r.get('ro') !== 1) this.heard(Buffer.from(id), from, now, true);
    t.onReply?.(m);
  }

  /** Into the routing table, unless BEP 42 is enforced and the id does not fit the address. */
  private heard(id: Buffer, from: PeerAddress, now: number, replied: boolean): 'added' | 'known' | 'refused' {
    if (familyOf(from.host) !== this.family) return 'refused';
    if (this.opts.enforceNodeId && !validNodeId(id, from.host)) return 'refused';
    return this.table.heard(id, from, now, replied);
  }

  /**
   * One vote per answering address for the external address it saw us at (BEP 42 `ip`). Bounded:
   * strangers can claim anything, so few candidates and a window of recent voters are kept.
   */
  private vote(voter: string, claimed: string, now: number): void {
    const prev = this.voters.get(voter);
    if (prev === claimed) return;
    if (prev !== undefined) this.withdrawVote(voter, prev);
    if (this.voters.size >= MAX_VOTERS) {
      // The oldest voter's vote lapses (Map keeps insertion order).
      const [oldVoter, oldClaim] = this.voters.entries().next().value as [string, string];
      this.withdrawVote(oldVoter, oldClaim);
    }
    if (!this.externalVotes.has(claimed) && this.externalVotes.size >= MAX_ADDRESS_CANDIDATES) return;
    this.voters.set(voter, claimed);
    this.externalVotes.set(claimed, (this.externalVotes.get(claimed) ?? 0) + 1);
    this.adoptSecureId(now);
  }

  private withdrawVote(voter: string, claimed: string): void {
    this.voters.delete(voter);
    const n = (this.externalVotes.get(claimed) ?? 1) - 1;
    if (n <= 0) this.externalVotes.delete(claimed);
    else this.externalVotes.set(claimed, n);
  }

  /** Our external address once enough distinct nodes agree on it (and clearly more than on any other). */
  externalAddress(): string | undefined {
    let best: string | undefined;
    let top = 0;
    let second = 0;
    for (const [ip, n] of this.externalVotes) {
      if (n > top) {
        second = top;
        top = n;
        best = ip;
      } else if (n > second) second = n;
    }
    return best !== undefined && top >= MIN_VOTES && top >= 2 * second ? best : undefined;
  }

  /**
   * BEP 42: when our external address is known and public and our id does not fit it, take one
   * that does. The table is rebuilt around the new id (same nodes) and a lookup of the new id finds
   * our new neighbours; nodes that store us under the old id forget it as their entries age.
   */
  private adoptSecureId(now: number): void {
    if (this.opts.secureId === false) return;
    const ip = this.externalAddress();
    if (ip === undefined || isLocalAddress(ip) || validNodeId(this.id, ip)) return;
    const id = secureNodeId(ip, this.deps.random(ID_BYTES));
    const old = this.table;
    this.id = id;
    this.table = new RoutingTable(id, now, this.opts.extendedTable === false ? [] : EXTENDED_BUCKET_SIZES);
    for (const n of old.all()) {
      this.table.heard(n.id, n.addr, n.lastSeen, false);
      const e = this.table.find(n.id);
      if (e) {
        e.lastReply = n.lastReply;
        e.failures = n.failures;
      }
    }
    this.stats.idChanges++;
    this.lookup('find_node', id, now, () => undefined);
  }

  // ================= lookups =================

  private lookup(
    method: RunningLookup['method'],
    target: Buffer,
    now: number,
    done: (r: LookupResult) => void,
    extraSeeds?: readonly PeerAddress[],
    want?: RunningLookup['want'],
    onPeers?: RunningLookup['onPeers'],
    scrape?: RunningLookup['scrape'],
  ): void {
    this.nowHint = now;
    const seeds: Contact[] = this.table.closest(target, this.lookupOpts.k * 2).map((n) => ({ id: n.id, addr: n.addr }));
    // Bootstrap routers have unknown ids: give them placeholder ids far from the target.
    for (const a of extraSeeds ?? []) seeds.push({ id: Buffer.from(target.map((b) => b ^ 0xff)), addr: a });
    const opts = { ...this.lookupOpts, softTimeoutMs: this.rtt.timeoutMs() };
    const l: RunningLookup = { lookup: new Lookup(target, seeds, opts, now, this.id), method, peers: new Map(), done, ...(want ? { want } : {}), ...(onPeers ? { onPeers } : {}), ...(scrape ? { scrape } : {}) };
    this.lookups.add(l);
    this.pump(l, now);
  }

  private pump(l: RunningLookup, now: number): void {
    if (!this.lookups.has(l)) return;
    if (l.lookup.isDone(now)) {
      this.finish(l, now);
      return;
    }
    for (const c of l.lookup.next(now)) {
      const args: Record<string, Encodable | undefined> =
        l.method === 'find_node'
          ? { target: l.lookup.target }
          : l.method === 'get_peers'
            ? { info_hash: l.lookup.target, ...(l.scrape ? { scrape: 1 } : {}) }
            : { target: l.lookup.target };
      // A dual-stack node whose other table is still small asks for both families (BEP 32).
      if (this.sibling && this.sibling.table.size < 2 * K && l.method !== 'get') args.want = ['n4', 'n6'];
      this.query(c.addr, l.method, args, now, (r) => this.onLookupReply(l, c, r), l);
    }
    if (l.lookup.isDone(now)) this.finish(l, now);
  }

  /** The time of the input being handled (callbacks run inside handlePacket / handleTimeout / commands). */
  private nowHint = 0;

  private onLookupReply(l: RunningLookup, c: Candidate, r: Extract<KrpcMessage, { y: 'r' }> | undefined): void {
    const now = this.nowHint;
    if (!r) {
      l.lookup.failed(c.addr);
      this.table.failed(c.id, now);
      this.pump(l, now);
      return;
    }
    const id = Buffer.from(bytesArg(r.r, 'id', ID_BYTES)!);
    const nodesRaw = bytesArg(r.r, this.family === 4 ? 'nodes' : 'nodes6');
    const nodes = nodesRaw ? decodeNodes(this.family, nodesRaw) : [];
    this.offerToSibling(r.r, now);
    const token = bytesArg(r.r, 'token');
    l.lookup.answered(c.addr, id, nodes, token ? Buffer.from(token) : undefined, now);
    if (l.method === 'get_peers') {
      const values = r.r.get('values');
      if (Array.isArray(values)) {
        const fresh: PeerAddress[] = [];
        for (const v of values.slice(0, 100)) {
          if (!Buffer.isBuffer(v)) continue;
          for (const p of decodeCompactPeer(v, this.family)) {
            const key = `${p.host}:${p.port}`;
            if (l.peers.has(key)) continue;
            l.peers.set(key, p);
            fresh.push(p);
          }
        }
        if (fresh.length > 0) {
          l.firstValueAt ??= now;
          l.onPeers?.(fresh);
        }
      }
      if (l.scrape) {
        const sd = bytesArg(r.r, 'BFsd', BLOOM_BYTES);
        const pe = bytesArg(r.r, 'BFpe', BLOOM_BYTES);
        if (sd && pe) {
          l.scrape.seeds.merge(Buffer.from(sd));
          l.scrape.peers.merge(Buffer.from(pe));
          l.scrape.answered++;
        } else if (Array.isArray(values)) {
          for (const v of values.slice(0, 100)) if (Buffer.isBuffer(v)) for (const p of decodeCompactPeer(v, this.family)) l.scrape.legacy.add(p.host);
        }
      }
    } else if (l.method === 'get') {
      this.takeItem(l, r.r);
      if (l.item) l.firstValueAt ??= now;
    }
    this.pump(l, now);
  }

  /** Nodes of the paired family an answer carried: the paired node pings a few while its table is small. */
  private offerToSibling(r: BencodeDict, now: number): void {
    const sib = this.sibling;
    if (!sib || sib.table.size >= 2 * K) return;
    const raw = bytesArg(r, sib.family === 4 ? 'nodes' : 'nodes6');
    if (!raw) return;
    for (const n of decodeNodes(sib.family, raw).slice(0, K)) if (!sib.table.find(n.id)) sib.ping(n.addr, now);
  }

  /** Keeps a BEP 44 item from an answer if it checks out (hash, or signature and newest seq). */
  private takeItem(l: RunningLookup, r: BencodeDict): void {
    const raw = r.get('v');
    if (raw === undefined) return;
    let v: Buffer;
    try {
      v = encode(raw);
    } catch {
      return;
    }
    const k = bytesArg(r, 'k', 32);
    if (l.want?.k) {
      const sig = bytesArg(r, 'sig', 64);
      const seq = intArg(r, 'seq');
      if (!k || !k.equals(l.want.k) || !sig || seq === undefined) return;
      if (!verifyMutable(k, sig, v, seq, l.want.salt)) return;
      if (l.item?.seq !== undefined && l.item.seq >= seq) return;
      l.item = { v, k: Buffer.from(k), sig: Buffer.from(sig), seq, ...(l.want.salt ? { salt: l.want.salt } : {}) };
    } else if (!l.item && immutableTarget(v).equals(l.lookup.target)) {
      l.item = { v };
    }
  }

  private finish(l: RunningLookup, now: number): void {
    if (!this.lookups.delete(l)) return;
    l.lookup.finished = true;
    const closest = l.lookup.closestAnswered(this.lookupOpts.k);
    // Outstanding queries of this lookup are left to time out quietly.
    l.done({
      target: l.lookup.target,
      closest: closest.map((c) => ({ id: c.id, addr: c.addr })),
      peers: [...l.peers.values()],
      ...(l.item ? { item: l.item } : {}),
      hops: l.lookup.hops,
      messages: l.lookup.messages,
      durationMs: now - l.lookup.startedAt,
      resultMs: this.resultTime(l, closest[0]),
      writable: closest.filter((c) => c.token).map((c) => ({ id: c.id, addr: c.addr, token: c.token! })),
    });
  }

  private resultTime(l: RunningLookup, closest: Candidate | undefined): number | undefined {
    const at = l.method === 'find_node' ? closest?.answeredAt : l.firstValueAt;
    return at === undefined ? undefined : at - l.lookup.startedAt;
  }

  private sendToAll(
    targets: readonly { addr: PeerAddress; token: Buffer }[],
    method: string,
    argsFor: (c: { token: Buffer }) => Record<string, Encodable | undefined>,
    done: (ok: number) => void,
    onError?: (err: { code: number; message: string }) => void,
  ): void {
    if (targets.length === 0) {
      done(0);
      return;
    }
    let left = targets.length;
    let ok = 0;
    for (const c of targets) {
      this.query(c.addr, method, argsFor(c), this.nowHint, (r, err) => {
        if (r) ok++;
        if (err) onError?.(err);
        if (--left === 0) done(ok);
      });
    }
  }

  // ================= upkeep =================

  private maintain(now: number): void {
    this.storage.expire(now);
    for (const [ip, r] of this.rate) if (now - r.windowStart > 10 * RATE_WINDOW_MS) this.rate.delete(ip);
    for (const target of this.table.staleBuckets(now, REFRESH_MS, () => this.deps.random(ID_BYTES))) {
      this.findNode(target, now, () => {});
    }
    // An unanswered ping is a failure: a dead node goes bad and is replaced, not pinged for ever.
    for (const n of this.table.questionable(now, 32)) {
      n.lastPinged = now;
      this.ping(n.addr, now, (ok) => {
        if (!ok) this.table.failed(n.id, this.nowHint);
      });
    }
  }
}

/** Compact node info (BEP 5 `nodes`, BEP 32 `nodes6`): 20-byte id, then the address and port. */
export function encodeNodes(family: DhtFamily, nodes: readonly { id: Buffer; addr: PeerAddress }[]): Buffer {
  const mine = nodes.filter((n) => familyOf(n.addr.host) === family);
  const encode = family === 4 ? encodeCompactIPv4 : encodeCompactIPv6;
  return Buffer.concat(mine.map((n) => Buffer.concat([n.id, encode([n.addr])])));
}

/** At most 16 contacts (an answer carries 8); a truncated last entry is dropped. */
export function decodeNodes(family: DhtFamily, b: Uint8Array): Contact[] {
  const size = family === 4 ? 26 : 38;
  const decode = family === 4 ? decodeCompactIPv4 : decodeCompactIPv6;
  const out: Contact[] = [];
  const buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  for (let i = 0; i + size <= buf.length && out.length < 16; i += size) {
    const [addr] = decode(buf.subarray(i + 20, i + size));
    if (addr) out.push({ id: Buffer.from(buf.subarray(i, i + 20)), addr });
  }
  return out;
}

export const encodeCompactNodes = (nodes: readonly { id: Buffer; addr: PeerAddress }[]): Buffer => encodeNodes(4, nodes);
export const decodeCompactNodes = (b: Uint8Array): Contact[] => decodeNodes(4, b);
export const encodeCompactNodes6 = (nodes: readonly { id: Buffer; addr: PeerAddress }[]): Buffer => encodeNodes(6, nodes);
export const decodeCompactNodes6 = (b: Uint8Array): Contact[] => decodeNodes(6, b);

/** One peer as a `values` entry or an `ip` field: 6 bytes for IPv4, 18 for IPv6. */
function encodeCompactPeer(p: PeerAddress): Buffer {
  return familyOf(p.host) === 6 ? encodeCompactIPv6([p]) : encodeCompactIPv4([p]);
}

/** A `values` entry in a DHT of this family (the two DHTs never mix data, BEP 32). */
function decodeCompactPeer(b: Uint8Array, family: DhtFamily): PeerAddress[] {
  return family === 6 ? decodeCompactIPv6(b) : decodeCompactIPv4(b);
}

/** A stored, already-bencoded value put back into a message: decoding then re-encoding gives the same bytes. */
function rawValue(v: Buffer): Encodable {
  return decode(v);
}
