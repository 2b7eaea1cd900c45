/**
 * The Kademlia routing table (BEP 5): buckets of K = 8 that split only around our own id, one entry
 * per IP (except loopback), nodes going bad after failures and replaced from the cache, closest()
 * ordering and `confirmedOnly`, refresh targets inside their bucket; plus a property test that runs
 * random operation sequences and checks the table's invariants after each.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { BAD_FAILURES, EXTENDED_BUCKET_SIZES, GOOD_MS, K, RoutingTable } from '../../src/dht/routing-table.js';
import type { NodeEntry } from '../../src/dht/routing-table.js';
import { commonPrefixBits, compareDistance } from '../../src/dht/node-id.js';
import { OUR_ID, addr, idAtPrefix } from './support/dht-helpers.js';
import { seededRng } from './support/swarm-helpers.js';

const hexOf = (n: { id: Buffer }): string => n.id.toString('hex');

/** Per shared-prefix length with our id: how many entries (the last bucket takes every longer prefix). */
function prefixCounts(t: RoutingTable): Map<number, number> {
  const m = new Map<number, number>();
  for (const n of t.all()) {
    const p = Math.min(commonPrefixBits(n.id, t.ownId), t.bucketCount - 1);
    m.set(p, (m.get(p) ?? 0) + 1);
  }
  return m;
}

function checkInvariants(t: RoutingTable, sizes: readonly number[] = []): void {
  const all = t.all();
  assert.equal(all.length, t.size);
  assert.ok(t.bucketCount >= 1 && t.bucketCount <= 160);
  for (const [p, c] of prefixCounts(t)) assert.ok(c <= (sizes[p] ?? K), `bucket ${p} holds ${c} > ${sizes[p] ?? K} nodes`);
  const ids = new Set(all.map(hexOf));
  assert.equal(ids.size, all.length, 'an id appears twice');
  assert.ok(!ids.has(t.ownId.toString('hex')), 'our own id is in the table');
  const ips = all.map((n) => n.addr.host).filter((h) => !h.startsWith('127.'));
  assert.equal(new Set(ips).size, ips.length, `one entry per IP: ${ips.join(',')}`);
  const endpoints = all.map((n) => `${n.addr.host}:${n.addr.port}`);
  assert.equal(new Set(endpoints).size, endpoints.length, 'one entry per address');
}

