/**
 * shoal seeds, a real client downloads (the acceptance list, item 1):
 *  - libtorrent dials shoal directly (given its address);
 *  - aria2 finds shoal through a local opentracker (aria2 cannot be given a peer address);
 *  - Transmission 3.00 is dialled by shoal (`--peer`): it never dials 127.0.0.1 itself.
 * Each download must be complete and byte-identical to the original (size and SHA-256).
 */
import { test } from 'node:test';
import { join } from 'node:path';
import { assertSameData, fileFixture, MiB, writeData } from './support/swarm-data.js';
import { expectLtDone, startAria2Get, startLt, startOpentracker, startShoalSeed, Transmission } from './support/swarm-clients.js';
import { freePort, killAll } from './support/swarm-procs.js';
import { shoalCreateTorrent, useWorkspace } from './support/swarm-setup.js';

const ws = useWorkspace('shoal-seeds');

void test('shoal seeds → libtorrent downloads (libtorrent dials shoal)', { timeout: 90_000 }, async () => {
  const src = await ws.sub('src');
  const fx = fileFixture('to-libtorrent.bin', 8 * MiB + 12_345);
  await writeData(src, fx);
  const t = await shoalCreateTorrent(join(src, fx.name), join(ws.root, 'to-libtorrent.torrent'), { pieceLength: '64K' });
  try {
    const { ready } = await startShoalSeed([t.torrent, '--dir', src]);
    const dl = await ws.sub('libtorrent');
    const { proc: lt } = await startLt('get', t.torrent, dl, { peers: [`127.0.0.1:${ready.port}`], timeoutSec: 60 });
    await expectLtDone(lt, 70_000);
    await assertSameData(fx, src, dl, 'libtorrent');
  } finally {
    await killAll();
  }
});

void test('shoal seeds → aria2 downloads (through opentracker, HTTP announce)', { timeout: 90_000 }, async () => {
  const src = await ws.sub('src');
  const fx = fileFixture('to-aria2.bin', 6 * MiB + 777);
  await writeData(src, fx);
  const trackerPort = await freePort(true);
  const url = `http://127.0.0.1:${trackerPort}/announce`;
  const t = await shoalCreateTorrent(join(src, fx.name), join(ws.root, 'to-aria2.torrent'), { pieceLength: '32K', trackers: [url] });
  try {
    const tracker = await startOpentracker(await ws.sub('tracker'), [t.infoHash!], trackerPort);
    const { proc: seeder } = await startShoalSeed([t.torrent, '--dir', src]);
    // shoal has announced itself as a seeder before aria2 asks the tracker for peers
    await tracker.waitForSwarm(t.infoHash!, { complete: 1 }, 20_000).catch((e: Error) => {
      throw new Error(`${e.message}\n${seeder.describe()}`);
    });
    const dl = await ws.sub('aria2');
    const { proc: aria2 } = await startAria2Get(t.torrent, dl);
    const exit = await aria2.waitExit(25_000);
    if (exit.code !== 0) throw new Error(`aria2c did not finish the download\n${aria2.describe()}\n${seeder.describe()}`);
    await assertSameData(fx, src, dl, 'aria2');
  } finally {
    await killAll();
  }
});

void test('shoal seeds → Transmission downloads (shoal dials Transmission with --peer)', { timeout: 120_000 }, async () => {
  const src = await ws.sub('src');
  const fx = fileFixture('to-transmission.bin', 4 * MiB + 4_321);
  await writeData(src, fx);
  const t = await shoalCreateTorrent(join(src, fx.name), join(ws.root, 'to-transmission.torrent'), { pieceLength: '32K' });
  try {
    const tr = await Transmission.start(await ws.sub('transmission'));
    const dl = await ws.sub('transmission-dl');
    await tr.add(t.torrent, dl);
    await tr.waitChecked(t.infoHash!, 20_000);
    const { proc: seeder } = await startShoalSeed([t.torrent, '--dir', src, '--peer', tr.peer]);
    await tr.waitComplete(t.infoHash!, 90_000, () => `\n${seeder.describe()}\n${tr.proc.describe()}`);
    await assertSameData(fx, src, dl, 'Transmission');
  } finally {
    await killAll();
  }
});
