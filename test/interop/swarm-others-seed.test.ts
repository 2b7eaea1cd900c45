/**
 * A real client seeds, shoal downloads (the acceptance list, item 2):
 *  - libtorrent seeds its own torrent; shoal dials it (`--peer`);
 *  - aria2 seeds (`--seed-ratio=0.0 --check-integrity=true`) a mktorrent torrent; shoal finds it
 *    through a local opentracker;
 *  - Transmission 3.00 seeds; shoal dials it (Transmission accepts incoming connections on loopback).
 * `shoal get` must exit 0 with a "done" event, and the data must be byte-identical to the original.
 */
import { test } from 'node:test';
import { join } from 'node:path';
import { ltCreate } from './support/tools.js';
import { assertSameData, fileFixture, MiB, writeData } from './support/swarm-data.js';
import { expectShoalGetDone, startAria2Seed, startLtSeed, startOpentracker, startShoalGet, Transmission } from './support/swarm-clients.js';
import { freePort, killAll } from './support/swarm-procs.js';
import { hashesOf, mktorrentTorrent, useWorkspace } from './support/swarm-setup.js';

const ws = useWorkspace('others-seed');

void test('libtorrent seeds → shoal downloads (shoal dials libtorrent)', { timeout: 90_000 }, async () => {
  const src = await ws.sub('src');
  const fx = fileFixture('from-libtorrent.bin', 8 * MiB + 54_321);
  await writeData(src, fx);
  const torrent = join(ws.root, 'from-libtorrent.torrent');
  await ltCreate(join(src, fx.name), torrent, 'v1', 65536);
  try {
    const { port } = await startLtSeed(torrent, src);
    const dl = await ws.sub('shoal');
    const get = await startShoalGet(torrent, dl, ['--peer', `127.0.0.1:${port}`]);
    await expectShoalGetDone(get, 60_000);
    await assertSameData(fx, src, dl, 'shoal');
  } finally {
    await killAll();
  }
});

void test('aria2 seeds → shoal downloads (through opentracker, HTTP announce)', { timeout: 90_000 }, async () => {
  const src = await ws.sub('src');
  const fx = fileFixture('from-aria2.bin', 6 * MiB + 999);
  await writeData(src, fx);
  const trackerPort = await freePort(true);
  const torrent = join(ws.root, 'from-aria2.torrent');
  await mktorrentTorrent(join(src, fx.name), torrent, 15, `http://127.0.0.1:${trackerPort}/announce`); // 32 KiB pieces
  const infoHash = (await hashesOf(torrent)).infoHash!;
  try {
    const tracker = await startOpentracker(await ws.sub('tracker'), [infoHash], trackerPort);
    const { proc: aria2 } = await startAria2Seed(torrent, src);
    await tracker.waitForSwarm(infoHash, { complete: 1 }, 30_000).catch((e: Error) => {
      throw new Error(`${e.message}\n${aria2.describe()}`);
    });
    const dl = await ws.sub('shoal');
    const get = await startShoalGet(torrent, dl, []);
    await expectShoalGetDone(get, 60_000).catch((e: Error) => {
      throw new Error(`${e.message}\n${aria2.describe()}`);
    });
    await assertSameData(fx, src, dl, 'shoal');
  } finally {
    await killAll();
  }
});

void test('Transmission seeds → shoal downloads (shoal dials Transmission)', { timeout: 120_000 }, async () => {
  const trDir = await ws.sub('transmission');
  const src = await ws.sub('src');
  const fx = fileFixture('from-transmission.bin', 4 * MiB + 8_765);
  await writeData(src, fx);
  const torrent = join(ws.root, 'from-transmission.torrent');
  await mktorrentTorrent(join(src, fx.name), torrent, 16); // 64 KiB pieces
  const infoHash = (await hashesOf(torrent)).infoHash!;
  try {
    const tr = await Transmission.start(trDir);
    await tr.add(torrent, src);
    await tr.waitSeeding(infoHash, 30_000);
    const dl = await ws.sub('shoal');
    const get = await startShoalGet(torrent, dl, ['--peer', tr.peer]);
    await expectShoalGetDone(get, 90_000).catch((e: Error) => {
      throw new Error(`${e.message}\n${tr.proc.describe()}`);
    });
    await assertSameData(fx, src, dl, 'shoal');
  } finally {
    await killAll();
  }
});
