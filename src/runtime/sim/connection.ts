/**
 * One simulated TCP connection: two ends (`SimConnection`, the `Connection` port) and a `Flow` per
 * direction holding what the writer queued, what is in flight, and what reached the reader while it
 * was paused. The links (links.ts) move chunks of flows; the network (network.ts) sets connections up.
 */
import type { PeerAddress } from '../../net/compact.js';
import type { Connection, ConnectionHandlers, TimerHandle } from '../../torrent/ports.js';
import type { SimHost } from './network.js';

export interface Packet {
  flow: Flow;
  /** undefined for the end-of-stream marker (FIN). */
  data: Buffer | undefined;
  size: number;
  /** When its first byte reached the reader's downlink (set on arrival). */
  firstByteAt?: number;
}

/** One direction of a connection: from `src` (the writer) to `dst` (the reader). */
export class Flow {
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
  /** Bytes written while connecting, before the flow exists. */
  early: Buffer[] = [];
  earlyBytes = 0;
  earlyNeedDrain = false;

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
