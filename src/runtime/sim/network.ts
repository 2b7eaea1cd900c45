/**
 * The simulated network of runtime/sim: hosts with virtual addresses (10.x.y.1, one /24 each — never
 * real sockets) joined by reliable, ordered byte streams that implement the `Transport` /
 * `Connection` ports. Files: network.ts (hosts, dialling, latency, loss), connection.ts (the two ends
 * of a connection and its flows), links.ts (each host's uplink and downlink).
 *
 * Model (one direction of a connection is a "flow"):
 * - `write()` appends to the flow's send buffer. Each host has one uplink of `uplinkBytesPerSec`,
 *   shared fairly between its flows: round-robin, one chunk (`chunkBytes`, 16 KiB) at a time, each
 *   chunk occupying the uplink for size / rate. A flow sends only while it has less than
 *   `windowBytes` (1 MiB) in flight — sent and not yet read by the receiving application: the TCP
 *   window, which carries back-pressure from a slow or paused reader to the writer.
 * - A chunk reaches the other host one one-way latency after its last byte left (by default the sum
 *   of the two hosts' `latencyMs`; `setLatency` overrides a pair). Loss is modelled as extra delay,
 *   since TCP is reliable: a lost chunk (probability 1 − (1 − loss_a)(1 − loss_b)) comes one
 *   retransmission timeout (max(200 ms, 2·RTT), doubling for each further loss) later, and nothing
 *   behind it on the same flow overtakes it.
 * - Each host's downlink (`downlinkBytesPerSec`) takes size / rate per chunk and serves the flows
 *   coming in round-robin when more than one waits, then hands the chunk to the connection's `data`
 *   handler — unless the connection is paused: then it waits, still in flight, so the sender stops
 *   once its window is full. `resume()` delivers what waited.
 * - `write()` returns false once the send buffer holds `sendBufferBytes` (256 KiB) or more, and
 *   `drain` is called when it falls to half of that. A live connection never drops a byte.
 * - A connect takes one round trip: the listener gets the connection after one latency, the dialler
 *   its `connect` after two; data written meanwhile waits in the send buffer. A dial to an address
 *   where nothing listens (no host, an offline host, or no listener on the port) fails with
 *   `close(error)` after `connectTimeoutMs` (10 s) — or, with `closedPort: 'refuse'`, a live host
 *   with no listener refuses it after one round trip, as a real TCP stack's RST would.
 * - Closing an end discards what it had not sent yet; the other end gets the chunks already on the
 *   wire, then `close` (at least one latency later). The end that closes gets no `close` callback of
 *   its own, as with runtime/node's sockets. A host that goes offline closes its connections that
 *   way; a host that crashes says nothing — the others only notice by their own timeouts.
 *
 * Cost: about one event per chunk on the uplink (to pick the next one) and one per chunk at the
 * receiver (its arrival); a small message costs one event. Everything happens in `SimClock` events;
 * the only randomness (loss) comes from the network's `SimRandom`. Handlers are called from clock
 * events only, never from inside a call the engine made (the one exception: `setHandlers` replays at
 * once what arrived before there were handlers).
 */
import type { PeerAddress } from '../../net/compact.js';
import type { Transport } from '../../torrent/ports.js';
import type { SimClock } from './clock.js';
import { Flow, SimConnection } from './connection.js';
import type { Packet } from './connection.js';
import { Downlink, Uplink, arrive } from './links.js';
import type { SimRandom } from './random.js';

export { SimConnection } from './connection.js';

export const DEFAULT_CHUNK_BYTES = 16 * 1024;
export const DEFAULT_SEND_BUFFER_BYTES = 256 * 1024;
export const DEFAULT_WINDOW_BYTES = 1024 * 1024;
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
const FIRST_EPHEMERAL_PORT = 49152;
const MIN_RTO_MS = 200;

export interface SimNetworkOptions {
  chunkBytes?: number;
  sendBufferBytes?: number;
  windowBytes?: number;
  connectTimeoutMs?: number;
  /** A dial to a live host with no listener on the port: 'timeout' (default) or 'refuse' (after one RTT). */
  closedPort?: 'timeout' | 'refuse';
}

