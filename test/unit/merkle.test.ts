import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { BLOCK_SIZE, dataRoot, padHash, pieceLeafCount, rootFromPieceLayer, nextPowerOfTwo } from '../../src/metainfo/merkle.js';

const sha256 = (...parts: Uint8Array[]): Buffer => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
};

/** The textbook definition, written as plainly as possible, to check the fast code against. */
function referenceRoot(data: Buffer, leafCount: number): Buffer {
  let level: Buffer[] = [];
  for (let i = 0; i < leafCount; i++) {
    const block = data.subarray(i * BLOCK_SIZE, (i + 1) * BLOCK_SIZE);
    level.push(block.length > 0 ? sha256(block) : Buffer.alloc(32));
  }
  while (level.length > 1) {
    const next: Buffer[] = [];
    for (let i = 0; i < level.length; i += 2) next.push(sha256(level[i]!, level[i + 1]!));
    level = next;
  }
  return level[0]!;
}

function bytes(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

test('pad hashes are hashes of zero subtrees, not zeros', () => {
  assert.deepEqual(padHash(0), Buffer.alloc(32));
  assert.deepEqual(padHash(1), sha256(Buffer.alloc(64)));
  assert.deepEqual(padHash(2), sha256(padHash(1), padHash(1)));
});

test('a one-block file root is the SHA-256 of its data', () => {
  const data = bytes(1000, 1);
  assert.deepEqual(dataRoot(data, 1), sha256(data));
});

test('dataRoot matches the reference for odd block counts', () => {
  for (const size of [BLOCK_SIZE + 1, 3 * BLOCK_SIZE, 5 * BLOCK_SIZE - 7, 40000]) {
    const data = bytes(size, size);
    const leaves = nextPowerOfTwo(Math.ceil(size / BLOCK_SIZE));
    assert.deepEqual(dataRoot(data, leaves), referenceRoot(data, leaves), `size ${size}`);
  }
});

test('root from a piece layer equals the root over all blocks', () => {
  const pieceLength = 32 * 1024;
  for (const size of [70000, 4 * pieceLength, 4 * pieceLength + 1, 9 * pieceLength - 100]) {
    const data = bytes(size, size + 7);
    const pieces = Math.ceil(size / pieceLength);
    const layer = Buffer.concat(
      Array.from({ length: pieces }, (_, i) => dataRoot(data.subarray(i * pieceLength, (i + 1) * pieceLength), pieceLeafCount(size, pieceLength))),
    );
    const leaves = nextPowerOfTwo(Math.ceil(size / BLOCK_SIZE));
    assert.deepEqual(rootFromPieceLayer(layer, size, pieceLength), referenceRoot(data, leaves), `size ${size}`);
  }
});

test('a file that fits one piece is hashed over next-power-of-two leaves, not a whole piece', () => {
  const pieceLength = 128 * 1024;
  assert.equal(pieceLeafCount(40000, pieceLength), 4);
  assert.equal(pieceLeafCount(pieceLength + 1, pieceLength), 8);
});
