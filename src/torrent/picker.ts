/**
 * The piece picker: which blocks to ask a peer for next. Pure and deterministic for a given `rng`.
 *
 * Order of preference for one peer (all restricted to pieces the peer has and we want):
 *  1. blocks of pieces this peer is already fetching (whole-piece affinity: a piece mostly comes from
 *     one peer, which finishes pieces sooner and makes a bad piece attributable);
 *  2. orphaned partial pieces (started, no one fetching them now — e.g. their peer left);
 *  3. a new piece: highest priority first; then, before we hold a few pieces, a random one (to have
 *     something to trade quickly), after that the rarest (random tie-break), or the lowest index in
 *     sequential mode;
 *  4. free blocks of pieces other peers are fetching;
 *  5. endgame: when nothing is left unrequested, blocks already requested from others (at most
 *     `ENDGAME_MAX_REQUESTS` times each); the torrent cancels the duplicates when one arrives.
 * Priority 0 pieces are never picked.
 */
import { Bitfield } from './bitfield.js';
import { BLOCK_SIZE } from '../wire/messages.js';

export const RANDOM_FIRST_PIECES = 4;
export const ENDGAME_MAX_REQUESTS = 3;

const FREE = 0;
const REQUESTED = 1;
const RECEIVED = 2;

interface PieceProgress {
  /** FREE / REQUESTED / RECEIVED per block. */
  state: Uint8Array;
  /** Outstanding requests per block (more than one in endgame). */
  requests: Uint8Array;
  free: number;
  received: number;
  /** Peers with outstanding requests in this piece, by id. */
  peers: Map<number, number>;
}

/** What the picker needs to know of a peer. */
export interface PeerView {
  id: number;
  /** The peer's pieces, or 'all' for a seed. */
  has: Bitfield | 'all';
  /** Is a block already requested from this very peer? (endgame must not ask twice) */
  requested: (piece: number, begin: number) => boolean;
}

export interface PickedBlock {
  index: number;
  begin: number;
  length: number;
}

export class PiecePicker {
  readonly have: Bitfield;
  readonly priority: Uint8Array;
  private readonly availability: Uint32Array;
  private seeds = 0;
  private readonly progress = new Map<number, PieceProgress>();
  /** Pieces complete in blocks and being hashed: not wanted, not had. */
  private readonly verifying = new Set<number>();
  sequential = false;

  constructor(
    readonly pieceCount: number,
    readonly pieceLength: number,
    readonly totalLength: number,
    private readonly rng: () => number,
  ) {
    this.have = new Bitfield(pieceCount);
    this.priority = new Uint8Array(pieceCount).fill(1);
    this.availability = new Uint32Array(pieceCount);
  }

  pieceSize(i: number): number {
    return Math.min(this.pieceLength, this.totalLength - i * this.pieceLength);
  }

  blockCount(i: number): number {
    return Math.ceil(this.pieceSize(i) / BLOCK_SIZE);
  }

  /** Wanted: not had, not being hashed, priority above zero. */
  wanted(i: number): boolean {
    return this.priority[i]! > 0 && !this.have.has(i) && !this.verifying.has(i);
  }

  /** Every byte we want is had (priority-0 pieces aside). */
  get done(): boolean {
    for (let i = 0; i < this.pieceCount; i++) if (this.priority[i]! > 0 && !this.have.has(i)) return false;
    return true;
  }

  get bytesWanted(): number {
    let n = 0;
    for (let i = 0; i < this.pieceCount; i++) if (this.priority[i]! > 0 && !this.have.has(i)) n += this.pieceSize(i);
    return n;
  }

  // ---------- availability ----------

  peerAdded(has: Bitfield | 'all'): void {
    if (has === 'all') this.seeds++;
    else for (let i = 0; i < this.pieceCount; i++) if (has.has(i)) this.availability[i]!++;
  }

  peerRemoved(has: Bitfield | 'all'): void {
    if (has === 'all') this.seeds--;
    else for (let i = 0; i < this.pieceCount; i++) if (has.has(i)) this.availability[i]!--;
  }

  peerHave(i: number): void {
    this.availability[i]!++;
  }

  availabilityOf(i: number): number {
    return this.availability[i]! + this.seeds;
  }

  /** Does the peer have anything we want? */
  interesting(has: Bitfield | 'all'): boolean {
    for (let i = 0; i < this.pieceCount; i++) if (this.wanted(i) && (has === 'all' || has.has(i))) return true;
    return false;
  }

  // ---------- picking ----------