export interface SimHostOptions {
  /** Virtual IPv4 address; allocated as 10.x.y.1 (one /24 each) when left out. */
  host?: string;
  /** Bytes per second; Infinity (the default) means no limit. */
  uplinkBytesPerSec?: number;
  downlinkBytesPerSec?: number;
  /** This host's share of every link's one-way latency (ms). */
  latencyMs?: number;
  /** Probability that a chunk sent from or to this host is lost once (and retransmitted). */
  lossRate?: number;
}

export class SimHost {
  readonly network: SimNetwork;
  readonly host: string;
  uplinkBytesPerSec: number;
  downlinkBytesPerSec: number;
  latencyMs: number;
  lossRate: number;
  online = true;
  readonly uplink: Uplink;
  readonly downlink: Downlink;
  readonly endpoints = new Set<SimConnection>();
  private readonly listeners = new Map<number, (conn: SimConnection) => void>();
  private nextPort = FIRST_EPHEMERAL_PORT;
  /** The `Transport` port for this host: connections dialled from its address. */
  readonly transport: Transport;

  constructor(network: SimNetwork, host: string, o: SimHostOptions) {
    this.network = network;
    this.host = host;
    this.uplinkBytesPerSec = o.uplinkBytesPerSec ?? Infinity;
    this.downlinkBytesPerSec = o.downlinkBytesPerSec ?? Infinity;
    this.latencyMs = o.latencyMs ?? 0;
    this.lossRate = o.lossRate ?? 0;
    this.uplink = new Uplink(this);
    this.downlink = new Downlink(this);
    this.transport = { connect: (to) => this.connect(to) };
  }

  listen(port: number, onAccept: (conn: SimConnection) => void): void {
    this.listeners.set(port, onAccept);
  }

  unlisten(port: number): void {
    this.listeners.delete(port);
  }

  listenerFor(port: number): ((conn: SimConnection) => void) | undefined {
    return this.listeners.get(port);
  }

  ephemeralPort(): number {
    const p = this.nextPort++;
    if (this.nextPort > 65535) this.nextPort = FIRST_EPHEMERAL_PORT;
    return p;
  }

  connect(to: PeerAddress): SimConnection {
    return this.network.dial(this, to);
  }

  /** Bytes this host has put on the wire. */
  get bytesSent(): number {
    return this.uplink.bytesSent;
  }

  get bytesReceived(): number {
    return this.downlink.bytesReceived;
  }

  /** Closes every connection it still has, as a clean exit would (the others see `close`). */
  closeAll(): void {
    for (const c of [...this.endpoints]) c.close();
  }

  /** Leaves the network: listeners gone; later dials to it time out. Open connections are closed cleanly. */
  goOffline(): void {
    this.closeAll();
    this.listeners.clear();
    this.online = false;
  }

  /** (Back) on the network; listeners have to be set again. */
  goOnline(): void {
    this.online = true;
  }

  /** Vanishes without a word: its connections go silent (the others only notice by timeouts). */
  crash(): void {
    for (const c of [...this.endpoints]) c.shutdown();
    this.listeners.clear();
    this.online = false;
  }
}

export class SimNetwork {
  readonly clock: SimClock;
  private readonly rng: SimRandom;
  readonly chunkBytes: number;
  readonly sendBufferBytes: number;
  readonly windowBytes: number;
  readonly connectTimeoutMs: number;
  readonly closedPort: 'timeout' | 'refuse';
  readonly hosts = new Map<string, SimHost>();
  private readonly latencyOverrides = new Map<string, number>();
  private hostCount = 0;

  constructor(clock: SimClock, rng: SimRandom, o: SimNetworkOptions = {}) {
    this.clock = clock;
    this.rng = rng;
    this.chunkBytes = o.chunkBytes ?? DEFAULT_CHUNK_BYTES;
    this.sendBufferBytes = o.sendBufferBytes ?? DEFAULT_SEND_BUFFER_BYTES;
    this.windowBytes = o.windowBytes ?? DEFAULT_WINDOW_BYTES;
    this.connectTimeoutMs = o.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    this.closedPort = o.closedPort ?? 'timeout';
  }

  addHost(o: SimHostOptions = {}): SimHost {
    const n = ++this.hostCount;
    // One /24 per host by default: BEP 6's allowed-fast set depends on the peer's /24, and a whole swarm
    // in one /24 would fetch the same first pieces.
    const host = o.host ?? `10.${(n >> 8) & 255}.${n & 255}.1`;
    if (this.hosts.has(host)) throw new Error(`host ${host} already exists`);
    const h = new SimHost(this, host, o);
    this.hosts.set(host, h);
    return h;
  }

