/**
 * Announcing one torrent to its trackers (BEP 12 multitracker tiers): trackers of the first tier are
 * tried in order, then the next tier; the first that answers moves to the front of its tier and is
 * used until it fails. Re-announces at the tracker's interval (or sooner when asked to, e.g. when the
 * torrent needs peers); failures back off. `stop()` sends a best-effort `stopped`.
 */
import type { Clock, TimerHandle } from '../torrent/ports.js';
import type { PeerAddress } from '../net/compact.js';
import type { AnnounceEvent, AnnounceFn, AnnounceRequest, AnnounceResponse } from './types.js';

export interface AnnouncerDeps {
  clock: Clock;
  /** Picks the protocol by URL scheme. */
  announce: AnnounceFn;
  onPeers(peers: PeerAddress[]): void;
  onResult?(url: string, result: AnnounceResponse | Error): void;
}

export interface AnnouncerOptions {
  tiers: readonly (readonly string[])[];
  infoHash: Buffer;
  peerId: Buffer;
  port: number;
  key: number;
  numWant?: number;
  /** Upper bound on the re-announce interval, in seconds (the tracker's own applies otherwise). */
  maxIntervalSec?: number;
  stats(): { uploaded: number; downloaded: number; left: number };
}

const STOP_TIMEOUT_MS = 3000;

export class Announcer {
  private readonly tiers: string[][];
  private timer: TimerHandle | undefined;
  private failures = 0;
  private running: Promise<void> | undefined;
  private stopped = false;
  /** The tracker that last answered: the one to tell we are leaving. */
  private lastWorking: string | undefined;
  private readonly abort = new AbortController();
  lastPeers = 0;

  constructor(
    private readonly deps: AnnouncerDeps,
    private readonly opts: AnnouncerOptions,
  ) {
    this.tiers = opts.tiers.map((t) => [...t]).filter((t) => t.length > 0);
  }

  get empty(): boolean {
    return this.tiers.length === 0;
  }

  start(): void {
    this.announceNow('started');
  }

  completed(): void {
    this.announceNow('completed');
  }

  /** Announce again soon (e.g. the torrent lost its peers). */
  refresh(): void {
    if (!this.running) this.announceNow(undefined);
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) this.deps.clock.clearTimeout(this.timer);
    // An announce under way (e.g. `completed` just as a download ends) gets a moment to arrive.
    if (this.running) {
      let t: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([this.running, new Promise<void>((r) => (t = setTimeout(r, STOP_TIMEOUT_MS)))]);
      clearTimeout(t);
    }
    if (this.timer) this.deps.clock.clearTimeout(this.timer);
    this.abort.abort();
    if (this.empty) return;
    const url = this.lastWorking ?? this.tiers[0]![0]!;
    const ctl = new AbortController();
    const t = setTimeout(() => ctl.abort(), STOP_TIMEOUT_MS);
    try {
      await this.deps.announce(url, this.request('stopped'), ctl.signal);
    } catch {
      // best effort
    } finally {
      clearTimeout(t);
    }
  }

  private request(event: AnnounceEvent): AnnounceRequest {
    const s = this.opts.stats();
    return {
      infoHash: this.opts.infoHash,
      peerId: this.opts.peerId,
      port: this.opts.port,
      uploaded: s.uploaded,
      downloaded: s.downloaded,
      left: s.left,
      event,
      numWant: this.opts.numWant ?? 50,
      key: this.opts.key,
    };
  }

  private announceNow(event: AnnounceEvent): void {
    if (this.stopped || this.empty) return;
    if (this.timer) this.deps.clock.clearTimeout(this.timer);
    this.timer = undefined;
    const run = this.runOnce(event).finally(() => {
      if (this.running === run) this.running = undefined;
    });
    this.running = run;
  }

  private async runOnce(event: AnnounceEvent): Promise<void> {
    const req = this.request(event);
    for (const tier of this.tiers) {
      for (let i = 0; i < tier.length; i++) {
        const url = tier[i]!;
        if (this.stopped) return;
        try {
          const res = await this.deps.announce(url, req, this.abort.signal);
          this.deps.onResult?.(url, res);
          // BEP 12: a tracker that answers moves to the front of its tier.
          tier.splice(i, 1);
          tier.unshift(url);
          this.failures = 0;
          this.lastWorking = url;
          this.lastPeers = res.peers.length;
          if (res.peers.length > 0) this.deps.onPeers(res.peers);
          // Our own cap (--announce-interval) wins over the tracker's interval and min interval.
          const interval =
            this.opts.maxIntervalSec !== undefined
              ? Math.min(res.intervalSec, this.opts.maxIntervalSec)
              : Math.max(res.minIntervalSec ?? 0, res.intervalSec);
          this.later(interval * 1000);
          return;
        } catch (e) {
          this.deps.onResult?.(url, e instanceof Error ? e : new Error(String(e)));
        }
      }
    }
    this.failures++;
    // `started` and `completed` are repeated until a tracker hears them; a regular announce is not.
    this.later(Math.min(30 * 60_000, 15_000 * 2 ** Math.min(7, this.failures - 1)), event === 'stopped' ? undefined : event);
  }

  private later(ms: number, event?: AnnounceEvent): void {
    if (this.stopped) return;
    // Overlapping runs (started, then completed at once) must leave one timer, not two.
    if (this.timer) this.deps.clock.clearTimeout(this.timer);
    this.timer = this.deps.clock.setTimeout(() => this.announceNow(event), ms);
  }
}
