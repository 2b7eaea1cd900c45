/**
 * Scenario 5: determinism. The same seed must give the same run — every completion time, every
 * event (the trace digest folds in time, node, type and details of every TorrentEvent) and the same
 * number of simulated events — and another seed a different one. The swarm exercises every source of
 * randomness: loss on the links, random latencies, the engine's picker and choker, the tracker's
 * answers, a leave and a late join.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KiB, MiB, scenarioSeed, withSeed } from './support/harness.js';
import { flashCrowd, makeTorrent } from './support/scenario.js';
import type { FlashCrowd } from './support/scenario.js';

interface RunResult {
  doneAt: (number | undefined)[];
  digest: string;
  events: number;
  endMs: number;
}

async function runOnce(seed: number): Promise<RunResult> {
  const c: FlashCrowd = {
    seed,
    fileBytes: 1 * MiB,
    pieceLength: 32 * KiB,
    seeders: 1,
    leechers: 12,
    seederLinks: { upBytesPerSec: 512 * KiB, downBytesPerSec: 4 * MiB },
    leecherLinks: { upBytesPerSec: 128 * KiB, downBytesPerSec: 1 * MiB },
    latencyMs: [5, 60],
    lossRate: 0.01,
    swarm: { announceIntervalMs: 20_000 },
  };
  const swarm = flashCrowd(c, makeTorrent(seed, c.fileBytes, c.pieceLength));
  swarm.leave(swarm.leechers[3]!, { atMs: 2000 });
  swarm.addNode({ role: 'leecher', uplinkBytesPerSec: 128 * KiB, downlinkBytesPerSec: 1 * MiB, latencyMs: 30, startAtMs: 3000 });
  const ok = await swarm.runUntil(() => swarm.allDone(), 600_000);
  assert.ok(ok, 'the swarm finished');
  const r = { doneAt: swarm.nodes.map((n) => n.doneAtMs), digest: swarm.traceDigest, events: swarm.clock.eventsFired, endMs: swarm.now };
  await swarm.shutdown();
  return r;
}

test('the same seed gives the same run; another seed a different one', async (t) => {
  const seed = scenarioSeed(0x5eed0005);
  await withSeed(t, seed, async () => {
    const a = await runOnce(seed);
    const b = await runOnce(seed);
    const other = await runOnce((seed + 1) >>> 0);
    t.diagnostic(`determinism seed=${seed}: digest ${a.digest}, ${a.events} events, all done at ${(a.endMs / 1000).toFixed(3)} s; seed ${seed + 1}: digest ${other.digest}`);
    assert.deepEqual(b.doneAt, a.doneAt, 'completion times differ between two runs of the same seed');
    assert.equal(b.digest, a.digest, 'event traces differ between two runs of the same seed');
    assert.equal(b.events, a.events);
    assert.notEqual(other.digest, a.digest, 'a different seed gave the very same run');
  });
});
