/**
 * `shoal verify` against torrents made by other tools, cross-checked with libtorrent's recheck:
 *  - the true data passes (exit 0, complete);
 *  - with bytes flipped at chosen offsets, exactly the pieces holding those offsets are bad — the
 *    expected indices derived from the layout (v1: files back to back in torrent order; v2/hybrid:
 *    each file on a piece boundary, as libtorrent's file list with its pad files shows) — and
 *    shoal's bad + missing pieces equal the pieces libtorrent's recheck finds missing;
 *  - with a file deleted, its pieces are missing (exit 1), again as libtorrent finds.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { access, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { tempDir } from '../helpers/cli.js';
import { fixturePath, flipByte, writeFixture, SINGLE, SOLO, TREE } from './support/fixtures.js';
import type { Fixture } from './support/fixtures.js';
import { FOREIGN_CASES } from './support/foreign.js';
import type { ForeignCase } from './support/foreign.js';
import { layoutOf, pieceAt, piecesOfFile, range, sortedUnique } from './support/layout.js';
import type { Layout } from './support/layout.js';
import { ensureDir, ltInfo, ltRecheck, once, requireTools, shoalVerify } from './support/tools.js';
import type { ShoalVerify } from './support/tools.js';

/** Bytes to flip, by file (path relative to the torrent root) and offset in the file. */
const FLIPS: Record<string, [string, number][]> = {
  [SINGLE.name]: [
    ['single.bin', 0],
    ['single.bin', 65_535], // last byte of the first 64 KiB
    ['single.bin', 65_536], // first byte after it
    ['single.bin', 150_000],
    ['single.bin', 300_006], // the very last byte (in the short last piece)
  ],
  [TREE.name]: [
    ['cover.jpg', 0],
    ['cover.jpg', 1], // same piece as the byte before
    ['a/nested/deep.bin', 150_000], // last byte; disc1/dupe.bin holds the same bytes, untouched
    ['disc1/track01.flac', 131_072], // first byte of a piece for 16/32/64 KiB pieces (v2)
    ['disc1/tiny.txt', 699],
    ['disc1/ünïcødé ☃.txt', 12_345],
    ['.hidden-notes', 10], // not in transmission-create's torrent: must not matter there
    ['a/nested/.secret', 5],
  ],
  [SOLO.name]: [
    ['only.bin', 0],
    ['only.bin', 50_000],
    ['only.bin', 100_000],
  ],
};

/** Files to delete: one with data, and an empty one where the torrent lists it. */
const DELETE: Record<string, string[]> = {
  [SINGLE.name]: ['single.bin'],
  [TREE.name]: ['cover.jpg', 'empty.txt'],
  [SOLO.name]: ['only.bin'],
};

let work = '';
let cleanup: () => Promise<void> = () => Promise.resolve();
const pristine = (): string => join(work, 'data');

before(async () => {
  ({ dir: work, cleanup } = await tempDir('shoal-interop-verify-'));
  await ensureDir(pristine());
  await writeFixture(pristine(), SINGLE);
  await writeFixture(pristine(), TREE);
  await writeFixture(pristine(), SOLO);
});
after(() => cleanup());

const exists = (p: string): Promise<boolean> => access(p).then(() => true, () => false);

/** What each file's `complete` must be: all its pieces good (an empty file: present on disk). */
async function expectedFileStates(layout: Layout, fx: Fixture, dataParent: string, notGood: ReadonlySet<number>): Promise<{ path: string; length: number; complete: boolean }[]> {
  const out = [];
  for (const f of layout.files) {
    const complete = f.length === 0 ? await exists(fixturePath(dataParent, fx, f.relPath)) : piecesOfFile(layout, f).every((p) => !notGood.has(p));
    out.push({ path: f.path, length: f.length, complete });
  }
  return out;
}

function assertCounts(r: ShoalVerify, pieceCount: number): void {
  assert.equal(r.pieceCount, pieceCount, 'pieceCount');
  assert.equal(r.piecesBad, r.badPieces.length, 'piecesBad counts badPieces');
  assert.equal(r.piecesMissing, r.missingPieces.length, 'piecesMissing counts missingPieces');
  assert.equal(r.piecesGood, pieceCount - r.badPieces.length - r.missingPieces.length, 'piecesGood is the rest');
}

function caseTitle(c: ForeignCase): string {
  return `${c.creator} torrent of ${c.fixture.label} (${c.fixture.name})`;
}

void test('the interop tools are installed (libtorrent, mktorrent, transmission-create)', async () => {
  await requireTools();
});

