/**
 * The iterative lookup state machine (BEP 5 / Kademlia): alpha queries in flight to the closest
 * unasked candidates, soft timeouts that widen the search, hard timeouts that fail a candidate, the
 * end condition (the k closest live candidates answered), duplicates ignored, candidates bounded.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DEFAULT_LOOKUP, Lookup } from '../../src/dht/lookup.js';
import type { Contact } from '../../src/dht/lookup.js';
import { compareDistance } from '../../src/dht/node-id.js';
import { seededRng } from './support/swarm-helpers.js';

const TARGET = Buffer.alloc(20, 0);
/** A contact at XOR distance `d` (in the first 4 bytes) from the all-zero target. */
const at = (d: number): Contact => {
  const id = Buffer.alloc(20);
  id.writeUInt32BE(d);
  return { id, addr: { host: `10.1.${(d >> 8) & 255}.${d & 255}`, port: 6881 } };
};
const ds = (cs: readonly Contact[]): number[] => cs.map((c) => c.id.readUInt32BE(0));

describe('lookup', () => {
  it('asks alpha of the closest first, then the next as answers come', () => {
    const l = new Lookup(TARGET, [at(50), at(10), at(40), at(20), at(30), at(60)], DEFAULT_LOOKUP, 0);
    assert.equal(DEFAULT_LOOKUP.alpha, 4);
    assert.deepEqual(ds(l.next(0)), [10, 20, 30, 40]);
    assert.deepEqual(ds(l.next(0)), [], 'alpha in flight');
    l.answered(at(10).addr, at(10).id, [at(5), at(1)], Buffer.from('tok'));
    assert.deepEqual(ds(l.next(1)), [1], 'the closest new candidate first');
    assert.equal(l.messages, 5);
    assert.ok(!l.isDone(1));
  });

  it('widens to alphaStalled once an answer brings nothing closer, and back to alpha when one does', () => {
    const seeds = Array.from({ length: 16 }, (_, i) => at(100 + i));
    const l = new Lookup(TARGET, seeds, DEFAULT_LOOKUP, 0);
    assert.deepEqual(ds(l.next(0)), [100, 101, 102, 103]);
    // An answer with something closer: still alpha in flight.
    l.answered(at(100).addr, at(100).id, [at(50)], undefined);
    assert.deepEqual(ds(l.next(1)), [50]);
    assert.deepEqual(ds(l.next(1)), []);
    // An answer with nothing closer than 50: the k closest not yet asked go out at once.
    l.answered(at(101).addr, at(101).id, [at(200)], undefined);
    // The 8 closest are 50, 100..106: of them 104..106 were never asked (50, 102, 103 are out).
    assert.deepEqual(ds(l.next(2)), [104, 105, 106]);
    assert.equal(l.candidates.filter((c) => c.state === 'pending').length, 6);
    // Something closer again: back to alpha (nothing more is sent while more than alpha are out).
    l.answered(at(50).addr, at(50).id, [at(1)], undefined);
    assert.deepEqual(ds(l.next(3)), []);
  });

  it('soft timeout: a slow candidate stops counting against alpha; hard timeout fails it', () => {
    const seeds = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map(at);
    const l = new Lookup(TARGET, seeds, DEFAULT_LOOKUP, 0);
    assert.equal(l.next(0).length, 4);
    assert.deepEqual(l.tick(DEFAULT_LOOKUP.softTimeoutMs - 1), []);
    assert.equal(l.next(DEFAULT_LOOKUP.softTimeoutMs - 1).length, 0);
    assert.deepEqual(l.tick(DEFAULT_LOOKUP.softTimeoutMs), []);
    assert.deepEqual(ds(l.next(DEFAULT_LOOKUP.softTimeoutMs)), [5, 6, 7, 8], 'widened past the slow ones');
    const dead = l.tick(DEFAULT_LOOKUP.hardTimeoutMs);
    assert.deepEqual(ds(dead), [1, 2, 3, 4]);
    // 5..8 went slow meanwhile: the last two candidates are asked; nobody is left after them.
    assert.deepEqual(ds(l.next(DEFAULT_LOOKUP.hardTimeoutMs)), [9, 10]);
    assert.ok(!l.isDone(DEFAULT_LOOKUP.hardTimeoutMs));
    for (const d of [9, 10]) l.answered(at(d).addr, at(d).id, [], undefined);
    assert.ok(l.isDone(DEFAULT_LOOKUP.hardTimeoutMs), 'slow candidates do not hold the end up');
    assert.deepEqual(ds(l.closestAnswered()), [9, 10]);
  });

  it('ends when the k closest live candidates have answered; results closest first with tokens', () => {
    const seeds = Array.from({ length: 12 }, (_, i) => at(i + 1));
    const l = new Lookup(TARGET, seeds, DEFAULT_LOOKUP, 0);
    let now = 0;
    for (let round = 0; round < 10 && !l.isDone(now); round++) {
      for (const c of l.next(now)) l.answered(c.addr, c.id, [], Buffer.from([c.id.readUInt32BE(0)]));
      now += 10;
    }
    assert.ok(l.isDone(now));
    assert.equal(l.messages, 8, 'no query beyond the 8 closest');
    assert.deepEqual(ds(l.closestAnswered()), [1, 2, 3, 4, 5, 6, 7, 8]);
    assert.deepEqual(l.closestAnswered().map((c) => c.token?.[0]), [1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it('ends at maxDurationMs whatever is outstanding; nextDeadline never passes it', () => {
    const l = new Lookup(TARGET, [at(1)], { ...DEFAULT_LOOKUP, maxDurationMs: 300 }, 0);
    l.next(0);
    assert.equal(l.nextDeadline(), 300);
    assert.ok(!l.isDone(299));
    assert.ok(l.isDone(300));
    const empty = new Lookup(TARGET, [], DEFAULT_LOOKUP, 0);
    assert.ok(empty.isDone(0), 'nobody to ask');
  });

  it('ignores duplicate contacts (same address or same id)', () => {
    const l = new Lookup(TARGET, [at(1), at(1), { id: at(2).id, addr: at(1).addr }, { id: at(1).id, addr: at(3).addr }], DEFAULT_LOOKUP, 0);
    assert.equal(l.candidates.length, 1);
  });

  it('property: candidates stay sorted by distance and bounded, queries in flight never exceed alpha (alphaStalled once stalled)', () => {
    fc.assert(
      fc.property(fc.array(fc.array(fc.nat({ max: 5000 }), { maxLength: 8 }), { minLength: 1, maxLength: 40 }), fc.integer(), (answers, seed) => {
        const rnd = seededRng(seed);
        const l = new Lookup(TARGET, [at(4000), at(4500), at(4999)], DEFAULT_LOOKUP, 0);
        let now = 0;
        for (const nodes of answers) {
          const asked = l.next(now);
          assert.ok(l.candidates.filter((c) => c.state === 'pending').length <= Math.max(DEFAULT_LOOKUP.alpha, DEFAULT_LOOKUP.alphaStalled));
          for (const c of asked) {
            if (rnd() < 0.2) continue; // no answer
            l.answered(c.addr, c.id, nodes.map(at), undefined);
          }
          now += Math.floor(rnd() * 800);
          l.tick(now);
          assert.ok(l.candidates.length <= DEFAULT_LOOKUP.maxCandidates);
          for (let i = 1; i < l.candidates.length; i++) assert.ok(compareDistance(TARGET, l.candidates[i - 1]!.id, l.candidates[i]!.id) <= 0);
          if (l.isDone(now)) break;
        }
      }),
      { seed: 0x100c, numRuns: 200 },
    );
  });
});
