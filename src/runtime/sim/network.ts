/**
 * The simulated network of runtime/sim: hosts with virtual addresses (10.x.y.1 — never real sockets)
 * joined by reliable, ordered byte streams that implement the `Transport` / `Connection` ports.
 *
 * Model (one direction of a connection is a "flow"):
 * - `write()` appends to the flow's send buffer. Each host has one uplink of `uplinkBytesPerSec`,
 *   shared fairly between its flows: round-robin, one chunk (`chunkBytes`, 16 KiB) at a time, each
 *   chunk occupying the uplink for size / rate. A flow sends only while it has fewer than
 *   `windowBytes` in flight (sent, not yet read by the receiving application): the TCP window, which
 *   is what carries back-pressure from a slow or paused reader to the writer.
 * - A chunk leaving the uplink arrives after the one-way latency of the link (by default the sum of
 *   the two hosts' access latencies; `setLatency` overrides a pair). Loss is modelled as extra delay,
 *   since TCP is reliable: a lost chunk arrives one retransmission timeout (max(200 ms, 2·RTT),
 *   doubling for each further loss) later, and nothing behind it on the same flow overtakes it.
 * - Each host's downlink (`downlinkBytesPerSec`) serves arrived chunks round-robin between its
 *   incoming flows, then hands them to the connection's `data` handler — unless the connection is
 *   paused, in which case they wait (still in flight, so the sender soon stops).
 * - `write()` returns false once the send buffer holds `sendBufferBytes` (256 KiB) or more, and
 *   `drain` is called when it falls to half of that. Nothing is ever dropped by a live connection.
 * - Closing an end discards what it had not sent yet and delivers `close` to the other end after
 *   the chunks already on the wire (at least one latency later). The end that closes gets no `close`
 *   callback of its own, as with the node runtime's sockets. A connect to an address with no host, or
 *   to a host that is offline, fails with `close(error)` after `connectTimeoutMs`; to a live host with
 *   no listener on the port, after one round trip (connection refused).
 * - A connect takes one round trip: the listener sees the connection after one latency, the dialler
 *   gets `connect` after two; data written before that waits in the send buffer.
 *
 * Everything happens in events on the `SimClock`; the only randomness (loss) comes from the
 * network's `SimRandom`. Handlers are only ever called from clock events, never from inside a call
 * the engine made (no re-entrancy).
 */
import type { PeerAddress } from '../../net/compact.js';
import type { Connection, ConnectionHandlers, TimerHandle, Transport } from '../../torrent/ports.js';
import type { SimClock } from './clock.js';
import type { SimRandom } from './random.js';

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

interface Packet {
  flow: Flow;
  /** undefined for the end-of-stream marker (FIN). */
  data: Buffer | undefined;
  size: number;
}

/** One direction of a connection: from `src` (the writer) to `dst` (the reader). */
class Flow {
  readonly queue: Buffer[] = [];
  queueHead = 0;
  /** Offset into queue[queueHead]. */
  firstOffset = 0;
  queued = 0;
  inflight = 0;
  established = false;
  /** The writer closed: nothing more leaves. */
  shut = false;
  needDrain = false;
  lastArrivalAt = 0;
  /** Arrived at the reader's downlink, waiting to be served. */
  readonly arrivals: Packet[] = [];
  arrivalsHead = 0;
  inDownlinkList = false;
  /** Served by the downlink while the reader was paused. */
  readonly held: Packet[] = [];

  constructor(
    readonly src: SimConnection,
    readonly dst: SimConnection,
  ) {}

  take(n: number): Buffer {
    const first = this.queue[this.queueHead]!;
    const avail = first.length - this.firstOffset;
    if (avail >= n) {
      const b = first.subarray(this.firstOffset, this.firstOffset + n);
      this.advance(n, first.length);
      return b;
    }
    const parts: Buffer[] = [];
    let left = n;
    while (left > 0) {
      const c = this.queue[this.queueHead]!;
      const k = Math.min(left, c.length - this.firstOffset);
      parts.push(c.subarray(this.firstOffset, this.firstOffset + k));
      this.advance(k, c.length);
      left -= k;
    }
    return Buffer.concat(parts, n);
  }

  private advance(n: number, firstLength: number): void {
    this.firstOffset += n;
    this.queued -= n;
    if (this.firstOffset === firstLength) {
      this.queue[this.queueHead] = EMPTY;
      this.queueHead++;
      this.firstOffset = 0;
      if (this.queueHead > 64 && this.queueHead * 2 > this.queue.length) {
        this.queue.splice(0, this.queueHead);
        this.queueHead = 0;
      }
    }
  }

  discard(): void {
    this.queue.length = 0;
    this.queueHead = 0;
    this.firstOffset = 0;
    this.queued = 0;
  }
}

const EMPTY = Buffer.alloc(0);

type PendingInput = { kind: 'data'; data: Buffer } | { kind: 'close'; error: Error | undefined };

