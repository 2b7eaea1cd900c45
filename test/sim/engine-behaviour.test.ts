/**
 * Smaller simulated checks of how the engine copes with particular situations: storage faults (disk
 * full, a slow disk), a peer that vanishes without a word, seeds meeting seeds, and a block that
 * crosses our cancel on the wire (BEP 6: after a cancel the peer answers with the piece or a reject).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Swarm } from '../../src/runtime/sim/swarm.js';
import type { SimConnection } from '../../src/runtime/sim/network.js';
import { addressKey } from '../../src/net/compact.js';
import { decodeMessage, encodePieceHeader, encodeSimple } from '../../src/wire/messages.js';
import { KiB, MiB, scenarioSeed, secs, unfinished, withSeed } from './support/harness.js';
import { assertContent, makeTorrent } from './support/scenario.js';
import { FrameReader, handshake } from './support/raw.js';

const leecherLinks = { uplinkBytesPerSec: 128 * KiB, downlinkBytesPerSec: 1 * MiB };
const seederLinks = { uplinkBytesPerSec: 512 * KiB, downlinkBytesPerSec: 4 * MiB };

test('a full disk stops that download with ERR_STORAGE_FULL; the others complete', async (t) => {
  const seed = scenarioSeed(0x5eed0010);
  await withSeed(t, seed, async () => {
    const swarm = new Swarm({ seed, torrent: makeTorrent(seed, 2 * MiB, 32 * KiB) });
    swarm.addNode({ role: 'seeder', ...seederLinks, latencyMs: 20 });
    const full = swarm.addNode({ role: 'leecher', name: 'full', ...leecherLinks, latencyMs: 20, faults: { diskFullAfterBytes: 1 * MiB } });
    for (let i = 0; i < 5; i++) swarm.addNode({ role: 'leecher', ...leecherLinks, latencyMs: 20 });
    const others = swarm.leechers.filter((n) => n !== full);
    const ok = await swarm.runUntil(() => swarm.allDone(others) && full.errors.length > 0, 600_000);
    await swarm.run(swarm.now + 10_000);
    t.diagnostic(`disk full seed=${seed}: error "${full.errors[0]?.message}" at ${secs(swarm.now)}; ${full.have.cardinality} pieces kept`);
    assert.ok(ok, `others: ${unfinished(others)}; full: ${full.errors.length} errors`);
    assert.equal((full.errors[0] as { code?: string }).code, 'ERR_STORAGE_FULL');
    assert.equal(full.done, false);
    assert.ok(full.have.cardinality > 0 && full.have.cardinality <= 32, 'it kept the pieces verified before the disk filled');
    assertContent(swarm, others);
    await swarm.shutdown();
  });
});

test('a slow disk slows that leecher down but it completes', async (t) => {
  const seed = scenarioSeed(0x5eed0011);
  await withSeed(t, seed, async () => {
    const swarm = new Swarm({ seed, torrent: makeTorrent(seed, 2 * MiB, 32 * KiB) });
    swarm.addNode({ role: 'seeder', ...seederLinks, latencyMs: 20 });
    const slow = swarm.addNode({ role: 'leecher', name: 'slow', ...leecherLinks, latencyMs: 20, faults: { writeBytesPerSec: 64 * KiB, hashDelayMs: 20 } });
    for (let i = 0; i < 4; i++) swarm.addNode({ role: 'leecher', ...leecherLinks, latencyMs: 20 });
    const ok = await swarm.runUntil(() => swarm.allDone(), 600_000);
    t.diagnostic(`slow disk seed=${seed}: slow leecher done at ${secs(slow.doneAtMs ?? NaN)}, last other at ${secs(Math.max(...swarm.leechers.filter((n) => n !== slow).map((n) => n.doneAtMs!)))}`);
    assert.ok(ok, unfinished(swarm.leechers));
    assert.ok(slow.doneAtMs! >= (2 * MiB * 1000) / (64 * KiB), 'it cannot be done before its disk wrote everything');
    assertContent(swarm, swarm.leechers);
    await swarm.shutdown();
  });
});

test('a peer that vanishes mid-transfer (no FIN) costs time, not the download', async (t) => {
  const seed = scenarioSeed(0x5eed0012);
  await withSeed(t, seed, async () => {
    const swarm = new Swarm({ seed, torrent: makeTorrent(seed, 2 * MiB, 32 * KiB) });
    swarm.addNode({ role: 'seeder', ...seederLinks, latencyMs: 20 });
    const second = swarm.addNode({ role: 'seeder', name: 'vanishing', ...seederLinks, latencyMs: 20 });
    for (let i = 0; i < 5; i++) swarm.addNode({ role: 'leecher', ...leecherLinks, latencyMs: 20 });
    swarm.leave(second, { atMs: 3000, crash: true });
    const ok = await swarm.runUntil(() => swarm.allDone(), 600_000);
    t.diagnostic(`vanishing peer seed=${seed}: all done at ${secs(swarm.now)}`);
    assert.ok(ok, unfinished(swarm.leechers));
    assertContent(swarm, swarm.leechers);
    await swarm.shutdown();
  });
});

test('two seeds that know each other do not reconnect in a loop', async (t) => {
  const seed = scenarioSeed(0x5eed0013);
  await withSeed(t, seed, async () => {
    const swarm = new Swarm({ seed, torrent: makeTorrent(seed, 256 * KiB, 32 * KiB), recordEvents: true });
    const a = swarm.addNode({ role: 'seeder', ...seederLinks, latencyMs: 20 });
    swarm.addNode({ role: 'seeder', ...seederLinks, latencyMs: 20 });
    await swarm.run(60_000);
    const connects = a.events.filter((e) => e.event.type === 'peer-connected').length;
    t.diagnostic(`seeds meeting seeds seed=${seed}: ${connects} connections in ${secs(swarm.now)}`);
    assert.ok(connects <= 3, `two seeds connected ${connects} times in 60 s ("both seeding", then dialled again)`);
    await swarm.shutdown();
  });
});

test('a block that crosses our cancel on the wire does not cost the connection (BEP 6)', async (t) => {
  const seed = scenarioSeed(0x5eed0014);
  await withSeed(t, seed, async () => {
    const torrent = makeTorrent(seed, 512 * KiB, 32 * KiB);
    const swarm = new Swarm({ seed, torrent, recordEvents: true });
    swarm.addNode({ role: 'seeder', ...seederLinks, latencyMs: 20 });
    const leecher = swarm.addNode({ role: 'leecher', ...leecherLinks, latencyMs: 20 });
    // A raw seed that answers requests only after 3 s, and answers a cancelled request at once (the
    // piece was already on its way when the cancel came).
    const slowHost = swarm.network.addHost({ ...seederLinks, latencyMs: 20 });
    const clock = swarm.clock;
    let cancelsAnswered = 0;
    const serve = (conn: SimConnection, index: number, begin: number, length: number): void => {
      const start = index * torrent.metainfo.pieceLength + begin;
      conn.write([encodePieceHeader(index, begin, length), torrent.content.subarray(start, start + length)]);
    };
    slowHost.listen(6881, (conn) => {
      const reader = new FrameReader();
      const pending = new Map<string, ReturnType<typeof clock.setTimeout>>();
      conn.setHandlers({
        data: (chunk) => {
          const { handshake: hs, frames } = reader.push(chunk);
          if (hs) conn.write([handshake(torrent.metainfo.infoHash!, Buffer.from('-XX0001-slowslowslow')), encodeSimple('haveAll'), encodeSimple('unchoke')]);
          for (const f of frames) {
            const m = decodeMessage(f);
            if (m.type === 'request') {
              const key = `${m.index}:${m.begin}`;
              pending.set(key, clock.setTimeout(() => {
                pending.delete(key);
                serve(conn, m.index, m.begin, m.length);
              }, 3000));
            } else if (m.type === 'cancel') {
              const key = `${m.index}:${m.begin}`;
              const timer = pending.get(key);
              if (timer === undefined) continue;
              clock.clearTimeout(timer);
              pending.delete(key);
              cancelsAnswered++;
              serve(conn, m.index, m.begin, m.length);
            }
          }
        },
        drain: () => {},
        close: () => {},
      });
    });
    clock.at(10, () => leecher.torrent.addPeers([{ host: slowHost.host, port: 6881 }]));
    const ok = await swarm.runUntil(() => swarm.allDone(), 600_000);
    const dropped = leecher.events.filter((e) => e.event.type === 'peer-disconnected' && e.event.addr.host === slowHost.host);
    t.diagnostic(`late block seed=${seed}: ${cancelsAnswered} cancelled requests answered with the piece; disconnects of that peer: ${dropped.map((e) => (e.event.type === 'peer-disconnected' ? e.event.reason : '')).join('; ') || 'none'}`);
    assert.ok(ok, unfinished(swarm.leechers));
    assertContent(swarm, swarm.leechers);
    assert.ok(cancelsAnswered > 0, 'the scenario produced a cancel (endgame)');
    for (const e of dropped) {
      assert.ok(e.event.type === 'peer-disconnected' && !/unrequested/.test(e.event.reason), `${addressKey(e.event.type === 'peer-disconnected' ? e.event.addr : { host: '', port: 0 })} dropped: ${e.event.type === 'peer-disconnected' ? e.event.reason : ''}`);
    }
    await swarm.shutdown();
  });
});
