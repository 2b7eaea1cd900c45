/**
 * Round-trip-time estimate of the DHT nodes we talk to (the RFC 6298 smoothed mean and deviation),
 * from which a lookup takes its soft timeout: long enough that a live node almost always answers
 * in time, short enough that an unresponsive one stops holding the lookup up after about one
 * round trip instead of a fixed 400 ms. Bounded both ways so a burst of odd samples (a loopback
 * network answering in microseconds, a congested link) cannot make it useless.
 */
export class RttEstimator {
  private srtt = 0;
  private rttvar = 0;
  private samples = 0;

  constructor(
    /** Until there are samples, and the upper bound. */
    private readonly maxMs: number,
    private readonly minMs: number,
  ) {}

  sample(ms: number): void {
    if (!(ms >= 0) || !Number.isFinite(ms)) return;
    if (this.samples++ === 0) {
      this.srtt = ms;
      this.rttvar = ms / 2;
      return;
    }
    this.rttvar = 0.75 * this.rttvar + 0.25 * Math.abs(this.srtt - ms);
    this.srtt = 0.875 * this.srtt + 0.125 * ms;
  }

  /** The soft timeout for the next lookup's requests. */
  timeoutMs(): number {
    if (this.samples < 4) return this.maxMs;
    return Math.min(this.maxMs, Math.max(this.minMs, this.srtt + 4 * this.rttvar));
  }
}