/** One end of a simulated TCP connection. */
export class SimConnection implements Connection {
  readonly remote: PeerAddress;
  readonly local: PeerAddress;
  readonly host: SimHost;
  /** This end's outgoing flow (set once the other end exists). */
  out: Flow | undefined;
  other: SimConnection | undefined;
  private handlers: ConnectionHandlers | undefined;
  private pendingInput: PendingInput[] = [];
  private paused = false;
  private resumeScheduled = false;
  connectTimer: TimerHandle | undefined;
  state: 'connecting' | 'open' | 'closed' = 'connecting';
  readonly outgoing: boolean;
  bytesWritten = 0;
  bytesRead = 0;

  constructor(host: SimHost, local: PeerAddress, remote: PeerAddress, outgoing: boolean) {
    this.host = host;
    this.local = local;
    this.remote = remote;
    this.outgoing = outgoing;
    host.endpoints.add(this);
  }

  get closed(): boolean {
    return this.state === 'closed';
  }

  setHandlers(h: ConnectionHandlers): void {
    this.handlers = h;
    const early = this.pendingInput;
    this.pendingInput = [];
    for (const e of early) {
      if (e.kind === 'data') h.data(e.data);
      else h.close(e.error);
    }
  }

  write(chunks: readonly Buffer[]): boolean {
    if (this.state === 'closed') return true;
    const net = this.host.network;
    const f = this.out;
    let added = 0;
    if (f) {
      for (const c of chunks) {
        if (c.length === 0) continue;
        f.queue.push(c);
        added += c.length;
      }
      f.queued += added;
      this.bytesWritten += added;
      if (f.established && added > 0) this.host.uplink.wake();
      if (f.queued >= net.sendBufferBytes) {
        f.needDrain = true;
        return false;
      }
      return true;
    }
    // Still connecting and the other end does not exist yet: keep the bytes for the flow to come.
    for (const c of chunks) {
      if (c.length === 0) continue;
      this.early.push(c);
      added += c.length;
    }
    this.earlyBytes += added;
    this.bytesWritten += added;
    if (this.earlyBytes >= net.sendBufferBytes) {
      this.earlyNeedDrain = true;
      return false;
    }
    return true;
  }

  /** Bytes written while connecting, before the flow exists. */
  early: Buffer[] = [];
  earlyBytes = 0;
  earlyNeedDrain = false;

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    if (this.resumeScheduled || !this.other?.out || this.other.out.held.length === 0) return;
    this.resumeScheduled = true;
    this.host.network.clock.after(0, () => {
      this.resumeScheduled = false;
      const f = this.other?.out;
      if (!f) return;
      while (f.held.length > 0 && !this.paused && this.state !== 'closed') this.host.downlink.deliver(f.held.shift()!);
    });
  }

  get isPaused(): boolean {
    return this.paused;
  }

  close(): void {
    if (this.state === 'closed') return;
    this.shutdown();
    const f = this.out;
    if (f && f.established) this.host.network.sendFin(f);
    // A dial still connecting: the SYN-ACK handler sends the FIN once the other end exists.
  }

  /** Marks this end closed and stops its outgoing flow; no callbacks. */
  shutdown(): void {
    this.state = 'closed';
    if (this.connectTimer) this.host.network.clock.clearTimeout(this.connectTimer);
    this.connectTimer = undefined;
    const f = this.out;
    if (f) {
      f.shut = true;
      f.discard();
      f.needDrain = false;
    }
    this.early = [];
    this.host.endpoints.delete(this);
    this.host.uplink.remove(f);
  }

  /** Called from clock events only. */
  emitData(data: Buffer): void {
    this.bytesRead += data.length;
    if (this.handlers) this.handlers.data(data);
    else this.pendingInput.push({ kind: 'data', data });
  }

  emitClose(error?: Error): void {
    if (this.state === 'closed') return;
    this.shutdown();
    if (this.handlers) this.handlers.close(error);
    else this.pendingInput.push({ kind: 'close', error });
  }

  emitConnect(): void {
    this.handlers?.connect?.();
  }

  emitDrain(): void {
    if (this.state !== 'closed') this.handlers?.drain();
  }
}

/**
 * A host's uplink: round-robin over its flows, one chunk at a time. A chunk occupies the uplink for
 * size / rate from the moment it is picked; its arrival is computed from the moment its last byte
 * leaves, so no event is needed for the transmission itself — only one to pick the next chunk when
 * the uplink frees up and more is waiting.
 */
class Uplink {
  private readonly flows: Flow[] = [];
  private rr = 0;
  private freeAt = 0;
  private scheduled = false;
  bytesSent = 0;
  busyMs = 0;

  constructor(private readonly host: SimHost) {}

  add(f: Flow): void {
    this.flows.push(f);
  }

  remove(f: Flow | undefined): void {
    if (!f) return;
    const i = this.flows.indexOf(f);
    if (i < 0) return;
    this.flows.splice(i, 1);
    if (this.rr > i) this.rr--;
  }

  /** Something may be sendable now. Never calls a handler: safe from inside `write()`. */
  wake(): void {
    this.serve();
  }

  private eligible(f: Flow): boolean {
    return f.established && !f.shut && f.queued > 0 && f.inflight < this.host.network.windowBytes;
  }

