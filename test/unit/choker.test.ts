/**
 * The choker (tit-for-tat with an optimistic unchoke) and the rate meters it is fed by.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CHOKE_INTERVAL_MS, OPTIMISTIC_INTERVAL_MS, chooseUnchoked } from '../../src/torrent/choker.js';
import type { ChokerPeer, ChokerState } from '../../src/torrent/choker.js';
import { RateMeter, TokenBucket } from '../../src/torrent/rate.js';
import { seededRng } from './support/swarm-helpers.js';

const NOW = 1_000_000;

function peer(id: number, o: Partial<ChokerPeer> = {}): ChokerPeer {
  return { id, interested: true, downRate: 0, upRate: 0, connectedAt: 0, ...o };
}

const fresh = (): ChokerState => ({ optimistic: undefined, optimisticSince: 0 });
const sorted = (s: Set<number>): number[] => [...s].sort((a, b) => a - b);
const always = (x: number) => (): number => x;

/** Six interested leechers with distinct download rates, and a fast one that is not interested. */
const swarm = (): ChokerPeer[] => [
  peer(1, { downRate: 100 }),
  peer(2, { downRate: 600 }),
  peer(3, { downRate: 300 }),
  peer(4, { downRate: 500 }),
  peer(5, { downRate: 200 }),
  peer(6, { downRate: 400 }),
  peer(7, { downRate: 10_000, interested: false }),
];

describe('choker', () => {
  it('uses the BEP 3 intervals: 10 s rounds, optimistic unchoke every 30 s', () => {
    assert.equal(CHOKE_INTERVAL_MS, 10_000);
    assert.equal(OPTIMISTIC_INTERVAL_MS, 30_000);
  });

  it('leeching: slots-1 fastest uploaders to us plus one optimistic; uninterested peers never', () => {
    const state = fresh();
    const u = chooseUnchoked(swarm(), 4, false, state, NOW, always(0));
    assert.equal(u.size, 4);
    // regular: 2 (600), 4 (500), 6 (400); optimistic among 1, 3, 5: rng 0 takes the first
    assert.deepEqual(sorted(u), [1, 2, 4, 6]);
    assert.deepEqual(state, { optimistic: 1, optimisticSince: NOW });
    for (const slots of [1, 2, 3, 5, 6]) {
      const v = chooseUnchoked(swarm(), slots, false, fresh(), NOW, always(0.5));
      assert.equal(v.size, slots, `${slots} slots`);
      assert.ok(!v.has(7));
    }
    // with one slot, it is the optimistic one
    const one = fresh();
    const v = chooseUnchoked(swarm(), 1, false, one, NOW, always(0.99));
    assert.deepEqual(sorted(v), [one.optimistic!]);
  });

  it('rotates the optimistic unchoke only every 30 s', () => {
    const state = fresh();
    assert.ok(chooseUnchoked(swarm(), 4, false, state, NOW, always(0)).has(1));
    for (const dt of [CHOKE_INTERVAL_MS, 2 * CHOKE_INTERVAL_MS, OPTIMISTIC_INTERVAL_MS - 1]) {
      const u = chooseUnchoked(swarm(), 4, false, state, NOW + dt, always(0.99));
      assert.deepEqual(sorted(u), [1, 2, 4, 6], `kept at +${dt} ms`);
      assert.equal(state.optimisticSince, NOW);
    }
    const u = chooseUnchoked(swarm(), 4, false, state, NOW + OPTIMISTIC_INTERVAL_MS, always(0.99));
    // rng 0.99 over the equally weighted 1, 3, 5 takes the last
    assert.deepEqual(sorted(u), [2, 4, 5, 6]);
    assert.deepEqual(state, { optimistic: 5, optimisticSince: NOW + OPTIMISTIC_INTERVAL_MS });
  });

  it('replaces the optimistic peer at once when it loses interest or earns a regular slot', () => {
    const state = fresh();
    chooseUnchoked(swarm(), 4, false, state, NOW, always(0));
    assert.equal(state.optimistic, 1);
    const bored = swarm().map((p) => (p.id === 1 ? { ...p, interested: false } : p));
    const u = chooseUnchoked(bored, 4, false, state, NOW + 1000, always(0));
    assert.deepEqual(sorted(u), [2, 3, 4, 6]);
    assert.equal(state.optimistic, 3);

    const promoted = swarm().map((p) => (p.id === 3 ? { ...p, downRate: 9000 } : p));
    const v = chooseUnchoked(promoted, 4, false, state, NOW + 2000, always(0.99));
    // regular now 3, 2, 4; optimistic among 1, 5, 6
    assert.equal(v.size, 4);
    assert.ok(v.has(3) && v.has(2) && v.has(4));
    assert.equal(state.optimistic, 6);
    assert.ok(v.has(6));
  });

  it('seeding ranks by our upload rate to the peer, not by what it gives', () => {
    const peers = [
      peer(1, { upRate: 50, downRate: 9000 }),
      peer(2, { upRate: 700 }),
      peer(3, { upRate: 300 }),
      peer(4, { upRate: 900 }),
      peer(5, { upRate: 10, downRate: 8000 }),
    ];
    const u = chooseUnchoked(peers, 3, true, fresh(), NOW, always(0));
    // regular: 4 (900), 2 (700); optimistic among 1, 3, 5
    assert.ok(u.has(4) && u.has(2));
    assert.equal(u.size, 3);
    const leech = chooseUnchoked(peers, 3, false, fresh(), NOW, always(0.99));
    assert.ok(leech.has(1) && leech.has(5), 'leeching ranks by download rate');
  });

  it('equal rates favour the longest-connected peer', () => {
    const peers = [peer(1, { downRate: 5, connectedAt: 300 }), peer(2, { downRate: 5, connectedAt: 100 }), peer(3, { downRate: 5, connectedAt: 200 })];
    const state = fresh();
    const u = chooseUnchoked(peers, 2, false, state, NOW, always(0));
    assert.ok(u.has(2), 'oldest gets the regular slot');
    assert.equal(u.size, 2);
  });

  it('fills spare slots with every interested peer', () => {
    const state = fresh();
    const u = chooseUnchoked([peer(1), peer(2, { downRate: 5 }), peer(3, { interested: false })], 4, false, state, NOW, always(0.5));
    assert.deepEqual(sorted(u), [1, 2]);
    assert.deepEqual(chooseUnchoked([peer(1, { interested: false })], 4, false, state, NOW, always(0.5)), new Set());
    assert.equal(state.optimistic, undefined);
  });

  it('newly connected peers are three times as likely to be the optimistic pick', () => {
    const peers = [peer(1, { connectedAt: 0 }), peer(2, { connectedAt: NOW - 1000 })];
    // weights 1 (old) and 3 (new): rng below 1/4 picks the old one
    const pick = (r: number): number | undefined => {
      const s = fresh();
      chooseUnchoked(peers, 1, false, s, NOW, always(r));
      return s.optimistic;
    };
    assert.equal(pick(0.24), 1);
    assert.equal(pick(0.26), 2);
    const rng = seededRng(99);
    let news = 0;
    for (let i = 0; i < 4000; i++) {
      const s = fresh();
      chooseUnchoked(peers, 1, false, s, NOW, rng);
      if (s.optimistic === 2) news++;
    }
    assert.ok(news > 2800 && news < 3200, `new peer picked ${news} / 4000`);
  });
});

