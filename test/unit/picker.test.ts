/**
 * The piece picker: rarest first with rng tie-breaks, random first pieces, sequential mode,
 * priorities, whole-piece affinity, adoption of orphaned partial pieces, endgame duplicates,
 * block outcomes, failed requests, failed hash checks and the short last piece. Also the Bitfield
 * it builds on.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Bitfield } from '../../src/torrent/bitfield.js';
import { ENDGAME_MAX_REQUESTS, PiecePicker, RANDOM_FIRST_PIECES } from '../../src/torrent/picker.js';
import type { PeerView, PickedBlock } from '../../src/torrent/picker.js';
import { BLOCK_SIZE } from '../../src/wire/messages.js';
import { seededRng } from './support/swarm-helpers.js';

const B = BLOCK_SIZE;

function bits(size: number, indices: readonly number[]): Bitfield {
  const b = new Bitfield(size);
  for (const i of indices) b.set(i);
  return b;
}

/** A peer that remembers what it was asked for, as the torrent does. */
class TestPeer {
  readonly outstanding = new Set<string>();
  readonly view: PeerView;

  constructor(
    readonly id: number,
    readonly has: Bitfield | 'all',
  ) {
    this.view = { id, has, requested: (i, begin) => this.outstanding.has(`${i}:${begin}`) };
  }

  pick(p: PiecePicker, max: number): PickedBlock[] {
    const out = p.pick(this.view, max);
    for (const b of out) {
      assert.ok(!this.outstanding.has(`${b.index}:${b.begin}`), `block ${b.index}:${b.begin} asked twice of peer ${this.id}`);
      this.outstanding.add(`${b.index}:${b.begin}`);
    }
    return out;
  }

  received(p: PiecePicker, index: number, begin: number): ReturnType<PiecePicker['blockReceived']> {
    this.outstanding.delete(`${index}:${begin}`);
    return p.blockReceived(index, begin, this.id);
  }

  failed(p: PiecePicker, index: number, begin: number): void {
    this.outstanding.delete(`${index}:${begin}`);
    p.requestFailed(index, begin, this.id);
  }
}

/** `count` pieces of `blocks` blocks each. */
function makePicker(count: number, blocks: number, rng: () => number = () => 0.5): PiecePicker {
  return new PiecePicker(count, blocks * B, count * blocks * B, rng);
}

const pieces = (bs: readonly PickedBlock[]): number[] => bs.map((b) => b.index);

/** Picks one block at a time from `peer` until nothing is left, returning the piece order. */
function drain(p: PiecePicker, peer: TestPeer): number[] {
  const order: number[] = [];
  for (;;) {
    const got = peer.pick(p, 1);
    if (got.length === 0) return order;
    order.push(got[0]!.index);
  }
}

describe('Bitfield', () => {
  it('is high bit first, counts, and clears spare bits', () => {
    const b = new Bitfield(10, Uint8Array.from([0x80, 0xff]));
    assert.ok(b.has(0) && !b.has(1) && b.has(8) && b.has(9));
    assert.equal(b.cardinality, 3);
    assert.deepEqual([...b.bytes], [0x80, 0xc0]);
    assert.equal(b.set(1), true);
    assert.equal(b.set(1), false);
    assert.equal(b.clear(0), true);
    assert.equal(b.clear(0), false);
    assert.equal(b.cardinality, 3);
    assert.ok(Bitfield.full(10).complete);
    assert.ok(new Bitfield(10).empty);
    assert.ok(Bitfield.valid(Uint8Array.from([0xff, 0xc0]), 10));
    assert.ok(!Bitfield.valid(Uint8Array.from([0xff, 0xe0]), 10), 'spare bit set');
    assert.ok(!Bitfield.valid(Uint8Array.from([0xff]), 10), 'too short');
    assert.ok(Bitfield.valid(Uint8Array.from([0xff]), 8));
  });
});

