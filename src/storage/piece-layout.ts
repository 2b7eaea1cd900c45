/**
 * The map from pieces to byte ranges of files. Pieces are fixed-size slices of the layout (files end
 * to end, pad files included); a piece may span several files (v1) or sit inside one file followed by
 * padding (v2 and hybrid, where every file starts on a piece boundary).
 */
import { fileAt } from '../metainfo/layout.js';
import { HASH_SIZE, pieceLeafCount } from '../metainfo/merkle.js';
import type { Metainfo, TorrentFile } from '../metainfo/types.js';
import type { PieceTask } from './hash-protocol.js';

export interface FileSlice {
  fileIndex: number;
  /** Offset inside the file. */
  fileOffset: number;
  length: number;
  pad: boolean;
}

export interface V2Piece {
  fileIndex: number;
  /** Index of the piece inside its file. */
  indexInFile: number;
  /** Bytes of file data in the piece (the rest is padding). */
  dataBytes: number;
  /** Leaves of the piece's merkle subtree. */
  leaves: number;
}

export class PieceLayout {
  readonly pieceCount: number;

  constructor(
    readonly files: readonly TorrentFile[],
    readonly pieceLength: number,
    readonly layoutLength: number,
  ) {
    this.pieceCount = Math.ceil(layoutLength / pieceLength);
  }

  static of(m: Metainfo): PieceLayout {
    return new PieceLayout(m.files, m.pieceLength, m.layoutLength);
  }

  pieceSize(index: number): number {
    const start = index * this.pieceLength;
    return Math.min(this.pieceLength, this.layoutLength - start);
  }

  slices(index: number): FileSlice[] {
    const start = index * this.pieceLength;
    const end = start + this.pieceSize(index);
    const out: FileSlice[] = [];
    for (let fi = fileAt(this.files, start); fi < this.files.length; fi++) {
      const f = this.files[fi]!;
      if (f.offset >= end) break;
      if (f.length === 0) continue;
      const from = Math.max(start, f.offset);
      const to = Math.min(end, f.offset + f.length);
      if (to > from) out.push({ fileIndex: fi, fileOffset: from - f.offset, length: to - from, pad: f.pad });
    }
    return out;
  }

  /** First piece and one past the last piece holding bytes of the file (equal for an empty file). */
  filePieces(fileIndex: number): { first: number; end: number } {
    const f = this.files[fileIndex]!;
    if (f.length === 0) return { first: 0, end: 0 };
    return { first: Math.floor(f.offset / this.pieceLength), end: Math.ceil((f.offset + f.length) / this.pieceLength) };
  }

  /** The v2 view of a piece: which file it belongs to and how to hash it. */
  v2Piece(index: number): V2Piece | undefined {
    const data = this.slices(index).filter((s) => !s.pad);
    if (data.length !== 1) return undefined; // v2 pieces never span files; a v1 layout may
    const s = data[0]!;
    const f = this.files[s.fileIndex]!;
    if (f.offset % this.pieceLength !== 0) return undefined; // v2 files start on piece boundaries
    return {
      fileIndex: s.fileIndex,
      indexInFile: Math.floor(s.fileOffset / this.pieceLength),
      dataBytes: s.length,
      leaves: pieceLeafCount(f.length, this.pieceLength),
    };
  }
}

/** The expected v2 hash of a piece, from the piece layers (or the root for a one-piece file). */
export function expectedV2Hash(m: Metainfo, p: V2Piece): Buffer | undefined {
  const f = m.files[p.fileIndex]!;
  if (!f.piecesRoot) return undefined;
  if (f.length <= m.pieceLength) return f.piecesRoot;
  const layer = m.pieceLayers?.get(f.piecesRoot.toString('hex'));
  return layer?.subarray(p.indexInFile * HASH_SIZE, (p.indexInFile + 1) * HASH_SIZE);
}

/**
 * The hash job for one piece: its slices read from `sourceOf(fileIndex)` (null for pad files), with
 * the v2 subtree geometry when a v2 hash is wanted.
 */
export function pieceTask(layout: PieceLayout, index: number, sourceOf: (fileIndex: number) => string | null, v2: boolean): PieceTask {
  const p = v2 ? layout.v2Piece(index) : undefined;
  return {
    segments: layout.slices(index).map((s) => ({ path: s.pad ? null : sourceOf(s.fileIndex), offset: s.fileOffset, length: s.length })),
    v2Leaves: p?.leaves ?? 0,
    v2Bytes: p?.dataBytes ?? 0,
  };
}

/** Does a piece's digest match the torrent? v1 and v2 hashes are both checked when both exist. */
export function pieceMatches(m: Metainfo, layout: PieceLayout, index: number, sha1: Uint8Array, sha256: Uint8Array): boolean {
  if (m.pieces && Buffer.compare(sha1, m.pieces.subarray(index * 20, index * 20 + 20)) !== 0) return false;
  if (m.infoHashV2) {
    const p = layout.v2Piece(index);
    const expected = p ? expectedV2Hash(m, p) : undefined;
    // A hybrid fetched by magnet may lack its piece layers: its v1 hash has vouched for the piece.
    if (expected === undefined) return m.pieces !== undefined;
    if (Buffer.compare(sha256, expected) !== 0) return false;
  }
  return true;
}