describe('rate meters', () => {
  it('RateMeter: bytes per second, averaged over about 5 s', () => {
    const m = new RateMeter(0);
    m.add(10_000);
    m.tick(1000);
    assert.equal(m.rate, 10_000);
    m.tick(2000);
    assert.equal(m.rate, 8000, 'one quiet second moves a fifth of the way to 0');
    m.tick(2000);
    assert.equal(m.rate, 8000, 'no time passed: unchanged');
    m.add(5000);
    m.tick(7000);
    assert.equal(m.rate, 1000, 'five seconds or more replace the average');
    assert.equal(m.total, 15_000);
  });

  it('TokenBucket: one second of burst, refills with time, 0 is unlimited', () => {
    const b = new TokenBucket(1000, 0);
    assert.equal(b.unlimited, false);
    assert.equal(b.take(1000, 0), true);
    assert.equal(b.take(1, 0), false);
    assert.equal(b.waitMs(500, 0), 500);
    assert.equal(b.waitMs(500, 250), 250);
    assert.equal(b.take(500, 500), true);
    assert.equal(b.take(1001, 100_000), false, 'never more than a second of tokens');
    assert.equal(b.take(1000, 100_000), true);
    const u = new TokenBucket(0, 0);
    assert.equal(u.unlimited, true);
    assert.equal(u.take(1e9, 0), true);
    assert.equal(u.waitMs(1e9, 0), 0);
  });
});
