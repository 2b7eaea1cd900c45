/**
 * Scenario 4: peers that complete a valid handshake and then send garbage — a frame header claiming
 * 2^31 bytes, random bytes, or a well-framed message that makes no sense (a bitfield of the wrong
 * size). They connect to every real node (incoming path, through the listener) and are also handed to
 * the leechers as peers to dial (outgoing path). Each such connection must be dropped promptly, the
 * real transfers must complete as fast as in the same swarm without the fakes, and the engine must not
 * keep going back to a peer that broke the protocol (design.md: a protocol error is a strike against
 * the address).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { SimConnection, SimHost } from '../../src/runtime/sim/network.js';
import { Swarm } from '../../src/runtime/sim/swarm.js';
import type { SimTorrent } from '../../src/runtime/sim/content.js';
import type { SimRandom } from '../../src/runtime/sim/random.js';
import { KiB, MiB, realNow, scenarioSeed, secs, timeSummary, unfinished, withSeed } from './support/harness.js';
import { assertContent, makeTorrent } from './support/scenario.js';
import { handshake } from './support/raw.js';

type Mode = 'huge-frame' | 'random-bytes' | 'bad-bitfield';
const MODES: Mode[] = ['huge-frame', 'random-bytes', 'bad-bitfield'];

interface FakeConnection {
  mode: Mode;
  victim: string;
  incoming: boolean;
  garbageAtMs: number | undefined;
  closedAtMs: number | undefined;
}

function garbage(mode: Mode, rng: SimRandom): Buffer {
  switch (mode) {
    case 'huge-frame': {
      // <length 2^31><id 7 (piece)> and a little of the "payload".
      const b = Buffer.alloc(4 + 1 + 64);
      b.writeUInt32BE(2 ** 31, 0);
      b[4] = 7;
      return b;
    }
    case 'random-bytes':
      return rng.bytes(64 * KiB);
    case 'bad-bitfield': {
      // A bitfield (id 5) of 3 bytes for a torrent whose bitfield is 8 bytes.
      return Buffer.from([0, 0, 0, 4, 5, 0xff, 0xff, 0xff]);
    }
  }
}

/** A fake peer: a raw host that handshakes properly and then misbehaves in `mode`. */
class FakePeer {
  readonly conns: FakeConnection[] = [];
  private readonly peerId: Buffer;

  constructor(
    readonly host: SimHost,
    readonly mode: Mode,
    private readonly infoHash: Buffer,
    private readonly rng: SimRandom,
  ) {
    this.peerId = Buffer.concat([Buffer.from('-XX0001-'), rng.bytes(12)]);
    host.listen(6881, (conn) => this.run(conn, false));
  }

  dial(victim: SimHost): void {
    const conn = this.host.connect({ host: victim.host, port: 6881 });
    this.run(conn, true);
    conn.write([handshake(this.infoHash, this.peerId)]);
  }

  private run(conn: SimConnection, outgoing: boolean): void {
    const clock = this.host.network.clock;
    const rec: FakeConnection = { mode: this.mode, victim: outgoing ? conn.remote.host : conn.remote.host, incoming: !outgoing, garbageAtMs: undefined, closedAtMs: undefined };
    this.conns.push(rec);
    let got = 0;
    conn.setHandlers({
      data: (chunk) => {
        got += chunk.length;
        if (got < 68 || rec.garbageAtMs !== undefined) return;
        // The victim's handshake is in: answer it (when it dialled us), then misbehave.
        rec.garbageAtMs = clock.now();
        conn.write(outgoing ? [garbage(this.mode, this.rng)] : [handshake(this.infoHash, this.peerId), garbage(this.mode, this.rng)]);
      },
      drain: () => {},
      close: () => {
        rec.closedAtMs = clock.now();
      },
    });
  }
}

