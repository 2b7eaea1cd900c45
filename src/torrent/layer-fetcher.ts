/**
 * Fetching the piece layers of a v2 torrent known only by its info dictionary (a magnet link): BEP 52
 * hash requests, each answer proven against the file's `pieces root` before it is kept. Pure
 * bookkeeping; the torrent sends the messages. When every layer is in, `layers()` gives them keyed
 * as in a .torrent's `piece layers` (raw root bytes as latin1 keys).
 */
import type { Metainfo } from '../metainfo/types.js';
import { HASH_SIZE } from '../metainfo/merkle.js';
import { checkLayerAnswer, layerRequests } from '../metainfo/merkle-proofs.js';
import type { LayerRequest } from '../metainfo/merkle-proofs.js';

interface Item {
  fileIndex: number;
  root: Buffer;
  req: LayerRequest;
  peer: number | undefined;
  sentAt: number;
  done: boolean;
}

export interface OutgoingHashRequest extends LayerRequest {
  root: Buffer;
}

const TIMEOUT_MS = 15_000;

export class LayerFetcher {
  private readonly items: Item[] = [];
  private readonly buffers = new Map<number, Buffer>();
  /** Peers that refused or failed us: asked last. */
  private readonly refused = new Set<number>();

  constructor(private readonly m: Metainfo) {
    m.files.forEach((f, i) => {
      if (f.pad || !f.piecesRoot || f.length <= m.pieceLength) return;
      this.buffers.set(i, Buffer.alloc(Math.ceil(f.length / m.pieceLength) * HASH_SIZE));
      for (const req of layerRequests(f.length, m.pieceLength)) {
        this.items.push({ fileIndex: i, root: f.piecesRoot, req, peer: undefined, sentAt: 0, done: false });
      }
    });
  }

  get needed(): boolean {
    return this.items.length > 0;
  }

  get complete(): boolean {
    return this.items.every((x) => x.done);
  }

  /** Requests to send to `peer` now (at most `max` outstanding per peer). */
  next(peer: number, max: number, now: number): OutgoingHashRequest[] {
    const mine = this.items.filter((x) => !x.done && x.peer === peer && now - x.sentAt < TIMEOUT_MS).length;
    const out: OutgoingHashRequest[] = [];
    if (this.refused.has(peer)) return out;
    for (const x of this.items) {
      if (out.length + mine >= max) break;
      if (x.done || (x.peer !== undefined && now - x.sentAt < TIMEOUT_MS)) continue;
      x.peer = peer;
      x.sentAt = now;
      out.push({ ...x.req, root: x.root });
    }
    return out;
  }

  private find(root: Buffer, r: LayerRequest): Item | undefined {
    return this.items.find((x) => !x.done && x.root.equals(root) && x.req.index === r.index && x.req.length === r.length && x.req.baseLayer === r.baseLayer);
  }

  /** An answer arrived. False when it does not prove out (the peer misbehaved). */
  answer(peer: number, root: Buffer, r: LayerRequest, hashes: Buffer): boolean {
    const x = this.find(root, r);
    if (!x) return true; // late or duplicate: harmless
    const f = this.m.files[x.fileIndex]!;
    const checked = checkLayerAnswer(x.root, f.length, this.m.pieceLength, { ...x.req, proofLayers: r.proofLayers }, hashes);
    if (!checked) {
      x.peer = undefined;
      this.refused.add(peer);
      return false;
    }
    checked.copy(this.buffers.get(x.fileIndex)!, x.req.index * HASH_SIZE);
    x.done = true;
    return true;
  }

  rejected(peer: number, root: Buffer, r: LayerRequest): void {
    const x = this.find(root, r);
    if (x && x.peer === peer) x.peer = undefined;
    this.refused.add(peer);
  }

  peerGone(peer: number): void {
    for (const x of this.items) if (x.peer === peer && !x.done) x.peer = undefined;
  }

  /** The layers as a bencode dictionary value (root bytes, latin1, → concatenated hashes). */
  layers(): Map<string, Buffer> {
    const out = new Map<string, Buffer>();
    for (const [i, buf] of this.buffers) out.set(this.m.files[i]!.piecesRoot!.toString('latin1'), buf);
    return out;
  }
}
