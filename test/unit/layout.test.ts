import { test } from 'node:test';
import assert from 'node:assert/strict';
import { layoutFiles, fileAt } from '../../src/metainfo/layout.js';
import { autoPieceLength } from '../../src/metainfo/piece-length.js';
import { checkPath, componentProblem } from '../../src/metainfo/paths.js';
import { PieceLayout } from '../../src/storage/piece-layout.js';
import { MetainfoError } from '../../src/metainfo/errors.js';

const file = (name: string, length: number) => ({ path: [name], length, attr: '', pad: false });
const PL = 16384;

test('v1 layout puts files back to back with no padding', () => {
  const { files, total } = layoutFiles([file('a', 1000), file('b', 40000), file('c', 0)], PL, ['t'], 'none');
  assert.deepEqual(files.map((f) => [f.path.join('/'), f.offset, f.length]), [['t/a', 0, 1000], ['t/b', 1000, 40000], ['t/c', 41000, 0]]);
  assert.equal(total, 41000);
});

test('align pads every unaligned file but the last; align-tail pads the last too', () => {
  const input = [file('a', 1000), file('e', 0), file('b', 2 * PL), file('c', 5)];
  const aligned = layoutFiles(input, PL, [], 'align').files;
  assert.deepEqual(aligned.map((f) => (f.pad ? `pad${f.length}` : f.path[0])), ['a', `pad${PL - 1000}`, 'e', 'b', 'c']);
  const tail = layoutFiles(input, PL, [], 'align-tail');
  assert.deepEqual(tail.files.map((f) => (f.pad ? `pad${f.length}` : f.path[0])), ['a', `pad${PL - 1000}`, 'e', 'b', 'c', `pad${PL - 5}`]);
  assert.equal(tail.total % PL, 0);
  assert.ok(tail.files.filter((f) => !f.pad && f.length > 0).every((f) => f.offset % PL === 0));
  const pad = tail.files[1]!;
  assert.deepEqual([pad.path, pad.attr], [['.pad', String(PL - 1000)], 'p']);
});

test('fileAt finds the file holding a byte, stepping over empty files', () => {
  const { files } = layoutFiles([file('e0', 0), file('a', 10), file('e1', 0), file('b', 5)], PL, [], 'none');
  assert.equal(files[fileAt(files, 0)]!.path[0], 'a');
  assert.equal(files[fileAt(files, 9)]!.path[0], 'a');
  assert.equal(files[fileAt(files, 10)]!.path[0], 'b');
  assert.equal(files[fileAt(files, 14)]!.path[0], 'b');
});

test('piece slices span files in v1 and stay inside one file in an aligned layout', () => {
  const v1 = layoutFiles([file('a', 10000), file('b', 10000)], PL, [], 'none');
  const l1 = new PieceLayout(v1.files, PL, v1.total);
  assert.equal(l1.pieceCount, 2);
  assert.deepEqual(l1.slices(0), [
    { fileIndex: 0, fileOffset: 0, length: 10000, pad: false },
    { fileIndex: 1, fileOffset: 0, length: 6384, pad: false },
  ]);
  assert.equal(l1.pieceSize(1), 20000 - PL);
  assert.equal(l1.v2Piece(0), undefined);

  const v2 = layoutFiles([file('a', 10000), file('b', PL + 1)], PL, [], 'align');
  const l2 = new PieceLayout(v2.files, PL, v2.total);
  assert.equal(l2.pieceCount, 3);
  assert.deepEqual(l2.v2Piece(0), { fileIndex: 0, indexInFile: 0, dataBytes: 10000, leaves: 1 });
  assert.deepEqual(l2.v2Piece(2), { fileIndex: 2, indexInFile: 1, dataBytes: 1, leaves: 1 });
  assert.deepEqual(l2.filePieces(2), { first: 1, end: 3 });
});

test('auto piece length: a power of two, 16 KiB to 16 MiB, at most ~2000 pieces', () => {
  assert.equal(autoPieceLength(1), 16384);
  assert.equal(autoPieceLength(1024 ** 3), 1024 * 1024); // 1 GiB -> 1024 pieces
  assert.equal(autoPieceLength(1024 ** 5), 16 * 1024 * 1024); // capped
  for (const size of [1e8, 7e8, 3e9, 2e10]) {
    const pl = autoPieceLength(size);
    const n = Math.ceil(size / pl);
    assert.ok(n <= 2000 && n > 1000, `${size}: ${pl} gives ${n} pieces`);
  }
});

test('path components that could escape or that file systems reserve are refused', () => {
  for (const bad of ['', '.', '..', 'a/b', 'a\\b', 'CON', 'nul.txt', 'LPT1', 'x\u0000y', 'é'.repeat(200)]) {
    assert.ok(componentProblem(bad), `should refuse ${JSON.stringify(bad)}`);
  }
  for (const good of ['a', '.hidden', 'con sole', 'file.txt', 'ünïcödé', '...']) assert.equal(componentProblem(good), undefined, good);
  assert.throws(() => checkPath(['ok', '..', 'etc'], 'file 3'), (e: unknown) => e instanceof MetainfoError && e.code === 'ERR_METAINFO_PATH' && /file 3/.test(e.message));
});
