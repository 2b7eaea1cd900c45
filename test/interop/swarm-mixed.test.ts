/**
 * A mixed swarm (the acceptance list, item 3): one shoal seeder (upload limited to 4 MiB/s, so
 * the leechers trade among themselves too); a shoal, a libtorrent and a Transmission leecher, all
 * through a local opentracker (HTTP announce), downloading at the same time. Transmission never dials
 * 127.0.0.1, so it announces first and the others, hearing of it from the tracker, dial it (finding a
 * peer that announced later, by re-announcing, is tested on its own in swarm-discovery). Everyone must
 * finish with byte-identical data.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { assertSameData, fileFixture, MiB, writeData } from './support/swarm-data.js';
import { expectLtDone, startLt, startOpentracker, startShoalGet, startShoalSeed, Transmission } from './support/swarm-clients.js';
import { freePort, killAll } from './support/swarm-procs.js';
import { shoalCreateTorrent, useWorkspace } from './support/swarm-setup.js';

const ws = useWorkspace('mixed');

void test('mixed swarm: shoal seeds; shoal, libtorrent and Transmission leech together through opentracker', { timeout: 150_000 }, async (tc) => {
  const src = await ws.sub('src');
  const fx = fileFixture('mixed.bin', 10 * MiB + 31_337);
  await writeData(src, fx);
  const trackerPort = await freePort(true);
  const url = `http://127.0.0.1:${trackerPort}/announce`;
  const t = await shoalCreateTorrent(join(src, fx.name), join(ws.root, 'mixed.torrent'), { pieceLength: '64K', trackers: [url] });
  const infoHash = t.infoHash!;
  try {
    const tracker = await startOpentracker(await ws.sub('tracker'), [infoHash], trackerPort);
    // Transmission joins first (it takes the tracker from the torrent), so that whoever announces
    // after it hears of it: it cannot dial anyone on 127.0.0.1 and must be dialled
    const tr = await Transmission.start(await ws.sub('transmission'));
    const trDl = await ws.sub('transmission-dl');
    await tr.add(t.torrent, trDl);
    await tracker.waitForSwarm(infoHash, { incomplete: 1 }, 20_000);
    // the seeder is limited, so the leechers also trade among themselves
    const { proc: seeder } = await startShoalSeed([t.torrent, '--dir', src, '--announce-interval', '2', '--upload-limit', '4M']);
    await tracker.waitForSwarm(infoHash, { complete: 1 }, 20_000);

    // the shoal and libtorrent leechers join at once
    const shoalDl = await ws.sub('shoal');
    const ltDl = await ws.sub('libtorrent');
    const [get, lt] = await Promise.all([
      startShoalGet(t.torrent, shoalDl, ['--announce-interval', '2', '--seed']),
      startLt('get', t.torrent, ltDl, { timeoutSec: 120 }).then((r) => r.proc),
    ]);
    const context = (): string => `\n${seeder.describe(3)}\n${get.describe(3)}\n${lt.describe(3)}`;

    const [, shoalDone, ltDone] = await Promise.all([
      tr.waitComplete(infoHash, 120_000, context),
      // `--seed`: the shoal leecher stays after it completes, so it can serve the others too
      get.waitForEvent('done', 120_000),
      expectLtDone(lt, 120_000),
    ]);
    const trFinal = await tr.torrent(infoHash);
    const lastUp = (p: typeof get): number => Math.max(0, ...p.events.filter((e) => e.event === 'progress').map((e) => Number(e.uploaded)));
    tc.diagnostic(
      `uploaded: shoal seeder ${lastUp(seeder)}, shoal leecher ${lastUp(get)}, libtorrent ${Number(lt.events.filter((e) => e.event === 'progress').pop()?.uploaded ?? 0)}, ` +
        `Transmission ${String(trFinal?.uploadedEver ?? '?')}`,
    );
    assert.ok(Number(shoalDone.downloaded) > 0, `the shoal leecher downloaded nothing: ${JSON.stringify(shoalDone)}`);
    assert.ok(Number(ltDone.downloaded) > 0, `libtorrent downloaded nothing: ${JSON.stringify(ltDone)}`);
    await assertSameData(fx, src, shoalDl, 'shoal leecher');
    await assertSameData(fx, src, ltDl, 'libtorrent leecher');
    await assertSameData(fx, src, trDl, 'Transmission leecher');
    // the seeder stays up and healthy
    assert.ok(seeder.running, `the shoal seeder stopped\n${seeder.describe()}`);
    assert.ok(get.running, `the shoal leecher (--seed) stopped\n${get.describe()}`);
  } finally {
    await killAll();
  }
});
