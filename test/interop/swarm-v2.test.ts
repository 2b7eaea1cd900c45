/**
 * v2 (BEP 52) and hybrid torrents between shoal and libtorrent, both directions (the issue's acceptance
 * list, item 6), from .torrent files (shoal cannot yet fetch a v2-only torrent from a magnet link: that
 * needs BEP 52 hash requests):
 *  - shoal makes the torrent (`shoal create --v2|--hybrid`) and seeds it; libtorrent downloads;
 *  - libtorrent makes it (lt.py create --v2|--hybrid) and seeds it; shoal downloads.
 * The data is a folder whose files exercise v2's per-file alignment: a file that ends mid-piece, one
 * that fills whole pieces, two identical files, one smaller than a piece (no piece layer), an empty
 * one. Every file must arrive complete and byte-identical; pad files must not appear on disk.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ltCreate } from './support/tools.js';
import { assertSameData, listFiles, MiB } from './support/swarm-data.js';
import { writeFixture } from './support/fixtures.js';
import type { Fixture } from './support/fixtures.js';
import { expectLtDone, expectShoalGetDone, startLt, startLtSeed, startShoalGet, startShoalSeed } from './support/swarm-clients.js';
import { killAll } from './support/swarm-procs.js';
import { shoalCreateTorrent, useWorkspace } from './support/swarm-setup.js';

const ws = useWorkspace('v2');

const PIECE = 65536;

function folder(name: string): Fixture {
  return {
    name,
    label: `${name}: five files`,
    kind: 'folder',
    files: [
      { path: 'empty.dat', size: 0 },
      { path: 'one.bin', size: 1 * MiB + 1 },
      { path: 'small.txt', size: 5_000 },
      { path: 'two/dupe.bin', size: 1 * MiB + 1, sameAs: 'one.bin' },
      { path: 'two/three.bin', size: 2 * MiB },
    ],
  };
}

/** Files under the download's root other than the fixture's (pad files written to disk, say). */
async function strayFiles(fx: Fixture, parent: string): Promise<string[]> {
  const want = new Set(fx.files.map((f) => f.path));
  return (await listFiles(join(parent, fx.name))).filter((p) => !want.has(p));
}

for (const version of ['v2', 'hybrid'] as const) {
  void test(`${version} torrent made by shoal: shoal seeds → libtorrent downloads`, { timeout: 60_000 }, async () => {
    const fx = folder(`shoal-${version}`);
    const src = await ws.sub('src');
    await writeFixture(src, fx);
    const t = await shoalCreateTorrent(join(src, fx.name), join(ws.root, `shoal-${version}.torrent`), { version, pieceLength: String(PIECE) });
    try {
      const { ready } = await startShoalSeed([t.torrent, '--dir', src]);
      assert.equal(ready.pieces, ready.pieceCount, `the seeder does not have every piece: ${JSON.stringify(ready)}`);
      const dl = await ws.sub('libtorrent');
      const { proc: lt } = await startLt('get', t.torrent, dl, { peers: [`127.0.0.1:${ready.port}`], timeoutSec: 40 });
      await expectLtDone(lt, 45_000);
      await assertSameData(fx, src, dl, 'libtorrent');
    } finally {
      await killAll();
    }
  });

  void test(`${version} torrent made by libtorrent: libtorrent seeds → shoal downloads (from the .torrent)`, { timeout: 60_000 }, async () => {
    const fx = folder(`lt-${version}`);
    const src = await ws.sub('src');
    await writeFixture(src, fx);
    const torrent = join(ws.root, `lt-${version}.torrent`);
    await ltCreate(join(src, fx.name), torrent, version, PIECE);
    try {
      const { port } = await startLtSeed(torrent, src);
      const dl = await ws.sub('shoal');
      const get = await startShoalGet(torrent, dl, ['--peer', `127.0.0.1:${port}`]);
      await expectShoalGetDone(get, 20_000);
      await assertSameData(fx, src, dl, 'shoal');
      assert.deepEqual(await strayFiles(fx, dl), [], 'shoal wrote files the torrent does not hold (pad files?)');
    } finally {
      await killAll();
    }
  });
}
