/**
 * Finding peers (the acceptance list, item 4): through a local opentracker, by HTTP announce and
 * by UDP announce (BEP 15; opentracker serves UDP on its -P port), and with direct peers (`--peer`).
 *  - shoal ↔ shoal through the tracker, HTTP and UDP;
 *  - shoal ↔ libtorrent through the tracker, each announcing by UDP or HTTP (so the tracker's view of
 *    shoal — its address and port — is what libtorrent uses, and the other way round);
 *  - shoal ↔ shoal with `--peer` only;
 *  - a shoal seeder learns of a peer that announced after it by re-announcing (`--announce-interval 2`):
 *    Transmission, which never dials 127.0.0.1, joins after the seeder's first announce, so the only
 *    way it gets data is the seeder finding it at a later announce and dialling it;
 *  - the announce events as the tracker sees them: "completed" once per finished download (BEP 3: not
 *    from a peer that started complete), and "stopped" when a seeder is stopped (SIGTERM), after which
 *    it exits 0.
 * Before a leecher starts, the tracker's scrape must list the seeder (so its announce reached it).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ltCreate } from './support/tools.js';
import { assertSameData, fileFixture, MiB, writeData } from './support/swarm-data.js';
import {
  expectLtDone,
  expectShoalGetDone,
  startLt,
  startLtSeed,
  startOpentracker,
  startShoalGet,
  startShoalSeed,
  Transmission,
} from './support/swarm-clients.js';
import type { Tracker } from './support/swarm-clients.js';
import { killAll, sleep } from './support/swarm-procs.js';
import { hashesOf, shoalCreateTorrent, useWorkspace } from './support/swarm-setup.js';

const ws = useWorkspace('discovery');

type Proto = 'http' | 'udp';
const urlOf = (t: Tracker, p: Proto): string => (p === 'http' ? t.http : t.udp);

/** A fresh single-file data set and its shoal torrent (no trackers in it: the tests give them). */
async function dataSet(name: string, size: number, pieceLength = '32K'): Promise<{ src: string; fx: ReturnType<typeof fileFixture>; torrent: string; infoHash: string }> {
  const src = await ws.sub('src');
  const fx = fileFixture(name, size);
  await writeData(src, fx);
  const t = await shoalCreateTorrent(join(src, fx.name), join(ws.root, `${name}.torrent`), { pieceLength });
  return { src, fx, torrent: t.torrent, infoHash: t.infoHash! };
}

