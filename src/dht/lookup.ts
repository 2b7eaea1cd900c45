/**
 * An iterative Kademlia lookup as a pure state machine (BEP 5): it keeps the candidates sorted by
 * distance to the target, asks up to `alpha` of the closest unasked ones at a time, and learns
 * closer nodes from each answer.
 *
 * Timeouts: a request unanswered after `softTimeoutMs` stops counting against `alpha` (the lookup
 * widens to another candidate while the slow one may still answer); after `hardTimeoutMs` it is
 * failed. The lookup ends when the `k` closest candidates that have not failed have all answered
 * (or there is nobody left to ask), or at `maxDurationMs`.
 */
import type { PeerAddress } from '../net/compact.js';
import { addressKey } from '../net/compact.js';
import { compareDistance } from './node-id.js';

export interface Contact {
  id: Buffer;
  addr: PeerAddress;
}

type CandidateState = 'new' | 'pending' | 'slow' | 'done' | 'failed';

export interface Candidate extends Contact {
  state: CandidateState;
  sentAt: number;
  /** When its answer came (for measurements: when the lookup reached it). */
  answeredAt?: number;
  hop: number;
  /** Write token from its answer (get_peers / get). */
  token?: Buffer;
}

export interface LookupOptions {
  alpha: number;
  /**
   * Parallelism once the lookup has stalled (an answer brought nothing closer than the closest
   * candidate already known): the original Kademlia rule of asking all of the k closest not yet
   * asked at once, which saves the round trips of walking the last few candidates α at a time.
   */
  alphaStalled: number;
  k: number;
  softTimeoutMs: number;
  hardTimeoutMs: number;
  maxDurationMs: number;
  /** Keep at most this many candidates (the closest). */
  maxCandidates: number;
  /**
   * A slow candidate closer than every node that has answered may be the closest of all: the end
   * waits for it until `lateFactor` soft timeouts have passed (RTTs are heavy-tailed, and a
   * timeout derived from their mean and deviation is sometimes too short for the one that matters).
   */
  lateFactor: number;
}

export const DEFAULT_LOOKUP: LookupOptions = {
  alpha: 4,
  alphaStalled: 8,
  k: 8,
  softTimeoutMs: 400,
  hardTimeoutMs: 2000,
  maxDurationMs: 20_000,
  maxCandidates: 64,
  lateFactor: 2,
};

export class Lookup {
  readonly candidates: Candidate[] = [];
  private readonly seen = new Set<string>();
  readonly startedAt: number;
  messages = 0;
  finished = false;
  /** The last answer brought no candidate closer than the closest already known. */
  private stalled = false;
  private lastTick = -Infinity;

  constructor(
    readonly target: Buffer,
    seeds: readonly Contact[],
    readonly opts: LookupOptions,
    now: number,
    /** Our own id: never a candidate, even when an answer lists us. */
    private readonly self?: Buffer,
  ) {
    this.startedAt = now;
    for (const s of seeds) this.add(s, 0);
  }

