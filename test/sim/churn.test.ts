/**
 * Scenario 2: churn. 1 seeder + 30 leechers start together; at 40% of the expected time, 30% of the
 * leechers leave (torrent stopped, connections closed, host gone) and as many new leechers join; at
 * 60% the seeder leaves too, so the rest must finish from each other (the test first checks that the
 * pieces left online still make a whole copy). Every remaining and new leecher must finish with the
 * right content, and none may stall — go `STALL_LIMIT_MS` without a verified piece while it is
 * running, unfinished, and some running node holds a piece it lacks.
 *
 * "Expected time" is 1.5 × the fluid bound of the starting swarm (the engine is not at the bound).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { SimNode } from '../../src/runtime/sim/swarm.js';
import { OPTIMISTIC_INTERVAL_MS } from '../../src/torrent/choker.js';
import { KiB, MiB, realNow, scenarioSeed, secs, timeSummary, unfinished, withSeed } from './support/harness.js';
import { assertContent, flashCrowd, flashCrowdBoundMs } from './support/scenario.js';
import type { FlashCrowd } from './support/scenario.js';

/**
 * A leecher choked by every source waits for an optimistic unchoke, which rotates every 30 s: longer
 * than that without progress is a stall.
 */
const STALL_LIMIT_MS = OPTIMISTIC_INTERVAL_MS;

/** Does some other running node hold a piece `n` lacks? */
function sourceExists(n: SimNode, nodes: readonly SimNode[]): boolean {
  for (const o of nodes) {
    if (o === n || o.state !== 'running') continue;
    for (let i = 0; i < o.have.size; i++) if (o.have.has(i) && !n.have.has(i)) return true;
  }
  return false;
}

/** Pieces held by at least one of `nodes`. */
function union(nodes: readonly SimNode[]): number {
  let n = 0;
  const size = nodes[0]?.have.size ?? 0;
  for (let i = 0; i < size; i++) if (nodes.some((x) => x.have.has(i))) n++;
  return n;
}

test('churn: 30% of leechers leave mid-way and new ones join; everyone left finishes without stalling', async (t) => {
  const seed = scenarioSeed(0x5eed0002);
  await withSeed(t, seed, async () => {
    const c: FlashCrowd = {
      seed,
      fileBytes: 4 * MiB,
      pieceLength: 32 * KiB,
      seeders: 1,
      leechers: 30,
      seederLinks: { upBytesPerSec: 512 * KiB, downBytesPerSec: 4 * MiB },
      leecherLinks: { upBytesPerSec: 128 * KiB, downBytesPerSec: 1 * MiB },
      latencyMs: [5, 50],
      swarm: { announceIntervalMs: 30_000 },
    };
    const swarm = flashCrowd(c);
    const expectedMs = 1.5 * flashCrowdBoundMs(c);
    const churnAt = Math.round(0.4 * expectedMs);
    const original = swarm.leechers;
    const leaving = swarm.rng.fork('churn').sample(original, Math.round(0.3 * original.length));
    for (const n of leaving) swarm.leave(n, { atMs: churnAt });
    const joiners: SimNode[] = [];
    for (let i = 0; i < leaving.length; i++) {
      joiners.push(
        swarm.addNode({
          role: 'leecher',
          name: `joiner${i}`,
          uplinkBytesPerSec: c.leecherLinks.upBytesPerSec,
          downlinkBytesPerSec: c.leecherLinks.downBytesPerSec,
          latencyMs: swarm.rng.fork(`joiner-latency:${i}`).range(5, 50),
          startAtMs: churnAt,
        }),
      );
    }
    const seeder = swarm.seeders[0]!;
    const seederLeavesAt = Math.round(0.6 * expectedMs);
    let copiesWhenSeederLeft = -1;
    swarm.clock.at(seederLeavesAt - 1, () => {
      copiesWhenSeederLeft = union(swarm.running.filter((n) => n !== seeder));
    });
    swarm.leave(seeder, { atMs: seederLeavesAt });
    const stayers = original.filter((n) => !leaving.includes(n));
    const watched = [...stayers, ...joiners];

    // Progress watch: the last time each leecher verified a piece while it had a source.
    const lastProgress = new Map<SimNode, { pieces: number; at: number }>();
    let worst = { ms: 0, node: '', at: 0 };
    swarm.every(500, () => {
      const now = swarm.now;
      for (const n of watched) {
        if (n.state !== 'running' || n.done) {
          lastProgress.delete(n);
          continue;
        }
        const pieces = n.torrent.stats().havePieces;
        const p = lastProgress.get(n);
        if (!p || pieces > p.pieces || !sourceExists(n, swarm.nodes)) {
          lastProgress.set(n, { pieces, at: now });
          continue;
        }
        if (now - p.at > worst.ms) worst = { ms: now - p.at, node: `${n.name}@${n.host.host}`, at: now };
      }
      return !swarm.allDone(watched);
    });

    const t0 = realNow();
    const ok = await swarm.runUntil(() => churnAt < swarm.now && swarm.allDone(watched), 20 * expectedMs);
    const realMs = realNow() - t0;
    t.diagnostic(`churn seed=${seed}: ${leaving.length} left and ${joiners.length} joined at ${secs(churnAt)}; the seeder left at ${secs(seederLeavesAt)}; all done at ${secs(swarm.now)}`);
    t.diagnostic(`  stayers: ${timeSummary(stayers)}`);
    t.diagnostic(`  joiners: ${timeSummary(joiners)}`);
    t.diagnostic(`  longest stall with a source present: ${secs(worst.ms)} (${worst.node || 'none'})`);
    t.diagnostic(`  simulated in ${secs(realMs)} real (${swarm.clock.eventsFired} events)`);
    assert.equal(copiesWhenSeederLeft, swarm.torrent.metainfo.pieceCount, 'a whole copy stayed online when the seeder left');
    assert.ok(ok, `not everyone finished: ${unfinished(watched)}`);
    assert.ok(leaving.every((n) => !n.done), 'the leavers left before finishing (the scenario tests churn)');
    assertContent(swarm, watched);
    assert.ok(worst.ms <= STALL_LIMIT_MS, `${worst.node} made no progress for ${secs(worst.ms)} while a source was online (at ${secs(worst.at)})`);
    for (const n of swarm.nodes) assert.deepEqual(n.errors, [], `${n.name} reported errors`);
    await swarm.shutdown();
  });
});
