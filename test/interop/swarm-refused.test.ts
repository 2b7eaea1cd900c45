/**
 * Peers that are refused (the acceptance list, item 8). With 127.0.0.0/8 denied (`--deny`, or
 * SHOAL_NET_DENY) shoal must never talk to a peer there, whatever else says it may (SHOAL_NET_ALLOW is
 * 127.0.0.0/8 in every test): for a few seconds,
 *  - a `shoal get --peer <seeder>` downloads nothing, never "done", never exits 0, and the seeder sees
 *    no connection;
 *  - a `shoal seed` refuses libtorrent's incoming connections: libtorrent gets nothing;
 *  - a denied tracker is never asked: the tracker has no announce from shoal.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { fileFixture, MiB, writeData } from './support/swarm-data.js';
import { startLt, startOpentracker, startShoalGet, startShoalSeed } from './support/swarm-clients.js';
import type { Proc } from './support/swarm-procs.js';
import { killAll, sleep } from './support/swarm-procs.js';
import { shoalCreateTorrent, useWorkspace } from './support/swarm-setup.js';

const ws = useWorkspace('refused');

const WATCH_MS = 4_000;

async function dataSet(name: string): Promise<{ src: string; torrent: string; infoHash: string }> {
  const src = await ws.sub('src');
  const fx = fileFixture(name, 2 * MiB + 77);
  await writeData(src, fx);
  const t = await shoalCreateTorrent(join(src, fx.name), join(ws.root, `${name}.torrent`), { pieceLength: '32K' });
  return { src, torrent: t.torrent, infoHash: t.infoHash! };
}

const connections = (seeder: Proc): unknown[] => seeder.events.filter((e) => e.event === 'peer' && e.action === 'connected');

/** The get neither finished nor downloaded a byte. */
function assertGotNothing(get: Proc): void {
  assert.ok(!get.events.some((e) => e.event === 'done'), `a denied peer was downloaded from\n${get.describe()}`);
  assert.notEqual(get.exit?.code, 0, `shoal get exited 0 without any allowed peer\n${get.describe()}`);
  for (const e of get.events.filter((x) => x.event === 'progress')) {
    assert.equal(Number(e.haveBytes), 0, `shoal get has data from a denied peer: ${JSON.stringify(e)}`);
    assert.equal(Number(e.downloaded), 0, `shoal get downloaded from a denied peer: ${JSON.stringify(e)}`);
    assert.equal(Number(e.peers), 0, `shoal get is connected to a denied peer: ${JSON.stringify(e)}`);
  }
}

const denials = [
  { how: '--deny 127.0.0.0/8', args: ['--deny', '127.0.0.0/8'], env: {} },
  { how: 'SHOAL_NET_DENY=127.0.0.0/8', args: [], env: { SHOAL_NET_DENY: '127.0.0.0/8' } },
];

for (const d of denials) {
  void test(`shoal get with ${d.how} never connects to a seeder on 127.0.0.1`, { timeout: 40_000 }, async () => {
    const data = await dataSet(`deny-out-${d.args.length > 0 ? 'flag' : 'env'}.bin`);
    try {
      const { proc: seeder, ready } = await startShoalSeed([data.torrent, '--dir', data.src]);
      const dl = await ws.sub('shoal');
      const get = await startShoalGet(data.torrent, dl, ['--peer', `127.0.0.1:${ready.port}`, ...d.args], { env: d.env });
      await sleep(WATCH_MS);
      assertGotNothing(get);
      assert.deepEqual(connections(seeder), [], `the seeder saw a connection from a shoal that denies 127.0.0.0/8\n${seeder.describe()}`);
    } finally {
      await killAll();
    }
  });
}

void test('shoal seed with --deny 127.0.0.0/8 refuses libtorrent dialling it from 127.0.0.1', { timeout: 40_000 }, async () => {
  const data = await dataSet('deny-in.bin');
  try {
    const { proc: seeder, ready } = await startShoalSeed([data.torrent, '--dir', data.src, '--deny', '127.0.0.0/8']);
    const dl = await ws.sub('libtorrent');
    const { proc: lt } = await startLt('get', data.torrent, dl, { peers: [`127.0.0.1:${ready.port}`], timeoutSec: WATCH_MS / 1000 });
    await lt.waitExit(WATCH_MS + 10_000);
    assert.ok(!lt.events.some((e) => e.event === 'done'), `libtorrent downloaded from a seeder that denies it\n${lt.describe()}\n${seeder.describe()}`);
    const got = Math.max(0, ...lt.events.filter((e) => e.event === 'progress').map((e) => Number(e.total_download)));
    assert.equal(got, 0, `libtorrent received ${got} bytes from a seeder that denies it\n${lt.describe()}`);
    assert.deepEqual(connections(seeder), [], `the seeder accepted a connection from a denied address\n${seeder.describe()}`);
    const uploaded = Math.max(0, ...seeder.events.filter((e) => e.event === 'progress').map((e) => Number(e.uploaded)));
    assert.equal(uploaded, 0, `the seeder uploaded to a denied address\n${seeder.describe()}`);
  } finally {
    await killAll();
  }
});

void test('shoal get with --deny 127.0.0.0/8 never announces to a tracker on 127.0.0.1', { timeout: 40_000 }, async () => {
  const data = await dataSet('deny-tracker.bin');
  try {
    const tracker = await startOpentracker(await ws.sub('tracker'), [data.infoHash]);
    const dl = await ws.sub('shoal');
    const get = await startShoalGet(data.torrent, dl, ['--tracker', tracker.http, '--deny', '127.0.0.0/8']);
    await sleep(WATCH_MS);
    assertGotNothing(get);
    assert.deepEqual(await tracker.scrape(data.infoHash), { complete: 0, incomplete: 0 }, `the denied tracker heard from shoal\n${get.describe()}`);
  } finally {
    await killAll();
  }
});