for (const c of FOREIGN_CASES) {
  void describe(caseTitle(c), () => {
    const fx = c.fixture;
    const prepared = once(async () => {
      await requireTools();
      const torrent = join(await ensureDir(join(work, 'torrents')), `${c.id}.torrent`);
      await c.make(pristine(), torrent);
      const info = await ltInfo(torrent);
      return { torrent, info, layout: layoutOf(info) };
    });

    void test('verify passes on the true data (exit 0, complete), and so does libtorrent\'s recheck', async () => {
      const { torrent, info, layout } = await prepared();
      const { code, report } = await shoalVerify(torrent, pristine());
      assert.equal(code, 0, `exit code (report: ${JSON.stringify(report)})`);
      assert.equal(report.complete, true);
      assertCounts(report, info.pieceCount);
      assert.deepEqual(report.badPieces, []);
      assert.deepEqual(report.missingPieces, []);
      assert.deepEqual(report.files, await expectedFileStates(layout, fx, pristine(), new Set()), 'every file complete');

      const lt = await ltRecheck(torrent, pristine());
      assert.deepEqual({ ok: lt.ok, missing: lt.missing, errors: lt.errors, havePieces: lt.havePieces }, { ok: true, missing: [], errors: null, havePieces: info.pieceCount });
    });

    void test('flipped bytes: badPieces is exactly the pieces holding them, the pieces libtorrent\'s recheck rejects', async () => {
      const { torrent, info, layout } = await prepared();
      const parent = await ensureDir(join(work, 'corrupt', c.id));
      await writeFixture(parent, fx);
      const flips = FLIPS[fx.name]!;
      for (const [rel, offset] of flips) await flipByte(fixturePath(parent, fx, rel), offset);
      const relOf = (rel: string): string => (fx.kind === 'file' ? fx.name : rel);
      const inTorrent = flips.filter(([rel]) => layout.byRelPath.has(relOf(rel)));
      const expected = sortedUnique(inTorrent.map(([rel, offset]) => pieceAt(layout, relOf(rel), offset)));
      assert.ok(expected.length >= 3, `the flips should hit several pieces (hit ${JSON.stringify(expected)})`);

      const { code, report } = await shoalVerify(torrent, parent);
      assert.equal(code, 1, 'exit code 1: incomplete');
      assert.equal(report.complete, false);
      assertCounts(report, info.pieceCount);
      assert.deepEqual(report.badPieces, expected, 'badPieces: exactly the pieces holding the flipped bytes');
      assert.deepEqual(report.missingPieces, [], 'nothing is missing');
      assert.deepEqual(report.files, await expectedFileStates(layout, fx, parent, new Set(expected)), 'files touching a bad piece are incomplete');

      const lt = await ltRecheck(torrent, parent);
      assert.equal(lt.errors, null, 'libtorrent recheck errors');
      assert.deepEqual(lt.missing, expected, 'libtorrent rejects the same pieces');
      assert.deepEqual(sortedUnique([...report.badPieces, ...report.missingPieces]), lt.missing, 'shoal bad+missing = libtorrent missing');
    });

    void test('a deleted file: its pieces are missing (exit 1), as libtorrent\'s recheck finds', async () => {
      const { torrent, info, layout } = await prepared();
      const parent = await ensureDir(join(work, 'deleted', c.id));
      await writeFixture(parent, fx);
      const relOf = (rel: string): string => (fx.kind === 'file' ? fx.name : rel);
      const deleted = DELETE[fx.name]!.filter((rel) => layout.byRelPath.has(relOf(rel)));
      assert.ok(deleted.some((rel) => layout.byRelPath.get(relOf(rel))!.length > 0), 'a file with data is deleted');
      for (const rel of deleted) await rm(fixturePath(parent, fx, rel));
      const expected = sortedUnique(deleted.flatMap((rel) => piecesOfFile(layout, layout.byRelPath.get(relOf(rel))!)));
      if (fx.kind === 'file') assert.deepEqual(expected, range(0, info.pieceCount), 'the single file holds every piece');

      const { code, report } = await shoalVerify(torrent, parent);
      assert.equal(code, 1, 'exit code 1: incomplete');
      assert.equal(report.complete, false);
      assertCounts(report, info.pieceCount);
      assert.deepEqual(report.missingPieces, expected, 'missingPieces: exactly the pieces of the deleted file');
      assert.deepEqual(report.badPieces, [], 'nothing is bad');
      const states = await expectedFileStates(layout, fx, parent, new Set(expected));
      assert.deepEqual(report.files, states, 'the deleted files (and v1 files sharing their pieces) are incomplete');
      for (const rel of deleted) {
        const path = layout.byRelPath.get(relOf(rel))!.path;
        assert.equal(report.files.find((f) => f.path === path)?.complete, false, `${path} is reported incomplete`);
      }

      // libtorrent second (it creates the empty files it lists, which would hide the deletion from shoal).
      const lt = await ltRecheck(torrent, parent);
      assert.equal(lt.errors, null, 'libtorrent recheck errors');
      assert.deepEqual(lt.missing, expected, 'libtorrent misses the same pieces');
      assert.deepEqual(sortedUnique([...report.badPieces, ...report.missingPieces]), lt.missing, 'shoal bad+missing = libtorrent missing');
    });
  });
}