describe('PiecePicker: which piece next', () => {
  /** 10 one-block pieces, 6..9 already had (so random-first is over), availability 0:3 1:3 2:2 3:1 4:3 5:2. */
  function rarestSetup(rng: () => number): PiecePicker {
    const p = makePicker(10, 1, rng);
    for (const i of [6, 7, 8, 9]) p.setHave(i);
    p.peerAdded(bits(10, [0, 1, 2, 3, 4, 5]));
    p.peerAdded(bits(10, [0, 1, 2, 4, 5]));
    p.peerAdded(bits(10, [0, 1, 4]));
    return p;
  }

  it('picks the rarest piece first; ties are broken by the rng', () => {
    assert.deepEqual(drain(rarestSetup(() => 0.99), new TestPeer(1, 'all')), [3, 2, 5, 0, 1, 4]);
    assert.deepEqual(drain(rarestSetup(() => 0), new TestPeer(1, 'all')), [3, 5, 2, 4, 1, 0]);
  });

  it('spreads ties evenly with a real rng, and never picks a commoner piece', () => {
    const counts = new Map<number, number>();
    for (let seed = 1; seed <= 600; seed++) {
      const p = makePicker(8, 1, seededRng(seed));
      for (const i of [4, 5, 6, 7]) p.setHave(i);
      p.peerAdded(bits(8, [0, 2])); // 1 and 3 are the rarest (availability 0 + the seed)
      p.peerAdded('all');
      const first = new TestPeer(1, 'all').pick(p, 1)[0]!.index;
      counts.set(first, (counts.get(first) ?? 0) + 1);
    }
    assert.deepEqual([...counts.keys()].sort(), [1, 3]);
    for (const n of counts.values()) assert.ok(n > 230 && n < 370, `uneven tie-break: ${JSON.stringify([...counts])}`);
  });

  it('tracks availability through have messages, departures and seeds', () => {
    const p = rarestSetup(() => 0.99);
    p.peerHave(3);
    p.peerHave(3);
    assert.equal(p.availabilityOf(3), 3);
    p.peerRemoved(bits(10, [0, 1, 4]));
    assert.equal(p.availabilityOf(0), 2);
    p.peerAdded('all');
    assert.equal(p.availabilityOf(0), 3);
    assert.equal(p.availabilityOf(9), 1);
    // availability now 0:3 1:3 2:3 3:4 4:3 5:3: five-way tie (first wins with rng 0.99), 3 comes last
    assert.deepEqual(drain(p, new TestPeer(1, 'all')), [0, 1, 2, 4, 5, 3]);
    p.peerRemoved('all');
    assert.equal(p.availabilityOf(9), 0);
  });

  it(`picks at random, not rarest, until ${RANDOM_FIRST_PIECES} pieces are had`, () => {
    const firstPicks = (had: number): Set<number> => {
      const seen = new Set<number>();
      for (let seed = 1; seed <= 100; seed++) {
        const p = makePicker(12, 1, seededRng(seed));
        for (let i = 0; i < had; i++) p.setHave(11 - i);
        p.peerAdded(bits(12, [0, 1, 2, 4, 5, 6, 7])); // 3 is the rarest of 0..7
        p.peerAdded(bits(12, [0, 1, 2, 4, 5, 6, 7]));
        seen.add(new TestPeer(1, 'all').pick(p, 1)[0]!.index);
      }
      return seen;
    };
    const random = firstPicks(RANDOM_FIRST_PIECES - 1);
    assert.ok(random.size >= 5, `random-first should spread: ${[...random].join(',')}`);
    assert.deepEqual([...firstPicks(RANDOM_FIRST_PIECES)], [3]);
    assert.deepEqual([...firstPicks(RANDOM_FIRST_PIECES + 2)], [3]);
  });

  it('picks in index order in sequential mode, whatever the availability', () => {
    const p = makePicker(6, 2, () => 0);
    p.peerAdded(bits(6, [0, 1, 2, 3, 4]));
    p.peerAdded(bits(6, [0, 1, 2, 3, 4])); // 5 is the rarest
    p.sequential = true;
    const got = new TestPeer(1, 'all').pick(p, 12);
    assert.deepEqual(
      got.map((b) => `${b.index}:${b.begin}`),
      ['0:0', `0:${B}`, '1:0', `1:${B}`, '2:0', `2:${B}`, '3:0', `3:${B}`, '4:0', `4:${B}`, '5:0', `5:${B}`],
    );
  });

  it('never picks priority 0 pieces and prefers higher priorities', () => {
    const p = makePicker(8, 1, () => 0.99);
    for (const i of [4, 5, 6]) p.setHave(i);
    p.setHave(0);
    p.peerAdded(bits(8, [1, 2, 3])); // 7 is rarest
    p.priority[2] = 0;
    p.priority[3] = 7;
    assert.deepEqual(drain(p, new TestPeer(1, 'all')), [3, 7, 1]);
    // a peer with only unwanted pieces is not interesting and gets nothing
    const q = makePicker(4, 1);
    q.priority[2] = 0;
    q.setHave(0);
    const only2 = new TestPeer(2, bits(4, [0, 2]));
    assert.equal(q.interesting(only2.has), false);
    assert.deepEqual(only2.pick(q, 10), []);
    assert.equal(q.interesting(bits(4, [1])), true);
    assert.equal(q.interesting('all'), true);
    assert.ok(!q.wanted(2) && !q.wanted(0) && q.wanted(1));
  });

  it('done and bytesWanted leave priority 0 pieces out', () => {
    const p = new PiecePicker(3, 2 * B, 2 * B + 2 * B + 100, () => 0.5);
    assert.equal(p.bytesWanted, 4 * B + 100);
    p.priority[2] = 0;
    assert.equal(p.bytesWanted, 4 * B);
    p.setHave(0);
    assert.equal(p.done, false);
    p.setHave(1);
    assert.equal(p.done, true);
    assert.equal(p.bytesWanted, 0);
  });

  it('only picks pieces the peer has', () => {
    const p = makePicker(6, 1, seededRng(3));
    const peer = new TestPeer(1, bits(6, [1, 4]));
    assert.deepEqual(drain(p, peer).sort(), [1, 4]);
  });
});