  onFree(): void {
    this.scheduled = false;
    this.serve();
  }

  private serve(): void {
    if (this.scheduled || !this.host.online) return;
    const net = this.host.network;
    const clock = net.clock;
    while (true) {
      const now = clock.now();
      const n = this.flows.length;
      let f: Flow | undefined;
      let at = 0;
      for (let k = 0; k < n; k++) {
        at = (this.rr + k) % n;
        if (this.eligible(this.flows[at]!)) {
          f = this.flows[at]!;
          break;
        }
      }
      if (!f) return;
      if (now < this.freeAt) {
        this.scheduled = true;
        clock.call(this.freeAt, uplinkFree, this);
        return;
      }
      this.rr = (at + 1) % n;
      const size = Math.min(net.chunkBytes, f.queued, net.windowBytes - f.inflight);
      const data = f.take(size);
      f.inflight += size;
      if (f.needDrain && f.queued <= net.sendBufferBytes / 2) {
        f.needDrain = false;
        const src = f.src;
        clock.after(0, () => src.emitDrain());
      }
      const rate = this.host.uplinkBytesPerSec;
      const ms = Number.isFinite(rate) ? (size * 1000) / rate : 0;
      this.busyMs += ms;
      this.freeAt = now + ms;
      this.bytesSent += size;
      net.depart({ flow: f, data, size }, this.freeAt);
    }
  }
}

/**
 * A host's downlink. A chunk's arrival event is set for when its last byte would be in with the
 * downlink to itself (first byte + size / rate); if the downlink was indeed free when the first byte
 * came, it is delivered then. Otherwise it queues, and queued chunks are served round-robin between
 * flows, each taking size / rate.
 */
class Downlink {
  private readonly active: Flow[] = [];
  private rr = 0;
  private freeAt = 0;
  private scheduled = false;
  private current: Packet | undefined;
  bytesReceived = 0;

  constructor(private readonly host: SimHost) {}

  /** Time a chunk of `size` bytes takes on this downlink. */
  serviceMs(size: number): number {
    const rate = this.host.downlinkBytesPerSec;
    return Number.isFinite(rate) ? (size * 1000) / rate : 0;
  }

  /** Called at the moment the chunk would be fully in on an idle downlink. */
  arrive(p: Packet): void {
    const f = p.flow;
    if (!this.host.online || f.dst.closed) {
      f.inflight -= p.size;
      return;
    }
    const now = this.host.network.clock.now();
    const firstByteAt = now - this.serviceMs(p.size);
    if (this.active.length === 0 && !this.scheduled && this.freeAt <= firstByteAt + 1e-9) {
      this.freeAt = now;
      this.deliver(p);
      return;
    }
    f.arrivals.push(p);
    if (!f.inDownlinkList) {
      f.inDownlinkList = true;
      this.active.push(f);
    }
    this.serve();
  }

  private serve(): void {
    if (this.scheduled) return;
    const clock = this.host.network.clock;
    if (this.active.length === 0) return;
    const now = clock.now();
    if (now < this.freeAt) {
      this.scheduled = true;
      clock.call(this.freeAt, downlinkFree, this);
      return;
    }
    if (this.rr >= this.active.length) this.rr = 0;
    const f = this.active[this.rr]!;
    const p = f.arrivals[f.arrivalsHead]!;
    f.arrivals[f.arrivalsHead++] = undefined as unknown as Packet;
    if (f.arrivalsHead === f.arrivals.length) {
      f.arrivals.length = 0;
      f.arrivalsHead = 0;
      f.inDownlinkList = false;
      this.active.splice(this.rr, 1);
    } else {
      this.rr++;
    }
    this.freeAt = now + this.serviceMs(p.size);
    this.scheduled = true;
    this.current = p;
    clock.call(this.freeAt, downlinkDone, this);
  }

  onFree(): void {
    this.scheduled = false;
    this.serve();
  }

  onDone(): void {
    const p = this.current!;
    this.current = undefined;
    this.scheduled = false;
    this.deliver(p);
    this.serve();
  }

  /** Hands a chunk to the reading application (or holds it while paused). */
  deliver(p: Packet): void {
    const f = p.flow;
    const dst = f.dst;
    if (dst.closed || !this.host.online) {
      f.inflight -= p.size;
      return;
    }
    if (p.data === undefined) {
      dst.emitClose();
      return;
    }
    if (dst.isPaused) {
      f.held.push(p);
      return;
    }
    f.inflight -= p.size;
    this.bytesReceived += p.size;
    dst.emitData(p.data);
    if (!f.shut) f.src.host.uplink.wake();
  }
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

function uplinkFree(u: Uplink): void {
  u.onFree();
}

function downlinkFree(d: Downlink): void {
  d.onFree();
}

function downlinkDone(d: Downlink): void {
  d.onDone();
}

function arrive(p: Packet): void {
  p.flow.dst.host.downlink.arrive(p);
}

function pairKey(a: string, b: string): string {
  return a < b ? `${a}|${b}` : `${b}|${a}`;
}
