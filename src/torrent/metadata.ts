/**
 * Fetching the info dictionary from peers (BEP 9, ut_metadata) for a magnet link: 16 KiB pieces
 * requested from the peers that advertised `metadata_size`, assembled, and accepted only when the
 * SHA-1 (v1) or SHA-256 (v2) of the whole matches the info-hash. A mismatch throws the pieces away and
 * starts again with other peers. Pure bookkeeping; the torrent sends the messages.
 */
import { createHash } from 'node:crypto';
import { MAX_METADATA_SIZE, METADATA_PIECE_SIZE } from '../wire/extension.js';

export class MetadataFetcher {
  private size = 0;
  private buffer: Buffer | undefined;
  private received: Uint8Array = new Uint8Array(0);
  /** piece -> peer id it was asked from and when */
  private asked = new Map<number, { peer: number; at: number }>();
  private readonly badPeers = new Set<number>();

  constructor(
    /** v1 info-hash (20 bytes), or undefined for a v2-only magnet. */
    private readonly infoHash: Buffer | undefined,
    /** v2 info-hash (32 bytes), when known. */
    private readonly infoHashV2: Buffer | undefined,
  ) {}

  /** Learns the size from a peer's extension handshake. False when the size is unacceptable. */
  offerSize(size: number): boolean {
    if (size <= 0 || size > MAX_METADATA_SIZE) return false;
    if (this.size === 0) {
      this.size = size;
      this.buffer = Buffer.alloc(size);
      this.received = new Uint8Array(Math.ceil(size / METADATA_PIECE_SIZE));
    }
    return size === this.size;
  }

  get known(): boolean {
    return this.size > 0;
  }

  /** Next pieces to ask `peer` for (at most `max`), re-asking pieces unanswered for `timeoutMs`. */
  next(peer: number, max: number, now: number, timeoutMs = 10_000): number[] {
    if (!this.buffer || this.badPeers.has(peer)) return [];
    const out: number[] = [];
    for (let i = 0; i < this.received.length && out.length < max; i++) {
      if (this.received[i]) continue;
      const a = this.asked.get(i);
      if (a && now - a.at < timeoutMs) continue;
      this.asked.set(i, { peer, at: now });
      out.push(i);
    }
    return out;
  }

  /** A peer rejected a piece: let someone else be asked. */
  rejected(piece: number, peer: number): void {
    if (this.asked.get(piece)?.peer === peer) this.asked.delete(piece);
  }

  /** The peer left: its pieces can be asked of others. */
  peerGone(peer: number): void {
    for (const [i, a] of this.asked) if (a.peer === peer) this.asked.delete(i);
  }

  /**
   * Stores a piece. Returns the complete, verified info bytes when this was the last piece;
   * 'mismatch' when the whole did not hash to the info-hash (everything is dropped and refetched).
   */
  receive(piece: number, totalSize: number, data: Buffer, peer: number): Buffer | 'mismatch' | undefined {
    if (!this.buffer || totalSize !== this.size || piece >= this.received.length) return undefined;
    const expected = Math.min(METADATA_PIECE_SIZE, this.size - piece * METADATA_PIECE_SIZE);
    if (data.length !== expected) return undefined;
    data.copy(this.buffer, piece * METADATA_PIECE_SIZE);
    this.received[piece] = 1;
    this.asked.set(piece, { peer, at: this.asked.get(piece)?.at ?? 0 });
    if (!this.received.every((x) => x === 1)) return undefined;
    const ok =
      (this.infoHash !== undefined && createHash('sha1').update(this.buffer).digest().equals(this.infoHash)) ||
      (this.infoHashV2 !== undefined && createHash('sha256').update(this.buffer).digest().equals(this.infoHashV2));
    if (ok) return this.buffer;
    // Whoever sent pieces of the bad copy is not asked again.
    for (const a of this.asked.values()) this.badPeers.add(a.peer);
    this.received.fill(0);
    this.asked.clear();
    return 'mismatch';
  }
}