describe('PiecePicker: blocks of pieces in flight', () => {
  it('a peer continues its own piece (whole-piece affinity)', () => {
    const p = makePicker(3, 4, seededRng(5));
    const a = new TestPeer(1, 'all');
    const b = new TestPeer(2, 'all');
    const first = a.pick(p, 2);
    assert.equal(new Set(pieces(first)).size, 1);
    const x = first[0]!.index;
    assert.deepEqual(first.map((bl) => bl.begin), [0, B]);
    const fromB = b.pick(p, 2);
    assert.ok(pieces(fromB).every((i) => i !== x), 'another peer starts its own piece');
    const y = fromB[0]!.index;
    const more = a.pick(p, 2);
    assert.deepEqual(
      more.map((bl) => `${bl.index}:${bl.begin}`),
      [`${x}:${2 * B}`, `${x}:${3 * B}`],
    );
    // B continues its piece even after A finished asking for X
    assert.deepEqual(pieces(b.pick(p, 2)), [y, y]);
    assert.equal(p.partialPieces, 2);
  });

  it("takes others' free blocks only when no new piece is left", () => {
    const p = makePicker(2, 4, seededRng(9));
    const a = new TestPeer(1, 'all');
    const b = new TestPeer(2, 'all');
    const x = pieces(a.pick(p, 4))[0]!;
    const y = pieces(b.pick(p, 1))[0]!;
    assert.notEqual(x, y);
    // no new piece left: A helps with B's piece
    assert.deepEqual(
      a.pick(p, 3).map((bl) => `${bl.index}:${bl.begin}`),
      [`${y}:${B}`, `${y}:${2 * B}`, `${y}:${3 * B}`],
    );
    assert.equal(p.inEndgame(), true);
    // then, in endgame, it duplicates the one block only B was asked for
    assert.deepEqual(
      a.pick(p, 5).map((bl) => `${bl.index}:${bl.begin}`),
      [`${y}:0`],
    );
  });

  it('adopts an orphaned partial piece before starting a new one, even a rarer one', () => {
    const p = makePicker(8, 4, () => 0.99);
    for (const i of [4, 5, 6, 7]) p.setHave(i);
    const holder = bits(8, [0, 2, 3]);
    p.peerAdded(holder);
    p.peerAdded(holder); // 1 is the rarest
    const a = new TestPeer(1, 'all');
    p.peerAdded('all');
    const got = a.pick(p, 2);
    assert.deepEqual(got.map((bl) => `${bl.index}:${bl.begin}`), ['1:0', `1:${B}`]);
    assert.equal(a.received(p, 1, 0), 'new');
    // A leaves: its outstanding block is released
    a.failed(p, 1, B);
    p.peerRemoved('all');
    // B does not have piece 1 and cannot adopt it
    const b = new TestPeer(2, bits(8, [0, 2, 3]));
    assert.ok(!pieces(b.pick(p, 1)).includes(1));
    // C has everything; piece 1 is now the commonest piece, yet the orphan comes first
    const c = new TestPeer(3, 'all');
    p.peerHave(1);
    p.peerHave(1);
    p.peerHave(1);
    assert.deepEqual(
      c.pick(p, 3).map((bl) => `${bl.index}:${bl.begin}`),
      [`1:${B}`, `1:${2 * B}`, `1:${3 * B}`],
    );
  });

  it('endgame: duplicates at most 3 in all, never twice to the same peer', () => {
    assert.equal(ENDGAME_MAX_REQUESTS, 3);
    const p = makePicker(1, 2);
    const [a, b, c, d] = [1, 2, 3, 4].map((id) => new TestPeer(id, 'all')) as [TestPeer, TestPeer, TestPeer, TestPeer];
    assert.equal(p.inEndgame(), false);
    assert.equal(a.pick(p, 2).length, 2);
    assert.equal(p.inEndgame(), true);
    assert.deepEqual(a.pick(p, 10), [], 'never the same block twice to one peer');
    assert.deepEqual(b.pick(p, 10).map((bl) => bl.begin), [0, B]);
    assert.deepEqual(c.pick(p, 1).map((bl) => bl.begin), [0]);
    assert.deepEqual(c.pick(p, 1).map((bl) => bl.begin), [B]);
    assert.deepEqual(d.pick(p, 10), [], 'three requests per block at most');

    assert.equal(a.received(p, 0, 0), 'new');
    assert.equal(b.received(p, 0, 0), 'duplicate');
    c.failed(p, 0, 0); // cancelled
    assert.deepEqual(d.pick(p, 10), [], 'a received block is not asked again; block 1 is at 3 requests');
    c.failed(p, 0, B);
    assert.deepEqual(d.pick(p, 10).map((bl) => bl.begin), [B], 'a cancelled duplicate frees a slot');
    assert.equal(b.received(p, 0, B), 'complete');
    assert.equal(p.partialPieces, 0);
    assert.equal(a.received(p, 0, B), 'unexpected', 'the piece is no longer in flight');
  });

  it('never hands one peer the same block twice in one call, even when endgame starts mid-call', () => {
    // One block left: the peer takes it as a new piece; the endgame step of the same call must not
    // give it to the same peer again (its `requested` callback cannot know about it yet).
    const p = makePicker(1, 1);
    const got = p.pick({ id: 1, has: 'all', requested: () => false }, 2);
    assert.deepEqual(got, [{ index: 0, begin: 0, length: B }]);
    // the same with more blocks, through a peer that tracks its requests
    const q = makePicker(3, 4);
    const blocks = q.pick({ id: 1, has: 'all', requested: () => false }, 100);
    const keys = blocks.map((bl) => `${bl.index}:${bl.begin}`);
    assert.equal(new Set(keys).size, keys.length, `duplicates in one pick: ${keys.join(' ')}`);
    assert.equal(blocks.length, 12);
  });

  it('does not enter endgame while any wanted block is unrequested', () => {
    const p = makePicker(2, 2);
    const a = new TestPeer(1, bits(2, [0]));
    const b = new TestPeer(2, 'all');
    a.pick(p, 10);
    assert.equal(p.inEndgame(), false);
    // B gets the free piece before any duplicate of A's blocks
    assert.deepEqual(pieces(b.pick(p, 2)), [1, 1]);
    assert.equal(p.inEndgame(), true);
    assert.deepEqual(pieces(b.pick(p, 10)), [0, 0], 'now the endgame');
  });
});

