/**
 * Torrents shoal makes (`shoal create --v1|--v2|--hybrid`) are torrents libtorrent reads the same way:
 *  - libtorrent loads them with the info-hashes, name, sizes, piece count and files shoal reports;
 *  - libtorrent's recheck finds every piece valid against the original data (and so does shoal verify);
 *  - libtorrent's own torrent of the same data (same version and piece length) has the same
 *    info-hashes: always for v2 and hybrid (shoal orders files component-wise by bytes and pads like
 *    libtorrent), and for v1 wherever libtorrent's file order (the order it reads the folder in) agrees.
 * Single files and nested folders with empty and hidden files; piece lengths 16K, 32K, 64K and automatic.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { tempDir } from '../helpers/cli.js';
import { comparePaths, totalSize, writeFixture, BIG, CHAIN, SINGLE, SOLO, TREE } from './support/fixtures.js';
import type { Fixture } from './support/fixtures.js';
import { ensureDir, ltCreate, ltInfo, ltRecheck, once, requireTools, shoalCreate, shoalInfo, shoalVerify } from './support/tools.js';
import type { Version } from './support/tools.js';

interface CreateCase {
  fixture: Fixture;
  /** As given to `--piece-length`; undefined: shoal chooses. */
  pieceLength?: string;
  /** The piece length the argument means, or (auto) the one shoal's documented rule picks. */
  expectedPieceLength: number;
  /** Versions to make (default: all three). */
  versions?: readonly Version[];
}

/** shoal's rule for an automatic piece length: the smallest power of two ≥ 16 KiB giving ≤ 2000 pieces. */
function autoRule(total: number): number {
  let l = 16 * 1024;
  while (l < 16 * 1024 * 1024 && Math.ceil(total / l) > 2000) l *= 2;
  return l;
}

const CASES: CreateCase[] = [
  { fixture: SINGLE, pieceLength: '16K', expectedPieceLength: 16384 },
  { fixture: SINGLE, expectedPieceLength: autoRule(totalSize(SINGLE.files)) },
  { fixture: TREE, pieceLength: '16384', expectedPieceLength: 16384 },
  { fixture: TREE, pieceLength: '64K', expectedPieceLength: 65536 },
  { fixture: TREE, expectedPieceLength: autoRule(totalSize(TREE.files)) },
  { fixture: CHAIN, pieceLength: '32K', expectedPieceLength: 32768 },
  { fixture: BIG, expectedPieceLength: autoRule(totalSize(BIG.files)) },
  // v2-only is left out for a folder holding one file: the v2 format cannot tell it from a single
  // file, and libtorrent then names the torrent after the file (a display difference, not a bug).
  { fixture: SOLO, pieceLength: '16K', expectedPieceLength: 16384, versions: ['v1', 'hybrid'] },
];

const ALL_VERSIONS: readonly Version[] = ['v1', 'v2', 'hybrid'];

let work = '';
let cleanup: () => Promise<void> = () => Promise.resolve();
const dataDir = (): string => join(work, 'data');

before(async () => {
  ({ dir: work, cleanup } = await tempDir('shoal-interop-create-'));
  await ensureDir(dataDir());
  for (const fx of [SINGLE, TREE, CHAIN, SOLO, BIG]) await writeFixture(dataDir(), fx);
});
after(() => cleanup());

void test('the interop tools are installed (libtorrent, mktorrent, transmission-create)', async () => {
  await requireTools();
});

void test('the automatic piece length is above 16 KiB for the big file (so "auto" is not just 16K)', () => {
  assert.equal(autoRule(totalSize(BIG.files)), 32768);
});

