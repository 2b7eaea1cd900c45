import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, writeFile, symlink, readFile, rm, truncate, stat, readdir } from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { createTorrent } from '../../src/storage/create.js';
import { verifyTorrent } from '../../src/storage/verify.js';
import { FileStorage } from '../../src/storage/file-storage.js';
import { HashPool } from '../../src/storage/hash-pool.js';
import { PieceLayout } from '../../src/storage/piece-layout.js';
import { dataRoot, nextPowerOfTwo, BLOCK_SIZE } from '../../src/metainfo/merkle.js';
import { parseTorrent } from '../../src/metainfo/parse.js';
import { realFiles } from '../../src/metainfo/types.js';
import type { Metainfo } from '../../src/metainfo/types.js';
import { tempDir } from '../helpers/cli.js';

const PL = 16384;

function bytes(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

/** name -> contents; nested folders by '/' */
const TREE: Record<string, number> = {
  '.hidden': 3,
  'a.bin': 1000,
  'b.bin': 40000,
  'empty.txt': 0,
  'sub/c.bin': 5000,
  'sub/deeper/d.bin': 3 * PL,
  'sub.txt': 17,
};

async function makeTree(root: string): Promise<void> {
  let seed = 1;
  for (const [rel, size] of Object.entries(TREE)) {
    const p = join(root, ...rel.split('/'));
    await mkdir(join(p, '..'), { recursive: true });
    await writeFile(p, bytes(size, seed++));
  }
}

/** Concatenation of the layout (pad files as zeros) read straight from disk. */
async function layoutBytes(m: Metainfo, dir: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  for (const f of m.files) parts.push(f.pad ? Buffer.alloc(f.length) : await readFile(join(dir, ...f.path)));
  return Buffer.concat(parts);
}

describe('create and verify', () => {
  let dir = '';
  let cleanup: () => Promise<void> = async () => {};
  let pool: HashPool;
  before(async () => {
    ({ dir, cleanup } = await tempDir());
    await makeTree(join(dir, 'data'));
    pool = new HashPool({ size: 2 });
  });
  after(async () => {
    await pool.close();
    await cleanup();
  });

  for (const version of ['v1', 'v2', 'hybrid'] as const) {
    test(`${version}: hashes match an independent computation`, async () => {
      const { torrent, metainfo: m } = await createTorrent(join(dir, 'data'), { version, pieceLength: PL, pool });
      assert.equal(m.version, version);
      assert.deepEqual(
        realFiles(m).map((f) => f.path.join('/')),
        ['.hidden', 'a.bin', 'b.bin', 'empty.txt', 'sub/c.bin', 'sub/deeper/d.bin', 'sub.txt'].map((p) => `data/${p}`),
        'component-wise byte order: a folder sorts before a file that extends its name',
      );
      if (version !== 'v2') {
        const all = await layoutBytes(m, dir);
        for (let i = 0; i < m.pieceCount; i++) {
          const expected = createHash('sha1').update(all.subarray(i * PL, (i + 1) * PL)).digest();
          assert.deepEqual(m.pieces!.subarray(i * 20, i * 20 + 20), expected, `piece ${i}`);
        }
      }
      if (version !== 'v1') {
        for (const f of realFiles(m)) {
          if (f.length === 0) continue;
          const data = await readFile(join(dir, ...f.path));
          assert.deepEqual(f.piecesRoot, dataRoot(data, nextPowerOfTwo(Math.ceil(data.length / BLOCK_SIZE))), f.path.join('/'));
        }
        // The multi-piece files carry a layer, the others none.
        assert.equal(m.pieceLayers!.size, 2);
      }
      // Deterministic: the same input gives the same bytes, and no creation date by default.
      const again = await createTorrent(join(dir, 'data'), { version, pieceLength: PL, pool });
      assert.deepEqual(again.torrent, torrent);
      assert.equal(m.creationDate, undefined);
    });

    test(`${version}: verify finds good, bad and missing pieces`, async () => {
      const work = join(dir, `verify-${version}`);
      await rm(work, { recursive: true, force: true });
      await makeTree(join(work, 'data'));
      const { metainfo: m } = await createTorrent(join(work, 'data'), { version, pieceLength: PL, pool });
      const ok = await verifyTorrent(m, work, { pool });
      assert.equal(ok.complete, true);
      assert.equal(ok.piecesGood, m.pieceCount);

      // Flip one byte in b.bin at offset 20000 and delete sub/c.bin.
      const layout = PieceLayout.of(m);
      const bIndex = m.files.findIndex((f) => f.path.join('/') === 'data/b.bin');
      const cIndex = m.files.findIndex((f) => f.path.join('/') === 'data/sub/c.bin');
      const bPath = join(work, 'data', 'b.bin');
      const b = await readFile(bPath);
      b[20000] = b[20000]! ^ 0xff;
      await writeFile(bPath, b);
      await rm(join(work, 'data', 'sub', 'c.bin'));
      const badPiece = Math.floor((m.files[bIndex]!.offset + 20000) / PL);
      const { first, end } = layout.filePieces(cIndex);
      const report = await verifyTorrent(m, work, { pool });
      assert.equal(report.complete, false);
      assert.deepEqual(report.badPieces, [badPiece]);
      assert.deepEqual(report.missingPieces, Array.from({ length: end - first }, (_, i) => first + i));
      assert.equal(report.piecesGood + report.piecesBad + report.piecesMissing, m.pieceCount);
      const incomplete = report.files.filter((f) => !f.complete).map((f) => f.path);
      assert.ok(incomplete.includes('data/b.bin') && incomplete.includes('data/sub/c.bin'));
      // In v1 d.bin's first piece also holds the end of the deleted c.bin; aligned layouts keep it apart.
      assert.equal(report.files.find((f) => f.path === 'data/sub/deeper/d.bin')!.complete, version !== 'v1');

      // A file cut short is missing data too, and the torrent's own folder works as the target.
      await truncate(join(work, 'data', 'sub', 'deeper', 'd.bin'), PL);
      const fromContent = await verifyTorrent(m, join(work, 'data'), { pool, contentFolder: true });
      const dIndex = m.files.findIndex((f) => f.path.join('/') === 'data/sub/deeper/d.bin');
      const dPieces = layout.filePieces(dIndex);
      for (let p = dPieces.first + 1; p < dPieces.end; p++) assert.ok(fromContent.missingPieces.includes(p), `piece ${p} missing`);
    });
  }

  test('a single file makes a single-file torrent in every version', async () => {
    for (const version of ['v1', 'v2', 'hybrid'] as const) {
      const { metainfo: m } = await createTorrent(join(dir, 'data', 'b.bin'), { version, pool });
      assert.equal(m.multiFile, false);
      assert.deepEqual(realFiles(m).map((f) => f.path), [['b.bin']]);
      assert.equal(m.files.length, 1, 'no pad file in a single-file torrent');
      assert.equal((await verifyTorrent(m, join(dir, 'data'), { pool })).complete, true);
    }
  });

  test('symlinks are followed, broken links and FIFOs skipped with a warning', async () => {
    const root = join(dir, 'links');
    await mkdir(join(root, 'real'), { recursive: true });
    await writeFile(join(root, 'real', 'x.bin'), bytes(100, 9));
    await symlink(join(root, 'real', 'x.bin'), join(root, 'link-to-file'));
    await symlink(join(root, 'real'), join(root, 'link-to-dir'));
    await symlink(join(root, 'nowhere'), join(root, 'broken'));
    await symlink(root, join(root, 'real', 'loop'));
    execFileSync('mkfifo', [join(root, 'fifo')]);
    const { metainfo: m, warnings } = await createTorrent(root, { pool });
    assert.deepEqual(realFiles(m).map((f) => f.path.slice(1).join('/')), ['link-to-dir/x.bin', 'link-to-file', 'real/x.bin']);
    assert.equal(warnings.length, 4, warnings.join('; '));
    assert.ok(warnings.some((w) => w.includes('broken')));
    assert.ok(warnings.some((w) => w.includes('fifo')));
    assert.ok(warnings.some((w) => w.includes('loop')));
  });

  test('executable files get the BEP 47 "x" attribute', async () => {
    const root = join(dir, 'exec');
    await mkdir(root, { recursive: true });
    await writeFile(join(root, 'run.sh'), '#!/bin/sh\n', { mode: 0o755 });
    await writeFile(join(root, 'data.txt'), 'data');
    const { metainfo: m } = await createTorrent(root, { version: 'hybrid', pool });
    assert.deepEqual(realFiles(m).map((f) => [f.path[1], f.attr]), [['data.txt', ''], ['run.sh', 'x']]);
  });

  test('an empty folder is refused', async () => {
    const root = join(dir, 'nothing');
    await mkdir(root, { recursive: true });
    await writeFile(join(root, 'zero'), '');
    await assert.rejects(createTorrent(root, { pool }), (e: Error & { code?: string }) => e.code === 'ERR_STORAGE_EMPTY');
  });
});

describe('FileStorage', () => {
  test('blocks written across file boundaries and pads land in the right files; reads give them back', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      await makeTree(join(dir, 'src', 'data'));
      for (const version of ['v1', 'hybrid'] as const) {
        const { torrent } = await createTorrent(join(dir, 'src', 'data'), { version, pieceLength: PL });
        const m = parseTorrent(torrent);
        const from = new FileStorage(m, join(dir, 'src'));
        const to = new FileStorage(m, join(dir, `dst-${version}`));
        const layout = PieceLayout.of(m);
        // Write pieces in reverse order, in 5000-byte blocks, so writes land out of order and unaligned.
        for (let p = layout.pieceCount - 1; p >= 0; p--) {
          const size = layout.pieceSize(p);
          for (let off = 0; off < size; off += 5000) {
            const len = Math.min(5000, size - off);
            await to.write(p, off, await from.read(p, off, len));
          }
        }
        await to.createEmptyFiles();
        await to.close();
        await from.close();
        const report = await verifyTorrent(m, join(dir, `dst-${version}`));
        assert.equal(report.complete, true, `${version}: ${JSON.stringify(report.badPieces)} ${JSON.stringify(report.missingPieces)}`);
        const top = await readdir(join(dir, `dst-${version}`, 'data'));
        assert.ok(!top.includes('.pad'), 'pad files are never written');
        assert.equal((await stat(join(dir, `dst-${version}`, 'data', 'empty.txt'))).size, 0);
      }
    } finally {
      await cleanup();
    }
  });

  test('writes never truncate what is on disk, and out-of-range requests are refused', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      await writeFile(join(dir, 'one.bin'), bytes(3 * PL, 5));
      const { metainfo: m } = await createTorrent(join(dir, 'one.bin'), { pieceLength: PL });
      const s = new FileStorage(m, dir);
      await s.write(1, 0, Buffer.alloc(10, 7));
      assert.equal((await stat(join(dir, 'one.bin'))).size, 3 * PL);
      assert.deepEqual(await s.read(1, 0, 10), Buffer.alloc(10, 7));
      await assert.rejects(s.read(3, 0, 1), /no piece 3/);
      await assert.rejects(s.read(2, PL - 5, 10), /outside piece/);
      await s.close();
    } finally {
      await cleanup();
    }
  });
});
