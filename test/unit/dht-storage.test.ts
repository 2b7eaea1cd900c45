/**
 * Write tokens (BEP 5: accepted for 5 to 10 minutes, only from the address they were issued to) and
 * the bounded, expiring store (peers 30 minutes, BEP 44 items 2 hours; caps refuse new keys rather
 * than evict old ones).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { TOKEN_ROTATE_MS, TokenIssuer } from '../../src/dht/tokens.js';
import { DhtStorage, ITEM_TTL_MS, PEER_TTL_MS } from '../../src/dht/storage.js';
import { seededDeps } from './support/dht-helpers.js';

const MIN = 60_000;
const ih = (n: number): Buffer => Buffer.alloc(20, n);

describe('write tokens', () => {
  it('constants: a secret rotates every 5 minutes', () => {
    assert.equal(TOKEN_ROTATE_MS, 5 * MIN);
  });

  it('a token is accepted from its own IP only, and refused once 10 minutes have passed', () => {
    const deps = seededDeps(1);
    const tokens = new TokenIssuer(() => deps.random(16), 0);
    const tok = tokens.issue('10.0.0.1', 0);
    assert.equal(tok.length, 8);
    assert.ok(tokens.valid(tok, '10.0.0.1', 0));
    assert.ok(!tokens.valid(tok, '10.0.0.2', 0), 'another IP');
    assert.ok(tokens.valid(tok, '10.0.0.1', 5 * MIN - 1));
    assert.ok(tokens.valid(tok, '10.0.0.1', 9 * MIN));
    assert.ok(!tokens.valid(tok, '10.0.0.1', 10 * MIN));
    assert.ok(!tokens.valid(Buffer.alloc(8), '10.0.0.1', 0), 'a made-up token');
  });

  it('a token is refused after 10 minutes even when no token was issued or checked meanwhile', () => {
    for (const idle of [10, 12, 15, 16, 20, 30, 60, 24 * 60]) {
      const deps = seededDeps(idle);
      const tokens = new TokenIssuer(() => deps.random(16), 0);
      const tok = tokens.issue('10.0.0.1', 0);
      assert.ok(!tokens.valid(tok, '10.0.0.1', idle * MIN), `token still accepted after ${idle} idle minutes`);
    }
  });

  it('property: valid for at least 5 minutes and never 10 minutes after issue, whatever the calls in between', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 3 * 60 * MIN }),
        fc.array(fc.integer({ min: 0, max: 20 * MIN }), { maxLength: 6 }),
        fc.integer({ min: 0, max: 5 * MIN - 1 }),
        fc.integer({ min: 10 * MIN, max: 3 * 60 * MIN }),
        (issueAt, gaps, early, late) => {
          const deps = seededDeps(issueAt);
          const tokens = new TokenIssuer(() => deps.random(16), 0);
          // Some activity before the issue, at increasing times.
          let t = 0;
          for (const g of gaps) {
            t += g;
            if (t >= issueAt) break;
            tokens.issue('10.9.9.9', t);
          }
          const tok = tokens.issue('10.0.0.1', issueAt);
          assert.ok(tokens.valid(tok, '10.0.0.1', issueAt + early), `refused ${early} ms after issue`);
          assert.ok(!tokens.valid(tok, '10.0.0.1', issueAt + early + late), `accepted ${early + late} ms after issue`);
        },
      ),
      { seed: 0x70ce, numRuns: 500 },
    );
  });
});

describe('storage', () => {
  const limits = { maxTorrents: 3, maxPeersPerTorrent: 4, maxItems: 2 };

  it('peers: stored per info-hash, re-announce refreshes, expire after 30 minutes', () => {
    assert.equal(PEER_TTL_MS, 30 * MIN);
    const s = new DhtStorage(limits);
    assert.ok(s.addPeer(ih(1), { host: '10.0.0.1', port: 1 }, false, 0));
    assert.ok(s.addPeer(ih(1), { host: '10.0.0.2', port: 2 }, true, 10 * MIN));
    assert.deepEqual(s.getPeers(ih(1), 10 * MIN), [{ host: '10.0.0.1', port: 1 }, { host: '10.0.0.2', port: 2 }]);
    assert.deepEqual(s.getPeers(ih(2), 0), []);
    assert.deepEqual(s.getPeers(ih(1), 30 * MIN), [{ host: '10.0.0.2', port: 2 }], 'the first expired at 30 minutes');
    assert.ok(s.addPeer(ih(1), { host: '10.0.0.2', port: 2 }, true, 35 * MIN), 're-announce');
    assert.deepEqual(s.getPeers(ih(1), 40 * MIN + 1), [{ host: '10.0.0.2', port: 2 }], 'refreshed');
    assert.deepEqual(s.getPeers(ih(1), 65 * MIN), []);
    s.expire(65 * MIN);
    assert.deepEqual(s.counts, { torrents: 0, peers: 0, items: 0 });
  });

  it('peers: caps on info-hashes and peers per info-hash refuse newcomers, keep what is there', () => {
    const s = new DhtStorage(limits);
    for (let t = 1; t <= 3; t++) assert.ok(s.addPeer(ih(t), { host: '10.0.0.1', port: t }, false, 0));
    assert.ok(!s.addPeer(ih(4), { host: '10.0.0.1', port: 4 }, false, 0), 'a 4th info-hash');
    for (let p = 2; p <= 4; p++) assert.ok(s.addPeer(ih(1), { host: `10.0.0.${p}`, port: 1 }, false, 0));
    assert.ok(!s.addPeer(ih(1), { host: '10.0.0.5', port: 1 }, false, 0), 'a 5th peer');
    assert.ok(s.addPeer(ih(1), { host: '10.0.0.4', port: 1 }, false, 1), 'a known peer re-announcing');
    assert.deepEqual(s.counts, { torrents: 3, peers: 6, items: 0 });
    // After expiry, room again.
    s.expire(PEER_TTL_MS + 1);
    assert.ok(s.addPeer(ih(4), { host: '10.0.0.1', port: 4 }, false, PEER_TTL_MS + 1));
  });

  it('peers: getPeers hands out at most `max`', () => {
    const s = new DhtStorage({ maxTorrents: 10, maxPeersPerTorrent: 500, maxItems: 10 });
    for (let p = 0; p < 300; p++) s.addPeer(ih(1), { host: `10.0.${p >> 8}.${p & 255}`, port: 1 }, false, 0);
    assert.equal(s.getPeers(ih(1), 0).length, 50);
    assert.equal(s.getPeers(ih(1), 0, 10).length, 10);
  });

  it('items: stored until 2 hours, cap refuses new targets but allows replacing a stored one', () => {
    assert.equal(ITEM_TTL_MS, 2 * 60 * MIN);
    const s = new DhtStorage(limits);
    const v = Buffer.from('1:x');
    assert.ok(s.putItem(ih(1), { v, expires: ITEM_TTL_MS }));
    assert.ok(s.putItem(ih(2), { v, expires: ITEM_TTL_MS }));
    assert.ok(!s.putItem(ih(3), { v, expires: ITEM_TTL_MS }), 'over the cap');
    assert.ok(s.putItem(ih(2), { v: Buffer.from('1:y'), expires: ITEM_TTL_MS + 5 }), 'replacing');
    assert.deepEqual(s.getItem(ih(2), 0)?.v, Buffer.from('1:y'));
    assert.ok(s.getItem(ih(1), ITEM_TTL_MS - 1));
    assert.equal(s.getItem(ih(1), ITEM_TTL_MS), undefined, 'expired');
    assert.equal(s.counts.items, 1);
    s.expire(ITEM_TTL_MS + 5);
    assert.equal(s.counts.items, 0);
  });

  it('sample(): up to max stored info-hashes, and how many there are', () => {
    const s = new DhtStorage({ maxTorrents: 100, maxPeersPerTorrent: 5, maxItems: 5 });
    for (let t = 0; t < 30; t++) s.addPeer(ih(t), { host: '10.0.0.1', port: 1 }, false, 0);
    const deps3 = seededDeps(3);
    const { samples, num } = s.sample(20, () => deps3.rng());
    assert.equal(num, 30);
    assert.equal(samples.length, 20);
    assert.equal(new Set(samples.map((x) => x.toString('hex'))).size, 20);
    for (const x of samples) assert.ok(x[0]! < 30 && x.equals(ih(x[0]!)));
  });

  it('property: random operations never exceed the caps', () => {
    const cmd = fc.oneof(
      fc.record({ k: fc.constant('peer' as const), t: fc.nat({ max: 20 }), p: fc.nat({ max: 20 }), dt: fc.nat({ max: 10 * MIN }) }),
      fc.record({ k: fc.constant('item' as const), t: fc.nat({ max: 20 }), p: fc.nat(), dt: fc.nat({ max: 30 * MIN }) }),
    );
    fc.assert(
      fc.property(fc.array(cmd, { maxLength: 200 }), (cmds) => {
        const s = new DhtStorage(limits);
        let now = 0;
        for (const c of cmds) {
          now += c.dt;
          if (c.k === 'peer') s.addPeer(ih(c.t), { host: `10.0.0.${c.p}`, port: 1 }, false, now);
          else s.putItem(ih(c.t), { v: Buffer.from('1:x'), expires: now + ITEM_TTL_MS });
          const n = s.counts;
          assert.ok(n.torrents <= limits.maxTorrents && n.peers <= limits.maxTorrents * limits.maxPeersPerTorrent && n.items <= limits.maxItems);
          for (let t = 0; t <= 20; t++) assert.ok(s.getPeers(ih(t), now).length <= limits.maxPeersPerTorrent);
        }
      }),
      { seed: 0x5701, numRuns: 300 },
    );
  });
});
