/**
 * `shoal info --json` reads torrents made by other tools exactly as libtorrent does: the same v1 and v2
 * info-hashes, name, total length, piece length, piece count and (non-pad) files in torrent order —
 * for torrents from mktorrent, transmission-create and libtorrent (v1, v2, hybrid), of a single file
 * and of nested folders with empty and hidden files and sizes that are not multiples of the piece length.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { tempDir } from '../helpers/cli.js';
import { comparePaths, totalSize, writeFixture, SINGLE, SOLO, TREE } from './support/fixtures.js';
import { FOREIGN_CASES } from './support/foreign.js';
import { layoutOf, layoutRuleViolations } from './support/layout.js';
import { ensureDir, ltInfo, once, requireTools, shoalInfo } from './support/tools.js';

let work = '';
let cleanup: () => Promise<void> = () => Promise.resolve();
const dataDir = (): string => join(work, 'data');

before(async () => {
  ({ dir: work, cleanup } = await tempDir('shoal-interop-info-'));
  await ensureDir(dataDir());
  await writeFixture(dataDir(), SINGLE);
  await writeFixture(dataDir(), TREE);
  await writeFixture(dataDir(), SOLO);
});
after(() => cleanup());

void test('the interop tools are installed (libtorrent, mktorrent, transmission-create)', async () => {
  await requireTools();
});

for (const c of FOREIGN_CASES) {
  void describe(`${c.creator} torrent of ${c.fixture.label} (${c.fixture.name})`, () => {
    const torrent = once(async () => {
      await requireTools();
      const out = join(await ensureDir(join(work, 'torrents')), `${c.id}.torrent`);
      await c.make(dataDir(), out);
      return out;
    });

    void test('shoal info --json gives the info-hashes, name, sizes and piece count libtorrent computes', async () => {
      const t = await torrent();
      const [s, lt] = await Promise.all([shoalInfo(t), ltInfo(t)]);

      assert.equal(s.version, c.version, 'torrent version');
      if (c.version !== 'v2') assert.match(lt.infoHash ?? '', /^[0-9a-f]{40}$/, 'libtorrent sees a v1 info-hash');
      else assert.equal(lt.infoHash, null, 'libtorrent sees no v1 info-hash');
      if (c.version !== 'v1') assert.match(lt.infoHashV2 ?? '', /^[0-9a-f]{64}$/, 'libtorrent sees a v2 info-hash');
      else assert.equal(lt.infoHashV2, null, 'libtorrent sees no v2 info-hash');
      assert.equal(s.infoHash, lt.infoHash, 'v1 info-hash');
      assert.equal(s.infoHashV2, lt.infoHashV2, 'v2 info-hash');

      assert.equal(s.name, lt.name, 'name');
      assert.equal(s.name, c.fixture.name, 'name is the file or folder name');
      assert.equal(s.length, lt.length, 'total length (pad files excluded)');
      assert.equal(s.length, totalSize(c.files), 'total length is the sum of the shared files');
      assert.equal(s.pieceLength, lt.pieceLength, 'piece length');
      if (c.pieceLength !== undefined) assert.equal(s.pieceLength, c.pieceLength, 'piece length asked of the creator');
      assert.equal(s.pieceCount, lt.pieceCount, 'piece count');
    });

    void test('shoal lists the same files, in the same order, as libtorrent (pad files aside)', async () => {
      const t = await torrent();
      const [s, lt] = await Promise.all([shoalInfo(t), ltInfo(t)]);
      const ltFiles = lt.files.filter((f) => !f.pad).map((f) => ({ path: f.path, length: f.length }));
      assert.deepEqual(s.files, ltFiles, 'files in torrent order');
      assert.equal(s.fileCount, ltFiles.length, 'file count');
      // Hybrid torrents carry their pad files in the v1 list (v2-only ones have none; libtorrent synthesises them).
      if (c.version === 'hybrid') assert.equal(s.padFiles, lt.files.filter((f) => f.pad).length, 'pad files');

      // And they are the fixture's files (for transmission-create: without dotfiles and empty files).
      const prefix = c.fixture.kind === 'folder' ? `${c.fixture.name}/` : '';
      const expected = c.files.map((f) => ({ path: prefix + f.path, length: f.size })).sort((a, b) => comparePaths(a.path, b.path));
      const got = [...s.files].sort((a, b) => comparePaths(a.path, b.path));
      assert.deepEqual(got, expected, 'the shared files and their sizes');

      // The layout the piece arithmetic elsewhere relies on: v1 back to back, v2/hybrid piece-aligned.
      assert.deepEqual(layoutRuleViolations(layoutOf(lt), c.version), [], 'libtorrent layout follows the BEP 3 / BEP 52 rules');
    });
  });
}