describe('routing table', () => {
  it('splits around our own id: K per bucket, refused nodes only where the bucket is full', () => {
    const rnd = seededRng(1);
    const t = new RoutingTable(OUR_ID, 0);
    let host = 1;
    for (let i = 0; i < 2000; i++) {
      // Ids at every distance: a geometric mix, as a real network's are.
      const bit = Math.min(159, Math.floor(-Math.log2(1 - rnd())));
      const id = idAtPrefix(OUR_ID, bit, rnd);
      const res = t.heard(id, addr(host++), 0, true);
      if (res === 'refused') {
        const p = Math.min(commonPrefixBits(id, OUR_ID), t.bucketCount - 1);
        assert.equal(prefixCounts(t).get(p), K, `refused with room in bucket ${p}`);
      }
    }
    checkInvariants(t);
    assert.ok(t.bucketCount >= 8, `only ${t.bucketCount} buckets`);
    // Every bucket but the last (which may be partly empty) is full with this many nodes.
    for (let p = 0; p < t.bucketCount - 1; p++) assert.equal(prefixCounts(t).get(p), K, `bucket ${p}`);
  });

  it('extended table: the far buckets hold 128, 64, 32, 16 nodes, the rest K; nodes near us are never dropped by a split', () => {
    const rnd = seededRng(11);
    const t = new RoutingTable(OUR_ID, 0, EXTENDED_BUCKET_SIZES);
    const near: Buffer[] = [];
    let host = 1;
    for (let i = 0; i < 5000; i++) {
      const bit = Math.min(159, Math.floor(-Math.log2(1 - rnd())));
      const id = idAtPrefix(OUR_ID, bit, rnd);
      const res = t.heard(id, addr(host++), 0, true);
      if (res === 'refused') {
        const p = Math.min(commonPrefixBits(id, OUR_ID), t.bucketCount - 1);
        assert.equal(prefixCounts(t).get(p), EXTENDED_BUCKET_SIZES[p] ?? K, `refused with room in bucket ${p}`);
      }
      // The first nodes very near us (sharing 12+ bits) arrive while the table has few buckets: a
      // later split must carry them down, not drop them.
      if (bit >= 12 && res === 'added' && near.length < 4) near.push(id);
    }
    checkInvariants(t, EXTENDED_BUCKET_SIZES);
    for (let p = 0; p < t.bucketCount - 1; p++) assert.equal(prefixCounts(t).get(p), EXTENDED_BUCKET_SIZES[p] ?? K, `bucket ${p}`);
    assert.ok(near.length > 0);
    for (const id of near) assert.ok(t.find(id), 'a node near us was dropped');
    // closest() scans whole buckets in distance order and stops early: same answer as a full sort.
    for (let q = 0; q < 40; q++) {
      const target = idAtPrefix(OUR_ID, q % 14, rnd);
      const want = t.all().sort((a, b) => compareDistance(target, a.id, b.id)).slice(0, 16);
      assert.deepEqual(t.closest(target, 16).map(hexOf), want.map(hexOf));
    }
  });

  it('does not split a bucket far from us: a 9th far node is refused', () => {
    const rnd = seededRng(2);
    const t = new RoutingTable(OUR_ID, 0);
    for (let i = 0; i < K; i++) assert.equal(t.heard(idAtPrefix(OUR_ID, 0, rnd), addr(i + 1), 0, true), 'added');
    assert.equal(t.heard(idAtPrefix(OUR_ID, 0, rnd), addr(100), 0, true), 'refused');
    assert.equal(t.size, K);
    // Nodes near us still get in: the bucket that holds our id has split.
    assert.equal(t.heard(idAtPrefix(OUR_ID, 5, rnd), addr(101), 0, true), 'added');
    assert.ok(t.bucketCount >= 2);
    checkInvariants(t);
  });

  it('refuses our own id and ids of the wrong length; keeps the first address of a known id', () => {
    const rnd = seededRng(3);
    const t = new RoutingTable(OUR_ID, 0);
    assert.equal(t.heard(Buffer.from(OUR_ID), addr(1), 0, true), 'refused');
    assert.equal(t.heard(Buffer.alloc(19, 1), addr(1), 0, true), 'refused');
    const id = idAtPrefix(OUR_ID, 3, rnd);
    assert.equal(t.heard(id, addr(1), 0, false), 'added');
    assert.equal(t.heard(id, addr(2), 10, true), 'known');
    assert.deepEqual(t.find(id)?.addr, addr(1));
    assert.equal(t.find(id)?.lastReply, 0, 'an answer from another address does not confirm it');
    assert.equal(t.heard(id, addr(1), 20, true), 'known');
    assert.equal(t.find(id)?.lastReply, 20);
  });

  it('a node back at the same address with a new id replaces its old entry', () => {
    const rnd = seededRng(11);
    const t = new RoutingTable(OUR_ID, 0);
    const old = idAtPrefix(OUR_ID, 2, rnd);
    t.heard(old, addr(1), 0, true);
    const renewed = idAtPrefix(OUR_ID, 6, rnd);
    assert.equal(t.heard(renewed, addr(1), 5, false), 'added');
    assert.equal(t.find(old), undefined);
    assert.ok(t.find(renewed));
    assert.equal(t.size, 1);
    // On loopback too (where many nodes share the IP, each address is still one node).
    t.heard(idAtPrefix(OUR_ID, 3, rnd), { host: '127.0.0.1', port: 4000 }, 6, true);
    t.heard(idAtPrefix(OUR_ID, 4, rnd), { host: '127.0.0.1', port: 4000 }, 7, true);
    assert.equal(t.all().filter((n) => n.addr.port === 4000).length, 1);
  });

  it('one entry per IP address, except loopback', () => {
    const rnd = seededRng(4);
    const t = new RoutingTable(OUR_ID, 0);
    assert.equal(t.heard(idAtPrefix(OUR_ID, 1, rnd), { host: '10.9.9.9', port: 1000 }, 0, true), 'added');
    assert.equal(t.heard(idAtPrefix(OUR_ID, 2, rnd), { host: '10.9.9.9', port: 1001 }, 0, true), 'refused');
    for (let i = 0; i < 5; i++) assert.equal(t.heard(idAtPrefix(OUR_ID, 3 + i, rnd), { host: '127.0.0.1', port: 2000 + i }, 0, true), 'added');
    assert.equal(t.size, 6);
    // Once the entry is removed, the IP is free again.
    t.remove(t.all().find((n) => n.addr.host === '10.9.9.9')!.id);
    assert.equal(t.heard(idAtPrefix(OUR_ID, 2, rnd), { host: '10.9.9.9', port: 1001 }, 0, true), 'added');
  });

  it('failed(): questionable after one failure, bad after BAD_FAILURES and replaced by the newest cached node', () => {
    const rnd = seededRng(5);
    const t = new RoutingTable(OUR_ID, 0);
    const far = Array.from({ length: K }, () => idAtPrefix(OUR_ID, 0, rnd));
    far.forEach((id, i) => t.heard(id, addr(i + 1), 0, true));
    const cached1 = idAtPrefix(OUR_ID, 0, rnd);
    const cached2 = idAtPrefix(OUR_ID, 0, rnd);
    const unconfirmed = idAtPrefix(OUR_ID, 0, rnd);
    assert.equal(t.heard(cached1, addr(50), 1, true), 'refused');
    assert.equal(t.heard(cached2, addr(51), 2, true), 'refused');
    assert.equal(t.heard(unconfirmed, addr(52), 3, false), 'refused', 'only nodes that answered are cached');
    const victim = far[3]!;
    t.failed(victim, 10);
    assert.ok(t.find(victim), 'one failure: still there');
    assert.ok(!RoutingTable.isGood(t.find(victim)!, 10));
    assert.equal(BAD_FAILURES, 2);
    t.failed(victim, 11);
    assert.equal(t.find(victim), undefined, 'bad: replaced');
    assert.ok(t.find(cached2), 'the newest cached node took its place');
    assert.equal(t.find(cached1), undefined);
    assert.equal(t.size, K);
    // The victim's IP is free again; the newcomer's is taken.
    assert.equal(t.heard(idAtPrefix(OUR_ID, 7, rnd), addr(4), 12, true), 'added');
    assert.equal(t.heard(idAtPrefix(OUR_ID, 8, rnd), addr(51, 7000), 12, true), 'refused');
    checkInvariants(t);
  });

  it('a cached node whose IP has meanwhile entered the table is not swapped in twice (one entry per IP)', () => {
    const rnd = seededRng(10);
    const t = new RoutingTable(OUR_ID, 0);
    const far = Array.from({ length: K }, () => idAtPrefix(OUR_ID, 0, rnd));
    far.forEach((id, i) => t.heard(id, addr(i + 1), 0, true));
    assert.equal(t.heard(idAtPrefix(OUR_ID, 0, rnd), addr(50), 1, true), 'refused'); // cached
    assert.equal(t.heard(idAtPrefix(OUR_ID, 3, rnd), addr(50, 7000), 2, true), 'added'); // same IP, near us
    t.failed(far[0]!, 3);
    t.failed(far[0]!, 4);
    checkInvariants(t);
  });

  it('a bad node with no cached replacement stays out of closest() and gives way to the next newcomer', () => {
    const rnd = seededRng(6);
    const t = new RoutingTable(OUR_ID, 0);
    const far = Array.from({ length: K }, () => idAtPrefix(OUR_ID, 0, rnd));
    far.forEach((id, i) => t.heard(id, addr(i + 1), 0, true));
    t.heard(idAtPrefix(OUR_ID, 4, rnd), addr(30), 0, true); // split
    const victim = far[0]!;
    t.failed(victim, 1);
    t.failed(victim, 2);
    assert.ok(t.find(victim), 'no replacement: kept');
    assert.ok(!t.closest(victim, 100).some((n) => n.id.equals(victim)), 'but never handed out');
    const newcomer = idAtPrefix(OUR_ID, 0, rnd);
    assert.equal(t.heard(newcomer, addr(40), 3, false), 'added');
    assert.equal(t.find(victim), undefined);
    // An answer clears failures.
    t.failed(far[1]!, 4);
    t.heard(far[1]!, addr(2), 5, true);
    assert.equal(t.find(far[1]!)?.failures, 0);
  });

  it('closest(): the nearest by XOR distance, in order; confirmedOnly leaves out nodes that never answered', () => {
    const rnd = seededRng(7);
    const t = new RoutingTable(OUR_ID, 0);
    for (let i = 0; i < 600; i++) {
      const bit = Math.min(159, Math.floor(-Math.log2(1 - rnd())));
      t.heard(idAtPrefix(OUR_ID, bit, rnd), addr(i + 1), 0, rnd() < 0.5);
    }
    for (let q = 0; q < 50; q++) {
      const target = q % 2 ? idAtPrefix(OUR_ID, q, rnd) : idAtPrefix(OUR_ID, 0, rnd);
      for (const confirmed of [false, true]) {
        const want = t
          .all()
          .filter((n) => !confirmed || n.lastReply > 0)
          .sort((a, b) => compareDistance(target, a.id, b.id))
          .slice(0, K);
        const got = t.closest(target, K, confirmed);
        assert.deepEqual(got.map(hexOf), want.map(hexOf));
        if (confirmed) assert.ok(got.every((n) => n.lastReply > 0));
      }
      assert.equal(t.closest(target, 3).length, 3);
      assert.equal(t.closest(target, 1000).length, t.size);
    }
  });

  it('staleBuckets(): one refresh target per stale bucket, inside that bucket', () => {
    const rnd = seededRng(8);
    const t = new RoutingTable(OUR_ID, 0);
    for (let i = 0; i < 300; i++) t.heard(idAtPrefix(OUR_ID, Math.min(159, Math.floor(-Math.log2(1 - rnd()))), rnd), addr(i + 1), 0, true);
    const random = (): Buffer => Buffer.from(Array.from({ length: 20 }, () => Math.floor(rnd() * 256)));
    assert.deepEqual(t.staleBuckets(GOOD_MS - 1, GOOD_MS, random), [], 'nothing stale yet');
    const targets = t.staleBuckets(GOOD_MS, GOOD_MS, random);
    assert.equal(targets.length, t.bucketCount);
    targets.forEach((target, i) => {
      const p = commonPrefixBits(target, OUR_ID);
      if (i < t.bucketCount - 1) assert.equal(p, i, `target for bucket ${i} shares ${p} bits`);
      else assert.ok(p >= i, `target for the last bucket shares ${p} bits`);
    });
    assert.deepEqual(t.staleBuckets(GOOD_MS + 1, GOOD_MS, random), [], 'refreshed buckets are fresh again');
  });

  it('questionable(): nodes not heard from for 15 minutes, oldest first', () => {
    const rnd = seededRng(9);
    const t = new RoutingTable(OUR_ID, 0);
    const a = idAtPrefix(OUR_ID, 1, rnd);
    const b = idAtPrefix(OUR_ID, 2, rnd);
    const c = idAtPrefix(OUR_ID, 3, rnd);
    t.heard(a, addr(1), 100, true);
    t.heard(b, addr(2), 50, true);
    t.heard(c, addr(3), GOOD_MS, true);
    assert.deepEqual(t.questionable(GOOD_MS + 100, 10).map(hexOf), [b, a].map((x) => x.toString('hex')));
    assert.equal(t.questionable(GOOD_MS + 100, 1).length, 1);
  });

  it('property: random heard / failed / remove sequences keep the invariants', () => {
    type Op = { kind: 'heard'; bit: number; ip: number; port: number; replied: boolean; reuse: number | undefined } | { kind: 'failed' | 'remove'; pick: number };
    const op: fc.Arbitrary<Op> = fc.oneof(
      { weight: 6, arbitrary: fc.record({ kind: fc.constant('heard' as const), bit: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 12 })), ip: fc.integer({ min: 0, max: 40 }), port: fc.integer({ min: 1, max: 3 }), replied: fc.boolean(), reuse: fc.option(fc.nat(), { nil: undefined }) }) },
      { weight: 3, arbitrary: fc.record({ kind: fc.constant('failed' as const), pick: fc.nat() }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('remove' as const), pick: fc.nat() }) },
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), fc.integer(), fc.boolean(), (ops, seed, extended) => {
        const rnd = seededRng(seed);
        const sizes = extended ? EXTENDED_BUCKET_SIZES : [];
        const t = new RoutingTable(OUR_ID, 0, sizes);
        const seen: Buffer[] = [];
        let now = 0;
        for (const o of ops) {
          now += 1000;
          if (o.kind === 'heard') {
            const id = o.reuse !== undefined && seen.length > 0 ? seen[o.reuse % seen.length]! : idAtPrefix(OUR_ID, o.bit, rnd);
            seen.push(id);
            const host = o.ip === 0 ? '127.0.0.1' : `10.1.0.${o.ip}`;
            const before = t.find(id);
            const res = t.heard(id, { host, port: o.port }, now, o.replied);
            if (res === 'added') assert.ok(t.find(id));
            if (before) assert.equal(res, 'known');
          } else {
            const all: NodeEntry[] = t.all();
            if (all.length === 0) continue;
            const victim = all[o.pick % all.length]!;
            if (o.kind === 'failed') t.failed(victim.id, now);
            else {
              t.remove(victim.id);
              assert.equal(t.find(victim.id), undefined);
            }
          }
          checkInvariants(t, sizes);
        }
      }),
      { seed: 0x7ab1e, numRuns: 300 },
    );
  });
});
