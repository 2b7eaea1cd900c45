/** What a torrent knows about one connected peer. */
import type { PeerAddress } from '../net/compact.js';
import type { PeerSession } from '../peer/session.js';
import type { ExtHandshake } from '../wire/extension.js';
import type { Bitfield } from './bitfield.js';
import type { Connection, TimerHandle } from './ports.js';
import { RateMeter } from './rate.js';

export interface OutstandingRequest {
  index: number;
  begin: number;
  length: number;
  sentAt: number;
}

export class Peer {
  readonly id: number;
  readonly addr: PeerAddress;
  readonly conn: Connection;
  readonly session: PeerSession;
  readonly incoming: boolean;
  readonly connectedAt: number;

  /** The peer's pieces ('all' for a seed); undefined until its bitfield (or none) is known. */
  has: Bitfield | 'all' | undefined;
  /** A bitfield received before we had the metadata, kept until we can check it. */
  rawBitfield: Buffer | 'all' | undefined;
  /** Haves received before we had the metadata. */
  rawHaves: number[] = [];
  countedInPicker = false;

  amChoking = true;
  amInterested = false;
  peerChoking = true;
  peerInterested = false;
  snubbed = false;
  writeBlocked = false;
  handshaken = false;

  /** Our requests to the peer, by `index * 2^20 + begin / 16384`... keyed as a string-free number. */
  readonly outstanding = new Map<number, OutstandingRequest>();
  /** Requests we cancelled, whose block may still arrive (bounded: oldest forgotten first). */
  readonly cancelled = new Set<number>();
  /** Their requests to us, waiting to be served. */
  readonly uploadQueue: { index: number; begin: number; length: number }[] = [];
  readingBlocks = 0;
  /** Pieces the peer lets us fetch while choked (BEP 6). */
  readonly allowedFast = new Set<number>();
  /** Pieces we told the peer it may fetch while choked. */
  allowedFastOut: Set<number> | undefined;

  ext: ExtHandshake | undefined;
  /** Remote id of ut_metadata / ut_pex, from its extension handshake. */
  metadataId = 0;
  pexId = 0;
  /** Metadata pieces we asked this peer for and have not had. */
  metadataAsked = 0;
  /** Peers we told this one about through PEX (to send "dropped" later). */
  pexSent = new Set<string>();
  lastPexAt = -Infinity;

  readonly down: RateMeter;
  readonly up: RateMeter;
  lastBlockAt: number;
  strikes = 0;
  maxOutstanding = 16;
  timer: TimerHandle | undefined;

  constructor(id: number, addr: PeerAddress, conn: Connection, session: PeerSession, incoming: boolean, now: number) {
    this.id = id;
    this.addr = addr;
    this.conn = conn;
    this.session = session;
    this.incoming = incoming;
    this.connectedAt = now;
    this.down = new RateMeter(now);
    this.up = new RateMeter(now);
    this.lastBlockAt = now;
  }

  get isSeed(): boolean {
    return this.has === 'all' || (this.has !== undefined && this.has.complete);
  }

  hasPiece(i: number): boolean {
    return this.has === 'all' || (this.has !== undefined && this.has.has(i));
  }
}

/** A number key for a block (piece index and block number); exact for torrents up to 2^37 pieces. */
export function blockKey(index: number, begin: number): number {
  return index * 65536 + begin / 16384;
}
