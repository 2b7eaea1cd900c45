/**
 * Magnet-only downloads from a libtorrent seeder (the acceptance list, item 5): shoal is given
 * nothing but `magnet:?xt=urn:btih:<hash>` and the seeder's address, fetches the info dictionary from
 * libtorrent (BEP 9, ut_metadata), then the data.
 *  - a v1 torrent of a folder (several files, one empty);
 *  - a hybrid torrent by both its hashes (btih + btmh): a v1 download that libtorrent serves too.
 * The metadata event must describe the torrent as libtorrent made it; the data must be byte-identical.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ltCreate, ltInfo } from './support/tools.js';
import { assertSameData, MiB } from './support/swarm-data.js';
import { writeFixture } from './support/fixtures.js';
import type { Fixture } from './support/fixtures.js';
import { expectShoalGetDone, startLtSeed, startShoalGet } from './support/swarm-clients.js';
import { killAll } from './support/swarm-procs.js';
import { useWorkspace } from './support/swarm-setup.js';

const ws = useWorkspace('magnet');

const FOLDER: Fixture = {
  name: 'magnet-folder',
  label: 'a folder of four files',
  kind: 'folder',
  files: [
    { path: 'a.bin', size: 2 * MiB + 17 },
    { path: 'sub/b.bin', size: 1 * MiB },
    { path: 'sub/empty.dat', size: 0 },
    { path: 'z.txt', size: 33_333 },
  ],
};

const HYBRID_FILE: Fixture = {
  name: 'magnet-hybrid.bin',
  label: 'a single file',
  kind: 'file',
  files: [{ path: 'magnet-hybrid.bin', size: 3 * MiB + 12_345 }],
};

const cases = [
  { fx: FOLDER, version: 'v1' as const, magnet: (h: { infoHash: string | null; infoHashV2: string | null }) => `magnet:?xt=urn:btih:${h.infoHash!}` },
  {
    fx: HYBRID_FILE,
    version: 'hybrid' as const,
    magnet: (h: { infoHash: string | null; infoHashV2: string | null }) => `magnet:?xt=urn:btih:${h.infoHash!}&xt=urn:btmh:1220${h.infoHashV2!}`,
  },
];

for (const c of cases) {
  void test(`shoal downloads ${c.fx.label} (${c.version} torrent) from a magnet link alone, metadata from libtorrent (BEP 9)`, { timeout: 60_000 }, async () => {
    const src = await ws.sub('src');
    await writeFixture(src, c.fx);
    const torrent = join(ws.root, `${c.fx.name}.torrent`);
    const hashes = await ltCreate(join(src, c.fx.name), torrent, c.version, 32768);
    const info = await ltInfo(torrent);
    const magnet = c.magnet(hashes);
    try {
      const { port } = await startLtSeed(torrent, src);
      const dl = await ws.sub('shoal');
      const get = await startShoalGet(magnet, dl, ['--peer', `127.0.0.1:${port}`]);
      const meta = await get.waitForEvent('metadata', 15_000);
      assert.equal(meta.name, c.fx.name, `metadata name: ${JSON.stringify(meta)}`);
      assert.equal(meta.length, info.length, `metadata length: ${JSON.stringify(meta)}`);
      assert.equal(meta.pieceCount, info.pieceCount, `metadata pieceCount: ${JSON.stringify(meta)}`);
      assert.equal(meta.files, c.fx.files.length, `metadata files: ${JSON.stringify(meta)}`);
      await expectShoalGetDone(get, 40_000);
      await assertSameData(c.fx, src, dl, 'shoal (magnet)');
    } finally {
      await killAll();
    }
  });
}
