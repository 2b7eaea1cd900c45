import type { PeerAddress } from '../net/compact.js';
import { ShoalError } from '../util/errors.js';

export type AnnounceEvent = 'started' | 'completed' | 'stopped' | undefined;

export interface AnnounceRequest {
  /** 20 bytes (a v2 hash truncated). */
  infoHash: Buffer;
  peerId: Buffer;
  port: number;
  uploaded: number;
  downloaded: number;
  left: number;
  event: AnnounceEvent;
  numWant: number;
  /** Random per session, so a tracker can tell us apart when our address changes. */
  key: number;
}

export interface AnnounceResponse {
  /** Seconds until the next regular announce. */
  intervalSec: number;
  minIntervalSec?: number;
  peers: PeerAddress[];
  seeders?: number;
  leechers?: number;
  warning?: string;
}

/** A tracker refused us or could not be reached; the announcer tries the next one. */
export class TrackerError extends ShoalError {
  constructor(message: string) {
    super('ERR_TRACKER', message);
  }
}

export type AnnounceFn = (url: string, req: AnnounceRequest, signal: AbortSignal) => Promise<AnnounceResponse>;
