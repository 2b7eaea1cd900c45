/**
 * Scenario 3: a malicious seeder whose store returns wrong bytes for every block it serves. The
 * leechers' hash checks fail on what it sends; each contributor gets a strike, and at BAN_STRIKES
 * the peer is banned ('peer-banned'). The download must complete with the right content from the
 * honest seeder and the other leechers, nobody honest may be banned, and a banning leecher never
 * talks to the liar again.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addressKey } from '../../src/net/compact.js';
import { KiB, MiB, realNow, scenarioSeed, secs, timeSummary, unfinished, withSeed } from './support/harness.js';
import { assertContent, makeTorrent } from './support/scenario.js';
import { Swarm } from '../../src/runtime/sim/swarm.js';

test('a peer serving corrupt blocks is banned and the download completes from honest peers', async (t) => {
  const seed = scenarioSeed(0x5eed0003);
  await withSeed(t, seed, async () => {
    const torrent = makeTorrent(seed, 2 * MiB, 32 * KiB);
    const swarm = new Swarm({ seed, torrent, recordEvents: true });
    const lat = swarm.rng.fork('latency');
    const honest = swarm.addNode({ role: 'seeder', name: 'honest', uplinkBytesPerSec: 512 * KiB, downlinkBytesPerSec: 4 * MiB, latencyMs: lat.range(5, 50) });
    // Faster than the honest seeder, so the leechers do ask it for plenty.
    const liar = swarm.addNode({
      role: 'seeder',
      name: 'liar',
      uplinkBytesPerSec: 1 * MiB,
      downlinkBytesPerSec: 4 * MiB,
      latencyMs: lat.range(5, 50),
      faults: { corruptReads: () => true },
    });
    for (let i = 0; i < 10; i++) {
      swarm.addNode({ role: 'leecher', uplinkBytesPerSec: 128 * KiB, downlinkBytesPerSec: 1 * MiB, latencyMs: lat.range(5, 50) });
    }
    const t0 = realNow();
    const ok = await swarm.runUntil(() => swarm.allDone(), 600_000);
    const realMs = realNow() - t0;
    const leechers = swarm.leechers;
    const banners = leechers.filter((n) => n.bans.some((b) => b.addr.host === liar.host.host));
    const failed = leechers.reduce((a, n) => a + n.failedPieces, 0);
    t.diagnostic(`corrupt peer seed=${seed}: all done at ${secs(swarm.now)}; ${timeSummary(leechers)}`);
    t.diagnostic(`  the liar served ${liar.store.corruptBlocksServed} corrupt blocks; ${failed} pieces failed their hash; banned by ${banners.length}/${leechers.length} leechers`);
    t.diagnostic(`  simulated in ${secs(realMs)} real (${swarm.clock.eventsFired} events)`);

    assert.ok(ok, `not all leechers finished: ${unfinished(leechers)}`);
    assertContent(swarm, leechers);
    assert.ok(liar.store.corruptBlocksServed > 0, 'the liar did serve blocks (the scenario tests something)');
    assert.ok(banners.length > 0, 'no leecher banned the peer that sent corrupt data');
    // Every leecher that had BAN_STRIKES pieces fail because of the liar banned it.
    for (const n of leechers) {
      const strikes = n.events.filter((e) => e.event.type === 'piece-failed' && e.event.peers.some((p) => p.startsWith(`${liar.host.host}:`))).length;
      if (strikes >= 3) assert.ok(n.bans.some((b) => b.addr.host === liar.host.host), `${n.name} saw ${strikes} bad pieces from the liar and did not ban it`);
    }
    // Nobody honest is banned.
    for (const n of swarm.nodes) {
      for (const b of n.bans) assert.equal(b.addr.host, liar.host.host, `${n.name} banned ${addressKey(b.addr)} (${b.reason}), an honest peer`);
    }
    // After a ban, no new connection to the liar.
    for (const n of banners) {
      const bannedAt = n.bans.find((b) => b.addr.host === liar.host.host)!.atMs;
      const again = n.events.filter((e) => e.atMs > bannedAt && e.event.type === 'peer-connected' && e.event.addr.host === liar.host.host);
      assert.equal(again.length, 0, `${n.name} connected to the liar again after banning it`);
    }
    assert.equal(honest.errors.length, 0);
    await swarm.shutdown();
  });
});
