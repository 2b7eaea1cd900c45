/**
 * The virtual clock of runtime/sim: a priority queue of timed events, implementing the `Clock` port.
 *
 * Model:
 * - Time is a number of milliseconds that only moves when the queue is driven (`run`, `runUntil`,
 *   `advance`); it jumps straight to the next event. Nothing here touches a real timer or `Date.now()`.
 * - Events fire in order of time, ties broken by insertion order (a sequence number), so a run is a
 *   pure function of the scenario and its seed.
 * - Promises: the engine talks to its store through promises, whose `.then` callbacks run as
 *   microtasks. Whoever creates or settles a promise the engine waits on calls `noteAsync()`; after
 *   such an event the driver yields to the real event loop once (`setImmediate`), which runs every
 *   pending microtask, before the next virtual event. The clock does not advance meanwhile, so the
 *   callbacks see the time of the event that caused them. The driver also yields every
 *   `YIELD_EVERY` events whatever happens, a deterministic safety net (it depends on counts only).
 *
 * Invariant: `now()` never decreases; an event scheduled "in the past" fires at the current time.
 */
import type { Clock, TimerHandle } from '../../torrent/ports.js';

interface SimEvent {
  at: number;
  seq: number;
  fn: (arg: unknown) => void;
  arg: unknown;
  cancelled: boolean;
}

const YIELD_EVERY = 512;
/** A run that fires this many events without time moving is stuck in a zero-delay loop. */
const MAX_EVENTS_AT_ONE_TIME = 5_000_000;

export class SimClock implements Clock {
  private nowMs = 0;
  private seq = 0;
  private readonly heap: SimEvent[] = [];
  private asyncPending = false;
  private sinceYield = 0;
  /** Events fired so far (a cheap fingerprint of a run, and a cost figure). */
  eventsFired = 0;

  constructor(startMs = 0) {
    this.nowMs = startMs;
  }

  now(): number {
    return this.nowMs;
  }

  /** The `Clock` port's timer: like Node's, a delay below 1 ms counts as 1 ms. */
  setTimeout(fn: () => void, ms: number): TimerHandle {
    const d = Number.isFinite(ms) && ms >= 1 ? ms : 1;
    return this.at(this.nowMs + d, fn);
  }

  clearTimeout(h: TimerHandle): void {
    (h as SimEvent).cancelled = true;
  }

  /** Schedules `fn` at absolute virtual time `atMs` (clamped to now). */
  at(atMs: number, fn: () => void): TimerHandle {
    const ev: SimEvent = { at: Math.max(atMs, this.nowMs), seq: this.seq++, fn, arg: undefined, cancelled: false };
    this.push(ev);
    return ev;
  }

  /** `at` for hot paths: calls `fn(arg)`, so callers need not allocate a closure per event. */
  call<T>(atMs: number, fn: (arg: T) => void, arg: T): void {
    this.push({ at: Math.max(atMs, this.nowMs), seq: this.seq++, fn: fn as (arg: unknown) => void, arg, cancelled: false });
  }

  /** Schedules `fn` after `ms` (0 allowed: after everything already due now). */
  after(ms: number, fn: () => void): TimerHandle {
    return this.at(this.nowMs + Math.max(0, ms), fn);
  }

  /** A promise the engine awaits was created or settled: let microtasks run after this event. */
  noteAsync(): void {
    this.asyncPending = true;
  }

  /** Events waiting (cancelled ones included until they surface). */
  get pending(): number {
    return this.heap.length;
  }

  /** Time of the next live event, or undefined. */
  nextEventAt(): number | undefined {
    this.dropCancelledHead();
    return this.heap[0]?.at;
  }

  /** Runs every event due up to absolute time `untilMs`, then sets the clock to `untilMs`. */
  async run(untilMs: number): Promise<void> {
    await this.drive(() => false, untilMs);
    if (this.nowMs < untilMs) this.nowMs = untilMs;
  }

  /** Runs for `ms` of virtual time. */
  advance(ms: number): Promise<void> {
    return this.run(this.nowMs + ms);
  }

  /**
   * Runs until `predicate()` holds (checked whenever virtual time is about to move, and every few
   * events within one instant) or `maxMs` of virtual time have passed
   * from now. Resolves to whether the predicate held. The clock stops at the moment it held, or at the
   * limit.
   */
  async runUntil(predicate: () => boolean, maxMs: number): Promise<boolean> {
    const limit = this.nowMs + maxMs;
    const ok = await this.drive(predicate, limit);
    if (!ok && this.nowMs < limit) this.nowMs = limit;
    return ok;
  }

  /** Lets pending microtasks (promise callbacks) run, without moving virtual time. */
  async settle(): Promise<void> {
    this.asyncPending = false;
    this.sinceYield = 0;
    await new Promise<void>((resolve) => setImmediate(resolve));
  }

  private async drive(predicate: () => boolean, limit: number): Promise<boolean> {
    await this.settle();
    let sameTime = 0;
    let lastAt = this.nowMs;
    let sinceCheck = 0;
    while (true) {
      this.dropCancelledHead();
      const ev = this.heap[0];
      if (!ev || ev.at !== this.nowMs || ++sinceCheck >= 64) {
        sinceCheck = 0;
        if (predicate()) return true;
      }
      if (!ev || ev.at > limit) return false;
      this.pop();
      if (ev.at === lastAt) {
        if (++sameTime > MAX_EVENTS_AT_ONE_TIME) throw new Error(`simulation stuck: ${sameTime} events at t=${lastAt} ms`);
      } else {
        sameTime = 0;
        lastAt = ev.at;
      }
      this.nowMs = ev.at;
      this.eventsFired++;
      ev.fn(ev.arg);
      if (this.asyncPending || ++this.sinceYield >= YIELD_EVERY) await this.settle();
    }
  }

  private dropCancelledHead(): void {
    while (this.heap.length > 0 && this.heap[0]!.cancelled) this.pop();
  }

  // ---- binary heap on (at, seq), sifting with a hole (no temporary arrays) ----

  private push(ev: SimEvent): void {
    const h = this.heap;
    let i = h.length;
    h.push(ev);
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = h[p]!;
      if (parent.at < ev.at || (parent.at === ev.at && parent.seq < ev.seq)) break;
      h[i] = parent;
      i = p;
    }
    h[i] = ev;
  }

  private pop(): SimEvent | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop()!;
    const n = h.length;
    if (n === 0) return top;
    let i = 0;
    while (true) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      let c = l;
      let child = h[l]!;
      if (r < n) {
        const rc = h[r]!;
        if (rc.at < child.at || (rc.at === child.at && rc.seq < child.seq)) {
          c = r;
          child = rc;
        }
      }
      if (last.at < child.at || (last.at === child.at && last.seq < child.seq)) break;
      h[i] = child;
      i = c;
    }
    h[i] = last;
    return top;
  }
}