async function runSwarm(seed: number, torrent: SimTorrent, withFakes: boolean): Promise<{ swarm: Swarm; fakes: FakePeer[]; realMs: number }> {
  const swarm = new Swarm({ seed, torrent, recordEvents: true });
  const lat = swarm.rng.fork('latency');
  swarm.addNode({ role: 'seeder', uplinkBytesPerSec: 512 * KiB, downlinkBytesPerSec: 4 * MiB, latencyMs: lat.range(5, 50) });
  for (let i = 0; i < 8; i++) swarm.addNode({ role: 'leecher', uplinkBytesPerSec: 128 * KiB, downlinkBytesPerSec: 1 * MiB, latencyMs: lat.range(5, 50) });
  const fakes: FakePeer[] = [];
  if (withFakes) {
    const rng = swarm.rng.fork('fakes');
    for (const mode of MODES) fakes.push(new FakePeer(swarm.network.addHost({ latencyMs: 20 }), mode, torrent.metainfo.infoHash!, rng.fork(mode)));
    // Half a second in: every fake dials every real node, and every leecher learns the fakes' addresses.
    swarm.clock.at(500, () => {
      for (const f of fakes) for (const n of swarm.nodes) f.dial(n.host);
      for (const n of swarm.leechers) n.torrent.addPeers(fakes.map((f) => ({ host: f.host.host, port: 6881 })));
    });
  }
  const t0 = realNow();
  await swarm.runUntil(() => swarm.allDone(), 600_000);
  // Keep going a while: a peer that broke the protocol must not be dialled again and again.
  await swarm.run(swarm.now + 60_000);
  return { swarm, fakes, realMs: realNow() - t0 };
}

describe('peers sending oversized frames or garbage', () => {
  const seed = scenarioSeed(0x5eed0004);
  let base: Awaited<ReturnType<typeof runSwarm>>;
  let bad: Awaited<ReturnType<typeof runSwarm>>;
  const lastDone = (s: Swarm): number => Math.max(...s.leechers.map((n) => n.doneAtMs ?? Infinity));

  before(async () => {
    const torrent = makeTorrent(seed, 2 * MiB, 32 * KiB);
    base = await runSwarm(seed, torrent, false);
    bad = await runSwarm(seed, torrent, true);
  });

  after(async () => {
    await base?.swarm.shutdown();
    await bad?.swarm.shutdown();
  });

  test('are dropped at once, and the other transfers complete as fast as without them', async (t) => {
    await withSeed(t, seed, () => {
      t.diagnostic(`bad frames seed=${seed}: without fakes all done at ${secs(lastDone(base.swarm))}, with fakes at ${secs(lastDone(bad.swarm))}`);
      t.diagnostic(`  with fakes: ${timeSummary(bad.swarm.leechers)}`);
      for (const f of bad.fakes) {
        const dropped = f.conns.filter((c) => c.garbageAtMs !== undefined && c.closedAtMs !== undefined);
        const worst = Math.max(0, ...dropped.map((c) => c.closedAtMs! - c.garbageAtMs!));
        const made = f.conns.filter((c) => !c.incoming).length;
        const dialled = f.conns.filter((c) => c.incoming).length;
        t.diagnostic(`  ${f.mode}: ${f.conns.length} connections (${made} it made, ${dialled} made to it), ${dropped.length} dropped after its garbage, slowest drop ${secs(worst)}`);
      }
      t.diagnostic(`  simulated in ${secs(base.realMs + bad.realMs)} real`);

      assert.ok(bad.swarm.allDone(), `not all leechers finished: ${unfinished(bad.swarm.leechers)}`);
      assertContent(bad.swarm, bad.swarm.leechers);
      for (const n of bad.swarm.nodes) assert.deepEqual(n.errors, [], `${n.name} reported errors`);
      assert.ok(lastDone(bad.swarm) <= 1.2 * lastDone(base.swarm) + 2000, 'the fakes slowed the swarm down');
      for (const f of bad.fakes) {
        for (const c of f.conns) {
          // Skip connections that never got a handshake (refused, still connecting) or misbehaved just now.
          if (c.garbageAtMs === undefined || c.garbageAtMs > bad.swarm.now - 2000) continue;
          assert.ok(c.closedAtMs !== undefined, `${f.mode}: ${c.victim} kept the connection open`);
          // One round trip at most, plus the time for 64 KiB to arrive.
          assert.ok(c.closedAtMs - c.garbageAtMs < 2000, `${f.mode}: ${c.victim} took ${secs(c.closedAtMs - c.garbageAtMs)} to drop it`);
        }
        assert.ok(f.conns.some((c) => c.garbageAtMs !== undefined), `${f.mode}: the fake never got to misbehave`);
      }
      return Promise.resolve();
    });
  });

  test('are not dialled again and again (a protocol error is a strike against the address)', async (t) => {
    await withSeed(t, seed, () => {
      for (const f of bad.fakes) {
        for (const n of bad.swarm.leechers) {
          const dials = f.conns.filter((c) => c.incoming && c.victim === n.host.host).length;
          assert.ok(dials <= 3, `${n.name} dialled the ${f.mode} fake ${dials} times in ${secs(bad.swarm.now)}`);
        }
      }
      return Promise.resolve();
    });
  });
});
