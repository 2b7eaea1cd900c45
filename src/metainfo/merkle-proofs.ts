/**
 * BEP 52 hash requests over a file's piece layer: what to ask for, how to answer, how to check an
 * answer. Pure functions over concatenated 32-byte hashes.
 *
 * Geometry: the tree above the piece layer has `width` = leafCount / blocksPerPiece nodes at the
 * piece layer (a power of two), the real pieces first, then pad hashes (`padHash(log2(blocksPerPiece))`).
 * A request names a base layer (counted from the leaves; we serve and ask only the piece layer), an
 * `index` and a `length` (a power of two ≥ 2, index a multiple of it) and `proofLayers`. The answer
 * is the `length` base hashes, then the uncle hashes — the siblings of the chunk's subtree root and of
 * its ancestors — one for each proof layer past the first log2(length) − 1 (those are implied by the
 * base hashes): `uncles = max(0, proofLayers − log2(length) + 1)`.
 */
import { createHash } from 'node:crypto';
import { HASH_SIZE, fileTreeShape, log2, padHash } from './merkle.js';

export const MAX_HASHES_PER_REQUEST = 512; // BEP 52: "SHOULD NOT be greater than 512"

export interface LayerRequest {
  baseLayer: number;
  index: number;
  length: number;
  proofLayers: number;
}

function pair(a: Uint8Array, b: Uint8Array): Buffer {
  return createHash('sha256').update(a).update(b).digest();
}

/** Piece-layer geometry of a file longer than one piece. */
export function layerGeometry(fileLength: number, pieceLength: number): { pieces: number; width: number; baseLayer: number; height: number } {
  const s = fileTreeShape(fileLength, pieceLength);
  const width = s.leafCount / s.blocksPerPiece;
  return { pieces: s.pieceCount, width, baseLayer: log2(s.blocksPerPiece), height: log2(width) };
}

/** The requests that fetch a whole piece layer, each checkable on its own against the file's root. */
export function layerRequests(fileLength: number, pieceLength: number): LayerRequest[] {
  const g = layerGeometry(fileLength, pieceLength);
  const length = Math.min(MAX_HASHES_PER_REQUEST, g.width);
  const out: LayerRequest[] = [];
  // proofLayers = height − 1 asks for every uncle up to (not including) the root.
  for (let index = 0; index < g.pieces; index += length) out.push({ baseLayer: g.baseLayer, index, length, proofLayers: g.height - 1 });
  return out;
}

/** All levels of the tree above the piece layer, level 0 being the padded piece layer. */
function levels(layer: Uint8Array, width: number, baseLayer: number): Buffer[][] {
  const pad = padHash(baseLayer);
  let level: Buffer[] = [];
  for (let i = 0; i < width; i++) {
    level.push(i * HASH_SIZE < layer.length ? Buffer.from(layer.subarray(i * HASH_SIZE, (i + 1) * HASH_SIZE)) : pad);
  }
  const out = [level];
  while (level.length > 1) {
    const next: Buffer[] = [];
    for (let i = 0; i < level.length; i += 2) next.push(pair(level[i]!, level[i + 1]!));
    out.push(next);
    level = next;
  }
  return out;
}

/** Answers a request from a known piece layer, or undefined when it is not one we serve. */
export function answerLayerRequest(layer: Uint8Array, fileLength: number, pieceLength: number, r: LayerRequest): Buffer | undefined {
  const g = layerGeometry(fileLength, pieceLength);
  if (r.baseLayer !== g.baseLayer) return undefined;
  if (r.length < 2 || r.length > MAX_HASHES_PER_REQUEST || 2 ** log2(r.length) !== r.length) return undefined;
  if (r.index % r.length !== 0 || r.index + r.length > g.width || r.proofLayers >= g.height + 1) return undefined;
  const lv = levels(layer, g.width, g.baseLayer);
  const parts: Buffer[] = lv[0]!.slice(r.index, r.index + r.length);
  const uncles = Math.max(0, r.proofLayers - log2(r.length) + 1);
  for (let k = 0; k < uncles; k++) {
    const level = log2(r.length) + k;
    const row = lv[level];
    if (!row || row.length < 2) break; // at the root: nothing above to prove
    const node = r.index >> level;
    parts.push(row[node ^ 1]!);
  }
  return Buffer.concat(parts);
}

/**
 * Checks an answer against the file's root. Returns the base hashes that belong to real pieces
 * (padding dropped), or undefined when the answer does not prove out.
 */
export function checkLayerAnswer(root: Uint8Array, fileLength: number, pieceLength: number, r: LayerRequest, hashes: Uint8Array): Buffer | undefined {
  const g = layerGeometry(fileLength, pieceLength);
  if (r.baseLayer !== g.baseLayer || r.length < 2 || 2 ** log2(r.length) !== r.length || r.index % r.length !== 0) return undefined;
  const uncles = Math.max(0, r.proofLayers - log2(r.length) + 1);
  const needUncles = g.height - log2(r.length);
  if (hashes.length !== (r.length + uncles) * HASH_SIZE || uncles < needUncles) return undefined;
  let level: Buffer[] = [];
  for (let i = 0; i < r.length; i++) level.push(Buffer.from(hashes.subarray(i * HASH_SIZE, (i + 1) * HASH_SIZE)));
  while (level.length > 1) {
    const next: Buffer[] = [];
    for (let i = 0; i < level.length; i += 2) next.push(pair(level[i]!, level[i + 1]!));
    level = next;
  }
  let node = level[0]!;
  let pos = r.index >> log2(r.length);
  for (let k = 0; k < needUncles; k++) {
    const uncle = hashes.subarray((r.length + k) * HASH_SIZE, (r.length + k + 1) * HASH_SIZE);
    node = pos % 2 === 0 ? pair(node, uncle) : pair(uncle, node);
    pos >>= 1;
  }
  if (!node.equals(root)) return undefined;
  const real = Math.max(0, Math.min(r.length, g.pieces - r.index));
  return Buffer.from(hashes.subarray(0, real * HASH_SIZE));
}
