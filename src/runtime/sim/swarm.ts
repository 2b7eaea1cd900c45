/**
 * Building simulated swarms: N hosts on one `SimNetwork`, each running one `Torrent` of the same
 * metainfo on an in-memory store, all on one `SimClock`, all randomness forked from one seed.
 *
 * - A node is a seeder (its store starts with the whole content) or a leecher (starts empty). Every
 *   node listens on port 6881 of its own virtual address and routes incoming handshakes to its torrent
 *   through a `SimPeerListener`, as the node runtime does.
 * - Nodes start at `startAtMs` (joining mid-way is just a later start; the host is offline until
 *   then) and leave with `leave()`:
 *   `torrent.stop()`, then every remaining connection closed and the host taken offline (later dials
 *   to it time out). `crash: true` leaves without closing anything: the others only see silence.
 * - A simulated tracker introduces peers: when a node starts, and every `announceIntervalMs` after,
 *   it is told (`torrent.addPeers`) a random subset of up to `trackerAnswer` (30) other running nodes,
 *   drawn from the swarm's seed. PEX (BEP 11) between the engines does the rest.
 * - Leechers keep seeding once done (`seed: true`) unless told otherwise: the fluid model's bound
 *   assumes every peer uploads until the end.
 *
 * Every TorrentEvent is recorded with its virtual time, and folded into `traceDigest`, a fingerprint
 * of the whole run: the same seed and scenario must give the same digest.
 */
import { addressKey } from '../../net/compact.js';
import type { PeerAddress } from '../../net/compact.js';
import { Bitfield } from '../../torrent/bitfield.js';
import { Torrent } from '../../torrent/torrent.js';
import type { TorrentEvent, TorrentOptions } from '../../torrent/torrent.js';
import { SimClock } from './clock.js';
import type { SimTorrent } from './content.js';
import { SimPeerListener } from './listener.js';
import { SimNetwork } from './network.js';
import type { SimHost, SimHostOptions, SimNetworkOptions } from './network.js';
import { SimRandom } from './random.js';
import { MemoryPieceStore, openerFor } from './store.js';
import type { StoreFaults } from './store.js';

export const SIM_LISTEN_PORT = 6881;

export interface SwarmOptions {
  seed: number;
  torrent: SimTorrent;
  network?: SimNetworkOptions;
  /** Most peers one tracker answer holds. */
  trackerAnswer?: number;
  /** Re-announce period of every running node (virtual ms); 0: only when it starts. */
  announceIntervalMs?: number;
  /** Torrent options every node gets (a node's own `torrent` options win). */
  torrentDefaults?: Omit<TorrentOptions, 'metainfo' | 'infoHash' | 'infoHashV2'>;
  /** Keep every TorrentEvent in `node.events` (the digest is kept either way). */
  recordEvents?: boolean;
}

export interface SimNodeOptions extends SimHostOptions {
  role: 'seeder' | 'leecher';
  name?: string;
  /** Virtual time to start at (default: now). */
  startAtMs?: number;
  torrent?: Omit<TorrentOptions, 'metainfo' | 'infoHash' | 'infoHashV2'>;
  faults?: StoreFaults;
  /** Pieces a leecher starts with (a partial seed). */
  initialPieces?: readonly number[];
  /** Does the tracker hand this node's address out? (default true) */
  announced?: boolean;
}

export interface RecordedEvent {
  atMs: number;
  event: TorrentEvent;
}

export class SimNode {
  readonly index: number;
  readonly name: string;
  readonly role: 'seeder' | 'leecher';
  readonly host: SimHost;
  readonly addr: PeerAddress;
  readonly rng: SimRandom;
  readonly peerId: Buffer;
  readonly store: MemoryPieceStore;
  readonly torrent: Torrent;
  readonly listener: SimPeerListener;
  readonly announced: boolean;
  readonly events: RecordedEvent[] = [];
  /** Pieces verified so far (what it started with, then every 'piece' event). */
  readonly have: Bitfield;
  state: 'pending' | 'running' | 'left' = 'pending';
  startAtMs: number;
  startedAtMs: number | undefined;
  doneAtMs: number | undefined;
  leftAtMs: number | undefined;
  errors: Error[] = [];
  bans: { atMs: number; addr: PeerAddress; reason: string }[] = [];
  failedPieces = 0;