  private add(c: Contact, hop: number): void {
    if (this.self && c.id.equals(this.self)) return;
    const key = addressKey(c.addr);
    if (this.seen.has(key) || this.seen.has(c.id.toString('hex'))) return;
    this.seen.add(key);
    this.seen.add(c.id.toString('hex'));
    const cand: Candidate = { ...c, state: 'new', sentAt: 0, hop };
    // Insert sorted by distance.
    let lo = 0;
    let hi = this.candidates.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareDistance(this.target, this.candidates[mid]!.id, c.id) <= 0) lo = mid + 1;
      else hi = mid;
    }
    this.candidates.splice(lo, 0, cand);
    if (this.candidates.length > this.opts.maxCandidates) {
      // Drop the farthest that is not waiting on an answer.
      for (let i = this.candidates.length - 1; i >= this.opts.k; i--) {
        const s = this.candidates[i]!.state;
        if (s === 'new' || s === 'failed') {
          this.candidates.splice(i, 1);
          break;
        }
      }
    }
  }

  /** Candidates to query now; they are marked pending. */
  next(now: number): Candidate[] {
    if (this.finished) return [];
    let active = this.candidates.filter((c) => c.state === 'pending').length;
    const alpha = this.stalled ? Math.max(this.opts.alpha, this.opts.alphaStalled) : this.opts.alpha;
    const out: Candidate[] = [];
    // Only the closest k non-failed candidates (plus widening for slow ones) are worth asking.
    let considered = 0;
    for (const c of this.candidates) {
      if (active >= alpha) break;
      if (c.state === 'failed') continue;
      if (considered >= this.opts.k + this.slowCount()) break;
      considered++;
      if (c.state !== 'new') continue;
      c.state = 'pending';
      c.sentAt = now;
      active++;
      this.messages++;
      out.push(c);
    }
    return out;
  }

  private slowCount(): number {
    return this.candidates.filter((c) => c.state === 'slow').length;
  }

  private find(addr: PeerAddress): Candidate | undefined {
    return this.candidates.find((c) => c.addr.host === addr.host && c.addr.port === addr.port);
  }

  /** An answer from `from` carrying closer nodes. */
  answered(from: PeerAddress, id: Buffer, nodes: readonly Contact[], token: Buffer | undefined, now?: number): void {
    const c = this.find(from);
    if (!c || c.state === 'done') return;
    if (!c.id.equals(id)) c.id = id; // trust the id it reports for itself
    c.state = 'done';
    if (now !== undefined) c.answeredAt = now;
    if (token) c.token = token;
    const best = this.candidates[0];
    for (const n of nodes) this.add(n, c.hop + 1);
    this.stalled = this.candidates[0] === best;
  }

  failed(from: PeerAddress): void {
    const c = this.find(from);
    if (c && c.state !== 'done') c.state = 'failed';
  }

  /** Advances timeouts; returns the candidates that just hard-failed. */
  tick(now: number): Candidate[] {
    this.lastTick = now;
    const dead: Candidate[] = [];
    for (const c of this.candidates) {
      if ((c.state === 'pending' || c.state === 'slow') && now >= c.sentAt + this.opts.hardTimeoutMs) {
        c.state = 'failed';
        dead.push(c);
      } else if (c.state === 'pending' && now >= c.sentAt + this.opts.softTimeoutMs) {
        c.state = 'slow';
      }
    }
    return dead;
  }

  /** Done when the k closest live candidates have answered and nothing closer is outstanding. */
  isDone(now: number): boolean {
    if (this.finished) return true;
    // Same expression as the deadline, so a wake-up at the deadline always sees it passed.
    if (now >= this.startedAt + this.opts.maxDurationMs) return true;
    // Slow candidates (past the soft timeout) do not hold the lookup up: their answer is still taken
    // if it comes before the end, but the end does not wait for it.
    let answered = 0;
    for (const c of this.candidates) {
      if (c.state === 'failed') continue;
      if (c.state === 'slow') {
        if (answered === 0 && now < c.sentAt + this.opts.lateFactor * this.opts.softTimeoutMs) return false;
        continue;
      }
      if (c.state !== 'done') return false;
      if (++answered >= this.opts.k) return true;
    }
    return true; // fewer than k live candidates, all answered
  }

  /** The closest nodes that answered (with their tokens). */
  closestAnswered(count = this.opts.k): Candidate[] {
    return this.candidates.filter((c) => c.state === 'done').slice(0, count);
  }

  /** Hops to the closest answered node. */
  get hops(): number {
    return this.closestAnswered(1)[0]?.hop ?? 0;
  }

  nextDeadline(): number | undefined {
    let d: number | undefined;
    for (const c of this.candidates) {
      if (c.state === 'pending') d = Math.min(d ?? Infinity, c.sentAt + this.opts.softTimeoutMs);
      else if (c.state === 'slow') {
        const late = c.sentAt + this.opts.lateFactor * this.opts.softTimeoutMs;
        d = Math.min(d ?? Infinity, late > this.lastTick ? late : c.sentAt + this.opts.hardTimeoutMs);
      }
    }
    return d === undefined ? undefined : Math.min(d, this.startedAt + this.opts.maxDurationMs);
  }
}
