/**
 * BEP 52 merkle trees: SHA-256 over 16 KiB blocks, binary, leaves beyond the end of a file are
 * zero hashes (32 zero bytes). Interior nodes over only-padding leaves are therefore not zero but
 * the hash of a zero subtree, `padHash(height)`.
 *
 * - A file's `pieces root` is the root over nextPow2(blockCount) leaves.
 * - For a file longer than one piece, its `piece layer` is the row whose nodes each cover one piece
 *   (blocksPerPiece leaves); the last piece's subtree is padded with zero leaves.
 * Invariant: rootFromLayer(pieceLayer) === pieces root, which is how layers are checked.
 */
import { createHash } from 'node:crypto';

export const BLOCK_SIZE = 16 * 1024; // BEP 52: leaf size
export const HASH_SIZE = 32; // SHA-256

function sha256Pair(left: Uint8Array, right: Uint8Array): Buffer {
  return createHash('sha256').update(left).update(right).digest();
}

const padHashes: Buffer[] = [Buffer.alloc(HASH_SIZE)];
/** Hash of a subtree of height `h` whose leaves are all zero hashes (h = 0 is a zero leaf). */
export function padHash(height: number): Buffer {
  while (padHashes.length <= height) {
    const below = padHashes[padHashes.length - 1]!;
    padHashes.push(sha256Pair(below, below));
  }
  return padHashes[height]!;
}

export function isPowerOfTwo(n: number): boolean {
  return Number.isSafeInteger(n) && n > 0 && 2 ** Math.round(Math.log2(n)) === n;
}

export function nextPowerOfTwo(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

export function log2(n: number): number {
  return Math.round(Math.log2(n));
}

/**
 * Reduces a row of hashes (concatenated, `count` of them, each the root of a subtree of height
 * `height`) to a single root over `width` nodes (a power of two ≥ count), padding with `padHash(height)`.
 */
export function reduceRow(row: Uint8Array, width: number, height: number): Buffer {
  const count = row.length / HASH_SIZE;
  if (count === 0) return padHash(height + log2(width));
  let level: Buffer[] = [];
  for (let i = 0; i < count; i++) level.push(Buffer.from(row.buffer, row.byteOffset + i * HASH_SIZE, HASH_SIZE));
  let h = height;
  let w = width;
  while (w > 1) {
    const next: Buffer[] = [];
    const pad = padHash(h);
    for (let i = 0; i < level.length; i += 2) next.push(sha256Pair(level[i]!, level[i + 1] ?? pad));
    level = next;
    h++;
    w /= 2;
  }
  return level[0]!;
}

/** Hashes each 16 KiB block of `data` (the last may be short) into a row of leaf hashes. */
export function leafHashes(data: Uint8Array): Buffer {
  const n = Math.ceil(data.length / BLOCK_SIZE);
  const out = Buffer.allocUnsafe(n * HASH_SIZE);
  for (let i = 0; i < n; i++) {
    const block = data.subarray(i * BLOCK_SIZE, Math.min(data.length, (i + 1) * BLOCK_SIZE));
    createHash('sha256').update(block).digest().copy(out, i * HASH_SIZE);
  }
  return out;
}

/** Root over the blocks of `data`, as a tree of `leafCount` leaves (a power of two). */
export function dataRoot(data: Uint8Array, leafCount: number): Buffer {
  return reduceRow(leafHashes(data), leafCount, 0);
}

/** Geometry of one file's tree. */
export function fileTreeShape(fileLength: number, pieceLength: number): {
  blockCount: number;
  leafCount: number;
  blocksPerPiece: number;
  pieceCount: number;
} {
  const blockCount = Math.ceil(fileLength / BLOCK_SIZE);
  return {
    blockCount,
    leafCount: nextPowerOfTwo(blockCount),
    blocksPerPiece: pieceLength / BLOCK_SIZE,
    pieceCount: Math.ceil(fileLength / pieceLength),
  };
}

/**
 * The leaf count to use when hashing one piece of a file: a full piece subtree for files longer than
 * a piece, but only nextPow2(blocks) for a file that fits in one piece (then the piece hash is the root).
 */
export function pieceLeafCount(fileLength: number, pieceLength: number): number {
  const shape = fileTreeShape(fileLength, pieceLength);
  return fileLength > pieceLength ? shape.blocksPerPiece : shape.leafCount;
}

/** The file's root from its piece layer (hashes of each piece's subtree). */
export function rootFromPieceLayer(layer: Uint8Array, fileLength: number, pieceLength: number): Buffer {
  const shape = fileTreeShape(fileLength, pieceLength);
  if (fileLength <= pieceLength) {
    // A one-piece file's "layer" is its root already.
    return Buffer.from(layer.buffer, layer.byteOffset, HASH_SIZE);
  }
  return reduceRow(layer, shape.leafCount / shape.blocksPerPiece, log2(shape.blocksPerPiece));
}