  constructor(init: {
    index: number;
    name: string;
    role: 'seeder' | 'leecher';
    host: SimHost;
    rng: SimRandom;
    peerId: Buffer;
    store: MemoryPieceStore;
    torrent: (node: SimNode) => Torrent;
    announced: boolean;
    startAtMs: number;
  }) {
    this.index = init.index;
    this.name = init.name;
    this.role = init.role;
    this.host = init.host;
    this.addr = { host: init.host.host, port: SIM_LISTEN_PORT };
    this.rng = init.rng;
    this.peerId = init.peerId;
    this.store = init.store;
    this.announced = init.announced;
    this.startAtMs = init.startAtMs;
    this.have = new Bitfield(init.store.metainfo.pieceCount, init.store.initialHave.bytes);
    this.listener = new SimPeerListener(init.host, SIM_LISTEN_PORT);
    this.torrent = init.torrent(this);
    this.listener.add(this.torrent);
  }

  get done(): boolean {
    return this.doneAtMs !== undefined;
  }

  /** Download time from its start (ms), if done. */
  get downloadMs(): number | undefined {
    return this.doneAtMs !== undefined && this.startedAtMs !== undefined ? this.doneAtMs - this.startedAtMs : undefined;
  }
}

export class Swarm {
  readonly clock: SimClock;
  readonly rng: SimRandom;
  readonly network: SimNetwork;
  readonly torrent: SimTorrent;
  readonly nodes: SimNode[] = [];
  private readonly trackerRng: SimRandom;
  private readonly opts: SwarmOptions;
  private digest = 0x811c9dc5;
  /** Leechers that have finished. */
  doneLeechers = 0;

  constructor(o: SwarmOptions) {
    this.opts = o;
    this.rng = new SimRandom(o.seed);
    this.clock = new SimClock();
    this.network = new SimNetwork(this.clock, this.rng.fork('network'), o.network);
    this.torrent = o.torrent;
    this.trackerRng = this.rng.fork('tracker');
  }

  get seed(): number {
    return this.opts.seed;
  }

  get now(): number {
    return this.clock.now();
  }

  /** Fingerprint of every event so far (time, node, type and details). */
  get traceDigest(): string {
    return (this.digest >>> 0).toString(16).padStart(8, '0');
  }

  addNode(o: SimNodeOptions): SimNode {
    const index = this.nodes.length;
    const rng = this.rng.fork(`node:${index}`);
    const host = this.network.addHost(o);
    const peerId = Buffer.concat([Buffer.from('-SM0001-', 'latin1'), rng.bytes(12)]);
    const store = new MemoryPieceStore(this.torrent.metainfo, {
      clock: this.clock,
      ...(o.role === 'seeder' ? { content: this.torrent.content, initial: 'all' as const } : {}),
      ...(o.role === 'leecher' && o.initialPieces ? { content: this.torrent.content, initial: o.initialPieces } : {}),
      ...(o.faults ? { faults: o.faults } : {}),
    });
    const node = new SimNode({
      index,
      name: o.name ?? `${o.role}${index}`,
      role: o.role,
      host,
      rng,
      peerId,
      store,
      announced: o.announced ?? true,
      startAtMs: o.startAtMs ?? this.clock.now(),
      torrent: (n) =>
        new Torrent(
          {
            clock: this.clock,
            transport: host.transport,
            rng: rng.asRng(),
            peerId,
            listenPort: SIM_LISTEN_PORT,
            openStore: openerFor(store),
            onEvent: (e) => this.onEvent(n, e),
          },
          { seed: true, ...this.opts.torrentDefaults, ...o.torrent, metainfo: this.torrent.metainfo },
        ),
    });
    this.nodes.push(node);
    // Not on the network before it starts: dials to it time out.
    if (node.startAtMs > this.clock.now()) host.online = false;
    this.clock.at(node.startAtMs, () => this.start(node));
    return node;
  }

  get seeders(): SimNode[] {
    return this.nodes.filter((n) => n.role === 'seeder');
  }

  get leechers(): SimNode[] {
    return this.nodes.filter((n) => n.role === 'leecher');
  }

  get running(): SimNode[] {
    return this.nodes.filter((n) => n.state === 'running');
  }

  /** Leaves at virtual time `atMs` (default: now). */
  leave(node: SimNode, o: { atMs?: number; crash?: boolean } = {}): void {
    this.clock.at(o.atMs ?? this.clock.now(), () => this.doLeave(node, o.crash === true));
  }

  /** Calls `fn` every `ms` of virtual time (first call `ms` from now) until it returns false. */
  every(ms: number, fn: () => boolean | void): void {
    const tick = (): void => {
      if (fn() === false) return;
      this.clock.after(ms, tick);
    };
    this.clock.after(ms, tick);
  }

  runUntil(predicate: () => boolean, maxMs: number): Promise<boolean> {
    return this.clock.runUntil(predicate, maxMs);
  }

