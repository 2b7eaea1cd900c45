/**
 * Resume (the acceptance list, item 7). A seeder with an upload limit (4 MiB/s for ~32 MiB) makes
 * the download last several seconds; once `shoal get --json` reports ≥ 50 % it is killed with SIGKILL
 * (no chance to save anything), then started again on the same folder. The second run must:
 *  - report in its "ready" event the pieces it found already verified on disk (> 0, and at least as
 *    many as the first run had reported verified before it was killed);
 *  - finish, with byte-identical data;
 *  - not re-fetch what it had: its "done" event's `downloaded` is at most
 *    (pieceCount − piecesAtStart) × pieceLength + 8 blocks of slack (the end game may fetch a few
 *    blocks twice).
 * Seeders: shoal (`--upload-limit 4M`) and libtorrent (lt_peer2.py --upload-limit).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { assertSameData, fileFixture, MiB, writeData } from './support/swarm-data.js';
import { expectShoalGetDone, startLtSeed, startShoalGet, startShoalSeed } from './support/swarm-clients.js';
import type { ShoalReady } from './support/swarm-clients.js';
import { killAll } from './support/swarm-procs.js';
import { shoalCreateTorrent, useWorkspace } from './support/swarm-setup.js';

const ws = useWorkspace('resume');

const PIECE = 256 * 1024;
const BLOCK = 16 * 1024;
const SLACK = 8 * BLOCK;
const RATE = 4 * MiB;

for (const seederKind of ['shoal', 'libtorrent'] as const) {
  void test(`resume after kill -9 at ≥ 50 % (${seederKind} seeder limited to 4 MiB/s): verified pieces are kept, not fetched again`, { timeout: 120_000 }, async (tc) => {
    const src = await ws.sub('src');
    const fx = fileFixture(`resume-${seederKind}.bin`, 32 * MiB + 4_099);
    await writeData(src, fx);
    const t = await shoalCreateTorrent(join(src, fx.name), join(ws.root, `resume-${seederKind}.torrent`), { pieceLength: String(PIECE) });
    try {
      const port =
        seederKind === 'shoal'
          ? (await startShoalSeed([t.torrent, '--dir', src, '--upload-limit', String(RATE)])).ready.port
          : (await startLtSeed(t.torrent, src, { uploadLimit: RATE })).port;
      const peer = `127.0.0.1:${port}`;
      const dl = await ws.sub('shoal');

      // first run: kill -9 once it reports at least half
      const first = await startShoalGet(t.torrent, dl, ['--peer', peer], { name: 'shoal get (1st run)' });
      const half = await first.waitFor((e) => e.event === 'progress' && Number(e.percent) >= 50, 60_000, 'progress ≥ 50 %');
      await first.kill('SIGKILL');
      assert.ok(!first.events.some((e) => e.event === 'done'), `the first run finished before it could be interrupted (the upload limit did not hold?)\n${first.describe()}`);
      const piecesBeforeKill = Math.max(...first.events.filter((e) => e.event === 'progress').map((e) => Number(e.pieces)));
      assert.ok(Number(half.percent) < 100, `already complete at the kill: ${JSON.stringify(half)}`);

      // second run on the same folder
      const second = await startShoalGet(t.torrent, dl, ['--peer', peer], { name: 'shoal get (2nd run)' });
      const ready = (await second.waitForEvent('ready', 30_000)) as ShoalReady;
      assert.equal(ready.pieceCount, t.pieceCount, `ready: ${JSON.stringify(ready)}`);
      assert.ok(ready.pieces > 0, `the second run found no verified piece on disk: ${JSON.stringify(ready)}`);
      assert.ok(
        ready.pieces >= piecesBeforeKill,
        `the first run had reported ${piecesBeforeKill} pieces verified, the second found only ${ready.pieces}: ${JSON.stringify(ready)}`,
      );
      assert.ok(ready.pieces < t.pieceCount, `nothing left to fetch: ${JSON.stringify(ready)}`);
      const done = await expectShoalGetDone(second, 60_000);
      const limit = (t.pieceCount - ready.pieces) * PIECE + SLACK;
      assert.ok(
        Number(done.downloaded) <= limit,
        `the second run downloaded ${String(done.downloaded)} bytes, more than the ${t.pieceCount - ready.pieces} missing pieces (${limit} bytes with slack): it re-fetched verified data\n${JSON.stringify(done)}`,
      );
      tc.diagnostic(
        `killed at ${String(half.percent)} % (${piecesBeforeKill} pieces reported); restart found ${ready.pieces}/${t.pieceCount}; ` +
          `second run downloaded ${String(done.downloaded)} bytes (limit ${limit})`,
      );
      assert.ok(Number(done.downloaded) > 0, `the second run downloaded nothing: ${JSON.stringify(done)}`);
      await assertSameData(fx, src, dl, 'shoal (resumed)');
    } finally {
      await killAll();
    }
  });
}
