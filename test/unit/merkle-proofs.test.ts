import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { answerLayerRequest, checkLayerAnswer, layerGeometry, layerRequests } from '../../src/metainfo/merkle-proofs.js';
import { rootFromPieceLayer } from '../../src/metainfo/merkle.js';

const PL = 16384;

function fakeLayer(pieces: number, seed: number): Buffer {
  return Buffer.concat(Array.from({ length: pieces }, (_, i) => createHash('sha256').update(`${seed}:${i}`).digest()));
}

for (const pieces of [2, 3, 7, 512, 513, 1500]) {
  test(`piece layer of ${pieces} pieces: requests answered by a holder check out against the root`, () => {
    const fileLength = pieces * PL - 100;
    const layer = fakeLayer(pieces, pieces);
    const root = rootFromPieceLayer(layer, fileLength, PL);
    const reqs = layerRequests(fileLength, PL);
    assert.equal(reqs.length, Math.ceil(pieces / 512));
    const got: Buffer[] = [];
    for (const r of reqs) {
      const answer = answerLayerRequest(layer, fileLength, PL, r);
      assert.ok(answer, `answer for ${JSON.stringify(r)}`);
      const checked = checkLayerAnswer(root, fileLength, PL, r, answer);
      assert.ok(checked, `check for ${JSON.stringify(r)}`);
      got.push(checked);
      // One flipped bit anywhere in the answer fails the check.
      const bad = Buffer.from(answer);
      bad[bad.length - 1]! ^= 1;
      assert.equal(checkLayerAnswer(root, fileLength, PL, r, bad), undefined);
    }
    assert.deepEqual(Buffer.concat(got), layer);
  });
}

test('whole-layer requests of a small file carry no uncle hashes', () => {
  const g = layerGeometry(7 * PL, PL);
  assert.deepEqual(g, { pieces: 7, width: 8, baseLayer: 0, height: 3 });
  const [r] = layerRequests(7 * PL, PL);
  assert.deepEqual(r, { baseLayer: 0, index: 0, length: 8, proofLayers: 2 });
  assert.equal(answerLayerRequest(fakeLayer(7, 1), 7 * PL, PL, r)!.length, 8 * 32);
});

test('requests we do not serve are refused', () => {
  const layer = fakeLayer(7, 2);
  const base = { baseLayer: 0, index: 0, length: 8, proofLayers: 2 };
  assert.equal(answerLayerRequest(layer, 7 * PL, PL, { ...base, baseLayer: 1 }), undefined);
  assert.equal(answerLayerRequest(layer, 7 * PL, PL, { ...base, length: 3 }), undefined);
  assert.equal(answerLayerRequest(layer, 7 * PL, PL, { ...base, index: 4 }), undefined);
  assert.equal(answerLayerRequest(layer, 7 * PL, PL, { ...base, length: 16 }), undefined);
});