  run(untilMs: number): Promise<void> {
    return this.clock.run(untilMs);
  }

  /** Every leecher in `nodes` (default: all that have not left) is done. */
  allDone(nodes?: readonly SimNode[]): boolean {
    return (nodes ?? this.leechers.filter((n) => n.state !== 'left')).every((n) => n.done);
  }

  /** Stops every running node (end of a scenario). */
  async shutdown(): Promise<void> {
    for (const n of this.nodes) if (n.state === 'running') this.doLeave(n, false);
    await this.clock.settle();
  }

  private start(node: SimNode): void {
    if (node.state !== 'pending') return;
    node.state = 'running';
    node.host.goOnline();
    node.startedAtMs = this.clock.now();
    this.trace(node, 'start', '');
    this.clock.noteAsync();
    node.torrent.start().then(
      () => {
        if (node.state !== 'running') return;
        this.announce(node);
        const every = this.opts.announceIntervalMs ?? 0;
        if (every > 0) {
          this.every(every, () => {
            if (node.state !== 'running') return false;
            this.announce(node);
          });
        }
      },
      (e: unknown) => node.errors.push(e instanceof Error ? e : new Error(String(e))),
    );
  }

  /** The simulated tracker's answer: a random subset of the other running, announced nodes. */
  private announce(node: SimNode): void {
    const others = this.nodes.filter((n) => n !== node && n.state === 'running' && n.announced);
    const pick = this.trackerRng.sample(others, this.opts.trackerAnswer ?? 30);
    node.torrent.addPeers(pick.map((n) => n.addr));
  }

  private doLeave(node: SimNode, crash: boolean): void {
    if (node.state === 'left') return;
    const wasPending = node.state === 'pending';
    node.state = 'left';
    node.leftAtMs = this.clock.now();
    this.trace(node, crash ? 'crash' : 'leave', '');
    if (crash) {
      node.host.crash();
    } else {
      this.clock.noteAsync();
      // stop() drops (and closes) every peer before its first await.
      node.torrent.stop().catch((e: unknown) => node.errors.push(e instanceof Error ? e : new Error(String(e))));
      node.host.goOffline();
    }
    if (wasPending) node.host.goOffline();
    node.listener.close();
  }

  private onEvent(node: SimNode, e: TorrentEvent): void {
    const now = this.clock.now();
    if (this.opts.recordEvents) node.events.push({ atMs: now, event: e });
    let detail = '';
    switch (e.type) {
      case 'done':
        if (node.doneAtMs === undefined) {
          node.doneAtMs = now;
          if (node.role === 'leecher') this.doneLeechers++;
        }
        break;
      case 'peer-banned':
        node.bans.push({ atMs: now, addr: e.addr, reason: e.reason });
        detail = addressKey(e.addr);
        break;
      case 'peer-connected':
      case 'peer-disconnected':
        detail = addressKey(e.addr);
        break;
      case 'piece':
        node.have.set(e.index);
        detail = String(e.index);
        break;
      case 'piece-failed':
        node.failedPieces++;
        detail = String(e.index);
        break;
      case 'error':
        node.errors.push(e.error);
        detail = e.error.message;
        break;
      default:
        break;
    }
    this.trace(node, e.type, detail);
  }

  private trace(node: SimNode, type: string, detail: string): void {
    const line = `${this.clock.now()}|${node.index}|${type}|${detail}`;
    let h = this.digest;
    for (let i = 0; i < line.length; i++) {
      h ^= line.charCodeAt(i);
      h = Math.imul(h, 0x01000193);
    }
    this.digest = h >>> 0;
  }
}

/** Capacities for the fluid-model bound. */
export interface FluidInput {
  fileBytes: number;
  /** Uplinks of the seeders (bytes/s). */
  seederUplinks: readonly number[];
  /** Uplinks and downlinks of the leechers (bytes/s). */
  leecherUplinks: readonly number[];
  leecherDownlinks: readonly number[];
}

/**
 * The fluid-model lower bound on the time for every leecher to finish (Kumar and Ross, 2006):
 * T_min = max(F/u_s, F/d_min, N·F/(u_s + Σu_i)), in ms.
 */
export function fluidLowerBoundMs(x: FluidInput): number {
  const us = x.seederUplinks.reduce((a, b) => a + b, 0);
  const sumUi = x.leecherUplinks.reduce((a, b) => a + b, 0);
  const dmin = Math.min(...x.leecherDownlinks);
  const n = x.leecherDownlinks.length;
  const f = x.fileBytes;
  return 1000 * Math.max(f / us, f / dmin, (n * f) / (us + sumUi));
}
