/**
 * The two capacity-limited links of a simulated host: its uplink (what it sends, shared round-robin
 * between its flows) and its downlink (what it receives, shared round-robin between the flows coming
 * in). See network.ts for the model as a whole.
 */
import type { Flow, Packet } from './connection.js';
import type { SimHost } from './network.js';

/**
 * A host's uplink: round-robin over its flows, one chunk at a time. A chunk occupies the uplink for
 * size / rate from the moment it is picked; its arrival is computed from the moment its last byte
 * leaves, so no event is needed for the transmission itself — only one to pick the next chunk when
 * the uplink frees up and more is waiting.
 */
export class Uplink {
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
 * A host's downlink. A chunk's arrival event is set for the moment its last byte would be in with
 * the downlink to itself (first byte + size / rate). If the downlink was free when the first byte
 * came, the chunk is delivered right then. Otherwise it queues; queued chunks are served round-robin
 * between flows, each taking size / rate from max(when the downlink frees up, its first byte).
 */
export class Downlink {
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
    // An offline host acknowledges nothing: the sender's window stays full until it gives up.
    if (!this.host.online) return;
    if (f.dst.closed) {
      f.inflight -= p.size;
      return;
    }
    const now = this.host.network.clock.now();
    p.firstByteAt = now - this.serviceMs(p.size);
    if (this.active.length === 0 && !this.scheduled && this.freeAt <= p.firstByteAt + 1e-9) {
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
    const clock = this.host.network.clock;
    while (!this.scheduled && this.active.length > 0) {
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
      // Never before now: the arrival event was at first byte + service time.
      this.freeAt = Math.max(now, Math.max(this.freeAt, p.firstByteAt ?? now) + this.serviceMs(p.size));
      if (this.freeAt <= now) {
        this.deliver(p);
        continue;
      }
      this.scheduled = true;
      this.current = p;
      clock.call(this.freeAt, downlinkDone, this);
    }
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
    if (!this.host.online) return;
    if (dst.closed) {
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

function uplinkFree(u: Uplink): void {
  u.onFree();
}

function downlinkFree(d: Downlink): void {
  d.onFree();
}

function downlinkDone(d: Downlink): void {
  d.onDone();
}

/** Clock callback: a chunk reaches its reader's downlink. */
export function arrive(p: Packet): void {
  p.flow.dst.host.downlink.arrive(p);
}