  pick(peer: PeerView, max: number): PickedBlock[] {
    const out: PickedBlock[] = [];
    if (max <= 0) return out;
    const peerHas = (i: number): boolean => peer.has === 'all' || peer.has.has(i);

    // 1. this peer's own pieces; 2. orphaned partial pieces
    for (const pass of [1, 2]) {
      for (const [i, p] of this.progress) {
        if (p.free === 0 || !peerHas(i) || !this.wanted(i)) continue;
        const mine = p.peers.has(peer.id);
        if ((pass === 1 && !mine) || (pass === 2 && (mine || p.peers.size > 0))) continue;
        this.takeFree(i, p, peer, out, max);
        if (out.length >= max) return out;
      }
    }
    // 3. new pieces
    while (out.length < max) {
      const i = this.newPiece(peerHas);
      if (i < 0) break;
      this.takeFree(i, this.start(i), peer, out, max);
    }
    if (out.length >= max) return out;
    // 4. free blocks of others' pieces
    for (const [i, p] of this.progress) {
      if (p.free === 0 || !peerHas(i) || !this.wanted(i)) continue;
      this.takeFree(i, p, peer, out, max);
      if (out.length >= max) return out;
    }
    // 5. endgame
    if (this.inEndgame()) {
      // Blocks handed to this peer earlier in this same call are not yet in its `requested` set.
      const justPicked = new Set(out.map((x) => `${x.index}:${x.begin}`));
      for (const [i, p] of this.progress) {
        if (!peerHas(i) || !this.wanted(i)) continue;
        for (let b = 0; b < p.state.length && out.length < max; b++) {
          if (p.state[b] !== REQUESTED || p.requests[b]! >= ENDGAME_MAX_REQUESTS) continue;
          if (peer.requested(i, b * BLOCK_SIZE) || justPicked.has(`${i}:${b * BLOCK_SIZE}`)) continue;
          p.requests[b]!++;
          p.peers.set(peer.id, (p.peers.get(peer.id) ?? 0) + 1);
          out.push(this.block(i, b));
        }
        if (out.length >= max) break;
      }
    }
    return out;
  }

  /** True when every wanted block is requested or received. */
  inEndgame(): boolean {
    for (let i = 0; i < this.pieceCount; i++) {
      if (!this.wanted(i)) continue;
      const p = this.progress.get(i);
      if (!p || p.free > 0) return false;
    }
    return true;
  }

  private newPiece(peerHas: (i: number) => boolean): number {
    let best = -1;
    let bestPriority = 0;
    let bestScore = Infinity;
    let ties = 0;
    const random = this.have.cardinality < RANDOM_FIRST_PIECES && !this.sequential;
    for (let i = 0; i < this.pieceCount; i++) {
      if (!this.wanted(i) || this.progress.has(i) || !peerHas(i)) continue;
      const pr = this.priority[i]!;
      const score = this.sequential ? i : random ? 0 : this.availability[i]!;
      if (pr > bestPriority || (pr === bestPriority && score < bestScore)) {
        best = i;
        bestPriority = pr;
        bestScore = score;
        ties = 1;
      } else if (pr === bestPriority && score === bestScore) {
        // reservoir sampling: each tied piece is equally likely
        ties++;
        if (this.rng() * ties < 1) best = i;
      }
    }
    return best;
  }

  private start(i: number): PieceProgress {
    const n = this.blockCount(i);
    const p: PieceProgress = { state: new Uint8Array(n), requests: new Uint8Array(n), free: n, received: 0, peers: new Map() };
    this.progress.set(i, p);
    return p;
  }

  private takeFree(i: number, p: PieceProgress, peer: PeerView, out: PickedBlock[], max: number): void {
    for (let b = 0; b < p.state.length && out.length < max; b++) {
      if (p.state[b] !== FREE) continue;
      p.state[b] = REQUESTED;
      p.requests[b] = 1;
      p.free--;
      p.peers.set(peer.id, (p.peers.get(peer.id) ?? 0) + 1);
      out.push(this.block(i, b));
    }
  }

  private block(i: number, b: number): PickedBlock {
    const begin = b * BLOCK_SIZE;
    return { index: i, begin, length: Math.min(BLOCK_SIZE, this.pieceSize(i) - begin) };
  }

  // ---------- outcomes ----------

  private release(p: PieceProgress, peerId: number): void {
    const n = (p.peers.get(peerId) ?? 0) - 1;
    if (n > 0) p.peers.set(peerId, n);
    else p.peers.delete(peerId);
  }

  /**
   * A block arrived from `peerId`. Returns 'new' (first copy), 'duplicate' (already had it), or
   * 'complete' (the last missing block of its piece: hash it now). Unknown blocks return 'unexpected'.
   */
  blockReceived(index: number, begin: number, peerId: number): 'new' | 'duplicate' | 'complete' | 'unexpected' {
    const p = this.progress.get(index);
    if (!p || begin % BLOCK_SIZE !== 0) return 'unexpected';
    const b = begin / BLOCK_SIZE;
    if (b >= p.state.length) return 'unexpected';
    this.release(p, peerId);
    if (p.requests[b]! > 0) p.requests[b]!--;
    if (p.state[b] === RECEIVED) return 'duplicate';
    if (p.state[b] === FREE) p.free--;
    p.state[b] = RECEIVED;
    p.received++;
    if (p.received === p.state.length) {
      this.progress.delete(index);
      this.verifying.add(index);
      return 'complete';
    }
    return 'new';
  }

  /** A request to `peerId` ended without data (rejected, timed out, choked, peer gone). */
  requestFailed(index: number, begin: number, peerId: number): void {
    const p = this.progress.get(index);
    if (!p) return;
    const b = begin / BLOCK_SIZE;
    if (b >= p.state.length) return;
    this.release(p, peerId);
    if (p.requests[b]! > 0) p.requests[b]!--;
    if (p.state[b] === REQUESTED && p.requests[b] === 0) {
      p.state[b] = FREE;
      p.free++;
    }
  }

  /** The piece's hash was checked. A failure makes it wanted again from scratch. */
  pieceVerified(index: number, ok: boolean): void {
    this.verifying.delete(index);
    if (ok) this.have.set(index);
  }

  /** Marks pieces we already hold (resume). */
  setHave(index: number): void {
    this.have.set(index);
  }

  /** Pieces some peer is fetching blocks of (for tests and status). */
  get partialPieces(): number {
    return this.progress.size;
  }
}
