/**
 * Shared helpers for the swarm-layer unit tests: a seeded RNG, a fake clock, byte helpers and
 * utilities for driving pure PeerSessions against each other.
 */
import { PeerSession } from '../../../src/peer/session.js';
import type { PeerSessionEvent, PeerSessionOptions } from '../../../src/peer/session.js';
import type { Reserved } from '../../../src/wire/handshake.js';
import type { Clock, TimerHandle } from '../../../src/torrent/ports.js';

/** mulberry32: a small deterministic PRNG returning floats in [0, 1). */
export function seededRng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Bytes from a hex string; whitespace is ignored so expected frames can be laid out by field. */
export function hex(s: string): Buffer {
  return Buffer.from(s.replace(/\s+/g, ''), 'hex');
}

export const latin1 = (s: string): Buffer => Buffer.from(s, 'latin1');

// ---------------------------------------------------------------------------------------------
// Fake clock

interface FakeTimer {
  at: number;
  seq: number;
  fn: () => void;
}

/** A manual clock: timers fire only inside `advance`, in deadline order, with promises flushed between. */
export class FakeClock implements Clock {
  t = 0;
  private seq = 0;
  readonly timers = new Map<TimerHandle, FakeTimer>();

  now(): number {
    return this.t;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const h = { id: ++this.seq };
    this.timers.set(h, { at: this.t + Math.max(0, ms), seq: this.seq, fn });
    return h;
  }

  clearTimeout(h: TimerHandle): void {
    this.timers.delete(h);
  }

  /** Deadlines of the pending timers, soonest first. */
  pending(): number[] {
    return [...this.timers.values()].map((t) => t.at).sort((a, b) => a - b);
  }

  /** Moves time forward by `ms`, firing due timers in order and letting promise chains settle. */
  async advance(ms: number): Promise<void> {
    const target = this.t + ms;
    await flush();
    for (;;) {
      let next: [TimerHandle, FakeTimer] | undefined;
      for (const e of this.timers) {
        if (e[1].at > target) continue;
        if (!next || e[1].at < next[1].at || (e[1].at === next[1].at && e[1].seq < next[1].seq)) next = e;
      }
      if (!next) break;
      this.timers.delete(next[0]);
      this.t = next[1].at;
      next[1].fn();
      await flush();
    }
    this.t = target;
  }
}

/** Lets every pending promise continuation run (several macrotask turns for long chains). */
export async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

// ---------------------------------------------------------------------------------------------
// Peer sessions

export const INFO_HASH = Buffer.alloc(20, 0xaa);
export const OTHER_HASH = Buffer.alloc(20, 0xbb);
export const ID_A = Buffer.from('-SH0001-aaaaaaaaaaaa', 'latin1');
export const ID_B = Buffer.from('-SH0001-bbbbbbbbbbbb', 'latin1');

export const ALL_BITS: Reserved = { extensions: true, fast: true, dht: true, v2: false };
export const NO_BITS: Reserved = { extensions: false, fast: false, dht: false, v2: false };

export function outgoing(over: Partial<PeerSessionOptions> = {}, now = 0): PeerSession {
  return new PeerSession({ role: 'outgoing', infoHash: INFO_HASH, peerId: ID_A, reserved: ALL_BITS, ...over }, now);
}

export function incoming(over: Partial<PeerSessionOptions> = {}, now = 0): PeerSession {
  return new PeerSession(
    {
      role: 'incoming',
      peerId: ID_B,
      reserved: ALL_BITS,
      accept: (h) => (h.equals(INFO_HASH) ? INFO_HASH : undefined),
      ...over,
    },
    now,
  );
}

export function events(s: PeerSession): PeerSessionEvent[] {
  const out: PeerSessionEvent[] = [];
  for (let e = s.pollEvent(); e; e = s.pollEvent()) out.push(e);
  return out;
}

/** Moves everything `from` has to transmit into `to`, as one chunk. Returns the bytes moved. */
export function pump(from: PeerSession, to: PeerSession, now = 0): Buffer {
  const bytes = Buffer.concat(from.drainTransmit());
  if (bytes.length > 0) to.handleBytes(bytes, now);
  return bytes;
}

/** An outgoing and an incoming session with handshakes exchanged and both open; events drained. */
export function openPair(
  a: Partial<PeerSessionOptions> = {},
  b: Partial<PeerSessionOptions> = {},
  now = 0,
): { a: PeerSession; b: PeerSession } {
  const sa = outgoing(a, now);
  const sb = incoming(b, now);
  pump(sa, sb, now);
  pump(sb, sa, now);
  events(sa);
  events(sb);
  return { a: sa, b: sb };
}

/** Splits `bytes` into chunks at the given cut points (sorted, deduplicated, inside the buffer). */
export function splitAt(bytes: Buffer, cuts: readonly number[]): Buffer[] {
  const points = [...new Set(cuts.filter((c) => c > 0 && c < bytes.length))].sort((x, y) => x - y);
  const out: Buffer[] = [];
  let prev = 0;
  for (const p of points) {
    out.push(bytes.subarray(prev, p));
    prev = p;
  }
  out.push(bytes.subarray(prev));
  return out.filter((c) => c.length > 0);
}

/** The session's internal input buffer size (white-box: the property tests bound memory with it). */
export function bufferedBytes(s: PeerSession): number {
  return (s as unknown as { buffered: number }).buffered;
}