describe('PiecePicker: outcomes', () => {
  it('blockReceived: new, duplicate, complete, unexpected', () => {
    const p = makePicker(2, 3);
    const a = new TestPeer(1, 'all');
    p.sequential = true;
    a.pick(p, 3);
    assert.equal(p.blockReceived(1, 0, 1), 'unexpected', 'piece not in flight');
    assert.equal(p.blockReceived(0, 100, 1), 'unexpected', 'not on a block boundary');
    assert.equal(p.blockReceived(0, 3 * B, 1), 'unexpected', 'past the piece end');
    assert.equal(a.received(p, 0, B), 'new');
    assert.equal(a.received(p, 0, B), 'duplicate');
    assert.equal(a.received(p, 0, 0), 'new');
    assert.equal(a.received(p, 0, 2 * B), 'complete');
    assert.equal(p.wanted(0), false, 'being verified');
    assert.equal(p.have.has(0), false);
  });

  it('requestFailed frees the block for anyone', () => {
    const p = makePicker(1, 2);
    const a = new TestPeer(1, 'all');
    const b = new TestPeer(2, 'all');
    a.pick(p, 2);
    assert.deepEqual(b.pick(p, 2).length, 2, 'endgame duplicates while both are out');
    b.failed(p, 0, 0);
    b.failed(p, 0, B);
    a.failed(p, 0, B);
    const again = b.pick(p, 1);
    assert.deepEqual(again.map((bl) => bl.begin), [B]);
    assert.equal(p.inEndgame(), true);
    // failures of unknown blocks are ignored
    p.requestFailed(7, 0, 1);
    p.requestFailed(0, 10 * B, 1);
  });

  it('pieceVerified(false) makes the piece wanted again from scratch; true marks it had', () => {
    const p = makePicker(2, 2);
    p.sequential = true;
    const a = new TestPeer(1, 'all');
    a.pick(p, 2);
    a.received(p, 0, 0);
    assert.equal(a.received(p, 0, B), 'complete');
    assert.deepEqual(pieces(a.pick(p, 2)), [1, 1], 'piece 0 is being verified');
    assert.deepEqual(a.pick(p, 2), [], 'and nothing else is left for A');
    p.pieceVerified(0, false);
    assert.equal(p.wanted(0), true);
    assert.equal(p.have.has(0), false);
    const again = new TestPeer(2, 'all').pick(p, 2);
    assert.deepEqual(again.map((bl) => `${bl.index}:${bl.begin}`), ['0:0', `0:${B}`], 'every block again');
    p.blockReceived(0, 0, 2);
    assert.equal(p.blockReceived(0, B, 2), 'complete');
    p.pieceVerified(0, true);
    assert.ok(p.have.has(0));
    assert.equal(p.wanted(0), false);
  });

  it('the last piece is shorter and its last block too', () => {
    const total = 2 * 4 * B + 20_000; // 2 full pieces of 4 blocks, then 20000 bytes
    const p = new PiecePicker(3, 4 * B, total, () => 0.5);
    assert.equal(p.pieceSize(2), 20_000);
    assert.equal(p.blockCount(2), 2);
    assert.equal(p.pieceSize(1), 4 * B);
    p.sequential = true;
    const all = new TestPeer(1, 'all').pick(p, 10);
    assert.equal(all.length, 10);
    assert.deepEqual(all.slice(8), [
      { index: 2, begin: 0, length: B },
      { index: 2, begin: B, length: 20_000 - B },
    ]);
    assert.equal(
      all.reduce((n, bl) => n + bl.length, 0),
      total,
    );
    assert.equal(p.bytesWanted, total);
  });

  it('pick(max <= 0) returns nothing and reserves nothing', () => {
    const p = makePicker(1, 1);
    assert.deepEqual(new TestPeer(1, 'all').pick(p, 0), []);
    assert.equal(p.partialPieces, 0);
  });
});
