/**
 * The sim runtime itself: virtual clock ordering, seeded randomness, the network model (bandwidth,
 * latency, fair sharing, back-pressure, pause, close, connect failures, loss), the in-memory store and
 * its faults, and the listener's routing. The swarm scenarios rely on every one of these.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SimClock } from '../../src/runtime/sim/clock.js';
import { SimRandom } from '../../src/runtime/sim/random.js';
import { SimNetwork } from '../../src/runtime/sim/network.js';
import { SimPeerListener } from '../../src/runtime/sim/listener.js';
import { MemoryPieceStore } from '../../src/runtime/sim/store.js';
import { makeSimTorrent } from '../../src/runtime/sim/content.js';
import { StorageError } from '../../src/storage/errors.js';
import type { Connection } from '../../src/torrent/ports.js';
import { KiB, MiB } from './support/harness.js';
import { collect, pattern } from './support/raw.js';

function net(seed = 1, o: ConstructorParameters<typeof SimNetwork>[2] = {}): { clock: SimClock; network: SimNetwork } {
  const clock = new SimClock();
  return { clock, network: new SimNetwork(clock, new SimRandom(seed), o) };
}

describe('SimClock', () => {
  test('fires events by time, ties in insertion order, and skips cancelled ones', async () => {
    const clock = new SimClock();
    const log: string[] = [];
    clock.at(20, () => log.push('b@20'));
    clock.at(10, () => log.push('a@10'));
    clock.at(20, () => log.push('c@20'));
    const h = clock.setTimeout(() => log.push('cancelled'), 15);
    clock.clearTimeout(h);
    clock.at(30, () => {
      log.push(`d@${clock.now()}`);
      clock.after(0, () => log.push('e@30'));
    });
    await clock.run(100);
    assert.deepEqual(log, ['a@10', 'b@20', 'c@20', 'd@30', 'e@30']);
    assert.equal(clock.now(), 100);
  });

  test('setTimeout counts a delay under 1 ms as 1 ms, like Node', async () => {
    const clock = new SimClock();
    let at = -1;
    clock.setTimeout(() => (at = clock.now()), 0);
    await clock.run(10);
    assert.equal(at, 1);
  });

  test('runUntil stops when the predicate holds, or at the limit', async () => {
    const clock = new SimClock();
    let n = 0;
    const tick = (): void => {
      n++;
      clock.setTimeout(tick, 100);
    };
    clock.setTimeout(tick, 100);
    assert.equal(await clock.runUntil(() => n >= 5, 10_000), true);
    assert.equal(clock.now(), 500);
    assert.equal(await clock.runUntil(() => n >= 1000, 1000), false);
    assert.equal(clock.now(), 1500);
  });

  test('promise callbacks run before the next event, at the time of the event that settled them', async () => {
    const clock = new SimClock();
    const log: string[] = [];
    clock.at(10, () => {
      clock.noteAsync();
      void Promise.resolve()
        .then(() => Promise.resolve())
        .then(() => log.push(`then@${clock.now()}`));
    });
    clock.at(11, () => log.push('next@11'));
    await clock.run(20);
    assert.deepEqual(log, ['then@10', 'next@11']);
  });
});

describe('SimRandom', () => {
  test('the same seed gives the same stream; forks are independent of the parent', () => {
    const a = new SimRandom(42);
    const b = new SimRandom(42);
    const xs = Array.from({ length: 100 }, () => a.next());
    assert.deepEqual(xs, Array.from({ length: 100 }, () => b.next()));
    assert.ok(xs.every((x) => x >= 0 && x < 1));
    const before = new SimRandom(7);
    const f1 = before.fork('node:1').next();
    before.next();
    assert.equal(before.fork('node:1').next(), f1, 'fork does not depend on the parent position');
    assert.notEqual(new SimRandom(7).fork('node:2').next(), f1);
    assert.notEqual(new SimRandom(43).next(), new SimRandom(42).next());
  });

  test('int, sample and bytes stay in range and are deterministic', () => {
    const r = new SimRandom(3);
    for (let i = 0; i < 1000; i++) {
      const k = r.int(7);
      assert.ok(Number.isInteger(k) && k >= 0 && k < 7);
    }
    const s = r.sample([1, 2, 3, 4, 5], 3);
    assert.equal(new Set(s).size, 3);
    assert.deepEqual(new SimRandom(9).bytes(13), new SimRandom(9).bytes(13));
  });
});

describe('SimNetwork', () => {
  test('a transfer takes connect + size/uplink + latency, and arrives intact and in order', async () => {
    const { clock, network } = net();
    const a = network.addHost({ uplinkBytesPerSec: 1 * MiB, latencyMs: 10 });
    const b = network.addHost({ downlinkBytesPerSec: 10 * MiB, latencyMs: 10 });
    let server: ReturnType<typeof collect> | undefined;
    b.listen(6881, (conn) => (server = collect(conn, () => clock.now())));
    const conn = a.connect({ host: b.host, port: 6881 });
    const client = collect(conn, () => clock.now());
    const data = pattern(1 * MiB);
    conn.write([data]);
    await clock.runUntil(() => (server?.bytes ?? 0) >= data.length, 60_000);
    assert.equal(client.connectedAtMs, 40, 'connect takes one round trip (2 × 20 ms)');
    assert.ok(server!.all().equals(data));
    // 40 ms connect, 1000 ms on the uplink, 20 ms latency, the last chunk's 1.6 ms on the downlink.
    assert.ok(Math.abs(clock.now() - 1061.6) < 1, `finished at ${clock.now()}`);
  });

  test('one uplink is shared fairly between connections', async () => {
    const { clock, network } = net();
    const a = network.addHost({ uplinkBytesPerSec: 1 * MiB, latencyMs: 5 });
    const got: number[] = [0, 0];
    const doneAt: number[] = [0, 0];
    for (let i = 0; i < 2; i++) {
      const r = network.addHost({ latencyMs: 5 });
      r.listen(1, (conn) =>
        collect(conn, () => clock.now(), (c) => {
          got[i]! += c.length;
          if (got[i] === 512 * KiB) doneAt[i] = clock.now();
        }),
      );
      const c = a.connect({ host: r.host, port: 1 });
      collect(c, () => clock.now());
      c.write([pattern(512 * KiB)]);
    }
    await clock.run(5000);
    assert.deepEqual(got, [512 * KiB, 512 * KiB]);
    // Together 1 MiB at 1 MiB/s: both finish near 1 s (not one at 0.5 s and the other at 1 s).
    for (const t of doneAt) assert.ok(t > 950 && t < 1060, `finished at ${t}`);
  });

  test('one downlink is shared fairly between senders', async () => {
    const { clock, network } = net();
    const r = network.addHost({ downlinkBytesPerSec: 1 * MiB, latencyMs: 5 });
    const got = new Map<string, number>();
    const doneAt: number[] = [];
    r.listen(1, (conn) =>
      collect(conn, () => clock.now(), (c) => {
        const n = (got.get(conn.remote.host) ?? 0) + c.length;
        got.set(conn.remote.host, n);
        if (n === 512 * KiB) doneAt.push(clock.now());
      }),
    );
    for (let i = 0; i < 2; i++) {
      const s = network.addHost({ latencyMs: 5 });
      const c = s.connect({ host: r.host, port: 1 });
      collect(c, () => clock.now());
      c.write([pattern(512 * KiB)]);
    }
    await clock.run(5000);
    assert.equal(doneAt.length, 2);
    for (const t of doneAt) assert.ok(t > 950 && t < 1060, `finished at ${t}`);
  });

  test('write() reports a full send buffer, drain follows, and a paused reader stops the writer', async () => {
    const { clock, network } = net(1, { sendBufferBytes: 256 * KiB, windowBytes: 512 * KiB });
    const a = network.addHost({ uplinkBytesPerSec: 1 * MiB, latencyMs: 5 });
    const b = network.addHost({ latencyMs: 5 });
    let server: Connection | undefined;
    let received = 0;
    b.listen(1, (conn) => {
      server = conn;
      collect(conn, () => clock.now(), (c) => (received += c.length));
      conn.pause();
    });
    const conn = a.connect({ host: b.host, port: 1 });
    const client = collect(conn, () => clock.now());
    assert.equal(conn.write([pattern(100 * KiB)]), true);
    assert.equal(conn.write([pattern(200 * KiB)]), false, 'over 256 KiB queued');
    await clock.run(2000);
    assert.equal(client.drains, 1);
    assert.equal(received, 0, 'nothing is delivered while paused');
    // More than the window cannot leave the writer while the reader is paused.
    assert.equal(conn.write([pattern(2 * MiB)]), false);
    await clock.run(10_000);
    assert.equal(received, 0);
    assert.equal(a.bytesSent, 512 * KiB, 'exactly one window in flight');
    server!.resume();
    await clock.run(20_000);
    assert.equal(received, 300 * KiB + 2 * MiB);
    assert.equal(client.drains, 2);
  });

  test('closing delivers what is on the wire, then close, one latency later; the closer gets no callback', async () => {
    const { clock, network } = net();
    const a = network.addHost({ latencyMs: 15 });
    const b = network.addHost({ latencyMs: 15 });
    let server: ReturnType<typeof collect> | undefined;
    b.listen(1, (conn) => (server = collect(conn, () => clock.now())));
    const conn = a.connect({ host: b.host, port: 1 });
    const client = collect(conn, () => clock.now());
    await clock.run(100);
    conn.write([Buffer.from('last words')]);
    conn.close();
    conn.write([Buffer.from('ignored')]);
    await clock.run(1000);
    assert.equal(server!.all().toString(), 'last words');
    assert.equal(server!.closedAtMs, 130);
    assert.equal(server!.closeError, undefined);
    assert.equal(client.closed, false);
  });

  test('a dial to nobody times out; to a closed port it times out, or is refused after a round trip', async () => {
    const { clock, network } = net(1, { connectTimeoutMs: 10_000, closedPort: 'refuse' });
    const a = network.addHost({ latencyMs: 10 });
    const b = network.addHost({ latencyMs: 10 });
    const nobody = collect(a.connect({ host: '10.99.99.1', port: 6881 }), () => clock.now());
    const refused = collect(a.connect({ host: b.host, port: 6881 }), () => clock.now());
    await clock.run(20_000);
    assert.equal(nobody.closedAtMs, 10_000);
    assert.match(nobody.closeError!.message, /timed out/);
    assert.equal(refused.closedAtMs, 40);
    assert.match(refused.closeError!.message, /refused/);
    b.listen(6881, () => {});
    b.goOffline();
    const offline = collect(a.connect({ host: b.host, port: 6881 }), () => clock.now());
    await clock.run(40_000);
    assert.equal(offline.closedAtMs, 30_000);
    const quiet = net(1, { connectTimeoutMs: 5000 });
    const c = quiet.network.addHost({ latencyMs: 10 });
    const d = quiet.network.addHost({ latencyMs: 10 });
    const closedPort = collect(c.connect({ host: d.host, port: 6881 }), () => quiet.clock.now());
    await quiet.clock.run(10_000);
    assert.equal(closedPort.closedAtMs, 5000, 'by default a closed port times out');
  });

  test('a crashed host acknowledges nothing: the writer stops at one window and hears no close', async () => {
    const { clock, network } = net(1, { windowBytes: 256 * KiB });
    const a = network.addHost({ uplinkBytesPerSec: 1 * MiB, latencyMs: 5 });
    const b = network.addHost({ latencyMs: 5 });
    b.listen(1, (conn) => collect(conn, () => clock.now()));
    const conn = a.connect({ host: b.host, port: 1 });
    const client = collect(conn, () => clock.now());
    await clock.run(100);
    b.crash();
    conn.write([pattern(4 * MiB)]);
    await clock.run(30_000);
    assert.equal(a.bytesSent, 256 * KiB);
    assert.equal(client.closed, false);
  });

  test('loss delays chunks but never reorders or drops them', async () => {
    const { clock, network } = net(5);
    const a = network.addHost({ uplinkBytesPerSec: 1 * MiB, latencyMs: 10, lossRate: 0.2 });
    const b = network.addHost({ latencyMs: 10 });
    let server: ReturnType<typeof collect> | undefined;
    b.listen(1, (conn) => (server = collect(conn, () => clock.now())));
    const conn = a.connect({ host: b.host, port: 1 });
    collect(conn, () => clock.now());
    const data = pattern(1 * MiB);
    conn.write([data]);
    await clock.runUntil(() => (server?.bytes ?? 0) >= data.length, 60_000);
    assert.ok(server!.all().equals(data));
    assert.ok(clock.now() > 1300, `loss should cost time (done at ${clock.now()})`);
  });
});

describe('MemoryPieceStore', () => {
  const t = makeSimTorrent(new SimRandom(11), { lengthBytes: 100 * KiB, pieceLength: 32 * KiB });
  const m = t.metainfo;

  test('a seeder store verifies every piece; a leecher store verifies what it was given', async () => {
    const clock = new SimClock();
    const seed = new MemoryPieceStore(m, { clock, content: t.content });
    for (let i = 0; i < m.pieceCount; i++) assert.equal(await seed.verify(i), true);
    assert.equal(seed.initialHave.complete, true);
    const leech = new MemoryPieceStore(m, { clock });
    assert.equal(await leech.verify(0), false);
    await leech.write(0, 0, t.content.subarray(0, 16 * KiB));
    await leech.write(0, 16 * KiB, t.content.subarray(16 * KiB, 32 * KiB));
    assert.equal(await leech.verify(0), true);
    assert.ok((await leech.read(0, 100, 50)).equals(t.content.subarray(100, 150)));
    // The last, short piece.
    await leech.write(3, 0, t.content.subarray(96 * KiB));
    assert.equal(await leech.verify(3), true);
  });

  test('disk full: writes past the limit reject with ERR_STORAGE_FULL and store nothing', async () => {
    const clock = new SimClock();
    const s = new MemoryPieceStore(m, { clock, faults: { diskFullAfterBytes: 20 * KiB } });
    await s.write(0, 0, t.content.subarray(0, 16 * KiB));
    await assert.rejects(s.write(0, 16 * KiB, t.content.subarray(16 * KiB, 32 * KiB)), (e: unknown) => {
      assert.ok(e instanceof StorageError);
      assert.equal(e.code, 'ERR_STORAGE_FULL');
      assert.equal(e.op, 'write');
      return true;
    });
    assert.equal(s.bytesWritten, 16 * KiB);
  });

  test('slow writes and hashing settle after virtual time, one after another', async () => {
    const clock = new SimClock();
    const s = new MemoryPieceStore(m, { clock, faults: { writeBytesPerSec: 16 * KiB, hashDelayMs: 5 } });
    const done: number[] = [];
    void s.write(0, 0, t.content.subarray(0, 16 * KiB)).then(() => done.push(clock.now()));
    void s.write(0, 16 * KiB, t.content.subarray(16 * KiB, 32 * KiB)).then(() => done.push(clock.now()));
    await clock.run(5000);
    assert.deepEqual(done, [1000, 2000]);
    let verified: boolean | undefined;
    let at = 0;
    void s.verify(0).then((ok) => {
      verified = ok;
      at = clock.now();
    });
    await clock.run(6000);
    assert.equal(verified, true);
    assert.equal(at, 5005);
  });

  test('corrupt reads return wrong bytes for the chosen blocks only', async () => {
    const clock = new SimClock();
    const s = new MemoryPieceStore(m, { clock, content: t.content, faults: { corruptReads: (p, b) => p === 1 && b === 0 } });
    assert.ok((await s.read(0, 0, 16 * KiB)).equals(t.content.subarray(0, 16 * KiB)));
    assert.ok(!(await s.read(1, 0, 16 * KiB)).equals(t.content.subarray(32 * KiB, 48 * KiB)));
    assert.ok((await s.read(1, 16 * KiB, 16 * KiB)).equals(t.content.subarray(48 * KiB, 64 * KiB)));
    assert.equal(await s.verify(1), true, 'the stored piece itself is intact');
  });
});

describe('SimPeerListener', () => {
  test('routes a handshake to the torrent that accepts its info-hash, with every byte read so far', async () => {
    const { clock, network } = net();
    const a = network.addHost({ latencyMs: 5 });
    const b = network.addHost({ latencyMs: 5 });
    const listener = new SimPeerListener(b, 6881);
    const hash = Buffer.alloc(20, 7);
    const got: Buffer[] = [];
    listener.add({
      accepts: (h) => (h.equals(hash) ? hash : undefined),
      addIncoming: (conn, first) => {
        got.push(first);
        collect(conn as never, () => clock.now(), (c) => got.push(c));
      },
    });
    const hs = Buffer.concat([Buffer.from([19]), Buffer.from('BitTorrent protocol'), Buffer.alloc(8), hash, Buffer.alloc(20, 1)]);
    const good = a.connect({ host: b.host, port: 6881 });
    collect(good, () => clock.now());
    good.write([hs.subarray(0, 30)]);
    clock.at(100, () => good.write([hs.subarray(30), Buffer.from('more')]));
    const bad = a.connect({ host: b.host, port: 6881 });
    const badSide = collect(bad, () => clock.now());
    bad.write([Buffer.concat([hs.subarray(0, 28), Buffer.alloc(20, 9), hs.subarray(48)])]);
    await clock.run(1000);
    assert.ok(Buffer.concat(got).equals(Buffer.concat([hs, Buffer.from('more')])));
    assert.equal(listener.accepted, 1);
    assert.equal(badSide.closed, true, 'an unknown info-hash is closed');
  });
});