  /** Sets the one-way latency between two hosts (both directions). */
  setLatency(a: string, b: string, ms: number): void {
    this.latencyOverrides.set(pairKey(a, b), ms);
  }

  latency(a: SimHost, b: SimHost): number {
    return this.latencyOverrides.get(pairKey(a.host, b.host)) ?? a.latencyMs + b.latencyMs;
  }

  /** Extra delay of a chunk on the link, from loss and retransmission. */
  private lossDelay(a: SimHost, b: SimHost): number {
    const p = 1 - (1 - a.lossRate) * (1 - b.lossRate);
    if (p <= 0) return 0;
    let rto = Math.max(MIN_RTO_MS, 4 * this.latency(a, b));
    let extra = 0;
    for (let k = 0; k < 6 && this.rng.chance(p); k++) {
      extra += rto;
      rto *= 2;
    }
    return extra;
  }

  /** A chunk whose last byte leaves its sender's uplink at `departAt`. */
  depart(p: Packet, departAt: number): void {
    const f = p.flow;
    const src = f.src.host;
    const dst = f.dst.host;
    const lastByteIn = departAt + this.latency(src, dst) + this.lossDelay(src, dst) + dst.downlink.serviceMs(p.size);
    const at = Math.max(lastByteIn, f.lastArrivalAt);
    f.lastArrivalAt = at;
    this.clock.call(at, arrive, p);
  }

  /** The end-of-stream marker: follows the chunks already on the wire. */
  sendFin(f: Flow): void {
    const src = f.src.host;
    const dst = f.dst.host;
    const at = Math.max(this.clock.now() + this.latency(src, dst), f.lastArrivalAt);
    f.lastArrivalAt = at;
    this.clock.call(at, arrive, { flow: f, data: undefined, size: 0 });
  }

  dial(from: SimHost, to: PeerAddress): SimConnection {
    if (!from.online) throw new Error(`${from.host} is offline`);
    const a = new SimConnection(from, { host: from.host, port: from.ephemeralPort() }, { host: to.host, port: to.port }, true);
    const target = this.hosts.get(to.host);
    a.connectTimer = this.clock.after(this.connectTimeoutMs, () => {
      a.connectTimer = undefined;
      if (a.state === 'connecting') a.emitClose(new Error(`connect to ${to.host}:${to.port} timed out`));
    });
    if (!target) return a;
    const lat = this.latency(from, target);
    this.clock.after(lat, () => {
      // SYN arrives.
      if (a.state !== 'connecting' || !target.online || !from.online) return;
      const accept = target.listenerFor(to.port);
      if (!accept) {
        if (this.closedPort === 'timeout') return;
        this.clock.after(lat, () => {
          if (a.state === 'connecting') a.emitClose(new Error(`connection to ${to.host}:${to.port} refused`));
        });
        return;
      }
      const b = new SimConnection(target, { host: to.host, port: to.port }, a.local, false);
      const ab = new Flow(a, b);
      const ba = new Flow(b, a);
      a.out = ab;
      b.out = ba;
      a.other = b;
      b.other = a;
      for (const c of a.early) ab.queue.push(c);
      ab.queued = a.earlyBytes;
      ab.needDrain = a.earlyNeedDrain;
      a.early = [];
      from.uplink.add(ab);
      target.uplink.add(ba);
      ba.established = true;
      b.state = 'open';
      accept(b);
      this.clock.after(lat, () => {
        // SYN-ACK arrives.
        if (a.state === 'closed') {
          // Closed while connecting: the other end learns it now.
          if (!b.closed) this.sendFin(ab);
          return;
        }
        if (!target.online) return;
        a.state = 'open';
        if (a.connectTimer) this.clock.clearTimeout(a.connectTimer);
        a.connectTimer = undefined;
        ab.established = true;
        a.emitConnect();
        if (ab.queued > 0) from.uplink.wake();
      });
    });
    return a;
  }
}

function pairKey(a: string, b: string): string {
  return a < b ? `${a}|${b}` : `${b}|${a}`;
}