for (const proto of ['http', 'udp'] as const) {
  void test(`shoal seeds → shoal downloads, both through opentracker (${proto.toUpperCase()} announce)`, { timeout: 60_000 }, async () => {
    const d = await dataSet(`tracker-${proto}.bin`, 3 * MiB + 1_001);
    try {
      const tracker = await startOpentracker(await ws.sub('tracker'), [d.infoHash]);
      const url = urlOf(tracker, proto);
      const { proc: seeder } = await startShoalSeed([d.torrent, '--dir', d.src, '--tracker', url]);
      await tracker.waitForSwarm(d.infoHash, { complete: 1 }, 15_000).catch((e: Error) => {
        throw new Error(`the shoal seeder's ${proto} announce did not reach the tracker: ${e.message}\n${seeder.describe()}`);
      });
      const dl = await ws.sub('shoal');
      const get = await startShoalGet(d.torrent, dl, ['--tracker', url]);
      await expectShoalGetDone(get, 40_000);
      await assertSameData(d.fx, d.src, dl, 'shoal');
    } finally {
      await killAll();
    }
  });

  void test(`the tracker counts shoal's completed downloads right (BEP 3 "completed" event, ${proto.toUpperCase()} announce)`, { timeout: 60_000 }, async () => {
    // BEP 3: "completed" is sent when a download completes, and not by a peer that started complete
    const d = await dataSet(`completed-${proto}.bin`, 1 * MiB + 3);
    try {
      const tracker = await startOpentracker(await ws.sub('tracker'), [d.infoHash]);
      const url = urlOf(tracker, proto);
      await startShoalSeed([d.torrent, '--dir', d.src, '--tracker', url]);
      await tracker.waitForSwarm(d.infoHash, { complete: 1 }, 15_000);
      await sleep(1_000); // every announce of the seeder's start has arrived
      const countedAtStart = await tracker.downloads(d.infoHash);
      const get = await startShoalGet(d.torrent, await ws.sub('shoal'), ['--tracker', url]);
      await expectShoalGetDone(get, 40_000);
      const counted = await tracker.downloads(d.infoHash);
      assert.deepEqual(
        { countedForTheSeedersStart: countedAtStart, countedForTheLeechersDownload: counted - countedAtStart },
        { countedForTheSeedersStart: 0, countedForTheLeechersDownload: 1 },
        'completed downloads the tracker counted: the seeder must not announce "completed" when it starts; the leecher must when it finishes',
      );
    } finally {
      await killAll();
    }
  });

  void test(`shoal seeds (${proto.toUpperCase()} announce) → libtorrent downloads through opentracker`, { timeout: 60_000 }, async () => {
    const d = await dataSet(`to-lt-${proto}.bin`, 3 * MiB + 2_002);
    try {
      const tracker = await startOpentracker(await ws.sub('tracker'), [d.infoHash]);
      const { proc: seeder } = await startShoalSeed([d.torrent, '--dir', d.src, '--tracker', urlOf(tracker, proto)]);
      await tracker.waitForSwarm(d.infoHash, { complete: 1 }, 15_000).catch((e: Error) => {
        throw new Error(`the shoal seeder's ${proto} announce did not reach the tracker: ${e.message}\n${seeder.describe()}`);
      });
      const dl = await ws.sub('libtorrent');
      // libtorrent asks the tracker by HTTP: what it gets is what shoal announced
      const { proc: lt } = await startLt('get', d.torrent, dl, { trackers: [tracker.http], timeoutSec: 40 });
      await expectLtDone(lt, 45_000).catch((e: Error) => {
        throw new Error(`${e.message}\n${seeder.describe()}`);
      });
      await assertSameData(d.fx, d.src, dl, 'libtorrent');
    } finally {
      await killAll();
    }
  });

  void test(`libtorrent seeds → shoal downloads through opentracker (${proto.toUpperCase()} announce)`, { timeout: 60_000 }, async () => {
    const src = await ws.sub('src');
    const fx = fileFixture(`from-lt-${proto}.bin`, 3 * MiB + 3_003);
    await writeData(src, fx);
    const torrent = join(ws.root, `from-lt-${proto}.torrent`);
    await ltCreate(join(src, fx.name), torrent, 'v1', 32768);
    const infoHash = (await hashesOf(torrent)).infoHash!;
    try {
      const tracker = await startOpentracker(await ws.sub('tracker'), [infoHash]);
      const { proc: seeder } = await startLtSeed(torrent, src, { trackers: [urlOf(tracker, proto)] });
      await tracker.waitForSwarm(infoHash, { complete: 1 }, 20_000).catch((e: Error) => {
        throw new Error(`libtorrent's announce did not reach the tracker: ${e.message}\n${seeder.describe()}`);
      });
      const dl = await ws.sub('shoal');
      const get = await startShoalGet(torrent, dl, ['--tracker', urlOf(tracker, proto)]);
      await expectShoalGetDone(get, 40_000);
      await assertSameData(fx, src, dl, 'shoal');
    } finally {
      await killAll();
    }
  });

  void test(`shoal seed leaves the swarm on SIGTERM: the tracker drops it (${proto.toUpperCase()} "stopped" announce) and it exits 0`, { timeout: 40_000 }, async () => {
    const d = await dataSet(`leave-${proto}.bin`, 1 * MiB + 5);
    try {
      const tracker = await startOpentracker(await ws.sub('tracker'), [d.infoHash]);
      const { proc: seeder } = await startShoalSeed([d.torrent, '--dir', d.src, '--tracker', urlOf(tracker, proto)]);
      await tracker.waitForSwarm(d.infoHash, { complete: 1 }, 15_000);
      await sleep(1_000); // let every announce of its start finish
      const exit = await seeder.kill('SIGTERM', 8_000); // (SIGKILL after 8 s)
      assert.deepEqual(await tracker.scrape(d.infoHash), { complete: 0, incomplete: 0 }, 'the tracker still lists the seeder that left');
      assert.equal(exit.signal, null, `shoal seed was still running 8 s after SIGTERM\n${seeder.describe()}`);
      assert.equal(exit.code, 0, `shoal seed exited ${String(exit.code)} on SIGTERM\n${seeder.describe()}`);
    } finally {
      await killAll();
    }
  });

  void test(`a shoal seeder finds a later peer by re-announcing (--announce-interval 2, ${proto.toUpperCase()}): Transmission joins after it`, { timeout: 90_000 }, async () => {
    const d = await dataSet(`reannounce-${proto}.bin`, 2 * MiB + 4_004);
    try {
      const tracker = await startOpentracker(await ws.sub('tracker'), [d.infoHash]);
      const url = urlOf(tracker, proto);
      const tr = await Transmission.start(await ws.sub('transmission'));
      const { proc: seeder } = await startShoalSeed([d.torrent, '--dir', d.src, '--tracker', url, '--announce-interval', '2']);
      await tracker.waitForSwarm(d.infoHash, { complete: 1 }, 15_000);
      // Transmission announces only now: the seeder's first announce could not have named it
      const dl = await ws.sub('transmission-dl');
      await tr.add(d.torrent, dl);
      await tr.waitChecked(d.infoHash, 20_000);
      // (Transmission takes the tracker from the torrent: add it there for Transmission only)
      await tr.rpc('torrent-set', { ids: [d.infoHash], trackerAdd: [tracker.http] });
      await tracker.waitForSwarm(d.infoHash, { complete: 1, incomplete: 1 }, 20_000);
      await tr.waitComplete(d.infoHash, 35_000, () => `\n${seeder.describe()}`);
      await assertSameData(d.fx, d.src, dl, 'Transmission');
    } finally {
      await killAll();
    }
  });
}