for (const cc of CASES) {
  for (const version of cc.versions ?? ALL_VERSIONS) {
    const fx = cc.fixture;
    const what = `${fx.label} (${fx.name})`;
    const pl = cc.pieceLength ?? 'auto';
    const id = `${version}-${fx.name}-${pl}`;

    void describe(`shoal create --${version} of ${what}, piece length ${pl}`, () => {
      const created = once(async () => {
        await requireTools();
        const out = join(await ensureDir(join(work, 'shoal')), `${id}.torrent`);
        const d = await shoalCreate(join(dataDir(), fx.name), out, version, cc.pieceLength);
        return { torrent: out, created: d };
      });

      void test('libtorrent loads it with the info-hashes, name, sizes, piece count and files shoal reports', async () => {
        const { torrent, created: d } = await created();
        assert.equal(d.torrent, torrent, 'shoal create --json names the file it wrote');
        const [s, lt] = await Promise.all([shoalInfo(torrent), ltInfo(torrent)]);
        assert.equal(s.version, version);
        assert.equal(d.infoHash, s.infoHash, 'create --json and info --json agree (v1)');
        assert.equal(d.infoHashV2, s.infoHashV2, 'create --json and info --json agree (v2)');
        if (version === 'v2') assert.equal(s.infoHash, null);
        else assert.match(s.infoHash ?? '', /^[0-9a-f]{40}$/);
        if (version === 'v1') assert.equal(s.infoHashV2, null);
        else assert.match(s.infoHashV2 ?? '', /^[0-9a-f]{64}$/);

        assert.equal(lt.infoHash, s.infoHash, 'libtorrent v1 info-hash');
        assert.equal(lt.infoHashV2, s.infoHashV2, 'libtorrent v2 info-hash');
        assert.equal(lt.name, fx.name, 'libtorrent name');
        assert.equal(s.name, fx.name, 'shoal name');
        assert.equal(lt.length, totalSize(fx.files), 'libtorrent total length');
        assert.equal(s.length, lt.length, 'total length');
        assert.equal(lt.pieceLength, cc.expectedPieceLength, 'libtorrent piece length');
        assert.equal(s.pieceLength, lt.pieceLength, 'piece length');
        assert.equal(s.pieceCount, lt.pieceCount, 'piece count');

        const ltFiles = lt.files.filter((f) => !f.pad).map((f) => ({ path: f.path, length: f.length }));
        assert.deepEqual(s.files, ltFiles, 'files in torrent order');
        const prefix = fx.kind === 'folder' ? `${fx.name}/` : '';
        const expected = fx.files.map((f) => ({ path: prefix + f.path, length: f.size })).sort((a, b) => comparePaths(a.path, b.path));
        assert.deepEqual(s.files, expected, 'every file (hidden and empty ones too), ordered component-wise by bytes');
      });

      void test('libtorrent\'s recheck finds every piece valid against the original data (and shoal verify agrees)', async () => {
        const { torrent } = await created();
        const lt = await ltRecheck(torrent, dataDir());
        assert.deepEqual({ ok: lt.ok, missing: lt.missing, errors: lt.errors }, { ok: true, missing: [], errors: null });
        assert.equal(lt.havePieces, lt.numPieces, 'libtorrent has every piece');
        const { code, report } = await shoalVerify(torrent, dataDir());
        assert.equal(code, 0, 'shoal verify exit code');
        assert.equal(report.complete, true);
        assert.equal(report.piecesGood, lt.numPieces);
      });

      void test('libtorrent\'s own torrent of the same data has the same info-hashes', async (t) => {
        const { torrent } = await created();
        const s = await shoalInfo(torrent);
        const ltOut = join(await ensureDir(join(work, 'libtorrent')), `${id}.torrent`);
        const made = await ltCreate(join(dataDir(), fx.name), ltOut, version, s.pieceLength);
        const lt = await ltInfo(ltOut);
        assert.equal(lt.pieceLength, s.pieceLength);
        const ltFiles = lt.files.filter((f) => !f.pad).map((f) => ({ path: f.path, length: f.length }));

        if (version !== 'v1' || fx.kind === 'file' || fx === CHAIN || fx === SOLO) {
          // v2/hybrid: canonical order; v1: a single file, or a folder with one entry per level.
          assert.deepEqual(ltFiles, s.files, 'libtorrent lists the files in shoal\'s order');
          if (version === 'hybrid') {
            assert.equal(s.padFiles, lt.files.filter((f) => f.pad).length, 'as many BEP 47 pad files as libtorrent writes (it pads the last file only when the torrent lists more than one file)');
          }
          assert.deepEqual({ infoHash: made.infoHash, infoHashV2: made.infoHashV2 }, { infoHash: s.infoHash, infoHashV2: s.infoHashV2 }, 'same info-hashes');
        } else if (JSON.stringify(ltFiles) === JSON.stringify(s.files)) {
          // v1 of a folder: libtorrent keeps the order it read the folder in; here it agrees with shoal's.
          t.diagnostic('libtorrent read the folder in shoal\'s order: comparing v1 info-hashes');
          assert.equal(made.infoHash, s.infoHash, 'same v1 info-hash where the file order agrees');
        } else {
          // The order differs (libtorrent does not sort v1 folders): the same files, in another order.
          t.diagnostic('libtorrent read the folder in another order: comparing file lists, not v1 info-hashes');
          const sorted = [...ltFiles].sort((a, b) => comparePaths(a.path, b.path));
          assert.deepEqual(sorted, s.files, 'the same files, only ordered differently');
          assert.notEqual(made.infoHash, s.infoHash, 'a different order is a different torrent');
        }
      });
    });
  }
}
