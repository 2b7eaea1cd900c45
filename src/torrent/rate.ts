/** A transfer-rate meter: bytes counted as they pass, an exponential average over ~5 s. */
export class RateMeter {
  private pending = 0;
  private last: number;
  rate = 0; // bytes per second
  total = 0;

  constructor(now: number) {
    this.last = now;
  }

  add(bytes: number): void {
    this.pending += bytes;
    this.total += bytes;
  }

  /** Call about once a second. */
  tick(now: number): void {
    const dt = (now - this.last) / 1000;
    if (dt <= 0) return;
    const instant = this.pending / dt;
    const alpha = Math.min(1, dt / 5);
    this.rate = this.rate === 0 ? instant : this.rate + alpha * (instant - this.rate);
    this.pending = 0;
    this.last = now;
  }
}

/**
 * A token bucket for rate limits: `rateBytesPerSec` tokens a second, bursts up to one second's worth.
 * A limit of 0 means unlimited.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(public rateBytesPerSec: number, now: number) {
    this.tokens = rateBytesPerSec;
    this.last = now;
  }

  get unlimited(): boolean {
    return this.rateBytesPerSec <= 0;
  }

  private refill(now: number): void {
    const dt = (now - this.last) / 1000;
    this.last = now;
    this.tokens = Math.min(this.rateBytesPerSec, this.tokens + dt * this.rateBytesPerSec);
  }

  /** Takes `bytes` if available now. */
  take(bytes: number, now: number): boolean {
    if (this.unlimited) return true;
    this.refill(now);
    if (this.tokens < bytes) return false;
    this.tokens -= bytes;
    return true;
  }

  /** Gives back tokens taken for something that did not happen. */
  refund(bytes: number): void {
    if (!this.unlimited) this.tokens = Math.min(this.rateBytesPerSec, this.tokens + bytes);
  }

  /** Milliseconds until `bytes` tokens will be there. */
  waitMs(bytes: number, now: number): number {
    if (this.unlimited) return 0;
    this.refill(now);
    return this.tokens >= bytes ? 0 : Math.ceil(((bytes - this.tokens) / this.rateBytesPerSec) * 1000);
  }
}

/** Takes `bytes` from every bucket, or from none (a refusal by any leaves the others as they were). */
export function takeAll(buckets: readonly TokenBucket[], bytes: number, now: number): boolean {
  const taken: TokenBucket[] = [];
  for (const b of buckets) {
    if (!b.take(bytes, now)) {
      for (const t of taken) t.refund(bytes);
      return false;
    }
    taken.push(b);
  }
  return true;
}

/** The longest wait among the buckets. */
export function waitAll(buckets: readonly TokenBucket[], bytes: number, now: number): number {
  return Math.max(0, ...buckets.map((b) => b.waitMs(bytes, now)));
}
