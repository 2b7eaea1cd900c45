/**
 * Scenario 1: one seeder and 50 leechers arrive at once (a flash crowd) with capped links. Every
 * leecher must finish with byte-identical content, and the swarm's completion time T is compared
 * with the fluid model's lower bound T_min = max(F/u_s, F/d_min, N·F/(u_s + Σu_i)) (Kumar and Ross).
 *
 * Numbers: F = 4 MiB in 32 KiB pieces (128 pieces); seeder up 512 KiB/s; leechers up 128 KiB/s and
 * down 1 MiB/s; access latencies 5–50 ms (one-way link latency 10–100 ms). Then the upload term
 * dominates: T_min = 50 · 4 MiB / (0.5 + 50 · 0.125 MiB/s) ≈ 29.6 s of virtual time. The assertion
 * (T/T_min < 3) only catches a broken engine; the figure itself is reported for tuning (target ≤ 1.15).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KiB, MiB, realNow, scenarioSeed, secs, timeSummary, unfinished, withSeed } from './support/harness.js';
import { assertContent, disconnectReasons, flashCrowd, flashCrowdBoundMs, sampleUtilization, trafficSummary } from './support/scenario.js';
import type { FlashCrowd } from './support/scenario.js';

test('flash crowd: 1 seeder + 50 leechers all finish, near the fluid-model bound', async (t) => {
  const seed = scenarioSeed(0x5eed0001);
  await withSeed(t, seed, async () => {
    const c: FlashCrowd = {
      seed,
      fileBytes: 4 * MiB,
      pieceLength: 32 * KiB,
      seeders: 1,
      leechers: 50,
      seederLinks: { upBytesPerSec: 512 * KiB, downBytesPerSec: 4 * MiB },
      leecherLinks: { upBytesPerSec: 128 * KiB, downBytesPerSec: 1 * MiB },
      latencyMs: [5, 50],
      swarm: { recordEvents: true },
    };
    const swarm = flashCrowd(c);
    const tMin = flashCrowdBoundMs(c);
    const capacity = c.seederLinks.upBytesPerSec + c.leechers * c.leecherLinks.upBytesPerSec;
    const util = sampleUtilization(swarm, 5000, () => capacity, () => swarm.allDone());
    const t0 = realNow();
    const ok = await swarm.runUntil(() => swarm.allDone(), 20 * tMin);
    const realMs = realNow() - t0;
    assert.ok(ok, `not all leechers finished within ${secs(20 * tMin)}: ${unfinished(swarm.leechers)}`);
    const T = Math.max(...swarm.leechers.map((n) => n.doneAtMs!));
    const ratio = T / tMin;
    const traffic = trafficSummary(swarm);
    const report = [
      `flash crowd seed=${seed}: T=${secs(T)} T_min=${secs(tMin)} T/T_min=${ratio.toFixed(3)}`,
      `  download times: ${timeSummary(swarm.leechers)}`,
      `  uplink utilization per 5 s: ${util.map((u) => u.toFixed(2)).join(' ')}`,
      `  traffic: sent ${traffic.sentMiB.toFixed(1)} MiB, blocks accepted ${traffic.acceptedMiB.toFixed(1)} MiB, needed ${traffic.neededMiB.toFixed(1)} MiB`,
      `  disconnects: ${JSON.stringify([...disconnectReasons(swarm)])}`,
      `  simulated in ${secs(realMs)} real (${swarm.clock.eventsFired} events)`,
    ];
    for (const line of report) t.diagnostic(line);
    assertContent(swarm, swarm.leechers);
    for (const n of swarm.nodes) assert.deepEqual(n.errors, [], `${n.name} reported errors`);
    assert.ok(ratio < 3, `T/T_min = ${ratio.toFixed(3)} is far above the bound`);
    await swarm.shutdown();
  });
});