void test('shoal seeds → shoal downloads with direct peers only (--peer, no tracker)', { timeout: 60_000 }, async () => {
  const d = await dataSet('direct.bin', 4 * MiB + 5_005, '16K');
  try {
    const { ready } = await startShoalSeed([d.torrent, '--dir', d.src]);
    const dl = await ws.sub('shoal');
    const get = await startShoalGet(d.torrent, dl, ['--peer', `127.0.0.1:${ready.port}`]);
    await expectShoalGetDone(get, 40_000);
    await assertSameData(d.fx, d.src, dl, 'shoal');
  } finally {
    await killAll();
  }
});

for (const pex of [true, false]) {
  void test(
    pex
      ? 'peer exchange (BEP 11): a leecher that knows only another leecher and the seeder are introduced by it and connect'
      : '--no-pex: the middle leecher shares no peer list, so the last one and the seeder never hear of each other (and it still completes from the middle one)',
    { timeout: 60_000 },
    async () => {
      const d = await dataSet(`pex-${pex}.bin`, 2 * MiB + 77, '16K');
      try {
        const { proc: seeder, ready } = await startShoalSeed([d.torrent, '--dir', d.src, '--host', '127.0.0.1']);
        // A is throttled so that it is still in the swarm, half done, when B arrives.
        const dlA = await ws.sub(`pex-a-${pex}`);
        const a = await startShoalGet(d.torrent, dlA, ['--peer', `127.0.0.1:${ready.port}`, '--download-limit', '256K', '--seed', ...(pex ? [] : ['--no-pex'])], { name: 'leecher A' });
        const aReady = await a.waitForEvent('ready', 20_000);
        const dlB = await ws.sub(`pex-b-${pex}`);
        const b = await startShoalGet(d.torrent, dlB, ['--peer', `127.0.0.1:${String(aReady.port)}`], { name: 'leecher B' });
        const bReady = await b.waitForEvent('ready', 20_000);
        await expectShoalGetDone(b, 45_000);
        // A tells each of them about the other: whichever dials first, B → seeder's port or seeder → B's port.
        const bDialled = b.events.some((e) => e.event === 'peer' && e.action === 'connected' && e.incoming === false && e.port === ready.port);
        const seederDialled = seeder.events.some((e) => e.event === 'peer' && e.action === 'connected' && e.incoming === false && e.port === bReady.port);
        const why = `B dialled the seeder: ${bDialled}; the seeder dialled B: ${seederDialled}\n${b.describe()}\n${seeder.describe()}`;
        if (pex) assert.ok(bDialled || seederDialled, why);
        else assert.ok(!bDialled && !seederDialled, why);
        await assertSameData(d.fx, d.src, dlB, 'leecher B');
      } finally {
        await killAll();
      }
    },
  );
}
